"""System checks. W001: one warning per duplicate receiver registration."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from io import StringIO
from pathlib import Path
from typing import Any

import pytest
from django.apps import apps
from django.core.checks import WARNING
from django.core.management import call_command
from django.core.management.base import SystemCheckError

from signal_inspector.checks import PANEL_PATH as PANEL
from signal_inspector.checks import check_duplicate_receivers

ROOT = Path(__file__).resolve().parent.parent


def check(*args: str, **options: Any) -> tuple[str, str]:
    out, err = StringIO(), StringIO()
    call_command("check", *args, stdout=out, stderr=err, **options)
    return out.getvalue(), err.getvalue()


def w001(text: str) -> list[str]:
    return re.findall(r"^(\S+): \(signal_inspector\.W001\)", text, re.M)


DUPAPP_GROUPS = [
    "tests.dupapp.handlers.any_and_thing",
    "tests.dupapp.handlers.two_uids",
    "tests.dupapp.wiring.connect_all.<locals>.<lambda>",
    "tests.dupapp.wiring.setup_listeners.<locals>.on_ping",
    "tests.dupapp.imported_twice.on_ping",
]


def test_w001_one_warning_per_duplicate_group() -> None:
    out, err = check("dupapp", "--tag", "signals")
    assert sorted(w001(err)) == sorted(DUPAPP_GROUPS)
    assert "HINT: Import that file under one name only (tests.dupapp.imported_twice)" in err
    assert "HINT: Connect it once, under one dispatch_uid." in err
    assert out == ""


def test_w001_warning_fields() -> None:
    warnings = check_duplicate_receivers([apps.get_app_config("dupapp")])
    assert len(warnings) == 5
    first = warnings[0]
    assert first.id == "signal_inspector.W001"
    assert first.level == WARNING
    assert first.obj == "tests.dupapp.handlers.any_and_thing"
    assert first.msg.startswith(
        "tests.dupapp.handlers.any_and_thing is connected to tests.dupapp.signals.ping "
        "for any sender and for dupapp.Thing: it runs 2 times when dupapp.Thing sends. "
        "Connected at: tests/dupapp/wiring.py:"
    )
    assert first.hint is not None and first.hint.startswith("Connect it once")


def test_w001_only_for_the_apps_checked() -> None:
    assert check_duplicate_receivers([apps.get_app_config("testapp")]) == []
    _, err = check("testapp")
    assert w001(err) == []


def test_w001_is_silenced_through_silenced_system_checks(settings: Any) -> None:
    settings.SILENCED_SYSTEM_CHECKS = ["signal_inspector.W001"]
    out, err = check("dupapp", "--tag", "signals")
    assert w001(out + err) == []
    assert out == "System check identified no issues (5 silenced).\n"


def test_w001_fails_check_at_fail_level_warning() -> None:
    with pytest.raises(SystemCheckError) as info:
        check("dupapp", "--tag", "signals", "--fail-level", "WARNING")
    assert len(w001(str(info.value))) == 5


# --- W006: the panel listed, the app not installed ----------------------------

W006_SETTINGS = (
    "from tests.settings import *  # noqa: F403\n"
    "INSTALLED_APPS = [a for a in INSTALLED_APPS if a != 'signal_inspector']  # noqa: F405\n"
)


def test_w006_panel_configured_without_the_app_in_a_real_process(tmp_path: Path) -> None:
    """Issue 11: the panel died with TemplateDoesNotExist and nothing said why.
    The toolbar imports the panel at startup, which registers the check."""
    (tmp_path / "noapp_settings.py").write_text(W006_SETTINGS)
    env = {
        **os.environ,
        "PYTHONPATH": os.pathsep.join([str(ROOT), str(tmp_path)]),
        "DJANGO_SETTINGS_MODULE": "noapp_settings",
    }
    run = subprocess.run(
        [sys.executable, "-m", "django", "check"],
        cwd=ROOT, env=env, capture_output=True, text=True, timeout=120,
    )
    assert run.returncode == 0, run.stderr
    [line] = [line for line in run.stderr.splitlines() if "signal_inspector.W006" in line]
    assert line.startswith("DEBUG_TOOLBAR_PANELS: (signal_inspector.W006) DEBUG_TOOLBAR_PANELS lists ")
    assert "TemplateDoesNotExist" in line
    assert "HINT: Add 'signal_inspector' to INSTALLED_APPS, first." in run.stderr
    # The other checks stay silent without the app.
    assert "W001" not in run.stderr


def test_w006_only_when_the_toolbar_is_installed_and_lists_the_panel(settings: Any) -> None:
    from django.core.checks import run_checks

    def w006() -> list[str]:
        return [m.id for m in run_checks() if m.id == "signal_inspector.W006"]

    without = [a for a in settings.INSTALLED_APPS if a != "signal_inspector"]
    assert w006() == []  # the app is installed
    settings.INSTALLED_APPS = without
    assert w006() == ["signal_inspector.W006"]
    settings.DEBUG_TOOLBAR_PANELS = ["debug_toolbar.panels.sql.SQLPanel"]
    assert w006() == []
    settings.DEBUG_TOOLBAR_PANELS = [PANEL]
    settings.INSTALLED_APPS = [a for a in without if a != "debug_toolbar"]
    assert w006() == []
