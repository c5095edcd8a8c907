"""Security: text from the application is escaped in the panel, secrets in kwargs are
masked, the panel's data is refused wherever the toolbar refuses, and nothing
records unless the toolbar (or ``record()``) asks for it.

Pages are requested with Django's test client through the real toolbar, and the
panel is fetched from the toolbar's own ``render_panel`` view; this module is the
URLconf of these tests.
"""

from __future__ import annotations

import contextlib
import gc
import json
import linecache
import re
import sys
import tracemalloc
import types
from collections import OrderedDict, defaultdict
from collections.abc import Iterator
from html.parser import HTMLParser
from pathlib import Path
from typing import Any

import pytest
from debug_toolbar.store import get_store
from django.core.handlers.wsgi import WSGIHandler
from django.db import transaction
from django.dispatch import Signal
from django.http import HttpRequest, HttpResponse, QueryDict
from django.test import Client, RequestFactory
from django.urls import include, path, reverse

import signal_inspector
from signal_inspector import context

PANEL_ID = "SignalInspectorPanel"
PAGE = "<html><body><h1>{}</h1></body></html>"
MASK = "********************"

pytestmark = pytest.mark.urls(__name__)

# What the views below send; set by the fixtures.
SCENE: dict[str, Any] = {}


def hostile(where: str) -> str:
    """Markup that runs script if it reaches the page unescaped, labelled with where
    it was put, so each place can be found again in the panel's text."""
    return (
        f'<script>alert("{where}")</script>'
        f'<a href="javascript:alert(1)">x</a>" onmouseover="alert(1)'
    )


# Every place application text can come from, and what carries it.
PLACES = [
    "module",  # the module defining receivers, signals and the sender class
    "file-path",  # the file those are defined in (receiver locations, stacks, tracebacks)
    "code-line",  # a source line of that file (stacks, tracebacks)
    "function-name",  # the function that sent (fired at, stacks)
    "receiver-name",  # receivers' __qualname__ (timeline, skipped, loop, map, duplicates)
    "signal-name",  # the module attribute naming the signal
    "strict-signal",
    "silent-signal",
    "sender-repr",
    "sender-class",
    "silent-sender",
    "kwarg-name",
    "kwarg-value",
    "dict-entry-name",
    "dict-entry-value",
    "exception-type",
    "exception-message",
    "return-value",
    "on-commit",  # an on_commit callback's name
    "dispatch-uid",
]

SOURCE = """\
from django.db import transaction


def returning(sender, **kwargs):
    return RESULT  # {code}


def raising(sender, **kwargs):
    raise ERROR(MESSAGE)  # {code}


def looping(sender, signal, depth=0, **kwargs):
    if depth < 1:
        signal.send_robust(sender=sender, depth=depth + 1)


def scheduling(sender, **kwargs):
    transaction.on_commit(callback)


def skipped(sender, **kwargs):
    return None


def callback():
    return None


def fire(signal, sender, kwargs):
    return signal.send_robust(sender=sender, **kwargs)  # {code}


def fire_strict(signal, sender):
    return signal.send(sender=sender)  # {code}


def connect(signal, receiver, **options):
    signal.connect(receiver, **options)
"""


class HostileRepr:
    def __init__(self, text: str) -> None:
        self.text = text

    def __repr__(self) -> str:
        return self.text


@pytest.fixture
def hostile_module() -> Iterator[types.ModuleType]:
    """A module whose every name, path and source line is hostile markup, with three
    signals and receivers connected to them."""
    name = hostile("module")
    filename = f"/srv/{hostile('file-path')}/receivers.py"
    source = SOURCE.format(code=hostile("code-line"))
    module = types.ModuleType(name)
    module.__file__ = filename
    error = type(
        "HostileError", (Exception,), {"__module__": name, "__qualname__": hostile("exception-type")}
    )
    module.__dict__.update(
        RESULT=hostile("return-value"), ERROR=error, MESSAGE=hostile("exception-message")
    )
    linecache.cache[filename] = (len(source), None, source.splitlines(True), filename)
    exec(compile(source, filename, "exec"), module.__dict__)
    for function_name in ("returning", "raising", "looping", "scheduling", "skipped"):
        getattr(module, function_name).__qualname__ = f"{hostile('receiver-name')}.{function_name}"
    module.callback.__qualname__ = hostile("on-commit")
    for function_name in ("fire", "fire_strict"):
        function = getattr(module, function_name)
        code = function.__code__.replace(co_name=hostile("function-name"))
        if hasattr(code, "co_qualname"):
            code = code.replace(co_qualname=hostile("function-name"))
        function.__code__ = code

    main, strict, silent = Signal(), Signal(), Signal()
    setattr(module, hostile("signal-name"), main)
    setattr(module, hostile("strict-signal"), strict)
    setattr(module, hostile("silent-signal"), silent)
    module.connect(main, module.returning, dispatch_uid=hostile("dispatch-uid"), weak=False)
    for receiver in (module.raising, module.looping, module.scheduling):
        module.connect(main, receiver, weak=False)
    # Connected twice under two dispatch_uids: a duplicate, described in the map.
    module.connect(main, module.skipped, dispatch_uid="twice-1", weak=False)
    module.connect(main, module.skipped, dispatch_uid="twice-2", weak=False)
    module.connect(strict, module.raising, weak=False)
    module.connect(strict, module.skipped, weak=False)

    sys.modules[name] = module
    SCENE.update(module=module, main=main, strict=strict, silent=silent)
    yield module
    SCENE.clear()
    del sys.modules[name]
    linecache.cache.pop(filename, None)


