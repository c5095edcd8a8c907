"""SQL attribution: which receiver ran each query, and the no-query rule for reprs.

While a recording is open anywhere, ``CursorWrapper._execute_with_wrappers``
(the method every ``execute()``/``executemany()`` of Django's cursors goes
through) is wrapped at class level; nothing is added to any connection, so
``connection.execute_wrappers`` stays the application's own. The wrapper only
reads two context variables when this context is not recording.
"""

from __future__ import annotations

from collections.abc import Callable
from time import perf_counter
from typing import Any

from django.db.backends.utils import CursorWrapper

from .context import current_call
from .naming import QueryInRepr, in_repr

MARKER = "_signal_inspector_original"
_ORIGINAL: Callable[..., Any] = CursorWrapper._execute_with_wrappers


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


_in_chain = False  # our wrapper is somewhere in CursorWrapper's method


def install() -> None:
    global _ORIGINAL, _in_chain
    if _in_chain:
        return
    _ORIGINAL = CursorWrapper.__dict__["_execute_with_wrappers"]
    CursorWrapper._execute_with_wrappers = _execute_with_wrappers  # type: ignore[method-assign]
    _in_chain = True


def uninstall() -> None:
    """Restore the method, unless something wrapped it after us: that wrapper
    stays, and ours under it only passes calls through."""
    global _in_chain
    if CursorWrapper.__dict__["_execute_with_wrappers"] is _execute_with_wrappers:
        CursorWrapper._execute_with_wrappers = _ORIGINAL  # type: ignore[method-assign]
        _in_chain = False
