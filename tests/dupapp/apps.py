from __future__ import annotations

from django.apps import AppConfig


class DupAppConfig(AppConfig):
    """Holds one of each kind of duplicate registration, and each look-alike."""

    name = "tests.dupapp"
    label = "dupapp"

    def ready(self) -> None:
        from . import wiring

        wiring.connect_all()
