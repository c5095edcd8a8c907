"""Which ``transaction.on_commit()`` callbacks each receiver scheduled, and their fate.

Django keeps the callback itself in ``connection.run_on_commit``; we never wrap
it (``captureOnCommitCallbacks()`` and identity checks must see the caller's
function). We note the entry Django appended, mark it ``ran`` when Django runs
the commit hooks, and call it ``discarded`` if it vanished without that (a
rollback). ``BaseDatabaseWrapper`` is patched only while a recording is open
anywhere (see patching.py); entries are dropped at its end.
"""

from __future__ import annotations

from typing import Any

from django.db.backends.base.base import BaseDatabaseWrapper

from .context import current_call, recording_var
from .naming import receiver_name
from .recording import OnCommitCallback, Recording

_MARKER = "_signal_inspector_original"
_TRACKED = "_signal_inspector_on_commit"


def install() -> None:
    if hasattr(BaseDatabaseWrapper.__dict__["on_commit"], _MARKER):
        return
    original_on_commit = BaseDatabaseWrapper.__dict__["on_commit"]
    original_run = BaseDatabaseWrapper.__dict__["run_and_clear_commit_hooks"]

    def on_commit(self: Any, func: Any, robust: bool = False) -> Any:
        call = current_call()
        if call is None:
            return original_on_commit(self, func, robust)
        deferred = self.in_atomic_block
        try:
            callback = OnCommitCallback(name=receiver_name(func), using=str(self.alias))
            callback.status = "pending" if deferred else "ran"
            call.add_on_commit(callback)
        except Exception:
            callback = None
        result = original_on_commit(self, func, robust)
        recording = recording_var.get()
        if deferred and callback is not None and recording is not None and self.run_on_commit:
            entry = self.run_on_commit[-1]
            self.__dict__.setdefault(_TRACKED, []).append((entry, callback))
            recording._on_commit.append((self, entry, callback))
        return result

    def run_and_clear_commit_hooks(self: Any) -> Any:
        tracked = self.__dict__.pop(_TRACKED, None)
        if tracked:
            for entry, callback in tracked:
                if any(e is entry for e in self.run_on_commit):
                    callback.status = "ran"
        return original_run(self)

    on_commit.__doc__ = original_on_commit.__doc__
    setattr(on_commit, _MARKER, original_on_commit)
    setattr(run_and_clear_commit_hooks, _MARKER, original_run)
    BaseDatabaseWrapper.on_commit = on_commit  # type: ignore[method-assign]
    BaseDatabaseWrapper.run_and_clear_commit_hooks = run_and_clear_commit_hooks  # type: ignore[method-assign]


def uninstall() -> None:
    """Restore Django's methods, unless something wrapped them after us."""
    for name in ("on_commit", "run_and_clear_commit_hooks"):
        original = getattr(BaseDatabaseWrapper.__dict__[name], _MARKER, None)
        if original is not None:
            setattr(BaseDatabaseWrapper, name, original)


def settle(recording: Recording) -> None:
    """Give every tracked callback its final status and let go of Django's entries."""
    tracked: list[tuple[Any, Any, OnCommitCallback]] = recording._on_commit
    recording._on_commit = []
    for connection, entry, callback in tracked:
        if callback.status != "pending":
            continue
        try:
            still_queued = any(e is entry for e in connection.run_on_commit)
        except Exception:
            still_queued = False
        if not still_queued:
            callback.status = "discarded"
        try:
            mine = connection.__dict__.get(_TRACKED)
            if mine:
                mine[:] = [(e, c) for e, c in mine if c is not callback]
        except Exception:
            pass
