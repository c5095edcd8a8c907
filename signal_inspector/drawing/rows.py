"""The panel's drawing: stored stats turned into the template's rows and tables.

Reads nothing but the stored stats (the toolbar may draw a panel rebuilt from
its store, with no request), and knows nothing of the toolbar but its stack
trace markup, imported where a traceback is drawn.
"""

from __future__ import annotations

import re
from typing import Any

from django.utils.html import escape
from django.utils.safestring import SafeString, mark_safe

from ..conf import get_config
from ..recording import STAND_IN
from ..stored import COMPACT, expand, top_level_intervals
from .flame import flame_chart
from .timing import format_ms, own_time, union_length

# Signals and receivers the filters offer (panel.css has a rule for each).
MAX_FILTER_OPTIONS = 40
# Sends listed when the panel opens; a larger MAX_SENDS is stored, not drawn.
MAX_RENDERED_SENDS = 500
# Deeper sends are drawn at this indent; the row still says its depth.
_MAX_INDENT = 12

# --- the template's context --------------------------------------------------------

# A rough byte budget for what the panel draws: a few sends with megabytes of
# kwargs or tracebacks must not make a page the browser chokes on.
MAX_RENDERED_BYTES = 900_000


# Rows of the "by receiver" and "by signal" tables.
_TABLE_LIMIT = 50
_ERROR_OUTCOMES = ("raised", "caught")
# Consecutive identical sends are folded into one row from this many on.
_FOLD_MIN = 3
# Loops are folded when their chain of sends repeats every 1 to this many sends.
_MAX_PERIOD = 3


def _breakable(text: str) -> SafeString:
    """Escaped text that may wrap after dots and slashes, and nowhere else.

    Dotted names and paths then break as ``shop.receivers.`` / ``email_receipt``,
    never every few characters.
    """
    return mark_safe(str(escape(text)).replace(".", ".<wbr>").replace("/", "/<wbr>"))


_ROWS = re.compile(r"\b(\d+) row\(s\)")


_BACKTICKS = re.compile(r"`([^`]+)`")
# Return values up to this long are shown in the row.
_SHORT_RESULT = 40


def _code_spans(text: str) -> SafeString:
    """Escaped text with the core's Markdown `code` spans as ``<code>``."""
    return mark_safe(
        _BACKTICKS.sub(r'<code class="djdt-si-inline">\1</code>', str(escape(text)))
    )


def _plural_rows(text: str) -> str:
    """The core's ``row(s)`` as English: ``1 row``, ``2 rows``."""
    return _ROWS.sub(lambda m: f"{m[1]} row" if m[1] == "1" else f"{m[1]} rows", text)


def _interval(call: dict[str, Any]) -> tuple[float, float] | None:
    start = call.get("start_ms")
    if start is None:
        return None
    return (float(start), float(start) + float(call.get("duration_ms") or 0.0))


def receiver_wall_ms(stats: dict[str, Any]) -> float:
    """Time in receivers as a wall clock sees it: top-level receivers' intervals
    merged, so async receivers running together count once; never more than the
    request. Receivers of sends that were counted but not kept add their time."""
    if "receiver_wall_ms" in stats:
        return float(stats["receiver_wall_ms"])
    if stats.get(COMPACT) == 2:
        intervals = top_level_intervals(stats)
    else:
        intervals = []
        for send in stats.get("sends", []):
            if send.get("parent") is not None:
                continue
            for call in send.get("receivers", []):
                interval = _interval(call)
                if interval is not None:
                    intervals.append(interval)
    kept_ms = sum(end - start for start, end in intervals)
    dropped = max(float(stats.get("receiver_time_ms") or 0.0) - kept_ms, 0.0)
    wall = union_length(intervals) + dropped
    total = float(stats.get("duration_ms") or 0.0)
    return min(wall, total) if total else wall


