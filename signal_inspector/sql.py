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

from collections.abc import Callable
from time import perf_counter
from typing import Any

from django.db.backends.base.base import BaseDatabaseWrapper
from django.db.backends.utils import CursorWrapper

from .context import current_call
from .naming import QueryInRepr, in_repr

MARKER = "_signal_inspector_original"
_EXECUTE = "_execute_with_wrappers"
_ORIGINAL: Callable[..., Any] = CursorWrapper.__dict__[_EXECUTE]


def _execute_with_wrappers(
    self: CursorWrapper, sql: Any, params: Any, many: bool, executor: Any
) -> Any:
    if in_repr.get():
        # A repr we asked for would query: the application never ran this SQL.
        raise QueryInRepr(sql)
    call = current_call()
    if call is None:
        return _ORIGINAL(self, sql, params, many, executor)
    start = perf_counter()
    try:
        return _ORIGINAL(self, sql, params, many, executor)
    finally:
        call.queries += 1
        call.query_ms += (perf_counter() - start) * 1000
        if type(sql) is str and sql.lstrip()[:6].upper() == "INSERT":
            call.inserts += 1


setattr(_execute_with_wrappers, MARKER, _ORIGINAL)

_ORIGINAL_CURSOR: Callable[..., Any] = BaseDatabaseWrapper.__dict__["_cursor"]


def _cursor(self: BaseDatabaseWrapper, *args: Any, **kwargs: Any) -> Any:
    if in_repr.get():
        raise QueryInRepr("a repr taken for a record would open a cursor")
    return _ORIGINAL_CURSOR(self, *args, **kwargs)


setattr(_cursor, MARKER, _ORIGINAL_CURSOR)


# Our wrapper is somewhere in the method's chain (it stays there, passing calls
# through, if something wrapped the method after us).
_in_chain = False
_cursor_in_chain = False


def install() -> None:
    global _ORIGINAL, _ORIGINAL_CURSOR, _in_chain, _cursor_in_chain
    if not _in_chain:
        _ORIGINAL = CursorWrapper.__dict__[_EXECUTE]
        setattr(CursorWrapper, _EXECUTE, _execute_with_wrappers)
        _in_chain = True
    if not _cursor_in_chain:
        _ORIGINAL_CURSOR = BaseDatabaseWrapper.__dict__["_cursor"]
        setattr(BaseDatabaseWrapper, "_cursor", _cursor)  # noqa: B010
        _cursor_in_chain = True


def uninstall() -> None:
    """Restore the method, unless something wrapped it after us: that wrapper
    stays, and ours under it only passes calls through."""
    global _in_chain, _cursor_in_chain
    if CursorWrapper.__dict__[_EXECUTE] is _execute_with_wrappers:
        setattr(CursorWrapper, _EXECUTE, _ORIGINAL)
        _in_chain = False
    if BaseDatabaseWrapper.__dict__["_cursor"] is _cursor:
        setattr(BaseDatabaseWrapper, "_cursor", _ORIGINAL_CURSOR)  # noqa: B010
        _cursor_in_chain = False
