"""The flame chart and the script-free panel in Chromium (see test_browser.py):
boxes where the table says, colours, hover text, links, filters and folding by
clicking, 800 and 1440 px, the dark theme, and a strict nonce-only policy."""

from __future__ import annotations

import os
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests import test_browser
from tests.test_browser import REPO, THEME_KEY, _contrast, _serve_example, open_signals_panel

# test_browser's fixtures: a Chromium page, the example project's runserver.
page = test_browser.page
example_server = test_browser.example_server

pytestmark = pytest.mark.browser

# Screenshots for a person to look at: FLAME_SCREENSHOTS=/some/dir.
SHOTS = os.environ.get("FLAME_SCREENSHOTS", "")
DOCS_PNG = REPO / "docs" / "flame.png"


@pytest.fixture
def example_server_strict_csp(tmp_path: Path) -> Iterator[str]:
    """The example project under a nonce-only policy without 'strict-dynamic'."""
    pytest.importorskip("csp", reason="django-csp is not installed")
    yield from _serve_example(tmp_path, {"EXAMPLE_CSP": "strict"})


def shoot(page: Any, name: str) -> None:
    if SHOTS:
        page.screenshot(path=str(Path(SHOTS) / f"flame-{name}.png"), full_page=False)


def test_the_chart_at_1440_and_800_pixels_light_and_dark(example_server: str, page: Any) -> None:
    from playwright.sync_api import expect

    for width in (1440, 800):
        for theme in ("light", "dark"):
            page.set_viewport_size({"width": width, "height": 1000})
            page.goto(f"{example_server}/?notoolbar")
            page.evaluate(f"localStorage.setItem('{THEME_KEY}', '{theme}')")
            panel = open_signals_panel(page, f"{example_server}/orders/DEMO-3/pay/?pay=1")
            expect(page.locator("#djDebug")).to_have_attribute("data-theme", theme)
            chart = panel.locator("svg.djdt-si-flame-chart")
            expect(chart).to_be_visible()
            layout = panel.evaluate(
                """panel => {
                    const box = panel.querySelector(".djdt-scroll").getBoundingClientRect();
                    const chart = panel.querySelector("svg.djdt-si-flame-chart")
                        .getBoundingClientRect();
                    const label = panel.querySelector("a.djdt-si-fl text");
                    const backdrop = (e) => {
                        while (e) {
                            const colour = getComputedStyle(e).backgroundColor;
                            if (colour && colour !== "rgba(0, 0, 0, 0)") return colour;
                            e = e.parentElement || e.getRootNode().host;
                        }
                        return "rgb(255, 255, 255)";
                    };
                    const rect = panel.querySelector("a.djdt-si-fl-ok rect, a.djdt-si-fl-slow rect");
                    return {inside: chart.right <= box.right + 0.5 && chart.width > 300,
                            labelFill: getComputedStyle(label).fill,
                            background: backdrop(label),
                            boxStroke: getComputedStyle(rect).stroke};
                }"""
            )
            assert layout["inside"], layout
            # Labels readable on the theme's background, boxes outlined in a colour.
            assert _contrast(layout["labelFill"], layout["background"]) >= 4.5, layout
            assert layout["boxStroke"] not in ("none", ""), layout
            shoot(page, f"{width}-{theme}")
            if width == 1440 and theme == "light":
                # The docs' picture is refreshed only when asked for.
                target = DOCS_PNG if os.environ.get("UPDATE_SCREENSHOT") else None
                if target is not None:
                    panel.locator("figure.djdt-si-flame").screenshot(path=str(target))
    assert page.problems == []  # type: ignore[attr-defined]


def visible_rows(panel: Any, kind: str) -> list[dict[str, Any]]:
    return panel.evaluate(
        """(panel, kind) => [...panel.querySelectorAll(`tr.djdt-si-${kind}`)]
            .filter(tr => tr.getClientRects().length > 0)
            .map(tr => ({id: tr.id, cls: tr.className, text: tr.textContent}))""",
        kind,
    )


