"""Receivers connected as if before signal_inspector was imported (Django's own
connect() restored meanwhile), the way a settings module importing
debug_toolbar.settings connects django.test.signals' receivers."""

from __future__ import annotations

from typing import Any

from django.dispatch import Signal, receiver

from signal_inspector import sites

early = Signal()
other = Signal()

sites.uninstall()
try:

    @receiver(other)
    @receiver(early, dispatch_uid="tests.early.decorated")  # site-decorated
    def decorated(sender: Any, **kwargs: Any) -> None:
        pass

    def plain(sender: Any, **kwargs: Any) -> None:
        pass

    early.connect(plain)  # site-plain

    def hidden(sender: Any, **kwargs: Any) -> None:
        pass

    connect = early.connect
    connect(hidden)  # through another name: the source does not say it
finally:
    sites.install()
