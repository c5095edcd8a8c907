"""The toolbar panel, through the real toolbar: pages requested with Django's test
clients, panel HTML fetched from the toolbar's own ``render_panel`` view."""

from __future__ import annotations

import asyncio
import json
import re
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import django
import pytest
from asgiref.sync import async_to_sync
from debug_toolbar.store import get_store
from debug_toolbar.toolbar import DebugToolbar
from django.template.loader import render_to_string
from django.test import AsyncClient, Client, override_settings
from django.urls import reverse

from signal_inspector.panels import SignalInspectorPanel
from signal_inspector.stored import expand
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
        r'<td class="djdt-si-indent-(\d+)">\s*(?:<input [^>]*>\s*)?(?:<small[^>]*>#\d+</small>\s*)?'
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
    assert re.fullmatch(rf"2 sends · {receivers} receiver calls · {MS} ms", nav_subtitle(response))
    assert "&#x27;marked&#x27;" in html  # mark_paid's return value, folded
    assert "djdt-si-row-error" not in html and "raised (caught) see below" not in visible
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
    stored = json.dumps(expand(get_store().panel(request_id_of(response), PANEL_ID)))
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
    calls = expand(get_store().panel(request_id_of(response), PANEL_ID))["receiver_calls"]
    assert calls >= 3
    timing = response.headers["Server-Timing"]
    assert re.search(
        rf'SignalInspectorPanel_receivers;dur=[0-9.]+;desc="Signal receivers \({calls} calls\)"',
        timing,
    )


@pytest.mark.django_db
def test_loops_duplicates_skipped_and_slow(client: Client) -> None:
    with override_settings(SIGNAL_INSPECTOR={"SLOW_RECEIVER_MS": 50}):
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
    # The sleeping receiver is past the 50 ms threshold.
    assert re.search(
        r"dawdle</code>\s*<span class=\"djdt-si-flag djdt-si-flag-warning\">slow", html
    )
    assert "Receivers slower than 50 ms are marked slow" in visible
    # A secret literal in a traceback's source line is masked, shown and stored.
    assert "PermissionError: card declined" in html
    assert "check_card(card_token=&quot;********************&quot;)" in html
    assert "tok-LEAK-42" not in json.dumps(expand(get_store().panel(request_id_of(response), PANEL_ID)))


def test_the_toolbars_own_receivers_are_left_out(client: Client) -> None:
    response = client.get("/templated/")
    assert response.status_code == 200
    html = panel_html(response)
    assert "tests.panel_urls.note" in html
    # The render sent template_rendered to the toolbar's Templates panel, and
    # (under the test client only) to the client's own receiver: only that one shows.
    assert "debug_toolbar.panels" not in html
    assert "django.test.client.store_rendered_templates" in html
    assert re.fullmatch(rf"2 sends · 2 receiver calls · {MS} ms", nav_subtitle(response))


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
    stored = expand(get_store().panel(request_id_of(response), PANEL_ID))
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
    stats = expand(store.panel(request_id, PANEL_ID))  # stored back expanded: drawn as is
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
    # The core's Markdown code span is drawn as code, not as backticks.
    assert "Hint: Inserted 1 row on an update: wrap it in if created: ." in visible
    assert '<code class="djdt-si-inline">if created:</code>' in unbroken(html := panel_html(response))
    assert "`" not in html
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
    assert nav_subtitle(response).startswith("20000 sends · 20000 receiver calls")
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
    assert len(expand(get_store().panel(request_id_of(response), PANEL_ID))["sends"]) == 3000
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
    # The store keeps more than the panel draws, and less than all 6 MB.
    stats = get_store().panel(request_id_of(response), PANEL_ID)
    assert int(match[1]) < stats["stored_sends"] < 300
    assert len(json.dumps(stats)) < 3_500_000


@pytest.mark.django_db
def test_memory_store_round_trip(client: Client) -> None:
    order = Order.objects.create(number=HOSTILE)
    response = client.get(f"/pay/{order.pk}/")
    request_id = request_id_of(response)
    raw = expand(get_store().panel(request_id, PANEL_ID))
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
        assert SECRET not in json.dumps(expand(get_store().panel(request_id_of(response), PANEL_ID)))
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
        assert html.count(f"&#x27;{tag}&#x27;") == 2
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
        assert html.count(f"&#x27;{tag}&#x27;") == 2
        assert other not in html
        assert nav_subtitle(response).startswith("2 sends · 2 receiver calls")


