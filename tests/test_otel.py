"""OpenTelemetry spans and metrics (otel.py), with the real SDK: request spans made by
opentelemetry-instrumentation-django under the test client, spans kept by the
SDK's in-memory exporter, metrics read by its in-memory reader."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from asgiref.sync import async_to_sync
from django.conf import settings
from django.dispatch import Signal
from django.test import AsyncClient, Client, override_settings
from opentelemetry import metrics, trace
from opentelemetry.instrumentation.django import DjangoInstrumentor
from opentelemetry.sdk.metrics import Histogram, MeterProvider
from opentelemetry.sdk.metrics.export import AggregationTemporality, InMemoryMetricReader
from opentelemetry.sdk.trace import ReadableSpan, TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from opentelemetry.trace import StatusCode

from signal_inspector import otel, patching
from tests import otel_app

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.urls("tests.otel_app")]

SPANS = InMemorySpanExporter()
READER = InMemoryMetricReader(preferred_temporality={Histogram: AggregationTemporality.DELTA})
PROVIDER = TracerProvider()
PROVIDER.add_span_processor(SimpleSpanProcessor(SPANS))
# Once per process (the SDK refuses a second provider): this module owns them.
trace.set_tracer_provider(PROVIDER)
metrics.set_meter_provider(MeterProvider(metric_readers=[READER]))

NOT_SAMPLED = "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-00"
SAMPLED = "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01"


@pytest.fixture
def traced(request: pytest.FixtureRequest) -> Iterator[InMemorySpanExporter]:
    """The option on (a dict of options from the test's ``options`` mark), Django
    instrumented, and the app's install() run as ready() would run it."""
    mark = request.node.get_closest_marker("options")
    option: Any = mark.args[0] if mark else True
    with override_settings(
        SIGNAL_INSPECTOR={"OPENTELEMETRY": option},
        MIDDLEWARE=list(settings.MIDDLEWARE[1:]),  # without the toolbar
    ):
        DjangoInstrumentor().instrument(tracer_provider=PROVIDER)
        otel.install()
        SPANS.clear()
        READER.get_metrics_data()  # drops what earlier tests measured
        try:
            yield SPANS
        finally:
            DjangoInstrumentor().uninstrument()


def tree(spans: tuple[ReadableSpan, ...] | list[ReadableSpan]) -> str:
    """The spans as an indented text tree, children in start order."""
    children: dict[int | None, list[ReadableSpan]] = {}
    ids = {s.context.span_id for s in spans}
    for span in spans:
        parent = span.parent.span_id if span.parent and span.parent.span_id in ids else None
        children.setdefault(parent, []).append(span)
    lines: list[str] = []

    def walk(parent: int | None, depth: int) -> None:
        for span in sorted(children.get(parent, []), key=lambda s: s.start_time or 0):
            lines.append("  " * depth + span.name)
            walk(span.context.span_id, depth + 1)

    walk(None, 0)
    return "\n".join(lines)


def by_name(spans: Any, name: str) -> ReadableSpan:
    (found,) = [s for s in spans if s.name == name]
    return found


def test_install_puts_the_middleware_right_after_djangos_otel_middleware(traced):
    middleware = list(settings.MIDDLEWARE)
    assert middleware.index(otel.MIDDLEWARE_PATH) == middleware.index(otel.DJANGO_OTEL_MIDDLEWARE) + 1
    otel.install()  # twice: listed once
    assert list(settings.MIDDLEWARE).count(otel.MIDDLEWARE_PATH) == 1


def test_a_sampled_request_nests_the_cascade_under_the_request_span(traced):
    response = Client().get("/buy/", HTTP_TRACEPARENT=SAMPLED)
    assert response.content == b"3 receivers"
    spans = traced.get_finished_spans()
    assert tree(spans) == "\n".join([
        "GET buy/",
        "  checkout send_robust",
        "    tests.otel_app.reserve_stock",
        "      shipped send",
        "        tests.otel_app.notify",
        "    tests.otel_app.charge_card",
        "    tests.otel_app.async_listener",
    ])
    send = by_name(spans, "checkout send_robust")
    assert dict(send.attributes or {}) == {
        "django.signal.name": "tests.otel_app.checkout",
        "django.signal.sender": "'shop'",
        "django.signal.method": "send_robust",
        "django.signal.receivers": 3,
    }
    request_span = by_name(spans, "GET buy/")
    assert send.parent is not None and send.parent.span_id == request_span.context.span_id
    assert send.context.trace_id == int(SAMPLED.split("-")[1], 16)
    reserve = by_name(spans, "tests.otel_app.reserve_stock")
    attrs = dict(reserve.attributes or {})
    assert attrs["code.function.name"] == "tests.otel_app.reserve_stock"
    assert attrs["code.file.path"] == "tests/otel_app.py"
    assert attrs["code.line.number"] == otel_app.reserve_stock.__code__.co_firstlineno
    assert attrs["db.query.count"] == 1
    # Times nest: each child inside its parent.
    nested = by_name(spans, "shipped send")
    assert reserve.start_time <= nested.start_time <= nested.end_time <= reserve.end_time
    assert send.start_time <= reserve.start_time and reserve.end_time <= send.end_time
    assert request_span.start_time <= send.start_time <= send.end_time <= request_span.end_time
    # No span for a send nobody heard; no secret anywhere.
    assert not [s for s in spans if "nobody_listens" in s.name]
    assert "sk-live-SECRET" not in repr([(s.attributes, s.events) for s in spans])


def test_on_commit_callbacks_are_events_with_their_fate(traced):
    Client().get("/buy/", HTTP_TRACEPARENT=SAMPLED)
    charge = by_name(traced.get_finished_spans(), "tests.otel_app.charge_card")
    (event,) = charge.events
    assert event.name == "django.on_commit"
    assert dict(event.attributes or {}) == {
        "django.on_commit.callback": "tests.otel_app._receipt",
        "django.on_commit.status": "ran",  # exported once the transaction committed
        "db.namespace": "default",
    }


def test_a_receiver_caught_by_send_robust_is_an_error_with_its_exception(traced):
    Client().get("/buy/?fail=1", HTTP_TRACEPARENT=SAMPLED)
    spans = traced.get_finished_spans()
    charge = by_name(spans, "tests.otel_app.charge_card")
    assert charge.status.status_code is StatusCode.ERROR
    (event,) = charge.events
    assert event.name == "exception"
    attrs = dict(event.attributes or {})
    assert attrs["exception.type"] == "ValueError"
    assert attrs["exception.message"] == "card declined"
    assert 'tests/otel_app.py", line' in attrs["exception.stacktrace"]
    assert attrs["django.signal.caught"] is True
    assert by_name(spans, "tests.otel_app.reserve_stock").status.status_code is StatusCode.UNSET


def test_a_propagated_error_and_the_receivers_it_skipped(traced):
    def fail(sender: Any, **kwargs: Any) -> None:
        raise RuntimeError("boom")

    def never(sender: Any, **kwargs: Any) -> None:
        pass

    signal = Signal()
    signal.connect(fail, weak=False)
    signal.connect(never, weak=False)
    with (
        trace.get_tracer("test").start_as_current_span("job"),
        otel.exporting(),
        pytest.raises(RuntimeError),
    ):
        signal.send(sender=None)
    spans = traced.get_finished_spans()
    (send,) = [s for s in spans if s.name.endswith(" send")]
    (skipped,) = send.events
    assert skipped.name == "django.signal.receiver_skipped"
    assert (skipped.attributes or {})["code.function.name"].endswith("never")
    failing = [s for s in spans if s.name.endswith(".fail")][0]
    assert failing.status.status_code is StatusCode.ERROR
    assert (failing.events[0].attributes or {})["django.signal.caught"] is False
    assert not [s for s in spans if s.name.endswith(".never")]


def test_a_request_not_sampled_records_nothing_and_installs_nothing(traced):
    seen: list[Any] = []

    def look(sender: Any, **kwargs: Any) -> None:
        seen.append((patching.open_recordings(), Signal.__dict__["send"].__module__))

    otel_app.shipped.connect(look)
    try:
        response = Client().get("/buy/", HTTP_TRACEPARENT=NOT_SAMPLED)
    finally:
        otel_app.shipped.disconnect(look)
    assert response.content == b"3 receivers"
    assert seen == [(0, "django.dispatch.dispatcher")]
    assert traced.get_finished_spans() == ()


@pytest.mark.options({"MAX_SPANS": 5})
def test_past_max_spans_receivers_are_summarised_and_the_request_counts_the_rest(traced):
    Client().get("/buy-many/?n=10", HTTP_TRACEPARENT=SAMPLED)
    spans = traced.get_finished_spans()
    signal_spans = [s for s in spans if not s.name.startswith("GET")]
    assert len(signal_spans) == 5
    third = [s for s in signal_spans if s.name == "shipped send"][2]
    assert list((third.attributes or {})["django.signal.receivers.summary"])[0].startswith(
        "tests.otel_app.notify "
    )
    # 10 sends of one receiver each is 20 spans: 5 made.
    assert (by_name(spans, "GET buy-many/").attributes or {})["django.signal.spans_dropped"] == 15


@pytest.mark.options({"FOLD_BELOW_MS": 10_000})
def test_fast_receivers_fold_into_their_send_span(traced):
    Client().get("/buy-many/?n=2", HTTP_TRACEPARENT=SAMPLED)
    spans = traced.get_finished_spans()
    assert tree(spans) == "GET buy-many/\n  shipped send\n  shipped send"
    for send in spans[:-1]:
        assert list((send.attributes or {})["django.signal.receivers.folded"]) == [
            "tests.otel_app.notify"
        ]


def test_an_async_view_under_asgi(traced):
    response = async_to_sync(AsyncClient().get)("/abuy/", headers={"traceparent": SAMPLED})
    assert response.content == b"3 receivers"
    spans = traced.get_finished_spans()
    assert tree(spans).startswith("GET abuy/\n  checkout asend_robust\n")
    assert by_name(spans, "tests.otel_app.async_listener").parent.span_id == by_name(  # type: ignore[union-attr]
        spans, "checkout asend_robust"
    ).context.span_id
    assert (by_name(spans, "checkout asend_robust").attributes or {})["django.signal.method"] == (
        "asend_robust"
    )


def test_the_duration_histogram(traced):
    Client().get("/buy/", HTTP_TRACEPARENT=SAMPLED)
    data = READER.get_metrics_data()
    points = {
        (p.attributes["django.signal.name"], p.attributes["code.function.name"]): p
        for rm in data.resource_metrics
        for sm in rm.scope_metrics
        if sm.scope.name == "signal_inspector"
        for metric in sm.metrics
        if metric.name == otel.HISTOGRAM and metric.unit == "s"
        for p in metric.data.data_points
    }
    assert set(points) == {
        ("tests.otel_app.checkout", "tests.otel_app.reserve_stock"),
        ("tests.otel_app.checkout", "tests.otel_app.charge_card"),
        ("tests.otel_app.checkout", "tests.otel_app.async_listener"),
        ("tests.otel_app.shipped", "tests.otel_app.notify"),
    }
    reserve = points[("tests.otel_app.checkout", "tests.otel_app.reserve_stock")]
    notify = points[("tests.otel_app.shipped", "tests.otel_app.notify")]
    assert reserve.count == 1 and 0 < notify.sum < reserve.sum < 1


def test_receivers_are_neither_wrapped_nor_renamed(traced):
    before = list(otel_app.checkout.receivers)
    Client().get("/buy/", HTTP_TRACEPARENT=SAMPLED)
    assert otel_app.checkout.receivers == before
    assert otel_app.reserve_stock.__qualname__ == "reserve_stock"


def test_the_toolbars_recording_still_sees_the_sends(traced):
    """A recording already open (the toolbar's panel) exports its sends instead of
    losing them to a second one."""
    import signal_inspector

    with (
        trace.get_tracer("test").start_as_current_span("outer"),
        signal_inspector.record() as recording,
        otel.exporting(),
    ):
        otel_app.shipped.send(sender="warehouse")
    assert [s.signal for s in recording.sends] == ["tests.otel_app.shipped"]
    assert tree(traced.get_finished_spans()) == "outer\n  shipped send\n    tests.otel_app.notify"
    assert recording.exporter is None


def test_nothing_records_without_a_sampled_span(traced):
    with otel.exporting() as recording:
        otel_app.shipped.send(sender="warehouse")
    assert recording is None
    assert traced.get_finished_spans() == ()


PAY = (
    "from tests.testapp.models import Order; "
    "from tests.testapp.signals import order_paid; "
    "order_paid.send_robust(sender=Order, order=Order.objects.create(number='<x>')); "
    "print('paid')"
)


def test_signaltrace_otel_exports_the_commands_sends_under_its_span(traced, capsys):
    from django.core.management import call_command

    call_command("signaltrace", "--otel", "shell", "-c", PAY)
    assert capsys.readouterr().out.endswith("paid\n")
    text = tree(traced.get_finished_spans())
    assert text.startswith("manage.py shell\n")
    assert "\n  post_save send\n    tests.testapp.receivers.audit_order_saved\n" in text
    assert "\n  order_paid send_robust\n    tests.testapp.receivers.mark_paid\n" in text
    refused = by_name(traced.get_finished_spans(), "tests.testapp.receivers.refuse_hostile")
    assert refused.status.status_code is StatusCode.ERROR


def test_signaltrace_otel_says_when_nothing_is_sampled(traced, capsys):
    from django.core.management import call_command
    from opentelemetry.trace import NonRecordingSpan, SpanContext, TraceFlags

    # A parent that was not sampled: the SDK's default sampler follows it.
    parent = NonRecordingSpan(SpanContext(0xABC, 0xDEF, is_remote=True, trace_flags=TraceFlags(0)))
    with trace.use_span(parent):
        call_command("signaltrace", "--otel", "shell", "-c", PAY)
    assert "signaltrace --otel: no sampled span" in capsys.readouterr().err
    assert traced.get_finished_spans() == ()


def test_a_celery_task_traced_by_its_instrumentation(traced):
    """Eager mode (the task runs in this process through Celery's own tracer, its
    task_prerun/task_postrun sent as in a worker); opentelemetry-instrumentation-
    celery makes the task's span."""
    from celery import Celery
    from opentelemetry.instrumentation.celery import CeleryInstrumentor

    app = Celery("otel_tests", set_as_current=False)
    app.conf.task_always_eager = True

    @app.task(name="otel_tests.ship")
    def ship(parcel: int) -> str:
        otel_app.shipped.send(sender="warehouse", parcel=parcel)
        return "shipped"

    CeleryInstrumentor().instrument(tracer_provider=PROVIDER)
    try:
        assert otel.install_celery()  # after the instrumentation's receivers
        with trace.get_tracer("test").start_as_current_span("enqueue"):
            assert ship.delay(7).get() == "shipped"
    finally:
        CeleryInstrumentor().uninstrument()
    assert tree(traced.get_finished_spans()) == "\n".join([
        "enqueue",
        "  run/otel_tests.ship",
        "    shipped send",
        "      tests.otel_app.notify",
    ])


def test_install_puts_the_middleware_inside_the_toolbars():
    """The toolbar's panel opens a recording in its middleware: ours must be inside
    it, to export that recording rather than hide the request's sends from it."""
    with override_settings(MIDDLEWARE=["a.First", "debug_toolbar.middleware.DebugToolbarMiddleware", "b.Last"]):
        otel.install()
        assert list(settings.MIDDLEWARE) == [
            "a.First", "debug_toolbar.middleware.DebugToolbarMiddleware", otel.MIDDLEWARE_PATH, "b.Last",
        ]
    with override_settings(MIDDLEWARE=("a.First",)):
        otel.install()
        assert list(settings.MIDDLEWARE) == [otel.MIDDLEWARE_PATH, "a.First"]


def test_a_failing_tracer_never_breaks_the_request(traced, monkeypatch):
    class Broken:
        def start_span(self, *args: Any, **kwargs: Any) -> Any:
            raise RuntimeError("tracer down")

    monkeypatch.setitem(otel._instruments, "tracer", Broken())
    response = Client().get("/buy/?fail=1", HTTP_TRACEPARENT=SAMPLED)
    assert response.status_code == 200
    assert response.content == b"3 receivers"
    assert [s.name for s in traced.get_finished_spans()] == ["GET buy/"]


def test_findings_are_events_on_the_request_span(traced):
    Client().get("/bulk/", HTTP_TRACEPARENT=SAMPLED)
    request_span = by_name(traced.get_finished_spans(), "GET bulk/")
    events = [e for e in request_span.events if e.name == "django.signal.finding"]
    assert events, request_span.events
    (attrs,) = [dict(e.attributes or {}) for e in events]
    assert attrs["django.signal.finding.kind"] == "bypassed"
    assert attrs["django.signal.finding.title"].startswith("testapp.Order.objects.update()")
    assert attrs["django.signal.finding.where"].startswith("tests/otel_app.py:")
    assert "code.function.name" not in attrs  # no receiver to name
