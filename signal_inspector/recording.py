"""Plain-data records of signal sends: what the panel stores and renders.

Nothing here holds a live object from the observed application: only strings,
numbers, booleans, lists and dicts, so a record survives the toolbar's JSON
store and never keeps a model instance alive. One exception, for speed: a kept
stack holds code objects until it is read (immutable, with no frame, locals or
instance in them; see frames.py).
"""

from __future__ import annotations

import linecache
import os
import time
import traceback
from dataclasses import dataclass, field
from typing import Any

from .frames import frames

OUTCOME_RETURNED = "returned"
OUTCOME_RAISED = "raised"
OUTCOME_CAUGHT = "caught"  # raised, and send_robust()/asend_robust() caught it
OUTCOME_RUNNING = "running"  # still running when the recording stopped
# The call that holds what ran inside a send recorded "sends only" (sends_only.py):
# not a receiver, and never counted as one.
STAND_IN = "(inside this send: its receivers are not timed)"

_MAX_TRACEBACK_FRAMES = 40
_PACKAGE_DIR = os.path.dirname(os.path.abspath(__file__)) + os.sep
# Shared empty defaults: most calls have no children, hints or on_commit work,
# and not allocating lists for them halves the cost of building a record.
_EMPTY: Any = ()
_EMPTY_DICT: dict[str, str] = {}


def ms4(value: float) -> float:
    """``value`` rounded to 4 decimals, at a fifth of ``round(value, 4)``'s cost
    (it runs several times per record). The same as round() but where value x
    10^4 lands on a half within float error (123.45675): there it may differ in
    the last place."""
    return int(value * 10000.0 + (0.5 if value >= 0 else -0.5)) / 10000.0


@dataclass(slots=True)
class Frame:
    file: str
    line: int
    function: str
    code: str = ""

    def to_dict(self) -> dict[str, Any]:
        return {"file": self.file, "line": self.line, "function": self.function, "code": self.code}


@dataclass(slots=True)
class ExceptionInfo:
    type: str
    message: str
    traceback: list[Frame]
    text: str

    def to_dict(self) -> dict[str, Any]:
        return {
            "type": self.type,
            "message": self.message,
            "traceback": [f.to_dict() for f in self.traceback],
            "text": self.text,
        }


@dataclass(slots=True)
class OnCommitCallback:
    """A ``transaction.on_commit()`` callback a receiver scheduled."""

    name: str
    using: str
    # pending: the transaction was still open when the recording ended;
    # ran: at commit (or at once, outside a transaction); discarded: rolled back.
    status: str = "pending"

    def to_dict(self) -> dict[str, Any]:
        return {"name": self.name, "using": self.using, "status": self.status}


class ReceiverCall:
    """One receiver called for one send.

    Built on the hot path: only the fields every call has are set per instance;
    the rest are class-level defaults until a call needs its own.
    """

    start = 0.0  # perf_counter() at start; made relative in to_dict()
    duration_ms = 0.0
    outcome = OUTCOME_RUNNING
    result = ""
    exception: ExceptionInfo | None = None
    queries = 0
    query_ms = 0.0
    inserts = 0
    children: list[SendRecord] = _EMPTY
    duplicate = False
    loop = False
    on_commit: list[OnCommitCallback] = _EMPTY
    hints: list[str] = _EMPTY

    def __init__(
        self, name: str, location: str, is_async: bool, key: str,
        parent: SendRecord | None = None,
    ) -> None:
        self.name = name
        self.location = location
        self.is_async = is_async
        self.key = key  # identifies the code that ran (naming.code_key)
        self.parent = parent

    def add_child(self, send: SendRecord) -> None:
        if self.children is _EMPTY:
            self.children = []
        self.children.append(send)

    def add_on_commit(self, callback: OnCommitCallback) -> None:
        if self.on_commit is _EMPTY:
            self.on_commit = []
        self.on_commit.append(callback)

    def add_hint(self, hint: str) -> None:
        if self.hints is _EMPTY:
            self.hints = []
        self.hints.append(hint)

    def __repr__(self) -> str:
        return f"<ReceiverCall {self.name} {self.outcome}>"

    def to_dict(self, origin: float, stacks: dict[Any, list[dict[str, Any]]] | None = None) -> dict[str, Any]:
        """Plain data, the sends it caused included (built without recursion)."""
        out = self._shallow(origin)
        _fill_children([(child, out["children"]) for child in self.children], origin, stacks)
        return out

    def _shallow(self, origin: float) -> dict[str, Any]:
        return {
            "name": self.name,
            "location": self.location,
            "is_async": self.is_async,
            "key": self.key,
            "start_ms": ms4((self.start - origin) * 1000) if self.start else None,
            "duration_ms": ms4(self.duration_ms),
            "outcome": self.outcome,
            "result": self.result,
            "exception": self.exception.to_dict() if self.exception else None,
            "queries": self.queries,
            "query_ms": ms4(self.query_ms),
            "inserts": self.inserts,
            "duplicate": self.duplicate,
            "loop": self.loop,
            "on_commit": [c.to_dict() for c in self.on_commit],
            "hints": list(self.hints),
            "children": [],
        }


