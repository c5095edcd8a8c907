"""The docs say what the code does: every setting with its default, every docs URL
the package prints leads to a page, and each command's documented options are its
``--help``'s. Read from the code itself (conf.py's defaults, the checks' own hints,
the commands' own parsers), so a key, option or page added on one side only fails."""

from __future__ import annotations

import ast
import re
from argparse import ArgumentParser
from pathlib import Path
from typing import Any

import pytest
from django.core.checks import run_checks
from django.core.management import BaseCommand, load_command_class
from django.test import override_settings

from signal_inspector import checks, conf

ROOT = Path(__file__).resolve().parent.parent
DOCS = ROOT / "docs"
DOCS_URL = checks.DOCS_URL
PACKAGE = ROOT / "signal_inspector"


def page_for(url: str) -> Path:
    """The docs/*.md source of a docs-site URL (``.../checks/W005.html#cause``)."""
    assert url.startswith(DOCS_URL), url
    page = url[len(DOCS_URL) :].split("#", 1)[0]
    assert page.endswith(".html"), url
    return DOCS / (page[: -len(".html")] + ".md")


def python_blocks(page: str) -> list[str]:
    return re.findall(r"```python\n(.*?)```", (DOCS / page).read_text(), re.DOTALL)


def documented_dicts(page: str, name: str) -> list[dict[str, Any]]:
    """The dict literals assigned to ``name`` in the ```python blocks of a docs page."""
    found = []
    for block in python_blocks(page):
        for node in ast.parse(block).body:
            if (
                isinstance(node, ast.Assign)
                and isinstance(node.targets[0], ast.Name)
                and node.targets[0].id == name
            ):
                value = ast.literal_eval(node.value)
                assert isinstance(value, dict)
                found.append(value)
    assert found, f"docs/{page} has no ```python block assigning {name}"
    return found


def test_settings_reference_lists_every_key_with_its_default() -> None:
    [reference] = documented_dicts("settings.md", "SIGNAL_INSPECTOR")
    assert reference == conf.DEFAULTS


def test_opentelemetry_options_are_documented_with_their_defaults() -> None:
    [reference] = [
        value["OPENTELEMETRY"]
        for value in documented_dicts("opentelemetry.md", "SIGNAL_INSPECTOR")
        if isinstance(value.get("OPENTELEMETRY"), dict)
    ]
    assert reference == conf.OPENTELEMETRY_OPTIONS


def test_every_docs_url_in_the_package_leads_to_a_page() -> None:
    urls = []
    for path in PACKAGE.rglob("*"):
        if path.suffix in {".py", ".html", ".js", ".css", ".txt"}:
            urls += re.findall(
                r"https://django-signal-inspector\.readthedocs\.io[^\s\"'`)<>]*", path.read_text()
            )
    urls = [url.rstrip(".,:;") for url in urls]
    assert urls, "no docs URL in the package: the checks' hints should name their pages"
    for url in urls:
        if url.startswith(DOCS_URL) and url != DOCS_URL:
            assert page_for(url).is_file(), url
        else:
            assert url.rstrip("/") + "/" in (DOCS_URL, DOCS_URL.rsplit("en/latest/", 1)[0]), url


@pytest.mark.parametrize(
    "value",
    [{"MAX_SEND": 1}, {"MAX_SENDS": "many"}, ["MAX_SENDS"], {"OPENTELEMETRY": {"SPANS": 1}}],
)
def test_the_settings_checks_hint_names_a_docs_page_that_exists(value: Any) -> None:
    with override_settings(SIGNAL_INSPECTOR=value):
        found = [m for m in run_checks() if m.id == "signal_inspector.W005"]
    assert found
    for message in found:
        [url] = re.findall(r"https://\S+", message.hint or "")
        assert page_for(url) == DOCS / "settings.md"
        assert "README" not in message.hint


def test_every_check_id_has_its_page_under_the_docs_url() -> None:
    source = (PACKAGE / "checks.py").read_text()
    ids = set(re.findall(r"signal_inspector\.([EW]\d{3})", source))
    assert {"W001", "W005", "W011"} <= ids
    for check in ids:
        assert page_for(f"{checks.DOCS_URL}checks/{check}.html").is_file(), check


def own_options(command: str) -> dict[str, list[str] | None]:
    """The command's options beyond every command's own (--verbosity, --settings...),
    each with its choices."""
    common = {
        option
        for action in BaseCommand().create_parser("manage.py", "x")._actions
        for option in action.option_strings
    }
    parser: ArgumentParser = load_command_class("signal_inspector", command).create_parser(
        "manage.py", command
    )
    return {
        action.option_strings[-1]: sorted(map(str, action.choices)) if action.choices else None
        for action in parser._actions
        if action.option_strings and not set(action.option_strings) <= common
    }


