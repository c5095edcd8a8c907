"""The wrapped ``Signal`` methods: the only code on the hot path of every send.

Each wrapped method is a faithful copy of Django's (5.2 and 6.x) that calls
receivers directly from its own frame, so ``warnings.warn(stacklevel=...)`` in
a receiver points where it did before, and returns Django's own values. When
no recording is active the only extra work is one context-variable read.
"""

from __future__ import annotations

import asyncio
import contextlib
import sys
import time
import weakref
from collections.abc import Iterator
from contextvars import ContextVar, Token
from dataclasses import dataclass
from functools import partial
from time import perf_counter
from types import FunctionType, MethodType
from typing import Any

from asgiref.sync import async_to_sync, sync_to_async
from django.dispatch import Signal
from django.dispatch import dispatcher as _dispatcher

from .conf import get_config
from .naming import (
    code_identity,
    code_of,
    kwargs_reprs,
    receiver_location,
    receiver_name,
    safe_repr,
    sender_label,
    short_path,
    signal_name,
)
from .recording import (
    OUTCOME_CAUGHT,
    OUTCOME_RAISED,
    OUTCOME_RETURNED,
    OUTCOME_RUNNING,
    ReceiverCall,
    Recording,
    SendRecord,
    error_key,
    exception_info,
    propagated,
)

NO_RECEIVERS = _dispatcher.NO_RECEIVERS
# Django 6.1 runs async receivers in a TaskGroup sharing one context; 5.2 gathers.
_run_parallel = getattr(_dispatcher, "_run_parallel", None)
_SEQUENTIAL_ASEND = _run_parallel is not None
_gather: Any = _run_parallel if _run_parallel is not None else asyncio.gather

_recording: ContextVar[Recording | None] = ContextVar(
    "signal_inspector_recording", default=None
)
# The send being dispatched (its ``current`` receiver is the one running), or,
# inside an async receiver, that receiver's call itself (tasks run concurrently).
_parent: ContextVar[SendRecord | ReceiverCall | None] = ContextVar(
    "signal_inspector_parent", default=None
)


def current_call() -> ReceiverCall | None:
    """The receiver call running in this context, if a recording is active."""
    parent = _parent.get()
    if parent is None or type(parent) is ReceiverCall:
        return parent
    return parent.current

_MARKER = "_signal_inspector_original"
_MAX_STACK = 30
_MAX_SILENT_KEYS = 500
_NO_FRAMES: list[tuple[str, int, str]] = []  # shared, never appended to


# --- connect sites -------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class ConnectSite:
    """Where one ``connect()`` call ran, and with what arguments.

    The sender is kept only as a label and a kind (see :func:`sender_kind`):
    Django 5.2 stores nothing but its id, and a strong or weak reference here
    would change what Django keeps alive.
    """

    file: str
    line: int
    function: str
    module: str
    dispatch_uid: str | None
    weak: bool
    receiver: str = ""
    sender: str = ""  # sender_label() of the sender; "" for any sender
    sender_kind: str = ""
    lazy: bool = False  # the sender was given as an "app_label.Model" string

    def describe(self) -> str:
        return f"{self.file}:{self.line}" if self.file else "unknown"


# Kept on the signal itself (not in a WeakKeyDictionary: connect() must not
# create weak references Django did not ask for).
_SITES_ATTR = "_signal_inspector_connect_sites"


def connect_sites(signal: Signal) -> dict[Any, list[ConnectSite]]:
    """Lookup key -> every site that connected ``signal`` with that key, in order."""
    return signal.__dict__.get(_SITES_ATTR, {})


# django.apps.registry: a lazy "app_label.Model" sender connects through
# Apps.lazy_model_operation(), whose frames are not where connect() was called.
_CONNECT_SKIP = (
    "django.dispatch",
    "django.db.models.signals",
    "django.apps.registry",
    "signal_inspector",
)


def sender_kind(sender: Any) -> str:
    """``any``, ``model``, ``proxy_model``, ``abstract_model``, ``class`` or ``object``."""
    if sender is None:
        return "any"
    if not issubclass(type(sender), type):
        return "object"
    meta = sender.__dict__.get("_meta")
    if meta is None or not isinstance(getattr(meta, "label", None), str):
        return "class"
    if getattr(meta, "abstract", False):
        return "abstract_model"
    if getattr(meta, "proxy", False):
        return "proxy_model"
    return "model"