class SendRecord:
    """One send that had live receivers.

    Built on the hot path: only the fields every send has are set per instance;
    the rest are class-level defaults until a send needs its own.
    """

    kwargs: dict[str, str] = _EMPTY_DICT
    # (file, line, function) of the first frame of the user's own code: outside
    # the skipped modules, installed packages and the standard library.
    fired_at: tuple[str, int, str] | None = None
    # No such frame (a send made inside Django or a library): the frame that
    # sent it, as (file, line, function, top-level package).
    fired_inside: tuple[str, int, str, str] | None = None
    # Innermost first, flat: [code, instruction offset, code, offset, ...] (see
    # frames.py); frames.frames() reads it as (absolute file, line, function).
    stack: list[Any] = _EMPTY
    duration_ms = 0.0
    skipped: list[dict[str, str]] = _EMPTY
    duplicate = False
    loop: list[str] = _EMPTY
    # The sync receiver running, while one is: its record, or its index in
    # ``calls`` until something asks (see running()).
    current: ReceiverCall | int | None = None
    # Recorded "sends only" (see dispatch.sends_only): receivers from the result,
    # without their time or nesting.
    limited = False
    # A "sends only" record whose send a fully recorded send method took over
    # (see sends_only.py): it was never stored, and its wrapper records nothing.
    claimed = False
    has_async = False  # an async receiver was called: close() sorts by start
    # Which sender, for telling senders apart while the send runs (loops): two
    # senders may share a label (equal reprs, a repr cut short). A plain value
    # (str, int, ...) itself, as an equal one is the same sender; else its id().
    sender_id: object = 0

    def __init__(
        self, id: int, signal: str, method: str, sender: str, start: float,
        kept: bool = True, parent: ReceiverCall | None = None,
    ) -> None:
        self.id = id
        self.signal = signal
        self.method = method
        self.sender = sender
        self.start = start
        # A ReceiverCall each, or, for a sync receiver nothing asked about while
        # it ran (no nested send, query, on_commit, error or result), the flat
        # tuple the send loop wrote: ((name, location, key), start[, end[, result
        # repr]]).
        # Tuples of strings and floats cost no garbage collection; they become
        # ReceiverCalls when read (see receivers).
        self.calls: list[Any] = []
        self.kept = kept
        self.parent = parent

    @property
    def receivers(self) -> list[ReceiverCall]:
        """The receivers called, in order, as ReceiverCall records."""
        calls = self.calls
        for index, entry in enumerate(calls):
            if type(entry) is tuple:
                calls[index] = self._call(entry)
        current = self.current
        if type(current) is int and current < len(calls):
            # Read while a receiver runs: the send loop must finish this record,
            # not write its tuple over it (see running()).
            self.current = calls[current]
        return calls

    def _call(self, entry: tuple[Any, ...]) -> ReceiverCall:
        (name, location, key), start = entry[0], entry[1]
        call = ReceiverCall(name, location, False, key, self)
        call.start = start
        if len(entry) > 2:
            call.duration_ms = (entry[2] - start) * 1000
            call.outcome = OUTCOME_RETURNED
            if len(entry) > 3:
                call.result = entry[3]
        return call

    def running(self) -> ReceiverCall | None:
        """The sync receiver running now, if any (its record made on demand: the
        send loop marks it by its index in ``calls``)."""
        current = self.current
        if current is None or type(current) is ReceiverCall:
            return current
        try:
            call = self.calls[current]  # type: ignore[index]
            if type(call) is tuple:
                call = self.calls[current] = self._call(call)  # type: ignore[index]
        except Exception:  # a thread sharing the context, at a bad moment
            return None
        self.current = call
        return call  # type: ignore[no-any-return]

    def add_skipped(self, name: str, location: str, key: str = "") -> None:
        # The key as a call's: tells apart two objects' bound methods (testing.py).
        if self.skipped is _EMPTY:
            self.skipped = []
        self.skipped.append({"name": name, "location": location, "key": key})

    def __repr__(self) -> str:
        return f"<SendRecord {self.signal} from {self.sender}>"

    def to_dict(self, origin: float, stacks: dict[Any, list[dict[str, Any]]] | None = None) -> dict[str, Any]:
        """Plain data, nested sends included (built without recursion: a runaway
        receiver leaves a tree nearly as deep as the recursion limit).
        ``stacks`` memoizes stacks shared by many sends (a loop's)."""
        out: list[dict[str, Any]] = []
        _fill_children([(self, out)], origin, stacks)
        return out[0]

    def _shallow(self, origin: float, stacks: dict[Any, list[dict[str, Any]]] | None) -> dict[str, Any]:
        return {
            "id": self.id,
            "signal": self.signal,
            "method": self.method,
            "sender": self.sender,
            "kwargs": dict(self.kwargs),
            "fired_at": (
                {"file": self.fired_at[0], "line": self.fired_at[1], "function": self.fired_at[2]}
                if self.fired_at
                else None
            ),
            "fired_inside": (
                dict(zip(("file", "line", "function", "package"), self.fired_inside, strict=True))
                if self.fired_inside
                else None
            ),
            "stack": _stack_dicts(frames(self.stack), stacks) if self.stack else [],
            "start_ms": ms4((self.start - origin) * 1000),
            "duration_ms": ms4(self.duration_ms),
            "receivers": [
                # A tuple is read through a ReceiverCall made for it, not kept.
                (self._call(c) if type(c) is tuple else c)._shallow(origin)
                for c in self.calls
            ],
            "skipped": list(self.skipped),
            "duplicate": self.duplicate,
            "loop": list(self.loop),
            "limited": self.limited,
        }


