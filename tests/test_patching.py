"""Idle is Django: nothing of ours on Signal or the database while nothing records."""

from __future__ import annotations

import asyncio
import functools
import inspect
import sys
import threading
import time
import warnings
from pathlib import Path
from unittest import mock

import django
import pytest
from django.core.checks import run_checks
from django.db import connection
from django.db.backends.base.base import BaseDatabaseWrapper
from django.db.backends.utils import CursorWrapper
from django.dispatch import Signal, dispatcher

import signal_inspector
from signal_inspector import patching
from signal_inspector.recorder import begin, end

METHODS = patching.METHODS
DISPATCHER_FILE = dispatcher.__file__
DJANGO_DIR = str(Path(django.__file__).parent)
# Taken while nothing records: Django's own objects.
DJANGO_METHODS = {m: Signal.__dict__[m] for m in METHODS}
DJANGO_CURSOR = CursorWrapper.__dict__["_execute_with_wrappers"]
DJANGO_OPEN_CURSOR = BaseDatabaseWrapper.__dict__["_cursor"]
DJANGO_ON_COMMIT = BaseDatabaseWrapper.__dict__["on_commit"]
DJANGO_INIT_SIGNATURE = inspect.signature(BaseDatabaseWrapper.__init__)


def assert_djangos() -> None:
    for name in METHODS:
        function = Signal.__dict__[name]
        assert function is DJANGO_METHODS[name]
        assert function.__code__.co_filename == DISPATCHER_FILE
        assert function.__qualname__ == f"Signal.{name}"
        assert function.__module__ == "django.dispatch.dispatcher"
    assert CursorWrapper.__dict__["_execute_with_wrappers"] is DJANGO_CURSOR
    assert BaseDatabaseWrapper.__dict__["_cursor"] is DJANGO_OPEN_CURSOR
    assert BaseDatabaseWrapper.__dict__["on_commit"] is DJANGO_ON_COMMIT
    assert inspect.signature(BaseDatabaseWrapper.__init__) == DJANGO_INIT_SIGNATURE


def test_idle_is_djangos_own_code():
    assert patching.open_recordings() == 0
    assert_djangos()


@pytest.mark.parametrize(("settings_module", "idle"), [("tests.settings", True), ("tests.otel_settings", False)])
def test_idle_with_the_opentelemetry_option_off_adds_nothing(settings_module, idle):
    """Off (the default), nothing of the OpenTelemetry exporter is in the process:
    not imported (nor opentelemetry by us), no middleware, no Celery task hook.
    (On, in tests.otel_settings, the same script finds our middleware.)"""
    import os
    import subprocess

    script = (
        "import sys, django\n"
        "django.setup()\n"
        "from django.conf import settings\n"
        "from django.test import Client\n"
        "from django.test.utils import setup_test_environment\n"
        "setup_test_environment()\n"
        "Client().get('/?notoolbar=1')\n"
        "assert not [m for m in settings.MIDDLEWARE if m.startswith('signal_inspector')], settings.MIDDLEWARE\n"
        "assert 'signal_inspector.otel' not in sys.modules\n"
        "assert not [m for m in sys.modules if m.startswith('opentelemetry')]\n"
        "from celery import signals\n"
        "for signal in (signals.task_prerun, signals.task_postrun, signals.worker_process_init):\n"
        "    found = [r() if hasattr(r, '__callback__') else r for _, r in signal.receivers]\n"
        "    assert not [r for r in found if 'signal_inspector' in getattr(r, '__module__', '')]\n"
        "print('idle')\n"
    )
    result = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, timeout=120,
        cwd=Path(__file__).resolve().parent.parent, stdin=subprocess.DEVNULL,
        env={**os.environ, "DJANGO_SETTINGS_MODULE": settings_module},
    )
    if idle:
        assert result.stdout.strip() == "idle", result.stderr
    else:
        assert "signal_inspector.otel.SignalSpansMiddleware" in result.stderr


def test_instrumented_only_while_a_recording_is_open():
    with signal_inspector.record():
        assert Signal.__dict__["send"] is not DJANGO_METHODS["send"]
        with signal_inspector.record():
            assert patching.open_recordings() == 2
        # The outer one still records.
        assert Signal.__dict__["send"] is not DJANGO_METHODS["send"]
    assert_djangos()


def test_other_threads_run_djangos_code_while_one_records():
    signal = Signal()
    seen = []

    def receiver(**kwargs):
        seen.append(threading.current_thread().name)
        return "ok"

    signal.connect(receiver, weak=False)
    started, finish = threading.Event(), threading.Event()
    holder = {}

    def record_in_thread():
        with signal_inspector.record() as recording:
            holder["recording"] = recording
            started.set()
            finish.wait(10)

    thread = threading.Thread(target=record_in_thread, name="recorder")
    thread.start()
    try:
        assert started.wait(10)
        # Not recording here: same result, and nothing lands in the other recording.
        assert signal.send(sender=None) == [(receiver, "ok")]
        assert signal_inspector.context.current() is None
    finally:
        finish.set()
        thread.join(10)
    assert holder["recording"].total_sends == 0
    assert_djangos()


