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
