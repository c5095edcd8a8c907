"""Records that must be true: errors told apart, nested ``record()`` blocks.

Each case here was once recorded wrongly (issue 11), so each test is written to
fail on that code.
"""

from __future__ import annotations

import contextlib
import contextvars
import gc
import itertools
import sched
import threading
import tracemalloc

import pytest
from django.db.models.signals import post_init
from django.dispatch import Signal

import signal_inspector
from tests.testapp.models import Order

pytestmark = pytest.mark.django_db


@pytest.fixture
def signal() -> Signal:
    return Signal()


@pytest.fixture
def other() -> Signal:
    return Signal()


def _calls(recording) -> list[dict]:
    """Every receiver call of the recording, depth first."""
    out = []
    pending = list(reversed(recording.to_dict()["sends"]))
    while pending:
        send = pending.pop()
        for call in send["receivers"]:
            out.append(call)
            pending.extend(reversed(call["children"]))
    return out


def _failing_receiver():
    counter = itertools.count(1)

    def fails_differently(sender, **kwargs):
        raise ValueError(f"failure number {next(counter)}")

    return fails_differently


def test_each_exception_of_one_receiver_keeps_its_own_message_and_traceback(signal) -> None:
    # Once remembered by its innermost frame's address, which Python reuses as
    # soon as the first exception is gone: the second was taken for the first
    # passing up, and recorded with its message and no traceback.
    receiver = _failing_receiver()
    signal.connect(receiver, weak=False)
    with signal_inspector.record() as recording:
        for _ in range(3):
            with contextlib.suppress(ValueError):  # its traceback and frames die here
                signal.send(sender=None)
    calls = _calls(recording)
    assert [c["exception"]["message"] for c in calls] == [
        "failure number 1", "failure number 2", "failure number 3",
    ]
    for call in calls:
        assert call["outcome"] == "raised"
        assert call["exception"]["traceback"], call["exception"]["text"]
        assert call["exception"]["traceback"][-1]["function"] == "fails_differently"


def test_exceptions_inside_one_outer_send_are_told_apart(signal, other) -> None:
    receiver = _failing_receiver()
    other.connect(receiver, weak=False)

    def sends_twice(sender, **kwargs):
        for _ in range(2):
            with contextlib.suppress(ValueError):
                other.send(sender=None)

    signal.connect(sends_twice, weak=False)
    with signal_inspector.record() as recording:
        signal.send(sender=None)
    inner = [c for c in _calls(recording) if c["name"].endswith("fails_differently")]
    assert [c["exception"]["message"] for c in inner] == ["failure number 1", "failure number 2"]
    assert all(c["exception"]["traceback"] for c in inner)


def test_the_same_exception_passing_up_is_kept_once(signal, other) -> None:
    # What the error memory is for: one exception raised through two receivers
    # keeps its traceback where it was raised, and only there.
    def raises(sender, **kwargs):
        raise KeyError("deep")

    def passes_it_up(sender, **kwargs):
        other.send(sender=None)

    other.connect(raises, weak=False)
    signal.connect(passes_it_up, weak=False)
    with signal_inspector.record() as recording, pytest.raises(KeyError):
        signal.send(sender=None)
    outer, inner = _calls(recording)
    assert inner["exception"]["traceback"] and not outer["exception"]["traceback"]
    assert outer["exception"]["message"] == inner["exception"]["message"] == "'deep'"


def test_record_opened_inside_a_recorded_receiver_records_its_own_sends(signal, other) -> None:
    def quiet(sender, **kwargs):
        return "quiet"

    inner_recordings = []

    def opens_a_recording(sender, **kwargs):
        with signal_inspector.record() as inner:
            other.send(sender=None)
            other.send(sender=None)
        inner_recordings.append(inner)

    other.connect(quiet, weak=False)
    signal.connect(opens_a_recording, weak=False)
    with signal_inspector.record() as outer:
        signal.send(sender=None)
        other.send(sender=None)  # the outer recording goes on afterwards

    (inner,) = inner_recordings
    inner_data = inner.to_dict()
    assert inner_data["total_sends"] == inner_data["kept_sends"] == 2
    assert [s["receivers"][0]["name"].rsplit(".", 1)[-1] for s in inner_data["sends"]] == [
        "quiet", "quiet",
    ]
    outer_data = outer.to_dict()
    # The outer recording sees its own two sends, and none of the block's.
    assert outer_data["total_sends"] == 2
    first, second = outer_data["sends"]
    assert first["receivers"][0]["children"] == []
    assert second["receivers"][0]["name"].endswith("quiet")


