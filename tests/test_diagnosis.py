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
