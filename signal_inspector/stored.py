"""The panel's stored form of a recording: flat, with default values left out.

The toolbar serializes every panel's stats to JSON on every request. Most
receiver calls returned None, ran no query and made no send, so most of their
fields hold the default: leaving those out, and building the stored form
straight from the records (not from ``Recording.to_dict()``), cuts what each
request pays. :func:`expand` puts the defaults back before anything draws or
exports the sends.
"""

from __future__ import annotations

import copy
import linecache
from collections.abc import Callable
from typing import Any

from .frames import frames, same_stack
from .recording import (
    OUTCOME_RETURNED,
    OUTCOME_RUNNING,
    ReceiverCall,
    Recording,
    SendRecord,
    ms4,
)

# A field missing from a stored send or receiver call holds this value.
SEND_DEFAULTS: dict[str, Any] = {
    "kwargs": {},
    "fired_at": None,
    "fired_inside": None,
    "skipped": [],
    "duplicate": False,
    "loop": [],
    "limited": False,
    "stack_id": None,
    "parent": None,
    "depth": 0,
}
CALL_DEFAULTS: dict[str, Any] = {
    "is_async": False,
    "outcome": "returned",
    "result": "",
    "exception": None,
    "queries": 0,
    "query_ms": 0.0,
    "inserts": 0,
    "duplicate": False,
    "loop": False,
    "on_commit": [],
    "hints": [],
    "children": [],
}
COMPACT = "compact"  # set on stats whose sends are stored compact (see expand())


class _Table:
    """Distinct rows, each stored once, referred to by index."""

    __slots__ = ("rows", "ids", "size")

    def __init__(self) -> None:
        self.rows: list[list[Any]] = []
        self.ids: dict[Any, int] = {}
        self.size = 0  # roughly the bytes of its rows in the stored JSON

    def index(self, row: tuple[Any, ...]) -> int:
        found = self.ids.get(row)
        if found is None:
            found = self.ids[row] = len(self.rows)
            self.rows.append(list(row))
            self.size += 8 + sum(len(item) + 4 if type(item) is str else 8 for item in row)
        return found


def _units(ms: float) -> int:
    """Milliseconds as an integer of 0.1 µs: ``ms4(ms) * 10_000``, to the bit
    (expand() divides it back). Integers cost the JSON encoder a fraction of
    what floats do."""
    value = ms * 10000.0
    return int(value + (0.5 if value >= 0 else -0.5))


