"""The recording core through its public entry point, ``signal_inspector.record()``."""

from __future__ import annotations

import asyncio
import gc
import json
import threading
import warnings
import weakref

import pytest
from asgiref.sync import async_to_sync
from django.db.models.signals import post_save
from django.dispatch import Signal
from django.test import override_settings

import signal_inspector
from signal_inspector import context
from tests.testapp.models import AuditLog, Order
from tests.testapp.signals import order_paid

pytestmark = pytest.mark.django_db


@pytest.fixture
def signal():
    """A fresh custom signal; receivers connected strongly so tests control lifetime."""
    return Signal()


def names(send: dict) -> list[str]:
    return [call["name"].rsplit(".", 1)[-1] for call in send["receivers"]]


def only_send(recording) -> dict:
    data = recording.to_dict()
    assert len(data["sends"]) == 1, data["sends"]
    return data["sends"][0]


def ok(sender, **kwargs):
    return "ok"


def boom(sender, **kwargs):
    raise ValueError("boom <b>")


def after(sender, **kwargs):
    return "after"


async def aok(sender, **kwargs):
    await asyncio.sleep(0)
    return "aok"


async def aboom(sender, **kwargs):
    await asyncio.sleep(0)
    raise KeyError("aboom")


def test_nothing_records_without_record(signal):
    signal.connect(ok, weak=False)
    assert context.current() is None
    with signal_inspector.record() as recording:
        pass
    signal.send(sender=None)
    assert recording.total_sends == 0


def test_send_records_signal_sender_kwargs_and_receivers(signal):
    signal.connect(ok, weak=False)
    signal.connect(after, weak=False)
    with signal_inspector.record() as recording:
        responses = signal.send(sender=Order, number=7)
    assert responses == [(ok, "ok"), (after, "after")]
    assert responses[0][0] is ok  # Django's receiver objects, not wrappers
    send = only_send(recording)
    assert send["signal"].startswith("<unnamed Signal at 0x")  # a local, not a module attribute
    assert send["method"] == "send"
    assert send["sender"] == "testapp.Order"
    assert send["kwargs"] == {"number": "7"}
    assert send["fired_at"]["file"].endswith("test_recording.py")
    assert send["fired_at"]["function"] == "test_send_records_signal_sender_kwargs_and_receivers"
    assert names(send) == ["ok", "after"]
    first = send["receivers"][0]
    assert first["name"] == "tests.test_recording.ok"
    assert first["location"] == f"tests/test_recording.py:{ok.__code__.co_firstlineno}"
    assert first["outcome"] == "returned" and first["result"] == "'ok'"
    assert first["is_async"] is False
    assert first["duration_ms"] >= 0 and first["start_ms"] >= send["start_ms"]


def test_module_level_signal_named_by_defining_module():
    with signal_inspector.record() as recording:
        order = Order.objects.create(number="1")
    signals = [s["signal"] for s in recording.to_dict()["sends"]]
    assert "django.db.models.signals.post_save" in signals
    send = next(s for s in recording.to_dict()["sends"] if s["signal"].endswith("post_save"))
    assert send["kwargs"]["instance"] == f"<testapp.Order: pk={order.pk}>"
    assert send["kwargs"]["created"] == "True"
    order_paid.connect(ok, weak=False)
    try:
        with signal_inspector.record() as recording:
            order_paid.send(sender=Order, order=order)
        assert only_send(recording)["signal"] == "tests.testapp.signals.order_paid"
    finally:
        order_paid.disconnect(ok)


def test_send_propagates_same_exception_and_records_skipped(signal):
    signal.connect(ok, weak=False)
    signal.connect(boom, weak=False)
    signal.connect(after, weak=False)
    with signal_inspector.record() as recording, pytest.raises(ValueError) as info:
        signal.send(sender=None)
    # The traceback still ends in the receiver that raised.
    assert info.traceback[-1].name == "boom"
    send = only_send(recording)
    assert [c["outcome"] for c in send["receivers"]] == ["returned", "raised"]
    exc = send["receivers"][1]["exception"]
    assert exc["type"] == "ValueError" and exc["message"] == "boom <b>"
    assert exc["traceback"][-1]["function"] == "boom"
    # signal_inspector's own frame (the wrapped send) is not the user's concern.
    assert not any(f["file"].startswith("signal_inspector/") for f in exc["traceback"])
    assert "raise ValueError" in exc["text"]
    assert [s["name"] for s in send["skipped"]] == ["tests.test_recording.after"]
    assert recording.errors == 1


