"""System checks: ``signal_inspector.E001`` for a broken setting."""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.core.checks import Error, Tags, register

from .conf import SETTING_NAME, validate


@register(Tags.compatibility)
def check_settings(app_configs: Any = None, **kwargs: Any) -> list[Error]:
    value = getattr(settings, SETTING_NAME, None)
    if value is None:
        return []
    return [
        Error(
            message,
            hint="See the Settings section of signal_inspector's README.",
            obj=SETTING_NAME,
            id="signal_inspector.E001",
        )
        for message in validate(value)
    ]
