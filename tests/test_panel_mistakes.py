"""The classic mistakes, reproduced for real in a request and named in the panel;
the correct version of each raises no diagnosis."""

from __future__ import annotations

import pytest
from debug_toolbar.store import get_store
from django.test import Client

from tests.test_panel import panel_html, text

pytestmark = [pytest.mark.urls("tests.mistakes_urls"), pytest.mark.django_db(transaction=True)]


@pytest.fixture(autouse=True)
def empty_store():
    get_store().clear()
    yield
    get_store().clear()


def test_on_commit_work_lost_to_a_rollback_is_shown_discarded(client: Client) -> None:
    visible = text(panel_html(client.get("/placed/rollback/")))
    assert "on_commit tests.mistakes_urls.send_receipt (default): discarded" in visible


def test_on_commit_work_that_committed_is_shown_ran(client: Client) -> None:
    visible = text(panel_html(client.get("/placed/commit/")))
    assert "on_commit tests.mistakes_urls.send_receipt (default): ran" in visible
    assert "discarded" not in visible


def test_missing_created_guard_gets_a_hint(client: Client) -> None:
    html = panel_html(client.get("/resave/unguarded/"))
    visible = text(html)
    assert "Hint: Inserted 1 row on an update (created=False)" in visible
    # The hint's code is drawn as code, not as Markdown backticks.
    assert 'wrap the side effect in <code class="djdt-si-inline">if created:</code>' in html
    assert "`" not in visible


def test_guarded_receiver_gets_no_hint(client: Client) -> None:
    visible = text(panel_html(client.get("/resave/guarded/")))
    assert "tests.mistakes_urls.audit_new_orders" in visible
    assert "Hint:" not in visible
