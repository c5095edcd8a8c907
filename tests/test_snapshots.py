"""Snapshots of the signals a test sent: the normalised form, and the assertion
through pytest (pytester subprocesses), unittest (Django's test runner) and a
third-party app's models (django-simple-history)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from django.db import transaction

from signal_inspector import record
from signal_inspector.snapshots import HEADER, assert_matches_snapshot, normalise
from signal_inspector.stored import expand, panel_sends
from signal_inspector.testing import capture_signals
from tests.testapp.models import Order
from tests.testapp.signals import order_paid

pytest_plugins = ["pytester"]

REPO = Path(__file__).resolve().parent.parent


def _pay(number: str) -> None:
    order = Order.objects.create(number=number)
    order_paid.send_robust(sender=Order, order=order)


# --- the normalised form -----------------------------------------------------


@pytest.mark.django_db(transaction=True)
def test_the_normalised_form_reads_as_sentences_and_repeats_collapse():
    from django.dispatch import Signal

    def schedule(sender, **kwargs):
        transaction.on_commit(print)

    scheduling = Signal()
    scheduling.connect(schedule)
    with record() as recording:
        for number in ("A-1", "A-2"):
            Order.objects.create(number=number)
        _pay("<hostile>")
        with transaction.atomic():
            scheduling.send(sender=Order)
        try:
            with transaction.atomic():
                scheduling.send(sender=Order)
                raise KeyError
        except KeyError:
            pass
    text = normalise(recording)
    lines = text.splitlines()
    assert lines[0] == HEADER
    assert lines[1] == (
        "django.db.models.signals.post_save was sent by testapp.Order with send(), "
        "3 times in a row, each time:"
    )
    assert lines[2] == "  tests.testapp.receivers.audit_order_saved ran."
    assert "tests.testapp.signals.order_paid was sent by testapp.Order with send_robust():" in lines
    assert (
        "  tests.testapp.receivers.refuse_hostile raised ValueError, caught by send_robust()."
        in lines
    )
    # The nested post_save made by mark_paid, indented under it.
    index = lines.index("  tests.testapp.receivers.mark_paid ran.")
    assert lines[index + 1] == "    django.db.models.signals.post_save was sent by testapp.Order with send():"
    assert "  django.db.models.signals.pre_init was sent by testapp.AuditLog 3 times." in lines
    name = "tests.test_snapshots.test_the_normalised_form_reads_as_sentences_and_repeats_collapse.<locals>.schedule"
    start = lines.index("<unnamed Signal> was sent by testapp.Order with send():")
    assert lines[start : start + 7] == [
        "<unnamed Signal> was sent by testapp.Order with send():",
        f"  {name} ran.",
        "    its on_commit callback builtins.print (on default) ran at commit.",
        "<unnamed Signal> was sent by testapp.Order with send():",
        f"  {name} ran.",
        "    its on_commit callback builtins.print (on default) was discarded (rolled back).",
        "Sent with no receiver listening:",
    ]
    assert "ms" not in text and "0x" not in text


@pytest.mark.django_db(transaction=True)
def test_identical_runs_give_identical_text_and_every_input_form_agrees():
    texts = []
    for _ in range(2):
        with record() as recording:
            _pay("B-1")
            _pay("<hostile>")
        texts.append(normalise(recording))
    assert texts[0] == texts[1]
    data = recording.to_dict()
    assert normalise(data) == texts[1]
    # signaltrace --format json nests the recording; the panel's export is flat.
    assert normalise({"command": ["x"], "recording": json.loads(json.dumps(data))}) == texts[1]
    stats = {**recording.summary(), **panel_sends(recording, (), lambda text: text)}
    assert normalise(expand(stats)) == texts[1]


def test_a_sender_repr_loses_its_address():
    from django.dispatch import Signal

    from tests.testapp.receivers import mark_paid

    signal = Signal()
    signal.connect(mark_paid, weak=False)
    try:
        with record() as recording:
            signal.send_robust(sender=object(), order=None)
    finally:
        signal.disconnect(mark_paid)
    text = normalise(recording)
    assert "was sent by <object object> with send_robust():" in text
    assert "0x" not in text


def test_not_a_recording_is_a_clear_error():
    with pytest.raises(ValueError, match="Not a signal_inspector recording"):
        normalise({"hello": 1})


@pytest.mark.django_db
def test_explicit_path_written_then_compared(tmp_path):
    file = tmp_path / "pay.txt"
    with capture_signals() as signals:
        _pay("C-1")
    assert signals.assert_matches_snapshot(path=file) == file
    assert file.read_text() == normalise(signals.recording)
    signals.assert_matches_snapshot(path=file)
    with capture_signals() as again:
        _pay("C-2")
        _pay("C-3")
    with pytest.raises(AssertionError) as info:
        assert_matches_snapshot(again.recording, path=file)
    message = str(info.value)
    assert message.startswith(f"The signals sent differ from the snapshot {os.path.relpath(file)}:")
    assert "\n+tests.testapp.signals.order_paid was sent by testapp.Order with send_robust():" in message
    assert "--signals-snapshot-update" in message


# --- pytest, through pytester ----------------------------------------------------

SNAPSHOT_TEST = """
import pytest

