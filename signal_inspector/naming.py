"""Names and short, safe reprs for signals, senders, receivers and kwargs.

Everything here must cope with hostile objects: a ``__repr__`` that raises, is
huge, recurses or runs queries. Names come from ``__module__``/``__qualname__``
and reprs are bounded while they are built.
"""

from __future__ import annotations

import collections.abc
import functools
import importlib.util
import itertools
import os
import re
import sys
import types
import weakref
from contextvars import ContextVar
from typing import Any
from urllib.parse import unquote_plus

from django.core.signals import setting_changed
from django.dispatch import Signal

_MASK_EXTRA = re.compile("COOKIE|SESSION|CSRF|CREDENTIAL", flags=re.I)
_MAX_ITEMS = 8
_MAX_DEPTH = 3


# --- signals -------------------------------------------------------------------

_signal_names: dict[int, tuple[Any, str]] = {}
_indexed_generation = -1


def _is_signal(value: Any) -> bool:
    # type() rather than isinstance(): isinstance() asks __class__, which
    # evaluates lazy objects (django.utils.functional.LazyObject).
    return issubclass(type(value), Signal)


_LazyModule: type | None = getattr(importlib.util, "_LazyModule", None)


def is_executed(module: Any) -> bool:
    """Whether ``module``'s code has run: False for a module registered through
    ``importlib.util.LazyLoader`` that nothing has touched yet. Asks only its
    type, which does not load it (any attribute access would)."""
    return _LazyModule is None or not issubclass(type(module), _LazyModule)


def _defines(module: Any, attr: str) -> bool:
    """Whether ``module``'s source assigns ``attr`` (rather than importing it)."""
    try:
        import linecache

        filename = module.__file__
        lines = linecache.getlines(filename) if filename else []
    except Exception:
        return False
    pattern = re.compile(rf"^\s*{re.escape(attr)}\s*(:[^=]*)?=(?!=)")
    return any(pattern.match(line) for line in lines)


# [sys.modules' fingerprint at the scan, [(module name, its namespace, attr,
# signal)], generation, lazily loaded modules not loaded then]
_module_signals: list[Any] = [None, [], 0, []]


def modules_fingerprint() -> tuple[int, str | None]:
    # Imports append to sys.modules: its size and last key change with any
    # import, even one made after another module was removed.
    modules = sys.modules
    return len(modules), next(reversed(modules), None)


def iter_module_signals() -> list[tuple[str, str, Signal]]:
    """Every (module name, attribute, signal) held at module level in ``sys.modules``.

    Rescanned when modules were imported since the last call (module-level
    signals are defined at import), when a lazily loaded module was loaded, and
    when a signal found last time is no longer where it was
    (``importlib.reload()`` runs a module again in its namespace, making new
    signals, and leaves ``sys.modules`` as it was).
    """
    fingerprint, found, _, lazy = _module_signals
    if (
        fingerprint != modules_fingerprint()
        or not _still_there(found)
        or not all(not is_executed(module) for module in lazy)
    ):
        found, lazy = _scan_module_signals()
        _module_signals[:] = [modules_fingerprint(), found, _module_signals[2] + 1, lazy]
    return [(modname, attr, signal) for modname, _, attr, signal in found]


def _still_there(found: list[tuple[str, dict[str, Any], str, Signal]]) -> bool:
    modules = sys.modules
    for modname, namespace, attr, signal in found:
        module = modules.get(modname)
        if module is None or namespace.get(attr) is not signal:
            return False
    return True


def _scan_module_signals() -> tuple[list[tuple[str, dict[str, Any], str, Signal]], list[Any]]:
    found = []
    lazy = []
    for modname, module in list(sys.modules.items()):
        if not isinstance(module, types.ModuleType):
            continue
        if not is_executed(module):
            # Registered through LazyLoader and not loaded yet: vars() would run it.
            lazy.append(module)
            continue
        try:
            namespace = vars(module)
        except TypeError:  # pragma: no cover - a ModuleType always has a __dict__
            continue
        try:
            items = list(namespace.items())
        except Exception:  # pragma: no cover - another thread importing into it mid-scan
            continue
        for attr, value in items:
            if _is_signal(value) and isinstance(attr, str):
                found.append((modname, namespace, attr, value))
    return found, lazy


