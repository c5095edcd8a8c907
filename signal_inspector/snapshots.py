"""Snapshots of the signals a test sent: a normalised text form, and a file beside the test.

A snapshot holds what stays the same from run to run (signal, sender, method,
receivers in order with their outcome, nesting, on_commit fates, sends nobody
heard) and nothing that does not (times, ids, memory addresses, reprs of the
arguments). A refactor that makes ``post_save(Order)`` fire three more times,
an audit receiver that now runs twice or a receiver that starts raising inside
``send_robust()`` then shows up as a changed line in review.

:func:`normalise` is public: hand its text to syrupy or any snapshot library.
:func:`assert_matches_snapshot` keeps the text in
``<test dir>/__signal_snapshots__/<module>/<test>.txt`` itself.
"""

from __future__ import annotations

import difflib
import os
import re
import sys
import weakref
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from .recording import Recording

__all__ = ["SnapshotTarget", "assert_matches_snapshot", "normalise", "snapshot_path"]
__unittest = True  # unittest: a failure shows the test's line, not this module's

HEADER = "# signal_inspector snapshot: the signals sent, normalised (no times, ids or addresses)."
UPDATE_ENV = "SIGNAL_INSPECTOR_SNAPSHOT_UPDATE"
DIRECTORY = "__signal_snapshots__"
# Sends nested deeper are counted, not drawn: a receiver that loops leaves a
# tree as deep as the recursion limit.
MAX_DEPTH = 32
_ADDRESS = re.compile(r"\s+at\s+0x[0-9a-fA-F]+|0x[0-9a-fA-F]{6,}")
_UNSAFE = re.compile(r"[^A-Za-z0-9_.\-\[\]]+")


# --- the normalised form ------------------------------------------------------


def normalise(recording: Recording | dict[str, Any]) -> str:
    """The recording as stable text, one sentence a line, ending in a newline.

    ``recording``: a :class:`~signal_inspector.recording.Recording`, its
    ``to_dict()``, ``signaltrace --format json`` output, or the panel's JSON
    export. Identical runs give identical text.
    """
    data = _as_dict(recording)
    lines = [HEADER]
    sends = top_level_sends(data)
    lines.extend(_blocks(sends, 0))
    silent = sorted(
        (str(item.get("signal", "")), str(item.get("sender", "")), int(item.get("count", 0)))
        for item in data.get("silent", ()) or ()
    )
    if silent:
        lines.append("Sent with no receiver listening:")
        lines.extend(
            f"  {_clean(signal)} was sent by {_clean(sender)} {_times(count)}." for signal, sender, count in silent
        )
    muted = sorted(
        (str(item.get("receiver", "")), str(item.get("signal", "")), str(item.get("sender", "")), int(item.get("count", 0)))
        for item in data.get("muted", ()) or ()
    )
    if muted:
        lines.append("Muted (not run):")
        lines.extend(
            f"  {_clean(receiver)} for {_clean(signal)} sent by {_clean(sender)}, {_times(count)}."
            for receiver, signal, sender, count in muted
        )
    dropped = int(data.get("dropped_sends", 0) or 0)
    if dropped:
        lines.append(f"{dropped} more sends past max_sends were counted, not recorded.")
    if not sends and not silent and not muted and not dropped:
        lines.append("No signal was sent.")
    return "\n".join(lines) + "\n"


def _as_dict(recording: Recording | dict[str, Any]) -> dict[str, Any]:
    if isinstance(recording, dict):
        inner = recording.get("recording")
        if isinstance(inner, dict) and "sends" in inner:  # signaltrace --format json
            return inner
        if "sends" not in recording:
            raise ValueError(
                "Not a signal_inspector recording (no \"sends\"): expected Recording.to_dict(), "
                "signaltrace --format json output or the panel's JSON export."
            )
        return recording
    return recording.to_dict()


def top_level_sends(data: dict[str, Any]) -> list[dict[str, Any]]:
    """The top-level sends of a recording's dict, each call's ``children`` as
    dicts: the panel's export lists every send flat (children by id), the
    others nest them already."""
    sends: list[dict[str, Any]] = list(data.get("sends", ()) or ())
    if not any("parent" in send for send in sends):
        return sends
    by_id = {send.get("id"): send for send in sends}
    nested: list[dict[str, Any]] = []
    for send in sends:
        copy = dict(send)
        copy["receivers"] = [
            {**call, "children": [by_id[i] for i in call.get("children", ()) if i in by_id]}
            for call in send.get("receivers", ())
        ]
        by_id[send.get("id")] = copy
    # Rebuilt children point at the rebuilt copies only once every copy exists.
    for send in list(by_id.values()):
        for call in send.get("receivers", ()):
            call["children"] = [by_id.get(child.get("id"), child) for child in call["children"]]
        if send.get("parent") is None:
            nested.append(send)
    return nested


