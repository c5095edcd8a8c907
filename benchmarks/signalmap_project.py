"""How long ``manage.py signalmap`` takes on a large project, against ``manage.py check``.

Generates a project of 20 apps x 10 models (200 models) and 2,000 receivers
(6 model-signal receivers per model, 40 custom-signal receivers per app, one
deliberate duplicate), then runs, interleaved round after round in fresh
processes: ``check``, ``signalmap`` and ``signalmap --format json``. Reports the
median wall time of each, the ratio to ``check``, and each process's peak RSS.
Then, in one process, the commands alone (after ``django.setup()``), and
``build_map()`` alone. ``check`` runs W001, which builds the map too. Not a
test: nothing asserts a time.

    python benchmarks/signalmap_project.py [--rounds N] [--keep DIR] [--json FILE]
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import textwrap
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
APPS = 20
MODELS_PER_APP = 10
MODEL_SIGNALS = ("pre_init", "post_init", "pre_save", "post_save", "pre_delete", "post_delete")
CUSTOM_SIGNALS_PER_APP = 4
CUSTOM_RECEIVERS_PER_SIGNAL = 10


def generate(base: Path) -> None:
    """Write the project under ``base`` (settings module ``bigproject.settings``)."""
    (base / "bigproject").mkdir(parents=True)
    (base / "bigproject" / "__init__.py").write_text("")
    apps = [f"app{n:02d}" for n in range(APPS)]
    (base / "bigproject" / "settings.py").write_text(
        textwrap.dedent(
            f"""\
            SECRET_KEY = "bench"
            DEBUG = False
            USE_TZ = True
            DEFAULT_AUTO_FIELD = "django.db.models.AutoField"
            INSTALLED_APPS = [
                "signal_inspector",
                "django.contrib.auth",
                "django.contrib.contenttypes",
                *{apps!r},
            ]
            DATABASES = {{"default": {{"ENGINE": "django.db.backends.sqlite3", "NAME": ":memory:"}}}}
            """
        )
    )
    for index, app in enumerate(apps):
        directory = base / app
        directory.mkdir()
        (directory / "__init__.py").write_text("")
        (directory / "apps.py").write_text(
            textwrap.dedent(
                f"""\
                from django.apps import AppConfig


                class Config(AppConfig):
                    name = "{app}"

                    def ready(self):
                        from . import receivers  # noqa: F401
                """
            )
        )
        models = ["from django.db import models\n"]
        for m in range(MODELS_PER_APP):
            fk = (
                f"    parent = models.ForeignKey('Model{m - 1}', models.CASCADE, null=True)\n"
                if m
                else ""
            )
            models.append(
                f"\nclass Model{m}(models.Model):\n"
                "    name = models.CharField(max_length=100)\n"
                "    created = models.DateTimeField(auto_now_add=True)\n"
                "    count = models.IntegerField(default=0)\n"
                f"{fk}"
            )
        (directory / "models.py").write_text("".join(models))
        (directory / "signals.py").write_text(
            "from django.dispatch import Signal\n\n"
            + "".join(f"event{s} = Signal()\n" for s in range(CUSTOM_SIGNALS_PER_APP))
        )
        receivers = [
            "from django.db.models.signals import " + ", ".join(MODEL_SIGNALS) + "\n",
            "from django.dispatch import receiver\n\n",
            "from . import models, signals\n",
        ]
        for m in range(MODELS_PER_APP):
            for signal in MODEL_SIGNALS:
                receivers.append(
                    f"\n\n@receiver({signal}, sender=models.Model{m})\n"
                    f"def {signal}_model{m}(sender, **kwargs):\n    pass\n"
                )
        for s in range(CUSTOM_SIGNALS_PER_APP):
            for r in range(CUSTOM_RECEIVERS_PER_SIGNAL):
                uid = f", dispatch_uid='{app}.event{s}.{r}'" if r % 2 else ""
                receivers.append(
                    f"\n\n@receiver(signals.event{s}{uid})\n"
                    f"def on_event{s}_{r}(sender, **kwargs):\n    pass\n"
                )
        if index == 0:
            # One duplicate, so the duplicate section has something to show.
            receivers.append("\n\nsignals.event0.connect(on_event0_0, sender=models.Model0)\n")
        (directory / "receivers.py").write_text("".join(receivers))


def run(base: Path, *args: str) -> tuple[float, int, str]:
    """Wall seconds, peak RSS in KiB, and stdout of ``django-admin args``."""
    env = {
        **os.environ,
        "PYTHONPATH": os.pathsep.join([str(base), str(ROOT)]),
        "DJANGO_SETTINGS_MODULE": "bigproject.settings",
    }
    # Output to files, not pipes: os.wait4() (for the child's own peak RSS)
    # must not wait on a child blocked writing to a full pipe.
    with tempfile.TemporaryFile("w+") as out, tempfile.TemporaryFile("w+") as err:
        start = time.perf_counter()
        process = subprocess.Popen(
            [sys.executable, "-m", "django", *args], cwd=base, env=env, stdout=out, stderr=err
        )
        _, status, usage = os.wait4(process.pid, 0)
        elapsed = time.perf_counter() - start
        process.returncode = os.waitstatus_to_exitcode(status)
        out.seek(0)
        err.seek(0)
        if process.returncode not in (0, 1):
            raise SystemExit(f"{args} failed:\n{err.read()}")
        return elapsed, usage.ru_maxrss, out.read()


IN_PROCESS = """
import statistics, sys, time, tracemalloc
from io import StringIO
import django
django.setup()
from django.core.management import call_command
from signal_inspector.checks import check_duplicate_receivers
from signal_inspector.receivers import build_map

