"""Secrets that reach a send's kwargs through requests: headers, cookies, query
strings, ASGI scopes and WSGI environs. Masked as Django's error reports mask
them (``SafeExceptionReporterFilter``: a secret-looking name hides its value;
the session cookie by its name), in ``Recording.to_dict()``, the panel's
stored form, its content and its JSON export (issue 19, item 12).
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator

import pytest
from asgiref.sync import async_to_sync
from debug_toolbar.store import get_store
from django.contrib.auth import login
from django.contrib.auth.models import User
from django.dispatch import Signal
from django.http import HttpRequest, HttpResponse
from django.test import AsyncClient, Client, override_settings
from django.urls import include, path, reverse

import signal_inspector

PANEL_ID = "SignalInspectorPanel"
MASK = "********************"
SECRET = re.compile(r"T-[A-Z]+-\d")

pytestmark = [pytest.mark.urls(__name__), pytest.mark.django_db]

request_seen = Signal()


def noting(sender: object, **kwargs: object) -> None:
    return None


request_seen.connect(noting, dispatch_uid="test_masking.noting")


def sign_in(request: HttpRequest) -> HttpResponse:
    """Django's login() sends user_logged_in with request=; a project's own
    signal passes the request's headers and cookies."""
    user = User.objects.create_user("alice")
    login(request, user, backend="django.contrib.auth.backends.ModelBackend")
    request_seen.send(sender=None, headers=request.headers, jar=request.COOKIES)
    return HttpResponse("<html><body>signed in</body></html>")


def plain(request: HttpRequest) -> HttpResponse:
    return HttpResponse("ok")


urlpatterns = [
    path("sign-in/", sign_in),
    path("plain/", plain),
    path("__debug__/", include("debug_toolbar.urls")),
]

SECRETS = {
    "query": "T-QUERY-1",
    "authorization": "Bearer T-AUTH-2",
    "cookie": "T-COOKIE-3",
}


@pytest.fixture(autouse=True)
def empty_store() -> Iterator[None]:
    get_store().clear()
    yield
    get_store().clear()


def sign_in_through_the_toolbar() -> tuple[Client, str]:
    client = Client()
    client.cookies["sid"] = SECRETS["cookie"]
    client.cookies["theme"] = "dark"
    response = client.get(
        f"/sign-in/?next=/orders/&token={SECRETS['query']}",
        headers={"authorization": SECRETS["authorization"], "accept": "text/html"},
    )
    match = re.search(r'data-request-id="([0-9a-f]+)"', response.content.decode())
    assert match, "the toolbar is not on the page"
    return client, match.group(1)


@override_settings(SESSION_COOKIE_NAME="sid")
def test_request_headers_cookies_and_query_strings_are_masked_everywhere() -> None:
    client, request_id = sign_in_through_the_toolbar()
    stored = get_store().panel(request_id, PANEL_ID)
    content = client.get(
        reverse("djdt:render_panel"), {"request_id": request_id, "panel_id": PANEL_ID}
    ).json()["content"]
    export = client.get(reverse("djdt:signal_inspector_export"), {"request_id": request_id})
    assert export.status_code == 200
    for where in (json.dumps(stored), content, export.content.decode()):
        assert SECRET.findall(where) == []
    kwargs = {
        send["signal"].rsplit(".", 1)[1]: send["kwargs"] for send in export.json()["sends"]
    }
    # What is not secret is still shown.
    assert kwargs["user_logged_in"]["request"] == (
        f"<WSGIRequest: GET '/sign-in/?next=/orders/&token={MASK}'>"
    )
    assert f"'Authorization': '{MASK}'" in kwargs["request_seen"]["headers"]
    assert f"'Cookie': '{MASK}'" in kwargs["request_seen"]["headers"]
    assert "'Accept': 'text/html'" in kwargs["request_seen"]["headers"]
    assert kwargs["request_seen"]["jar"] == f"{{'sid': '{MASK}', 'theme': 'dark'}}"