def mark_propagated(sends: list[dict[str, Any]]) -> int:
    """Mark receiver errors that are an error of a send they made passing through;
    return the number of distinct failures.

    A receiver that loops until ``RecursionError`` raises at every level: one
    failure, not one per level.
    """
    by_id = {send["id"]: send for send in sends}
    failures = 0
    for send in sends:
        for call in send.get("receivers", []):
            if call.get("outcome") not in _ERROR_OUTCOMES:
                continue
            key = _exception_key(call)
            propagated = any(
                inner.get("outcome") == "raised" and _exception_key(inner) == key
                for child_id in call.get("children", [])
                if child_id in by_id
                for inner in by_id[child_id].get("receivers", [])
            )
            call["propagated"] = propagated
            failures += not propagated
    return failures


def _exception_key(call: dict[str, Any]) -> tuple[str, str]:
    exception = call.get("exception") or {}
    return (str(exception.get("type", "")), str(exception.get("message", "")))


def _trace(frames: list[dict[str, Any]], *, outermost_first: bool) -> str:
    """Frames in the toolbar's stack-trace markup (escaped by ``format_html``)."""
    from debug_toolbar import settings as dt_settings
    from debug_toolbar.utils import render_stacktrace

    locals_ = "" if dt_settings.get_config()["ENABLE_STACKTRACES_LOCALS"] else None
    ordered = frames if outermost_first else list(reversed(frames))
    return render_stacktrace(
        [
            (
                str(f.get("file", "")),
                f.get("line", 0),
                str(f.get("function", "")),
                str(f.get("code", "")),
                locals_,
            )
            for f in ordered
        ]
    )


def _bar(start_ms: float | None, duration_ms: float, total_ms: float) -> dict[str, float]:
    if not total_ms or start_ms is None:
        return {"x": 0.0, "width": 0.0}
    x = min(max(start_ms / total_ms * 100, 0.0), 100.0)
    width = min(max(duration_ms / total_ms * 100, 0.3), 100.0 - x)
    return {"x": round(x, 3), "width": round(max(width, 0.0), 3)}


def _fired_inside(frame: dict[str, Any] | None) -> str:
    if not frame:
        return ""
    package = frame.get("package") or "library code"
    return _breakable(f"{package} ({_where(frame)})")


def _where(frame: dict[str, Any] | None) -> str:
    if not frame:
        return ""
    return f"{frame.get('file', '')}:{frame.get('line', '')} in {frame.get('function', '')}"


def _shape(send: dict[str, Any]) -> tuple[Any, ...]:
    """What makes two sends the same for folding: signal, sender, receivers, outcomes."""
    return (
        send.get("signal"),
        send.get("sender"),
        send.get("method"),
        tuple(
            (c.get("name"), c.get("outcome"), bool(c.get("children")))
            for c in send.get("receivers", [])
        ),
        bool(send.get("skipped")),
    )


def _weight(send: dict[str, Any]) -> int:
    """Roughly the bytes a send adds to the panel."""
    size = 600 + sum(len(str(k)) + len(str(v)) + 120 for k, v in send.get("kwargs", {}).items())
    # Receivers not run after a failure are listed under the one that raised.
    size += sum(
        100 + len(str(s.get("name", ""))) + len(str(s.get("location", "")))
        for s in send.get("skipped", [])
    )
    for call in send.get("receivers", []):
        size += 900 + len(str(call.get("result", "")))
        size += sum(200 + len(str(h)) for h in call.get("hints", []))
        size += sum(150 + len(str(c.get("name", ""))) for c in call.get("on_commit", []))
        exception = call.get("exception")
        if exception:
            size += 400 + len(str(exception.get("message", "")))
            size += sum(
                250 + len(str(f.get("code", ""))) + len(str(f.get("file", "")))
                for f in exception.get("traceback", [])
            )
    return size


