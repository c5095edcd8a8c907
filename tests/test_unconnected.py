"""signal_inspector.W002: receiver modules nothing imported (issue: classic mistakes)."""

from __future__ import annotations

import os
import sys

import pytest
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


# --- imported, but not at startup (issue 11) ------------------------------------

VIEWSAPP = override_settings(
    INSTALLED_APPS=[*INSTALLED_APPS, "tests.viewsapp", "tests.migrateapp"],
    ROOT_URLCONF="tests.viewsapp.root_urls",
)
URLCONF_MODULES = (
    "tests.viewsapp.root_urls",
    "tests.viewsapp.admin",
    "tests.viewsapp.account_urls",
    "tests.viewsapp.views",
    "tests.viewsapp.account_views",
)


# Modules taken out of sys.modules stay alive here: their weakly connected
# receivers must not be garbage-collected (which W003 would rightly report).
_KEPT: list[object] = []


def _forget_urlconf() -> None:
    _KEPT.extend(sys.modules.pop(name) for name in URLCONF_MODULES if name in sys.modules)


@pytest.fixture
def viewsapp():
    _forget_urlconf()
    with VIEWSAPP:
        yield
    _forget_urlconf()


def reported(*labels: str) -> list[tuple[str, str]]:
    configs = [apps.get_app_config(label) for label in labels]
    return [(item.module, item.reach) for item in find_unconnected(configs)]


def test_views_reached_only_through_the_urlconf_are_told_as_such_on_every_run(viewsapp):
    """Issue 11: app/views.py holding @receiver(user_logged_in) was "never imported"
    when no check had loaded the URLconf yet, and silent when one had."""
    expected = [
        ("tests.viewsapp.account_views", "urlconf"),
        ("tests.viewsapp.admin", "urlconf"),  # no admin installed to import it
        ("tests.viewsapp.views", "urlconf"),
    ]
    assert "tests.viewsapp.views" not in sys.modules
    before = reported("viewsapp")
    from django.urls import resolve

    resolve("/account/")  # as the URL checks, or the first request, load it
    assert "tests.viewsapp.views" in sys.modules
    assert before == reported("viewsapp") == expected


def test_w004_through_manage_py_check_the_same_before_and_after_the_urlconf(viewsapp, capsys):
    from django.urls import resolve

    call_command("check", "viewsapp")
    first = capsys.readouterr().err
    resolve("/page/")
    call_command("check", "viewsapp")
    second = capsys.readouterr().err
    assert first == second
    assert first.count("signal_inspector.W004") == 3
    assert "signal_inspector.W002" not in first
    assert (
        "tests.viewsapp.views: (signal_inspector.W004) tests/viewsapp/views.py defines "
        "receivers on_login (user_logged_in), but the module tests.viewsapp.views is "
        "imported only through the URLconf (tests.viewsapp.root_urls): they are "
        "connected once something loads it (the system checks that runserver, migrate "
        "and most management commands run first, or the first request), and not where "
        "nothing does: call_command(..., skip_checks=True) and --skip-checks, the shell, "
        "task workers, scripts that only call django.setup(), tests before any request."
    ) in first
    assert "HINT: Move the receivers to a module of their own (such as signals.py)" in first
    assert "never imported" not in first


@pytest.mark.django_db
def test_management_package_receivers_of_migrate_signals_are_not_unconnected(viewsapp):
    """Issue 11: migrate imports every app's management package before it sends
    post_migrate (django-guardian relies on it): not "never imported"."""
    assert ("tests.viewsapp.management", "migrate") not in reported("viewsapp")
    assert [m for m, _ in reported("viewsapp") if "management" in m] == []
    call_command("migrate", verbosity=0)
    from tests.viewsapp.management import ran

    assert "auth" in ran  # migrate imported it, and its receiver ran
    # Receivers of other signals there are connected only while migrate runs.
    assert reported("migrateapp") == [("tests.migrateapp.management", "migrate")]