def _connect_site(
    dispatch_uid: Any, weak: bool, receiver: Any = None, sender: Any = None
) -> ConnectSite:
    uid = None if dispatch_uid is None else safe_repr(dispatch_uid, 100).strip("'")
    facts = (
        receiver_name(receiver),
        "" if sender is None else sender_label(sender),
        sender_kind(sender),
    )
    lazy = False
    frame = sys._getframe(2)
    while frame is not None:
        module = frame.f_globals.get("__name__", "")
        code = frame.f_code
        if not _in_modules(module, _CONNECT_SKIP):
            return ConnectSite(
                short_path(code.co_filename),
                frame.f_lineno,
                code.co_name,
                module,
                uid,
                weak,
                *facts,
                lazy,
            )
        if code.co_name == "_lazy_method" and module == "django.db.models.signals":
            lazy = isinstance(frame.f_locals.get("sender"), str)
        elif code.co_name == "do_pending_operations":
            # Deferred until the model's class statement ran: the frames below
            # are that statement, not the connect() call, which is gone.
            return ConnectSite("", 0, "", "", uid, weak, *facts, True)
        frame = frame.f_back
    return ConnectSite("", 0, "", "", uid, weak, *facts, lazy)


def _lookup_key(receiver: Any, sender: Any, dispatch_uid: Any) -> Any:
    make_id = _dispatcher._make_id
    if dispatch_uid:
        return (dispatch_uid, make_id(sender))
    return (make_id(receiver), make_id(sender))


def _key_is_live(signal: Signal, key: Any) -> bool:
    for entry in signal.receivers:
        if entry[0] == key:
            ref = entry[1]
            if isinstance(ref, weakref.ReferenceType) and ref() is None:
                return False
            # Django 6.x: (key, receiver, sender_ref, is_async).
            return not (len(entry) == 4 and entry[2] is not None and entry[2]() is None)
    return False


def _prune_sites(signal: Signal, sites: dict[Any, list[ConnectSite]]) -> None:
    """Forget the sites of lookup keys no receiver holds any more (disconnected or
    collected): connect/disconnect per request must not grow memory."""
    live = {entry[0] for entry in signal.receivers}
    for key in [k for k in sites if k not in live]:
        del sites[key]


def _wrap_connect(original: Any) -> Any:
    def connect(self, receiver, sender=None, weak=True, dispatch_uid=None):
        try:
            key = _lookup_key(receiver, sender, dispatch_uid)
            sites = self.__dict__.setdefault(_SITES_ATTR, {})
            if key in sites and not _key_is_live(self, key):
                # Whatever held this key died or was disconnected (its id may be
                # reused): those sites belong to it, not to this receiver.
                del sites[key]
        except Exception:  # never break connect()
            sites = None
        result = original(self, receiver, sender, weak, dispatch_uid)
        if sites is not None:
            with contextlib.suppress(Exception):
                sites.setdefault(key, []).append(
                    _connect_site(dispatch_uid, weak, receiver, sender)
                )
                if len(sites) > 2 * len(self.receivers) + 32:
                    _prune_sites(self, sites)
        return result

    connect.__doc__ = original.__doc__
    setattr(connect, _MARKER, original)
    return connect


def _wrap_disconnect(original: Any) -> Any:
    def disconnect(self, receiver=None, sender=None, dispatch_uid=None):
        disconnected = original(self, receiver, sender, dispatch_uid)
        if disconnected:
            with contextlib.suppress(Exception):
                sites = self.__dict__.get(_SITES_ATTR)
                if sites:
                    sites.pop(_lookup_key(receiver, sender, dispatch_uid), None)
        return disconnected

    disconnect.__doc__ = original.__doc__
    setattr(disconnect, _MARKER, original)
    return disconnect


# --- installing ----------------------------------------------------------------


def is_installed() -> bool:
    return hasattr(Signal.send, _MARKER)


def install() -> None:
    """Patch ``Signal`` once; later calls do nothing."""
    if is_installed():
        return
    for name, replacement in (
        ("send", send),
        ("send_robust", send_robust),
        ("asend", asend),
        ("asend_robust", asend_robust),
    ):
        original = Signal.__dict__[name]
        setattr(replacement, _MARKER, original)
        replacement.__doc__ = original.__doc__
        setattr(Signal, name, replacement)
    Signal.connect = _wrap_connect(Signal.__dict__["connect"])
    Signal.disconnect = _wrap_disconnect(Signal.__dict__["disconnect"])
    _hook_connections()
    from . import on_commit

    on_commit.install()


def uninstall() -> None:
    """Restore Django's own methods (for tests and benchmarks)."""
    for name in ("send", "send_robust", "asend", "asend_robust", "connect", "disconnect"):
        current = Signal.__dict__[name]
        original = getattr(current, _MARKER, None)
        if original is not None:
            setattr(Signal, name, original)
    from django.db.backends.base.base import BaseDatabaseWrapper

    original_init = getattr(BaseDatabaseWrapper.__init__, _MARKER, None)
    if original_init is not None:
        BaseDatabaseWrapper.__init__ = original_init


# --- starting and stopping -----------------------------------------------------


