"""findings.py's less travelled paths: cache servers configured in each form
Django accepts, a Unix socket, an update repeated from one line, and the bound
on findings per recording."""

from __future__ import annotations

import contextlib
import os
import socket
import tempfile
import threading
from collections.abc import Iterator
from typing import Any

import pytest
from django.dispatch import Signal
from django.test import override_settings

import signal_inspector
from signal_inspector import findings
from signal_inspector.recorder import begin, end
from signal_inspector.slots import running_ours
from tests.test_findings import kinds, listener  # noqa: F401  (the fixture)
from tests.testapp.models import Order


def _connect(port: int) -> None:
    with socket.create_connection(("127.0.0.1", port), timeout=5):
        pass


LOCMEM = {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"}


@pytest.mark.parametrize(
    ("caches", "expected"),
    [
        # Servers joined by ";" (a Unix socket among them, which has no port),
        # one named by host name: connecting to its address is the cache.
        pytest.param(
            lambda port: {
                "default": LOCMEM,
                "memcached": {
                    "BACKEND": "django.core.cache.backends.memcached.PyMemcacheCache",
                    "LOCATION": f"unix:/tmp/memcached.sock;localhost:{port}",
                },
            },
            [],
            id="memcached-servers-joined",
        ),
        # A Redis URL naming the host is the cache; a unix:// URL is skipped.
        pytest.param(
            lambda port: {
                "default": LOCMEM,
                "redis": {
                    "BACKEND": "django.core.cache.backends.redis.RedisCache",
                    "LOCATION": ["unix:///run/redis.sock", f"redis://localhost:{port}/0"],
                },
            },
            [],
            id="redis-urls",
        ),
        # A cache on another port, or on a host that does not resolve, hides nothing.
        pytest.param(
            lambda port: {
                "default": {
                    "BACKEND": "django.core.cache.backends.redis.RedisCache",
                    "LOCATION": f"redis://localhost:{port + 1 if port < 65535 else 1}/0",
                },
            },
            ["network"],
            id="another-port",
        ),
        pytest.param(
            lambda port: {
                "default": {
                    "BACKEND": "django.core.cache.backends.memcached.PyMemcacheCache",
                    "LOCATION": f"memcached.invalid:{port}",
                },
            },
            ["network"],
            id="host-not-resolving",
        ),
    ],
)
@pytest.mark.django_db
def test_a_connection_to_a_configured_cache_server_is_no_finding(
    listener, caches, expected  # noqa: F811
):
    signal = Signal()
    signal.connect(lambda sender, **kwargs: _connect(listener), weak=False)
    with override_settings(CACHES=caches(listener)), signal_inspector.record() as recording:
        signal.send(sender=None)
    assert kinds(recording) == expected


@pytest.fixture
def unix_server() -> Iterator[str]:
    path = os.path.join(tempfile.mkdtemp(), "service.sock")
    server = socket.socket(socket.AF_UNIX)
    server.bind(path)
    server.listen()
    server.settimeout(5)

    def serve() -> None:
        try:
            conn, _ = server.accept()
            conn.close()
        except OSError:
            pass

    thread = threading.Thread(target=serve, daemon=True)
    thread.start()
    yield path
    server.close()
    thread.join(5)
    os.unlink(path)


@pytest.mark.django_db
@pytest.mark.skipif(not hasattr(socket, "AF_UNIX"), reason="Unix sockets")
def test_a_unix_socket_is_not_network_io(unix_server):
    def log_locally(sender: Any, **kwargs: Any) -> None:
        with socket.socket(socket.AF_UNIX) as client:
            client.connect(unix_server)

    signal = Signal()
    signal.connect(log_locally, weak=False)
    with signal_inspector.record() as recording:
        signal.send(sender=None)
    assert recording.findings == []


@pytest.mark.django_db
def test_an_update_repeated_from_one_line_counts_its_calls():
    Order.objects.create(number="1")
    with signal_inspector.record() as recording:
        for _ in range(2):
            Order.objects.filter(number="1").update(paid=True)
    (finding,) = recording.findings
    assert finding.kind == "bypassed"
    assert finding.count == 2
    assert "rows: 1 (last of 2 calls)" in finding.details


@pytest.mark.django_db
def test_findings_per_recording_are_bounded():
    closed = socket.create_server(("127.0.0.1", 0))
    port = closed.getsockname()[1]
    closed.close()

    def make(i: int) -> Any:
        def webhook(sender: Any, **kwargs: Any) -> None:
            with contextlib.suppress(OSError):
                socket.create_connection(("127.0.0.1", port), timeout=1).close()

        webhook.__qualname__ = webhook.__name__ = f"webhook_{i}"
        return webhook

    signal = Signal()
    for i in range(findings.MAX_FINDINGS + 5):
        signal.connect(make(i), weak=False)
    with signal_inspector.record() as recording:
        signal.send(sender=None)
    assert len(recording.findings) == findings.MAX_FINDINGS
    assert {f.kind for f in recording.findings} == {"network"}
    # The ones left out are said, once, where every reader looks.
    said = [line for line in recording.limitations if "finding(s)" in line]
    assert said == [f"5 finding(s) past the first {findings.MAX_FINDINGS} were not kept."]
    assert said[0] in recording.to_text()
    assert said[0] in recording.to_dict()["limitations"]


def test_resolved_cache_hosts_stay_bounded():
    for i in range(250):
        assert f"10.0.{i // 256}.{i % 256}" in findings._names(f"10.0.{i // 256}.{i % 256}")
    assert len(findings._resolved) <= 201


@pytest.mark.django_db(transaction=True)
def test_an_on_commit_callback_run_at_once_outside_a_transaction_is_not_reported(
    listener,  # noqa: F811
):
    """Outside a transaction on_commit() runs its callback at once, inside the
    receiver: deferring was the right call, so it is not the receiver's I/O."""
    from django.db import transaction

    signal = Signal()
    signal.connect(
        lambda sender, **kwargs: transaction.on_commit(lambda: _connect(listener)), weak=False
    )
    with signal_inspector.record() as recording:
        signal.send(sender=None)
    assert recording.findings == []


@pytest.mark.django_db
def test_a_receiver_in_an_ignored_module_is_not_reported(listener):  # noqa: F811
    from tests.panel_urls import count_burst

    signal = Signal()
    signal.connect(count_burst, weak=False)
    signal.connect(lambda sender, **kwargs: _connect(listener), weak=False)
    # As the panel opens its recording, ignoring the toolbar's own receivers.
    ignored = begin(ignore_modules=("tests.test_findings_edges",))
    try:
        signal.send(sender=None, n=1)
    finally:
        end(ignored)
    assert ignored.findings == []
    with signal_inspector.record() as recorded:
        signal.send(sender=None, n=1)
    assert kinds(recorded) == ["network"]


@pytest.mark.django_db
def test_a_mock_patch_across_the_end_of_a_recording_leaves_djangos_own() -> None:
    """mock.patch started while recording and stopped after puts back what it
    found: Django's own function (ours ran in it in place), its own code again."""
    from unittest import mock

    from django.db.models.query import QuerySet

    djangos = QuerySet.__dict__["update"]
    code = djangos.__code__
    with signal_inspector.record():
        patcher = mock.patch.object(QuerySet, "update", autospec=True, side_effect=djangos)
        patcher.start()
    patcher.stop()  # puts back what it found
    assert QuerySet.__dict__["update"] is djangos
    assert djangos.__code__ is code and running_ours(djangos) is None
    assert Order.objects.filter(pk=-1).update(number="x") == 0  # Django's result


@pytest.mark.django_db
def test_one_connection_through_ours_a_tool_and_ours_again_counts_once(listener: int) -> None:  # noqa: F811
    """A tool's functools.wraps wrapper over an earlier wrapper of ours, and ours
    put over it by the next recording: one connect() is one connection."""
    import functools

    first = signal_inspector.record()
    first.__enter__()
    ours = socket.socket.__dict__["connect"]

    @functools.wraps(ours)
    def tools(self: Any, address: Any) -> Any:
        return ours(self, address)

    socket.socket.connect = tools  # type: ignore[method-assign]
    try:
        first.__exit__(None, None, None)  # ours stays under the tool's
        signal = Signal()
        signal.connect(lambda sender, **kwargs: _connect(listener), weak=False)
        with signal_inspector.record() as recording:
            assert running_ours(socket.socket.__dict__["connect"]) is not None  # in the tool's
            signal.send(sender=None)
        assert [(f.kind, f.count) for f in recording.findings] == [("network", 1)]
    finally:
        socket.socket.connect = ours  # type: ignore[method-assign]
        with signal_inspector.record():
            pass  # ours taken off: Django's again
    assert "connect" not in socket.socket.__dict__  # _socket.socket's own, inherited
