"""Findings: bypassed receivers, repeated queries by receiver, network I/O and
work handed over before commit, through record(), capture_signals and the text."""

from __future__ import annotations

import logging
import socket
import threading

import pytest
from django.core import mail
from django.core.mail.message import EmailMessage
from django.db import connection, transaction
from django.db.models.query import QuerySet
from django.db.models.signals import post_init, post_save
from django.dispatch import Signal
from django.test import override_settings

import signal_inspector
from signal_inspector.testing import capture_signals
from tests.testapp.models import AuditLog, Order

DJANGO_UPDATE = QuerySet.__dict__["update"]
DJANGO_BULK_CREATE = QuerySet.__dict__["bulk_create"]
DJANGO_MAIL_SEND = EmailMessage.__dict__["send"]


def kinds(recording):
    return [f.kind for f in recording.findings]


@pytest.mark.django_db
def test_an_update_that_bypasses_save_receivers_is_named_with_them():
    Order.objects.create(number="1")
    Order.objects.create(number="2")
    with signal_inspector.record() as recording:
        Order.objects.filter(number__in=["1", "2"]).update(paid=True)
        AuditLog.objects.all().update(message="x")  # no receiver: nothing bypassed
    (finding,) = recording.findings
    assert finding.kind == "bypassed"
    assert "testapp.Order.objects.update()" in finding.title
    assert finding.where.startswith("tests/test_findings.py:")
    assert any("post_save: tests.testapp.receivers.audit_order_saved" in d for d in finding.details)
    assert any("connected at tests/testapp/receivers.py:" in d for d in finding.details)
    assert "rows: 2" in finding.details
    assert recording.to_dict()["findings"][0]["kind"] == "bypassed"


@pytest.mark.django_db
def test_bulk_operations_are_named_and_empty_ones_are_not():
    with signal_inspector.record() as recording:
        assert Order.objects.bulk_create([]) == []
        orders = Order.objects.bulk_create([Order(number="a"), Order(number="b")])
        for order in orders:
            order.paid = True
        Order.objects.bulk_update(orders, ["paid"])
        Order.objects.filter(number="nothing").update(paid=True)  # 0 rows
    titles = [f.title for f in recording.findings]
    assert len(titles) == 2
    assert "bulk_create()" in titles[0] and "bulk_update()" in titles[1]


@pytest.mark.django_db
@pytest.mark.parametrize(
    "acknowledged", ["testapp.Order", "tests.testapp.receivers.audit_order_saved"]
)
def test_an_acknowledged_bypass_is_not_reported(acknowledged):
    Order.objects.create(number="1")
    setting = {"ACKNOWLEDGED_BYPASSES": [acknowledged]}
    with override_settings(SIGNAL_INSPECTOR=setting), signal_inspector.record() as recording:
        Order.objects.update(paid=True)
    assert recording.findings == []


@pytest.mark.django_db
def test_a_receiver_repeating_one_query_is_named_past_the_threshold():
    signal = Signal()

    def count_audits(sender, **kwargs):
        return AuditLog.objects.filter(message=f"order {sender}").count()

    signal.connect(count_audits, weak=False)
    with signal_inspector.record() as below:
        for number in range(4):
            signal.send(sender=number)
    with signal_inspector.record() as recording:
        for number in range(6):
            signal.send(sender=number)
    assert below.findings == []
    (finding,) = recording.findings
    assert finding.kind == "repeated_query"
    assert finding.count == 6
    assert "count_audits" in finding.receiver
    assert "testapp_auditlog" in finding.details[0]
    assert "%s" in finding.details[0] or "?" in finding.details[0]  # no parameter values


@pytest.mark.django_db
def test_a_query_in_a_post_init_receiver_is_always_named():
    Order.objects.create(number="1")

    def fetch_audit(sender, instance, **kwargs):
        AuditLog.objects.filter(message="x").exists()

    post_init.connect(fetch_audit, sender=Order, weak=False)
    try:
        with signal_inspector.record() as recording:
            list(Order.objects.all())
    finally:
        post_init.disconnect(fetch_audit, sender=Order)
    (finding,) = recording.findings
    assert finding.kind == "init_query"
    assert "post_init" in finding.title


@pytest.fixture
def listener():
    server = socket.create_server(("127.0.0.1", 0))
    server.settimeout(5)
    accepted = []

    def serve():
        try:
            conn, _ = server.accept()
            accepted.append(conn)
        except OSError:
            pass

    thread = threading.Thread(target=serve, daemon=True)
    thread.start()
    yield server.getsockname()[1]
    server.close()
    thread.join(5)
    for conn in accepted:
        conn.close()


@pytest.mark.django_db(transaction=True)
def test_a_receiver_connecting_out_is_named_and_an_on_commit_callback_is_not(listener):
    signal = Signal()

    def webhook(sender, **kwargs):
        with socket.create_connection(("127.0.0.1", listener), timeout=5):
            pass

    def deferred(sender, **kwargs):
        transaction.on_commit(
            lambda: socket.create_connection(("127.0.0.1", listener), timeout=5).close()
        )

    signal.connect(webhook, weak=False)
    with signal_inspector.record() as recording:
        signal.send(sender=None)
    (finding,) = recording.findings
    assert finding.kind == "network"
    assert finding.details == [f"127.0.0.1:{listener}"]
    assert "webhook" in finding.receiver

    other = Signal()
    other.connect(deferred, weak=False)
    with signal_inspector.record() as after_commit, transaction.atomic():
        other.send(sender=None)
    assert after_commit.findings == []  # ran at commit, after the receiver


