"""The toolbar panel, through the real toolbar: pages requested with Django's test
clients, panel HTML fetched from the toolbar's own ``render_panel`` view."""

from __future__ import annotations

import asyncio
import json
import re
import threading
from collections.abc import Iterator

import pytest
from asgiref.sync import async_to_sync
from debug_toolbar.store import get_store
from debug_toolbar.toolbar import DebugToolbar
from django.test import AsyncClient, Client, override_settings
from django.urls import reverse

from signal_inspector.panels import SignalInspectorPanel
from tests.testapp.models import Order

from . import panel_urls

PANEL_ID = "SignalInspectorPanel"
SECRET = "sk-live-SECRET"
HOSTILE = "<script>alert('x')</script>"
# A duration as the panel writes it: <0.1, 0.63, 1.4, 55, 1,204.
MS = r"(?:&lt;0\.1|0\.\d\d|\d\.\d|[1-9][\d,]+)"
TOOLBAR = {"SHOW_TOOLBAR_CALLBACK": "tests.urls.show_toolbar", "IS_RUNNING_TESTS": False}

pytestmark = pytest.mark.urls("tests.panel_urls")


@pytest.fixture(autouse=True)
def empty_store() -> Iterator[None]:
    get_store().clear()
    yield
    get_store().clear()


def request_id_of(response) -> str:
    match = re.search(r'data-request-id="([0-9a-f]+)"', response.content.decode())
    assert match, "the toolbar is not on the page"
    return match.group(1)


def panel_html(response, client: Client | None = None) -> str:
    client = client or Client()
    rendered = client.get(
        reverse("djdt:render_panel"),
        {"request_id": request_id_of(response), "panel_id": PANEL_ID},
    )
    assert rendered.status_code == 200
    return unbroken(rendered.json()["content"])


def unbroken(html: str) -> str:
    """The panel's HTML without the ``<wbr>`` line-break hints in dotted names."""
    return html.replace("<wbr>", "")


def nav_subtitle(response) -> str:
    page = response.content.decode()
    match = re.search(r'id="djdt-SignalInspectorPanel".*?<small>(.*?)</small>', page, re.S)
    assert match, "no subtitle for the Signals panel"
    return match.group(1)


def text(html: str) -> str:
    """Visible text, roughly: tags dropped (``<wbr>`` joins), whitespace collapsed."""
    return " ".join(re.sub(r"<[^>]+>", " ", unbroken(html)).split())


@pytest.mark.django_db
def test_pay_page_shows_receivers_outcomes_and_the_cascade(client: Client) -> None:
    order = Order.objects.create(number="A-17")
    response = client.get(f"/pay/{order.pk}/")
    assert response.status_code == 200
    html = panel_html(response)
    visible = text(html)
    assert "tests.testapp.signals.order_paid" in visible
    assert "send_robust()" in visible
    assert "tests.testapp.receivers.mark_paid" in visible
    assert "tests.testapp.receivers.refuse_hostile" in visible
    assert "tests/testapp/receivers.py:16" in visible  # where mark_paid is defined
    assert "sent from tests/testapp/views.py:18 in pay" in visible
    rows = re.findall(
        r'<td class="djdt-si-indent-(\d+)">\s*(?:<small[^>]*>#\d+</small>\s*)?'
        r'(?:<span class="djdt-si-signal">|<code[^>]*>)([^<]+)<',
        html,
    )
    # mark_paid saved the order: its post_save send sits under it, one step in.
    # (A subsequence: other test modules may connect more post_save receivers.)
    expected = [
        ("0", "tests.testapp.signals.order_paid"),
        ("1", "tests.testapp.receivers.mark_paid"),
        ("2", "django.db.models.signals.post_save"),
        ("3", "tests.testapp.receivers.audit_order_saved"),
        ("1", "tests.testapp.receivers.refuse_hostile"),
    ]
    remaining = iter(rows)
    assert all(row in remaining for row in expected), rows
    receivers = sum(1 for indent, _ in rows if int(indent) % 2)
    assert re.fullmatch(rf"2 sends · {receivers} receivers · {MS} ms", nav_subtitle(response))
    assert "&#x27;marked&#x27;" in html  # mark_paid's return value, folded
    assert "raised" not in visible
    # mark_paid's update query is attributed to it.
    assert re.search(r"mark_paid</code>.*?djdt-time\">\s*1<div class=\"djdt-si-sub\">", html, re.S)
    # Silent sends: Order's pre_init/post_init/pre_save have no receiver.
    assert "django.db.models.signals.pre_save" in html


