"""Clear errors: bad ``signalmap`` options and a broken ``SIGNAL_INSPECTOR`` setting
end in a short message and a non-zero exit status, never a traceback.

Each case runs twice: through ``call_command`` (the message) and as a real
``python -m django`` process (the exit status, and what reaches the terminal).
tests/test_signalmap.py and tests/test_conf.py hold the first cases of each kind;
these are the rest.
"""

from __future__ import annotations

import math
import os
import re
import subprocess
import sys
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from io import StringIO
from pathlib import Path
from typing import Any

import pytest
from django.core.checks import WARNING, run_checks
from django.core.management import CommandError, call_command
from django.test import override_settings

ROOT = Path(__file__).resolve().parent.parent
CHOICES = r"\(choose from '?text'?, '?json'?, '?mermaid'?, '?dot'?, '?svg'?, '?png'?, '?html'?\)"

# (arguments, exit status, the one error line; None: nothing more to say).
SIGNALMAP_ERRORS: list[tuple[tuple[str, ...], int, str]] = [
    (("--format", "nope"), 2, rf"argument --format: invalid choice: 'nope' {CHOICES}"),
    (("--format",), 2, r"argument --format: expected one argument"),
    (("--signal",), 2, r"argument --signal: expected one argument"),
    (("--check=1",), 2, r"argument --check: ignored explicit argument '1'"),
    (("--nope",), 2, r"unrecognized arguments: --nope"),
    (("--signal", "unknown"), 1, r"Unknown signal 'unknown'\."),
    (("--signal", ""), 1, r"Unknown signal ''\."),
    (("--signal", "post_sav"), 1, r"Unknown signal 'post_sav'\. Did you mean post_save, pre_save\b.*\?"),
    (("--signal", "pong", "--signal", "pnog"), 1, r"Unknown signal 'pnog'\. Did you mean pong\b.*\?"),
    (("--sender", "testapp.Ordr"), 1, r"Unknown sender 'testapp\.Ordr'\. Did you mean testapp\.Order\b.*\?"),
    (("--sender", "nope.Nothing"), 1, r"Unknown sender 'nope\.Nothing'\."),
    (("--app", "testap"), 1, r"Unknown app 'testap'\. Did you mean testapp\b.*\?"),
    (("--app", "nope"), 1, r"Unknown app 'nope'\."),
    # A filter error comes before --check's own verdict.
    (("--check", "--duplicates", "--app", "nope"), 1, r"Unknown app 'nope'\."),
]
IDS = [" ".join(args) or "-" for args, _, _ in SIGNALMAP_ERRORS]


def manage(*args: str, settings: str = "tests.settings", path: Path | None = None):
    pythonpath = os.pathsep.join(str(p) for p in (ROOT, path) if p is not None)
    env = {**os.environ, "PYTHONPATH": pythonpath, "DJANGO_SETTINGS_MODULE": settings}
    return subprocess.run(
        [sys.executable, "-m", "django", *args],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )


@pytest.fixture(scope="module")
def processes() -> dict[tuple[str, ...], subprocess.CompletedProcess[str]]:
    """Every case as a real process, two at a time (each takes about a second)."""
    with ThreadPoolExecutor(max_workers=2) as pool:
        runs = {
            args: pool.submit(manage, "signalmap", "--no-color", *args)
            for args, _, _ in SIGNALMAP_ERRORS
        }
        return {args: future.result(timeout=300) for args, future in runs.items()}


@pytest.mark.parametrize(("args", "status", "line"), SIGNALMAP_ERRORS, ids=IDS)
def test_signalmap_bad_option_in_a_real_process(
    processes, args: tuple[str, ...], status: int, line: str
) -> None:
    run = processes[args]
    assert run.returncode == status, run.stderr
    assert run.stdout == ""  # nothing printed before giving up
    assert "Traceback" not in run.stderr
    if status == 1:
        # A CommandError: one line, named.
        assert re.fullmatch(rf"CommandError: {line}\n", run.stderr), run.stderr
    else:
        # argparse: the usage, then the error naming the command.
        assert run.stderr.startswith("usage: ")
        assert re.search(rf"^\S+ signalmap: error: {line}$", run.stderr, re.M), run.stderr


