"""``signal_inspector.testing``: the assertions, without pytest's fixture (unittest, TestCase)."""

from __future__ import annotations

import asyncio
import re
import unittest
from functools import partial

import pytest
from django.db.models.signals import post_delete, post_save, pre_save
from django.dispatch import Signal
from django.test import TestCase
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from signal_inspector import context
from signal_inspector.testing import capture_signals
from tests.testapp.models import AuditLog, Order
from tests.testapp.receivers import audit_order_saved, mark_paid, refuse_hostile
from tests.testapp.signals import order_paid

pytestmark = pytest.mark.django_db

TIME = re.compile(r"\d+\.\d\d ms")


def pay(number: str = "A-1") -> Order:
    order = Order.objects.create(number=number)
    order_paid.send_robust(sender=Order, order=order)
    return order


def test_signal_as_object_dotted_name_or_short_name_and_sender_as_class_or_label():
    with capture_signals() as signals:
        pay()
    for signal in (order_paid, "tests.testapp.signals.order_paid", "order_paid"):
        signals.assert_sent(signal, times=1)
        for sender in (Order, "testapp.Order", "testapp.order", "tests.testapp.models.Order"):
            signals.assert_sent(signal, sender=sender, times=1)
    # create() and mark_paid's save(): two post_save of Order; AuditLog's has no receiver.
    signals.assert_sent(post_save, sender=Order, times=2)
    signals.assert_sent("post_save", sender=AuditLog, times=1)
    signals.assert_sent("django.db.models.signals.post_save", times=3)
    assert signals.count(pre_save, sender=Order) == 2  # sent, no receiver: still sent
    signals.assert_not_sent(post_delete)
    signals.assert_not_sent(order_paid, sender=AuditLog)


def test_sends_and_calls_list_what_ran_in_order_nested_included():
    with capture_signals() as signals:
        pay()
    assert [s.signal for s in signals.sends(sender=Order)] == [
        "django.db.models.signals.post_save",
        "tests.testapp.signals.order_paid",
        "django.db.models.signals.post_save",  # mark_paid's save(), inside order_paid
    ]
    assert [c.name.rsplit(".", 1)[-1] for c in signals.calls()] == [
        "audit_order_saved",
        "mark_paid",
        "audit_order_saved",
        "refuse_hostile",
    ]
    assert [c.outcome for c in signals.calls(mark_paid)] == ["returned"]
    (nested,) = signals.calls(mark_paid)[0].children
    assert (nested.signal, nested.sender) == ("django.db.models.signals.post_save", "testapp.Order")


def test_a_failed_assert_sent_shows_the_recorded_tree():
    with capture_signals() as signals:
        pay()
    with pytest.raises(AssertionError) as caught:
        signals.assert_sent(order_paid, sender=Order, times=2)
    message = str(caught.value)
    first, _, tree = message.partition("\n\nRecorded signals:\n")
    assert first == "tests.testapp.signals.order_paid from testapp.Order was sent once, expected 2 times."
    lines = tree.splitlines()
    send = next(line for line in lines if "order_paid" in line)
    assert "send_robust()" in send and "sender=testapp.Order" in send and TIME.search(send)
    call = next(line for line in lines if "mark_paid" in line)
    assert "├─ tests.testapp.receivers.mark_paid" in call and "returned 'marked'" in call
    assert TIME.search(call)
    # What mark_paid caused, one level further in.
    assert any(line.startswith("  │  └─ django.db.models.signals.post_save") for line in lines)
    assert lines[-1].strip().startswith("3 sends, 4 receiver calls")


def test_assert_not_sent_fails_for_a_send_nobody_received():
    with capture_signals() as signals:
        Order.objects.create(number="A-1")
    with pytest.raises(AssertionError, match=r"^django.db.models.signals.pre_save from testapp.Order was sent once, expected never\."):
        signals.assert_not_sent("pre_save", sender=Order)
    with pytest.raises(AssertionError, match="was sent 0 times, expected at least once"):
        signals.assert_sent(order_paid)


def test_assert_received_by_function_dotted_or_short_name():
    with capture_signals() as signals:
        pay()
    signals.assert_received(mark_paid, times=1)
    signals.assert_received("tests.testapp.receivers.mark_paid", times=1)
    signals.assert_received("mark_paid")
    signals.assert_received(audit_order_saved, times=2)
    signals.assert_received(audit_order_saved, signal="post_save", sender=Order, times=2)
    signals.assert_not_received(audit_order_saved, signal=order_paid)
    with pytest.raises(AssertionError, match=r"^tests.testapp.receivers.mark_paid ran once, expected 3 times\."):
        signals.assert_received(mark_paid, times=3)
    with pytest.raises(AssertionError, match=r"audit_order_saved ran 2 times, expected never"):
        signals.assert_not_received(audit_order_saved)


