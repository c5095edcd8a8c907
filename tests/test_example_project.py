"""The example project works: checks, migrations, demo data, and every flow it demonstrates.

The example has its own settings, apps and database, so each test drives it the
way a user does, through ``example_project/manage.py`` in a subprocess, on a
throwaway SQLite file (``EXAMPLE_DB_PATH``).
"""

from __future__ import annotations

import json
import os
import shutil
import socket
import subprocess
import sys
import textwrap
import time
import urllib.error
import urllib.request
from pathlib import Path
from typing import Any

import pytest

REPO = Path(__file__).resolve().parent.parent
MANAGE = REPO / "example_project" / "manage.py"

# Runs first in every `manage.py shell -c` script: a test client against the
# example project, with 'testserver' allowed and the locmem outbox reset.
PRELUDE = """
import json
from django.core import mail
from django.test import Client
from django.test.utils import setup_test_environment

setup_test_environment()
client = Client()


def get(url):
    response = client.get(url)
    assert response.status_code == 200, (url, response.status_code)
    return response.content.decode()


def names(send):
    return [call["name"].rsplit(".", 1)[-1] for call in send["receivers"]]


def done(**result):
    print("RESULT " + json.dumps(result, default=str))
"""


def manage(*args: str, db: Path, timeout: float = 120) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "EXAMPLE_DB_PATH": str(db)}
    # pytest-django exported the test suite's settings; the example has its own.
    env.pop("DJANGO_SETTINGS_MODULE", None)
    return subprocess.run(
        [sys.executable, str(MANAGE), *args],
        cwd=REPO,
        env=env,
        capture_output=True,
        text=True,
        timeout=timeout,
        stdin=subprocess.DEVNULL,
    )


def shell(code: str, db: Path) -> dict[str, Any]:
    """Run ``code`` in the example project and return what it passed to ``done()``."""
    result = manage("shell", "-c", PRELUDE + textwrap.dedent(code), db=db)
    assert result.returncode == 0, result.stdout + result.stderr
    lines = [line for line in result.stdout.splitlines() if line.startswith("RESULT ")]
    assert len(lines) == 1, result.stdout + result.stderr
    return json.loads(lines[0].removeprefix("RESULT "))


@pytest.fixture(scope="module")
def seeded_template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    db = tmp_path_factory.mktemp("example") / "template.sqlite3"
    for command in (["migrate", "--no-input"], ["seed_demo"]):
        result = manage(*command, db=db)
        assert result.returncode == 0, result.stdout + result.stderr
    return db


@pytest.fixture
def db(seeded_template: Path, tmp_path: Path) -> Path:
    """A freshly seeded database of the example project, private to one test."""
    path = tmp_path / "db.sqlite3"
    shutil.copy(seeded_template, path)
    return path


def test_check_passes_and_finds_the_deliberate_mistakes(tmp_path: Path) -> None:
    result = manage("check", db=tmp_path / "db.sqlite3")
    output = result.stdout + result.stderr
    assert result.returncode == 0, output
    assert "System check identified" in output
    # Warnings, not errors: the duplicate in shop/apps.py and notifications/signals.py.
    assert "shop.receivers.email_receipt" in output
    assert "notifications.signals" in output


def test_has_no_missing_migrations(tmp_path: Path) -> None:
    result = manage("makemigrations", "--check", "--dry-run", db=tmp_path / "db.sqlite3")
    assert result.returncode == 0, result.stdout + result.stderr


COUNTS = """
from django.contrib.auth.models import User
from accounts.models import Profile
from shop.models import LoyaltyAccount, Order, OrderItem, Product

done(
    users=sorted(User.objects.values_list("username", flat=True)),
    profiles=Profile.objects.count(),
    loyalty=sorted(LoyaltyAccount.objects.values_list("customer__username", "points", "blocked")),
    products=Product.objects.count(),
    orders=sorted(Order.objects.values_list("number", "customer__username", "paid_at")),
    items=OrderItem.objects.count(),
)
"""


