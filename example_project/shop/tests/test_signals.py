"""The shop's signals, tested with signal_inspector.

Run with ``python -m pytest`` (the ``capture_signals`` fixture) or
``python manage.py test shop`` (the ``TestCase`` below, through
``signal_inspector.testing``) from ``example_project/``.
"""

from __future__ import annotations

from io import StringIO

import pytest
from django.contrib.auth import get_user_model
from django.core.management import call_command
from django.db.models.signals import post_delete, post_save, pre_delete
from django.test import TestCase

from shop import receivers
from shop.models import LoyaltyAccount, Order
from shop.signals import order_cancelled, order_paid
from signal_inspector.testing import capture_signals as capture

User = get_user_model()


@pytest.fixture
def demo(db: None) -> None:
    call_command("seed_demo", stdout=StringIO())


def test_paying_sends_order_paid_once_and_every_receiver_runs(demo, capture_signals):
    order = Order.objects.get(number="DEMO-1")
    with capture_signals() as signals:
        order.pay()
    signals.assert_sent(order_paid, sender=Order, times=1)
    signals.assert_received(receivers.award_loyalty_points, times=1)
    signals.assert_received(receivers.notify_warehouse, times=1)
    # The deliberate duplicate (shop/apps.py): every payment emails two receipts.
    signals.assert_received(receivers.email_receipt, times=2)
    signals.assert_no_errors()
    # The cascade: awarding points saved the account, whose post_save wrote the audit log.
    signals.assert_received(
        receivers.audit_loyalty_change, signal=post_save, sender=LoyaltyAccount, times=1
    )
    signals.assert_not_sent(post_delete)
    assert [s.signal for s in signals.sends(sender=Order)] == ["shop.signals.order_paid"]


def test_a_blocked_account_raises_inside_send_robust_and_the_payment_stands(
    demo, capture_signals
):
    order = Order.objects.get(number="DEMO-3")
    with capture_signals() as signals:
        order.pay()
    order.refresh_from_db()
    assert order.paid_at is not None
    signals.assert_raised(receivers.award_loyalty_points, receivers.LoyaltyAccountBlocked)
    # send_robust() swallowed it; assert_no_errors() does not.
    with pytest.raises(AssertionError, match="award_loyalty_points raised"):
        signals.assert_no_errors()


def test_cancelling_stops_at_the_failed_refund(demo, capture_signals):
    order = Order.objects.get(number="DEMO-1")
    with capture_signals() as signals, pytest.raises(receivers.PaymentProviderDown):
        order.cancel()
    signals.assert_sent(order_cancelled, sender=Order, times=1)
    signals.assert_raised(receivers.refund_payment, receivers.PaymentProviderDown)
    # The deliberate mistake: plain send() never runs the receivers after the one that raised.
    signals.assert_not_received(receivers.restock_items)
    signals.assert_not_received(receivers.email_cancellation)


def test_deleting_an_order_audits_before_and_after(demo, capture_signals):
    with capture_signals() as signals:
        Order.objects.get(number="DEMO-2").delete()
    signals.assert_sent(pre_delete, sender=Order, times=1)
    # No receiver listens for OrderItem deletes, so Django deletes the items in one
    # query, without sending anything for them.
    signals.assert_not_sent(post_delete, sender="shop.OrderItem")
    assert [call.name for call in signals.calls(sender=Order)] == [
        "shop.receivers.audit_order_deleting",
        "shop.receivers.audit_order_deleted",
    ]


class SignUpTests(TestCase):
    """The same, from Django's TestCase (``manage.py test shop``)."""

    def test_a_new_user_gets_a_profile_and_a_loyalty_account(self) -> None:
        with capture() as signals:
            User.objects.create_user("bob")
        signals.assert_received("accounts.signals.create_profile", times=1)
        signals.assert_received(receivers.open_loyalty_account, times=1)
        signals.assert_sent(post_save, sender="shop.LoyaltyAccount", times=1)
        signals.assert_no_errors()

    def test_saving_a_user_again_creates_nothing(self) -> None:
        user = User.objects.create_user("carol")
        with capture() as signals:
            user.save()
        signals.assert_received("accounts.signals.create_profile", times=1)
        signals.assert_not_sent(post_save, sender=LoyaltyAccount)  # the if created: guard
