"""Names and safe reprs: focused unit tests of what the records show."""

from __future__ import annotations

import functools
import json
from io import StringIO

from django.contrib.auth.signals import user_logged_in
from django.core.management import call_command
from django.core.signals import request_finished, setting_changed
from django.db.models.signals import post_save, pre_init
from django.dispatch import Signal
from django.utils.functional import SimpleLazyObject

from signal_inspector import naming
from signal_inspector.testing import capture_signals
from tests.testapp.models import Order
from tests.testapp.signals import order_paid


def test_signals_are_named_by_the_module_that_defines_them():
    assert naming.signal_name(post_save) == "django.db.models.signals.post_save"
    assert naming.signal_name(pre_init) == "django.db.models.signals.pre_init"
    assert naming.signal_name(request_finished) == "django.core.signals.request_finished"
    # django.test.signals imports setting_changed; the definition wins.
    assert naming.signal_name(setting_changed) == "django.core.signals.setting_changed"
    assert naming.signal_name(user_logged_in) == "django.contrib.auth.signals.user_logged_in"
    assert naming.signal_name(order_paid) == "tests.testapp.signals.order_paid"


def test_scanning_modules_does_not_evaluate_lazy_objects():
    evaluated = []
    lazy = SimpleLazyObject(lambda: evaluated.append(1) or object())
    import sys
    import types

    module = types.ModuleType("tests._lazy_holder")
    module.lazy = lazy
    sys.modules[module.__name__] = module
    try:
        naming.iter_module_signals()
    finally:
        del sys.modules[module.__name__]
    assert evaluated == []


def test_sender_labels():
    assert naming.sender_label(Order) == "testapp.Order"
    assert naming.sender_label(None) == "None"
    assert naming.sender_label(dict) == "builtins.dict"
    assert naming.sender_label("x" * 500, 20).endswith("…")


def test_model_instances_are_never_str_ed():
    class Boom(Order):
        class Meta:
            proxy = True
            app_label = "testapp"

        def __str__(self):
            raise AssertionError("__str__ must not be called")

    assert naming.safe_repr(Boom(pk=3, number="x")) == "<testapp.Boom: pk=3>"


def test_querysets_are_not_evaluated():
    # No database access is allowed in this test: evaluating would raise.
    assert naming.safe_repr(Order.objects.all()) == "<QuerySet of testapp.Order>"


def test_receiver_names():
    def local(sender, **kwargs):
        return None

    assert naming.receiver_name(local).endswith("test_receiver_names.<locals>.local")
    assert naming.receiver_name(functools.partial(local)).startswith("functools.partial(")
    assert naming.receiver_location(local).startswith("tests/test_naming.py:")
    assert naming.receiver_location(len) == ""


def test_masking_follows_djangos_error_reports():
    for key in ("password", "API_KEY", "auth_token", "client_secret", "signature", "cookie", "sessionid"):
        assert naming.is_sensitive(key), key
    for key in ("instance", "created", "user", "order"):
        assert not naming.is_sensitive(key), key
    reprs = naming.kwargs_reprs({"data": {"password": "p", "x": {"token": "t"}}}, 200)
    assert "'p'" not in reprs["data"] and "'t'" not in reprs["data"]


LAZY_SOURCE = '''
import builtins
builtins.SIGNAL_INSPECTOR_LAZY_RAN = True
from django.dispatch import Signal
lazy_ping = Signal()
'''


def test_the_module_scan_does_not_execute_lazily_loaded_modules(tmp_path):
    """Issue 11: a module registered through importlib.util.LazyLoader runs when
    its namespace is read; the scan behind W001/W002 and signalmap read it."""
    import builtins
    import importlib.util
    import sys

    from django.core.checks import run_checks
    from django.core.management import call_command

    path = tmp_path / "si_lazy_module.py"
    path.write_text(LAZY_SOURCE)
    spec = importlib.util.spec_from_file_location("si_lazy_module", path)
    assert spec is not None and spec.loader is not None
    spec.loader = importlib.util.LazyLoader(spec.loader)
    module = importlib.util.module_from_spec(spec)
    sys.modules["si_lazy_module"] = module
    spec.loader.exec_module(module)
    try:
        naming.iter_module_signals()
        run_checks()
        call_command("signalmap", "--all", "--format", "json", stdout=__import__("io").StringIO())
        assert not hasattr(builtins, "SIGNAL_INSPECTOR_LAZY_RAN")
        # Once something uses it, its signal is found like any other.
        assert module.lazy_ping is not None
        assert naming.signal_name(module.lazy_ping) == "si_lazy_module.lazy_ping"
    finally:
        del sys.modules["si_lazy_module"]
        if hasattr(builtins, "SIGNAL_INSPECTOR_LAZY_RAN"):
            del builtins.SIGNAL_INSPECTOR_LAZY_RAN