def test_signalmap_tells_urlconf_only_modules_apart(viewsapp, capsys):
    import json

    call_command("signalmap", "--app", "viewsapp", "--no-color")
    text = capsys.readouterr().out
    assert "Receivers never connected" not in text
    assert "Receivers not connected at startup (3 modules)" in text
    assert (
        "tests/viewsapp/views.py: only the URLconf (tests.viewsapp.root_urls) imports "
        "tests.viewsapp.views, so these are not connected in management commands"
    ) in text
    call_command("signalmap", "--app", "viewsapp", "--format", "json")
    data = json.loads(capsys.readouterr().out)
    assert {(i["module"], i["reach"]) for i in data["unconnected"]} == {
        ("tests.viewsapp.admin", "urlconf"),
        ("tests.viewsapp.views", "urlconf"),
        ("tests.viewsapp.account_views", "urlconf"),
    }


def test_an_admin_module_the_admin_autodiscovers_is_connected_at_startup(viewsapp, settings):
    """The URLconf imports viewsapp.admin, but with django.contrib.admin installed
    Django imports every app's admin module at startup anyway."""
    assert ("tests.viewsapp.admin", "urlconf") in reported("viewsapp")
    settings.INSTALLED_APPS = [*settings.INSTALLED_APPS, "django.contrib.admin"]
    assert "tests.viewsapp.admin" not in [module for module, _ in reported("viewsapp")]


# --- pretix's patterns: signals sent only by code that imports the receivers ------

PLUGINAPP = override_settings(
    INSTALLED_APPS=[*INSTALLED_APPS, "tests.pluginapp"], ROOT_URLCONF="tests.pluginapp.urls"
)
PLUGIN_URLCONF_MODULES = (
    "tests.pluginapp.urls", "tests.pluginapp.views", "tests.pluginapp.channels",
    "tests.pluginapp.exports", "tests.pluginapp.waitinglist", "tests.pluginapp.shredders",
    "tests.pluginapp.badges",
)


@pytest.fixture
def pluginapp():
    _KEPT.extend(sys.modules.pop(n) for n in PLUGIN_URLCONF_MODULES if n in sys.modules)
    with PLUGINAPP:
        yield
    _KEPT.extend(sys.modules.pop(n) for n in PLUGIN_URLCONF_MODULES if n in sys.modules)


def test_w004_only_where_a_send_can_miss_the_receivers(pluginapp):
    """pretix: 5 W004, 4 false (channels.py, pdf.py, devicesecurity.py send their own
    signal; shredder.py's is sent by Event.get_data_shredders(), whose callers all
    import it). What stays: a signal sent by code that does not import the
    receivers' module, and one whose receivers are called directly (runperiodic)."""
    found = {item.module: item for item in find_unconnected([apps.get_app_config("pluginapp")])}
    assert set(found) == {"tests.pluginapp.waitinglist", "tests.pluginapp.badges"}
    assert {item.reach for item in found.values()} == {"urlconf"}
    assert found["tests.pluginapp.waitinglist"].receivers == [
        {"name": "process_waitinglist", "line": 14, "signal": "periodic"}
    ]


def test_w004_says_where_the_receivers_are_missing(pluginapp, capsys):
    call_command("check", "pluginapp")
    err = capsys.readouterr().err
    assert err.count("signal_inspector.W004") == 2
    assert (
        "tests/pluginapp/waitinglist.py defines receivers process_waitinglist (periodic), "
        "but the module tests.pluginapp.waitinglist is imported only through the URLconf "
        "(tests.pluginapp.urls): they are connected once something loads it (the system "
        "checks that runserver, migrate and most management commands run first, or the "
        "first request), and not where nothing does: call_command(..., skip_checks=True) "
        "and --skip-checks, the shell, task workers"
    ) in err
    assert "not in management commands" not in err