@pytest.mark.django_db
def test_panel_off_records_nothing(client: Client) -> None:
    order = Order.objects.create(number="A-21")
    client.cookies["djdtSignalInspectorPanel"] = "off"
    response = client.get(f"/pay/{order.pk}/")
    assert response.status_code == 200
    assert expand(get_store().panel(request_id_of(response), PANEL_ID)) == {}
    assert "SignalInspectorPanel_receivers" not in response.headers.get("Server-Timing", "")


# --- issue 12: at a glance, under any policy --------------------------------------


def test_durations_read_as_people_read_them() -> None:
    from signal_inspector.panels import format_ms

    values = (0, 0.03, 0.1, 0.634, 0.996, 1.44, 9.96, 55.4, 1204.2)
    assert [format_ms(v) for v in values] == [
        "0",
        "<0.1",
        "0.10",
        "0.63",
        "1.0",  # not "1.00": each tier as rounded
        "1.4",
        "10",  # not "10.0"
        "55",
        "1,204",
    ]
    # Every duration the panel writes matches the shapes the other tests expect.
    for value in [i / 1000 for i in range(0, 20_000, 7)]:
        assert re.fullmatch(MS.replace("&lt;", "<"), format_ms(value)) or value == 0, value


def test_concurrent_receiver_time_is_counted_once_and_never_passes_the_request() -> None:
    from signal_inspector.panels import build_context, receiver_wall_ms

    def call(name: str, start: float, duration: float, is_async: bool) -> dict:
        return {
            "name": name,
            "start_ms": start,
            "duration_ms": duration,
            "is_async": is_async,
            "outcome": "returned",
            "children": [],
        }

    # As asend_robust() ran them on the example's async pay page: the async
    # receiver awaited for 115 ms while the sync ones ran in their thread.
    send = {
        "id": 1,
        "parent": None,
        "signal": "shop.signals.order_paid",
        "sender": "shop.Order",
        "method": "asend_robust",
        "start_ms": 40.0,
        "duration_ms": 115.0,
        "kwargs": {},
        "skipped": [],
        "receivers": [
            call("shop.receivers.notify_warehouse", 40.8, 114.9, True),
            call("shop.receivers.email_receipt", 41.0, 55.0, False),
            call("shop.receivers.award_loyalty_points", 96.0, 5.0, False),
            call("shop.receivers.email_receipt", 101.0, 52.4, False),
        ],
    }
    stats = {
        "sends": [send],
        "duration_ms": 120.0,
        "receiver_time_ms": 227.3,  # the core's sum of durations
        "total_sends": 1,
        "receiver_calls": 4,
        "slow_receiver_ms": 25.0,
    }
    assert receiver_wall_ms(stats) == pytest.approx(114.9)
    context = build_context(stats)
    assert context["share"] <= 100
    assert context["receiver_time"] == "115"
    warehouse = context["rows"][1]
    assert warehouse["concurrent"] and warehouse["alone"] == "2.5"
    # 115 ms of wall time, 2.5 ms of it alone: not slow.
    assert not warehouse["slow"]
    assert context["slow_count"] == 2  # the two 55 ms and 52 ms receipts


def toolbar_base_first() -> Any:
    """The toolbar's own debug_toolbar/base.html found before ours, as when
    debug_toolbar comes before signal_inspector in INSTALLED_APPS."""
    import debug_toolbar
    from django.conf import settings

    templates = str(Path(debug_toolbar.__file__).parent / "templates")
    return override_settings(TEMPLATES=[{**settings.TEMPLATES[0], "DIRS": [templates]}])


def our_link(html: str) -> list[str]:
    return re.findall(r'<link[^>]*signal_inspector/panel\.css[^>]*>', html)


