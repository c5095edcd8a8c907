"""pytest plugin (the ``pytest11`` entry point): the ``capture_signals`` fixture and
``--signals-report``.

Loaded in every pytest run once the package is installed, so it imports nothing
of Django's at import time and does nothing unless Django's settings are
configured (by pytest-django or by the project's own conftest).
"""

from __future__ import annotations

from collections.abc import Callable, Generator
from contextlib import suppress
from typing import TYPE_CHECKING, Any

import pytest

if TYPE_CHECKING:
    from .receivers import DuplicateGroup
    from .recording import Recording, SendRecord

_REPORT_MAX_SENDS = 1_000_000  # per test: the report must see every receiver call
# Finished top-level sends are folded into the totals and let go once this many
# are held: a test's records stay this small however many sends it makes.
_FOLD_EVERY = 256
_WORKER_KEY = "signal_inspector_report"  # pytest-xdist: a worker's totals


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
    group.addoption(
        "--signals-snapshot-update",
        action="store_true",
        default=False,
        help="Rewrite the signal snapshots that assert_matches_snapshot() compares with.",
    )
    group.addoption(
        "--signals-shuffle",
        nargs="?",
        const="random",
        default=None,
        metavar="SEED",
        help="Run each send's receivers in a seeded random order (a new seed unless given), "
        "to find receivers that depend on registration order.",
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


@pytest.hookimpl(wrapper=True)
def pytest_runtest_call(item: pytest.Item) -> Generator[None, Any, Any]:
    """Tell assert_matches_snapshot() which test runs, and where its file lives."""
    from .snapshots import SnapshotTarget, running_test

    cls = getattr(item, "cls", None)
    target = SnapshotTarget(
        directory=item.path.parent,
        module=item.path.stem,
        test=item.name if cls is None else f"{cls.__qualname__}.{item.name}",
        update=bool(item.config.getoption("signals_snapshot_update")),
        owner=item,
    )
    seed = _shuffle_seed(item.config)
    if seed is None or not _django_configured():
        with running_test(target):
            return (yield)
    import random
    from contextlib import ExitStack

    from . import record
    from .context import current
    from .isolation import shuffled

    with ExitStack() as stack:
        stack.enter_context(running_test(target))
        # Seeded per test: a failing test fails the same way run alone.
        stack.enter_context(shuffled(random.Random(f"{seed}:{item.nodeid}")))
        if current() is None:  # the send loop that shuffles runs only while recording
            stack.enter_context(record(max_sends=0))
        return (yield)


_SEED = pytest.StashKey[int]()


def _shuffle_seed(config: pytest.Config) -> int | None:
    """The --signals-shuffle seed (chosen once per run when not given), or None."""
    value = config.getoption("signals_shuffle", None)
    if value is None:
        return None
    if _SEED not in config.stash:
        if value == "random":
            import random

            config.stash[_SEED] = random.randrange(10**6)
        else:
            try:
                config.stash[_SEED] = int(value)
            except ValueError:
                raise pytest.UsageError(
                    f"--signals-shuffle: the seed must be a whole number, not {value!r}"
                ) from None
    return config.stash[_SEED]


def pytest_report_header(config: pytest.Config) -> str | None:
    seed = _shuffle_seed(config)
    if seed is None:
        return None
    return f"signal_inspector: receivers shuffled, --signals-shuffle={seed}"


@pytest.hookimpl(wrapper=True)
def pytest_runtest_makereport(item: pytest.Item, call: Any) -> Generator[None, Any, Any]:
    report = yield
    seed = _shuffle_seed(item.config)
    if seed is not None and report.failed:
        report.sections.append(
            (
                "signal_inspector",
                f"Receivers ran in a shuffled order: rerun with --signals-shuffle={seed} "
                "to repeat it.",
            )
        )
    return report


def pytest_configure(config: pytest.Config) -> None:
    _shuffle_seed(config)  # a bad seed is a usage error before any test runs
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
        self.fold(recording.sends)

    def fold(self, sends: list[SendRecord]) -> None:
        """Add the receiver calls of ``sends`` and the sends they caused."""
        from .recording import STAND_IN

        receivers = self.receivers
        pending = list(sends)
        while pending:
            send = pending.pop()
            for entry in send.calls:
                if type(entry) is tuple and len(entry) > 2:
                    # A call the send loop wrote as a tuple, ((name, location, key),
                    # start, end[, result]): it returned and made no sends. Read
                    # as it is: a ReceiverCall made for it would cost more than
                    # the rest of this loop.
                    name = entry[0][0]
                    duration = (entry[2] - entry[1]) * 1000
                    outcome = "returned"
                    children: Any = ()
                else:
                    call = send._call(entry) if type(entry) is tuple else entry
                    if call.name == STAND_IN:  # not a receiver: what ran inside an untimed send
                        pending.extend(call.children)
                        continue
                    name, duration, outcome = call.name, call.duration_ms, call.outcome
                    children = call.children
                row = receivers.get(name)
                if row is None:
                    row = receivers[name] = [0, 0.0, 0.0, 0, 0]
                row[0] += 1
                row[1] += duration
                if duration > row[2]:
                    row[2] = duration
                if outcome == "caught":
                    row[3] += 1
                elif outcome == "raised":
                    row[4] += 1
                if children:
                    pending.extend(children)

    def fold_finished(self, sends: list[SendRecord]) -> None:
        """Fold the finished sends of ``sends`` and remove them from it (a send
        still running, say a concurrent task's, stays until it ends)."""
        done = [send for send in sends if send.duration_ms]
        if not done:
            return
        self.fold(done)
        sends[:] = [send for send in sends if not send.duration_ms]

    def merge(self, totals: dict[str, Any]) -> None:
        """Add a pytest-xdist worker's totals (see to_worker())."""
        self.sends += int(totals.get("sends", 0))
        self.dropped += int(totals.get("dropped", 0))
        self.tests += int(totals.get("tests", 0))
        for name, (count, total, slowest, caught, raised) in totals.get("receivers", {}).items():
            row = self.receivers.get(name)
            if row is None:
                row = self.receivers[name] = [0, 0.0, 0.0, 0, 0]
            row[0] += count
            row[1] += total
            row[2] = max(row[2], slowest)
            row[3] += caught
            row[4] += raised

    def to_worker(self) -> dict[str, Any]:
        """The totals as plain data, for the pytest-xdist controller."""
        return {
            "sends": self.sends,
            "dropped": self.dropped,
            "tests": self.tests,
            "receivers": {name: list(row) for name, row in self.receivers.items()},
        }

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
            # Before any send: top-level sends are appended to this list.
            recording.sends = _FoldingSends(self)
            result = yield
        self.add(recording)
        return result

    @pytest.hookimpl(optionalhook=True)
    def pytest_testnodedown(self, node: Any, error: Any) -> None:
        """pytest-xdist's controller: a worker is done; add what its tests sent."""
        totals = getattr(node, "workeroutput", {}).get(_WORKER_KEY)
        if totals:
            self.merge(totals)

    # --- reporting -----------------------------------------------------------

    @pytest.hookimpl(tryfirst=True)
    def pytest_sessionfinish(self, session: pytest.Session, exitstatus: int) -> None:
        if self._listening:
            from . import testing

            if self.add in testing._finished:
                testing._finished.remove(self.add)
            self._listening = False
        workeroutput = getattr(self.config, "workeroutput", None)
        if workeroutput is not None and self.enabled:
            # A pytest-xdist worker: its controller prints the report.
            workeroutput[_WORKER_KEY] = self.to_worker()
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


class _FoldingSends(list):  # type: ignore[type-arg]
    """The report's per-test recording's top-level sends: every ``_FOLD_EVERY``
    appends, the finished ones go into the report's totals and are let go, so
    a test that sends 200,000 times is not kept whole (the report needs only
    totals per receiver)."""

    def __init__(self, report: SignalsReport) -> None:
        super().__init__()
        self.report = report

    def append(self, send: SendRecord) -> None:
        if len(self) >= _FOLD_EVERY:
            with suppress(Exception):  # never the cause of a test's failure
                self.report.fold_finished(self)
        super().append(send)


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