def test_seed_demo_is_idempotent_and_resets_paid_orders(db: Path) -> None:
    first = shell(COUNTS, db)
    assert first == {
        "users": ["admin", "alice", "mallory"],
        "profiles": 3,  # one per user, made by accounts.signals.create_profile
        "loyalty": [["admin", 0, False], ["alice", 0, False], ["mallory", 0, True]],
        "products": 3,
        "orders": [
            ["DEMO-1", "alice", None],
            ["DEMO-2", "alice", None],
            ["DEMO-3", "mallory", None],
        ],
        "items": 4,
    }

    shell('get("/orders/DEMO-1/pay/?pay=1"); done()', db)
    assert shell(COUNTS, db) != first

    result = manage("seed_demo", db=db)
    assert result.returncode == 0, result.stderr
    assert "Demo data ready" in result.stdout
    assert shell(COUNTS, db) == first


def test_paying_emails_receipts_awards_points_and_notifies_the_warehouse(db: Path) -> None:
    result = shell(
        """
        from shop.models import AuditEntry, LoyaltyAccount, Order

        html = get("/orders/DEMO-1/pay/?pay=1")
        done(
            html=html,
            emails=[(m.subject, m.to) for m in mail.outbox],
            points=LoyaltyAccount.objects.get(customer__username="alice").points,
            paid=Order.objects.get(number="DEMO-1").paid_at is not None,
            audit=list(AuditEntry.objects.values_list("action", "message")),
        )
        """,
        db,
    )
    assert "4 receivers, 0 failed" in result["html"]
    # Two receipts: email_receipt is registered twice, deliberately (shop/apps.py).
    assert result["emails"] == [["Receipt for order DEMO-1", ["alice@example.com"]]] * 2
    assert result["points"] == 41  # int(1 x 24.00 + 2 x 8.50)
    assert result["paid"] is True
    assert ["shipping", "order DEMO-1 to ship"] in result["audit"]  # the async receiver
    # The cascade: saving the loyalty account ran audit_loyalty_change.
    assert any(
        action == "loyalty" and message.endswith("now has 41 points")
        for action, message in result["audit"]
    )


def test_a_failing_receiver_is_caught_and_the_others_still_run(db: Path) -> None:
    result = shell(
        """
        from shop.models import LoyaltyAccount

        html = get("/orders/DEMO-3/pay/?pay=1")
        done(
            html=html,
            emails=len(mail.outbox),
            points=LoyaltyAccount.objects.get(customer__username="mallory").points,
        )
        """,
        db,
    )
    assert "4 receivers, 1 failed" in result["html"]
    assert "LoyaltyAccountBlocked" in result["html"]
    assert "loyalty account of mallory is blocked" in result["html"]
    assert result["emails"] == 2
    assert result["points"] == 0


def test_the_async_view_pays_with_asend_robust(db: Path) -> None:
    result = shell(
        """
        from asgiref.sync import async_to_sync
        import signal_inspector
        from shop.models import Order

        html = get("/orders/DEMO-2/apay/")
        order = Order.objects.select_related("customer").get(number="DEMO-2")
        with signal_inspector.record() as recording:
            async_to_sync(order.apay)()
        (send,) = recording.to_dict()["sends"]
        done(html=html, emails=len(mail.outbox), method=send["method"], receivers=names(send))
        """,
        db,
    )
    assert "Paid (async view, asend_robust): 4 receivers, 0 failed" in result["html"]
    assert result["emails"] == 4  # two receipts for each of the two payments
    assert result["method"] == "asend_robust"
    assert sorted(result["receivers"]) == [
        "award_loyalty_points",
        "email_receipt",
        "email_receipt",
        "notify_warehouse",
    ]


