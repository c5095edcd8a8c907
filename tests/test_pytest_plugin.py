"""The pytest plugin, through pytest's own ``pytester``: real runs of real test files.

Each run is a subprocess (Django's settings are per process), using the
plugin as installed: through its ``pytest11`` entry point, with pytest-django.
"""

from __future__ import annotations

import importlib.metadata
import re
from pathlib import Path

import pytest

pytest_plugins = ["pytester"]

REPO = Path(__file__).resolve().parent.parent

PAYING = """
import pytest
from django.db.models.signals import post_delete, post_save

from tests.testapp.models import Order
from tests.testapp.receivers import mark_paid
from tests.testapp.signals import order_paid

pytestmark = pytest.mark.django_db


def pay(number):
    order = Order.objects.create(number=number)
    order_paid.send_robust(sender=Order, order=order)
    return order
"""


@pytest.fixture
def run(pytester: pytest.Pytester, monkeypatch: pytest.MonkeyPatch):
    """Run pytest in a subprocess on the files made in ``pytester``'s directory."""
    monkeypatch.setenv("PYTHONPATH", str(REPO))

    def run(*args: str, django: bool = True) -> pytest.RunResult:
        if django:
            monkeypatch.setenv("DJANGO_SETTINGS_MODULE", "tests.settings")
        else:
            monkeypatch.delenv("DJANGO_SETTINGS_MODULE", raising=False)
        return pytester.runpytest_subprocess("-p", "no:cacheprovider", *args)

    return run


def test_the_plugin_is_registered_through_the_pytest11_entry_point():
    plugins = {ep.name: ep.value for ep in importlib.metadata.entry_points(group="pytest11")}
    assert plugins["signal_inspector"] == "signal_inspector.pytest_plugin"


def test_the_fixture_passes_when_the_signals_are_as_expected(pytester, run):
    pytester.makepyfile(
        test_pay=PAYING
        + '''
def test_paying_sends_one_order_paid(capture_signals):
    with capture_signals() as signals:
        pay("A-1")
    signals.assert_sent(order_paid, sender=Order, times=1)
    signals.assert_sent("order_paid", sender="testapp.Order", times=1)
    signals.assert_received(mark_paid, times=1)
    signals.assert_received("tests.testapp.receivers.audit_order_saved", times=2)
    signals.assert_not_sent(post_delete)
    assert [s.signal for s in signals.sends(sender=Order)] == [
        "django.db.models.signals.post_save",
        "tests.testapp.signals.order_paid",
        "django.db.models.signals.post_save",
    ]


def test_with_pytest_djangos_own_capture(capture_signals, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks() as callbacks, capture_signals() as signals:
        pay("A-2")
    assert callbacks == []
    signals.assert_no_errors()
'''
    )
    result = run("-v")
    result.assert_outcomes(passed=2)
    assert result.ret == 0


def test_failing_assertions_show_what_was_recorded_as_a_tree(pytester, run):
    pytester.makepyfile(
        test_pay=PAYING
        + '''
def test_wrong_count(capture_signals):
    with capture_signals() as signals:
        pay("A-1")
    signals.assert_sent(order_paid, sender=Order, times=2)


def test_error_swallowed_by_send_robust(capture_signals):
    with capture_signals() as signals:
        pay("<hostile>")
    signals.assert_no_errors()


def test_unknown_signal(capture_signals):
    with capture_signals() as signals:
        pay("A-1")
    signals.assert_not_sent("order_payd")
'''
    )
    result = run()
    result.assert_outcomes(failed=3)
    result.stdout.fnmatch_lines(
        [
            "*_ test_wrong_count _*",
            "*signals.assert_sent(order_paid, sender=Order, times=2)",
            "E       AssertionError: tests.testapp.signals.order_paid from testapp.Order was sent once, expected 2 times.",
            "E       ",
            "E       Recorded signals:",
            "E         django.db.models.signals.post_save  send()  sender=testapp.Order  * ms  at test_pay.py:12",
            "E         └─ tests.testapp.receivers.audit_order_saved  * ms  returned  [[]1 query[]]",
            "E         tests.testapp.signals.order_paid  send_robust()  sender=testapp.Order  * ms  at test_pay.py:13",
            "E         ├─ tests.testapp.receivers.mark_paid  * ms  returned 'marked'  [[]1 query[]]",
            "E         │  └─ django.db.models.signals.post_save  send()  sender=testapp.Order  * ms  at tests/testapp/receivers.py:19",
            "E         │     └─ tests.testapp.receivers.audit_order_saved  * ms  returned",
            "E         └─ tests.testapp.receivers.refuse_hostile  * ms  returned",
            "E         silent (sent, no receiver): *",
            "E         3 sends, 4 receiver calls, * ms in receivers, 0 errors, 8 silent sends",
        ]
    )
    result.stdout.fnmatch_lines(
        [
            "*_ test_error_swallowed_by_send_robust _*",
            "E       AssertionError: 1 receiver raised:",
            "E         tests.testapp.receivers.refuse_hostile raised (caught by send_robust) ValueError: refused <hostile>",
            "E             tests/testapp/receivers.py:26 in refuse_hostile: raise ValueError(f\"refused {order.number}\")",
            "E       Recorded signals:",
            "E         └─ tests.testapp.receivers.refuse_hostile  * ms  raised (caught by send_robust) ValueError: refused <hostile>",
        ]
    )
    result.stdout.fnmatch_lines(
        [
            "*_ test_unknown_signal _*",
            "E       ValueError: Unknown signal 'order_payd'. Did you mean: tests.testapp.signals.order_paid*",
        ]
    )
    # The helper's own frames are hidden: the traceback ends in the test.
    out = result.stdout.str()
    failures = out[out.index("_ test_wrong_count _") : out.index("_ test_unknown_signal _")]
    assert "signal_inspector/testing.py" not in failures
    assert result.ret == 1


