"""Cost of ``Signal.send()`` under signal_inspector, as ratios to plain Django.

Measures, interleaved in one process so machine drift hits every configuration
alike: plain Django, signal_inspector installed but idle, and recording. Prints
medians (µs per send) and ratios. Not a test: nothing asserts a time.

    python benchmarks/send_overhead.py [--rounds N]
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import sys
import timeit
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import django
from django.conf import settings

settings.configure(
    DEBUG=False,
    INSTALLED_APPS=["django.contrib.contenttypes", "django.contrib.auth"],
    DATABASES={"default": {"ENGINE": "django.db.backends.sqlite3", "NAME": ":memory:"}},
)
django.setup()

from django.contrib.auth.models import User  # noqa: E402
from django.db.models.signals import post_save  # noqa: E402
from django.dispatch import Signal  # noqa: E402

from signal_inspector import instrument  # noqa: E402


def trivial(sender, **kwargs):
    return None


def make_signal(receivers: int, caching: bool = False) -> Signal:
    signal = Signal(use_caching=caching)
    handlers = []
    for i in range(receivers):
        def handler(sender, __i=i, **kwargs):
            return None
        handlers.append(handler)
        signal.connect(handler, weak=False, dispatch_uid=f"bench{i}")
    return signal


def cases():
    for n in (0, 1, 10):
        signal = make_signal(n)
        yield f"send, {n} receivers", lambda s=signal: s.send(sender=User, instance=None)
        yield f"send_robust, {n} receivers", lambda s=signal: s.send_robust(sender=User, instance=None)
    cached = Signal(use_caching=True)
    yield "model-style cached send, 0 receivers for sender", lambda: cached.send(sender=User)
    post_save.connect(trivial, sender=User, weak=False, dispatch_uid="bench-post-save")
    yield "post_save (cached), 1 receiver", lambda: post_save.send(sender=User, instance=None, created=False)


def time_case(func, number: int) -> float:
    return min(timeit.repeat(func, number=number, repeat=3)) / number * 1e6


def run_async_case(signal: Signal, number: int) -> float:
    async def loop():
        import time

        start = time.perf_counter()
        for _ in range(number):
            await signal.asend(sender=User)
        return (time.perf_counter() - start) / number * 1e6

    return asyncio.run(loop())


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--rounds", type=int, default=7)
    parser.add_argument("--number", type=int, default=20000)
    args = parser.parse_args()
    names = [name for name, _ in cases()]
    funcs = dict(cases())
    async_signals = {n: make_signal(n) for n in (1, 10)}
    results: dict[tuple[str, str], list[float]] = {}
    modes = ("plain", "idle", "recording")
    for _ in range(args.rounds):
        for mode in modes:
            if mode == "plain":
                instrument.uninstall()
            else:
                instrument.install()
            recording = instrument.begin(max_sends=10**9) if mode == "recording" else None
            for name in names:
                results.setdefault((name, mode), []).append(time_case(funcs[name], args.number))
            for n, signal in async_signals.items():
                name = f"asend, {n} receivers"
                results.setdefault((name, mode), []).append(run_async_case(signal, args.number // 10))
            if recording is not None:
                instrument.end(recording)
    all_names = names + [f"asend, {n} receivers" for n in async_signals]
    print(f"Python {sys.version.split()[0]}, Django {django.__version__}; "
          f"median of {args.rounds} interleaved rounds, µs per send")
    print(f"{'case':50} {'plain':>8} {'idle':>8} {'record':>8} {'idle×':>7} {'record×':>8}")
    for name in all_names:
        med = {m: statistics.median(results[(name, m)]) for m in modes}
        print(f"{name:50} {med['plain']:8.3f} {med['idle']:8.3f} {med['recording']:8.3f} "
              f"{med['idle'] / med['plain']:7.3f} {med['recording'] / med['plain']:8.2f}")


if __name__ == "__main__":
    main()