def _index_signals() -> None:
    global _indexed_generation
    candidates: dict[int, list[tuple[str, str, Signal]]] = {}
    for modname, attr, signal in iter_module_signals():
        candidates.setdefault(id(signal), []).append((modname, attr, signal))
    _indexed_generation = _module_signals[2]
    for key, places in candidates.items():
        if key in _signal_names and _signal_names[key][0] is places[0][2]:
            continue
        _signal_names[key] = (places[0][2], _pick_name(places))


def _pick_name(places: list[tuple[str, str, Signal]]) -> str:
    defining = [
        (modname, attr)
        for modname, attr, _ in places
        if _defines(sys.modules.get(modname), attr)
    ]
    pool = defining or [(modname, attr) for modname, attr, _ in places]
    # Prefer the module that assigns it; among equals the shortest public path.
    modname, attr = min(
        pool, key=lambda p: (p[1].startswith("_"), p[0].count("."), len(p[0]), p)
    )
    return f"{modname}.{attr}"


# id(signal) -> (weak reference, sys.modules' fingerprint, name) of signals no
# module holds (made at run time): named again only once modules changed, not
# re-checked against every module-level signal on each send.
_unnamed: dict[int, tuple[Any, tuple[int, str | None], str]] = {}


def signal_name(signal: Signal) -> str:
    """The dotted path of the module attribute that defines ``signal``."""
    entry = _signal_names.get(id(signal))
    if entry is not None and entry[0] is signal:
        return entry[1]
    miss = _unnamed.get(id(signal))
    if miss is not None and miss[0]() is signal and miss[1] == modules_fingerprint():
        return miss[2]
    iter_module_signals()  # rescans if modules were imported or reloaded
    if _module_signals[2] != _indexed_generation or entry is not None:
        _index_signals()
        entry = _signal_names.get(id(signal))
        if entry is not None and entry[0] is signal:
            return entry[1]
    name = f"<unnamed {type(signal).__name__} at {id(signal):#x}>"
    if len(_unnamed) > 1000:
        _unnamed.clear()
    # Signal has no __slots__: every instance, of any subclass, is weakly referenceable.
    _unnamed[id(signal)] = (weakref.ref(signal), modules_fingerprint(), name)
    return name


# --- senders and receivers -----------------------------------------------------


# id(class) -> (weak reference to it, label): checked by identity on use, so a
# reused id fails; cheaper than a WeakKeyDictionary, which makes a weak
# reference for every lookup.
_class_labels: dict[int, tuple[Any, str]] = {}


def class_label(cls: type) -> str:
    """``app_label.Model`` for a model class, else the class's dotted path."""
    entry = _class_labels.get(id(cls))
    if entry is not None and entry[0]() is cls:
        return entry[1]
    label = _class_label(cls)
    if len(_class_labels) > 10_000:
        _class_labels.clear()
    _class_labels[id(cls)] = (weakref.ref(cls), label)  # every class is weakly referenceable
    return label


def _class_label(cls: type) -> str:
    meta = cls.__dict__.get("_meta")
    label = getattr(meta, "label", None) if meta is not None else None
    # An abstract model outside any installed app has no app_label: its label
    # would read "None.Model".
    if isinstance(label, str) and getattr(meta, "app_label", None) is not None:
        return label
    return f"{_attr(cls, '__module__')}.{_attr(cls, '__qualname__')}"


def _attr(obj: Any, name: str) -> str:
    try:
        value = getattr(obj, name, None)
    except Exception:
        value = None
    return value if isinstance(value, str) else "?"


def sender_label(sender: Any, limit: int = 200) -> str:
    """A short name for a sender: a model label, a dotted class path or a safe repr."""
    if sender is None:
        return "None"
    if issubclass(type(sender), type):
        return class_label(sender)
    return safe_repr(sender, limit)


