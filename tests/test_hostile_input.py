"""Hostile input meets the recorder: exception messages that query, text that
forges log lines, records that must stay within their budgets (issue 19).

Each test goes through a public entry point: ``record()``, the logging
middleware with a real logger, the toolbar through the test client.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator
from io import StringIO

import pytest
from django.core.management import call_command
from django.db import connection
from django.dispatch import Signal
from django.http import HttpRequest, HttpResponse
from django.test import Client, override_settings
from django.test.utils import CaptureQueriesContext
from django.urls import path

import signal_inspector
from signal_inspector.naming import TRIGGERS_QUERY
from tests.testapp.models import Order
from tests.testapp.signals import order_paid

ticket_opened = Signal()


class Ticket:
    """A sender whose repr carries text a visitor typed."""

    def __init__(self, title: str) -> None:
        self.title = title

    def __repr__(self) -> str:
        return f"<Ticket {self.title}>"


def acknowledge(sender: Ticket, **kwargs: object) -> str:
    return f"seen {sender.title}"


ticket_opened.connect(acknowledge, weak=False)


def pay(request: HttpRequest, number: str) -> HttpResponse:
    order_paid.send_robust(sender=Order, order=Order.objects.create(number=number))
    return HttpResponse("paid")


def open_ticket(request: HttpRequest, title: str) -> HttpResponse:
    ticket_opened.send(sender=Ticket(title))
    return HttpResponse("opened")


urlpatterns = [path("pay/<str:number>/", pay), path("ticket/<str:title>/", open_ticket)]


class OrderLocked(Exception):
    """An exception whose message is built lazily from the database."""

    def __init__(self, pk: int) -> None:
        super().__init__(pk)
        self.pk = pk

    def __str__(self) -> str:
        return f"order {Order.objects.get(pk=self.pk).number} is locked"


@pytest.mark.django_db
def test_an_exception_whose_message_would_query_runs_no_sql() -> None:
    order = Order.objects.create(number="A-1")
    signal = Signal()

    def refuses(**kwargs: object) -> None:
        raise OrderLocked(order.pk)

    signal.connect(refuses, weak=False)
    with CaptureQueriesContext(connection) as plain, pytest.raises(OrderLocked):
        signal.send(sender=None)
    with (
        signal_inspector.record() as recording,
        CaptureQueriesContext(connection) as recorded,
        pytest.raises(OrderLocked) as raised,
    ):
        signal.send(sender=None)
    assert len(plain) == len(recorded) == 0
    (call,) = recording.to_dict()["sends"][0]["receivers"]
    assert call["outcome"] == "raised"
    assert call["exception"]["type"].endswith("OrderLocked")
    assert call["exception"]["message"] == TRIGGERS_QUERY
    # The application's own str() still queries, as it always did.
    assert str(raised.value) == "order A-1 is locked"


@pytest.mark.django_db
def test_signaltrace_keeps_the_commands_exception_whatever_its_message_does() -> None:
    code = (
        "from tests.testapp.models import Order\n"
        "Order.objects.create(number='1')\n"
        "class Hostile(Exception):\n"
        "    def __str__(self):\n"
        "        raise RuntimeError('no message')\n"
        "raise Hostile()\n"
    )
    err = StringIO()
    with pytest.raises(Exception) as raised:
        call_command("signaltrace", "shell", "-c", code, stderr=err)
    # The command's own exception goes on to Python's traceback, not ours.
    assert type(raised.value).__name__ == "Hostile"
    first = err.getvalue().splitlines()[0]
    assert first.endswith("(raised Hostile: Hostile())")


@pytest.fixture
def log_lines() -> Iterator[StringIO]:
    """What the ``signal_inspector`` logger writes, through a real handler, one
    record a line as a log file holds them."""
    stream = StringIO()
    handler = logging.StreamHandler(stream)
    handler.setFormatter(logging.Formatter("%(levelname)s:%(name)s:%(message)s"))
    logger = logging.getLogger("signal_inspector")
    level = logger.level
    logger.addHandler(handler)
    logger.setLevel(logging.DEBUG)
    try:
        yield stream
    finally:
        logger.removeHandler(handler)
        logger.setLevel(level)


FORGED = "%0AERROR:django.security:forged"
logging_only = override_settings(
    MIDDLEWARE=["signal_inspector.middleware.SignalLoggingMiddleware"]
)


@pytest.mark.django_db
@pytest.mark.urls(__name__)
@logging_only
def test_a_newline_in_the_path_cannot_forge_a_log_line(log_lines: StringIO) -> None:
    assert Client().get(f"/pay/A-1{FORGED}/").status_code == 200
    records = [line for line in log_lines.getvalue().splitlines() if ":" in line.split(" ")[0]]
    # The INFO line and the DEBUG tree's first line: nothing starts a line of its own.
    assert [line.split(":", 2)[:2] for line in records] == [
        ["INFO", "signal_inspector"], ["DEBUG", "signal_inspector"]
    ]
    assert records[0].startswith("INFO:signal_inspector:GET /pay/A-1\\nERROR:django.security:forged/ 200: ")


@pytest.mark.django_db
@pytest.mark.urls(__name__)
@logging_only
def test_text_from_the_application_cannot_forge_a_line_in_the_tree(log_lines: StringIO) -> None:
    assert Client().get(f"/ticket/T-1{FORGED}%1B%5B2J%E2%80%A8/").status_code == 200
    lines = log_lines.getvalue().split("\n")
    assert not any(line.startswith("ERROR") for line in lines)
    assert "\x1b" not in log_lines.getvalue() and "\u2028" not in log_lines.getvalue()
    tree = [line for line in lines if "<Ticket" in line]
    assert tree == [
        "tests.test_hostile_input.ticket_opened  send()  sender=<Ticket T-1\\nERROR:django.security:forged\\x1b[2J\\u2028>  "
        + tree[0].split(">  ", 1)[1]
    ]
    assert "returned 'seen T-1\\nERROR:django.security:forged\\x1b[2J\\u2028'" in log_lines.getvalue()
