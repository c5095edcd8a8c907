"""Recording changes nothing the application can see: awaitables, SQL, results."""

from __future__ import annotations

import asyncio

import pytest
from asgiref.sync import markcoroutinefunction
from django.contrib.auth.models import User
from django.db import connection
from django.dispatch import Signal
from django.test.utils import CaptureQueriesContext

import signal_inspector
from signal_inspector.naming import TRIGGERS_QUERY


class Awaitable:
    """Not a coroutine: an object with ``__await__``."""

    def __init__(self, value):
        self.value = value

    def __await__(self):
        yield from asyncio.sleep(0).__await__()
        return self.value


def future_receiver(**kwargs):
    future = asyncio.get_running_loop().create_future()
    future.set_result("future")
    return future


markcoroutinefunction(future_receiver)


def awaitable_receiver(**kwargs):
    return Awaitable("awaitable")


markcoroutinefunction(awaitable_receiver)


def failing_awaitable_receiver(**kwargs):
    future = asyncio.get_running_loop().create_future()
    future.set_exception(LookupError("from a future"))
    return future


markcoroutinefunction(failing_awaitable_receiver)


async def coroutine_receiver(**kwargs):
    return "coroutine"


def sync_receiver(**kwargs):
    return "sync"


def run(signal: Signal, method: str):
    call = getattr(signal, method)
    try:
        if method.startswith("a"):

            async def main():
                return await call(sender=None)

            result = asyncio.run(main())
        else:
            result = call(sender=None)
    except Exception as error:
        return ("raised", type(error), str(error))
    return [
        (r, (type(v), str(v)) if isinstance(v, BaseException) else v) for r, v in result
    ]


@pytest.mark.parametrize("method", ["send", "send_robust", "asend", "asend_robust"])
def test_receivers_returning_any_awaitable_behave_as_plain(method):
    signal = Signal()
    for receiver in (sync_receiver, future_receiver, awaitable_receiver, coroutine_receiver):
        signal.connect(receiver)
    plain = run(signal, method)
    with signal_inspector.record() as recording:
        recorded = run(signal, method)
    assert recorded == plain
    assert [v for _, v in plain] == ["sync", "future", "awaitable", "coroutine"]
    assert [r for r, _ in recorded] == [r for r, _ in plain]
    (send,) = recording.to_dict()["sends"]
    # In start order: asend() on Django 5.2/6.0 starts async receivers first.
    assert sorted((c["name"].rsplit(".", 1)[1], c["outcome"], c["result"]) for c in send["receivers"]) == [
        ("awaitable_receiver", "returned", "'awaitable'"),
        ("coroutine_receiver", "returned", "'coroutine'"),
        ("future_receiver", "returned", "'future'"),
        ("sync_receiver", "returned", "'sync'"),
    ]


@pytest.mark.parametrize("method", ["send", "send_robust", "asend", "asend_robust"])
def test_an_awaitable_that_fails_is_recorded_and_raised_as_plain(method):
    signal = Signal()
    signal.connect(failing_awaitable_receiver)
    plain = run(signal, method)
    with signal_inspector.record() as recording:
        recorded = run(signal, method)
    assert recorded == plain
    (send,) = recording.to_dict()["sends"]
    (call,) = send["receivers"]
    assert call["outcome"] == ("caught" if method.endswith("robust") else "raised")
    assert call["exception"]["type"] == "LookupError"
    assert call["exception"]["message"] == "from a future"


class QueriesInRepr:
    def __repr__(self):
        return f"<{User.objects.count()} users>"


@pytest.mark.django_db
def test_a_repr_that_would_query_runs_no_sql():
    signal = Signal()

    def receiver(**kwargs):
        return QueriesInRepr()

    signal.connect(receiver, weak=False)
    with CaptureQueriesContext(connection) as plain:
        signal.send(sender=None, value=QueriesInRepr())
    with signal_inspector.record() as recording, CaptureQueriesContext(connection) as recorded:
        signal.send(sender=None, value=QueriesInRepr())
    assert len(plain) == len(recorded) == 0
    (send,) = recording.to_dict()["sends"]
    assert send["kwargs"]["value"] == TRIGGERS_QUERY
    assert send["receivers"][0]["result"] == TRIGGERS_QUERY
    assert send["receivers"][0]["queries"] == 0
    # The application's own repr still queries, recording or not.
    with signal_inspector.record():
        assert repr(QueriesInRepr()) == "<0 users>"


@pytest.mark.django_db
def test_queries_are_attributed_to_the_receiver_that_ran_them():
    signal = Signal()

    def creates(**kwargs):
        User.objects.create(username="u")

    def reads(**kwargs):
        list(User.objects.all())

    signal.connect(creates, weak=False)
    signal.connect(reads, weak=False)
    with signal_inspector.record() as recording:
        signal.send(sender=None)
    (send,) = recording.to_dict()["sends"]
    assert [(c["queries"] >= 1, c["inserts"]) for c in send["receivers"]] == [(True, 1), (True, 0)]
    assert connection.execute_wrappers == []


