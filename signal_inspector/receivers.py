"""The static map: every live receiver of every signal, and the duplicate rules.

Reads ``Signal.receivers`` (whose entries differ between Django 5.2 and 6.x)
and the connect sites that ``sites`` recorded. Everything it returns is
plain data, shared by the ``signalmap`` command, the W001 check and the panel.
"""

from __future__ import annotations

import functools
import linecache
import re
import sys
import types
import weakref
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from django.db.models.signals import ModelSignal
from django.dispatch import Signal
from django.dispatch import dispatcher as _dispatcher

from .naming import (
    code_key,
    code_of,
    is_project_module,
    iter_module_signals,
    receiver_name,
    sender_label,
    short_path,
    signal_name,
)
from .sites import ConnectSite, collected_receivers, connect_sites, entry_parts, sender_kind

SCHEMA_VERSION = 1

# Why registrations of one piece of code run twice for one send.
CAUSE_ANY_AND_SPECIFIC = "any_and_specific_sender"
CAUSE_DOUBLE_IMPORT = "double_import"
CAUSE_SAME_CODE = "same_code_connected_again"
CAUSE_DISPATCH_UIDS = "different_dispatch_uids"

UNKNOWN_NOT_RECORDED = (
    "connected before signal_inspector was imported (Django connects some receivers "
    "at import, before any app); for the others, put 'signal_inspector' first in "
    "INSTALLED_APPS"
)
UNKNOWN_BEFORE_APPS = (
    "connected before signal_inspector was imported, by a module loaded before any app: "
    "by Django itself, or by the settings module{settings} and what it imports (for "
    "example, `from debug_toolbar.settings import PANELS_DEFAULTS` imports "
    "django.test.signals); INSTALLED_APPS order cannot change that"
)
UNKNOWN_NOT_SEEN = (
    "its connect() went around the one signal_inspector wraps (a reference to "
    "Django's own Signal.connect kept from before signal_inspector was imported)"
)
UNKNOWN_LAZY = "lazy sender: connected when the model was loaded; the connect() call is not known"
UNKNOWN_NO_FRAME = "no caller outside Django was found"

_NONE_ID = _dispatcher._make_id(None)  # type: ignore[attr-defined]


@dataclass
class IgnoredConnect:
    """A ``connect()`` with a lookup key Django already held, so Django ignored it."""

    receiver: str
    connected_at: str

    def to_dict(self) -> dict[str, Any]:
        return {"receiver": self.receiver, "connected_at": self.connected_at}


@dataclass
class Registration:
    """One live entry of ``Signal.receivers``: a receiver connected for a sender."""

    signal: str
    position: int  # 1-based, in the order Django calls the receivers
    receiver: str
    module: str
    app: str | None
    defined_at: str
    sender: str | None  # None: any sender
    sender_kind: str
    lazy_sender: bool
    connected_at: str | None
    connect_note: str  # why connected_at is unknown, else ""
    ignored_connects: list[IgnoredConnect]
    dispatch_uid: str | None
    weak: bool
    is_async: bool
    duplicate_groups: list[int] = field(default_factory=list)
    # For the duplicate rules only: which object, which code, which sender.
    receiver_key: str = field(default="", repr=False, compare=False)
    code_key: str = field(default="", repr=False, compare=False)
    sender_key: int | None = field(default=None, repr=False, compare=False)

    def to_dict(self) -> dict[str, Any]:
        return {
            "position": self.position,
            "receiver": self.receiver,
            "module": self.module,
            "app": self.app,
            "defined_at": self.defined_at or None,
            "sender": self.sender,
            "sender_kind": self.sender_kind,
            "lazy_sender": self.lazy_sender,
            "connected_at": self.connected_at,
            "connect_note": self.connect_note or None,
            "ignored_connects": [c.to_dict() for c in self.ignored_connects],
            "dispatch_uid": self.dispatch_uid,
            "weak": self.weak,
            "is_async": self.is_async,
            "duplicate_groups": list(self.duplicate_groups),
        }


# Where the order of a signal's receivers (their positions) comes from.
ORDER_DJANGO = "django"  # Django's: the sync ones in connect order, then the async ones
ORDER_SIGNAL = "signal"  # the order the signal's own _live_receivers() returns them in
ORDER_CLASS = "class"  # its class orders them itself, differently per sender: shown as connected

