"""Receivers of export_types; every module that sends it imports this one."""

from __future__ import annotations

from typing import Any

from django.dispatch import receiver

from . import signals


@receiver(signals.export_types)
def csv_export(sender: Any, **kwargs: Any) -> str:
    return "csv"
