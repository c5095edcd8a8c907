"""The pictures: ``signalmap --format dot|svg|png|html`` and ``signaltrace
--format dot|svg|html``, drawn by the real Graphviz ``dot`` and read back
through Graphviz's own output (``-Tjson``, SVG)."""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
import xml.etree.ElementTree as ET
from collections.abc import Iterator
from io import StringIO
from pathlib import Path
from typing import Any

import pytest
from django.core.management import CommandError, call_command
from django.dispatch import Signal
from django.test import Client
from django.urls import reverse

from signal_inspector import graphs
from tests.test_signalmap import run

REPO = Path(__file__).resolve().parent.parent
needs_dot = pytest.mark.skipif(
    shutil.which("dot") is None, reason="Graphviz's dot is not installed (apt-get install graphviz)"
)

PAY = (
    "from tests.testapp.models import Order; "
    "from tests.testapp.signals import order_paid; "
    "order_paid.send_robust(sender=Order, order=Order.objects.create(number='<x>'))"
)

# A signal whose receiver has a name no label should take as markup.
hostile_sent = Signal()
HOSTILE = 'on_<script>alert("x")</script>\\n & back\\slash'


def _hostile(**kwargs: Any) -> None:
    return None


_hostile.__qualname__ = HOSTILE


@pytest.fixture
def hostile() -> Iterator[str]:
    hostile_sent.connect(_hostile, weak=False, dispatch_uid="tests.hostile")
    try:
        yield f"tests.test_graphs.{HOSTILE}"
    finally:
        hostile_sent.disconnect(dispatch_uid="tests.hostile")


def graphviz_json(dot: str) -> dict[str, Any]:
    """The graph as Graphviz read it: nodes by name, edges as (tail, head, attrs)."""
    data = json.loads(graphs.render(dot, "json"))
    objects = data.get("objects", [])
    by_id = {o["_gvid"]: o for o in objects if "nodes" not in o}
    clusters = {o["label"]: {by_id[n]["name"] for n in o["nodes"]} for o in objects if "nodes" in o}
    edges = [(by_id[e["tail"]]["name"], by_id[e["head"]]["name"], e) for e in data.get("edges", [])]
    return {"nodes": {o["name"]: o for o in by_id.values()}, "clusters": clusters, "edges": edges}


def svg_texts(svg: str) -> list[str]:
    root = ET.fromstring(svg)  # well-formed, or this raises
    return [t.text or "" for t in root.iter("{http://www.w3.org/2000/svg}text")]


# --- DOT text ----------------------------------------------------------------------


@needs_dot
@pytest.mark.parametrize(
    "text",
    ['plain', 'quote " inside', "back\\slash \\l \\N \\G", "<b>tag</b> & amp", "tab\there", "é ☃"],
)
def test_quoted_text_is_drawn_as_written(text: str) -> None:
    dot = f"digraph g {{ n [label={graphs.quote(text)}]; }}"
    drawn = svg_texts(graphs.render(dot, "svg").decode())
    expected = text.replace("\t", "\\x09")
    assert drawn == [expected]


@needs_dot
def test_a_newline_in_text_is_a_line_break() -> None:
    dot = f"digraph g {{ n [label={graphs.quote('one' + chr(10) + 'two')}]; }}"
    assert svg_texts(graphs.render(dot, "svg").decode()) == ["one", "two"]


# --- signalmap ---------------------------------------------------------------------


