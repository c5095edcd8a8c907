"""The text tree read while a receiver is still running (from inside it, as a
debugger or a log line in the receiver would)."""

from __future__ import annotations

from django.dispatch import Signal

import signal_inspector


def test_the_tree_read_inside_a_receiver_shows_it_still_running() -> None:
    signal = Signal()
    seen: list[str] = []

    def looks(**kwargs) -> None:
        seen.append(recording.to_text())

    signal.connect(looks, weak=False)
    with signal_inspector.record() as recording:
        signal.send(sender=None)
    (inside,) = seen
    line = next(line for line in inside.splitlines() if line.startswith("└─ "))
    assert line.startswith("└─ tests.test_text_edges.") and line.endswith("  still running")
    after = next(line for line in recording.to_text().splitlines() if line.startswith("└─ "))
    assert "still running" not in after and "returned" in after
