# Deliberate mistake for the tests: nothing imports this module.
from __future__ import annotations

from django.contrib.auth.signals import user_logged_in
from django.db.models.signals import post_save
from django.dispatch import receiver


@receiver(post_save, sender="auth.User")
def create_profile(sender, instance, created, **kwargs):
    raise AssertionError("never connected, so never runs")


def on_login(sender, **kwargs):
    return None


user_logged_in.connect(on_login)
