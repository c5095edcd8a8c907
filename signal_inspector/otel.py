"""OpenTelemetry spans and metrics made from signal records.

An exporter: it reads the records the core writes, and the core never imports
it (the recording calls :class:`SpanExporter` through ``Recording.exporter``).
It is the only module of the package that imports ``opentelemetry``; only its
API is needed, and without a configured SDK every call is OpenTelemetry's no-op.

Spans are made when each top-level send closes, from its record, with explicit
start and end times: the receivers are never wrapped or renamed, and nothing
runs between Django's send loop and a receiver. The cost is that a span another
instrumentation starts while a receiver runs (an HTTP client's, say) is a
sibling of the receiver's span, not its child: the receiver's span did not exist
yet. See docs/opentelemetry.md.

Recordings open only where the current span is sampled (it records): in
:class:`SignalSpansMiddleware` (WSGI and ASGI), around Celery tasks, and under
``signaltrace --otel``.
"""

from __future__ import annotations

import time
from collections.abc import Awaitable, Callable, Iterator
from contextlib import contextmanager, suppress
from typing import Any

from asgiref.sync import iscoroutinefunction, markcoroutinefunction
from opentelemetry import context as otel_context
from opentelemetry import metrics, trace
from opentelemetry.trace import Span, SpanKind, Status, StatusCode

from . import __version__
from .conf import OpenTelemetryOptions, get_config
from .context import current
from .recorder import begin, end
from .recording import (
    OUTCOME_CAUGHT,
    OUTCOME_RAISED,
    OUTCOME_RUNNING,
    ReceiverCall,
    Recording,
    SendRecord,
)

MIDDLEWARE_PATH = "signal_inspector.otel.SignalSpansMiddleware"
DJANGO_OTEL_MIDDLEWARE = (
    "opentelemetry.instrumentation.django.middleware.otel_middleware._DjangoMiddleware"
)
_BEFORE_OURS = (
    DJANGO_OTEL_MIDDLEWARE,
    "debug_toolbar.middleware.DebugToolbarMiddleware",
    "signal_inspector.middleware.SignalLoggingMiddleware",
)
HISTOGRAM = "django.signal.receiver.duration"
# Names listed in a send span's summary or folded attribute, at most.
_MAX_LISTED = 20

_instruments: dict[str, Any] = {}


def _tracer() -> trace.Tracer:
    # A proxy until an SDK is set up: spans then go wherever it says.
    tracer = _instruments.get("tracer")
    if tracer is None:
        tracer = _instruments["tracer"] = trace.get_tracer("signal_inspector", __version__)
    return tracer


def _histogram() -> metrics.Histogram:
    histogram = _instruments.get("histogram")
    if histogram is None:
        meter = metrics.get_meter("signal_inspector", __version__)
        histogram = _instruments["histogram"] = meter.create_histogram(
            HISTOGRAM, unit="s", description="Time a Django signal receiver took."
        )
    return histogram


def _signal_attrs(record: SendRecord) -> dict[str, Any]:
    return {
        "django.signal.name": record.signal,
        "django.signal.sender": record.sender,
        "django.signal.method": record.method,
        "django.signal.receivers": len(record.calls) + len(record.skipped),
    }


_code_attrs_cache: dict[tuple[str, str], dict[str, Any]] = {}


def _code_attrs(name: str, location: str) -> dict[str, Any]:
    """A receiver's code attributes, made once per receiver (read only: the SDK
    copies what it is given)."""
    attrs = _code_attrs_cache.get((name, location))
    if attrs is None:
        attrs = {"code.function.name": name}
        path, _, line = location.rpartition(":")
        if path and line.isdigit():
            attrs["code.file.path"] = path
            attrs["code.line.number"] = int(line)
        if len(_code_attrs_cache) > 5000:
            _code_attrs_cache.clear()
        _code_attrs_cache[(name, location)] = attrs
    return attrs


def _calls(record: SendRecord) -> list[tuple[str, str, float, float | None, ReceiverCall | None]]:
    """(name, location, start, end or None, record or None) per receiver called;
    a call the send loop wrote as a tuple is read without making its record."""
    out: list[tuple[str, str, float, float | None, ReceiverCall | None]] = []
    for entry in record.calls:
        if type(entry) is tuple:
            (name, location, _), start = entry[0], entry[1]
            out.append((name, location, start, entry[2] if len(entry) > 2 else None, None))
        else:
            running = entry.outcome == OUTCOME_RUNNING
            finished = None if running else entry.start + entry.duration_ms / 1000
            out.append((entry.name, entry.location, entry.start, finished, entry))
    return out


def _bounded(signal: str) -> str:
    """A signal's name as a metric attribute: one value for every signal no
    module names (their names hold an address)."""
    return "<unnamed Signal>" if signal.startswith("<unnamed ") else signal


