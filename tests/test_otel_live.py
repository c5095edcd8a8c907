"""Live signal spans (otel.py): a span that something else starts while a receiver
runs (the user's own, an HTTP client's made by opentelemetry-instrumentation-urllib,
a nested send's) is a child of that receiver's span; async receivers' spans overlap
as they ran. The real SDK, a real HTTP server on the loopback, real urllib."""

from __future__ import annotations

import asyncio
import threading
import urllib.request
import warnings
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest
from asgiref.sync import async_to_sync
from django.dispatch import Signal
from opentelemetry import trace
from opentelemetry.instrumentation.urllib import URLLibInstrumentor
from opentelemetry.sdk.trace import ReadableSpan
from opentelemetry.trace import StatusCode

from signal_inspector import dispatch, otel
from tests.test_otel import PROVIDER, by_name, traced, tree  # noqa: F401  (the fixture)
from tests.testapp.models import Order

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.urls("tests.otel_app")]

tracer = trace.get_tracer("tests.receivers")


class _Ok(BaseHTTPRequestHandler):
    def do_GET(self) -> None:  # noqa: N802  (http.server's name)
        self.send_response(200)
        self.send_header("Content-Length", "2")
        self.end_headers()
        self.wfile.write(b"ok")

    def log_message(self, format: str, *args: Any) -> None:
        pass


@pytest.fixture
def server() -> Iterator[str]:
    httpd = ThreadingHTTPServer(("127.0.0.1", 0), _Ok)
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{httpd.server_address[1]}/stock"
    finally:
        httpd.shutdown()
        httpd.server_close()


@pytest.fixture
def urllib_traced() -> Iterator[None]:
    URLLibInstrumentor().instrument(tracer_provider=PROVIDER)
    try:
        yield
    finally:
        URLLibInstrumentor().uninstrument()


def parent_of(spans: Any, span: ReadableSpan) -> ReadableSpan:
    assert span.parent is not None, span.name
    (found,) = [s for s in spans if s.context.span_id == span.parent.span_id]
    return found


def named(spans: Any, suffix: str) -> ReadableSpan:
    (found,) = [s for s in spans if s.name.endswith(suffix)]
    return found


def test_spans_started_inside_a_receiver_are_its_children(traced, server, urllib_traced):  # noqa: F811
    def own_span(sender: Any, **kwargs: Any) -> str:
        with tracer.start_as_current_span("price lookup"):
            return "priced"

    def calls_http(sender: Any, **kwargs: Any) -> bytes:
        with urllib.request.urlopen(server, timeout=10) as response:
            return bytes(response.read())

    signal = Signal()
    signal.connect(own_span, weak=False)
    signal.connect(calls_http, weak=False)
    with tracer.start_as_current_span("job"), otel.exporting():
        results = signal.send(sender="shop")
    assert [r for _, r in results] == ["priced", b"ok"]
    spans = traced.get_finished_spans()
    http = [s for s in spans if s.kind is trace.SpanKind.CLIENT]
    assert len(http) == 1, tree(spans)
    assert parent_of(spans, http[0]) is named(spans, ".calls_http"), tree(spans)
    assert parent_of(spans, by_name(spans, "price lookup")) is named(spans, ".own_span")
    send = [s for s in spans if s.name.endswith(" send")][0]
    assert parent_of(spans, named(spans, ".own_span")) is send
    assert parent_of(spans, named(spans, ".calls_http")) is send
    assert parent_of(spans, send).name == "job"
    # Times nest too: the HTTP span inside its receiver's, inside the send's.
    receiver = named(spans, ".calls_http")
    assert send.start_time <= receiver.start_time <= http[0].start_time  # type: ignore[operator]
    assert http[0].end_time <= receiver.end_time <= send.end_time  # type: ignore[operator]


def test_send_robust_a_failing_receiver_keeps_its_child_span_and_error(traced):  # noqa: F811
    def fails(sender: Any, **kwargs: Any) -> None:
        with tracer.start_as_current_span("charge"):
            pass
        raise ValueError("card declined")

    def after(sender: Any, **kwargs: Any) -> str:
        with tracer.start_as_current_span("after's own"):
            return "after"

    signal = Signal()
    signal.connect(fails, weak=False)
    signal.connect(after, weak=False)
    with tracer.start_as_current_span("job"), otel.exporting():
        results = signal.send_robust(sender=None)
    assert isinstance(results[0][1], ValueError) and results[1][1] == "after"
    spans = traced.get_finished_spans()
    failing = named(spans, ".fails")
    assert failing.status.status_code is StatusCode.ERROR
    assert (failing.events[0].attributes or {})["django.signal.caught"] is True
    assert parent_of(spans, by_name(spans, "charge")) is failing
    # Detached after the failure: the next receiver's span is not nested in it.
    assert parent_of(spans, by_name(spans, "after's own")) is named(spans, ".after")
    assert parent_of(spans, named(spans, ".after")) is parent_of(spans, failing)
    # Nothing of ours is current once the send is over.
    assert trace.get_current_span() is trace.INVALID_SPAN