ORDER_CLASS_NOTE = (
    "{cls} overrides _live_receivers() and decides the order of its receivers for each "
    "sender; they are listed in the order they were connected."
)


@dataclass
class SignalInfo:
    name: str
    kind: str  # the signal's class, e.g. "django.db.models.signals.ModelSignal"
    receivers: list[Registration]
    # Django sends it with model classes: what --sender app_label.Model selects.
    model_signal: bool = field(default=False, repr=False, compare=False)
    order: str = ORDER_DJANGO

    @property
    def order_note(self) -> str:
        """Why the positions may not be the order the receivers run in, else ``""``."""
        return ORDER_CLASS_NOTE.format(cls=self.kind) if self.order == ORDER_CLASS else ""

    def to_dict(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "class": self.kind,
            "order": self.order,
            "order_note": self.order_note or None,
            "receivers": [r.to_dict() for r in self.receivers],
        }


@dataclass
class DuplicateGroup:
    """Registrations that make one piece of code run more than once per send."""

    id: int
    signal: str
    receiver: str
    defined_at: str
    cause: str
    runs: int  # how many times the code runs for one send, at worst
    message: str
    fix: str
    registrations: list[Registration]

    def to_dict(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "signal": self.signal,
            "receiver": self.receiver,
            "defined_at": self.defined_at or None,
            "cause": self.cause,
            "runs": self.runs,
            "message": self.message,
            "fix": self.fix,
            "registrations": [
                {
                    "position": r.position,
                    "receiver": r.receiver,
                    "module": r.module,
                    "sender": r.sender,
                    "dispatch_uid": r.dispatch_uid,
                    "connected_at": r.connected_at,
                }
                for r in self.registrations
            ],
        }


@dataclass
class SignalMap:
    signals: list[SignalInfo]
    duplicates: list[DuplicateGroup]

    @property
    def receiver_count(self) -> int:
        return sum(len(s.receivers) for s in self.signals)

    def to_dict(self) -> dict[str, Any]:
        return {
            "version": SCHEMA_VERSION,
            "signals": [s.to_dict() for s in self.signals],
            "duplicates": [d.to_dict() for d in self.duplicates],
        }

    def select(
        self,
        *,
        signals: set[str] | None = None,
        senders: set[str] | None = None,
        apps: set[str] | None = None,
        duplicates_only: bool = False,
        include_empty: bool = False,
    ) -> SignalMap:
        """The part of the map the filters keep (each ``None`` keeps everything).

        ``senders`` keeps the receivers connected for one of those senders and,
        on a signal that sender sends (a model signal for a model, or one with
        a receiver connected for it), the receivers connected for any sender. A
        duplicate group is kept whole when any of its registrations is kept.
        """
        models = senders is not None and bool(senders & _model_labels())

        def keep(r: Registration, sent: bool) -> bool:
            return (
                (senders is None or r.sender in senders or (r.sender is None and sent))
                and (apps is None or r.app in apps)
                and (not duplicates_only or bool(r.duplicate_groups))
            )

        kept_signals = []
        kept_groups: set[int] = set()
        for info in self.signals:
            if signals is not None and info.name not in signals:
                continue
            sent = senders is not None and (
                (models and info.model_signal)
                or any(r.sender in senders for r in info.receivers)
            )
            receivers = [r for r in info.receivers if keep(r, sent)]
            for r in receivers:
                kept_groups.update(r.duplicate_groups)
            if receivers or include_empty:
                kept_signals.append(
                    SignalInfo(info.name, info.kind, receivers, info.model_signal, info.order)
                )
        return SignalMap(kept_signals, [d for d in self.duplicates if d.id in kept_groups])


def _model_labels() -> set[str]:
    from django.apps import apps

    return {m._meta.label for m in apps.get_models(include_auto_created=True)}


# --- building the map ----------------------------------------------------------


def discover_signals() -> list[tuple[str, Signal]]:
    """Every signal held at module level in a loaded module, by name.

    Walks ``sys.modules`` namespaces (never ``gc``, which would evaluate lazy
    objects); a signal kept only as a class attribute or a local is not found.
    """
    unique: dict[int, Signal] = {}
    for _module, _attr, signal in iter_module_signals():
        unique.setdefault(id(signal), signal)
    return sorted(((signal_name(s), s) for s in unique.values()), key=lambda p: p[0])


