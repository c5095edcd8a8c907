"""Which receivers are the project's own (``signal_inspector.project``), and
``signalmap``'s default of listing only those, wrapped to the terminal."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest
from django.core.management import CommandError
from django.dispatch import Signal
from django.test import override_settings

from signal_inspector.project import ProjectCode, project_root
from tests.test_signalmap import run

REPO = Path(__file__).resolve().parent.parent


def test_the_root_is_base_dir_else_the_settings_packages_parent(tmp_path: Path) -> None:
    assert project_root() == REPO  # tests.settings: the parent of the tests package
    with override_settings(BASE_DIR=tmp_path):
        assert project_root() == tmp_path.resolve()
    with override_settings(BASE_DIR=str(tmp_path)):
        assert project_root() == tmp_path.resolve()


def test_project_files_are_under_the_root_and_outside_installed_packages(tmp_path: Path) -> None:
    own = tmp_path / "shop" / "receivers.py"
    venv = tmp_path / ".venv" / "lib" / "python3.11" / "site-packages" / "lib" / "handlers.py"
    debian = tmp_path / "usr" / "lib" / "python3" / "dist-packages" / "lib.py"
    for path in (own, venv, debian):
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text("")
    project = ProjectCode(tmp_path)
    assert project.has_file(str(own))
    assert not project.has_file(str(venv))
    assert not project.has_file(str(debian))
    assert not project.has_file(str(REPO / "tests" / "testapp" / "receivers.py"))  # another root
    assert not project.has_file("<string>")
    here = ProjectCode(REPO)
    assert here.has_module("tests.testapp.receivers")
    assert not here.has_module("django.db.models.signals")  # site-packages
    assert not here.has_module("json")  # the standard library
    assert not here.has_module("no.such.module")


def _hidden_count(out: str) -> int:
    found = re.search(r"Not listed: (\d+) receivers? of Django and installed packages", out)
    assert found, out
    return int(found.group(1))


def test_signalmap_lists_only_the_projects_receivers_and_counts_the_others() -> None:
    out, err, code = run("--no-color")
    assert (err, code) == ("", 0)
    assert "tests.dupapp.handlers.shared" in out
    assert "django.contrib.auth.models.update_last_login" not in out
    assert "django.test.signals" not in out
    data = json.loads(run("--format", "json")[0])
    receivers = [r for s in data["signals"] for r in s["receivers"]]
    tools = ("signal_inspector.", "debug_toolbar.")
    others = [r for r in receivers if not r["project"] and not r["receiver"].startswith(tools)]
    # Django's, and any installed package another test imported in this process.
    assert others and all(not r["module"].startswith(("tests.", "example_project")) for r in others)
    assert any(r["module"].startswith("django.") for r in others)
    assert _hidden_count(out) == len(others)
    # Every project receiver is listed, by its row.
    listed = re.findall(r"^  \d+ +\S.*?  (\S+)  ", out, re.M)
    assert sorted(listed) == sorted(
        r["receiver"] for r in receivers if r["project"] and not r["receiver"].startswith(tools)
    )
    everything, _, _ = run("--no-color", "--all")
    assert "django.contrib.auth.models.update_last_login" in everything
    assert "Not listed:" not in everything


lost_sent = Signal()


def test_weak_receivers_an_installed_package_lost_are_counted_not_listed() -> None:
    """A package's weak receiver that was garbage-collected (the toolbar's templates
    panel loses one per request) is the package's business: counted, not listed."""
    import gc

    # connect() run by code that is not the project's (a module outside its files).
    package = {"__name__": "somepackage.wiring", "signal": lost_sent}
    exec(compile("signal.connect(lambda **kw: None)", "/usr/lib/python3/dist-packages/"
                 "somepackage/wiring.py", "exec"), package)
    gc.collect()
    everything, _, _ = run("--no-color", "--all")
    assert "somepackage.wiring.<lambda> was connected weakly to tests.test_project.lost_sent" in everything
    out, _, _ = run("--no-color")
    assert "somepackage" not in out
    assert re.search(r"and [1-9]\d* of their weak receivers garbage-collected", out)


def test_a_filter_shows_what_it_names_whoever_wrote_it() -> None:
    out, _, _ = run("--no-color", "--signal", "setting_changed")
    assert "django.test.signals.root_urlconf_changed" in out
    assert "Not listed:" not in out
    out, _, _ = run("--no-color", "--app", "auth")
    assert "django.contrib.auth.models.update_last_login" in out


def test_text_wraps_to_the_width_asked_for() -> None:
    plain, _, _ = run("--no-color")
    assert max(len(line) for line in plain.splitlines()) > 100  # the reason for wrapping
    wrapped, _, _ = run("--no-color", "--width", "80")
    for line in wrapped.splitlines():
        # Only a single word longer than the width (a long dotted name) may stick out.
        assert len(line) <= 80 or " " not in line.strip(), line
    # Nothing is lost: the same words, in the same order.
    assert wrapped.split() == plain.split()
    assert run("--no-color", "--width", "0")[0] == plain  # 0: never wrap; not a terminal: neither
    with pytest.raises(CommandError, match="--width must be 0 or more"):
        run("--width", "-1")


def test_a_table_too_wide_for_the_terminal_puts_where_on_its_own_line() -> None:
    out, _, _ = run("--no-color", "--width", "80", "--signal", "pong")
    assert out.splitlines()[:5] == [
        "tests.dupapp.signals.pong",
        "  #  SENDER  RECEIVER",
        "     DEFINED AT  CONNECTED AT  NOTES",
        "  1  (any sender)  tests.dupapp.handlers.shared",
        out.splitlines()[4],
    ]
    assert re.fullmatch(r"     tests/dupapp/handlers\.py:\d+  tests/dupapp/wiring\.py:\d+", out.splitlines()[4])
    wide, _, _ = run("--no-color", "--width", "200", "--signal", "pong")
    assert wide == run("--no-color", "--signal", "pong")[0]


def test_on_a_terminal_text_wraps_to_its_width() -> None:
    """The default width is the terminal's (COLUMNS, as shutil reads it), and only
    on a terminal: a pipe is left unwrapped."""
    import os
    import pty
    import subprocess
    import sys

    env = {**os.environ, "COLUMNS": "70", "DJANGO_SETTINGS_MODULE": "tests.settings"}
    leader, follower = pty.openpty()
    try:
        # Read while it writes: a terminal holds only a few kilobytes.
        process = subprocess.Popen(
            [sys.executable, "-m", "django", "signalmap", "--no-color"],
            cwd=REPO, env=env, stdout=follower, stderr=subprocess.DEVNULL,
        )
        os.close(follower)
        chunks = []
        while True:
            try:
                chunk = os.read(leader, 65536)
            except OSError:  # the terminal's other end is closed: all read
                break
            if not chunk:
                break
            chunks.append(chunk)
        returncode = process.wait(timeout=120)
    finally:
        os.close(leader)
    assert returncode == 0
    lines = b"".join(chunks).decode().replace("\r\n", "\n").splitlines()
    assert len(lines) > 20
    assert all(len(line) <= 70 or " " not in line.strip() for line in lines), lines
    piped = subprocess.run(
        [sys.executable, "-m", "django", "signalmap", "--no-color"],
        cwd=REPO, env=env, capture_output=True, text=True, timeout=120, check=False,
    )
    assert max(len(line) for line in piped.stdout.splitlines()) > 70