@pytest.mark.urls("tests.panel_urls")
def test_boxes_colours_hover_text_and_links_match_the_table(
    live_server: Any, page: Any, settings: Any
) -> None:
    from playwright.sync_api import expect

    settings.SIGNAL_INSPECTOR = {"SLOW_RECEIVER_MS": 50}
    panel = open_signals_panel(page, f"{live_server.url}/trouble/")
    expect(panel.locator("svg.djdt-si-flame-chart")).to_be_visible()
    found = panel.evaluate(
        """panel => {
            const root = panel.getRootNode();
            const pct = v => parseFloat(v);
            const boxes = [...panel.querySelectorAll("a.djdt-si-fl")];
            const out = {boxes: boxes.length, missing: [], pairs: [], classes: {},
                         titles: boxes.map(a => a.querySelector("title").textContent)};
            for (const a of boxes) {
                const href = a.getAttribute("href");
                const kind = [...a.classList].find(c => c.startsWith("djdt-si-fl-")
                    && c !== "djdt-si-fl-merged");
                const shape = a.querySelector("svg, rect");
                out.classes[kind] = getComputedStyle(a.querySelector("rect")).stroke;
                if (!href) continue;
                const row = root.getElementById(href.slice(1));
                if (!row) { out.missing.push(href); continue; }
                if (!href.startsWith("#djdt-si-c") || a.classList.contains("djdt-si-fl-merged")) {
                    continue;
                }
                const bar = row.querySelector("svg.djdt-si-bar rect");
                out.pairs.push({href, kind,
                    flameX: pct(shape.getAttribute("x")),
                    tableX: pct(bar.getAttribute("x")),
                    rowError: row.classList.contains("djdt-si-row-error"),
                    rowSlow: row.classList.contains("djdt-si-row-slow"),
                    title: a.querySelector("title").textContent,
                    name: row.querySelector("code.djdt-si-receiver-name").textContent});
            }
            const fill = sel => getComputedStyle(panel.querySelector(sel)).fill;
            out.tableError = fill("svg.djdt-si-bar-error rect");
            out.tableSlow = fill("svg.djDebugLineChartWarning rect");
            out.tags = panel.querySelector("svg.djdt-si-flame-chart").querySelectorAll("b").length;
            return out;
        }"""
    )
    assert found["missing"] == [], found
    assert len(found["pairs"]) >= 4, found
    for pair in found["pairs"]:
        # Where the table's timeline bar starts, the box starts.
        assert abs(pair["flameX"] - pair["tableX"]) < 0.6, pair
        # The same outcome, and the hover text names the receiver.
        assert pair["rowError"] == (pair["kind"] in ("djdt-si-fl-raised", "djdt-si-fl-caught")), pair
        if pair["kind"] == "djdt-si-fl-slow":
            assert pair["rowSlow"], pair
        assert pair["title"].startswith(pair["name"]), pair
    assert {"djdt-si-fl-raised", "djdt-si-fl-slow", "djdt-si-fl-loop"} <= set(found["classes"])
    # The table's colours: error red and slow amber.
    assert found["classes"]["djdt-si-fl-raised"] == found["tableError"], found
    assert found["classes"]["djdt-si-fl-slow"] == found["tableSlow"], found
    # An exception's text is text in the hover, never markup.
    assert any("RuntimeError: <b>boom</b>" in title for title in found["titles"]), found
    assert found["tags"] == 0
    # Hovering a box reaches it (it lightens).
    box = panel.locator("a.djdt-si-fl-raised").first
    box.hover()
    expect(box.locator("rect")).to_have_css("fill-opacity", "0.7")
    assert page.problems == []  # type: ignore[attr-defined]