def test_assert_no_errors_fails_for_an_error_send_robust_swallowed():
    with capture_signals() as signals:
        pay("<hostile>")  # refuse_hostile raises; send_robust() returns the error
    assert Order.objects.get().paid  # the application went on
    with pytest.raises(AssertionError) as caught:
        signals.assert_no_errors()
    message = str(caught.value)
    assert message.startswith(
        "1 receiver raised:\n"
        "  tests.testapp.receivers.refuse_hostile raised (caught by send_robust) "
        "ValueError: refused <hostile>\n"
        "      tests/testapp/receivers.py:26 in refuse_hostile"
    )
    assert "└─ tests.testapp.receivers.refuse_hostile" in message
    signals.assert_raised(refuse_hostile, ValueError)
    signals.assert_raised("refuse_hostile", "ValueError")
    with pytest.raises(AssertionError, match="mark_paid did not raise"):
        signals.assert_raised(mark_paid)
    assert [c.name for c in signals.errors()] == ["tests.testapp.receivers.refuse_hostile"]


def test_assert_no_errors_passes_when_nothing_raised():
    with capture_signals() as signals:
        pay()
    signals.assert_no_errors()


def boom(sender, **kwargs):
    raise RuntimeError("boom")


def after(sender, **kwargs):
    return "after"


def test_receivers_send_never_ran_are_named_in_the_failure():
    signal = Signal()
    signal.connect(boom, weak=False)
    signal.connect(after, weak=False)
    with capture_signals() as signals, pytest.raises(RuntimeError):
        signal.send(sender=Order)
    with pytest.raises(AssertionError) as caught:
        signals.assert_received(after)
    message = str(caught.value)
    assert message.startswith(
        "tests.test_testing.after ran 0 times, expected at least once. It was not run once "
        "because a receiver before it raised inside send()."
    )
    assert "└─ not run: tests.test_testing.after (an earlier receiver raised)" in message
    signals.assert_sent(signal, sender=Order, times=1)  # a Signal with no module name


class Notifier:
    def on_paid(self, sender, **kwargs):
        return None


@pytest.mark.parametrize("method", ["send", "asend"])
def test_a_bound_method_that_never_ran_is_told_apart_from_its_twin(method):
    """Two objects' bound methods share a name: the one a failure kept from
    running is known by its key, so only its failure says why it did not run."""

    kept_out, never_connected = Notifier(), Notifier()
    signal = Signal()
    signal.connect(boom, weak=False)
    signal.connect(kept_out.on_paid, weak=False)
    with capture_signals() as signals, pytest.raises(RuntimeError):
        if method == "send":
            signal.send(sender=Order)
        else:
            asyncio.run(signal.asend(sender=Order))
    [send] = signals.recording.to_dict()["sends"]
    [skipped] = send["skipped"]
    assert skipped["name"] == "tests.test_testing.Notifier.on_paid"
    assert skipped["key"]
    reason = "It was not run once because a receiver before it raised inside send()."
    with pytest.raises(AssertionError) as caught:
        signals.assert_received(kept_out.on_paid)
    assert reason in str(caught.value)
    with pytest.raises(AssertionError) as caught:
        signals.assert_received(never_connected.on_paid)
    assert "It was not run" not in str(caught.value)


def test_bad_arguments_are_value_errors_naming_close_matches():
    with capture_signals() as signals:
        pay()
    with pytest.raises(ValueError, match=r"Unknown signal 'post_sav'\. Did you mean: .*django\.db\.models\.signals\.post_save"):
        signals.assert_sent("post_sav")
    with pytest.raises(ValueError, match=r"Unknown signal 'tests\.testapp\.signals\.order_payd'\. Did you mean: tests\.testapp\.signals\.order_paid"):
        signals.assert_not_sent("tests.testapp.signals.order_payd")
    with pytest.raises(ValueError, match=r"Unknown sender 'testapp\.Ordr'\. Did you mean: testapp\.Order"):
        signals.assert_not_sent(post_save, sender="testapp.Ordr")
    with pytest.raises(ValueError, match=r"Unknown receiver 'mark_payd'\. Did you mean: tests\.testapp\.receivers\.mark_paid"):
        signals.assert_not_received("mark_payd")
    with pytest.raises(ValueError, match="signal must be a Signal"):
        signals.assert_sent(42)
    with pytest.raises(ValueError, match="times must be a whole number"):
        signals.assert_sent(post_save, times=-1)
    with pytest.raises(ValueError, match="times must be a whole number"):
        signals.assert_received(mark_paid, times=True)
    with pytest.raises(ValueError, match="exception must be an exception class"):
        signals.assert_raised(mark_paid, 3)


