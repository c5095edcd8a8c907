"""Receivers of a signal other than pre/post_migrate in a management package:
connected only while migrate runs."""

from __future__ import annotations

from typing import Any

from django.core.signals import request_finished
from django.dispatch import receiver


@receiver(request_finished, dispatch_uid="tests.migrateapp.management.finished")
def finished(sender: Any, **kwargs: Any) -> None:
    pass
