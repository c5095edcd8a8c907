"""The recorded ``send``, ``send_robust``, ``asend`` and ``asend_robust``.

Installed on ``Signal`` only while a recording is open somewhere in the process
(see patching.py). In a context that is not recording, each hands the call to
the method it replaced, untouched. In a recording context, a recognised
dispatcher's send is run by a copy of Django's that calls every receiver from
its own frame (so ``warnings.warn(stacklevel=2)`` in a receiver still points at
the send loop, not at a wrapper of ours) and builds the record around each call.
Django's module globals (``async_to_sync``, ``sync_to_async``, ``asyncio``,
``_run_parallel``) are read at call time, so patching them still takes effect.

A dispatcher we do not recognise, or a send method another tool had wrapped
before us, gets the "sends only" wrappers of sends_only.py instead.
"""

from __future__ import annotations

import asyncio
import contextvars
from collections.abc import Callable, Generator
from functools import partial
from time import perf_counter
from types import FunctionType
from typing import Any

from django.dispatch import Signal
from django.dispatch import dispatcher as _dispatcher
from django.dispatch.dispatcher import NO_RECEIVERS

from .bookkeeping import (
    POST_SAVE,
    _receiver_info,
    async_returned,
    begin_call,
    caught,
    check_loop,
    close,
    close_checks,
    failed,
    finish,
    info_of,
    open_send,
    raised,
    silent,
    skip,
    start_send,
)
from .context import parent_var, recording_var
from .isolation import ARRANGING, arrange
from .naming import safe_repr
from .recording import ReceiverCall, Recording, SendRecord
from .slots import OPEN, heal

# name -> Django's own method, which ours replace (filled by patching.py: ours
# are put only over Django's; anything else gets a sends-only wrapper).
ORIGINALS: dict[str, Callable[..., Any]] = {}
# Django 6.1 runs async receivers through _run_parallel() (one shared context,
# after the sync receivers); 5.2 and 6.0 gather them alongside. Set by patching.
PARALLEL = {"shared_context": False}


# --- async receivers -----------------------------------------------------------


def _spawn(
    recording: Recording, call: ReceiverCall | None, awaitable: Any,
    traced: Any = None, live: Any = None,
) -> Any:
    """``asyncio.ensure_future(awaitable)``, as ``asyncio.gather()`` would do it,
    in a copy of the context that names ``call`` as the receiver running (and
    makes its span current: ``traced``, otel.py's). The task runs the receiver's
    own coroutine (``task.get_coro()`` and ``get_stack()`` are the receiver's);
    its end is noted by a done callback. The copy lives as long as the task:
    nothing set in it is seen outside."""
    context = contextvars.copy_context()
    context.run(parent_var.set, call)
    if traced is not None:
        context.run(live.attach, traced)
    future = context.run(asyncio.ensure_future, awaitable)
    if call is not None:
        future.add_done_callback(lambda done: _settled(recording, call, done))
        if traced is not None:
            # After _settled(): the record says how it ended (otel.py; never raises).
            future.add_done_callback(lambda done: live.end_task(call))
    return future


def _settled(recording: Recording, call: ReceiverCall, future: Any) -> None:
    try:
        if future.cancelled():
            raised(recording, call, asyncio.CancelledError(), caught=False)
        else:
            # gather() retrieves every child's exception too: this changes nothing.
            error = future.exception()
            if error is not None:
                raised(recording, call, error, caught=False)
            else:
                async_returned(recording, call, future.result())
    except Exception:  # pragma: no cover - defensive: raised(), async_returned() never raise
        pass