def test_the_stylesheet_comes_with_the_toolbars_under_the_pages_csp_nonce(client: Client) -> None:
    pytest.importorskip("csp")
    from csp.constants import NONCE
    from django.conf import settings

    middleware = ["csp.middleware.CSPMiddleware", *settings.MIDDLEWARE]
    policy = {"DIRECTIVES": {"style-src": [NONCE], "script-src": [NONCE, "'strict-dynamic'"]}}
    with override_settings(MIDDLEWARE=middleware, CONTENT_SECURITY_POLICY=policy):
        # signal_inspector comes first in INSTALLED_APPS: its debug_toolbar/base.html
        # adds panel.css to the toolbar's stylesheets, with the page's nonce...
        response = client.get("/csp/")
        match = re.search(r"'nonce-([\w+/=]+)'", response.headers["Content-Security-Policy"])
        assert match
        page = response.content.decode()
        assert f'nonce="{match[1]}" rel="stylesheet"' in page  # the toolbar's
        assert our_link(page) == [
            f'<link nonce="{match[1]}" rel="stylesheet" href="/static/signal_inspector/panel.css"'
            ' class="djdt-si-css">'
        ]
        assert page.index("debug_toolbar/css/toolbar.css") < page.index("panel.css")
        # ...so the panel, which may be another request's (History), adds none.
        html = panel_html(response)
        assert our_link(html) == [] and match[1] not in html and "<script" not in html
        assert "INSTALLED_APPS" not in html
        # The toolbar's own base template first: the panel links it, with the
        # nonce of the request it shows, and says how to avoid that.
        with toolbar_base_first():
            response = client.get("/csp/")
            match = re.search(r"'nonce-([\w+/=]+)'", response.headers["Content-Security-Policy"])
            assert match and our_link(response.content.decode()) == []
            html = panel_html(response)
            assert our_link(html) == [
                '<link rel="stylesheet" href="/static/signal_inspector/panel.css"'
                f' class="djdt-si-css" nonce="{match[1]}">'
            ]
            assert html.count(match[1]) == 1 and "<script" not in html
            assert "before <code class=\"djdt-si-inline\">\"debug_toolbar\"</code>" in html
            # A page that used no nonce: none made up (it would not be in the
            # header), and nothing to say.
            html = panel_html(client.get("/many/2/"))
            assert 'class="djdt-si-css">' in html and " nonce=" not in html
            assert "INSTALLED_APPS" not in html


def test_a_project_template_extending_ours_keeps_the_stylesheet_in_the_toolbar(
    client: Client, tmp_path: Path
) -> None:
    from django.conf import settings

    (tmp_path / "debug_toolbar").mkdir()
    (tmp_path / "debug_toolbar" / "base.html").write_text(
        '{% extends "debug_toolbar/base.html" %}{% block js %}{{ block.super }}{% endblock %}'
    )
    with override_settings(TEMPLATES=[{**settings.TEMPLATES[0], "DIRS": [str(tmp_path)]}]):
        response = client.get("/many/2/")
        assert len(our_link(response.content.decode())) == 1
        assert our_link(panel_html(response)) == []


@pytest.mark.skipif(django.VERSION < (6,), reason="Django 6's own CSP support")
def test_the_stylesheet_carries_djangos_own_csp_nonce(client: Client) -> None:
    from django.conf import settings
    from django.utils.csp import CSP

    middleware = ["django.middleware.csp.ContentSecurityPolicyMiddleware", *settings.MIDDLEWARE]
    policy = {"style-src": [CSP.NONCE], "script-src": [CSP.NONCE, CSP.STRICT_DYNAMIC]}
    with override_settings(MIDDLEWARE=middleware, SECURE_CSP=policy):
        response = client.get("/csp/")
        match = re.search(r"'nonce-([\w+/=-]+)'", response.headers["Content-Security-Policy"])
        assert match
        assert f'<link nonce="{match[1]}" rel="stylesheet" href="/static/signal_inspector/' in (
            response.content.decode()
        )
        assert our_link(panel_html(response)) == []
        with toolbar_base_first():
            response = client.get("/csp/")
            match = re.search(r"'nonce-([\w+/=-]+)'", response.headers["Content-Security-Policy"])
            assert match
            html = panel_html(response)
            assert f'class="djdt-si-css" nonce="{match[1]}"' in html
            html = panel_html(client.get("/many/2/"))
            assert " nonce=" not in html


@pytest.mark.django_db
def test_render_panels_puts_the_panel_in_the_page_as_markup(client: Client) -> None:
    config = {**TOOLBAR, "RENDER_PANELS": True}
    with override_settings(DEBUG_TOOLBAR_CONFIG=config):
        page = unbroken(client.get("/trouble/").content.decode())
    assert '<div class="djdt-si">' in page and "&lt;div class=&quot;djdt-si" not in page
    assert "signal_inspector/panel.js" not in page
    assert "tests.panel_urls.explode" in page
    assert "RuntimeError: &lt;b&gt;boom&lt;/b&gt;" in page and "<b>boom</b>" not in page