class _Drawer:
    """Turns stored sends into template rows, one ``tbody`` per top-level send.

    Folds what repeats: a receiver chain that re-enters itself (drawn once, with
    the number of levels folded) and runs of identical sibling sends (drawn once,
    with their count). Stops at ``MAX_RENDERED_SENDS`` sends or
    ``MAX_RENDERED_BYTES``, whichever comes first.
    """

    def __init__(self, stats: dict[str, Any], slow_ms: float) -> None:
        self.total_ms = float(stats.get("duration_ms") or 0.0)
        self.slow_ms = slow_ms
        self.stacks = stats.get("stacks", [])
        self.sends = stats.get("sends", [])
        self.by_id = {send["id"]: send for send in self.sends}
        self.first_with: dict[int, int | None] = {}
        self.signal_index: dict[str, int] = {}
        self.shown = 0
        self.folded = 0
        self.bytes = 0
        self.full = False
        self.slow_count = 0
        self.error_count = 0
        self.receiver_index: dict[str, int] = {}
        # Send id -> ("s", id of the send row drawn for it) or ("f", first id of
        # the fold row it is folded into): where the flame chart links.
        self.anchors: dict[int, tuple[str, int]] = {}
        self.spans = {
            send["id"]: (
                float(send.get("start_ms") or 0.0),
                float(send.get("start_ms") or 0.0) + float(send.get("duration_ms") or 0.0),
            )
            for send in self.sends
        }

    def anchor(self, send_id: int, call: int | None) -> str | None:
        """The id of the table row drawn for a send (or its call), if one is."""
        kind, target = self.anchors.get(send_id, ("", 0))
        if kind == "s":
            return f"djdt-si-s{target}" if call is None else f"djdt-si-c{target}-{call}"
        if kind == "f":
            return f"djdt-si-f{target}"
        return None

    def trees(self) -> list[dict[str, Any]]:
        trees = []
        top = [send for send in self.sends if send.get("parent") is None]
        for send, repeats in self._runs(top):
            if self.full:
                break
            tree: dict[str, Any] = {"rows": [], "signals": set(), "error": False, "slow": False}
            self._draw(tree, send, repeats)
            tree["signals"] = " ".join(str(i) for i in sorted(tree["signals"]))
            _filter_classes(tree["rows"])
            trees.append(tree)
        return trees

    def _runs(
        self, sends: list[dict[str, Any]]
    ) -> list[tuple[dict[str, Any], list[dict[str, Any]]]]:
        """Consecutive identical leaf sends grouped: (first, the others)."""
        runs: list[tuple[dict[str, Any], list[dict[str, Any]]]] = []
        for send in sends:
            leaf = not any(c.get("children") for c in send.get("receivers", []))
            if (
                runs
                and leaf
                and not send.get("loop")
                and _shape(runs[-1][0]) == _shape(send)
                and not any(c.get("outcome") in _ERROR_OUTCOMES for c in send.get("receivers", []))
            ):
                runs[-1][1].append(send)
            else:
                runs.append((send, []))
        # Two alike are clearer drawn; three or more are folded.
        unfolded: list[tuple[dict[str, Any], list[dict[str, Any]]]] = []
        for first, others in runs:
            if len(others) + 1 < _FOLD_MIN:
                unfolded.extend((send, []) for send in (first, *others))
            else:
                unfolded.append((first, others))
        return unfolded

    def _draw(
        self, tree: dict[str, Any], root: dict[str, Any], repeats: list[dict[str, Any]]
    ) -> None:
        """Draw a top-level send and what it caused, depth first.

        An explicit stack, not recursion: a cascade may be hundreds of levels
        deep. Each item carries the last sends drawn above it (enough to see a
        chain that repeats with a period of up to three sends).
        """
        stack: list[tuple[Any, ...]] = [("send", root, 0, repeats, ())]
        while stack:
            kind, item, depth, extra, above = stack.pop()
            if kind == "fold":
                tree["rows"].append(self._fold_row(item, depth))
                self.folded += len(item)
                for folded in item:
                    self.anchors[folded["id"]] = ("f", item[0].get("id"))
            elif kind == "send":
                if self.shown >= MAX_RENDERED_SENDS or self.bytes >= MAX_RENDERED_BYTES:
                    self.full = True
                    return
                self.shown += 1
                self.bytes += _weight(item)
                tree["signals"].add(
                    self.signal_index.setdefault(item.get("signal", ""), len(self.signal_index))
                )
                tree["rows"].append(self._send_row(item, depth, extra))
                self.folded += len(extra)
                for sent in (item, *extra):
                    self.anchors[sent["id"]] = ("s", item["id"])
                above = (*above[-(_MAX_PERIOD - 1) :], item) if _MAX_PERIOD > 1 else (item,)
                stack.extend(
                    ("call", pair, depth, item, above)
                    for pair in reversed(list(enumerate(item.get("receivers", []))))
                )
            else:
                send = extra
                index, item = item
                row = self._receiver_row(item, send, depth, index)
                tree["error"] = tree["error"] or row["error"]
                tree["slow"] = tree["slow"] or row["slow"]
                tree["rows"].append(row)
                children = [self.by_id[i] for i in item.get("children", []) if i in self.by_id]
                for child, child_repeats in reversed(self._runs(children)):
                    folded, child = self._fold(above, item, child)
                    stack.append(("send", child, depth + 1, child_repeats, above))
                    if folded:
                        stack.append(("fold", folded, depth + 1, None, above))

    def _fold(
        self, above: tuple[dict[str, Any], ...], call: dict[str, Any], child: dict[str, Any]
    ) -> tuple[list[dict[str, Any]], dict[str, Any]]:
        """A loop below ``child``: the sends to fold, and the send to draw next.

        The sends just above (``above``, the nearest last) and the chain below
        ``child`` repeat with a period of one to three sends (a receiver saving
        its own instance; A saving B whose receiver saves A...). The first
        period is drawn, then one row for the folded levels, then the last
        period and what follows it.
        """
        for period in range(1, min(_MAX_PERIOD, len(above)) + 1):
            pattern = [_shape(send) for send in above[-period:]]
            if _shape(child) != pattern[0]:
                continue
            chain = [child]
            while len(chain) < 100_000:
                following = self._next_in_chain(chain[-1])
                if following is None or _shape(following) != pattern[len(chain) % period]:
                    break
                chain.append(following)
            looping = call.get("loop") or any(send.get("loop") for send in chain[:period])
            if looping and len(chain) > period:
                return chain[: len(chain) - period], chain[len(chain) - period]
        return [], child

    def _next_in_chain(self, send: dict[str, Any]) -> dict[str, Any] | None:
        """The one send that ``send``'s looping receiver made, if exactly one."""
        children = [
            self.by_id[i]
            for call in send.get("receivers", [])
            for i in call.get("children", [])
            if i in self.by_id
        ]
        return children[0] if len(children) == 1 else None

    def _fold_row(self, chain: list[dict[str, Any]], depth: int) -> dict[str, Any]:
        return {
            "kind": "fold",
            "level": 2 * depth,
            "own_filters": {
                f"s{self.signal_index[signal]}"
                for signal in dict.fromkeys(send.get("signal", "") for send in chain)
                if signal in self.signal_index
            },
            "indent": min(2 * depth, _MAX_INDENT),
            "count": len(chain),
            "first": chain[0].get("id"),
            "last": chain[-1].get("id"),
            "signals": list(dict.fromkeys(send.get("signal", "") for send in chain)),
        }

    def _stack(self, send: dict[str, Any]) -> tuple[str, int | None]:
        stack_id = send.get("stack_id")
        if stack_id in self.first_with:
            # Sends from one loop share a stack: render it once.
            return "", self.first_with[stack_id]
        if stack_id is not None and stack_id < len(self.stacks) and self.stacks[stack_id]:
            self.first_with[stack_id] = send.get("id")
            trace = _trace(self.stacks[stack_id], outermost_first=False)
            self.bytes += len(trace)
            return trace, None
        return "", None

    def _send_row(
        self, send: dict[str, Any], depth: int, repeats: list[dict[str, Any]]
    ) -> dict[str, Any]:
        receivers = send.get("receivers", [])
        raised = any(c.get("outcome") == "raised" for c in receivers)
        stack, same_as = self._stack(send)
        duration = float(send.get("duration_ms") or 0.0)
        signal_filter = f"s{self.signal_index.get(send.get('signal', ''), -1)}"
        return {
            "kind": "send",
            "level": 2 * depth,
            "own_filters": {signal_filter},
            "signal_filter": signal_filter,
            "depth": depth,
            "indent": min(2 * depth, _MAX_INDENT),
            "id": send.get("id"),
            "signal": send.get("signal", ""),
            "signal_html": _breakable(send.get("signal", "")),
            "method": send.get("method", ""),
            "sender": _breakable(str(send.get("sender", ""))),
            "fired_at": _breakable(_where(send.get("fired_at"))),
            # No frame of the project's own code: say where it was sent instead.
            "fired_inside": _fired_inside(send.get("fired_inside")),
            "kwargs": list(send.get("kwargs", {}).items()),
            "stack": stack,
            "stack_same_as": same_as,
            "time": format_ms(duration),
            "bar": _bar(send.get("start_ms"), duration, self.total_ms),
            "duplicate": send.get("duplicate", False),
            "loop": send.get("loop", []),
            # Receivers skipped because one raised are listed under that one.
            "skipped": [] if raised else send.get("skipped", []),
            "repeats": len(repeats),
            "repeats_last": repeats[-1].get("id") if repeats else None,
            "repeats_time": format_ms(
                duration + sum(float(r.get("duration_ms") or 0.0) for r in repeats)
            ),
        }

    def _receiver_row(
        self, call: dict[str, Any], send: dict[str, Any], depth: int, index: int
    ) -> dict[str, Any]:
        exception = call.get("exception")
        outcome = call.get("outcome", "")
        duration = float(call.get("duration_ms") or 0.0)
        concurrent, alone = _concurrency(call, send.get("receivers", []))
        # Slow is judged on the receiver's own time: without the sends it
        # caused (their receivers are judged on theirs) and, for an async
        # receiver, without the time others ran alongside it (awaits included).
        own = _own_ms(call, send, self.spans)
        slow = own > self.slow_ms
        self.slow_count += slow
        error = outcome in _ERROR_OUTCOMES
        self.error_count += error
        name = call.get("name", "")
        filters = {f"r{self.receiver_index.setdefault(name, len(self.receiver_index))}"}
        filters.add(f"s{self.signal_index.get(send.get('signal', ''), -1)}")
        if error:
            filters.add("e")
        if slow:
            filters.add("w")
        trace = ""
        if exception:
            trace = _trace(exception.get("traceback", []), outermost_first=True)
            self.bytes += len(trace)
        return {
            "kind": "receiver",
            "level": 2 * depth + 1,
            "own_filters": filters,
            "anchor": f"djdt-si-c{send.get('id')}-{index}",
            "own_time": format_ms(own),
            "own_differs": format_ms(own) != format_ms(duration) and not concurrent,
            "caused": bool(call.get("children")),
            "depth": depth,
            "indent": min(2 * depth + 1, _MAX_INDENT),
            "name": call.get("name", ""),
            "name_html": _breakable(call.get("name", "")),
            "location": _breakable(call.get("location", "")),
            "is_async": call.get("is_async", False),
            "concurrent": concurrent,
            "alone": format_ms(alone),
            "time": format_ms(duration),
            "queries": call.get("queries", 0),
            "query_time": format_ms(call.get("query_ms")),
            "inserts": call.get("inserts", 0),
            "outcome": outcome,
            "result": call.get("result", ""),
            # A short value is shown, not folded behind a click.
            "result_short": len(str(call.get("result", ""))) <= _SHORT_RESULT
            and "\n" not in str(call.get("result", "")),
            "exception": exception
            and {
                "type": exception.get("type", ""),
                "short_type": str(exception.get("type", "")).rpartition(".")[2],
                "message": exception.get("message", ""),
                "trace": trace,
            },
            "propagated": call.get("propagated", False),
            "slow": slow,
            "duplicate": call.get("duplicate", False),
            "loop": call.get("loop", False),
            "on_commit": call.get("on_commit", []),
            "hints": [_code_spans(_plural_rows(str(h))) for h in call.get("hints", [])],
            "skipped": send.get("skipped", []) if outcome == "raised" else [],
            "bar": _bar(call.get("start_ms"), duration, self.total_ms),
            "error": error,
        }