def _warning_file(signal: Signal, **kwargs) -> str:
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        signal.send(sender=None)
    return caught[0].filename


def test_warning_stacklevel_points_at_djangos_send_loop_when_idle():
    signal = Signal()

    def receiver(**kwargs):
        warnings.warn("from a receiver", UserWarning, stacklevel=2)

    signal.connect(receiver, weak=False)
    assert _warning_file(signal) == DISPATCHER_FILE


def test_warning_in_a_context_that_does_not_record_while_another_does():
    signal = Signal()

    def receiver(**kwargs):
        warnings.warn("from a receiver", UserWarning, stacklevel=2)

    signal.connect(receiver, weak=False)
    started, finish = threading.Event(), threading.Event()

    def record_in_thread():
        with signal_inspector.record():
            started.set()
            finish.wait(10)

    thread = threading.Thread(target=record_in_thread)
    thread.start()
    try:
        assert started.wait(10)
        assert _warning_file(signal) == DISPATCHER_FILE
    finally:
        finish.set()
        thread.join(10)


@pytest.mark.skipif(sys.version_info < (3, 12), reason="skip_file_prefixes is new in 3.12")
def test_skip_file_prefixes_blames_the_application_line_when_idle():
    signal = Signal()

    def receiver(**kwargs):
        warnings.warn("deprecated", DeprecationWarning, skip_file_prefixes=(DJANGO_DIR,))

    signal.connect(receiver, weak=False)
    assert _warning_file(signal) == __file__


def test_a_wrapper_installed_before_us_keeps_seeing_every_send():
    calls = []
    django_send = Signal.__dict__["send"]

    @functools.wraps(django_send)
    def tool_send(self, sender, **named):
        calls.append(sender)
        return django_send(self, sender, **named)

    signal = Signal()
    signal.connect(lambda **kw: 7, weak=False)
    Signal.send = tool_send
    try:
        assert [r for _, r in signal.send(sender="idle")] == [7]
        assert any(w.id == "signal_inspector.W011" for w in run_checks())
        with signal_inspector.record() as recording:
            assert [r for _, r in signal.send(sender="recording")] == [7]
        assert Signal.__dict__["send"] is tool_send
        assert [c for c in calls if c in ("idle", "recording")] == ["idle", "recording"]
        # Recorded "sends only", and the recording says why.
        data = recording.to_dict()
        assert data["limitations"] and "tool_send" in data["limitations"][0]
        (send,) = data["sends"]
        assert send["limited"] is True
        assert [r["result"] for r in send["receivers"]] == ["7"]
    finally:
        Signal.send = django_send
    assert not any(w.id == "signal_inspector.W011" for w in run_checks())


def test_a_wrapper_installed_while_recording_stays_and_sends_are_recorded_once():
    signal = Signal()
    signal.connect(lambda **kw: 1, weak=False)
    calls = []
    with signal_inspector.record() as first:
        ours = Signal.__dict__["send"]

        def tool_send(self, sender, **named):
            calls.append(sender)
            return ours(self, sender, **named)

        Signal.send = tool_send
        signal.send(sender="a")
    try:
        assert Signal.__dict__["send"] is tool_send  # not dropped by our restore
        assert signal.send(sender="idle") == signal.send(sender="idle")
        with signal_inspector.record() as second:
            signal.send(sender="b")
        assert first.total_sends == 1
        assert second.total_sends == 1  # once, not once per layer
        assert calls == ["a", "idle", "idle", "b"]
    finally:
        Signal.send = DJANGO_METHODS["send"]
    assert_djangos()


@pytest.mark.parametrize("recording", [False, True])
def test_mock_patch_of_djangos_async_to_sync_reaches_send(recording):
    signal = Signal()

    async def receiver(**kwargs):
        return "async"

    signal.connect(receiver, weak=False)
    from asgiref.sync import async_to_sync

    with mock.patch(
        "django.dispatch.dispatcher.async_to_sync", side_effect=async_to_sync
    ) as patched:
        if recording:
            with signal_inspector.record():
                result = signal.send(sender=None)
        else:
            result = signal.send(sender=None)
    assert result == [(receiver, "async")]
    assert patched.called


@pytest.mark.django_db
def test_connections_carry_nothing_of_ours():
    assert connection.execute_wrappers == []
    with signal_inspector.record():
        connection.ensure_connection()
        assert connection.execute_wrappers == []
        assert inspect.signature(BaseDatabaseWrapper.__init__) == DJANGO_INIT_SIGNATURE
    assert connection.execute_wrappers == []