def test_send_robust_returns_exception_and_logs_it(signal, caplog):
    signal.connect(boom, weak=False)
    signal.connect(after, weak=False)
    with signal_inspector.record() as recording:
        responses = signal.send_robust(sender=None)
    assert responses[0][0] is boom and isinstance(responses[0][1], ValueError)
    assert responses[1] == (after, "after")
    assert "Error calling boom in Signal.send_robust() (boom <b>)" in caplog.text
    send = only_send(recording)
    assert [c["outcome"] for c in send["receivers"]] == ["caught", "returned"]
    assert send["skipped"] == []


def test_async_receivers_under_send_and_send_robust(signal):
    signal.connect(ok, weak=False)
    signal.connect(aok, weak=False)
    signal.connect(aboom, weak=False)
    with signal_inspector.record() as recording:
        responses = signal.send_robust(sender=None)
        with pytest.raises(KeyError):
            signal.send(sender=None)
    assert responses[0] == (ok, "ok") and responses[1] == (aok, "aok")
    assert responses[2][0] is aboom and isinstance(responses[2][1], KeyError)
    robust, plain = recording.to_dict()["sends"]
    assert {c["name"].rsplit(".", 1)[-1]: c["outcome"] for c in robust["receivers"]} == {
        "ok": "returned", "aok": "returned", "aboom": "caught"}
    assert all(c["is_async"] for c in robust["receivers"][1:])
    outcomes = {c["name"].rsplit(".", 1)[-1]: c["outcome"] for c in plain["receivers"]}
    assert outcomes["aboom"] == "raised" and outcomes["ok"] == "returned"


@pytest.mark.parametrize("method", ["asend", "asend_robust"])
def test_asend_methods_record_sync_and_async_receivers(signal, method):
    signal.connect(ok, weak=False)
    signal.connect(aok, weak=False)

    async def go():
        with signal_inspector.record() as recording:
            responses = await getattr(signal, method)(sender=None, value=1)
        return recording, responses

    recording, responses = asyncio.run(go())
    assert responses == [(ok, "ok"), (aok, "aok")]
    send = only_send(recording)
    assert send["method"] == method
    assert {(c["name"].rsplit(".", 1)[-1], c["is_async"]) for c in send["receivers"]} == {
        ("ok", False), ("aok", True)}


def test_asend_robust_catches_sync_and_async_errors(signal):
    signal.connect(boom, weak=False)
    signal.connect(aboom, weak=False)

    async def go():
        with signal_inspector.record() as recording:
            responses = await signal.asend_robust(sender=None)
        return recording, responses

    recording, responses = asyncio.run(go())
    assert [type(r).__name__ for _, r in responses] == ["ValueError", "KeyError"]
    assert [c["outcome"] for c in only_send(recording)["receivers"]] == ["caught", "caught"]


def test_asend_propagates_and_records(signal):
    signal.connect(aboom, weak=False)

    async def go():
        with signal_inspector.record() as recording, pytest.raises(KeyError):
            await signal.asend(sender=None)
        return recording

    recording = asyncio.run(go())
    assert only_send(recording)["receivers"][0]["outcome"] == "raised"


