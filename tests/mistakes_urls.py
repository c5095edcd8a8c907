"""Views that make the classic signal mistakes (and their correct versions) for the
panel's diagnosis tests. Receivers are connected for the length of one request only."""

from __future__ import annotations

import contextlib

from django.db import transaction
from django.db.models.signals import post_save
from django.dispatch import Signal
from django.http import HttpRequest, HttpResponse
from django.urls import include, path

from .testapp.models import AuditLog, Order

order_placed = Signal()


def send_receipt() -> None:
    AuditLog.objects.create(message="receipt sent")


def schedule_receipt(sender, **kwargs):
    transaction.on_commit(send_receipt)


def placed(request: HttpRequest, outcome: str) -> HttpResponse:
    order_placed.connect(schedule_receipt, weak=False, dispatch_uid="mistakes.schedule")
    try:
        with contextlib.suppress(RuntimeError), transaction.atomic():
            order_placed.send(sender=Order)
            if outcome == "rollback":
                raise RuntimeError("payment failed: roll back")
    finally:
        order_placed.disconnect(dispatch_uid="mistakes.schedule")
    return HttpResponse("<html><body>placed</body></html>")


def audit_every_save(sender, instance, created, **kwargs):
    AuditLog.objects.create(message=f"order {instance.pk} saved")


def audit_new_orders(sender, instance, created, **kwargs):
    if created:
        AuditLog.objects.create(message=f"order {instance.pk} created")


def resave(request: HttpRequest, guard: str) -> HttpResponse:
    receiver = audit_new_orders if guard == "guarded" else audit_every_save
    order = Order.objects.create(number="R-1")
    post_save.connect(receiver, sender=Order, weak=False, dispatch_uid="mistakes.audit")
    try:
        order.number = "R-2"
        order.save()
    finally:
        post_save.disconnect(sender=Order, dispatch_uid="mistakes.audit")
    return HttpResponse("<html><body>saved</body></html>")


urlpatterns = [
    path("placed/<str:outcome>/", placed),
    path("resave/<str:guard>/", resave),
    path("__debug__/", include("debug_toolbar.urls")),
]
