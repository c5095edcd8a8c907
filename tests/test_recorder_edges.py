"""Opening and closing recordings at their edges: a recording ended from another
context than the one that began it, instrumenting that fails half-way, and a
Django whose dispatcher ships without its source.

Each test ends idle: Django's own methods back, nothing of ours installed.
"""

from __future__ import annotations

import contextvars
import inspect

import pytest
from django.core.checks import run_checks
from django.db.backends.base.base import BaseDatabaseWrapper
from django.dispatch import Signal

import signal_inspector
from signal_inspector import on_commit, patching
from signal_inspector.context import current
from signal_inspector.recorder import begin, end

METHODS = ("send", "send_robust", "asend", "asend_robust")


def djangos() -> dict[str, object]:
    return {
        **{name: Signal.__dict__[name] for name in METHODS},
        "on_commit": BaseDatabaseWrapper.__dict__["on_commit"],
    }


def connected_signal() -> tuple[Signal, object]:
    signal = Signal()

    def receiver(**kwargs):
        return "r"

    signal.connect(receiver, weak=False)
    return signal, receiver


@pytest.mark.parametrize("where", ["a copy of its context", "a fresh context"])
def test_a_recording_ended_from_another_context_still_restores_django(where: str) -> None:
    idle = djangos()
    signal, receiver = connected_signal()
    started = contextvars.copy_context()

    def record_one_send():
        recording = begin()
        signal.send(sender=None)
        return recording

    recording = started.run(record_one_send)
    assert patching.open_recordings() == 1
    ending = started.copy() if where == "a copy of its context" else contextvars.Context()
    assert ending.run(end, recording) is recording
    assert ending.run(current) is None
    assert patching.open_recordings() == 0
    assert djangos() == idle
    assert len(recording.sends) == 1
    assert signal.send(sender=None) == [(receiver, "r")]
    assert len(recording.sends) == 1  # closed: later sends are not its


def test_instrumenting_that_fails_half_way_leaves_django_whole(monkeypatch) -> None:
    idle = djangos()

    def fails() -> None:
        raise RuntimeError("our bug")

    monkeypatch.setattr(on_commit, "install", fails)
    with pytest.raises(RuntimeError, match="our bug"), signal_inspector.record():
        pass
    assert patching.open_recordings() == 0
    assert djangos() == idle
    monkeypatch.undo()
    signal, _ = connected_signal()
    with signal_inspector.record() as recording:
        signal.send(sender=None)
    assert len(recording.sends) == 1
    assert djangos() == idle


def test_a_dispatcher_without_source_is_reported_and_sends_are_still_recorded(monkeypatch) -> None:
    def no_source(obj):
        raise OSError("could not get source code")

    monkeypatch.setattr(inspect, "getsource", no_source)
    patching.installed_dispatcher.cache_clear()
    try:
        assert patching.installed_dispatcher() == (None, False, "")
        (warning,) = [w for w in run_checks() if w.id == "signal_inspector.W010"]
        assert "fingerprint unavailable" in warning.msg
        signal, receiver = connected_signal()
        with signal_inspector.record() as recording:
            assert signal.send(sender=None) == [(receiver, "r")]
        assert [s.limited for s in recording.sends] == [True]
    finally:
        monkeypatch.undo()
        patching.installed_dispatcher.cache_clear()
    assert patching.installed_dispatcher()[0] is not None
