"""The "sends only" wrapper (sends_only.py) in the situations the main tests do
not reach: a ``Signal`` subclass's own async send methods, its own
send_robust(), results that are not Django's pairs, an ignored signal, a
wrapper another tool (wrapt) put over ``Signal.send``, sends past
``MAX_SENDS``, and a send made while idle after another tool put ours back."""

from __future__ import annotations

import asyncio
from typing import Any
from unittest import mock

import pytest
from django.dispatch import Signal
from django.test import override_settings

import signal_inspector
from signal_inspector import patching
from signal_inspector.slots import running_ours

DJANGO_SEND = Signal.__dict__["send"]
DJANGO_ASEND = Signal.__dict__["asend"]


class AsyncPluginSignal(Signal):
    """Awaits its receivers itself, skipping an "inactive" sender's."""

    async def asend(self, sender: Any, **named: Any) -> list[tuple[Any, Any]]:
        await asyncio.sleep(0)
        if sender == "inactive":
            return []
        if sender == "refused":
            raise LookupError("no such plugin")
        responses = []
        for receiver in self._live_receivers(sender)[0]:
            responses.append((receiver, receiver(signal=self, sender=sender, **named)))
        return responses


class RobustPluginSignal(Signal):
    """Catches its receivers' exceptions itself, as send_robust() does."""

    def send_robust(self, sender: Any, **named: Any) -> list[tuple[Any, Any]]:
        responses: list[tuple[Any, Any]] = []
        for receiver in self._live_receivers(sender)[0]:
            try:
                responses.append((receiver, receiver(signal=self, sender=sender, **named)))
            except Exception as err:
                responses.append((receiver, err))
        return responses


class CountingSignal(Signal):
    """Returns how many receivers ran, not Django's pairs."""

    def send(self, sender: Any, **named: Any) -> Any:
        receivers = self._live_receivers(sender)[0]
        for receiver in receivers:
            receiver(signal=self, sender=sender, **named)
        return len(receivers)


class SilentSignal(Signal):
    """Runs no receiver for an inactive sender (pretix's plugin signals)."""

    def send(self, sender: Any, **named: Any) -> list[tuple[Any, Any]]:
        if sender == "inactive":
            return []
        return [(r, r(signal=self, sender=sender, **named)) for r in self._live_receivers(sender)[0]]


async_plugin_signal = AsyncPluginSignal()
robust_plugin_signal = RobustPluginSignal()
counting_signal = CountingSignal()
silent_signal = SilentSignal()
plain_signal = Signal()


def answering_receiver(sender: Any, **kwargs: Any) -> str:
    return "answered"


def failing_receiver(sender: Any, **kwargs: Any) -> str:
    raise KeyError("plugin broke")


for _signal in (async_plugin_signal, robust_plugin_signal, counting_signal, silent_signal, plain_signal):
    _signal.connect(answering_receiver, weak=False)
robust_plugin_signal.connect(failing_receiver, weak=False)


def _short(send: dict[str, Any]) -> list[tuple[str, str]]:
    return [(r["name"].rsplit(".", 1)[-1], r["outcome"]) for r in send["receivers"]]


def test_a_subclasss_own_asend_is_recorded_with_the_receivers_it_returned():
    async def main() -> list[tuple[Any, Any]]:
        return await async_plugin_signal.asend(sender="event", x=1)

    with signal_inspector.record() as recording:
        result = asyncio.run(main())
    assert result == [(answering_receiver, "answered")]
    (send,) = recording.to_dict()["sends"]
    assert send["method"] == "asend"
    assert send["kwargs"] == {"x": "1"}
    assert _short(send) == [("answering_receiver", "returned")]
    assert any("AsyncPluginSignal.asend() is the signal's own" in n for n in recording.limitations)
    assert "signal_inspector" not in AsyncPluginSignal.__dict__["asend"].__module__


def test_a_subclasss_own_asend_that_raises_raises_the_same_and_is_recorded():
    async def main() -> None:
        await async_plugin_signal.asend(sender="refused")

    with signal_inspector.record() as recording, pytest.raises(LookupError, match="no such plugin"):
        asyncio.run(main())
    (send,) = recording.to_dict()["sends"]
    ((name, outcome),) = _short(send)
    assert (name, outcome) == ("(one of the receivers)", "raised")
    assert send["receivers"][0]["exception"]["type"].endswith("LookupError")
    assert recording.errors == 1


