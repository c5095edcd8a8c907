"""``SignalLoggingMiddleware``: one ``signal_inspector`` log line per request, sync and async."""

from __future__ import annotations

import logging

import pytest
from asgiref.sync import async_to_sync
from django.http import HttpResponse
from django.test import AsyncClient, Client, override_settings
from django.urls import path

from signal_inspector import context
from tests.testapp.models import Order
from tests.testapp.signals import order_paid

pytestmark = [
    pytest.mark.django_db,
    pytest.mark.urls(__name__),
]


def pay(request, number):
    order = Order.objects.create(number=number)
    order_paid.send_robust(sender=Order, order=order)
    return HttpResponse("recording" if context.current() is not None else "idle")


async def apay(request, number):
    order = await Order.objects.acreate(number=number)
    await order_paid.asend_robust(sender=Order, order=order)
    return HttpResponse("recording" if context.current() is not None else "idle")


urlpatterns = [path("pay/<str:number>/", pay), path("apay/<str:number>/", apay)]

only_ours = override_settings(MIDDLEWARE=["signal_inspector.middleware.SignalLoggingMiddleware"])


def ours(caplog):
    return [r for r in caplog.records if r.name == "signal_inspector"]


@only_ours
def test_one_info_line_per_request(caplog):
    caplog.set_level(logging.INFO, logger="signal_inspector")
    response = Client().get("/pay/A-1/?token=secret")
    assert response.content == b"recording"
    (record,) = ours(caplog)
    assert record.levelno == logging.INFO
    message = record.getMessage()
    assert message.startswith("GET /pay/A-1/ 200: 3 sends, 4 receiver calls, ")
    assert message.endswith(" ms in receivers, 0 errors, 8 silent sends")
    assert "secret" not in message  # no query string
    assert record.signals["sends"] == 3
    assert record.signals["receiver_calls"] == 4
    assert record.signals["errors"] == record.signals["loops"] == 0


@only_ours
def test_a_receiver_error_is_a_warning_and_debug_adds_the_tree(caplog):
    caplog.set_level(logging.DEBUG, logger="signal_inspector")
    Client().get("/pay/<hostile>/")
    line, tree = ours(caplog)
    assert line.levelno == logging.WARNING
    assert ", 1 error" in line.getMessage()
    assert tree.levelno == logging.DEBUG
    text = tree.getMessage()
    assert text.startswith("GET /pay/<hostile>/ 200 signals:\n")
    assert (
        "└─ tests.testapp.receivers.refuse_hostile" in text
        and "raised (caught by send_robust) ValueError: refused <hostile>" in text
    )


@only_ours
def test_nothing_is_recorded_while_the_logger_is_off(caplog):
    caplog.set_level(logging.WARNING, logger="signal_inspector")
    response = Client().get("/pay/<hostile>/")
    assert response.content == b"idle"
    assert ours(caplog) == []


@only_ours
def test_async_requests_are_logged(caplog):
    caplog.set_level(logging.DEBUG, logger="signal_inspector")
    response = async_to_sync(AsyncClient().get)("/apay/A-2/")
    assert response.content == b"recording"
    line, tree = ours(caplog)
    assert line.getMessage().startswith("GET /apay/A-2/ 200: 3 sends, 4 receiver calls, ")
    assert "tests.testapp.signals.order_paid  asend_robust()  sender=testapp.Order" in tree.getMessage()
