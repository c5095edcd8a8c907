"""Receivers for the duplicate and look-alike registrations made in wiring.py."""

from __future__ import annotations

from typing import Any


class PlainSender:
    """A sender that is a class but not a model."""


def any_and_thing(sender: Any, **kwargs: Any) -> None:
    pass


def two_uids(sender: Any, **kwargs: Any) -> None:
    pass


def shared(sender: Any, **kwargs: Any) -> None:
    pass


def per_sender(sender: Any, **kwargs: Any) -> None:
    pass


def same_name(sender: Any, **kwargs: Any) -> None:
    pass


def first(sender: Any, **kwargs: Any) -> None:
    pass


def second(sender: Any, **kwargs: Any) -> None:
    pass


def connected_twice(sender: Any, **kwargs: Any) -> None:
    pass


async def on_ping_async(sender: Any, **kwargs: Any) -> None:
    pass


def model_saved(sender: Any, **kwargs: Any) -> None:
    pass


def lazy_saved(sender: Any, **kwargs: Any) -> None:
    pass


def later_saved(sender: Any, **kwargs: Any) -> None:
    pass
