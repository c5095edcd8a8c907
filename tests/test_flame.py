"""The flame chart's SVG builder (``signal_inspector.drawing.flame``), from the
stored form of real recordings and from hand-made stats where a shape (overlap,
sub-pixel boxes, 20,000 boxes) must be exact."""

from __future__ import annotations

import re
import xml.etree.ElementTree as ET
from typing import Any

import pytest
from django.dispatch import Signal
from django.test import override_settings

import signal_inspector
from signal_inspector.drawing.flame import MAX_BYTES, RESOLUTION, flame_chart
from signal_inspector.stored import panel_sends

SVG = "{http://www.w3.org/2000/svg}"
HOSTILE = "<script>alert('x')</script>"

hostile = Signal()
burst = Signal()


def stored(recording: Any) -> dict[str, Any]:
    """The panel's stored form of a recording, as generate_stats() makes it."""
    stats = recording.summary()
    stats.update(panel_sends(recording, (), lambda line: line))
    return stats


def parse(svg: str) -> ET.Element:
    # Well-formed XML: every text escaped, every element closed.
    return ET.fromstring(svg)


def boxes(root: ET.Element) -> list[dict[str, Any]]:
    """Each box: its classes, row (y), x and width in per cent, link and hover text."""
    out = []
    for link in root.iter(f"{SVG}a"):
        shape = link.find(f"{SVG}svg")
        if shape is None:
            shape = link.find(f"{SVG}rect")
        assert shape is not None
        out.append(
            {
                "classes": link.get("class", "").split(),
                "href": link.get("href"),
                "y": int(shape.get("y", "0")),
                "x": float(shape.get("x", "0").rstrip("%")),
                "width": float(shape.get("width", "0").rstrip("%")),
                "title": link.findtext(f"{SVG}title") or "",
                "label": "".join(shape.itertext()),
            }
        )
    return out


def send(
    id: int, start: float, duration: float, receivers: list[dict[str, Any]], depth: int = 0
) -> dict[str, Any]:
    return {
        "id": id, "signal": "app.signals.thing", "method": "send", "sender": "app.Thing",
        "start_ms": start, "duration_ms": duration, "depth": depth, "receivers": receivers,
    }


def call(name: str, start: float, duration: float, **extra: Any) -> dict[str, Any]:
    return {"name": name, "start_ms": start, "duration_ms": duration, **extra}


@pytest.mark.django_db
def test_every_label_and_hover_text_is_escaped() -> None:
    def refuse(sender: Any, **kwargs: Any) -> None:
        raise ValueError(f"refused {HOSTILE}")

    refuse.__qualname__ = HOSTILE
    hostile.connect(refuse, dispatch_uid="test_flame.refuse")
    try:
        with signal_inspector.record() as recording:
            hostile.send_robust(sender=HOSTILE)
    finally:
        hostile.disconnect(dispatch_uid="test_flame.refuse")
    chart = flame_chart(stored(recording), 25.0, lambda send_id, index: f'x"><b>{send_id}')
    assert chart is not None
    svg = str(chart.svg)
    assert HOSTILE not in svg and "<b>" not in svg
    root = parse(svg)
    drawn = boxes(root)
    (failed,) = [box for box in drawn if "djdt-si-fl-caught" in box["classes"]]
    # The parser reads back the text as it was: escaped once, not twice.
    assert f"ValueError: refused {HOSTILE}" in failed["title"]
    assert HOSTILE in failed["title"].splitlines()[0]
    assert failed["href"] == '#x"><b>1'
    assert any("sender" in box["title"] and HOSTILE in box["title"] for box in drawn)


@pytest.mark.django_db
def test_the_recording_nests_row_under_row() -> None:
    outer, inner = Signal(), Signal()

    def nests(sender: Any, **kwargs: Any) -> None:
        inner.send(sender=sender)

    def leaf(sender: Any, **kwargs: Any) -> str:
        return "leaf"

    outer.connect(nests, weak=False)
    inner.connect(leaf, weak=False)
    with signal_inspector.record() as recording:
        outer.send(sender="x")
    chart = flame_chart(stored(recording), 25.0)
    assert chart is not None and chart.rows == 4 and chart.hidden == 0
    drawn = sorted(boxes(parse(str(chart.svg))), key=lambda box: box["y"])
    # A send, its receiver, the send it made, that send's receiver: one row each.
    assert [box["y"] for box in drawn] == sorted({box["y"] for box in drawn})
    assert [box["title"].splitlines()[0].split()[0] for box in drawn[1::2]] == [
        "tests.test_flame.test_the_recording_nests_row_under_row.<locals>.nests",
        "tests.test_flame.test_the_recording_nests_row_under_row.<locals>.leaf",
    ]
    # Each box within the one above it.
    for above, below in zip(drawn, drawn[1:], strict=False):
        assert above["x"] - 0.01 <= below["x"]
        assert below["x"] + below["width"] <= above["x"] + above["width"] + 0.2


