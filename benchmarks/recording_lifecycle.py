"""Cost of opening and closing a recording, per request, against plain Django.

The first recording to open instruments ``Signal``, ``CursorWrapper`` and
``on_commit`` and the last to close restores them (patching.py); one that opens
while another is open only sets two context variables. Measured in one process,
interleaved rounds, medians; a request is a Django test-client GET of a view that
saves nothing (sends request_started/finished only), so the ratio is the most a
recording's opening and closing can weigh on a request. Nothing asserts a time.

    python benchmarks/recording_lifecycle.py [--rounds N] [--number N]
"""

from __future__ import annotations

import argparse
import statistics
import sys
import threading
import time
from collections.abc import Callable
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import django
from django.conf import settings

settings.configure(
    DEBUG=False,
    SECRET_KEY="bench",
    ALLOWED_HOSTS=["*"],
    ROOT_URLCONF=__name__,
    INSTALLED_APPS=["signal_inspector", "django.contrib.contenttypes", "django.contrib.auth"],
    DATABASES={"default": {"ENGINE": "django.db.backends.sqlite3", "NAME": ":memory:"}},
    MIDDLEWARE=[],
)
django.setup()

from django.http import HttpResponse  # noqa: E402
from django.test import Client  # noqa: E402
from django.urls import path  # noqa: E402

from signal_inspector import recorder  # noqa: E402


def view(request):
    return HttpResponse("ok")


urlpatterns = [path("", view)]
CLIENT = Client()


def request_plain() -> None:
    CLIENT.get("/")


def request_recorded() -> None:
    recording = recorder.begin()
    try:
        CLIENT.get("/")
    finally:
        recorder.end(recording)


def open_close() -> None:
    recorder.end(recorder.begin())


def time_per_call(call: Callable[[], None], number: int) -> float:
    best = float("inf")
    for _ in range(3):
        start = time.perf_counter()
        for _ in range(number):
            call()
        best = min(best, (time.perf_counter() - start) / number)
    return best * 1e6


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=7)
    parser.add_argument("--number", type=int, default=500)
    args = parser.parse_args()
    opened, finish = threading.Event(), threading.Event()

    def hold() -> None:
        recording = recorder.begin(max_sends=0)
        opened.set()
        finish.wait(600)
        recorder.end(recording)

    results: dict[str, list[float]] = {}
    for _ in range(args.rounds):
        results.setdefault("plain request", []).append(time_per_call(request_plain, args.number))
        results.setdefault("request in record() (first: patch + restore)", []).append(
            time_per_call(request_recorded, args.number))
        results.setdefault("open + close alone (first)", []).append(
            time_per_call(open_close, args.number * 10))
        holder = threading.Thread(target=hold, daemon=True)
        opened.clear()
        finish.clear()
        holder.start()
        opened.wait(10)
        results.setdefault("plain request, another context recording", []).append(
            time_per_call(request_plain, args.number))
        results.setdefault("request in record(), another open", []).append(
            time_per_call(request_recorded, args.number))
        results.setdefault("open + close alone (another open)", []).append(
            time_per_call(open_close, args.number * 10))
        finish.set()
        holder.join(10)
    medians = {k: statistics.median(v) for k, v in results.items()}
    plain = medians["plain request"]
    print(f"Python {sys.version.split()[0]}, Django {django.__version__}; "
          f"median of {args.rounds} interleaved rounds; µs per call")
    for name, value in medians.items():
        ratio = f"×{value / plain:.3f} of a plain request" if "request" in name else (
            f"{value / plain * 100:.1f}% of a plain request")
        print(f"  {name:48} {value:9.2f}  {ratio}")


if __name__ == "__main__":
    main()