def test_a_receiver_saving_a_model_nests_post_saves_send_and_its_receivers(traced):  # noqa: F811
    def save_order(sender: Any, **kwargs: Any) -> None:
        Order.objects.create(number="N-1")

    signal = Signal()
    signal.connect(save_order, weak=False)
    with tracer.start_as_current_span("job"), otel.exporting():
        signal.send(sender=None)
    spans = traced.get_finished_spans()
    saving = named(spans, ".save_order")
    post_save = by_name(spans, "post_save send")
    assert parent_of(spans, post_save) is saving
    audit = by_name(spans, "tests.testapp.receivers.audit_order_saved")
    assert parent_of(spans, audit) is post_save
    assert saving.start_time <= post_save.start_time <= audit.start_time  # type: ignore[operator]
    assert audit.end_time <= post_save.end_time <= saving.end_time  # type: ignore[operator]


def _overlapping(spans: Any, first: ReadableSpan, second: ReadableSpan) -> bool:
    return first.start_time < second.end_time and second.start_time < first.end_time  # type: ignore[operator]


@pytest.mark.parametrize("method", ["asend", "asend_robust", "send"])
def test_async_receivers_spans_overlap_and_each_is_current_in_its_task(traced, method):  # noqa: F811
    async def slow(sender: Any, **kwargs: Any) -> str:
        with tracer.start_as_current_span("slow's own"):
            await asyncio.sleep(0.05)
            with tracer.start_as_current_span("slow after await"):
                pass
        return "slow"

    async def quick(sender: Any, **kwargs: Any) -> str:
        await asyncio.sleep(0.01)
        with tracer.start_as_current_span("quick's own"):
            await asyncio.sleep(0.01)
        return "quick"

    signal = Signal()
    signal.connect(slow, weak=False)
    signal.connect(quick, weak=False)

    async def run() -> Any:
        with tracer.start_as_current_span("job"), otel.exporting():
            return await getattr(signal, method)(sender=None)

    if method == "send":
        with tracer.start_as_current_span("job"), otel.exporting():
            results = signal.send(sender=None)
    else:
        results = async_to_sync(run)()
    assert [r for _, r in results] == ["slow", "quick"]
    spans = traced.get_finished_spans()
    slow_span, quick_span = named(spans, ".slow"), named(spans, ".quick")
    assert _overlapping(spans, slow_span, quick_span), tree(spans)
    assert parent_of(spans, by_name(spans, "slow's own")) is slow_span
    assert parent_of(spans, by_name(spans, "slow after await")) is by_name(spans, "slow's own")
    assert parent_of(spans, by_name(spans, "quick's own")) is quick_span
    (send,) = [s for s in spans if s.name.endswith(f" {method}")]
    assert parent_of(spans, slow_span) is send and parent_of(spans, quick_span) is send
    assert send.start_time <= slow_span.start_time and slow_span.end_time <= send.end_time  # type: ignore[operator]


@pytest.mark.options({"FOLD_BELOW_MS": 10_000})
def test_with_folding_a_span_inside_a_folded_receiver_is_the_send_spans_child(traced):  # noqa: F811
    def own_span(sender: Any, **kwargs: Any) -> None:
        with tracer.start_as_current_span("inside"):
            pass

    signal = Signal()
    signal.connect(own_span, weak=False)
    with tracer.start_as_current_span("job"), otel.exporting():
        signal.send(sender=None)
    spans = traced.get_finished_spans()
    send = [s for s in spans if s.name.endswith(" send")][0]
    assert parent_of(spans, by_name(spans, "inside")) is send
    assert list((send.attributes or {})["django.signal.receivers.folded"])[0].endswith("own_span")
    assert not [s for s in spans if s.name.endswith(".own_span")]


def test_the_application_sees_no_difference(traced):  # noqa: F811
    """Each receiver is called from the send loop's own frame, as in any recording
    (a warning's stacklevel=2 names the same line as without spans), unwrapped."""
    import signal_inspector

    def warns(sender: Any, **kwargs: Any) -> None:
        warnings.warn("look", stacklevel=2)

    signal = Signal()
    signal.connect(warns, weak=False)
    with warnings.catch_warnings(record=True) as plain, signal_inspector.record():
        warnings.simplefilter("always")
        signal.send(sender=None)
    with (
        warnings.catch_warnings(record=True) as spanned,
        tracer.start_as_current_span("job"),
        otel.exporting(),
    ):
        warnings.simplefilter("always")
        signal.send(sender=None)
    assert [named(traced.get_finished_spans(), ".warns")]
    assert [(w.filename, w.lineno) for w in spanned] == [(w.filename, w.lineno) for w in plain]
    assert signal.receivers[0][1] is warns or signal.receivers[0][1]() is warns


