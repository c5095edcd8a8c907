"""Cost of OpenTelemetry signal spans (signal_inspector/otel.py), side by side in one run.

(a) A request whose span is NOT sampled, the option on against off: the example
    project's order page (no payment), through Django's WSGI handler with
    opentelemetry-instrumentation-django's middleware, a ``traceparent`` header
    saying "not sampled".
(b) A SAMPLED request of the example project's pay page (``?pay=1``: order_paid's
    four receivers, a post_save cascade), option on against off. The receipt
    receiver's 50 ms ``time.sleep()`` (it stands in for SMTP) is taken out, or it
    would be nearly all of the request.
(c) Per receiver: the real OpenTelemetry SDK (its BatchSpanProcessor, exporting
    in its own thread to an exporter that keeps nothing) with our recording and
    spans, against the Sentry SDK's Django integration with ``signals_spans=True``
    in a sampled transaction (a transport that drops envelopes: no network),
    against plain Django. Added µs per receiver from the 1- and 10-receiver
    sends. Both are timed with their end-of-request work on the request thread:
    our recording's end and the root span's end; Sentry's transaction finish,
    which serialises its spans. Neither pays for a network.
    The floors, per span in the same run: the bare SDK's ``start_span()`` +
    ``end()`` under a sampled root, and Sentry's bare ``start_span()`` (entered
    and finished) in a sampled transaction, each batch's root and transaction
    start and end included.

Configurations are interleaved round after round in one process, so drift hits
them alike; medians. Nothing asserts a time. Requests are made in-process by
calling the WSGI handler (no socket).

    python benchmarks/otel_overhead.py --part requests [--rounds N] [--requests N]
    python benchmarks/otel_overhead.py --part receivers [--rounds N] [--number N]
"""

from __future__ import annotations

import argparse
import os
import shutil
import statistics
import sys
import tempfile
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "example_project"))

# In memory where the system has a tmpfs: SQLite's fsync at each commit (tens of
# ms on a busy disk) would be most of a pay request.
_tmp = tempfile.mkdtemp(prefix="otel-bench-", dir="/dev/shm" if os.path.isdir("/dev/shm") else None)
os.environ["EXAMPLE_DB_PATH"] = str(Path(_tmp) / "db.sqlite3")
os.environ["DJANGO_SETTINGS_MODULE"] = "config.settings"

from opentelemetry import trace  # noqa: E402
from opentelemetry.sdk.trace import TracerProvider  # noqa: E402
from opentelemetry.sdk.trace.export import (  # noqa: E402
    BatchSpanProcessor,
    SpanExporter,
    SpanExportResult,
)


class DropSpans(SpanExporter):
    """Keeps nothing: the cost measured is making and ending the spans."""

    def export(self, spans: Sequence[Any]) -> SpanExportResult:
        return SpanExportResult.SUCCESS


PROVIDER = TracerProvider()
# As a production setup would have it: spans queued on end, exported in the
# processor's own thread.
PROVIDER.add_span_processor(BatchSpanProcessor(DropSpans(), max_queue_size=200_000))
trace.set_tracer_provider(PROVIDER)

from opentelemetry.instrumentation.django import DjangoInstrumentor  # noqa: E402

DjangoInstrumentor().instrument()

import django  # noqa: E402

django.setup()

from django.conf import settings  # noqa: E402
from django.core import mail  # noqa: E402
from django.core.handlers.wsgi import WSGIHandler  # noqa: E402
from django.core.management import call_command  # noqa: E402
from django.dispatch import Signal  # noqa: E402
from django.test import RequestFactory  # noqa: E402
from django.test.utils import override_settings  # noqa: E402

from signal_inspector import otel  # noqa: E402

call_command("migrate", verbosity=0)
call_command("seed_demo", verbosity=0)

import shop.receivers  # noqa: E402

shop.receivers.time = type("NoSleep", (), {"sleep": staticmethod(lambda seconds: None)})  # type: ignore[attr-defined]

SAMPLED = "00-{:032x}-b7ad6b7169203331-01"
NOT_SAMPLED = "00-{:032x}-b7ad6b7169203331-00"
BASE_SETTINGS = dict(settings.SIGNAL_INSPECTOR)
OPTION = {
    "off": {**BASE_SETTINGS, "OPENTELEMETRY": False},
    "on": {**BASE_SETTINGS, "OPENTELEMETRY": True},
}


