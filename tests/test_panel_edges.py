"""The panel when the request does not end normally: a BaseException (asyncio's
CancelledError when a client goes away, gevent's GreenletExit) passing up through
the toolbar still closes the recording it opened."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from debug_toolbar.store import get_store
from django.db.models.signals import post_save
from django.dispatch import Signal
from django.http import HttpRequest, HttpResponse
from django.test import Client
from django.urls import path

from signal_inspector import context, patching
from tests.panel_urls import urlpatterns as panel_urlpatterns

pytestmark = [pytest.mark.urls("tests.test_panel_edges"), pytest.mark.django_db]


class Abandoned(BaseException):
    """Not an Exception: Django's handlers let it pass, as they let CancelledError."""


def abandoned(request: HttpRequest) -> HttpResponse:
    Signal().send(sender=None)
    raise Abandoned("the client went away")


urlpatterns = [path("abandoned/", abandoned), *panel_urlpatterns]


@pytest.fixture(autouse=True)
def empty_store() -> Iterator[None]:
    get_store().clear()
    yield
    get_store().clear()


def test_a_base_exception_through_the_toolbar_closes_the_recording() -> None:
    original_send = Signal.send
    with pytest.raises(Abandoned):
        Client().get("/abandoned/")
    assert context.current() is None
    assert patching.open_recordings() == 0
    # Idle again: Django's own send, nothing of ours installed.
    assert Signal.send is original_send
    assert post_save.send.__func__ is original_send  # type: ignore[attr-defined]


def test_a_panel_the_user_turned_off_records_nothing_and_has_no_subtitle() -> None:
    """The toolbar's checkbox sets the djdt<panel> cookie to "off": the panel is
    still listed (its subtitle rendered from no stats), nothing is recorded."""
    client = Client()
    client.cookies["djdtSignalInspectorPanel"] = "off"
    page = client.get("/many/3/").content.decode()
    start = page.index('id="djdt-SignalInspectorPanel"')
    entry = page[start : page.index("</li>", start)]
    assert "Signals" in entry
    assert "send" not in entry and "No signal sent" not in entry
    assert patching.open_recordings() == 0
    assert context.current() is None
    on = Client().get("/many/3/").content.decode()
    start = on.index('id="djdt-SignalInspectorPanel"')
    assert "3 sends" in on[start : on.index("</li>", start)]