def test_a_failing_context_never_breaks_the_send(traced, monkeypatch):  # noqa: F811
    """attach() failing for the send's span and each receiver's: Django's answer,
    exceptions and order all the same; nothing of ours stays current."""

    def broken(context: Any) -> Any:
        raise RuntimeError("context down")

    def first(sender: Any, **kwargs: Any) -> str:
        return "first"

    def second(sender: Any, **kwargs: Any) -> str:
        raise ValueError("second")

    signal = Signal()
    signal.connect(first, weak=False)
    signal.connect(second, weak=False)
    with tracer.start_as_current_span("job") as job, otel.exporting():
        with monkeypatch.context() as patch:
            patch.setattr(otel.otel_context, "attach", broken)
            results = signal.send_robust(sender=None)
            with pytest.raises(ValueError, match="second"):
                signal.send(sender=None)
        assert trace.get_current_span() is job
    assert results[0][1] == "first" and isinstance(results[1][1], ValueError)
    # Spans that could not be made current are still made, and still nest.
    spans = traced.get_finished_spans()
    (robust,) = [s for s in spans if s.name.endswith(" send_robust")]
    firsts = [s for s in spans if s.name.endswith(".first")]
    assert len(firsts) == 2 and parent_of(spans, firsts[0]) is robust


class PluginSignal(Signal):
    """A send method of its own (pretix's plugin signals): recorded "sends only"."""

    def send(self, sender: Any, **named: Any) -> list[tuple[Any, Any]]:  # type: ignore[override]
        return [
            (receiver, receiver(signal=self, sender=sender, **named))
            for receiver in self._live_receivers(sender)[0]
        ]


def plugin_receiver(sender: Any, **kwargs: Any) -> str:
    return "done"


@pytest.fixture
def plugin_signal() -> PluginSignal:
    """A PluginSignal with one receiver, plugin_receiver."""
    signal = PluginSignal()
    signal.connect(plugin_receiver, weak=False)
    return signal


def test_a_send_recorded_sends_only_gets_its_spans_at_its_close(traced, plugin_signal):  # noqa: F811
    signal = plugin_signal
    with tracer.start_as_current_span("job"), otel.exporting():
        assert [r for _, r in signal.send(sender=None)] == ["done"]
    spans = traced.get_finished_spans()
    (send,) = [s for s in spans if s.name.endswith(" send")]
    assert parent_of(spans, send).name == "job"
    assert parent_of(spans, named(spans, ".plugin_receiver")) is send, tree(spans)


def test_an_async_receiver_outliving_its_failed_send_ends_its_span_when_it_ends(traced):  # noqa: F811
    """asend() lets the first error out while gather()'s other tasks run on: the
    still-running receiver's span ends when the receiver does, after its send's."""

    async def fails(sender: Any, **kwargs: Any) -> None:
        raise ValueError("early")

    async def slow(sender: Any, **kwargs: Any) -> str:
        await asyncio.sleep(0.05)
        with tracer.start_as_current_span("late work"):
            return "slow"

    signal = Signal()
    signal.connect(fails, weak=False)
    signal.connect(slow, weak=False)

    async def run() -> None:
        with tracer.start_as_current_span("job"), otel.exporting():
            with pytest.raises(ValueError, match="early"):
                await signal.asend(sender=None)
            await asyncio.sleep(0.2)  # the slow receiver finishes meanwhile

    async_to_sync(run)()
    spans = traced.get_finished_spans()
    sends = [s for s in spans if s.name.endswith(" asend")]
    assert len(sends) == 1, tree(spans)
    send, slow_span = sends[0], named(spans, ".slow")
    assert parent_of(spans, slow_span) is send
    if not dispatch.PARALLEL["shared_context"]:
        # (Django 6.1's _run_parallel() cancels the others instead: no late work.)
        assert parent_of(spans, by_name(spans, "late work")) is slow_span
        assert slow_span.end_time > send.end_time  # type: ignore[operator]
    assert named(spans, ".fails").status.status_code is StatusCode.ERROR


def test_an_asend_robust_outliving_its_export_gives_djangos_answer(traced):  # noqa: F811
    """A fire-and-forget asend_robust() whose receivers start after the export
    stopped (the request that started it answered): Django's responses, no
    error from us, and every span that began ends."""
    signal = Signal()

    async def late(sender: Any, **kwargs: Any) -> str:
        await asyncio.sleep(0)
        return "late work"

    signal.connect(late, weak=False)

    async def go() -> Any:
        with tracer.start_as_current_span("request"):
            started = otel.start()
            assert started is not None
            task = asyncio.ensure_future(signal.asend_robust(sender="shop"))
            await asyncio.sleep(0)  # its receivers' tasks are made, not yet run
            otel.stop(started)
        return await task

    assert async_to_sync(go)() == [(late, "late work")]
    names = [s.name for s in traced.get_finished_spans()]
    assert "request" in names
    started_spans = [n for n in names if n.endswith(".late") or n.startswith("Signal")]
    assert started_spans, names  # the send's and the receiver's spans ended too