def _unwrap_callable(obj: Any) -> Any:
    for _ in range(10):
        if isinstance(obj, functools.partial):
            obj = obj.func
        elif isinstance(obj, types.MethodType):
            obj = obj.__func__
        elif isinstance(obj, (types.FunctionType, types.BuiltinFunctionType)):
            wrapped = obj.__dict__.get("__wrapped__") if hasattr(obj, "__dict__") else None
            if wrapped is None:
                return obj
            obj = wrapped
        else:
            return obj
    return obj


def receiver_name(receiver: Any) -> str:
    """The dotted name of a receiver; partials and callable objects included."""
    try:
        if isinstance(receiver, functools.partial):
            return f"functools.partial({receiver_name(receiver.func)})"
        target = receiver
        if isinstance(receiver, types.MethodType):
            target = receiver.__func__
        if isinstance(target, (types.FunctionType, types.BuiltinFunctionType)):
            return f"{_attr(target, '__module__')}.{_attr(target, '__qualname__')}"
        if issubclass(type(receiver), type):
            # A class (post_save.connect(AuditEntry)): calling it is what runs.
            # Its type is ``type`` for every class: the class names itself.
            return f"{_attr(receiver, '__module__')}.{_attr(receiver, '__qualname__')}"
        # A callable instance: name its class.
        return class_label(type(receiver)) + "()"
    except Exception:
        return "<unnamed receiver>"


def code_of(receiver: Any) -> types.CodeType | None:
    """The code object that runs when ``receiver`` is called, if there is one."""
    try:
        target = _unwrap_callable(receiver)
        code = getattr(target, "__code__", None)
        if code is None and not isinstance(target, type):
            call = type(target).__dict__.get("__call__") or getattr(type(target), "__call__", None)  # noqa: B004
            code = getattr(_unwrap_callable(call), "__code__", None)
        return code if isinstance(code, types.CodeType) else None
    except Exception:
        return None


def code_key(receiver: Any, code: types.CodeType | None) -> str:
    """File, first line, qualified name and bytecode of the code a receiver runs,
    and the data it carries of its own (see :func:`own_data_key`).

    Equal for a function and its copy from a second import of its module, and
    for closures, lambdas or partials of equal arguments made by the same
    expression; the bytecode and its constants tell apart two lambdas written
    on one line.
    """
    if code is None:
        return ""
    return code_identity(code) + own_data_key(receiver)


_DATA_ITEMS = 8


def _data_token(value: Any, depth: int = 0) -> str:
    """Equal for equal plain values (a channel name, a dispatch_uid tuple),
    else the object's identity: comparing arbitrary objects could run their code."""
    kind = type(value)
    if kind in (str, bytes, int, float, bool, type(None)):
        return f"{kind.__name__}#{hash(value):x}"
    if kind is tuple and depth < 3 and len(value) <= _DATA_ITEMS:
        return "(" + ",".join(_data_token(item, depth + 1) for item in value) + ")"
    return f"@{id(value):x}"


def own_data_key(receiver: Any) -> str:
    """What tells apart two receivers that run the same code: the object a method
    is bound to, a callable instance, a ``functools.partial``'s arguments.

    Those are per-object or per-argument receivers (Django's file storages
    connect one each; django-auditlog connects a partial per request), not one
    receiver connected twice. ``""`` for a plain function.
    """
    if isinstance(receiver, types.MethodType):
        return f":of {id(receiver.__self__):x}"
    if isinstance(receiver, functools.partial):
        try:
            parts = [_data_token(a) for a in receiver.args[:_DATA_ITEMS]]
            parts += [f"{k}={_data_token(v)}" for k, v in sorted(receiver.keywords.items())]
            if len(receiver.args) > _DATA_ITEMS or len(receiver.keywords) > _DATA_ITEMS:
                parts = [f"@{id(receiver):x}"]
        except Exception:  # pragma: no cover - defensive: a partial's keywords are str-keyed
            parts = [f"@{id(receiver):x}"]
        return f"{own_data_key(receiver.func)}:partial({','.join(parts)})"
    if isinstance(receiver, (types.FunctionType, types.BuiltinFunctionType)):
        return ""
    return f":of {id(receiver):x}"


