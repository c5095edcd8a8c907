"""Create a Profile for every new User, the way Django tutorials teach it; and name
each profile as it loads (a deliberate mistake: a query per row loaded)."""

from __future__ import annotations

from typing import Any

from django.contrib.auth import get_user_model
from django.db.models.signals import post_init, post_save
from django.dispatch import receiver

from .models import Profile

User = get_user_model()


@receiver(post_save, sender=User)
def create_profile(sender: type, instance: Any, created: bool, **kwargs: Any) -> None:
    # post_save also fires on every later save (each login updates last_login).
    if created:
        Profile.objects.create(user=instance)


# DELIBERATE, the classic post_init mistake. post_init runs for every instance
# built, so for every row a query loads, and before select_related() fills in the
# related objects: reading instance.user here is one query per profile on the
# customers page, although its view asks for select_related("user"). (A profile
# made with its User in hand, as create_profile does, has it already: no query.)
@receiver(post_init, sender=Profile)
def name_profile(sender: type, instance: Profile, **kwargs: Any) -> None:
    if instance.user_id is not None:
        instance.display_name = instance.user.get_full_name() or instance.user.username