from tests.testapp.models import Order
from tests.testapp.signals import order_paid

pytestmark = pytest.mark.django_db
ORDERS = {orders}


def test_pay(capture_signals):
    with capture_signals() as signals:
        for number in range(ORDERS):
            order = Order.objects.create(number=str(number))
        order_paid.send_robust(sender=Order, order=order)
    signals.assert_matches_snapshot()


class TestTwice:
    @pytest.mark.parametrize("n", [1])
    def test_two_snapshots(self, capture_signals, n):
        for _ in range(2):
            with capture_signals() as signals:
                Order.objects.create(number="x")
            signals.assert_matches_snapshot()
"""


@pytest.fixture
def run(pytester: pytest.Pytester, monkeypatch: pytest.MonkeyPatch):
    monkeypatch.setenv("PYTHONPATH", str(REPO))
    monkeypatch.setenv("DJANGO_SETTINGS_MODULE", "tests.settings")

    def run(*args: str) -> pytest.RunResult:
        return pytester.runpytest_subprocess("-p", "no:cacheprovider", "-p", "no:randomly", *args)

    return run


def test_pytest_writes_on_the_first_run_fails_on_a_change_and_updates(pytester, run):
    pytester.makepyfile(test_shop=SNAPSHOT_TEST.format(orders=2))
    first = run()
    first.assert_outcomes(passed=2)
    folder = pytester.path / "__signal_snapshots__" / "test_shop"
    assert sorted(p.name for p in folder.iterdir()) == [
        "TestTwice.test_two_snapshots[1].2.txt",
        "TestTwice.test_two_snapshots[1].txt",
        "test_pay.txt",
    ]
    written = (folder / "test_pay.txt").read_text()
    assert "with send(), twice in a row, each time:" not in written
    assert "with send(), 2 times in a row, each time:" in written

    run().assert_outcomes(passed=2)  # unchanged code: the same text

    pytester.makepyfile(test_shop=SNAPSHOT_TEST.format(orders=3))
    changed = run()
    changed.assert_outcomes(failed=1, passed=1)
    changed.stdout.fnmatch_lines(
        [
            "*signals.assert_matches_snapshot()",
            "E   *AssertionError: The signals sent differ from the snapshot __signal_snapshots__/test_shop/test_pay.txt:",
            "E   *8 lines only in the snapshot (-), 8 lines only in this run (+).",
            "E   *--- snapshot",
            "E   *+++ this run",
            "E   *-django.db.models.signals.post_save was sent by testapp.Order with send(), 2 times in a row, each time:",
            "E   *+django.db.models.signals.post_save was sent by testapp.Order with send(), 3 times in a row, each time:",
            "E   *If the change is intended, rewrite the snapshot: pytest --signals-snapshot-update*",
            "test_shop.py:*: AssertionError",
        ]
    )
    assert (folder / "test_pay.txt").read_text() == written  # a failure rewrites nothing

    run("--signals-snapshot-update").assert_outcomes(passed=2)
    assert "3 times in a row" in (folder / "test_pay.txt").read_text()
    run().assert_outcomes(passed=2)


# --- unittest, through Django's test runner ----------------------------------------

UNITTEST_MODULE = """
from django.test import TestCase

