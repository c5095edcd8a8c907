"""Building records (bookkeeping.py) in the situations the main tests do not
reach: a runaway loop that dies of RecursionError, two loops in one send, a
loop of async receivers, receivers that cannot be weakly referenced or are
wrapped deeper than we follow, a subclass handing its send on past
``MAX_SENDS``, and the caches every send fills staying bounded."""

from __future__ import annotations

import asyncio
import functools
import sys
from typing import Any

import pytest
from django.dispatch import Signal
from django.test import override_settings

import signal_inspector
from signal_inspector import bookkeeping
from signal_inspector.recorder import begin, end

runaway_signal = Signal()
twice_signal = Signal()
async_loop_signal = Signal()
slotted_signal = Signal()
wrapped_signal = Signal()
crowd_signal = Signal()
nobody_signal = Signal()
place_signal = Signal()


class PassingSignal(Signal):
    """Hands the send on to Django's, as many a subclass does."""

    def send(self, sender: Any, **named: Any) -> list[tuple[Any, Any]]:
        return super().send(sender, **named)


passing_signal = PassingSignal()


def runaway_receiver(sender: Any, **kwargs: Any) -> None:
    runaway_signal.send(sender=sender)


def first_looper(sender: Any, depth: int = 0, **kwargs: Any) -> None:
    if depth == 0:
        twice_signal.send(sender=sender, depth=1)


def second_looper(sender: Any, depth: int = 0, **kwargs: Any) -> None:
    if depth == 1:
        twice_signal.send(sender=sender, depth=2)


async def async_looper(sender: Any, depth: int = 0, **kwargs: Any) -> str:
    if depth == 0:
        await async_loop_signal.asend(sender=sender, depth=1)
    return f"depth {depth}"


class SlottedHook:
    """A callable receiver without ``__weakref__`` (connected strongly)."""

    __slots__ = ("label",)

    def __init__(self, label: str) -> None:
        self.label = label

    def __call__(self, sender: Any, **kwargs: Any) -> str:
        return self.label


def innermost(sender: Any, **kwargs: Any) -> str:
    return "wrapped"


def _wrap(function: Any) -> Any:
    @functools.wraps(function)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        return function(*args, **kwargs)

    return wrapper


# Deeper than describe() follows (ten wrappers): it stops there, named the same.
self_wrapped = innermost
for _ in range(12):
    self_wrapped = _wrap(self_wrapped)


def passing_receiver(sender: Any, **kwargs: Any) -> str:
    return "passed"


runaway_signal.connect(runaway_receiver, weak=False)
twice_signal.connect(first_looper, weak=False)
twice_signal.connect(second_looper, weak=False)
async_loop_signal.connect(async_looper, weak=False)
slotted_signal.connect(SlottedHook("hook"), weak=False)
wrapped_signal.connect(self_wrapped, weak=False)
passing_signal.connect(passing_receiver, weak=False)


def test_a_runaway_loop_dies_of_recursion_error_as_in_django_and_is_recorded():
    with pytest.raises(RecursionError):
        runaway_signal.send(sender="plain")
    with signal_inspector.record() as recording, pytest.raises(RecursionError):
        runaway_signal.send(sender="recorded")
    assert recording.loops == 1
    (send,) = recording.to_dict()["sends"]
    assert send["receivers"][0]["loop"] is True
    assert send["receivers"][0]["outcome"] == "raised"


def test_two_receivers_looping_in_one_send_are_both_marked():
    with signal_inspector.record() as recording:
        twice_signal.send(sender="s")
    (send,) = recording.to_dict()["sends"]
    inner = send["receivers"][0]["children"][0]
    innermost = inner["receivers"][1]["children"][0]
    assert [r["loop"] for r in innermost["receivers"]] == [True, True]
    assert recording.loops == 2
    assert innermost["loop"]  # the chain of the first loop found in it


def test_an_async_receiver_sending_its_own_signal_again_is_a_loop():
    with signal_inspector.record() as recording:
        result = asyncio.run(async_loop_signal.asend(sender="s"))
    assert result == [(async_looper, "depth 0")]
    (send,) = recording.to_dict()["sends"]
    (outer_call,) = send["receivers"]
    (inner,) = outer_call["children"]
    assert outer_call["loop"] is True and inner["receivers"][0]["loop"] is True
    assert recording.loops == 1


def test_a_receiver_that_cannot_be_weakly_referenced_is_named_and_ignored_every_time():
    with signal_inspector.record() as recording:
        slotted_signal.send(sender="s")
        slotted_signal.send(sender="s")
    names = [s["receivers"][0]["name"] for s in recording.to_dict()["sends"]]
    assert names == ["tests.test_bookkeeping_paths.SlottedHook()"] * 2
    ignoring = begin(ignore_modules=("tests.test_bookkeeping_paths",))
    try:
        assert slotted_signal.send(sender="s") == slotted_signal.send(sender="s")
    finally:
        end(ignoring)
    assert ignoring.total_sends == 0