class _Observed:
    """Await any awaitable, naming ``call`` the receiver running on every step.

    For Django 6.1, whose ``_run_parallel()`` runs receivers as tasks sharing
    one context: a context variable set for the whole await would leak between
    them. Drives ``awaitable.__await__()`` exactly as ``await`` does.
    """

    __slots__ = ("awaitable", "iterator", "call", "recording", "traced")

    def __init__(
        self, awaitable: Any, call: ReceiverCall | None, recording: Recording, traced: Any = None
    ) -> None:
        self.awaitable = awaitable
        self.iterator: Any = None
        self.call = call
        self.recording = recording
        # The OpenTelemetry context its steps run in (otel.py's), or None.
        self.traced = traced

    def __await__(self) -> Generator[Any, Any, Any]:
        return self

    def __iter__(self) -> _Observed:
        return self

    def __next__(self) -> Any:
        return self.send(None)

    def send(self, value: Any) -> Any:
        iterator = self.iterator
        if iterator is None:
            try:
                await_ = type(self.awaitable).__await__
            except AttributeError:
                raise TypeError(
                    f"object {type(self.awaitable).__name__} can't be used in 'await' expression"
                ) from None
            iterator = self.iterator = await_(self.awaitable)
        if value is None:
            return self._step(iterator.__next__)
        return self._step(iterator.send, value)

    def throw(self, *args: Any) -> Any:
        throw = getattr(self.iterator, "throw", None)
        if throw is None:
            error = args[0] if len(args) == 1 else args[1]
            if isinstance(error, type):
                error = error()
            return self._step(_raise, error)
        return self._step(throw, *args)

    def close(self) -> None:
        close = getattr(self.iterator, "close", None)
        if close is not None:
            close()

    def _step(self, method: Any, *args: Any) -> Any:
        call = self.call
        if call is not None and call.start == 0.0:
            call.start = perf_counter()
        token = parent_var.set(call)
        traced = self.traced
        if traced is not None:
            exporter = self.recording.exporter
            if exporter is None:
                traced = self.traced = None
            else:
                attached = exporter.attach(traced)
        try:
            return method(*args)
        except StopIteration as stop:
            async_returned(self.recording, call, stop.value)
            if traced is not None:
                exporter.end_task(call)
            raise
        except BaseException as err:
            raised(self.recording, call, err, caught=False)
            if traced is not None:
                exporter.end_task(call)
            raise
        finally:
            if traced is not None:
                # What the receiver made current stays so for its next step.
                self.traced = exporter.detach(attached)
            parent_var.reset(token)


def _raise(error: BaseException) -> Any:
    raise error


def _async_calls(
    recording: Recording, record: SendRecord, receivers: list[Any]
) -> list[ReceiverCall | None]:
    calls = []
    for receiver in receivers:
        call = begin_call(recording, record, receiver, True)
        if call is not None and PARALLEL["shared_context"]:
            call.start = 0.0  # started at its first step (see _Observed)
        calls.append(call)
    return calls


def _built(
    signal: Signal, sender: Any, named: dict[str, Any], receivers: list[Any],
    recording: Recording, calls: list[ReceiverCall | None],
) -> list[Any]:
    """Every async receiver called for its awaitable, before any runs, as Django's
    ``gather(*(receiver(...) for ...))`` does: when one raises as it is called,
    it raises here and none of them runs (those called before it and those after
    are recorded as never run)."""
    built = []
    for index, receiver in enumerate(receivers):
        try:
            built.append(receiver(signal=signal, sender=sender, **named))
        except BaseException as err:
            call = calls[index]
            if call is not None:
                if call.start == 0.0:
                    call.start = perf_counter()
                raised(recording, call, err, caught=False)
            for other in calls[:index] + calls[index + 1 :]:
                if other is not None:
                    other.start = 0.0  # never ran: close_checks() lists it as skipped
            raise
    return built


def _observed_awaitables(
    signal: Signal, sender: Any, named: dict[str, Any], receivers: list[Any],
    recording: Recording, record: SendRecord, robust: bool,
) -> list[Any]:
    """What Django passes to gather()/_run_parallel(), made observable."""
    calls = _async_calls(recording, record, receivers)
    live = recording.exporter
    if robust:
        # Django's wrapper calls each receiver inside its try: nothing is called yet.
        traced = _traced(live, calls)
        return [
            asend_and_wrap_exception(signal, sender, named, receiver, call, recording, context, live)
            for receiver, call, context in zip(receivers, calls, traced, strict=True)
        ]
    built = _built(signal, sender, named, receivers, recording, calls)
    traced = _traced(live, calls)
    if PARALLEL["shared_context"]:
        return [
            _Observed(awaitable, call, recording, context)
            for awaitable, call, context in zip(built, calls, traced, strict=True)
        ]
    return [
        _spawn(recording, call, awaitable, context, live)
        for awaitable, call, context in zip(built, calls, traced, strict=True)
    ]


def _traced(live: Any, calls: list[ReceiverCall | None]) -> list[Any]:
    """Each async receiver's OpenTelemetry context (its span started), or None."""
    if live is None:
        return [None] * len(calls)
    return [None if call is None else live.begin_task(call) for call in calls]