def _blocks(sends: list[dict[str, Any]], depth: int) -> list[str]:
    """The sends' lines, runs of identical sends written once with their count."""
    if depth >= 2 * MAX_DEPTH:  # ``depth`` counts indents: two per level of sends
        total = _count(sends)
        return [f"{'  ' * depth}… {total} more sends nested deeper than {MAX_DEPTH} levels."]
    out: list[str] = []
    previous: list[str] | None = None
    run = 0
    for send in sends:
        block = _send_lines(send, depth)
        if block == previous:
            run += 1
            continue
        if previous is not None:
            out.extend(_repeated(previous, run))
        previous, run = block, 1
    if previous is not None:
        out.extend(_repeated(previous, run))
    return out


def _repeated(block: list[str], run: int) -> list[str]:
    if run == 1:
        return block
    head = block[0]
    return [head[:-1] + f", {run} times in a row, each time:", *block[1:]]


def _send_lines(send: dict[str, Any], depth: int) -> list[str]:
    pad = "  " * depth
    head = (
        f"{pad}{_clean(str(send.get('signal', '?')))} was sent by {_clean(str(send.get('sender', '?')))} "
        f"with {send.get('method', 'send')}():"
    )
    lines = [head]
    for call in send.get("receivers", ()):
        lines.append(f"{pad}  {_call_sentence(call)}")
        for callback in call.get("on_commit", ()) or ():
            lines.append(f"{pad}    {_on_commit_sentence(callback)}")
        children = call.get("children", ()) or ()
        if children:
            lines.extend(_blocks(list(children), depth + 2))
    for item in send.get("skipped", ()) or ():
        lines.append(f"{pad}  {_clean(str(item.get('name', '?')))} did not run: a receiver before it raised.")
    return lines


def _call_sentence(call: dict[str, Any]) -> str:
    name = _clean(str(call.get("name", "?")))
    if call.get("is_async"):
        name += " (async)"
    outcome = call.get("outcome", "returned")
    exception = call.get("exception") or {}
    kind = exception.get("type", "an exception") if isinstance(exception, dict) else "an exception"
    if outcome == "raised":
        return f"{name} raised {kind}."
    if outcome == "caught":
        return f"{name} raised {kind}, caught by send_robust()."
    if outcome == "running":
        return f"{name} was still running when the recording stopped."
    if outcome == "muted":
        return f"{name} was muted."
    return f"{name} ran."


def _on_commit_sentence(callback: dict[str, Any]) -> str:
    name = _clean(str(callback.get("name", "?")))
    using = callback.get("using", "default")
    status = str(callback.get("status", "pending"))
    fate = {
        "ran": "ran at commit",
        "ran (captured)": "ran (captured by the test)",
        "captured": "was captured by the test, not run",
        "discarded": "was discarded (rolled back)",
        "pending": "was still pending when the recording ended",
    }.get(status, status)
    return f"its on_commit callback {name} (on {using}) {fate}."


def _clean(text: str) -> str:
    return _ADDRESS.sub("", text)


def _count(sends: list[dict[str, Any]]) -> int:
    total = 0
    pending = list(sends)
    while pending:
        send = pending.pop()
        total += 1
        for call in send.get("receivers", ()):
            pending.extend(call.get("children", ()) or ())
    return total


def _times(count: int) -> str:
    return {1: "once", 2: "twice"}.get(count, f"{count} times")


# --- the snapshot file ----------------------------------------------------------


@dataclass
class SnapshotTarget:
    """Where the running test keeps its snapshots, and whether to rewrite them."""

    directory: Path  # the test module's directory
    module: str  # the test module's file name without .py
    test: str  # the test's name (with its class and parameters)
    update: bool = False
    owner: Any = None  # the test (pytest item or TestCase): counts its snapshots


_current: list[SnapshotTarget] = []  # set by the pytest plugin around each test
_taken: weakref.WeakKeyDictionary[Any, dict[str, int]] = weakref.WeakKeyDictionary()


