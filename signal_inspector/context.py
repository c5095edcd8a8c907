"""Per-context state: the recording open here and the receiver running here.

ContextVars, so that concurrent requests (threads or asyncio tasks) never see
each other's recording. The lowest module of the core: it imports nothing of ours
but the record types.
"""

from __future__ import annotations

from contextvars import ContextVar

from .recording import ReceiverCall, Recording, SendRecord

recording_var: ContextVar[Recording | None] = ContextVar(
    "signal_inspector_recording", default=None
)
# The send being dispatched (its ``current`` receiver is the one running), or,
# inside an async receiver, that receiver's call itself (tasks run concurrently).
parent_var: ContextVar[SendRecord | ReceiverCall | None] = ContextVar(
    "signal_inspector_parent", default=None
)


def current() -> Recording | None:
    """The recording open in this context, if any."""
    return recording_var.get()


def current_call() -> ReceiverCall | None:
    """The receiver call running in this context, if a recording is open."""
    parent = parent_var.get()
    if parent is None or type(parent) is ReceiverCall:
        return parent
    try:
        return parent.running()  # type: ignore[union-attr]
    except Exception:  # pragma: no cover - defensive: never into the application's query or on_commit()
        return None
