"""Views and signals for the OpenTelemetry tests (URLconf, and the WSGI/ASGI servers'
application): a cascade, a receiver that raises, one that queries, one that
schedules on_commit work, a silent send, a sync and an async view."""

from __future__ import annotations

from django.db import transaction
from django.dispatch import Signal, receiver
from django.http import HttpResponse
from django.urls import path

from tests.testapp.models import AuditLog, Order

checkout = Signal()
shipped = Signal()
nobody_listens = Signal()


@receiver(checkout, dispatch_uid="otel_app.reserve_stock")
def reserve_stock(sender, **kwargs):
    AuditLog.objects.create(message="reserved")
    shipped.send(sender="warehouse", parcel=1)
    return "reserved"


@receiver(checkout, dispatch_uid="otel_app.charge_card")
def charge_card(sender, api_key=None, **kwargs):
    if kwargs.get("fail"):
        raise ValueError("card declined")
    transaction.on_commit(_receipt)
    return "charged"


@receiver(shipped, dispatch_uid="otel_app.notify")
def notify(sender, **kwargs):
    return None


async def async_listener(sender, **kwargs):
    return "heard"


checkout.connect(async_listener, dispatch_uid="otel_app.async_listener")


def _receipt() -> None:
    AuditLog.objects.create(message="receipt")


def buy(request):
    nobody_listens.send(sender="nobody")
    with transaction.atomic():
        results = checkout.send_robust(
            sender="shop", api_key="sk-live-SECRET", fail=bool(request.GET.get("fail"))
        )
    return HttpResponse(f"{len(results)} receivers")


def buy_many(request):
    for number in range(int(request.GET.get("n", "10"))):
        shipped.send(sender="warehouse", parcel=number)
    return HttpResponse("many")


def bulk(request):
    Order.objects.create(number="B-1")
    Order.objects.update(paid=True)  # post_save's receivers never hear of it
    return HttpResponse("bulk")


async def abuy(request):
    results = await checkout.asend_robust(sender="shop")
    return HttpResponse(f"{len(results)} receivers")


urlpatterns = [
    path("buy/", buy),
    path("buy-many/", buy_many),
    path("abuy/", abuy),
    path("bulk/", bulk),
]
