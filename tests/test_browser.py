"""The panel in a real browser: Debian's Chromium driven by Playwright, against a
live server of the test project and a ``runserver`` of the example project.

Needs ``apt-get install -y chromium`` (never ``playwright install``). Skipped
when /usr/bin/chromium is absent, unless CI=true, where it must run.
"""

from __future__ import annotations

import json
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

import django
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


def open_signals_panel(page: Any, url: str, status: int = 200, timeout: int = 30_000) -> Any:
    from playwright.sync_api import expect

    response = page.goto(url, timeout=timeout)
    assert response is not None and response.status == status
    page.locator("#djDebugToolbar a.SignalInspectorPanel").click()
    panel = page.locator("#SignalInspectorPanel")
    expect(panel.locator(".djdt-si")).to_be_visible(timeout=max(timeout, 20_000))
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
    # More than the toolbar's 10 px: 13 px and up on a narrow window, 20 px on a wide one.
    expect(receiver_cell).to_have_css("padding-left", re.compile(r"^(1[3-9]|[2-9]\d)(\.\d+)?px$"))


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
    yield from _serve_example(tmp_path, {})


@pytest.fixture
def example_server_csp(tmp_path: Path) -> Iterator[str]:
    """The example project under a nonce-only Content Security Policy (django-csp)."""
    pytest.importorskip("csp", reason="django-csp is not installed")
    yield from _serve_example(tmp_path, {"EXAMPLE_CSP": "1"})


@pytest.fixture
def example_server_asgi(tmp_path: Path) -> Iterator[str]:
    """The example project under uvicorn, as ``make demo-asgi`` runs it."""
    pytest.importorskip("uvicorn", reason="uvicorn is not installed")
    yield from _serve_example(tmp_path, {}, asgi=True)


