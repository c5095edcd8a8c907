"""The panel's stored form holds what ``Recording.to_dict()`` holds.

The panel stores a recording flat and compact (``stored.panel_sends``) and puts
the defaults back before drawing or export (``stored.expand``). Whatever the
records hold (tuples written by the send loop, ReceiverCalls made while a
receiver ran, nested sends, errors, stacks), the expanded stored sends must be
``to_dict()``'s sends, flattened: the panel shows the same thing it did.
"""

from __future__ import annotations

import asyncio
import random
from typing import Any

import pytest
from django.db import transaction
from django.dispatch import Signal

import signal_inspector
from signal_inspector.naming import mask_source_line
from signal_inspector.panels import mark_propagated
from signal_inspector.recording import ms4
from signal_inspector.stored import (
    CALL_FIELDS,
    COMPACT,
    SEND_FIELDS,
    expand,
    failure_views,
    panel_sends,
)
from tests.testapp.models import Order

pytestmark = pytest.mark.django_db(transaction=True)

outer = Signal()
inner = Signal()
looping = Signal()
plain = Signal()  # sync receivers only: the send loop writes their calls as tuples


def quiet(sender: Any, **kwargs: Any) -> None:
    return None


def answers(sender: Any, **kwargs: Any) -> dict[str, str]:
    return {"answer": "<b>42</b>"}


def nests(sender: Any, **kwargs: Any) -> None:
    inner.send_robust(sender=sender, password="hunter2")  # masked in kwargs
    Order.objects.count()  # a query attributed to this call


def fails(sender: Any, **kwargs: Any) -> None:
    raise ValueError("inner failure")


def schedules(sender: Any, **kwargs: Any) -> None:
    transaction.on_commit(lambda: None)


def loops(sender: Any, depth: int = 0, **kwargs: Any) -> None:
    if depth < 3:
        looping.send(sender=sender, depth=depth + 1)


async def async_answers(sender: Any, **kwargs: Any) -> str:
    await asyncio.sleep(0)
    return "async"


def never_runs(sender: Any, **kwargs: Any) -> None:
    raise AssertionError("skipped after a failure")


@pytest.fixture
def wired():
    connections = [
        (outer, quiet, None), (outer, answers, None), (outer, nests, None),
        (outer, schedules, None), (outer, async_answers, None),
        (inner, fails, None), (inner, quiet, None),
        (looping, loops, None),
        (plain, quiet, None), (plain, answers, None),
        # Duplicate: one function for any sender and for this sender.
        (looping, quiet, None), (looping, quiet, Order),
    ]
    for signal, receiver, sender in connections:
        signal.connect(receiver, sender=sender, weak=False)
    yield
    for signal, receiver, sender in connections:
        signal.disconnect(receiver, sender=sender)


