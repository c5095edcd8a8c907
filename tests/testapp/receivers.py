from __future__ import annotations

from django.db.models.signals import post_save
from django.dispatch import receiver

from .models import AuditLog, Order
from .signals import order_paid


@receiver(post_save, sender=Order, dispatch_uid="testapp.audit_order_saved")
def audit_order_saved(sender, instance, created, **kwargs):
    if created:
        AuditLog.objects.create(message=f"order {instance.pk} created")


@receiver(order_paid, dispatch_uid="testapp.mark_paid")
def mark_paid(sender, order, **kwargs):
    order.paid = True
    order.save(update_fields=["paid"])
    return "marked"


@receiver(order_paid, dispatch_uid="testapp.refuse_hostile")
def refuse_hostile(sender, order, **kwargs):
    if order.number.startswith("<"):
        raise ValueError(f"refused {order.number}")
    return None
