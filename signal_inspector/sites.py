"""Connect sites: where each ``connect()`` ran, and Django's receiver entries.

``Signal.connect`` and ``disconnect`` stay wrapped for the life of the process
(installed when the app is imported): a connect that happened before recording
started cannot be seen afterwards. The wrappers call Django's own methods with
the same arguments and only note the call site; nothing else changes.
"""

from __future__ import annotations

import contextlib
import sys
import weakref
from dataclasses import dataclass, field
from types import FrameType
from typing import Any

from django.dispatch import Signal
from django.dispatch import dispatcher as _dispatcher

from .naming import in_modules, receiver_name, safe_repr, sender_label, short_path
from .slots import below_of, mark


def entry_parts(entry: tuple[Any, ...]) -> tuple[Any, Any, Any, bool]:
    """(lookup key, receiver or its weak reference, sender weak reference or None,
    is_async) of one ``Signal.receivers`` entry: Django 6.x added the sender's
    weak reference, 5.2 has three fields."""
    if len(entry) == 4:
        return entry[0], entry[1], entry[2], bool(entry[3])
    return entry[0], entry[1], None, bool(entry[2])


@dataclass(frozen=True, slots=True)
class ConnectSite:
    """Where one ``connect()`` call ran, and with what arguments.

    The sender is kept only as a label and a kind (see :func:`sender_kind`):
    Django 5.2 stores nothing but its id, and a strong or weak reference here
    would change what Django keeps alive.
    """

    file: str
    line: int
    function: str
    module: str
    dispatch_uid: str | None
    weak: bool
    receiver: str = ""
    sender: str = ""  # sender_label() of the sender; "" for any sender
    sender_kind: str = ""
    lazy: bool = False  # the sender was given as an "app_label.Model" string
    # A weak reference to a weakly connected receiver, as Django's own (never a
    # strong one): tells a receiver garbage-collected while connected.
    ref: Any = field(default=None, compare=False, repr=False)

    def describe(self) -> str:
        return f"{self.file}:{self.line}" if self.file else "unknown"


# Kept on the signal itself (not in a WeakKeyDictionary: connect() must not
# create weak references Django did not ask for).
_SITES_ATTR = "_signal_inspector_connect_sites"


def connect_sites(signal: Signal) -> dict[Any, list[ConnectSite]]:
    """Lookup key -> every site that connected ``signal`` with that key, in order."""
    sites: dict[Any, list[ConnectSite]] = signal.__dict__.get(_SITES_ATTR, {})
    return sites


# django.apps.registry: a lazy "app_label.Model" sender connects through
# Apps.lazy_model_operation(), whose frames are not where connect() was called.
_CONNECT_SKIP = (
    "django.dispatch",
    "django.db.models.signals",
    "django.apps.registry",
    "signal_inspector.sites",
)


def sender_kind(sender: Any) -> str:
    """``any``, ``model``, ``proxy_model``, ``abstract_model``, ``class`` or ``object``."""
    if sender is None:
        return "any"
    if not issubclass(type(sender), type):
        return "object"
    meta = sender.__dict__.get("_meta")
    if meta is None or not isinstance(getattr(meta, "label", None), str):
        return "class"
    if getattr(meta, "abstract", False):
        return "abstract_model"
    if getattr(meta, "proxy", False):
        return "proxy_model"
    return "model"


def _weak_ref(receiver: Any) -> Any:
    """A weak reference to ``receiver``, made as Django makes its own."""
    try:
        if hasattr(receiver, "__self__") and hasattr(receiver, "__func__"):
            return weakref.WeakMethod(receiver)
        return weakref.ref(receiver)
    except TypeError:  # pragma: no cover - Django's connect() raised first for it
        return None


def _in_connect_override(frame: FrameType) -> bool:
    """Whether ``frame`` runs a ``connect()`` defined by a ``Signal`` subclass (as
    pretix's plugin signals define one that checks the receiver's app, then calls
    ``super().connect()``): the caller of the override is the connect site."""
    code = frame.f_code
    if code.co_name != "connect" or not code.co_argcount or code.co_varnames[0] != "self":
        return False
    try:
        return isinstance(frame.f_locals.get("self"), Signal)
    except Exception:  # pragma: no cover - defensive: a hostile ``self`` in a caller's frame
        return False


