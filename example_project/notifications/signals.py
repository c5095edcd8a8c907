"""Push notifications for customers -- NEVER CONNECTED, on purpose.

The classic mistake, kept in the example for signal_inspector to find: nothing
imports this module (NotificationsConfig has no ready()), so the @receiver
decorators below never run, nobody is notified, and Django says nothing.
The fix would be ``from . import signals`` in NotificationsConfig.ready().
"""

from __future__ import annotations

import logging
from typing import Any

from django.conf import settings
from django.db.models.signals import post_save
from django.dispatch import receiver

from shop.signals import order_paid

logger = logging.getLogger(__name__)


@receiver(order_paid)
def push_order_paid(sender: type, order: Any, **kwargs: Any) -> None:
    logger.info("push to %s: order %s is paid", order.customer, order.number)


@receiver(post_save, sender=settings.AUTH_USER_MODEL)
def push_welcome(sender: type, instance: Any, created: bool, **kwargs: Any) -> None:
    if created:
        logger.info("push to %s: welcome!", instance)
