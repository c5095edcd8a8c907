"""System checks.

- ``signal_inspector.E001``: the ``SIGNAL_INSPECTOR`` setting is broken.
- ``signal_inspector.W001``: one piece of code is registered to run twice per send.
- ``signal_inspector.W002``: a project module defines receivers but nothing imports it.
- ``signal_inspector.W010``: Django's dispatcher is not one signal_inspector knows.
- ``signal_inspector.W011``: another tool wrapped a ``Signal`` send method first.
"""

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


@register(Tags.signals)
def check_duplicate_receivers(app_configs: Any = None, **kwargs: Any) -> list[Any]:
    """``signal_inspector.W001``: one warning per duplicate registration group."""
    from django.core.checks import Warning

    from .receivers import build_map

    groups = build_map().duplicates
    if app_configs is not None:
        labels = {config.label for config in app_configs}
        groups = [g for g in groups if any(r.app in labels for r in g.registrations)]
    return [
        Warning(
            f"{group.message} Connected at: "
            + "; ".join(
                f"{r.connected_at or 'unknown'} (sender: {r.sender or 'any'})"
                for r in group.registrations
            )
            + ".",
            hint=group.fix,
            obj=group.receiver,
            id="signal_inspector.W001",
        )
        for group in groups
    ]


@register(Tags.signals)
def check_unconnected_receivers(app_configs: Any = None, **kwargs: Any) -> list[Any]:
    """``signal_inspector.W002``: receiver modules of project apps nothing imported."""
    from django.core.checks import Warning

    from .unconnected import describe_fix, find_unconnected

    return [
        Warning(
            f"{item.file} defines receivers "
            + ", ".join(f"{r['name']} ({r['signal']})" for r in item.receivers)
            + f" but the module {item.module} is never imported, so none of them is connected.",
            hint=describe_fix(item),
            obj=item.module,
            id="signal_inspector.W002",
        )
        for item in find_unconnected(app_configs)
    ]


@register(Tags.compatibility)
def check_dispatcher(app_configs: Any = None, **kwargs: Any) -> list[Any]:
    """``signal_inspector.W010``: an unknown dispatcher; ``W011``: a send method
    another tool wrapped first. Either way recordings are "sends only"."""
    from django.core.checks import Warning

    from .patching import foreign_wrappers, installed_dispatcher, limitations

    out = []
    if installed_dispatcher()[0] is None:
        out.append(
            Warning(
                limitations()[0],
                hint="Django runs exactly as without signal_inspector; only the detail of "
                "recordings is reduced. A release of signal_inspector that knows this "
                "Django restores it.",
                obj="django.dispatch.dispatcher",
                id="signal_inspector.W010",
            )
        )
    for name, who in foreign_wrappers().items():
        out.append(
            Warning(
                f"Signal.{name} is wrapped by {who}, installed before signal_inspector "
                "recorded anything. signal_inspector keeps that wrapper working and so "
                f"records {name}() sends without per-receiver time or nesting.",
                hint="Nothing to fix if that tool is wanted; the panel says the same.",
                obj=f"django.dispatch.Signal.{name}",
                id="signal_inspector.W011",
            )
        )
    return out
