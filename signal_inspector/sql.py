"""SQL attribution: which receiver ran each query, and the no-query rule for reprs.

While a recording is open anywhere, ``CursorWrapper._execute_with_wrappers``
(the method every ``execute()``/``executemany()`` of Django's cursors goes
through) and ``BaseDatabaseWrapper._cursor`` are wrapped at class level; nothing
is added to any connection, so ``connection.execute_wrappers`` stays the
application's own. The wrappers only read context variables when this context
is not recording.

A repr we take for a record runs the object's own ``__repr__`` but may not
query: ``_cursor()`` refuses while it runs, before any cursor exists, so the
query is neither run nor logged (by Django's debug cursor or the toolbar's SQL
panel), as django-debug-toolbar's template panel does for its context values.
"""

from __future__ import annotations

from contextvars import ContextVar
from time import perf_counter
from typing import Any

from django.db.backends.base.base import BaseDatabaseWrapper
from django.db.backends.utils import CursorWrapper

from .context import current_call, recording_var
from .findings import ACTIVE, tally_query
from .naming import QueryInRepr, in_repr
from .slots import OPEN, heal, put, take_off

_EXECUTE = "_execute_with_wrappers"
_counting: ContextVar[bool] = ContextVar("signal_inspector_counting_query", default=False)


def _execute_wrapper(below: Any) -> Any:
    def _execute_with_wrappers(
        self: CursorWrapper, sql: Any, params: Any, many: bool, executor: Any
    ) -> Any:
        if in_repr.get():
            # A repr we asked for would query: the application never ran this SQL.
            raise QueryInRepr(sql)
        call = current_call()
        if call is None or _counting.get():
            if OPEN[0] == 0 and CursorWrapper.__dict__.get(_EXECUTE) is _execute_with_wrappers:
                heal(CursorWrapper, _EXECUTE, _execute_with_wrappers)
            return below(self, sql, params, many, executor)
        start = perf_counter()
        # Ours may be under another tool's wrapper that is under ours (installed
        # while a recording was open): the query is counted once, here.
        token = _counting.set(True)
        try:
            return below(self, sql, params, many, executor)
        finally:
            _counting.reset(token)
            ms = (perf_counter() - start) * 1000
            call.queries += 1
            call.query_ms += ms
            if type(sql) is str and sql.lstrip()[:6].upper() == "INSERT":
                call.inserts += 1
            if ACTIVE[0]:
                recording = recording_var.get()
                if recording is not None:
                    try:  # noqa: SIM105 (suppress() is an object per call, on every query)
                        tally_query(recording, call, sql, ms)
                    except Exception:
                        pass

    return _execute_with_wrappers


def _cursor_wrapper(below: Any) -> Any:
    def _cursor(self: BaseDatabaseWrapper, *args: Any, **kwargs: Any) -> Any:
        if in_repr.get():
            raise QueryInRepr("a repr taken for a record would open a cursor")
        if OPEN[0] == 0 and BaseDatabaseWrapper.__dict__.get("_cursor") is _cursor:
            heal(BaseDatabaseWrapper, "_cursor", _cursor)
        return below(self, *args, **kwargs)

    return _cursor


def install() -> None:
    put(CursorWrapper, _EXECUTE, _execute_wrapper)
    put(BaseDatabaseWrapper, "_cursor", _cursor_wrapper)


def uninstall() -> None:
    """Restore the methods, unless something wrapped them after us: that wrapper
    stays, and ours under it only passes calls through."""
    take_off(CursorWrapper, _EXECUTE)
    take_off(BaseDatabaseWrapper, "_cursor")
