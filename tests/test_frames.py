"""A stack kept as (code, offset) pairs reads as the frames' own file, line and name."""

from __future__ import annotations

import sys
from typing import Any

from django.dispatch import Signal

import signal_inspector
from signal_inspector.frames import frames, place
from signal_inspector.stored import SEND_FIELDS, panel_sends


def taken() -> tuple[list[Any], list[tuple[str, int, str]]]:
    """This stack, kept flat as the send loop keeps it, and as the frames said."""
    raw: list[Any] = []
    seen = []
    frame = sys._getframe(1)
    while frame is not None:
        raw += [frame.f_code, frame.f_lasti]
        seen.append((frame.f_code.co_filename, frame.f_lineno, frame.f_code.co_name))
        frame = frame.f_back
    return raw, seen


def nested(depth: int) -> tuple[list[Any], list[tuple[str, int, str]]]:
    if depth:
        return nested(depth - 1)
    return (
        taken()  # a call spread over lines: the line is the call's
    )


def test_a_kept_stack_reads_as_its_frames_said() -> None:
    raw, seen = nested(3)
    assert len(seen) > 8  # this module's frames and pytest's above them
    assert frames(raw) == seen


def test_one_tuple_per_instruction() -> None:
    raw, _ = nested(1)
    again, _ = nested(1)
    # nested(0)'s frame is a new frame each time, at the same instruction.
    assert frames(raw)[1] is frames(again)[1] is place(raw[2], raw[3])


twin_signal = Signal()
TWIN = "def fire(signal):\n    signal.send(sender=None)\n"


def twin(app: str) -> Any:
    """``fire()`` as two apps may both define it: the same code in another file."""
    namespace: dict[str, Any] = {"__name__": f"{app}.fire"}
    exec(compile(TWIN, f"/srv/project/{app}/fire.py", "exec"), namespace)
    return namespace["fire"]


def heard(sender: Any, **kwargs: Any) -> None:
    return None


def test_stacks_alike_but_in_two_files_are_two_stacks() -> None:
    """Code objects compare by content, not by file: the stacks of twin functions
    are equal with ==, and must not be shared."""
    fire_a, fire_b = twin("shop"), twin("billing")
    assert fire_a.__code__ == fire_b.__code__ and fire_a.__code__ is not fire_b.__code__
    twin_signal.connect(heard, weak=False)
    try:
        with signal_inspector.record(stacks=True) as recording:
            for fire in (fire_a, fire_b) * 2:
                fire(twin_signal)  # one call site: the stacks differ only in the file
    finally:
        twin_signal.disconnect(heard)
    files = [send["stack"][0]["file"] for send in recording.to_dict()["sends"]]
    assert files == ["/srv/project/shop/fire.py", "/srv/project/billing/fire.py"] * 2
    stored = panel_sends(recording, (), lambda line: line)
    at = SEND_FIELDS.index("stack_id")
    stored_files = [stored["stacks"][send[at]][0]["file"] for send in stored["sends"]]
    assert stored_files == files
