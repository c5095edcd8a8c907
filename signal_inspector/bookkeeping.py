"""Building records from inside a recorded send: the send, each receiver call,
its outcome, and what the send's close can say about them (duplicates, loops,
the missing ``created`` guard).

Everything here is called from the hot path of a recorded send and must never
raise into the application: each entry point catches its own failures.
"""

from __future__ import annotations

import contextlib
import os
import sys
import sysconfig
import time
import weakref
from functools import partial
from operator import itemgetter
from time import perf_counter
from types import FrameType, FunctionType, MethodType
from typing import Any

from django.dispatch import Signal

from .conf import get_config
from .context import parent_var
from .frames import same_stack
from .isolation import ARRANGING, arrange
from .naming import (
    code_identity,
    code_of,
    in_modules,
    is_project_code,
    kwargs_reprs,
    modules_fingerprint,
    own_data_key,
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
    exception_info,
    propagated,
)
from .slots import is_trampoline

_MAX_STACK = 30
_MAX_SILENT_KEYS = 500
_NO_FRAMES: list[Any] = []  # shared, never appended to

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
        hit = cache[module] = in_modules(module, prefixes)
    return hit


# co_filename -> whether it is library code: installed packages and the
# standard library, never "where the user sent it from".
_library_files: dict[str, bool] = {}
_LIBRARY_DIRS = tuple(
    {
        os.path.join(os.path.realpath(path), "")
        for name in ("stdlib", "platstdlib")
        if (path := sysconfig.get_paths().get(name))
    }
)
_PACKAGE_DIRS = (f"{os.sep}site-packages{os.sep}", f"{os.sep}dist-packages{os.sep}")


def _is_library(filename: str) -> bool:
    known = _library_files.get(filename)
    if known is None:
        if len(_library_files) > 5000:
            _library_files.clear()
        known = _library_files[filename] = (
            filename.startswith("<frozen ")
            or any(part in filename for part in _PACKAGE_DIRS)
            or os.path.realpath(filename).startswith(_LIBRARY_DIRS)
        )
    return known


_SKIPPED, _LIBRARY, _USER = 0, 1, 2
# Django's command-line entry: above it only the script (manage.py) runs. A send
# reached from it through no code of the user's was made by the command itself
# (migrate's post_migrate), not "at manage.py:18".
_ENTRY = 3


def _is_typed(filename: str) -> bool:
    """Code given as text (``shell -c``, code piped to ``shell``, a console): its
    pseudo-file is ``<string>``, ``<stdin>``, ``<console>``, whatever module's
    globals it runs in (``shell -c`` runs it in Django's)."""
    return filename[:1] == "<" and not filename.startswith("<frozen ")
# id(skip prefixes) -> (prefixes, {id(code): (code, kind, short path, {f_lasti:
# (short path, line, function)})}): one lookup per frame
# on the hot path. The code object is kept in the entry to check the id against
# (bounded: cleared past 5,000 codes).
_kinds_by_prefixes: dict[int, tuple[tuple[str, ...], dict[int, tuple[Any, int, str, dict[int, tuple[str, int, str]]]]]] = {}


def _code_kinds(skip: tuple[str, ...]) -> dict[int, tuple[Any, int, str, dict[int, tuple[str, int, str]]]]:
    """A new cache for ``skip`` (_fired_at() found none for it)."""
    if len(_kinds_by_prefixes) > 32:
        _kinds_by_prefixes.clear()
    entry = _kinds_by_prefixes[id(skip)] = (skip, {})
    return entry[1]


def _code_kind(
    kinds: dict[int, tuple[Any, int, str, dict[int, tuple[str, int, str]]]], frame: Any, skip: tuple[str, ...]
) -> tuple[Any, int, str, dict[int, tuple[str, int, str]]]:
    """Whether ``frame``'s code is in a skipped module, library code or the user's."""
    code = frame.f_code
    module = frame.f_globals.get("__name__", "")
    if code.co_name == "execute_from_command_line" and module == "django.core.management":
        kind = _ENTRY
    elif is_trampoline(code):
        kind = _SKIPPED  # a method running ours in place (slots.py): not its caller
    elif _is_typed(code.co_filename) and not module.startswith(_OWN):
        kind = _USER
    elif _skipped(module, skip):
        kind = _SKIPPED
    elif _is_library(code.co_filename):
        kind = _LIBRARY
    else:
        kind = _USER
    if len(kinds) > 5000:
        kinds.clear()
    hit = kinds[id(code)] = (code, kind, short_path(code.co_filename), {})
    return hit


