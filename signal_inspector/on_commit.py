"""Which ``transaction.on_commit()`` callbacks each receiver scheduled, and their fate.

Django keeps the callback itself in ``connection.run_on_commit``; we never wrap
it (``captureOnCommitCallbacks()`` and identity checks must see the caller's
function), and never hold it or Django's entry for it: only the entry's ``id()``,
in a dict on the connection. An id is only compared while the entry is in
Django's queue (so alive), and any entry appended while we track ids takes its
id out of the dict: a dead entry's id reused by a new one can never be taken for
it. Commit, rollback and the end of a recording each walk the queue once.

Fates: ``ran`` at commit (or at once, outside a transaction); ``discarded`` when
it left the queue without running (a rollback); ``pending`` when the transaction
was still open as the recording ended; ``ran (captured)`` / ``captured`` when a
test's ``captureOnCommitCallbacks()`` (or pytest-django's
``django_capture_on_commit_callbacks``) ran it, or only collected it.

``BaseDatabaseWrapper.on_commit``/``run_and_clear_commit_hooks`` and the
generator behind ``TestCase.captureOnCommitCallbacks`` are patched only while a
recording is open anywhere (see patching.py). The latter is observed through the
closure cell of its ``@contextmanager`` helper, not the class attribute:
pytest-django's fixture returns ``TestCase.captureOnCommitCallbacks`` bound at
fixture time, before a recording may open, and that bound method still calls
the same helper, whose cell we point at an observer for as long as we are
instrumented. The observer runs Django's generator unchanged and, when it is
done, reads the list of callbacks it yielded (Django appends each one just
before calling it) to name the entries that ran.
"""

from __future__ import annotations

import sys
from contextlib import contextmanager
from contextvars import ContextVar
from typing import Any

from django.db import DEFAULT_DB_ALIAS
from django.db.backends.base.base import BaseDatabaseWrapper

from .context import current_call, recording_var
from .findings import in_callback
from .naming import receiver_name
from .recording import OnCommitCallback, Recording
from .slots import OPEN, below_of, heal, mark, put, take_off

_RUN = "run_and_clear_commit_hooks"
_tracking: ContextVar[bool] = ContextVar("signal_inspector_tracking_on_commit", default=False)
# On a connection, while a recording tracks its callbacks:
# id(Django's run_on_commit entry) -> the callback's record.
_TRACKED = "_signal_inspector_on_commit"
# Callbacks tracked per recording; past it they are counted, not listed.
MAX_TRACKED = 10_000

RAN = "ran"
RAN_CAPTURED = "ran (captured)"
CAPTURED = "captured"
PENDING = "pending"
DISCARDED = "discarded"
WOULD_RUN = "would run on commit"  # queued when a dry run rolled back (signaltrace --dry-run)


def _on_commit_wrapper(original_on_commit: Any) -> Any:
    def on_commit(self: Any, func: Any, robust: bool = False) -> Any:
        call = current_call()
        if call is None or _tracking.get():
            if OPEN[0] == 0 and BaseDatabaseWrapper.__dict__.get("on_commit") is on_commit:
                heal(BaseDatabaseWrapper, "on_commit", on_commit)
            result = original_on_commit(self, func, robust)
            tracked = self.__dict__.get(_TRACKED)
            if tracked and self.run_on_commit:
                # A new entry may have a dead tracked entry's id: it is not that one.
                tracked.pop(id(self.run_on_commit[-1]), None)
            return result
        recording = recording_var.get()
        deferred = self.in_atomic_block
        callback = None
        try:
            if recording is not None and _room(recording, call):
                callback = OnCommitCallback(name=receiver_name(func), using=str(self.alias))
                callback.status = PENDING if deferred else RAN
                call.add_on_commit(callback)
        except Exception:
            callback = None
        # Ours may be under another tool's wrapper that is under ours (installed
        # while a recording was open): the callback is tracked once, here.
        token = _tracking.set(True)
        # Outside a transaction the callback runs at once, in here: its work is
        # where it belongs (findings.py).
        running = None if deferred else in_callback.set(True)
        try:
            result = original_on_commit(self, func, robust)
        finally:
            _tracking.reset(token)
            if running is not None:
                in_callback.reset(running)
        try:
            if deferred and self.run_on_commit:
                key = id(self.run_on_commit[-1])
                tracked = self.__dict__.get(_TRACKED)
                if callback is None:
                    if tracked:
                        tracked.pop(key, None)
                else:
                    if tracked is None:
                        tracked = self.__dict__[_TRACKED] = {}
                    tracked[key] = callback
                    recording._on_commit.append((self, key, callback))  # type: ignore[union-attr]
        except Exception:  # pragma: no cover - defensive: the recorder never breaks on_commit()
            pass
        return result

    return on_commit


def _room(recording: Recording, call: Any) -> bool:
    """Whether this callback gets a record: its receiver call is kept, and the
    recording has not tracked ``MAX_TRACKED`` already."""
    parent = call.parent
    if parent is not None and not parent.kept:
        return False
    if recording.on_commit_count >= MAX_TRACKED:
        recording.on_commit_dropped += 1
        return False
    recording.on_commit_count += 1
    return True


