"""A recording as plain text: the tree of sends and receivers, for terminals and test failures.

Reads only the plain records of :mod:`signal_inspector.recording`. Output is
bounded in lines, in depth and in line length, whatever the recording holds
(a loop leaves a tree as deep as the recursion limit), so it is safe to put
in an assertion message or a log line.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import TYPE_CHECKING, cast

from .recording import OUTCOME_CAUGHT, OUTCOME_RAISED, OUTCOME_RUNNING

if TYPE_CHECKING:
    from .recording import ReceiverCall, Recording, SendRecord

MAX_LINES = 200
MAX_DEPTH = 12  # sends nested in sends; deeper ones are counted, not drawn
_MAX_MESSAGE = 120
_MAX_SILENT = 10


# Characters that end a line, move the cursor or reorder text in a log or a
# terminal: C0 and C1 controls, DEL, the Unicode line and paragraph separators
# and the bidirectional overrides.
_CONTROL = re.compile(r"[\x00-\x1f\x7f-\x9f\u2028\u2029\u202a-\u202e\u2066-\u2069]")


def printable(text: str) -> str:
    """``text`` with its control characters written as escapes (``\\n``,
    ``\\x1b``): text from the application (a sender's repr, a result, an
    exception message) cannot start a forged line of its own in a log, nor send
    escape sequences to a terminal."""
    return _CONTROL.sub(lambda m: m[0].encode("unicode_escape").decode("ascii"), text)


def _ms(value: float) -> str:
    return f"{value:.2f} ms" if value < 100 else f"{value:.0f} ms"


def _cut(text: str, limit: int = _MAX_MESSAGE) -> str:
    text = " ".join(text.split())
    return text if len(text) <= limit else text[: limit - 1] + "…"


def _plural(count: int, word: str) -> str:
    if count == 1:
        return f"{count} {word}"
    return f"{count} {word[:-1]}ies" if word.endswith("y") else f"{count} {word}s"


def send_line(send: SendRecord) -> str:
    """One send: signal, method, sender, time, and where it fired."""
    parts = [send.signal, f"{send.method}()", f"sender={send.sender}", _ms(send.duration_ms)]
    if send.fired_at:
        parts.append(f"at {send.fired_at[0]}:{send.fired_at[1]}")
    if send.limited:
        parts.append("[receivers not timed: see the limitations below]")
    if send.loop:
        parts.append("[loop: " + " → ".join(send.loop[:4]) + (" → …" if len(send.loop) > 4 else "") + "]")
    return "  ".join(parts)


def call_line(call: ReceiverCall, slow_ms: float | None) -> str:
    """One receiver call: name, outcome and time, then its flags."""
    if call.outcome == OUTCOME_RAISED:
        outcome = "raised"
    elif call.outcome == OUTCOME_CAUGHT:
        outcome = "raised (caught by send_robust)"
    elif call.outcome == OUTCOME_RUNNING:
        outcome = "still running"
    else:
        outcome = "returned" + (f" {_cut(call.result, 60)}" if call.result else "")
    if call.exception is not None:
        outcome += f" {call.exception.type}: {_cut(call.exception.message)}"
    flags = []
    if call.is_async:
        flags.append("async")
    if slow_ms is not None and call.duration_ms > slow_ms:
        flags.append("slow")
    if call.duplicate:
        flags.append("ran twice")
    if call.loop:
        flags.append("loop")
    if call.queries:
        flags.append(_plural(call.queries, "query"))
    line = f"{call.name}  {_ms(call.duration_ms)}  {outcome}"
    return line + "".join(f"  [{flag}]" for flag in flags)


def _subtree_sends(send: SendRecord) -> int:
    """How many sends ``send`` and everything under it hold (iteratively)."""
    count = 0
    pending = [send]
    while pending:
        current = pending.pop()
        count += 1
        for call in current.receivers:
            pending.extend(call.children)
    return count


def _tree(
    sends: list[SendRecord], slow_ms: float | None, max_depth: int
) -> Iterator[tuple[str, int]]:
    """(line, sends it stands for) for each line of the tree, depth first.

    A send line stands for one send; a line standing for a cut subtree says how
    many it holds. Built with an explicit stack: the tree may be very deep.
    """
    # Each entry: (prefix for the item, prefix for its children, item, depth).
    pending: list[tuple[str, str, object, int]] = [
        ("", "", send, 0) for send in reversed(sends)
    ]
    while pending:
        head, body, item, depth = pending.pop()
        if isinstance(item, str):
            yield head + item, 0
            continue
        send: SendRecord = item  # type: ignore[assignment]
        if depth >= max_depth:
            hidden = _subtree_sends(send)
            yield head + f"… {_plural(hidden, 'more send')} nested deeper", hidden
            continue
        yield head + send_line(send), 1
        rows: list[tuple[str, object]] = []
        for call in send.receivers:
            rows.append(("call", call))
        for skipped in send.skipped:
            rows.append(("text", f"not run: {skipped['name']} (an earlier receiver raised)"))
        if not rows:
            continue
        children: list[tuple[str, str, object, int]] = []
        for index, (kind, row) in enumerate(rows):
            last = index == len(rows) - 1
            branch, stem = ("└─ ", "   ") if last else ("├─ ", "│  ")
            if kind == "text":
                children.append((body + branch, body + stem, row, depth))
                continue
            call = cast("ReceiverCall", row)
            children.append((body + branch, body + stem, call_line(call, slow_ms), depth))
            below: list[tuple[str, object]] = []
            for hint in call.hints:
                below.append(("text", f"hint: {_cut(hint)}"))
            for callback in call.on_commit:
                below.append(("text", f"on_commit {callback.name}: {callback.status}"))
            below.extend(("send", child) for child in call.children)
            for sub_index, (_, sub) in enumerate(below):
                sub_last = sub_index == len(below) - 1
                sub_branch, sub_stem = ("└─ ", "   ") if sub_last else ("├─ ", "│  ")
                children.append(
                    (body + stem + sub_branch, body + stem + sub_stem, sub, depth + 1)
                )
        pending.extend(reversed(children))


def summary_line(recording: Recording) -> str:
    """Sends, receiver calls, time in receivers, errors, loops, duplicates, dropped."""
    parts = [
        _plural(recording.total_sends, "send"),
        _plural(recording.receiver_calls, "receiver call"),
        _ms(recording.receiver_time_ms) + " in receivers",
        _plural(recording.errors, "error"),
    ]
    if recording.loops:
        parts.append(_plural(recording.loops, "loop"))
    if recording.duplicates:
        parts.append(_plural(recording.duplicates, "receiver") + " ran twice")
    if recording.dropped:
        parts.append(f"{recording.dropped} past max_sends={recording.max_sends} not kept")
    findings = len(recording.findings)
    if findings:
        parts.append(_plural(findings, "finding"))
    silent = sum(recording.silent.values())
    if silent:
        parts.append(_plural(silent, "silent send"))
    return ", ".join(parts)


def render(
    recording: Recording,
    *,
    max_lines: int = MAX_LINES,
    slow_ms: float | None = None,
    max_depth: int = MAX_DEPTH,
    silent: bool = True,
) -> str:
    """The recording as a tree, then one summary line; at most about ``max_lines`` lines.

    ``slow_ms`` flags slower receivers (default: the ``SLOW_RECEIVER_MS`` setting).
    """
    if max_lines < 1:
        raise ValueError(f"max_lines must be 1 or more, not {max_lines!r}")
    if slow_ms is None:
        from .conf import get_config

        slow_ms = get_config().slow_receiver_ms
    lines: list[str] = []
    shown = 0
    for line, count in _tree(recording.sends, slow_ms, max_depth):
        if len(lines) >= max_lines:
            break
        lines.append(printable(line))
        shown += count
    kept = recording.kept_sends
    if shown < kept:
        lines.append(f"… {_plural(kept - shown, 'more send')} not shown")
    if not recording.sends:
        lines.append("(no signal with a receiver was sent)")
    if silent and recording.silent:
        by_count = sorted(recording.silent.items(), key=lambda item: (-item[1], item[0]))
        lines.append(printable("silent (sent, no receiver): " + ", ".join(
            f"{signal.rsplit('.', 1)[-1]}({sender}) ×{count}"
            for (signal, sender), count in by_count[:_MAX_SILENT]
        ) + (f", … {len(by_count) - _MAX_SILENT} more" if len(by_count) > _MAX_SILENT else "")))
    found = recording.findings
    for finding in found[:_MAX_SILENT]:
        lines.append(printable("finding: " + _cut(finding.line(), 400)))
        lines.extend(printable("  " + _cut(detail, 200)) for detail in finding.details[:5])
    if len(found) > _MAX_SILENT:
        lines.append(f"… {_plural(len(found) - _MAX_SILENT, 'more finding')}")
    for limitation in recording.limitations[:_MAX_SILENT]:
        lines.append(printable("limitation: " + _cut(limitation, 400)))
    lines.append(summary_line(recording))
    return "\n".join(lines)