def _count_spans(record: SendRecord) -> int:
    """Spans a send and everything it caused would take (no recursion)."""
    count = 0
    pending = [record]
    while pending:
        send = pending.pop()
        count += 1 + len(send.calls)
        for entry in send.calls:
            if type(entry) is not tuple:
                pending.extend(entry.children)
    return count


class SpanExporter:
    """Turns each top-level send of one recording into spans as it closes.

    ``opened()`` keeps the OpenTelemetry context current when a top-level send
    opens (its span's parent); calling the exporter with the closed send makes
    the spans, and :meth:`finish` puts what was left out on the root span.
    Never raises into the application.
    """

    def __init__(self, options: OpenTelemetryOptions, root: Span | None = None) -> None:
        self.options = options
        self.root = root if root is not None else trace.get_current_span()
        self.root_context = otel_context.get_current()
        self.tracer = _tracer()
        self.histogram = _histogram() if options.metrics else None
        # perf_counter() seconds -> epoch nanoseconds.
        self.offset = time.time_ns() - int(time.perf_counter() * 1e9)
        self.contexts: dict[int, otel_context.Context] = {}
        self.spans = 0  # made or set aside for deferred sends, of MAX_SPANS
        self.used = self.allowance = 0  # within the send being exported
        self.dropped = 0
        # Sends with on_commit callbacks still pending: exported at finish(),
        # once the recording has settled their fate.
        self.deferred: list[tuple[SendRecord, int]] = []

    def opened(self, record: SendRecord) -> None:
        with suppress(Exception):
            self.contexts[id(record)] = otel_context.get_current()

    def __call__(self, record: SendRecord) -> None:
        try:
            if self.histogram is not None:
                self._measure(record)
            allowance = max(self.options.max_spans - self.spans, 0)
            if self._pending(record):
                # Its share of MAX_SPANS is taken now, in the order sends closed.
                share = min(_count_spans(record), allowance)
                self.spans += share
                self.deferred.append((record, share))
                return
            self.spans += self._export(record, allowance)
        except Exception:
            pass

    def finish(self) -> None:
        """The recording has ended: export what waited for its on_commit
        callbacks' fate, and count what was left out on the root span."""
        try:
            deferred, self.deferred = self.deferred, []
            for record, share in deferred:
                self._export(record, share)
            if self.dropped and self.root.is_recording():
                self.root.set_attribute("django.signal.spans_dropped", self.dropped)
        except Exception:
            pass

    def _ns(self, seconds: float) -> int:
        return int(seconds * 1e9) + self.offset

    def _pending(self, record: SendRecord) -> bool:
        pending = [record]
        while pending:
            send = pending.pop()
            for entry in send.calls:
                if type(entry) is tuple:
                    continue
                if any(c.status == "pending" for c in entry.on_commit):
                    return True
                pending.extend(entry.children)
        return False

    def _measure(self, record: SendRecord) -> None:
        histogram = self.histogram
        assert histogram is not None
        pending = [record]
        while pending:
            send = pending.pop()
            for name, _, start, finished, call in _calls(send):
                if finished is not None:
                    histogram.record(
                        finished - start,
                        {"django.signal.name": _bounded(send.signal), "code.function.name": name},
                    )
                if call is not None:
                    pending.extend(call.children)

    def _export(self, record: SendRecord, allowance: int) -> int:
        """Make at most ``allowance`` spans of ``record``'s tree; return how many."""
        parent = self.contexts.pop(id(record), None) or self.root_context
        self.used, self.allowance = 0, allowance
        # (send, its parent context), depth first: a runaway cascade is as
        # deep as the recursion limit.
        pending: list[tuple[SendRecord, otel_context.Context]] = [(record, parent)]
        while pending:
            send, context = pending.pop()
            if self.used >= allowance:
                self.dropped += _count_spans(send)
                continue
            later = self._send_span(send, context)
            pending.extend(reversed(later))
        return self.used

    def _send_span(
        self, send: SendRecord, context: otel_context.Context
    ) -> list[tuple[SendRecord, otel_context.Context]]:
        """Make the spans of one send and its receivers; return the sends they
        made, each with its parent receiver's context."""
        tracer = self.tracer
        end_time = send.start + send.duration_ms / 1000
        name = send.signal.rpartition(".")[2]
        span = tracer.start_span(
            f"{name} {send.method}", context=context, kind=SpanKind.INTERNAL,
            attributes=_signal_attrs(send), start_time=self._ns(send.start),
        )
        self.used += 1
        for skipped in send.skipped:
            span.add_event(
                "django.signal.receiver_skipped",
                _code_attrs(skipped["name"], skipped["location"]),
                timestamp=self._ns(end_time),
            )
        if send.loop:
            span.add_event("django.signal.loop", {"django.signal.loop": list(send.loop)})
        send_context = trace.set_span_in_context(span, context)
        children: list[tuple[SendRecord, otel_context.Context]] = []
        folded: list[str] = []
        summarised: list[str] = []
        fold_below = self.options.fold_below_ms / 1000
        for call_name, location, start, finished, call in _calls(send):
            stop = finished if finished is not None else end_time
            if (
                fold_below
                and stop - start < fold_below
                and (call is None or (not call.children and not call.on_commit
                                      and call.exception is None and not call.hints))
            ):
                folded.append(call_name)
                continue
            if self.used >= self.allowance:
                summarised.append(f"{call_name} {(stop - start) * 1000:.3f} ms")
                self.dropped += 1
                if call is not None:
                    for child in call.children:
                        self.dropped += _count_spans(child)
                continue
            self.used += 1
            receiver_span = tracer.start_span(
                call_name, context=send_context, kind=SpanKind.INTERNAL,
                attributes=_code_attrs(call_name, location), start_time=self._ns(start),
            )
            if call is not None:
                self._describe(receiver_span, call, stop)
                if call.children:
                    child_context = trace.set_span_in_context(receiver_span, send_context)
                    children.extend((child, child_context) for child in call.children)
            receiver_span.end(end_time=self._ns(stop))
        if folded:
            span.set_attribute("django.signal.receivers.folded", folded[:_MAX_LISTED])
        if summarised:
            span.set_attribute("django.signal.receivers.summary", summarised[:_MAX_LISTED])
        span.end(end_time=self._ns(end_time))
        return children

    def _describe(self, span: Span, call: ReceiverCall, stop: float) -> None:
        if call.queries:
            span.set_attribute("db.query.count", call.queries)
        if call.outcome in (OUTCOME_RAISED, OUTCOME_CAUGHT) and call.exception is not None:
            error = call.exception
            span.set_status(Status(StatusCode.ERROR, f"{error.type}: {error.message}"))
            span.add_event(
                "exception",
                {
                    "exception.type": error.type,
                    "exception.message": error.message,
                    "exception.stacktrace": error.text,
                    "django.signal.caught": call.outcome == OUTCOME_CAUGHT,
                },
                timestamp=self._ns(stop),
            )
        for callback in call.on_commit:
            span.add_event(
                "django.on_commit",
                {
                    "django.on_commit.callback": callback.name,
                    "django.on_commit.status": callback.status,
                    "db.namespace": callback.using,
                },
                timestamp=self._ns(stop),
            )
        for hint in call.hints:
            span.add_event("django.signal.finding", {"django.signal.finding": hint})
        if call.duplicate:
            span.set_attribute("django.signal.duplicate", True)
        if call.loop:
            span.set_attribute("django.signal.loop", True)


