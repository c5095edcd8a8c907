"""System checks. W001: one warning per duplicate receiver registration."""

from __future__ import annotations

import re
from io import StringIO
from typing import Any

import pytest
from django.apps import apps
from django.core.checks import WARNING
from django.core.management import call_command
from django.core.management.base import SystemCheckError

from signal_inspector.checks import check_duplicate_receivers


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