def _fired_at(
    skip: tuple[str, ...], capture: bool, depth: int
) -> tuple[
    tuple[str, int, str] | None, list[Any], tuple[str, int, str, str] | None
]:
    """Where the send fired in the user's own code (the first frame outside the
    skipped modules, installed packages and the standard library), if any; if
    asked, the stack above the first frame outside the skipped modules, flat as
    (code, offset) pairs (see frames.py); and when no frame is the user's, the frame
    that sent it (file, line, function, package): "inside Django".

    Source lines are read only when the record is turned into data
    (``SendRecord.to_dict()``), not on every send."""
    frame: FrameType | None = sys._getframe(depth)
    start: FrameType | None = None
    hit: Any = None
    entry = _kinds_by_prefixes.get(id(skip))
    kinds = entry[1] if entry is not None and entry[0] is skip else _code_kinds(skip)
    while frame is not None:
        code = frame.f_code
        hit = kinds.get(id(code))
        if hit is None or hit[0] is not code:
            hit = _code_kind(kinds, frame, skip)
        if hit[1]:
            if hit[1] == _ENTRY:
                frame = None
                break
            if start is None:
                start = frame
            if hit[1] == _USER:
                break
        frame = frame.f_back
    fired = inside = None
    if frame is not None:
        # f_lineno scans the code's line table (1.4 µs in a 200-line function):
        # the place of an instruction never changes, so it is made once.
        places = hit[3]
        fired = places.get(frame.f_lasti)
        if fired is None:
            if len(places) > 1000:
                places.clear()
            fired = places[frame.f_lasti] = (hit[2], frame.f_lineno, frame.f_code.co_name)
    else:
        inside = _sent_inside(sys._getframe(depth))
    if not capture or start is None:
        return fired, _NO_FRAMES, inside
    # Kept flat as (code, offset) pairs and read later (see frames.py): per frame,
    # two appends instead of two lookups and a line table scan.
    stack: list[Any] = []
    append = stack.append
    walk: FrameType | None = start
    for _ in range(_MAX_STACK):
        append(walk.f_code)  # type: ignore[union-attr]
        append(walk.f_lasti)  # type: ignore[union-attr]
        walk = walk.f_back  # type: ignore[union-attr]
        if walk is None:
            break
    return fired, stack, inside


_OWN = "signal_inspector"


def _sent_inside(sender: FrameType | None) -> tuple[str, int, str, str] | None:
    """(file, line, function, package) of the frame that sent it, ours skipped."""
    while sender is not None and sender.f_globals.get("__name__", "").startswith(_OWN):
        sender = sender.f_back  # pragma: no cover - defensive: a send method's caller is not ours
    if sender is None:  # pragma: no cover - defensive: not every frame up is ours
        return None
    code = sender.f_code
    package = sender.f_globals.get("__name__", "").partition(".")[0]
    return (short_path(code.co_filename), sender.f_lineno, code.co_name, package)


def _forget(keys: dict[Any, Any], key: Any, ref: Any) -> None:
    keys.pop(key, None)


def _remembered(
    keys: dict[Any, Any], signal: Signal, sender: Any, name: str
) -> tuple[Any, Any] | None:
    """(sys.modules' fingerprint or None, weak references) for a send's key
    remembered in ``keys`` by (id(signal), id(sender)); None when not to
    remember it (a sender that is not a class or None, a signal that cannot be
    referenced weakly).

    Nothing is kept alive: a signal, or a class sent as sender, must stay
    collectable while we record (as Django's own sender cache lets it be). Its
    key is dropped when it dies, before its id can be reused, so a key found is
    the same live pair. The fingerprint is for a signal no module holds yet:
    its name is looked up again once modules change."""
    if sender is not None and not issubclass(type(sender), type):
        return None
    key = (id(signal), id(sender))
    forget = partial(_forget, keys, key)
    try:
        refs = (
            weakref.ref(signal, forget),
            None if sender is None else weakref.ref(sender, forget),
        )
    except TypeError:  # pragma: no cover - every Signal and every class is weakly referenceable
        return None
    return (modules_fingerprint() if name.startswith("<unnamed ") else None, refs)