def hostile_page(request: HttpRequest) -> HttpResponse:
    module = SCENE["module"]
    sender_class = type(
        "Sender", (), {"__module__": hostile("module"), "__qualname__": hostile("sender-class")}
    )
    kwargs = {
        hostile("kwarg-name"): 1,
        "note": hostile("kwarg-value"),
        "nested": {hostile("dict-entry-name"): 1, "entry": hostile("dict-entry-value")},
    }
    with transaction.atomic():
        module.fire(SCENE["main"], HostileRepr(hostile("sender-repr")), kwargs)
    with contextlib.suppress(Exception):
        module.fire_strict(SCENE["strict"], sender_class)
    SCENE["silent"].send(sender=HostileRepr(hostile("silent-sender")))
    return HttpResponse(PAGE.format("hostile"))


secret_sent = Signal()


def noting(sender, **kwargs):
    return None


secret_sent.connect(noting, dispatch_uid="test_security.noting")


def secrets_page(request: HttpRequest) -> HttpResponse:
    secret_sent.send(sender=None, **SCENE["kwargs"])
    return HttpResponse(PAGE.format("secrets"))


probe = Signal()
probe.connect(noting, dispatch_uid="test_security.noting")


def probe_page(request: HttpRequest) -> HttpResponse:
    SCENE.setdefault("current", []).append(context.current())
    probe.send(sender=None, marker=request.GET.get("marker", ""))
    return HttpResponse(PAGE.format("probe"))


urlpatterns = [
    path("hostile/", hostile_page),
    path("secrets/", secrets_page),
    path("probe/", probe_page),
    path("__debug__/", include("debug_toolbar.urls")),
]


@pytest.fixture(autouse=True)
def empty_store() -> Iterator[None]:
    get_store().clear()
    yield
    get_store().clear()
    SCENE.clear()


def request_id_of(response) -> str:
    match = re.search(r'data-request-id="([0-9a-f]+)"', response.content.decode())
    assert match, "the toolbar is not on the page"
    return match.group(1)


def render_panel(client: Client, request_id: str, **extra: Any):
    return client.get(
        reverse("djdt:render_panel"), {"request_id": request_id, "panel_id": PANEL_ID}, **extra
    )


class Markup(HTMLParser):
    """Every tag, attribute and text node of an HTML fragment, as a browser parses it."""

    def __init__(self, html: str) -> None:
        super().__init__(convert_charrefs=True)
        self.tags: list[str] = []
        self.attributes: list[tuple[str, str, str]] = []
        self.texts: list[str] = []
        self.feed(html)
        self.close()

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.tags.append(tag)
        self.attributes.extend((tag, name, value or "") for name, value in attrs)

    def handle_startendtag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.handle_starttag(tag, attrs)

    def handle_data(self, data: str) -> None:
        self.texts.append(data)

    @property
    def text(self) -> str:
        return "".join(self.texts)


URL_ATTRIBUTES = {"href", "src", "action", "formaction", "srcset", "xlink:href", "data", "poster"}


def assert_inert(html: str) -> Markup:
    """No script, event handler or javascript: URL came from the application."""
    assert "<script>alert" not in html
    assert '" onmouseover=' not in html
    assert 'href="javascript:' not in html
    markup = Markup(html)
    assert "script" not in markup.tags
    assert [name for _, name, _ in markup.attributes if name.startswith("on")] == []
    for tag, name, value in markup.attributes:
        if name in URL_ATTRIBUTES:
            assert "javascript:" not in re.sub(r"\s", "", value).lower(), (tag, name, value)
    return markup