@pytest.mark.django_db
def test_exception_is_shown_escaped_and_secrets_are_absent(client: Client) -> None:
    order = Order.objects.create(number=HOSTILE)
    response = client.get(f"/pay/{order.pk}/")
    assert response.status_code == 200
    assert nav_subtitle(response).endswith("1 error")
    html = panel_html(response)
    assert "raised (caught)" in html
    assert "ValueError: refused &lt;script&gt;alert(&#x27;x&#x27;)&lt;/script&gt;" in html
    assert "<details" in html and "Traceback" not in html  # folded, toolbar stack markup
    assert 'in <span class="djdt-func">refuse_hostile</span>' in html
    assert HOSTILE not in html
    # Nothing a Content-Security-Policy would block: no inline script or style.
    assert "<script" not in html and "style=" not in html and "<style" not in html
    assert "api_key" in html
    page = response.content.decode()
    stored = json.dumps(get_store().panel(request_id_of(response), PANEL_ID))
    for where in (html, page, stored):
        assert SECRET not in where


@pytest.mark.django_db(transaction=True)
def test_async_page_through_asgi() -> None:
    order = Order.objects.create(number="A-18")
    response = async_to_sync(AsyncClient().get)(f"/apay/{order.pk}/")
    assert response.status_code == 200
    html = panel_html(response)
    visible = text(html)
    assert "asend_robust()" in visible
    assert "tests.testapp.receivers.mark_paid" in visible
    assert "tests.testapp.receivers.refuse_hostile" in visible
    assert "django.db.models.signals.post_save" in visible


@pytest.mark.django_db
def test_server_timing_header(client: Client) -> None:
    order = Order.objects.create(number="A-19")
    response = client.get(f"/pay/{order.pk}/")
    calls = get_store().panel(request_id_of(response), PANEL_ID)["receiver_calls"]
    assert calls >= 3
    timing = response.headers["Server-Timing"]
    assert re.search(
        rf'SignalInspectorPanel_receivers;dur=[0-9.]+;desc="Signal receivers \({calls} calls\)"',
        timing,
    )


@pytest.mark.django_db
def test_loops_duplicates_skipped_and_slow(client: Client) -> None:
    with override_settings(SIGNAL_INSPECTOR={"SLOW_RECEIVER_MS": 10}):
        response = client.get("/trouble/")
    assert response.status_code == 200
    subtitle = nav_subtitle(response)
    assert "2 errors" in subtitle and "1 loop" in subtitle
    html = panel_html(response)
    visible = text(html)
    # The loop, at the top, in the alert box.
    alert = html.index('class="djdt-si-alert"')
    assert alert < html.index("<h4>Summary</h4>")
    assert "tests.panel_urls.resend → tests.panel_urls.resend" in visible
    # The receiver connected twice.
    assert "ran twice" in visible
    assert "python manage.py signalmap --duplicates" in visible
    # ...and the receiver map says why.
    assert (
        "tests.panel_urls.audit_twice is connected to tests.panel_urls.twice for any sender"
        " under 2 different dispatch_uids" in visible
    )
    # explode raised inside send(): never_runs is listed under it.
    assert "RuntimeError: &lt;b&gt;boom&lt;/b&gt;" in html
    assert "Not run because this receiver raised: tests.panel_urls.never_runs" in visible
    # The sleeping receiver is past the 10 ms threshold.
    assert re.search(
        r"dawdle</code>\s*<span class=\"djdt-si-flag djdt-si-flag-warning\">slow", html
    )
    assert "Receivers slower than 10 ms are marked slow" in visible
    # A secret literal in a traceback's source line is masked, shown and stored.
    assert "PermissionError: card declined" in html
    assert "check_card(card_token=&quot;********************&quot;)" in html
    assert "tok-LEAK-42" not in json.dumps(get_store().panel(request_id_of(response), PANEL_ID))


