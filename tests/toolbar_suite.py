"""Run django-debug-toolbar's own test suite with our panel in place of its SignalsPanel.

Proves the panel behaves as a toolbar panel must in every way the toolbar tests
its panels: rendering into the page (``RENDER_PANELS``), the store, the history
panel, async requests, CSP, the panel views. Run it with the Python of the venv
whose toolbar you want to test::

    python tests/toolbar_suite.py [extra "manage.py test" arguments]

It downloads the sdist of the installed django-debug-toolbar (it holds
``tests/``) into ``.cache/``, and the suite's own test dependencies
(html5lib, Jinja2, django-template-partials, django-csp, Pygments) into a
directory of their own there, never into the venv. The suite runs in a child
process against the *installed* toolbar, with the toolbar's settings,
``signal_inspector`` first in ``INSTALLED_APPS`` and ``DEBUG_TOOLBAR_PANELS``
being the toolbar's defaults with ``SignalsPanel`` swapped for ours. Warnings
are errors as in the toolbar's tox.ini.

Left out, in ``EXCLUDED``: the tests that list the default panels' ids
(``SignalsPanel`` among them), and one that lists the installed apps with
static files (ours has some).
"""

from __future__ import annotations

import os
import subprocess
import sys
import tarfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent

# The suite's test-only dependencies (its "dev" group, minus tools and Selenium),
# installed --no-deps so that nothing replaces the venv's Django.
TEST_DEPENDENCIES = [
    "html5lib",
    "six",
    "webencodings",
    "Jinja2",
    "MarkupSafe",
    "django-template-partials",
    "django-csp",
    "Pygments",
]

# Tests that hard-code the toolbar's default set-up: with our app and panel in
# it they test something that is not there.
EXCLUDED = [
    # Asserts the exact set of default panel ids, "SignalsPanel" among them.
    "tests.panels.test_history.HistoryViewsTestCase.test_history_sidebar",
    "tests.panels.test_history.HistoryViewsTestCase.test_history_sidebar_includes_history",
    "tests.panels.test_history.HistoryViewsTestCase.test_history_sidebar_expired_request_id",
    "tests.panels.test_history.HistoryViewsTestCase.test_history_refresh",
    # Lists the installed apps that have static files: signal_inspector has some.
    "tests.panels.test_staticfiles.StaticFilesPanelTestCase.test_default_case",
]

SETTINGS = '''\
"""The toolbar's test settings, with signal_inspector's panel for its SignalsPanel
(written by signal_inspector's tests/toolbar_suite.py)."""

from debug_toolbar.settings import PANELS_DEFAULTS

from tests.settings import *  # noqa: F403

INSTALLED_APPS = ["signal_inspector", *INSTALLED_APPS]  # noqa: F405
DEBUG_TOOLBAR_PANELS = [
    "signal_inspector.panels.SignalInspectorPanel"
    if panel == "debug_toolbar.panels.signals.SignalsPanel"
    else panel
    for panel in PANELS_DEFAULTS
]
assert "signal_inspector.panels.SignalInspectorPanel" in DEBUG_TOOLBAR_PANELS
TEST_RUNNER = "signal_inspector_toolbar_runner.Runner"
'''

RUNNER = '''\
"""Django's runner, leaving out the tests listed in EXCLUDED (one per line)."""

import os
import unittest

from django.test.runner import DiscoverRunner

EXCLUDED = set(filter(None, os.environ.get("SIGNAL_INSPECTOR_EXCLUDED", "").split()))


class Runner(DiscoverRunner):
    def build_suite(self, *args, **kwargs):
        suite = super().build_suite(*args, **kwargs)
        kept = unittest.TestSuite()
        left_out = []
        for test in _flatten(suite):
            if test.id() in EXCLUDED:
                left_out.append(test)
            else:
                kept.addTest(test)
        print(f"Left out {len(left_out)} tests that list the default panels or apps:")
        for test in left_out:
            print(f"  {test.id()}")
        return kept


def _flatten(suite):
    for test in suite:
        if isinstance(test, unittest.TestSuite):
            yield from _flatten(test)
        else:
            yield test
'''

