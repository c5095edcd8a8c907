"""Stacks kept as they are cheapest to take, and read as (file, line, function).

Taking a stack on every kept send must cost little: the send loop keeps each
frame as its code object and instruction offset, a flat list ``[code, offset,
code, offset, ...]`` (code objects are immutable and hold no frame, locals or
instance). What the stack says is worked out when something reads it, once per
instruction: a loop's sends share one list, and the frames they read are
shared tuples.
"""

from __future__ import annotations

from operator import is_
from types import CodeType
from typing import Any

# id(code) -> (code, {offset: (file, line, function)}); the code object is kept
# to check the id against (bounded: cleared past 5,000 codes).
_places: dict[int, tuple[CodeType, dict[int, tuple[str, int, str]]]] = {}


def place(code: CodeType, offset: int) -> tuple[str, int, str]:
    """(file, line, function) of the instruction at ``offset`` in ``code``: the
    ``f_lineno`` its frame had there. One shared tuple per instruction."""
    entry = _places.get(id(code))
    if entry is None or entry[0] is not code:
        if len(_places) > 5000:
            _places.clear()
        entry = _places[id(code)] = (code, {})
    found = entry[1].get(offset)
    if found is None:
        found = entry[1][offset] = (code.co_filename, _line(code, offset), code.co_name)
    return found


def _line(code: CodeType, offset: int) -> int:
    for start, end, line in code.co_lines():
        if start <= offset < end:
            return line if line is not None else code.co_firstlineno
    return code.co_firstlineno


def frames(raw: list[Any]) -> list[tuple[str, int, str]]:
    """A stack kept flat (see above) as (file, line, function), innermost first."""
    return [place(raw[i], raw[i + 1]) for i in range(0, len(raw), 2)]


def same_stack(one: list[Any], other: list[Any]) -> bool:
    """Whether two kept stacks are the same frames. ``==`` alone is not enough:
    code objects compare by content, and two functions alike in all but their
    file (a method copied into two apps) are equal."""
    return one is other or (one == other and all(map(is_, one[::2], other[::2])))
