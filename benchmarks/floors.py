"""Hand-written recorders at the floor of what recording a send costs in Python.

Not signal_inspector: the least a recorder can do, measured in the same run as
ours (send_overhead.py) so that its ratios can be read against them. Each
replaces ``Signal.send`` while it is timed, and calls the receivers as Django does.

- ``floor``: what issue 14 calls the floor of a recorder: a context read, two
  clock readings and a tuple per send and per receiver.
- ``floor+panel``: the floor, plus what the panel shows of every kept send:
  which receiver each call was (its name, found by id as ours is), where the
  send fired (the caller's file, line and function, made once per
  instruction), the masked reprs of its keyword arguments (signal_inspector's
  own ``kwargs_reprs``), its signal's name, and nesting (the parent read from a
  context variable, and the context variable set around the receivers).

Neither bounds what it keeps, counts, marks duplicates or loops, keeps results,
or lets a query or a nested send find the receiver running: what ours does on
top is the difference.
"""

from __future__ import annotations

import sys
import weakref
from contextvars import ContextVar
from time import perf_counter
from typing import Any

from django.dispatch import Signal
from django.dispatch.dispatcher import NO_RECEIVERS

from signal_inspector.naming import kwargs_reprs, receiver_name, signal_name

_log: ContextVar[list[Any] | None] = ContextVar("floor_log", default=None)
_parent: ContextVar[Any] = ContextVar("floor_parent", default=None)


def floor_send(self: Signal, sender: Any, **named: Any) -> list[tuple[Any, Any]]:
    log = _log.get()
    if not self.receivers or self.sender_receivers_cache.get(sender) is NO_RECEIVERS:
        return []
    sync_receivers, _ = self._live_receivers(sender)
    start = perf_counter()
    calls = []
    responses = []
    for receiver in sync_receivers:
        began = perf_counter()
        response = receiver(signal=self, sender=sender, **named)
        calls.append((id(receiver), began, perf_counter()))
        responses.append((receiver, response))
    log.append((id(self), start, perf_counter(), calls))  # type: ignore[union-attr]
    return responses


# id -> (weak reference, name): the receiver's and the signal's names, found by id.
_names: dict[int, tuple[Any, str]] = {}
# id(code) -> (code, {instruction: (file, line, function)})
_places: dict[int, tuple[Any, dict[int, tuple[str, int, str]]]] = {}


def _name(thing: Any, describe: Any) -> str:
    entry = _names.get(id(thing))
    if entry is not None and entry[0]() is thing:
        return entry[1]
    name = describe(thing)
    _names[id(thing)] = (weakref.ref(thing), name)
    return name


def floor_panel_send(self: Signal, sender: Any, **named: Any) -> list[tuple[Any, Any]]:
    log = _log.get()
    if not self.receivers or self.sender_receivers_cache.get(sender) is NO_RECEIVERS:
        return []
    sync_receivers, _ = self._live_receivers(sender)
    parent = _parent.get()
    frame = sys._getframe(1)
    code = frame.f_code
    entry = _places.get(id(code))
    if entry is None or entry[0] is not code:
        entry = _places[id(code)] = (code, {})
    place = entry[1].get(frame.f_lasti)
    if place is None:
        place = entry[1][frame.f_lasti] = (code.co_filename, frame.f_lineno, code.co_name)
    calls: list[Any] = []
    record = (_name(self, signal_name), place, kwargs_reprs(named, 1000), parent, calls)
    log.append(record)  # type: ignore[union-attr]
    start = perf_counter()
    responses = []
    token = _parent.set(record)
    try:
        for receiver in sync_receivers:
            name = _name(receiver, receiver_name)
            began = perf_counter()
            response = receiver(signal=self, sender=sender, **named)
            calls.append((name, began, perf_counter()))
            responses.append((receiver, response))
    finally:
        _parent.reset(token)
    log.append((start, perf_counter()))  # type: ignore[union-attr]
    return responses


FLOORS = {"floor": floor_send, "floor+panel": floor_panel_send}


class Floor:
    """``Signal.send`` replaced by a floor recorder, with a log of its own."""

    def __init__(self, mode: str) -> None:
        self.send = FLOORS[mode]

    def __enter__(self) -> Floor:
        self.original = Signal.send
        self.token = _log.set([])
        Signal.send = self.send  # type: ignore[method-assign]
        return self

    def __exit__(self, *exc: object) -> None:
        Signal.send = self.original  # type: ignore[method-assign]
        _log.reset(self.token)