def test_unittest_test_cases_use_signal_inspector_testing(pytester, run):
    pytester.makepyfile(
        test_cases='''
from django.test import TestCase

from signal_inspector.testing import capture_signals
from tests.testapp.models import Order
from tests.testapp.signals import order_paid


class PayTests(TestCase):
    def test_pays(self):
        with capture_signals() as signals:
            order_paid.send_robust(sender=Order, order=Order.objects.create(number="A-1"))
        signals.assert_sent(order_paid, sender=Order, times=1)

    def test_hostile(self):
        with capture_signals() as signals:
            order_paid.send_robust(sender=Order, order=Order.objects.create(number="<x>"))
        signals.assert_no_errors()
'''
    )
    result = run()
    result.assert_outcomes(passed=1, failed=1)
    result.stdout.fnmatch_lines(
        [
            "E       AssertionError: 1 receiver raised:",
            "E         tests.testapp.receivers.refuse_hostile raised (caught by send_robust) ValueError: refused <x>",
        ]
    )


def test_the_plugin_does_nothing_without_django_settings(pytester, run):
    pytester.makepyfile(
        test_nodjango='''
def test_plain():
    assert 1 + 1 == 2


def test_fixture(capture_signals):
    pass
'''
    )
    for plugins in ((), ("-p", "no:django")):
        result = run(*plugins, django=False)
        result.assert_outcomes(passed=1, errors=1)
        result.stdout.fnmatch_lines(
            ["*capture_signals needs Django settings: use pytest-django (--ds) or configure settings in conftest.py."]
        )
        assert "signal receivers" not in result.stdout.str()

        result = run(*plugins, "--signals-report", "-k", "plain", django=False)
        result.assert_outcomes(passed=1, deselected=1)
        result.stdout.fnmatch_lines(
            ["*= signal receivers =*", "Django is not configured: no signal was recorded."]
        )
        assert result.ret == 0


REPORTED = PAYING + '''
def test_with_the_fixture(capture_signals):
    with capture_signals() as signals:
        pay("A-1")
    signals.assert_sent(order_paid)


def test_without_the_fixture():
    pay("A-2")


def test_hostile():
    pay("<x>")
'''


def test_signals_report_lists_receivers_by_total_time_and_the_duplicates(pytester, run):
    pytester.makepyfile(test_report=REPORTED)
    result = run("--signals-report")
    result.assert_outcomes(passed=3)
    assert result.ret == 0
    out = result.stdout.str()
    result.stdout.fnmatch_lines(
        [
            "*= signal receivers =*",
            "* sends, * receiver calls in 3 tests (a receiver's time includes the sends it caused).",
            "  CALLS    TOTAL MS  SLOWEST MS  CAUGHT  RAISED  RECEIVER",
            "*= duplicate registrations (signal_inspector.W001) =*",
            "tests.dupapp.handlers.any_and_thing is connected to tests.dupapp.signals.ping for any sender and for dupapp.Thing*",
            "    connected at tests/dupapp/wiring.py:31 (sender: any)",
            "    connected at tests/dupapp/wiring.py:32 (sender: dupapp.Thing)",
            "    fix: Connect it once*",
        ]
    )
    rows = {}
    for line in out.splitlines():
        match = re.match(r"^\s+(\d+)\s+([\d.]+)\s+([\d.]+)\s+(\d+)\s+(\d+)\s+(\S+)$", line)
        if match:
            rows[match[6]] = match.groups()[:5]
    # From the fixture's block and from the tests without it alike.
    assert rows["tests.testapp.receivers.mark_paid"][0] == "3"
    assert rows["tests.testapp.receivers.refuse_hostile"][0] == "3"
    assert rows["tests.testapp.receivers.refuse_hostile"][3:] == ("1", "0")  # caught once
    assert rows["tests.testapp.receivers.audit_order_saved"][0] == "6"
    totals = [float(row[1]) for row in rows.values()]
    assert totals == sorted(totals, reverse=True)
    assert "Failing the session" not in out