@pytest.mark.django_db
def test_every_application_text_is_escaped(hostile_module: types.ModuleType) -> None:
    client = Client()
    response = client.get("/hostile/")
    assert response.status_code == 200
    request_id = request_id_of(response)
    rendered = render_panel(client, request_id)
    assert rendered.status_code == 200
    html = rendered.json()["content"]
    markup = assert_inert(html)
    # Shown, as text: escaped, not dropped.
    missing = [where for where in PLACES if f'alert("{where}")' not in markup.text]
    assert missing == []
    # The places the panel draws them: a loop, a receiver skipped, a duplicate, a
    # caught and a raised exception, an on_commit callback, a silent send.
    for part in ("A receiver loop", "Not run because this receiver raised", "ran twice",
                 "raised (caught)", "on_commit", "Silent sends"):
        assert part in markup.text, part
    # The toolbar's page (with its own scripts) and history sidebar carry our
    # subtitle: none of the markup reached them either.
    page = response.content.decode()
    assert "<script>alert" not in page and '" onmouseover=' not in page
    sidebar = client.get(reverse("djdt:history_sidebar"), {"request_id": request_id})
    assert sidebar.status_code == 200
    assert_inert(json.dumps(sidebar.json()[PANEL_ID]))


def test_the_escaping_check_finds_unescaped_markup() -> None:
    """assert_inert itself: each kind of injection is caught."""
    for injected in (
        hostile("x"),
        '<code class="v" onmouseover="alert(1)">',
        '<a href=" JaVaScRiPt:alert(1)">x</a>',
        "<img src=javascript:alert(1)>",
    ):
        with pytest.raises(AssertionError):
            assert_inert(f"<p>{injected}</p>")
    assert_inert("<p>&lt;script&gt;alert(1)&lt;/script&gt; javascript:alert(1)</p>")


SECRETS = {
    "password": "S-password-1",
    "token": "S-token-2",
    "api_key": "S-api-key-3",
    "secret": "S-secret-4",
    "cookie": "S-cookie-5",
    "signature": "S-signature-6",
    "HTTP_AUTHORIZATION": "S-authorization-7",
    "sessionid": "S-sessionid-8",
    "csrfmiddlewaretoken": "S-csrf-9",
    "credentials": {"username": "alice", "password": "S-credentials-10"},
    "config": {
        "name": "visible-name",
        "client_secret": "S-nested-11",
        "headers": {"Cookie": "S-nested-cookie-12", "X-Api-Key": "S-nested-key-13"},
        "db": {"user": "visible-user", "options": {"passwd": "S-deep-14"}},
    },
}


def panel_texts(client: Client, kwargs: dict[str, Any]) -> tuple[str, str, str]:
    """The page, the rendered panel and the stored panel data of a page sending kwargs."""
    SCENE["kwargs"] = kwargs
    try:
        response = client.get("/secrets/")
    finally:
        SCENE.clear()
    assert response.status_code == 200
    request_id = request_id_of(response)
    rendered = render_panel(client, request_id)
    assert rendered.status_code == 200
    stored = json.dumps(get_store().panel(request_id, PANEL_ID))
    return response.content.decode(), rendered.json()["content"], stored


def test_secrets_in_kwargs_are_masked_and_absent() -> None:
    page, html, stored = panel_texts(Client(), SECRETS)
    for where in (page, html, stored):
        for value in re.findall(r"S-[a-z-]+-\d+", json.dumps(SECRETS)):
            assert value not in where
    text = Markup(html).text
    for name in ("password", "token", "api_key", "secret", "cookie", "signature"):
        assert re.search(rf"\b{name}\s+{re.escape(MASK)}", text), name
    # Nested: the key stays, its value is masked; other values stay.
    assert f"'client_secret': '{MASK}'" in text
    assert f"'Cookie': '{MASK}'" in text
    assert "visible-name" in text and "visible-user" in text


LEAKS = "is_sensitive() masks dicts only where type(value) is dict: not inside lists or tuples, nor dict subclasses"


@pytest.mark.parametrize(
    "value",
    [
        pytest.param([{"password": "S-in-list-1"}], id="dict-in-list"),
        pytest.param({"users": [{"token": "S-list-in-dict-2"}]}, id="dict-in-list-in-dict"),
        pytest.param(({"signature": "S-in-tuple-3"},), id="dict-in-tuple"),
        pytest.param(OrderedDict(api_key="S-ordereddict-4"), id="OrderedDict"),
        pytest.param(defaultdict(str, secret="S-defaultdict-5"), id="defaultdict"),
        pytest.param(QueryDict("user=alice&password=S-querydict-6"), id="QueryDict"),
    ],
)
def test_secrets_in_other_containers_are_masked(value: Any) -> None:
    page, html, stored = panel_texts(Client(), {"data": value})
    secret = re.search(r"S-[a-z-]+-\d+", repr(value)).group(0)
    assert "data" in Markup(html).text  # sent and shown
    for where in (page, html, stored):
        assert secret not in where