def test_the_module_scan_sees_signals_made_again_by_reload(tmp_path, monkeypatch):
    """Issue 11: importlib.reload() makes new signals in the same namespace,
    without changing the number of modules: the scan went stale."""
    import importlib
    import sys

    from signal_inspector.receivers import discover_signals

    (tmp_path / "si_reloaded.py").write_text("from django.dispatch import Signal\nbeat = Signal()\n")
    monkeypatch.syspath_prepend(str(tmp_path))
    module = importlib.import_module("si_reloaded")
    try:
        old = module.beat
        assert dict(discover_signals())["si_reloaded.beat"] is old
        importlib.reload(module)
        assert module.beat is not old
        assert dict(discover_signals())["si_reloaded.beat"] is module.beat
        assert naming.signal_name(module.beat) == "si_reloaded.beat"
    finally:
        del sys.modules["si_reloaded"]


def test_a_signal_no_module_holds_is_not_looked_up_again_on_every_send(monkeypatch):
    import sys
    import types as _types

    from django.dispatch import Signal as _Signal

    from signal_inspector import naming

    made_at_run_time = _Signal()
    first = naming.signal_name(made_at_run_time)
    assert first.startswith("<unnamed Signal")
    scans = []
    real = naming.iter_module_signals
    monkeypatch.setattr(naming, "iter_module_signals", lambda: scans.append(1) or real())
    assert naming.signal_name(made_at_run_time) == first
    assert scans == []
    # Once a module holds it (modules changed), it is named after all.
    module = _types.ModuleType("tests.made_later")
    module.late_signal = made_at_run_time  # type: ignore[attr-defined]
    monkeypatch.setitem(sys.modules, "tests.made_later", module)
    assert naming.signal_name(made_at_run_time) == "tests.made_later.late_signal"


def test_our_own_files_are_relative_even_off_sys_path(monkeypatch) -> None:
    """Installed editable, signal_inspector is on no sys.path entry (a finder
    imports it): its files must still read signal_inspector/..., not absolute."""
    import os
    import sys

    import signal_inspector
    from signal_inspector import naming

    root = os.path.dirname(os.path.dirname(os.path.abspath(signal_inspector.__file__)))
    monkeypatch.setattr(sys, "path", [p for p in sys.path if os.path.abspath(p or ".") != root])
    monkeypatch.setattr(naming, "_short_paths", {})
    monkeypatch.chdir("/")
    assert naming.short_path(os.path.join(root, "signal_inspector", "conf.py")) == (
        "signal_inspector/conf.py"
    )


audited = Signal()


class AuditEntry:
    """Connected as a receiver itself: calling the class is what runs."""

    def __init__(self, sender: object, **kwargs: object) -> None:
        self.sender = sender


class OtherEntry:
    def __init__(self, sender: object, **kwargs: object) -> None:
        self.sender = sender


def test_a_class_connected_as_a_receiver_is_named_for_itself() -> None:
    """Every class's type is ``type``: named by its type, every class read
    ``builtins.type()``, one name for all of them, none of them the project's."""
    assert naming.receiver_name(AuditEntry) == "tests.test_naming.AuditEntry"
    assert naming.receiver_name(functools.partial(AuditEntry)) == (
        "functools.partial(tests.test_naming.AuditEntry)"
    )
    audited.connect(AuditEntry, dispatch_uid="test_naming.audit")
    try:
        with capture_signals() as signals:
            audited.send(sender=Order)
        [call] = signals.calls()
        assert call.name == "tests.test_naming.AuditEntry"
        assert "tests.test_naming.AuditEntry" in signals.to_text()
        signals.assert_received(AuditEntry)
        signals.assert_not_received(OtherEntry)  # not one name for every class

        out = StringIO()
        call_command("signalmap", "--format", "json", stdout=out)
        [paid] = [s for s in json.loads(out.getvalue())["signals"] if s["name"] == "tests.test_naming.audited"]
        [registration] = [r for r in paid["receivers"] if r["dispatch_uid"] == "test_naming.audit"]
        assert registration["receiver"] == "tests.test_naming.AuditEntry"
        assert registration["project"] is True
    finally:
        audited.disconnect(dispatch_uid="test_naming.audit")
