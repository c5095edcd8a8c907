from __future__ import annotations

from typing import Any

from django.dispatch import receiver

from .signals import plugin_hook


@receiver(plugin_hook)
def zulu(sender: Any, **kwargs: Any) -> str:
    return "zulu"


@receiver(plugin_hook)
def alpha(sender: Any, **kwargs: Any) -> str:
    return "alpha"


def mike(sender: Any, **kwargs: Any) -> str:
    return "mike"


plugin_hook.connect(mike)