def test_recording_a_payment_shows_duplicate_error_async_and_cascade(db: Path) -> None:
    result = shell(
        """
        import signal_inspector
        from shop.models import Order

        sends = {}
        for number in ("DEMO-1", "DEMO-3"):
            order = Order.objects.select_related("customer").get(number=number)
            with signal_inspector.record() as recording:
                order.pay()
            (sends[number],) = recording.to_dict()["sends"]
        done(**sends)
        """,
        db,
    )
    paid, blocked = result["DEMO-1"], result["DEMO-3"]
    assert (paid["signal"], paid["method"], paid["sender"]) == (
        "shop.signals.order_paid",
        "send_robust",
        "shop.Order",
    )
    calls = {call["name"]: call for call in paid["receivers"]}
    assert names(paid).count("email_receipt") == 2
    assert calls["shop.receivers.email_receipt"]["duplicate"] is True
    assert calls["shop.receivers.notify_warehouse"]["is_async"] is True
    (cascade,) = calls["shop.receivers.award_loyalty_points"]["children"]
    assert (cascade["signal"], cascade["sender"]) == (
        "django.db.models.signals.post_save",
        "shop.LoyaltyAccount",
    )
    assert names(cascade) == ["audit_loyalty_change"]

    (failed,) = [c for c in blocked["receivers"] if c["outcome"] != "returned"]
    assert failed["name"] == "shop.receivers.award_loyalty_points"
    assert failed["outcome"] == "caught"
    assert failed["exception"]["type"] == "shop.receivers.LoyaltyAccountBlocked"


def test_deleting_an_order_writes_the_audit_log(db: Path) -> None:
    result = shell(
        """
        from shop.models import AuditEntry, Order

        html = get("/orders/DEMO-1/delete/?confirm=1")
        done(
            html=html,
            exists=Order.objects.filter(number="DEMO-1").exists(),
            audit=list(AuditEntry.objects.order_by("id").values_list("action", "message"))[-2:],
        )
        """,
        db,
    )
    assert "Deleted order DEMO-1" in result["html"]
    assert result["exists"] is False
    assert result["audit"] == [
        ["deleting", "order DEMO-1 with 2 items"],  # pre_delete, items still there
        ["deleted", "order DEMO-1"],
    ]


def test_creating_a_user_cascades_into_profile_and_loyalty_account(db: Path) -> None:
    result = shell(
        """
        import signal_inspector
        from django.contrib.auth.models import User

        html = client.post("/accounts/new/", {"username": "bob"}).content.decode()
        bob = User.objects.get(username="bob")
        client.force_login(bob)  # saves bob again (last_login): no second profile
        with signal_inspector.record() as recording:
            User.objects.create_user("carol")
        (send,) = recording.to_dict()["sends"]
        calls = {call["name"].rsplit(".", 1)[-1]: call for call in send["receivers"]}
        done(
            html=html,
            profile=bob.profile.pk is not None,
            loyalty=bob.loyalty.points,
            signal=send["signal"],
            receivers=sorted(calls),
            cascade=[(s["sender"], names(s)) for s in calls["open_loyalty_account"]["children"]],
        )
        """,
        db,
    )
    assert "Created <strong>bob</strong>" in result["html"]
    assert result["profile"] is True
    assert result["loyalty"] == 0
    assert result["signal"] == "django.db.models.signals.post_save"
    assert result["receivers"] == ["create_profile", "open_loyalty_account"]
    assert result["cascade"] == [["shop.LoyaltyAccount", ["audit_loyalty_change"]]]


def test_notifications_receivers_are_never_connected(db: Path) -> None:
    result = shell(
        """
        import sys
        import signal_inspector
        from shop.models import Order

        with signal_inspector.record() as recording:
            Order.objects.get(number="DEMO-1").pay()
        (send,) = recording.to_dict()["sends"]
        done(imported="notifications.signals" in sys.modules, receivers=names(send))
        """,
        db,
    )
    # The deliberate mistake in notifications/: nothing imports its signals module.
    assert result["imported"] is False
    assert "push_order_paid" not in result["receivers"]