def test_nesting_and_sql_attribution():
    def pay(sender, order, **kwargs):
        order.paid = True
        order.save()  # fires post_save, whose receiver writes an audit row

    def audit(sender, instance, created, **kwargs):
        AuditLog.objects.create(message=f"saved {instance.pk}")

    order_paid.connect(pay, weak=False)
    post_save.connect(audit, sender=Order, weak=False)
    try:
        order = Order.objects.create(number="n1")
        with signal_inspector.record() as recording:
            order_paid.send(sender=Order, order=order)
    finally:
        order_paid.disconnect(pay)
        post_save.disconnect(audit, sender=Order)
    data = recording.to_dict()
    top = [s for s in data["sends"] if s["signal"].endswith("order_paid")]
    assert len(top) == 1
    pay_call = next(c for c in top[0]["receivers"] if c["name"].endswith("pay"))
    child_signals = [c["signal"] for c in pay_call["children"]]
    assert "django.db.models.signals.post_save" in child_signals
    post = next(c for c in pay_call["children"] if c["signal"].endswith("post_save"))
    audit_call = next(c for c in post["receivers"] if c["name"].endswith("audit"))
    # Queries go to the innermost receiver running: the UPDATE to pay, the INSERT to audit.
    assert audit_call["queries"] == 1 and audit_call["inserts"] == 1
    assert pay_call["queries"] >= 1 and pay_call["inserts"] == 0
    assert audit_call["query_ms"] >= 0
    assert post["fired_at"]["function"] == "pay"


def test_sends_without_receivers_are_only_counted():
    with signal_inspector.record() as recording:
        list(Order.objects.all())
        Order.objects.create(number="a")
        list(Order.objects.all())
    data = recording.to_dict()
    silent = {(s["signal"], s["sender"]): s["count"] for s in data["silent"]}
    assert silent[("django.db.models.signals.post_init", "testapp.Order")] >= 1
    assert not any(s["signal"].endswith("post_init") for s in data["sends"])


def test_bound_keeps_counts_and_says_how_many_were_left_out(signal):
    signal.connect(ok, weak=False)
    with signal_inspector.record(max_sends=5) as recording:
        for i in range(12):
            signal.send(sender=None, i=i)
    data = recording.to_dict()
    assert len(data["sends"]) == 5
    assert data["total_sends"] == 12 and data["dropped_sends"] == 7
    assert data["receiver_calls"] == 12


def test_repr_length_setting_truncates(signal):
    signal.connect(ok, weak=False)
    with override_settings(SIGNAL_INSPECTOR={"MAX_REPR_LENGTH": 20}), signal_inspector.record() as recording:
            signal.send(sender=None, text="x" * 10_000)
    value = only_send(recording)["kwargs"]["text"]
    assert len(value) <= 20 and value.endswith("…")


def test_secrets_are_masked(signal):
    signal.connect(ok, weak=False)
    with signal_inspector.record() as recording:
        signal.send(sender=None, password="hunter2", api_key="k-123", auth_token="tok-7q",
                    config={"client_secret": "s3", "nested": {"cookie": "c"}, "name": "visible"},
                    user="alice")
    kwargs = only_send(recording)["kwargs"]
    dumped = json.dumps(recording.to_dict())
    for secret in ("hunter2", "k-123", "tok-7q", "s3", "'c'"):
        assert secret not in dumped
    assert kwargs["password"] == "********************"
    assert "visible" in kwargs["config"] and kwargs["user"] == "'alice'"


class HostileRepr:
    def __repr__(self):
        raise RuntimeError("no repr for you")


class NonStringRepr:
    def __repr__(self):
        return 42


class HugeRepr:
    def __repr__(self):
        return "h" * 5_000_000


class Callable:
    def __call__(self, sender, **kwargs):
        return "called"


def test_hostile_senders_kwargs_and_receivers_are_recorded_with_placeholders(signal):
    import functools

    recursive: list = []
    recursive.append(recursive)
    partial_receiver = functools.partial(after)
    callable_receiver = Callable()
    signal.connect(partial_receiver, weak=False)
    signal.connect(callable_receiver, weak=False)
    sender = HostileRepr()
    with signal_inspector.record() as recording:
        responses = signal.send(sender=sender, a=HostileRepr(), b=NonStringRepr(), c=HugeRepr(),
                                d=recursive, e=10**5000)
    assert [r for _, r in responses] == ["after", "called"]
    send = only_send(recording)
    assert send["sender"].startswith("<unrepresentable tests.test_recording.HostileRepr")
    assert send["kwargs"]["a"].startswith("<unrepresentable")
    assert send["kwargs"]["b"].startswith("<unrepresentable") or "non-string" in send["kwargs"]["b"]
    assert len(send["kwargs"]["c"]) <= 200
    assert send["kwargs"]["d"] == "[[...]]"
    assert "bits" in send["kwargs"]["e"]
    assert [c["name"] for c in send["receivers"]] == [
        "functools.partial(tests.test_recording.after)",
        "tests.test_recording.Callable()",
    ]
    assert send["receivers"][1]["location"].startswith("tests/test_recording.py:")
    json.dumps(recording.to_dict())


