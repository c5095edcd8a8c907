"""URLs and views for the panel's tests: the test project's pages plus a few that
send many signals, loop, run a receiver twice, skip receivers or overlap."""

from __future__ import annotations

import asyncio
import contextlib
import threading
import time

from django.db import transaction
from django.dispatch import Signal, receiver
from django.http import HttpRequest, HttpResponse
from django.template import Context, Template
from django.urls import include, path

from .urls import urlpatterns as project_urlpatterns

PAGE = "<html><body><h1>{}</h1></body></html>"

burst = Signal()
chain = Signal()
twice = Signal()
strict = Signal()
slow = Signal()
probe = Signal()
scheduled = Signal()
runaway = Signal()
leaky = Signal()


@receiver(burst, dispatch_uid="panel_urls.count_burst")
def count_burst(sender, n, **kwargs):
    return n


@receiver(chain, dispatch_uid="panel_urls.resend")
def resend(sender, depth, **kwargs):
    # Re-enters itself for the same signal and sender: a (bounded) loop.
    if depth < 3:
        chain.send(sender=sender, depth=depth + 1)


@receiver(runaway, dispatch_uid="panel_urls.again")
def again(sender, **kwargs):
    # No guard: re-sends until Python's recursion limit stops it.
    runaway.send(sender=sender)


tick = Signal()
tock = Signal()


@receiver(tick, dispatch_uid="panel_urls.answer_tick")
def answer_tick(sender, depth, **kwargs):
    # A chain of two receivers that loops: tick → tock → tick → ...
    if depth < 40:
        tock.send(sender=sender, depth=depth + 1)


@receiver(tock, dispatch_uid="panel_urls.answer_tock")
def answer_tock(sender, depth, **kwargs):
    tick.send(sender=sender, depth=depth + 1)


def check_card(card_token: str) -> None:
    raise PermissionError("card declined")


@receiver(leaky, dispatch_uid="panel_urls.charge")
def charge(sender, **kwargs):
    # The source line in the traceback holds a secret literal.
    check_card(card_token="tok-LEAK-42")


def audit_twice(sender, **kwargs):
    return "audited"


# The same function under two dispatch_uids: Django calls it twice per send.
twice.connect(audit_twice, dispatch_uid="panel_urls.audit_a")
twice.connect(audit_twice, dispatch_uid="panel_urls.audit_b")


@receiver(strict, dispatch_uid="panel_urls.explode")
def explode(sender, **kwargs):
    raise RuntimeError("<b>boom</b>")


@receiver(strict, dispatch_uid="panel_urls.never_runs")
def never_runs(sender, **kwargs):
    return "unreachable"


@receiver(slow, dispatch_uid="panel_urls.dawdle")
def dawdle(sender, **kwargs):
    # Far above the tests' 50 ms threshold: no other receiver reaches it, even
    # on a loaded machine.
    time.sleep(0.1)


@receiver(probe, dispatch_uid="panel_urls.note")
def note(sender, tag, **kwargs):
    return f"noted {tag}"


@receiver(scheduled, dispatch_uid="panel_urls.schedule_email")
def schedule_email(sender, **kwargs):
    transaction.on_commit(lambda: None)


def many_sends(request: HttpRequest, count: int) -> HttpResponse:
    for i in range(count):
        burst.send(sender=None, n=i)
    return HttpResponse(PAGE.format(f"{count} sends"))


def mixed_sends(request: HttpRequest, count: int) -> HttpResponse:
    # Two senders in turn: no two neighbouring sends are alike, none is folded.
    for i in range(count):
        burst.send(sender=("left", "right")[i % 2], n=i)
    return HttpResponse(PAGE.format(f"{count} mixed sends"))


def heavy_sends(request: HttpRequest, count: int, size: int) -> HttpResponse:
    for i in range(count):
        burst.send(sender=("left", "right")[i % 2], n="x" * size)
    return HttpResponse(PAGE.format(f"{count} heavy sends"))