def panel_sends(
    recording: Recording,
    hidden: tuple[str, ...],
    mask: Callable[[str], str],
    budget: int | None = None,
    leave_out: str | None = None,
) -> dict[str, Any]:
    """The kept sends in the stored form, and the tables they index.

    What ``Recording.to_dict()`` holds: depth first in the order sends
    started, each with ``depth`` and ``parent`` (the id of the send whose
    receiver made it) and each call's ``children`` as send ids. Compact: each
    send is one flat list of fixed fields and its calls' (see ``SEND_FIELDS``),
    times are integers of 0.1 µs, fields holding their default are left out of
    the dicts ``about`` and ``extra`` (0 when all are), and what repeats from send to send is stored once in a table and
    indexed: the stack (frames in ``hidden`` files left out, secrets in source
    lines masked), the signal, method and sender (``kind``), where it was
    sent (``at``), the receiver's name, location and key (``receiver``).
    Exception texts and tracebacks are masked with ``mask`` too.

    Calls of receivers named ``leave_out``... that made no send are left out,
    and so are sends left with no call and nothing skipped; ``left_out`` holds
    what they counted (calls, time of top-level ones, sends), to take from the
    totals. Past ``budget`` bytes (roughly) no more sends are stored (a parent is
    always stored before its children: depth first), but every kept send is
    still looked at for ``left_out``; ``stored_sends`` says how many were stored.
    ``failed`` lists, per stored send with a receiver that raised, (send id,
    the extras of its calls): what :func:`failure_views` reads.
    Built without recursion: a runaway receiver leaves a deep tree.
    """
    origin = recording.origin
    stacks: list[list[dict[str, Any]]] = []
    stack_ids: dict[tuple[int, ...], int] = {}
    kinds, places, receivers = _Table(), _Table(), _Table()
    kind_index, place_index, receiver_index = kinds.index, places.index, receivers.index
    last_stack: list[Any] = []
    stack_id = None
    left = budget
    full = False
    # What the tables and stacks held when last charged to the budget: a send
    # with a sender, place, receiver or stack not seen before adds a row there.
    charged = 0
    stacks_size = 0
    left_out = {"receiver_calls": 0, "receiver_time_ms": 0.0, "sends": 0}
    removed: set[int] = set()
    flat: list[list[Any]] = []
    rich: list[tuple[int, list[dict[str, Any]]]] = []
    pending: list[tuple[SendRecord, int, int | None]] = [
        (send, 0, None) for send in reversed(recording.sends)
    ]
    last_kind: tuple[Any, ...] = (None, None, None, 0)  # signal, method, sender, index
    last_at: Any = None
    at_index: int | None = None
    last_info: Any = None
    info_index = 0
    while pending:
        send, depth, parent = pending.pop()
        children: list[SendRecord] = []
        kept_calls = []
        weight = 60  # roughly the bytes this send adds to the stored JSON
        for call in send.calls:
            if type(call) is tuple:
                if leave_out and call[0][0].startswith(leave_out):
                    left_out["receiver_calls"] += 1
                    if not depth and len(call) > 2:
                        left_out["receiver_time_ms"] += (call[2] - call[1]) * 1000
                    continue
                weight += 30 if len(call) < 4 else 30 + len(call[3])
            else:
                made = call.children
                if made:
                    children.extend(made)
                elif leave_out and call.name.startswith(leave_out):
                    left_out["receiver_calls"] += 1
                    if not depth:
                        left_out["receiver_time_ms"] += call.duration_ms
                    continue
                weight += 100 + len(call.result)
                if call.exception is not None:
                    weight += 2 * len(call.exception.text) + 200
                if call.on_commit:
                    weight += 60 * len(call.on_commit) + sum(len(c.name) for c in call.on_commit)
                if call.hints:
                    weight += sum(len(hint) + 4 for hint in call.hints)
            kept_calls.append(call)
        if children:
            pending.extend((child, depth + 1, send.id) for child in reversed(children))
        if not kept_calls and not send.skipped and leave_out:
            left_out["sends"] += 1
            removed.add(send.id)
            continue
        if full:
            continue
        kwargs = send.kwargs
        if left is not None:
            if kwargs:
                weight += (
                    sum(map(len, kwargs.values())) + sum(map(len, kwargs)) + 8 * len(kwargs)
                )
            if send.skipped:
                # Receivers a failure kept from running: a list as long as the
                # receivers of a signal, on every send that failed.
                weight += sum(
                    len(s["name"]) + len(s["location"]) + len(s.get("key", "")) + 40
                    for s in send.skipped
                )
            if send.loop:
                weight += sum(len(name) + 4 for name in send.loop)
            if send.fired_inside:
                weight += 100
            tables = kinds.size + places.size + receivers.size + stacks_size
            left -= weight + tables - charged
            charged = tables
            if left < 0:
                full = True
                continue
        stack = send.stack
        if not stack:
            this_stack = None
        elif same_stack(stack, last_stack):
            # The same stack as the send before (a loop's sends share one list).
            this_stack = stack_id
        else:
            # Frames read from a stack are shared tuples (see frames.py): equal
            # stacks hold the same ones.
            last_stack = stack
            read = frames(stack)
            key = tuple(map(id, read))
            stack_id = stack_ids.get(key)
            if stack_id is None:
                stack_id = stack_ids[key] = len(stacks)
                stacks.append([
                    {"file": file, "line": line, "function": function,
                     "code": mask(linecache.getline(file, line).strip())}
                    for file, line, function in read
                    if not file.startswith(hidden)
                ])
                stacks_size += sum(
                    50 + len(f["file"]) + len(f["function"]) + len(f["code"])
                    for f in stacks[-1]
                )
            this_stack = stack_id
        # Names and places are shared strings and tuples: a run of sends of one
        # kind, or from one line, is looked up once.
        if not (
            send.signal is last_kind[0] and send.sender is last_kind[2]
            and send.method is last_kind[1]
        ):
            last_kind = (
                send.signal, send.method, send.sender,
                kind_index((send.signal, send.method, send.sender)),
            )
        fired_at = send.fired_at
        if fired_at is not last_at:
            last_at = fired_at
            at_index = place_index(fired_at) if fired_at else None
        about = (
            _send_extra(send)
            if send.fired_inside or send.skipped or send.duplicate or send.loop or send.limited
            else 0
        )
        data: list[Any] = [
            send.id,
            last_kind[3],
            int((send.start - origin) * 1000 * 10000.0 + 0.5),  # _units(), written out
            int(send.duration_ms * 10000.0 + 0.5),
            at_index,
            this_stack,
            parent,
            depth,
            kwargs,
            about,
        ]
        failed = False  # a call did not return (see failure_views())
        for call in kept_calls:
            if type(call) is tuple:
                # Times as in _units(), written out: this runs for every call.
                info, start = call[0], call[1]
                if info is not last_info:  # a receiver's info is one shared tuple
                    last_info, info_index = info, receiver_index(info)
                at = int((start - origin) * 1000 * 10000.0 + 0.5) if start else None
                size = len(call)
                if size == 3:
                    data += (info_index, at, int((call[2] - start) * 1000 * 10000.0 + 0.5), "", 0)
                elif size == 4:
                    data += (
                        info_index, at, int((call[2] - start) * 1000 * 10000.0 + 0.5), call[3], 0
                    )
                else:  # still running when the recording stopped
                    data += (info_index, at, 0, "", {"outcome": OUTCOME_RUNNING})
            else:
                extra = _call_extra(call, mask)
                data += (
                    receiver_index((call.name, call.location, call.key)),
                    _units((call.start - origin) * 1000) if call.start else None,
                    _units(call.duration_ms),
                    call.result,
                    extra or 0,
                )
                failed = failed or "outcome" in extra
        if failed:
            rich.append((send.id, [x for x in data[_CALLS + 4 :: 5] if x]))
        flat.append(data)
    if removed:
        for data in flat:
            for extra in data[_CALLS + 4 :: 5]:
                if extra and "children" in extra:
                    extra["children"] = [i for i in extra["children"] if i not in removed]
    return {
        COMPACT: 2,
        "sends": flat,
        "stored_sends": len(flat),
        "left_out": left_out,
        "failed": rich,
        "stacks": stacks,
        "kinds_table": kinds.rows,
        "places_table": places.rows,
        "receivers_table": receivers.rows,
    }


