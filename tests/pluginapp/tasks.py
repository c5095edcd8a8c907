"""Imported at startup; imports the receivers' module only in the function that sends."""

from __future__ import annotations

from typing import Any

from . import registry  # noqa: F401
from .signals import badge_types


def run_exports() -> list[Any]:
    from . import exports  # noqa: F401
    from .signals import export_types

    return export_types.send(None)


def badges() -> list[Any]:
    return badge_types.send(None)
