"""The flame chart of a request's signal cascade: inline SVG drawn on the server.

No script and no style attribute, so it works under a nonce-only Content
Security Policy and in the toolbar's shadow DOM; colours come from panel.css
classes, the same as the table's, and follow the toolbar's theme.

Drawn from the panel's stored form (times in integers of 0.1 µs, see
``stored.py``): one row per nesting level (a send, then its receivers, then the
sends they made...), and more rows where boxes of one level overlapped in time
(async receivers run together). Bounded whatever the request sent: boxes
narrower than ``1 / RESOLUTION`` of the request merge into one box that says
how many it holds, and when the drawing would pass ``MAX_BYTES`` the merging
width doubles until it does not.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from typing import Any

from django.utils.html import escape
from django.utils.safestring import SafeString, mark_safe

from ..stored import COMPACT, SEND_FIELDS
from .timing import format_ms, own_time

# A box narrower than this fraction of the request merges with its neighbours:
# about a pixel of the panel on a 1440 px window.
RESOLUTION = 1000
# What one chart may weigh in the page.
MAX_BYTES = 180_000
# Rows drawn at most; deeper levels are counted, not drawn.
MAX_ROWS = 40
# A box is labelled from this share of the width (per cent) on.
LABEL_MIN = 4.0
# Longest name or message kept in a box's hover text.
_TEXT_LIMIT = 200
# The id of a table row's radio button is the row's id and this.
PICK_SUFFIX = "-pick"
_ROW = 17  # px per row: a 15 px box and a 2 px gap
_AXIS = 16  # px above the first row, for the time axis
_CALLS = len(SEND_FIELDS)
_UNITS_PER_MS = 10_000

# Worst first: a merged box takes the colour of the worst box it holds.
OUTCOMES = ("send", "ok", "twice", "slow", "caught", "loop", "raised")
_RANK = {outcome: rank for rank, outcome in enumerate(OUTCOMES)}

Anchors = Callable[[int, "int | None"], "str | None"]


@dataclass
class FlameChart:
    """The chart's markup and what it left out, for the caption."""

    svg: SafeString
    boxes: int  # sends and receiver calls drawn, merged ones included
    merged: int  # of those, how many are inside a merged box
    merged_into: int  # how many merged boxes hold them
    hidden: int  # boxes on rows past MAX_ROWS, not drawn
    rows: int
    resolution: int  # the merging width actually used: 1 / resolution of the request


@dataclass(slots=True)
class _Box:
    level: int
    start: int
    end: int
    send_id: int
    call: int | None  # the call's index in its send; None for the send itself
    outcome: str
    about: tuple[Any, ...]  # what the hover text says, read only when drawn


def flame_chart(
    stats: dict[str, Any],
    slow_ms: float,
    anchor: Anchors | None = None,
    receivers: Mapping[str, int] | None = None,
) -> FlameChart | None:
    """The flame chart of ``stats`` (stored or expanded), or None with nothing to draw.

    ``anchor(send_id, call_index)`` names the table row a box links to (None:
    no link); ``call_index`` is None for a send. ``receivers``: the panel's
    Receiver list, name to option value; a receiver's box carries the value
    (class ``djdt-si-fr<value>``) so that the list dims the others.
    """
    boxes = list(_boxes(stats, slow_ms * _UNITS_PER_MS))
    if not boxes:
        return None
    total = max(
        int(float(stats.get("duration_ms") or 0.0) * _UNITS_PER_MS),
        max(box.end for box in boxes),
        1,
    )
    rows, hidden = _rows(boxes)
    resolution = RESOLUTION
    while True:
        chart = _draw(rows, hidden, total, resolution, anchor, receivers or {})
        if len(chart.svg) <= MAX_BYTES or resolution <= 1:
            return chart
        resolution //= 2


