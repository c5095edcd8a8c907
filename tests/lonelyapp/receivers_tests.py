# A test module with receivers (named *_tests.py, so pytest does not import it): never reported.
from __future__ import annotations

from django.db.models.signals import post_save
from django.dispatch import receiver


@receiver(post_save)
def in_a_test(sender, **kwargs):
    return None