def begin(
    *,
    max_sends: int | None = None,
    capture_stacks: bool = False,
    ignore_modules: tuple[str, ...] = (),
) -> Recording:
    """Start a recording in the current context; pair with :func:`end`.

    Sends whose receivers all live in ``ignore_modules`` (say, the toolbar's
    own) are not recorded and do not count against ``max_sends``.
    """
    if max_sends is not None and (
        isinstance(max_sends, bool) or not isinstance(max_sends, int) or max_sends < 0
    ):
        raise ValueError(f"max_sends must be a whole number of sends (0 or more), not {max_sends!r}")
    install()
    config = get_config()
    recording = Recording(
        max_sends=config.max_sends if max_sends is None else max_sends,
        max_repr_length=config.max_repr_length,
        capture_stacks=capture_stacks,
        ignore_modules=tuple(ignore_modules),
    )
    recording._token = _recording.set(recording)  # type: ignore[attr-defined]
    _hook_connections()  # for a recording started in a thread that predates install()
    return recording


def end(recording: Recording) -> Recording:
    """Stop ``recording`` (idempotent) and restore whatever was active before it."""
    if recording.stopped is None:
        recording.stopped = time.perf_counter()
    from .on_commit import settle

    settle(recording)
    token: Token[Recording | None] | None = getattr(recording, "_token", None)
    if token is not None:
        recording._token = None  # type: ignore[attr-defined]
        try:
            _recording.reset(token)
        except (ValueError, RuntimeError):
            # Stopped from another context than the one that started it.
            if _recording.get() is recording:
                _recording.set(None)
    return recording


def current() -> Recording | None:
    """The recording active in this context, if any."""
    return _recording.get()


# --- SQL attribution -----------------------------------------------------------


def _sql_hook(execute, sql, params, many, context):
    call = current_call()
    if call is None:
        return execute(sql, params, many, context)
    start = time.perf_counter()
    try:
        return execute(sql, params, many, context)
    finally:
        call.queries += 1
        call.query_ms += (time.perf_counter() - start) * 1000
        if type(sql) is str and sql.lstrip()[:6].upper() == "INSERT":
            call.inserts += 1


def _hook(connection: Any) -> None:
    # First, so that execute_wrapper()'s pop() still removes the caller's own
    # wrapper rather than ours.
    if _sql_hook not in connection.execute_wrappers:
        connection.execute_wrappers.insert(0, _sql_hook)


def _hook_connections() -> None:
    """Give every database connection the SQL hook: those made from now on, in
    whatever thread (async receivers query through sync_to_async threads), at
    creation; those this thread already has, now. With the app listed first in
    INSTALLED_APPS this runs before any connection exists; without it, a
    connection another thread opened before the first record() stays unhooked."""
    from django.db import connections
    from django.db.backends.base.base import BaseDatabaseWrapper

    original = BaseDatabaseWrapper.__init__
    if not hasattr(original, _MARKER):

        def __init__(self, *args, **kwargs):
            original(self, *args, **kwargs)
            with contextlib.suppress(Exception):
                _hook(self)

        setattr(__init__, _MARKER, original)
        BaseDatabaseWrapper.__init__ = __init__
    with contextlib.suppress(Exception):
        for connection in connections.all(initialized_only=True):
            _hook(connection)


# --- building records ----------------------------------------------------------


def _in_modules(module: str, prefixes: tuple[str, ...]) -> bool:
    return module in prefixes or module.startswith(tuple(p + "." for p in prefixes))


# id(prefixes) -> (prefixes, {module: whether it is one of them or inside one}).
# Keyed by id, checked by identity: hashing the tuple on every frame would cost more.
_module_tests: dict[int, tuple[tuple[str, ...], dict[str, bool]]] = {}


def _skipped(module: str, prefixes: tuple[str, ...]) -> bool:
    entry = _module_tests.get(id(prefixes))
    if entry is None or entry[0] is not prefixes:
        if len(_module_tests) > 32:
            _module_tests.clear()
        entry = _module_tests[id(prefixes)] = (prefixes, {})
    cache = entry[1]
    hit = cache.get(module)
    if hit is None:
        if len(cache) > 5000:
            cache.clear()
        hit = cache[module] = _in_modules(module, prefixes)
    return hit


def _fired_at(
    skip: tuple[str, ...], capture: bool
) -> tuple[tuple[str, int, str] | None, list[tuple[str, int, str]]]:
    """Where the send fired and, if asked, the stack above it as (file, line,
    function) tuples: source lines are read only when the record is turned into
    data (``SendRecord.to_dict()``), not on every send."""
    frame = sys._getframe(3)
    while frame is not None and _skipped(frame.f_globals.get("__name__", ""), skip):
        frame = frame.f_back
    if frame is None:
        return None, _NO_FRAMES
    code = frame.f_code
    fired = (short_path(code.co_filename), frame.f_lineno, code.co_name)
    if not capture:
        return fired, _NO_FRAMES
    stack = []
    walk = frame
    while walk is not None and len(stack) < _MAX_STACK:
        c = walk.f_code
        stack.append((c.co_filename, walk.f_lineno, c.co_name))
        walk = walk.f_back
    return fired, stack