def handler(option: str) -> WSGIHandler:
    """A WSGI handler whose middleware is what the process would load: with the
    option on, ours is in it (as AppConfig.ready() puts it)."""
    middleware = [m for m in settings.MIDDLEWARE if m != otel.MIDDLEWARE_PATH]
    with override_settings(MIDDLEWARE=middleware, SIGNAL_INSPECTOR=OPTION[option]):
        if option == "on":
            otel.install()
        return WSGIHandler()


HANDLERS = {option: handler(option) for option in ("off", "on")}
_trace_ids = iter(range(1, 10**9))


def request(option: str, path: str, query: str, traceparent: str) -> None:
    environ = RequestFactory()._base_environ(  # type: ignore[attr-defined]
        PATH_INFO=path, QUERY_STRING=query, REMOTE_ADDR="192.0.2.1", SERVER_NAME="localhost",
        HTTP_HOST="localhost",  # REMOTE_ADDR: not an INTERNAL_IP, so no toolbar
        HTTP_TRACEPARENT=traceparent.format(next(_trace_ids)),
    )
    statuses: list[str] = []
    body = HANDLERS[option](environ, lambda status, headers: statuses.append(status))
    b"".join(body)
    assert statuses == ["200 OK"], statuses


def time_requests(option: str, call: Callable[[], None], number: int) -> float:
    """µs per request, best of 3 batches of ``number``, the setting as that
    process would have it."""
    best = float("inf")
    with override_settings(SIGNAL_INSPECTOR=OPTION[option]):
        for _ in range(3):
            start = time.perf_counter()
            for _ in range(number):
                call()
            best = min(best, (time.perf_counter() - start) / number)
            mail.outbox = []
    return best * 1e6


def time_middleware_check(number: int) -> tuple[float, float]:
    """(µs per call of a bare get_response, µs through our middleware), with a
    span current that is not sampled: what the option adds to such a request,
    whatever the page."""
    from opentelemetry.trace import NonRecordingSpan, SpanContext, TraceFlags

    def view(request: Any) -> None:
        return None

    middleware = otel.SignalSpansMiddleware(view)
    unsampled = NonRecordingSpan(SpanContext(1, 2, is_remote=True, trace_flags=TraceFlags(0)))
    out = []
    with override_settings(SIGNAL_INSPECTOR=OPTION["on"]), trace.use_span(unsampled):
        for call in (view, middleware):
            best = float("inf")
            for _ in range(5):
                start = time.perf_counter()
                for _ in range(number):
                    call(None)
                best = min(best, (time.perf_counter() - start) / number)
            out.append(best * 1e6)
    return out[0], out[1]


# --- (c) per receiver ------------------------------------------------------------


def make_signal(receivers: int) -> Signal:
    signal = Signal()
    globals()[f"bench_signal_{receivers}"] = signal
    for i in range(receivers):
        namespace: dict[str, object] = {"__name__": __name__}
        exec(f"def handler_{i}(sender, **kwargs):\n    return None\n", namespace)
        signal.connect(namespace[f"handler_{i}"], weak=False, dispatch_uid=f"bench{i}")
    return signal


ORIGINAL_LIVE_RECEIVERS = Signal._live_receivers


def init_sentry() -> tuple[Any, Any] | None:
    try:
        import sentry_sdk
        from sentry_sdk.integrations.django import DjangoIntegration
        from sentry_sdk.transport import Transport
    except ImportError:
        return None

    class DropEnvelopes(Transport):
        def capture_envelope(self, envelope: Any) -> None:
            return None

    sentry_sdk.init(
        dsn="http://public@127.0.0.1:9/1",
        integrations=[DjangoIntegration(signals_spans=True)],
        traces_sample_rate=1.0,
        transport=DropEnvelopes,
        default_integrations=False,
    )
    sentry_live = Signal._live_receivers
    Signal._live_receivers = ORIGINAL_LIVE_RECEIVERS  # type: ignore[method-assign]
    return sentry_sdk, sentry_live


