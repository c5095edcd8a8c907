"""Cost of a signal send: plain Django, a context that does not record while another
does, recording, and Sentry.

Idle (installed, nothing recording) is plain Django: the same functions run
(see patching.py), so it is not measured apart. ``elsewhere`` is a send in a
context that does not record while another thread holds a recording open: the
send methods are ours then, and pass the call to Django's.

All configurations are measured interleaved in one process, round after round,
so machine drift hits them alike; medians and ratios to plain Django come from
the same run. Sentry is the Sentry SDK's Django integration (which wraps every
sync receiver in a span) inside a sampled transaction, with an in-memory
transport and a loopback DSN: nothing leaves the machine. Not a test: nothing
asserts a time.

    python benchmarks/send_overhead.py [--rounds N] [--number N] [--json FILE]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import statistics
import sys
import time
from collections.abc import Callable
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
sys.path.insert(0, str(Path(__file__).resolve().parent))

import django
from django.conf import settings

settings.configure(
    DEBUG=False,
    SECRET_KEY="bench",
    INSTALLED_APPS=["django.contrib.contenttypes", "django.contrib.auth"],
    DATABASES={"default": {"ENGINE": "django.db.backends.sqlite3", "NAME": ":memory:"}},
)
django.setup()

from django.core.management import call_command  # noqa: E402

call_command("migrate", verbosity=0)

from django.contrib.auth.models import User  # noqa: E402
from django.db.models.signals import post_save  # noqa: E402
from django.dispatch import Signal  # noqa: E402
from floors import Floor  # noqa: E402

from signal_inspector import recorder  # noqa: E402

ORIGINAL_LIVE_RECEIVERS = Signal._live_receivers
MODES = ("plain", "elsewhere", "recording", "sentry")
FLOOR_MODES = ("floor", "floor+panel")
FLOOR_CASES = ("send, 0 receivers", "send, 1 receivers", "send, 10 receivers")


class RecordingElsewhere:
    """A recording held open in another thread while this one sends."""

    def __enter__(self) -> RecordingElsewhere:
        import threading

        self.opened, self.finish = threading.Event(), threading.Event()
        self.thread = threading.Thread(target=self._hold, daemon=True)
        self.thread.start()
        self.opened.wait(10)
        return self

    def _hold(self) -> None:
        recording = recorder.begin(max_sends=0)
        self.opened.set()
        self.finish.wait(600)
        recorder.end(recording)

    def __exit__(self, *exc: object) -> None:
        self.finish.set()
        self.thread.join(10)


def make_signal(receivers: int, named: bool = True) -> Signal:
    """A signal with ``receivers`` distinct trivial functions (each its own code:
    one function made in a loop would be one receiver connected N times, which
    the recorder rightly marks as a duplicate, and that is not the case measured).

    ``named``: held by this module, as apps define their signals (a ``Signal()``
    no module holds is named against ``sys.modules`` on each send)."""
    signal = Signal()
    if named:
        globals()[f"bench_signal_{receivers}"] = signal
    for i in range(receivers):
        namespace: dict[str, object] = {"__name__": __name__}
        exec(f"def handler_{i}(sender, **kwargs):\n    return None\n", namespace)
        signal.connect(namespace[f"handler_{i}"], weak=False, dispatch_uid=f"bench{i}")
    return signal


def trivial(sender, **kwargs):
    return None


def build_cases() -> list[tuple[str, int, Callable[[], object], bool]]:
    """(name, receivers, call, is_async)."""
    cases: list[tuple[str, int, Callable[[], object], bool]] = []
    for n in (0, 1, 10):
        signal = make_signal(n)
        cases.append((f"send, {n} receivers", n, lambda s=signal: s.send(sender=User, instance=None), False))
        cases.append((f"send_robust, {n} receivers", n, lambda s=signal: s.send_robust(sender=User, instance=None), False))
        cases.append((f"asend, {n} receivers", n, lambda s=signal: s.asend(sender=User, instance=None), True))
    # asend() hops to a thread for sync receivers (~180 µs, ± a few µs): its cost
    # per receiver is measured from 1 to 50 receivers, where that noise divides by 49.
    wide = make_signal(50)
    cases.append(("asend, 50 receivers", 50, lambda s=wide: s.asend(sender=User, instance=None), True))
    unnamed = make_signal(1, named=False)
    cases.append(("send, 1 receiver, Signal() no module holds", 1,
                  lambda s=unnamed: s.send(sender=User, instance=None), False))
    post_save.connect(trivial, sender=User, weak=False, dispatch_uid="bench-post-save")
    cases.append(("post_save (cached), 1 receiver", 1,
                  lambda: post_save.send(sender=User, instance=None, created=False), False))
    # A receiver doing real work: one indexed SQLite query, as receivers usually do.
    realistic = Signal()

    def one_query(sender, **kwargs):
        return User.objects.filter(pk=1).exists()

    realistic.connect(one_query, weak=False)
    cases.append(("send, 1 receiver running 1 query", 1,
                  lambda: realistic.send(sender=User, instance=None), False))
    return cases


class NullTransport:
    """Sentry transport that keeps nothing and sends nothing."""


def init_sentry():
    try:
        import sentry_sdk
        from sentry_sdk.integrations.django import DjangoIntegration
        from sentry_sdk.transport import Transport
    except ImportError:
        return None

    class MemoryTransport(Transport):
        def capture_envelope(self, envelope):
            return None

    sentry_sdk.init(
        dsn="http://public@127.0.0.1:9/1",
        integrations=[DjangoIntegration(signals_spans=True)],
        traces_sample_rate=1.0,
        transport=MemoryTransport,
        default_integrations=False,
    )
    sentry_live = Signal._live_receivers
    Signal._live_receivers = ORIGINAL_LIVE_RECEIVERS
    return sentry_sdk, sentry_live


def time_sync(
    call: Callable[[], object], number: int, batch: int, sentry, record: bool,
    floor: str | None = None,
) -> float:
    """µs per call, best of 3; Sentry runs batches inside sampled transactions
    (below its 1,000-span limit, so every span is really recorded). Recording
    starts afresh for each timing and keeps every send in full: one recording
    growing over the whole run would make later cases pay for its garbage.
    ``floor``: timed with ``Signal.send`` replaced by that floor recorder
    (see floors.py), its log started afresh in the same way."""
    best = float("inf")
    for _ in range(3):
        floored = Floor(floor).__enter__() if floor else None
        recording = recorder.begin(max_sends=number) if record else None
        total = 0.0
        done = 0
        while done < number:
            todo = min(batch, number - done)
            if sentry is not None:
                transaction = sentry.start_transaction(name="bench", op="bench", sampled=True)
                transaction.__enter__()
            start = time.perf_counter()
            for _ in range(todo):
                call()
            total += time.perf_counter() - start
            if sentry is not None:
                transaction.__exit__(None, None, None)
            done += todo
        if recording is not None:
            recorder.end(recording)
        if floored is not None:
            floored.__exit__()
        best = min(best, total / number)
    return best * 1e6


def time_async(
    call: Callable[[], object], number: int, batch: int, sentry, record: bool
) -> float:
    async def run() -> float:
        best = float("inf")
        for _ in range(3):
            recording = recorder.begin(max_sends=number) if record else None
            total = 0.0
            done = 0
            while done < number:
                todo = min(batch, number - done)
                if sentry is not None:
                    transaction = sentry.start_transaction(name="bench", op="bench", sampled=True)
                    transaction.__enter__()
                start = time.perf_counter()
                for _ in range(todo):
                    await call()
                total += time.perf_counter() - start
                if sentry is not None:
                    transaction.__exit__(None, None, None)
                done += todo
            if recording is not None:
                recorder.end(recording)
            best = min(best, total / number)
        return best * 1e6

    return asyncio.run(run())


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=7)
    parser.add_argument("--number", type=int, default=5000, help="sends per timing")
    parser.add_argument("--json", help="also write the medians to this file")
    args = parser.parse_args()
    cases = build_cases()
    sentry = init_sentry()
    modes = MODES if sentry is not None else MODES[:3]
    results: dict[tuple[str, str], list[float]] = {}
    for _ in range(args.rounds):
        for mode in modes:
            Signal._live_receivers = ORIGINAL_LIVE_RECEIVERS
            if mode == "sentry":
                Signal._live_receivers = sentry[1]
            elsewhere = RecordingElsewhere() if mode == "elsewhere" else None
            if elsewhere is not None:
                elsewhere.__enter__()
            for name, receivers, call, is_async in cases:
                batch = max(1, 900 // max(receivers, 1))
                number = args.number // 10 if is_async else args.number
                timer = time_async if is_async else time_sync
                value = timer(
                    call, number, batch, sentry[0] if mode == "sentry" else None,
                    mode == "recording",
                )
                results.setdefault((name, mode), []).append(value)
            if elsewhere is not None:
                elsewhere.__exit__()
        Signal._live_receivers = ORIGINAL_LIVE_RECEIVERS
        for floor in FLOOR_MODES:
            for name, receivers, call, _ in cases:
                if name in FLOOR_CASES:
                    value = time_sync(call, args.number, max(1, 900 // max(receivers, 1)),
                                      None, False, floor)
                    results.setdefault((name, floor), []).append(value)
    Signal._live_receivers = ORIGINAL_LIVE_RECEIVERS

    medians = {key: statistics.median(values) for key, values in results.items()}
    print(f"Python {sys.version.split()[0]}, Django {django.__version__}"
          + (f", sentry-sdk {sentry[0].VERSION}" if sentry else ", sentry-sdk not installed")
          + f"; median of {args.rounds} interleaved rounds; µs per send")
    header = f"{'case':44}" + "".join(f"{m:>10}" for m in modes) + "".join(
        f"{m + '×':>11}" for m in modes[1:])
    print(header)
    for name, *_ in cases:
        row = f"{name:44}" + "".join(f"{medians[(name, m)]:10.3f}" for m in modes)
        row += "".join(f"{medians[(name, m)] / medians[(name, 'plain')]:11.2f}" for m in modes[1:])
        print(row)
    print("\nAgainst the floor of a recorder (floors.py: the least one can do in Python;"
          " `floor+panel` also keeps what the panel shows), µs per send and × plain:")
    print(f"{'case':44}{'plain':>10}{'floor':>10}{'floor+panel':>13}{'recording':>11}"
          f"{'floor×':>9}{'+panel×':>9}{'ours×':>8}")
    for name in FLOOR_CASES:
        plain, ours = medians[(name, "plain")], medians[(name, "recording")]
        low, panel = medians[(name, "floor")], medians[(name, "floor+panel")]
        print(f"{name:44}{plain:10.3f}{low:10.3f}{panel:13.3f}{ours:11.3f}"
              f"{low / plain:9.2f}{panel / plain:9.2f}{ours / plain:8.2f}")
    print("\nAdded cost per receiver (µs) over plain Django, from the 1- and 10-receiver cases"
          " (asend: 1 and 50):")
    per_receiver = {}
    for method in ("send", "send_robust", "asend"):
        many = 50 if method == "asend" else 10

        def slope(mode: str, method: str = method, many: int = many) -> float:
            return (
                medians[(f"{method}, {many} receivers", mode)]
                - medians[(f"{method}, 1 receivers", mode)]
            ) / (many - 1)

        base = slope("plain")
        line = f"  {method:12}"
        for mode in modes[1:]:
            per_receiver[(method, mode)] = slope(mode) - base
            line += f"  {mode}: {slope(mode) - base:7.3f}"
        if sentry is not None and per_receiver[(method, "recording")] > 0:
            line += f"  (Sentry / recording: ×{per_receiver[(method, 'sentry')] / per_receiver[(method, 'recording')]:.1f})"
        print(line)
    if args.json:
        Path(args.json).write_text(json.dumps(
            {"python": sys.version.split()[0], "django": django.__version__,
             "medians_us": {f"{n} | {m}": v for (n, m), v in medians.items()},
             "per_receiver_us": {f"{k[0]} | {k[1]}": v for k, v in per_receiver.items()}},
            indent=2))


if __name__ == "__main__":
    main()