def _count_silent(recording: Recording, signal: Signal, sender: Any) -> None:
    try:
        name = signal_name(signal)
        if name in get_config().ignore_signals:
            return
        key = (name, sender_label(sender, 80))
        silent = recording.silent
        if key not in silent and len(silent) >= _MAX_SILENT_KEYS:
            key = (name, "(other senders)")
        silent[key] = silent.get(key, 0) + 1
    except Exception:
        pass


def _open_send(
    recording: Recording,
    signal: Signal,
    method: str,
    sender: Any,
    named: dict[str, Any],
    sync_receivers: list[Any],
    async_receivers: list[Any],
) -> SendRecord | None:
    try:
        config = get_config()
        name = signal_name(signal)
        if name in config.ignore_signals:
            return None
        if recording.ignore_modules and _only_ignored(
            recording.ignore_modules, sync_receivers, async_receivers
        ):
            return None
        parent = current_call()
        recording.total_sends += 1
        kept = recording.kept_sends < recording.max_sends and (
            parent is None or parent.parent is None or parent.parent.kept
        )
        limit = recording.max_repr_length
        recording._next_id += 1
        send_record = SendRecord(
            recording._next_id,
            name,
            method,
            sender_label(sender, limit),
            0.0,
            kept,
            parent,
        )
        if kept:
            recording.kept_sends += 1
            send_record.kwargs = kwargs_reprs(named, limit)
            send_record.fired_at, send_record.stack = _fired_at(
                config.skip_modules, recording.capture_stacks
            )
            if parent is None:
                recording.sends.append(send_record)
            else:
                parent.add_child(send_record)
        send_record.start = time.perf_counter()
        return send_record
    except Exception:
        return None


# id(function) -> (weak reference to it, (name, location, key)). A plain dict
# with the weak reference checked on use: cheaper than a WeakKeyDictionary,
# and an id reused by a new function fails the identity check.
_receiver_info: dict[int, tuple[Any, tuple[str, str, str]]] = {}


def _only_ignored(modules: tuple[str, ...], *groups: list[Any]) -> bool:
    """Whether every receiver's code lives in one of ``modules`` (a prefix match)."""
    for group in groups:
        for receiver in group:
            target = receiver.__func__ if type(receiver) is MethodType else receiver
            module = getattr(target, "__module__", None) or ""
            if not _skipped(module, modules):
                return False
    return True


def _describe(receiver: Any) -> tuple[str, str, str]:
    """(name, location, key) of a receiver, cached per function.

    ``key`` is :func:`naming.code_key`: equal for copies of one function from a
    module imported under two names, so a send calling both is marked.
    """
    is_method = type(receiver) is MethodType
    target = receiver.__func__ if is_method else receiver
    entry = _receiver_info.get(id(target))
    if entry is not None and entry[0]() is target:
        info = entry[1]
    else:
        location = receiver_location(receiver)
        name = receiver_name(receiver)
        code = code_of(receiver)
        info = (name, location, code_identity(code) if code is not None else location + name)
        try:
            if len(_receiver_info) > 10_000:
                _receiver_info.clear()
            _receiver_info[id(target)] = (weakref.ref(target), info)
        except TypeError:  # not weak-referenceable: described every time
            pass
    if is_method:
        return info[0], info[1], f"{info[2]}:of {id(receiver.__self__):x}"
    if type(receiver) is not FunctionType and type(receiver) is not partial:
        return info[0], info[1], f"{info[2]}:of {id(receiver):x}"
    return info


def _new_call(
    recording: Recording, send_record: SendRecord, receiver: Any, is_async: bool
) -> ReceiverCall:
    name, location, key = _describe(receiver)
    call = ReceiverCall(name, location, is_async, key, send_record)
    send_record.receivers.append(call)
    if send_record.parent is not None:
        _mark_loop(recording, send_record, call)
    return call


def _mark_loop(recording: Recording, send_record: SendRecord, call: ReceiverCall) -> None:
    """A loop: the same receiver already running for the same signal and sender."""
    ancestor = send_record.parent
    chain = [call.name]
    while ancestor is not None:
        outer = ancestor.parent
        chain.append(ancestor.name)
        if (
            ancestor.key == call.key
            and outer is not None
            and outer.signal == send_record.signal
            and outer.sender_key == send_record.sender_key
        ):
            if not ancestor.loop:
                recording.loops += 1
            call.loop = ancestor.loop = True
            if not send_record.loop:
                send_record.loop = list(reversed(chain))[:20]
            return
        ancestor = outer.parent if outer is not None else None