@pytest.mark.skipif(patching.installed_dispatcher()[1], reason="Django 6.1+ wraps receivers in run()")
@pytest.mark.parametrize("recording", [False, True])
def test_an_async_receivers_task_runs_its_own_coroutine(recording):
    signal = Signal()
    seen = {}

    async def receiver(**kwargs):
        task = asyncio.current_task()
        seen["coro"] = task.get_coro().cr_code
        seen["stack"] = [f.f_code for f in task.get_stack()]
        return 1

    signal.connect(receiver, weak=False)

    async def main():
        if recording:
            with signal_inspector.record():
                return await signal.asend(sender=None)
        return await signal.asend(sender=None)

    assert asyncio.run(main()) == [(receiver, 1)]
    assert seen["coro"] is receiver.__code__
    assert receiver.__code__ in seen["stack"]


def test_the_installed_django_dispatcher_is_known():
    name, _, digest = patching.installed_dispatcher()
    assert name is not None, f"unknown dispatcher fingerprint {digest}"
    assert not any(w.id == "signal_inspector.W010" for w in run_checks())


def test_fingerprint_ignores_docstrings_and_comments_but_not_code():
    source = inspect.getsource(dispatcher)
    base = patching.fingerprint(source)
    assert patching.fingerprint(source.replace("        Send signal from sender", "        Sends")) == base
    changed = source.replace("responses.append((receiver, response))", "responses.insert(0, (receiver, response))", 1)
    assert patching.fingerprint(changed) != base


def test_an_unknown_dispatcher_records_sends_only_and_says_so(monkeypatch):
    monkeypatch.setattr(patching, "KNOWN_DISPATCHERS", {})
    patching.installed_dispatcher.cache_clear()
    try:
        warnings_ = [w for w in run_checks() if w.id == "signal_inspector.W010"]
        assert warnings_ and "not one signal_inspector knows" in warnings_[0].msg
        signal = Signal()

        def receiver(**kwargs):
            return "r"

        signal.connect(receiver, weak=False)
        with signal_inspector.record() as recording:
            assert Signal.__dict__["send"] is not DJANGO_METHODS["send"]
            assert signal.send(sender=None) == [(receiver, "r")]
            assert signal.send_robust(sender=None) == [(receiver, "r")]
        data = recording.to_dict()
        assert data["limitations"]
        assert [s["limited"] for s in data["sends"]] == [True, True]
        assert data["sends"][0]["receivers"][0]["name"].endswith("receiver")
        # The panel's recordings leave out sends only the toolbar hears: "sends
        # only" knows no receivers before the send, so it cannot tell, and records.
        panel_like = begin(ignore_modules=("debug_toolbar",))
        try:
            assert signal.send(sender=None) == [(receiver, "r")]
        finally:
            end(panel_like)
        assert [s.limited for s in panel_like.sends] == [True]
    finally:
        patching.installed_dispatcher.cache_clear()
    assert_djangos()


# --- other tools patching the same methods (issue 19, items 6-8) ---------------


def _recorded_send_with_sql(signal):
    """Open a recording, send once (the receiver queries): (sends, queries) seen."""
    with signal_inspector.record() as recording:
        signal.send(sender="probe")
    data = recording.to_dict()
    return data["total_sends"], sum(r["queries"] for s in data["sends"] for r in s["receivers"])


def _querying_signal():
    signal = Signal()

    def receiver(**kwargs):
        with connection.cursor() as cursor:
            cursor.execute("SELECT 1")
        return "queried"

    signal.connect(receiver, weak=False)
    return signal, receiver


@pytest.mark.django_db
def test_a_wrapper_around_ours_installed_after_the_recording_loops_nowhere():
    """A tool reads Signal.send during a recording and installs its wrapper after."""
    signal, _ = _querying_signal()
    with signal_inspector.record():
        captured = Signal.__dict__["send"]  # ours

    def tool_send(self, sender, **named):
        return captured(self, sender, **named)

    Signal.send = tool_send
    try:
        results = []
        started, finish = threading.Event(), threading.Event()

        def record_elsewhere():
            with signal_inspector.record():
                started.set()
                finish.wait(10)

        thread = threading.Thread(target=record_elsewhere)
        thread.start()
        try:
            assert started.wait(10)
            # This thread does not record: no RecursionError, Django's answer.
            results.append(signal.send(sender="not recording"))
        finally:
            finish.set()
            thread.join(10)
        assert [r for _, r in results[0]] == ["queried"]
        # Recorded once, in full (timed, with its query), not once per layer.
        assert _recorded_send_with_sql(signal) == (1, 1)
    finally:
        Signal.send = DJANGO_METHODS["send"]
    assert_djangos()