@contextmanager
def running_test(target: SnapshotTarget) -> Iterator[None]:
    """Name the test that runs inside the block (the pytest plugin's hook)."""
    _current.append(target)
    try:
        yield
    finally:
        _current.remove(target)


def _target() -> SnapshotTarget:
    if _current:
        return _current[-1]
    import unittest

    frame = sys._getframe(1)
    while frame is not None:
        test = frame.f_locals.get("self")
        if isinstance(test, unittest.TestCase):
            import inspect

            file = Path(inspect.getfile(type(test))).resolve()
            return SnapshotTarget(
                directory=file.parent,
                module=file.stem,
                test=f"{type(test).__qualname__}.{test._testMethodName}",
                update=os.environ.get(UPDATE_ENV, "") not in ("", "0"),
                owner=test,
            )
        frame = frame.f_back  # type: ignore[assignment]
    raise RuntimeError(
        "assert_matches_snapshot() needs to know the test it runs in: call it from a "
        "pytest test (with the signal_inspector plugin) or a unittest TestCase method, "
        "or pass path=."
    )


def snapshot_path(target: SnapshotTarget, name: str | None = None) -> Path:
    """``<dir>/__signal_snapshots__/<module>/<test>[.<name>].txt``; a test's
    second unnamed snapshot is ``<test>.2.txt`` and so on."""
    stem = _UNSAFE.sub("_", target.test).strip("_") or "test"
    if name is not None:
        stem += "." + (_UNSAFE.sub("_", name).strip("_") or "snapshot")
    else:
        try:
            counts = _taken.setdefault(target.owner, {}) if target.owner is not None else {}
        except TypeError:  # an owner that takes no weak reference
            counts = {}
        counts[stem] = counts.get(stem, 0) + 1
        if counts[stem] > 1:
            stem += f".{counts[stem]}"
    return target.directory / DIRECTORY / target.module / f"{stem}.txt"


def assert_matches_snapshot(
    recording: Recording | dict[str, Any],
    *,
    name: str | None = None,
    path: str | os.PathLike[str] | None = None,
    update: bool | None = None,
) -> Path:
    """Compare the recording's :func:`normalise` text with the test's snapshot file.

    The file is written when it does not exist yet, and rewritten when
    ``update`` (pytest: ``--signals-snapshot-update``; unittest: the
    ``SIGNAL_INSPECTOR_SNAPSHOT_UPDATE=1`` environment variable). Otherwise a
    difference raises ``AssertionError`` with a unified diff of the sentences.
    Returns the snapshot's path.
    """
    __tracebackhide__ = True  # pytest: show the test, not this helper
    if path is not None:
        file = Path(path)
        rewrite = bool(update) if update is not None else bool(_current and _current[-1].update) or (
            os.environ.get(UPDATE_ENV, "") not in ("", "0")
        )
    else:
        target = _target()
        file = snapshot_path(target, name)
        rewrite = target.update if update is None else update
    text = normalise(recording)
    if rewrite or not file.exists():
        file.parent.mkdir(parents=True, exist_ok=True)
        file.write_text(text, encoding="utf-8", newline="\n")
        return file
    expected = file.read_text(encoding="utf-8").replace("\r\n", "\n")
    if expected == text:
        return file
    raise AssertionError(mismatch_message(expected, text, file))


def mismatch_message(expected: str, actual: str, file: Path) -> str:
    """Why a snapshot failed: how many sentences changed, the unified diff, the way out."""
    old, new = expected.splitlines(), actual.splitlines()
    diff = list(
        difflib.unified_diff(old, new, "snapshot", "this run", n=2, lineterm="")
    )
    removed = sum(1 for line in diff if line.startswith("-") and not line.startswith("---"))
    added = sum(1 for line in diff if line.startswith("+") and not line.startswith("+++"))
    try:
        shown = os.path.relpath(file)
    except ValueError:  # another drive (Windows)
        shown = str(file)
    lines = [
        f"The signals sent differ from the snapshot {shown}:",
        f"{_lines(removed)} only in the snapshot (-), {_lines(added)} only in this run (+).",
        "",
        *diff,
        "",
        "If the change is intended, rewrite the snapshot: pytest --signals-snapshot-update, "
        f"or {UPDATE_ENV}=1 for unittest.",
    ]
    return "\n".join(lines)


def _lines(count: int) -> str:
    return f"{count} line" if count == 1 else f"{count} lines"
