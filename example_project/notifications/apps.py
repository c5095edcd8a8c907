from __future__ import annotations

from django.apps import AppConfig


class NotificationsConfig(AppConfig):
    name = "notifications"
    # DELIBERATE mistake, kept for signal_inspector to find: no ready() that
    # imports .signals, so its @receiver functions are never connected.
