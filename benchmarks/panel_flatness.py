"""Is the Signals panel's cost per kept send flat in the number of sends kept?

A recording that keeps more sends must not cost more per send (garbage
collection re-walking a growing recording, a JSON document growing past the
caches), and what the toolbar stores per request must stay bounded whatever
``MAX_SENDS`` is. One process, one toolbar (every default panel, the memory
store), the view sends N signals with one trivial receiver; the panel's extra
time is panel on minus panel off (the toolbar's per-panel cookie), paired
request by request. Four configurations, interleaved round after round in
rotated order, medians of process CPU time (wall time beside it):

- ``1,000 kept``: 1,000 sends, ``MAX_SENDS`` 1,000;
- ``20,000 kept``: 20,000 sends, ``MAX_SENDS`` 20,000;
- ``20,000 sent, 1,000 kept``: 20,000 sends, ``MAX_SENDS`` 1,000 (the default);
- ``0 sent``: the panel's fixed cost per request (toolbar bookkeeping, the
  receiver map, the nav subtitle), which would flatter the smaller recording
  when spread over its sends if it were large.

The flatness ratio is (extra per send, 20,000 kept) / (extra per send, 1,000
kept). Also printed: CPU time spent in garbage collection during the request with
the panel on, the extra per send leaving garbage collection out (``no GC``), and
the size of what the toolbar's store holds for the panel (its own serialization).
The toolbar's ``ENABLE_STACKTRACES`` is on (its default). Nothing asserts a time.

    python benchmarks/panel_flatness.py [--rounds N] [--few N] [--many N]
"""

from __future__ import annotations

import argparse
import gc
import statistics
import sys
import time
from collections import defaultdict
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import django
from debug_toolbar.settings import PANELS_DEFAULTS
from django.conf import settings

settings.configure(
    DEBUG=True,
    SECRET_KEY="benchmark",
    ALLOWED_HOSTS=["*"],
    ROOT_URLCONF=__name__,
    INSTALLED_APPS=[
        "signal_inspector",
        "django.contrib.auth",
        "django.contrib.contenttypes",
        "django.contrib.sessions",
        "django.contrib.staticfiles",
        "debug_toolbar",
    ],
    MIDDLEWARE=["debug_toolbar.middleware.DebugToolbarMiddleware"],
    DATABASES={"default": {"ENGINE": "django.db.backends.sqlite3", "NAME": ":memory:"}},
    TEMPLATES=[{"BACKEND": "django.template.backends.django.DjangoTemplates", "APP_DIRS": True}],
    STATIC_URL="/static/",
    DEBUG_TOOLBAR_PANELS=[
        "signal_inspector.panels.SignalInspectorPanel"
        if panel == "debug_toolbar.panels.signals.SignalsPanel"
        else panel
        for panel in PANELS_DEFAULTS
    ],
    DEBUG_TOOLBAR_CONFIG={
        "SHOW_TOOLBAR_CALLBACK": lambda request: True,
        "IS_RUNNING_TESTS": False,
        "RESULTS_CACHE_SIZE": 5,
    },
)
django.setup()

from debug_toolbar.store import get_store  # noqa: E402
from debug_toolbar.toolbar import debug_toolbar_urls  # noqa: E402
from django.dispatch import Signal  # noqa: E402
from django.http import HttpRequest, HttpResponse  # noqa: E402
from django.test import Client, override_settings  # noqa: E402
from django.urls import path  # noqa: E402

PANEL_ID = "SignalInspectorPanel"
item_changed = Signal()


def on_item_changed(sender, index, **kwargs):
    return index


item_changed.connect(on_item_changed, dispatch_uid="bench.on_item_changed")


def view(request: HttpRequest) -> HttpResponse:
    for index in range(int(request.GET["n"])):
        item_changed.send(sender=None, index=index)
    return HttpResponse("<html><body>sent</body></html>")


urlpatterns = [path("", view), *debug_toolbar_urls()]


class GcTimer:
    """CPU time spent in garbage collection, through ``gc.callbacks``."""

    def __init__(self) -> None:
        self.total = 0.0
        self._started = 0.0
        gc.callbacks.append(self._callback)

    def _callback(self, phase: str, info: dict) -> None:
        if phase == "start":
            self._started = time.process_time()
        else:
            self.total += time.process_time() - self._started


GC = GcTimer()


def stored_bytes(request_id: str) -> int:
    """Bytes the toolbar's store holds for the panel (its own JSON serialization)."""
    store = get_store()
    raw = getattr(store, "_request_store", {}).get(request_id, {}).get(PANEL_ID)
    if raw is None:  # another store: serialize what it gives back
        from debug_toolbar.store import serialize

        raw = serialize(store.panel(request_id, PANEL_ID))
    return len(raw.encode())