def flattened(sends: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """to_dict()'s tree as the panel lists it: depth first, with depth, parent
    and each call's children as send ids."""
    flat: list[dict[str, Any]] = []
    pending = [(send, 0, None) for send in reversed(sends)]
    while pending:
        send, depth, parent = pending.pop()
        send["depth"], send["parent"] = depth, parent
        flat.append(send)
        for call in reversed(send["receivers"]):
            children = call["children"]
            call["children"] = [child["id"] for child in children]
            pending.extend((child, depth + 1, send["id"]) for child in reversed(children))
    return flat


def test_expanded_stored_sends_are_to_dicts_sends(wired) -> None:
    failing = Signal()
    failing.connect(fails, weak=False)
    failing.connect(never_runs, weak=False)
    with signal_inspector.record(stacks=True) as recording:
        with transaction.atomic():
            outer.send(sender=Order, note="x" * 50)
        looping.send(sender=Order)
        with pytest.raises(ValueError):
            failing.send(sender=None)
        for _ in range(3):
            outer.send_robust(sender=None)
            plain.send(sender=None)
    # Calls written as tuples (a result among them) and as ReceiverCalls.
    written = [c for s in recording.sends for c in s.calls]
    assert any(type(c) is tuple and len(c) == 4 for c in written)
    assert any(type(c) is not tuple for c in written)
    expected = flattened(recording.to_dict()["sends"])
    # Source lines masked as the panel masks them (and as to_dict() does).
    stored = panel_sends(recording, (), mask_source_line)
    stacks = stored["stacks"]
    got = expand(stored)["sends"]

    assert len(got) == len(expected) > 10
    # The panel counts failures on the stored form: as on the expanded sends.
    failures = mark_propagated(flattened(recording.to_dict()["sends"]))
    assert failures > 0
    assert mark_propagated(failure_views(stored)) == failures
    for mine, theirs in zip(got, expected, strict=True):
        frames = theirs.pop("stack")
        stack_id = mine.pop("stack_id")
        assert stacks[stack_id] == frames
        assert mine == theirs
    # The records had all of these, so the comparison covered them.
    calls = [call for send in expected for call in send["receivers"]]
    assert {call["outcome"] for call in calls} >= {"returned", "caught", "raised"}
    assert any(call["result"] for call in calls)
    assert any(call["queries"] for call in calls)
    assert any(call["on_commit"] for call in calls)
    assert any(call["is_async"] for call in calls)
    assert any(call["duplicate"] for call in calls)
    assert any(call["loop"] for call in calls)
    assert any(call["children"] for call in calls)
    assert any(send["skipped"] for send in expected)
    assert any(send["kwargs"].get("password") for send in expected)
    # Sends from one loop share one stored stack.
    assert len(stacks) < len(expected)


def test_compact_leaves_out_defaults_and_expand_is_a_copy(wired) -> None:
    with signal_inspector.record() as recording:
        outer.send_robust(sender=None)
    stats = panel_sends(recording, (), lambda line: line)
    names = stats["receivers_table"]
    send = stats["sends"][0]
    calls = [send[i : i + len(CALL_FIELDS)] for i in range(len(SEND_FIELDS), len(send), 5)]
    assert len(send) == len(SEND_FIELDS) + len(CALL_FIELDS) * len(calls) and len(calls) == 5
    assert send[SEND_FIELDS.index("about")] == 0  # nothing past the fixed fields
    quiet_call = next(c for c in calls if names[c[0]][0].endswith(".quiet"))
    # receiver, start, duration; no result, nothing else.
    assert all(type(v) is int for v in quiet_call[:3]) and quiet_call[3:] == ["", 0]
    full = expand(stats)
    full["sends"][0]["receivers"][0]["hints"].append("changed")
    full["sends"][0]["kwargs"]["added"] = "x"
    assert all("hints" not in c[4] for c in calls if c[4])
    assert "added" not in send[SEND_FIELDS.index("kwargs")]
    assert "receivers_table" not in full and "kind" not in full["sends"][0]
    assert expand(full) is full  # not compact: returned as it is


def test_a_compact_form_it_does_not_read_opens_with_its_totals() -> None:
    """Stats stored in another compact form (an unreleased main wrote one dict
    per send) open with their totals and no sends, rather than fail."""
    stats = {
        COMPACT: True,
        "total_sends": 1,
        "sends": [{"id": 1, "kind": 0, "start_ms": 1.5, "receivers": []}],
        "kinds_table": [["app.signals.s", "send", "None"]],
    }
    assert expand(stats) == {"total_sends": 1, "sends": []}


def test_a_byte_budget_keeps_a_depth_first_prefix(wired) -> None:
    with signal_inspector.record() as recording:
        for _ in range(20):
            outer.send_robust(sender=None)  # each with a nested inner send
    whole = panel_sends(recording, (), lambda line: line)
    cut = panel_sends(recording, (), lambda line: line, budget=3_000)
    assert 0 < cut["stored_sends"] == len(cut["sends"]) < whole["stored_sends"]
    assert cut["sends"] == whole["sends"][: len(cut["sends"])]
    stored = {send[0] for send in cut["sends"]}
    assert all(send[6] in stored for send in cut["sends"] if send[7])


def test_ms4_is_round_to_four_places_for_recorded_magnitudes() -> None:
    """Records round times with ms4() (a fifth of round()'s cost): it must agree
    with round(value, 4), from sub-microsecond durations to hours."""
    rng = random.Random(14)
    values = [rng.random() * 10.0 ** rng.randint(-5, 7) for _ in range(200_000)]
    values += [0.0, 0.00005, 0.00015, 1.00005, 2.5e-05, 0.12345]
    assert [ms4(v) for v in values] == [round(v, 4) for v in values]
    # Where value x 10^4 lands on a half within float error, it may round the
    # other way: never by more than the last place.
    assert abs(ms4(123.45675) - round(123.45675, 4)) <= 0.0001 + 1e-12


def toolbar_listener(sender: Any, **kwargs: Any) -> None:
    return None


toolbar_listener.__module__ = "debug_toolbar.panels.templates"


def test_the_toolbars_own_calls_are_left_out_of_the_totals_even_past_the_budget() -> None:
    signal = Signal()
    signal.connect(answers, weak=False)
    signal.connect(toolbar_listener, weak=False)
    only_toolbar = Signal()
    only_toolbar.connect(toolbar_listener, weak=False)
    with signal_inspector.record() as recording:
        for _ in range(50):
            signal.send(sender=None)
            only_toolbar.send(sender=None)
    whole = panel_sends(recording, (), lambda line: line, leave_out="debug_toolbar.")
    cut = panel_sends(recording, (), lambda line: line, 3_000, leave_out="debug_toolbar.")
    assert whole["left_out"]["receiver_calls"] == cut["left_out"]["receiver_calls"] == 100
    assert whole["left_out"]["sends"] == cut["left_out"]["sends"] == 50
    assert whole["stored_sends"] == 50 > cut["stored_sends"] > 0
    names = {row[0] for row in whole["receivers_table"]}
    assert not any(name.startswith("debug_toolbar.") for name in names)


def test_asends_sync_receivers_are_recorded_as_sends_are(wired) -> None:
    """asend() runs its sync receivers in asgiref's thread through the same
    tuple-writing loop: every call, result and total is there, in start order."""
    plain.connect(async_answers, weak=False)
    try:
        with signal_inspector.record() as recording:
            for _ in range(2):
                assert len(asyncio.run(plain.asend(sender=None))) == 3
    finally:
        plain.disconnect(async_answers)
    data = recording.to_dict()
    assert data["receiver_calls"] == 6 and data["receiver_time_ms"] > 0
    for send in data["sends"]:
        calls = send["receivers"]
        assert [c["name"].rsplit(".", 1)[1] for c in calls if not c["is_async"]] == [
            "quiet", "answers",
        ]
        assert [c["result"] for c in calls if c["is_async"]] == ["'async'"]
        assert {c["outcome"] for c in calls} == {"returned"}
        assert all(c["duration_ms"] > 0 for c in calls)
        assert [c["start_ms"] for c in calls] == sorted(c["start_ms"] for c in calls)
    expected = flattened(recording.to_dict()["sends"])
    got = expand(panel_sends(recording, (), lambda line: line))["sends"]
    for mine, theirs in zip(got, expected, strict=True):
        assert theirs.pop("stack") == [] and mine.pop("stack_id") is None
        assert mine == theirs