def build_map(signals: Iterable[tuple[str, Signal]] | None = None) -> SignalMap:
    """The live receivers of ``signals`` ((name, signal) pairs; by default every
    signal :func:`discover_signals` finds), and the duplicate groups among them."""
    context = _Context()
    infos = []
    for name, signal in discover_signals() if signals is None else signals:
        registrations, order = _registrations(name, signal, context)
        infos.append(
            SignalInfo(
                name,
                _class_path(type(signal)),
                registrations,
                model_signal=isinstance(signal, ModelSignal),
                order=order,
            )
        )
    return SignalMap(infos, find_duplicates(infos))


def _class_path(cls: type) -> str:
    return f"{cls.__module__}.{cls.__qualname__}"


class _Context:
    """Lookups shared by all signals of one build (app configs, model ids)."""

    def __init__(self) -> None:
        self._apps: dict[str, str | None] = {}
        self._models: dict[int, type] | None = None
        self._order: dict[str, int] | None = None

    def unknown_note(self, module: str) -> str:
        """Why a connect site was not recorded: told by whether the receiver's
        module was imported before signal_inspector (``sys.modules`` keeps import
        order) and where signal_inspector is in ``INSTALLED_APPS``."""
        from django.apps import apps
        from django.conf import settings

        if (
            apps.ready
            and apps.is_installed("signal_inspector")
            and next(iter(apps.get_app_configs())).name != "signal_inspector"
        ):
            return UNKNOWN_NOT_RECORDED
        if self._order is None:
            self._order = {name: i for i, name in enumerate(sys.modules)}
        here = self._order.get(module)
        ours = self._order.get("signal_inspector")
        if here is not None and ours is not None and here > ours:
            return UNKNOWN_NOT_SEEN
        name = getattr(settings, "SETTINGS_MODULE", None) if settings.configured else None
        return UNKNOWN_BEFORE_APPS.format(settings=f" ({name})" if name else "")

    def app_of(self, module: str) -> str | None:
        if module not in self._apps:
            from django.apps import apps

            try:
                config = apps.get_containing_app_config(module)
            except Exception:  # the registry is not ready
                config = None
            self._apps[module] = config.label if config is not None else None
        return self._apps[module]

    def model_with_id(self, sender_id: int) -> type | None:
        if self._models is None:
            from django.apps import apps

            try:
                models = apps.get_models(include_auto_created=True, include_swapped=True)
            except Exception:
                models = []
            self._models = {id(m): m for m in models}
        return self._models.get(sender_id)


def _live_entries(signal: Signal) -> list[tuple[Any, Any, Any, bool, bool]]:
    """(lookup key, receiver, sender or ``...`` if not held, is_async, weak) of live entries."""
    with signal.lock:
        entries = list(signal.receivers)
    live = []
    for entry in entries:
        key, ref, sender_ref, is_async = entry_parts(entry)
        weak = isinstance(ref, weakref.ReferenceType)
        receiver = ref() if weak else ref
        if receiver is None:
            continue
        sender: Any = ...
        if sender_ref is not None:
            sender = sender_ref()
            if sender is None:
                continue
        live.append((key, receiver, sender, bool(is_async), weak))
    # Django calls the sync receivers in order, then the async ones together.
    return [e for e in live if not e[3]] + [e for e in live if e[3]]