@dataclass
class Recording:
    """Everything signal_inspector saw while one recording was active.

    ``sends`` holds the top-level sends in order; a send fired inside a receiver
    is a child of that receiver's call. Past ``max_sends`` detailed sends, or
    ``max_calls`` receivers of detailed sends, only counts are kept (``dropped``).
    """

    max_sends: int = 1000
    max_calls: int = 5000
    max_repr_length: int = 200
    capture_stacks: bool = False
    # capture_signals() only: the real keyword arguments of the detailed sends, by
    # send id, until the recording ends (see matching.py; never the panel's).
    keep_kwargs: bool = False
    _live_kwargs: dict[int, dict[str, Any]] = field(default_factory=dict, repr=False)
    # (signal, sender, receiver) -> times a muted receiver was left out (isolation.py).
    muted: dict[tuple[str, str, str], int] = field(default_factory=dict)
    ignore_modules: tuple[str, ...] = ()
    started_at: float = field(default_factory=time.time)
    origin: float = field(default_factory=time.perf_counter)
    stopped: float | None = None
    sends: list[SendRecord] = field(default_factory=list)
    total_sends: int = 0
    kept_sends: int = 0
    receiver_calls: int = 0
    # Receivers of the kept sends (called, or skipped after a failure).
    kept_calls: int = 0
    receiver_time_ms: float = 0.0
    errors: int = 0
    duplicates: int = 0
    loops: int = 0
    hints: int = 0
    # (signal, sender) -> [count] of sends no receiver heard: a one-item list,
    # so the send path adds one without hashing the key (see ``silent``).
    _silent_counts: dict[tuple[str, str], list[int]] = field(default_factory=dict, repr=False)
    # What this recording could not see, in words (see patching.limitations()).
    limitations: list[str] = field(default_factory=list)
    # (id(signal), id(sender)) -> (sys.modules' fingerprint for a signal no module
    # holds, else None; weak references; its count in ``_silent_counts`` or None
    # when ignored), for class senders and None: see bookkeeping._remembered().
    _silent_keys: dict[tuple[int, int], Any] = field(default_factory=dict, repr=False)
    # The same for sends that were heard, with (name or None when the signal is
    # ignored, sender label, configuration): see bookkeeping.open_send().
    _send_keys: dict[tuple[int, int], Any] = field(default_factory=dict, repr=False)
    # The stack of the last send kept with one (see bookkeeping.open_send()).
    _last_stack: list[Any] = field(default_factory=list, repr=False)
    # (the last exception recorded, its info) until the outermost send closes:
    # see bookkeeping.raised() and propagated().
    _last_error: Any = field(default=None, repr=False)
    # on_commit callbacks given a record, and those past on_commit.MAX_TRACKED.
    on_commit_count: int = 0
    on_commit_dropped: int = 0
    # (connection, id of Django's run_on_commit entry, record) until the
    # recording ends: never the entry, which holds the callback.
    _on_commit: list[Any] = field(default_factory=list, repr=False)
    # An exporter reading each top-level send as it closes (otel.SpanExporter):
    # ``opened(record)`` when a kept one opens, called with it when it closes.
    exporter: Any = field(default=None, repr=False)

    @property
    def silent(self) -> dict[tuple[str, str], int]:
        """Sends no receiver heard, counted per (signal, sender)."""
        return {key: count[0] for key, count in self._silent_counts.items()}

    @property
    def dropped(self) -> int:
        return self.total_sends - self.kept_sends

    @property
    def duration_ms(self) -> float:
        end = self.stopped if self.stopped is not None else time.perf_counter()
        return (end - self.origin) * 1000

    def iter_sends(self) -> list[SendRecord]:
        """Every kept send, depth first, in the order they started."""
        out: list[SendRecord] = []
        stack = list(reversed(self.sends))
        while stack:
            send = stack.pop()
            out.append(send)
            for call in reversed(send.receivers):
                stack.extend(reversed(call.children))
        return out

    @property
    def findings(self) -> list[Any]:
        """Signal problems seen while recording: bypassed receivers, repeated
        queries by receiver, network I/O and work handed over before commit
        (:class:`signal_inspector.findings.Finding` records)."""
        from .findings import collect

        return collect(self)

    def to_text(self, **options: Any) -> str:
        """The sends as a bounded text tree; see :func:`signal_inspector.text.render`."""
        from .text import render

        return render(self, **options)

    def to_dict(self) -> dict[str, Any]:
        """All of the recording as JSON-serializable data."""
        sends: list[dict[str, Any]] = []
        _fill_children([(s, sends) for s in self.sends], self.origin, {})
        return {**self.summary(), "sends": sends}

    def summary(self) -> dict[str, Any]:
        """to_dict() without the sends: the counts, totals and silent sends."""
        return {
            "started_at": self.started_at,
            "duration_ms": ms4(self.duration_ms),
            "max_sends": self.max_sends,
            "total_sends": self.total_sends,
            "kept_sends": self.kept_sends,
            "dropped_sends": self.dropped,
            "max_receiver_calls": self.max_calls,
            "kept_receiver_calls": self.kept_calls,
            "receiver_calls": self.receiver_calls,
            "receiver_time_ms": ms4(self.receiver_time_ms),
            "errors": self.errors,
            "duplicates": self.duplicates,
            "loops": self.loops,
            "hints": self.hints,
            "on_commit_count": self.on_commit_count,
            "on_commit_dropped": self.on_commit_dropped,
            "limitations": list(self.limitations),
            "findings": [finding.to_dict() for finding in self.findings],
            "silent": [
                {"signal": signal, "sender": sender, "count": count}
                for (signal, sender), count in self.silent.items()
            ],
            "muted": [
                {"signal": signal, "sender": sender, "receiver": receiver, "count": count}
                for (signal, sender, receiver), count in self.muted.items()
            ],
        }