def code_identity(code: types.CodeType) -> str:
    """File, first line, qualified name and a hash of the bytecode of ``code``.

    The file as :func:`short_path` gives it: records carry this key, and an
    absolute path would put the machine's directories in them."""
    qualname = getattr(code, "co_qualname", None) or code.co_name
    try:
        body = hash((code.co_code, code.co_consts, code.co_names))
    except TypeError:
        body = hash(code.co_code)
    return f"{short_path(code.co_filename)}:{code.co_firstlineno}:{qualname}:{body:x}"


_short_paths: dict[str, str] = {}
_OWN_ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def short_path(filename: str) -> str:
    """``filename`` relative to the longest ``sys.path`` entry that holds it (or
    to the directory holding signal_inspector, for its own files)."""
    cached = _short_paths.get(filename)
    if cached is not None:
        return cached
    best = ""
    # Our own package's parent too: installed editable, it is on no sys.path entry.
    for entry in (*sys.path, _OWN_ROOT):
        entry = os.path.abspath(entry or os.curdir)
        if filename.startswith(entry + os.sep) and len(entry) > len(best):
            best = entry
    short = filename[len(best) + 1 :] if best else filename
    if len(_short_paths) > 10_000:
        _short_paths.clear()
    _short_paths[filename] = short
    return short


def receiver_location(receiver: Any) -> str:
    """``path/to/module.py:LINE`` where the receiver is defined, or ``""``."""
    code = code_of(receiver)
    if code is None:
        return ""
    return f"{short_path(code.co_filename)}:{code.co_firstlineno}"


# --- the project's own code ----------------------------------------------------


@functools.lru_cache(maxsize=1)
def _installed_roots() -> tuple[str, ...]:
    import site
    import sysconfig

    roots = {sysconfig.get_paths().get(key, "") for key in ("purelib", "platlib", "stdlib")}
    roots.update(site.getsitepackages() if hasattr(site, "getsitepackages") else [])
    roots.add(getattr(site, "getusersitepackages", lambda: "")())
    return tuple(os.path.realpath(r) + os.sep for r in roots if r)


def is_project_file(filename: str) -> bool:
    """Whether ``filename`` is the project's own code: not the standard library
    nor an installed package (site-packages). Advice about a receiver is worth
    giving only where the user can follow it."""
    if not filename or filename.startswith("<"):
        return False
    return not os.path.realpath(filename).startswith(_installed_roots())


_project_names: dict[str, bool] = {}


def is_project_code(name: str) -> bool:
    """Whether a receiver named by :func:`receiver_name` is the project's own code
    (its module's file is, see :func:`is_project_file`); False when unknown."""
    hit = _project_names.get(name)
    if hit is None:
        hit = _project_names[name] = _is_project_name(name)
        if len(_project_names) > 5000:
            _project_names.clear()
    return hit


def is_project_module(modname: str) -> bool:
    """Whether the loaded module ``modname`` is the project's own code."""
    module = sys.modules.get(modname)
    if module is None:
        return False
    try:
        filename = object.__getattribute__(module, "__dict__").get("__file__")
    except Exception:
        return False
    return isinstance(filename, str) and is_project_file(filename)


def _is_project_name(name: str) -> bool:
    while name.startswith("functools.partial(") and name.endswith(")"):
        name = name[len("functools.partial(") : -1]
    name = name.removesuffix("()")
    parts = name.split(".")
    for end in range(len(parts) - 1, 0, -1):
        modname = ".".join(parts[:end])
        if modname in sys.modules:
            return is_project_module(modname)
    return False


# --- values --------------------------------------------------------------------


def in_modules(module: str, prefixes: tuple[str, ...]) -> bool:
    """Whether ``module`` is one of ``prefixes`` or inside one of them."""
    return module in prefixes or module.startswith(tuple(p + "." for p in prefixes))