def _call_order(
    signal: Signal, live: list[tuple[Any, Any, Any, bool, bool]]
) -> tuple[list[tuple[Any, Any, Any, bool, bool]], str]:
    """``live`` in the order ``signal`` calls its receivers, and where that order
    comes from (``ORDER_*``).

    A class that overrides ``_live_receivers()`` (pretix's plugin signals sort
    theirs by module) is asked for its order, for "any sender", as each of its
    sends asks it; only when every live receiver is connected for any sender, none
    is async, and the signal caches nothing per sender (so the call fills no
    cache). Otherwise, or if it raises or returns other receivers than those live,
    its class decides per sender and the connect order is shown.
    """
    method = getattr(type(signal), "_live_receivers", None)
    if method is None or method is Signal._live_receivers:
        return live, ORDER_DJANGO
    if (
        getattr(signal, "use_caching", False)
        or any(entry[3] for entry in live)
        or any(entry[0][1] != _NONE_ID for entry in live)
    ):
        return live, ORDER_CLASS
    make_id = _dispatcher._make_id  # type: ignore[attr-defined]
    try:
        result = signal._live_receivers(None)
        called = list(result[0] if isinstance(result, tuple) else result)
        rank = {make_id(receiver): index for index, receiver in enumerate(called)}
        del result, called
    except Exception:
        return live, ORDER_CLASS
    keys = [make_id(entry[1]) for entry in live]
    if len(rank) != len(live) or set(rank) != set(keys):
        return live, ORDER_CLASS
    ordered = sorted(zip(keys, live, strict=True), key=lambda pair: rank[pair[0]])
    return [entry for _, entry in ordered], ORDER_SIGNAL


def _registrations(
    name: str, signal: Signal, context: _Context
) -> tuple[list[Registration], str]:
    sites = connect_sites(signal)
    out = []
    entries, order = _call_order(signal, _live_entries(signal))
    for position, (key, receiver, sender, is_async, weak) in enumerate(entries, 1):
        rname = receiver_name(receiver)
        recorded = sites.get(key, [])
        site: ConnectSite | None = recorded[0] if recorded else None
        ignored = recorded[1:]
        if site is not None and site.receiver and site.receiver != rname:
            # Connected before recording began; these connects came later.
            site, ignored = None, recorded
        label, kind, lazy = _sender(key[1], sender, site, context)
        module = _module_of(receiver)
        code = (
            receiver.__code__
            if type(receiver) is types.FunctionType and "__wrapped__" not in receiver.__dict__
            else code_of(receiver)
        )
        if site is None:
            # Connected before signal_inspector was imported: the @receiver or
            # connect() line is often in the receiver's own source.
            connected_at = _site_in_source(receiver, name)
            note = "" if connected_at else context.unknown_note(module)
        elif not site.file:
            connected_at, note = None, UNKNOWN_LAZY if site.lazy else UNKNOWN_NO_FRAME
        else:
            connected_at, note = site.describe(), ""
        if site is not None:
            uid = site.dispatch_uid
        elif isinstance(key[0], str):
            uid = key[0]  # receivers' own keys are ids: a string is a dispatch_uid
        else:
            uid = None
        out.append(
            Registration(
                signal=name,
                position=position,
                receiver=rname,
                module=module,
                app=context.app_of(module),
                defined_at=f"{short_path(code.co_filename)}:{code.co_firstlineno}" if code else "",
                sender=label,
                sender_kind=kind,
                lazy_sender=lazy,
                connected_at=connected_at,
                connect_note=note,
                ignored_connects=[IgnoredConnect(s.receiver, s.describe()) for s in ignored],
                dispatch_uid=uid,
                weak=weak,
                is_async=is_async,
                receiver_key=repr(_dispatcher._make_id(receiver)),  # type: ignore[attr-defined]
                code_key=code_key(receiver, code),
                sender_key=None if key[1] == _NONE_ID else _sender_id(key[1]),
            )
        )
    return out, order


_RECEIVER_DECORATOR = re.compile(r"\s*@\s*(?:[\w.]+\.)?receiver\s*\(")


def _site_in_source(receiver: Any, signal: str) -> str | None:
    """``file:line`` of the ``@receiver(...)`` above a function, or of a unique
    ``signal.connect(function`` line in its module: how a receiver connected
    before signal_inspector was imported still gets its site. ``None`` if the
    source does not say it unambiguously."""
    if type(receiver) is not types.FunctionType:
        return None
    code = receiver.__code__
    try:
        lines = linecache.getlines(code.co_filename)
    except Exception:
        return None
    if not lines:
        return None
    attr = signal.rpartition(".")[2]
    # co_firstlineno of a decorated function is its first decorator's line.
    decorators = []
    for number in range(code.co_firstlineno, min(code.co_firstlineno + 30, len(lines) + 1)):
        text = lines[number - 1]
        if text.lstrip().startswith(("def ", "async def ")):
            break
        if _RECEIVER_DECORATOR.match(text):
            decorators.append((number, text))
    naming_it = [n for n, text in decorators if re.search(rf"\b{re.escape(attr)}\b", text)]
    if len(naming_it) == 1 or (not naming_it and len(decorators) == 1):
        number = naming_it[0] if naming_it else decorators[0][0]
        return f"{short_path(code.co_filename)}:{number}"
    if decorators:
        return None
    connect = re.compile(
        rf"\b{re.escape(attr)}\.connect\(\s*{re.escape(receiver.__name__)}\b"
    )
    calls = [n for n, text in enumerate(lines, 1) if connect.search(text)]
    if len(calls) == 1:
        return f"{short_path(code.co_filename)}:{calls[0]}"
    return None