def test_nested_record_inside_a_receiver_records_its_own_sends():
    outer_signal, inner_signal = Signal(), Signal()
    inner_recordings = []

    def inner_receiver(**kwargs):
        return "inner"

    def outer_receiver(**kwargs):
        with signal_inspector.record() as inner:
            inner_signal.send(sender=None)
        inner_recordings.append(inner)

    outer_signal.connect(outer_receiver, weak=False)
    inner_signal.connect(inner_receiver, weak=False)
    with signal_inspector.record() as outer:
        outer_signal.send(sender=None)
        outer_signal.send(sender=None)  # the outer recording goes on afterwards
    (inner,) = inner_recordings[:1]
    assert [s["signal"] for s in inner.to_dict()["sends"]] == ["tests.test_dispatch.inner_signal"] or [
        s["receivers"][0]["name"] for s in inner.to_dict()["sends"]
    ] == ["tests.test_dispatch.test_nested_record_inside_a_receiver_records_its_own_sends.<locals>.inner_receiver"]
    assert inner.total_sends == 1
    assert outer.total_sends == 2


def test_a_receivers_second_exception_is_its_own():
    signal = Signal()
    messages = iter(["first", "second"])

    def receiver(**kwargs):
        raise ValueError(next(messages))

    signal.connect(receiver, weak=False)
    with signal_inspector.record() as recording:
        for _ in range(2):
            signal.send_robust(sender=None)
    calls = [s["receivers"][0] for s in recording.to_dict()["sends"]]
    assert [c["exception"]["message"] for c in calls] == ["first", "second"]
    assert all(c["exception"]["traceback"] for c in calls)


# --- async receivers that fail as they are called (issue 19, items 1, 2, 19) ----


async def _needs_a_keyword(*, sender, required, **kwargs):  # never bound by a send
    return "never"


def _Checking(log):  # noqa: N802
    """An async callable (marked) that checks its arguments as it is called."""

    def checking(**kwargs):
        log.append("checked")
        raise TypeError("checked and refused")

    return markcoroutinefunction(checking)


def _signal_with(log, *receivers):
    signal = Signal()
    for receiver in receivers:
        signal.connect(receiver, weak=False)
    return signal


def _ran_before(log):
    async def first(**kwargs):
        log.append("first ran")
        return "first"

    return first


def _sync(log):
    def sync(**kwargs):
        log.append("sync ran")
        return "sync"

    return sync


def _plain_and_recorded(make, method):
    outcomes = []
    recording = None
    for recorded in (False, True):
        log: list = []
        signal = make(log)
        if recorded:
            with signal_inspector.record() as recording:
                outcome = run(signal, method)
        else:
            outcome = run(signal, method)
        if isinstance(outcome, list):  # receivers made afresh: compare by name
            outcome = [(r.__qualname__, v) for r, v in outcome]
        outcomes.append((outcome, log))
    return outcomes, recording


@pytest.mark.parametrize("method", ["send_robust", "asend_robust"])
@pytest.mark.parametrize("failing", ["unbound", "marked"])
def test_robust_sends_catch_an_async_receiver_that_fails_as_it_is_called(method, failing):
    def make(log):
        bad = _needs_a_keyword if failing == "unbound" else _Checking(log)
        return _signal_with(log, _ran_before(log), bad)

    (plain, recorded), recording = _plain_and_recorded(make, method)
    assert recorded == plain
    assert plain[0][0][1] == "first"
    assert plain[0][1][1][0] is TypeError  # Django returns the error, raises nothing
    calls = recording.to_dict()["sends"][0]["receivers"]
    bad = [c for c in calls if c["exception"]]
    assert len(bad) == 1
    assert bad[0]["outcome"] == "caught"
    assert bad[0]["exception"]["type"] == "TypeError"


@pytest.mark.parametrize("method", ["send", "asend"])
@pytest.mark.parametrize("failing", ["unbound", "marked"])
def test_an_async_receiver_failing_as_it_is_called_stops_every_async_receiver(method, failing):
    def make(log):
        bad = _needs_a_keyword if failing == "unbound" else _Checking(log)
        return _signal_with(log, _ran_before(log), bad, _ran_before(log))

    (plain, recorded), recording = _plain_and_recorded(make, method)
    assert recorded == plain
    assert plain[0][0] == "raised" and plain[0][1] is TypeError
    assert "first ran" not in plain[1]  # Django builds every coroutine first: none ran
    send = recording.to_dict()["sends"][0]
    raised = [c for c in send["receivers"] if c["outcome"] == "raised"]
    assert len(raised) == 1 and raised[0]["exception"]["type"] == "TypeError"
    assert len(send["skipped"]) == 2  # built but never run, or never called


def test_asend_with_an_async_receiver_failing_as_called_runs_no_sync_receiver_either():
    def make(log):
        return _signal_with(log, _sync(log), _needs_a_keyword)

    (plain, recorded), recording = _plain_and_recorded(make, "asend")
    assert recorded == plain
    from signal_inspector import patching

    send = recording.to_dict()["sends"][0]
    if patching.installed_dispatcher()[1]:
        # Django 6.1 runs the sync receivers first, then builds the async ones.
        assert plain[1] == ["sync ran"]
    else:
        assert plain[1] == []
        assert [s["name"].rsplit(".", 1)[-1] for s in send["skipped"]] == ["sync"]


def test_a_later_async_failure_is_not_kept_after_the_recording_ends():
    import gc
    import weakref

    class Marker:
        pass

    refs = []

    async def fails_first(**kwargs):
        raise ValueError("first")

    async def fails_later(**kwargs):
        marker = Marker()  # a local of the failing frame
        refs.append(weakref.ref(marker))
        await asyncio.sleep(0.01)
        raise KeyError("later")

    signal = _signal_with([], fails_first, fails_later)
    with signal_inspector.record() as recording, pytest.raises(ValueError):
        run_raw = signal.send
        run_raw(sender=None)
    gc.collect()
    assert refs and refs[0]() is None
    assert recording._last_error is None