def test_the_panel_needs_no_script(client: Client) -> None:
    response = client.get("/many/2/")
    rendered = client.get(
        reverse("djdt:render_panel"),
        {"request_id": request_id_of(response), "panel_id": PANEL_ID},
    ).json()
    # No script: filters and folding work with CSS alone, under any policy.
    assert rendered["scripts"] == []
    assert '<form class="djdt-si-filters"' in rendered["content"]
    assert "<script" not in rendered["content"]


@pytest.mark.django_db
def test_the_recording_downloads_as_json_where_the_toolbar_is_shown(client: Client) -> None:
    order = Order.objects.create(number=HOSTILE)
    response = client.get(f"/pay/{order.pk}/")
    request_id = request_id_of(response)
    html = panel_html(response)
    url = f"{reverse('djdt:signal_inspector_export')}?request_id={request_id}"
    assert f'href="{url}" download' in html
    download = client.get(url)
    assert download.status_code == 200
    assert download["Content-Type"] == "application/json"
    assert download["Content-Disposition"] == f'attachment; filename="signals-{request_id}.json"'
    assert download["X-Content-Type-Options"] == "nosniff"
    data = json.loads(download.content)
    assert (
        data["total_sends"] == 2
        and data["sends"][0]["signal"] == "tests.testapp.signals.order_paid"
    )
    assert SECRET not in download.content.decode()
    # Application text stays data: an attachment of type application/json, never HTML.
    assert HOSTILE in json.dumps(data)
    # Refused where the toolbar is refused, and for unknown or malformed ids.
    assert client.get(url, {"notoolbar": "1"}).status_code == 404
    assert client.get(url, REMOTE_ADDR="203.0.113.9").status_code == 404
    export = reverse("djdt:signal_inspector_export")
    assert client.get(export, {"request_id": "0" * 32}).status_code == 404
    assert client.get(export, {"request_id": "../etc"}).status_code == 404


def test_a_runaway_loop_is_one_error_and_is_folded(client: Client) -> None:
    response = client.get("/recursed/")
    subtitle = nav_subtitle(response)
    assert subtitle.endswith("1 error · 1 loop"), subtitle
    stored = expand(get_store().panel(request_id_of(response), PANEL_ID))
    raised = sum(c["outcome"] == "raised" for s in stored["sends"] for c in s["receivers"])
    assert raised > 100 and stored["failures"] == 1
    html = panel_html(response)
    # The first level, the fold, the deepest levels: a few rows, not hundreds.
    assert html.count('class="djdt-si-send') < 6
    assert re.search(r"folded: the loop goes \d{2,} levels deeper", text(html))
    assert re.search(r'<li class="djdt-si-stat-error"><strong>1</strong> error', html)
    assert len(html.encode()) < 100_000


def test_a_loop_of_two_receivers_is_folded_too(client: Client) -> None:
    response = client.get("/ticktock/")
    stored = expand(get_store().panel(request_id_of(response), PANEL_ID))
    assert len(stored["sends"]) == 41
    html = panel_html(response)
    # tick, tock (the first period), the fold, the last period and the last tick.
    assert html.count('class="djdt-si-send') == 5, text(html)[:2000]
    assert re.search(r"folded: the loop goes 36 levels deeper \(sends #3 to #38\)", text(html))
    fold = html[html.index('class="djdt-si-fold ') :]
    assert "tests.panel_urls.tick</code>, <code" in fold and "tests.panel_urls.tock" in fold


def test_identical_sends_fold_into_one_row_and_tables_group_them(client: Client) -> None:
    html = panel_html(client.get("/many/40/"))
    visible = text(html)
    assert html.count('class="djdt-si-send') == 1
    assert "×40" in html and "and 39 identical sends after it (to #40)" in visible
    # Receivers by total time, and sends grouped by signal and sender.
    assert re.search(r"Receivers by total time .*? tests\.panel_urls\.count_burst 40 ", visible)
    assert re.search(r"Sends by signal and sender .*? tests\.panel_urls\.burst None 40 ", visible)


@pytest.mark.django_db
def test_silent_sends_come_last_and_folded(client: Client) -> None:
    order = Order.objects.create(number="A-31")
    html = panel_html(client.get(f"/pay/{order.pk}/"))
    silent = html.index('<details class="djdt-si-silent">')
    assert html.index("<h4>Timeline</h4>") < html.index("<h4>Connected receivers</h4>") < silent
    assert "<details open" not in html
    # Nothing but silent sends: said so, without "0 sends" beside "3 silent sends".
    response = client.get("/silent/")
    assert nav_subtitle(response) == "3 silent sends (no receiver)"
    visible = text(panel_html(response))
    assert "0 send" not in visible and "0 receiver" not in visible
    assert "The request sent 3 signals, and no receiver was connected" in visible


