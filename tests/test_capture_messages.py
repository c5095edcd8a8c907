"""What a ``capture_signals()`` capture says of itself and in its failures:
its repr and tree, many errors, errors past ``max_sends``, a receiver asked
about for one signal, a callable instance, and signals named by another path."""

from __future__ import annotations

import pytest
from django.core.signals import setting_changed
from django.dispatch import Signal

from signal_inspector.testing import capture_signals, resolve_sender
from tests.testapp.models import Order
from tests.testapp.receivers import audit_order_saved
from tests.testapp.signals import order_paid


def failing_signal(count: int = 1) -> Signal:
    signal = Signal()
    for index in range(count):

        def fails(index=index, **kwargs):
            raise ValueError(f"failure {index}")

        signal.connect(fails, weak=False)
    return signal


def test_a_capture_shows_its_summary_and_tree() -> None:
    signal = failing_signal()
    with capture_signals() as signals:
        signal.send_robust(sender=None)
    assert repr(signals).startswith("<SignalCapture: 1 send, 1 receiver call, ")
    assert repr(signals).endswith(", 1 error>")
    assert "raised (caught by send_robust) ValueError: failure 0" in signals.to_text()


def test_more_than_ten_errors_are_counted_past_the_tenth() -> None:
    signal = failing_signal(12)
    with capture_signals() as signals:
        signal.send_robust(sender=None)
    with pytest.raises(AssertionError) as info:
        signals.assert_no_errors()
    message = str(info.value)
    assert message.startswith("12 receivers raised:")
    assert "  … 2 more" in message


def test_errors_in_sends_past_max_sends_are_counted() -> None:
    signal = failing_signal()
    with capture_signals(max_sends=1) as signals:
        for _ in range(3):
            signal.send_robust(sender=None)
    with pytest.raises(AssertionError) as info:
        signals.assert_no_errors()
    assert "  … 2 in sends past max_sends=1" in str(info.value)


@pytest.mark.django_db
def test_a_receiver_asked_about_for_one_signal_names_it() -> None:
    with capture_signals() as signals:
        Order.objects.create(number="A-1")
    signals.assert_received(audit_order_saved)
    with pytest.raises(AssertionError) as info:
        signals.assert_received(audit_order_saved, signal=order_paid)
    assert str(info.value).startswith(
        "tests.testapp.receivers.audit_order_saved for tests.testapp.signals.order_paid ran 0 times"
    )


def test_a_connected_receiver_that_never_ran_is_known_by_its_dotted_name() -> None:
    with capture_signals() as signals:
        pass
    with pytest.raises(AssertionError, match=r"^tests\.testapp\.receivers\.audit_order_saved ran 0 times"):
        signals.assert_received("tests.testapp.receivers.audit_order_saved")


class Listener:
    def __call__(self, **kwargs) -> None:
        pass

    def __repr__(self) -> str:
        return "<the listener>"


def test_a_callable_instance_is_described_with_its_repr() -> None:
    with capture_signals() as signals:
        pass
    with pytest.raises(AssertionError, match=r"^tests\.test_capture_messages\.Listener\(\) <the listener> ran 0"):
        signals.assert_received(Listener())


def test_a_signal_named_by_a_module_that_reexports_it_is_found() -> None:
    with capture_signals() as signals:
        setting_changed.send(sender=None, setting="X", value=1, enter=True)
    # django.test.signals imports setting_changed from django.core.signals.
    signals.assert_sent("django.test.signals.setting_changed", times=1)


def test_resolve_sender_tests_recorded_labels() -> None:
    test = resolve_sender(Order)
    assert test("testapp.Order") is True
    assert test("testapp.AuditLog") is False