def _own_ms(
    call: dict[str, Any], send: dict[str, Any], spans: dict[int, tuple[float, float]]
) -> float:
    """A receiver's own time (see timing.own_time)."""
    mine = _interval(call)
    if mine is None:
        return float(call.get("duration_ms") or 0.0)
    caused = [spans[i] for i in call.get("children", []) if i in spans]
    siblings: list[tuple[float, float]] = []
    if call.get("is_async"):
        siblings = [
            interval
            for other in send.get("receivers", [])
            if other is not call and (interval := _interval(other)) is not None
        ]
    return own_time(mine[0], mine[1] - mine[0], caused, siblings)


def _filter_classes(rows: list[dict[str, Any]]) -> None:
    """Give each row the filters it stays visible under: its own, and those of the
    rows below it (a send stays as the context of a receiver that raised)."""
    parents: list[int | None] = []
    open_rows: list[int] = []  # indexes of the rows above this one, outermost first
    for number, row in enumerate(rows):
        while open_rows and rows[open_rows[-1]]["level"] >= row["level"]:
            open_rows.pop()
        parents.append(open_rows[-1] if open_rows else None)
        open_rows.append(number)
    shown = [set(row["own_filters"]) for row in rows]
    for number in range(len(rows) - 1, -1, -1):
        parent = parents[number]
        if parent is not None:
            shown[parent] |= shown[number]
    for row, filters in zip(rows, shown, strict=True):
        row["filters"] = " ".join(
            f"djdt-si-f{token}" for token in sorted(filters) if _filterable(token)
        )


