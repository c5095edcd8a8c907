from __future__ import annotations

from django.apps import AppConfig


class PluginConfig(AppConfig):
    name = "tests.pluginapp"
    label = "pluginapp"

    def ready(self) -> None:
        from . import handlers, tasks  # noqa: F401