@override_settings(SIGNAL_INSPECTOR={"MAX_REPR_LENGTH": 2000})
def test_the_asgi_scope_is_masked_in_to_dict() -> None:
    with signal_inspector.record() as recording:
        Client().get("/plain/", headers={"authorization": SECRETS["authorization"]})
        async_to_sync(AsyncClient().get)(
            "/plain/", headers={"authorization": SECRETS["authorization"]}
        )
    data = recording.to_dict()
    assert SECRET.findall(json.dumps(data)) == []
    started = [s["kwargs"] for s in data["sends"] if s["signal"].endswith("request_started")]
    scope = started[1]["scope"]
    # ASGI's headers are (name, value) byte pairs.
    assert f"(b'authorization', '{MASK}')" in scope
    assert "(b'host', b'testserver')" in scope


def test_query_strings_in_urls_environs_and_errors_are_masked() -> None:
    failing = Signal()

    def calls_an_api(sender: object, **kwargs: object) -> None:
        raise ValueError(
            f"401 Client Error for url: https://api.example/v1?api_key={SECRETS['query']}&page=2"
        )

    failing.connect(calls_an_api, weak=False)
    with signal_inspector.record() as recording:
        failing.send_robust(
            sender=None,
            callback=f"https://example.com/cb?code=1&access_token={SECRETS['query']}",
            meta={"QUERY_STRING": f"page=2&password={SECRETS['query']}"},
        )
    data = recording.to_dict()
    assert SECRET.findall(json.dumps(data)) == []
    (send,) = data["sends"]
    assert send["kwargs"]["callback"] == f"'https://example.com/cb?code=1&access_token={MASK}'"
    assert send["kwargs"]["meta"] == f"{{'QUERY_STRING': 'page=2&password={MASK}'}}"
    assert send["receivers"][0]["exception"]["message"] == (
        f"401 Client Error for url: https://api.example/v1?api_key={MASK}&page=2"
    )


@override_settings(SESSION_COOKIE_NAME="sid")
def test_the_session_cookie_is_masked_by_its_name() -> None:
    with signal_inspector.record() as recording:
        request_seen.send(sender=None, jar={"sid": SECRETS["cookie"], "theme": "dark"})
    (send,) = recording.to_dict()["sends"]
    assert send["kwargs"]["jar"] == f"{{'sid': '{MASK}', 'theme': 'dark'}}"


def charge(amount: int, api_key: str) -> None:
    raise ConnectionError("the payment provider is down")


def charges(sender: object, **kwargs: object) -> None:
    charge(10, api_key="T-SOURCE-5")


def test_literal_secrets_in_source_lines_are_masked_in_to_dict() -> None:
    """The panel masked them already; tracebacks and stacks in to_dict() did not."""
    payment = Signal()
    payment.connect(charges, weak=False)
    with signal_inspector.record(stacks=True) as recording:
        payment.send_robust(sender=None, password="T-SOURCE-6")
    data = recording.to_dict()
    assert SECRET.findall(json.dumps(data)) == []
    (send,) = data["sends"]
    assert send["stack"][0]["code"] == f'payment.send_robust(sender=None, password="{MASK}")'
    frames = send["receivers"][0]["exception"]["traceback"]
    assert frames[0]["code"] == f'charge(10, api_key="{MASK}")'


def test_a_secret_settings_value_is_masked_in_setting_changed() -> None:
    """override_settings() sends setting_changed(setting=..., value=...)."""
    with (
        signal_inspector.record() as recording,
        override_settings(PAYMENT_API_KEY="T-SETTING-7", PAYMENT_CURRENCY="EUR"),
    ):
        pass
    data = recording.to_dict()
    assert SECRET.findall(json.dumps(data)) == []
    values = {
        send["kwargs"]["setting"]: send["kwargs"]["value"]
        for send in data["sends"]
        if send["signal"].endswith(".setting_changed") and send["kwargs"]["enter"] == "True"
    }
    assert values["'PAYMENT_API_KEY'"] == MASK
    assert values["'PAYMENT_CURRENCY'"] == "'EUR'"


def test_passwords_in_urls_are_masked() -> None:
    with signal_inspector.record() as recording:
        request_seen.send(
            sender=None,
            broker="redis://:T-URL-8@cache:6379/0",
            databases=[f"postgres://app:T-URL-9@db/{name}" for name in ("a", "b")],
        )
    (send,) = recording.to_dict()["sends"]
    assert send["kwargs"] == {
        "broker": f"'redis://:{MASK}@cache:6379/0'",
        "databases": f"['postgres://app:{MASK}@db/a', 'postgres://app:{MASK}@db/b']",
    }
