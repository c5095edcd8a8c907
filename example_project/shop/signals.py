"""The shop's own signals. Receivers live in receivers.py."""

from __future__ import annotations

from django.dispatch import Signal

# Sent after an order is paid, with the ``order``. Sent with send_robust():
# a failing receiver (loyalty points, say) must not undo a payment that happened.
order_paid = Signal()

# Sent when a customer cancels an order, with the ``order``. Sent with plain
# send(): if a receiver raises, Django stops and the receivers after it never run.
order_cancelled = Signal()