def _serve_example(
    tmp_path: Path, extra_env: dict[str, str], *, asgi: bool = False
) -> Iterator[str]:
    if not MANAGE.exists():
        pytest.skip("example_project/ is not there")
    env = {**os.environ, "EXAMPLE_DB_PATH": str(tmp_path / "example.sqlite3")}
    # The example has its own settings (extra_env may name a module extending them).
    env.pop("DJANGO_SETTINGS_MODULE", None)
    env.update(extra_env)
    _manage("migrate", "--noinput", env=env)
    _manage("seed_demo", env=env)
    port = _free_port()
    log = (tmp_path / "runserver.log").open("w")
    command = (
        [sys.executable, "-m", "uvicorn", "config.asgi:application", "--port", str(port)]
        if asgi
        else [sys.executable, str(MANAGE), "runserver", f"127.0.0.1:{port}", "--noreload"]
    )
    server = subprocess.Popen(
        command,
        cwd=MANAGE.parent,
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


def test_panel_in_chromium_on_the_example_project(
    example_server: str, page: Any, tmp_path: Path
) -> None:
    from playwright.sync_api import expect

    # DEMO-3 belongs to mallory, whose loyalty account is blocked: one receiver raises.
    panel = open_signals_panel(page, f"{example_server}/orders/DEMO-3/pay/?pay=1")
    button = page.locator("#djdt-SignalInspectorPanel small")
    expect(button).to_have_text(re.compile(r"\d+ sends? · \d+ receiver calls? · [\d.]+ ms · 1 error"))
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
    # The README's screenshot is refreshed only when asked for: a test run
    # leaves the checkout as it found it.
    screenshot = SCREENSHOT if os.environ.get("UPDATE_SCREENSHOT") else tmp_path / "panel.png"
    page.screenshot(path=str(screenshot))
    assert page.problems == []  # type: ignore[attr-defined]


# --- narrow windows, dark theme, CSP, async, loops --------------------------------

# The toolbar's theme switch remembers the choice here.
THEME_KEY = "djdt.user-theme"


def fits_in(panel: Any) -> dict[str, Any]:
    """Where the timeline's cells end against the panel's visible box."""
    return panel.evaluate(
        """panel => {
            const box = panel.querySelector(".djdt-scroll").getBoundingClientRect();
            const cells = [...panel.querySelectorAll("table.djdt-si-timeline th,"
                + " table.djdt-si-timeline td, table.djdt-si-map td, .djdt-si-stats li")];
            const outside = cells.filter(c => c.getBoundingClientRect().right > box.right + 0.5)
                .map(c => c.textContent.trim().slice(0, 40));
            const headers = [...panel.querySelectorAll("table.djdt-si-timeline thead th")]
                .map(th => th.textContent.trim());
            const name = [...panel.querySelectorAll("code.djdt-si-receiver-name")]
                .find(c => c.textContent === "shop.receivers.award_loyalty_points");
            const lineHeight = parseFloat(getComputedStyle(name).lineHeight) || 16;
            return {right: box.right, outside, headers,
                    nameLines: Math.round(name.getBoundingClientRect().height / lineHeight)};
        }"""
    )


def test_panel_fits_an_800_pixel_window(example_server: str, page: Any) -> None:
    page.set_viewport_size({"width": 800, "height": 1000})
    panel = open_signals_panel(page, f"{example_server}/orders/DEMO-3/pay/?pay=1")
    assert_styled(panel)
    layout = fits_in(panel)
    assert layout["right"] < 600  # the toolbar leaves the panel about 540 px
    assert layout["outside"] == [], layout
    assert [h.title() for h in layout["headers"][2:]] == ["Time", "Queries", "Outcome"]
    # Broken at its dots, not every few characters: two lines at most.
    assert layout["nameLines"] <= 2, layout
    assert page.problems == []  # type: ignore[attr-defined]


def _contrast(rgb_a: str, rgb_b: str) -> float:
    def luminance(rgb: str) -> float:
        channels = [int(v) / 255 for v in re.findall(r"\d+", rgb)[:3]]
        linear = [c / 12.92 if c <= 0.03928 else ((c + 0.055) / 1.055) ** 2.4 for c in channels]
        return 0.2126 * linear[0] + 0.7152 * linear[1] + 0.0722 * linear[2]

    high, low = sorted((luminance(rgb_a), luminance(rgb_b)), reverse=True)
    return (high + 0.05) / (low + 0.05)


def test_dark_theme_under_a_nonce_only_csp(example_server_csp: str, page: Any) -> None:
    from playwright.sync_api import expect

    violations: list[str] = []
    page.on(
        "console",
        lambda m: "Content Security Policy" in m.text and violations.append(m.text),
    )
    url = f"{example_server_csp}/orders/DEMO-3/pay/?pay=1"
    response = page.goto(url)
    assert response is not None
    policy = response.headers["content-security-policy"]
    assert "style-src 'nonce-" in policy and "unsafe-inline" not in policy
    page.evaluate(f"localStorage.setItem('{THEME_KEY}', 'dark')")
    panel = open_signals_panel(page, url)
    expect(page.locator("#djDebug")).to_have_attribute("data-theme", "dark")
    # panel.css loaded under the page's nonce (the indentation is ours)...
    assert_styled(panel)
    # ...and the filters show, with no script.
    expect(panel.locator("form.djdt-si-filters")).to_be_visible()
    colours = panel.evaluate(
        """panel => {
            const fill = sel => getComputedStyle(panel.querySelector(sel)).fill;
            const row = panel.querySelector("tr.djdt-si-receiver");
            const cells = [...panel.querySelectorAll("td, .djdt-si-stats li")];
            return {
                error: fill("svg.djdt-si-bar-error rect"),
                slow: fill("svg.djDebugLineChartWarning rect"),
                background: getComputedStyle(row).backgroundColor,
                page: getComputedStyle(panel.querySelector(".djDebugPanelContent")).backgroundColor,
                underlined: cells.filter(c => getComputedStyle(c).textDecorationLine !== "none")
                    .length,
                bottoms: [...new Set(panel.querySelectorAll("td").length
                    ? [...panel.querySelectorAll("table.djdt-si-timeline td")]
                        .map(c => getComputedStyle(c).borderBottomColor) : [])],
            };
        }"""
    )
    for bar in ("error", "slow"):
        assert _contrast(colours[bar], colours["background"]) >= 3, colours
    assert colours["underlined"] == 0
    # Every cell keeps the toolbar's border colour: no pink underline under a figure.
    assert len(colours["bottoms"]) == 1, colours
    assert violations == []
    assert page.problems == []  # type: ignore[attr-defined]


def test_async_receivers_overlap_and_never_pass_the_request(example_server: str, page: Any) -> None:
    from playwright.sync_api import expect

    panel = open_signals_panel(page, f"{example_server}/orders/DEMO-1/apay/")
    time_in_receivers = panel.locator(".djdt-si-stat-time").inner_text()
    match = re.search(r"\((\d+)% of the request", time_in_receivers)
    assert match, time_in_receivers
    assert 0 < int(match[1]) <= 100
    expect(panel.locator(".djdt-si-flag", has_text="async")).not_to_have_count(0)
    # The receivers of order_paid itself (one step in), not those of the sends they caused.
    bars = panel.locator("tbody.djdt-si-tree").first.locator(
        "tr.djdt-si-receiver:has(> td.djdt-si-indent-1) svg rect"
    )
    spans = [
        (float(x), float(x) + float(w))
        for x, w in (
            (bars.nth(i).get_attribute("x"), bars.nth(i).get_attribute("width"))
            for i in range(bars.count())
        )
    ]
    if django.VERSION >= (6, 1):
        # Django 6.1 runs the sync receivers first, then the async one: no
        # overlap, and none drawn (5.2 and 6.0 gather them together).
        assert all(a[1] <= b[0] + 0.5 for a, b in zip(spans, spans[1:], strict=False)), spans
        expect(panel).not_to_contain_text("Async receivers ran concurrently")
    else:
        # Django 5.2 and 6.0 run the async receiver while the sync ones run in a thread:
        # notify_warehouse's bar (first) overlaps theirs, and its time is wall time.
        expect(panel).to_contain_text("Async receivers ran concurrently")
        expect(panel.locator("td.djdt-time", has_text="wall")).to_have_count(1)
        first = spans[0]
        assert any(s[0] < first[1] and first[0] < s[1] for s in spans[1:]), spans
    assert page.problems == []  # type: ignore[attr-defined]


def test_a_loop_is_folded_and_its_failure_counted_once(example_server: str, page: Any) -> None:
    from playwright.sync_api import expect

    # The request dies of RecursionError: Django's debug page, with the toolbar.
    page.on("response", lambda r: None)
    # Django's debug page of a RecursionError is megabytes (16 s to serve on an idle
    # machine): a time limit, not what the test checks.
    panel = open_signals_panel(
        page, f"{example_server}/products/1/restock/?confirm=1", 500, timeout=180_000
    )
    page.problems.clear()  # type: ignore[attr-defined]  # the 500 itself
    button = page.locator("#djdt-SignalInspectorPanel small")
    expect(button).to_contain_text("1 error")
    expect(panel.locator(".djdt-si-stat-error")).to_have_text(re.compile(r"^\s*1 error\s*$"))
    fold = panel.locator("tr.djdt-si-fold")
    expect(fold).to_have_count(1)
    expect(fold).to_contain_text(re.compile(r"the loop goes \d{2,} levels deeper"))
    assert panel.locator("tr.djdt-si-receiver").count() < 10
    height = panel.locator("table.djdt-si-timeline").evaluate("t => t.offsetHeight")
    assert height < 3000
    assert page.problems == []  # type: ignore[attr-defined]


@pytest.mark.urls("tests.panel_urls")
def test_filters_and_json_export(live_server: Any, page: Any, tmp_path: Path) -> None:

    panel = open_signals_panel(page, f"{live_server.url}/trouble/")
    trees = panel.locator("tbody.djdt-si-tree")
    total = trees.count()
    assert total >= 5

    def shown() -> list[str]:
        """The text of the sends (trees) with a row left visible by the filters."""
        return panel.evaluate(
            """panel => [...panel.querySelectorAll("tbody.djdt-si-tree")]
                .filter(t => [...t.rows].some(r => r.getClientRects().length > 0))
                .map(t => t.innerText)"""
        )

    panel.get_by_label(re.compile("Only errors")).check()
    errors = shown()
    assert 0 < len(errors) < total
    assert "raised" in errors[0]
    panel.get_by_label(re.compile("Only errors")).uncheck()
    assert len(shown()) == total
    panel.locator("select[name=signal]").select_option(label="tests.panel_urls.slow")
    (only,) = shown()
    assert "tests.panel_urls.dawdle" in only
    with page.expect_download() as download_info:
        panel.get_by_text("Download the recording (JSON)").click()
    path = tmp_path / "recording.json"
    download_info.value.save_as(path)
    data = json.loads(path.read_text())
    assert sum(send["parent"] is None for send in data["sends"]) == total
    assert data["total_sends"] == len(data["sends"]) and "csp_nonce" not in data
    assert {s["signal"] for s in data["sends"]} >= {"tests.panel_urls.slow"}
    assert page.problems == []  # type: ignore[attr-defined]


def test_the_example_under_uvicorn_serves_the_toolbar(example_server_asgi: str, page: Any) -> None:
    from playwright.sync_api import expect

    # Static files (the toolbar's and ours) come from config/asgi.py's handler:
    # any 404 is in page.problems.
    panel = open_signals_panel(page, f"{example_server_asgi}/orders/DEMO-1/apay/")
    expect(panel).to_contain_text("asend_robust()")
    assert_styled(panel)
    expect(panel.locator("form.djdt-si-filters")).to_be_visible()
    assert page.problems == []  # type: ignore[attr-defined]
