"""A stack kept as (code, offset) pairs reads as the frames' own file, line and name."""

from __future__ import annotations

import sys
from typing import Any

from signal_inspector.frames import frames, place


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