def measure(sends: int, max_sends: int, samples, sizes, key) -> None:
    on, off = Client(), Client()
    off.cookies[f"djdt{PANEL_ID}"] = "off"
    pair = [(on, "on"), (off, "off")]
    if len(samples[(key, "on", "cpu")]) % 2:
        pair.reverse()
    with override_settings(SIGNAL_INSPECTOR={"MAX_SENDS": max_sends}):
        for client, state in pair:
            gc_before = GC.total
            cpu, wall = time.process_time(), time.perf_counter()
            response = client.get("/", {"n": sends})
            samples[(key, state, "cpu")].append((time.process_time() - cpu) * 1000)
            samples[(key, state, "wall")].append((time.perf_counter() - wall) * 1000)
            samples[(key, state, "gc")].append((GC.total - gc_before) * 1000)
            assert response.status_code == 200, response.status_code
            if state == "on":
                request_id = response.content.decode().split('data-request-id="')[1]
                sizes[key] = stored_bytes(request_id.split('"')[0])
                stats = get_store().panel(request_id.split('"')[0], PANEL_ID)
                assert stats["total_sends"] >= sends, stats["total_sends"]
                sizes[(key, "kept")] = len(stats["sends"])


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__.splitlines()[0],
        epilog="All figures come from one process; the ratios are what to read.",
    )
    parser.add_argument("--rounds", type=int, default=9, help="interleaved rounds (9)")
    parser.add_argument("--few", type=int, default=1000, help="the small recording (1000)")
    parser.add_argument("--many", type=int, default=20000, help="the large recording (20000)")
    args = parser.parse_args()
    few, many = args.few, args.many
    configs = [
        (f"{few:,} sent, {few:,} kept", few, few),
        (f"{many:,} sent, {many:,} kept", many, many),
        (f"{many:,} sent, {few:,} kept", many, few),
        ("0 sent", 0, few),
    ]
    samples: dict[tuple, list[float]] = defaultdict(list)
    sizes: dict = {}
    for index in range(args.rounds + 1):
        if index == 1:  # the first round warms up every path; discarded
            samples.clear()
        shift = index % len(configs)
        for key, sends, max_sends in configs[shift:] + configs[:shift]:
            measure(sends, max_sends, samples, sizes, key)
        gc.collect()

    print(
        f"Django {django.get_version()}, Python {sys.version.split()[0]}, "
        f"django-debug-toolbar {__import__('debug_toolbar').VERSION}; ENABLE_STACKTRACES on; "
        f"median of {args.rounds} interleaved rounds"
    )
    print(
        f"{'':28}{'request off':>12}{'extra':>10}{'GC (on)':>10}"
        f"{'per send':>10}{'(wall)':>9}{'no GC':>9}{'kept':>7}{'stored':>10}"
    )
    per_send, no_gc = {}, {}
    for key, sends, _max_sends in configs:
        without_gc = {
            state: [
                cpu - gc_ms
                for cpu, gc_ms in zip(
                    samples[(key, state, "cpu")], samples[(key, state, "gc")], strict=True
                )
            ]
            for state in ("on", "off")
        }
        no_gc[key] = (
            statistics.median(
                a - b for a, b in zip(without_gc["on"], without_gc["off"], strict=True)
            )
            * 1000
            / max(sends, 1)
        )

        def paired(clock: str, key: str = key) -> float:
            on, off = samples[(key, "on", clock)], samples[(key, "off", clock)]
            return statistics.median(a - b for a, b in zip(on, off, strict=True))

        extra = paired("cpu")
        per_send[key] = extra * 1000 / max(sends, 1)
        wall = paired("wall") * 1000 / max(sends, 1)
        gc_ms = statistics.median(samples[(key, "on", "gc")])
        off_ms = statistics.median(samples[(key, "off", "cpu")])
        if not sends:
            print(f"  {key:<26}{off_ms:9.1f} ms{extra:7.1f} ms{gc_ms:7.1f} ms")
            continue
        print(
            f"  {key:<26}{off_ms:9.1f} ms{extra:7.1f} ms{gc_ms:7.1f} ms"
            f"{per_send[key]:7.2f} µs{wall:7.2f} µs{no_gc[key]:6.2f} µs"
            f"{sizes[(key, 'kept')]:>7}{sizes[key] / 1e6:7.2f} MB"
        )
    small, large, capped, _empty = (key for key, _s, _m in configs)
    print(
        f"Per kept send, {many:,} kept / {few:,} kept: x{per_send[large] / per_send[small]:.2f} "
        f"(CPU; issue 14 target <= x1.5); leaving out garbage collection: "
        f"x{no_gc[large] / no_gc[small]:.2f}"
    )
    print(
        f"Per send of a {many:,}-send request, MAX_SENDS {many:,} / {few:,}: "
        f"x{per_send[large] / per_send[capped]:.2f} (CPU)"
    )
    print(
        f"Stored per request: {sizes[large] / 1e6:.2f} MB with {many:,} kept, "
        f"{sizes[capped] / 1e6:.2f} MB with {few:,} kept of {many:,}, "
        f"{sizes[small] / 1e6:.2f} MB for {few:,} sent "
        f"(x{sizes[large] / sizes[capped]:.1f} between MAX_SENDS {many:,} and {few:,})"
    )


if __name__ == "__main__":
    main()
