"""What the flame chart costs when the Signals panel opens: 2,000 and 20,000 sends.

One process: a request with N sends goes through the whole toolbar and its
memory store; then the panel's content is drawn from the stored stats, as the
toolbar's ``render_panel`` view draws it, with and without the flame chart,
interleaved round by round so machine drift hits both alike. Prints medians,
the ratio, the flame chart's own time, and the bytes of the content and of the
chart. Not a test: nothing asserts a time.

    python benchmarks/panel_flame.py [--rounds N]
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import time
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
    # Every send kept, so that the chart draws all the store holds.
    SIGNAL_INSPECTOR={"MAX_SENDS": 20_000},
)
django.setup()

from debug_toolbar.store import get_store  # noqa: E402
from debug_toolbar.toolbar import debug_toolbar_urls  # noqa: E402
from django.dispatch import Signal  # noqa: E402
from django.http import HttpRequest, HttpResponse  # noqa: E402
from django.template.loader import render_to_string  # noqa: E402
from django.test import Client, override_settings  # noqa: E402
from django.urls import path  # noqa: E402

import signal_inspector  # noqa: E402
from signal_inspector.drawing.flame import flame_chart  # noqa: E402
from signal_inspector.drawing.rows import build_context  # noqa: E402
from signal_inspector.panels import _compact  # noqa: E402
from signal_inspector.stored import panel_sends  # noqa: E402

item_changed = Signal()
item_saved = Signal()


def on_item_changed(sender, index, **kwargs):
    # Every tenth change saves: a nested send, so the chart has depth.
    if index % 10 == 0:
        item_saved.send(sender=sender, index=index)
    return index


def on_item_saved(sender, index, **kwargs):
    return None


item_changed.connect(on_item_changed, dispatch_uid="bench.on_item_changed")
item_saved.connect(on_item_saved, dispatch_uid="bench.on_item_saved")


def view(request: HttpRequest, count: int) -> HttpResponse:
    for index in range(count):
        item_changed.send(sender=("left", "right")[index % 2], index=index)
    return HttpResponse("<html><body>sent</body></html>")


urlpatterns = [path("send/<int:count>/", view), *debug_toolbar_urls()]


def stored_stats(sends: int) -> dict:
    response = Client().get(f"/send/{sends}/")
    request_id = response.content.decode().split('data-request-id="')[1].split('"')[0]
    return get_store().panel(request_id, "SignalInspectorPanel")


# CPU time of this process: on a shared machine, wall time also counts the
# time other processes held the CPU (the load average is printed with it).
clock = time.process_time


def recorded_stats(sends: int) -> dict:
    """The stored form of every send of a request, without the store's byte budget."""
    with (
        override_settings(SIGNAL_INSPECTOR={"MAX_SENDS": sends * 2}),
        signal_inspector.record() as recording,
    ):
        view(HttpRequest(), sends)
    stats = recording.summary()
    stats.update(panel_sends(recording, (), lambda line: line))
    return stats


def render(stats: dict, flame: bool) -> tuple[float, int]:
    """Draw the panel's content as its ``content`` property does; (seconds, bytes)."""
    started = clock()
    html = _compact(render_to_string("signal_inspector/panel.html", build_context(stats, flame=flame)))
    return clock() - started, len(html.encode())


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=9)
    args = parser.parse_args()
    print(
        f"Python {sys.version.split()[0]}, Django {django.get_version()}, {args.rounds} rounds,"
        f" CPU time (process_time), load average {os.getloadavg()[0]:.1f}"
    )
    print(
        f"{'sends':>7} {'stored':>7} {'without':>10} {'with':>10} {'ratio':>6}"
        f" {'chart alone':>12} {'content':>16} {'chart':>9} {'boxes':>13}"
    )
    for sends in (2_000, 20_000):
        stats = stored_stats(sends)
        # The store keeps about 1 MB of a request: time the chart on every send too.
        every = recorded_stats(sends)
        render(stats, True)  # warm the template cache
        without: list[float] = []
        with_chart: list[float] = []
        alone: list[float] = []
        for _ in range(args.rounds):
            took, size_without = render(stats, False)
            without.append(took)
            took, size_with = render(stats, True)
            with_chart.append(took)
            started = clock()
            chart = flame_chart(stats, 25.0)
            alone.append(clock() - started)
        assert chart is not None
        every_chart: list[float] = []
        for _ in range(args.rounds):
            started = clock()
            whole = flame_chart(every, 25.0)
            every_chart.append(clock() - started)
        assert whole is not None
        a, b, c = (statistics.median(x) * 1000 for x in (without, with_chart, alone))
        print(
            f"{sends:>7} {len(stats['sends']):>7} {a:>8.1f}ms {b:>8.1f}ms {b / a:>6.2f}"
            f" {c:>10.1f}ms {size_without // 1000:>6} -> {size_with // 1000:>4} kB"
            f" {len(chart.svg) // 1000:>6} kB {chart.boxes:>6} ({chart.merged_into} merged)"
        )
        print(
            f"{'':>7} {len(every['sends']):>7} sends unstored (MAX_SENDS {sends}): chart alone"
            f" {statistics.median(every_chart) * 1000:.1f} ms, {len(whole.svg) // 1000} kB,"
            f" {whole.boxes} boxes"
        )


if __name__ == "__main__":
    main()
