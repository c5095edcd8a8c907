"""Imported by a settings module, before any app: its connect() runs before
signal_inspector is imported, through a name the source scan cannot follow."""

from __future__ import annotations

from typing import Any

from django.core.signals import request_finished


def settings_time_receiver(sender: Any, **kwargs: Any) -> None:
    pass


connect = request_finished.connect
connect(settings_time_receiver, dispatch_uid="tests.early.settings_time")
