"""A receiver of a signal nothing sends: runperiodic-style code calls its
receivers itself (pretix/base/services/waitinglist.py)."""

from __future__ import annotations

from typing import Any

from django.dispatch import receiver

from .signals import periodic


@receiver(signal=periodic)
def process_waitinglist(sender: Any, **kwargs: Any) -> None:
    return None