# A stored send is one flat list: these fields, then five per receiver call
# (CALL_FIELDS). ``about`` and a call's ``extra`` are 0, or a dict of the
# SEND_DEFAULTS / CALL_DEFAULTS fields that are not at their default and have
# no place of their own; a call's ``result`` is "" when it kept none. Times are
# integers of 0.1 µs. One list per send: the fewest objects to build, collect
# and encode.
SEND_FIELDS = ("id", "kind", "start", "duration", "at", "stack_id", "parent", "depth",
               "kwargs", "about")
CALL_FIELDS = ("receiver", "start", "duration", "result", "extra")
_CALLS = len(SEND_FIELDS)


def _send_extra(send: SendRecord) -> dict[str, Any]:
    extra: dict[str, Any] = {}
    if send.fired_inside:
        file, line, function, package = send.fired_inside
        extra["fired_inside"] = {
            "file": file, "line": line, "function": function, "package": package,
        }
    if send.skipped:
        extra["skipped"] = list(send.skipped)
    if send.duplicate:
        extra["duplicate"] = True
    if send.loop:
        extra["loop"] = list(send.loop)
    if send.limited:
        extra["limited"] = True
    return extra


def _call_extra(call: ReceiverCall, mask: Callable[[str], str]) -> dict[str, Any]:
    data: dict[str, Any] = {}
    if call.is_async:
        data["is_async"] = True
    if call.outcome != OUTCOME_RETURNED:
        data["outcome"] = call.outcome
    if call.exception:
        exception = call.exception.to_dict()
        # Secrets in the traceback's source lines are masked, as in stacks.
        for frame in exception["traceback"]:
            frame["code"] = mask(frame.get("code", ""))
        exception["text"] = "\n".join(mask(line) for line in exception["text"].split("\n"))
        data["exception"] = exception
    if call.queries:
        data["queries"] = call.queries
    query_ms = ms4(call.query_ms)
    if query_ms:
        data["query_ms"] = query_ms
    if call.inserts:
        data["inserts"] = call.inserts
    if call.duplicate:
        data["duplicate"] = True
    if call.loop:
        data["loop"] = True
    if call.on_commit:
        data["on_commit"] = [c.to_dict() for c in call.on_commit]
    if call.hints:
        data["hints"] = list(call.hints)
    if call.children:
        data["children"] = [child.id for child in call.children]
    return data


