"""Muting one receiver (muted(), capture_signals(mute=...)) and --signals-shuffle:
in-process with the test app, and through pytester with django-simple-history."""

from __future__ import annotations

import asyncio
import threading
from pathlib import Path

import pytest
from django.db.models.signals import post_save
from django.dispatch import Signal

from signal_inspector import patching
from signal_inspector.context import current
from signal_inspector.isolation import ARRANGING
from signal_inspector.testing import capture_signals, muted
from tests.testapp.models import AuditLog, Order
from tests.testapp.receivers import audit_order_saved, mark_paid
from tests.testapp.signals import order_paid

pytest_plugins = ["pytester"]
REPO = Path(__file__).resolve().parent.parent
AUDIT = "tests.testapp.receivers.audit_order_saved"


@pytest.mark.django_db
def test_a_muted_receiver_does_not_run_and_the_others_do():
    with capture_signals(mute=[audit_order_saved]) as signals:
        order = Order.objects.create(number="A-1")
        order_paid.send_robust(sender=Order, order=order)
    assert AuditLog.objects.count() == 0
    assert Order.objects.get().paid  # mark_paid, on the same send path, ran
    signals.assert_received(mark_paid, times=1)
    signals.assert_not_received(audit_order_saved)
    assert signals.recording.muted == {
        ("django.db.models.signals.post_save", "testapp.Order", AUDIT): 2
    }
    # A send whose only receiver was muted is one no receiver heard.
    signals.assert_sent(post_save, sender=Order, times=2)
    # Outside the block it runs again, and the send loop is left as it was.
    Order.objects.create(number="A-2")
    assert AuditLog.objects.count() == 1
    assert ARRANGING == []


@pytest.mark.django_db
def test_muted_by_dotted_name_opens_its_own_recording_and_restores_on_error():
    assert current() is None
    with pytest.raises(KeyError), muted(AUDIT):
        assert current() is not None
        Order.objects.create(number="A-1")
        raise KeyError
    assert current() is None and ARRANGING == []
    assert AuditLog.objects.count() == 0
    assert patching.open_recordings() == 0
    assert Signal.send.__module__ == "django.dispatch.dispatcher"  # idle: Django's own
    Order.objects.create(number="A-2")
    assert AuditLog.objects.count() == 1


@pytest.mark.django_db(transaction=True)
def test_another_threads_sends_are_untouched():
    def other() -> None:
        Order.objects.create(number="thread")

    with muted(audit_order_saved):
        Order.objects.create(number="here")
        thread = threading.Thread(target=other)
        thread.start()
        thread.join()
    assert list(AuditLog.objects.values_list("message", flat=True)) == [
        f"order {Order.objects.get(number='thread').pk} created"
    ]


def test_another_tasks_sends_are_untouched():
    heard: list[str] = []
    ping = Signal()

    async def note(sender, **kwargs):
        heard.append(sender)

    ping.connect(note, weak=False)

    async def main() -> None:
        started = asyncio.Event()
        release = asyncio.Event()

        async def elsewhere() -> None:
            started.set()
            await release.wait()
            await ping.asend(sender="other task")

        task = asyncio.create_task(elsewhere())  # its context copied before the block
        await started.wait()
        with capture_signals(mute=[note]):
            await ping.asend(sender="muted task")
            release.set()
            await task

    try:
        asyncio.run(main())
    finally:
        ping.disconnect(note)
    assert heard == ["other task"]


def test_a_name_that_matches_nothing_lists_near_matches():
    with pytest.raises(ValueError) as info, muted("tests.testapp.receivers.audit_order_save"):
        pass
    assert str(info.value).startswith(
        "mute: 'tests.testapp.receivers.audit_order_save' is not connected to any signal, so "
        f"muting it would change nothing. Did you mean: {AUDIT}, "
    )
    assert ARRANGING == []


# --- a third-party app: django-simple-history --------------------------------

