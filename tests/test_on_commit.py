"""on_commit fates under test helpers, and what a recording holds of the callbacks.

Real SQLite transactions throughout; Django's ``run_on_commit`` queue is only
swapped for a list that counts how often it is walked.
"""

from __future__ import annotations

import gc
import weakref

import pytest
from django.db import connection, transaction
from django.dispatch import Signal
from django.test import TestCase

import signal_inspector
from signal_inspector import on_commit, patching

pytestmark = pytest.mark.django_db


class Callback:
    """A callable whose life a weak reference can watch."""

    def __init__(self, log: list[str], name: str, fail: bool = False) -> None:
        self.log, self.name, self.fail = log, name, fail
        self.__qualname__ = f"Callback {name}"

    def __call__(self) -> None:
        self.log.append(self.name)
        if self.fail:
            raise RuntimeError(f"{self.name} failed")


def scheduling(callbacks: list) -> Signal:
    """A signal whose receiver schedules ``callbacks`` with on_commit()."""
    signal = Signal()

    def schedules(sender, **kwargs):
        for callback in callbacks:
            transaction.on_commit(callback)

    signal.connect(schedules, weak=False)
    signal._keep = schedules  # type: ignore[attr-defined]
    return signal


def statuses(recording) -> list[str]:
    return [c.status for s in recording.iter_sends() for r in s.receivers for c in r.on_commit]


def django_capture_generator():
    helper = TestCase.__dict__["captureOnCommitCallbacks"].__func__
    return helper.__closure__[0].cell_contents


# --- captureOnCommitCallbacks -------------------------------------------------------


def test_callbacks_run_by_pytest_djangos_fixture_are_recorded_as_ran(
    django_capture_on_commit_callbacks,
) -> None:
    # The fixture was bound before the recording opened (and instrumented).
    assert patching.open_recordings() == 0
    log: list[str] = []
    signal = scheduling([Callback(log, "first"), Callback(log, "second")])
    with signal_inspector.record() as recording:
        with django_capture_on_commit_callbacks(execute=True) as captured:
            signal.send(sender=None)
        assert statuses(recording) == ["ran (captured)", "ran (captured)"]
    assert log == ["first", "second"]
    assert [c.name for c in captured] == ["first", "second"]
    # The test's transaction is still open, then rolled back: still ran.
    assert statuses(recording) == ["ran (captured)", "ran (captured)"]


def test_callbacks_run_by_testcase_capture_are_recorded_as_ran() -> None:
    log: list[str] = []
    signal = scheduling([Callback(log, "only")])
    with signal_inspector.record() as recording, TestCase.captureOnCommitCallbacks(execute=True):
        signal.send(sender=None)
    assert log == ["only"]
    assert statuses(recording) == ["ran (captured)"]


def test_callbacks_only_captured_are_recorded_as_captured(django_capture_on_commit_callbacks) -> None:
    log: list[str] = []
    signal = scheduling([Callback(log, "kept")])
    with signal_inspector.record() as recording, django_capture_on_commit_callbacks() as captured:
        signal.send(sender=None)
    assert log == [] and len(captured) == 1
    assert statuses(recording) == ["captured"]


def test_a_failing_captured_callback_stops_the_rest(django_capture_on_commit_callbacks) -> None:
    log: list[str] = []
    signal = scheduling([Callback(log, "fails", fail=True), Callback(log, "never")])
    with (
        signal_inspector.record() as recording,
        pytest.raises(RuntimeError, match="fails failed"),
        django_capture_on_commit_callbacks(execute=True),
    ):
        signal.send(sender=None)
    assert log == ["fails"]
    assert statuses(recording) == ["ran (captured)", "pending"]


def test_capture_is_djangos_own_while_idle(django_capture_on_commit_callbacks) -> None:
    djangos = django_capture_generator()
    assert djangos.__module__ == "django.test.testcases"
    with signal_inspector.record():
        assert django_capture_generator() is not djangos
        assert django_capture_generator().__wrapped__ is djangos
    assert django_capture_generator() is djangos
    # And it still works as Django's, exceptions of the block included.
    log: list[str] = []
    with pytest.raises(KeyError), django_capture_on_commit_callbacks(execute=True):
        transaction.on_commit(Callback(log, "idle"))
        raise KeyError("from the block")
    assert log == ["idle"]