def test_the_true_gap_is_real():
    """What W004 still says happens, in a fresh process: without a check or a
    request, a send by code that does not import the receivers' module reaches none
    of them, and a command run without checks misses the periodic receiver."""
    import subprocess

    script = (
        "import django; django.setup()\n"
        "from django.core.management import call_command\n"
        "from tests.pluginapp import tasks\n"
        "print(len(tasks.badges()), len(tasks.run_exports()), len(tasks.registry.get_shredders()))\n"
        "call_command('pluginapp_periodic')\n"  # call_command skips checks by default
        "print('--')\n"
        "call_command('pluginapp_periodic', skip_checks=False)\n"
        "print(len(tasks.badges()))\n"
    )
    env = {**os.environ, "DJANGO_SETTINGS_MODULE": "tests.pluginapp.settings"}
    out = subprocess.run(
        [sys.executable, "-c", script], env=env, capture_output=True, text=True, check=True
    ).stdout
    # registry.get_shredders(): no caller imported shredders.py yet, so nothing.
    assert out.splitlines() == [
        "0 1 0", "--", "tests.pluginapp.waitinglist.process_waitinglist", "1",
    ]


def test_receiver_keyword_form_names_its_signal():
    source = "@receiver(signal=periodic_task)\ndef f(sender, **kw): pass\n"
    assert find_receivers(source) == [{"name": "f", "line": 2, "signal": "periodic_task"}]


def test_signal_inspectors_own_modules_are_never_reported(monkeypatch):
    """Installed editable (the README's route), signal_inspector is "project code";
    its conf.py connects setting_changed and is imported lazily."""
    monkeypatch.delitem(sys.modules, "signal_inspector.conf")
    assert find_unconnected([apps.get_app_config("signal_inspector")]) == []


def test_paths_are_relative_through_a_symlinked_sys_path_entry(tmp_path, monkeypatch, settings):
    real = tmp_path / "real"
    package = real / "symapp"
    package.mkdir(parents=True)
    (package / "__init__.py").write_text("")
    (package / "apps.py").write_text(
        "from django.apps import AppConfig\n\n\nclass SymConfig(AppConfig):\n"
        "    name = 'symapp'\n\n    def ready(self):\n        pass\n"
    )
    (package / "handlers.py").write_text(
        "from django.core.signals import request_started\nfrom django.dispatch import receiver\n\n"
        "@receiver(request_started)\ndef on_start(sender, **kw):\n    pass\n"
    )
    link = tmp_path / "link"
    link.symlink_to(real)
    monkeypatch.syspath_prepend(str(link))
    config = AppConfig.create("symapp")
    try:
        (item,) = find_unconnected([config])
    finally:
        for name in [n for n in sys.modules if n == "symapp" or n.startswith("symapp.")]:
            del sys.modules[name]
    assert item.file == "symapp/handlers.py"
    assert item.ready == "symapp/apps.py:7"


def test_a_send_in_the_urlconfs_package_outside_any_app_counts(tmp_path, monkeypatch, settings):
    """Project code that is no app (the package of the URLconf, of the settings) is
    read for sends too: one there that does not import channels.py keeps its W004."""
    package = tmp_path / "siteconf"
    package.mkdir()
    (package / "__init__.py").write_text("")
    (package / "urls.py").write_text("from tests.pluginapp.urls import urlpatterns  # noqa\n")
    (package / "jobs.py").write_text(
        "from tests.pluginapp.signals import channel_types\n\n\n"
        "def nightly():\n    return channel_types.send(None)\n"
    )
    monkeypatch.syspath_prepend(str(tmp_path))
    _KEPT.extend(sys.modules.pop(n) for n in PLUGIN_URLCONF_MODULES if n in sys.modules)
    settings.INSTALLED_APPS = [*INSTALLED_APPS, "tests.pluginapp"]
    settings.ROOT_URLCONF = "siteconf.urls"
    try:
        found = [item.module for item in find_unconnected([apps.get_app_config("pluginapp")])]
    finally:
        for name in [n for n in sys.modules if n == "siteconf" or n.startswith("siteconf.")]:
            del sys.modules[name]
    assert "tests.pluginapp.channels" in found
    assert "tests.pluginapp.exports" not in found
