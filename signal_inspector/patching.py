"""Instrument when the first recording opens, restore when the last one closes.

While no recording is open anywhere in the process, ``Signal``'s send methods,
``CursorWrapper`` and ``BaseDatabaseWrapper.on_commit`` are exactly what they
were before signal_inspector: Django's own functions, or whatever another tool
put there. Only ``connect()``/``disconnect()`` stay wrapped (sites.py).

The recorded send methods (dispatch.py) are copies of Django's; they are used
only for a dispatcher whose fingerprint we know. Anything else, a send method
another tool wrapped before us, and the send methods a ``Signal`` subclass
defines itself get the "sends only" wrapper, which runs the method it found
unchanged. How ours are known, put on and taken off: slots.py.
"""

from __future__ import annotations

import ast
import functools
import hashlib
import inspect
from collections.abc import Callable
from types import FunctionType
from typing import Any

from django.dispatch import Signal
from django.dispatch import dispatcher as _dispatcher

from . import dispatch, findings, on_commit, slots, sql
from .conf import get_config
from .naming import short_path
from .sends_only import sends_only

METHODS = ("send", "send_robust", "asend", "asend_robust")

# fingerprint() of django/dispatch/dispatcher.py -> how it runs async receivers.
# 5.2.x and 6.0.x differ only in docstrings and _live_receivers(), which we call
# rather than copy; 6.1.x runs them through _run_parallel() in one shared context.
KNOWN_DISPATCHERS: dict[str, tuple[str, bool]] = {
    # Django 5.2.0-5.2.19, 6.0.0-6.0.10 (every release checked)
    "6a15e70ac8a3cfb296e733d0c7b7a1fd313a58052d5e639930b75e3165c798a0": ("Django 5.2/6.0", False),
    # Django 6.1.0-6.1.3
    "3997ff1611bf61beb16fb69403810f83e3c9b77a6baeea4e131e0f781fa90488": ("Django 6.1", True),
}

_limitations: list[str] = []


def _normalised(source: str, node: ast.FunctionDef | ast.AsyncFunctionDef) -> list[str]:
    """The lines of ``node`` without its docstring, blank or comment-only lines."""
    lines = source.splitlines()[node.lineno - 1 : node.end_lineno]
    body = getattr(node, "body", [])
    drop: set[int] = set()
    if (
        body
        and isinstance(body[0], ast.Expr)
        and isinstance(body[0].value, ast.Constant)
        and isinstance(body[0].value.value, str)
    ):
        last = body[0].end_lineno or body[0].lineno
        drop = set(range(body[0].lineno - node.lineno, last - node.lineno + 1))
    out = []
    for index, line in enumerate(lines):
        text = line.strip()
        if index in drop or not text or text.startswith("#"):
            continue
        out.append(text)
    return out


def fingerprint(source: str) -> str:
    """A hash of what the recorded methods copy from a dispatcher module's source:
    the four send methods and the module-level helpers they rely on."""
    tree = ast.parse(source)
    parts: list[str] = []
    for node in tree.body:
        if isinstance(node, ast.ClassDef) and node.name == "Signal":
            for item in node.body:
                if isinstance(item, (ast.FunctionDef, ast.AsyncFunctionDef)) and item.name in METHODS:
                    parts.append(item.name)
                    parts.extend(_normalised(source, item))
        elif isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)) and node.name in (
            "_run_parallel",
            "_restore_context",
        ):
            parts.append(node.name)
            parts.extend(_normalised(source, node))
    return hashlib.sha256("\n".join(parts).encode()).hexdigest()


@functools.cache
def installed_dispatcher() -> tuple[str | None, bool, str]:
    """(name of the known dispatcher or None, whether async receivers share one
    context, fingerprint) of the installed Django's ``dispatcher.py``."""
    try:
        digest = fingerprint(inspect.getsource(_dispatcher))
    except Exception:  # no source shipped (a .pyc-only install), say
        return None, False, ""
    name, shared = KNOWN_DISPATCHERS.get(digest, (None, False))
    return name, shared, digest


def _is_djangos(function: Any, name: str) -> bool:
    # A plain function only: a wrapt proxy (APM agents) forwards ``__code__`` to
    # Django's method it wraps, and must still be called.
    code = function.__code__ if type(function) is FunctionType else None
    return (
        code is not None
        and code.co_name == name
        and code.co_filename == getattr(_dispatcher, "__file__", None)
    )


