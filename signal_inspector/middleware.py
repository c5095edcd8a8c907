"""Opt-in middleware: one ``signal_inspector`` log line per request, for requests no
toolbar ever shows (APIs, async views, staging servers).

The line says how many sends, receiver calls, time in receivers, errors and
loops the request had; at DEBUG the whole tree follows as a second record.
Nothing is recorded unless the ``signal_inspector`` logger is enabled for INFO.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from typing import Any

from asgiref.sync import iscoroutinefunction, markcoroutinefunction

from . import record
from .recording import Recording

logger = logging.getLogger("signal_inspector")


class SignalLoggingMiddleware:
    """Log the signals of each request; put it first in ``MIDDLEWARE``."""

    sync_capable = True
    async_capable = True

    def __init__(self, get_response: Callable[[Any], Any]) -> None:
        self.get_response = get_response
        self.async_mode = iscoroutinefunction(get_response)
        if self.async_mode:
            markcoroutinefunction(self)

    def __call__(self, request: Any) -> Any:
        if self.async_mode:
            return self.__acall__(request)
        if not logger.isEnabledFor(logging.INFO):
            return self.get_response(request)
        response = None
        with record() as recording:
            try:
                response = self.get_response(request)
            finally:
                log_request(request, response, recording)
        return response

    async def __acall__(self, request: Any) -> Any:
        get_response: Callable[[Any], Awaitable[Any]] = self.get_response
        if not logger.isEnabledFor(logging.INFO):
            return await get_response(request)
        response = None
        with record() as recording:
            try:
                response = await get_response(request)
            finally:
                log_request(request, response, recording)
        return response


def log_request(request: Any, response: Any, recording: Recording) -> None:
    """One INFO line (WARNING when a receiver raised or looped); the tree at DEBUG.

    Never raises: logging must not break the request.
    """
    try:
        from .text import summary_line

        status = getattr(response, "status_code", "no response")
        # The path without its query string, which may carry tokens; escaped as
        # Django's own request logging escapes it (log_response(), 5.2.2): a
        # %0A in the URL must not start a forged log line.
        what = f"{_escaped(request.method)} {_escaped(request.path)} {status}"
        stats = {
            "sends": recording.total_sends,
            "receiver_calls": recording.receiver_calls,
            "receiver_time_ms": round(recording.receiver_time_ms, 3),
            "errors": recording.errors,
            "loops": recording.loops,
            "findings": [finding.to_dict() for finding in recording.findings],
        }
        level = (
            logging.WARNING
            if recording.errors or recording.loops or stats["findings"]
            else logging.INFO
        )
        logger.log(
            level, "%s: %s", what, summary_line(recording), extra={"signals": stats}
        )
        for finding in stats["findings"]:  # type: ignore[attr-defined]
            logger.warning("%s: %s", what, finding["kind"] + ": " + finding["title"] + ". " + finding["fix"])
        if logger.isEnabledFor(logging.DEBUG) and recording.sends:
            logger.debug("%s signals:\n%s", what, recording.to_text(silent=False))
    except Exception:  # pragma: no cover - defensive: logging never breaks the request
        pass


def _escaped(value: Any) -> str:
    return str(value).encode("unicode_escape").decode("ascii")
