"""Compare two recordings: what a branch changed in the signals a command or a request sent.

Reads the JSON of ``Recording.to_dict()``, ``signaltrace --format json`` or the
panel's export, one send at a time (:class:`_Reader`), folding each into
totals per (signal, sender): memory grows with the number of distinct
signals, senders and receivers, never with the number of sends. Runs without
Django (no settings, no import of it).
"""

from __future__ import annotations

import json
import math
import re
from collections import Counter
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Any

Key = tuple[str, str]  # (signal, sender)
_CHUNK = 1 << 20
# Distinct receiver orders kept per (signal, sender): past it, only counts.
_MAX_ORDERS = 20
_ADDRESS = re.compile(r"\s+at\s+0x[0-9a-fA-F]+|0x[0-9a-fA-F]{6,}")


class BadInput(ValueError):
    """The file is not a recording this module reads; the message says why."""


# --- reading, one send at a time ---------------------------------------------


class _Reader:
    """Incremental JSON reading: whole values with ``json``'s own decoder, from a
    buffer refilled as needed, so a list of 20,000 sends is never one object."""

    def __init__(self, stream: IO[str]) -> None:
        self.stream = stream
        self.buffer = ""
        self.pos = 0
        self.eof = False
        self.decoder = json.JSONDecoder()
        self.consumed = 0  # characters dropped from the buffer's front

    def _fill(self) -> bool:
        if self.eof:
            return False
        chunk = self.stream.read(_CHUNK)
        if not chunk:
            self.eof = True
            return False
        if self.pos > _CHUNK:
            self.consumed += self.pos
            self.buffer = self.buffer[self.pos :]
            self.pos = 0
        self.buffer += chunk
        return True

    def peek(self) -> str:
        while True:
            while self.pos < len(self.buffer) and self.buffer[self.pos] in " \t\r\n":
                self.pos += 1
            if self.pos < len(self.buffer):
                return self.buffer[self.pos]
            if not self._fill():
                return ""

    def expect(self, char: str) -> None:
        found = self.peek()
        if found != char:
            self.fail(f"expected {char!r}, found {found or 'the end of the file'!r}")
        self.pos += 1

    def value(self) -> Any:
        self.peek()
        while True:
            try:
                value, end = self.decoder.raw_decode(self.buffer, self.pos)
            except json.JSONDecodeError as exc:
                if self._fill():
                    continue
                self.fail(exc.msg, exc.pos)
            # A number near the end of the buffer may continue in the next chunk
            # ("12." of 12.5 decodes as 12).
            if end + 64 < len(self.buffer) or not self._fill():
                self.pos = end
                return value

    def fail(self, message: str, pos: int | None = None) -> Any:
        at = self.consumed + (self.pos if pos is None else pos)
        raise BadInput(f"not valid JSON at character {at}: {message}")


def read_recording(stream: IO[str], on_send: Callable[[dict[str, Any]], None]) -> dict[str, Any]:
    """Call ``on_send`` with each top-level send of the recording in ``stream``
    and return everything else (the summary: counts, silent sends)."""
    reader = _Reader(stream)
    found = _read_object(reader, on_send)
    if found is None:
        raise BadInput(
            "not a signal_inspector recording: no \"sends\" list (expected the panel's JSON "
            "export, signaltrace --format json output or Recording.to_dict())"
        )
    if reader.peek():
        reader.fail("more data after the recording")
    return found


def _read_object(reader: _Reader, on_send: Callable[[dict[str, Any]], None]) -> dict[str, Any] | None:
    """The object's fields but its ``sends`` (streamed to ``on_send``); None if
    it has no ``sends`` (nor a ``recording`` object that has)."""
    if reader.peek() != "{":
        reader.fail("a recording is a JSON object")
    reader.expect("{")
    summary: dict[str, Any] = {}
    found: dict[str, Any] | None = None
    has_sends = False
    if reader.peek() == "}":
        reader.pos += 1
        return None
    while True:
        key = reader.value()
        reader.expect(":")
        if key == "sends" and reader.peek() == "[":
            has_sends = True
            reader.expect("[")
            if reader.peek() == "]":
                reader.pos += 1
            else:
                while True:
                    send = reader.value()
                    if not isinstance(send, dict):
                        reader.fail("a send is a JSON object")
                    on_send(send)
                    if reader.peek() == ",":
                        reader.pos += 1
                        continue
                    reader.expect("]")
                    break
        elif key == "recording" and reader.peek() == "{":
            found = _read_object(reader, on_send)
        else:
            summary[key] = reader.value()
        if reader.peek() == ",":
            reader.pos += 1
            continue
        reader.expect("}")
        break
    if found is not None:
        return found
    return summary if has_sends else None


