"""assert_connected / assert_not_connected, with the likely cause of a failure."""

from __future__ import annotations

import gc
import os
import subprocess
import sys
import unittest
from pathlib import Path

import pytest
from django.db.models.signals import post_save, pre_save

from signal_inspector.testing import assert_connected, assert_not_connected
from tests.testapp.models import AuditLog, Order
from tests.testapp.receivers import audit_order_saved, mark_paid
from tests.testapp.signals import order_paid

REPO = Path(__file__).resolve().parent.parent
pytest_plugins = ["pytester"]
AUDIT = "tests.testapp.receivers.audit_order_saved"


def test_connected_receivers_pass_by_object_name_and_label():
    assert_connected(post_save, audit_order_saved, sender=Order)
    assert_connected(post_save, AUDIT, sender="testapp.Order")
    assert_connected("django.db.models.signals.post_save", audit_order_saved)
    # Connected for any sender: it hears every sender.
    assert_connected(order_paid, mark_paid, sender=AuditLog)
    assert_not_connected(post_save, audit_order_saved, sender=AuditLog)
    assert_not_connected(pre_save, audit_order_saved)


def test_wrong_sender_is_named():
    with pytest.raises(AssertionError) as info:
        assert_connected(post_save, audit_order_saved, sender=AuditLog)
    assert str(info.value) == (
        f"{AUDIT} is not connected to django.db.models.signals.post_save for sender testapp.AuditLog.\n"
        "Likely cause: wrong sender: it is connected for testapp.Order only "
        "(receiver(..., sender=...) or connect(..., sender=...) names the class the send passes)."
    )


def test_another_signal_is_named():
    def stamp(sender, **kwargs):
        return None

    pre_save.connect(stamp, sender=Order)
    try:
        with pytest.raises(AssertionError) as info:
            assert_connected(post_save, stamp, sender=Order)
    finally:
        pre_save.disconnect(stamp, sender=Order)
    assert "Likely cause: another signal: it is connected to django.db.models.signals.pre_save instead." in str(
        info.value
    )


def test_a_collected_weak_receiver_is_named():
    def make():
        def forgotten(sender, **kwargs):
            return None

        post_save.connect(forgotten, sender=Order)
        return forgotten.__qualname__

    qualname = make()
    gc.collect()
    with pytest.raises(AssertionError) as info:
        assert_connected(post_save, f"{__name__}.{qualname}", sender=Order)
    message = str(info.value)
    assert "Likely cause: weak receiver collected: " in message
    assert "garbage-collected: it no longer runs" in message


def test_a_module_never_imported_is_named():
    with pytest.raises(AssertionError) as info:
        assert_connected(post_save, "tests.nowhere.handlers.on_save")
    assert (
        "Likely cause: module never imported: tests.nowhere.handlers is not loaded in this process"
        in str(info.value)
    )


def test_assert_not_connected_says_where_it_was_connected():
    with pytest.raises(AssertionError) as info:
        assert_not_connected(post_save, audit_order_saved, sender=Order)
    assert str(info.value) == (
        f"{AUDIT} is connected to django.db.models.signals.post_save for sender testapp.Order (once):\n"
        "  for testapp.Order, connected at tests/testapp/receivers.py:10"
    )


def test_bad_arguments_are_value_errors():
    with pytest.raises(ValueError, match="not the dotted path of a Signal"):
        assert_connected("django.db.models.signals.post_sav", audit_order_saved)
    with pytest.raises(ValueError, match="receiver must be"):
        assert_connected(post_save, 3)


def test_unittest_shows_the_tests_frame():
    class Case(unittest.TestCase):
        def test_it(self):
            assert_connected(post_save, audit_order_saved, sender=AuditLog)

    result = unittest.TestResult()
    Case("test_it").run(result)
    (_, text), = result.failures
    assert "test_connections.py" in text
    assert "connections.py\"" not in text.replace("test_connections.py\"", "")
    assert "wrong sender" in text


SCRIPT = """
import django
from django.conf import settings
from tests import settings as base

settings.configure(
    **{k: getattr(base, k) for k in dir(base) if k.isupper()}
    | {"INSTALLED_APPS": [*base.INSTALLED_APPS, "tests.viewsapp"], "ROOT_URLCONF": "tests.viewsapp.root_urls"}
)
django.setup()
from django.contrib.auth.signals import user_logged_in
from signal_inspector.testing import assert_connected

try:
    assert_connected(user_logged_in, "tests.viewsapp.views.on_login")
except AssertionError as exc:
    print(exc)
from django.urls import get_resolver
get_resolver().url_patterns
assert_connected(user_logged_in, "tests.viewsapp.views.on_login")
print("connected after the URLconf loaded")
"""


def test_a_receiver_only_the_urlconf_imports():
    done = subprocess.run(
        [sys.executable, "-c", SCRIPT], capture_output=True, text=True, cwd=REPO,
        env={**os.environ, "PYTHONPATH": str(REPO)}, timeout=120,
    )
    assert done.returncode == 0, done.stderr
    lines = done.stdout.splitlines()
    assert lines[0] == "tests.viewsapp.views.on_login is not connected to django.contrib.auth.signals.user_logged_in."
    assert lines[1].startswith("Likely cause: module never imported: tests.viewsapp.views is not loaded")
    assert lines[2].startswith(
        "Likely cause: connected only through the URLconf: ROOT_URLCONF (tests.viewsapp.root_urls) "
        "is not loaded in this process yet"
    )
    assert lines[-1] == "connected after the URLconf loaded"


def test_through_pytest(pytester, monkeypatch):
    monkeypatch.setenv("PYTHONPATH", str(REPO))
    monkeypatch.setenv("DJANGO_SETTINGS_MODULE", "tests.settings")
    pytester.makepyfile(
        test_wiring="""
from django.db.models.signals import post_save
from signal_inspector.testing import assert_connected
from tests.testapp.models import AuditLog, Order


def test_wired():
    assert_connected(post_save, "tests.testapp.receivers.audit_order_saved", sender=Order)


def test_wrong_sender():
    assert_connected(post_save, "tests.testapp.receivers.audit_order_saved", sender=AuditLog)
"""
    )
    result = pytester.runpytest_subprocess("-p", "no:cacheprovider", "-p", "no:randomly")
    result.assert_outcomes(passed=1, failed=1)
    result.stdout.fnmatch_lines(
        [
            '*assert_connected(post_save, "tests.testapp.receivers.audit_order_saved", sender=AuditLog)',
            "E   *AssertionError: tests.testapp.receivers.audit_order_saved is not connected to "
            "django.db.models.signals.post_save for sender testapp.AuditLog.",
            "E   *Likely cause: wrong sender: it is connected for testapp.Order only*",
            "test_wiring.py:11: AssertionError",
        ]
    )
