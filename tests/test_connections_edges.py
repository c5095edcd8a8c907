"""``assert_connected()`` given bad arguments (a clear ``ValueError`` each) and a
receiver with no likely cause to name."""

from __future__ import annotations

import importlib

import pytest
from django.db.models.signals import post_save
from django.dispatch import Signal

from signal_inspector.testing import assert_connected, assert_not_connected
from tests.testapp.receivers import audit_order_saved


def test_a_signal_that_is_not_one_is_refused() -> None:
    with pytest.raises(ValueError, match=r"signal must be a Signal or its dotted path, not 5"):
        assert_connected(5, audit_order_saved)
    with pytest.raises(ValueError, match=r"signal must be a Signal or its dotted path, not None"):
        assert_not_connected(None, audit_order_saved)


def test_an_empty_receiver_name_is_refused() -> None:
    with pytest.raises(ValueError, match=r"receiver must be a function or its dotted name, not ''"):
        assert_connected(post_save, "")


@pytest.mark.parametrize("label", ["testapp.Nothing", "nope.Order"])
def test_an_unknown_sender_label_is_refused(label: str) -> None:
    with pytest.raises(ValueError, match=rf"Unknown sender '{label}': not an app_label\.Model label"):
        assert_connected(post_save, audit_order_saved, sender=label)


def test_a_receiver_never_connected_anywhere_says_so(settings) -> None:
    # Once the URLconf is loaded, a connect() in a module only it imports is
    # not a likely cause any more.
    importlib.import_module(settings.ROOT_URLCONF)
    signal = Signal()

    def never_connected(**kwargs) -> None:
        pass

    with pytest.raises(AssertionError) as info:
        assert_connected(signal, never_connected)
    assert "Likely cause: it was never connected in this process, or disconnect() removed it" in str(
        info.value
    )