def _filterable(token: str) -> bool:
    """Errors, slow, and the signals and receivers the filters can name."""
    return token in ("e", "w") or 0 <= int(token[1:]) < MAX_FILTER_OPTIONS


def _concurrency(call: dict[str, Any], siblings: list[dict[str, Any]]) -> tuple[bool, float]:
    """Whether ``call`` ran alongside other receivers of its send, and for how
    long it ran alone (its interval minus the others')."""
    mine = _interval(call)
    if mine is None or not call.get("is_async"):
        return False, 0.0
    overlaps = []
    for other in siblings:
        if other is call:
            continue
        theirs = _interval(other)
        if theirs is None:
            continue
        start, end = max(mine[0], theirs[0]), min(mine[1], theirs[1])
        if end > start:
            overlaps.append((start, end))
    if not overlaps:
        return False, mine[1] - mine[0]
    return True, max(mine[1] - mine[0] - union_length(overlaps), 0.0)


def _enclosing(
    sends: list[dict[str, Any]],
) -> dict[int, tuple[frozenset[str], frozenset[tuple[str, str]]]]:
    """For each send: the receivers running around it, and the sends (signal,
    sender) it is nested in. Sends come parents first."""
    made_by: dict[int, tuple[str, int]] = {}
    for send in sends:
        for call in send.get("receivers", []):
            for child in call.get("children", []):
                made_by[child] = (call.get("name", ""), send["id"])
    result: dict[int, tuple[frozenset[str], frozenset[tuple[str, str]]]] = {}
    by_id = {send["id"]: send for send in sends}
    for send in sends:
        names: frozenset[str] = frozenset()
        keys: frozenset[tuple[str, str]] = frozenset()
        if send["id"] in made_by:
            name, parent_id = made_by[send["id"]]
            parent_names, parent_keys = result.get(parent_id, (frozenset(), frozenset()))
            parent = by_id.get(parent_id, {})
            names = parent_names | {name}
            keys = parent_keys | {(parent.get("signal", ""), str(parent.get("sender", "")))}
        result[send["id"]] = (names, keys)
    return result