def _connect_site(
    dispatch_uid: Any, weak: bool, receiver: Any = None, sender: Any = None
) -> ConnectSite:
    uid = None if dispatch_uid is None else safe_repr(dispatch_uid, 100).strip("'")
    facts = (
        receiver_name(receiver),
        "" if sender is None else sender_label(sender),
        sender_kind(sender),
    )
    lazy = False
    ref = _weak_ref(receiver) if weak else None
    frame: FrameType | None = sys._getframe(2)
    callee = ""
    while frame is not None:
        module = frame.f_globals.get("__name__", "")
        code = frame.f_code
        if not in_modules(module, _CONNECT_SKIP) and not _in_connect_override(frame):
            line = frame.f_lineno
            if _DEF_LINE_FOR_DECORATORS and callee == "_decorator":
                line = _decorator_line(code.co_filename, line)
            return ConnectSite(
                short_path(code.co_filename),
                line,
                code.co_name,
                module,
                uid,
                weak,
                *facts,
                lazy,
                ref,
            )
        if code.co_name == "_lazy_method" and module == "django.db.models.signals":
            lazy = isinstance(frame.f_locals.get("sender"), str)
        elif code.co_name == "do_pending_operations":
            # Deferred until the model's class statement ran: the frames below
            # are that statement, not the connect() call, which is gone.
            return ConnectSite("", 0, "", "", uid, weak, *facts, True, ref)
        callee = code.co_name if module == "django.dispatch.dispatcher" else ""
        frame = frame.f_back
    return ConnectSite("", 0, "", "", uid, weak, *facts, lazy, ref)


# Python 3.10 reports the ``def`` line while a decorator is applied; 3.11 and
# later the decorator's own line, which is where ``@receiver`` connected it.
_DEF_LINE_FOR_DECORATORS = sys.version_info < (3, 11)
# (file, def line) -> decorators applied so far (bottom-up, as Python applies them).
_applied: dict[tuple[str, int], int] = {}


def _decorator_line(filename: str, def_line: int) -> int:
    """On 3.10: the line of the ``@receiver`` being applied to the function defined
    at ``def_line`` (the first application is the decorator nearest the ``def``)."""
    import linecache

    decorators = []
    for number in range(def_line - 1, max(def_line - 40, 0), -1):
        text = linecache.getline(filename, number).strip()
        if text.startswith("@"):
            if "receiver" in text:
                decorators.append(number)
        elif text and not text.startswith(("#", ")", "]", "}")) and not text.endswith((",", "(", "[", "{")):
            break  # past the decorators (a continuation line of one is skipped)
    if not decorators:
        return def_line
    key = (filename, def_line)
    index = _applied.get(key, 0)
    if len(_applied) > 10_000:
        _applied.clear()
    _applied[key] = index + 1
    return decorators[min(index, len(decorators) - 1)]


def _lookup_key(receiver: Any, sender: Any, dispatch_uid: Any) -> Any:
    make_id = _dispatcher._make_id  # type: ignore[attr-defined]
    if dispatch_uid:
        return (dispatch_uid, make_id(sender))
    return (make_id(receiver), make_id(sender))


# Weak receivers garbage-collected while connected: they no longer run, and
# Django says nothing. Kept per signal, one entry per connect site with a count,
# at most _MAX_COLLECTED: a per-request connect of a closure must not grow memory.
_COLLECTED_ATTR = "_signal_inspector_collected"
_MAX_COLLECTED = 16


@dataclass(slots=True)
class Collected:
    """A weakly connected receiver that was garbage-collected while connected."""

    site: ConnectSite
    times: int = 1


def _collected(site: ConnectSite) -> bool:
    """Whether the weakly connected receiver of ``site`` was garbage-collected."""
    return site.ref is not None and site.ref() is None


def _remember_collected(signal: Signal, sites: list[ConnectSite]) -> None:
    """Note that the receiver of these sites was collected, before they are dropped."""
    if not sites or not _collected(sites[0]):
        return
    site = sites[0]
    record: dict[tuple[Any, ...], Collected] = signal.__dict__.setdefault(_COLLECTED_ATTR, {})
    fact = (site.receiver, site.file, site.line, site.sender, site.dispatch_uid)
    if fact in record:
        record[fact].times += 1
        return
    if len(record) >= _MAX_COLLECTED:
        del record[next(iter(record))]
    record[fact] = Collected(site)


def collected_receivers(signal: Signal) -> list[Collected]:
    """Weak receivers of ``signal`` garbage-collected while connected: those noted
    when their sites were dropped, and those whose entry is dead now."""
    noted = signal.__dict__.get(_COLLECTED_ATTR, {})
    found = {fact: Collected(c.site, c.times) for fact, c in noted.items()}
    for recorded in list(connect_sites(signal).values()):
        if recorded and _collected(recorded[0]):
            site = recorded[0]
            fact = (site.receiver, site.file, site.line, site.sender, site.dispatch_uid)
            if fact in found:
                found[fact].times += 1
            else:
                found[fact] = Collected(site)
    return list(found.values())