@pytest.mark.django_db
def test_a_send_with_no_frame_of_project_code_says_where_it_was_sent() -> None:
    # A request from a thread that starts in the standard library: every frame
    # above Django's 404 page rendering is library code.
    from concurrent.futures import ThreadPoolExecutor

    with ThreadPoolExecutor(1) as pool:
        response = pool.submit(Client().get, "/no-such-page/").result(timeout=30)
    assert response.status_code == 404
    html = text(panel_html(response))
    assert "sent inside django (django/" in html
    assert "(no frame of your code)" in html


@pytest.mark.django_db
def test_the_panel_says_what_a_recording_could_not_see(client: Client) -> None:
    import functools

    from django.dispatch import Signal

    django_send = Signal.__dict__["send"]

    @functools.wraps(django_send)
    def other_tools_send(self, sender, **named):
        return django_send(self, sender, **named)

    Signal.send = other_tools_send
    try:
        order = Order.objects.create(number="LIMITS-1")
        html = text(panel_html(client.get(f"/pay/{order.pk}/")))
    finally:
        Signal.send = django_send
    assert "Signal.send was already wrapped by" in html
    assert "other_tools_send" in html


@pytest.mark.django_db
def test_what_the_store_keeps_is_bounded_whatever_max_sends_is(client: Client) -> None:
    with override_settings(SIGNAL_INSPECTOR={"MAX_SENDS": 20_000}):
        response = client.get("/mixed/20000/")
    stats = get_store().panel(request_id_of(response), PANEL_ID)
    stored = len(json.dumps(stats))  # as stored: compact (see stored.py)
    assert stats["kept_sends"] == 20_000
    assert 0 < stats["stored_sends"] < 20_000
    assert stored < 1_200_000, stored
    html = text(panel_html(response))
    assert f"The toolbar stored the first {stats['stored_sends']} of the 20000 sends" in html


# --- issue 23: the flame chart, and the panel read by a newcomer -------------------


@pytest.mark.django_db
def test_the_flame_chart_links_to_rows_the_panel_draws(client: Client) -> None:
    with override_settings(SIGNAL_INSPECTOR={"SLOW_RECEIVER_MS": 50}):
        html = panel_html(client.get("/trouble/"))
    chart = html[html.index('<svg class="djdt-si-flame-chart"') : html.index("</figure>")]
    assert "<script" not in chart and "style=" not in chart
    links = re.findall(r'<a href="#([\w-]+)"', chart)
    assert len(links) >= 5
    for target in links:
        assert f'id="{target}"' in html, target
    # The slow receiver's box, in the table's amber, says so on hover.
    # Its lines kept through the panel's white-space collapsing.
    assert re.search(r"djdt-si-fl-slow\"><title>tests\.panel_urls\.dawdle&#10;", chart)


def test_slow_is_judged_on_a_receivers_own_time_and_both_are_shown() -> None:
    from signal_inspector.panels import build_context

    def call(name: str, start: float, duration: float, children: list[int]) -> dict:
        return {"name": name, "start_ms": start, "duration_ms": duration,
                "outcome": "returned", "children": children}

    sends = [
        {"id": 1, "parent": None, "depth": 0, "signal": "app.saved", "sender": "app.A",
         "method": "send", "start_ms": 0.0, "duration_ms": 100.0, "kwargs": {},
         "skipped": [], "receivers": [call("app.caller", 0.0, 100.0, [2])]},
        {"id": 2, "parent": 1, "depth": 1, "signal": "app.touched", "sender": "app.B",
         "method": "send", "start_ms": 2.0, "duration_ms": 95.0, "kwargs": {},
         "skipped": [], "receivers": [call("app.callee", 2.0, 95.0, [])]},
    ]
    stats = {"sends": sends, "duration_ms": 120.0, "total_sends": 2, "receiver_calls": 2,
             "slow_receiver_ms": 25.0}
    context = build_context(stats)
    caller, callee = (row for row in context["rows"] if row["kind"] == "receiver")
    # 100 ms in all, 95 of them in the send it made: 5 ms of its own, not slow.
    assert not caller["slow"] and caller["own_time"] == "5.0" and caller["own_differs"]
    assert callee["slow"] and not callee["own_differs"]
    assert context["slow_count"] == 1
    html = render_to_string("signal_inspector/panel.html", context)
    # Only the figure judged turns amber, and the caller shows both figures.
    assert html.count('class="djdt-si-slow-figure"') == 1
    assert "djDebugRowWarning" not in html
    assert re.search(r"100&nbsp;ms</span><div[^>]*>own <span>5\.0&nbsp;ms", html)