async def asend_and_wrap_exception(
    signal: Signal, sender: Any, named: dict[str, Any], receiver: Any,
    call: ReceiverCall | None, recording: Recording, traced: Any = None, live: Any = None,
) -> Any:
    # Django's asend_and_wrap_exception(), recorded: the receiver is called inside
    # the try, so one that fails as it is called is caught like any other.
    shared = PARALLEL["shared_context"]
    if not shared:
        # gather() runs this coroutine in a task of its own: its context is ours.
        parent_var.set(call)
        if traced is not None:
            live.attach(traced)
    try:
        try:
            if shared:
                response = await _Observed(
                    receiver(signal=signal, sender=sender, **named), call, recording, traced
                )
            else:
                response = await receiver(signal=signal, sender=sender, **named)
        except Exception as err:
            if call is not None and call.start == 0.0:
                call.start = perf_counter()
            raised(recording, call, err, caught=True)
            signal._log_robust_failure(receiver, err)  # type: ignore[attr-defined]
            return err
        except BaseException as err:
            if call is not None and call.start == 0.0:
                call.start = perf_counter()
            raised(recording, call, err, caught=False)
            raise
        async_returned(recording, call, response)
        return response
    finally:
        if traced is not None:
            live.end_task(call)  # hook: otel.py (only its first end counts; never raises)


def _gather() -> Any:
    if PARALLEL["shared_context"]:
        return _dispatcher._run_parallel  # type: ignore[attr-defined]
    return _dispatcher.asyncio.gather  # type: ignore[attr-defined]


def _async_part(
    signal: Signal, sender: Any, named: dict[str, Any], receivers: list[Any],
    recording: Recording, record: SendRecord, robust: bool,
) -> Any:
    """send()/send_robust()'s async receivers, run through async_to_sync as Django does."""

    async def asend() -> Any:
        async_responses = await _gather()(
            *_observed_awaitables(signal, sender, named, receivers, recording, record, robust)
        )
        return zip(receivers, async_responses, strict=True)

    return _dispatcher.async_to_sync(asend)()  # type: ignore[attr-defined]


def _plain_async(
    self: Signal, sender: Any, named: dict[str, Any], async_receivers: list[Any], robust: bool,
) -> Any:
    """Django's send()/send_robust() async part, unrecorded."""

    async def asend_and_wrap_exception(receiver: Any) -> Any:
        try:
            response = await receiver(signal=self, sender=sender, **named)
        except Exception as err:
            self._log_robust_failure(receiver, err)  # type: ignore[attr-defined]
            return err
        return response

    async def asend() -> Any:
        async_responses = await _gather()(
            *(
                asend_and_wrap_exception(receiver)
                if robust
                else receiver(signal=self, sender=sender, **named)
                for receiver in async_receivers
            )
        )
        return zip(async_receivers, async_responses)  # noqa: B905 (Django's)

    return _dispatcher.async_to_sync(asend)()  # type: ignore[attr-defined]


# --- the recorded methods ------------------------------------------------------