def _begin(recording: Recording, send_record: SendRecord, receiver: Any, is_async: bool) -> ReceiverCall | None:
    try:
        # _describe(), inlined for the common case: a plain function seen before.
        entry = _receiver_info.get(id(receiver))
        if entry is not None and type(receiver) is FunctionType and entry[0]() is receiver:
            name, location, key = entry[1]
        else:
            name, location, key = _describe(receiver)
        call = ReceiverCall(name, location, is_async, key, send_record)
        send_record.receivers.append(call)
        if send_record.parent is not None:
            _mark_loop(recording, send_record, call)
        recording.receiver_calls += 1
        call.start = perf_counter()
        return call
    except Exception:
        return None


def _returned(recording: Recording, call: ReceiverCall | None, response: Any) -> None:
    now = perf_counter()
    if call is None:
        return
    try:
        call.duration_ms = (now - call.start) * 1000
        call.outcome = OUTCOME_RETURNED
        if response is not None:
            call.result = safe_repr(response, recording.max_repr_length)
        _add_time(recording, call)
    except Exception:
        pass


def _raised(recording: Recording, call: ReceiverCall | None, err: BaseException, caught: bool) -> None:
    now = time.perf_counter()
    if call is None:
        return
    try:
        if call.outcome == OUTCOME_RUNNING:
            call.duration_ms = (now - call.start) * 1000
            key = error_key(err)
            last = recording._last_error
            if key is not None and last is not None and last[0] == key:
                # The same exception passing up through the receivers that
                # caused it (a loop's RecursionError): its traceback is kept
                # once, where it was raised.
                call.exception = propagated(last[1])
            else:
                call.exception = exception_info(err, max(recording.max_repr_length, 500))
                recording._last_error = (key, call.exception)
            recording.errors += 1
            _add_time(recording, call)
        call.outcome = OUTCOME_CAUGHT if caught else OUTCOME_RAISED
    except Exception:
        pass


def _add_time(recording: Recording, call: ReceiverCall) -> None:
    send_record = call.parent
    if send_record is not None and send_record.parent is None:
        recording.receiver_time_ms += call.duration_ms


def _skip(send_record: SendRecord, receivers: Any) -> None:
    try:
        for receiver in receivers:
            name, location, _ = _describe(receiver)
            send_record.add_skipped(name, location)
    except Exception:
        pass


def _has_async(send_record: SendRecord) -> bool:
    for call in send_record.receivers:  # noqa: SIM110  (any() with a generator costs more)
        if call.is_async:
            return True
    return False


def _close(recording: Recording, send_record: SendRecord) -> None:
    try:
        send_record.duration_ms = (perf_counter() - send_record.start) * 1000
        receivers = send_record.receivers
        if _has_async(send_record):
            # Async receivers a failure kept from starting were never called.
            for call in [c for c in receivers if c.start == 0.0]:
                receivers.remove(call)
                send_record.add_skipped(call.name, call.location)
            receivers.sort(key=lambda c: c.start)
        if send_record.signal == _POST_SAVE and send_record.kwargs.get("created") == "False":
            _created_guard_hints(recording, send_record)
        if len(receivers) < 2:
            return
        seen: dict[str, ReceiverCall] = {}
        for call in receivers:
            first = seen.setdefault(call.key, call)
            if first is not call and call.location:
                if not first.duplicate:
                    recording.duplicates += 1
                first.duplicate = call.duplicate = send_record.duplicate = True
    except Exception:
        pass


_POST_SAVE = "django.db.models.signals.post_save"
CREATED_GUARD_HINT = (
    "Inserted {n} row(s) on an update (created=False). If this should happen only "
    "for new rows, wrap the side effect in `if created:`."
)


def _created_guard_hints(recording: Recording, send_record: SendRecord) -> None:
    for call in send_record.receivers:
        if call.inserts:
            call.add_hint(CREATED_GUARD_HINT.format(n=call.inserts))
            recording.hints += 1


class _Observed:
    """Await a receiver's coroutine, timing it and marking it the current
    receiver on every step (tasks may share one context on Django 6.1)."""

    __slots__ = ("coro", "call", "recording")

    def __init__(self, coro: Any, call: ReceiverCall | None, recording: Recording) -> None:
        self.coro = coro
        self.call = call
        self.recording = recording

    def __await__(self) -> Iterator[Any]:
        return self  # type: ignore[return-value]

    def __iter__(self) -> _Observed:
        return self

    def __next__(self) -> Any:
        return self.send(None)

    def send(self, value: Any) -> Any:
        return self._step(self.coro.send, value)

    def throw(self, *args: Any) -> Any:
        return self._step(self.coro.throw, *args)

    def close(self) -> None:
        self.coro.close()

    def _step(self, method: Any, *args: Any) -> Any:
        call = self.call
        if call is not None and call.start == 0.0:
            call.start = time.perf_counter()
        token = _parent.set(call)
        try:
            return method(*args)
        except StopIteration as stop:
            _returned(self.recording, call, stop.value)
            raise
        except BaseException as err:
            _raised(self.recording, call, err, caught=False)
            raise
        finally:
            _parent.reset(token)