@pytest.mark.django_db
def test_short_return_values_are_shown_and_long_texts_go_below_the_row(client: Client) -> None:
    html = panel_html(client.get("/many/2/"))
    # count_burst returned 0 and 1: shown in the row, not folded behind a click.
    assert re.search(r'returned <code class="djdt-si-value">0</code>', html)
    assert "<summary>returned</summary>" not in html
    html = panel_html(client.get("/trouble/"))
    # An exception's name, message and traceback: in a row of their own, the
    # table's whole width, not in the narrow Outcome column.
    below = re.findall(r'<tr class="djdt-si-below[^"]*">(.*?)</tr>', html, re.S)
    assert any("RuntimeError</code>: <span class=\"djdt-si-message\">&lt;b&gt;boom" in b
               for b in below)
    assert any("Not run because this receiver raised" in b for b in below)
    outcome_cells = re.findall(r'<span class="djdt-si-error">raised</span>(.*?)</td>', html, re.S)
    assert outcome_cells and all("boom" not in cell for cell in outcome_cells)


def test_summary_tables_only_where_calls_repeat_and_no_empty_summary(client: Client) -> None:
    html = panel_html(client.get("/many/1/"))
    assert "Receivers by total time" not in html and "Sends by signal and sender" not in html
    assert "A receiver&#x27;s time includes the sends it caused" not in html
    html = panel_html(client.get("/many/5/"))
    assert "Receivers by total time" in html and "Sends by signal and sender" in html
    # Nothing recorded: no Summary heading over nothing.
    html = panel_html(client.get("/many/0/"))
    assert "No signal was sent during this request." in html
    assert "<h4>Summary</h4>" not in html


@pytest.mark.django_db
def test_filters_name_receivers_and_rows_carry_what_they_match(client: Client) -> None:
    with override_settings(SIGNAL_INSPECTOR={"SLOW_RECEIVER_MS": 50}):
        html = panel_html(client.get("/trouble/"))
    form = html[html.index('<form class="djdt-si-filters"') : html.index("</form>")]
    assert "Only errors (2 receiver calls)" in text(form)
    assert "Only slow (1 receiver call)" in text(form)
    listed = re.findall(r'<option value="(\d+)">(tests\.panel_urls\.\w+) \((\d+) calls?\)</option>',
                        form[form.index('name="receiver"') :])
    receivers = {index: name for index, name, _ in listed}
    # Sorted by name, each with its number of calls.
    assert [name for _, name, _ in listed] == sorted(receivers.values())
    assert ("tests.panel_urls.resend", "3") in [(name, calls) for _, name, calls in listed]
    dawdle = next(index for index, name in receivers.items() if name.endswith(".dawdle"))
    rows = re.findall(r'<tr class="djdt-si-(send|receiver) ([^"]*)"', html)
    matching = [(kind, cls) for kind, cls in rows if f"djdt-si-fr{dawdle} " in f"{cls} "]
    # The receiver's row and its send's row (its context), nothing else.
    assert [kind for kind, _ in matching] == ["send", "receiver"]
    assert "djdt-si-fw" in matching[1][1] and "djdt-si-fe" not in matching[1][1]


class RenamedPanel(SignalInspectorPanel):
    """A project's subclass of the panel: its own panel id."""


def test_a_subclass_of_the_panel_gets_the_stylesheet_with_the_toolbars(client: Client) -> None:
    from django.conf import settings

    panels = [
        "tests.test_panel.RenamedPanel" if name.endswith("SignalInspectorPanel") else name
        for name in settings.DEBUG_TOOLBAR_PANELS
    ]
    with override_settings(DEBUG_TOOLBAR_PANELS=panels):
        response = client.get("/many/2/")
        assert len(our_link(response.content.decode())) == 1
        rendered = client.get(
            reverse("djdt:render_panel"),
            {"request_id": request_id_of(response), "panel_id": "RenamedPanel"},
        )
        html = rendered.json()["content"]
        assert 'class="djdt-si"' in html and our_link(html) == []
