"""Signal spans from real servers: wsgiref in a thread of this process (the SDK's
in-memory exporter), and uvicorn in a subprocess exporting through the real
OTLP/HTTP exporter to a collector this test runs on 127.0.0.1, decoded with
opentelemetry-proto. Every wait is bounded; servers are stopped in ``finally``."""

from __future__ import annotations

import gzip
import os
import socket
import subprocess
import sys
import threading
import time
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from wsgiref.simple_server import WSGIRequestHandler, make_server

import pytest
from django.core.handlers.wsgi import WSGIHandler
from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import ExportTraceServiceRequest

from tests.test_otel import SAMPLED, traced, tree  # noqa: F401  (the fixture)

ROOT = Path(__file__).resolve().parent.parent
TIMEOUT_S = 60.0


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def get(url: str, traceparent: str) -> bytes:
    request = urllib.request.Request(url, headers={"traceparent": traceparent})
    with urllib.request.urlopen(request, timeout=TIMEOUT_S) as response:
        return response.read()  # type: ignore[no-any-return]


class _Quiet(WSGIRequestHandler):
    def log_message(self, format: str, *args: Any) -> None:
        pass


@pytest.mark.django_db(transaction=True)
@pytest.mark.urls("tests.otel_app")
def test_wsgiref_in_a_thread(traced):  # noqa: F811
    server = make_server("127.0.0.1", 0, WSGIHandler(), handler_class=_Quiet)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        body = get(f"http://127.0.0.1:{server.server_port}/buy/", SAMPLED)
    finally:
        server.shutdown()
        server.server_close()
        thread.join(10)
    assert body == b"3 receivers"
    assert tree(traced.get_finished_spans()) == "\n".join([
        "GET buy/",
        "  checkout send_robust",
        "    tests.otel_app.reserve_stock",
        "      shipped send",
        "        tests.otel_app.notify",
        "    tests.otel_app.charge_card",
        "    tests.otel_app.async_listener",
    ])


class Collector(ThreadingHTTPServer):
    """An OTLP/HTTP trace receiver: keeps every span of every request it is sent."""

    def __init__(self) -> None:
        super().__init__(("127.0.0.1", 0), _Receive)
        self.spans: list[Any] = []
        self.paths: list[str] = []


class _Receive(BaseHTTPRequestHandler):
    server: Collector

    def do_POST(self) -> None:
        body = self.rfile.read(int(self.headers["Content-Length"]))
        if self.headers.get("Content-Encoding") == "gzip":
            body = gzip.decompress(body)
        self.server.paths.append(self.path)
        message = ExportTraceServiceRequest()
        message.ParseFromString(body)
        for resource_spans in message.resource_spans:
            for scope_spans in resource_spans.scope_spans:
                self.server.spans.extend(scope_spans.spans)
        self.send_response(200)
        self.send_header("Content-Type", "application/x-protobuf")
        self.send_header("Content-Length", "0")
        self.end_headers()

    def log_message(self, format: str, *args: Any) -> None:
        pass


@contextmanager
def collecting() -> Iterator[Collector]:
    collector = Collector()
    thread = threading.Thread(target=collector.serve_forever, daemon=True)
    thread.start()
    try:
        yield collector
    finally:
        collector.shutdown()
        collector.server_close()
        thread.join(10)


def proto_tree(spans: list[Any]) -> str:
    children: dict[bytes, list[Any]] = {}
    ids = {s.span_id for s in spans}
    for span in spans:
        children.setdefault(span.parent_span_id if span.parent_span_id in ids else b"", []).append(span)
    lines: list[str] = []

    def walk(parent: bytes, depth: int) -> None:
        for span in sorted(children.get(parent, []), key=lambda s: s.start_time_unix_nano):
            lines.append("  " * depth + span.name)
            walk(span.span_id, depth + 1)

    walk(b"", 0)
    return "\n".join(lines)


def test_uvicorn_exports_through_otlp_http(tmp_path: Path) -> None:
    with collecting() as collector:
        port = free_port()
        env = {
            **os.environ,
            "DJANGO_SETTINGS_MODULE": "tests.otel_settings",
            "OTEL_TEST_DB": str(tmp_path / "db.sqlite3"),
            "OTEL_EXPORTER_OTLP_ENDPOINT": f"http://127.0.0.1:{collector.server_port}",
        }
        log = (tmp_path / "uvicorn.log").open("wb")
        process = subprocess.Popen(
            [sys.executable, "-m", "uvicorn", "tests.otel_server:application",
             "--host", "127.0.0.1", "--port", str(port), "--lifespan", "off",
             "--no-access-log", "--log-level", "warning"],
            cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
        )
        try:
            deadline = time.monotonic() + TIMEOUT_S
            while True:
                try:
                    socket.create_connection(("127.0.0.1", port), timeout=1).close()
                    break
                except OSError:
                    assert process.poll() is None, (tmp_path / "uvicorn.log").read_text()
                    assert time.monotonic() < deadline, "uvicorn did not start"
                    time.sleep(0.2)
            base = f"http://127.0.0.1:{port}"
            assert get(f"{base}/buy/", SAMPLED) == b"3 receivers"
            assert get(f"{base}/abuy/", SAMPLED.replace("0af7", "1af7")) == b"3 receivers"
            deadline = time.monotonic() + TIMEOUT_S
            while sum(s.name.startswith("GET") for s in collector.spans) < 2:
                assert time.monotonic() < deadline, collector.spans
                time.sleep(0.1)
        finally:
            process.terminate()
            try:
                process.wait(10)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait(10)
            log.close()
    assert set(collector.paths) == {"/v1/traces"}
    sync = [s for s in collector.spans if s.trace_id.hex().startswith("0af7")]
    assert proto_tree(sync) == "\n".join([
        "GET buy/",
        "  checkout send_robust",
        "    tests.otel_app.reserve_stock",
        "      shipped send",
        "        tests.otel_app.notify",
        "    tests.otel_app.charge_card",
        "    tests.otel_app.async_listener",
    ])
    asynchronous = [s for s in collector.spans if s.trace_id.hex().startswith("1af7")]
    assert proto_tree(asynchronous).startswith("GET abuy/\n  checkout asend_robust\n    tests.otel_app.")
    (send,) = [s for s in sync if s.name == "checkout send_robust"]
    attributes = {a.key: a.value for a in send.attributes}
    assert attributes["django.signal.name"].string_value == "tests.otel_app.checkout"
    assert attributes["django.signal.receivers"].int_value == 3
    (charge,) = [s for s in sync if s.name == "tests.otel_app.charge_card"]
    assert [e.name for e in charge.events] == ["django.on_commit"]
