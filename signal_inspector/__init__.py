"""See which Django signals fired, which receivers ran, and how long each took."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from .recording import Recording

__version__ = "0.1.0"
__all__ = ["record", "__version__"]


@contextmanager
def record(*, max_sends: int | None = None, stacks: bool = False) -> Iterator[Recording]:
    """Record every signal sent in this context (thread or asyncio task) inside the block.

    Yields a :class:`~signal_inspector.recording.Recording`; ``recording.to_dict()``
    gives all of it as JSON-serializable data. ``max_sends`` overrides the
    ``MAX_SENDS`` setting; ``stacks`` keeps the call stack of each send.
    """
    from .recorder import begin, end

    recording = begin(max_sends=max_sends, capture_stacks=stacks)
    try:
        yield recording
    finally:
        end(recording)