def test_a_silent_subclass_send_is_withdrawn_while_another_task_sends():
    """Two tasks of one recording: the silent send is not the last top-level
    send when it is found silent, and only it is withdrawn."""

    async def main() -> list[Any]:
        async def other() -> None:
            plain_signal.send(sender="other")

        return await asyncio.gather(async_plugin_signal.asend(sender="inactive"), other())

    with signal_inspector.record() as recording:
        results = asyncio.run(main())
    assert results == [[], None]
    assert recording.total_sends == 1
    assert [s["signal"] for s in recording.to_dict()["sends"]] == ["tests.test_sends_only_paths.plain_signal"]
    assert recording.silent == {("tests.test_sends_only_paths.async_plugin_signal", "'inactive'"): 1}


def test_an_async_mock_on_signal_asend_is_awaited_as_it_was():
    signal = Signal()
    with mock.patch.object(Signal, "asend", new_callable=mock.AsyncMock) as patched:
        patched.return_value = [("r", "from the mock")]
        with signal_inspector.record() as recording:
            result = asyncio.run(signal.asend(sender=None, x=1))
        assert patched.await_args_list == [mock.call(sender=None, x=1)]
        # Idle, the wrapper of ours the mock got is gone: the mock itself answers.
        assert Signal.__dict__["asend"] is patched
    assert Signal.__dict__["asend"] is DJANGO_ASEND
    assert result == [("r", "from the mock")]
    assert recording.total_sends == 1


def test_a_subclasss_send_robust_records_what_it_caught_as_caught():
    with signal_inspector.record() as recording:
        result = robust_plugin_signal.send_robust(sender="event")
    assert result[0] == (answering_receiver, "answered")
    assert result[1][0] is failing_receiver and isinstance(result[1][1], KeyError)
    (send,) = recording.to_dict()["sends"]
    assert _short(send) == [("answering_receiver", "returned"), ("failing_receiver", "caught")]


def test_a_subclass_send_returning_no_pairs_keeps_its_result_and_its_send():
    with signal_inspector.record() as recording:
        assert counting_signal.send(sender="event") == 1
    (send,) = recording.to_dict()["sends"]
    assert send["signal"] == "tests.test_sends_only_paths.counting_signal"
    assert send["receivers"] == []  # not pairs: no receiver named
    assert recording.total_sends == 1


def test_an_ignored_signal_sent_by_a_subclasss_own_methods_runs_unrecorded():
    ignore = {
        "IGNORE_SIGNALS": [
            "tests.test_sends_only_paths.silent_signal",
            "tests.test_sends_only_paths.async_plugin_signal",
        ]
    }
    with override_settings(SIGNAL_INSPECTOR=ignore), signal_inspector.record() as recording:
        assert silent_signal.send(sender="event") == [(answering_receiver, "answered")]
        assert asyncio.run(async_plugin_signal.asend(sender="event")) == [
            (answering_receiver, "answered")
        ]
    assert recording.total_sends == 0
    assert recording.to_dict()["sends"] == []


def test_a_silent_subclass_send_past_max_sends_is_counted_silent():
    with signal_inspector.record(max_sends=0) as recording:
        assert silent_signal.send(sender="inactive") == []
        assert silent_signal.send(sender="event") == [(answering_receiver, "answered")]
    assert recording.total_sends == 1  # only the one a receiver heard
    assert recording.dropped == 1
    assert recording.silent == {("tests.test_sends_only_paths.silent_signal", "'inactive'"): 1}