def _by_receiver(
    sends: list[dict[str, Any]], slow_ms: float, spans: dict[int, tuple[float, float]]
) -> list[dict[str, Any]]:
    """Receivers by total time: calls, total, slowest, failures.

    A receiver re-entered through its own sends (a loop) adds its time once:
    the outer call's time already holds the inner ones.
    """
    table: dict[str, dict[str, Any]] = {}
    enclosing = _enclosing(sends)
    for send in sends:
        around = enclosing.get(send["id"], (frozenset(), frozenset()))[0]
        for call in send.get("receivers", []):
            name = call.get("name", "")
            if name == STAND_IN:
                continue  # not a receiver: what ran inside a send we could not time
            entry = table.setdefault(
                name,
                {
                    "name": name,
                    "calls": 0,
                    "total": 0.0,
                    "slowest": 0.0,
                    "errors": 0,
                    "is_async": call.get("is_async", False),
                    "slowest_send": send.get("id"),
                    "slow": False,
                },
            )
            entry["slow"] = entry["slow"] or _own_ms(call, send, spans) > slow_ms
            duration = float(call.get("duration_ms") or 0.0)
            entry["calls"] += 1
            if name not in around:
                entry["total"] += duration
            if duration > entry["slowest"]:
                entry["slowest"], entry["slowest_send"] = duration, send.get("id")
            entry["errors"] += call.get("outcome") in _ERROR_OUTCOMES and not call.get(
                "propagated", False
            )
    rows = sorted(table.values(), key=lambda e: (-e["total"], e["name"]))
    for row in rows:
        row["name_html"] = _breakable(row["name"])
        row["total_time"] = format_ms(row["total"])
        row["slowest_time"] = format_ms(row["slowest"])
        row["mean_time"] = format_ms(row["total"] / row["calls"])
    return rows


