"""The panel inside the real toolbar's request cycle: a recording that always
closes, and content the toolbar can put in a page as it is."""

from __future__ import annotations

import re
from collections.abc import Iterator

import pytest
from asgiref.sync import async_to_sync
from debug_toolbar.panels import Panel
from debug_toolbar.store import get_store
from debug_toolbar.toolbar import DebugToolbar
from django.test import AsyncClient, Client, override_settings
from django.utils.safestring import SafeString

from signal_inspector import context, patching
from tests.settings import DEBUG_TOOLBAR_CONFIG as TOOLBAR
from tests.settings import DEBUG_TOOLBAR_PANELS

pytestmark = [pytest.mark.urls("tests.panel_urls"), pytest.mark.django_db]

OURS = "signal_inspector.panels.SignalInspectorPanel"


class FailingPanel(Panel):
    """A third-party panel whose instrumentation fails to start."""

    title = "Failing"
    is_async = True  # else the toolbar leaves it out of async requests
    template = "debug_toolbar/panels/versions.html"

    def enable_instrumentation(self) -> None:
        raise RuntimeError("this panel could not enable its instrumentation")


FAILING_AFTER_OURS = [*DEBUG_TOOLBAR_PANELS, "tests.test_panel_lifecycle.FailingPanel"]


@pytest.fixture(autouse=True)
def empty_store() -> Iterator[None]:
    get_store().clear()
    yield
    get_store().clear()


def test_a_panel_failing_after_ours_leaves_no_recording_open() -> None:
    assert DEBUG_TOOLBAR_PANELS.index(OURS) < len(FAILING_AFTER_OURS) - 1
    client = Client(raise_request_exception=False)
    with override_settings(DEBUG_TOOLBAR_PANELS=FAILING_AFTER_OURS):
        assert DebugToolbar.get_panel_classes()[-1] is FailingPanel
        response = client.get("/many/3/")
        assert response.status_code == 500
    # The test client runs the request in this thread's context, as a threaded
    # server does: a recording left open here would take every later request.
    assert context.current() is None
    assert patching.open_recordings() == 0
    response = client.get("/many/3/?notoolbar=1")
    assert response.status_code == 200
    assert context.current() is None
    assert patching.open_recordings() == 0


def test_a_panel_failing_after_ours_leaves_no_recording_open_async() -> None:
    client = AsyncClient(raise_request_exception=False)
    with override_settings(DEBUG_TOOLBAR_PANELS=FAILING_AFTER_OURS):
        response = async_to_sync(client.get)("/many/3/")
        assert response.status_code == 500
    assert patching.open_recordings() == 0


def test_the_recording_closes_with_the_request() -> None:
    # The toolbar on: the recording is open for the view, closed afterwards.
    response = Client().get("/many/3/")
    assert response.status_code == 200
    assert context.current() is None
    assert patching.open_recordings() == 0


def test_the_recording_closes_with_the_request_async() -> None:
    response = async_to_sync(AsyncClient().get)("/many/3/")
    assert response.status_code == 200
    assert patching.open_recordings() == 0


def test_the_panel_renders_into_the_page_with_render_panels() -> None:
    # The toolbar's documented RENDER_PANELS = True (multi-process servers):
    # panels are rendered into the page through {{ panel.content }}.
    with override_settings(DEBUG_TOOLBAR_CONFIG={**TOOLBAR, "RENDER_PANELS": True}):
        page = Client().get("/many/3/").content.decode()
    start = page.index('id="SignalInspectorPanel"')
    ours = page[start : page.index('id="', start + 10)]
    assert '<div class="djdt-si">' in ours
    assert "&lt;div" not in ours
    assert "panel_urls.count_burst" in ours


def test_content_is_safe_like_every_toolbar_panels() -> None:
    response = Client().get("/many/3/")
    toolbar = response.context["toolbar"] if response.context else None
    if toolbar is None:
        request_id = re.search(r'data-request-id="([0-9a-f]+)"', response.content.decode())[1]
        toolbar = DebugToolbar.fetch(request_id)
    for panel in toolbar.enabled_panels:
        if panel.has_content and panel.get_stats():
            assert isinstance(panel.content, SafeString), panel.panel_id