# True while an object's own __repr__ runs for a record: the SQL hook (sql.py)
# refuses queries then, as the toolbar's template panel does for its context.
in_repr: ContextVar[bool] = ContextVar("signal_inspector_in_repr", default=False)


class QueryInRepr(Exception):
    """Raised by the SQL hook when a repr we asked for would query the database."""


TRIGGERS_QUERY = "<<triggers database query>>"


def _truncate(text: str, limit: int) -> str:
    if len(text) <= limit:
        return text
    return text[: max(limit - 1, 0)] + "…"


_SIMPLE = {type(None), bool, float}


def safe_repr(value: Any, limit: int = 200) -> str:
    """A repr of ``value`` no longer than ``limit``; never raises, never queries."""
    kind = type(value)
    if kind in _SIMPLE or (kind is int and -(10**18) < value < 10**18):
        return repr(value)
    if kind is str and len(value) < limit - 2:
        if "=" in value or "@" in value:
            return _truncate(mask_query(repr(value)), limit)
        return repr(value)
    try:
        # Masked before it is cut: a cut must not leave half a secret unmasked.
        return _truncate(mask_query(_repr(value, limit, 0, set())), limit)
    except Exception as exc:  # recursion, hostile __repr__, ...
        return f"<unrepresentable {_type_name(value)}: {type(exc).__name__}>"


def _type_name(value: Any) -> str:
    try:
        return class_label(type(value))
    except Exception:  # pragma: no cover - defensive: class_label() guards its reads
        return "object"


def _repr(value: Any, limit: int, depth: int, seen: set[int]) -> str:
    kind = type(value)
    if value is None or kind in (bool, float, complex):
        return repr(value)
    if kind is int:
        return repr(value) if -(10**50) < value < 10**50 else f"<int of {value.bit_length()} bits>"
    if kind is str:
        return repr(value[: limit + 1])
    if kind in (bytes, bytearray):
        return repr(value[: limit + 1])
    if issubclass(kind, type):
        return f"<class {class_label(value)}>"
    if kind in (types.FunctionType, types.MethodType, types.BuiltinFunctionType, functools.partial):
        return f"<function {receiver_name(value)}>"
    if kind in _BRACKETS or _base_container(kind) is not None:
        return _repr_container(value, limit, depth, seen)
    meta = kind.__dict__.get("_meta") or getattr(kind, "_meta", None)
    if meta is not None and hasattr(meta, "label") and hasattr(meta, "pk"):
        # A model instance: never call its __str__ (it may query).
        try:
            pk = value.__dict__.get(meta.pk.attname)
        except Exception:
            pk = None
        return f"<{meta.label}: pk={_repr(pk, limit, depth + 1, seen)}>"
    lazy_label = _django_special(value)
    if lazy_label is not None:
        return lazy_label
    if _is_mapping(kind):
        return _repr_mapping(value, limit, depth, seen)
    token = in_repr.set(True)
    try:
        text = repr(value)
    except QueryInRepr:
        return TRIGGERS_QUERY
    finally:
        in_repr.reset(token)
    return text  # repr() raises TypeError for a __repr__ that returns no str


def _django_special(value: Any) -> str | None:
    """Short forms for Django objects whose repr is huge or runs queries."""
    from django.db.models.query import QuerySet
    from django.template.context import BaseContext
    from django.utils.functional import LazyObject, Promise

    kind = type(value)
    if issubclass(kind, QuerySet):
        model = getattr(value, "model", None)
        label = class_label(model) if isinstance(model, type) else "?"
        return f"<QuerySet of {label}>"
    if issubclass(kind, BaseContext):
        return f"<{kind.__name__}>"
    if issubclass(kind, LazyObject):
        return f"<{kind.__name__}>"
    if issubclass(kind, Promise):
        return "<lazy string>"
    return None


