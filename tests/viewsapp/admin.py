"""Imported at startup by the admin's autodiscovery, and by the URLconf too."""

from __future__ import annotations

from typing import Any

from django.contrib.auth.signals import user_login_failed
from django.dispatch import receiver


@receiver(user_login_failed, dispatch_uid="tests.viewsapp.admin.failed")
def failed(sender: Any, **kwargs: Any) -> None:
    pass