def _observe(recording: Recording, send_record: SendRecord, receivers: list[Any]) -> list[ReceiverCall | None]:
    calls: list[ReceiverCall | None] = []
    for receiver in receivers:
        try:
            call = _new_call(recording, send_record, receiver, True)
            recording.receiver_calls += 1
        except Exception:
            call = None
        calls.append(call)
    return calls


# --- the wrapped methods -------------------------------------------------------
# Each keeps Django's structure line for line; the recorded branches call the
# receiver from the same frame and only add bookkeeping around the call.


def _async_part(self, sender, named, async_receivers):
    async def asend():
        async_responses = await _gather(
            *(receiver(signal=self, sender=sender, **named) for receiver in async_receivers)
        )
        return zip(async_receivers, async_responses)

    return async_to_sync(asend)()


def _async_part_robust(self, sender, named, async_receivers):
    async def asend_and_wrap_exception(receiver):
        try:
            response = await receiver(signal=self, sender=sender, **named)
        except Exception as err:
            self._log_robust_failure(receiver, err)
            return err
        return response

    async def asend():
        async_responses = await _gather(
            *(asend_and_wrap_exception(receiver) for receiver in async_receivers)
        )
        return zip(async_receivers, async_responses)

    return async_to_sync(asend)()


def _async_part_recorded(self, sender, named, async_receivers, recording, record, robust):
    calls = _observe(recording, record, async_receivers)

    async def asend_and_wrap_exception(receiver, call):
        try:
            response = await _Observed(
                receiver(signal=self, sender=sender, **named), call, recording
            )
        except Exception as err:
            _raised(recording, call, err, caught=True)
            self._log_robust_failure(receiver, err)
            return err
        return response

    async def asend():
        if robust:
            async_responses = await _gather(
                *(
                    asend_and_wrap_exception(receiver, call)
                    for receiver, call in zip(async_receivers, calls)
                )
            )
        else:
            async_responses = await _gather(
                *(
                    _Observed(receiver(signal=self, sender=sender, **named), call, recording)
                    for receiver, call in zip(async_receivers, calls)
                )
            )
        return zip(async_receivers, async_responses)

    return async_to_sync(asend)()


def send(self, sender, **named):
    # No closures here: Django's send() pays for cells its nested async def
    # needs; not paying them is what keeps the idle path as fast as Django's.
    if not self.receivers or self.sender_receivers_cache.get(sender) is NO_RECEIVERS:
        if _recording.get() is not None:
            _count_silent(_recording.get(), self, sender)
        return []
    recording = _recording.get()
    responses = []
    sync_receivers, async_receivers = self._live_receivers(sender)
    record = None
    if recording is not None:
        if not sync_receivers and not async_receivers:
            _count_silent(recording, self, sender)
        else:
            record = _open_send(
                recording, self, "send", sender, named, sync_receivers, async_receivers
            )
    if record is None:
        for receiver in sync_receivers:
            response = receiver(signal=self, sender=sender, **named)
            responses.append((receiver, response))
        if async_receivers:
            responses.extend(_async_part(self, sender, named, async_receivers))
        return responses

    # Nested sends and SQL find the receiver running through record.current.
    outer = _parent.set(record)
    try:
        for index, receiver in enumerate(sync_receivers):
            call = _begin(recording, record, receiver, False)
            record.current = call
            try:
                response = receiver(signal=self, sender=sender, **named)
            except BaseException as err:
                record.current = None
                _raised(recording, call, err, caught=False)
                _skip(record, sync_receivers[index + 1 :])
                _skip(record, async_receivers)
                raise
            record.current = None
            if call is not None:  # _returned(), inlined: this loop is the hot path
                call.duration_ms = (perf_counter() - call.start) * 1000
                call.outcome = OUTCOME_RETURNED
                if record.parent is None:
                    recording.receiver_time_ms += call.duration_ms
                if response is not None:
                    call.result = safe_repr(response, recording.max_repr_length)
            responses.append((receiver, response))
        if async_receivers:
            responses.extend(
                _async_part_recorded(
                    self, sender, named, async_receivers, recording, record, False
                )
            )
        return responses
    finally:
        _parent.reset(outer)
        _close(recording, record)


