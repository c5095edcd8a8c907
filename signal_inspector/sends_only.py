"""Sends recorded "sends only": a dispatcher we do not recognise, or a send
method another tool wrapped before the first recording.

The method found on ``Signal`` runs exactly as it is; the record lists the send
and the receivers its result names (no per-receiver time, no nesting), and the
recording says why in ``limitations`` (see patching.limitations()).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from django.dispatch import Signal

from .bookkeeping import begin_call, close, open_send, raised, returned
from .context import recording_var
from .dispatch import ORIGINALS
from .recording import ReceiverCall, Recording, SendRecord


def sends_only(name: str) -> Callable[..., Any]:
    """A wrapper that runs ``ORIGINALS[name]`` as it is and records the send, with
    the receivers its result names (no per-receiver time; no nesting)."""
    robust = name.endswith("_robust")

    def _record(recording: Recording, self: Signal, sender: Any, named: dict[str, Any]) -> SendRecord | None:
        try:
            record = open_send(recording, self, name, sender, named, [], [])
        except Exception:
            return None
        if record is not None:
            record.limited = True
        return record

    def _finish(
        recording: Recording, record: SendRecord, responses: Any, error: BaseException | None
    ) -> None:
        try:
            for receiver, response in responses or ():
                call = begin_call(recording, record, receiver, False)
                if call is None:
                    continue
                call.start = record.start
                if robust and isinstance(response, Exception):
                    raised(recording, call, response, caught=True)
                else:
                    returned(recording, record, call, response)
                call.duration_ms = 0.0
            if error is not None:
                call = ReceiverCall("(one of the receivers)", "", False, "?", record)
                record.calls.append(call)
                raised(recording, call, error, caught=False)
        except Exception:
            pass
        record.current = None
        close(recording, record)

    if name.startswith("a"):

        async def wrapper(self: Signal, sender: Any, **named: Any) -> Any:
            recording = recording_var.get()
            record = None if recording is None else _record(recording, self, sender, named)
            if record is None:
                return await ORIGINALS[name](self, sender, **named)
            assert recording is not None
            try:
                responses = await ORIGINALS[name](self, sender, **named)
            except BaseException as err:
                _finish(recording, record, (), err)
                raise
            _finish(recording, record, responses, None)
            return responses

    else:

        def wrapper(self: Signal, sender: Any, **named: Any) -> Any:  # type: ignore[misc]
            recording = recording_var.get()
            record = None if recording is None else _record(recording, self, sender, named)
            if record is None:
                return ORIGINALS[name](self, sender, **named)
            assert recording is not None
            try:
                responses = ORIGINALS[name](self, sender, **named)
            except BaseException as err:
                _finish(recording, record, (), err)
                raise
            _finish(recording, record, responses, None)
            return responses

    wrapper.__name__ = wrapper.__qualname__ = name
    return wrapper