# --- totals per (signal, sender) ---------------------------------------------------


@dataclass
class Totals:
    """One recording folded by (signal, sender)."""

    sends: Counter[Key] = field(default_factory=Counter)
    silent: Counter[Key] = field(default_factory=Counter)
    orders: dict[Key, Counter[tuple[str, ...]]] = field(default_factory=dict)
    calls: dict[Key, Counter[str]] = field(default_factory=dict)
    # (receiver, exception type, outcome) and (receiver, finding) per key
    errors: dict[Key, Counter[tuple[str, str, str]]] = field(default_factory=dict)
    findings: dict[Key, Counter[tuple[str, str]]] = field(default_factory=dict)
    time_ms: dict[Key, float] = field(default_factory=dict)
    dropped: int = 0

    def add(self, send: dict[str, Any]) -> None:
        """Fold a send and the sends nested in it (their calls' ``children``
        when they are dicts; the panel's flat export lists them all itself)."""
        pending = [send]
        while pending:
            current = pending.pop()
            key = (_clean(current.get("signal")), _clean(current.get("sender")))
            self.sends[key] += 1
            self.time_ms[key] = self.time_ms.get(key, 0.0) + _number(current.get("duration_ms"))
            names: list[str] = []
            calls = self.calls.setdefault(key, Counter())
            for call in current.get("receivers", ()) or ():
                if not isinstance(call, dict):
                    continue
                name = _clean(call.get("name"))
                names.append(name)
                calls[name] += 1
                outcome = call.get("outcome")
                if outcome in ("raised", "caught"):
                    exception = call.get("exception") or {}
                    kind = exception.get("type", "an exception") if isinstance(exception, dict) else "?"
                    self.errors.setdefault(key, Counter())[(name, str(kind), str(outcome))] += 1
                found = [_clean(hint) for hint in call.get("hints", ()) or ()]
                if call.get("duplicate"):
                    found.append("ran twice for one send (registered twice)")
                if call.get("loop"):
                    found.append("re-sent the signal it handles (a loop)")
                for finding in found:
                    self.findings.setdefault(key, Counter())[(name, finding)] += 1
                pending.extend(
                    child for child in reversed(call.get("children", ()) or ()) if isinstance(child, dict)
                )
            orders = self.orders.setdefault(key, Counter())
            order = tuple(names)
            if order in orders or len(orders) < _MAX_ORDERS:
                orders[order] += 1

    def finish(self, summary: dict[str, Any]) -> None:
        for item in summary.get("silent", ()) or ():
            if isinstance(item, dict):
                key = (_clean(item.get("signal")), _clean(item.get("sender")))
                self.silent[key] += int(_number(item.get("count")))
        self.dropped = int(_number(summary.get("dropped_sends")))

    def count(self, key: Key) -> int:
        return self.sends[key] + self.silent[key]

    def keys(self) -> set[Key]:
        return set(self.sends) | set(self.silent)


def _clean(value: Any) -> str:
    return _ADDRESS.sub("", str(value if value is not None else "?"))


def _number(value: Any) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value):
        return 0.0
    return float(value)


def load(path: str | Path) -> Totals:
    """A recording file folded into :class:`Totals`; :class:`BadInput` if it is not one."""
    totals = Totals()
    try:
        with open(path, encoding="utf-8") as stream:
            summary = read_recording(stream, totals.add)
    except UnicodeDecodeError as exc:
        raise BadInput(f"not UTF-8 text ({exc.reason})") from None
    except (AttributeError, TypeError) as exc:  # a send of the wrong shape
        raise BadInput(f"a send of an unexpected shape ({exc})") from None
    totals.finish(summary)
    return totals


# --- comparing ---------------------------------------------------------------------


