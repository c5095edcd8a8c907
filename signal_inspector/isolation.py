"""Muting one receiver, and running receivers in a shuffled order: test isolation.

factory_boy's ``mute_signals`` silences every receiver of a signal, in every
thread. :func:`muted` silences only the named receivers, only in the current
context (thread or asyncio task, and the tasks it starts inside the block):
every other receiver runs. ``--signals-shuffle`` (the pytest plugin) runs each
send's receivers in a seeded random order, to find a receiver that only works
when another ran before it.

Both act in the recorded send loop (dispatch.py), which runs only while a
recording is open in the context: :func:`muted` opens one when none is.
:func:`arrange` is the one call the send loop makes, and only while
``ARRANGING`` is not empty, so nothing changes for a send outside these.
"""

from __future__ import annotations

import random
from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from django.dispatch import Signal

    from .recording import Recording

__all__ = ["muted"]
__unittest = True

# Non-empty while a muted() block is open anywhere or shuffling is on: the send
# loop calls arrange() only then.
ARRANGING: list[object] = []
_muted: ContextVar[frozenset[str]] = ContextVar("signal_inspector_muted", default=frozenset())
# The random order of the running test (--signals-shuffle), when shuffling.
_shuffle: ContextVar[random.Random | None] = ContextVar("signal_inspector_shuffle", default=None)


def arrange(
    recording: Recording, signal: Signal, sender: Any, sync_receivers: list[Any], async_receivers: list[Any]
) -> tuple[list[Any], list[Any]]:
    """The receivers to run for this send: the muted ones left out (and counted
    on the recording), the rest shuffled when shuffling. Never raises."""
    try:
        names = _muted.get()
        if names:
            from .bookkeeping import info_of

            kept_sync = [r for r in sync_receivers if info_of(r)[0] not in names]
            kept_async = [r for r in async_receivers if info_of(r)[0] not in names]
            if len(kept_sync) != len(sync_receivers) or len(kept_async) != len(async_receivers):
                _count_muted(recording, signal, sender, sync_receivers + async_receivers, names)
                sync_receivers, async_receivers = kept_sync, kept_async
        order = _shuffle.get()
        if order is not None:
            if len(sync_receivers) > 1:
                sync_receivers = list(sync_receivers)
                order.shuffle(sync_receivers)
            if len(async_receivers) > 1:
                async_receivers = list(async_receivers)
                order.shuffle(async_receivers)
    except Exception:  # pragma: no cover - defensive: arranging receivers never breaks a send
        pass
    return sync_receivers, async_receivers


def _count_muted(
    recording: Recording, signal: Signal, sender: Any, receivers: list[Any], names: frozenset[str]
) -> None:
    from .bookkeeping import info_of
    from .naming import sender_label, signal_name

    for receiver in receivers:
        name = info_of(receiver)[0]
        if name in names:
            key = (signal_name(signal), sender_label(sender, recording.max_repr_length), name)
            recording.muted[key] = recording.muted.get(key, 0) + 1


@contextmanager
def muted(*receivers: Any) -> Iterator[None]:
    """Inside the block, in this context only, the given receivers (functions,
    methods or dotted names) do not run; every other receiver does. Each time
    one is left out it is counted in the recording's ``muted``.

    A name that matches no connected receiver raises ``ValueError`` with the
    close matches. Opens a recording (that keeps no send) when none is open here.
    """
    names = frozenset(_resolve(receiver) for receiver in receivers)
    if not names:
        yield
        return
    from . import record
    from .context import recording_var

    token = _muted.set(_muted.get() | names)
    ARRANGING.append(token)
    try:
        if recording_var.get() is None:
            with record(max_sends=0):
                yield
        else:
            yield
    finally:
        ARRANGING.remove(token)
        _muted.reset(token)


def _resolve(receiver: Any) -> str:
    from .naming import receiver_name
    from .testing import _close, _connected_receivers

    if callable(receiver) and not isinstance(receiver, str):
        # The object itself: it may be connected to a signal no module holds.
        return receiver_name(receiver)
    if not isinstance(receiver, str) or not receiver:
        raise ValueError(f"mute: a receiver must be a function, method or dotted name, not {receiver!r}")
    name = receiver
    connected = _connected_receivers()  # the receivers of module-level signals
    if name in connected:
        return name
    raise ValueError(
        f"mute: {name!r} is not connected to any signal, so muting it would change "
        f"nothing.{_close(name, connected, short=True)}"
    )


@contextmanager
def shuffled(order: random.Random) -> Iterator[None]:
    """Run each recorded send's receivers in ``order``'s random order inside the block."""
    token = _shuffle.set(order)
    ARRANGING.append(token)
    try:
        yield
    finally:
        ARRANGING.remove(token)
        _shuffle.reset(token)