def safe_message(exc: BaseException, limit: int = 200) -> str:
    """``str(exc)`` no longer than ``limit``, taken as reprs are (see :func:`safe_repr`):
    a message that would query (a lazy, model-based one) is not run, and one
    that raises or is not a string gives a placeholder. Never raises."""
    token = in_repr.set(True)
    try:
        message = str(exc)
    except QueryInRepr:
        message = TRIGGERS_QUERY
    except Exception:
        message = safe_repr(exc, limit)
    finally:
        in_repr.reset(token)
    # A client library's error names the URL it called, query string included.
    return _truncate(mask_query(message), limit)


_BRACKETS: dict[Any, str] = {list: "[]", tuple: "()", set: "{}", frozenset: "{}", dict: "{}"}


def _base_container(kind: type) -> type | None:
    for base in (dict, list, tuple, set, frozenset):
        if issubclass(kind, base):
            return base
    return None


def _repr_container(value: Any, limit: int, depth: int, seen: set[int]) -> str:
    """Containers (and their subclasses: OrderedDict, QueryDict, namedtuples...)
    rendered item by item, bounded, with the values of secret-looking keys
    masked at any depth, as Django's error reports mask settings."""
    kind = type(value)
    base = _base_container(kind)
    brackets: str = _BRACKETS[base]
    opening, closing = brackets[0], brackets[1]
    if id(value) in seen:
        return f"{opening}...{closing}"
    if depth >= _MAX_DEPTH:
        return f"{opening}…{closing}"
    fields = getattr(kind, "_fields", None) if base is tuple else None
    # A (name, value) pair named like a secret: a header in ASGI's
    # scope["headers"] or a WSGI header list, (b"authorization", b"Bearer ...").
    # The base type's methods, as below: a subclass's overrides are not called.
    secret_pair = (
        fields is None
        and base in (tuple, list)
        and base.__len__(value) == 2
        and type(first := base.__getitem__(value, 0)) in (str, bytes)
        and is_sensitive(first)
    )
    seen.add(id(value))
    try:
        parts: list[str] = []
        size = 0
        # dict.items()/tuple.__iter__ of the base type: a subclass's overrides
        # (or a MultiValueDict's last-value items()) are not called.
        items = dict.items(value) if base is dict else base.__iter__(value)  # type: ignore[union-attr]
        for index, item in enumerate(items):
            if index >= _MAX_ITEMS or size > limit:
                parts.append("…")
                break
            if base is dict:
                part = _entry(item[0], item[1], limit, depth, seen)
            elif secret_pair and index == 1:
                part = repr(mask_substitute())
            elif fields is not None and index < len(fields):
                name = fields[index]
                shown = repr(mask_substitute()) if is_sensitive(name) else _repr(item, limit, depth + 1, seen)
                part = f"{name}={shown}"
            else:
                part = _repr(item, limit, depth + 1, seen)
            part = _truncate(part, limit)
            size += len(part) + 2
            parts.append(part)
        inner = ", ".join(parts)
    finally:
        seen.discard(id(value))
    if fields is not None:
        return f"{kind.__name__}({inner})"
    if base is tuple and len(parts) == 1:
        inner += ","
    if base in (set, frozenset) and not parts:
        text = f"{base.__name__}()"
    elif base is frozenset:
        text = f"frozenset({{{inner}}})"
    else:
        text = f"{opening}{inner}{closing}"
    if kind is base:
        return text
    return f"<{kind.__name__}: {text}>"


def _entry(key: Any, value: Any, limit: int, depth: int, seen: set[int]) -> str:
    """``key: value`` of a mapping, the value masked when the key names a secret
    (and its query parameters masked under a ``QUERY_STRING`` key)."""
    if is_sensitive(key):
        shown = repr(mask_substitute())
    elif _is_query_key(key) and type(value) in (str, bytes):
        shown = _repr(_mask_bare_query(value), limit, depth + 1, seen)
    else:
        shown = _repr(value, limit, depth + 1, seen)
    return f"{_repr(key, limit, depth + 1, seen)}: {shown}"


def _is_mapping(kind: type) -> bool:
    try:
        return issubclass(kind, collections.abc.Mapping)
    except Exception:
        return False