def test_record_holds_no_model_instances(signal):
    signal.connect(ok, weak=False)
    order = Order.objects.create(number="weak")
    ref = weakref.ref(order)
    with signal_inspector.record() as recording:
        signal.send(sender=Order, instance=order)
        order_paid.send(sender=Order, order=order)
    del order
    gc.collect()
    assert ref() is None
    assert json.loads(json.dumps(recording.to_dict()))["sends"]


def test_two_threads_recording_at_once_do_not_mix(signal):
    signal.connect(ok, weak=False)
    barrier = threading.Barrier(2)
    results: dict[str, dict] = {}

    def worker(token: str) -> None:
        with signal_inspector.record() as recording:
            for _ in range(50):
                barrier.wait(timeout=10) if _ == 0 else None
                signal.send(sender=None, marker=token)
        results[token] = recording.to_dict()

    threads = [threading.Thread(target=worker, args=(t,)) for t in ("alpha", "beta")]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=30)
    for token, data in results.items():
        assert data["total_sends"] == 50
        assert {s["kwargs"]["marker"] for s in data["sends"]} == {repr(token)}


def test_asyncio_tasks_do_not_mix(signal):
    signal.connect(aok, weak=False)

    async def task(token):
        with signal_inspector.record() as recording:
            for _ in range(10):
                await signal.asend(sender=None, marker=token)
                await asyncio.sleep(0)
        return recording.to_dict()

    async def main():
        return await asyncio.gather(task("one"), task("two"))

    one, two = asyncio.run(main())
    assert {s["kwargs"]["marker"] for s in one["sends"]} == {"'one'"}
    assert {s["kwargs"]["marker"] for s in two["sends"]} == {"'two'"}


def warn_caller(sender, **kwargs):
    warnings.warn("from receiver", UserWarning, stacklevel=3)


def test_receiver_warning_stacklevel_unchanged(signal):
    """No extra frame between send() and the receiver, recording or not."""
    signal.connect(warn_caller, weak=False)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        signal.send(sender=None); line = test_receiver_warning_stacklevel_unchanged.__code__.co_firstlineno + 5  # noqa: E702
        with signal_inspector.record():
            signal.send(sender=None)
    assert [w.filename for w in caught] == [__file__, __file__]
    assert caught[0].lineno == line and caught[1].lineno == line + 2


def test_duplicate_calls_in_one_send_are_flagged(signal):
    def make():
        def handler(sender, **kwargs):
            return None
        return handler

    first, second = make(), make()
    signal.connect(first, weak=False)
    signal.connect(second, weak=False)
    with signal_inspector.record() as recording:
        signal.send(sender=None)
    send = only_send(recording)
    assert send["duplicate"] is True
    assert all(c["duplicate"] for c in send["receivers"])
    assert recording.duplicates == 1


def test_partials_of_different_arguments_do_not_run_twice(signal):
    """Issue 11: two partials of one function, each with its own arguments and
    dispatch_uid (django-auditlog connects one per request), are two receivers;
    partials of equal arguments are one receiver connected twice."""
    import functools

    def notify(sender, channel, **kwargs):
        return channel

    signal.connect(functools.partial(notify, channel="email"), weak=False, dispatch_uid="e")
    signal.connect(functools.partial(notify, channel="slack"), weak=False, dispatch_uid="s")
    with signal_inspector.record() as recording:
        signal.send(sender=None)
    assert not any(c["duplicate"] for c in only_send(recording)["receivers"])
    assert recording.duplicates == 0

    signal.connect(functools.partial(notify, channel="email"), weak=False, dispatch_uid="e2")
    with signal_inspector.record() as recording:
        signal.send(sender=None)
    calls = only_send(recording)["receivers"]
    assert [c["duplicate"] for c in calls] == [True, False, True]