@pytest.mark.urls("tests.panel_urls")
def test_filters_and_folding_work_by_clicking_without_script(
    live_server: Any, page: Any, settings: Any
) -> None:
    from playwright.sync_api import expect

    settings.SIGNAL_INSPECTOR = {"SLOW_RECEIVER_MS": 50}
    panel = open_signals_panel(page, f"{live_server.url}/trouble/")
    every = visible_rows(panel, "receiver")
    assert len(every) >= 8
    assert page.evaluate("document.querySelectorAll('script[src*=signal_inspector]').length") == 0
    panel.get_by_label(re.compile("Only errors")).check()
    errors = visible_rows(panel, "receiver")
    # Receivers are filtered, not only whole sends: every row left raised.
    assert 0 < len(errors) < len(every)
    assert all("djdt-si-row-error" in row["cls"] for row in errors), errors
    panel.get_by_label(re.compile("Only errors")).uncheck()
    assert len(visible_rows(panel, "receiver")) == len(every)
    panel.get_by_label(re.compile("Only slow")).check()
    slow = visible_rows(panel, "receiver")
    # The filter shows exactly the rows the table marks slow (dawdle's, 100 ms).
    assert slow == [row for row in every if "djdt-si-row-slow" in row["cls"]], slow
    assert "tests.panel_urls.dawdle" in [row["text"].split()[0] for row in slow], slow
    assert len(slow) < len(every)
    panel.get_by_label(re.compile("Only slow")).uncheck()
    panel.locator("select[name=receiver]").select_option(label="tests.panel_urls.resend (3 calls)")
    chosen = visible_rows(panel, "receiver")
    assert len(chosen) == 3 and all("resend" in row["text"] for row in chosen), chosen
    # The flame chart dims the other receivers' boxes; the chosen one's and the
    # sends stay.
    boxes = panel.evaluate(
        """panel => [...panel.querySelectorAll("a.djdt-si-fl:not(.djdt-si-fl-merged)")].map(a => ({
            name: a.querySelector("title").textContent.split("\\n")[0],
            send: a.querySelector("title").textContent.startsWith("#"),
            opacity: getComputedStyle(a).opacity}))"""
    )
    resend = [b for b in boxes if b["name"] == "tests.panel_urls.resend"]
    others = [b for b in boxes if not b["send"] and b["name"] != "tests.panel_urls.resend"]
    assert resend and all(b["opacity"] == "1" for b in resend), resend
    assert others and all(b["opacity"] == "0.2" for b in others), others
    assert all(b["opacity"] == "1" for b in boxes if b["send"]), boxes
    # The sends around them stay, as their context.
    assert {row["text"].split()[1] for row in visible_rows(panel, "send")} == {
        "tests.panel_urls.chain"
    }
    panel.locator("select[name=receiver]").select_option(label="all")
    panel.locator("select[name=signal]").select_option(label="tests.panel_urls.slow")
    assert [row["text"].split()[0] for row in visible_rows(panel, "receiver")] == [
        "tests.panel_urls.dawdle"
    ]
    panel.locator("select[name=signal]").select_option(label="all")
    assert len(visible_rows(panel, "receiver")) == len(every)
    # Folding: an exception's traceback opens with a click.
    details = panel.locator("tr.djdt-si-below details", has_text="RuntimeError")
    expect(details.locator("pre")).to_be_hidden()
    details.locator("summary").click()
    expect(details.locator("pre")).to_be_visible()
    assert page.problems == []  # type: ignore[attr-defined]


@pytest.mark.urls("tests.panel_urls")
@pytest.mark.parametrize("shadow_dom", [True, False], ids=["shadow-dom", "no-shadow-dom"])
def test_a_click_on_a_box_brings_its_row_into_view(
    live_server: Any, page: Any, settings: Any, shadow_dom: bool
) -> None:
    # Browsers follow a fragment link into the page, not into a shadow root:
    # the box's label checks a radio button in the row, whose focus scrolls.
    from playwright.sync_api import expect

    settings.DEBUG_TOOLBAR_CONFIG = {**settings.DEBUG_TOOLBAR_CONFIG, "USE_SHADOW_DOM": shadow_dom}
    page.set_viewport_size({"width": 1440, "height": 500})
    panel = open_signals_panel(page, f"{live_server.url}/trouble/")
    assert page.evaluate("!!document.querySelector('#djDebugRoot').shadowRoot") == shadow_dom
    unmerged = "a.djdt-si-fl:not(.djdt-si-fl-merged)"
    for box in (
        panel.locator(f'{unmerged}[href^="#djdt-si-c"]').last,
        panel.locator(f'{unmerged}[href^="#djdt-si-s"]').last,
    ):
        href = box.get_attribute("href")
        row = panel.locator(f"tr{href}")
        panel.locator(".djdt-scroll").evaluate("s => s.scrollTo(0, 0)")
        assert row.evaluate("tr => tr.getBoundingClientRect().top") > 500
        box.click()
        expect(row.locator("input.djdt-si-pick")).to_be_checked()
        page.wait_for_function(
            """row => { const t = row.getBoundingClientRect().top; return t >= 0 && t < 500; }""",
            arg=row.element_handle(),
        )
        # The chosen row is outlined; the others are not.
        assert row.evaluate("tr => getComputedStyle(tr).outlineStyle") == "solid"
        assert panel.evaluate(
            """panel => [...panel.querySelectorAll("tr")]
                .filter(tr => getComputedStyle(tr).outlineStyle === "solid").length"""
        ) == 1
    assert page.problems == []  # type: ignore[attr-defined]


