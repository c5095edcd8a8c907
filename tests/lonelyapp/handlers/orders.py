# Deliberate mistake for the tests: nothing imports this module either.
from __future__ import annotations

from django.db.models.signals import pre_delete
from django.dispatch import receiver


@receiver(pre_delete)
def archive(sender, **kwargs):
    return None