def test_the_toolbars_own_receivers_are_left_out(client: Client) -> None:
    response = client.get("/templated/")
    assert response.status_code == 200
    html = panel_html(response)
    assert "tests.panel_urls.note" in html
    # The render sent template_rendered to the toolbar's Templates panel, and
    # (under the test client only) to the client's own receiver: only that one shows.
    assert "debug_toolbar.panels" not in html
    assert "django.test.client.store_rendered_templates" in html
    assert re.fullmatch(rf"2 sends · 2 receivers · {MS} ms", nav_subtitle(response))


def test_a_request_that_hit_the_recursion_limit_still_shows_its_record(client: Client) -> None:
    response = client.get("/recursed/")
    assert response.status_code == 200
    assert "1 loop" in nav_subtitle(response)
    html = panel_html(response)
    visible = text(html)
    assert re.search(
        r"A receiver loop: .* tests\.panel_urls\.again → tests\.panel_urls\.again \(\d+ times,"
        r" first at send #2\)",
        visible,
    )
    assert "RecursionError" in html
    # Deep tree, shallow JSON: the store never nests more than a few levels.
    stored = get_store().panel(request_id_of(response), PANEL_ID)
    assert max(send["depth"] for send in stored["sends"]) > 100


@pytest.mark.django_db
def test_receiver_map_lists_the_receivers_of_the_signals_sent(client: Client) -> None:
    order = Order.objects.create(number="A-22")
    html = panel_html(client.get(f"/pay/{order.pk}/"))
    section = text(html[html.index("<h4>Connected receivers</h4>") :])
    assert (
        "tests.testapp.signals.order_paid 1 tests.testapp.receivers.mark_paid"
        " tests/testapp/receivers.py:16 any tests/testapp/receivers.py:16"
        " dispatch_uid testapp.mark_paid 2 tests.testapp.receivers.refuse_hostile" in section
    )
    assert (
        "django.db.models.signals.post_save 1 tests.testapp.receivers.audit_order_saved" in section
    )
    assert "testapp.Order" in section
    # Only the signals this request sent.
    assert "request_started" not in section
    assert "registered more than once" not in section


@pytest.mark.django_db
def test_on_commit_callbacks_and_hints_are_shown_under_their_receiver(client: Client) -> None:
    """Renders the ``on_commit`` and ``hints`` records the core keeps per receiver call."""
    response = client.get("/trouble/")
    request_id = request_id_of(response)
    store = get_store()
    stats = store.panel(request_id, PANEL_ID)
    (send,) = [s for s in stats["sends"] if s["signal"] == "tests.panel_urls.scheduled"]
    send["receivers"][0]["on_commit"] = [
        {"name": "tests.panel_urls.<lambda>", "using": "default", "status": "ran"},
        {"name": "<script>x</script>", "using": "other", "status": "discarded"},
    ]
    send["receivers"][0]["hints"] = [
        "Inserted 1 row(s) on an update: wrap it in `if created:`.",
        "Inserted 3 row(s) on an update.",
    ]
    store.save_panel(request_id, PANEL_ID, stats)
    visible = text(panel_html(response))
    assert "Hint: Inserted 1 row on an update: wrap it in `if created:`." in visible
    assert "Hint: Inserted 3 rows on an update." in visible
    assert "on_commit tests.panel_urls.&lt;lambda&gt; (default): ran" in visible
    assert "on_commit &lt;script&gt;x&lt;/script&gt; (other): discarded" in visible


@pytest.mark.django_db
def test_stacktraces_follow_the_toolbar_settings(client: Client) -> None:
    order = Order.objects.create(number="A-20")
    html = panel_html(client.get(f"/pay/{order.pk}/"))
    assert "<summary>Stack</summary>" in html
    assert '<span class="djdt-file">views.py</span> in <span class="djdt-func">pay</span>' in html
    stacks = "".join(re.findall(r'<pre class="djdt-stack">(.*?)</pre>', html, re.S))
    # HIDE_IN_STACKTRACES's defaults hide the handler, the toolbar and this package.
    for hidden in ("django/core/handlers", "debug_toolbar/", "signal_inspector/"):
        assert hidden not in stacks
    hide_views = {**TOOLBAR, "HIDE_IN_STACKTRACES": ("tests.testapp.views",)}
    with override_settings(DEBUG_TOOLBAR_CONFIG=hide_views):
        html = panel_html(client.get(f"/pay/{order.pk}/"))
    assert '<span class="djdt-file">views.py</span>' not in html
    assert (
        '<span class="djdt-file">receivers.py</span> in <span class="djdt-func">mark_paid' in html
    )
    with override_settings(DEBUG_TOOLBAR_CONFIG={**TOOLBAR, "ENABLE_STACKTRACES": False}):
        html = panel_html(client.get(f"/pay/{order.pk}/"))
    assert "<summary>Stack</summary>" not in html
    assert "sent from tests/testapp/views.py:18 in pay" in text(html)


