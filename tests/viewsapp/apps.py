from __future__ import annotations

from django.apps import AppConfig


class ViewsConfig(AppConfig):
    """Imports its signals module in ready(); its views hold receivers too, which
    only the URLconf imports (the django-allauth-style user_logged_in hook)."""

    name = "tests.viewsapp"
    label = "viewsapp"

    def ready(self) -> None:
        from . import signals  # noqa: F401
