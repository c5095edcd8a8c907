"""Fault injection: whatever receivers, senders and kwargs do, the application sees
exactly what plain Django gives it, recording or not.

Each example builds the same scenario twice on fresh signals: once sent through
Django's original methods, once through ours with a recording open, and compares
everything the caller can observe: returned pairs, the exception raised (type and
identity of the receiver's object), and the side-effect log in order.
"""

from __future__ import annotations

import asyncio
import functools
import gc
import json
import threading
import time
import warnings
from unittest import mock

import pytest
from asgiref.sync import markcoroutinefunction
from django.dispatch import Signal
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

import signal_inspector
from signal_inspector import patching

BEHAVIOURS = [
    "return", "return_none", "raise_value", "raise_keyboard", "raise_systemexit",
    "raise_generatorexit", "disconnect_self", "connect_new", "send_nested",
    "disconnect_next", "return_awaitable", "mock", "partial", "bound_method",
    "async_return", "async_raise", "async_call_fails", "async_marked_call_fails",
]
BASE = {"raise_keyboard": KeyboardInterrupt, "raise_systemexit": SystemExit,
        "raise_generatorexit": GeneratorExit}


class Hostile:
    """A sender or kwarg whose repr misbehaves in one of several ways."""

    def __init__(self, mode: str) -> None:
        self.mode = mode

    def __repr__(self):
        if self.mode == "raise":
            raise RuntimeError("repr failed")
        if self.mode == "non_string":
            return 12345
        if self.mode == "huge":
            return "x" * 2_000_000
        if self.mode == "recurse":
            return repr(self)
        if self.mode == "slow":
            time.sleep(0.001)
            return "slow"
        return "plain"


hostile = st.sampled_from(["raise", "non_string", "huge", "recurse", "slow", "plain"]).map(Hostile)
values = st.one_of(
    st.none(), st.integers(), st.text(max_size=50), st.binary(max_size=20), hostile,
    st.lists(st.integers(), max_size=5), st.dictionaries(st.text(max_size=8), st.integers(), max_size=4),
)


def build(behaviours: list[str], log: list):
    """A fresh signal whose receivers act out ``behaviours``; the same code every time."""
    signal = Signal()
    nested = Signal()
    keep = []

    def nested_receiver(sender, **kwargs):
        log.append("nested")
        return "nested"

    nested.connect(nested_receiver, weak=False)

    for index, behaviour in enumerate(behaviours):
        if behaviour == "async_call_fails":
            # Its arguments do not bind: TypeError as it is called, before any await.
            async def receiver(sender, __i=index, *, required, **kwargs):
                log.append((__i, "never"))
        elif behaviour == "async_marked_call_fails":
            # An async callable that checks its arguments as it is called.
            class Checking:
                def __init__(self, i):
                    self.i = i
                    markcoroutinefunction(self)

                def __call__(self, sender, **kwargs):
                    log.append((self.i, "checked"))
                    raise TypeError(f"bad call {self.i}")

            receiver = Checking(index)
        elif behaviour == "mock":
            receiver = mock.MagicMock(return_value=index)
        elif behaviour == "partial":
            def partial_target(sender, __i, **kwargs):
                log.append((__i, "partial"))
                return __i

            receiver = functools.partial(partial_target, __i=index)
        elif behaviour == "bound_method":
            class Holder:
                def __init__(self, i):
                    self.i = i

                def receive(self, sender, **kwargs):
                    log.append((self.i, "method"))
                    return self.i

            holder = Holder(index)
            keep.append(holder)
            receiver = holder.receive
        elif behaviour == "return_awaitable":
            def receiver(sender, __i=index, **kwargs):
                log.append((__i, "awaitable"))
                return asyncio.sleep(0, result=__i)
        elif behaviour.startswith("async"):
            async def receiver(sender, __i=index, __b=behaviour, **kwargs):
                await asyncio.sleep(0)
                log.append((__i, __b))
                if __b == "async_raise":
                    raise ValueError(f"async {__i}")
                return __i
        else:
            def receiver(sender, __i=index, __b=behaviour, **kwargs):
                log.append((__i, __b))
                if __b == "return_none":
                    return None
                if __b == "raise_value":
                    raise ValueError(f"receiver {__i}")
                if __b in BASE:
                    raise BASE[__b](f"receiver {__i}")
                if __b == "disconnect_self":
                    signal.disconnect(dispatch_uid=f"r{__i}")
                if __b == "connect_new":
                    def late(sender, **kwargs):
                        log.append("late")
                    keep.append(late)
                    signal.connect(late, weak=False, dispatch_uid=f"late{__i}")
                if __b == "send_nested":
                    return nested.send(sender=sender)
                if __b == "disconnect_next":
                    signal.disconnect(dispatch_uid=f"r{__i + 1}")
                return __i
        keep.append(receiver)
        signal.connect(receiver, weak=False, dispatch_uid=f"r{index}")
    return signal, keep