@pytest.mark.django_db(transaction=True)
def test_a_refused_connection_is_reported_without_crashing():
    signal = Signal()
    closed = socket.create_server(("127.0.0.1", 0))
    port = closed.getsockname()[1]
    closed.close()

    def webhook(sender, **kwargs):
        try:
            socket.create_connection(("127.0.0.1", port), timeout=1)
        except OSError:
            return "down"

    signal.connect(webhook, weak=False)
    with signal_inspector.record() as recording:
        assert signal.send(sender=None) == [(webhook, "down")]
    assert kinds(recording) == ["network"]


@pytest.mark.django_db(transaction=True)
def test_mail_sent_inside_a_transaction_is_named_and_on_commit_is_not():
    signal = Signal()

    def notify(sender, **kwargs):
        mail.send_mail("Paid", "body", "a@example.com", ["b@example.com"])

    def notify_later(sender, **kwargs):
        transaction.on_commit(
            lambda: mail.send_mail("Later", "body", "a@example.com", ["b@example.com"])
        )

    signal.connect(notify, weak=False)
    with signal_inspector.record() as inside, transaction.atomic():
        signal.send(sender=None)
    with signal_inspector.record() as autocommit:
        signal.send(sender=None)
    signal.disconnect(notify)
    signal.connect(notify_later, weak=False)
    with signal_inspector.record() as deferred, transaction.atomic():
        signal.send(sender=None)
    (finding,) = inside.findings
    assert finding.kind == "before_commit"
    assert "sent mail inside an open transaction" in finding.title
    assert finding.details == ["'Paid'"]
    assert autocommit.findings == [] and deferred.findings == []
    assert len(mail.outbox) == 3


@pytest.mark.django_db
def test_a_test_cases_own_transaction_is_not_an_open_transaction():
    signal = Signal()
    signal.connect(
        lambda sender, **kw: mail.send_mail("x", "y", "a@example.com", ["b@example.com"]),
        weak=False,
    )
    with signal_inspector.record() as recording:
        signal.send(sender=None)
    assert recording.findings == []


@pytest.mark.django_db(transaction=True)
def test_a_task_enqueued_before_commit_is_named():
    tasks = pytest.importorskip("django.tasks", reason="django.tasks is new in Django 6.0")
    from tests.testapp.tasks import welcome

    signal = Signal()
    signal.connect(lambda sender, **kw: welcome.enqueue(), weak=False)
    with override_settings(
        TASKS={"default": {"BACKEND": "django.tasks.backends.dummy.DummyBackend"}}
    ), signal_inspector.record() as recording, transaction.atomic():
        signal.send(sender=None)
    assert tasks is not None
    (finding,) = recording.findings
    assert finding.kind == "before_commit"
    assert "enqueued task" in finding.title and "welcome" in finding.details[0]


@pytest.mark.django_db
def test_capture_signals_asserts_no_findings_and_names_them():
    Order.objects.create(number="1")
    with capture_signals() as signals:
        Order.objects.update(paid=True)
    assert [f.kind for f in signals.findings] == ["bypassed"]
    signals.assert_no_findings("network")
    with pytest.raises(AssertionError, match="1 signal problem found") as raised:
        signals.assert_no_findings()
    assert "audit_order_saved" in str(raised.value)
    with pytest.raises(ValueError, match="kind must be one of"):
        signals.assert_no_findings("slow")


@pytest.mark.django_db
def test_the_text_and_the_request_logger_name_findings(client, caplog):
    Order.objects.create(number="1")
    with signal_inspector.record() as recording:
        Order.objects.update(paid=True)
    text = recording.to_text()
    assert "finding: bypassed: testapp.Order.objects.update()" in text
    assert "1 finding" in text.splitlines()[-1]


def test_idle_is_djangos_own_again():
    with signal_inspector.record():
        assert QuerySet.__dict__["update"] is not DJANGO_UPDATE
        assert "connect" in socket.socket.__dict__
    assert QuerySet.__dict__["update"] is DJANGO_UPDATE
    assert QuerySet.__dict__["bulk_create"] is DJANGO_BULK_CREATE
    assert EmailMessage.__dict__["send"] is DJANGO_MAIL_SEND
    assert "connect" not in socket.socket.__dict__
    assert "connect_ex" not in socket.socket.__dict__


@pytest.mark.django_db
def test_our_own_and_the_toolbars_receivers_are_never_reported():
    with signal_inspector.record() as recording, connection.cursor() as cursor:
        for _ in range(10):
            cursor.execute("SELECT 1")
    assert recording.findings == []
    assert logging.getLogger("signal_inspector") is not None
    assert post_save is not None


@pytest.mark.django_db
def test_findings_can_be_turned_off_and_the_setting_is_checked():
    from signal_inspector.conf import validate

    Order.objects.create(number="1")
    off = {"FINDINGS": False}
    with override_settings(SIGNAL_INSPECTOR=off), signal_inspector.record() as recording:
        assert QuerySet.__dict__["update"] is DJANGO_UPDATE  # no hook at all
        Order.objects.update(paid=True)
    assert recording.findings == []
    assert validate({"FINDINGS": "no"}) == ["SIGNAL_INSPECTOR['FINDINGS'] must be bool, not str."]
    assert validate({"FINDINGS": False, "REPEATED_QUERY_THRESHOLD": True}) == [
        "SIGNAL_INSPECTOR['REPEATED_QUERY_THRESHOLD'] must be int, not bool."
    ]