# Added to the toolbar's tests (as tests/test_signal_inspector_panel.py): what its
# suite checks for its own panels, checked for every panel, ours included.
OUR_TESTS = '''\
"""Every panel, ours included, as the toolbar's own tests check some of them
(written by signal_inspector's tests/toolbar_suite.py)."""

from django.test import override_settings
from django.utils.safestring import SafeString

from debug_toolbar.store import get_store
from debug_toolbar.toolbar import DebugToolbar

from .base import IntegrationTestCase


@override_settings(DEBUG=True)
class EveryPanelTestCase(IntegrationTestCase):
    def test_every_panels_content_is_safe(self):
        self.client.get("/execute_sql/")
        toolbar = DebugToolbar.fetch(list(get_store().request_ids())[-1])
        checked = []
        for panel in toolbar.enabled_panels:
            if panel.has_content:
                self.assertIsInstance(panel.content, SafeString, panel.panel_id)
                checked.append(panel.panel_id)
        self.assertIn("SignalInspectorPanel", checked)

    @override_settings(DEBUG_TOOLBAR_CONFIG={"RENDER_PANELS": True})
    def test_render_panels_in_request_renders_ours_as_html(self):
        response = self.client.get("/regular/basic/")
        page = response.content.decode()
        start = page.index('id="SignalInspectorPanel"')
        ours = page[start : page.index('class="djdt-panelContent', start + 30)]
        self.assertIn('<div class="djdt-si">', ours)
        self.assertNotIn("&lt;div", ours)
'''

# As the toolbar's tox.ini.
PYTHONWARNINGS = ",".join(
    [
        "error::ResourceWarning",
        "error::DeprecationWarning",
        "error::PendingDeprecationWarning",
        "ignore:The RedirectsPanel is deprecated:DeprecationWarning",
        "ignore:The 'partial'and 'partialdef' template tags are now part of Django core"
        ":DeprecationWarning",
        "ignore:Importing MiddlewareMixin from django.utils.deprecation is deprecated",
    ]
)


def _pip(*args: str) -> None:
    subprocess.run(
        [sys.executable, "-m", "pip", "-q", "--disable-pip-version-check", *args], check=True
    )


def toolbar_suite_dir() -> Path:
    """The toolbar's sdist, unpacked without its ``debug_toolbar`` package (the
    installed one is tested), with our settings and runner beside its tests."""
    import debug_toolbar

    version = debug_toolbar.VERSION
    cache = ROOT / ".cache" / f"django-debug-toolbar-{version}"
    source = cache / "source"
    if not (source / "tests" / "settings.py").is_file():
        cache.mkdir(parents=True, exist_ok=True)
        _pip("download", "--no-binary", ":all:", "--no-deps", "-d", str(cache),
             f"django-debug-toolbar=={version}")
        archive = next(cache.glob("django_debug_toolbar-*.tar.gz"))
        with tarfile.open(archive) as tar:
            top = tar.getmembers()[0].name.split("/")[0]
            members = []
            for member in tar.getmembers():
                parts = member.name.split("/")
                if len(parts) > 1 and parts[1] == "tests":
                    member.name = "/".join(parts[1:])
                    members.append(member)
            assert members, f"no tests/ in {archive.name} ({top})"
            tar.extractall(source, members=members, filter="data")
    (source / "signal_inspector_toolbar_settings.py").write_text(SETTINGS)
    (source / "signal_inspector_toolbar_runner.py").write_text(RUNNER)
    (source / "tests" / "test_signal_inspector_panel.py").write_text(OUR_TESTS)
    return source


def dependencies_dir() -> Path:
    target = ROOT / ".cache" / f"toolbar-suite-deps-py{sys.version_info[0]}{sys.version_info[1]}"
    marker = target / ".installed"
    if not marker.is_file() or marker.read_text() != "\n".join(TEST_DEPENDENCIES):
        _pip("install", "--no-deps", "--upgrade", "--target", str(target), *TEST_DEPENDENCIES)
        marker.write_text("\n".join(TEST_DEPENDENCIES))
    return target


def main(argv: list[str]) -> int:
    import debug_toolbar
    import django

    source = toolbar_suite_dir()
    deps = dependencies_dir()
    env = {
        **os.environ,
        # The venv's site-packages come after: the installed toolbar and Django.
        "PYTHONPATH": os.pathsep.join([str(source), str(deps)]),
        "DJANGO_SETTINGS_MODULE": "signal_inspector_toolbar_settings",
        "PYTHONWARNINGS": PYTHONWARNINGS,
        "SIGNAL_INSPECTOR_EXCLUDED": "\n".join(EXCLUDED),
    }
    env.pop("DB_BACKEND", None)  # SQLite, as the toolbar's default
    print(
        f"django-debug-toolbar {debug_toolbar.VERSION}'s test suite on Django "
        f"{django.get_version()}, with signal_inspector's panel for SignalsPanel"
    )
    command = [sys.executable, "-b", "-m", "django", "test", "-v", "1", "--noinput",
               *(argv or ["tests"])]
    return subprocess.run(command, cwd=source, env=env).returncode


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