# Django's own methods, taken while nothing records (idle is Django).
DJANGO = {m: Signal.__dict__[m] for m in ("send", "send_robust", "asend", "asend_robust")}


def observe(method: str, behaviours: list[str], sender, kwargs, plain: bool):
    log: list = []
    signal, keep = build(behaviours, log)
    with warnings.catch_warnings():
        # A coroutine Django builds and never awaits (a receiver that fails as it is
        # called stops the rest): the same in both runs, noise here.
        warnings.simplefilter("ignore", RuntimeWarning)
        outcome = _observe(signal, keep, method, sender, kwargs, plain)
        gc.collect()
    for receiver in keep:
        if isinstance(receiver, mock.MagicMock):
            log.append(("mock calls", receiver.call_count))
    return outcome, log


def _observe(signal, keep, method, sender, kwargs, plain):
    func = getattr(Signal, method)
    if plain:
        func = DJANGO[method]
    outcome: tuple
    try:
        if method.startswith("a"):
            result = asyncio.run(func(signal, sender, **kwargs))
        else:
            result = func(signal, sender, **kwargs)
        shown = []
        for receiver, response in result:
            if asyncio.iscoroutine(response):
                response.close()  # returned unawaited by Django itself
                shown.append((keep.index(receiver), "coroutine"))
            elif isinstance(response, mock.MagicMock):
                shown.append((keep.index(receiver), "mock"))
            elif isinstance(response, BaseException):
                shown.append((keep.index(receiver), type(response).__name__, str(response)))
            elif isinstance(response, list):
                shown.append((keep.index(receiver), [r for _, r in response]))
            else:
                shown.append((keep.index(receiver), response))
        outcome = ("returned", shown)
    except BaseException as exc:  # noqa: BLE001 - comparing exactly what escapes
        outcome = ("raised", type(exc).__name__, str(exc))
    return outcome


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    behaviours=st.lists(st.sampled_from(BEHAVIOURS), min_size=1, max_size=6),
    method=st.sampled_from(["send", "send_robust", "asend", "asend_robust"]),
    sender=st.one_of(st.none(), hostile, st.sampled_from([object, Signal])),
    kwargs=st.dictionaries(st.sampled_from(["a", "password", "instance", "data"]), values, max_size=3),
)
def test_recording_never_changes_what_the_application_sees(behaviours, method, sender, kwargs):
    has_async = any(b.startswith("async") for b in behaviours)
    # Django 5.2's asend() runs sync receivers (in a thread) and async ones at the
    # same time: which finishes or raises first is a race in Django itself.
    assume(
        patching.installed_dispatcher()[1]
        or not method.startswith("a")
        or not has_async
        or all(b.startswith("async") for b in behaviours)
    )
    plain = observe(method, behaviours, sender, kwargs, plain=True)
    with signal_inspector.record() as recording:
        recorded = observe(method, behaviours, sender, kwargs, plain=False)
    idle = observe(method, behaviours, sender, kwargs, plain=False)
    assert recorded == plain
    assert idle == plain
    data = recording.to_dict()
    json.dumps(data)  # always plain data
    assert data["total_sends"] >= 1
    for send in data["sends"]:
        assert all(len(v) <= 200 for v in send["kwargs"].values())
        assert len(send["sender"]) <= 200
        if "password" in send["kwargs"]:
            assert send["kwargs"]["password"] == "********************"