def _repr_mapping(value: Any, limit: int, depth: int, seen: set[int]) -> str:
    """A mapping that is not a dict (``request.headers``, ``os.environ``), item
    by item as dicts are: its own repr would show every value unmasked. Its
    items are read under the no-query rule; a mapping that cannot be read is
    named, never shown through its repr."""
    name = type(value).__name__
    if id(value) in seen:
        return f"<{name}: {{...}}>"
    if depth >= _MAX_DEPTH:
        return f"<{name}: {{…}}>"
    token = in_repr.set(True)
    seen.add(id(value))
    try:
        items = list(itertools.islice(value.items(), _MAX_ITEMS + 1))
        parts: list[str] = []
        size = 0
        for index, (key, val) in enumerate(items):
            if index >= _MAX_ITEMS or size > limit:
                parts.append("…")
                break
            part = _truncate(_entry(key, val, limit, depth, seen), limit)
            size += len(part) + 2
            parts.append(part)
    except QueryInRepr:
        return TRIGGERS_QUERY
    except Exception:
        return f"<{_type_name(value)} mapping>"
    finally:
        seen.discard(id(value))
        in_repr.reset(token)
    return f"<{name}: {{{', '.join(parts)}}}>"


# --- masking -------------------------------------------------------------------

# A query parameter in a URL or any text: ``?name=value``, ``&name=value``.
_QUERY_PARAM = re.compile(r"""([?&;])([^=&;#?\s'"<>]+)=([^&;#\s'"<>]*)""")


def _is_query_key(key: Any) -> bool:
    kind = type(key)
    return (kind is str and key.lower() == "query_string") or (
        kind is bytes and key.lower() == b"query_string"
    )


# The password of a URL's user information: ``postgres://app:PASSWORD@db/x``.
_URL_PASSWORD = re.compile(r"""([A-Za-z][A-Za-z0-9+.-]*://[^:/@\s'"]*:)([^@/\s'"]+)@""")


def mask_query(text: str) -> str:
    """``text`` with the values of its query parameters whose names look secret
    masked, as Django's error reports mask settings: ``/cb?code=1&token=abc`` ->
    ``/cb?code=1&token=********************``; and the password of a URL
    (``redis://:PASSWORD@cache``). Request reprs, redirect URLs, connection
    strings and client errors carry them."""
    if "=" in text:
        text = _QUERY_PARAM.sub(_mask_param, text)
    if "@" in text:
        text = _URL_PASSWORD.sub(lambda m: f"{m[1]}{mask_substitute()}@", text)
    return text


def _mask_param(match: re.Match[str]) -> str:
    lead, name, value = match.groups()
    if value and is_sensitive(unquote_plus(name)):
        return f"{lead}{name}={mask_substitute()}"
    return match[0]


# A literal assigned to a sensitive name in a source line: ``api_key="..."``.
_ASSIGNED_LITERAL = re.compile(
    r"""(?P<name>[A-Za-z_][\w]*)(?P<quote_name>['"]?)(?P<sep>\s*[:=]\s*)"""
    r"""(?P<prefix>[rbuRBUfF]{0,2})(?P<q>['"])(?P<value>(?:\\.|(?!(?P=q)).)*)(?P=q)"""
)


def mask_source_line(line: str) -> str:
    """Hide literals assigned to secret-looking names in a source line.

    Frames show the line that sent the signal or raised, and that line is
    where a developer writes ``api_key="sk-live-..."``: masked wherever a
    frame's code is kept (tracebacks, stacks), not only in the panel.
    """
    if not line or ("=" not in line and ":" not in line):
        return line

    def replace(match: re.Match[str]) -> str:
        if not is_sensitive(match["name"]):
            return match[0]
        q = match["q"]
        return (
            f"{match['name']}{match['quote_name']}{match['sep']}{match['prefix']}"
            f"{q}{mask_substitute()}{q}"
        )

    return _ASSIGNED_LITERAL.sub(replace, line)