@pytest.mark.parametrize(("args", "status", "line"), SIGNALMAP_ERRORS, ids=IDS)
def test_signalmap_bad_option_through_call_command(
    args: tuple[str, ...], status: int, line: str
) -> None:
    out, err = StringIO(), StringIO()
    with pytest.raises(CommandError) as info:
        call_command("signalmap", *args, stdout=out, stderr=err)
    # call_command turns argparse's exit into a CommandError "Error: ...".
    message = str(info.value)
    assert re.fullmatch(line if status == 1 else rf"Error: {line}", message), message
    assert (out.getvalue(), err.getvalue()) == ("", "")


# --- the SIGNAL_INSPECTOR setting ----------------------------------------------

# (value, one message per problem, in the check's order).
BROKEN_SETTINGS: list[tuple[Any, list[str]]] = [
    (None, []),  # unset: nothing to report
    ({}, []),
    ("MAX_SENDS=10", ["SIGNAL_INSPECTOR must be a dict, not str."]),
    (5, ["SIGNAL_INSPECTOR must be a dict, not int."]),
    ({1: 2}, ["SIGNAL_INSPECTOR has an unknown key 1; known keys are ACKNOWLEDGED_BYPASSES, FINDINGS, IGNORE_SIGNALS, MAX_REPR_LENGTH, MAX_SENDS, OPENTELEMETRY, REPEATED_QUERY_THRESHOLD, SKIP_MODULES, SLOW_RECEIVER_MS."]),
    ({"max_sends": 10}, ["SIGNAL_INSPECTOR has an unknown key 'max_sends'; known keys are "]),
    ({"MAX_SENDS": None}, ["SIGNAL_INSPECTOR['MAX_SENDS'] must be int, not NoneType."]),
    ({"MAX_SENDS": 2.5}, ["SIGNAL_INSPECTOR['MAX_SENDS'] must be int, not float."]),
    ({"MAX_SENDS": True}, ["SIGNAL_INSPECTOR['MAX_SENDS'] must be int, not bool."]),
    ({"MAX_SENDS": -3}, ["SIGNAL_INSPECTOR['MAX_SENDS'] must be positive, not -3."]),
    ({"MAX_REPR_LENGTH": "200"}, ["SIGNAL_INSPECTOR['MAX_REPR_LENGTH'] must be int, not str."]),
    ({"MAX_REPR_LENGTH": 0}, ["SIGNAL_INSPECTOR['MAX_REPR_LENGTH'] must be positive, not 0."]),
    ({"SLOW_RECEIVER_MS": "50"}, ["SIGNAL_INSPECTOR['SLOW_RECEIVER_MS'] must be int or float, not str."]),
    ({"SLOW_RECEIVER_MS": False}, ["SIGNAL_INSPECTOR['SLOW_RECEIVER_MS'] must be int or float, not bool."]),
    ({"SLOW_RECEIVER_MS": -0.5}, ["SIGNAL_INSPECTOR['SLOW_RECEIVER_MS'] must be positive, not -0.5."]),
    ({"SKIP_MODULES": {"myapp": True}}, ["SIGNAL_INSPECTOR['SKIP_MODULES'] must be list or tuple, not dict."]),
    ({"SKIP_MODULES": ["myapp", None]}, ["SIGNAL_INSPECTOR['SKIP_MODULES'] must hold only strings."]),
    ({"IGNORE_SIGNALS": "django.db.models.signals.pre_init"}, ["SIGNAL_INSPECTOR['IGNORE_SIGNALS'] must be list or tuple, not str."]),
    ({"IGNORE_SIGNALS": {"django.db.models.signals.pre_init"}}, ["SIGNAL_INSPECTOR['IGNORE_SIGNALS'] must be list or tuple, not set."]),
    (
        {"MAX_SEND": 5, "MAX_SENDS": "10", "SKIP_MODULES": "x", "SLOW_RECEIVER_MS": -1},
        [
            "SIGNAL_INSPECTOR has an unknown key 'MAX_SEND'",
            "SIGNAL_INSPECTOR['MAX_SENDS'] must be int, not str.",
            "SIGNAL_INSPECTOR['SKIP_MODULES'] must be list or tuple, not str.",
            "SIGNAL_INSPECTOR['SLOW_RECEIVER_MS'] must be positive, not -1.",
        ],
    ),
]