# --- bounded cost ---------------------------------------------------------------------

RECEIVERS = 83
SENDS = 990


def _flood_receivers() -> list:
    """83 distinct receivers, as django-simple-history's suite had on class_prepared."""
    made = []
    for number in range(RECEIVERS):
        namespace: dict = {"__name__": f"tests.flood{number}"}
        exec(f"def on_class_prepared_{number}(sender, **kwargs):\n    return None", namespace)  # noqa: S102
        made.append(namespace[f"on_class_prepared_{number}"])
    return made


def _recording_size(signal: Signal) -> tuple[int, object]:
    """Bytes a recording of the flood keeps (tracemalloc), and the recording."""
    gc.collect()
    tracemalloc.start()
    try:
        before = tracemalloc.get_traced_memory()[0]
        with signal_inspector.record() as recording:
            for _ in range(SENDS):
                signal.send(sender=object)
        gc.collect()
        return tracemalloc.get_traced_memory()[0] - before, recording
    finally:
        tracemalloc.stop()


def test_a_flood_of_sends_with_many_receivers_keeps_a_bounded_record(signal) -> None:
    for receiver in _flood_receivers():
        signal.connect(receiver, weak=False)
    size, recording = _recording_size(signal)
    data = recording.to_dict()
    kept_calls = sum(len(send["receivers"]) for send in data["sends"])
    assert data["total_sends"] == SENDS and data["receiver_calls"] == SENDS * RECEIVERS
    # Receivers of the kept sends within the budget, and said so.
    assert kept_calls == data["kept_receiver_calls"] <= data["max_receiver_calls"] == 5 * 1000
    assert data["kept_sends"] == len(data["sends"]) == 5000 // RECEIVERS
    assert data["dropped_sends"] == SENDS - data["kept_sends"]
    # Every send kept in full, none cut short.
    assert {len(send["receivers"]) for send in data["sends"]} == {RECEIVERS}
    assert size < 6_000_000, f"{size / 1e6:.1f} MB"  # 82,000 receiver records: ~40 MB


# --- where a send fired ---------------------------------------------------------------


def _post_init_receiver(sender, **kwargs):
    return None


@pytest.fixture
def post_init_of_order():
    post_init.connect(_post_init_receiver, sender=Order, weak=False)
    yield
    post_init.disconnect(_post_init_receiver, sender=Order)


def _only_send(recording) -> dict:
    (send,) = recording.to_dict()["sends"]
    return send


def test_a_send_through_a_library_wrapper_is_placed_in_the_users_code(
    post_init_of_order, tmp_path, monkeypatch
) -> None:
    # As django-model-utils' FieldTracker or modelcluster wrap save(): the frame
    # below Django's is an installed package's, and the user's is below that.
    library = tmp_path / "site-packages"
    library.mkdir()
    (library / "si_wrapping_library.py").write_text(
        "def build(model, **fields):\n    return model(**fields)\n"
    )
    monkeypatch.syspath_prepend(str(library))
    from si_wrapping_library import build  # type: ignore[import-not-found]

    with signal_inspector.record() as recording:
        build(Order, number="wrapped")  # the user's line
    send = _only_send(recording)
    assert send["fired_at"]["file"] == "tests/test_recorder.py"
    assert send["fired_at"]["function"] == (
        "test_a_send_through_a_library_wrapper_is_placed_in_the_users_code"
    )
    assert send["fired_inside"] is None


def test_a_send_made_inside_django_says_so(post_init_of_order) -> None:
    # As user_logged_in on the admin login under runserver: no frame between
    # the server's thread and the send is the user's, and the standard
    # library's server loop was named (wsgiref/handlers.py; here sched.py).
    scheduler = sched.scheduler()
    scheduler.enter(0, 1, Order, kwargs={"number": "x"})
    with signal_inspector.record() as recording:
        context = contextvars.copy_context()
        thread = threading.Thread(target=context.run, args=(scheduler.run,))
        thread.start()
        thread.join()
    send = _only_send(recording)
    assert send["fired_at"] is None
    inside = send["fired_inside"]
    assert inside["package"] == "django"
    assert inside["file"] == "django/db/models/base.py"
    assert inside["function"] == "__init__"


def test_a_send_from_the_users_code_is_placed_there(post_init_of_order) -> None:
    with signal_inspector.record() as recording:
        Order(number="mine")
    send = _only_send(recording)
    assert send["fired_at"]["function"] == "test_a_send_from_the_users_code_is_placed_there"
    assert send["fired_inside"] is None