def _key_is_live(signal: Signal, key: Any) -> bool:
    for entry in signal.receivers:
        entry_key, ref, sender_ref, _ = entry_parts(entry)
        if entry_key == key:
            if isinstance(ref, weakref.ReferenceType) and ref() is None:
                return False
            return not (sender_ref is not None and sender_ref() is None)
    return False


def _prune_sites(signal: Signal, sites: dict[Any, list[ConnectSite]]) -> None:
    """Forget the sites of lookup keys no receiver holds any more (disconnected or
    collected): connect/disconnect per request must not grow memory."""
    live = {entry[0] for entry in signal.receivers}
    for key in [k for k in sites if k not in live]:
        _remember_collected(signal, sites[key])
        del sites[key]


# Sites kept per lookup key: the connect Django kept, and the latest few it
# ignored as duplicates (a dispatch_uid connect per request must not grow).
MAX_SITES_PER_KEY = 8


def _note_site(sites: dict[Any, list[ConnectSite]], key: Any, site: ConnectSite) -> None:
    """Add ``site`` to ``key``'s sites: not again if it is there, and past
    ``MAX_SITES_PER_KEY`` in place of the oldest ignored one."""
    kept = sites.get(key)
    if kept is None:
        sites[key] = [site]
        return
    if site in kept:
        return
    if len(kept) >= MAX_SITES_PER_KEY:
        del kept[1]
    kept.append(site)


def _wrap_connect(original: Any) -> Any:
    def connect(
        self: Signal, receiver: Any, sender: Any = None, weak: bool = True, dispatch_uid: Any = None
    ) -> None:
        try:
            key = _lookup_key(receiver, sender, dispatch_uid)
            sites = self.__dict__.setdefault(_SITES_ATTR, {})
            if key in sites and not _key_is_live(self, key):
                # Whatever held this key died (its id may be reused): those sites
                # belong to it, not to this receiver.
                _remember_collected(self, sites[key])
                del sites[key]
        except Exception:  # pragma: no cover - defensive: never break connect()
            sites = None
        result = original(self, receiver, sender, weak, dispatch_uid)
        if sites is not None:
            with contextlib.suppress(Exception):
                _note_site(sites, key, _connect_site(dispatch_uid, weak, receiver, sender))
                if len(sites) > 2 * len(self.receivers) + 32:
                    _prune_sites(self, sites)
        return result  # type: ignore[no-any-return]

    connect.__doc__ = original.__doc__
    mark(connect, original)
    return connect


def _wrap_disconnect(original: Any) -> Any:
    def disconnect(
        self: Signal, receiver: Any = None, sender: Any = None, dispatch_uid: Any = None
    ) -> bool:
        disconnected = original(self, receiver, sender, dispatch_uid)
        if disconnected:
            with contextlib.suppress(Exception):
                sites = self.__dict__.get(_SITES_ATTR)
                if sites:
                    sites.pop(_lookup_key(receiver, sender, dispatch_uid), None)
        return disconnected  # type: ignore[no-any-return]

    disconnect.__doc__ = original.__doc__
    mark(disconnect, original)
    return disconnect




_WRAPS = (("connect", _wrap_connect), ("disconnect", _wrap_disconnect))


def _ours_within(function: Any) -> bool:
    """Whether ``function`` is our wrapper, or a ``functools.wraps`` wrapper
    another tool put around it (ours runs under it: not wrapped again)."""
    for _ in range(10):
        if below_of(function) is not None:
            return True
        try:
            function = vars(function).get("__wrapped__")
        except TypeError:  # no __dict__
            return False
        if function is None:
            return False
    return False


def install() -> None:
    """Wrap ``connect()``/``disconnect()`` once; later calls do nothing."""
    for name, wrap in _WRAPS:
        current = Signal.__dict__[name]
        if not _ours_within(current):
            setattr(Signal, name, wrap(current))


def uninstall() -> None:
    """Restore Django's ``connect()``/``disconnect()`` (for tests and benchmarks).
    A wrapper another tool put around ours stays: ours, under it, goes on noting
    connect sites."""
    for name, _ in _WRAPS:
        below = below_of(Signal.__dict__[name])
        if below is not None:
            setattr(Signal, name, below[0])