def _run_wrapper(original_run: Any) -> Any:
    def run_and_clear_commit_hooks(self: Any) -> Any:
        if OPEN[0] == 0 and BaseDatabaseWrapper.__dict__.get(_RUN) is run_and_clear_commit_hooks:
            heal(BaseDatabaseWrapper, _RUN, run_and_clear_commit_hooks)
        tracked = self.__dict__.pop(_TRACKED, None)
        if tracked:
            try:
                for entry in self.run_on_commit:
                    callback = tracked.pop(id(entry), None)
                    if callback is not None and callback.status == PENDING:
                        callback.status = RAN
                # Tracked, and no longer queued at commit: a savepoint rolled it back.
                for callback in tracked.values():
                    if callback.status == PENDING:
                        callback.status = DISCARDED
            except Exception:  # pragma: no cover - defensive: the recorder never breaks a commit
                pass
        running = in_callback.set(True)
        try:
            return original_run(self)
        finally:
            in_callback.reset(running)

    return run_and_clear_commit_hooks


def _capture_observer(original: Any) -> Any:
    """A generator function to run in place of the one behind
    ``TestCase.captureOnCommitCallbacks``: Django's, plus the fate of the entries."""
    from django.db import connections

    def captureOnCommitCallbacks(  # noqa: N802  (Django's name, seen in tracebacks)
        cls: Any, *, using: str = DEFAULT_DB_ALIAS, execute: bool = False
    ) -> Any:
        connection = connections[using]
        start = len(connection.run_on_commit)
        callbacks: list[Any] = []
        try:
            with contextmanager(original)(cls, using=using, execute=execute) as callbacks:
                yield callbacks
        finally:
            _captured(connection, start, callbacks, execute)

    captureOnCommitCallbacks.__wrapped__ = original  # type: ignore[attr-defined]
    return captureOnCommitCallbacks


def _captured(connection: Any, start: int, callbacks: list[Any], execute: bool) -> None:
    """Django's generator appended each callback it collected (and, with
    ``execute``, was about to call) to ``callbacks``, in queue order from ``start``."""
    try:
        tracked = connection.__dict__.get(_TRACKED)
        if not tracked:
            return
        queue = connection.run_on_commit
        for offset, func in enumerate(callbacks):
            index = start + offset
            if index >= len(queue) or queue[index][1] is not func:
                break  # not Django's list any more (the block changed it): say nothing
            callback = tracked.get(id(queue[index]))
            if callback is not None and callback.status == PENDING:
                callback.status = RAN_CAPTURED if execute else CAPTURED
    except Exception:  # pragma: no cover - defensive: the recorder never breaks a test's capture
        pass


# The code of the function @contextmanager returns (the "helper" it wraps the
# generator function in), whatever Python version.
_CONTEXTMANAGER_HELPER = contextmanager(lambda: iter(())).__code__


def _capture_cell() -> Any:
    """The closure cell holding the generator function behind
    ``TestCase.captureOnCommitCallbacks``, if django.test is loaded and it has
    the shape we know (``@classmethod @contextmanager``); else None."""
    testcases = sys.modules.get("django.test.testcases")
    if testcases is None:
        return None
    try:
        helper = testcases.TestCase.__dict__["captureOnCommitCallbacks"].__func__
        if helper.__code__ is not _CONTEXTMANAGER_HELPER or helper.__code__.co_freevars != ("func",):
            return None
        return helper.__closure__[0]
    except (AttributeError, KeyError, TypeError, IndexError):
        return None


def install() -> None:
    put(BaseDatabaseWrapper, "on_commit", _on_commit_wrapper)
    put(BaseDatabaseWrapper, "run_and_clear_commit_hooks", _run_wrapper)
    observe_capture()


def observe_capture() -> None:
    """Observe ``captureOnCommitCallbacks`` if django.test is loaded; called at
    install and as each recording opens (django.test may be imported later)."""
    cell = _capture_cell()
    if cell is not None and below_of(cell.cell_contents) is None:
        observer = _capture_observer(cell.cell_contents)
        mark(observer, cell.cell_contents)
        cell.cell_contents = observer


def uninstall() -> None:
    """Restore Django's methods, unless something wrapped them after us."""
    take_off(BaseDatabaseWrapper, "on_commit")
    take_off(BaseDatabaseWrapper, "run_and_clear_commit_hooks")
    cell = _capture_cell()
    if cell is not None:
        below = below_of(cell.cell_contents)
        if below is not None:
            cell.cell_contents = below[0]


def settle(recording: Recording) -> None:
    """Give every tracked callback its final status and forget its entry's id.

    One pass over each connection's queue, one over the recording's callbacks."""
    tracked: list[tuple[Any, int, OnCommitCallback]] = recording._on_commit
    recording._on_commit = []
    queued: dict[int, set[int]] = {}
    for connection, key, callback in tracked:
        try:
            mine = connection.__dict__.get(_TRACKED)
            if callback.status == PENDING:
                ids = queued.get(id(connection))
                if ids is None:
                    ids = queued[id(connection)] = {id(e) for e in connection.run_on_commit}
                if not (mine and mine.get(key) is callback and key in ids):
                    callback.status = DISCARDED
            if mine and mine.get(key) is callback:
                del mine[key]
                if not mine:
                    connection.__dict__.pop(_TRACKED, None)
        except Exception:  # pragma: no cover - defensive: ending a recording never raises
            pass
