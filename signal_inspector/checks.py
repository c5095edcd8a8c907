"""System checks.

- ``signal_inspector.W001``: one piece of code is registered to run twice per send.
- ``signal_inspector.W002``: a project module defines receivers but nothing imports it.
- ``signal_inspector.W003``: a weakly connected receiver was garbage-collected.
- ``signal_inspector.W004``: a project module defines receivers that only the URLconf
  imports, of a signal that may be sent where nothing loaded it (``skip_checks``, the
  shell, task workers, scripts).
- ``signal_inspector.W005``: the ``SIGNAL_INSPECTOR`` setting is broken (was ``E001``:
  recording goes on with the defaults, so it must not stop ``migrate`` or ``runserver``).
- ``signal_inspector.W006``: the toolbar lists our panel but the app is not installed.
- ``signal_inspector.W010``: Django's dispatcher is not one signal_inspector knows.
- ``signal_inspector.W011``: another tool wrapped a ``Signal`` send method first.

Imported by the app's ``ready()`` and by the panel module, so W006 is
registered even when ``signal_inspector`` is missing from ``INSTALLED_APPS``;
the other checks then stay silent.
"""

from __future__ import annotations

from typing import Any

from django.apps import apps
from django.conf import settings
from django.core.checks import Tags, Warning, register

PANEL_PATH = "signal_inspector.panels.SignalInspectorPanel"
# Hints name pages of the docs site by URL, as Django's own checks do
# (tests/test_docs.py checks that each page exists).
DOCS_URL = "https://django-signal-inspector.readthedocs.io/en/latest/"


def _installed() -> bool:
    return apps.is_installed("signal_inspector")


@register(Tags.compatibility)
def check_settings(app_configs: Any = None, **kwargs: Any) -> list[Warning]:
    """``signal_inspector.W005``: one warning per problem in ``SIGNAL_INSPECTOR``."""
    from .conf import SETTING_NAME, validate

    value = getattr(settings, SETTING_NAME, None)
    if value is None:
        return []
    return [
        Warning(
            message,
            hint=f"Recording uses the defaults until it is fixed. See {DOCS_URL}settings.html",
            obj=SETTING_NAME,
            id="signal_inspector.W005",
        )
        for message in validate(value)
    ]


@register(Tags.compatibility)
def check_panel_app(app_configs: Any = None, **kwargs: Any) -> list[Warning]:
    """``signal_inspector.W006``: the panel is in ``DEBUG_TOOLBAR_PANELS`` but the app
    is not installed, so its templates are not found (``TemplateDoesNotExist``)."""
    if _installed() or not apps.is_installed("debug_toolbar"):
        return []
    panels = getattr(settings, "DEBUG_TOOLBAR_PANELS", None)
    try:
        listed = PANEL_PATH in panels  # type: ignore[operator]
    except TypeError:
        return []
    if not listed:
        return []
    return [
        Warning(
            f"DEBUG_TOOLBAR_PANELS lists {PANEL_PATH}, but 'signal_inspector' is not in "
            "INSTALLED_APPS: the panel's templates are not found, and opening it fails "
            "with TemplateDoesNotExist.",
            hint="Add 'signal_inspector' to INSTALLED_APPS, first.",
            obj="DEBUG_TOOLBAR_PANELS",
            id="signal_inspector.W006",
        )
    ]


@register(Tags.signals)
def check_duplicate_receivers(app_configs: Any = None, **kwargs: Any) -> list[Any]:
    """``signal_inspector.W001``: one warning per duplicate registration group."""
    if not _installed():
        return []
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
    """``signal_inspector.W002``: receiver modules of project apps nothing imports
    (or only ``migrate``); ``signal_inspector.W004``: those only the URLconf imports."""
    if not _installed():
        return []
    from .unconnected import URLCONF, describe, describe_fix, find_unconnected

    return [
        Warning(
            describe(item),
            hint=describe_fix(item),
            obj=item.module,
            id="signal_inspector.W004" if item.reach == URLCONF else "signal_inspector.W002",
        )
        for item in find_unconnected(app_configs)
    ]


@register(Tags.signals)
def check_collected_receivers(app_configs: Any = None, **kwargs: Any) -> list[Any]:
    """``signal_inspector.W003``: receivers the project connected weakly that were
    garbage-collected while connected, so they never run again. Only where the
    project's own code called connect(): a library's per-object receivers
    (Django's file storages) die with their objects by design."""
    if not _installed():
        return []
    from .receivers import find_collected

    found = [c for c in find_collected() if c.project]
    if app_configs is not None:
        labels = {config.label for config in app_configs}
        found = [c for c in found if c.app in labels]
    return [
        Warning(c.message, hint=c.fix, obj=c.receiver, id="signal_inspector.W003")
        for c in found
    ]


@register(Tags.compatibility)
def check_dispatcher(app_configs: Any = None, **kwargs: Any) -> list[Any]:
    """``signal_inspector.W010``: an unknown dispatcher; ``W011``: a send method
    another tool wrapped first. Either way recordings are "sends only"."""
    if not _installed():
        return []
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
