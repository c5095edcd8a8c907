"""Views for tests/test_concurrency.py's servers.

Each page sends a signal carrying the request's marker, waits until every request
of its group has sent too, then sends again: every request's recording is open
while all the others send. The receivers sleep, so sends overlap in time as well.
"""

from __future__ import annotations

import asyncio
import threading
import time

from django.dispatch import Signal, receiver
from django.http import HttpRequest, HttpResponse
from django.urls import include, path

PAGE = "<html><body><h1>{}</h1></body></html>"
PAUSE_S = 0.02
# Long enough for a loaded 2-core machine to start every request of a group;
# a group that never fills fails its requests instead of hanging them.
GATHER_TIMEOUT_S = 60.0

marked = Signal()
amarked = Signal()


def show_toolbar(request: HttpRequest) -> bool:
    return request.META.get("REMOTE_ADDR") == "127.0.0.1"


@receiver(marked, dispatch_uid="concurrency.dawdle")
def dawdle(sender, marker, **kwargs):
    time.sleep(PAUSE_S)
    return f"seen {marker}"


@receiver(amarked, dispatch_uid="concurrency.adawdle")
async def adawdle(sender, marker, **kwargs):
    await asyncio.sleep(PAUSE_S)
    return f"seen {marker}"


_lock = threading.Lock()
_barriers: dict[str, threading.Barrier] = {}


def _barrier(group: str, parties: int) -> threading.Barrier:
    with _lock:
        if group not in _barriers:
            _barriers[group] = threading.Barrier(parties, timeout=GATHER_TIMEOUT_S)
        return _barriers[group]


class _Gathering:
    """An asyncio barrier for one group (``asyncio.Barrier`` needs Python 3.11)."""

    def __init__(self, parties: int) -> None:
        self.parties = parties
        self.arrived = 0
        self.full = asyncio.Event()

    async def wait(self) -> None:
        self.arrived += 1
        if self.arrived >= self.parties:
            self.full.set()
        await asyncio.wait_for(self.full.wait(), timeout=GATHER_TIMEOUT_S)


_gatherings: dict[str, _Gathering] = {}


def ready(request: HttpRequest) -> HttpResponse:
    return HttpResponse("ready", content_type="text/plain")


def mark(request: HttpRequest, group: str, parties: int, marker: str) -> HttpResponse:
    marked.send(sender=None, marker=marker)
    _barrier(group, parties).wait()
    marked.send(sender=None, marker=marker)
    return HttpResponse(PAGE.format(marker))


async def amark(request: HttpRequest, group: str, parties: int, marker: str) -> HttpResponse:
    await amarked.asend(sender=None, marker=marker)
    gathering = _gatherings.setdefault(group, _Gathering(parties))
    await gathering.wait()
    await amarked.asend(sender=None, marker=marker)
    return HttpResponse(PAGE.format(marker))


urlpatterns = [
    path("ready/", ready),
    path("mark/<slug:group>/<int:parties>/<slug:marker>/", mark),
    path("amark/<slug:group>/<int:parties>/<slug:marker>/", amark),
    path("__debug__/", include("debug_toolbar.urls")),
]
