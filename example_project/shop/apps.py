from __future__ import annotations

from django.apps import AppConfig


class ShopConfig(AppConfig):
    name = "shop"

    def ready(self) -> None:
        from . import receivers
        from .models import Order
        from .signals import order_paid

        # DELIBERATE duplicate registration, kept so signal_inspector has one to find.
        # @receiver(order_paid) in receivers.py already connects email_receipt for
        # every sender. Connecting it again for sender=Order makes a second lookup
        # key, so Django calls it twice per paid order: every customer gets two
        # receipts. The panel flags the second call; `manage.py signalmap
        # --duplicates` lists both connect sites.
        order_paid.connect(receivers.email_receipt, sender=Order)
