"""What looking for findings costs: recorded requests with FINDINGS on and off,
and a recorded bulk_update() of 1,000 rows against plain Django.

Issue 20's targets: a recorded request of the example project's pages within 5%
with the findings on against off, and a recorded ``bulk_update()`` of 1,000 rows
within 5% of plain Django. Measured side by side in one process, the two
variants interleaved (A B, then B A, and so on, so drift and a neighbour's load
fall on both alike), many short rounds; each round gives one ratio, of the
two variants' median calls (a call that met a garbage collection does not
decide it), and the median ratio is reported with its spread (the middle half of the rounds, and
the lowest and highest). Times are this process's CPU time, which the other
processes of a shared machine do not inflate as they do the wall clock (the
wall-time ratio is printed too). Nothing asserts a time.

- Opening and closing a recording (``record()``, no request): the hooks are put
  on with the first recording and taken off with the last, so this is what the
  findings add to every recorded request whatever it does.
- The example project's home page (no finding), customers page (``init_query``)
  and reprice page (the four other kinds), through Django's test client under
  ``record()``, reading ``recording.findings`` as every consumer does; the
  toolbar stays out (it would record too, and its own cost would hide ours).
- ``bulk_update()`` of 1,000 rows, plain and under ``record()`` with FINDINGS on.

    python benchmarks/findings_overhead.py [--rounds N]
"""

from __future__ import annotations

import argparse
import io
import os
import statistics
import sys
import time
from collections.abc import Callable
from contextlib import AbstractContextManager, nullcontext
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "example_project"))
# In memory: a file database's commits (fsync) vary by tens of percent from one
# request to the next, more than what is measured here; without them every
# request is shorter, so the same cost of ours is a larger ratio, not a smaller.
os.environ["EXAMPLE_DB_PATH"] = ":memory:"
os.environ["DJANGO_SETTINGS_MODULE"] = "config.settings"

import django  # noqa: E402

django.setup()

from django.core import mail  # noqa: E402
from django.core.management import call_command  # noqa: E402
from django.test import Client, override_settings  # noqa: E402
from django.test.utils import setup_test_environment  # noqa: E402

import signal_inspector  # noqa: E402


def findings(on: bool) -> AbstractContextManager[object]:
    return override_settings(SIGNAL_INSPECTOR={"FINDINGS": on})


def block(action: Callable[[], None], repeat: int) -> tuple[float, float]:
    """(CPU time, wall time) of the median call of ``repeat``: this process's CPU
    time does not count the time other processes had the cores, and the median
    call leaves out the one that met a garbage collection or a page fault (a
    single request here takes from 4 to 100 ms)."""
    cpu, wall = [], []
    for _ in range(repeat):
        started_cpu, started_wall = time.process_time(), time.perf_counter()
        action()
        cpu.append(time.process_time() - started_cpu)
        wall.append(time.perf_counter() - started_wall)
    return statistics.median(cpu), statistics.median(wall)


def side_by_side(
    label: str,
    a: tuple[str, Callable[[], AbstractContextManager[object]], Callable[[], None]],
    b: tuple[str, Callable[[], AbstractContextManager[object]], Callable[[], None]],
    rounds: int,
    repeat: int,
    unit: str = "ms",
    between: Callable[[], None] = lambda: None,
) -> None:
    """Time ``a`` and ``b`` in alternating order, ``repeat`` calls a block, and
    print the medians and the median of the per-round ratios a/b with its spread,
    in CPU time, then the median ratio in wall time."""
    cpu: dict[str, list[float]] = {a[0]: [], b[0]: []}
    ratios, wall_ratios = [], []
    for number in range(rounds):
        between()
        order = (a, b) if number % 2 == 0 else (b, a)
        took = {}
        for name, setting, action in order:
            with setting():
                action()  # one untimed call: the setting's first recording, caches
                took[name] = block(action, repeat)
        cpu[a[0]].append(took[a[0]][0])
        cpu[b[0]].append(took[b[0]][0])
        ratios.append(took[a[0]][0] / took[b[0]][0])
        wall_ratios.append(took[a[0]][1] / took[b[0]][1])
    scale = 1e6 if unit == "µs" else 1e3
    med_a, med_b = statistics.median(cpu[a[0]]), statistics.median(cpu[b[0]])
    quartiles = statistics.quantiles(ratios, n=4)
    print(
        f"{label}: {a[0]} {med_a * scale:.2f} {unit}, {b[0]} {med_b * scale:.2f} {unit} (CPU); "
        f"ratio ×{statistics.median(ratios):.3f} (middle half ×{quartiles[0]:.3f}-"
        f"×{quartiles[2]:.3f}, all ×{min(ratios):.3f}-×{max(ratios):.3f}); "
        f"wall time ×{statistics.median(wall_ratios):.3f}; {rounds} rounds of {repeat}"
    )


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--rounds", type=int, default=40)
    args = parser.parse_args()
    setup_test_environment()
    call_command("migrate", verbosity=0)
    call_command("seed_demo", verbosity=0, stdout=io.StringIO())
    on = ("findings on", lambda: findings(True))
    off = ("off", lambda: findings(False))

    def open_close() -> None:
        with signal_inspector.record():
            pass

    side_by_side(
        "a recording opened and closed", (*on, open_close), (*off, open_close),
        args.rounds, 500, unit="µs",
    )

    from shop.models import AuditEntry, Product

    def tidy() -> None:
        # The reprice page mails and audits on every request: keep both small.
        mail.outbox = []
        AuditEntry.objects.filter(action="repriced").delete()

    client = Client()
    # The panel would record inside our recording: the toolbar stays out of it.
    with override_settings(DEBUG_TOOLBAR_CONFIG={"SHOW_TOOLBAR_CALLBACK": lambda request: False}):
        for label, url, repeat in (
            ("home page", "/", 10),
            ("customers page (init_query)", "/accounts/", 10),
            ("reprice page (four kinds)", "/products/reprice/?confirm=1", 5),
        ):

            def request(url: str = url) -> None:
                with signal_inspector.record() as recording:
                    response = client.get(url)
                assert response.status_code == 200, (url, response.status_code)
                recording.findings  # noqa: B018 (what the panel and to_text() read)

            side_by_side(
                f"{label}, recorded", (*on, request), (*off, request), args.rounds, repeat,
                between=tidy,
            )

    Product.objects.bulk_create(Product(name=f"bench-{i}", price=1) for i in range(1000))
    products = list(Product.objects.filter(name__startswith="bench-"))

    def bulk_update() -> None:
        for product in products:
            product.price += 1
        Product.objects.bulk_update(products, ["price"])

    def recorded() -> None:
        with signal_inspector.record():
            bulk_update()

    side_by_side(
        "bulk_update() of 1,000 rows",
        ("recorded (findings on)", lambda: findings(True), recorded),
        ("plain", nullcontext, bulk_update),
        args.rounds,
        3,
    )


if __name__ == "__main__":
    main()