@pytest.mark.django_db
def test_twenty_thousand_sends_stay_bounded(client: Client) -> None:
    response = client.get("/many/20000/")
    assert response.status_code == 200
    assert nav_subtitle(response).startswith("20000 sends · 20000 receivers")
    html = panel_html(response)
    # 1,000 kept (MAX_SENDS), all alike: drawn as one row with their count.
    assert "Showing 1000 of 20000 sends" in text(html)
    assert html.count('class="djdt-si-send') == 1
    assert "×1000" in html and "and 999 identical sends after it (to #1000)" in text(html)
    assert len(html.encode()) < 1_000_000
    stored = json.dumps(get_store().panel(request_id_of(response), PANEL_ID))
    assert len(stored) < 3_000_000


def test_a_larger_max_sends_is_stored_but_not_all_drawn(client: Client) -> None:
    with override_settings(SIGNAL_INSPECTOR={"MAX_SENDS": 3000}):
        response = client.get("/mixed/5000/")
    assert len(get_store().panel(request_id_of(response), PANEL_ID)["sends"]) == 3000
    html = panel_html(response)
    assert "Showing 500 of 5000 sends" in text(html)
    assert html.count('class="djdt-si-send') == 500
    assert len(html.encode()) < 1_000_000


def test_what_the_panel_draws_is_bounded_by_size_too(client: Client) -> None:
    # 300 sends, each with a 20 kB keyword argument: 6 MB if all were drawn.
    with override_settings(SIGNAL_INSPECTOR={"MAX_REPR_LENGTH": 20_000}):
        response = client.get("/heavy/300/20000/")
    html = panel_html(response)
    match = re.search(r"Showing (\d+) of 300 sends: the panel stops drawing", text(html))
    assert match and 10 < int(match[1]) < 100, text(html)[:600]
    assert html.count('class="djdt-si-send') == int(match[1])
    assert len(html.encode()) < 1_500_000


@pytest.mark.django_db
def test_memory_store_round_trip(client: Client) -> None:
    order = Order.objects.create(number=HOSTILE)
    response = client.get(f"/pay/{order.pk}/")
    request_id = request_id_of(response)
    raw = get_store().panel(request_id, PANEL_ID)
    assert json.loads(json.dumps(raw)) == raw  # plain JSON data only
    assert raw["total_sends"] == 2 and raw["errors"] == 1
    toolbar = DebugToolbar.fetch(request_id, PANEL_ID)
    assert toolbar is not None and toolbar.request is None
    panel = toolbar.get_panel_by_id(PANEL_ID)
    assert isinstance(panel, SignalInspectorPanel) and panel.from_store and panel.enabled
    assert panel.title == "Signals"
    assert panel.nav_subtitle == nav_subtitle(response)
    assert "tests.testapp.receivers.refuse_hostile" in unbroken(panel.content)


@pytest.fixture
def history_table(transactional_db) -> Iterator[None]:
    """The DatabaseStore's table.

    The toolbar hides its migrations unless DatabaseStore is configured at
    startup, so the table is made here from the toolbar's own model.
    """
    from debug_toolbar.models import HistoryEntry
    from django.db import connection

    with connection.schema_editor() as editor:
        editor.create_model(HistoryEntry)
    yield
    with connection.schema_editor() as editor:
        editor.delete_model(HistoryEntry)


def test_database_store_round_trip(history_table: None) -> None:
    from debug_toolbar.models import HistoryEntry

    config = {**TOOLBAR, "TOOLBAR_STORE_CLASS": "debug_toolbar.store.DatabaseStore"}
    client = Client()
    with override_settings(DEBUG_TOOLBAR_CONFIG=config):
        order = Order.objects.create(number=HOSTILE)
        response = client.get(f"/pay/{order.pk}/")
        request_id = request_id_of(response)
        entry = HistoryEntry.objects.get(request_id=request_id)
        assert PANEL_ID in entry.data
        assert SECRET not in entry.data[PANEL_ID]  # the other panels are not ours to judge
        html = panel_html(response)
        assert "tests.testapp.receivers.mark_paid" in html
        assert "ValueError: refused &lt;script&gt;" in html
        toolbar = DebugToolbar.fetch(request_id, PANEL_ID)
        assert toolbar is not None
        assert toolbar.get_panel_by_id(PANEL_ID).nav_subtitle == nav_subtitle(response)


