"""What looking for findings costs: recorded requests with FINDINGS on and off,
and a recorded bulk_update() of 1,000 rows against plain Django.

The example project's home and reprice pages (the reprice page produces all four
kinds of finding) are requested through Django's test client under a recording,
with the ``FINDINGS`` setting on and off, in interleaved rounds; the bulk update
runs plain and recorded (FINDINGS on), also interleaved. Medians and their ratio;
nothing asserts a time.

    python benchmarks/findings_overhead.py [--rounds N]
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "example_project"))
os.environ["EXAMPLE_DB_PATH"] = os.path.join(tempfile.mkdtemp(), "bench.sqlite3")
os.environ["DJANGO_SETTINGS_MODULE"] = "config.settings"

import django  # noqa: E402

django.setup()

from django.core.management import call_command  # noqa: E402
from django.test import Client, override_settings  # noqa: E402
from django.test.utils import setup_test_environment  # noqa: E402

import signal_inspector  # noqa: E402


def timed(action, repeat: int) -> float:
    start = time.perf_counter()
    for _ in range(repeat):
        action()
    return (time.perf_counter() - start) / repeat


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--rounds", type=int, default=9)
    args = parser.parse_args()
    setup_test_environment()
    call_command("migrate", verbosity=0)
    call_command("seed_demo", verbosity=0)
    # The panel would record inside our recording: the toolbar stays out of it.
    client = Client()
    with override_settings(DEBUG_TOOLBAR_CONFIG={"SHOW_TOOLBAR_CALLBACK": lambda request: False}):
        for label, url, repeat in (("home page", "/", 20), ("reprice page", "/products/reprice/?confirm=1", 5)):
            on, off = [], []
            for _ in range(args.rounds):
                for findings, into in ((True, on), (False, off)):
                    with override_settings(SIGNAL_INSPECTOR={"FINDINGS": findings}):

                        def request(url: str = url) -> None:
                            with signal_inspector.record():
                                client.get(url)

                        into.append(timed(request, repeat))
            a, b = statistics.median(on), statistics.median(off)
            print(f"{label}, recorded: findings on {a * 1000:.2f} ms, off {b * 1000:.2f} ms, ratio ×{a / b:.3f}")

    from shop.models import Product

    Product.objects.bulk_create(Product(name=f"bench-{i}", price=1) for i in range(1000))
    products = list(Product.objects.filter(name__startswith="bench-"))

    def bulk_update() -> None:
        for product in products:
            product.price += 1
        Product.objects.bulk_update(products, ["price"])

    def recorded() -> None:
        with signal_inspector.record():
            bulk_update()

    plain, rec = [], []
    for _ in range(args.rounds):
        plain.append(timed(bulk_update, 3))
        rec.append(timed(recorded, 3))
    a, b = statistics.median(rec), statistics.median(plain)
    print(f"bulk_update() of 1,000 rows: recorded {a * 1000:.2f} ms, plain {b * 1000:.2f} ms, ratio ×{a / b:.3f}")


if __name__ == "__main__":
    main()
