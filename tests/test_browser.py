"""The panel in a real browser: Debian's Chromium driven by Playwright, against a
live server of the test project and a ``runserver`` of the example project.

Needs ``apt-get install -y chromium`` (never ``playwright install``). Skipped
when /usr/bin/chromium is absent, unless CI=true, where it must run.
"""

from __future__ import annotations

import os
import re
import socket
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.testapp.models import Order

pytestmark = pytest.mark.browser

REPO = Path(__file__).resolve().parent.parent
MANAGE = REPO / "example_project" / "manage.py"
SCREENSHOT = REPO / "docs" / "panel.png"
CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
]
SERVER_LIFETIME_S = 300


@pytest.fixture
def page(monkeypatch: pytest.MonkeyPatch) -> Iterator[Any]:
    """A Chromium page that records console errors, failed loads and dialogs."""
    if not os.path.exists(CHROMIUM):
        message = f"{CHROMIUM} is absent: apt-get install -y chromium"
        if os.environ.get("CI", "").lower() == "true":
            pytest.fail(message)
        pytest.skip(message)
    from playwright.sync_api import sync_playwright

    # Playwright's sync API runs an event loop in this thread; the test's own
    # ORM calls are still synchronous.
    monkeypatch.setenv("DJANGO_ALLOW_ASYNC_UNSAFE", "true")
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        try:
            page = browser.new_page(viewport={"width": 1440, "height": 1000})
            page.problems = []  # type: ignore[attr-defined]
            page.on(
                "console",
                lambda m: (
                    m.type == "error"
                    and not m.text.startswith("Failed to load resource")  # see "response"
                    and page.problems.append(f"console: {m.text}")
                ),
            )
            page.on(
                "response",
                lambda r: (
                    r.status >= 400
                    and not r.url.endswith("/favicon.ico")
                    and page.problems.append(f"HTTP {r.status}: {r.url}")
                ),
            )
            page.on("pageerror", lambda e: page.problems.append(f"page error: {e}"))
            page.on("dialog", lambda d: (page.problems.append(f"dialog: {d.message}"), d.dismiss()))
            yield page
        finally:
            browser.close()


def open_signals_panel(page: Any, url: str) -> Any:
    from playwright.sync_api import expect

    response = page.goto(url)
    assert response is not None and response.status == 200
    page.locator("#djDebugToolbar a.SignalInspectorPanel").click()
    panel = page.locator("#SignalInspectorPanel")
    expect(panel.locator(".djdt-si")).to_be_visible()
    return panel


def open_exception(panel: Any, exception_type: str) -> Any:
    """Click the folded exception open; return its traceback."""
    from playwright.sync_api import expect

    details = panel.locator("details", has=panel.page.locator("summary", has_text=exception_type))
    expect(details).to_have_count(1)
    traceback = details.locator("pre.djdt-stack")
    expect(traceback).to_be_hidden()
    details.locator("summary").click()
    expect(traceback).to_be_visible()
    return traceback


def assert_styled(panel: Any) -> None:
    """panel.css reached the toolbar's shadow DOM: receivers are indented under sends.

    The stylesheet arrives with the panel's HTML and loads after it, so this waits.
    """
    from playwright.sync_api import expect

    receiver_cell = panel.locator("td.djdt-si-indent-1").first
    expect(receiver_cell).to_have_css("padding-left", re.compile(r"^(2\d|[3-9]\d)(\.\d+)?px$"))


@pytest.mark.urls("tests.panel_urls")
def test_panel_in_chromium_on_the_test_project(live_server: Any, page: Any, tmp_path: Path) -> None:
    from playwright.sync_api import expect

    order = Order.objects.create(number="<img src=x onerror=alert(1)>")
    panel = open_signals_panel(page, f"{live_server.url}/pay/{order.pk}/")
    expect(panel).to_contain_text("tests.testapp.signals.order_paid")
    expect(panel).to_contain_text("tests.testapp.receivers.mark_paid")
    expect(panel).to_contain_text("tests.testapp.receivers.audit_order_saved")
    expect(panel).to_contain_text("raised (caught)")
    traceback = open_exception(panel, "ValueError")
    expect(traceback).to_contain_text("refuse_hostile")
    expect(traceback).to_contain_text("ValueError: refused <img src=x onerror=alert(1)>")
    assert_styled(panel)
    assert "sk-live-SECRET" not in panel.inner_text()
    page.screenshot(path=str(tmp_path / "panel.png"))
    assert page.problems == []  # type: ignore[attr-defined]


# --- the example project ---------------------------------------------------------


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _manage(*args: str, env: dict[str, str]) -> None:
    result = subprocess.run(
        [sys.executable, str(MANAGE), *args],
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 0, (args, result.stdout, result.stderr)


@pytest.fixture
def example_server(tmp_path: Path) -> Iterator[str]:
    """``runserver`` of the example project on a free loopback port and a fresh database."""
    if not MANAGE.exists():
        pytest.skip("example_project/ is not there")
    env = {**os.environ, "EXAMPLE_DB_PATH": str(tmp_path / "example.sqlite3")}
    env.pop("DJANGO_SETTINGS_MODULE", None)  # the example has its own settings
    _manage("migrate", "--noinput", env=env)
    _manage("seed_demo", env=env)
    port = _free_port()
    log = (tmp_path / "runserver.log").open("w")
    server = subprocess.Popen(
        [sys.executable, str(MANAGE), "runserver", f"127.0.0.1:{port}", "--noreload"],
        env=env,
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    # However the test ends, the server does not outlive this bound.
    watchdog = threading.Timer(SERVER_LIFETIME_S, server.kill)
    watchdog.start()
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                with urllib.request.urlopen(f"{base}/?notoolbar", timeout=5):
                    break
            except (urllib.error.URLError, ConnectionError):
                if server.poll() is not None or time.monotonic() > deadline:
                    log.flush()
                    raise AssertionError(
                        "runserver did not start:\n" + (tmp_path / "runserver.log").read_text()
                    ) from None
                time.sleep(0.2)
        yield base
    finally:
        watchdog.cancel()
        server.terminate()
        try:
            server.wait(timeout=10)
        except subprocess.TimeoutExpired:
            server.kill()
            server.wait(timeout=10)
        log.close()


def test_panel_in_chromium_on_the_example_project(example_server: str, page: Any) -> None:
    from playwright.sync_api import expect

    # DEMO-3 belongs to mallory, whose loyalty account is blocked: one receiver raises.
    panel = open_signals_panel(page, f"{example_server}/orders/DEMO-3/pay/?pay=1")
    button = page.locator("#djdt-SignalInspectorPanel small")
    expect(button).to_have_text(re.compile(r"\d+ sends? · \d+ receivers? · [\d.]+ ms · 1 error"))
    expect(panel).to_contain_text("shop.signals.order_paid")
    expect(panel).to_contain_text("shop.receivers.email_receipt")
    expect(panel).to_contain_text("shop.receivers.award_loyalty_points")
    expect(panel).to_contain_text("shop.receivers.notify_warehouse")
    expect(panel).to_contain_text("raised (caught)")
    expect(panel.locator(".djdt-si-flag", has_text="slow")).not_to_have_count(0)
    traceback = open_exception(panel, "LoyaltyAccountBlocked")
    expect(traceback).to_contain_text("award_loyalty_points")
    expect(traceback).to_contain_text("loyalty account of mallory is blocked")
    assert_styled(panel)
    SCREENSHOT.parent.mkdir(exist_ok=True)
    page.screenshot(path=str(SCREENSHOT))
    assert page.problems == []  # type: ignore[attr-defined]