def test_loop_is_marked_without_changing_behaviour():
    def resave(sender, instance, **kwargs):
        if instance.number.count("!") < 3:
            instance.number += "!"
            instance.save()

    post_save.connect(resave, sender=Order, weak=False)
    try:
        with signal_inspector.record() as recording:
            order = Order.objects.create(number="loop")
    finally:
        post_save.disconnect(resave, sender=Order)
    assert order.number == "loop!!!"
    assert recording.loops == 1
    sends = recording.iter_sends()
    looped = [s for s in sends if s.loop]
    assert looped and looped[0].loop[0].endswith("resave")


def test_weak_receivers_stay_weak(signal):
    def temporary(sender, **kwargs):
        return "temp"

    signal.connect(temporary)
    with signal_inspector.record() as recording:
        assert signal.send(sender=None)[0][1] == "temp"
        del temporary
        gc.collect()
        assert signal.send(sender=None) == []
    assert recording.total_sends == 1


@pytest.mark.parametrize("heard", [True, False], ids=["heard", "silent"])
def test_a_class_sender_stays_collectable_while_recording(heard):
    """As Django's own sender cache allows (its dispatch test
    test_cached_garbaged_collected): a sender class used once is not kept
    alive by the recording that saw it."""
    caching = Signal(use_caching=True)
    if heard:
        caching.connect(ok, weak=False)

    class Sender:
        pass

    sender = weakref.ref(Sender)
    with signal_inspector.record() as recording:
        caching.send(sender=Sender)
        caching.send(sender=Sender)  # the second one finds its labels by id
        del Sender
        gc.collect()
        assert sender() is None
    assert recording.total_sends == (2 if heard else 0)


def test_a_signal_sent_once_stays_collectable_while_recording():
    """Signals (and their strong receivers) are remembered by id, held weakly."""
    with signal_inspector.record():
        temporary = Signal()
        temporary.connect(ok, weak=False)
        temporary.send(sender=None)
        temporary.send(sender=Order)
        Signal().send(sender=None)  # silent
        held = weakref.ref(temporary)
        del temporary
        gc.collect()
        assert held() is None


def test_a_signal_named_after_its_first_send_is_named_from_then_on(signal):
    """A signal no module holds is looked up again once modules change."""
    import sys
    import types

    signal.connect(ok, weak=False)
    with signal_inspector.record() as recording:
        signal.send(sender=None)
        module = types.ModuleType("late_signals_module")
        module.late = signal
        sys.modules["late_signals_module"] = module
        try:
            signal.send(sender=None)
        finally:
            del sys.modules["late_signals_module"]
    first, second = (s["signal"] for s in recording.to_dict()["sends"])
    assert first.startswith("<unnamed Signal at ")
    assert second == "late_signals_module.late"


def test_queries_from_a_thread_sharing_the_context_never_fail(signal):
    """A thread running in a copy of a receiver's context (copy_context().run,
    sync_to_async(thread_sensitive=False)) may query at any moment of the send
    loop: attributing its queries must never raise into it."""
    import contextvars
    import sys
    import threading

    from django.db import connection

    errors: list[str] = []
    stop = threading.Event()
    threads: list[threading.Thread] = []

    def poll() -> None:
        try:
            while not stop.is_set():
                try:
                    with connection.cursor() as cursor:
                        cursor.execute("SELECT 1")
                except Exception as err:  # noqa: BLE001
                    errors.append(repr(err))
        finally:
            connection.close()

    def spawner(sender, **kwargs):
        thread = threading.Thread(target=contextvars.copy_context().run, args=(poll,))
        thread.start()
        threads.append(thread)

    signal.connect(spawner, weak=False)
    for i in range(1000):
        signal.connect(lambda sender, i=i, **kwargs: None, weak=False, dispatch_uid=i)
    interval = sys.getswitchinterval()
    sys.setswitchinterval(1e-6)
    try:
        with signal_inspector.record():
            for _ in range(10):
                signal.send(sender=None)
                stop.set()
                threads.pop().join()
                stop.clear()
    finally:
        stop.set()
        sys.setswitchinterval(interval)
        for thread in threads:
            thread.join()
    assert errors == []


