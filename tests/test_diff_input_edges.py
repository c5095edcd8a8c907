"""``signal_inspector diff`` reading recordings of every wrong shape (a clear
``BadInput`` each, never a traceback), and comparing the odd but valid ones:
receivers that are not objects, silent sends, sends past ``max_sends``."""

from __future__ import annotations

import json
import re

import pytest

from signal_inspector.diff import BadInput, compare, load


def write(tmp_path, name: str, text: str) -> str:
    path = tmp_path / name
    path.write_text(text)
    return str(path)


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("[1, 2]", "a recording is a JSON object"),
        ("{}", 'not a signal_inspector recording: no "sends" list'),
        ('{"sends": [1]}', "a send is a JSON object"),
        ('{"sends": [] "x": 1}', "expected '}', found '\"'"),
        ('{"sends": []} {"sends": []}', "more data after the recording"),
        ('{"sends": [{"signal": "s"} {}]}', "expected ']', found '{'"),
        ('{"sends": [{"receivers": 5}]}', "a send of an unexpected shape"),
    ],
)
def test_a_recording_of_the_wrong_shape_is_bad_input(tmp_path, text: str, message: str) -> None:
    with pytest.raises(BadInput, match=re.escape(message)):
        load(write(tmp_path, "bad.json", text))


def test_text_that_is_not_utf8_is_bad_input(tmp_path) -> None:
    path = tmp_path / "latin.json"
    path.write_bytes('{"sends": [{"signal": "caf\xe9"}]}'.encode("latin-1"))
    with pytest.raises(BadInput, match=r"^not UTF-8 text"):
        load(str(path))


def send(*receivers, signal: str = "shop.paid") -> dict:
    return {"signal": signal, "sender": "shop.Order", "duration_ms": 1.0, "receivers": list(receivers)}


def test_receivers_that_are_not_objects_are_skipped(tmp_path) -> None:
    old = load(write(tmp_path, "a.json", json.dumps({"sends": [send({"name": "mail"})]})))
    new = load(write(tmp_path, "b.json", json.dumps({"sends": [send({"name": "mail"}, "junk", 3)]})))
    assert compare(old, new) == []


def test_silent_sends_and_sends_past_max_sends_are_compared_and_noted(tmp_path) -> None:
    old = load(write(tmp_path, "a.json", json.dumps({"sends": [send({"name": "mail"})]})))
    recording = {
        "recording": {
            "sends": [send({"name": "mail"}), send({"name": "mail"})],
            "silent": [{"signal": "shop.refunded", "sender": "shop.Order", "count": 2}, "junk"],
            "dropped_sends": 7,
        }
    }
    new = load(write(tmp_path, "b.json", json.dumps(recording)))
    assert new.dropped == 7
    lines = compare(old, new, old_name="a.json", new_name="b.json")
    assert "shop.paid from shop.Order:" in lines
    assert "  sent twice instead of once (+1)." in lines
    assert "shop.refunded from shop.Order:" in lines
    assert lines[-1] == (
        "Note: b.json kept no detail of 7 sends past its max_sends: their receivers are not compared."
    )