@needs_dot
def test_signalmap_dot_draws_signals_receivers_apps_senders_and_duplicates() -> None:
    out, err, code = run("--format", "dot", "--signal", "ping", "--signal", "post_save")
    assert (err, code) == ("", 0)
    graph = graphviz_json(out)
    nodes = graph["nodes"]
    ping = "signal tests.dupapp.signals.ping"
    assert nodes[ping]["shape"] == "ellipse"
    assert "signal django.db.models.signals.post_save" in nodes
    receivers = {name for name in nodes if name.startswith("receiver ")}
    # Receivers clustered by app; the module imported under a second name is in none.
    assert set().union(*graph["clusters"].values()) == receivers
    assert set(graph["clusters"]) == {"app: dupapp", "app: testapp", "not in an app"}
    assert any("dupapp_alias" in name for name in graph["clusters"]["not in an app"])
    edges = [(tail, head, attrs) for tail, head, attrs in graph["edges"] if tail == ping]
    assert len(edges) == 18  # every live registration of ping, as the text lists them
    red = [e for e in edges if e[2].get("color") == graphs.DUPLICATE]
    assert len(red) == 10  # the 5 duplicate groups' registrations (test_json_duplicates_only)
    assert all(re.search(r"duplicate #\d", e[2]["label"]) for e in red)
    for _, head, _ in red:
        assert nodes[head]["color"] == graphs.DUPLICATE
    # Sender-specific edges say their sender; any-sender edges have no label.
    per_sender = sorted(e[2].get("label", "") for e in edges if "handlers.per_sender" in e[1])
    assert per_sender == ["dupapp.Thing", "tests.dupapp.handlers.PlainSender"]
    post_save = [
        e[2].get("label") for e in graph["edges"] if e[0] == "signal django.db.models.signals.post_save"
    ]
    assert "dupapp.ThingProxy (proxy)" in post_save and '"dupapp.Later"' not in post_save


@needs_dot
def test_signalmap_dot_is_byte_stable_and_svg_too() -> None:
    import gc

    # Weak receivers earlier tests left for the cycle collector would leave the map
    # between the two runs: the same project means the same live receivers.
    gc.collect()
    first, _, _ = run("--format", "dot", "--all")
    second, _, _ = run("--format", "dot", "--all")
    assert first == second
    assert "0x" not in first and " at 0x" not in first
    svg_one, _, _ = run("--format", "svg", "--signal", "ping")
    svg_two, _, _ = run("--format", "svg", "--signal", "ping")
    assert svg_one == svg_two
    assert svg_one.startswith("<?xml")


@needs_dot
@pytest.mark.parametrize(
    ("args", "signals", "receiver"),
    [
        (("--signal", "pong"), {"tests.dupapp.signals.pong"}, "tests.dupapp.handlers.shared"),
        (("--app", "testapp"), {"django.db.models.signals.post_save", "tests.testapp.signals.order_paid"},
         "tests.testapp.receivers.mark_paid"),
        (("--sender", "tests.dupapp.handlers.PlainSender"), {"tests.dupapp.signals.ping"},
         "tests.dupapp.handlers.per_sender"),
    ],
)
def test_signalmap_dot_filters_as_the_text_does(
    args: tuple[str, ...], signals: set[str], receiver: str
) -> None:
    out, _, _ = run("--format", "dot", *args)
    nodes = graphviz_json(out)["nodes"]
    assert {n.removeprefix("signal ") for n in nodes if n.startswith("signal ")} == signals
    assert any(n.startswith(f"receiver {receiver} ") for n in nodes)
    text, _, _ = run("--no-color", *args)
    drawn = {n.split(" ")[1] for n in nodes if n.startswith("receiver ")}
    listed = set(re.findall(r"^  \d+ +\S.*?  (\S+)  ", text, re.M))
    assert drawn == listed


@needs_dot
def test_signalmap_dot_hides_django_ours_and_the_toolbars_until_asked() -> None:
    out, _, _ = run("--format", "dot")
    names = graphviz_json(out)["nodes"]
    receivers = [n for n in names if n.startswith("receiver ")]
    assert receivers and all(n.startswith(("receiver tests.", "receiver dupapp_alias.")) for n in receivers)
    assert re.search(r"Not drawn: \d+ receivers of Django and installed packages", out)
    everything, _, _ = run("--format", "dot", "--all", "--include-inspector")
    nodes = graphviz_json(everything)["nodes"]
    for name in ("django.contrib.auth.models.update_last_login", "signal_inspector.conf._reset",
                 "debug_toolbar.settings.update_toolbar_config"):
        assert any(n.startswith(f"receiver {name} ") for n in nodes), name
    django_node = next(n for n in nodes.values() if "update_last_login" in n["name"])
    assert django_node["fillcolor"] == graphs.OTHER_FILL  # not the project's own
    without_tools, _, _ = run("--format", "dot", "--all")
    assert "signal_inspector.conf._reset" not in without_tools
    assert "debug_toolbar.settings" not in without_tools


