from __future__ import annotations

from django.apps import AppConfig


class LonelyConfig(AppConfig):
    """Deliberately forgets to import signals.py and handlers/orders.py in ready()."""

    name = "tests.lonelyapp"
    label = "lonelyapp"

    def ready(self) -> None:
        from . import imported  # noqa: F401  (the correct version: no warning for it)
