"""signal_inspector.W002: receiver modules nothing imported (issue: classic mistakes)."""

from __future__ import annotations

import sys

from django.apps import AppConfig, apps
from django.core.management import call_command
from django.test import override_settings

from signal_inspector.unconnected import find_receivers, find_unconnected, is_project_app
from tests.settings import INSTALLED_APPS


def lonely_config() -> AppConfig:
    config = AppConfig.create("tests.lonelyapp")
    config.ready()  # imports lonelyapp.imported, as Django would
    return config


def test_finds_modules_that_define_receivers_but_were_never_imported():
    found = {item.module: item for item in find_unconnected([lonely_config()])}
    assert set(found) == {"tests.lonelyapp.signals", "tests.lonelyapp.handlers.orders"}
    signals = found["tests.lonelyapp.signals"]
    assert [r["name"] for r in signals.receivers] == ["create_profile", "on_login"]
    assert signals.receivers[0]["signal"] == "post_save"
    assert signals.receivers[1]["signal"] == "user_logged_in"
    assert signals.file == "tests/lonelyapp/signals.py"
    assert signals.ready.startswith("tests/lonelyapp/apps.py:")
    assert signals.fix == "from . import signals  # noqa: F401"
    assert found["tests.lonelyapp.handlers.orders"].fix == "from .handlers import orders  # noqa: F401"
    # Reading is not importing.
    assert "tests.lonelyapp.signals" not in sys.modules


def test_no_false_alarm_for_imported_modules_tests_and_migrations():
    reported = {item.module for item in find_unconnected([lonely_config()])}
    assert "tests.lonelyapp.imported" not in reported
    assert not any("migrations" in m or "_tests" in m for m in reported)
    # The test project's own app imports its receivers in ready(): nothing to report.
    assert find_unconnected([apps.get_app_config("testapp")]) == []


def test_installed_packages_are_not_project_apps():
    assert not is_project_app(apps.get_app_config("auth"))
    assert is_project_app(apps.get_app_config("testapp"))


def test_find_receivers_reads_decorators_and_connect_calls():
    source = (
        "from django.dispatch import receiver\n"
        "@receiver([a, b], sender=X)\ndef one(sender, **kw): pass\n"
        "@dispatch.receiver(c)\nasync def two(sender, **kw): pass\n"
        "sig.connect(three)\n"
        "def not_a_receiver(): pass\n"
    )
    assert [(r["name"], r["signal"]) for r in find_receivers(source)] == [
        ("one", "[a, b]"), ("two", "c"), ("three", "sig")]


def test_w002_through_manage_py_check(capsys):
    with override_settings(INSTALLED_APPS=[*INSTALLED_APPS, "tests.lonelyapp"]):
        call_command("check", "lonelyapp")
    err = capsys.readouterr().err
    assert "signal_inspector.W002" in err
    assert "tests/lonelyapp/signals.py defines receivers create_profile (post_save), on_login" in err
    assert "HINT: Import it in the app's AppConfig.ready() (tests/lonelyapp/apps.py:" in err
    assert "from . import signals  # noqa: F401" in err


def test_w002_can_be_silenced(capsys):
    with override_settings(
        INSTALLED_APPS=[*INSTALLED_APPS, "tests.lonelyapp"],
        SILENCED_SYSTEM_CHECKS=["signal_inspector.W002"],
    ):
        call_command("check", "lonelyapp")
    assert "W002" not in capsys.readouterr().err


def test_signalmap_lists_never_connected_receivers_in_text_and_json(capsys):
    import json

    with override_settings(INSTALLED_APPS=[*INSTALLED_APPS, "tests.lonelyapp"]):
        call_command("signalmap", "--app", "lonelyapp", "--no-color")
        text = capsys.readouterr().out
        call_command("signalmap", "--format", "json")
        data = json.loads(capsys.readouterr().out)
    assert "Receivers never connected (2 modules)" in text
    assert "tests/lonelyapp/signals.py: nothing imports tests.lonelyapp.signals" in text
    assert "create_profile (post_save) line" in text
    assert "from . import signals  # noqa: F401" in text
    modules = {item["module"]: item for item in data["unconnected"]}
    assert set(modules) >= {"tests.lonelyapp.signals", "tests.lonelyapp.handlers.orders"}
    assert modules["tests.lonelyapp.signals"]["fix"] == "from . import signals  # noqa: F401"


def test_signalmap_has_no_unconnected_section_when_all_are_imported(capsys):
    import json

    call_command("signalmap", "--format", "json")
    assert json.loads(capsys.readouterr().out)["unconnected"] == []
