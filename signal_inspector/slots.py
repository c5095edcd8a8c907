"""Replacing a class attribute while recordings are open, and putting it back.

Every function we put on a class (``Signal``'s send methods, a ``Signal``
subclass's own, the cursor's, ``on_commit``) carries, in its own ``__dict__``,
the pair (itself, what it replaced). We know ours by that pair and never by a
marker alone: ``functools.wraps()`` copies a function's ``__dict__`` onto the
wrapper another tool puts around ours, and that wrapper is not ours.

No flag remembers where we are: each install looks at what the class holds now.
Another tool may wrap ours (we leave its wrapper on top, and ours under it
passes every call through to what it replaced), unpatch before we do, or put
ours back after we took it off; in that last case the first call ours gets
while nothing records anywhere puts back what ours replaced (``heal()``).
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import Any

_OURS = "_signal_inspector_ours"
# What ours "replaced" when the class only inherited the attribute: taking ours
# off deletes it again.
INHERITED = object()

# Held while anything here changes a class, and while recordings open and close.
LOCK = threading.RLock()
# How many recordings are open in the process (see patching.acquire()).
OPEN = [0]


def mark(function: Any, below: Any) -> None:
    """Mark ``function`` as ours, in place of ``below``."""
    function.__dict__[_OURS] = (function, below)


def below_of(function: Any) -> tuple[Any] | None:
    """``(what it replaced,)`` if ``function`` is one of ours, else None."""
    try:
        pair = vars(function).get(_OURS)
    except TypeError:  # no __dict__
        return None
    if type(pair) is tuple and pair[0] is function:
        return (pair[1],)
    return None


def put(owner: type, name: str, make: Callable[[Any], Any]) -> Any:
    """Put ``make(what owner holds)`` on ``owner`` unless one of ours is there
    already (a tool put it back, or it never left); returns what is there now."""
    current = owner.__dict__.get(name, INHERITED)
    if below_of(current) is not None:
        return current
    wrapper = make(getattr(owner, name) if current is INHERITED else current)
    if below_of(wrapper) is None:
        mark(wrapper, current)
    setattr(owner, name, wrapper)
    return wrapper


def take_off(owner: type, name: str) -> None:
    """Put back what ours replaced, if ours is what ``owner`` holds; a wrapper
    another tool put around ours stays (ours, under it, passes calls through)."""
    current = owner.__dict__.get(name)
    below = below_of(current)
    if below is not None:
        if below[0] is INHERITED:
            delattr(owner, name)
        else:
            setattr(owner, name, below[0])


def heal(owner: type, name: str, function: Any) -> None:
    """One of ours ran while no recording is open anywhere and ``owner`` still
    holds it (another tool restored it after we took it off): take it off."""
    with LOCK:
        if OPEN[0] == 0 and owner.__dict__.get(name) is function:
            take_off(owner, name)