def _fill_children(
    roots: list[tuple[SendRecord, list[dict[str, Any]]]],
    origin: float,
    stacks: dict[Any, list[dict[str, Any]]] | None,
) -> None:
    """Append each send's dict to its list, depth first, children in order."""
    pending = list(reversed(roots))
    while pending:
        send, target = pending.pop()
        data = send._shallow(origin, stacks)
        target.append(data)
        for call, call_data in reversed(list(zip(send.calls, data["receivers"], strict=True))):
            if type(call) is not tuple:  # a call written as a tuple made no sends
                pending.extend((child, call_data["children"]) for child in reversed(call.children))


def _stack_dicts(
    stack: list[tuple[str, int, str]], memo: dict[Any, list[dict[str, Any]]] | None
) -> list[dict[str, Any]]:
    # Frames are shared tuples (one per instruction, see frames.place()): equal
    # stacks hold the same ones.
    key = tuple(map(id, stack))
    if memo is not None and key in memo:
        # Frame dicts are shared between sends with the same stack: read-only.
        return list(memo[key])
    from .naming import mask_source_line

    frames = [
        {"file": file, "line": line, "function": function,
         "code": mask_source_line(linecache.getline(file, line).strip())}
        for file, line, function in stack
    ]
    if memo is not None:
        memo[key] = frames
        return list(frames)
    return frames


