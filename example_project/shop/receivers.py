"""What the shop does when things happen. Connected by ShopConfig.ready()."""

from __future__ import annotations

import asyncio
import contextlib
import time
import urllib.request
from typing import Any

from django.conf import settings
from django.contrib.auth import get_user_model
from django.core.mail import send_mail
from django.db.models.signals import post_delete, post_save, pre_delete
from django.dispatch import receiver

from .models import AuditEntry, LoyaltyAccount, Order, Product, Restock
from .signals import order_cancelled, order_paid

User = get_user_model()


class LoyaltyAccountBlocked(Exception):
    pass


class PaymentProviderDown(Exception):
    pass


@receiver(order_paid)
def email_receipt(sender: type, order: Order, **kwargs: Any) -> int:
    # The slow one: stands in for rendering a PDF and an SMTP round trip.
    time.sleep(0.05)
    lines = "\n".join(
        f"{item.quantity} x {item.product} = {item.subtotal}"
        for item in order.items.select_related("product")
    )
    return send_mail(
        f"Receipt for order {order.number}",
        f"Thank you!\n\n{lines}\nTotal: {order.total()}",
        None,
        [order.customer.email],
    )


@receiver(order_paid, sender=Order)
def award_loyalty_points(sender: type, order: Order, **kwargs: Any) -> int:
    account, _ = LoyaltyAccount.objects.get_or_create(customer=order.customer)
    if account.blocked:
        # Deliberate: mallory's account is blocked, so paying her order shows
        # send_robust() catching a receiver's exception while the others still run.
        raise LoyaltyAccountBlocked(f"loyalty account of {order.customer} is blocked")
    points = int(order.total())
    account.points += points
    # A cascade: this save sends post_save(LoyaltyAccount), which runs
    # audit_loyalty_change inside this receiver.
    account.save(update_fields=["points"])
    return points


@receiver(order_paid, sender=Order)
async def notify_warehouse(sender: type, order: Order, **kwargs: Any) -> str:
    # Stands in for an HTTP call to the warehouse; under send_robust() Django
    # runs async receivers through async_to_sync.
    await asyncio.sleep(0.01)
    await AuditEntry.objects.acreate(action="shipping", message=f"order {order.number} to ship")
    return f"warehouse notified of {order.number}"


@receiver(post_save, sender=User)
def open_loyalty_account(sender: type, instance: Any, created: bool, **kwargs: Any) -> None:
    if created:
        LoyaltyAccount.objects.create(customer=instance)


@receiver(post_save, sender=LoyaltyAccount)
def audit_loyalty_change(
    sender: type, instance: LoyaltyAccount, created: bool, **kwargs: Any
) -> None:
    verb = "opened" if created else "now has"
    AuditEntry.objects.create(
        action="loyalty",
        message=f"account of user {instance.customer_id} {verb} {instance.points} points",
    )


@receiver(pre_delete, sender=Order)
def audit_order_deleting(sender: type, instance: Order, **kwargs: Any) -> None:
    # pre_delete, while the items still exist to be counted.
    AuditEntry.objects.create(
        action="deleting", message=f"order {instance.number} with {instance.items.count()} items"
    )


@receiver(post_delete, sender=Order)
def audit_order_deleted(sender: type, instance: Order, **kwargs: Any) -> None:
    AuditEntry.objects.create(action="deleted", message=f"order {instance.number}")


# --- cancelling: receivers skipped after an exception (DELIBERATE) -------------
# order_cancelled is sent with plain send(). refund_payment raises, so Django
# stops there: restock_items and email_cancellation never run, and nothing
# says so. The Signals panel lists them as "not run" under refund_payment.


@receiver(order_cancelled, sender=Order)
def refund_payment(sender: type, order: Order, **kwargs: Any) -> None:
    # Deliberate: stands in for a payment provider that is down.
    raise PaymentProviderDown(f"refund for order {order.number} failed: provider unavailable")


@receiver(order_cancelled, sender=Order)
def restock_items(sender: type, order: Order, **kwargs: Any) -> None:
    AuditEntry.objects.create(action="restocked", message=f"items of order {order.number}")


@receiver(order_cancelled, sender=Order)
def email_cancellation(sender: type, order: Order, **kwargs: Any) -> int:
    return send_mail(f"Order {order.number} cancelled", "Sorry to see it go.", None,
                     [order.customer.email])


# --- restocking: a receiver that loops (DELIBERATE) ------------------------------
# The classic: a post_save receiver that saves its own instance. Each save sends
# post_save again, until Python's recursion limit: the request dies with
# RecursionError. The Signals panel (on Django's debug error page) shows the loop.


@receiver(post_save, sender=Restock)
def stamp_restock(sender: type, instance: Restock, created: bool, **kwargs: Any) -> None:
    instance.note = f"{instance.quantity} units received"
    instance.save()  # the mistake: fires post_save again; use update_fields + a guard


# --- repricing: signals that hurt (DELIBERATE) ------------------------------------
# Nothing fails on the reprice page, and every one of these is a problem the
# Signals panel names as a finding: the bulk update() runs no post_save at all,
# the receiver repeats one query per save, calls a "search service" over the
# network while the user waits, and mails the buyers before the transaction
# commits.


@receiver(post_save, sender=Product)
def sync_product(sender: type, instance: Product, update_fields: Any = None, **kwargs: Any) -> int:
    if not update_fields or "price" not in update_fields:
        return 0  # the demo data's own saves: nothing to sync
    repriced = AuditEntry.objects.filter(action="repriced").count()  # once per save: N+1
    AuditEntry.objects.create(action="repriced", message=f"{instance} now {instance.price}")
    # The search index, over HTTP (nothing listens in the demo: refused at once).
    with contextlib.suppress(OSError):
        urllib.request.urlopen(settings.SEARCH_SERVICE_URL, timeout=0.2).close()
    send_mail(f"{instance} repriced", f"New price: {instance.price}", None,
              ["buyers@example.com"])
    return repriced
