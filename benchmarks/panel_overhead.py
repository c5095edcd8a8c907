"""Extra time the Signals panel adds to a request that sends 2,000 signals.

One process, one toolbar: the same view is requested with the panel on and off
(the toolbar's own per-panel cookie), interleaved so machine drift hits both
alike. Each request goes through the whole toolbar (middleware, every default
panel, rendering the toolbar, the memory store). Prints medians and the ratio,
for the default settings and with the toolbar's stack traces off. Also times
rendering the panel (``render_panel``), which happens only when it is opened.
Not a test: nothing asserts a time.

    python benchmarks/panel_overhead.py [--rounds N] [--sends N]
"""

from __future__ import annotations

import argparse
import json
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
)
django.setup()

from debug_toolbar.toolbar import debug_toolbar_urls  # noqa: E402
from django.dispatch import Signal  # noqa: E402
from django.http import HttpRequest, HttpResponse  # noqa: E402
from django.test import Client, override_settings  # noqa: E402
from django.urls import path, reverse  # noqa: E402

item_changed = Signal()
SENDS = 2000


def on_item_changed(sender, index, **kwargs):
    return index


item_changed.connect(on_item_changed, dispatch_uid="bench.on_item_changed")


def view(request: HttpRequest) -> HttpResponse:
    for index in range(SENDS):
        item_changed.send(sender=None, index=index)
    return HttpResponse("<html><body>sent</body></html>")


urlpatterns = [path("", view), *debug_toolbar_urls()]


def timed_get(client: Client) -> tuple[float, object]:
    started = time.perf_counter()
    response = client.get("/")
    return (time.perf_counter() - started) * 1000, response


def run(rounds: int, label: str) -> None:
    on, off = Client(), Client()
    off.cookies["djdtSignalInspectorPanel"] = "off"
    for _ in range(5):  # warm up both paths
        timed_get(on)
        timed_get(off)
    with_panel, without_panel, render = [], [], []
    for _ in range(rounds):
        ms, response = timed_get(on)
        with_panel.append(ms)
        ms, _ = timed_get(off)
        without_panel.append(ms)
        request_id = response.content.decode().split('data-request-id="')[1].split('"')[0]
        started = time.perf_counter()
        on.get(
            reverse("djdt:render_panel"),
            {"request_id": request_id, "panel_id": "SignalInspectorPanel"},
        )
        render.append((time.perf_counter() - started) * 1000)
    a, b = statistics.median(with_panel), statistics.median(without_panel)
    print(f"{label}:")
    print(f"  toolbar without the panel  {b:8.1f} ms (median of {rounds})")
    print(f"  toolbar with the panel     {a:8.1f} ms")
    print(f"  extra                      {a - b:8.1f} ms   ratio x{a / b:.2f}")
    print(f"  opening the panel (render_panel, on demand) {statistics.median(render):.1f} ms")


def content_size(sends: int) -> tuple[int, int, float]:
    """Bytes of the panel's rendered content and of its stored stats for a
    request that sends ``sends`` signals, and the time to render the panel."""
    global SENDS
    saved, SENDS = SENDS, sends
    try:
        client = Client()
        response = client.get("/")
        request_id = response.content.decode().split('data-request-id="')[1].split('"')[0]
        started = time.perf_counter()
        rendered = client.get(
            reverse("djdt:render_panel"),
            {"request_id": request_id, "panel_id": "SignalInspectorPanel"},
        )
        took = (time.perf_counter() - started) * 1000
        from debug_toolbar.store import get_store

        stored = len(json.dumps(get_store().panel(request_id, "SignalInspectorPanel")))
        return len(rendered.json()["content"].encode()), stored, took
    finally:
        SENDS = saved


def main() -> None:
    global SENDS
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=30)
    parser.add_argument("--sends", type=int, default=2000)
    args = parser.parse_args()
    SENDS = args.sends
    print(
        f"Django {django.get_version()}, Python {sys.version.split()[0]}; {SENDS} sends per request"
    )
    run(args.rounds, "default settings (ENABLE_STACKTRACES on, MAX_SENDS 1000)")
    base = settings.DEBUG_TOOLBAR_CONFIG
    with override_settings(DEBUG_TOOLBAR_CONFIG={**base, "ENABLE_STACKTRACES": False}):
        run(args.rounds, "ENABLE_STACKTRACES off")
    print("size of the panel (default settings):")
    for sends in (2000, 20000):
        html, stored, took = content_size(sends)
        print(
            f"  {sends:>6} sends: rendered content {html / 1e6:.2f} MB, "
            f"stored stats {stored / 1e6:.2f} MB, rendered in {took:.0f} ms"
        )


if __name__ == "__main__":
    main()