# --- what a recording holds ---------------------------------------------------------


def test_a_rolled_back_callback_is_not_kept_alive_by_the_recording() -> None:
    log: list[str] = []
    callback = Callback(log, "rolled back")
    alive = weakref.ref(callback)
    signal = scheduling([callback])
    del callback
    with signal_inspector.record() as recording:
        with pytest.raises(RuntimeError), transaction.atomic():
            signal.send(sender=None)
            raise RuntimeError("roll back")
        signal._keep = None  # type: ignore[attr-defined]
        signal.receivers.clear()
        signal.sender_receivers_cache.clear()
        gc.collect()
        assert alive() is None  # Django let go of it; so must we
    assert statuses(recording) == ["discarded"]


@pytest.mark.django_db(transaction=True)
def test_a_committed_callback_is_not_kept_alive_by_the_recording() -> None:
    log: list[str] = []
    callback = Callback(log, "committed")
    alive = weakref.ref(callback)
    signal = scheduling([callback])
    del callback
    with signal_inspector.record() as recording:
        with transaction.atomic():
            signal.send(sender=None)
        signal._keep = None  # type: ignore[attr-defined]
        signal.receivers.clear()
        signal.sender_receivers_cache.clear()
        gc.collect()
        assert log == ["committed"]
        assert alive() is None
    assert statuses(recording) == ["ran"]


class CountingQueue(list):
    """Django's run_on_commit queue, counting how often it is walked."""

    walks = 0

    def __iter__(self):
        self.walks += 1
        return super().__iter__()


N = 300


@pytest.mark.django_db(transaction=True)
def test_commit_walks_the_queue_once_however_many_callbacks() -> None:
    log: list[str] = []
    signal = scheduling([Callback(log, str(i)) for i in range(N)])
    with signal_inspector.record() as recording:
        with transaction.atomic():
            queue = connection.run_on_commit = CountingQueue(connection.run_on_commit)
            signal.send(sender=None)
        assert queue.walks <= 2  # was one walk per callback: N
    assert len(log) == N
    assert statuses(recording) == ["ran"] * N


def test_ending_a_recording_walks_the_queue_once_however_many_callbacks() -> None:
    signal = scheduling([Callback([], str(i)) for i in range(N)])
    with transaction.atomic():
        queue = connection.run_on_commit = CountingQueue(connection.run_on_commit)
        with signal_inspector.record() as recording:
            signal.send(sender=None)
            walks = queue.walks
        assert queue.walks - walks <= 2  # was one walk per callback: N
        assert statuses(recording) == ["pending"] * N
        assert on_commit._TRACKED not in connection.__dict__


def test_callbacks_past_the_limit_are_counted_not_listed(monkeypatch) -> None:
    monkeypatch.setattr(on_commit, "MAX_TRACKED", 5)
    signal = scheduling([Callback([], str(i)) for i in range(8)])
    with transaction.atomic(), signal_inspector.record() as recording:
        signal.send(sender=None)
    assert statuses(recording) == ["pending"] * 5
    data = recording.to_dict()
    assert data["on_commit_count"] == 5 and data["on_commit_dropped"] == 3


def test_an_untracked_entry_reusing_a_dead_ones_id_is_not_taken_for_it() -> None:
    # Tracked inside a savepoint that rolls back: the entry dies, and entries
    # scheduled outside any receiver may be given its address.
    log: list[str] = []
    signal = scheduling([lambda: log.append("tracked")])
    with transaction.atomic():
        with signal_inspector.record() as recording:
            with pytest.raises(RuntimeError), transaction.atomic():
                signal.send(sender=None)
                raise RuntimeError("roll back the savepoint")
            for _ in range(50):
                transaction.on_commit(lambda: log.append("untracked"))
        assert statuses(recording) == ["discarded"]