def test_signals_report_top_limits_the_table(pytester, run):
    pytester.makepyfile(test_report=REPORTED)
    result = run("--signals-report", "--signals-report-top", "1")
    result.stdout.fnmatch_lines(["… * more receiver* (--signals-report-top)"])
    header = result.stdout.lines.index("  CALLS    TOTAL MS  SLOWEST MS  CAUGHT  RAISED  RECEIVER")
    assert result.stdout.lines[header + 2].startswith("… ")


def test_fail_on_duplicates_fails_a_passing_session(pytester, run):
    pytester.makepyfile(test_report=REPORTED)
    result = run("--signals-fail-on-duplicates")
    result.assert_outcomes(passed=3)
    assert result.ret == 1
    result.stdout.fnmatch_lines(
        [
            "*= duplicate registrations (signal_inspector.W001) =*",
            "Failing the session: 5 duplicate registration(s) (--signals-fail-on-duplicates).",
        ]
    )
    assert "signal receivers" not in result.stdout.str()  # the table needs --signals-report


def test_fail_on_duplicates_passes_without_duplicates(pytester, run):
    pytester.makepyfile(
        nodup_settings='''
from tests.settings import *  # noqa: F403

INSTALLED_APPS = [app for app in INSTALLED_APPS if app != "tests.dupapp"]  # noqa: F405
''',
        test_report=REPORTED,
    )
    result = run("--signals-fail-on-duplicates", "--signals-report", "--ds=nodup_settings")
    result.assert_outcomes(passed=3)
    assert result.ret == 0
    result.stdout.fnmatch_lines(["No receiver is registered twice."])


MANY = '''
from django.dispatch import Signal

from signal_inspector import context

tick = Signal()
tock = Signal()


def on_tick(sender, **kwargs):
    tock.send(sender=sender)  # a nested send, folded with its parent


def on_tock(sender, **kwargs):
    return None


tick.connect(on_tick, weak=False)
tock.connect(on_tock, weak=False)


def test_many_sends():
    for _ in range(3000):
        tick.send(sender=None)
    # The report's recording holds a window of sends, not all of them.
    assert len(context.current().sends) <= 300
'''


def test_signals_report_keeps_totals_not_every_send(pytester, run):
    pytester.makepyfile(test_many=MANY)
    result = run("--signals-report", "-p", "no:randomly")
    result.assert_outcomes(passed=1)
    result.stdout.fnmatch_lines(
        [
            "6000 sends, 6000 receiver calls in 1 tests *",
            "   3000  * test_many.on_tick",
            "   3000  * test_many.on_tock",
        ]
    )


def test_signals_report_adds_up_the_pytest_xdist_workers(pytester, run):
    pytest.importorskip("xdist")
    pytester.makepyfile(test_report=REPORTED)
    plain = run("--signals-report", "-p", "no:randomly")
    spread = run("--signals-report", "-p", "no:randomly", "-n", "2")
    spread.assert_outcomes(passed=3)

    def table(result: pytest.RunResult) -> tuple[str, dict[str, str]]:
        lines = result.stdout.lines
        summary = next(line for line in lines if "receiver calls in" in line)
        calls = {}
        for line in lines:
            match = re.match(r"^\s+(\d+)\s+[\d.]+\s+[\d.]+\s+(\d+)\s+(\d+)\s+(\S+)$", line)
            if match:
                calls[match[4]] = match.groups()[:3]
        return summary, calls

    (plain_summary, plain_calls), (spread_summary, spread_calls) = table(plain), table(spread)
    assert plain_summary.endswith(" in 3 tests (a receiver's time includes the sends it caused).")
    assert spread_summary.endswith(" in 3 tests (a receiver's time includes the sends it caused).")
    # Each worker sets up its own test database (migrate's sends count there);
    # the tests' own receivers add up to the same calls.
    ours = {name: row for name, row in plain_calls.items() if name.startswith("tests.testapp.")}
    assert len(ours) == 3
    assert {name: spread_calls.get(name) for name in ours} == ours


def test_the_stand_in_of_an_untimed_send_is_not_counted_as_a_receiver(pytester, run):
    pytester.makepyfile(
        test_plugin_signal="""
from django.dispatch import Signal


class PluginSignal(Signal):
    def send(self, sender, **named):
        return [(r, r(signal=self, sender=sender, **named)) for r in self._live_receivers(sender)[0]]


plugin = PluginSignal()
inner = Signal()


def outer_receiver(sender, **kwargs):
    inner.send(sender=None)


def inner_receiver(sender, **kwargs):
    return 1


plugin.connect(outer_receiver, weak=False)
inner.connect(inner_receiver, weak=False)


def test_sends():
    plugin.send(sender="x")
"""
    )
    result = run("--signals-report")
    result.assert_outcomes(passed=1)
    text = result.stdout.str()
    assert "inner_receiver" in text and "outer_receiver" in text
    assert "(inside this send" not in text