def synopsis(page: str, command: str) -> str:
    """The ``manage.py <command> [...]`` block of a docs page."""
    text = (DOCS / page).read_text()
    match = re.search(rf"```\n(manage\.py {command} \[.*?)```", text, re.DOTALL)
    assert match, f"docs/{page} has no synopsis of {command}"
    return match[1]


@pytest.mark.parametrize(
    ("command", "page"), [("signalmap", "signalmap.md"), ("signaltrace", "testing.md")]
)
def test_documented_options_are_the_commands_options(command: str, page: str) -> None:
    options = own_options(command)
    usage = synopsis(page, command)
    documented = set(re.findall(r"\[(--[a-z-]+)", usage)) - {"--no-color", "--force-color"}
    assert documented == set(options)
    for option, choices in options.items():
        if choices:
            shown = re.search(rf"\[{option} \{{([a-z,]+)\}}\]", usage)
            assert shown, option
            assert sorted(shown[1].split(",")) == choices
    text = (DOCS / page).read_text()
    for option in options:
        # Each option is explained, not only named in the synopsis.
        assert text.count(f"`{option}") >= 1, option


def test_signalmaps_options_table_has_a_row_for_every_option() -> None:
    table = (
        (DOCS / "signalmap.md").read_text().split("| Option | Meaning |", 1)[1].split("\n\n", 1)[0]
    )
    rows = set(re.findall(r"^\| `(--[a-z-]+)", table, re.MULTILINE))
    assert set(own_options("signalmap")) <= rows


def test_command_help_points_at_docs_urls_not_repository_paths() -> None:
    for command in ("signalmap", "signaltrace"):
        parser = load_command_class("signal_inspector", command).create_parser("manage.py", command)
        help_text = parser.format_help()
        assert not re.search(r"docs/[\w-]+\.md", help_text), command
        for url in re.findall(r"https://django-signal-inspector\.readthedocs\.io\S*", help_text):
            assert page_for(url.rstrip(".,:;)")).is_file(), url


def test_every_assertion_of_capture_signals_is_in_the_testing_pages_table() -> None:
    from signal_inspector.testing import SignalCapture

    public = {name for name in vars(SignalCapture) if not name.startswith("_")}
    methods = {name for name in public if callable(getattr(SignalCapture, name))}
    text = (DOCS / "testing.md").read_text()
    table = text.split("| Method | Checks / returns |", 1)[1].split("\n\n", 1)[0]
    rows = set(re.findall(r"`(\w+)\(", table))
    assert {m for m in methods if m.startswith("assert_")} <= rows
    for name in methods:
        # In the table, or named as code (`name(`) elsewhere on the page.
        assert f"`{name}(" in text, name


def test_no_page_repeats_another() -> None:
    """No sentence of prose (outside code blocks) is on two pages: a topic has one page,
    and the others link to it. (contributing.md and security.md only include the
    repository's own files.)"""
    pages: dict[str, set[Path]] = {}
    for page in DOCS.rglob("*.md"):
        text = re.sub(r"```.*?```", "", page.read_text(), flags=re.DOTALL)
        prose = " ".join(p for p in text.split("\n\n") if not p.lstrip().startswith("|"))
        for sentence in re.split(r"(?<=[.:;])\s+", re.sub(r"\s+", " ", prose)):
            if len(sentence) > 70:
                pages.setdefault(sentence, set()).add(page.relative_to(DOCS))
    repeated = {s: sorted(map(str, p)) for s, p in pages.items() if len(p) > 1}
    assert not repeated


def test_the_third_party_panels_entry_names_the_panel_class() -> None:
    text = (DOCS / "panel.md").read_text()
    section = text.split("## In django-debug-toolbar's list of third-party panels", 1)[1]
    [entry] = re.findall(r"```rst\n(.*?)```", section, re.DOTALL)
    title, underline = entry.splitlines()[:2]
    assert underline == "~" * len(title)  # as the toolbar's docs/panels.rst underlines
    [path] = re.findall(r"^Path: ``([\w.]+)``$", entry, re.MULTILINE)
    assert path == checks.PANEL_PATH
    module, name = path.rsplit(".", 1)
    assert getattr(__import__(module, fromlist=[name]), name).__name__ == name
    assert "``signal_inspector`` first in ``INSTALLED_APPS``" in entry