def count_silent(recording: Recording, signal: Signal, sender: Any) -> None:
    """Count a send no receiver heard, the first time for its signal and sender (see
    start_send()): a class (or no) sender lives as long as the request, so its key
    is remembered by id and found there next time."""
    try:
        name = signal_name(signal)
        count = None
        if name not in get_config().ignore_signals:
            # Cut where a heard send's label is cut: assertions compare the two.
            key = (name, sender_label(sender, recording.max_repr_length))
            counts = recording._silent_counts
            if key not in counts and len(counts) >= _MAX_SILENT_KEYS:
                key = (name, "(other senders)")
            count = counts.get(key)
            if count is None:
                count = counts[key] = [0]
            count[0] += 1
        keys = recording._silent_keys
        held = _remembered(keys, signal, sender, name) if len(keys) < _MAX_SILENT_KEYS else None
        if held is not None:
            keys[(id(signal), id(sender))] = (*held, count)
    except Exception:
        pass


def _send_key(recording: Recording, signal: Signal, sender: Any) -> tuple[Any, ...]:
    """(the signal's name or None when it is ignored, the sender's label, the
    configuration that decided it), remembered by id for the rest of the
    recording (see _remembered())."""
    config = get_config()
    name: str | None = signal_name(signal)
    if name in config.ignore_signals:
        name = None
    label = sender_label(sender, recording.max_repr_length)
    known = (name, label, config)
    keys = recording._send_keys
    held = _remembered(keys, signal, sender, name or "") if len(keys) < _MAX_SILENT_KEYS else None
    if held is not None:
        keys[(id(signal), id(sender))] = (*held, *known)
    return known


def open_send(
    recording: Recording,
    signal: Signal,
    method: str,
    sender: Any,
    named: dict[str, Any],
    sync_receivers: list[Any],
    async_receivers: list[Any],
    depth: int = 4,
) -> SendRecord | None:
    """The record of a send that has live receivers, or None to let Django's own
    method run it (an ignored signal, a failure here). ``depth``: how many frames
    up from here the send method's caller is."""
    try:
        config = get_config()
        entry = recording._send_keys.get((id(signal), id(sender)))
        if (
            entry is not None
            and entry[4] is config  # not if the setting changed since
            and (entry[0] is None or entry[0] == modules_fingerprint())
        ):
            name, label = entry[2], entry[3]
        else:
            name, label, _ = _send_key(recording, signal, sender)
        if name is None:
            return None
        modules = recording.ignore_modules
        if modules and (sync_receivers or async_receivers):  # none: sends only
            # The first receiver known not to be ignored settles it (the panel
            # asks on every send): one lookup.
            first = sync_receivers[0] if sync_receivers else async_receivers[0]
            hit = _in_ignored.get(id(first))
            settled = hit is not None and hit[1] is modules and not hit[2] and hit[0]() is first
            if not settled and _only_ignored(modules, sync_receivers, async_receivers):
                return None
        found = parent_var.get()
        parent: ReceiverCall | None
        if found is None or type(found) is ReceiverCall:
            parent = found
        else:
            outer: SendRecord = found  # type: ignore[assignment]
            if outer.limited and _takes_over(
                recording, outer, name, label, signal, _caller_code(sys._getframe(depth - 1))
            ):
                parent = outer.parent
            else:
                parent = outer.running()
        recording.total_sends = number = recording.total_sends + 1
        # Bounded by sends and by receiver calls (a send's receivers are kept
        # with it or not at all): 990 class_prepared sends with 83 receivers
        # each must not keep 82,000 receiver records.
        calls = len(sync_receivers) + len(async_receivers)
        if (
            recording.kept_sends >= recording.max_sends
            or recording.kept_calls + calls > recording.max_calls
            or (parent is not None and parent.parent is not None and not parent.parent.kept)
        ):
            counted = SendRecord(number, name, method, label, perf_counter(), False, parent)
            counted.sender_id = _sender_key(sender)
            return counted
        record = SendRecord(number, name, method, label, 0.0, True, parent)
        record.sender_id = _sender_key(sender)
        recording.kept_sends += 1
        recording.kept_calls += calls
        if named:
            record.kwargs = kwargs_reprs(named, recording.max_repr_length)
        if recording.keep_kwargs:  # capture_signals(): held until end() (matching.py)
            recording._live_kwargs[number] = dict(named)
        fired_at, stack, inside = _fired_at(config.skip_modules, recording.capture_stacks, depth)
        record.fired_at = fired_at
        if stack:
            # A loop's sends share one stack list: less to keep, and less for the
            # garbage collector to walk (its frames are shared tuples already).
            last = recording._last_stack
            if same_stack(stack, last):
                stack = last
            else:
                recording._last_stack = stack
            record.stack = stack
        if inside is not None:
            record.fired_inside = inside
        if parent is None:
            recording.sends.append(record)
        else:
            parent.add_child(record)
        record.start = perf_counter()
        return record
    except Exception:
        return None