def test_boxes_narrower_than_a_pixel_merge_and_are_counted() -> None:
    # One wide receiver, then 300 sends of 0.001 ms each, back to back.
    sends = [send(1, 0.0, 50.0, [call("app.slow_one", 0.0, 50.0)])]
    for i in range(300):
        start = 50.0 + i * 0.01
        sends.append(send(i + 2, start, 0.001, [call("app.quick", start, 0.001)]))
    stats = {"duration_ms": 60.0, "sends": sends}
    chart = flame_chart(stats, 25.0, lambda send_id, index: f"row-{send_id}-{index}")
    assert chart is not None
    drawn = boxes(parse(str(chart.svg)))
    merged = [box for box in drawn if "djdt-si-fl-merged" in box["classes"]]
    # The 300 sends in one box, their 300 receivers in one, the slow one alone.
    assert len(merged) == 2 and chart.merged == 600 and chart.merged_into == 2
    assert chart.boxes == 602 and len(drawn) == 4
    counts = sorted(int(re.match(r"(\d+) boxes merged", box["title"])[1]) for box in merged)
    assert counts == [300, 300]
    assert "300 sends" in merged[0]["title"] + merged[1]["title"]
    assert "300 receiver calls" in merged[0]["title"] + merged[1]["title"]
    # Where they ran: from 50 ms to 53 ms of 60, at least one resolution wide.
    for box in merged:
        assert box["x"] == pytest.approx(50 / 60 * 100, abs=0.01)
        assert box["width"] == pytest.approx(3 / 60 * 100, abs=0.05)
    # The slow receiver is labelled (wide enough); the merged boxes are not.
    assert [box["label"] for box in drawn if box["label"]] == ["thing", "slow_one"]
    assert all(box["href"].startswith("#row-") for box in drawn)


def test_overlapping_async_receivers_are_drawn_as_they_overlapped() -> None:
    receivers = [
        call("app.first", 1.0, 20.0, is_async=True),
        call("app.second", 5.0, 10.0, is_async=True),
        call("app.after", 22.0, 3.0),
    ]
    chart = flame_chart({"duration_ms": 30.0, "sends": [send(1, 0.0, 26.0, receivers)]}, 25.0)
    assert chart is not None and chart.rows == 3
    rows = {box["title"].split()[0]: box["y"] for box in boxes(parse(str(chart.svg)))}
    # first and second ran together: two rows; after ran alone, back in the first.
    assert rows["app.first"] != rows["app.second"]
    assert rows["app.after"] == rows["app.first"]


def test_outcomes_as_the_table_colours_them_slow_on_own_time() -> None:
    sends = [
        send(1, 0.0, 100.0, [
            call("app.raised", 0.0, 1.0, outcome="raised", exception={"type": "E", "message": "m"}),
            call("app.caught", 1.0, 1.0, outcome="caught", exception={"type": "E", "message": "m"}),
            call("app.twice", 2.0, 1.0, duplicate=True),
            call("app.looping", 3.0, 1.0, loop=True),
            # 90 ms, of which 80 in the send it made: 10 ms of its own, not slow.
            call("app.caller", 4.0, 90.0, children=[2]),
        ]),
        send(2, 6.0, 80.0, [call("app.callee", 6.0, 80.0)], depth=1),
    ]
    chart = flame_chart({"duration_ms": 100.0, "sends": sends}, 25.0)
    assert chart is not None
    kinds = {
        box["title"].split()[0]: box["classes"][1] for box in boxes(parse(str(chart.svg)))
    }
    assert kinds["app.raised"] == "djdt-si-fl-raised"
    assert kinds["app.caught"] == "djdt-si-fl-caught"
    assert kinds["app.twice"] == "djdt-si-fl-twice"
    assert kinds["app.looping"] == "djdt-si-fl-loop"
    assert kinds["app.caller"] == "djdt-si-fl-ok"
    assert kinds["app.callee"] == "djdt-si-fl-slow"


def test_twenty_thousand_sends_stay_under_the_byte_bound() -> None:
    # The worst shape: 40 levels of sends, 500 on each, every box a pixel wide
    # (1 / RESOLUTION of the request) and a pixel apart, so that none merges at
    # the first resolution; the 40 rows drawn hold 20,000 boxes.
    sends = []
    total = 100.0
    step = total / RESOLUTION * 2
    for i in range(20_000):
        depth = i % 40
        start = (i // 40) * step
        sends.append(send(i, start, step / 2, [call(f"app.r{i}", start, step / 2)], depth=depth))
    chart = flame_chart({"duration_ms": total, "sends": sends}, 25.0, lambda s, c: f"r{s}-{c}")
    assert chart is not None
    assert len(chart.svg.encode()) < 200_000 and len(chart.svg) <= MAX_BYTES
    assert chart.resolution < RESOLUTION  # merged wider to fit
    assert chart.boxes == 20_000 and chart.hidden == 20_000
    drawn = boxes(parse(str(chart.svg)))
    counted = sum(
        int(m[1]) if (m := re.match(r"(\d+) boxes merged", box["title"])) else 1
        for box in drawn
    )
    assert counted == chart.boxes


@pytest.mark.django_db
def test_a_real_request_of_twenty_thousand_sends() -> None:
    with override_settings(SIGNAL_INSPECTOR={"MAX_SENDS": 20_000}):
        burst.connect(noop, dispatch_uid="test_flame.noop")
        try:
            with signal_inspector.record() as recording:
                for i in range(20_000):
                    burst.send(sender=("left", "right")[i % 2], n=i)
        finally:
            burst.disconnect(dispatch_uid="test_flame.noop")
    stats = stored(recording)
    assert len(stats["sends"]) == 20_000
    chart = flame_chart(stats, 25.0)
    assert chart is not None and chart.boxes == 40_000
    assert len(chart.svg.encode()) < 200_000


def noop(sender: Any, **kwargs: Any) -> None:
    return None


def test_nothing_to_draw() -> None:
    assert flame_chart({"duration_ms": 5.0, "sends": []}, 25.0) is None
    # A stored form this code does not read: no chart, no error.
    assert flame_chart({"compact": 9, "sends": [[1, 2, 3]]}, 25.0) is None