def test_a_call_read_while_its_receiver_runs_is_the_one_finished(signal):
    seen = []

    def reads_its_own_record(sender, **kwargs):
        seen.append(recording.sends[-1].receivers[0])
        return "done"

    signal.connect(reads_its_own_record, weak=False)
    with signal_inspector.record() as recording:
        signal.send(sender=None)
    (call,) = recording.sends[0].receivers
    assert call is seen[0]
    assert (call.outcome, call.result) == ("returned", "'done'") and call.duration_ms > 0


def test_senders_that_are_not_classes_are_recorded_in_full(signal):
    """Only class (and None) senders are remembered by id; a string, a number or
    an instance as sender is labelled on each send, and recorded the same."""
    signal.connect(ok, weak=False)
    with signal_inspector.record() as recording:
        for sender in ("left", 7, Order(pk=3, number="x"), "left"):
            signal.send(sender=sender)
    sends = recording.to_dict()["sends"]
    assert [s["sender"] for s in sends] == ["'left'", "7", "<testapp.Order: pk=3>", "'left'"]
    assert all(names(s) == ["ok"] for s in sends)


def test_record_works_from_async_to_sync_contexts(signal):
    signal.connect(ok, weak=False)

    async def inner():
        return await signal.asend(sender=None)

    with signal_inspector.record() as recording:
        async_to_sync(inner)()
    assert only_send(recording)["method"] == "asend"


def test_ignore_signals_setting(signal):
    signal.connect(ok, weak=False)
    ignore = {"IGNORE_SIGNALS": ["django.db.models.signals.post_save"]}
    with override_settings(SIGNAL_INSPECTOR=ignore), signal_inspector.record() as recording:
            Order.objects.create(number="ignored")
    assert not any(s["signal"].endswith("post_save") for s in recording.to_dict()["sends"])


def test_ignore_signals_changed_inside_a_recording_takes_effect():
    """Signal names are remembered per recording, with the settings they were
    decided under: a change of IGNORE_SIGNALS mid-recording is obeyed."""

    def post_save_count(recording) -> int:
        return sum(s["signal"].endswith(".post_save") for s in recording.to_dict()["sends"])

    post_save.connect(ok, sender=Order, weak=False)
    try:
        with signal_inspector.record() as recording:
            Order.objects.create(number="seen")
            ignore = {"IGNORE_SIGNALS": ["django.db.models.signals.post_save"]}
            with override_settings(SIGNAL_INSPECTOR=ignore):
                Order.objects.create(number="ignored")
            Order.objects.create(number="seen again")
    finally:
        post_save.disconnect(ok, sender=Order)
    assert post_save_count(recording) == 2


def test_runtime_duplicate_from_module_imported_under_two_names():
    """tests.dupapp.imported_twice is also imported as dupapp_alias.imported_twice:
    two function objects, one piece of code, both connected to ``ping``."""
    from tests.dupapp.models import Thing
    from tests.dupapp.signals import ping

    with signal_inspector.record() as recording:
        ping.send(sender=Thing)
    send = only_send(recording)
    twice = [c for c in send["receivers"] if c["name"].endswith("imported_twice.on_ping")]
    assert len(twice) == 2 and all(c["duplicate"] for c in twice)
    # Look-alikes are not marked: same name in two modules, one function per sender.
    for name in ("handlers.same_name", "more_handlers.same_name", "handlers.per_sender"):
        calls = [c for c in send["receivers"] if c["name"].endswith(name)]
        assert calls and not any(c["duplicate"] for c in calls), name


def test_an_exception_passing_up_a_loop_keeps_its_traceback_once():
    signal = Signal()

    def again(sender, depth, **kwargs):
        if depth == 5:
            raise ValueError("deep")
        signal.send(sender=None, depth=depth + 1)

    signal.connect(again, weak=False)
    with signal_inspector.record() as recording, pytest.raises(ValueError):
        signal.send(sender=None, depth=0)
    calls = [c for s in recording.iter_sends() for c in s.receivers]
    assert len(calls) == 6 and all(c.outcome == "raised" for c in calls)
    innermost, outer = calls[-1], calls[:-1]
    assert innermost.exception.traceback[-1].function == "again"
    assert all(c.exception.traceback == [] and "raised further down" in c.exception.text
               for c in outer)
    assert all(c.exception.message == "deep" for c in calls)
    assert recording.loops == 1