def _mask_bare_query(value: str | bytes) -> str | bytes:
    """A query string without its ``?`` (WSGI's ``QUERY_STRING``, ASGI's
    ``query_string``), masked."""
    if type(value) is bytes:
        return mask_query("?" + value.decode("latin-1"))[1:].encode("latin-1")
    return mask_query("?" + str(value))[1:]



def _reporter_filter() -> Any:
    from django.views.debug import get_default_exception_reporter_filter

    return get_default_exception_reporter_filter()


_sensitive: dict[str, bool] = {}
_substitute: list[str] = []


def is_sensitive(key: Any) -> bool:
    """Whether a kwarg or dict key names a secret, as Django's error reports judge it."""
    if type(key) is bytes:  # a header name in ASGI's scope
        key = key.decode("latin-1")
    if not isinstance(key, str):
        return False
    hit = _sensitive.get(key)
    if hit is None:
        try:
            pattern = _reporter_filter().hidden_settings
        except Exception:
            from django.views.debug import SafeExceptionReporterFilter

            pattern = SafeExceptionReporterFilter.hidden_settings
        hit = bool(
            pattern.search(key) or _MASK_EXTRA.search(key) or key in _cookie_names()
        )
        if len(_sensitive) > 2000:
            _sensitive.clear()
        _sensitive[key] = hit
    return hit


def _cookie_names() -> tuple[str, ...]:
    """The session and CSRF cookies' names: Django's error reports mask the
    session cookie by its name, whatever it is (``SESSION_COOKIE_NAME = "sid"``)."""
    from django.conf import settings

    names = []
    for setting in ("SESSION_COOKIE_NAME", "CSRF_COOKIE_NAME"):
        try:
            name = getattr(settings, setting, None)
        except Exception:
            name = None
        if isinstance(name, str) and name:
            names.append(name)
    return tuple(names)


def mask_substitute() -> str:
    if not _substitute:
        try:
            _substitute.append(str(_reporter_filter().cleansed_substitute))
        except Exception:
            _substitute.append("********************")
    return _substitute[0]


def _forget_filter(*, setting: str, **kwargs: Any) -> None:
    if setting in ("DEFAULT_EXCEPTION_REPORTER_FILTER", "SESSION_COOKIE_NAME", "CSRF_COOKIE_NAME"):
        _sensitive.clear()
        _substitute.clear()


setting_changed.connect(_forget_filter, dispatch_uid="signal_inspector.naming.forget_filter")


def kwargs_reprs(named: dict[str, Any], limit: int) -> dict[str, str]:
    """Bounded, masked reprs of a send's keyword arguments."""
    if len(named) > 50:
        return _many_kwargs_reprs(named, limit)
    out: dict[str, str] = {}
    sensitive = _sensitive
    for key, value in named.items():
        hit = sensitive.get(key) if type(key) is str else None
        if hit is None:
            hit = is_sensitive(key)
        if len(key) > limit:  # a name is bounded as a value is (**{"k" * 10**6: 1})
            key = _truncate(key, limit)
        if hit:
            out[key] = mask_substitute()
        elif value is None:
            out[key] = "None"
        elif value is True or value is False:
            out[key] = "True" if value else "False"
        else:
            kind = type(value)
            # safe_repr()'s first cases, written out: this runs for every kwarg.
            if (kind is int and -(10**18) < value < 10**18) or (
                kind is str and len(value) < limit - 2 and "=" not in value and "@" not in value
            ):
                out[key] = repr(value)
            else:
                out[key] = safe_repr(value, limit)
    setting = named.get("setting")
    if type(setting) is str and "value" in out and is_sensitive(setting):
        # setting_changed(setting="SECRET_KEY", value=...): masked by the
        # setting's name, as Django's error reports mask settings.
        out["value"] = mask_substitute()
    return out


def _many_kwargs_reprs(named: dict[str, Any], limit: int) -> dict[str, str]:
    out = kwargs_reprs(dict(list(named.items())[:50]), limit)
    out["…"] = f"{len(named) - 50} more"
    return out
