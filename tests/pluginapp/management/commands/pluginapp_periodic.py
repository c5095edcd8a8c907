"""runperiodic's pattern: the receivers of ``periodic`` are called directly."""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand

from ...signals import periodic


class Command(BaseCommand):
    def handle(self, *args: Any, **options: Any) -> None:
        for receiver in periodic._live_receivers(self)[0]:
            self.stdout.write(f"{receiver.__module__}.{receiver.__name__}")
            receiver(signal=periodic, sender=self)
