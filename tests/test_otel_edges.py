"""otel.py's less travelled paths, with the real SDK: a signal loop on its spans,
the option off, an unsampled async request, MAX_SPANS spent before a "sends only"
send closes, Celery's worker start reconnecting the task hooks."""

from __future__ import annotations

from typing import Any

import pytest
from asgiref.sync import async_to_sync
from django.db.models.signals import post_save
from django.test import AsyncClient, override_settings
from opentelemetry import trace

from signal_inspector import otel
from tests.test_otel import NOT_SAMPLED, by_name, traced  # noqa: F401  (the fixture)
from tests.test_otel_live import plugin_signal  # noqa: F401  (the fixture)
from tests.testapp.models import Order

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.urls("tests.otel_app")]

tracer = trace.get_tracer("tests.edges")


def test_a_signal_loop_is_an_event_on_its_send_and_marks_the_receiver(traced):  # noqa: F811
    def resave(sender: Any, instance: Order, **kwargs: Any) -> None:
        if instance.number.count("!") < 2:
            instance.number += "!"
            instance.save()

    post_save.connect(resave, sender=Order, weak=False)
    try:
        with tracer.start_as_current_span("job"), otel.exporting():
            order = Order.objects.create(number="loop")
    finally:
        post_save.disconnect(resave, sender=Order)
    assert order.number == "loop!!"
    spans = traced.get_finished_spans()
    loops = [e for s in spans for e in s.events if e.name == "django.signal.loop"]
    assert loops, [s.name for s in spans]
    assert list((loops[0].attributes or {})["django.signal.loop"])[0].endswith("resave")
    marked = [s for s in spans if (s.attributes or {}).get("django.signal.loop") is True]
    assert marked and all(s.name.endswith("resave") for s in marked)


def test_with_the_option_off_exporting_records_nothing(traced):  # noqa: F811
    with (
        override_settings(SIGNAL_INSPECTOR={}),
        tracer.start_as_current_span("job"),
        otel.exporting() as recording,
    ):
        Order.objects.create(number="off")
    assert recording is None
    assert [s.name for s in traced.get_finished_spans()] == ["job"]


def test_an_unsampled_async_request_is_answered_and_exports_nothing(traced):  # noqa: F811
    response = async_to_sync(AsyncClient().get)("/abuy/", headers={"traceparent": NOT_SAMPLED})
    assert response.content == b"3 receivers"
    assert traced.get_finished_spans() == ()


@pytest.mark.options({"MAX_SPANS": 1})
def test_a_sends_only_send_past_max_spans_is_counted_on_the_root(
    traced, plugin_signal  # noqa: F811
):
    signal = plugin_signal
    with tracer.start_as_current_span("job"), otel.exporting():
        assert [r for _, r in signal.send(sender=None)] == ["done"]
        assert [r for _, r in signal.send(sender=None)] == ["done"]
    spans = traced.get_finished_spans()
    # The first send's span is the one allowed; its receiver and the second send
    # (with its receiver) are counted instead.
    assert len([s for s in spans if s.name.endswith(" send")]) == 1
    assert not [s for s in spans if s.name.endswith(".plugin_receiver")]
    assert (by_name(spans, "job").attributes or {})["django.signal.spans_dropped"] == 3


def test_celerys_worker_start_reconnects_the_task_hooks():
    celery_signals = pytest.importorskip("celery.signals")
    assert otel.install_celery()
    celery_signals.task_prerun.disconnect(dispatch_uid="signal_inspector.otel.prerun")
    assert otel._task_prerun not in celery_signals.task_prerun._live_receivers(None)
    celery_signals.worker_process_init.send(sender=None)
    assert otel._task_prerun in celery_signals.task_prerun._live_receivers(None)


def test_code_attributes_without_a_line_number_and_their_cache_stays_bounded():
    assert otel._code_attrs("app.receivers.handler", "<shell>") == {
        "code.function.name": "app.receivers.handler"
    }
    assert otel._code_attrs("app.receivers.handler", "app/receivers.py:12") == {
        "code.function.name": "app.receivers.handler",
        "code.file.path": "app/receivers.py",
        "code.line.number": 12,
    }
    for i in range(5010):
        otel._code_attrs(f"app.receivers.r{i}", f"app/receivers.py:{i}")
    assert len(otel._code_attrs_cache) <= 5001


def test_without_celery_installing_the_task_hooks_says_so(monkeypatch):
    """A project without Celery: install_celery() is False and install() still
    adds the middleware."""
    import sys

    monkeypatch.setitem(sys.modules, "celery", None)  # what an absent package imports as
    assert otel.install_celery() is False
    with override_settings(MIDDLEWARE=["django.middleware.common.CommonMiddleware"]):
        from django.conf import settings

        otel.install()
        assert settings.MIDDLEWARE == [
            otel.MIDDLEWARE_PATH, "django.middleware.common.CommonMiddleware"
        ]
