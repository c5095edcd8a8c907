"""Hostile input meets the recorder: exception messages that query, text that
forges log lines, records that must stay within their budgets (issue 19).

Each test goes through a public entry point: ``record()``, the logging
middleware with a real logger, the toolbar through the test client.
"""

from __future__ import annotations

import contextlib
import json
import logging
import re
from collections.abc import Callable, Iterator
from io import StringIO

import pytest
from debug_toolbar.store import get_store
from django.core.management import call_command
from django.db import connection
from django.dispatch import Signal
from django.http import HttpRequest, HttpResponse
from django.test import Client, override_settings
from django.test.utils import CaptureQueriesContext
from django.urls import include, path, reverse

import signal_inspector
from signal_inspector.naming import TRIGGERS_QUERY
from signal_inspector.panels import MAX_RENDERED_BYTES, MAX_STORED_BYTES
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




def pay(request: HttpRequest, number: str) -> HttpResponse:
    order_paid.send_robust(sender=Order, order=Order.objects.create(number=number))
    return HttpResponse("paid")


def open_ticket(request: HttpRequest, title: str) -> HttpResponse:
    ticket_opened.send(sender=Ticket(title))
    return HttpResponse("opened")


fragile = Signal()


def breaks(sender: object, **kwargs: object) -> None:
    raise LookupError("the receivers after this one are not run")




def _never_run(index: int) -> Callable[..., None]:
    def receiver(sender: object, **kwargs: object) -> None:
        return None

    receiver.__qualname__ = f"receiver_{index:03d}_of_a_long_list_connected_to_a_fragile_signal"
    return receiver




def many_failures(request: HttpRequest) -> HttpResponse:
    """400 sends whose first receiver raises: 60 receivers not run in each."""
    for _ in range(400):
        with contextlib.suppress(LookupError):
            fragile.send(sender=None)
    return HttpResponse("<html><body>done</body></html>")


noticed = Signal()


def notes(sender: object, **kwargs: object) -> None:
    return None




def many_senders(request: HttpRequest) -> HttpResponse:
    """10,000 sends, each from a sender of its own (a 160-character repr)."""
    for index in range(10_000):
        noticed.send(sender=Ticket(f"{'x' * 150} {index}"))
    return HttpResponse("<html><body>done</body></html>")


WIDE = [f"wide_{index}" for index in range(6)]
for _name in WIDE:
    globals()[_name] = Signal()  # module-level: the receiver map finds them


def wide_sends(request: HttpRequest) -> HttpResponse:
    """Six signals with 200 receivers each, sent once."""
    for name in WIDE:
        globals()[name].send(sender=None)
    return HttpResponse("<html><body>done</body></html>")


@pytest.fixture(autouse=True)
def connected() -> Iterator[None]:
    """The receivers above, connected for each test only: the rest of the suite
    (signalmap, the checks) never sees them."""
    wiring = [(ticket_opened, acknowledge), (fragile, breaks), (noticed, notes)]
    wiring += [(fragile, _never_run(index)) for index in range(60)]
    wiring += [(globals()[name], _never_run(index)) for name in WIDE for index in range(200)]
    for signal, receiver in wiring:
        signal.connect(receiver, weak=False)
    yield
    for signal, receiver in wiring:
        signal.disconnect(receiver)


urlpatterns = [
    path("wide/", wide_sends),
    path("many-senders/", many_senders),
    path("pay/<str:number>/", pay),
    path("ticket/<str:title>/", open_ticket),
    path("many-failures/", many_failures),
    path("__debug__/", include("debug_toolbar.urls")),
]


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


@pytest.mark.django_db
@pytest.mark.urls(__name__)
@override_settings(SIGNAL_INSPECTOR={"MAX_SENDS": 10_000})
def test_receivers_not_run_count_against_the_store_and_panel_budgets() -> None:
    get_store().clear()
    client = Client()
    response = client.get("/many-failures/")
    request_id = re.search(r'data-request-id="([0-9a-f]+)"', response.content.decode())[1]
    stored = get_store().panel(request_id, "SignalInspectorPanel")
    assert stored["kept_sends"] == 400
    # Cut by the budget, and said so (not all 400 sends stored).
    assert 0 < stored["stored_sends"] < 400
    assert len(json.dumps(stored)) < 1.25 * MAX_STORED_BYTES
    content = client.get(
        reverse("djdt:render_panel"),
        {"request_id": request_id, "panel_id": "SignalInspectorPanel"},
    ).json()["content"]
    assert len(content) < 1.25 * MAX_RENDERED_BYTES
    assert "receiver_059_of_a_long_list" in content  # the lists are drawn, within the budget
    get_store().clear()


def test_a_kwarg_name_is_bounded_as_its_value_is() -> None:
    signal = Signal()
    signal.connect(acknowledge, weak=False)
    with signal_inspector.record() as recording:
        signal.send(sender=Ticket("T"), **{"k" * 100_000: "v", "token" + "x" * 500: "S-1"})
    (send,) = recording.to_dict()["sends"]
    assert [len(name) for name in send["kwargs"]] == [200, 200]
    assert list(send["kwargs"].values()) == ["'v'", "********************"]


@pytest.mark.django_db
@pytest.mark.urls(__name__)
@override_settings(SIGNAL_INSPECTOR={"MAX_SENDS": 10_000})
def test_senders_stored_once_each_count_against_the_store_budget() -> None:
    """Signal, method and sender are stored once in a table: its rows weigh too."""
    get_store().clear()
    response = Client().get("/many-senders/")
    request_id = re.search(r'data-request-id="([0-9a-f]+)"', response.content.decode())[1]
    stored = get_store().panel(request_id, "SignalInspectorPanel")
    assert stored["kept_sends"] == 10_000
    assert 0 < stored["stored_sends"] < 10_000
    assert len(json.dumps(stored)) < 1.25 * MAX_STORED_BYTES
    get_store().clear()


@pytest.mark.django_db
@pytest.mark.urls(__name__)
def test_the_stored_receiver_map_is_bounded_in_all() -> None:
    """200 rows per signal, and 1,000 in all: the map is stored with the request."""
    get_store().clear()
    response = Client().get("/wide/")
    request_id = re.search(r'data-request-id="([0-9a-f]+)"', response.content.decode())[1]
    stored = get_store().panel(request_id, "SignalInspectorPanel")
    entries = [e for e in stored["receiver_map"]["signals"] if e["signal"].rsplit(".", 1)[1] in WIDE]
    assert len(entries) == 6
    assert sum(len(e["receivers"]) for e in entries) <= 1000
    assert sum(len(e["receivers"]) + e["more"] for e in entries) == 1200  # and says so
    get_store().clear()
