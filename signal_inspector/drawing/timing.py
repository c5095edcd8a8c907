"""How long a receiver ran by itself: shared by the table and the flame chart, so
both call the same receiver slow."""

from __future__ import annotations

from collections.abc import Iterable


def union_length(intervals: Iterable[tuple[float, float]]) -> float:
    """Length of the union of ``(start, end)`` intervals: overlapping time counted once."""
    total = 0.0
    low_run = high_run = 0.0
    started = False
    for low, high in sorted(intervals):
        if not started or low > high_run:
            if started:
                total += high_run - low_run
            low_run, high_run, started = low, high, True
        elif high > high_run:
            high_run = high
    if started:
        total += high_run - low_run
    return total


def own_time(
    start: float,
    duration: float,
    caused: Iterable[tuple[float, float]] = (),
    siblings: Iterable[tuple[float, float]] = (),
) -> float:
    """A receiver's time without the sends it caused, nor (an async receiver) the
    time its send's other receivers ran alongside it: the time only its own code
    can have taken. Intervals are clipped to the receiver's own."""
    end = start + duration
    inside = [
        (max(low, start), min(high, end))
        for low, high in (*caused, *siblings)
        if min(high, end) > max(low, start)
    ]
    return max(duration - union_length(inside), 0.0) if inside else duration


def format_ms(value: float | None) -> str:
    """A duration as people read it: ``<0.1``, ``0.63``, ``1.4``, ``55``, ``1,204``."""
    value = float(value or 0.0)
    if value < 0.1:
        return "<0.1" if value > 0 else "0"
    # Each tier as rounded: 0.996 is "1.0", not "1.00"; 9.96 is "10", not "10.0".
    if round(value, 2) < 1:
        return f"{value:.2f}"
    if round(value, 1) < 10:
        return f"{value:.1f}"
    return f"{value:,.0f}"