def test_pages_render_with_our_panel_in_the_toolbar(db: Path) -> None:
    result = shell(
        """
        from debug_toolbar.settings import PANELS_DEFAULTS
        from django.conf import settings

        ours = "signal_inspector.panels.SignalInspectorPanel"
        builtin = "debug_toolbar.panels.signals.SignalsPanel"
        assert settings.DEBUG_TOOLBAR_PANELS == [
            ours if panel == builtin else panel for panel in PANELS_DEFAULTS
        ], "the example's panels should be the toolbar's defaults with ours swapped in"
        done(
            home=get("/"),
            pay=get("/orders/DEMO-1/pay/"),
            delete=get("/orders/DEMO-1/delete/"),
            new_user=get("/accounts/new/"),
        )
        """,
        db,
    )
    home = result["home"]
    for number in ("DEMO-1", "DEMO-2", "DEMO-3"):
        assert f'href="/orders/{number}/pay/?pay=1"' in home
    assert 'href="/accounts/new/?create=1"' in home
    for html in result.values():
        assert 'id="djdt-SignalInspectorPanel"' in html
        assert 'id="djdt-SignalsPanel"' not in html
    assert "Not paid." in result["pay"]
    assert "Delete order DEMO-1?" in result["delete"]


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def test_runserver_serves_the_home_page(db: Path) -> None:
    """What `make demo` ends with, on a free port."""
    port = _free_port()
    env = {**os.environ, "EXAMPLE_DB_PATH": str(db)}
    env.pop("DJANGO_SETTINGS_MODULE", None)
    server = subprocess.Popen(
        [sys.executable, str(MANAGE), "runserver", f"127.0.0.1:{port}", "--noreload"],
        cwd=REPO,
        env=env,
        stdin=subprocess.DEVNULL,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        deadline = time.monotonic() + 30
        while True:
            try:
                with urllib.request.urlopen(f"http://127.0.0.1:{port}/", timeout=5) as response:
                    status, body = response.status, response.read().decode()
                break
            except urllib.error.HTTPError:
                raise
            except OSError:  # not listening yet
                if server.poll() is not None or time.monotonic() > deadline:
                    raise
                time.sleep(0.2)
    finally:
        server.terminate()
        _, stderr = server.communicate(timeout=10)
    assert status == 200, stderr
    assert "DEMO-1" in body
    assert "djDebugToolbar" in body


def names(send: dict[str, Any]) -> list[str]:
    return [call["name"].rsplit(".", 1)[-1] for call in send["receivers"]]


def test_cancelling_shows_receivers_skipped_after_an_exception(db: Path) -> None:
    result = shell(
        """
        import signal_inspector
        from shop.models import AuditEntry, Order
        from shop.receivers import PaymentProviderDown

        order = Order.objects.select_related("customer").get(number="DEMO-1")
        with signal_inspector.record() as recording:
            try:
                order.cancel()
            except PaymentProviderDown as exc:
                error = str(exc)
        (send,) = recording.to_dict()["sends"]
        done(error=error, send=send, restocked=AuditEntry.objects.filter(action="restocked").count(),
             page=get("/orders/DEMO-1/cancel/?confirm=1"))
        """,
        db,
    )
    assert result["error"] == "refund for order DEMO-1 failed: provider unavailable"
    send = result["send"]
    assert (send["signal"], send["method"]) == ("shop.signals.order_cancelled", "send")
    assert names(send) == ["refund_payment"]
    assert send["receivers"][0]["outcome"] == "raised"
    assert [s["name"] for s in send["skipped"]] == [
        "shop.receivers.restock_items",
        "shop.receivers.email_cancellation",
    ]
    assert result["restocked"] == 0  # they really never ran
    assert "Cancelling failed:" in result["page"]


def test_restocking_loops_until_recursion_error_and_the_loop_is_named(db: Path) -> None:
    result = shell(
        """
        import signal_inspector
        from shop.models import Product, Restock

        with signal_inspector.record() as recording:
            try:
                Restock.objects.create(product=Product.objects.first(), quantity=5)
            except RecursionError:
                died = True
        sends = recording.iter_sends()
        looped = [s for s in sends if s.loop]
        done(died=died, loops=recording.loops, chain=looped[0].loop[:2],
             depth=len(sends))
        """,
        db,
    )
    assert result["died"] is True
    assert result["loops"] == 1
    assert result["chain"] == ["shop.receivers.stamp_restock", "shop.receivers.stamp_restock"]
    assert result["depth"] > 50


def test_repricing_names_the_four_signal_problems_in_the_panel(db: Path) -> None:
    result = shell(
        """
        import re
        from django.urls import reverse

        response = client.get("/products/reprice/?confirm=1")
        request_id = re.search(r'data-request-id="([0-9a-f]+)"', response.content.decode())[1]
        rendered = client.get(
            reverse("djdt:render_panel"),
            {"request_id": request_id, "panel_id": "SignalInspectorPanel"},
        )
        exported = client.get(reverse("djdt:signal_inspector_export"), {"request_id": request_id})
        findings = exported.json()["findings"]
        done(kinds=sorted({f["kind"] for f in findings}),
             details=[d for f in findings for d in f["details"]],
             panel=rendered.json()["content"])
        """,
        db,
    )
    assert result["kinds"] == ["before_commit", "bypassed", "network", "repeated_query"]
    assert "127.0.0.1:9" in result["details"]
    panel = result["panel"].replace("<wbr>", "")
    assert "4 signal problems" in panel
    assert "shop.Product.objects.update() sent no pre_save/post_save" in panel
    assert "shop.receivers.sync_product ran the same query" in panel


# Every page the home page links to, and the findings its panel shows: one kind
# of finding each on purpose (reprice: four; customers: init_query), none anywhere else.
PAGE_FINDINGS = {
    "/": [],
    "/accounts/": ["init_query"],
    "/products/reprice/?confirm=1": ["before_commit", "bypassed", "network", "repeated_query"],
    "/orders/DEMO-1/pay/?pay=1": [],
    "/orders/DEMO-3/pay/?pay=1": [],
    "/orders/DEMO-1/apay/": [],
    "/orders/DEMO-1/cancel/?confirm=1": [],
    "/orders/DEMO-2/delete/?confirm=1": [],
    "/products/1/restock/?confirm=1": [],
    "/accounts/new/?create=1": [],
}


def test_each_page_shows_its_findings_in_the_panel_and_no_other(db: Path) -> None:
    result = shell(
        f"""
        import re
        from django.urls import reverse

        client.raise_request_exception = False  # the restock page dies, on purpose
        pages = {{}}
        for url in {list(PAGE_FINDINGS)!r}:
            response = client.get(url)
            request_id = re.search(r'data-request-id="([0-9a-f]+)"', response.content.decode())[1]
            exported = client.get(
                reverse("djdt:signal_inspector_export"), {{"request_id": request_id}}
            ).json()
            pages[url] = [response.status_code, exported["findings"]]
        home = get("/")
        done(pages=pages, home=home)
        """,
        db,
    )
    kinds = {url: sorted({f["kind"] for f in found}) for url, (_, found) in result["pages"].items()}
    assert kinds == PAGE_FINDINGS
    assert result["pages"]["/products/1/restock/?confirm=1"][0] == 500
    (init,) = result["pages"]["/accounts/"][1]
    assert init["receiver"] == "accounts.signals.name_profile"
    assert init["count"] == 3  # one query per profile loaded: admin, alice, mallory
    assert "post_init" in init["title"]
    assert 'href="/accounts/"' in result["home"]