HISTORY = """
import threading

import pytest
from tests.historyapp.models import Poll, Tally

pytestmark = pytest.mark.django_db(transaction=True)
HISTORY = "simple_history.models.HistoricalRecords.post_save"


def test_the_cascade(capture_signals):
    with capture_signals() as signals:
        Poll.objects.create(question="Why?")
    signals.assert_received(HISTORY, times=1)
    signals.assert_matches_snapshot()


def test_muting_historys_receiver(capture_signals):
    with capture_signals(mute=[HISTORY]) as signals:
        poll = Poll.objects.create(question="Why not?")
        other = threading.Thread(target=lambda: Poll.objects.create(question="elsewhere"))
        other.start()
        other.join()
    assert poll.history.count() == 0
    assert Poll.objects.get(question="elsewhere").history.count() == 1
    assert Tally.objects.get().polls == 2  # the project's own receiver ran
    signals.assert_matches_snapshot()
"""


@pytest.fixture
def run(pytester: pytest.Pytester, monkeypatch: pytest.MonkeyPatch):
    monkeypatch.setenv("PYTHONPATH", str(REPO))

    def run(*args: str, settings: str = "tests.settings") -> pytest.RunResult:
        monkeypatch.setenv("DJANGO_SETTINGS_MODULE", settings)
        return pytester.runpytest_subprocess("-p", "no:cacheprovider", "-p", "no:randomly", *args)

    return run


def test_django_simple_history_snapshot_and_mute(pytester, run):
    pytest.importorskip("simple_history")
    pytester.makepyfile(test_history=HISTORY)
    run(settings="tests.history_settings").assert_outcomes(passed=2)
    folder = pytester.path / "__signal_snapshots__" / "test_history"
    cascade = (folder / "test_the_cascade.txt").read_text().splitlines()
    assert cascade[1:5] == [
        "django.db.models.signals.post_save was sent by historyapp.Poll with send():",
        "  simple_history.models.HistoricalRecords.post_save ran.",
        "  tests.historyapp.models.count_poll ran.",
        "Sent with no receiver listening:",
    ]
    # The history row's own sends, made by simple-history's receiver.
    assert "  django.db.models.signals.post_save was sent by historyapp.HistoricalPoll once." in cascade
    assert (
        "  simple_history.signals.pre_create_historical_record was sent by historyapp.HistoricalPoll once."
        in cascade
    )
    muted_text = (folder / "test_muting_historys_receiver.txt").read_text()
    assert "simple_history.models.HistoricalRecords.post_save ran." not in muted_text
    assert (
        "Muted (not run):\n  simple_history.models.HistoricalRecords.post_save for "
        "django.db.models.signals.post_save sent by historyapp.Poll, once.\n"
    ) in muted_text
    run(settings="tests.history_settings").assert_outcomes(passed=2)  # stable


# --- --signals-shuffle -----------------------------------------------------------

ORDERED = """
from django.dispatch import Signal

ready = Signal()
state = []


def first(sender, **kwargs):
    state.append("set up")


def second(sender, **kwargs):
    assert state, "second ran before first"


ready.connect(first)
ready.connect(second)


def test_order_dependent():
    state.clear()
    for _ in range(8):
        ready.send(sender=None)
"""


def test_shuffle_finds_an_order_dependent_receiver_and_prints_its_seed(pytester, run):
    pytester.makepyfile(test_ordered=ORDERED)
    run().assert_outcomes(passed=1)  # registration order: passes
    seeds = [str(n) for n in range(1, 30)]
    failing = None
    for seed in seeds:
        result = run(f"--signals-shuffle={seed}")
        if result.ret:
            failing = (seed, result)
            break
    assert failing is not None, "no seed of 29 put second before first in 8 sends"
    seed, result = failing
    result.stdout.fnmatch_lines(
        [
            f"signal_inspector: receivers shuffled, --signals-shuffle={seed}",
            "*AssertionError: second ran before first*",
            "*- signal_inspector -*",
            f"Receivers ran in a shuffled order: rerun with --signals-shuffle={seed} to repeat it.",
        ]
    )
    again = run(f"--signals-shuffle={seed}")
    assert again.ret == 1  # the same seed, the same order
    chosen = run("--signals-shuffle")
    chosen.stdout.fnmatch_lines(["signal_inspector: receivers shuffled, --signals-shuffle=*"])
    bad = run("--signals-shuffle=abc")
    assert bad.ret == pytest.ExitCode.USAGE_ERROR
    bad.stderr.fnmatch_lines(["*--signals-shuffle: the seed must be a whole number, not 'abc'*"])