def send_robust(self, sender, **named):
    if not self.receivers or self.sender_receivers_cache.get(sender) is NO_RECEIVERS:
        if _recording.get() is not None:
            _count_silent(_recording.get(), self, sender)
        return []

    # Call each receiver with whatever arguments it can accept.
    # Return a list of tuple pairs [(receiver, response), ... ].
    recording = _recording.get()
    responses = []
    sync_receivers, async_receivers = self._live_receivers(sender)
    record = None
    if recording is not None:
        if not sync_receivers and not async_receivers:
            _count_silent(recording, self, sender)
        else:
            record = _open_send(
                recording, self, "send_robust", sender, named, sync_receivers, async_receivers
            )
    if record is None:
        for receiver in sync_receivers:
            try:
                response = receiver(signal=self, sender=sender, **named)
            except Exception as err:
                self._log_robust_failure(receiver, err)
                responses.append((receiver, err))
            else:
                responses.append((receiver, response))
        if async_receivers:
            responses.extend(_async_part_robust(self, sender, named, async_receivers))
        return responses

    # Nested sends and SQL find the receiver running through record.current.
    outer = _parent.set(record)
    try:
        for index, receiver in enumerate(sync_receivers):
            call = _begin(recording, record, receiver, False)
            record.current = call
            try:
                response = receiver(signal=self, sender=sender, **named)
            except Exception as err:
                record.current = None
                _raised(recording, call, err, caught=True)
                self._log_robust_failure(receiver, err)
                responses.append((receiver, err))
            except BaseException as err:
                record.current = None
                _raised(recording, call, err, caught=False)
                _skip(record, sync_receivers[index + 1 :])
                _skip(record, async_receivers)
                raise
            else:
                record.current = None
                if call is not None:  # _returned(), inlined: this loop is the hot path
                    call.duration_ms = (perf_counter() - call.start) * 1000
                    call.outcome = OUTCOME_RETURNED
                    if record.parent is None:
                        recording.receiver_time_ms += call.duration_ms
                    if response is not None:
                        call.result = safe_repr(response, recording.max_repr_length)
                responses.append((receiver, response))
        if async_receivers:
            responses.extend(
                _async_part_recorded(
                    self, sender, named, async_receivers, recording, record, True
                )
            )
        return responses
    finally:
        _parent.reset(outer)
        _close(recording, record)


async def asend(self, sender, **named):
    # The body lives in _asend(): its closures would make every call, even
    # one with no receivers, pay for creating their cells.
    if not self.receivers or self.sender_receivers_cache.get(sender) is NO_RECEIVERS:
        if _recording.get() is not None:
            _count_silent(_recording.get(), self, sender)
        return []
    return await _asend(self, sender, named)


async def _asend(self, sender, named):
    recording = _recording.get()
    sync_receivers, async_receivers = self._live_receivers(sender)
    record = None
    if recording is not None:
        if not sync_receivers and not async_receivers:
            _count_silent(recording, self, sender)
        else:
            record = _open_send(
                recording, self, "asend", sender, named, sync_receivers, async_receivers
            )
    if record is None:
        if sync_receivers:

            @sync_to_async
            def sync_send():
                responses = []
                for receiver in sync_receivers:
                    response = receiver(signal=self, sender=sender, **named)
                    responses.append((receiver, response))
                return responses

        else:

            async def sync_send():
                return []

        if _SEQUENTIAL_ASEND:
            responses = await sync_send()
            async_responses = await _gather(
                *(
                    receiver(signal=self, sender=sender, **named)
                    for receiver in async_receivers
                )
            )
        else:
            responses, async_responses = await asyncio.gather(
                sync_send(),
                asyncio.gather(
                    *(
                        receiver(signal=self, sender=sender, **named)
                        for receiver in async_receivers
                    )
                ),
            )
        responses.extend(zip(async_receivers, async_responses))
        return responses

    # Nested sends and SQL find the receiver running through record.current.
    outer = _parent.set(record)
    try:
        if sync_receivers:

            @sync_to_async
            def sync_send():
                responses = []
                for index, receiver in enumerate(sync_receivers):
                    call = _begin(recording, record, receiver, False)
                    record.current = call
                    try:
                        response = receiver(signal=self, sender=sender, **named)
                    except BaseException as err:
                        record.current = None
                        _raised(recording, call, err, caught=False)
                        _skip(record, sync_receivers[index + 1 :])
                        raise
                    record.current = None
                    if call is not None:  # _returned(), inlined
                        call.duration_ms = (perf_counter() - call.start) * 1000
                        call.outcome = OUTCOME_RETURNED
                        if record.parent is None:
                            recording.receiver_time_ms += call.duration_ms
                        if response is not None:
                            call.result = safe_repr(response, recording.max_repr_length)
                    responses.append((receiver, response))
                return responses

        else:

            async def sync_send():
                return []

        if _SEQUENTIAL_ASEND:
            responses = await sync_send()
            calls = _observe(recording, record, async_receivers)
            async_responses = await _gather(
                *(
                    _Observed(receiver(signal=self, sender=sender, **named), call, recording)
                    for receiver, call in zip(async_receivers, calls)
                )
            )
        else:
            calls = _observe(recording, record, async_receivers)
            responses, async_responses = await asyncio.gather(
                sync_send(),
                asyncio.gather(
                    *(
                        _Observed(receiver(signal=self, sender=sender, **named), call, recording)
                        for receiver, call in zip(async_receivers, calls)
                    )
                ),
            )
        responses.extend(zip(async_receivers, async_responses))
        return responses
    except BaseException:
        if _SEQUENTIAL_ASEND and not any(c.is_async for c in record.receivers):
            _skip(record, async_receivers)
        raise
    finally:
        _parent.reset(outer)
        _close(recording, record)


