from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand
from django.core.signals import request_started
from django.dispatch import receiver


@receiver(request_started, dispatch_uid="tests.viewsapp.commands.started")
def started(sender: Any, **kwargs: Any) -> None:
    pass


class Command(BaseCommand):
    def handle(self, *args: Any, **options: Any) -> None:
        pass
