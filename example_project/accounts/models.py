from __future__ import annotations

from django.conf import settings
from django.db import models


class Profile(models.Model):
    """Per-user data kept beside Django's User, created by a post_save receiver."""

    user = models.OneToOneField(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="profile"
    )
    bio = models.TextField(blank=True)
    created = models.DateTimeField(auto_now_add=True)

    def __str__(self) -> str:
        return f"profile of user {self.user_id}"
