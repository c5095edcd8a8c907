from __future__ import annotations

from typing import Any


def same_name(sender: Any, **kwargs: Any) -> None:
    """Shares its name with handlers.same_name: different code, not a duplicate."""
