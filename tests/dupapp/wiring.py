"""Every kind of duplicate registration, and every look-alike that is not one.

``connect_all()`` runs once per process, however often ``ready()`` runs.
"""

from __future__ import annotations

import gc
import importlib
import sys
import types
from pathlib import Path
from typing import Any

from django.db.models.signals import post_save

from . import handlers, more_handlers
from .models import AbstractThing, Thing, ThingProxy, thing_archived
from .signals import ping, pong

_done = False


def connect_all() -> None:
    global _done
    if _done:
        return
    _done = True

    # Duplicate 1: the same function for any sender and for a specific sender.
    ping.connect(handlers.any_and_thing)
    ping.connect(handlers.any_and_thing, sender=Thing)

    # Duplicate 3: the same function under two dispatch_uids.
    ping.connect(handlers.two_uids, dispatch_uid="dupapp.two_uids.a")
    ping.connect(handlers.two_uids, dispatch_uid="dupapp.two_uids.b")

    # Duplicate 2: a lambda made in a loop (strong, or it would die at once).
    for level in ("info", "debug"):
        ping.connect(lambda sender, level=level, **kwargs: level, weak=False)

    # Duplicate 2: a ready()-like setup function that runs twice.
    setup_listeners()
    setup_listeners()

    # Duplicate 2: a module imported under two names (see import_second_copy()).
    from . import imported_twice  # noqa: F401

    import_second_copy()

    # Look-alike: one function on two signals.
    ping.connect(handlers.shared)
    pong.connect(handlers.shared)

    # Look-alike: one function for two different senders (one is not a model).
    ping.connect(handlers.per_sender, sender=Thing)
    ping.connect(handlers.per_sender, sender=handlers.PlainSender)

    # Look-alike: two functions sharing a name, in different modules.
    ping.connect(handlers.same_name)
    ping.connect(more_handlers.same_name)

    # Look-alike: one dispatch_uid connected twice; Django keeps the first.
    ping.connect(handlers.first, dispatch_uid="dupapp.once")
    ping.connect(handlers.second, dispatch_uid="dupapp.once")

    # Look-alike: the same function and sender connected twice; Django keeps one.
    ping.connect(handlers.connected_twice)
    ping.connect(handlers.connected_twice)

    # Look-alike: an async receiver.
    ping.connect(handlers.on_ping_async)

    # Look-alike: a concrete model, its proxy and its abstract parent as senders.
    post_save.connect(handlers.model_saved, sender=Thing)
    post_save.connect(handlers.model_saved, sender=ThingProxy)
    post_save.connect(handlers.model_saved, sender=AbstractThing)

    # Look-alike: a lazy "app_label.Model" sender, resolved at once.
    post_save.connect(handlers.lazy_saved, sender="dupapp.Thing")

    # A custom signal defined in models.py.
    thing_archived.connect(handlers.shared, sender=Thing)

    # Look-alike: a dead weak reference is not a live receiver.
    connect_short_lived()
    gc.collect()


def setup_listeners() -> None:
    def on_ping(sender: Any, **kwargs: Any) -> None:
        pass

    ping.connect(on_ping, weak=False)


class ShortLived:
    def on_ping(self, sender: Any, **kwargs: Any) -> None:
        pass


def connect_short_lived() -> None:
    # A bound method, not a function: with DEBUG on, connect() checks the
    # receiver's signature through an lru_cache that keeps a plain function
    # alive, but it caches the class's function, not the bound method.
    listener = ShortLived()
    ping.connect(listener.on_ping)
    del listener


def import_second_copy() -> None:
    """Make this directory importable as a second package, as a stray sys.path
    entry does, and import imported_twice.py through it."""
    package = types.ModuleType("dupapp_alias")
    package.__path__ = [str(Path(__file__).resolve().parent)]
    sys.modules.setdefault("dupapp_alias", package)
    importlib.import_module("dupapp_alias.imported_twice")
