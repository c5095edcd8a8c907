"""The ASGI application of the OpenTelemetry server test (uvicorn), set up as a
project would: the SDK with the real OTLP/HTTP exporter (to
``OTEL_EXPORTER_OTLP_ENDPOINT``), Django instrumented before ``django.setup()``,
so signal_inspector's ``ready()`` finds its middleware and puts ours after it."""

from __future__ import annotations

import os

from opentelemetry import trace
from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter
from opentelemetry.instrumentation.django import DjangoInstrumentor
from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "tests.otel_settings")

provider = TracerProvider(resource=Resource.create({"service.name": "otel-test-server"}))
# Simple, not batched: each span is sent as it ends, so the test need not wait.
provider.add_span_processor(SimpleSpanProcessor(OTLPSpanExporter()))
trace.set_tracer_provider(provider)
DjangoInstrumentor().instrument()

import django  # noqa: E402
from django.core.management import call_command  # noqa: E402

django.setup()
call_command("migrate", verbosity=0, run_syncdb=True)

from django.core.asgi import get_asgi_application  # noqa: E402

application = get_asgi_application()
