"""The example project's pay page as an OpenTelemetry backend receives it: the
option on (EXAMPLE_OTEL=1, as ``make demo-otel`` runs it), Django instrumented
by opentelemetry-instrumentation-django, spans kept by the SDK's in-memory
exporter, in the example's own process (``manage.py shell``)."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from tests.test_example_project import db, seeded_template, shell  # noqa: F401  (fixtures)

SPAN_TREE = """
import os
from opentelemetry import trace
from opentelemetry.instrumentation.django import DjangoInstrumentor
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter

spans = InMemorySpanExporter()
provider = TracerProvider()
provider.add_span_processor(SimpleSpanProcessor(spans))
trace.set_tracer_provider(provider)
DjangoInstrumentor().instrument()
# A WSGI handler called as a server calls it (the test client would connect a
# template_rendered receiver of its own); the middleware as instrumented.
from django.core.handlers.wsgi import WSGIHandler
from django.test import RequestFactory
handler = WSGIHandler()

def pay(number):
    environ = RequestFactory()._base_environ(PATH_INFO=f"/orders/{number}/pay/", QUERY_STRING="pay=1")
    statuses = []
    body = b"".join(handler(environ, lambda status, headers: statuses.append(status)))
    assert statuses == ["200 OK"], statuses

pay("DEMO-1")
pay("DEMO-3")  # mallory: a receiver raises, send_robust() catches it

finished = spans.get_finished_spans()
ids = {s.context.span_id for s in finished}
children = {}
for span in finished:
    parent = span.parent.span_id if span.parent and span.parent.span_id in ids else None
    children.setdefault(parent, []).append(span)
lines = []

def walk(parent, depth):
    for span in sorted(children.get(parent, []), key=lambda s: s.start_time):
        ms = (span.end_time - span.start_time) / 1e6
        notes = []
        attrs = dict(span.attributes or {})
        if "django.signal.sender" in attrs:
            notes.append(f"sender={attrs['django.signal.sender']} receivers={attrs['django.signal.receivers']}")
        if "db.query.count" in attrs:
            notes.append(f"db.query.count={attrs['db.query.count']}")
        if span.status.status_code.name == "ERROR":
            notes.append("ERROR")
        notes.extend(f"event {e.name}" + (f" ({e.attributes['django.on_commit.status']})" if e.name == "django.on_commit" else "")
                     for e in span.events)
        lines.append(f"{'  ' * depth}{span.name}  {ms:.1f} ms" + (f"  [{'; '.join(notes)}]" if notes else ""))
        walk(span.context.span_id, depth + 1)

walk(None, 0)
done(tree="\\n".join(lines), names=[s.name for s in finished])
"""


def test_the_pay_page_span_tree(db: Path, monkeypatch: pytest.MonkeyPatch) -> None:  # noqa: F811
    monkeypatch.setitem(os.environ, "EXAMPLE_OTEL", "1")
    result = shell(SPAN_TREE, db)
    print(result["tree"])  # the tree docs/opentelemetry.md shows: pytest -s prints it
    tree = result["tree"]
    names = result["names"]
    assert names.count("order_paid send_robust") == 2
    assert tree.startswith("GET orders/<slug:number>/pay/")
    assert "\n  order_paid send_robust" in tree
    assert "\n    shop.receivers.email_receipt" in tree
    assert "\n    shop.receivers.award_loyalty_points" in tree
    # The cascade: award_loyalty_points saves the account, whose post_save runs
    # audit_loyalty_change inside it.
    assert "\n      post_save send" in tree
    assert "\n        shop.receivers.audit_loyalty_change" in tree
    assert "\n    shop.receivers.notify_warehouse" in tree
    assert "ERROR" in tree  # mallory's blocked loyalty account
