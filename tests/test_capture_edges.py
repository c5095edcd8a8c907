"""``capture_signals()`` at its edges: keyword matching that fails in each way
(a missing argument, a predicate saying no, an ``__eq__`` that raises), failure
messages over many or unheard sends, ``muted()`` given nonsense, and
``shuffled()`` over async receivers.
"""

from __future__ import annotations

import asyncio
import random

import pytest
from django.dispatch import Signal

from signal_inspector.isolation import shuffled
from signal_inspector.testing import capture_signals, muted

paid = Signal()


def heard(**kwargs) -> None:
    pass


@pytest.fixture
def heard_paid():
    paid.connect(heard)
    yield paid
    paid.disconnect(heard)


class RaisingEq:
    def __eq__(self, other: object) -> bool:
        raise RuntimeError("cannot compare")

    __hash__ = object.__hash__


def test_a_keyword_not_sent_does_not_match(heard_paid) -> None:
    with capture_signals() as signals:
        paid.send(sender=None, amount=5)
        signals.assert_sent(paid, amount=5)
        with pytest.raises(AssertionError, match=r"with currency='EUR' was sent 0 times"):
            signals.assert_sent(paid, currency="EUR")


def test_a_predicate_saying_no_does_not_match(heard_paid) -> None:
    with capture_signals() as signals:
        paid.send(sender=None, amount=5)
        # Inside the block: predicates need the real arguments.
        signals.assert_sent(paid, amount=lambda value: value > 1)
        with pytest.raises(AssertionError, match=r"was sent 0 times, expected at least once"):
            signals.assert_sent(paid, amount=lambda value: value > 10)


def test_an_argument_whose_eq_raises_does_not_match_and_does_not_raise(heard_paid) -> None:
    with capture_signals() as signals:
        paid.send(sender=None, amount=RaisingEq())
        with pytest.raises(AssertionError, match=r"was sent 0 times"):
            signals.assert_sent(paid, amount=5)


def test_a_failure_over_many_sends_shows_ten_and_counts_the_rest(heard_paid) -> None:
    with capture_signals() as signals:
        for amount in range(13):
            paid.send(sender=None, amount=amount)
    with pytest.raises(AssertionError) as info:
        signals.assert_sent(paid, amount=99)
    message = str(info.value)
    assert "  10. amount=9\n" in message
    assert "amount=10\n" not in message
    assert "  … 3 more" in message


def test_a_failure_counts_the_sends_no_receiver_heard() -> None:
    with capture_signals() as signals:
        paid.send(sender=None, amount=1)
        paid.send(sender=None, amount=2)
    with pytest.raises(AssertionError) as info:
        signals.assert_sent(paid, amount=1)
    message = str(info.value)
    assert "Sent with (keyword arguments as recorded):" in message
    assert "and 2 sends no receiver heard, counted without their arguments" in message


def test_a_failure_without_any_send_lists_none() -> None:
    with capture_signals() as signals:
        pass
    with pytest.raises(AssertionError) as info:
        signals.assert_sent(paid, amount=1)
    assert "Sent with" not in str(info.value)


@pytest.mark.parametrize("nonsense", [5, "", None])
def test_muting_something_that_is_not_a_receiver_is_refused(nonsense) -> None:
    refused = r"mute: a receiver must be a function, method or dotted name"
    with pytest.raises(ValueError, match=refused), muted(nonsense):
        pass


def test_shuffled_runs_async_receivers_in_the_orders_random_order() -> None:
    signal = Signal()
    order: list[str] = []

    def make(name: str):
        async def receiver(**kwargs) -> None:
            order.append(name)

        receiver.__qualname__ = name
        return receiver

    receivers = [make(name) for name in "abcdef"]
    for receiver in receivers:
        signal.connect(receiver, weak=False)
    orders = set()
    for seed in range(6):
        order.clear()
        with capture_signals(), shuffled(random.Random(seed)):
            asyncio.run(signal.asend(sender=None))
        assert sorted(order) == list("abcdef")
        orders.add("".join(order))
    assert len(orders) > 1
