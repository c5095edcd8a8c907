"""Imported as tests.dupapp.imported_twice and again as dupapp_alias.imported_twice.

Absolute imports only: the second copy must connect to the same signal.
"""

from __future__ import annotations

from typing import Any

from django.dispatch import receiver

from tests.dupapp.signals import ping


@receiver(ping)
def on_ping(sender: Any, **kwargs: Any) -> None:
    pass
