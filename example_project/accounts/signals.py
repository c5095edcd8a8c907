"""Create a Profile for every new User, the way Django tutorials teach it."""

from __future__ import annotations

from typing import Any

from django.contrib.auth import get_user_model
from django.db.models.signals import post_save
from django.dispatch import receiver

from .models import Profile

User = get_user_model()


@receiver(post_save, sender=User)
def create_profile(sender: type, instance: Any, created: bool, **kwargs: Any) -> None:
    # post_save also fires on every later save (each login updates last_login).
    if created:
        Profile.objects.create(user=instance)
