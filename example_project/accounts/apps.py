from __future__ import annotations

from django.apps import AppConfig


class AccountsConfig(AppConfig):
    name = "accounts"

    def ready(self) -> None:
        # Connects the @receiver functions: a signals module nobody imports
        # connects nothing (see notifications/signals.py).
        from . import signals  # noqa: F401