# --- where recordings open -------------------------------------------------------


def start(
    options: OpenTelemetryOptions | None = None, root: Span | None = None
) -> tuple[Recording, SpanExporter, bool] | None:
    """Open a recording exporting to the current span, if it is sampled.

    Returns (recording, exporter, whether the recording is ours to end), or None
    when nothing is to be recorded (the option is off, no span records). Inside
    a recording already open in this context (the toolbar's), its sends are
    exported instead of opening a second one, which would hide them from it.
    Never raises: a failure here means the request goes unrecorded, not broken.
    """
    try:
        if options is None:
            options = get_config().opentelemetry
            if options is None:
                return None
        span = root if root is not None else trace.get_current_span()
        if not span.is_recording():
            return None
        exporter = SpanExporter(options, span)
        recording = current()
        if recording is not None and recording.exporter is None:
            recording.exporter = exporter
            return recording, exporter, False
        recording = begin()
        recording.exporter = exporter
        return recording, exporter, True
    except Exception:
        return None


def stop(started: tuple[Recording, SpanExporter, bool]) -> None:
    """End what :func:`start` opened and export what is left (never raises)."""
    recording, exporter, ours = started
    with suppress(Exception):
        if ours:
            end(recording)
    recording.exporter = None
    exporter.finish()
    _finding_events(exporter.root, recording)


def _finding_events(span: Span, recording: Recording) -> None:
    """The recording's findings (findings.py) as events on the span it exported
    to: they are worked out for the whole recording, at its end."""
    try:
        if not span.is_recording():
            return
        for finding in recording.findings[:_MAX_LISTED]:
            attrs: dict[str, Any] = {
                "django.signal.finding.kind": finding.kind,
                "django.signal.finding.title": finding.title,
                "django.signal.finding.fix": finding.fix,
                "django.signal.finding.count": finding.count,
            }
            if finding.receiver:
                attrs["code.function.name"] = finding.receiver
            if finding.where:
                attrs["django.signal.finding.where"] = finding.where
            span.add_event("django.signal.finding", attrs)
    except Exception:
        pass


