"""``Recording.to_text()``: the tree, its flags, and its bounds."""

from __future__ import annotations

import time

import pytest
from django.db import transaction
from django.dispatch import Signal

import signal_inspector
from tests.testapp.models import Order

pytestmark = pytest.mark.django_db


@pytest.fixture
def signal():
    return Signal()


def ok(sender, **kwargs):
    return "ok"


def slow(sender, **kwargs):
    time.sleep(0.02)


def boom(sender, **kwargs):
    raise ValueError("boom")


def never(sender, **kwargs):
    return "never"


def deliver():
    pass


def test_the_tree_shows_signal_sender_receivers_outcome_and_time(signal):
    signal.connect(ok, weak=False)
    signal.connect(boom, weak=False)
    with signal_inspector.record() as recording:
        signal.send_robust(sender=Order, value=1)
    lines = recording.to_text().splitlines()
    assert lines[0].startswith(f"{recording.sends[0].signal}  send_robust()  sender=testapp.Order  ")
    assert lines[0].endswith(f"at tests/test_text.py:{test_the_tree_shows_signal_sender_receivers_outcome_and_time.__code__.co_firstlineno + 4}")
    assert lines[1].startswith("├─ tests.test_text.ok  ")
    assert lines[1].endswith(" ms  returned 'ok'")
    assert lines[2].startswith("└─ tests.test_text.boom  ")
    assert lines[2].endswith(" ms  raised (caught by send_robust) ValueError: boom")
    assert lines[-1].startswith("1 send, 2 receiver calls, ")
    assert lines[-1].endswith(" ms in receivers, 1 error")


def test_flags_raised_not_run_slow_and_ran_twice(signal):
    signal.connect(slow, weak=False)
    signal.connect(slow, weak=False, dispatch_uid="again")  # a duplicate: runs twice
    signal.connect(boom, weak=False)
    signal.connect(never, weak=False)
    with signal_inspector.record() as recording, pytest.raises(ValueError):
        signal.send(sender=None)
    text = recording.to_text(slow_ms=10)
    lines = text.splitlines()
    assert lines[1].startswith("├─ tests.test_text.slow ")
    assert lines[1].endswith("returned  [slow]  [ran twice]")
    assert lines[2].endswith("returned  [slow]  [ran twice]")
    assert "└─" not in lines[3] and lines[3].endswith("raised ValueError: boom")
    assert lines[4] == "└─ not run: tests.test_text.never (an earlier receiver raised)"
    assert "[slow]" not in recording.to_text(slow_ms=1000)


def test_loops_are_flagged_with_their_chain(signal):
    depth = []

    def again(sender, **kwargs):
        if len(depth) < 3:
            depth.append(1)
            signal.send(sender=sender)

    signal.connect(again, weak=False)
    with signal_inspector.record() as recording:
        signal.send(sender=Order)
    text = recording.to_text()
    name = "tests.test_text.test_loops_are_flagged_with_their_chain.<locals>.again"
    assert f"[loop: {name} → {name}]" in text
    assert f"{name}  " in text and "[loop]" in text
    assert text.splitlines()[-1].endswith(", 1 loop")


@pytest.mark.django_db(transaction=True)
def test_on_commit_fate_ran_or_discarded(signal):
    def schedule(sender, **kwargs):
        transaction.on_commit(deliver)

    signal.connect(schedule, weak=False)
    with signal_inspector.record() as recording:
        with transaction.atomic():
            signal.send(sender="committed")
        try:
            with transaction.atomic():
                signal.send(sender="rolled back")
                raise RuntimeError
        except RuntimeError:
            pass
    lines = recording.to_text().splitlines()
    assert "   └─ on_commit tests.test_text.deliver: ran" in lines
    assert "   └─ on_commit tests.test_text.deliver: discarded" in lines
    assert lines.index("   └─ on_commit tests.test_text.deliver: ran") < lines.index(
        "   └─ on_commit tests.test_text.deliver: discarded"
    )


def test_size_is_bounded_and_says_how_many_more(signal):
    signal.connect(ok, weak=False)
    with signal_inspector.record() as recording:
        for _ in range(500):
            signal.send(sender=None)
    lines = recording.to_text(max_lines=20).splitlines()
    # 20 lines: 10 sends, each with its receiver; then what was left out.
    assert lines[20] == "… 490 more sends not shown"
    assert len(lines) == 22
    assert lines[-1].startswith("500 sends, 500 receiver calls")


def test_a_deep_cascade_is_cut_at_a_depth_and_counted(signal):
    calls = []

    def deeper(sender, **kwargs):
        if len(calls) < 40:
            calls.append(1)
            signal.send(sender=len(calls))  # another sender each time: no loop

    signal.connect(deeper, weak=False)
    with signal_inspector.record() as recording:
        signal.send(sender=0)
    text = recording.to_text(max_depth=5)
    lines = text.splitlines()
    assert lines[10].endswith("… 36 more sends nested deeper")
    assert max(len(line) for line in lines) < 250
    assert len(lines) == 12


def test_silent_sends_and_an_empty_recording():
    with signal_inspector.record() as recording:
        Order(number="x")  # pre_init and post_init, nobody listening
    assert recording.to_text().splitlines() == [
        "(no signal with a receiver was sent)",
        "silent (sent, no receiver): post_init(testapp.Order) ×1, pre_init(testapp.Order) ×1",
        "0 sends, 0 receiver calls, 0.00 ms in receivers, 0 errors, 2 silent sends",
    ]
    assert "silent (sent" not in recording.to_text(silent=False)


def test_bad_bounds_are_value_errors():
    with signal_inspector.record() as recording:
        pass
    with pytest.raises(ValueError, match="max_lines must be 1 or more"):
        recording.to_text(max_lines=0)
