"""Sends recorded "sends only": a dispatcher we do not recognise, a send method
another tool wrapped before us, or a ``Signal`` subclass's own send method
(pretix's plugin signals call their receivers themselves).

The method found runs exactly as it is, bound as attribute lookup binds it (a
``MagicMock`` patched onto ``Signal.send`` gets no ``self``). The record lists
the send and the receivers its result names, without their time; what the
receivers do meanwhile (nested sends, queries, ``on_commit()``) is kept under
one stand-in call of the send. When the method hands the send on to a send
method we record in full (a subclass calling ``super().send()``, a wrapper
around ours), that one takes the send over, so it is recorded once, in full.
The recording says what it could not see in ``limitations``.
"""

from __future__ import annotations

from collections.abc import Callable
from types import FunctionType
from typing import Any

from django.dispatch import Signal

from .bookkeeping import begin_call, close, open_send, raised, returned, silent
from .context import parent_var, recording_var
from .recording import STAND_IN, ReceiverCall, Recording, SendRecord
from .slots import OPEN, heal


def _withdraw(recording: Recording, record: SendRecord) -> bool:
    """Take ``record`` back out of the recording (a kept top-level or nested send
    that turned out silent); False when it cannot be found there."""
    if not record.kept:
        recording.total_sends -= 1
        return True
    siblings = recording.sends if record.parent is None else record.parent.children
    for index in range(len(siblings) - 1, -1, -1):
        if siblings[index] is record:
            del siblings[index]
            recording.total_sends -= 1
            recording.kept_sends -= 1
            return True
    return False  # pragma: no cover - defensive: a kept record stays among its siblings


def _binder(below: Any) -> Callable[[Any], Any] | None:
    """How attribute lookup would bind ``below`` to an instance (None: a plain
    function, called with ``self`` first: the common case, without a bound
    method made per call)."""
    if type(below) is FunctionType:
        return None
    get = getattr(type(below), "__get__", None)
    if get is None:
        return lambda _self: below
    return lambda self: get(below, self, type(self))


def limitation(owner: type, name: str) -> str:
    """What a recording cannot see of ``owner``'s own ``name()``, in words."""
    label = f"{owner.__module__}.{owner.__qualname__}.{name}()"
    if name in ("send", "send_robust", "asend", "asend_robust"):
        return (
            f"{label} is the signal's own: its sends are recorded with the receivers it "
            "returned, without each receiver's time; what they send, query or schedule "
            "is kept under the send (timed in full where it hands the send on to "
            "Signal's own method)."
        )
    return (
        f"{label} calls receivers in its own way: its sends are recorded, but not which "
        "receivers ran; what they send, query or schedule is kept under the send."
    )


def sends_only(
    name: str, below: Any, owner: type = Signal, pairs: bool = True
) -> Callable[..., Any]:
    """A wrapper that runs ``below`` (what it replaces on ``owner``) as it is and
    records the send, with the receivers its result names (``pairs``: the result
    is Django's list of (receiver, response) pairs)."""
    robust = name.endswith("_robust")
    bind = _binder(below)
    note = None if owner is Signal else limitation(owner, name)

    def _record(
        recording: Recording, self: Signal, args: tuple[Any, ...], named: dict[str, Any]
    ) -> SendRecord | None:
        try:
            if args:
                sender, kwargs = args[0], named
            else:
                kwargs = dict(named)
                sender = kwargs.pop("sender", None)
            record = open_send(recording, self, name, sender, kwargs, [], [])
        except Exception:  # pragma: no cover - defensive: open_send() catches its own
            return None
        if record is not None:
            record.limited = True
            if note is not None and note not in recording.limitations:
                recording.limitations.append(note)
            record.current = ReceiverCall(STAND_IN, "", False, f"?stand-in:{id(record):x}", record)
        return record

    def _finish(
        recording: Recording, record: SendRecord, responses: Any, error: BaseException | None,
        signal: Signal, args: tuple[Any, ...], named: dict[str, Any],
    ) -> None:
        stand_in = record.current
        record.current = None
        if record.claimed:
            return  # a send method we record in full took it over
        try:
            if (
                error is None
                and not responses
                and type(stand_in) is ReceiverCall
                and not (stand_in.children or stand_in.queries or stand_in.on_commit)
                and _withdraw(recording, record)
            ):
                # No receiver ran (pretix's plugin signals skip inactive plugins'):
                # a silent send, as Django's own would be counted.
                sender = args[0] if args else named.get("sender")
                silent(recording, signal, sender)
                return
        except Exception:  # pragma: no cover - defensive: _withdraw(), silent() never raise
            pass
        try:
            if type(stand_in) is ReceiverCall and (
                stand_in.children or stand_in.queries or stand_in.on_commit
            ):
                stand_in.duration_ms = 0.0
                stand_in.outcome = "returned"
                record.calls.append(stand_in)
            for receiver, response in (responses or ()) if pairs else ():
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

        async def wrapper(self: Signal, *args: Any, **named: Any) -> Any:
            # Called exactly as it was (sender by position or by name).
            recording = recording_var.get()
            if recording is None and OPEN[0] == 0 and owner.__dict__.get(name) is wrapper:
                heal(owner, name, wrapper)  # another tool put us back: we go
            record = None if recording is None else _record(recording, self, args, named)
            if bind is None:
                method, given = below, (self, *args)
            else:
                method, given = bind(self), args
            if record is None:
                return await method(*given, **named)
            assert recording is not None
            token = parent_var.set(record)
            try:
                responses = await method(*given, **named)
            except BaseException as err:
                _finish(recording, record, (), err, self, args, named)
                raise
            finally:
                parent_var.reset(token)
            _finish(recording, record, responses, None, self, args, named)
            return responses

    else:

        def wrapper(self: Signal, *args: Any, **named: Any) -> Any:  # type: ignore[misc]
            # Called exactly as it was (sender by position or by name).
            recording = recording_var.get()
            if recording is None:
                if OPEN[0] == 0 and owner.__dict__.get(name) is wrapper:
                    heal(owner, name, wrapper)  # another tool put us back: we go
                if bind is None:
                    return below(self, *args, **named)
                return bind(self)(*args, **named)
            record = _record(recording, self, args, named)
            if record is None:
                if bind is None:
                    return below(self, *args, **named)
                return bind(self)(*args, **named)
            token = parent_var.set(record)
            try:
                if bind is None:
                    responses = below(self, *args, **named)
                else:
                    responses = bind(self)(*args, **named)
            except BaseException as err:
                _finish(recording, record, (), err, self, args, named)
                raise
            finally:
                parent_var.reset(token)
            _finish(recording, record, responses, None, self, args, named)
            return responses

    wrapper.__name__ = name
    wrapper.__qualname__ = getattr(below, "__qualname__", name)
    wrapper.__doc__ = getattr(below, "__doc__", None)
    return wrapper
