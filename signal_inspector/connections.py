"""Assertions on what is connected: ``assert_connected`` / ``assert_not_connected``.

A receiver that silently stopped being connected is the signal bug nobody sees:
nothing fails, the work is just not done. When the assertion fails, its
message names the likely cause from what the process shows: connected for
another sender, to another signal, garbage-collected (weak), its module never
imported, or connected only once the URLconf is loaded.
"""

from __future__ import annotations

import sys
from typing import Any

__all__ = ["assert_connected", "assert_not_connected"]
__unittest = True  # unittest: a failure shows the test's line, not this module's


def assert_connected(signal: Any, receiver: Any, sender: Any = None) -> None:
    """``receiver`` (a function, method or its dotted name) is connected to ``signal``
    (a ``Signal`` or its dotted name): for ``sender`` when given (connected for
    any sender counts), else for some sender."""
    __tracebackhide__ = True  # pytest: show the test, not this helper
    name, live = _signal(signal)
    wanted = _sender_key(sender) if sender is not None else None
    matches = _matching(live, receiver)
    if any(wanted is None or key[1] in (wanted, _none_key()) for key, _, _ in matches):
        return
    target = _receiver_text(receiver)
    what = f"{target} is not connected to {name}" + (
        f" for sender {_sender_text(sender)}" if sender is not None else ""
    )
    causes = _causes(name, signal, receiver, target, matches, sender)
    raise AssertionError(f"{what}.\n" + "\n".join(f"Likely cause: {cause}" for cause in causes))


def assert_not_connected(signal: Any, receiver: Any, sender: Any = None) -> None:
    """``receiver`` is not connected to ``signal`` (for ``sender``, when given:
    a receiver connected for any sender would hear it, so it fails too)."""
    __tracebackhide__ = True
    name, live = _signal(signal)
    wanted = _sender_key(sender) if sender is not None else None
    found = [
        (key, obj, site)
        for key, obj, site in _matching(live, receiver)
        if wanted is None or key[1] in (wanted, _none_key())
    ]
    if not found:
        return
    lines = [
        f"{_receiver_text(receiver)} is connected to {name}"
        + (f" for sender {_sender_text(sender)}" if sender is not None else "")
        + f" ({_times(len(found))}):"
    ]
    for key, _, site in found:
        for_sender = "any sender" if key[1] == _none_key() else (site.sender if site and site.sender else "a sender")
        where = f"connected at {site.describe()}" if site is not None and site.file else "connected before signal_inspector saw it"
        lines.append(f"  for {for_sender}, {where}")
    raise AssertionError("\n".join(lines))


# --- looking ------------------------------------------------------------------------


def _signal(signal: Any) -> tuple[str, list[tuple[Any, Any, Any]]]:
    """(name, [(lookup key, receiver, connect site or None)]) of the live entries."""
    from django.dispatch import Signal

    from .naming import signal_name
    from .receivers import _live_entries
    from .sites import connect_sites

    if isinstance(signal, str):
        from django.utils.module_loading import import_string

        try:
            found = import_string(signal)
        except ImportError:
            found = None
        if not isinstance(found, Signal):
            raise ValueError(f"{signal!r} is not the dotted path of a Signal")
        signal = found
    if not isinstance(signal, Signal):
        raise ValueError(f"signal must be a Signal or its dotted path, not {signal!r}")
    sites = connect_sites(signal)
    live = []
    for key, obj, _, _, _ in _live_entries(signal):
        recorded = sites.get(key) or []
        live.append((key, obj, recorded[0] if recorded else None))
    return signal_name(signal), live


def _matching(live: list[tuple[Any, Any, Any]], receiver: Any) -> list[tuple[Any, Any, Any]]:
    if isinstance(receiver, str):
        if not receiver:
            raise ValueError("receiver must be a function or its dotted name, not ''")
        return [entry for entry in live if _named(entry[1], receiver)]
    if not callable(receiver):
        raise ValueError(f"receiver must be a function or its dotted name, not {receiver!r}")
    from django.dispatch import dispatcher

    wanted = dispatcher._make_id(receiver)  # type: ignore[attr-defined]
    return [
        entry for entry in live
        if entry[1] is receiver or dispatcher._make_id(entry[1]) == wanted  # type: ignore[attr-defined]
    ]


def _named(obj: Any, name: str) -> bool:
    from .naming import receiver_name

    text = receiver_name(obj)
    return text == name or ("." not in name and text.rsplit(".", 1)[-1] == name)


