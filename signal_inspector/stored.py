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

from .recording import OUTCOME_RETURNED, OUTCOME_RUNNING, ReceiverCall, Recording, SendRecord

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


def panel_sends(
    recording: Recording, hidden: tuple[str, ...], mask: Callable[[str], str]
) -> tuple[list[dict[str, Any]], list[list[dict[str, Any]]]]:
    """The kept sends, flat and compact, and the table of their distinct stacks.

    What ``Recording.to_dict()`` holds, in the stored form: depth first in the
    order sends started, each with ``depth`` and ``parent`` (the id of the send
    whose receiver made it), each call's ``children`` as send ids, each stack
    as a ``stack_id`` into the table (frames in ``hidden`` files left out,
    secrets in source lines masked), and fields holding their default left
    out. Built without recursion: a runaway receiver leaves a deep tree.
    """
    origin = recording.origin
    table: list[list[dict[str, Any]]] = []
    index: dict[tuple[int, ...], int] = {}
    flat: list[dict[str, Any]] = []
    pending: list[tuple[SendRecord, int, int | None]] = [
        (send, 0, None) for send in reversed(recording.sends)
    ]
    while pending:
        send, depth, parent = pending.pop()
        data: dict[str, Any] = {
            "id": send.id,
            "signal": send.signal,
            "method": send.method,
            "sender": send.sender,
            "start_ms": round((send.start - origin) * 1000, 4),
            "duration_ms": round(send.duration_ms, 4),
        }
        if depth:
            data["depth"] = depth
            data["parent"] = parent
        if send.kwargs:
            data["kwargs"] = dict(send.kwargs)
        if send.fired_at:
            file, line, function = send.fired_at
            data["fired_at"] = {"file": file, "line": line, "function": function}
        if send.fired_inside:
            file, line, function, package = send.fired_inside
            data["fired_inside"] = {
                "file": file, "line": line, "function": function, "package": package,
            }
        if send.stack:
            # Frames are shared tuples (see bookkeeping._fired_at): the stacks
            # of one loop's sends hold the same ones.
            key = tuple(map(id, send.stack))
            stack_id = index.get(key)
            if stack_id is None:
                stack_id = index[key] = len(table)
                table.append([
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
        children: list[SendRecord] = []
        for call in send.calls:
            if type(call) is tuple:
                calls.append(_tuple_call(call, origin))
            else:
                calls.append(_call(call, origin))
                if call.children:
                    calls[-1]["children"] = [child.id for child in call.children]
                    children.extend(call.children)
        data["receivers"] = calls
        flat.append(data)
        pending.extend((child, depth + 1, send.id) for child in reversed(children))
    return flat, table


def _tuple_call(entry: tuple[Any, ...], origin: float) -> dict[str, Any]:
    """A call the send loop wrote as a tuple (see SendRecord.calls), compact."""
    (name, location, key), start = entry[0], entry[1]
    data: dict[str, Any] = {
        "name": name,
        "location": location,
        "key": key,
        "start_ms": round((start - origin) * 1000, 4) if start else None,
    }
    if len(entry) > 2:
        data["duration_ms"] = round((entry[2] - start) * 1000, 4)
        if len(entry) > 3 and entry[3]:
            data["result"] = entry[3]
    else:
        data["duration_ms"] = 0.0
        data["outcome"] = OUTCOME_RUNNING
    return data


def _call(call: ReceiverCall, origin: float) -> dict[str, Any]:
    data: dict[str, Any] = {
        "name": call.name,
        "location": call.location,
        "key": call.key,
        "start_ms": round((call.start - origin) * 1000, 4) if call.start else None,
        "duration_ms": round(call.duration_ms, 4),
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
    query_ms = round(call.query_ms, 4)
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
    """``stats`` with every field of its sends present (a copy when compact)."""
    if not stats.get(COMPACT):
        return stats
    out = {key: value for key, value in stats.items() if key != COMPACT}
    sends = []
    for send in stats.get("sends", ()):
        full = {**send}
        for key, default in SEND_DEFAULTS.items():
            if key not in full:
                full[key] = copy.copy(default)
        calls = []
        for call in send.get("receivers", ()):
            whole = {**call}
            for key, default in CALL_DEFAULTS.items():
                if key not in whole:
                    whole[key] = copy.copy(default)
            calls.append(whole)
        full["receivers"] = calls
        sends.append(full)
    out["sends"] = sends
    return out
