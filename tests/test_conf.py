"""The SIGNAL_INSPECTOR setting and its system check (signal_inspector.E001)."""

from __future__ import annotations

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
def test_broken_setting_is_a_check_error_not_a_traceback(value, message):
    with override_settings(SIGNAL_INSPECTOR=value):
        with pytest.raises(SystemCheckError) as info:
            call_command("check")
        # Recording still works, with the defaults.
        assert get_config().max_sends == 1000
    assert "signal_inspector.E001" in str(info.value)
    assert message in str(info.value)