def _records(stats: dict[str, Any]) -> Iterator[tuple[Any, ...]]:
    """(id, depth, start, duration, signal, method, sender, loop, calls) per send,
    calls as (name, start, duration, extra): times in units of 0.1 µs, ``extra``
    a mapping with the call's outcome, exception, children... (either form)."""
    if stats.get(COMPACT) == 2:
        kinds = stats.get("kinds_table", [])
        receivers = stats.get("receivers_table", [])
        for send in stats.get("sends", ()):
            signal, method, sender = kinds[send[1]]
            about = send[9] or {}
            calls = [
                (receivers[send[i]][0], send[i + 1], send[i + 2], send[i + 4] or {})
                for i in range(_CALLS, len(send), 5)
            ]
            yield (send[0], send[7], send[2], send[3], signal, method, sender,
                   bool(about.get("loop")), calls)
        return
    if stats.get(COMPACT):
        return  # a form this code does not read
    for send in stats.get("sends", ()):
        calls = [
            (
                call.get("name", ""),
                None if call.get("start_ms") is None else _units(call["start_ms"]),
                _units(call.get("duration_ms")),
                call,
            )
            for call in send.get("receivers", ())
        ]
        yield (send.get("id", 0), send.get("depth", 0), _units(send.get("start_ms")),
               _units(send.get("duration_ms")), send.get("signal", ""), send.get("method", ""),
               send.get("sender", ""), bool(send.get("loop")), calls)


def _units(ms: Any) -> int:
    return int(float(ms or 0.0) * _UNITS_PER_MS + 0.5)


def _boxes(stats: dict[str, Any], slow_units: float) -> Iterator[_Box]:
    records = list(_records(stats))
    spans = {record[0]: (record[2], record[2] + record[3]) for record in records}
    for send_id, depth, start, duration, signal, method, sender, loop, calls in records:
        yield _Box(2 * depth, start, start + duration, send_id, None,
                   "loop" if loop else "send", (signal, method, sender, duration, start))
        intervals: list[tuple[int, int] | None] = []
        for index, (name, c_start, c_duration, extra) in enumerate(calls):
            if c_start is None:
                continue
            own = c_duration
            if extra:
                caused = [spans[i] for i in extra.get("children", ()) if i in spans]
                siblings: list[tuple[int, int]] = []
                if extra.get("is_async"):
                    if not intervals:
                        intervals = [
                            None if start is None else (start, start + length)
                            for _name, start, length, _extra in calls
                        ]
                    siblings = [
                        iv for j, iv in enumerate(intervals) if j != index and iv is not None
                    ]
                if caused or siblings:
                    own = own_time(c_start, c_duration, caused, siblings)
                outcome = extra.get("outcome", "returned")
            else:
                outcome = "returned"
            if outcome == "raised":
                kind = "raised"
            elif extra and extra.get("loop"):
                kind = "loop"
            elif outcome == "caught":
                kind = "caught"
            elif own > slow_units:
                kind = "slow"
            elif extra and extra.get("duplicate"):
                kind = "twice"
            else:
                kind = "ok"
            yield _Box(2 * depth + 1, c_start, c_start + c_duration, send_id, index, kind,
                       (name, c_duration, own, outcome, extra and extra.get("exception"), signal,
                        c_start))


def _rows(boxes: list[_Box]) -> tuple[list[list[_Box]], int]:
    """Boxes in rows: each level's boxes packed into as few rows as never overlap,
    in time order; levels in order. Past MAX_ROWS, counted as hidden."""
    by_level: dict[int, list[_Box]] = {}
    for box in boxes:
        by_level.setdefault(box.level, []).append(box)
    rows: list[list[_Box]] = []
    hidden = 0
    for level in sorted(by_level):
        lanes: list[list[_Box]] = []
        ends: list[int] = []
        room = MAX_ROWS - len(rows)
        for box in sorted(by_level[level], key=lambda b: (b.start, -b.end)):
            for lane, end in enumerate(ends):
                if end <= box.start:
                    lanes[lane].append(box)
                    ends[lane] = box.end
                    break
            else:
                if len(lanes) < room:
                    lanes.append([box])
                    ends.append(box.end)
                else:
                    hidden += 1
        rows.extend(lanes)
    return rows, hidden


def _pct(units: float, total: int) -> str:
    return f"{units * 100 / total:.2f}"