def w005(value: Any) -> list[Any]:
    with override_settings(SIGNAL_INSPECTOR=value):
        return [m for m in run_checks() if m.id == "signal_inspector.W005"]


@pytest.mark.parametrize(
    ("value", "messages"), BROKEN_SETTINGS, ids=[repr(value) for value, _ in BROKEN_SETTINGS]
)
def test_broken_setting_one_error_per_problem_with_a_hint(value: Any, messages: list[str]) -> None:
    errors = w005(value)
    assert len(errors) == len(messages), [e.msg for e in errors]
    for error, message in zip(errors, messages, strict=True):
        assert error.msg.startswith(message)
        assert error.obj == "SIGNAL_INSPECTOR"
        assert error.hint == HINT
        assert error.level == WARNING


def test_nan_slow_receiver_threshold_is_reported() -> None:
    assert len(w005({"SLOW_RECEIVER_MS": math.nan})) == 1


HINT = (
    "Recording uses the defaults until it is fixed. See "
    "https://django-signal-inspector.readthedocs.io/en/latest/settings.html"
)


@pytest.fixture(scope="module")
def broken_settings(tmp_path_factory) -> Iterator[Path]:
    """A settings module: the test project's, with a setting broken four ways."""
    path = tmp_path_factory.mktemp("broken_settings")
    (path / "broken_settings.py").write_text(
        "from tests.settings import *  # noqa: F403\n"
        "SIGNAL_INSPECTOR = {'MAX_SEND': 5, 'MAX_SENDS': '10', 'SKIP_MODULES': 'x',"
        " 'SLOW_RECEIVER_MS': -1}\n"
    )
    yield path


def test_broken_setting_in_a_real_check(broken_settings: Path) -> None:
    run = manage("check", settings="broken_settings", path=broken_settings)
    assert run.returncode == 0
    assert "Traceback" not in run.stderr
    assert run.stderr.startswith("System check identified some issues:")
    warnings = re.findall(
        r"^SIGNAL_INSPECTOR: \(signal_inspector\.W005\) (.*)\n\tHINT: (.*)$", run.stderr, re.M
    )
    assert [message.split(";")[0] for message, _ in warnings] == [
        "SIGNAL_INSPECTOR has an unknown key 'MAX_SEND'",
        "SIGNAL_INSPECTOR['MAX_SENDS'] must be int, not str.",
        "SIGNAL_INSPECTOR['SKIP_MODULES'] must be list or tuple, not str.",
        "SIGNAL_INSPECTOR['SLOW_RECEIVER_MS'] must be positive, not -1.",
    ]
    assert {hint for _, hint in warnings} == {HINT}


def test_broken_setting_does_not_stop_migrate(broken_settings: Path) -> None:
    """Issue 11: as E001 it stopped migrate (and runserver) with SystemCheckError."""
    run = manage("migrate", "--no-color", settings="broken_settings", path=broken_settings)
    assert run.returncode == 0, run.stderr
    assert "SystemCheckError" not in run.stderr
    assert "signal_inspector.W005" in run.stderr
    assert "Operations to perform" in run.stdout


def test_broken_setting_does_not_break_the_command(broken_settings: Path) -> None:
    """signalmap skips system checks (the map is its own report), and recording
    falls back to the defaults: it runs as usual."""
    run = manage("signalmap", "--signal", "pong", "--no-color", settings="broken_settings", path=broken_settings)
    assert (run.returncode, run.stderr) == (0, "")
    assert run.stdout.startswith("tests.dupapp.signals.pong\n")
