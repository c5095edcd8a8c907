"""OpenTelemetry spans and metrics made from signal records.

An exporter: it reads the records the core writes, and the core never imports
it (the recording calls :class:`SpanExporter` through ``Recording.exporter``).
It is the only module of the package that imports ``opentelemetry``; only its
API is needed, and without a configured SDK every call is OpenTelemetry's no-op.

Spans are live: a send's span starts as it opens and is current while its
receivers run; each receiver's span starts just before the send loop calls it
and is current while it runs (an async receiver's, in its own task), so a span
anything starts inside a receiver (an HTTP client's, a database's, a nested
send's) is its child. The send methods (dispatch.py) call the hooks of
:class:`SpanExporter` from their own frame: the receivers are never wrapped or
renamed, and no frame comes between Django's send loop and a receiver. What
only the send's close knows (errors, queries, duplicates, findings) is put on
the receivers' spans then, before they end. See docs/opentelemetry.md.

Recordings open only where the current span is sampled (it records): in
:class:`SignalSpansMiddleware` (WSGI and ASGI), around Celery tasks, and under
``signaltrace --otel``.
"""

from __future__ import annotations

import time
from collections.abc import Awaitable, Callable, Iterator
from contextlib import contextmanager, suppress
from contextvars import Token
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
    """A send span's attributes; its receivers are counted as it closes."""
    return {
        "django.signal.name": record.signal,
        "django.signal.sender": record.sender,
        "django.signal.method": record.method,
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


class _Send:
    """The live span of one open send, and its receivers' spans."""

    __slots__ = ("span", "context", "token", "receivers", "tasks")

    def __init__(
        self, span: Span, context: otel_context.Context, token: Token[otel_context.Context] | None
    ) -> None:
        self.span = span
        self.context = context  # the send span's: its receivers' parent
        self.token = token
        # A sync receiver's span by its call's start (the key the send loop's
        # record keeps): (span, end in epoch ns). An async one's by id(call).
        self.receivers: dict[float, tuple[Span, int]] = {}
        self.tasks: dict[int, list[Any]] = {}


# What a send opened past MAX_SPANS, or whose span could not be made, maps to.
_NO_SPAN = None


class SpanExporter:
    """Live spans for the sends of one recording.

    The send methods (dispatch.py) call :meth:`opened` as a send opens (its span
    starts and becomes current), :meth:`enter` and :meth:`exit` around each sync
    receiver (its span starts and is current while it runs), :meth:`begin_task`
    and :meth:`end_task` for async receivers, and the exporter itself as the
    send closes: the receivers' spans end then, described from the record (its
    errors, queries, duplicates and findings are all known by then), with the
    end times taken as each receiver returned. Spans started inside a receiver
    (an HTTP client's, a nested send's) nest under its span.

    With FOLD_BELOW_MS on, a receiver's span cannot be live (its duration is not
    known before it runs): the send span is live, and the spans of receivers
    over the threshold are made at the send's close from the record. Never
    raises into the application.
    """

    def __init__(self, options: OpenTelemetryOptions, root: Span | None = None) -> None:
        self.options = options
        self.root = root if root is not None else trace.get_current_span()
        self.tracer = _tracer()
        self.histogram = _histogram() if options.metrics else None
        self.live = not options.fold_below_ms
        # perf_counter() seconds -> epoch nanoseconds (the records' times).
        self.offset = time.time_ns() - int(time.perf_counter() * 1e9)
        self.sends: dict[int, _Send | None] = {}
        self.spans = 0  # made, of MAX_SPANS
        self.dropped = 0
        # Receiver spans whose on_commit callbacks were pending when their send
        # closed: ended at finish(), once their fate is known.
        self.deferred: list[tuple[Span, ReceiverCall, int]] = []
        # Async receivers still running when their send closed.
        self.orphans: dict[int, tuple[Span, SendRecord]] = {}

    # --- the send methods' hooks (each never raises) ---------------------------

    def opened(self, record: SendRecord) -> None:
        """A send opened: its span starts, current until it closes."""
        try:
            if self.spans >= self.options.max_spans:
                self.sends[id(record)] = _NO_SPAN
                self.dropped += 1
                return
            name = record.signal.rpartition(".")[2]
            context = otel_context.get_current()
            span = self.tracer.start_span(
                f"{name} {record.method}", context=context, kind=SpanKind.INTERNAL,
                attributes=_signal_attrs(record),
            )
            self.spans += 1
            inner = trace.set_span_in_context(span, context)
            self.sends[id(record)] = _Send(span, inner, self.attach(inner))
        except Exception:
            self.sends[id(record)] = _NO_SPAN

    def enter(self, record: SendRecord, info: tuple[str, str, str]) -> Any:
        """A sync receiver is about to be called: its span starts and is made
        current. Returns what :meth:`exit` needs, or None (no span)."""
        try:
            send = self.sends.get(id(record))
            if send is None or not self.live or self.spans >= self.options.max_spans:
                return None
            span = self.tracer.start_span(
                info[0], context=send.context, kind=SpanKind.INTERNAL,
                attributes=_code_attrs(info[0], info[1]),
            )
            self.spans += 1
            # A span that could not be made current still ends with the send.
            return span, self.attach(trace.set_span_in_context(span, send.context))
        except Exception:  # pragma: no cover - defensive: only a failing SDK gets here
            return None

    def exit(self, record: SendRecord, start: float, entered: Any) -> None:
        """The receiver :meth:`enter` began (its call started at ``start``) is over:
        its span stops being current; it ends as the send closes."""
        if entered is None:
            return
        try:
            span, token = entered
            if token is not None:
                otel_context.detach(token)
            send = self.sends.get(id(record))
            if send is not None:
                send.receivers[start] = (span, time.time_ns())
        except Exception:  # pragma: no cover - defensive: only a failing SDK gets here
            pass

    def begin_task(self, call: ReceiverCall) -> otel_context.Context | None:
        """An async receiver is about to be scheduled: its span starts. Returns
        the context its task runs in (the span current: see :meth:`attach`), or
        None."""
        try:
            send = self.sends.get(id(call.parent))
            if send is None or not self.live or self.spans >= self.options.max_spans:
                return None
            span = self.tracer.start_span(
                call.name, context=send.context, kind=SpanKind.INTERNAL,
                attributes=_code_attrs(call.name, call.location),
            )
            self.spans += 1
            send.tasks[id(call)] = [span, 0]
            return trace.set_span_in_context(span, send.context)
        except Exception:  # pragma: no cover - defensive: only a failing SDK gets here
            return None

    def end_task(self, call: ReceiverCall | None) -> None:
        """An async receiver's task is over (its record says how). Only its first
        end counts."""
        try:
            if call is None:
                return
            send = self.sends.get(id(call.parent))
            if send is not None and id(call) in send.tasks:
                task = send.tasks[id(call)]
                if not task[1]:
                    task[1] = time.time_ns()
                return
            orphan = self.orphans.pop(id(call), None)
            if orphan is not None:
                # Its send closed while it ran (send() let the first error out).
                span, parent = orphan
                self._end(span, parent, call, time.time_ns())
                self._measure_one(parent, call.name, call.duration_ms / 1000)
        except Exception:  # pragma: no cover - defensive: only a failing SDK gets here
            pass

    @staticmethod
    def attach(context: otel_context.Context) -> Token[otel_context.Context] | None:
        """Make ``context`` current (in an async receiver's task); a token, or None."""
        try:
            return otel_context.attach(context)
        except Exception:
            return None

    @staticmethod
    def detach(token: Token[otel_context.Context] | None) -> otel_context.Context | None:
        """Undo :meth:`attach`; return the context that was current just before
        (what the receiver made current: its next step starts there)."""
        try:
            current = otel_context.get_current()
            if token is not None:
                otel_context.detach(token)
            return current
        except Exception:  # pragma: no cover - defensive: only a failing SDK gets here
            return None

    def __call__(self, record: SendRecord) -> None:
        """A send closed: its receivers' spans end, then its own."""
        try:
            key = id(record)
            if key not in self.sends:
                # Opened elsewhere (a "sends only" wrapper): made from its record,
                # under whatever span is current.
                self._posthoc(record)
                return
            send = self.sends.pop(key)
            if self.histogram is not None:
                self._measure(record)
            if send is None:
                self.dropped += len(record.calls)
                return
            if send.token is not None:
                with suppress(Exception):
                    otel_context.detach(send.token)
            self._close(record, send)
        except Exception:  # pragma: no cover - defensive: only a failing SDK gets here
            pass

    def finish(self) -> None:
        """The recording has ended: end the spans that waited for their on_commit
        callbacks' fate, and count what was left out on the root span."""
        try:
            deferred, self.deferred = self.deferred, []
            for span, call, end_ns in deferred:
                self._on_commit_events(span, call, end_ns)
                span.end(end_time=end_ns)
            orphans, self.orphans = self.orphans, {}
            for span, _ in orphans.values():
                span.end()
            if self.dropped and self.root.is_recording():
                self.root.set_attribute("django.signal.spans_dropped", self.dropped)
        except Exception:  # pragma: no cover - defensive: only a failing SDK gets here
            pass

    # --- making the spans ---------------------------------------------------------

    def _ns(self, seconds: float) -> int:
        return int(seconds * 1e9) + self.offset

    def _measure(self, send: SendRecord) -> None:
        for name, _, start, finished, _call in _calls(send):
            if finished is not None:
                self._measure_one(send, name, finished - start)

    def _measure_one(self, send: SendRecord, name: str, seconds: float) -> None:
        if self.histogram is not None:
            self.histogram.record(
                seconds, {"django.signal.name": _bounded(send.signal), "code.function.name": name}
            )

    def _close(self, record: SendRecord, send: _Send, posthoc: bool = False) -> None:
        """End a send's span and its receivers' (made now, from the record, for a
        send opened elsewhere or with folding on)."""
        span = send.span
        span.set_attribute("django.signal.receivers", len(record.calls) + len(record.skipped))
        now = time.time_ns()
        for skipped in record.skipped:
            span.add_event(
                "django.signal.receiver_skipped",
                _code_attrs(skipped["name"], skipped["location"]), timestamp=now,
            )
        if record.loop:
            span.add_event("django.signal.loop", {"django.signal.loop": list(record.loop)})
        folded: list[str] = []
        summarised: list[str] = []
        fold_below = self.options.fold_below_ms / 1000
        for name, location, start, finished, call in _calls(record):
            stop = finished if finished is not None else time.perf_counter()
            made = send.receivers.pop(start, None)
            if made is None and call is not None and id(call) in send.tasks:
                task_span, end_ns = send.tasks.pop(id(call))
                if not end_ns:
                    self.orphans[id(call)] = (task_span, record)
                    continue
                made = (task_span, end_ns)
            if made is not None:
                self._end(made[0], record, call, made[1])
                continue
            if fold_below and stop - start < fold_below and (
                call is None or (not call.children and not call.on_commit
                                 and call.exception is None and not call.hints)
            ):
                folded.append(name)
                continue
            if (self.live and not posthoc) or self.spans >= self.options.max_spans:
                # Live, yet no span: MAX_SPANS was spent when it started.
                summarised.append(f"{name} {(stop - start) * 1000:.3f} ms")
                self.dropped += 1
                continue
            self.spans += 1
            receiver_span = self.tracer.start_span(
                name, context=send.context, kind=SpanKind.INTERNAL,
                attributes=_code_attrs(name, location), start_time=self._ns(start),
            )
            self._end(receiver_span, record, call, self._ns(stop))
        for leftover, end_ns in send.receivers.values():
            leftover.end(end_time=end_ns)
        for key, (task_span, end_ns) in send.tasks.items():
            if end_ns:
                task_span.end(end_time=end_ns)
            else:
                self.orphans[key] = (task_span, record)
        if folded:
            span.set_attribute("django.signal.receivers.folded", folded[:_MAX_LISTED])
        if summarised:
            span.set_attribute("django.signal.receivers.summary", summarised[:_MAX_LISTED])
        span.end()

    def _end(self, span: Span, record: SendRecord, call: ReceiverCall | None, end_ns: int) -> None:
        """Describe a receiver's span from its record, and end it (later, if its
        on_commit callbacks' fate is not known yet)."""
        if call is not None:
            self._describe(span, call, end_ns)
            if any(c.status == "pending" for c in call.on_commit):
                self.deferred.append((span, call, end_ns))
                return
            self._on_commit_events(span, call, end_ns)
        span.end(end_time=end_ns)

    def _posthoc(self, record: SendRecord) -> None:
        """Spans for a send the send methods did not open (a "sends only"
        record: its receivers' times are not known), under the current span."""
        if self.histogram is not None:
            self._measure(record)
        if self.spans >= self.options.max_spans:
            self.dropped += 1 + len(record.calls)
            return
        self.spans += 1
        name = record.signal.rpartition(".")[2]
        context = otel_context.get_current()
        span = self.tracer.start_span(
            f"{name} {record.method}", context=context, kind=SpanKind.INTERNAL,
            attributes=_signal_attrs(record), start_time=self._ns(record.start),
        )
        self._close(record, _Send(span, trace.set_span_in_context(span, context), None), True)

    def _describe(self, span: Span, call: ReceiverCall, end_ns: int) -> None:
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
                timestamp=end_ns,
            )
        for hint in call.hints:
            span.add_event("django.signal.finding", {"django.signal.finding": hint})
        if call.duplicate:
            span.set_attribute("django.signal.duplicate", True)
        if call.loop:
            span.set_attribute("django.signal.loop", True)

    def _on_commit_events(self, span: Span, call: ReceiverCall, end_ns: int) -> None:
        for callback in call.on_commit:
            span.add_event(
                "django.on_commit",
                {
                    "django.on_commit.callback": callback.name,
                    "django.on_commit.status": callback.status,
                    "db.namespace": callback.using,
                },
                timestamp=end_ns,
            )


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
    except Exception:  # pragma: no cover - defensive: only a failing SDK gets here
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
    except Exception:  # pragma: no cover - defensive: only a failing SDK gets here
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
    except Exception:  # pragma: no cover - defensive: only a failing SDK gets here
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
