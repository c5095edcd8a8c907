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

    __slots__ = ("rows", "ids")

    def __init__(self) -> None:
        self.rows: list[list[Any]] = []
        self.ids: dict[Any, int] = {}

    def index(self, row: tuple[Any, ...]) -> int:
        found = self.ids.get(row)
        if found is None:
            found = self.ids[row] = len(self.rows)
            self.rows.append(list(row))
        return found


def _weight(send: SendRecord) -> int:
    """Roughly the bytes a send adds to the stored JSON in this form."""
    size = 150
    for key, value in send.kwargs.items():
        size += len(key) + len(value) + 8
    for call in send.calls:
        if type(call) is tuple:
            size += 100 + (len(call[3]) if len(call) > 3 else 0)
        else:
            size += 100 + len(call.result)
            if call.exception is not None:
                size += 2 * len(call.exception.text) + 200
    return size


def _call_name(call: Any) -> str:
    return call[0][0] if type(call) is tuple else call.name  # type: ignore[no-any-return]


def _call_ms(call: Any) -> float:
    if type(call) is tuple:
        return (call[2] - call[1]) * 1000 if len(call) > 2 else 0.0
    return call.duration_ms  # type: ignore[no-any-return]


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
    receiver made it) and each call's ``children`` as send ids. Compact: fields
    holding their default are left out, and what repeats from send to send is
    stored once in a table and indexed: the stack (``stack_id`` into
    ``stacks``, frames in ``hidden`` files left out, secrets in source lines
    masked), the signal, method and sender (``kind``), where it was sent
    (``at``), the receiver's name, location and key (``receiver``).

    Calls of receivers named ``leave_out``... that made no send are left out,
    and so are sends left with no call and nothing skipped; ``left_out`` holds
    what they counted (calls, time of top-level ones, sends), to take from the
    totals. Past ``budget`` bytes (roughly) no more sends are stored (a parent is
    always stored before its children: depth first), but every kept send is
    still looked at for ``left_out``; ``stored_sends`` says how many were stored.
    Built without recursion: a runaway receiver leaves a deep tree.
    """
    origin = recording.origin
    stacks: list[list[dict[str, Any]]] = []
    stack_ids: dict[tuple[int, ...], int] = {}
    kinds, places, receivers = _Table(), _Table(), _Table()
    last_stack: list[tuple[str, int, str]] = []
    stack_id = 0
    left = budget
    full = False
    left_out = {"receiver_calls": 0, "receiver_time_ms": 0.0, "sends": 0}
    removed: set[int] = set()
    flat: list[dict[str, Any]] = []
    pending: list[tuple[SendRecord, int, int | None]] = [
        (send, 0, None) for send in reversed(recording.sends)
    ]
    while pending:
        send, depth, parent = pending.pop()
        children: list[SendRecord] = []
        kept_calls = []
        for call in send.calls:
            made = type(call) is not tuple and call.children
            if made:
                children.extend(call.children)
            if leave_out and not made and _call_name(call).startswith(leave_out):
                left_out["receiver_calls"] += 1
                if not depth:
                    left_out["receiver_time_ms"] += _call_ms(call)
                continue
            kept_calls.append(call)
        pending.extend((child, depth + 1, send.id) for child in reversed(children))
        if not kept_calls and not send.skipped and leave_out:
            left_out["sends"] += 1
            removed.add(send.id)
            continue
        if full:
            continue
        if left is not None:
            left -= _weight(send)
            if left < 0:
                full = True
                continue
        data: dict[str, Any] = {
            "id": send.id,
            "kind": kinds.index((send.signal, send.method, send.sender)),
            "start_ms": ms4((send.start - origin) * 1000),
            "duration_ms": ms4(send.duration_ms),
        }
        if depth:
            data["depth"] = depth
            data["parent"] = parent
        if send.kwargs:
            data["kwargs"] = dict(send.kwargs)
        if send.fired_at:
            data["at"] = places.index(send.fired_at)
        if send.fired_inside:
            file, line, function, package = send.fired_inside
            data["fired_inside"] = {
                "file": file, "line": line, "function": function, "package": package,
            }
        if send.stack is last_stack or send.stack == last_stack:
            # The same stack as the send before (a loop's sends share one list).
            data["stack_id"] = stack_id
        elif send.stack:
            # Frames are shared tuples (see bookkeeping._fired_at): the stacks
            # of one loop's sends hold the same ones.
            last_stack = send.stack
            key = tuple(map(id, send.stack))
            found = stack_ids.get(key)
            if found is not None:
                stack_id = found
            else:
                stack_id = stack_ids[key] = len(stacks)
                stacks.append([
                    {"file": file, "line": line, "function": function,
                     "code": mask(linecache.getline(file, line).strip())}
                    for file, line, function in send.stack
                    if not file.startswith(hidden)
                ])
            data["stack_id"] = stack_id
        if send.skipped:
            data["skipped"] = list(send.skipped)
        if send.duplicate:
            data["duplicate"] = True
        if send.loop:
            data["loop"] = list(send.loop)
        if send.limited:
            data["limited"] = True
        calls: list[dict[str, Any]] = []
        for call in kept_calls:
            if type(call) is tuple:
                start = call[1]
                item: dict[str, Any] = {
                    "receiver": receivers.index(call[0]),
                    "start_ms": ms4((start - origin) * 1000) if start else None,
                }
                if len(call) > 2:
                    item["duration_ms"] = ms4((call[2] - start) * 1000)
                    if len(call) > 3 and call[3]:
                        item["result"] = call[3]
                else:
                    item["duration_ms"] = 0.0
                    item["outcome"] = OUTCOME_RUNNING
            else:
                item = _call(call, origin)
                item["receiver"] = receivers.index((call.name, call.location, call.key))
                if call.children:
                    item["children"] = [child.id for child in call.children]
            calls.append(item)
        data["receivers"] = calls
        flat.append(data)
    if removed:
        for data in flat:
            for item in data["receivers"]:
                if "children" in item:
                    item["children"] = [i for i in item["children"] if i not in removed]
    return {
        COMPACT: True,
        "sends": flat,
        "stored_sends": len(flat),
        "left_out": left_out,
        "stacks": stacks,
        "kinds_table": kinds.rows,
        "places_table": places.rows,
        "receivers_table": receivers.rows,
    }


def _call(call: ReceiverCall, origin: float) -> dict[str, Any]:
    data: dict[str, Any] = {
        "start_ms": ms4((call.start - origin) * 1000) if call.start else None,
        "duration_ms": ms4(call.duration_ms),
    }
    if call.is_async:
        data["is_async"] = True
    if call.outcome != OUTCOME_RETURNED:
        data["outcome"] = call.outcome
    if call.result:
        data["result"] = call.result
    if call.exception:
        data["exception"] = call.exception.to_dict()
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
    return data


def expand(stats: dict[str, Any]) -> dict[str, Any]:
    """``stats`` with every field of its sends present and no tables (a copy
    when compact): the form ``Recording.to_dict()`` gives, flattened."""
    if not stats.get(COMPACT):
        return stats
    kinds = stats.get("kinds_table", [])
    places = stats.get("places_table", [])
    receivers = stats.get("receivers_table", [])
    out = {key: value for key, value in stats.items() if key not in _PACKED}
    sends = []
    for send in stats.get("sends", ()):
        full = {key: value for key, value in send.items() if key not in ("kind", "at")}
        if "kind" in send:
            full["signal"], full["method"], full["sender"] = kinds[send["kind"]]
        if "at" in send:
            file, line, function = places[send["at"]]
            full["fired_at"] = {"file": file, "line": line, "function": function}
        for key, default in SEND_DEFAULTS.items():
            if key not in full:
                full[key] = copy.copy(default)
        calls = []
        for call in send.get("receivers", ()):
            whole = {key: value for key, value in call.items() if key != "receiver"}
            if "receiver" in call:
                whole["name"], whole["location"], whole["key"] = receivers[call["receiver"]]
            for key, default in CALL_DEFAULTS.items():
                if key not in whole:
                    whole[key] = copy.copy(default)
            calls.append(whole)
        full["receivers"] = calls
        sends.append(full)
    out["sends"] = sends
    return out


_PACKED = (COMPACT, "kinds_table", "places_table", "receivers_table")