def _who(function: Any) -> str:
    # By its code: functools.wraps() copies Django's names onto a wrapper. Not
    # an AsyncMock's (a Mock) or a wrapt proxy's (the function it wraps).
    code = function.__code__ if type(function) is FunctionType else None
    if code is None:
        return repr(type(function))
    qualname = getattr(code, "co_qualname", code.co_name)
    return f"{qualname} ({short_path(code.co_filename)}:{code.co_firstlineno})"


def foreign_wrappers() -> dict[str, str]:
    """Send methods someone else replaced (before us, or around ours): name -> who."""
    found = {}
    for name in METHODS:
        function = Signal.__dict__[name]
        below = slots.below_of(function)
        if below is not None:
            function = below[0]
            if slots.below_of(function) is not None or _is_djangos(function, name):
                continue
        elif _is_djangos(function, name):
            continue
        found[name] = _who(function)
    return found


def _subclasses() -> list[type]:
    """Every subclass of Signal defined so far, each once, parents first."""
    seen: dict[type, None] = {}
    todo = list(type.__subclasses__(Signal))
    while todo:
        cls = todo.pop(0)
        if cls not in seen:
            seen[cls] = None
            todo.extend(type.__subclasses__(cls))
    return list(seen)


def _own_send_methods(cls: type) -> tuple[list[str], list[str]]:
    """(the send methods ``cls`` defines itself, its other ``send*`` methods)."""
    own = [name for name in METHODS if callable(cls.__dict__.get(name))]
    other = sorted(
        name
        for name, value in list(cls.__dict__.items())
        if name.lstrip("a").startswith("send") and name not in METHODS and callable(value)
    )
    return own, other


def _label(cls: type) -> str:
    return f"{cls.__module__}.{cls.__qualname__}"


def limitations() -> list[str]:
    """What recordings cannot see with this Django and these tools, in words."""
    out = []
    known, _, digest = installed_dispatcher()
    if known is None:
        import django

        out.append(
            f"Django {django.get_version()}'s dispatcher is not one signal_inspector knows "
            f"(fingerprint {digest[:12] or 'unavailable'}): sends are recorded with the "
            "receivers Django returned, without their time or what they sent in turn. "
            "Upgrade signal_inspector for full detail."
        )
    for name, who in foreign_wrappers().items():
        out.append(
            f"Signal.{name} was already wrapped by {who}: signal_inspector calls it "
            f"unchanged, so {name}() sends are recorded without per-receiver time."
        )
    return out


def _replacement(name: str) -> Callable[[Any], Any]:
    known, _, _ = installed_dispatcher()

    def make(original: Any) -> Any:
        if known is not None and _is_djangos(original, name):
            dispatch.ORIGINALS[name] = original
            return dispatch.RECORDED[name]
        return sends_only(name, original)

    return make


# (class, method name) of the Signal subclasses' own send methods we wrapped.
_subclass_slots: list[tuple[type, str]] = []


def _instrument() -> None:
    global _limitations
    _limitations = limitations()
    dispatch.PARALLEL["shared_context"] = installed_dispatcher()[1]
    for name in METHODS:
        # On the class, not in place (slots.py): the recorded send calls the
        # receivers from the frame Django's would, no frame deeper.
        slots.put(Signal, name, _replacement(name), in_place=False)
    for cls in _subclasses():
        own, other = _own_send_methods(cls)
        for name in own:
            slots.put(cls, name, functools.partial(sends_only, name, owner=cls), keep=False)
            _subclass_slots.append((cls, name))
        for name in other:
            # Not Django's protocol (pretix's send_chained() returns one value):
            # the send is recorded, its receivers are not known.
            slots.put(
                cls, name, functools.partial(sends_only, name, owner=cls, pairs=False), keep=False
            )
            _subclass_slots.append((cls, name))
    sql.install()
    on_commit.install()
    if get_config().findings:
        findings.install()


def _restore() -> None:
    for name in METHODS:
        slots.take_off(Signal, name)
    while _subclass_slots:
        slots.take_off(*_subclass_slots.pop())
    sql.uninstall()
    on_commit.uninstall()
    findings.uninstall()


def acquire() -> list[str]:
    """A recording opens: instrument if it is the first. Returns the limitations."""
    with slots.LOCK:
        slots.OPEN[0] += 1
        if slots.OPEN[0] == 1:
            try:
                _instrument()
            except BaseException:
                _restore()
                slots.OPEN[0] -= 1
                raise
        return list(_limitations)


def release() -> None:
    """A recording closed: restore everything if it was the last."""
    with slots.LOCK:
        if slots.OPEN[0] == 0:
            return
        slots.OPEN[0] -= 1
        if slots.OPEN[0] == 0:
            _restore()


def open_recordings() -> int:
    return slots.OPEN[0]
