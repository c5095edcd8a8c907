"""A receiver whose signal tasks.py sends without importing this module: the one
W004 here that is true."""

from __future__ import annotations

from typing import Any

from django.dispatch import receiver

from .signals import badge_types


@receiver(badge_types)
def default_badges(sender: Any, **kwargs: Any) -> list[str]:
    return ["a6"]