def _sender_id(key: Any) -> int | None:
    return key if isinstance(key, int) else hash(key)


def _sender(
    key: Any, sender: Any, site: ConnectSite | None, context: _Context
) -> tuple[str | None, str, bool]:
    """(label or None for any sender, kind, given as a lazy string)."""
    lazy = site.lazy if site is not None else False
    if key == _NONE_ID:
        return None, "any", False
    if sender is not ...:  # Django 6.x keeps a weak reference to the sender
        return sender_label(sender), sender_kind(sender), lazy
    if site is not None and site.sender_kind:
        return site.sender, site.sender_kind, lazy
    model = context.model_with_id(key) if isinstance(key, int) else None
    if model is not None:
        return sender_label(model), sender_kind(model), lazy
    return f"<unknown sender {key!r}>", "unknown", lazy


def _module_of(receiver: Any) -> str:
    if type(receiver) is types.FunctionType:
        return receiver.__module__
    target = receiver
    for _ in range(10):
        if isinstance(target, functools.partial):
            target = target.func
        elif isinstance(target, types.MethodType):
            target = target.__func__
        else:
            break
    module = getattr(target, "__module__", None)
    if not isinstance(module, str):
        module = getattr(type(target), "__module__", None)
    return module if isinstance(module, str) else "?"


# --- receivers garbage-collected ----------------------------------------------


@dataclass
class CollectedReceiver:
    """A weakly connected receiver garbage-collected while connected: it no longer
    runs, and Django says nothing (a function defined inside another function,
    a bound method of a temporary object)."""

    signal: str
    receiver: str
    sender: str | None  # None: any sender
    connected_at: str | None
    dispatch_uid: str | None
    times: int  # how many such receivers, connected at that site, were collected
    app: str | None  # the app of the module where connect() ran
    project: bool  # connect() ran in the project's own code

    # Alive only because Django's DEBUG signature cache holds it: collected, and
    # silent, as soon as DEBUG is False (in production).
    debug_only: bool = False

    def to_dict(self) -> dict[str, Any]:
        return {
            "signal": self.signal,
            "receiver": self.receiver,
            "sender": self.sender,
            "connected_at": self.connected_at,
            "dispatch_uid": self.dispatch_uid,
            "times": self.times,
            "app": self.app,
            "debug_only": self.debug_only,
        }

    @property
    def message(self) -> str:
        times = f" ({self.times} times)" if self.times > 1 else ""
        sender = "any sender" if self.sender is None else self.sender
        where = f"at {self.connected_at or 'an unknown place'}"
        if self.debug_only:
            return (
                f"{self.receiver} is connected weakly to {self.signal} (sender: {sender}) "
                f"{where}, and nothing but Django's DEBUG-only signature cache holds it: "
                "with DEBUG = False (in production) it is garbage-collected and never runs. "
                "Django holds receivers through weak references unless connect() is given "
                "weak=False."
            )
        return (
            f"{self.receiver} was connected weakly to {self.signal} (sender: {sender}) "
            f"{where}, and garbage-collected{times}: it no longer runs. Django holds "
            "receivers through weak references unless connect() is given weak=False."
        )

    fix = (
        "Connect it with weak=False (receiver(..., weak=False)), or keep a reference "
        "to it for as long as it should run: define it at module level, or keep the "
        "object whose method it is."
    )