def send(self: Signal, sender: Any, **named: Any) -> list[tuple[Any, Any]]:
    recording = recording_var.get()
    if recording is None:
        if OPEN[0] == 0 and Signal.__dict__.get("send") is send:
            heal(Signal, "send", send)  # another tool put us back: we go
        return ORIGINALS["send"](self, sender, **named)  # type: ignore[no-any-return]
    if not self.receivers or self.sender_receivers_cache.get(sender) is NO_RECEIVERS:
        silent(recording, self, sender)
        return []  # no receiver heard it: Django's answer
    sync_receivers, async_receivers = self._live_receivers(sender)
    if ARRANGING:  # issue 22: mute/shuffle (isolation.py)
        sync_receivers, async_receivers = arrange(recording, self, sender, sync_receivers, async_receivers)
    if not sync_receivers and not async_receivers:
        silent(recording, self, sender)
        return []
    # 0 _fired_at, 1 open_send, 2 this method, 3 its caller
    record = open_send(
        recording, self, "send", sender, named, sync_receivers, async_receivers, 3
    )
    if record is None:
        # Not recorded (an ignored signal; a failure, even RecursionError, in
        # open_send()): Django's loop, in this frame, as deep as Django's own.
        responses = []
        for receiver in sync_receivers:
            response = receiver(signal=self, sender=sender, **named)
            responses.append((receiver, response))
        if async_receivers:
            responses.extend(_plain_async(self, sender, named, async_receivers, False))
        return responses
    responses = []
    # Each receiver is written to ``calls`` as a tuple (see SendRecord.calls);
    # anything past the plain case goes through bookkeeping.finish().
    calls = record.calls
    nested = record.parent is not None
    # None: a send only counted (past MAX_SENDS) keeps no result repr.
    limit = recording.max_repr_length if record.kept else None
    spent = 0.0
    live = recording.exporter  # otel.py's, or None
    entered = None
    outer = parent_var.set(record)
    if live is not None:
        live.opened(record)  # hook: its span starts, current until the send closes
    try:
        for index, receiver in enumerate(sync_receivers):
            entry = _receiver_info.get(id(receiver))
            if entry is not None and type(receiver) is FunctionType and entry[0]() is receiver:
                info = entry[1]
            else:
                info = info_of(receiver)
            start = perf_counter()
            calls.append((info, start))
            record.current = index  # after the append: see SendRecord.running()
            if nested:
                check_loop(recording, record, info)
            if live is not None:
                entered = live.enter(record, info)  # hook: the receiver's span, current
            try:
                response = receiver(signal=self, sender=sender, **named)
            except BaseException as err:
                failed(recording, record, None, err, sync_receivers[index + 1 :], async_receivers)
                raise
            finally:
                if live is not None:
                    live.exit(record, start, entered)
            end = perf_counter()
            if record.current is index:
                record.current = None
                spent += end - start
                if response is None or limit is None:
                    calls[index] = (info, start, end)
                else:
                    calls[index] = (info, start, end, safe_repr(response, limit))
            else:
                finish(recording, record, end, response)
            responses.append((receiver, response))
        if async_receivers:
            responses.extend(
                _async_part(self, sender, named, async_receivers, recording, record, False)
            )
        return responses
    finally:
        parent_var.reset(outer)
        # close(), written out: it runs on every send.
        recording.receiver_calls += min(len(calls), len(sync_receivers))
        if record.parent is None:
            recording._last_error = None
            recording.receiver_time_ms += spent * 1000
        record.duration_ms = (perf_counter() - record.start) * 1000
        if len(calls) > 1 or record.has_async or record.signal == POST_SAVE:
            close_checks(recording, record)
        if live is not None:
            live(record)  # hook: otel.py (its spans end; never raises)


