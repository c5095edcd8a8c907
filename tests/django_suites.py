"""Run Django's own signal-related test suites with a recording active throughout.

Proves the wrapped ``Signal`` methods keep Django's behaviour: same return
values, exceptions, ordering, weak references and warning stack levels. Run it
with the Python of the venv whose Django you want to test::

    python tests/django_suites.py [--idle] [extra runtests.py args]

It downloads the sdist of the installed Django (it holds ``tests/``) into
``.cache/``, then runs ``tests/runtests.py`` in this process with
``signal_inspector.record()`` open (or, with ``--idle``, installed but not
recording).
"""

from __future__ import annotations

import os
import runpy
import subprocess
import sys
import tarfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
SUITES = [
    "dispatch",
    "signals",
    "m2m_signals",
    "migrate_signals",
    "auth_tests.test_signals",
    "settings_tests",
    # on_commit() is observed too (see signal_inspector.on_commit).
    "transaction_hooks",
    # captureOnCommitCallbacks(), which a recording observes (see on_commit.py).
    "test_utils.tests.CaptureOnCommitCallbacksTests",
    # Apps that send signals heavily and still run in seconds.
    "delete",
    "delete_regress",
    "test_client",  # template_rendered with a partial receiver whose repr grows
    "test_client_regress",
    "handlers",  # request_started / request_finished, sync and async
    "async",
    "model_inheritance",
    "m2m_through_regress",
    # Reads connection.execute_wrappers and BaseDatabaseWrapper's signature:
    # proves SQL attribution leaves no trace on connections.
    "backends",
]


def django_tests_dir() -> Path:
    import django

    version = django.__version__
    cache = ROOT / ".cache" / f"django-{version}"
    tests = cache / f"django-{version}" / "tests"
    if tests.is_dir():
        return tests
    cache.mkdir(parents=True, exist_ok=True)
    subprocess.run(
        [sys.executable, "-m", "pip", "download", "-q", "--no-binary", ":all:",
         "--no-deps", "-d", str(cache), f"django=={version}"],
        check=True,
    )
    archive = next(cache.glob("[dD]jango-*.tar.gz"))
    with tarfile.open(archive) as tar:
        members = [m for m in tar.getmembers() if "/tests/" in m.name or m.name.endswith("/tests")]
        tar.extractall(cache, members=members, filter="data")
    return tests


def main(argv: list[str]) -> int:
    idle = "--idle" in argv
    extra = [a for a in argv if a != "--idle"]
    tests = django_tests_dir()
    sys.path.insert(0, str(ROOT))
    sys.path.insert(0, str(tests))
    os.chdir(tests)

    # Loaded before the recording opens, as under pytest-django, so that the
    # recording observes captureOnCommitCallbacks() for the whole run.
    import django.test  # noqa: F401

    from signal_inspector import recorder

    recording = None if idle else recorder.begin(max_sends=2000)
    sys.argv = [str(tests / "runtests.py"), "--parallel=1", "-v", "1", *SUITES, *extra]
    code = 0
    try:
        runpy.run_path(str(tests / "runtests.py"), run_name="__main__")
    except SystemExit as exit:
        code = exit.code if isinstance(exit.code, int) else 1
    finally:
        if recording is not None:
            recorder.end(recording)
    import django

    mode = "installed, idle" if idle else "recording"
    if recording is not None:
        print(
            f"signal_inspector ({mode}) on Django {django.__version__}: "
            f"{recording.total_sends} sends recorded "
            f"({recording.kept_sends} kept), {recording.receiver_calls} receiver calls, "
            f"{sum(recording.silent.values())} silent sends"
        )
        if recording.total_sends == 0:
            print("error: the recording saw no sends; it was not active")
            return 1
    else:
        print(f"signal_inspector ({mode}) on Django {django.__version__}")
    return code


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