def _takes_over(
    recording: Recording, outer: SendRecord, name: str, label: str, signal: Signal, caller: Any
) -> bool:
    """Whether this send is the one a "sends only" wrapper is running (a Signal
    subclass's send() calling super().send(), another tool's wrapper calling
    ours): if so, the wrapper's record is withdrawn and this send, recorded in
    full, stands in its place (see sends_only.py). Not when ``caller``, the code
    that called this send, is one of the signal's receivers: a receiver that a
    subclass's own send() called is sending the signal again, nested."""
    stand_in = outer.current
    if (
        outer.claimed
        or outer.calls
        or outer.signal != name
        or outer.sender != label
        or type(stand_in) is not ReceiverCall
        or stand_in.children
        or stand_in.queries
        or _is_receivers_code(signal, caller)
    ):
        return False
    outer.claimed = True
    recording.total_sends -= 1
    if outer.kept:
        recording.kept_sends -= 1
        siblings = recording.sends if outer.parent is None else outer.parent.children
        for index in range(len(siblings) - 1, -1, -1):  # pragma: no branch - it is there
            if siblings[index] is outer:
                del siblings[index]
                break
    return True


def _caller_code(frame: FrameType | None) -> Any:
    """The code of ``frame``, or of the first frame above it that is not one of
    our trampolines (a method running ours in place, slots.py)."""
    while frame is not None and is_trampoline(frame.f_code):
        frame = frame.f_back
    return None if frame is None else frame.f_code


def _is_receivers_code(signal: Signal, code: Any) -> bool:
    """Whether ``code`` is what one of ``signal``'s connected receivers runs."""
    try:
        for entry in list(signal.receivers):
            receiver = entry[1]
            if isinstance(receiver, weakref.ReferenceType):
                receiver = receiver()
            if receiver is not None and code_of(receiver) is code:
                return True
    except Exception:
        pass
    return False


def start_send(
    recording: Recording, signal: Signal, method: str, sender: Any, named: dict[str, Any]
) -> tuple[SendRecord, list[Any], list[Any]] | tuple[()] | None:
    """The record and live receivers of a send to record; ``()`` for a send no
    receiver hears (counted; Django's answer is ``[]``); None when Django's own
    method should run it (an ignored signal, a failure here). Called past the
    send methods' early return (no receivers at all: see silent())."""
    sync_receivers, async_receivers = signal._live_receivers(sender)
    if ARRANGING:  # issue 22: mute/shuffle (isolation.py)
        sync_receivers, async_receivers = arrange(recording, signal, sender, sync_receivers, async_receivers)
    if sync_receivers or async_receivers:
        # 0 _fired_at, 1 open_send, 2 start_send, 3 the send method, 4 its caller
        record = open_send(
            recording, signal, method, sender, named, sync_receivers, async_receivers, 4
        )
        return None if record is None else (record, sync_receivers, async_receivers)
    silent(recording, signal, sender)
    return ()


def silent(recording: Recording, signal: Signal, sender: Any) -> None:
    """Count a send no receiver heard. Most sends of a request are these
    (pre_init/post_init for every row): a class sender's key is found by id,
    labels made once (see count_silent())."""
    entry = recording._silent_keys.get((id(signal), id(sender)))
    if entry is not None and (entry[0] is None or entry[0] == modules_fingerprint()):
        if entry[2] is not None:
            entry[2][0] += 1
    else:
        count_silent(recording, signal, sender)


# id(function) -> (weak reference to it, (name, location, key)). A plain dict
# with the weak reference checked on use: cheaper than a WeakKeyDictionary,
# and an id reused by a new function fails the identity check.
_receiver_info: dict[int, tuple[Any, tuple[str, str, str]]] = {}


# id(function) -> (weak reference to it, the prefixes asked about, whether its
# module is one of them): the panel asks for every send.
_in_ignored: dict[int, tuple[Any, tuple[str, ...], bool]] = {}