def _none_key() -> Any:
    from django.dispatch import dispatcher

    return dispatcher._make_id(None)  # type: ignore[attr-defined]


def _sender_key(sender: Any) -> Any:
    from django.dispatch import dispatcher

    if isinstance(sender, str) and sender.count(".") == 1:
        from django.apps import apps

        try:
            sender = apps.get_model(sender)
        except (LookupError, ValueError):
            raise ValueError(f"Unknown sender {sender!r}: not an app_label.Model label") from None
    return dispatcher._make_id(sender)  # type: ignore[attr-defined]


def _receiver_text(receiver: Any) -> str:
    from .naming import receiver_name

    return receiver if isinstance(receiver, str) else receiver_name(receiver)


def _sender_text(sender: Any) -> str:
    from .naming import sender_label

    return sender if isinstance(sender, str) else sender_label(sender)


def _times(count: int) -> str:
    return {1: "once", 2: "twice"}.get(count, f"{count} times")


# --- why not --------------------------------------------------------------------


def _causes(
    name: str, signal: Any, receiver: Any, target: str, matches: list[Any], sender: Any
) -> list[str]:
    causes: list[str] = []
    if matches:
        senders = sorted({site.sender if site and site.sender else "another sender" for _, _, site in matches})
        causes.append(
            f"wrong sender: it is connected for {', '.join(senders)} only "
            "(receiver(..., sender=...) or connect(..., sender=...) names the class the send passes)."
        )
    causes.extend(_collected(name, target))
    causes.extend(_other_signals(name, receiver, target))
    module = _module(receiver)
    if module:
        causes.append(
            f"module never imported: {module} is not loaded in this process, so its "
            "@receiver/connect() never ran; import it from your AppConfig.ready()."
        )
    urlconf = _urlconf()
    if (module or not causes) and urlconf and urlconf not in sys.modules:
        causes.append(
            f"connected only through the URLconf: ROOT_URLCONF ({urlconf}) is not loaded in "
            "this process yet; if the connect() runs in a module only it imports (views.py, "
            "say), the receiver is connected after the first request resolves a URL. Import "
            "that module from your AppConfig.ready()."
        )
    if not causes:
        causes.append(
            "it was never connected in this process, or disconnect() removed it: check that "
            "the module holding its @receiver/connect() is imported from AppConfig.ready(), "
            "and for a dispatch_uid another receiver already took."
        )
    return causes


def _collected(name: str, target: str) -> list[str]:
    from .receivers import find_collected

    out = []
    try:
        found = find_collected()
    except Exception:  # pragma: no cover - defensive: a failed assertion's hints never raise
        return []
    for item in found:
        if item.signal == name and (item.receiver == target or item.receiver.rsplit(".", 1)[-1] == target):
            out.append(f"weak receiver collected: {item.message}")
    return out


def _other_signals(name: str, receiver: Any, target: str) -> list[str]:
    from .naming import iter_module_signals, signal_name

    found = []
    seen: set[int] = set()
    try:
        signals = iter_module_signals()
    except Exception:  # pragma: no cover - defensive: a failed assertion's hints never raise
        return []
    for _, _, other in signals:
        if id(other) in seen:
            continue
        seen.add(id(other))
        other_name = signal_name(other)
        if other_name == name:
            continue
        try:
            _, live = _signal(other)
            if _matching(live, receiver):
                found.append(other_name)
        except Exception:  # pragma: no cover - defensive: a failed assertion's hints never raise
            continue
    if not found:
        return []
    return [f"another signal: it is connected to {', '.join(sorted(found))} instead."]


def _module(receiver: Any) -> str | None:
    """The module a dotted receiver name lives in, if none of its prefixes is loaded."""
    if not isinstance(receiver, str) or "." not in receiver:
        return None
    parts = receiver.split(".")
    for end in range(len(parts) - 1, 0, -1):
        loaded = sys.modules.get(".".join(parts[:end]))
        if loaded is None:
            continue
        if end == len(parts) - 1 or hasattr(loaded, parts[end]):
            return None  # the module is loaded (what it holds is another matter)
        break
    return ".".join(parts[:-1])


def _urlconf() -> str | None:
    from django.conf import settings

    value = getattr(settings, "ROOT_URLCONF", None) if settings.configured else None
    return value if isinstance(value, str) else None