def _by_signal(sends: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Identical sends grouped: signal and sender, how many, receivers, time
    (a send nested in a send of the same signal and sender adds no time)."""
    table: dict[tuple[str, str], dict[str, Any]] = {}
    enclosing = _enclosing(sends)
    for send in sends:
        key = (send.get("signal", ""), str(send.get("sender", "")))
        inside = key in enclosing.get(send["id"], (frozenset(), frozenset()))[1]
        entry = table.setdefault(
            key,
            {
                "signal": key[0],
                "sender": key[1],
                "count": 0,
                "calls": 0,
                "total": 0.0,
                "errors": 0,
                "first": send.get("id"),
            },
        )
        entry["count"] += 1
        entry["calls"] += len(send.get("receivers", []))
        if not inside:
            entry["total"] += float(send.get("duration_ms") or 0.0)
        entry["errors"] += sum(
            c.get("outcome") in _ERROR_OUTCOMES and not c.get("propagated", False)
            for c in send.get("receivers", [])
        )
    rows = sorted(table.values(), key=lambda e: (-e["count"], -e["total"], e["signal"]))
    for row in rows:
        row["signal_html"] = _breakable(row["signal"])
        row["sender_html"] = _breakable(row["sender"])
        row["total_time"] = format_ms(row["total"])
    return rows


def _map_context(receiver_map: dict[str, Any]) -> dict[str, Any]:
    if not receiver_map:
        return {}
    signals = []
    for entry in receiver_map.get("signals", []):
        receivers = [
            {
                **item,
                "receiver_html": _breakable(str(item.get("receiver", ""))),
                "defined_at_html": _breakable(str(item.get("defined_at") or "")),
                "sender_html": _breakable(str(item.get("sender") or "")),
                "connected_at_html": _breakable(str(item.get("connected_at") or "")),
            }
            for item in entry.get("receivers", [])
        ]
        signals.append(
            {
                **entry,
                "signal_html": _breakable(str(entry.get("signal", ""))),
                "receivers": receivers,
            }
        )
    return {**receiver_map, "signals": signals}


def build_context(
    stats: dict[str, Any], *, export_url: str = "", flame: bool = True
) -> dict[str, Any]:
    """Turn stored stats into rows for the template; reads nothing but ``stats``.

    ``flame``: draw the flame chart too (the benchmark compares with and without).
    """
    stored = stats
    stats = expand(stats)
    total_ms = float(stats.get("duration_ms") or 0.0)
    slow_ms = float(stats.get("slow_receiver_ms") or get_config().slow_receiver_ms)
    sends = stats.get("sends", [])
    if "failures" not in stats:
        stats = {**stats, "failures": mark_propagated(sends)}
    # A runaway receiver marks every level: show each chain once, counted.
    loops: dict[tuple[str, ...], dict[str, Any]] = {}
    for send in sends:
        if send.get("loop"):
            chain = tuple(send["loop"])
            entry = loops.setdefault(chain, {"chain": list(chain), "count": 0, "send": send["id"]})
            entry["count"] += 1
    drawer = _Drawer(stats, slow_ms)
    trees = drawer.trees()
    signals = sorted(drawer.signal_index.items(), key=lambda item: item[0])
    receivers = sorted(drawer.receiver_index.items(), key=lambda item: item[0])
    # The flame chart dims the boxes of the receivers the list did not choose.
    listed_receivers = {
        name: index for name, index in drawer.receiver_index.items() if index < MAX_FILTER_OPTIONS
    }
    chart = (
        flame_chart(stored, slow_ms, drawer.anchor, listed_receivers) if flame and trees else None
    )
    wall_ms = receiver_wall_ms(stats)
    silent = stats.get("silent", [])
    total_sends = int(stats.get("total_sends") or 0)
    listed = drawer.shown + drawer.folded
    by_receiver = _by_receiver(sends, slow_ms, drawer.spans)
    calls = {entry["name"]: entry["calls"] for entry in by_receiver}
    by_signal = _by_signal(sends)
    return {
        "flame": chart,
        "receivers": [
            {"index": index, "name": name, "calls": calls.get(name, 0)}
            for name, index in receivers
            if index < MAX_FILTER_OPTIONS and name != STAND_IN
        ],
        "more_receivers": max(len(receivers) - MAX_FILTER_OPTIONS, 0),
        "more_signals": max(len(signals) - MAX_FILTER_OPTIONS, 0),
        "error_rows": drawer.error_count,
        "caused_sends": any(row.get("caused") for tree in trees for row in tree["rows"]),
        "stats": stats,
        "trees": trees,
        "rows": [row for tree in trees for row in tree["rows"]],
        "signals": [
            {"index": index, "name": name} for name, index in signals if index < MAX_FILTER_OPTIONS
        ],
        "shown_sends": drawer.shown,
        "folded_sends": drawer.folded,
        "max_rendered": MAX_RENDERED_SENDS,
        "cut_by_size": drawer.full and drawer.bytes >= MAX_RENDERED_BYTES,
        "stored_cut": int(stats.get("stored_sends", stats.get("kept_sends", 0))) < int(stats.get("kept_sends", 0)),
        "left_out": max(total_sends - listed, 0),
        "loops": list(loops.values()),
        "failures": stats["failures"],
        "error_trees": sum(tree["error"] for tree in trees),
        "slow_trees": sum(tree["slow"] for tree in trees),
        "slow_count": drawer.slow_count,
        "slow_receiver_ms": slow_ms,
        "receiver_time": format_ms(wall_ms),
        "request_time": format_ms(total_ms),
        "share": min(wall_ms / total_ms * 100, 100.0) if total_ms else 0.0,
        "concurrent": any(row.get("concurrent") for tree in trees for row in tree["rows"]),
        # The summary tables add something only where calls repeat: otherwise
        # they are the timeline again, sorted.
        "by_receiver": by_receiver[:_TABLE_LIMIT]
        if any(row["calls"] > 1 for row in by_receiver)
        else [],
        "by_receiver_more": max(len(by_receiver) - _TABLE_LIMIT, 0),
        "by_signal": by_signal[:_TABLE_LIMIT] if any(row["count"] > 1 for row in by_signal) else [],
        "silent": [
            {
                **item,
                "signal_html": _breakable(str(item.get("signal", ""))),
                "sender_html": _breakable(str(item.get("sender", ""))),
            }
            for item in sorted(silent, key=lambda s: (-s.get("count", 0), s.get("signal", "")))
        ],
        "silent_total": sum(s.get("count", 0) for s in silent),
        "receiver_map": _map_context(stats.get("receiver_map") or {}),
        "csp_nonce": stats.get("csp_nonce") or "",
        "export_url": export_url,
    }
