"""Sends run by a method we do not record in full: a mock patched onto
``Signal.send``, a ``Signal`` subclass's own send() (pretix's plugin signals)."""

from __future__ import annotations

import json
from unittest import mock

import pytest
from django.dispatch import Signal

import signal_inspector
from signal_inspector import patching

DJANGO_SEND = Signal.__dict__["send"]


class PluginSignal(Signal):
    """Calls its receivers itself, as pretix's PluginSignal does."""

    def send(self, sender, **named):
        responses = []
        for receiver in self._live_receivers(sender)[0]:
            responses.append((receiver, receiver(signal=self, sender=sender, **named)))
        return responses

    def send_chained(self, sender, chain_kwarg_name, **named):
        for receiver in self._live_receivers(sender)[0]:
            named[chain_kwarg_name] = receiver(signal=self, sender=sender, **named)
        return named[chain_kwarg_name]


class PassingSignal(Signal):
    """Checks its sender, then hands the send on to Django's."""

    def send(self, sender, **named):
        if sender == "refused":
            raise ValueError("not a sender this signal takes")
        return super().send(sender, **named)


plugin_signal = PluginSignal()
passing_signal = PassingSignal()
inner_signal = Signal()


def plugin_receiver(sender, **kwargs):
    inner_signal.send(sender="from plugin")
    return "plugin"


def second_plugin_receiver(sender, **kwargs):
    return "second"


def inner_receiver(sender, **kwargs):
    return "inner"


def passing_receiver(sender, **kwargs):
    return "passed"


plugin_signal.connect(plugin_receiver, weak=False)
plugin_signal.connect(second_plugin_receiver, weak=False)
inner_signal.connect(inner_receiver, weak=False)
passing_signal.connect(passing_receiver, weak=False)


def test_a_subclass_that_calls_its_receivers_itself_is_recorded():
    with signal_inspector.record() as recording:
        result = plugin_signal.send(sender="event")
    assert [r for _, r in result] == ["plugin", "second"]
    (send,) = recording.to_dict()["sends"]
    assert send["signal"] == "tests.test_sends_only.plugin_signal"
    names = [r["name"].rsplit(".", 1)[-1] for r in send["receivers"]]
    # The receivers it returned, and a stand-in call holding what they sent.
    assert "plugin_receiver" in names and "second_plugin_receiver" in names
    (stand_in,) = [r for r in send["receivers"] if r["children"]]
    assert [c["signal"] for c in stand_in["children"]] == ["tests.test_sends_only.inner_signal"]
    assert recording.total_sends == 2
    text = "\n".join(recording.limitations)
    assert "tests.test_sends_only.PluginSignal.send() is the signal's own" in text
    assert "send_chained()" not in text  # it did not send here
    # Idle again: the subclass's own method is back.
    assert PluginSignal.__dict__["send"].__code__.co_name == "send"
    assert patching.open_recordings() == 0
    assert "signal_inspector" not in PluginSignal.__dict__["send"].__module__


def test_assert_not_sent_cannot_pass_for_a_subclass_send():
    from signal_inspector.testing import capture_signals

    with capture_signals() as signals:
        plugin_signal.send(sender="event")
    with pytest.raises(AssertionError):
        signals.assert_not_sent(plugin_signal)


def test_a_subclass_handing_on_to_djangos_send_is_recorded_once_in_full():
    with signal_inspector.record() as recording:
        assert passing_signal.send(sender="fine") == [(passing_receiver, "passed")]
        with pytest.raises(ValueError, match="not a sender"):
            passing_signal.send(sender="refused")
    sends = recording.to_dict()["sends"]
    assert recording.total_sends == 2
    assert sends[0]["receivers"][0]["name"].endswith("passing_receiver")
    assert sends[0]["receivers"][0]["duration_ms"] > 0  # timed: recorded in full
    assert sends[1]["receivers"][0]["outcome"] == "raised"


def test_a_mock_patched_on_signal_send_is_called_as_it_was():
    signal = Signal()
    with mock.patch.object(Signal, "send") as patched:
        with signal_inspector.record() as recording:
            signal.send(sender=None, x=1)
            signal.send(None, y=2)
        assert patched.call_args_list == [mock.call(sender=None, x=1), mock.call(None, y=2)]
    assert recording.total_sends == 2
    assert Signal.__dict__["send"] is DJANGO_SEND


