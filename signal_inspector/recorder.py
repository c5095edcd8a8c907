"""Opening and closing a recording in the current context."""

from __future__ import annotations

import time
from contextvars import Token

from . import patching
from .conf import get_config
from .context import parent_var, recording_var
from .on_commit import observe_capture, settle
from .recording import Recording

# Receiver records kept per send of MAX_SENDS: the whole record stays bounded
# (about 500 bytes per receiver record) when every send has many receivers.
CALLS_PER_SEND = 5


def begin(
    *,
    max_sends: int | None = None,
    capture_stacks: bool = False,
    ignore_modules: tuple[str, ...] = (),
) -> Recording:
    """Start a recording in the current context; pair with :func:`end`.

    Sends whose receivers all live in ``ignore_modules`` (say, the toolbar's
    own) are not recorded and do not count against ``max_sends``. Opened inside
    a recorded receiver, it records what follows itself (the outer recording
    does not see those sends).
    """
    if max_sends is not None and (
        isinstance(max_sends, bool) or not isinstance(max_sends, int) or max_sends < 0
    ):
        raise ValueError(f"max_sends must be a whole number of sends (0 or more), not {max_sends!r}")
    config = get_config()
    if max_sends is None:
        max_sends = config.max_sends
    recording = Recording(
        max_sends=max_sends,
        max_calls=CALLS_PER_SEND * max_sends,
        max_repr_length=config.max_repr_length,
        capture_stacks=capture_stacks,
        ignore_modules=tuple(ignore_modules),
    )
    recording.limitations = patching.acquire()
    observe_capture()  # django.test may have been imported since we instrumented
    recording._tokens = (recording_var.set(recording), parent_var.set(None))  # type: ignore[attr-defined]
    return recording


def end(recording: Recording) -> Recording:
    """Stop ``recording`` (idempotent) and restore whatever was open before it."""
    if recording.stopped is None:
        recording.stopped = time.perf_counter()
    recording._silent_keys = {}  # held signals: let them go
    recording._last_error = None
    recording._send_keys = {}
    settle(recording)
    tokens: tuple[Token[Recording | None], Token[object]] | None = getattr(recording, "_tokens", None)
    if tokens is None:
        return recording
    recording._tokens = None  # type: ignore[attr-defined]
    try:
        try:
            recording_var.reset(tokens[0])
            parent_var.reset(tokens[1])  # type: ignore[arg-type]
        except (ValueError, RuntimeError):
            # Stopped from another context than the one that started it.
            if recording_var.get() is recording:
                recording_var.set(None)
                parent_var.set(None)
    finally:
        patching.release()
    return recording