@contextmanager
def exporting(options: OpenTelemetryOptions | None = None) -> Iterator[Recording | None]:
    """Record and export the signals of the block if the current span is sampled."""
    started = start(options)
    try:
        yield None if started is None else started[0]
    finally:
        if started is not None:
            stop(started)


@contextmanager
def command_span(command: str) -> Iterator[Callable[[Recording], bool]]:
    """A span for a management command run under ``signaltrace --otel``, current
    for the block; yields ``attach(recording)``, which makes that recording export
    to it (False when the span is not sampled: no SDK, or its sampler said no).
    Spans are flushed at the end: the process exits soon after."""
    options = get_config().opentelemetry or OpenTelemetryOptions()
    exporters: list[tuple[SpanExporter, Recording]] = []

    def attach(recording: Recording) -> bool:
        span = trace.get_current_span()
        if not span.is_recording():
            return False
        exporter = SpanExporter(options, span)
        exporters.append((exporter, recording))
        recording.exporter = exporter
        return True

    try:
        with _tracer().start_as_current_span(f"manage.py {command}", kind=SpanKind.INTERNAL):
            try:
                yield attach
            finally:
                for exporter, recording in exporters:
                    exporter.finish()
                    _finding_events(exporter.root, recording)
    finally:
        flush = getattr(trace.get_tracer_provider(), "force_flush", None)
        if flush is not None:
            with suppress(Exception):
                flush()


class SignalSpansMiddleware:
    """Signal spans for each request whose span is sampled.

    Put after the middleware that starts the request span (the app inserts it
    right after opentelemetry-instrumentation-django's, or first).
    """

    sync_capable = True
    async_capable = True

    def __init__(self, get_response: Callable[[Any], Any]) -> None:
        self.get_response = get_response
        self.async_mode = iscoroutinefunction(get_response)
        if self.async_mode:
            markcoroutinefunction(self)

    def __call__(self, request: Any) -> Any:
        if self.async_mode:
            return self.__acall__(request)
        started = start()
        if started is None:
            return self.get_response(request)
        try:
            return self.get_response(request)
        finally:
            stop(started)

    async def __acall__(self, request: Any) -> Any:
        get_response: Callable[[Any], Awaitable[Any]] = self.get_response
        started = start()
        if started is None:
            return await get_response(request)
        try:
            return await get_response(request)
        finally:
            stop(started)


# --- installing (AppConfig.ready(), when the option is on) -------------------------


def install() -> None:
    """Add the middleware to ``settings.MIDDLEWARE`` (unless listed) and connect
    the Celery task hooks when Celery is installed."""
    from django.conf import settings

    middleware = list(getattr(settings, "MIDDLEWARE", None) or [])
    if MIDDLEWARE_PATH not in middleware:
        # Inside the one that starts the request span, and inside those that open
        # a recording (ours then exports theirs, which would otherwise hide the
        # request's sends from ours): right after the last of them, else first.
        # (opentelemetry-instrumentation-django inserts its own first.)
        after = [i for i, path in enumerate(middleware) if path in _BEFORE_OURS]
        middleware.insert(after[-1] + 1 if after else 0, MIDDLEWARE_PATH)
        settings.MIDDLEWARE = middleware
    install_celery()


_tasks: dict[str, tuple[Recording, SpanExporter, bool]] = {}


def _task_prerun(*, task_id: str | None = None, **kwargs: Any) -> None:
    try:
        started = start()
        if started is not None and task_id is not None:
            _tasks[task_id] = started
    except Exception:
        pass


def _task_postrun(*, task_id: str | None = None, **kwargs: Any) -> None:
    started = _tasks.pop(task_id, None) if task_id is not None else None
    if started is not None:
        with suppress(Exception):
            stop(started)


def install_celery() -> bool:
    """Connect the task hooks, after any receiver already there (so
    opentelemetry-instrumentation-celery's span is current in ours). Call it
    again after ``CeleryInstrumentor().instrument()`` if that runs later; the
    app does so in ``worker_process_init``. Returns whether Celery is there."""
    try:
        from celery import signals
    except ImportError:
        return False
    for signal, receiver, uid in (
        (signals.task_prerun, _task_prerun, "signal_inspector.otel.prerun"),
        (signals.task_postrun, _task_postrun, "signal_inspector.otel.postrun"),
    ):
        signal.disconnect(receiver, dispatch_uid=uid)
        signal.connect(receiver, weak=False, dispatch_uid=uid)
    signals.worker_process_init.connect(
        _reinstall_celery, weak=False, dispatch_uid="signal_inspector.otel.worker"
    )
    return True


def _reinstall_celery(**kwargs: Any) -> None:
    install_celery()
