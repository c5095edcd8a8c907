"""Reading kept stacks at their edges: an offset past the code's last
instruction, and the bound on the places remembered."""

from __future__ import annotations

from signal_inspector import frames


def sample() -> int:
    return 1


def test_an_offset_outside_the_code_reads_as_its_first_line() -> None:
    code = sample.__code__
    path, line, function = frames.place(code, 10**6)
    assert (path, line, function) == (code.co_filename, code.co_firstlineno, "sample")


def test_the_places_remembered_are_bounded(monkeypatch) -> None:
    full = {index: (sample.__code__, {}) for index in range(5001)}
    monkeypatch.setattr(frames, "_places", full)
    frames.place(sample.__code__, 0)
    assert len(full) == 1 and id(sample.__code__) in full
