"""on_commit tracking at its edges: a tool that puts ours back while idle, a
savepoint rolled back before the commit, callbacks that get no record, errors in
our own bookkeeping and ``captureOnCommitCallbacks`` shapes we do not know.

Real SQLite transactions throughout; each test asserts what Django did (the
callback ran or not) and what the recording says of it.
"""

from __future__ import annotations

import sys
from unittest import mock

import pytest
from django.db import connection, transaction
from django.db.backends.base.base import BaseDatabaseWrapper
from django.dispatch import Signal
from django.test import TestCase

import signal_inspector
from signal_inspector import on_commit, patching

pytestmark = pytest.mark.django_db


def scheduling(*callbacks) -> Signal:
    """A signal whose receiver schedules ``callbacks`` with on_commit()."""
    signal = Signal()

    def schedules(sender, **kwargs):
        for callback in callbacks:
            transaction.on_commit(callback)

    signal.connect(schedules, weak=False)
    return signal


def capture_cell():
    return TestCase.__dict__["captureOnCommitCallbacks"].__func__.__closure__[0]


def statuses(recording) -> list[str]:
    return [c.status for s in recording.iter_sends() for r in s.receivers for c in r.on_commit]


@pytest.mark.django_db(transaction=True)
def test_a_tools_patch_across_the_end_of_a_recording_leaves_djangos_own() -> None:
    """A tool patches over Django's methods while we record (ours run in them in
    place) and restores what it read only after the recording ended: Django's
    own functions, with their own code."""
    assert patching.open_recordings() == 0
    djangos = {name: BaseDatabaseWrapper.__dict__[name] for name in ("on_commit", on_commit._RUN)}
    codes = {name: f.__code__ for name, f in djangos.items()}
    recording = signal_inspector.recorder.begin()
    patchers = [
        mock.patch.object(BaseDatabaseWrapper, name, autospec=True, side_effect=function)
        for name, function in djangos.items()
    ]
    for patcher in patchers:
        patcher.start()
    signal_inspector.recorder.end(recording)
    for patcher in patchers:
        patcher.stop()
    assert {name: BaseDatabaseWrapper.__dict__[name] for name in djangos} == djangos
    assert {name: f.__code__ for name, f in djangos.items()} == codes
    log: list[str] = []
    with transaction.atomic():
        transaction.on_commit(lambda: log.append("ran"))
    assert log == ["ran"]
    assert statuses(recording) == []


@pytest.mark.django_db(transaction=True)
def test_a_callback_of_a_rolled_back_savepoint_is_discarded_at_commit() -> None:
    log: list[str] = []
    rolled_back = scheduling(lambda: log.append("rolled back"))
    kept = scheduling(lambda: log.append("kept"))
    with signal_inspector.record() as recording:
        with transaction.atomic():
            with pytest.raises(RuntimeError), transaction.atomic():
                rolled_back.send(sender=None)
                raise RuntimeError("roll back the savepoint")
            kept.send(sender=None)
        assert log == ["kept"]
        assert statuses(recording) == ["discarded", "ran"]
    assert statuses(recording) == ["discarded", "ran"]
    assert on_commit._TRACKED not in connection.__dict__


@pytest.mark.django_db(transaction=True)
def test_callbacks_past_a_limit_of_none_still_run_and_are_only_counted(monkeypatch) -> None:
    monkeypatch.setattr(on_commit, "MAX_TRACKED", 0)
    log: list[str] = []
    signal = scheduling(lambda: log.append("a"), lambda: log.append("b"))
    with signal_inspector.record() as recording, transaction.atomic():
        signal.send(sender=None)
        assert on_commit._TRACKED not in connection.__dict__
    assert log == ["a", "b"]
    assert statuses(recording) == []
    data = recording.to_dict()
    assert data["on_commit_count"] == 0 and data["on_commit_dropped"] == 2


@pytest.mark.django_db(transaction=True)
def test_an_error_in_our_bookkeeping_leaves_djangos_on_commit_whole(monkeypatch) -> None:
    def broken(*args, **kwargs):
        raise RuntimeError("our bug")

    log: list[str] = []
    first = scheduling(lambda: log.append("tracked"))
    second = scheduling(lambda: log.append("untracked"))
    with signal_inspector.record() as recording, transaction.atomic():
        first.send(sender=None)
        monkeypatch.setattr(on_commit, "OnCommitCallback", broken)
        second.send(sender=None)
        monkeypatch.undo()
    assert log == ["tracked", "untracked"]
    assert statuses(recording) == ["ran"]


def test_a_capture_without_tracked_callbacks_changes_nothing() -> None:
    log: list[str] = []
    with (
        signal_inspector.record() as recording,
        TestCase.captureOnCommitCallbacks(execute=True) as captured,
    ):
        transaction.on_commit(lambda: log.append("outside any receiver"))
    assert log == ["outside any receiver"] and len(captured) == 1
    assert statuses(recording) == []


def test_a_capture_mixing_tracked_and_untracked_callbacks_names_only_the_tracked() -> None:
    log: list[str] = []
    signal = scheduling(lambda: log.append("tracked"))
    with (
        signal_inspector.record() as recording,
        TestCase.captureOnCommitCallbacks(execute=True) as captured,
    ):
        transaction.on_commit(lambda: log.append("untracked"))
        signal.send(sender=None)
    assert log == ["untracked", "tracked"] and len(captured) == 2
    assert statuses(recording) == ["ran (captured)"]


def test_without_django_test_loaded_callbacks_are_still_tracked(monkeypatch) -> None:
    # A production process: nothing imported django.test.
    monkeypatch.delitem(sys.modules, "django.test.testcases")
    signal = scheduling(lambda: None)
    with transaction.atomic(), signal_inspector.record() as recording:
        signal.send(sender=None)
    assert statuses(recording) == ["pending"]


@pytest.mark.parametrize("shape", ["replaced", "removed"])
def test_a_capture_method_of_a_shape_we_do_not_know_is_left_alone(monkeypatch, shape) -> None:
    log: list[str] = []

    def theirs(cls, *, using="default", execute=False):
        return "theirs"

    if shape == "replaced":
        monkeypatch.setattr(TestCase, "captureOnCommitCallbacks", classmethod(theirs))
    else:
        monkeypatch.delattr(TestCase, "captureOnCommitCallbacks")
    before = TestCase.__dict__.get("captureOnCommitCallbacks")
    signal = scheduling(lambda: log.append("ran"))
    with transaction.atomic(), signal_inspector.record() as recording:
        assert TestCase.__dict__.get("captureOnCommitCallbacks") is before
        signal.send(sender=None)
    assert TestCase.__dict__.get("captureOnCommitCallbacks") is before
    assert statuses(recording) == ["pending"] and log == []


def test_nested_recordings_observe_capture_once() -> None:
    signal = scheduling(lambda: None)
    with signal_inspector.record() as outer:
        observer = capture_cell().cell_contents
        with signal_inspector.record() as inner:
            assert capture_cell().cell_contents is observer
            with TestCase.captureOnCommitCallbacks(execute=True):
                signal.send(sender=None)
    assert statuses(inner) == ["ran (captured)"]
    assert statuses(outer) == []
