"""Findings in the panel, in Chromium: the example project's reprice page."""

from __future__ import annotations

from typing import Any

import pytest

from tests.test_browser import example_server, open_signals_panel, page  # noqa: F401

pytestmark = pytest.mark.browser


def test_the_reprice_page_shows_one_finding_of_each_kind(example_server: str, page: Any) -> None:  # noqa: F811
    from playwright.sync_api import expect

    panel = open_signals_panel(page, f"{example_server}/products/reprice/?confirm=1")
    box = panel.locator(".djdt-si-findings")
    expect(box).to_be_visible()
    expect(box.locator("h4")).to_have_text("4 signal problems")
    for kind in ("bypassed", "repeated_query", "network", "before_commit"):
        expect(box.locator(f"li.djdt-si-finding-{kind}")).to_have_count(1)
    expect(box).to_contain_text("shop.Product.objects.update() sent no pre_save/post_save")
    expect(box).to_contain_text("connected to 127.0.0.1:9 while the request waited")
    expect(box).to_contain_text("Call it from transaction.on_commit()")
    assert page.problems == []  # type: ignore[attr-defined]


def test_the_example_pages_show_every_kind_and_the_others_none(
    example_server: str, page: Any  # noqa: F811
) -> None:
    """Each of the five kinds is named in the panel of a page the home page links
    to (docs/example-project.md says which), and a page with no mistake of this
    sort shows no findings box."""
    from playwright.sync_api import expect

    page.goto(f"{example_server}/")
    links = page.locator("a").evaluate_all("links => links.map(a => a.getAttribute('href'))")
    seen: dict[str, list[str]] = {}
    for path in ("/products/reprice/?confirm=1", "/accounts/"):
        assert path in links  # one click from the home page
        panel = open_signals_panel(page, f"{example_server}{path}")
        box = panel.locator(".djdt-si-findings")
        expect(box).to_be_visible()
        seen[path] = sorted(
            c.removeprefix("djdt-si-finding-")
            for item in box.locator("li[class*='djdt-si-finding-']").all()
            for c in (item.get_attribute("class") or "").split()
            if c.startswith("djdt-si-finding-")
        )
    assert seen == {
        "/products/reprice/?confirm=1": ["before_commit", "bypassed", "network", "repeated_query"],
        "/accounts/": ["init_query"],
    }
    box = page.locator("#SignalInspectorPanel .djdt-si-findings")
    expect(box.locator("h4")).to_have_text("One signal problem")
    expect(box).to_contain_text("accounts.signals.name_profile (post_init) ran a query")
    expect(box).to_contain_text("Don't query in post_init receivers")
    for path in ("/", "/orders/DEMO-1/pay/?pay=1"):
        panel = open_signals_panel(page, f"{example_server}{path}")
        expect(panel.locator(".djdt-si-findings")).to_have_count(0)
    assert page.problems == []  # type: ignore[attr-defined]
