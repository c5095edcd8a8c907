"""Weak receivers that die at once: the mistake Django's documentation warns of."""

from __future__ import annotations

from typing import Any

from django.dispatch import Signal

pinged = Signal()


def wire_closure() -> None:
    def on_ping(sender: Any, **kwargs: Any) -> None:
        pass

    pinged.connect(on_ping)  # site-closure


class Listener:
    def on_ping(self, sender: Any, **kwargs: Any) -> None:
        pass


def wire_method() -> None:
    pinged.connect(Listener().on_ping, dispatch_uid="tests.weak.method")  # site-method


def wire_kept() -> Any:
    def kept(sender: Any, **kwargs: Any) -> None:
        pass

    pinged.connect(kept)
    return kept