def find_collected(
    signals: Iterable[tuple[str, Signal]] | None = None,
) -> list[CollectedReceiver]:
    """Weak receivers signal_inspector saw connected that were garbage-collected
    while connected, by signal name (``signals`` as for :func:`build_map`)."""
    context = _Context()
    found = []
    for name, signal in discover_signals() if signals is None else signals:
        for fact in collected_receivers(signal):
            site = fact.site
            found.append(
                CollectedReceiver(
                    signal=name,
                    receiver=site.receiver or "?",
                    sender=site.sender or None,
                    connected_at=site.describe() if site.file else None,
                    dispatch_uid=site.dispatch_uid,
                    times=fact.times,
                    app=context.app_of(site.module) if site.module else None,
                    project=bool(site.module) and is_project_module(site.module),
                )
            )
        found += _kept_by_debug_cache(name, signal, context)
    return found


def _kept_by_debug_cache(name: str, signal: Signal, context: _Context) -> list[CollectedReceiver]:
    """Weakly connected closures and lambdas of the project that only Django's
    DEBUG-time signature cache (``django.utils.inspect``'s ``lru_cache``, filled by
    ``connect()`` when ``DEBUG`` is on) keeps alive: they run in development and
    are collected in production. Asks ``gc`` who refers to each (no object is
    evaluated), only for such candidates."""
    from django.conf import settings

    if not (settings.configured and settings.DEBUG):
        return []
    found = []
    for recorded in list(connect_sites(signal).values()):
        site = recorded[0] if recorded else None
        if site is None or site.ref is None or not site.module:
            continue
        func = site.ref()
        if type(func) is not types.FunctionType:
            continue
        if "<locals>" not in func.__qualname__ and func.__name__ != "<lambda>":
            continue
        if is_project_module(site.module) and _only_in_signature_cache(func):
            found.append(
                CollectedReceiver(
                    signal=name,
                    receiver=site.receiver or "?",
                    sender=site.sender or None,
                    connected_at=site.describe() if site.file else None,
                    dispatch_uid=site.dispatch_uid,
                    times=1,
                    app=context.app_of(site.module),
                    project=True,
                    debug_only=True,
                )
            )
        del func
    return found


def _only_in_signature_cache(func: Any) -> bool:
    """Whether the only references to ``func``, besides the caller's and ours, are
    keys of Django's signature cache. ``gc`` finds the cache's keys; a running
    function's local variable is no ``gc`` referrer, so the reference count must
    also match (calibrated on an object held only here)."""
    import gc

    # A plain loop: a comprehension using func would add a closure cell referring to it.
    keys = 0
    for referrer in gc.get_referrers(func):
        if isinstance(referrer, types.FrameType) and referrer.f_code in _OWN_CODE:
            continue  # our own frames, holding it while asking
        if not (
            type(referrer) is tuple
            and len(referrer) >= 2
            and referrer[0] is func
            and "remove_first" in referrer[1:]
        ):
            return False
        keys += 1
    del referrer
    probe = object()
    # func: the caller's variable, this parameter, _refcount's; probe: the last two.
    # Python 3.10 also holds each argument on the caller's stack during a call: func
    # is one call deeper here than probe.
    return keys > 0 and _refcount(func) == _refcount(probe) + 1 + keys + _STACK_REF


_STACK_REF = 1 if sys.version_info < (3, 11) else 0


def _refcount(value: Any) -> int:
    return sys.getrefcount(value)


# --- the duplicate rules -------------------------------------------------------


def find_duplicates(signals: list[SignalInfo]) -> list[DuplicateGroup]:
    """Group registrations that run one piece of code more than once per send.

    On one signal, two registrations are duplicates when they run the same
    code (the same function, or function objects made from the same source)
    and their senders overlap (equal, or one of them is "any sender"). Django
    already dropped same-key connects, so every live entry here is called.
    Numbers the groups and marks each registration with its group ids.
    """
    groups: list[DuplicateGroup] = []
    for info in signals:
        for r in info.receivers:
            r.duplicate_groups.clear()
        by_code: dict[str, list[Registration]] = {}
        for r in info.receivers:
            by_code.setdefault(r.code_key or "object:" + r.receiver_key, []).append(r)
        for same_code in by_code.values():
            if len(same_code) < 2:
                continue
            for component in _overlapping(same_code):
                if len(component) > 1:
                    groups.append(_diagnose(len(groups) + 1, info.name, component))
    for group in groups:
        for r in group.registrations:
            r.duplicate_groups.append(group.id)
    return groups