def timed(func, rounds):
    times = []
    for _ in range(rounds):
        start = time.perf_counter()
        func()
        times.append(time.perf_counter() - start)
    return statistics.median(times)

def command(*args):
    def go():
        try:
            call_command(*args, stdout=StringIO(), stderr=StringIO())
        except SystemExit:
            pass
    return go

rounds = int(sys.argv[1])
result = {
    "check": timed(command("check"), rounds),
    "signalmap": timed(command("signalmap"), rounds),
    "signalmap_json": timed(command("signalmap", "--format", "json"), rounds),
    "build_map": timed(build_map, rounds),
    "w001": timed(lambda: check_duplicate_receivers(None), rounds),
}
tracemalloc.start()
call_command("signalmap", "--format", "json", stdout=StringIO())
result["signalmap_json_traced_peak_kib"] = tracemalloc.get_traced_memory()[1] / 1024
tracemalloc.stop()
sigmap = build_map()
result["receivers"] = sigmap.receiver_count
result["duplicates"] = len(sigmap.duplicates)
print(repr(result))
"""


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--rounds", type=int, default=7)
    parser.add_argument("--keep", type=Path, help="generate the project here and keep it")
    parser.add_argument("--json", type=Path, help="also write the results here")
    args = parser.parse_args()

    base = args.keep or Path(tempfile.mkdtemp(prefix="signalmap-bench-"))
    if args.keep and base.exists():
        shutil.rmtree(base)
    generate(base)
    try:
        commands = {
            "check": ("check",),
            "signalmap": ("signalmap",),
            "signalmap --format json": ("signalmap", "--format", "json"),
        }
        times: dict[str, list[float]] = {name: [] for name in commands}
        peaks: dict[str, int] = {}
        for argv in commands.values():  # warm the file caches and .pyc files
            run(base, *argv)
        for _ in range(args.rounds):
            for name, argv in commands.items():
                elapsed, peak, out = run(base, *argv)
                times[name].append(elapsed)
                peaks[name] = max(peaks.get(name, 0), peak)
        env = {
            **os.environ,
            "PYTHONPATH": os.pathsep.join([str(base), str(ROOT)]),
            "DJANGO_SETTINGS_MODULE": "bigproject.settings",
        }
        inner = subprocess.run(
            [sys.executable, "-c", IN_PROCESS, str(args.rounds)],
            cwd=base,
            env=env,
            capture_output=True,
            text=True,
            check=True,
        )
        in_process = eval(inner.stdout.strip().splitlines()[-1])  # our own repr() above
    finally:
        if not args.keep:
            shutil.rmtree(base, ignore_errors=True)

    import django

    medians = {name: statistics.median(values) for name, values in times.items()}
    print(f"Django {django.__version__}, Python {sys.version.split()[0]}")
    print(
        f"{APPS * MODELS_PER_APP} models, {in_process['receivers']} live receivers "
        f"(project's plus Django's), {in_process['duplicates']} duplicate(s); "
        f"median of {args.rounds} fresh processes each"
    )
    print(f"{'command':<36}{'wall ms':>10}{'x check':>10}{'peak RSS MiB':>15}")
    for name, median in medians.items():
        print(
            f"{'manage.py ' + name:<36}{median * 1000:>10.1f}"
            f"{median / medians['check']:>10.2f}{peaks[name] / 1024:>15.1f}"
        )
    print("In one process, after django.setup():")
    for key in ("check", "signalmap", "signalmap_json", "build_map", "w001"):
        ratio = in_process[key] / in_process["check"]
        print(f"  {key:<24}{in_process[key] * 1000:>10.1f} ms{ratio:>8.2f} x check")
    print(
        "  signalmap --format json allocates at most "
        f"{in_process['signalmap_json_traced_peak_kib'] / 1024:.1f} MiB (tracemalloc peak)"
    )
    if args.json:
        args.json.write_text(
            json.dumps(
                {"medians_s": medians, "peak_rss_kib": peaks, "in_process": in_process},
                indent=2,
            )
        )


if __name__ == "__main__":
    main()