def time_sends(mode: str, signal: Signal, receivers: int, number: int, sentry: Any) -> float:
    """µs per send, best of 3. Batches stay under both tools' span limits (ours
    MAX_SPANS set to 1,000 here, Sentry's 1,000 per transaction), each batch
    in a sampled root span or transaction, so every span is really made.
    ``otel-folded``: every receiver folded into its send's span (FOLD_BELOW_MS
    above any receiver's time): the recording and one span per send.
    ``sdk-spans``: no signal_inspector; the SDK making and ending one span per
    receiver and one per send, as ours does: the floor of any exporter that
    makes its spans through the SDK."""
    batch = max(1, 900 // (receivers + 1))
    fold = 1000.0 if mode == "otel-folded" else 0.0
    options = otel.OpenTelemetryOptions(max_spans=1000, fold_below_ms=fold, metrics=False)
    tracer = trace.get_tracer("bench")
    best = float("inf")
    for _ in range(3):
        total, done = 0.0, 0
        while done < number:
            todo = min(batch, number - done)
            begin = time.perf_counter()
            if mode in ("otel", "otel-folded", "sdk-spans"):
                root = tracer.start_span("bench")
                token = trace.use_span(root)
                token.__enter__()
                started = otel.start(options) if mode != "sdk-spans" else None
            elif mode == "sentry":
                transaction = sentry.start_transaction(name="bench", op="bench", sampled=True)
                transaction.__enter__()
            if mode == "sdk-spans":
                for _ in range(todo):
                    signal.send(sender=None)
                    for _ in range(receivers + 1):
                        tracer.start_span("span", attributes={"code.function.name": "x"}).end()
            else:
                for _ in range(todo):
                    signal.send(sender=None)
            if mode in ("otel", "otel-folded", "sdk-spans"):
                if started is not None:
                    otel.stop(started)
                token.__exit__(None, None, None)
                root.end()
            elif mode == "sentry":
                transaction.__exit__(None, None, None)  # serialises its spans
            total += time.perf_counter() - begin
            done += todo
        best = min(best, total / number)
    return best * 1e6


def time_floor(mode: str, number: int, sentry: Any) -> float:
    """µs per span: ``sdk-span``, the bare SDK's ``start_span()`` + ``end()``
    (no attributes, no context made current) under a sampled root;
    ``sentry-span``, Sentry's bare ``start_span()`` entered and finished in a
    sampled transaction. Batches of 900 spans, each batch's root span or
    transaction started and ended inside the timing (Sentry serialises its
    spans as the transaction finishes). Best of 3."""
    tracer = trace.get_tracer("bench")
    best = float("inf")
    for _ in range(3):
        total, done = 0.0, 0
        while done < number:
            todo = min(900, number - done)
            begin = time.perf_counter()
            if mode == "sdk-span":
                root = tracer.start_span("bench")
                with trace.use_span(root, end_on_exit=True):
                    for _ in range(todo):
                        tracer.start_span("span").end()
            else:
                with sentry.start_transaction(name="bench", op="bench", sampled=True):
                    for _ in range(todo):
                        with sentry.start_span(op="event.django", name="span"):
                            pass
            total += time.perf_counter() - begin
            done += todo
        best = min(best, total / number)
    return best * 1e6


def requests_part(rounds: int, number: int) -> None:
    request_cases = {
        "(a) order page, not sampled": ("/orders/DEMO-1/pay/", "", NOT_SAMPLED),
        "(b) pay page, sampled": ("/orders/DEMO-1/pay/", "pay=1", SAMPLED),
    }
    results: dict[tuple[str, str], list[float]] = {}
    for round_ in range(rounds):
        for name, (path, query, parent) in request_cases.items():
            # Which goes first alternates: a drift within a round favours neither.
            for option in ("off", "on") if round_ % 2 == 0 else ("on", "off"):
                value = time_requests(
                    option, lambda o=option, p=path, q=query, t=parent: request(o, p, q, t), number
                )
                results.setdefault((name, option), []).append(value)
    medians = {key: statistics.median(values) for key, values in results.items()}
    bare, ours = time_middleware_check(20_000)
    print(f"{_versions(None)}; median of {rounds} interleaved rounds, best of 3 x {number} requests")
    print(f"\n{'request (µs per request)':36}{'option off':>12}{'option on':>12}{'on/off':>9}{'added µs':>10}")
    for name in request_cases:
        off, on = medians[(name, "off")], medians[(name, "on")]
        print(f"{name:36}{off:12.1f}{on:12.1f}{on / off:9.3f}{on - off:10.1f}")
    print(f"\nWhat the option adds to a request not sampled, whatever the page: our middleware's "
          f"check, {ours - bare:.2f} µs per request ({bare:.2f} µs bare call, {ours:.2f} µs through it);"
          f" {100 * (ours - bare) / medians[('(a) order page, not sampled', 'off')]:.3f}% of (a)'s "
          "request here.")


def receivers_part(rounds: int, number: int) -> None:
    signals = {n: make_signal(n) for n in (1, 10)}
    sentry = init_sentry()
    modes = ["plain", "otel", "otel-folded", "sdk-spans"] + (["sentry"] if sentry else [])
    floors = ["sdk-span"] + (["sentry-span"] if sentry else [])
    results: dict[tuple[str, str], list[float]] = {}
    for _ in range(rounds):
        for floor in floors:
            Signal._live_receivers = ORIGINAL_LIVE_RECEIVERS  # type: ignore[method-assign]
            results.setdefault(("floor", floor), []).append(
                time_floor(floor, number, sentry[0] if sentry else None)
            )
        for mode in modes:
            Signal._live_receivers = (  # type: ignore[method-assign]
                sentry[1] if mode == "sentry" and sentry else ORIGINAL_LIVE_RECEIVERS
            )
            for n, signal in signals.items():
                value = time_sends(mode, signal, n, number, sentry[0] if sentry else None)
                results.setdefault((f"send, {n} receivers", mode), []).append(value)
        Signal._live_receivers = ORIGINAL_LIVE_RECEIVERS  # type: ignore[method-assign]
    medians = {key: statistics.median(values) for key, values in results.items()}
    print(f"{_versions(sentry)}; median of {rounds} interleaved rounds, µs per send")
    print(f"\n{'send':24}" + "".join(f"{m:>13}" for m in modes))
    for n in signals:
        print(f"{f'send, {n} receivers':24}" + "".join(
            f"{medians[(f'send, {n} receivers', m)]:13.3f}" for m in modes))

    def slope(mode: str) -> float:
        return (medians[("send, 10 receivers", mode)] - medians[("send, 1 receivers", mode)]) / 9

    base = slope("plain")
    print("\nAdded µs per receiver over plain Django:")
    for mode in modes[1:]:
        print(f"  {mode:13}{slope(mode) - base:9.3f}")
    ours, sdk = slope("otel") - base, slope("sdk-spans") - base
    print(f"  signal_inspector's own part (otel - sdk-spans): {ours - sdk:.3f}")
    print("\nFloors, µs per span (batches of 900, root/transaction start and end included):")
    for floor in floors:
        print(f"  {floor:13}{medians[('floor', floor)]:9.3f}")
    if sentry:
        theirs = slope("sentry") - base
        print(f"  Sentry / otel: ×{theirs / ours:.2f}; Sentry / signal_inspector's own part: "
              f"×{theirs / max(ours - sdk, 1e-9):.1f}; Sentry / otel-folded: "
              f"×{theirs / max(slope('otel-folded') - base, 1e-9):.1f}")
        bare = medians[("floor", "sdk-span")]
        print(f"  10x needs ≤ {theirs / 10:.3f} µs per receiver; the SDK's bare span alone is "
              f"{bare:.3f} µs ({'reachable' if bare <= theirs / 10 else 'not reachable'} "
              "while every receiver is its own SDK span)")


def _versions(sentry: Any) -> str:
    import opentelemetry.sdk.version

    return (f"Python {sys.version.split()[0]}, Django {django.__version__}, "
            f"opentelemetry-sdk {opentelemetry.sdk.version.__version__}"
            + (f", sentry-sdk {sentry[0].VERSION}" if sentry else ""))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--part", choices=("requests", "receivers"), required=True,
                        help="(a) and (b), or (c): Sentry patches Django when it starts, "
                        "so (c) runs in a process of its own")
    parser.add_argument("--rounds", type=int, default=7)
    parser.add_argument("--requests", type=int, default=40, help="requests per timing")
    parser.add_argument("--number", type=int, default=3000, help="sends per timing (c)")
    args = parser.parse_args()
    if args.part == "requests":
        requests_part(args.rounds, args.requests)
    else:
        receivers_part(args.rounds, args.number)


if __name__ == "__main__":
    try:
        main()
    finally:
        shutil.rmtree(_tmp, ignore_errors=True)