@needs_dot
def test_hostile_receiver_names_are_escaped_in_dot_svg_and_html(hostile: str) -> None:
    out, _, _ = run("--format", "dot", "--signal", "hostile_sent")
    nodes = graphviz_json(out)["nodes"]
    [node] = [n for n in nodes if n.startswith("receiver ")]
    # Graphviz keeps an ID's backslashes escaped (only \" is an escape in an ID).
    assert node.startswith("receiver " + hostile.replace("\\", "\\\\") + " ")
    svg, _, _ = run("--format", "svg", "--signal", "hostile_sent")
    assert HOSTILE in svg_texts(svg)
    page, _, _ = run("--format", "html", "--signal", "hostile_sent")
    assert "<script" not in page
    assert "on_&lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt;" in page
    assert page.count("<svg") >= 2 and "class=\"legend\"" in page
    # The listing is the text format, escaped.
    assert "1 signal, 1 receiver, no duplicates." in page


@needs_dot
def test_png_and_svg_to_files(tmp_path: Path) -> None:
    png = tmp_path / "map.png"
    out, err, code = run("--format", "png", "--output", str(png), "--signal", "ping")
    assert (out, err, code) == ("", "", 0)
    assert png.read_bytes().startswith(b"\x89PNG\r\n\x1a\n")
    svg = tmp_path / "map.svg"
    run("--format", "svg", "--output", str(svg), "--signal", "ping")
    assert svg_texts(svg.read_text())
    with pytest.raises(CommandError, match="--format png is binary"):
        run("--format", "png", "--signal", "ping")