def test_a_wrapt_wrapper_over_signal_send_is_bound_and_called_as_it_was():
    """APM agents (New Relic, ddtrace) patch with wrapt: a descriptor object,
    bound by attribute lookup, that we must bind the same way."""
    wrapt = pytest.importorskip("wrapt")
    seen: list[tuple[Any, tuple[Any, ...], dict[str, Any]]] = []

    def around(wrapped: Any, instance: Any, args: tuple[Any, ...], kwargs: dict[str, Any]) -> Any:
        seen.append((instance, args, kwargs))
        return wrapped(*args, **kwargs)

    wrapt.wrap_function_wrapper(Signal, "send", around)
    try:
        with signal_inspector.record() as recording:
            result = plain_signal.send(sender="event", x=1)
            plain_signal.send("positional")
    finally:
        Signal.send = DJANGO_SEND  # type: ignore[method-assign]
    assert result == [(answering_receiver, "answered")]
    assert seen == [(plain_signal, (), {"sender": "event", "x": 1}), (plain_signal, ("positional",), {})]
    assert [s["sender"] for s in recording.to_dict()["sends"]] == ["'event'", "'positional'"]
    assert recording.total_sends == 2


def _ours_while_recording(owner: type, name: str) -> Any:
    with signal_inspector.record():
        return owner.__dict__[name]


def test_a_subclass_send_a_tool_read_while_recording_and_put_back_after_is_its_own():
    """A subclass's own send runs ours in place (slots.py): what a tool reads off
    the class while we record, and puts back after, is the subclass's own
    function, its own code again."""
    own = SilentSignal.__dict__["send"]
    code = own.__code__
    read = _ours_while_recording(SilentSignal, "send")
    assert read is own
    assert read.__code__ is code and running_ours(read) is None
    SilentSignal.send = read  # type: ignore[method-assign]  # a tool "restores" it
    assert silent_signal.send(sender="event") == [(answering_receiver, "answered")]
    assert SilentSignal.__dict__["send"] is own
    assert patching.open_recordings() == 0


def test_a_mock_send_while_idle_after_a_tool_put_ours_back_is_called_and_ours_goes():
    with mock.patch.object(Signal, "send") as patched:
        patched.return_value = "from the mock"
        ours = _ours_while_recording(Signal, "send")
        Signal.send = ours  # type: ignore[method-assign]
        assert plain_signal.send(sender="event") == "from the mock"
        patched.assert_called_once_with(sender="event")
        assert Signal.__dict__["send"] is patched
    assert Signal.__dict__["send"] is DJANGO_SEND


def test_a_subclass_asend_runs_ours_in_place_and_its_own_code_after():
    own = AsyncPluginSignal.__dict__["asend"]
    code = own.__code__
    with signal_inspector.record() as recording:
        assert AsyncPluginSignal.__dict__["asend"] is own
        assert running_ours(own) is not None and own.__code__ is not code
        assert asyncio.run(async_plugin_signal.asend(sender="event")) == [
            (answering_receiver, "answered")
        ]
    assert recording.total_sends == 1
    assert own.__code__ is code and running_ours(own) is None
    assert asyncio.run(async_plugin_signal.asend(sender="event")) == [(answering_receiver, "answered")]


def test_a_mock_on_signal_send_is_called_as_it_was_for_an_ignored_signal():
    ignore = {"IGNORE_SIGNALS": ["tests.test_sends_only_paths.plain_signal"]}
    with override_settings(SIGNAL_INSPECTOR=ignore), mock.patch.object(Signal, "send") as patched:
        patched.return_value = "from the mock"
        with signal_inspector.record() as recording:
            assert plain_signal.send(sender="event", x=1) == "from the mock"
        patched.assert_called_once_with(sender="event", x=1)
    assert recording.total_sends == 0


def test_a_tools_wrapper_left_over_a_subclass_send_of_ours_reaches_the_subclasss_own():
    """A tool wrapped ours while recording: its wrapper stays after, and ours
    under it calls the subclass's own send(), recording nothing."""
    own = SilentSignal.__dict__["send"]
    calls = []
    with signal_inspector.record():
        ours = SilentSignal.__dict__["send"]

        def wrapper(self: Signal, *args: Any, **kwargs: Any) -> Any:
            calls.append(args or kwargs)
            return ours(self, *args, **kwargs)

        SilentSignal.send = wrapper  # type: ignore[method-assign]
    try:
        assert SilentSignal.__dict__["send"] is wrapper
        assert silent_signal.send(sender="event") == [(answering_receiver, "answered")]
        assert calls == [{"sender": "event"}]
        assert SilentSignal.__dict__["send"] is wrapper  # the tool's, left alone
    finally:
        SilentSignal.send = own  # type: ignore[method-assign]
