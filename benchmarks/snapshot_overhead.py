"""Cost of ``assert_matches_snapshot()`` on a test that saves 100 models.

One process, one database, the body of benchmarks/fixture_overhead.py (create
100 orders in a transaction rolled back at the end; each create sends
pre_save/post_save and the test app's receiver writes an audit row): plain,
inside ``capture_signals()``, and inside ``capture_signals()`` followed by
``assert_matches_snapshot()`` against a snapshot file that matches (written
once before timing), the variants interleaved round by round. Also times
``normalise()`` alone. Not a test: nothing asserts a time.

    python benchmarks/snapshot_overhead.py [--rounds N] [--models N]
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import django
from django.conf import settings

settings.configure(
    SECRET_KEY="benchmark",
    INSTALLED_APPS=[
        "signal_inspector",
        "django.contrib.auth",
        "django.contrib.contenttypes",
        "tests.testapp",
    ],
    DATABASES={"default": {"ENGINE": "django.db.backends.sqlite3", "NAME": ":memory:"}},
    DEFAULT_AUTO_FIELD="django.db.models.AutoField",
    USE_TZ=True,
)
django.setup()

from django.core.management import call_command  # noqa: E402
from django.db import transaction  # noqa: E402

from signal_inspector.snapshots import normalise  # noqa: E402
from signal_inspector.testing import capture_signals  # noqa: E402
from tests.testapp.models import Order  # noqa: E402

MODELS = 100
SNAPSHOT = Path(tempfile.mkdtemp()) / "snapshot.txt"


def save_models() -> None:
    for index in range(MODELS):
        Order.objects.create(number=f"N-{index}")


def in_a_test(body: Callable[[], None]) -> float:
    """Milliseconds for ``body`` in a transaction that is rolled back (TestCase-style)."""
    start = time.perf_counter()
    with transaction.atomic():
        body()
        transaction.set_rollback(True)
    return (time.perf_counter() - start) * 1000


def plain() -> None:
    save_models()


def captured() -> None:
    with capture_signals():
        save_models()


def captured_and_snapshot() -> None:
    with capture_signals() as signals:
        save_models()
    signals.assert_matches_snapshot(path=SNAPSHOT)


VARIANTS: list[tuple[str, Callable[[], None]]] = [
    ("plain test", plain),
    ("with capture_signals()", captured),
    ("with capture_signals() + snapshot", captured_and_snapshot),
]


def main() -> None:
    global MODELS
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=40)
    parser.add_argument("--models", type=int, default=100)
    args = parser.parse_args()
    MODELS = args.models
    call_command("migrate", verbosity=0)
    for _, body in VARIANTS:  # warm up; the first snapshot call writes the file
        in_a_test(body)
    times: dict[str, list[float]] = {name: [] for name, _ in VARIANTS}
    normalising: list[float] = []
    for round_ in range(args.rounds):
        shift = round_ % len(VARIANTS)
        for name, body in VARIANTS[shift:] + VARIANTS[:shift]:
            times[name].append(in_a_test(body))
        with transaction.atomic():
            with capture_signals() as signals:
                save_models()
            start = time.perf_counter()
            normalise(signals.recording)
            normalising.append((time.perf_counter() - start) * 1000)
            transaction.set_rollback(True)
    base = statistics.median(times["plain test"])
    print(f"A test that saves {MODELS} models (median of {args.rounds} interleaved rounds):")
    for name, _ in VARIANTS:
        value = statistics.median(times[name])
        print(f"  {name:<40} {value:8.2f} ms   ratio x{value / base:.2f}")
    lines = len(SNAPSHOT.read_text().splitlines())
    print(f"  normalise() alone: {statistics.median(normalising):.2f} ms ({lines} lines of snapshot)")


if __name__ == "__main__":
    main()
