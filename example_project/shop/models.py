from __future__ import annotations

from decimal import Decimal
from typing import Any

from django.conf import settings
from django.db import models
from django.utils import timezone

from .signals import order_cancelled, order_paid


class Product(models.Model):
    name = models.CharField(max_length=100, unique=True)
    price = models.DecimalField(max_digits=8, decimal_places=2)

    def __str__(self) -> str:
        return self.name


class Order(models.Model):
    number = models.SlugField(max_length=20, unique=True)
    customer = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="orders"
    )
    created = models.DateTimeField(auto_now_add=True)
    paid_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["number"]

    def __str__(self) -> str:
        return self.number

    def total(self) -> Decimal:
        return sum((item.subtotal for item in self.items.all()), Decimal(0))

    def pay(self) -> list[tuple[Any, Any]]:
        """Mark the order paid and tell the rest of the shop.

        Returns send_robust()'s (receiver, response or exception) pairs.
        """
        self.paid_at = timezone.now()
        self.save(update_fields=["paid_at"])
        return order_paid.send_robust(sender=Order, order=self)

    def cancel(self) -> list[tuple[Any, Any]]:
        """Tell the shop the order is cancelled (plain send(): errors propagate)."""
        return order_cancelled.send(sender=Order, order=self)

    async def apay(self) -> list[tuple[Any, Any]]:
        """pay() for async views: asend_robust() runs sync receivers in a thread."""
        self.paid_at = timezone.now()
        await self.asave(update_fields=["paid_at"])
        return await order_paid.asend_robust(sender=Order, order=self)


class OrderItem(models.Model):
    order = models.ForeignKey(Order, on_delete=models.CASCADE, related_name="items")
    product = models.ForeignKey(Product, on_delete=models.PROTECT)
    quantity = models.PositiveIntegerField(default=1)
    unit_price = models.DecimalField(max_digits=8, decimal_places=2)

    @property
    def subtotal(self) -> Decimal:
        return self.unit_price * self.quantity


class LoyaltyAccount(models.Model):
    customer = models.OneToOneField(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="loyalty"
    )
    points = models.PositiveIntegerField(default=0)
    blocked = models.BooleanField(default=False)

    def __str__(self) -> str:
        return f"{self.points} points"


class AuditEntry(models.Model):
    """What happened, written by receivers (never by views)."""

    created = models.DateTimeField(auto_now_add=True)
    action = models.CharField(max_length=20)
    message = models.CharField(max_length=200)

    class Meta:
        ordering = ["-id"]
        verbose_name_plural = "audit entries"

    def __str__(self) -> str:
        return f"{self.action}: {self.message}"


class Restock(models.Model):
    """A delivery of more units of a product (see the deliberate loop in receivers.py)."""

    product = models.ForeignKey(Product, on_delete=models.CASCADE, related_name="restocks")
    quantity = models.PositiveIntegerField()
    note = models.CharField(max_length=200, blank=True)

    def __str__(self) -> str:
        return f"{self.quantity} x {self.product}"
