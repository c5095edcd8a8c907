"""Names and safe reprs: focused unit tests of what the records show."""

from __future__ import annotations

import functools

from django.contrib.auth.signals import user_logged_in
from django.core.signals import request_finished, setting_changed
from django.db.models.signals import post_save, pre_init
from django.utils.functional import SimpleLazyObject

from signal_inspector import naming
from tests.testapp.models import Order
from tests.testapp.signals import order_paid


def test_signals_are_named_by_the_module_that_defines_them():
    assert naming.signal_name(post_save) == "django.db.models.signals.post_save"
    assert naming.signal_name(pre_init) == "django.db.models.signals.pre_init"
    assert naming.signal_name(request_finished) == "django.core.signals.request_finished"
    # django.test.signals imports setting_changed; the definition wins.
    assert naming.signal_name(setting_changed) == "django.core.signals.setting_changed"
    assert naming.signal_name(user_logged_in) == "django.contrib.auth.signals.user_logged_in"
    assert naming.signal_name(order_paid) == "tests.testapp.signals.order_paid"


def test_scanning_modules_does_not_evaluate_lazy_objects():
    evaluated = []
    lazy = SimpleLazyObject(lambda: evaluated.append(1) or object())
    import sys
    import types

    module = types.ModuleType("tests._lazy_holder")
    module.lazy = lazy
    sys.modules[module.__name__] = module
    try:
        naming.iter_module_signals()
    finally:
        del sys.modules[module.__name__]
    assert evaluated == []


def test_sender_labels():
    assert naming.sender_label(Order) == "testapp.Order"
    assert naming.sender_label(None) == "None"
    assert naming.sender_label(dict) == "builtins.dict"
    assert naming.sender_label("x" * 500, 20).endswith("…")


def test_model_instances_are_never_str_ed():
    class Boom(Order):
        class Meta:
            proxy = True
            app_label = "testapp"

        def __str__(self):
            raise AssertionError("__str__ must not be called")

    assert naming.safe_repr(Boom(pk=3, number="x")) == "<testapp.Boom: pk=3>"


def test_querysets_are_not_evaluated():
    # No database access is allowed in this test: evaluating would raise.
    assert naming.safe_repr(Order.objects.all()) == "<QuerySet of testapp.Order>"


def test_receiver_names():
    def local(sender, **kwargs):
        return None

    assert naming.receiver_name(local).endswith("test_receiver_names.<locals>.local")
    assert naming.receiver_name(functools.partial(local)).startswith("functools.partial(")
    assert naming.receiver_location(local).startswith("tests/test_naming.py:")
    assert naming.receiver_location(len) == ""


def test_masking_follows_djangos_error_reports():
    for key in ("password", "API_KEY", "auth_token", "client_secret", "signature", "cookie", "sessionid"):
        assert naming.is_sensitive(key), key
    for key in ("instance", "created", "user", "order"):
        assert not naming.is_sensitive(key), key
    reprs = naming.kwargs_reprs({"data": {"password": "p", "x": {"token": "t"}}}, 200)
    assert "'p'" not in reprs["data"] and "'t'" not in reprs["data"]