def send_robust(self: Signal, sender: Any, **named: Any) -> list[tuple[Any, Any]]:
    recording = recording_var.get()
    if recording is None:
        if OPEN[0] == 0 and Signal.__dict__.get("send_robust") is send_robust:
            heal(Signal, "send_robust", send_robust)  # another tool put us back: we go
        return ORIGINALS["send_robust"](self, sender, **named)  # type: ignore[no-any-return]
    if not self.receivers or self.sender_receivers_cache.get(sender) is NO_RECEIVERS:
        silent(recording, self, sender)
        return []  # no receiver heard it: Django's answer
    sync_receivers, async_receivers = self._live_receivers(sender)
    if ARRANGING:  # issue 22: mute/shuffle (isolation.py)
        sync_receivers, async_receivers = arrange(recording, self, sender, sync_receivers, async_receivers)
    if not sync_receivers and not async_receivers:
        silent(recording, self, sender)
        return []
    # 0 _fired_at, 1 open_send, 2 this method, 3 its caller
    record = open_send(
        recording, self, "send_robust", sender, named, sync_receivers, async_receivers, 3
    )
    if record is None:
        # Not recorded (see send()): Django's loop, in this frame.
        plain: list[tuple[Any, Any]] = []
        for receiver in sync_receivers:
            try:
                response = receiver(signal=self, sender=sender, **named)
            except Exception as err:
                self._log_robust_failure(receiver, err)  # type: ignore[attr-defined]
                plain.append((receiver, err))
            else:
                plain.append((receiver, response))
        if async_receivers:
            plain.extend(_plain_async(self, sender, named, async_receivers, True))
        return plain
    responses: list[tuple[Any, Any]] = []
    calls = record.calls  # see send()
    nested = record.parent is not None
    # None: a send only counted (past MAX_SENDS) keeps no result repr.
    limit = recording.max_repr_length if record.kept else None
    spent = 0.0
    live = recording.exporter  # otel.py's, or None
    entered = None
    outer = parent_var.set(record)
    if live is not None:
        live.opened(record)  # hook: its span starts, current until the send closes
    try:
        for index, receiver in enumerate(sync_receivers):
            entry = _receiver_info.get(id(receiver))
            if entry is not None and type(receiver) is FunctionType and entry[0]() is receiver:
                info = entry[1]
            else:
                info = info_of(receiver)
            start = perf_counter()
            calls.append((info, start))
            record.current = index  # after the append: see SendRecord.running()
            if nested:
                check_loop(recording, record, info)
            if live is not None:
                entered = live.enter(record, info)  # hook: the receiver's span, current
            try:
                try:
                    response = receiver(signal=self, sender=sender, **named)
                finally:
                    if live is not None:
                        live.exit(record, start, entered)
            except Exception as err:
                caught(recording, record, err)
                self._log_robust_failure(receiver, err)  # type: ignore[attr-defined]
                responses.append((receiver, err))
            except BaseException as err:
                failed(recording, record, None, err, sync_receivers[index + 1 :], async_receivers)
                raise
            else:
                end = perf_counter()
                if record.current is index:
                    record.current = None
                    spent += end - start
                    if response is None or limit is None:
                        calls[index] = (info, start, end)
                    else:
                        calls[index] = (info, start, end, safe_repr(response, limit))
                else:
                    finish(recording, record, end, response)
                responses.append((receiver, response))
        if async_receivers:
            responses.extend(
                _async_part(self, sender, named, async_receivers, recording, record, True)
            )
        return responses
    finally:
        parent_var.reset(outer)
        # close(), written out: it runs on every send.
        recording.receiver_calls += min(len(calls), len(sync_receivers))
        if record.parent is None:
            recording._last_error = None
            recording.receiver_time_ms += spent * 1000
        record.duration_ms = (perf_counter() - record.start) * 1000
        if len(calls) > 1 or record.has_async or record.signal == POST_SAVE:
            close_checks(recording, record)
        if live is not None:
            live(record)  # hook: otel.py (its spans end; never raises)


async def asend(self: Signal, sender: Any, **named: Any) -> list[tuple[Any, Any]]:
    recording = recording_var.get()
    if recording is None:
        if OPEN[0] == 0 and Signal.__dict__.get("asend") is asend:
            heal(Signal, "asend", asend)  # another tool put us back: we go
        return await ORIGINALS["asend"](self, sender, **named)  # type: ignore[no-any-return]
    if not self.receivers or self.sender_receivers_cache.get(sender) is NO_RECEIVERS:
        silent(recording, self, sender)
        return []
    started = start_send(recording, self, "asend", sender, named)
    if started is None:
        return await ORIGINALS["asend"](self, sender, **named)  # type: ignore[no-any-return]
    if not started:
        return []
    return await _asend(self, sender, named, recording, *started, robust=False)


async def asend_robust(self: Signal, sender: Any, **named: Any) -> list[tuple[Any, Any]]:
    recording = recording_var.get()
    if recording is None:
        if OPEN[0] == 0 and Signal.__dict__.get("asend_robust") is asend_robust:
            heal(Signal, "asend_robust", asend_robust)  # another tool put us back: we go
        return await ORIGINALS["asend_robust"](self, sender, **named)  # type: ignore[no-any-return]
    if not self.receivers or self.sender_receivers_cache.get(sender) is NO_RECEIVERS:
        silent(recording, self, sender)
        return []
    started = start_send(recording, self, "asend_robust", sender, named)
    if started is None:
        return await ORIGINALS["asend_robust"](self, sender, **named)  # type: ignore[no-any-return]
    if not started:
        return []
    return await _asend(self, sender, named, recording, *started, robust=True)


