"""What a project source file says about receivers, imports and signal uses.

The checks behind W002/W004 read the project's source with ``ast`` on every
``manage.py check``, ``runserver`` start and reload, and ``migrate``. Parsing a
large tree (pretix: about 1,100 files) costs seconds, so what one parse finds is
kept in a cache file on disk, per source file, keyed by its modification time
and size: a file is parsed again only when it changed. The cache lives in
``$SIGNAL_INSPECTOR_CACHE_DIR`` if set (set it empty to keep nothing on disk), else
``$XDG_CACHE_HOME/signal_inspector`` (``~/.cache/signal_inspector``); where it
cannot be read or written, everything is parsed as before and nothing fails.
"""

from __future__ import annotations

import ast
import contextlib
import hashlib
import json
import os
import tempfile
from typing import Any

FACTS_VERSION = 2

SEND_METHODS = frozenset({"send", "send_robust", "asend", "asend_robust", "send_chained"})

# One import statement: [from-import?, level, module, [[name, asname]], at import time?,
# enclosing function's qualified name or "", line]; lists, as JSON gives them back.
ImportFact = list[Any]


def _decorator_name(node: ast.expr) -> str:
    target = node.func if isinstance(node, ast.Call) else node
    if isinstance(target, ast.Name):
        return target.id
    if isinstance(target, ast.Attribute):
        return target.attr
    return ""


def _text(node: ast.expr) -> str:
    try:
        return ast.unparse(node)
    except Exception:  # pragma: no cover - defensive: ast.unparse() of a parsed tree
        return "?"


def _receiver_signal(call: ast.Call) -> str:
    """The signal a ``@receiver(...)`` names: its first argument or ``signal=``."""
    if call.args:
        return _text(call.args[0])
    for keyword in call.keywords:
        if keyword.arg == "signal":
            return _text(keyword.value)
    return "?"


def find_receivers(tree: ast.Module) -> list[dict[str, Any]]:
    """``@receiver`` functions and module-level ``.connect()`` calls."""
    found: list[dict[str, Any]] = []
    for node in tree.body:
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
            for decorator in node.decorator_list:
                if isinstance(decorator, ast.Call) and _decorator_name(decorator) == "receiver":
                    found.append(
                        {"name": node.name, "line": node.lineno, "signal": _receiver_signal(decorator)}
                    )
        elif isinstance(node, ast.Expr) and isinstance(node.value, ast.Call):
            call = node.value
            if isinstance(call.func, ast.Attribute) and call.func.attr == "connect":
                receiver = _text(call.args[0]) if call.args else "?"
                found.append(
                    {"name": receiver, "line": node.lineno, "signal": _text(call.func.value)}
                )
    return found


def _module_level(body: list[ast.stmt]) -> list[ast.stmt]:
    """Statements that run at import: the body, and what ``if``/``try``/``with`` hold."""
    out: list[ast.stmt] = []
    for node in body:
        out.append(node)
        if isinstance(node, (ast.If, ast.Try, ast.With)):
            for field_name in ("body", "orelse", "finalbody"):
                out += _module_level(getattr(node, field_name, []) or [])
            for handler in getattr(node, "handlers", []):
                out += _module_level(handler.body)
    return out


class _Scopes(ast.NodeVisitor):
    """Every import with the function it sits in, and ``include("...")`` strings."""

    def __init__(self, top: set[int]) -> None:
        self.top = top
        self.scope: list[str] = []
        self.imports: list[ImportFact] = []
        self.includes: list[str] = []

    def _function(self, node: ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef) -> None:
        self.scope.append(node.name)
        self.generic_visit(node)
        self.scope.pop()

    visit_FunctionDef = visit_AsyncFunctionDef = visit_ClassDef = _function  # noqa: N815

    def _add(self, node: ast.Import | ast.ImportFrom, names: list[list[str]]) -> None:
        is_from = isinstance(node, ast.ImportFrom)
        level = node.level if isinstance(node, ast.ImportFrom) else 0
        module = (node.module or "") if isinstance(node, ast.ImportFrom) else ""
        self.imports.append(
            [is_from, level, module, names, id(node) in self.top, ".".join(self.scope), node.lineno]
        )

    def visit_Import(self, node: ast.Import) -> None:  # noqa: N802
        self._add(node, [[a.name, a.asname or ""] for a in node.names])

    def visit_ImportFrom(self, node: ast.ImportFrom) -> None:  # noqa: N802
        self._add(node, [[a.name, a.asname or ""] for a in node.names])

    def visit_Call(self, node: ast.Call) -> None:  # noqa: N802
        if _decorator_name(node) == "include" and node.args:
            first = node.args[0]
            if isinstance(first, ast.Constant) and isinstance(first.value, str):
                self.includes.append(first.value)
        self.generic_visit(node)