def compare(old: Totals, new: Totals, *, threshold_ms: float = 5.0, old_name: str = "A",
            new_name: str = "B") -> list[str]:
    """The differences as sentences, grouped by (signal, sender); empty when none."""
    lines: list[str] = []
    for key in sorted(old.keys() | new.keys()):
        section = _compare_key(old, new, key, threshold_ms, old_name, new_name)
        if section:
            lines.append(f"{key[0]} from {key[1]}:")
            lines.extend("  " + line for line in section)
    if lines:
        for totals, name in ((old, old_name), (new, new_name)):
            if totals.dropped:
                lines.append(
                    f"Note: {name} kept no detail of {totals.dropped} sends past its max_sends: "
                    "their receivers are not compared."
                )
    return lines


def _compare_key(old: Totals, new: Totals, key: Key, threshold_ms: float, a: str, b: str) -> list[str]:
    out: list[str] = []
    before, after = old.count(key), new.count(key)
    if not before:
        out.append(f"new: sent {_times(after)} in {b}, never in {a}.")
    elif not after:
        out.append(f"no longer sent: {_times(before)} in {a}, never in {b}.")
    elif before != after:
        out.append(f"sent {_times(after)} instead of {_times(before)} ({after - before:+d}).")
    old_order, new_order = _usual(old.orders.get(key)), _usual(new.orders.get(key))
    old_calls, new_calls = old.calls.get(key, Counter()), new.calls.get(key, Counter())
    for name in sorted(set(new_calls) - set(old_calls)):
        out.append(f"receiver added: {name} (ran {_times(new_calls[name])}).")
    for name in sorted(set(old_calls) - set(new_calls)):
        out.append(f"receiver removed: {name} (ran {_times(old_calls[name])} in {a}).")
    if (
        old_order and new_order and old_order != new_order
        and sorted(old_order) == sorted(new_order)
    ):
        out.append(f"receivers reordered: {', '.join(old_order)} -> {', '.join(new_order)}.")
    for name in sorted(set(old_calls) & set(new_calls)):
        was, now = old_calls[name], new_calls[name]
        if was != now:
            out.append(f"{name} ran {_times(now)} instead of {_times(was)} ({now - was:+d}).")
    out.extend(_changed(old.errors.get(key), new.errors.get(key), "new error", "error gone", _error_text, a))
    out.extend(
        _changed(old.findings.get(key), new.findings.get(key), "new finding", "finding gone", _finding_text, a)
    )
    if before and after and key in old.time_ms and key in new.time_ms:
        was_ms, now_ms = old.time_ms[key], new.time_ms[key]
        if abs(now_ms - was_ms) > threshold_ms:
            out.append(
                f"its sends took {now_ms:.2f} ms instead of {was_ms:.2f} ms "
                f"({now_ms - was_ms:+.2f} ms, beyond the {threshold_ms:g} ms threshold)."
            )
    return out


def _changed(
    old_items: Counter[Any] | None, new_items: Counter[Any] | None, added: str, gone: str,
    text: Callable[[tuple[Any, ...], int], str], a: str,
) -> Iterator[str]:
    old_items = old_items or Counter()
    new_items = new_items or Counter()
    for item in sorted(new_items):
        if item not in old_items:
            yield f"{added}: {text(item, new_items[item])}."
        elif new_items[item] != old_items[item]:
            yield f"{text(item, new_items[item])} (was {_times(old_items[item])} in {a})."
    for item in sorted(set(old_items) - set(new_items)):
        yield f"{gone}: {text(item, old_items[item])} in {a}."


def _error_text(item: tuple[Any, ...], count: int) -> str:
    name, kind, outcome = item
    caught = ", caught by send_robust()" if outcome == "caught" else ""
    return f"{name} raised {kind}{caught} {_times(count)}"


def _finding_text(item: tuple[Any, ...], count: int) -> str:
    name, finding = item
    return f"{name} {finding}, {_times(count)}" if not finding[:1].isupper() else (
        f"{name}: {finding} ({_times(count)})"
    )


def _usual(orders: Counter[tuple[str, ...]] | None) -> tuple[str, ...]:
    if not orders:
        return ()
    return orders.most_common(1)[0][0]


def _times(count: int) -> str:
    return {1: "once", 2: "twice"}.get(count, f"{count} times")