def _sync_calls(
    self: Signal, sender: Any, named: dict[str, Any], recording: Recording,
    record: SendRecord, receivers: list[Any], robust: bool, never_called: list[Any],
) -> list[tuple[Any, Any]]:
    """asend()'s sync part: Django's loop over the sync receivers, recorded as in
    send() (each call written to ``calls`` as a flat tuple; see SendRecord.calls),
    and counted here. asgiref's thread calls it directly (through a partial), so
    a receiver's caller is this loop, as it is Django's ``sync_send()``. send()
    and send_robust() write the same loop out: a helper would be one more frame
    between them and each receiver (``warnings.warn(stacklevel=3)``)."""
    responses = []
    calls = record.calls
    base = len(calls)  # asend(): its async receivers' calls may come first
    nested = record.parent is not None
    # None: a send only counted (past MAX_SENDS) keeps no result repr.
    limit = recording.max_repr_length if record.kept else None
    spent = 0.0
    live = recording.exporter  # otel.py's, or None
    entered = None
    try:
        for position, receiver in enumerate(receivers):
            entry = _receiver_info.get(id(receiver))
            if entry is not None and type(receiver) is FunctionType and entry[0]() is receiver:
                info = entry[1]
            else:
                info = info_of(receiver)
            index = base + position
            start = perf_counter()
            calls.append((info, start))
            record.current = index  # after the append: see SendRecord.running()
            if nested:
                check_loop(recording, record, info)
            if live is not None:
                entered = live.enter(record, info)  # hook: the receiver's span, current
            try:
                try:
                    response = receiver(signal=self, sender=sender, **named)
                finally:
                    if live is not None:
                        live.exit(record, start, entered)
            except Exception as err:
                if not robust:
                    failed(recording, record, None, err, receivers[position + 1 :], never_called)
                    raise
                caught(recording, record, err)
                self._log_robust_failure(receiver, err)  # type: ignore[attr-defined]
                responses.append((receiver, err))
                continue
            except BaseException as err:
                failed(recording, record, None, err, receivers[position + 1 :], never_called)
                raise
            end = perf_counter()
            if record.current is index:
                record.current = None
                spent += end - start
                if response is None or limit is None:
                    calls[index] = (info, start, end)
                else:
                    calls[index] = (info, start, end, safe_repr(response, limit))
            else:
                finish(recording, record, end, response)
            responses.append((receiver, response))
        return responses
    finally:
        recording.receiver_calls += len(calls) - base
        if record.parent is None:
            recording.receiver_time_ms += spent * 1000


async def _asend(
    self: Signal, sender: Any, named: dict[str, Any], recording: Recording,
    record: SendRecord, sync_receivers: list[Any], async_receivers: list[Any], *, robust: bool,
) -> list[tuple[Any, Any]]:
    outer = parent_var.set(record)
    # The exporter that opened the send closes it, even if the recording's
    # OpenTelemetry export stops meanwhile (its context token is detached here).
    live = recording.exporter
    if live is not None:
        live.opened(record)  # hook: its span starts, current until close()
    try:
        if sync_receivers:
            # On 5.2/6.0 the async receivers' calls are begun before it runs (see
            # _observed_awaitables()), and run on while it does.
            sync_send = _dispatcher.sync_to_async(  # type: ignore[attr-defined]
                partial(_sync_calls, self, sender, named, recording, record, sync_receivers,
                        robust, [])
            )
        else:

            async def sync_send() -> list[tuple[Any, Any]]:
                return []

        if PARALLEL["shared_context"]:
            responses = await sync_send()
            async_responses = await _gather()(
                *_observed_awaitables(
                    self, sender, named, async_receivers, recording, record, robust
                )
            )
        else:
            sync_part = sync_send()
            try:
                awaitables = _observed_awaitables(
                    self, sender, named, async_receivers, recording, record, robust
                )
            except BaseException:
                # As in Django: the sync part is never awaited, so never runs.
                skip(record, sync_receivers)
                raise
            responses, async_responses = await _dispatcher.asyncio.gather(  # type: ignore[attr-defined]
                sync_part,
                _dispatcher.asyncio.gather(*awaitables),  # type: ignore[attr-defined]
            )
        responses.extend(zip(async_receivers, async_responses, strict=True))
        return responses  # type: ignore[no-any-return]
    except BaseException:
        if PARALLEL["shared_context"] and not any(c.is_async for c in record.receivers):
            skip(record, async_receivers)  # the sync part failed: never called
        raise
    finally:
        parent_var.reset(outer)
        close(recording, record, exporter=live)


RECORDED: dict[str, Callable[..., Any]] = {
    "send": send,
    "send_robust": send_robust,
    "asend": asend,
    "asend_robust": asend_robust,
}
