"""W002/W004 edges: apps without a readable AppConfig, the migrate-only wording,
and imports that name no module."""

from __future__ import annotations

import pytest
from django.apps import AppConfig, apps
from django.core.management import call_command
from django.test import override_settings

import tests.lonelyapp
from signal_inspector.unconnected import _resolve, describe, describe_fix, find_unconnected
from tests.settings import INSTALLED_APPS


def _signals_item(config: AppConfig):
    found = {item.module: item for item in find_unconnected([config])}
    return found["tests.lonelyapp.signals"]


def test_an_app_without_an_appconfig_is_told_to_get_one():
    """No apps.py (Django's default AppConfig): there is no ready() to point at."""
    config = AppConfig("tests.lonelyapp", tests.lonelyapp)
    item = _signals_item(config)
    assert item.ready == ""
    assert describe_fix(item) == (
        "Give the app 'lonelyapp' an AppConfig in apps.py whose ready() "
        "imports it: from . import signals  # noqa: F401"
    )


def test_an_appconfig_whose_source_cannot_be_read_gets_no_location():
    """An AppConfig class made at run time (no ``class`` statement to find)."""
    made = type("MadeConfig", (AppConfig,), {"name": "tests.lonelyapp", "__module__": __name__})
    item = _signals_item(made("tests.lonelyapp", tests.lonelyapp))
    assert item.ready == ""
    assert describe_fix(item).startswith("Give the app 'lonelyapp' an AppConfig in apps.py")


@pytest.mark.parametrize("has_ready", [True, False])
def test_receivers_only_migrate_imports_are_described_as_such(has_ready):
    (item,) = _migrate_items()
    names = ", ".join(f"{r['name']} ({r['signal']})" for r in item.receivers)
    assert names
    if has_ready:
        item.ready = "tests/migrateapp/apps.py:9"
    assert describe(item) == (
        "tests/migrateapp/management/__init__.py defines receivers "
        f"{names}, but the module "
        "tests.migrateapp.management is imported only by manage.py migrate (which imports "
        "every app's management package before it sends post_migrate): they are not "
        "connected anywhere else."
    )
    where = "AppConfig.ready() (tests/migrateapp/apps.py:9)" if has_ready else "AppConfig.ready()"
    assert describe_fix(item) == (
        "Move the receivers to a module of their own (such as signals.py) and import it "
        f"in the app's {where}, or import this module there: "
        "from . import management  # noqa: F401"
    )


def _migrate_items():
    with override_settings(INSTALLED_APPS=[*INSTALLED_APPS, "tests.migrateapp"]):
        return find_unconnected([apps.get_app_config("migrateapp")])


def test_w004_for_migrate_only_receivers_through_manage_py_check(capsys):
    with override_settings(INSTALLED_APPS=[*INSTALLED_APPS, "tests.migrateapp"]):
        call_command("check", "migrateapp")
    err = capsys.readouterr().err
    assert "tests.migrateapp.management is imported only by manage.py migrate" in err


def test_a_relative_import_above_the_top_package_names_no_module():
    """``from .. import x`` in a top-level module: Python refuses it, so it imports nothing."""
    assert _resolve("top", [True, 2, None, [("x", None)], True, "", 1]) == []
    assert _resolve("top.sub", [True, 1, None, [("x", None)], True, "", 1]) == ["top.sub", "top.sub.x"]
