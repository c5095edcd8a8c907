"""The recorded send methods (dispatch.py) in the situations the main tests do
not reach: an ignored signal with async receivers or a failing receiver (Django's
own loop runs it, unrecorded), sends no receiver hears for this sender, nested
asend(), a BaseException out of an async receiver under asend_robust(), and a
send made while idle after another tool put ours back on ``Signal``."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest
from django.dispatch import Signal
from django.test import override_settings

import signal_inspector
from signal_inspector import patching

DJANGO = {name: Signal.__dict__[name] for name in patching.METHODS}

ignored_signal = Signal()
outer_signal = Signal()
inner_signal = Signal()
picky_signal = Signal()
base_signal = Signal()
bare_signal = Signal()

IGNORE = {"SIGNAL_INSPECTOR": {"IGNORE_SIGNALS": ["tests.test_dispatch_paths.ignored_signal"]}}


class Stop(BaseException):
    """Not an Exception: send_robust() and asend_robust() must let it through."""


def sync_receiver(sender: Any, **kwargs: Any) -> str:
    return f"sync {kwargs.get('x')}"


async def async_receiver(sender: Any, **kwargs: Any) -> str:
    await asyncio.sleep(0)
    return f"async {kwargs.get('x')}"


def failing_receiver(sender: Any, **kwargs: Any) -> str:
    raise ValueError("broken receiver")


async def failing_async_receiver(sender: Any, **kwargs: Any) -> str:
    raise KeyError("broken async receiver")


async def outer_receiver(sender: Any, **kwargs: Any) -> str:
    responses = await inner_signal.asend(sender="inner", x=2)
    return ", ".join(str(r) for _, r in responses)


async def stopping_receiver(sender: Any, **kwargs: Any) -> str:
    await asyncio.sleep(0)
    raise Stop("stop")


ignored_signal.connect(sync_receiver, weak=False)
ignored_signal.connect(failing_receiver, weak=False)
ignored_signal.connect(async_receiver, weak=False)
outer_signal.connect(outer_receiver, weak=False)
inner_signal.connect(sync_receiver, weak=False)
inner_signal.connect(async_receiver, weak=False)
picky_signal.connect(sync_receiver, sender="the one", weak=False)
base_signal.connect(stopping_receiver, weak=False)


def _outcomes(robust: list[tuple[Any, Any]]) -> list[Any]:
    return [type(r).__name__ if isinstance(r, Exception) else r for _, r in robust]


def test_an_ignored_signal_is_run_by_djangos_loop_with_the_same_result():
    ignored_signal.disconnect(failing_receiver)
    try:
        plain = ignored_signal.send(sender="s", x=1)
    finally:
        ignored_signal.connect(failing_receiver, weak=False)
    ignored_signal.connect(failing_async_receiver, weak=False)
    try:
        plain_robust = ignored_signal.send_robust(sender="s", x=1)
        with override_settings(**IGNORE), signal_inspector.record() as recording:
            robust = ignored_signal.send_robust(sender="s", x=1)
    finally:
        ignored_signal.disconnect(failing_async_receiver)
    with override_settings(**IGNORE), signal_inspector.record() as more:
        with pytest.raises(ValueError, match="broken receiver"):
            ignored_signal.send(sender="s", x=1)
        ignored_signal.disconnect(async_receiver)
        try:
            sync_only = ignored_signal.send_robust(sender="s", x=1)
        finally:
            ignored_signal.connect(async_receiver, weak=False)
        ignored_signal.disconnect(failing_receiver)
        try:
            sent = ignored_signal.send(sender="s", x=1)
        finally:
            ignored_signal.connect(failing_receiver, weak=False)
    assert sent == plain == [(sync_receiver, "sync 1"), (async_receiver, "async 1")]
    expected = ["sync 1", "ValueError", "async 1", "KeyError"]
    assert _outcomes(robust) == _outcomes(plain_robust) == expected
    assert [r for r, _ in robust] == [
        sync_receiver, failing_receiver, async_receiver, failing_async_receiver
    ]
    assert _outcomes(sync_only) == ["sync 1", "ValueError"]
    assert more.total_sends == 0
    assert recording.total_sends == 0 and recording.to_dict()["sends"] == []


def test_an_ignored_signal_sent_async_is_run_by_djangos_own_methods():
    async def main() -> tuple[Any, Any]:
        ignored_signal.disconnect(failing_receiver)
        try:
            sent = await ignored_signal.asend(sender="s", x=3)
        finally:
            ignored_signal.connect(failing_receiver, weak=False)
        return sent, await ignored_signal.asend_robust(sender="s", x=3)

    with override_settings(**IGNORE), signal_inspector.record() as recording:
        sent, robust = asyncio.run(main())
    assert sent == [(sync_receiver, "sync 3"), (async_receiver, "async 3")]
    assert _outcomes(robust) == ["sync 3", "ValueError", "async 3"]
    assert recording.total_sends == 0


def test_sends_no_receiver_hears_are_counted_silent_by_every_method():
    async def main() -> list[Any]:
        return [
            await picky_signal.asend(sender="another"),
            await picky_signal.asend_robust(sender="another"),
            await bare_signal.asend(sender="nobody"),
            await bare_signal.asend_robust(sender="nobody"),
        ]

    with signal_inspector.record() as recording:
        answers = [picky_signal.send_robust(sender="another"), *asyncio.run(main())]
        heard = picky_signal.send_robust(sender="the one")
    assert answers == [[], [], [], [], []]
    assert heard == [(sync_receiver, "sync None")]
    assert recording.silent == {
        ("tests.test_dispatch_paths.picky_signal", "'another'"): 3,
        ("tests.test_dispatch_paths.bare_signal", "'nobody'"): 2,
    }
    assert recording.total_sends == 1


def test_an_asend_inside_an_async_receiver_is_nested_under_it():
    with signal_inspector.record() as recording:
        result = asyncio.run(outer_signal.asend(sender="outer"))
    assert result == [(outer_receiver, "sync 2, async 2")]
    (send,) = recording.to_dict()["sends"]
    (outer_call,) = send["receivers"]
    assert outer_call["name"].endswith("outer_receiver")
    (inner,) = outer_call["children"]
    assert inner["signal"] == "tests.test_dispatch_paths.inner_signal"
    # In start order: 5.2 and 6.0 start the async receivers alongside the sync ones.
    assert sorted((r["name"].rsplit(".", 1)[-1], r["outcome"]) for r in inner["receivers"]) == [
        ("async_receiver", "returned"),
        ("sync_receiver", "returned"),
    ]
    assert recording.total_sends == 2 and recording.loops == 0


def test_a_base_exception_from_an_async_receiver_passes_asend_robust():
    with signal_inspector.record() as recording, pytest.raises(Stop, match="stop"):
        asyncio.run(base_signal.asend_robust(sender="s"))
    (send,) = recording.to_dict()["sends"]
    (call,) = send["receivers"]
    assert call["outcome"] == "raised"
    assert call["exception"]["type"].endswith("Stop")
    assert recording.errors == 1


def _ours(name: str) -> Any:
    with signal_inspector.record():
        ours = Signal.__dict__[name]
    assert ours is not DJANGO[name]
    return ours


@pytest.mark.parametrize("name", ["send", "send_robust"])
def test_a_send_while_idle_after_a_tool_put_ours_back_runs_djangos_and_ours_goes(name):
    setattr(Signal, name, _ours(name))
    try:
        assert getattr(picky_signal, name)(sender="the one") == [(sync_receiver, "sync None")]
        assert Signal.__dict__[name] is DJANGO[name]
    finally:
        setattr(Signal, name, DJANGO[name])


@pytest.mark.parametrize("name", ["asend", "asend_robust"])
def test_an_asend_while_idle_after_a_tool_put_ours_back_runs_djangos_and_ours_goes(name):
    setattr(Signal, name, _ours(name))
    try:
        result = asyncio.run(getattr(inner_signal, name)(sender="i", x=4))
        assert result == [(sync_receiver, "sync 4"), (async_receiver, "async 4")]
        assert Signal.__dict__[name] is DJANGO[name]
    finally:
        setattr(Signal, name, DJANGO[name])


@pytest.mark.parametrize("name", ["send_robust", "asend_robust"])
def test_a_tools_wrapper_left_over_ours_passes_idle_sends_to_django(name):
    """A tool wrapped ours while recording; taking ours off leaves its wrapper,
    so ours, under it, hands each idle call to Django's own method."""
    calls: list[str] = []
    with signal_inspector.record():
        ours = Signal.__dict__[name]

        if name.startswith("a"):

            async def wrapper(self: Signal, *args: Any, **kwargs: Any) -> Any:
                calls.append(name)
                return await ours(self, *args, **kwargs)

        else:

            def wrapper(self: Signal, *args: Any, **kwargs: Any) -> Any:  # type: ignore[misc]
                calls.append(name)
                return ours(self, *args, **kwargs)

        setattr(Signal, name, wrapper)
    try:
        assert Signal.__dict__[name] is wrapper
        result = getattr(inner_signal, name)(sender="i", x=5)
        if name.startswith("a"):
            result = asyncio.run(result)
        assert result == [(sync_receiver, "sync 5"), (async_receiver, "async 5")]
        assert calls == [name]
        assert Signal.__dict__[name] is wrapper  # the tool's, left alone
    finally:
        setattr(Signal, name, DJANGO[name])