def test_a_receiver_wrapped_twelve_times_is_named_for_what_it_wraps():
    with signal_inspector.record() as recording:
        assert wrapped_signal.send(sender="s") == [(self_wrapped, "wrapped")]
    (send,) = recording.to_dict()["sends"]
    assert send["receivers"][0]["name"] == "tests.test_bookkeeping_paths.innermost"


def test_a_subclass_handing_on_past_max_sends_is_counted_once():
    with signal_inspector.record(max_sends=0) as recording:
        assert passing_signal.send(sender="s") == [(passing_receiver, "passed")]
    assert recording.total_sends == 1
    assert recording.dropped == 1


def test_an_ignored_signal_no_receiver_hears_is_not_counted_however_often_sent():
    ignore = {"IGNORE_SIGNALS": ["tests.test_bookkeeping_paths.nobody_signal"]}
    with override_settings(SIGNAL_INSPECTOR=ignore), signal_inspector.record() as recording:
        for _ in range(3):
            assert nobody_signal.send(sender=PassingSignal) == []
        crowd_signal.send(sender=PassingSignal)
    assert recording.silent == {
        ("tests.test_bookkeeping_paths.crowd_signal", "tests.test_bookkeeping_paths.PassingSignal"): 1
    }


# --- the caches stay bounded ---------------------------------------------------


def _receiver(module: str) -> Any:
    def receiver(sender: Any, **kwargs: Any) -> None:
        return None

    receiver.__module__ = module
    return receiver


def test_many_receivers_keep_the_receiver_caches_bounded():
    """10,050 receivers from as many modules (one per signal: Django's
    connect() is linear in a signal's receivers), asked whether they are
    ignored, then described."""
    signals = [Signal() for _ in range(10_050)]
    for index, signal in enumerate(signals):
        signal.connect(_receiver(f"ignored.mod{index}"), weak=False)
    ignoring = begin(ignore_modules=("ignored",))
    try:
        for signal in signals:
            signal.send(sender="s")
    finally:
        end(ignoring)
    with signal_inspector.record(max_sends=10) as recording:
        for signal in signals:
            signal.send(sender="s")
    assert ignoring.total_sends == 0
    assert recording.total_sends == 10_050
    assert len(bookkeeping._receiver_info) <= 10_001
    assert len(bookkeeping._in_ignored) <= 10_001
    assert all(len(cache) <= 5_001 for _, cache in bookkeeping._module_tests.values())


def test_sends_from_many_library_files_keep_the_frame_caches_bounded():
    """5,050 functions from as many installed files (each a library frame on
    the way up to the user's), then one function sending from 1,050 places."""
    senders = []
    for i in range(5_050):
        namespace: dict[str, Any] = {"signal": place_signal, "__name__": f"lib{i}"}
        code = compile("def send():\n    signal.send(sender='lib')\n", f"/x/site-packages/lib{i}.py", "exec")
        exec(code, namespace)
        senders.append(namespace["send"])
    places = "\n".join(["def send_everywhere():"] + ["    signal.send(sender='place')"] * 1_050)
    namespace = {"signal": place_signal, "__name__": "places"}
    exec(compile(places, "/project/places.py", "exec"), namespace)
    place_signal.connect(passing_receiver, weak=False)
    try:
        # Kept sends only: a send past MAX_SENDS is counted without its place.
        with signal_inspector.record(max_sends=7_000) as recording:
            for send in senders:
                send()
            namespace["send_everywhere"]()
    finally:
        place_signal.disconnect(passing_receiver)
    assert recording.total_sends == 5_050 + 1_050
    sends = recording.sends
    assert sends[0].fired_at[2] == sys._getframe().f_code.co_name
    assert [s.fired_at[1:] for s in sends[-2:]] == [(1_050, "send_everywhere"), (1_051, "send_everywhere")]
    assert len(bookkeeping._library_files) <= 5_001
    assert all(len(kinds) <= 5_001 for _, kinds in bookkeeping._kinds_by_prefixes.values())
    assert all(
        len(places) <= 1_001
        for _, kinds in bookkeeping._kinds_by_prefixes.values()
        for _, _, _, places in kinds.values()
    )


def test_many_skip_modules_settings_keep_the_per_setting_caches_bounded():
    with signal_inspector.record() as recording:
        for i in range(40):
            with override_settings(SIGNAL_INSPECTOR={"SKIP_MODULES": [f"skipped{i}"]}):
                passing_signal.send(sender="s")
    sent = [s for s in recording.to_dict()["sends"] if s["signal"].endswith("passing_signal")]
    assert len(sent) == 40
    assert len(bookkeeping._module_tests) <= 33
    assert len(bookkeeping._kinds_by_prefixes) <= 33
