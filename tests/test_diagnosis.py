"""Classic mistakes the recording names: on_commit work lost, missing created guard,
skipped receivers, loops (each with its correct counterpart raising no diagnosis)."""

from __future__ import annotations

import pytest
from django.db import transaction
from django.db.models.signals import post_save
from django.dispatch import Signal

import signal_inspector
from tests.testapp.models import AuditLog, Order

pytestmark = pytest.mark.django_db(transaction=True)


def notify():
    notify.calls.append(1)


notify.calls = []


def schedules(sender, **kwargs):
    transaction.on_commit(notify)


def calls(recording):
    return [c for s in recording.iter_sends() for c in s.receivers]


def test_on_commit_callbacks_ran_at_commit():
    signal = Signal()
    signal.connect(schedules, weak=False)
    notify.calls.clear()
    with signal_inspector.record() as recording, transaction.atomic():
        signal.send(sender=None)
    assert notify.calls == [1]
    (callback,) = calls(recording)[0].on_commit
    assert callback.name == "tests.test_diagnosis.notify"
    assert callback.status == "ran"


def test_on_commit_callbacks_discarded_by_rollback():
    signal = Signal()
    signal.connect(schedules, weak=False)
    notify.calls.clear()
    with signal_inspector.record() as recording:
        try:
            with transaction.atomic():
                signal.send(sender=None)
                raise RuntimeError("roll back")
        except RuntimeError:
            pass
    assert notify.calls == []
    (callback,) = calls(recording)[0].on_commit
    assert callback.status == "discarded"


def test_on_commit_outside_a_transaction_runs_at_once():
    signal = Signal()
    signal.connect(schedules, weak=False)
    notify.calls.clear()
    with signal_inspector.record() as recording:
        signal.send(sender=None)
    assert notify.calls == [1]
    assert calls(recording)[0].on_commit[0].status == "ran"


def test_on_commit_still_pending_when_recording_ends():
    signal = Signal()
    signal.connect(schedules, weak=False)
    notify.calls.clear()
    with transaction.atomic():
        with signal_inspector.record() as recording:
            signal.send(sender=None)
        assert calls(recording)[0].on_commit[0].status == "pending"
    assert notify.calls == [1]


def unguarded(sender, instance, created, **kwargs):
    AuditLog.objects.create(message=f"profile for {instance.pk}")


def guarded(sender, instance, created, **kwargs):
    if created:
        AuditLog.objects.create(message=f"profile for {instance.pk}")


@pytest.mark.parametrize(("receiver", "hinted"), [(unguarded, True), (guarded, False)])
def test_missing_created_guard_hint(receiver, hinted):
    post_save.connect(receiver, sender=Order, weak=False)
    try:
        order = Order.objects.create(number="g")
        with signal_inspector.record() as recording:
            order.number = "g2"
            order.save()
    finally:
        post_save.disconnect(receiver, sender=Order)
    mine = [c for c in calls(recording) if c.name.endswith(receiver.__name__)]
    assert len(mine) == 1
    assert bool(mine[0].hints) is hinted
    assert recording.hints == int(hinted)
    if hinted:
        assert "if created:" in mine[0].hints[0]
        assert mine[0].to_dict(recording.origin)["hints"] == mine[0].hints


LIBRARY_SOURCE = '''
from tests.testapp.models import AuditLog


def history_saved(sender, instance, created, **kwargs):
    """As django-simple-history's post_save: a history row on every save."""
    AuditLog.objects.create(message=f"history of {instance.pk}")
'''


@pytest.fixture
def library_receiver():
    """A receiver in an installed package: a real module in this venv's
    site-packages, removed afterwards."""
    import importlib
    import sys
    import sysconfig
    from pathlib import Path

    path = Path(sysconfig.get_paths()["purelib"]) / "si_test_fake_history.py"
    path.write_text(LIBRARY_SOURCE)
    try:
        module = importlib.import_module("si_test_fake_history")
        yield module.history_saved
    finally:
        path.unlink()
        sys.modules.pop("si_test_fake_history", None)


def test_no_created_guard_hint_for_library_receivers(library_receiver):
    """Issue 11: simple_history's post_save got 143 "wrap it in `if created:`" hints
    in one admin import: advice the user cannot and should not follow."""
    post_save.connect(library_receiver, sender=Order, weak=False)
    post_save.connect(unguarded, sender=Order, weak=False)
    try:
        order = Order.objects.create(number="lib")
        with signal_inspector.record() as recording:
            order.number = "lib2"
            order.save()
    finally:
        post_save.disconnect(library_receiver, sender=Order)
        post_save.disconnect(unguarded, sender=Order)
    by_name = {c.name.rpartition(".")[2]: c for c in calls(recording)}
    assert by_name["history_saved"].inserts == 1
    assert not by_name["history_saved"].hints
    assert by_name["unguarded"].hints  # the project's own still gets it
    assert recording.hints == 1


def test_project_code_is_what_is_not_installed(library_receiver):
    from signal_inspector.naming import is_project_code

    assert not is_project_code("si_test_fake_history.history_saved")
    assert not is_project_code("django.contrib.auth.models.update_last_login")
    assert is_project_code(f"{__name__}.unguarded")
    assert is_project_code(f"functools.partial({__name__}.unguarded)")
    assert not is_project_code("no.such.module.f")
