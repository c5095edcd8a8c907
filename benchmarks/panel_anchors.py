"""Extra time per event of the Signals panel against the toolbar's own SQL and cache panels.

The issue's yardstick: a debugging panel is judged against the panels users
already accept. Three views, one process, one toolbar (every default panel, the
memory store):

- ``sql``: N trivial SQLite queries (``SELECT %s`` on one cursor);
- ``cache``: N ``cache.get()`` of a key in a locmem cache;
- ``signals``: N ``send()`` of a signal with one trivial receiver.

Each view is requested with its panel on and off (the toolbar's per-panel cookie
``djdt<PanelId>``); the other two measured panels are off in both, so the
difference is that panel alone. Extra time per event is (on - off) / N, paired
request by request. All configurations run interleaved round after round, in
rotated order, with the toolbar's ``ENABLE_STACKTRACES`` on and off in the same
rounds; medians of process CPU time (what a loaded machine disturbs least; wall
time is printed beside it). ``signals`` runs twice: default settings
(``MAX_SENDS`` 1,000, so half of 2,000 sends are kept in detail and half only
counted) and with ``MAX_SENDS`` = N (every send kept, like the SQL panel keeps
every query).

Also times opening the panel: the toolbar's ``render_panel`` view for the SQL
panel after N queries and for the Signals panel after N sends, same rounds.
Ratios come from one run; nothing asserts a time.

    python benchmarks/panel_anchors.py [--rounds N] [--render-rounds N] [--events N]
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from collections import defaultdict
from collections.abc import Callable
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
    CACHES={"default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"}},
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

from debug_toolbar.toolbar import debug_toolbar_urls  # noqa: E402
from django.core.cache import cache  # noqa: E402
from django.db import connection  # noqa: E402
from django.dispatch import Signal  # noqa: E402
from django.http import HttpRequest, HttpResponse  # noqa: E402
from django.test import Client, override_settings  # noqa: E402
from django.urls import path, reverse  # noqa: E402

EVENTS = 2000
PANEL_IDS = {"sql": "SQLPanel", "cache": "CachePanel", "signals": "SignalInspectorPanel"}
item_changed = Signal()


def on_item_changed(sender, index, **kwargs):
    return index


item_changed.connect(on_item_changed, dispatch_uid="bench.on_item_changed")

PAGE = "<html><body>done</body></html>"


def sql_view(request: HttpRequest) -> HttpResponse:
    with connection.cursor() as cursor:
        for index in range(EVENTS):
            cursor.execute("SELECT %s", [index])
            cursor.fetchone()
    return HttpResponse(PAGE)


def cache_view(request: HttpRequest) -> HttpResponse:
    for _ in range(EVENTS):
        cache.get("bench-key")
    return HttpResponse(PAGE)


def signals_view(request: HttpRequest) -> HttpResponse:
    for index in range(EVENTS):
        item_changed.send(sender=None, index=index)
    return HttpResponse(PAGE)


urlpatterns = [
    path("sql/", sql_view),
    path("cache/", cache_view),
    path("signals/", signals_view),
    *debug_toolbar_urls(),
]


def client_for(measured: str, panel_on: bool) -> Client:
    """A client whose cookies turn off the measured panels except ``measured`` if on."""
    client = Client()
    for name, panel_id in PANEL_IDS.items():
        if name != measured or not panel_on:
            client.cookies[f"djdt{panel_id}"] = "off"
    return client


def timed(call: Callable[[], object]) -> tuple[float, float, object]:
    """(CPU ms, wall ms, result) of one call."""
    cpu, wall = time.process_time(), time.perf_counter()
    result = call()
    return (time.process_time() - cpu) * 1000, (time.perf_counter() - wall) * 1000, result


def request_id_of(response) -> str:
    return response.content.decode().split('data-request-id="')[1].split('"')[0]


# (label, view, measured panel, SIGNAL_INSPECTOR override or None)
CASES = [
    ("sql", "/sql/", "sql", None),
    ("cache", "/cache/", "cache", None),
    ("signals", "/signals/", "signals", None),
    ("signals_all_kept", "/signals/", "signals", "all"),
]
STACKS = {"on": True, "off": False}


def measure_case(case, samples, stacks: str) -> None:
    label, url, measured, max_sends = case
    override = override_settings(SIGNAL_INSPECTOR={"MAX_SENDS": EVENTS}) if max_sends else None
    if override:
        override.enable()
    try:
        on, off = client_for(measured, True), client_for(measured, False)
        pair = [(on, "on"), (off, "off")]
        if len(samples[(label, stacks, "on", "cpu")]) % 2:
            pair.reverse()
        for client, state in pair:
            cpu, wall, response = timed(lambda c=client: c.get(url))
            assert response.status_code == 200, response.status_code
            samples[(label, stacks, state, "cpu")].append(cpu)
            samples[(label, stacks, state, "wall")].append(wall)
    finally:
        if override:
            override.disable()


def measure_render(label: str, renders, stacks: str) -> None:
    """Time the toolbar's render_panel view for ``label``'s panel after one request."""
    url = {"sql": "/sql/", "signals": "/signals/"}[label]
    client = client_for(label, True)
    response = client.get(url)
    params = {"request_id": request_id_of(response), "panel_id": PANEL_IDS[label]}
    cpu, wall, rendered = timed(lambda: client.get(reverse("djdt:render_panel"), params))
    assert rendered.status_code == 200, rendered.status_code
    assert len(rendered.json()["content"]) > 1000
    renders[(label, stacks, "cpu")].append(cpu)
    renders[(label, stacks, "wall")].append(wall)


def per_event(samples, label: str, stacks: str, clock: str) -> float:
    """Median over rounds of the paired (on - off) difference, in µs per event."""
    on = samples[(label, stacks, "on", clock)]
    off = samples[(label, stacks, "off", clock)]
    return statistics.median(a - b for a, b in zip(on, off, strict=True)) * 1000 / EVENTS


def main() -> None:
    global EVENTS
    parser = argparse.ArgumentParser(
        description=__doc__.splitlines()[0],
        epilog="All figures come from one process; the ratios are what to read.",
    )
    parser.add_argument("--rounds", type=int, default=15, help="interleaved rounds (15)")
    parser.add_argument(
        "--events", type=int, default=2000, help="queries, gets or sends per request (2000)"
    )
    parser.add_argument(
        "--render-rounds",
        type=int,
        default=4,
        help="rounds that also open the SQL and Signals panels (render_panel) (4)",
    )
    args = parser.parse_args()
    EVENTS = args.events
    cache.set("bench-key", "value", None)
    base = settings.DEBUG_TOOLBAR_CONFIG
    stack_settings = {
        stacks: override_settings(DEBUG_TOOLBAR_CONFIG={**base, "ENABLE_STACKTRACES": flag})
        for stacks, flag in STACKS.items()
    }
    samples: dict[tuple, list[float]] = defaultdict(list)
    renders: dict[tuple, list[float]] = defaultdict(list)

    def one_round(index: int, render: bool) -> None:
        order = list(STACKS) if index % 2 == 0 else list(reversed(STACKS))
        for stacks in order:
            with stack_settings[stacks]:
                shift = index % len(CASES)
                for case in CASES[shift:] + CASES[:shift]:
                    measure_case(case, samples, stacks)
                if render:
                    labels = ["sql", "signals"] if index % 2 == 0 else ["signals", "sql"]
                    for label in labels:
                        measure_render(label, renders, stacks)

    one_round(0, True)  # warm up every path; discarded
    one_round(1, False)
    samples.clear()
    renders.clear()
    # Opening the SQL panel on N queries takes seconds: only the first
    # --render-rounds rounds open the panels too.
    for index in range(args.rounds):
        one_round(index, index < args.render_rounds)

    print(
        f"Django {django.get_version()}, Python {sys.version.split()[0]}, "
        f"django-debug-toolbar {__import__('debug_toolbar').VERSION}; "
        f"{EVENTS} events per request; median of {args.rounds} interleaved rounds"
    )
    print("Extra time per event, panel on minus panel off (µs; CPU time, wall in brackets):")
    print(f"{'':38}{'stacks on':>20}{'stacks off':>20}")
    rows = [
        ("sql", "SQL panel, per trivial query"),
        ("cache", "cache panel, per cache.get()"),
        ("signals", "Signals panel, per send (MAX_SENDS 1000)"),
        ("signals_all_kept", f"Signals panel, per send (all {EVENTS} kept)"),
    ]
    cost = {}
    for label, title in rows:
        cells = []
        for stacks in STACKS:
            cost[(label, stacks)] = per_event(samples, label, stacks, "cpu")
            wall = per_event(samples, label, stacks, "wall")
            cells.append(f"{cost[(label, stacks)]:8.2f} ({wall:7.2f})")
        print(f"  {title:<42}{cells[0]:>16}{cells[1]:>20}")
    print(
        "Ratios (CPU), anchor per event / Signals panel per send "
        "(issue 14 target against the SQL panel: >= x12 stacks on, >= x5 stacks off):"
    )
    for anchor, name in (("sql", "SQL panel per query"), ("cache", "cache panel per get")):
        for ours, which in (("signals", "default"), ("signals_all_kept", "all kept")):
            cells = [f"x{cost[(anchor, s)] / cost[(ours, s)]:5.1f}" for s in STACKS]
            print(
                f"  {name} / ours ({which}):".ljust(46)
                + f"stacks on {cells[0]}   stacks off {cells[1]}"
            )
    print("Request times, median ms (CPU): off / on")
    for label, _title in rows:
        cells = []
        for stacks in STACKS:
            off = statistics.median(samples[(label, stacks, "off", "cpu")])
            on = statistics.median(samples[(label, stacks, "on", "cpu")])
            cells.append(f"{off:6.1f} / {on:6.1f}")
        print(f"  {label:<18} stacks on {cells[0]}   stacks off {cells[1]}")
    print(
        f"Opening the panel (render_panel) after {EVENTS} events, median of "
        f"{min(args.render_rounds, args.rounds)} ms (CPU, wall in brackets; "
        "issue 14 target: ours / SQL <= x1):"
    )
    for stacks in STACKS:
        sql_cpu = statistics.median(renders[("sql", stacks, "cpu")])
        ours_cpu = statistics.median(renders[("signals", stacks, "cpu")])
        sql_wall = statistics.median(renders[("sql", stacks, "wall")])
        ours_wall = statistics.median(renders[("signals", stacks, "wall")])
        print(
            f"  stacks {stacks:<3}  SQL panel {sql_cpu:7.1f} ({sql_wall:7.1f})   "
            f"Signals panel {ours_cpu:7.1f} ({ours_wall:7.1f})   "
            f"ours / SQL x{ours_cpu / sql_cpu:.2f}"
        )


if __name__ == "__main__":
    main()