def file_facts(tree: ast.Module) -> dict[str, Any]:
    """The receivers, imports and URLconf includes of one parsed file."""
    top = {id(node) for node in _module_level(tree.body)}
    scopes = _Scopes(top)
    scopes.visit(tree)
    return {
        "receivers": find_receivers(tree),
        "imports": scopes.imports,
        "includes": scopes.includes,
    }


class _Mentions(ast.NodeVisitor):
    """Where names in ``wanted`` are used: sent (``x.send(...)`` and its kin),
    called (``x(...)``, ``obj.x(...)``), neutral (defined, connected, named by ``@receiver``, imported under their own
    name), or anything else (passed along, iterated, imported under another
    name): ``[kind, line, enclosing function]`` per use."""

    def __init__(self, wanted: set[str]) -> None:
        self.wanted = wanted
        self.scope: list[str] = []
        self.found: dict[str, list[list[Any]]] = {name: [] for name in wanted}
        self.neutral: set[int] = set()

    def _function(self, node: ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef) -> None:
        for decorator in getattr(node, "decorator_list", []):
            if isinstance(decorator, ast.Call) and _decorator_name(decorator) == "receiver":
                self.neutral.update(id(n) for n in ast.walk(decorator))
        self.scope.append(node.name)
        self.generic_visit(node)
        self.scope.pop()

    visit_FunctionDef = visit_AsyncFunctionDef = visit_ClassDef = _function  # noqa: N815

    def _note(self, name: str, kind: str, node: ast.AST) -> None:
        self.found[name].append([kind, getattr(node, "lineno", 0), ".".join(self.scope)])

    def visit_ImportFrom(self, node: ast.ImportFrom) -> None:  # noqa: N802
        for alias in node.names:
            if alias.name in self.wanted and alias.asname and alias.asname != alias.name:
                self._note(alias.name, "other", node)

    def visit_Call(self, node: ast.Call) -> None:  # noqa: N802
        func = node.func
        if isinstance(func, ast.Attribute):
            target = func.value
            name = target.id if isinstance(target, ast.Name) else (
                target.attr if isinstance(target, ast.Attribute) else ""
            )
            if name in self.wanted and func.attr in SEND_METHODS | {"connect", "disconnect"}:
                self.neutral.add(id(target))
                if func.attr in SEND_METHODS:
                    self._note(name, "send", node)
        called = func.id if isinstance(func, ast.Name) else (
            func.attr if isinstance(func, ast.Attribute) else ""
        )
        if called in self.wanted and id(func) not in self.neutral:
            self.neutral.add(id(func))
            self._note(called, "call", node)
        self.generic_visit(node)

    def _use(self, name: str, node: ast.Name | ast.Attribute) -> None:
        if name not in self.wanted or id(node) in self.neutral:
            return
        if isinstance(node.ctx, ast.Store) and not self.scope:
            return  # its definition
        self._note(name, "other", node)

    def visit_Name(self, node: ast.Name) -> None:  # noqa: N802
        self._use(node.id, node)

    def visit_Attribute(self, node: ast.Attribute) -> None:  # noqa: N802
        self._use(node.attr, node)
        self.generic_visit(node)


def find_mentions(tree: ast.Module, wanted: set[str]) -> dict[str, list[list[Any]]]:
    """Uses of the names in ``wanted`` in one parsed file (see :class:`_Mentions`)."""
    visitor = _Mentions(wanted)
    visitor.visit(tree)
    return visitor.found


