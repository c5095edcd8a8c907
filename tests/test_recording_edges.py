"""Records read one by one: their reprs, a send's own ``to_dict()``, and the
traceback of a receiver that failed deep in its own calls (only its last
frames are kept: a record is bounded)."""

from __future__ import annotations

from django.dispatch import Signal

import signal_inspector
from signal_inspector.recording import _MAX_TRACEBACK_FRAMES


def deep(levels: int) -> None:
    if levels:
        deep(levels - 1)
    else:
        raise ValueError("at the bottom")


def test_records_name_themselves_and_a_send_gives_its_own_dict() -> None:
    signal = Signal()

    def fails(**kwargs) -> None:
        deep(_MAX_TRACEBACK_FRAMES + 20)

    signal.connect(fails, weak=False)
    with signal_inspector.record() as recording:
        signal.send_robust(sender=None)
    (send,) = recording.iter_sends()
    (call,) = send.receivers
    assert repr(send) == f"<SendRecord {send.signal} from None>"
    assert repr(call) == f"<ReceiverCall {call.name} caught>"
    data = send.to_dict(origin=send.start)
    assert data["signal"] == send.signal and data["start_ms"] == 0
    frames = data["receivers"][0]["exception"]["traceback"]
    assert len(frames) == _MAX_TRACEBACK_FRAMES
    assert frames[-1]["function"] == "deep"
    assert frames[-1]["code"] == 'raise ValueError("at the bottom")'
    assert all(frame["function"] == "deep" for frame in frames)