def test_without_dot_svg_png_and_html_say_how_to_install_it(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.setenv("PATH", str(tmp_path))  # a PATH with no dot on it
    assert shutil.which("dot") is None
    for fmt in ("svg", "png", "html"):
        with pytest.raises(CommandError) as info:
            run("--format", fmt, "--signal", "pong", "--output", str(tmp_path / "x"))
        assert "apt-get install graphviz" in str(info.value)
        assert "brew install graphviz" in str(info.value)
    assert not (tmp_path / "x").exists()
    out, _, code = run("--format", "dot", "--signal", "pong")  # DOT needs no Graphviz
    assert code == 0 and out.startswith('digraph "signalmap" {')
    with pytest.raises(CommandError, match="apt-get install graphviz"):
        call_command("signaltrace", "--format", "svg", "check", stderr=StringIO())


@needs_dot
def test_never_imported_receivers_are_dashed(tmp_path: Path) -> None:
    """The example project's notifications/signals.py is never imported (W002)."""
    env = {**os.environ, "EXAMPLE_DB_PATH": str(tmp_path / "db.sqlite3"), "PYTHONDONTWRITEBYTECODE": "1"}
    env.pop("DJANGO_SETTINGS_MODULE", None)
    done = subprocess.run(
        [sys.executable, "manage.py", "signalmap", "--format", "dot"],
        cwd=REPO / "example_project", env=env, capture_output=True, text=True, timeout=120, check=False,
    )
    assert done.returncode == 0, done.stderr
    graph = graphviz_json(done.stdout)
    dashed = {n for n, attrs in graph["nodes"].items() if "dashed" in attrs.get("style", "")}
    assert {n.split(" ")[1] for n in dashed} == {
        "notifications.signals.push_order_paid", "notifications.signals.push_welcome",
    }
    edges = {(t, h) for t, h, attrs in graph["edges"] if attrs.get("style") == "dashed"}
    assert {t for t, _ in edges} == {"signal shop.signals.order_paid", "signal django.db.models.signals.post_save"}
    # Only the project's own receivers: no Django one, the others counted.
    assert not any(n.startswith("receiver django.") for n in graph["nodes"])
    assert "Not drawn: " in done.stdout


# --- signaltrace -------------------------------------------------------------------


@needs_dot
@pytest.mark.django_db
def test_signaltrace_dot_draws_the_cascade_with_counts_and_times(tmp_path: Path) -> None:
    path = tmp_path / "trace.dot"
    call_command("signaltrace", "--format", "dot", "--output", str(path), "shell", "-c", PAY)
    graph = graphviz_json(path.read_text())
    edges = {(t, h): attrs for t, h, attrs in graph["edges"]}
    paid = "send tests.testapp.signals.order_paid testapp.Order"
    saved = "send django.db.models.signals.post_save testapp.Order"
    mark = next(n for n in graph["nodes"] if n.startswith("receiver tests.testapp.receivers.mark_paid "))
    refuse = next(n for n in graph["nodes"] if n.startswith("receiver tests.testapp.receivers.refuse_hostile "))
    audit = next(n for n in graph["nodes"] if n.startswith("receiver tests.testapp.receivers.audit_order_saved "))
    assert edges[("run", saved)]["label"] == "1 send"
    assert edges[("run", paid)]["label"] == "1 send"
    assert re.fullmatch(r"1 call\\n[\d.]+ ms", edges[(paid, mark)]["label"])
    # mark_paid saves the order: the post_save it caused hangs from it.
    assert edges[(mark, saved)]["label"] == "1 send"
    assert re.fullmatch(r"2 calls\\n[\d.]+ ms", edges[(saved, audit)]["label"])
    assert graph["nodes"][refuse]["color"] == graphs.RAISED
    assert "raised 1 time" in graph["nodes"][refuse]["label"]


@needs_dot
@pytest.mark.django_db
def test_signaltrace_html_is_one_escaped_page(tmp_path: Path) -> None:
    path = tmp_path / "trace.html"
    call_command("signaltrace", "--format", "html", "--output", str(path), "shell", "-c", PAY)
    page = path.read_text()
    assert page.startswith("<!DOCTYPE html>")
    assert "number=&#x27;&lt;x&gt;&#x27;" in page  # the command line, in the title
    assert "<x>" not in page
    assert "ValueError: refused &lt;x&gt;" in page  # the text tree, escaped
    assert "<script" not in page and "src=" not in page and "href=" not in page
    svg = page[page.index("<svg") : page.index("</svg>") + len("</svg>")]
    assert "refuse_hostile" in "".join(svg_texts(svg))


@needs_dot
@pytest.mark.django_db
@pytest.mark.urls("tests.panel_urls")
def test_the_panels_export_draws_the_requests_cascade(client: Client) -> None:
    from debug_toolbar.store import get_store

    from tests.test_panel import HOSTILE as NUMBER
    from tests.test_panel import request_id_of
    from tests.testapp.models import Order

    get_store().clear()
    order = Order.objects.create(number=NUMBER)
    request_id = request_id_of(client.get(f"/pay/{order.pk}/"))
    url = reverse("djdt:signal_inspector_export")
    download = client.get(url, {"request_id": request_id, "format": "dot"})
    assert download.status_code == 200
    assert download["Content-Type"] == "text/vnd.graphviz; charset=utf-8"
    assert download["Content-Disposition"] == f'attachment; filename="signals-{request_id}.dot"'
    graph = graphviz_json(download.content.decode())
    edges = {(t, h): attrs for t, h, attrs in graph["edges"]}
    paid = "send tests.testapp.signals.order_paid testapp.Order"
    mark = next(n for n in graph["nodes"] if n.startswith("receiver tests.testapp.receivers.mark_paid "))
    saved = "send django.db.models.signals.post_save testapp.Order"
    # The stored form is flat (parents by id): drawn nested as it ran.
    assert edges[("run", paid)]["label"] == "1 send"
    assert edges[(mark, saved)]["label"] == "1 send"
    assert ("run", saved) not in edges
    assert client.get(url, {"request_id": request_id, "format": "dot", "notoolbar": "1"}).status_code == 404


@needs_dot
@pytest.mark.django_db
@pytest.mark.urls("tests.panel_urls")
def test_the_panel_links_its_cascade_as_dot_and_svg(
    client: Client, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    import html

    from debug_toolbar.store import get_store

    from tests.test_panel import HOSTILE as NUMBER
    from tests.test_panel import panel_html, request_id_of
    from tests.testapp.models import Order

    get_store().clear()
    order = Order.objects.create(number=NUMBER)
    response = client.get(f"/pay/{order.pk}/")
    request_id = request_id_of(response)
    links = {
        text: html.unescape(href)
        for href, text in re.findall(r'<a href="([^"]+)" download>([^<]+)</a>', panel_html(response))
    }
    url = f"{reverse('djdt:signal_inspector_export')}?request_id={request_id}"
    assert links == {
        "Download the recording (JSON)": url,
        "the cascade (Graphviz DOT)": f"{url}&format=dot",
        "(SVG)": f"{url}&format=svg",
    }
    dot = client.get(links["the cascade (Graphviz DOT)"])
    assert dot.status_code == 200 and dot["Content-Type"].startswith("text/vnd.graphviz")
    svg = client.get(links["(SVG)"])
    assert svg.status_code == 200
    assert svg["Content-Type"] == "image/svg+xml"
    assert svg["Content-Disposition"] == f'attachment; filename="signals-{request_id}.svg"'
    assert svg["X-Content-Type-Options"] == "nosniff"
    assert svg["Content-Security-Policy"].startswith("default-src 'none'")
    text = svg.content.decode()
    # What Graphviz drew from the DOT download, byte for byte.
    assert text == graphs.render(dot.content.decode(), "svg").decode()
    assert {"order_paid", "post_save"} <= set(svg_texts(text))
    assert "<script" not in text
    assert client.get(links["(SVG)"], {"notoolbar": "1"}).status_code == 404
    # Without Graphviz on this server: no SVG link, and the URL says why.
    monkeypatch.setenv("PATH", str(tmp_path))
    assert "format=svg" not in panel_html(response)
    missing = client.get(links["(SVG)"])
    assert missing.status_code == 503 and "graphviz" in missing.content.decode().lower()
    assert missing["X-Content-Type-Options"] == "nosniff"
    # A dot that fails: the page says to take the DOT, and shows no server path or stderr.
    broken = tmp_path / "dot"
    broken.write_text(f"#!/bin/sh\necho 'Error: {tmp_path}/secret-layout' >&2\nexit 3\n")
    broken.chmod(0o755)
    failed = client.get(links["(SVG)"])
    assert failed.status_code == 503 and failed["X-Content-Type-Options"] == "nosniff"
    body = failed.content.decode()
    assert "download it as DOT" in body
    assert str(tmp_path) not in body and "secret-layout" not in body


def test_cascade_dot_walks_a_deep_tree_without_recursion() -> None:
    depth = sys.getrecursionlimit() + 100
    send: dict[str, Any] = {"signal": "s", "sender": "x", "receivers": []}
    root = send
    for _ in range(depth):
        child: dict[str, Any] = {"signal": "s", "sender": "x", "receivers": []}
        send["receivers"] = [{"name": "r", "location": "r.py:1", "duration_ms": 1.0, "children": [child]}]
        send = child
    dot = graphs.cascade_dot({"sends": [root], "total_sends": depth + 1})
    assert dot.count(" -> ") == 3  # run -> s, s -> r, r -> s: a loop drawn as one
    assert f"{depth} calls" in dot


# --- a real third-party project -------------------------------------------------------


@needs_dot
def test_a_wagtail_project_is_drawn(tmp_path: Path) -> None:
    wagtail = shutil.which("wagtail", path=str(Path(sys.executable).parent))
    if wagtail is None:
        pytest.skip("wagtail is not installed (pip install wagtail to draw a real CMS project)")
    subprocess.run([wagtail, "start", "mysite", str(tmp_path)], check=True, capture_output=True, timeout=120)
    settings = tmp_path / "mysite" / "settings" / "base.py"
    settings.write_text(settings.read_text().replace("INSTALLED_APPS = [", 'INSTALLED_APPS = [\n    "signal_inspector",', 1))
    env = {**os.environ, "PYTHONPATH": str(REPO), "PYTHONDONTWRITEBYTECODE": "1"}
    env.pop("DJANGO_SETTINGS_MODULE", None)

    def manage(*args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [sys.executable, "manage.py", "signalmap", *args], cwd=tmp_path, env=env,
            capture_output=True, text=True, timeout=300, check=False,
        )

    text = manage("--no-color", "--width", "100")
    assert text.returncode == 0, text.stderr
    # A fresh project has no receivers of its own: it says what it left out.
    assert re.search(r"Not listed: \d+ receivers of Django and installed packages", text.stdout)
    assert all(len(line) <= 100 for line in text.stdout.splitlines() if " " in line.strip())
    drawn = manage("--all", "--format", "svg")
    assert drawn.returncode == 0, drawn.stderr
    texts = svg_texts(drawn.stdout)
    assert any(t.startswith("wagtail/") for t in texts)  # wagtail's own receivers, drawn
    page = manage("--all", "--format", "html")
    assert page.returncode == 0 and page.stdout.startswith("<!DOCTYPE html>")
