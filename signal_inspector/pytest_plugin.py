"""pytest plugin (the ``pytest11`` entry point): the ``capture_signals`` fixture and
``--signals-report``.

Loaded in every pytest run once the package is installed, so it imports nothing
of Django's at import time and does nothing unless Django's settings are
configured (by pytest-django or by the project's own conftest).
"""

from __future__ import annotations

from collections.abc import Callable, Generator
from typing import TYPE_CHECKING, Any

import pytest

if TYPE_CHECKING:
    from .receivers import DuplicateGroup
    from .recording import Recording

_REPORT_MAX_SENDS = 1_000_000  # per test: the report must see every receiver call


def pytest_addoption(parser: pytest.Parser) -> None:
    group = parser.getgroup("signal_inspector", "Django signals (signal_inspector)")
    group.addoption(
        "--signals-report",
        action="store_true",
        default=False,
        help="After the run, list signal receivers by total time over the whole run, "
        "and the duplicate registrations (signal_inspector.W001).",
    )
    group.addoption(
        "--signals-report-top",
        type=int,
        default=20,
        metavar="N",
        help="How many receivers --signals-report lists (default 20).",
    )
    group.addoption(
        "--signals-fail-on-duplicates",
        action="store_true",
        default=False,
        help="Fail the session (exit status 1) if a receiver is registered twice "
        "(signal_inspector.W001).",
    )


def _django_configured() -> bool:
    try:
        from django.conf import settings
    except ImportError:  # pragma: no cover (Django is a dependency)
        return False
    return bool(settings.configured)


@pytest.fixture
def capture_signals() -> Callable[..., Any]:
    """``with capture_signals() as signals: ...``, then ``signals.assert_sent(...)``.

    Returns :func:`signal_inspector.testing.capture_signals`.
    """
    if not _django_configured():
        pytest.fail(
            "capture_signals needs Django settings: use pytest-django (--ds) or "
            "configure settings in conftest.py.",
            pytrace=False,
        )
    from .testing import capture_signals as capture

    return capture


def pytest_configure(config: pytest.Config) -> None:
    if config.getoption("signals_report") or config.getoption("signals_fail_on_duplicates"):
        config.pluginmanager.register(SignalsReport(config), "signal_inspector_report")


class SignalsReport:
    """The test suite as a workload: every receiver call of every test, aggregated."""

    def __init__(self, config: pytest.Config) -> None:
        self.config = config
        self.enabled = bool(config.getoption("signals_report"))
        self.top = max(int(config.getoption("signals_report_top")), 1)
        # name -> [calls, total ms, slowest ms, caught, raised]
        self.receivers: dict[str, list[Any]] = {}
        self.sends = 0
        self.dropped = 0
        self.tests = 0
        self.duplicates: list[DuplicateGroup] | None = None
        self.duplicates_error = ""
        self._listening = False

    # --- collecting --------------------------------------------------------

    def add(self, recording: Recording) -> None:
        """Fold one finished recording into the totals."""
        self.sends += recording.total_sends
        self.dropped += recording.dropped
        for send in recording.iter_sends():
            for call in send.receivers:
                row = self.receivers.get(call.name)
                if row is None:
                    row = self.receivers[call.name] = [0, 0.0, 0.0, 0, 0]
                row[0] += 1
                row[1] += call.duration_ms
                row[2] = max(row[2], call.duration_ms)
                if call.outcome == "caught":
                    row[3] += 1
                elif call.outcome == "raised":
                    row[4] += 1

    @pytest.hookimpl(wrapper=True)
    def pytest_runtest_protocol(self, item: pytest.Item, nextitem: Any) -> Generator[None, Any, Any]:
        if not self.enabled or not _django_configured():
            return (yield)
        if not self._listening:
            # A capture_signals() block takes its sends from this recording
            # (the innermost recording gets them): it hands them back here.
            from . import testing

            testing._finished.append(self.add)
            self._listening = True
        from . import record

        self.tests += 1
        with record(max_sends=_REPORT_MAX_SENDS) as recording:
            result = yield
        self.add(recording)
        return result

    # --- reporting -----------------------------------------------------------

    @pytest.hookimpl(tryfirst=True)
    def pytest_sessionfinish(self, session: pytest.Session, exitstatus: int) -> None:
        if self._listening:
            from . import testing

            if self.add in testing._finished:
                testing._finished.remove(self.add)
            self._listening = False
        if not _django_configured():
            return
        try:
            from .receivers import build_map

            # The same groups as the signal_inspector.W001 check.
            self.duplicates = build_map().duplicates
        except Exception as exc:
            from .naming import safe_message

            self.duplicates_error = f"{type(exc).__name__}: {safe_message(exc)}"
            return
        if (
            self.duplicates
            and self.config.getoption("signals_fail_on_duplicates")
            and session.exitstatus == pytest.ExitCode.OK
        ):
            session.exitstatus = pytest.ExitCode.TESTS_FAILED

    def pytest_terminal_summary(self, terminalreporter: Any) -> None:
        write = terminalreporter.write_line
        if not _django_configured():
            if self.enabled:
                terminalreporter.write_sep("=", "signal receivers")
                write("Django is not configured: no signal was recorded.")
            return
        if self.enabled:
            terminalreporter.write_sep("=", "signal receivers")
            for line in self.receiver_lines():
                write(line)
        groups = self.duplicates
        if self.duplicates_error:
            write(f"Duplicate registrations could not be listed: {self.duplicates_error}")
        elif groups is not None and (self.enabled or groups):
            terminalreporter.write_sep("=", "duplicate registrations (signal_inspector.W001)")
            for line in duplicate_lines(groups):
                write(line)
            if groups and self.config.getoption("signals_fail_on_duplicates"):
                write(
                    f"Failing the session: {len(groups)} duplicate registration(s) "
                    "(--signals-fail-on-duplicates).",
                    red=True,
                )

    def receiver_lines(self) -> list[str]:
        """The receivers table, slowest total first."""
        calls = sum(row[0] for row in self.receivers.values())
        lines = [
            f"{self.sends} sends, {calls} receiver calls in {self.tests} tests "
            "(a receiver's time includes the sends it caused)."
        ]
        if self.dropped:
            lines.append(f"{self.dropped} sends past the per-test limit were counted, not timed.")
        if not self.receivers:
            return lines
        rows = sorted(self.receivers.items(), key=lambda item: (-item[1][1], item[0]))
        lines.append(
            f"{'CALLS':>7}  {'TOTAL MS':>10}  {'SLOWEST MS':>10}  {'CAUGHT':>6}  {'RAISED':>6}  RECEIVER"
        )
        for name, (count, total, slowest, caught, raised) in rows[: self.top]:
            lines.append(
                f"{count:>7}  {total:>10.2f}  {slowest:>10.2f}  {caught:>6}  {raised:>6}  {name}"
            )
        if len(rows) > self.top:
            more = len(rows) - self.top
            lines.append(f"… {more} more receiver{'' if more == 1 else 's'} (--signals-report-top)")
        return lines


def duplicate_lines(groups: list[DuplicateGroup]) -> list[str]:
    """W001's groups as text: the receiver, where it is connected, and the fix."""
    if not groups:
        return ["No receiver is registered twice."]
    lines: list[str] = []
    for group in groups:
        lines.append(f"{group.message}")
        for registration in group.registrations:
            lines.append(
                f"    connected at {registration.connected_at or 'unknown'} "
                f"(sender: {registration.sender or 'any'})"
            )
        lines.append(f"    fix: {group.fix}")
    return lines