def test_a_strict_nonce_only_policy_dark_at_800_pixels(
    example_server_strict_csp: str, page: Any
) -> None:
    from playwright.sync_api import expect

    from tests.test_browser import assert_styled

    page.add_init_script(CSP_LISTENER)
    messages: list[str] = []
    page.on("console", lambda m: "Content Security Policy" in m.text and messages.append(m.text))
    page.set_viewport_size({"width": 800, "height": 1000})
    url = f"{example_server_strict_csp}/orders/DEMO-3/pay/?pay=1"
    response = page.goto(url)
    assert response is not None
    policy = response.headers["content-security-policy"]
    assert "script-src 'nonce-" in policy and "strict-dynamic" not in policy
    assert "style-src 'nonce-" in policy and "unsafe-inline" not in policy
    page.evaluate(f"localStorage.setItem('{THEME_KEY}', 'dark')")
    panel = open_signals_panel(page, url)
    expect(page.locator("#djDebug")).to_have_attribute("data-theme", "dark")
    assert_styled(panel)
    expect(panel.locator("svg.djdt-si-flame-chart a.djdt-si-fl").first).to_be_visible()
    before = len(visible_rows(panel, "receiver"))
    panel.get_by_label(re.compile("Only errors")).check()
    after = visible_rows(panel, "receiver")
    assert 0 < len(after) < before
    assert all("award_loyalty_points" in row["text"] for row in after), after
    details = panel.locator("tr.djdt-si-below details", has_text="LoyaltyAccountBlocked")
    details.locator("summary").click()
    expect(details.locator("pre")).to_be_visible()
    shoot(page, "800-dark-strict-csp")
    violations = page.evaluate("window.__violations")
    assert violations == [], violations
    assert messages == []
    assert page.problems == []  # type: ignore[attr-defined]


CSP_LISTENER = """
window.__violations = [];
document.addEventListener("securitypolicyviolation", (e) => {
    window.__violations.push({uri: e.blockedURI, directive: e.violatedDirective,
                              source: e.sourceFile, sample: e.sample});
}, true);
"""




def test_async_receivers_that_overlapped_are_drawn_on_rows_of_their_own(
    example_server: str, page: Any
) -> None:
    import django

    panel = open_signals_panel(page, f"{example_server}/orders/DEMO-1/apay/")
    boxes = panel.evaluate(
        """panel => [...panel.querySelectorAll("a.djdt-si-fl")].map(a => {
            const shape = a.querySelector("svg, rect");
            const x = parseFloat(shape.getAttribute("x"));
            return {name: a.querySelector("title").textContent.split("\\n")[0],
                    y: parseFloat(shape.getAttribute("y")),
                    x, end: x + parseFloat(shape.getAttribute("width"))};
        })"""
    )
    first_level = [b for b in boxes if b["name"].startswith("shop.receivers.")]
    warehouse = next(b for b in first_level if b["name"].endswith("notify_warehouse"))
    others = [b for b in first_level if b is not warehouse and b["y"] <= warehouse["y"] + 17]
    overlapping = [b for b in others if b["x"] < warehouse["end"] and warehouse["x"] < b["end"]]
    # Boxes on one row never overlap.
    for a in boxes:
        for b in boxes:
            if a is not b and a["y"] == b["y"]:
                assert a["end"] <= b["x"] + 0.02 or b["end"] <= a["x"] + 0.02, (a, b)
    if django.VERSION < (6, 1):
        # 5.2 and 6.0 gather the async receiver with the sync ones (see
        # test_browser): it ran alongside them, so it has a row of its own.
        assert overlapping and all(b["y"] != warehouse["y"] for b in overlapping), first_level
    assert page.problems == []  # type: ignore[attr-defined]