@pytest.mark.django_db
def test_cache_store_round_trip(client: Client) -> None:
    config = {**TOOLBAR, "TOOLBAR_STORE_CLASS": "debug_toolbar.store.CacheStore"}
    with override_settings(DEBUG_TOOLBAR_CONFIG=config):
        order = Order.objects.create(number=HOSTILE)
        response = client.get(f"/pay/{order.pk}/")
        assert SECRET not in json.dumps(get_store().panel(request_id_of(response), PANEL_ID))
        html = panel_html(response)
        assert "tests.testapp.receivers.refuse_hostile" in html
        assert "ValueError: refused &lt;script&gt;" in html


@pytest.mark.django_db
def test_history_panel_switches_back_to_an_earlier_request(client: Client) -> None:
    first = Order.objects.create(number=HOSTILE)
    second = Order.objects.create(number="B-2")
    earlier = client.get(f"/pay/{first.pk}/")
    later = client.get("/many/5/")
    assert nav_subtitle(later).startswith("5 sends")
    sidebar = client.get(
        reverse("djdt:history_sidebar"), {"request_id": request_id_of(earlier)}
    ).json()
    button = sidebar[PANEL_ID]["button"]
    assert nav_subtitle(earlier) in button
    assert "1 error" in button
    # The panel's content for the earlier request still renders from the store.
    html = panel_html(earlier)
    assert "refuse_hostile" in html and "many" not in text(html)
    history = client.get(
        reverse("djdt:render_panel"),
        {"request_id": request_id_of(later), "panel_id": "HistoryPanel"},
    ).json()["content"]
    assert f"/pay/{first.pk}/" in history and "/many/5/" in history
    assert second.pk  # unused page; keeps the two orders distinct


def test_concurrent_threads_never_see_each_other() -> None:
    responses: dict[str, object] = {}

    def fetch(tag: str) -> None:
        responses[tag] = Client().get(f"/overlap/{tag}/")

    threads = [threading.Thread(target=fetch, args=(tag,)) for tag in ("alpha", "beta")]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=20)
    for tag, other in (("alpha", "beta"), ("beta", "alpha")):
        html = panel_html(responses[tag])
        # The two sends are alike: drawn once, counted twice.
        assert html.count(f"&#x27;{tag}&#x27;") == 1 and "×2" in html
        stored = get_store().panel(request_id_of(responses[tag]), PANEL_ID)
        assert [s["kwargs"]["tag"] for s in stored["sends"]] == [f"'{tag}'"] * 2
        assert other not in html


def test_concurrent_asyncio_tasks_never_see_each_other() -> None:
    panel_urls.rendezvous = panel_urls.AsyncRendezvous()

    async def both():
        client = AsyncClient()
        return await asyncio.gather(client.get("/aoverlap/gamma/"), client.get("/aoverlap/delta/"))

    gamma, delta = async_to_sync(both)()
    for response, tag, other in ((gamma, "gamma", "delta"), (delta, "delta", "gamma")):
        assert response.status_code == 200
        html = panel_html(response)
        assert html.count(f"&#x27;{tag}&#x27;") == 1 and "×2" in html
        stored = get_store().panel(request_id_of(response), PANEL_ID)
        assert [s["kwargs"]["tag"] for s in stored["sends"]] == [f"'{tag}'"] * 2
        assert other not in html
        assert nav_subtitle(response).startswith("2 sends · 2 receivers")


@pytest.mark.django_db
def test_panel_off_records_nothing(client: Client) -> None:
    order = Order.objects.create(number="A-21")
    client.cookies["djdtSignalInspectorPanel"] = "off"
    response = client.get(f"/pay/{order.pk}/")
    assert response.status_code == 200
    assert get_store().panel(request_id_of(response), PANEL_ID) == {}
    assert "SignalInspectorPanel_receivers" not in response.headers.get("Server-Timing", "")
