from __future__ import annotations

from django.db import models


class Order(models.Model):
    number = models.CharField(max_length=50)
    paid = models.BooleanField(default=False)

    def __str__(self) -> str:  # would query if it followed a relation; it must not be called
        return f"Order {self.number}"


class AuditLog(models.Model):
    message = models.CharField(max_length=200)