def _draw(
    rows: list[list[_Box]],
    hidden: int,
    total: int,
    resolution: int,
    anchor: Anchors | None,
    receivers: Mapping[str, int],
) -> FlameChart:
    narrow = total / resolution
    height = _AXIS + len(rows) * _ROW
    parts = [
        f'<svg class="djdt-si-flame-chart" xmlns="http://www.w3.org/2000/svg" width="100%" '
        f'height="{height}" role="img" aria-label="Flame chart of the signal sends">',
        _axis(total, height),
    ]
    drawn = merged = merged_into = 0
    for number, row in enumerate(rows):
        y = _AXIS + number * _ROW
        group: list[_Box] = []
        group_end = 0
        for box in row:
            if box.end - box.start >= narrow:
                if group:
                    parts.append(_group(group, group_end, y, total, resolution, anchor, receivers))
                    merged += len(group) if len(group) > 1 else 0
                    merged_into += len(group) > 1
                    group = []
                parts.append(_one(box, y, total, narrow, anchor, receivers))
            elif group and box.start - group_end < narrow:
                group.append(box)
                group_end = max(group_end, box.end)
            else:
                if group:
                    parts.append(_group(group, group_end, y, total, resolution, anchor, receivers))
                    merged += len(group) if len(group) > 1 else 0
                    merged_into += len(group) > 1
                group, group_end = [box], box.end
            drawn += 1
        if group:
            parts.append(_group(group, group_end, y, total, resolution, anchor, receivers))
            merged += len(group) if len(group) > 1 else 0
            merged_into += len(group) > 1
    parts.append("</svg>")
    return FlameChart(
        mark_safe("".join(parts)), drawn, merged, merged_into, hidden, len(rows), resolution
    )


def _axis(total: int, height: int) -> str:
    total_ms = total / _UNITS_PER_MS
    step = _nice_step(total_ms / 5)
    parts = ['<g class="djdt-si-fl-axis">']
    count = int(total_ms / step + 1e-9)
    for i in range(count + 1):
        tick = i * step
        share = tick * _UNITS_PER_MS / total
        x = f"{share * 100:.2f}"
        side = "start" if i == 0 else ("end" if share > 0.95 else "middle")
        parts.append(
            f'<line x1="{x}%" x2="{x}%" y1="{_AXIS - 4}" y2="{height}"/>'
            f'<text x="{x}%" y="{_AXIS - 6}" text-anchor="{side}">{round(tick, 6):g} ms</text>'
        )
    parts.append("</g>")
    return "".join(parts)


def _nice_step(rough: float) -> float:
    """1, 2 or 5 times a power of ten, at least ``rough``."""
    if rough <= 0:
        return 1.0
    power = 10.0 ** math.floor(math.log10(rough))
    for factor in (1, 2, 5):
        if factor * power >= rough:
            return factor * power
    return 10 * power


def _short(text: str) -> str:
    return text if len(text) <= _TEXT_LIMIT else text[: _TEXT_LIMIT - 1] + "…"


def _ms(units: float) -> str:
    return format_ms(units / _UNITS_PER_MS)


def _title(box: _Box) -> str:
    if box.call is None:
        signal, method, sender, duration, start = box.about
        lines = [
            f"#{box.send_id} {_short(signal)} {method}()",
            f"sender {_short(str(sender))}",
            f"{_ms(duration)} ms, from {_ms(start)} ms",
        ]
        if box.outcome == "loop":
            lines.append("loop: a receiver ran again for the same signal and sender")
        return "\n".join(lines)
    name, duration, own, outcome, exception, signal, start = box.about
    lines = [_short(name), f"{_ms(duration)} ms, own {_ms(own)} ms, from {_ms(start)} ms"]
    if exception:
        said = "raised (caught)" if outcome == "caught" else "raised"
        lines.append(
            f"{said} {_short(str(exception.get('type', '')))}: "
            f"{_short(str(exception.get('message', '')))}"
        )
    elif outcome == "running":
        lines.append("still running")
    if box.outcome == "slow":
        lines.append("slow (its own time)")
    elif box.outcome == "twice":
        lines.append("ran twice (connected twice)")
    elif box.outcome == "loop":
        lines.append("loop")
    lines.append(f"receiver of #{box.send_id} {_short(signal)}")
    return "\n".join(lines)


