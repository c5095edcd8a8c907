from __future__ import annotations

from django.dispatch import Signal

ping = Signal()
pong = Signal()
# No receiver: listed only with --all.
never_connected = Signal()