def _only_ignored(modules: tuple[str, ...], *groups: list[Any]) -> bool:
    """Whether every receiver's code lives in one of ``modules`` (a prefix match).
    Never asked without receivers (a send recorded sends-only: not known)."""
    for group in groups:
        for receiver in group:
            target = receiver.__func__ if type(receiver) is MethodType else receiver
            hit = _in_ignored.get(id(target))
            if hit is not None and hit[1] is modules and hit[0]() is target:
                ignored = hit[2]
            else:
                module = getattr(target, "__module__", None) or ""
                ignored = _skipped(module, modules)
                try:
                    if len(_in_ignored) > 10_000:
                        _in_ignored.clear()
                    _in_ignored[id(target)] = (weakref.ref(target), modules, ignored)
                except TypeError:  # not weak-referenceable: tested every time
                    pass
            if not ignored:
                return False
    return True


def describe(receiver: Any) -> tuple[str, str, str]:
    """(name, location, key) of a receiver, cached per function.

    ``key`` is :func:`naming.code_key`: equal for copies of one function from a
    module imported under two names, so a send calling both is marked; a bound
    method's object, a callable instance or a partial's arguments tell apart
    receivers that run the same code for different data.

    A wrapper made with ``functools.wraps`` stands for the receiver it wraps:
    Sentry's Django integration wraps every receiver anew on each send, and
    two objects' bound methods, or two partials, must stay two receivers with
    their own names.
    """
    if type(receiver) is FunctionType and "__wrapped__" in receiver.__dict__:
        receiver = _wrapped_receiver(receiver)
    is_method = type(receiver) is MethodType
    target = receiver.__func__ if is_method else receiver
    entry = _receiver_info.get(id(target))
    if entry is not None and entry[0]() is target:
        info = entry[1]
    else:
        location = receiver_location(receiver)
        name = receiver_name(receiver)
        code = code_of(receiver)
        key = code_identity(code) if code is not None else location + name
        if type(receiver) is partial:
            # A partial's arguments are its own: partial(f, channel="email") and
            # partial(f, channel="slack") are two receivers (cached per partial).
            key += own_data_key(receiver)
        info = (name, location, key)
        try:
            if len(_receiver_info) > 10_000:
                _receiver_info.clear()
            _receiver_info[id(target)] = (weakref.ref(target), info)
        except TypeError:  # not weak-referenceable: described every time
            pass
    if is_method:
        return info[0], info[1], f"{info[2]}:of {id(receiver.__self__):x}"
    if type(receiver) is not FunctionType and type(receiver) is not partial:
        return info[0], info[1], info[2] + own_data_key(receiver)
    return info


def _wrapped_receiver(wrapper: FunctionType) -> Any:
    """What a chain of ``functools.wraps`` wrappers wraps (a bound method, a
    partial, a function...)."""
    inner: Any = wrapper
    for _ in range(10):
        if type(inner) is not FunctionType:
            break
        wrapped = inner.__dict__.get("__wrapped__")
        if wrapped is None:
            break
        inner = wrapped
    return inner


_PLAIN = frozenset((str, bytes, int, float, bool, type(None)))


def _sender_key(sender: Any) -> object:
    """What tells this sender apart: a plain value is equal to an equal one (a
    receiver re-sending for ``"order-" + str(pk)`` makes a new, equal string),
    anything else is itself (comparing arbitrary objects could run their code)."""
    return sender if type(sender) in _PLAIN else id(sender)


def _looping(send_record: SendRecord, key: str) -> ReceiverCall | None:
    """The call further up already running the receiver ``key`` for the same
    signal and sender (the same object) as ``send_record``, if any: a loop."""
    ancestor = send_record.parent
    while ancestor is not None:
        outer = ancestor.parent
        if (
            ancestor.key == key
            and outer is not None
            and outer.signal == send_record.signal
            # The same sender, not one labelled alike; the label too, in case
            # an id is reused (an async receiver outliving its send's sender),
            # or a plain value equals another's (1 and True).
            and outer.sender_id == send_record.sender_id
            and outer.sender == send_record.sender
        ):
            return ancestor
        ancestor = outer.parent if outer is not None else None
    return None