def cache_dir() -> str:
    """Where the cache file goes; ``""``: nowhere."""
    chosen = os.environ.get("SIGNAL_INSPECTOR_CACHE_DIR")
    if chosen is not None:
        return chosen
    base = os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache")
    return os.path.join(base, "signal_inspector")


class SourceCache:
    """Facts of source files, parsed once per (modification time, size) of each.

    ``facts(path)`` gives :func:`file_facts` of a file, ``mentions(path, names)``
    the uses of ``names`` in it (``None`` for a file that cannot be read or parsed).
    ``save()`` writes what changed, and drops the entries of files that are gone.
    """

    def __init__(self, key: str, directory: str | None = None, *, load: bool = True) -> None:
        digest = hashlib.sha1(key.encode(), usedforsecurity=False).hexdigest()[:16]
        directory = cache_dir() if directory is None else directory
        self.path = os.path.join(directory, f"sources-{digest}.json") if directory else ""
        self.entries: dict[str, dict[str, Any]] = {}
        self.used: set[str] = set()
        self.changed = False
        self.parsed = 0
        self.memo: dict[Any, Any] = {}  # the caller's lookups, for this run only
        with contextlib.suppress(Exception):
            if not self.path or not load:
                return
            with open(self.path, encoding="utf-8") as stream:
                data = json.load(stream)
            if isinstance(data, dict) and data.get("version") == FACTS_VERSION:
                self.entries = data["files"]

    @staticmethod
    def _stamp(path: str) -> list[int] | None:
        try:
            stat = os.stat(path)
        except OSError:
            return None
        return [stat.st_mtime_ns, stat.st_size]

    def _entry(self, path: str) -> dict[str, Any] | None:
        if path in self.used:  # stat once per run: files do not change during one
            return self.entries.get(path)
        stamp = self._stamp(path)
        if stamp is None:
            return None
        self.used.add(path)
        entry = self.entries.get(path)
        if entry is None or entry.get("stamp") != stamp:
            entry = self.entries[path] = {"stamp": stamp, "mentions": {}}
            self.changed = True
        return entry

    def _parse(self, path: str) -> ast.Module | None:
        try:
            with open(path, encoding="utf-8") as stream:
                source = stream.read()
            self.parsed += 1
            return ast.parse(source)
        except (SyntaxError, UnicodeDecodeError, OSError, ValueError):
            return None

    def facts(self, path: str) -> dict[str, Any] | None:
        entry = self._entry(path)
        if entry is None:
            return None
        if "facts" not in entry:
            tree = self._parse(path)
            entry["facts"] = None if tree is None else file_facts(tree)
            self.changed = True
        facts: dict[str, Any] | None = entry["facts"]
        return facts

    def mentions(self, path: str, names: set[str]) -> dict[str, list[list[Any]]] | None:
        entry = self._entry(path)
        if entry is None:
            return None
        known: dict[str, Any] = entry["mentions"]
        missing = names - known.keys()
        if missing:
            try:
                with open(path, encoding="utf-8") as stream:
                    source = stream.read()
            except (UnicodeDecodeError, OSError):
                return None
            present = {name for name in missing if name in source}
            known.update(dict.fromkeys(missing - present, []))
            if present:
                try:
                    tree = ast.parse(source)
                except (SyntaxError, ValueError):
                    return None
                self.parsed += 1
                known.update(find_mentions(tree, present))
            self.changed = True
        return {name: known[name] for name in names}

    def save(self) -> None:
        """Write the cache if anything changed; never raises."""
        if not self.changed or not self.path:
            return
        files = {
            path: entry
            for path, entry in self.entries.items()
            if path in self.used or os.path.exists(path)
        }
        with contextlib.suppress(Exception):
            directory = os.path.dirname(self.path)
            os.makedirs(directory, exist_ok=True)
            handle, temporary = tempfile.mkstemp(dir=directory, suffix=".tmp")
            try:
                with os.fdopen(handle, "w", encoding="utf-8") as stream:
                    json.dump({"version": FACTS_VERSION, "files": files}, stream)
                os.replace(temporary, self.path)
            except BaseException:
                with contextlib.suppress(OSError):
                    os.unlink(temporary)
                raise