def test_assertions_work_inside_the_block_and_the_recording_ends_with_it():
    with capture_signals() as signals:
        pay()
        signals.assert_sent(order_paid, times=1)
        assert context.current() is signals.recording
    assert context.current() is None
    Order.objects.create(number="after the block")
    signals.assert_sent(post_save, sender=Order, times=2)  # the later save is not counted


def test_an_exception_in_the_block_propagates_and_the_recording_still_ends():
    with pytest.raises(ZeroDivisionError), capture_signals() as signals:
        pay()
        1 / 0  # noqa: B018
    assert context.current() is None
    signals.assert_sent(order_paid, times=1)


class PaymentTests(TestCase):
    """The same assertions from Django's TestCase, as a unittest user writes them."""

    def test_paying_sends_order_paid_once(self) -> None:
        with capture_signals() as signals:
            pay()
        signals.assert_sent(order_paid, sender=Order, times=1)
        signals.assert_received(mark_paid, times=1)
        signals.assert_not_sent(post_delete)
        signals.assert_no_errors()


class HostilePaymentTests(TestCase):
    """Fails on purpose: run through unittest by the test below, not collected."""

    __test__ = False

    def test_paying_a_hostile_order_raises_in_a_receiver(self) -> None:
        with capture_signals() as signals:
            pay("<hostile>")
        signals.assert_no_errors()  # fails: refuse_hostile raised inside send_robust()


def test_unittest_reports_a_failed_signal_assertion_as_a_failure_with_the_tree():
    suite = unittest.TestSuite(
        [
            PaymentTests("test_paying_sends_order_paid_once"),
            HostilePaymentTests("test_paying_a_hostile_order_raises_in_a_receiver"),
        ]
    )
    result = unittest.TestResult()
    suite.run(result)
    assert result.errors == []
    assert result.testsRun == 2
    ((test, text),) = result.failures
    assert isinstance(test, HostilePaymentTests)
    assert "AssertionError: 1 receiver raised:" in text
    assert "tests.testapp.signals.order_paid  send_robust()  sender=testapp.Order" in text


ANYTHING = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(),
    st.floats(allow_nan=True),
    st.text(max_size=40),
    st.sampled_from(
        ["post_save", "order_paid", "tests.testapp.signals.order_paid", "testapp.Order",
         "mark_paid", ".", "..", "a.b.c", "os.path.join", "builtins.object", "<unnamed>",
         "tests.testapp.receivers.mark_paid", "django.db.models.signals.post_save"]
    ),
    st.sampled_from([order_paid, post_save, Order, AuditLog, mark_paid, object(), print, len]),
    st.lists(st.integers(), max_size=3),
)


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(method=st.sampled_from([
    "assert_sent", "assert_not_sent", "assert_received", "assert_not_received", "assert_raised",
]), first=ANYTHING, second=ANYTHING, times=st.one_of(st.none(), ANYTHING))
def test_assertions_raise_only_assertion_or_value_errors(method, first, second, times):
    with capture_signals() as signals:
        order_paid.send_robust(sender=Order, order=Order(number="<x>"))
    kwargs = {}
    if method in ("assert_sent", "assert_not_sent"):
        args = (first, second)
        if method == "assert_sent":
            kwargs["times"] = times
    elif method == "assert_raised":
        args = (first, second)
    else:
        args = (first,)
        kwargs["sender"] = second
        if method == "assert_received":
            kwargs["times"] = times
    try:
        getattr(signals, method)(*args, **kwargs)
    except (AssertionError, ValueError) as exc:
        assert str(exc)


# --- which receiver, which sender ---------------------------------------------------


class Listener:
    def __init__(self, name: str) -> None:
        self.name = name

    def on_paid(self, sender, **kwargs):
        return self.name

    def __call__(self, sender, **kwargs):
        return self.name


ANN, BOB = Listener("ann"), Listener("bob")


def notify(channel, sender, **kwargs):
    if channel == "fax":
        raise RuntimeError("no fax")
    return channel


