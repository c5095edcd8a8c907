"""Holds a receiver of channel_types and the only send of it (pretix/base/channels.py)."""

from __future__ import annotations

from typing import Any

from django.dispatch import receiver

from .signals import channel_types


@receiver(channel_types)
def base_types(sender: Any, **kwargs: Any) -> list[str]:
    return ["web"]


def all_types() -> list[str]:
    return [t for _, types in channel_types.send(None) for t in types]