from signal_inspector.testing import capture_signals
from tests.testapp.models import Order


class ShopTests(TestCase):
    def test_create(self):
        with capture_signals() as signals:
            for number in range({orders}):
                Order.objects.create(number=str(number))
        signals.assert_matches_snapshot()
"""


def _django_test(folder: Path, **env: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "django", "test", "test_unit", "--settings", "tests.settings", "-v", "1"],
        cwd=folder,
        env={**os.environ, "PYTHONPATH": f"{folder}{os.pathsep}{REPO}", **env},
        capture_output=True,
        text=True,
        timeout=120,
    )


def test_unittest_writes_fails_with_the_users_frame_and_updates(tmp_path):
    (tmp_path / "test_unit.py").write_text(UNITTEST_MODULE.format(orders=1))
    first = _django_test(tmp_path)
    assert first.returncode == 0, first.stderr
    file = tmp_path / "__signal_snapshots__" / "test_unit" / "ShopTests.test_create.txt"
    assert "testapp.Order with send():" in file.read_text()

    (tmp_path / "test_unit.py").write_text(UNITTEST_MODULE.format(orders=2))
    failed = _django_test(tmp_path)
    assert failed.returncode == 1
    assert "AssertionError: The signals sent differ from the snapshot" in failed.stderr
    assert "with send(), 2 times in a row, each time:" in failed.stderr
    # The traceback ends in the test, not in signal_inspector's helpers.
    traceback = failed.stderr.split("Traceback (most recent call last):", 1)[1].split("AssertionError")[0]
    assert "test_unit.py" in traceback
    assert "signal_inspector" not in traceback

    assert _django_test(tmp_path, SIGNAL_INSPECTOR_SNAPSHOT_UPDATE="1").returncode == 0
    assert "2 times in a row" in file.read_text()
    assert _django_test(tmp_path).returncode == 0


def test_outside_a_test_the_assertion_asks_for_a_path():
    with record() as recording:
        pass
    with pytest.raises(RuntimeError, match="pass path="):
        # Called from a thread's own frame: no test above it.
        import threading

        errors: list[BaseException] = []

        def call() -> None:
            try:
                assert_matches_snapshot(recording)
            except BaseException as exc:
                errors.append(exc)

        # The pytest plugin names the running test for this thread's caller too:
        # clear it for the call.
        from signal_inspector import snapshots

        saved = list(snapshots._current)
        snapshots._current.clear()
        try:
            thread = threading.Thread(target=call)
            thread.start()
            thread.join()
        finally:
            snapshots._current.extend(saved)
        raise errors[0]


def test_a_deep_cascade_is_cut_at_max_depth():
    from django.dispatch import Signal

    from signal_inspector.snapshots import MAX_DEPTH

    again = Signal()

    def resend(sender, depth, **kwargs):
        if depth < 40:
            again.send(sender=None, depth=depth + 1)

    again.connect(resend)
    with record() as recording:
        again.send(sender=None, depth=1)
    lines = normalise(recording).splitlines()
    # A send nested in a receiver is indented twice (4 spaces) under its parent send.
    sends = [line for line in lines if line.endswith("<unnamed Signal> was sent by None with send():")]
    assert len(sends) == MAX_DEPTH
    assert sends[-1] == "    " * (MAX_DEPTH - 1) + "<unnamed Signal> was sent by None with send():"
    assert lines[-1] == "    " * MAX_DEPTH + "… 8 more sends nested deeper than 32 levels."