def _mark_loop(
    recording: Recording, send_record: SendRecord, call: ReceiverCall, first: ReceiverCall
) -> None:
    """Mark ``call`` and ``first`` (see _looping()), and the chain between them."""
    chain = [call.name]
    ancestor = send_record.parent
    while ancestor is not None:  # pragma: no branch - _looping() found first up this chain
        chain.append(ancestor.name)
        if ancestor is first:
            break
        outer = ancestor.parent
        ancestor = outer.parent if outer is not None else None
    if not first.loop:
        recording.loops += 1
    call.loop = first.loop = True
    if not send_record.loop:
        send_record.loop = list(reversed(chain))[:20]


def begin_call(recording: Recording, send_record: SendRecord, receiver: Any, is_async: bool) -> ReceiverCall | None:
    try:
        name, location, key = describe(receiver)
        call = ReceiverCall(name, location, is_async, key, send_record)
        send_record.calls.append(call)
        if send_record.parent is not None:
            first = _looping(send_record, key)
            if first is not None:
                _mark_loop(recording, send_record, call, first)
        recording.receiver_calls += 1
        if is_async:
            send_record.has_async = True
        else:
            # Nested sends and SQL find the sync receiver running through it.
            send_record.current = call
        call.start = perf_counter()
        return call
    except Exception:
        return None


def returned(
    recording: Recording, record: SendRecord, call: ReceiverCall | None, response: Any,
    end: float | None = None,
) -> None:
    """A sync receiver returned ``response`` (at ``end``, or now): time it and keep
    a bounded repr."""
    now = perf_counter() if end is None else end
    record.current = None
    if call is None:
        return
    try:
        duration = (now - call.start) * 1000
        call.duration_ms = duration
        call.outcome = OUTCOME_RETURNED
        if record.parent is None:
            recording.receiver_time_ms += duration
        if response is not None:
            call.result = safe_repr(response, recording.max_repr_length)
    except Exception:
        pass


def async_returned(recording: Recording, call: ReceiverCall | None, response: Any) -> None:
    """A receiver returned ``response`` (an async one leaves ``current`` alone: a
    sync receiver may be running in a thread meanwhile)."""
    now = perf_counter()
    if call is None or call.outcome != OUTCOME_RUNNING:
        return
    try:
        call.duration_ms = (now - call.start) * 1000
        call.outcome = OUTCOME_RETURNED
        _add_time(recording, call)
        if response is not None:
            call.result = safe_repr(response, recording.max_repr_length)
    except Exception:
        pass


def raised(
    recording: Recording, call: ReceiverCall | None, err: BaseException, caught: bool
) -> None:
    """A receiver raised ``err`` (``caught``: send_robust() swallowed it)."""
    now = time.perf_counter()
    if call is None:
        return
    try:
        if call.outcome == OUTCOME_RUNNING:
            call.duration_ms = (now - call.start) * 1000
            last = recording._last_error
            if last is not None and last[0] is err:
                # The same exception passing up through the receivers that
                # caused it (a loop's RecursionError): its traceback is kept
                # once, where it was raised.
                call.exception = propagated(last[1])
            else:
                call.exception = exception_info(err, max(recording.max_repr_length, 500))
                if not call.is_async:
                    # Held only until the outermost send closes (see close()): the
                    # exception is alive anyway while it propagates through it.
                    # Never an async receiver's: a task may fail after the send
                    # closed, and its frames would stay reachable from here.
                    recording._last_error = (err, call.exception)
            recording.errors += 1
            _add_time(recording, call)
        call.outcome = OUTCOME_CAUGHT if caught else OUTCOME_RAISED
    except Exception:
        pass


def info_of(receiver: Any) -> tuple[str, str, str]:
    """describe(), never raising: what the send loop writes for each receiver."""
    try:
        return describe(receiver)
    except Exception:
        return (safe_repr(receiver, 200), "", f"?{id(receiver):x}")


def check_loop(recording: Recording, record: SendRecord, info: tuple[str, str, str]) -> None:
    """Before a receiver of a nested send runs: is it already running for the
    same signal and sender further up? (Its record is made now if so.)"""
    try:
        first = _looping(record, info[2])
        if first is not None:
            call = record.running()
            if call is not None:
                _mark_loop(recording, record, call, first)
    except Exception:
        pass


def finish(recording: Recording, record: SendRecord, end: float, response: Any) -> None:
    """A sync receiver returned something, or something asked for its record while
    it ran (the send loop writes the plain case itself)."""
    try:
        call = record.running()
    except Exception:
        call = None
    returned(recording, record, call, response, end)