def test_base_exceptions_propagate_as_the_same_object():
    for exc_type in (KeyboardInterrupt, SystemExit, GeneratorExit):
        raised = exc_type("stop")

        def receiver(sender, __e=raised, **kwargs):
            raise __e

        signal = Signal()
        signal.connect(receiver, weak=False)
        for method in ("send", "send_robust"):
            with signal_inspector.record() as recording, pytest.raises(exc_type) as info:
                getattr(signal, method)(sender=None)
            assert info.value is raised
            call = recording.sends[0].receivers[0]
            assert call.outcome == "raised" and call.exception.type == exc_type.__name__


def test_weak_receivers_collected_mid_request():
    signal = Signal()

    class Holder:
        def method(self, sender, **kwargs):
            return "alive"

    holder = Holder()
    signal.connect(holder.method)
    with signal_inspector.record() as recording:
        assert signal.send(sender=None)[0][1] == "alive"
        del holder
        gc.collect()
        assert signal.send(sender=None) == []
        assert signal.send_robust(sender=None) == []
    assert recording.total_sends == 1
    assert sum(recording.silent.values()) == 2


def test_receiver_connecting_while_other_threads_send():
    """Connecting from a receiver while another thread sends stays consistent."""
    signal = Signal()
    errors: list[BaseException] = []
    stop = threading.Event()

    def adder(sender, **kwargs):
        def extra(sender, **kwargs):
            return None
        signal.connect(extra, weak=False)
        signal.disconnect(extra)

    signal.connect(adder, weak=False)

    def worker():
        try:
            with signal_inspector.record():
                while not stop.is_set():
                    signal.send(sender=None)
        except BaseException as exc:  # noqa: BLE001
            errors.append(exc)

    threads = [threading.Thread(target=worker) for _ in range(3)]
    for t in threads:
        t.start()
    time.sleep(0.3)
    stop.set()
    for t in threads:
        t.join(timeout=10)
    assert errors == []


@pytest.mark.parametrize(
    ("method", "behaviours"),
    [
        ("send", ["return", "async_return", "async_marked_call_fails", "async_return"]),
        ("send", ["async_marked_call_fails", "async_return"]),
        ("asend", ["async_return", "async_marked_call_fails", "async_return"]),
        ("asend", ["async_return", "async_return", "async_marked_call_fails"]),
    ],
)
def test_the_record_counts_the_receivers_django_ran(method, behaviours):
    """An async receiver that fails as it is called stops the others before any
    runs (send()/asend(): Django builds every awaitable first): they are listed
    as not run, and neither counted as receiver calls nor shown with an outcome.
    What ran is what plain Django's run logs."""
    plain_outcome, plain_log = observe(method, behaviours, None, {}, plain=True)
    ran = {entry[0] for entry in plain_log}
    with signal_inspector.record() as recording:
        outcome, log = observe(method, behaviours, None, {}, plain=False)
    assert (outcome, log) == (plain_outcome, plain_log)
    [send] = recording.sends
    assert recording.receiver_calls == len(ran) == len(send.receivers)
    assert len(send.skipped) == len(behaviours) - len(ran)
    failing = behaviours.index("async_marked_call_fails")
    assert sorted(call.outcome for call in send.receivers) == sorted(
        "raised" if index == failing else "returned" for index in ran
    )
    data = recording.to_dict()
    assert data["receiver_calls"] == len(ran)
    assert f"{len(ran)} receiver call" in recording.to_text()
