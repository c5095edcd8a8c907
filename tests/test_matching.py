"""assert_sent(..., created=True, order=order): comparing what was sent."""

from __future__ import annotations

import gc
import unittest
import weakref

import pytest
from django.db.models.signals import post_save
from django.dispatch import Signal

from signal_inspector import record
from signal_inspector.testing import capture_signals
from tests.testapp.models import Order
from tests.testapp.signals import order_paid

pytest_plugins = ["pytester"]
pytestmark = pytest.mark.django_db


def test_inside_the_block_real_arguments_compare_by_equality_and_predicate():
    with capture_signals() as signals:
        order = Order.objects.create(number="A-1")
        order.number = "A-1b"
        order.save()
        signals.assert_sent(post_save, sender=Order, created=True, times=1)
        signals.assert_sent(post_save, sender=Order, instance=order, times=2)
        signals.assert_sent(post_save, sender=Order, instance=lambda o: o.number == "A-1b", times=2)
        signals.assert_sent(post_save, sender=Order, created=False, update_fields=None, times=1)
        signals.assert_not_sent(post_save, sender=Order, created=True, instance=Order(number="x"))


def test_after_the_block_literals_compare_by_repr_and_objects_are_refused():
    with capture_signals() as signals:
        order = Order.objects.create(number="A-1")
        order_paid.send_robust(sender=Order, order=order, api_key="sk-live")
    signals.assert_sent(post_save, sender=Order, created=True, times=1)
    signals.assert_sent(post_save, sender=Order, created=False, times=1)  # mark_paid's save
    with pytest.raises(TypeError, match=r"order=<testapp.Order: pk=1> cannot be compared: the capture_signals\(\) block has ended"):
        signals.assert_sent(order_paid, order=order)
    with pytest.raises(TypeError, match="is a predicate, which needs the real argument"):
        signals.assert_sent(order_paid, order=lambda o: o.paid)
    with pytest.raises(TypeError, match="api_key='sk-live' cannot be compared"):
        signals.assert_sent(order_paid, api_key="sk-live")  # recorded masked


def test_a_class_is_compared_not_called():
    kinds = Signal()

    def hear(sender, **kwargs):
        return None

    kinds.connect(hear)
    with capture_signals() as signals:
        kinds.send(sender=None, model=Order)
        signals.assert_sent(kinds, model=Order)
        signals.assert_not_sent(kinds, model=str)


def test_a_failure_shows_the_recorded_reprs_masked():
    with capture_signals() as signals:
        first = Order.objects.create(number="A-1")
        order_paid.send_robust(sender=Order, order=first, api_key="sk-live-SECRET")
        other = Order(number="B-2")
        with pytest.raises(AssertionError) as info:
            signals.assert_sent(order_paid, sender=Order, order=other)
    message = str(info.value)
    assert message.startswith(
        "tests.testapp.signals.order_paid from testapp.Order with order=<testapp.Order: pk=None> "
        "was sent 0 times, expected at least once.\n"
        "Sent with (keyword arguments as recorded):\n"
        "  1. order=<testapp.Order: pk=1>, api_key=********************\n"
    )
    assert "SECRET" not in message
    assert "Recorded signals:" in message


def test_the_real_arguments_are_let_go_when_the_block_ends_and_never_by_record():
    class Thing:
        pass

    hum = Signal()

    def hear(sender, **kwargs):
        return None

    hum.connect(hear)
    thing = Thing()
    alive = weakref.ref(thing)
    with capture_signals() as signals:
        hum.send(sender=None, thing=thing)
        del thing
        gc.collect()
        assert alive() is not None  # held for the assertions inside the block
        signals.assert_sent(hum, thing=lambda t: isinstance(t, Thing))
    gc.collect()
    assert alive() is None
    assert signals.recording._live_kwargs == {}

    thing = Thing()
    alive = weakref.ref(thing)
    with record() as recording:
        hum.send(sender=None, thing=thing)
        assert recording._live_kwargs == {}
        del thing
        gc.collect()
        assert alive() is None
    with capture_signals(keep_kwargs=False) as signals:
        hum.send(sender=None, thing=Thing(), n=3)
        signals.assert_sent(hum, n=3)
        with pytest.raises(TypeError, match="opened with keep_kwargs=False"):
            signals.assert_sent(hum, thing=lambda t: True)


def test_unittest_failure_shows_the_tests_frame():
    class Case(unittest.TestCase):
        def test_it(self):
            with capture_signals() as signals:
                Order.objects.create(number="A-1")
            signals.assert_sent(post_save, sender=Order, created=False)

    result = unittest.TestResult()
    Case("test_it").run(result)
    ((_, text),) = result.failures
    assert 'test_matching.py", line' in text
    assert "signal_inspector/" not in text.split("AssertionError")[0]
    assert "with created=False was sent 0 times, expected at least once." in text
    assert "  1. instance=<testapp.Order: pk=1>, created=True, update_fields=None" in text


def test_through_pytest(pytester, monkeypatch):
    from pathlib import Path

    monkeypatch.setenv("PYTHONPATH", str(Path(__file__).resolve().parent.parent))
    monkeypatch.setenv("DJANGO_SETTINGS_MODULE", "tests.settings")
    pytester.makepyfile(
        test_kw="""
import pytest
from django.db.models.signals import post_save
from tests.testapp.models import Order

pytestmark = pytest.mark.django_db


def test_created(capture_signals):
    with capture_signals() as signals:
        order = Order.objects.create(number="1")
        signals.assert_sent(post_save, sender=Order, instance=order, created=True)
    signals.assert_sent(post_save, sender=Order, created=True, times=1)


def test_wrong(capture_signals):
    with capture_signals() as signals:
        Order.objects.create(number="1")
    signals.assert_sent(post_save, sender=Order, created=False)
"""
    )
    result = pytester.runpytest_subprocess("-p", "no:cacheprovider", "-p", "no:randomly")
    result.assert_outcomes(passed=1, failed=1)
    result.stdout.fnmatch_lines(
        [
            "*signals.assert_sent(post_save, sender=Order, created=False)",
            "E   *AssertionError: django.db.models.signals.post_save from testapp.Order with created=False was sent 0 times, expected at least once.",
            "E   *Sent with (keyword arguments as recorded):",
            "E   *  1. instance=<testapp.Order: pk=1>, created=True, update_fields=None, raw=False, using='default'",
        ]
    )