def _overlapping(registrations: list[Registration]) -> list[list[Registration]]:
    # Django sends with the exact sender (a proxy model is its own sender), so
    # two specific senders overlap only when they are the same object.
    if any(r.sender_key is None for r in registrations):
        return [registrations]
    by_sender: dict[int, list[Registration]] = {}
    for r in registrations:
        by_sender.setdefault(r.sender_key, []).append(r)  # type: ignore[arg-type]
    return list(by_sender.values())


def _runs(registrations: list[Registration]) -> int:
    anys = sum(r.sender_key is None for r in registrations)
    counts: dict[int, int] = {}
    for r in registrations:
        if r.sender_key is not None:
            counts[r.sender_key] = counts.get(r.sender_key, 0) + 1
    return anys + max(counts.values(), default=0)


def _unique(values: list[Any]) -> list[Any]:
    return list(dict.fromkeys(values))


def _sender_text(r: Registration) -> str:
    return "any sender" if r.sender is None else r.sender


def _diagnose(number: int, signal: str, regs: list[Registration]) -> DuplicateGroup:
    first = regs[0]
    runs = _runs(regs)
    modules = _unique([r.module for r in regs])
    objects = _unique([r.receiver_key for r in regs])
    sites = _unique([r.connected_at or "an unknown place" for r in regs])
    specific = _unique([r.sender for r in regs if r.sender is not None])
    uid_hint = "or give every connect() of it the same dispatch_uid, so Django keeps one"
    if len(modules) > 1:
        cause = CAUSE_DOUBLE_IMPORT
        file = first.defined_at.rpartition(":")[0] or "?"
        preferred = next((r.module for r in regs if r.app is not None), modules[0])
        message = (
            f"{file} is imported as {len(modules)} modules "
            f"({', '.join(modules)}), and each copy connects its own "
            f"{first.receiver.rpartition('.')[2]}() to {signal}: it runs {runs} times per send."
        )
        fix = (
            f"Import that file under one name only ({preferred}): look for a "
            f"sys.path entry that makes it importable under another package, or an "
            f"app listed under two names; {uid_hint}."
        )
    elif len(objects) > 1:
        cause = CAUSE_SAME_CODE
        where = (
            f"connect() at {sites[0]} ran {len(regs)} times"
            if len(sites) == 1
            else f"it was connected at {', '.join(sites)}"
        )
        message = (
            f"{len(regs)} function objects made from the same code "
            f"({first.receiver}, {first.defined_at or 'unknown place'}) are connected "
            f"to {signal}: {where}, each time with a new object (a closure or lambda "
            f"made in a loop, or setup code such as ready() that runs twice). "
            f"It runs {runs} times per send."
        )
        fix = (
            "Connect it once: define the receiver at module level and connect it in "
            f"one place, {uid_hint}."
        )
    elif any(r.sender is None for r in regs) and specific:
        cause = CAUSE_ANY_AND_SPECIFIC
        message = (
            f"{first.receiver} is connected to {signal} for any sender and for "
            f"{', '.join(specific)}: it runs {runs} times when "
            f"{specific[0]} sends."
        )
        fix = (
            "Connect it once: either for any sender (remove the connect with "
            "sender=...), or only for the senders it needs (remove the connect "
            "without a sender)."
        )
    else:
        cause = CAUSE_DISPATCH_UIDS
        uids = ", ".join(
            repr(r.dispatch_uid) if r.dispatch_uid is not None else "no dispatch_uid"
            for r in regs
        )
        message = (
            f"{first.receiver} is connected to {signal} for {_sender_text(first)} "
            f"under {len(regs)} different dispatch_uids ({uids}): Django keeps "
            f"one receiver per dispatch_uid, so it runs {runs} times per send."
        )
        fix = "Connect it once, under one dispatch_uid."
    return DuplicateGroup(
        id=number,
        signal=signal,
        receiver=first.receiver,
        defined_at=first.defined_at,
        cause=cause,
        runs=runs,
        message=message,
        fix=fix,
        registrations=list(regs),
    )


_OWN_CODE = (_only_in_signature_cache.__code__, _kept_by_debug_cache.__code__)