def failure_views(stats: dict[str, Any]) -> list[dict[str, Any]]:
    """The stored sends with a receiver that raised, as ``{"id", "receivers"}``
    whose receivers are the calls' stored extras (outcome, exception,
    children): what ``panels.mark_propagated`` reads, and marks in place."""
    return [{"id": send_id, "receivers": calls} for send_id, calls in stats.pop("failed", ())]


def top_level_intervals(stats: dict[str, Any]) -> list[tuple[float, float]]:
    """(start, end) in ms of the calls of stored top-level sends."""
    intervals = []
    for send in stats.get("sends", ()):
        if send[6] is None:
            for index in range(_CALLS, len(send), 5):
                start = send[index + 1]
                if start is not None:
                    intervals.append((start / 10_000, (start + send[index + 2]) / 10_000))
    return intervals


def sent_signals(stats: dict[str, Any]) -> set[str]:
    """The names of the signals of the stored sends."""
    kinds = stats.get("kinds_table", [])
    return {kinds[kind][0] for kind in {send[1] for send in stats.get("sends", ())}}


def expand(stats: dict[str, Any]) -> dict[str, Any]:
    """``stats`` with every field of its sends present and no tables (a copy
    when compact): the form ``Recording.to_dict()`` gives, flattened."""
    version = stats.get(COMPACT)
    if not version:
        return stats
    if version != 2:
        # A form this code does not read (one written by an unreleased main):
        # its totals, without its sends.
        return {key: value for key, value in stats.items() if key not in _PACKED} | {
            "sends": []
        }
    kinds = stats.get("kinds_table", [])
    places = stats.get("places_table", [])
    receivers = stats.get("receivers_table", [])
    out = {key: value for key, value in stats.items() if key not in _PACKED}
    sends = []
    for send in stats.get("sends", ()):
        signal, method, sender = kinds[send[1]]
        at = send[4]
        full: dict[str, Any] = {
            "id": send[0],
            "signal": signal,
            "method": method,
            "sender": sender,
            "start_ms": send[2] / 10_000,
            "duration_ms": send[3] / 10_000,
            "fired_at": None if at is None else dict(
                zip(("file", "line", "function"), places[at], strict=True)
            ),
            "stack_id": send[5],
            "parent": send[6],
            "depth": send[7],
            "kwargs": dict(send[8]),
        }
        if send[9]:
            full.update(copy.deepcopy(send[9]))
        for key, default in SEND_DEFAULTS.items():
            if key not in full:
                full[key] = copy.copy(default)
        calls = []
        for index in range(_CALLS, len(send), 5):
            name, location, key = receivers[send[index]]
            start = send[index + 1]
            whole: dict[str, Any] = {
                "name": name,
                "location": location,
                "key": key,
                "start_ms": None if start is None else start / 10_000,
                "duration_ms": send[index + 2] / 10_000,
                "result": send[index + 3],
            }
            if send[index + 4]:
                whole.update(copy.deepcopy(send[index + 4]))
            for field, default in CALL_DEFAULTS.items():
                if field not in whole:
                    whole[field] = copy.copy(default)
            calls.append(whole)
        full["receivers"] = calls
        sends.append(full)
    out["sends"] = sends
    return out


_PACKED = (COMPACT, "kinds_table", "places_table", "receivers_table", "failed")