def _text(text: str) -> str:
    """Escaped, its line breaks as character references: the panel's markup has its
    white space collapsed (see panels._compact), a hover text must keep them."""
    return str(escape(text)).replace("\n", "&#10;")


def _label(box: _Box) -> str:
    name = box.about[0]
    return str(name).rpartition(".")[2]


def _target(box: _Box, anchor: Anchors | None) -> str | None:
    return anchor(box.send_id, box.call) if anchor else None


def _link(target: str | None) -> str:
    return f'<a href="#{escape(target)}"' if target else "<a"


def _pick(target: str | None, x: str, y: int, width: str) -> str:
    """A label over the box for its row's radio button (``PICK_SUFFIX``): a click
    focuses the radio, which scrolls the row into view and marks it. Browsers do
    not follow a fragment link into the toolbar's shadow root; a label's ``for``
    is looked up in its own tree, the shadow root included, and needs no script."""
    if not target:
        return ""
    return (
        f'<foreignObject x="{x}%" y="{y}" width="{width}%" height="{_ROW - 2}">'
        f'<label for="{escape(target)}{PICK_SUFFIX}">'
        "</label></foreignObject>"
    )


def _one(
    box: _Box,
    y: int,
    total: int,
    narrow: float,
    anchor: Anchors | None,
    receivers: Mapping[str, int] | None = None,
) -> str:
    x = _pct(box.start, total)
    width_units = max(box.end - box.start, narrow)
    width = _pct(width_units, total)
    target = _target(box, anchor)
    listed = receivers.get(str(box.about[0])) if receivers and box.call is not None else None
    head = (
        f'{_link(target)} class="djdt-si-fl{"" if listed is None else f" djdt-si-fr{listed}"}'
        f' djdt-si-fl-{box.outcome}">'
        f"<title>{_text(_title(box))}</title>"
    )
    pick = _pick(target, x, y, width)
    if width_units * 100 / total >= LABEL_MIN:
        return (
            f'{head}<svg x="{x}%" y="{y}" width="{width}%" height="{_ROW - 2}">'
            f'<rect width="100%" height="100%"/><text x="3" y="11">{escape(_label(box))}</text>'
            f"</svg>{pick}</a>"
        )
    return f'{head}<rect x="{x}%" y="{y}" width="{width}%" height="{_ROW - 2}"/>{pick}</a>'


def _group(
    group: list[_Box],
    end: int,
    y: int,
    total: int,
    resolution: int,
    anchor: Anchors | None,
    receivers: Mapping[str, int],
) -> str:
    narrow = total / resolution
    if len(group) == 1:
        return _one(group[0], y, total, narrow, anchor, receivers)
    worst = max(group, key=lambda box: _RANK[box.outcome])
    start = group[0].start
    sends = sum(box.call is None for box in group)
    calls = len(group) - sends
    counts: dict[str, int] = {}
    for box in group:
        counts[box.outcome] = counts.get(box.outcome, 0) + 1
    said = ", ".join(
        f"{counts[outcome]} {outcome.replace('twice', 'ran twice')}"
        for outcome in reversed(OUTCOMES)
        if outcome not in ("send", "ok") and outcome in counts
    )
    parts = []
    if sends:
        parts.append(f"{sends} send" + ("s" if sends != 1 else ""))
    if calls:
        parts.append(f"{calls} receiver call" + ("s" if calls != 1 else ""))
    title = (
        f"{len(group)} boxes merged (each narrower than 1/{resolution} of the request): "
        f"{' and '.join(parts)}, from {_ms(start)} to {_ms(end)} ms"
        + (f"\n{said}" if said else "")
        + f"\n\nthe worst of them:\n{_title(worst)}"
    )
    x = _pct(start, total)
    width = _pct(max(end - start, narrow), total)
    target = _target(worst, anchor)
    return (
        f'{_link(target)} class="djdt-si-fl djdt-si-fl-{worst.outcome} djdt-si-fl-merged">'
        f"<title>{_text(title)}</title>"
        f'<rect x="{x}%" y="{y}" width="{width}%" height="{_ROW - 2}"/>'
        f"{_pick(target, x, y, width)}</a>"
    )
