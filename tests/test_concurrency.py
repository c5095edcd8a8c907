"""Real servers on loopback, many overlapping requests: each request's panel, fetched
through the toolbar's ``render_panel`` view, shows its own signals and no other's.

Django's threaded development server (WSGI) and uvicorn (ASGI) each run the small
project of ``tests/concurrency_settings.py`` in a subprocess on a free 127.0.0.1
port. Every page of a group sends a signal carrying its own marker, waits at a
barrier until every request of the group has sent, then sends again (see
``tests/concurrency_urls.py``): the whole group is held in the server at once, each
request recording while all the others send. A group that cannot fill fails its
requests after a minute; every wait here is bounded, and the server is stopped in
``finally`` (terminate, then kill).
"""

from __future__ import annotations

import importlib.util
import json
import os
import re
import secrets
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
PANEL_ID = "SignalInspectorPanel"
# Requests held in the server at once, per group.
PARTIES = 48
REQUEST_TIMEOUT_S = 120.0
STARTUP_TIMEOUT_S = 60.0
MARKER = re.compile(r"mk-[a-z]+-\d{3}-[0-9a-f]{8}")


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def fetch(url: str, timeout: float = REQUEST_TIMEOUT_S) -> tuple[int, str]:
    try:
        with urllib.request.urlopen(url, timeout=timeout) as response:
            return response.status, response.read().decode()
    except urllib.error.HTTPError as error:
        return error.code, error.read().decode(errors="replace")


def stop(process: subprocess.Popen[bytes]) -> None:
    if process.poll() is None:
        process.terminate()
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(timeout=10)


@contextmanager
def serving(command: list[str], log_path: Path) -> Iterator[str]:
    """Run ``command`` (``{port}`` filled in) until it answers; yield its base URL.

    The free port is only free when chosen, so a server that exits at once is
    started again on another one (three tries).
    """
    env = {
        **os.environ,
        "PYTHONPATH": str(ROOT),
        "DJANGO_SETTINGS_MODULE": "tests.concurrency_settings",
        "PYTHONUNBUFFERED": "1",
    }
    for _ in range(3):
        port = free_port()
        base = f"http://127.0.0.1:{port}"
        with open(log_path, "wb") as log:
            process = subprocess.Popen(
                [part.format(port=port) for part in command],
                cwd=ROOT,
                env=env,
                stdin=subprocess.DEVNULL,
                stdout=log,
                stderr=subprocess.STDOUT,
            )
        try:
            deadline = time.monotonic() + STARTUP_TIMEOUT_S
            while process.poll() is None and time.monotonic() < deadline:
                try:
                    if fetch(f"{base}/ready/", timeout=5)[0] == 200:
                        break
                except OSError:
                    time.sleep(0.2)
            else:
                if process.poll() is not None:
                    continue  # exited: most likely the port was taken meanwhile
                pytest.fail(f"server not ready in {STARTUP_TIMEOUT_S}s:\n{log_path.read_text()}")
            yield base
            return
        finally:
            stop(process)
    pytest.fail(f"server did not start:\n{log_path.read_text()}")


def new_marker(group: str, index: int) -> str:
    return f"mk-{group}-{index:03d}-{secrets.token_hex(4)}"


def panel_of(base: str, page: str) -> str:
    match = re.search(r'data-request-id="([0-9a-f]+)"', page)
    assert match, f"the toolbar is not on the page: {page[:300]!r}"
    query = urllib.parse.urlencode({"request_id": match.group(1), "panel_id": PANEL_ID})
    status, body = fetch(f"{base}/__debug__/render_panel/?{query}")
    assert status == 200, body[:500]
    return json.loads(body)["content"]


def subtitle_of(page: str) -> str:
    match = re.search(r'id="djdt-SignalInspectorPanel".*?<small>(.*?)</small>', page, re.S)
    assert match, "no subtitle for the Signals panel"
    return match.group(1)


def overlapping(base: str, paths: list[str]) -> list[tuple[str, int, str]]:
    """GET every path at once (one thread each); (path, status, body) in order."""
    with ThreadPoolExecutor(max_workers=len(paths)) as pool:
        futures = [pool.submit(fetch, base + path) for path in paths]
        return [
            (path, *future.result(timeout=REQUEST_TIMEOUT_S + 30))
            for path, future in zip(paths, futures, strict=True)
        ]


def assert_each_panel_shows_only_its_own(base: str, results, signal: str) -> None:
    def check(item: tuple[str, int, str]) -> None:
        path, status, page = item
        assert status == 200, f"{path}: {status} {page[:500]}"
        own = path.rstrip("/").rsplit("/", 1)[1]
        # Two sends, one receiver each: nothing more, nothing less.
        assert subtitle_of(page).startswith("2 sends · 2 receiver calls"), (path, subtitle_of(page))
        html = panel_of(base, page).replace("<wbr>", "")  # line-break hints in names
        assert set(MARKER.findall(html)) == {own}, path
        # Each send's kwargs and each receiver's return value name the marker.
        assert html.count(own) == 4, (path, html.count(own))
        assert html.count(f'<span class="djdt-si-signal">{signal}</span>') == 2, path

    # A few at a time: the panels are rendered by the same small server.
    with ThreadPoolExecutor(max_workers=8) as pool:
        for future in [pool.submit(check, item) for item in results]:
            future.result(timeout=REQUEST_TIMEOUT_S * 2)


def test_threaded_wsgi_development_server(tmp_path: Path) -> None:
    command = [
        sys.executable, "-m", "django", "runserver", "127.0.0.1:{port}",
        "--noreload", "--skip-checks",
    ]
    started = time.monotonic()
    with serving(command, tmp_path / "runserver.log") as base:
        paths = [f"/mark/wsgi/{PARTIES}/{new_marker('wsgi', i)}/" for i in range(PARTIES)]
        results = overlapping(base, paths)
        assert_each_panel_shows_only_its_own(base, results, "tests.concurrency_urls.marked")
    assert time.monotonic() - started < 300


def test_uvicorn_asgi_async_and_sync_views_at_once(tmp_path: Path) -> None:
    if importlib.util.find_spec("uvicorn") is None:
        # A test requirement (.ci/test.sh installs it): missing is a failure, not a skip.
        pytest.fail("uvicorn is not installed: pip install uvicorn")
    command = [
        sys.executable, "-m", "uvicorn", "--factory", "django.core.asgi:get_asgi_application",
        "--host", "127.0.0.1", "--port", "{port}", "--lifespan", "off",
        "--no-access-log", "--log-level", "warning",
    ]
    started = time.monotonic()
    with serving(command, tmp_path / "uvicorn.log") as base:
        async_paths = [f"/amark/asgi/{PARTIES}/{new_marker('asgi', i)}/" for i in range(PARTIES)]
        sync_paths = [f"/mark/sync/{PARTIES}/{new_marker('sync', i)}/" for i in range(PARTIES)]
        # Interleaved: async and sync views are in the server at the same time.
        paths = [path for pair in zip(async_paths, sync_paths, strict=True) for path in pair]
        results = overlapping(base, paths)
        assert_each_panel_shows_only_its_own(
            base, [r for r in results if r[0].startswith("/amark/")],
            "tests.concurrency_urls.amarked",
        )
        assert_each_panel_shows_only_its_own(
            base, [r for r in results if r[0].startswith("/mark/")],
            "tests.concurrency_urls.marked",
        )
    assert time.monotonic() - started < 300