def _last_frames(tb: Any, count: int) -> Any:
    """The traceback from its ``count``-th last frame on: extracting (and reading
    source lines for) all of a RecursionError's thousand frames, at every level
    of the loop, made such a request seconds slower."""
    length = 0
    walk = tb
    while walk is not None:
        length += 1
        walk = walk.tb_next
    for _ in range(max(length - count, 0)):
        tb = tb.tb_next
    return tb


def propagated(origin: ExceptionInfo) -> ExceptionInfo:
    """The record of an exception that a receiver further down already raised."""
    return ExceptionInfo(
        type=origin.type,
        message=origin.message,
        traceback=[],
        text=f"{origin.type}: {origin.message}\n(raised further down, by a receiver this one "
        "triggered: its traceback is shown there)\n",
    )


def exception_info(exc: BaseException, limit: int) -> ExceptionInfo:
    """Strings and numbers from an exception; the exception itself is not kept."""
    from .naming import mask_source_line, safe_message, short_path

    # Taken as reprs are: an exception's message may be lazy and query.
    message = safe_message(exc, limit)
    frames: list[Frame] = []
    try:
        summary = traceback.extract_tb(_last_frames(exc.__traceback__, _MAX_TRACEBACK_FRAMES))
        # Not our own frames (the wrapped send() that called the receiver).
        frames = [
            Frame(short_path(f.filename), f.lineno or 0, f.name, mask_source_line(f.line or "")[:limit])
            for f in summary
            if not os.path.abspath(f.filename).startswith(_PACKAGE_DIR)
        ]
    except Exception:
        pass
    kind = type(exc)
    module = kind.__module__ if isinstance(kind.__module__, str) else "?"
    type_name = kind.__qualname__ if module == "builtins" else f"{module}.{kind.__qualname__}"
    text = "Traceback (most recent call last):\n" + "".join(
        f'  File "{f.file}", line {f.line}, in {f.function}\n' + (f"    {f.code}\n" if f.code else "")
        for f in frames
    ) + f"{type_name}: {message}\n"
    return ExceptionInfo(type=type_name, message=message, traceback=frames, text=text)