@pytest.mark.django_db
@pytest.mark.parametrize("target", ["send", "cursor"])
def test_a_patch_that_ends_inside_a_recording_leaves_later_recordings_whole(target):
    signal, _ = _querying_signal()
    if target == "send":
        patcher = mock.patch.object(Signal, "send", autospec=True, side_effect=DJANGO_METHODS["send"])
    else:
        patcher = mock.patch.object(
            CursorWrapper, "_execute_with_wrappers", autospec=True, side_effect=DJANGO_CURSOR
        )
    patcher.start()
    recording = signal_inspector.recorder.begin()
    try:
        patcher.stop()
    finally:
        signal_inspector.recorder.end(recording)
    assert_djangos()
    assert _recorded_send_with_sql(signal) == (1, 1)
    assert_djangos()


@pytest.mark.django_db
def test_a_patch_across_the_end_of_a_recording_is_undone_at_the_next_call():
    """The tool restores what it read (ours) after our recording closed."""
    signal, receiver = _querying_signal()
    recording = signal_inspector.recorder.begin()
    patcher = mock.patch.object(Signal, "send", autospec=True, side_effect=DJANGO_METHODS["send"])
    cursor_patcher = mock.patch.object(
        CursorWrapper, "_execute_with_wrappers", autospec=True, side_effect=DJANGO_CURSOR
    )
    patcher.start()
    cursor_patcher.start()
    signal_inspector.recorder.end(recording)
    patcher.stop()  # puts ours back, while nothing records
    cursor_patcher.stop()
    assert Signal.__dict__["send"] is not DJANGO_METHODS["send"]
    assert signal.send(sender="idle") == [(receiver, "queried")]  # the first call: it goes
    assert_djangos()
    assert _recorded_send_with_sql(signal) == (1, 1)
    assert_djangos()


@pytest.mark.django_db(transaction=True)
def test_another_tools_wrapped_on_commit_survives_and_callbacks_count_once():
    from django.db import transaction

    seen = []
    with signal_inspector.record():
        ours = BaseDatabaseWrapper.__dict__["on_commit"]

        @functools.wraps(ours)  # copies our function's __dict__ onto the tool's
        def tool_on_commit(self, func, robust=False):
            seen.append(func)
            return ours(self, func, robust)

        BaseDatabaseWrapper.on_commit = tool_on_commit
    try:
        assert BaseDatabaseWrapper.__dict__["on_commit"] is tool_on_commit  # not dropped
        signal = Signal()
        ran = []

        def receiver(**kwargs):
            transaction.on_commit(lambda: ran.append("ran"))

        signal.connect(receiver, weak=False)
        with signal_inspector.record() as recording, transaction.atomic():
            signal.send(sender=None)
        assert ran == ["ran"]
        assert len(seen) == 1
        (call,) = recording.to_dict()["sends"][0]["receivers"]
        assert [c["status"] for c in call["on_commit"]] == ["ran"]
        assert BaseDatabaseWrapper.__dict__["on_commit"] is tool_on_commit
    finally:
        BaseDatabaseWrapper.on_commit = DJANGO_ON_COMMIT
    assert_djangos()


@pytest.mark.django_db(transaction=True)
def test_foreign_patches_from_two_threads_leave_every_recording_whole():
    """Another thread wraps and unwraps Signal.send, the cursor and on_commit
    (restoring whatever it read) while this one opens and closes recordings."""
    signal, _ = _querying_signal()
    stop = threading.Event()
    slots_ = [
        (Signal, "send"),
        (CursorWrapper, "_execute_with_wrappers"),
        (BaseDatabaseWrapper, "on_commit"),
    ]

    def meddle():
        while not stop.is_set():
            for owner, name in slots_:
                read = owner.__dict__[name]

                @functools.wraps(read)
                def wrapper(*args, __read=read, **kwargs):
                    return __read(*args, **kwargs)

                setattr(owner, name, wrapper)
                time.sleep(0.0005)
                setattr(owner, name, read)  # stale or not: what it read

    thread = threading.Thread(target=meddle)
    thread.start()
    try:
        for _ in range(40):
            with signal_inspector.record() as recording:
                signal.send(sender="probe")
            # A tool restoring a stale method may take ours off mid-recording
            # (nothing can prevent that), but a send is never counted twice.
            assert recording.total_sends <= 1
    finally:
        stop.set()
        thread.join(10)
    # The meddling is over: a later recording is whole, and idle is Django's own.
    assert _recorded_send_with_sql(signal) == (1, 1)
    signal.send(sender="idle")
    with connection.cursor() as cursor:
        cursor.execute("SELECT 1")
    from django.db import transaction

    transaction.on_commit(lambda: None)
    assert_djangos()