@pytest.fixture(params=[True, False], ids=["shadow-dom", "no-shadow-dom"])
def example_server_csp_shadow(request: Any, tmp_path: Path) -> Iterator[str]:
    """The example project under a nonce-only style-src, the toolbar in a
    shadow root (its default) or not."""
    pytest.importorskip("csp", reason="django-csp is not installed")
    env = {"EXAMPLE_CSP": "1"}
    if not request.param:
        (tmp_path / "no_shadow_settings.py").write_text(
            "from config.settings import *  # noqa: F403\n"
            'DEBUG_TOOLBAR_CONFIG = {"USE_SHADOW_DOM": False}\n'
        )
        env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(tmp_path), os.environ.get("PYTHONPATH")]))
        env["DJANGO_SETTINGS_MODULE"] = "no_shadow_settings"
    yield from _serve_example(tmp_path, env)


def test_the_stylesheet_applies_after_the_history_panel_switches_request(
    example_server_csp_shadow: str, page: Any
) -> None:
    """The panel's content of another request carries that request's nonce:
    the stylesheet must come with the page's own (style-src is nonce-only;
    script-src has 'strict-dynamic' here, without which the History panel's
    own script, and so the switch, is refused)."""
    from playwright.sync_api import expect

    from tests.test_browser import assert_styled

    page.add_init_script(CSP_LISTENER)
    base = example_server_csp_shadow
    earlier = f"{base}/orders/DEMO-3/pay/?pay=1"
    response = page.goto(earlier)
    assert response is not None
    assert "style-src 'nonce-" in response.headers["content-security-policy"]
    panel = open_signals_panel(page, f"{base}/orders/DEMO-1/pay/?pay=1")
    assert_styled(panel)
    # Loaded once, with the toolbar's stylesheets, in the shadow root or the page.
    assert page.evaluate(
        """() => {
            const host = document.querySelector("#djDebugRoot");
            const root = host.shadowRoot || document;
            return root.querySelectorAll("link.djdt-si-css").length;
        }"""
    ) == 1
    expect(panel).not_to_contain_text("DEMO-3")
    page.locator("#djDebugToolbar a.HistoryPanel").click()
    switch = page.locator("#HistoryPanel tr", has_text="DEMO-3").locator(".switchHistory")
    expect(switch).to_have_count(1, timeout=20_000)
    wanted = switch.get_attribute("data-request-id") or "?"
    # history.js is a module the toolbar loads async: under load a click can come
    # before its handler is there, and then does nothing. Click until it switched.
    for _ in range(6):
        switch.click()
        if page.locator("#djDebug").get_attribute("data-request-id") == wanted:
            break
        page.wait_for_timeout(2_000)
        if page.locator("#djDebug").get_attribute("data-request-id") == wanted:
            break
    expect(page.locator("#djDebug")).to_have_attribute("data-request-id", wanted)
    page.locator("#HistoryPanel .djDebugClose").click()
    page.locator("#djDebugToolbar a.SignalInspectorPanel").click()
    expect(panel.locator(".djdt-si")).to_be_visible(timeout=20_000)
    expect(panel).to_contain_text("award_loyalty_points")
    assert_styled(panel)
    ours = [v for v in page.evaluate("window.__violations") if "signal_inspector" in v["uri"]]
    assert ours == [], ours
    assert page.problems == []  # type: ignore[attr-defined]


@pytest.mark.urls("tests.panel_urls")
def test_the_cascade_downloads_as_dot_and_svg_from_the_shadow_root(
    live_server: Any, page: Any, tmp_path: Path
) -> None:
    import shutil

    panel = open_signals_panel(page, f"{live_server.url}/trouble/")
    assert page.evaluate("!!document.querySelector('#djDebugRoot').shadowRoot")
    wanted = {"the cascade (Graphviz DOT)": ".dot"}
    if shutil.which("dot"):
        wanted["(SVG)"] = ".svg"
    for text, extension in wanted.items():
        with page.expect_download() as download_info:
            panel.locator("p.djdt-si-export a", has_text=text).click()
        download = download_info.value
        assert download.suggested_filename.endswith(extension), download.suggested_filename
        path = tmp_path / download.suggested_filename
        download.save_as(path)
        content = path.read_text()
        if extension == ".dot":
            assert content.startswith("digraph ") and "tests.panel_urls.explode" in content
        else:
            assert "<svg" in content and "explode" in content
    assert page.problems == []  # type: ignore[attr-defined]
