"""pretix's plugin signal patterns, small: a Signal subclass that overrides
connect() (checks the receiver, then calls super()), _live_receivers() (sorts
the receivers) and send() (calls them itself)."""

from __future__ import annotations

from typing import Any

from django.dispatch import Signal


class PluginSignal(Signal):
    def connect(
        self, receiver: Any, sender: Any = None, weak: bool = True, dispatch_uid: Any = None
    ) -> None:
        if not callable(receiver):
            raise TypeError("a receiver must be callable")
        return super().connect(receiver, sender, weak, dispatch_uid)

    def _live_receivers(self, sender: Any) -> Any:
        sync, async_ = super()._live_receivers(sender)
        return sorted(sync, key=lambda r: (r.__module__, r.__name__)), async_

    def send(self, sender: Any, **named: Any) -> list[tuple[Any, Any]]:
        return [
            (receiver, receiver(signal=self, sender=sender, **named))
            for receiver in self._live_receivers(sender)[0]
        ]


plugin_hook = PluginSignal()  # receivers in handlers.py, connected z..a
channel_types = PluginSignal()  # sent only by channels.py, which holds its receiver
export_types = PluginSignal()  # sent by views.py and tasks.py, which import exports.py
periodic = PluginSignal()  # never sent: a command calls its receivers itself
shred_types = PluginSignal()  # sent by registry.py, whose callers import shredders.py
badge_types = PluginSignal()  # sent by tasks.py, which does not import badges.py