async def asend_robust(self, sender, **named):
    # The body lives in _asend_robust(): its closures would make every call, even
    # one with no receivers, pay for creating their cells.
    if not self.receivers or self.sender_receivers_cache.get(sender) is NO_RECEIVERS:
        if _recording.get() is not None:
            _count_silent(_recording.get(), self, sender)
        return []
    return await _asend_robust(self, sender, named)


async def _asend_robust(self, sender, named):
    recording = _recording.get()

    # Call each receiver with whatever arguments it can accept.
    # Return a list of tuple pairs [(receiver, response), ... ].
    sync_receivers, async_receivers = self._live_receivers(sender)
    record = None
    if recording is not None:
        if not sync_receivers and not async_receivers:
            _count_silent(recording, self, sender)
        else:
            record = _open_send(
                recording, self, "asend_robust", sender, named, sync_receivers, async_receivers
            )
    if record is None:
        if sync_receivers:

            @sync_to_async
            def sync_send():
                responses = []
                for receiver in sync_receivers:
                    try:
                        response = receiver(signal=self, sender=sender, **named)
                    except Exception as err:
                        self._log_robust_failure(receiver, err)
                        responses.append((receiver, err))
                    else:
                        responses.append((receiver, response))
                return responses

        else:

            async def sync_send():
                return []

        async def asend_and_wrap_exception(receiver):
            try:
                response = await receiver(signal=self, sender=sender, **named)
            except Exception as err:
                self._log_robust_failure(receiver, err)
                return err
            return response

        if _SEQUENTIAL_ASEND:
            responses = await sync_send()
            async_responses = await _gather(
                *(asend_and_wrap_exception(receiver) for receiver in async_receivers),
            )
        else:
            responses, async_responses = await asyncio.gather(
                sync_send(),
                asyncio.gather(
                    *(asend_and_wrap_exception(receiver) for receiver in async_receivers),
                ),
            )
        responses.extend(zip(async_receivers, async_responses))
        return responses

    # Nested sends and SQL find the receiver running through record.current.
    outer = _parent.set(record)
    try:
        if sync_receivers:

            @sync_to_async
            def sync_send():
                responses = []
                for index, receiver in enumerate(sync_receivers):
                    call = _begin(recording, record, receiver, False)
                    record.current = call
                    try:
                        response = receiver(signal=self, sender=sender, **named)
                    except Exception as err:
                        record.current = None
                        _raised(recording, call, err, caught=True)
                        self._log_robust_failure(receiver, err)
                        responses.append((receiver, err))
                    except BaseException as err:
                        record.current = None
                        _raised(recording, call, err, caught=False)
                        _skip(record, sync_receivers[index + 1 :])
                        raise
                    else:
                        record.current = None
                        if call is not None:  # _returned(), inlined
                            call.duration_ms = (perf_counter() - call.start) * 1000
                            call.outcome = OUTCOME_RETURNED
                            if record.parent is None:
                                recording.receiver_time_ms += call.duration_ms
                            if response is not None:
                                call.result = safe_repr(response, recording.max_repr_length)
                        responses.append((receiver, response))
                return responses

        else:

            async def sync_send():
                return []

        async def asend_and_wrap_exception(receiver, call):
            try:
                response = await _Observed(
                    receiver(signal=self, sender=sender, **named), call, recording
                )
            except Exception as err:
                _raised(recording, call, err, caught=True)
                self._log_robust_failure(receiver, err)
                return err
            return response

        if _SEQUENTIAL_ASEND:
            responses = await sync_send()
            calls = _observe(recording, record, async_receivers)
            async_responses = await _gather(
                *(
                    asend_and_wrap_exception(receiver, call)
                    for receiver, call in zip(async_receivers, calls)
                ),
            )
        else:
            calls = _observe(recording, record, async_receivers)
            responses, async_responses = await asyncio.gather(
                sync_send(),
                asyncio.gather(
                    *(
                        asend_and_wrap_exception(receiver, call)
                        for receiver, call in zip(async_receivers, calls)
                    ),
                ),
            )
        responses.extend(zip(async_receivers, async_responses))
        return responses
    except BaseException:
        if _SEQUENTIAL_ASEND and not any(c.is_async for c in record.receivers):
            _skip(record, async_receivers)
        raise
    finally:
        _parent.reset(outer)
        _close(recording, record)