@pytest.mark.django_db(transaction=True)
def test_sql_attribution_for_sync_receivers_under_asend():
    signal = Signal()

    def count_orders(sender, **kwargs):
        return Order.objects.count()

    signal.connect(count_orders, weak=False)

    async def go():
        with signal_inspector.record() as recording:
            responses = await signal.asend(sender=None)
        return recording, responses

    recording, responses = asyncio.run(go())
    assert responses == [(count_orders, 0)]
    call = only_send(recording)["receivers"][0]
    assert call["queries"] == 1 and call["query_ms"] >= 0


@pytest.mark.parametrize("bad", ["10", -1, 2.5, True])
def test_record_rejects_a_bad_max_sends(bad):
    with (
        pytest.raises(ValueError, match="max_sends must be a whole number"),
        signal_inspector.record(max_sends=bad),
    ):
        pass
    assert context.current() is None


@pytest.mark.django_db(transaction=True)
def test_sql_attribution_for_async_receivers_querying_through_sync_to_async():
    signal = Signal()

    async def acount(sender, **kwargs):
        return await Order.objects.acount()

    signal.connect(acount, weak=False)

    async def go():
        with signal_inspector.record() as recording:
            responses = await signal.asend(sender=None)
        return recording, responses

    recording, responses = asyncio.run(go())
    assert responses == [(acount, 0)]
    call = only_send(recording)["receivers"][0]
    assert call["is_async"] and call["queries"] == 1


class _Node:
    def __init__(self, parent: _Node | None = None) -> None:
        self.parent = parent

    def __repr__(self) -> str:
        return "<Node folder>"  # every node's


def _made_class() -> type:
    class Handler:  # one qualified name for every class made here
        pass

    return Handler


@pytest.mark.parametrize(
    "senders",
    [
        pytest.param(lambda: (_Node(), _Node()), id="equal-reprs"),
        pytest.param(lambda: ("/a" * 150 + "/first", "/a" * 150 + "/second"), id="reprs-cut-alike"),
        pytest.param(lambda: (_made_class(), _made_class()), id="classes-named-alike"),
    ],
)
def test_two_senders_labelled_alike_are_not_a_loop(senders):
    """A receiver sending its signal again for another sender is no loop, even
    when both senders read alike in the record; the same sender again is."""
    first, second = senders()
    signal = Signal()

    def forward(sender, **kwargs):
        if sender is first:
            signal.send(sender=second)

    signal.connect(forward, weak=False)
    with signal_inspector.record() as recording:
        signal.send(sender=first)
    [outer] = recording.sends
    [inner] = outer.receivers[0].children
    assert inner.sender == outer.sender  # labelled alike
    assert recording.loops == 0
    assert not inner.loop and not outer.receivers[0].loop
    assert "[loop" not in recording.to_text()

    def again(sender, depth=0, **kwargs):
        if depth == 0:
            signal.send(sender=sender, depth=1)

    signal.disconnect(forward)
    signal.connect(again, weak=False)
    with signal_inspector.record() as recording:
        signal.send(sender=first)
    assert recording.loops == 1


def test_an_equal_plain_sender_made_anew_is_the_same_sender_for_loops():
    """A receiver re-sending for a sender string it builds again (equal, another
    object) loops as surely as one passing the same object on."""
    signal = Signal()

    def again(sender, depth=0, **kwargs):
        if depth == 0:
            signal.send(sender="order-" + str(len(sender)), depth=1)

    signal.connect(again, weak=False)
    first = "order-" + str(len("order-7"))
    with signal_inspector.record() as recording:
        signal.send(sender=first)
    [outer] = recording.sends
    [inner] = outer.receivers[0].children
    assert inner.sender == outer.sender
    assert recording.loops == 1
