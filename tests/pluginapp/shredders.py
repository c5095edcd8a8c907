"""Receivers of shred_types, sent by registry.get_shredders(), whose every caller
imports this module (pretix/base/shredder.py and Event.get_data_shredders())."""

from __future__ import annotations

from typing import Any

from django.dispatch import receiver

from .signals import shred_types


@receiver(shred_types, dispatch_uid="tests.pluginapp.shredders")
def core_shredders(sender: Any, **kwargs: Any) -> list[str]:
    return ["invoices"]
