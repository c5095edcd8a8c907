"""migrate imports every app's management package before it sends post_migrate
(django-guardian connects its anonymous-user receiver this way)."""

from __future__ import annotations

from typing import Any

from django.db.models.signals import post_migrate
from django.dispatch import receiver

ran: list[str] = []


@receiver(post_migrate, dispatch_uid="tests.viewsapp.management.after_migrate")
def after_migrate(sender: Any, **kwargs: Any) -> None:
    ran.append(sender.label)
