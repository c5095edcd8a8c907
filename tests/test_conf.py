"""The SIGNAL_INSPECTOR setting and its system check (signal_inspector.W005)."""

from __future__ import annotations

from io import StringIO

import pytest
from django.core.management import call_command
from django.core.management.base import SystemCheckError
from django.test import override_settings

from signal_inspector.conf import get_config


def test_defaults_and_reset_on_setting_changed():
    assert get_config().max_sends == 1000
    with override_settings(SIGNAL_INSPECTOR={"MAX_SENDS": 5, "SKIP_MODULES": ["myapp.utils"]}):
        assert get_config().max_sends == 5
        assert "myapp.utils" in get_config().skip_modules
    assert get_config().max_sends == 1000


@pytest.mark.parametrize(
    ("value", "message"),
    [
        ({"MAX_SEND": 5}, "unknown key 'MAX_SEND'"),
        ({"MAX_SENDS": "10"}, "'MAX_SENDS'] must be int, not str"),
        ({"MAX_SENDS": 0}, "must be positive"),
        ({"SKIP_MODULES": "django"}, "must be list or tuple"),
        ({"IGNORE_SIGNALS": [1]}, "must hold only strings"),
        (["MAX_SENDS"], "must be a dict"),
    ],
)
def test_broken_setting_is_a_check_warning_not_a_traceback(value, message):
    """A warning, not an error (it was E001): recording falls back to the
    defaults, so a typo must not stop migrate or runserver."""
    with override_settings(SIGNAL_INSPECTOR=value):
        out, err = StringIO(), StringIO()
        call_command("check", stdout=out, stderr=err)
        # Recording still works, with the defaults.
        assert get_config().max_sends == 1000
    assert "signal_inspector.W005" in err.getvalue()
    assert message in err.getvalue()
    assert "E001" not in err.getvalue()
    with override_settings(SIGNAL_INSPECTOR=value), pytest.raises(SystemCheckError):
        call_command("check", "--fail-level", "WARNING", stdout=out, stderr=err)


@pytest.mark.parametrize(
    ("value", "message"),
    [
        ("yes", "['OPENTELEMETRY'] must be True, False or a dict of options, not str"),
        ({"MAX_SPAN": 5}, "['OPENTELEMETRY'] has an unknown key 'MAX_SPAN'"),
        ({"MAX_SPANS": 0}, "['MAX_SPANS'] must be 1 or more, not 0"),
        ({"MAX_SPANS": True}, "['MAX_SPANS'] must be int, not bool"),
        ({"FOLD_BELOW_MS": -1}, "['FOLD_BELOW_MS'] must be 0 or more, not -1"),
        ({"METRICS": 1}, "['METRICS'] must be bool, not int"),
    ],
)
def test_a_broken_opentelemetry_option_is_a_check_warning(value, message):
    with override_settings(SIGNAL_INSPECTOR={"OPENTELEMETRY": value}):
        err = StringIO()
        call_command("check", stdout=StringIO(), stderr=err)
        assert get_config().opentelemetry is None  # the defaults: off
    assert "signal_inspector.W005" in err.getvalue()
    assert message in err.getvalue()


def test_the_opentelemetry_option_true_or_a_dict():
    assert get_config().opentelemetry is None
    with override_settings(SIGNAL_INSPECTOR={"OPENTELEMETRY": True}):
        options = get_config().opentelemetry
        assert options is not None
        assert (options.max_spans, options.fold_below_ms, options.metrics) == (100, 0.0, True)
    with override_settings(SIGNAL_INSPECTOR={"OPENTELEMETRY": {"MAX_SPANS": 7, "FOLD_BELOW_MS": 1}}):
        options = get_config().opentelemetry
        assert options is not None
        assert (options.max_spans, options.fold_below_ms) == (7, 1.0)


def test_the_opentelemetry_option_without_opentelemetry_installed(monkeypatch):
    import sys

    monkeypatch.setitem(sys.modules, "opentelemetry.trace", None)  # import fails
    from signal_inspector.conf import validate

    assert validate({"OPENTELEMETRY": True}) == [
        "SIGNAL_INSPECTOR['OPENTELEMETRY'] is on but opentelemetry-api is not installed: "
        'pip install "django-signal-inspector[otel]".'
    ]