def with_nonce(request: HttpRequest) -> HttpResponse:
    # The page uses its CSP nonce (django-csp and Django 6 make one only when asked).
    probe.send(sender=None, tag="csp")
    nonce = getattr(request, "csp_nonce", None)
    if nonce is None:
        from django.middleware.csp import get_nonce  # Django 6's own CSP

        nonce = get_nonce(request)
    return HttpResponse(PAGE.format(f'<style nonce="{nonce}"></style>'))


def only_silent(request: HttpRequest) -> HttpResponse:
    # Signals no receiver listens to: silent sends only.
    for _ in range(3):
        Signal().send(sender=None)
    return HttpResponse(PAGE.format("silent"))


def tick_tock(request: HttpRequest) -> HttpResponse:
    tick.send(sender=None, depth=1)
    return HttpResponse(PAGE.format("tick tock"))


def recursed(request: HttpRequest) -> HttpResponse:
    with contextlib.suppress(RecursionError):
        runaway.send(sender=None)
    return HttpResponse(PAGE.format("recursed"))


def templated(request: HttpRequest) -> HttpResponse:
    # The toolbar's Templates panel makes each render send template_rendered.
    template = Template("<html><body>{% for i in items %}<p>{{ i }}</p>{% endfor %}</body></html>")
    probe.send(sender=None, tag="templated")
    return HttpResponse(template.render(Context({"items": [1, 2, 3]})))


def trouble(request: HttpRequest) -> HttpResponse:
    chain.send(sender=None, depth=1)
    twice.send(sender=None)
    with contextlib.suppress(RuntimeError):
        strict.send(sender=None)
    slow.send(sender=None)
    leaky.send_robust(sender=None)
    with transaction.atomic():
        scheduled.send(sender=None)
    return HttpResponse(PAGE.format("trouble"))


# Two overlapping requests meet here, so each sends while the other is mid-request.
thread_barrier = threading.Barrier(2, timeout=10)


def overlap(request: HttpRequest, tag: str) -> HttpResponse:
    probe.send(sender=None, tag=tag)
    thread_barrier.wait()
    probe.send(sender=None, tag=tag)
    return HttpResponse(PAGE.format(tag))


class AsyncRendezvous:
    """An asyncio barrier for two tasks (``asyncio.Barrier`` needs Python 3.11)."""

    def __init__(self) -> None:
        self.arrived = 0
        self.event: asyncio.Event | None = None

    async def wait(self) -> None:
        if self.event is None:
            self.event = asyncio.Event()
        self.arrived += 1
        if self.arrived >= 2:
            self.event.set()
        await asyncio.wait_for(self.event.wait(), timeout=10)


rendezvous = AsyncRendezvous()


async def aoverlap(request: HttpRequest, tag: str) -> HttpResponse:
    await probe.asend(sender=None, tag=tag)
    await rendezvous.wait()
    await probe.asend(sender=None, tag=tag)
    return HttpResponse(PAGE.format(tag))


urlpatterns = [
    path("many/<int:count>/", many_sends, name="many"),
    path("mixed/<int:count>/", mixed_sends, name="mixed"),
    path("heavy/<int:count>/<int:size>/", heavy_sends, name="heavy"),
    path("trouble/", trouble, name="trouble"),
    path("csp/", with_nonce, name="csp"),
    path("silent/", only_silent, name="silent"),
    path("templated/", templated, name="templated"),
    path("recursed/", recursed, name="recursed"),
    path("ticktock/", tick_tock, name="ticktock"),
    path("overlap/<str:tag>/", overlap, name="overlap"),
    path("aoverlap/<str:tag>/", aoverlap, name="aoverlap"),
    # Included directly: pytest-django runs with DEBUG=False, where
    # debug_toolbar_urls() returns nothing.
    path("__debug__/", include("debug_toolbar.urls")),
    *project_urlpatterns,
]