def caught(recording: Recording, record: SendRecord, err: BaseException) -> None:
    """send_robust() caught what the running sync receiver raised."""
    try:
        call = record.running()
    except Exception:
        call = None
    record.current = None
    raised(recording, call, err, caught=True)


def failed(
    recording: Recording, record: SendRecord, call: ReceiverCall | None, err: BaseException,
    *never_called: list[Any],
) -> None:
    """A receiver raised out of the send: the receivers after it never run."""
    if call is None:  # pragma: no branch - every send loop passes None
        with contextlib.suppress(Exception):
            call = record.running()
    record.current = None
    raised(recording, call, err, caught=False)
    for receivers in never_called:
        skip(record, receivers)


def _add_time(recording: Recording, call: ReceiverCall) -> None:
    send_record = call.parent
    if send_record is not None and send_record.parent is None:
        recording.receiver_time_ms += call.duration_ms


def skip(send_record: SendRecord, receivers: Any) -> None:
    try:
        for receiver in receivers:
            name, location, key = describe(receiver)
            send_record.add_skipped(name, location, key)
    except Exception:
        pass


_ASK = object()


def close(
    recording: Recording, send_record: SendRecord, spent: float = 0.0, called: int = 0,
    exporter: Any = _ASK,
) -> None:
    """The send is over: its time, and what its receivers tell together.
    ``spent``: seconds in the receivers the send loop wrote as tuples;
    ``called``: how many sync receivers it started; ``exporter``: the one that
    opened the send (otel.py's, or None), else the recording's now."""
    try:
        recording.receiver_calls += called
        if send_record.parent is None:
            recording._last_error = None
            recording.receiver_time_ms += spent * 1000
        send_record.duration_ms = (perf_counter() - send_record.start) * 1000
        close_checks(recording, send_record)
        if exporter is _ASK:
            exporter = recording.exporter
        if exporter is not None:
            exporter(send_record)  # hook: otel.py (never raises)
    except Exception:
        pass


def close_checks(recording: Recording, send_record: SendRecord) -> None:
    """What close() finds in a closed send: async receivers never started, a
    missing ``created`` guard, receivers called twice. The send methods call
    it only when there can be something to find: two calls or more, an async
    receiver, a post_save."""
    try:
        calls = send_record.calls
        if send_record.has_async:
            # Async receivers a failure kept from starting were never called:
            # begin_call() counted them as called.
            receivers = send_record.receivers
            for call in [c for c in receivers if c.start == 0.0]:
                receivers.remove(call)
                recording.receiver_calls -= 1
                send_record.add_skipped(call.name, call.location, call.key)
            receivers.sort(key=lambda c: c.start)
        if send_record.signal == POST_SAVE and send_record.kwargs.get("created") == "False":
            _created_guard_hints(recording, send_record)
        if len(calls) < 2:
            return
        try:
            # All tuples (the common case): the set is built without Python code.
            distinct = len(set(map(_KEY, map(_INFO, calls))))
        except TypeError:  # a ReceiverCall among them
            distinct = len({c[0][2] if type(c) is tuple else c.key for c in calls})
        if distinct == len(calls):
            return
        seen: dict[str, ReceiverCall] = {}
        for call in send_record.receivers:
            first = seen.setdefault(call.key, call)
            if first is not call and call.location:
                if not first.duplicate:
                    recording.duplicates += 1
                first.duplicate = call.duplicate = send_record.duplicate = True
    except Exception:
        pass


POST_SAVE = "django.db.models.signals.post_save"
_INFO, _KEY = itemgetter(0), itemgetter(2)  # a call tuple's (name, location, key); its key
CREATED_GUARD_HINT = (
    "Inserted {n} row(s) on an update (created=False). If this should happen only "
    "for new rows, wrap the side effect in `if created:`."
)


def _created_guard_hints(recording: Recording, send_record: SendRecord) -> None:
    """Only for the project's own receivers: a library's (django-simple-history's
    post_save, Wagtail's reference index) inserts on updates by design, and the
    user could not add the guard anyway."""
    for call in send_record.calls:
        # A call that inserted was asked for its record while it ran: never a tuple.
        if type(call) is not tuple and call.inserts and is_project_code(call.name):
            call.add_hint(CREATED_GUARD_HINT.format(n=call.inserts))
            recording.hints += 1