def test_panel_data_is_refused_where_the_toolbar_is_refused() -> None:
    """render_panel and the history sidebar answer 404, as for every toolbar view,
    when SHOW_TOOLBAR_CALLBACK (tests.urls.show_toolbar) says no; the same request
    shown the toolbar gets the data (the control)."""
    client = Client()
    request_id = request_id_of(client.get("/probe/", {"marker": "MARK-77"}))
    shown = render_panel(client, request_id)
    assert shown.status_code == 200 and "MARK-77" in shown.json()["content"]
    refusals = [
        # The callback's own switch, and an address that is not 127.0.0.1.
        (reverse("djdt:render_panel"), {"notoolbar": "1"}, {}),
        (reverse("djdt:render_panel"), {}, {"REMOTE_ADDR": "203.0.113.9"}),
        (reverse("djdt:history_sidebar"), {"notoolbar": "1"}, {}),
        (reverse("djdt:history_sidebar"), {}, {"REMOTE_ADDR": "203.0.113.9"}),
    ]
    for url, query, extra in refusals:
        refused = client.get(
            url, {"request_id": request_id, "panel_id": PANEL_ID, **query}, **extra
        )
        assert refused.status_code == 404, (url, query, extra)
        assert b"MARK-77" not in refused.content


@pytest.mark.parametrize(
    ("query", "extra", "cookies"),
    [
        pytest.param({"notoolbar": "1"}, {}, {}, id="callback-says-no"),
        pytest.param({}, {"REMOTE_ADDR": "203.0.113.9"}, {}, id="not-an-internal-address"),
        pytest.param({}, {}, {"djdtSignalInspectorPanel": "off"}, id="panel-switched-off"),
    ],
)
def test_nothing_records_when_nothing_asks(
    query: dict[str, str], extra: dict[str, str], cookies: dict[str, str]
) -> None:
    calls: list[str] = []

    def count(sender, marker, **kwargs):
        calls.append(marker)

    probe.connect(count, weak=False)
    client = Client()
    for name, value in cookies.items():
        client.cookies[name] = value
    try:
        response = client.get("/probe/", {"marker": "quiet", **query}, **extra)
    finally:
        probe.disconnect(count)
        current = SCENE.pop("current", [])
    assert response.status_code == 200
    assert calls == ["quiet"]  # the signal still fired
    assert current == [None]  # but no recording was open in the view
    assert context.current() is None
    stored = [
        get_store().panel(request_id, PANEL_ID) for request_id in get_store().request_ids()
    ]
    assert all(panel == {} for panel in stored)
    assert "quiet" not in json.dumps(stored)


def test_the_recording_ends_with_its_request() -> None:
    """After a recorded request, and inside and after a record() block, sends in
    this context go nowhere."""
    client = Client()
    client.get("/probe/", {"marker": "recorded"})
    assert SCENE.pop("current")[0] is not None  # recorded while it ran
    assert context.current() is None
    with signal_inspector.record() as recording:
        assert context.current() is recording
    assert context.current() is None
    probe.send(sender=None, marker="after")
    assert recording.total_sends == 0


def serve(handler: WSGIHandler, path: str) -> int:
    """One request through Django's WSGI handler, as a server makes it."""
    statuses: list[str] = []
    environ = RequestFactory().get(path).environ
    response = handler(environ, lambda status, headers, exc_info=None: statuses.append(status))
    try:
        b"".join(response)
    finally:
        response.close()
    return int(statuses[0].split()[0])


@pytest.mark.django_db
def test_requests_without_the_toolbar_keep_nothing() -> None:
    """Installed, toolbar hidden: 200 pages sending signals leave nothing allocated by
    signal_inspector's code alive (tracemalloc, by file). Through Django's WSGI
    handler: the test client connects receivers under per-request dispatch_uids,
    whose connect sites are dropped (see test_memory)."""
    handler = WSGIHandler()
    assert serve(handler, "/probe/?notoolbar=1") == 200  # warm
    package = [tracemalloc.Filter(True, str(Path(context.__file__).parent / "*"))]
    tracemalloc.start()
    try:
        gc.collect()
        before = tracemalloc.take_snapshot().filter_traces(package)
        for n in range(200):
            assert serve(handler, f"/probe/?notoolbar=1&marker=m{n}") == 200
        gc.collect()
        after = tracemalloc.take_snapshot().filter_traces(package)
    finally:
        tracemalloc.stop()
    assert len(SCENE["current"]) == 201 and set(SCENE["current"]) == {None}
    retained = [stat for stat in after.compare_to(before, "lineno") if stat.size_diff > 0]
    assert retained == []