def test_a_bound_method_partial_or_callable_object_is_that_receiver_not_all_of_its_kind():
    signal = Signal()
    ann, bob, carol, dave = ANN, BOB, Listener("carol"), Listener("dave")
    # The failing partial last: send() stops at it (send_robust() would log a
    # partial's __qualname__, which Django 5.2 cannot).
    for receiver in (ann.on_paid, carol, partial(notify, "email"), partial(notify, "fax")):
        signal.connect(receiver, weak=False)
    with capture_signals() as signals, pytest.raises(RuntimeError):
        signal.send(sender=Order)
    signals.assert_received(ann.on_paid, times=1)
    signals.assert_not_received(bob.on_paid)
    signals.assert_received(Listener.on_paid, times=1)  # the function: any instance
    signals.assert_received(carol, times=1)
    signals.assert_not_received(dave)
    signals.assert_received(partial(notify, "email"), times=1)  # equal arguments: the same
    signals.assert_not_received(partial(notify, "sms"))
    signals.assert_raised(partial(notify, "fax"), RuntimeError)
    with pytest.raises(AssertionError, match="did not raise"):
        signals.assert_raised(partial(notify, "email"))
    assert len(signals.calls(partial(notify, "email"))) == 1
    # A dotted path to one object's method is that object's.
    signals.assert_received("tests.test_testing.ANN.on_paid", times=1)
    signals.assert_not_received("tests.test_testing.BOB.on_paid")
    signals.assert_received("tests.test_testing.Listener.on_paid", times=1)
    with pytest.raises(AssertionError, match=r"^tests\.test_testing\.Listener\.on_paid bound to "
                       r".*Listener object .* ran 0 times, expected at least once\."):
        signals.assert_received(bob.on_paid)
    with pytest.raises(AssertionError, match=r"functools\.partial\(tests\.test_testing\.notify\) "
                       r"of \('sms'\) ran 0 times"):
        signals.assert_received(partial(notify, "sms"))


payment_done = Signal()


def on_payment(sender, **kwargs):
    return sender


class LongRepr:
    def __repr__(self) -> str:
        return "<LongRepr " + "x" * 120 + ">"


def test_a_string_sender_is_asserted_by_the_string_sent():
    payment_done.connect(on_payment, sender="payments", weak=False)
    try:
        with capture_signals() as signals:
            payment_done.send(sender="payments")
            payment_done.send(sender="refunds")  # no receiver: silent
    finally:
        payment_done.disconnect(on_payment, sender="payments")
    signals.assert_sent(payment_done, sender="payments", times=1)
    signals.assert_sent(payment_done, sender="refunds", times=1)
    signals.assert_not_sent(payment_done, sender="chargebacks")  # never sent, no typo
    assert [s.sender for s in signals.sends(payment_done, sender="payments")] == ["'payments'"]
    signals.assert_received(on_payment, sender="payments", times=1)
    with pytest.raises(AssertionError, match=r"from payments was sent once, expected never"):
        signals.assert_not_sent(payment_done, sender="payments")
    with pytest.raises(ValueError, match=r"Unknown sender 'testapp\.Ordr'\. Did you mean: testapp\.Order"):
        signals.assert_not_sent(payment_done, sender="testapp.Ordr")


def test_a_silent_send_is_found_by_its_whole_sender_label():
    sender = LongRepr()  # a repr of 131 characters: silent sends cut theirs at 80
    with capture_signals() as signals:
        payment_done.send(sender=sender)
    signals.assert_sent(payment_done, sender=sender, times=1)
    with pytest.raises(AssertionError, match="was sent once, expected never"):
        signals.assert_not_sent(payment_done, sender=sender)


def test_sends_the_recording_cannot_tell_apart_fail_assert_not_sent():
    with capture_signals() as signals:
        for number in range(600):  # distinct senders past the 500 kept by label
            payment_done.send(sender=number)
    signals.assert_sent(payment_done, sender=3, times=1)
    with pytest.raises(AssertionError, match=r"from 599 was sent 0 times, expected never\. "
                       r"100 more sends may be from 599: .*\"\(other senders\)\""):
        signals.assert_not_sent(payment_done, sender=599)
    with pytest.raises(AssertionError, match="100 more sends may be from 599"):
        signals.assert_sent(payment_done, sender=599, times=0)
    signals.assert_sent(payment_done, times=600)


def test_sends_past_max_sends_fail_assert_not_sent():
    with capture_signals(max_sends=1) as signals:
        pay()  # post_save kept; order_paid and the rest counted only
    with pytest.raises(AssertionError, match=r"order_paid was sent 0 times, expected never\. "
                       r"2 sends past max_sends=1 were counted, not kept"):
        signals.assert_not_sent(order_paid)
    with pytest.raises(AssertionError, match=r"mark_paid ran 0 times, expected never\. "
                       r"2 sends past max_sends=1 were counted, not kept"):
        signals.assert_not_received(mark_paid)
    with pytest.raises(AssertionError, match=r"audit_order_saved ran once, expected once\. 2 sends"):
        signals.assert_received(audit_order_saved, times=1)
