"""``SignalLoggingMiddleware`` at its edges: an async request while the logger
is off, and a request whose signals have findings (one WARNING line each)."""

from __future__ import annotations

import logging

import pytest
from asgiref.sync import async_to_sync
from django.http import HttpResponse
from django.test import AsyncClient, Client
from django.urls import path

from signal_inspector import context
from tests.test_middleware import only_ours, ours
from tests.testapp.models import Order

pytestmark = [
    pytest.mark.django_db,
    pytest.mark.urls(__name__),
]


def mark_all_paid(request):
    Order.objects.create(number="1")
    Order.objects.all().update(paid=True)  # bypasses Order's save receivers
    return HttpResponse("recording" if context.current() is not None else "idle")


async def astatus(request):
    return HttpResponse("recording" if context.current() is not None else "idle")


urlpatterns = [path("paid/", mark_all_paid), path("astatus/", astatus)]


@only_ours
def test_an_async_request_is_not_recorded_while_the_logger_is_off(caplog):
    caplog.set_level(logging.WARNING, logger="signal_inspector")
    response = async_to_sync(AsyncClient().get)("/astatus/")
    assert response.content == b"idle"
    assert ours(caplog) == []


@only_ours
def test_each_finding_of_a_request_is_a_warning_line(caplog):
    caplog.set_level(logging.INFO, logger="signal_inspector")
    response = Client().get("/paid/?token=secret")
    assert response.content == b"recording"
    line, finding = ours(caplog)
    assert line.levelno == logging.WARNING
    assert line.signals["findings"][0]["kind"] == "bypassed"
    assert finding.levelno == logging.WARNING
    message = finding.getMessage()
    assert message.startswith("GET /paid/ 200: bypassed: ")
    assert "testapp.Order.objects.update()" in message
    assert "secret" not in message
