from __future__ import annotations

from django.dispatch import Signal

order_paid = Signal()