def test_an_autospec_mock_gets_self_as_before():
    signal = Signal()
    with mock.patch.object(Signal, "send", autospec=True) as patched:
        with signal_inspector.record():
            signal.send(sender=None, x=1)
        patched.assert_called_once_with(signal, sender=None, x=1)
    assert Signal.__dict__["send"] is DJANGO_SEND


def test_to_text_says_which_sends_were_not_timed_and_why():
    with signal_inspector.record() as recording:
        plugin_signal.send(sender="event")
    text = recording.to_text()
    assert "[receivers not timed: see the limitations below]" in text
    assert "limitation: tests.test_sends_only.PluginSignal.send() is the signal's own" in text


def test_a_subclasss_other_send_method_is_recorded_as_a_send():
    from signal_inspector.testing import capture_signals

    with capture_signals() as signals:
        assert plugin_signal.send_chained(sender="event", chain_kwarg_name="value", value=1) == "second"
    signals.assert_sent(plugin_signal)
    (send,) = signals.recording.to_dict()["sends"]
    assert send["method"] == "send_chained"
    assert any("send_chained() calls receivers in its own way" in n for n in signals.recording.limitations)


def test_a_subclass_send_no_receiver_ran_for_is_a_silent_send():
    class FilteringSignal(Signal):
        """Runs no receiver for an inactive plugin, as pretix's plugin signals do."""

        def send(self, sender, **named):
            if sender == "inactive":
                return []
            return [(r, r(signal=self, sender=sender, **named)) for r in self._live_receivers(sender)[0]]

    signal = FilteringSignal()
    signal.connect(second_plugin_receiver, weak=False)
    with signal_inspector.record() as recording:
        signal.send(sender="inactive")
        signal.send(sender="active")
    assert recording.total_sends == 1
    assert sum(recording.silent.values()) == 1
    (send,) = recording.to_dict()["sends"]
    assert [r["name"].rsplit(".", 1)[-1] for r in send["receivers"]] == ["second_plugin_receiver"]



echo_signal = PluginSignal()


def relay(sender, hops=0, **kwargs):
    if hops == 0:
        echo_signal.send(sender=sender, hops=1)  # the same signal and sender, at once
    return f"relay {hops}"


echo_signal.connect(relay, weak=False)


def test_a_receiver_sending_the_same_signal_again_at_once_is_nested_not_taken_over():
    """A subclass's own send() runs a receiver that sends the same signal for the
    same sender before anything else: a second send, nested, not the first one
    handing on (which would withdraw the first and keep the second in its place)."""
    with signal_inspector.record() as recording:
        assert echo_signal.send(sender="event") == [(relay, "relay 0")]
    assert recording.total_sends == 2
    [outer] = recording.to_dict()["sends"]
    assert outer["kwargs"] == {}
    results = [r["result"] for r in outer["receivers"] if r["name"].endswith("relay")]
    assert results == ["'relay 0'"]
    [stand_in] = [r for r in outer["receivers"] if r["children"]]
    [inner] = stand_in["children"]
    assert inner["signal"] == outer["signal"] and inner["kwargs"] == {"hops": "1"}
    assert [r["result"] for r in inner["receivers"]] == ["'relay 1'"]


@pytest.mark.django_db
def test_the_panels_receiver_list_names_receivers_not_the_stand_in() -> None:
    """What ran inside a subclass's own send nests under a stand-in call, which is
    no receiver: the panel's Receiver list offers the receivers that ran only."""
    from signal_inspector.drawing.rows import build_context
    from signal_inspector.recording import STAND_IN
    from signal_inspector.stored import panel_sends

    def plugin(sender, **kwargs):
        inner_signal.send(sender=sender)
        return "plugin ran"

    def inner(sender, **kwargs):
        return "inner ran"

    plugin_signal.connect(plugin, weak=False)
    inner_signal.connect(inner, weak=False)
    try:
        with signal_inspector.record() as recording:
            plugin_signal.send(sender="shop")
    finally:
        plugin_signal.disconnect(plugin)
        inner_signal.disconnect(inner)
    stats = recording.summary()
    stats.update(panel_sends(recording, (), lambda line: line))
    assert STAND_IN in json.dumps(stats)  # the stand-in is in the record...
    names = [entry["name"] for entry in build_context(stats)["receivers"]]
    assert STAND_IN not in names  # ...not in the list of receivers to filter by
    assert any(name.endswith(".inner") for name in names), names
