"""Receiver modules nothing imported: ``@receiver`` functions that never run.

Found by reading the source of the project's own apps with ``ast`` (never by
importing it): a module that defines receivers but is absent from
``sys.modules`` once Django has started was never imported, so none of its
receivers is connected.
"""

from __future__ import annotations

import ast
import inspect
import os
import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from django.apps import AppConfig, apps

from .naming import is_executed, is_project_file

_SKIP_DIRS = {"migrations", "tests", "test", "__pycache__", "node_modules", "static", "templates"}


@dataclass
class UnconnectedModule:
    """A module of a project app that defines receivers but was never imported."""

    app_label: str
    module: str
    file: str
    receivers: list[dict[str, Any]] = field(default_factory=list)
    ready: str = ""  # where the AppConfig.ready() that should import it is
    fix: str = ""  # the exact line to add
    # NEVER: nothing imports it. URLCONF: only the URLconf does, so its receivers
    # are connected only once a request loads it. MIGRATE: an app's management
    # package, which only `migrate` imports.
    reach: str = "never"
    urlconf: str = ""  # ROOT_URLCONF, for URLCONF

    def to_dict(self) -> dict[str, Any]:
        return {
            "app": self.app_label,
            "module": self.module,
            "file": self.file,
            "receivers": list(self.receivers),
            "ready": self.ready,
            "fix": self.fix,
            "reach": self.reach,
        }


def is_project_app(app_config: AppConfig) -> bool:
    """Whether an app is the project's own code rather than an installed package."""
    return is_project_file(os.path.join(app_config.path, "__init__.py"))


def _is_test_file(path: Path) -> bool:
    name = path.name
    return name in {"tests.py", "conftest.py"} or name.startswith("test_") or name.endswith("_tests.py")


def _decorator_name(node: ast.expr) -> str:
    target = node.func if isinstance(node, ast.Call) else node
    if isinstance(target, ast.Name):
        return target.id
    if isinstance(target, ast.Attribute):
        return target.attr
    return ""


def _signal_text(node: ast.expr) -> str:
    try:
        return ast.unparse(node)
    except Exception:
        return "?"


def find_receivers(source: str) -> list[dict[str, Any]]:
    """``@receiver`` functions and module-level ``.connect()`` calls in ``source``."""
    tree = ast.parse(source)
    found: list[dict[str, Any]] = []
    for node in tree.body:
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
            for decorator in node.decorator_list:
                if isinstance(decorator, ast.Call) and _decorator_name(decorator) == "receiver":
                    signal = _signal_text(decorator.args[0]) if decorator.args else "?"
                    found.append({"name": node.name, "line": node.lineno, "signal": signal})
        elif isinstance(node, ast.Expr) and isinstance(node.value, ast.Call):
            call = node.value
            if isinstance(call.func, ast.Attribute) and call.func.attr == "connect":
                receiver = _signal_text(call.args[0]) if call.args else "?"
                found.append(
                    {"name": receiver, "line": node.lineno, "signal": _signal_text(call.func.value)}
                )
    return found


def _module_name(app_config: AppConfig, path: Path) -> str:
    relative = path.relative_to(app_config.path).with_suffix("")
    parts = list(relative.parts)
    if parts and parts[-1] == "__init__":
        parts.pop()
    return ".".join([app_config.name, *parts])


def _ready_location(app_config: AppConfig) -> str:
    cls = type(app_config)
    if cls is AppConfig:
        return ""
    method = cls.__dict__.get("ready")
    target = method if method is not None else cls
    try:
        file = inspect.getsourcefile(target) or ""
        line = inspect.getsourcelines(target)[1]
    except (OSError, TypeError):
        return ""
    from .naming import short_path

    return f"{short_path(os.path.realpath(file))}:{line}"


def _fix_line(app_config: AppConfig, module: str) -> str:
    relative = module[len(app_config.name) + 1 :]
    package, _, name = relative.rpartition(".")
    return f"from .{package} import {name}  # noqa: F401" if package else f"from . import {name}  # noqa: F401"


NEVER = "never"
URLCONF = "urlconf"
MIGRATE = "migrate"

_MIGRATE_SIGNALS = ("pre_migrate", "post_migrate")
_MAX_MODULES = 3000


def _module_file(name: str) -> str | None:
    """The source file of module ``name``, found on disk as the import system
    would find it (``sys.path``, then each package's directory), importing and
    running nothing; ``None`` for anything but a plain ``.py`` module or package."""
    module = sys.modules.get(name)
    if module is not None and is_executed(module):
        file = module.__dict__.get("__file__")
        return file if isinstance(file, str) and file.endswith(".py") else None
    head, _, last = name.rpartition(".")
    if head:
        parent = _module_file(head)
        if parent is None or not parent.endswith("__init__.py"):
            return None
        roots = [os.path.dirname(parent)]
    else:
        roots = [os.path.abspath(entry or os.curdir) for entry in sys.path]
    for root in roots:
        for candidate in (os.path.join(root, last + ".py"), os.path.join(root, last, "__init__.py")):
            if os.path.isfile(candidate):
                return candidate
    return None


def _imports(name: str, file: str, everywhere: bool) -> set[str]:
    """Modules that ``file`` (module ``name``) imports: at module level, or
    ``everywhere`` (an apps.py, whose ready() runs at startup); plus the
    modules named by ``include("...")`` calls, for a URLconf."""
    try:
        tree = ast.parse(Path(file).read_text(encoding="utf-8"))
    except (SyntaxError, UnicodeDecodeError, OSError, ValueError):
        return set()
    package = name if file.endswith("__init__.py") else name.rpartition(".")[0]
    nodes = ast.walk(tree) if everywhere else _module_level(tree.body)
    found: set[str] = set()
    for node in nodes:
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                parts = package.split(".")
                anchor = ".".join(parts[: len(parts) - node.level + 1]) if node.level <= len(parts) else ""
                base = f"{anchor}.{base}" if base else anchor
            if base:
                found.add(base)
                found.update(f"{base}.{alias.name}" for alias in node.names)
    for node in ast.walk(tree):
        if isinstance(node, ast.Call) and _decorator_name(node) == "include" and node.args:
            first = node.args[0]
            if isinstance(first, ast.Constant) and isinstance(first.value, str):
                found.add(first.value)
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


def _reachable(roots: dict[str, bool]) -> set[str]:
    """The project modules ``roots`` (name -> read imports everywhere) import,
    directly or not, by reading their source; installed packages are not read."""
    seen: set[str] = set()
    todo = list(roots.items())
    while todo and len(seen) < _MAX_MODULES:
        name, everywhere = todo.pop()
        if name in seen:
            continue
        file = _module_file(name)
        if file is None or not is_project_file(file):
            continue
        seen.add(name)
        todo += [(imported, False) for imported in _imports(name, file, everywhere)]
    return seen


def _startup_roots(configs: list[AppConfig]) -> dict[str, bool]:
    """What Django imports while it starts: the settings, every app's package,
    its AppConfig's module (whose ready() it calls), its models module and, with
    the admin installed, its admin module."""
    from django.conf import settings

    roots: dict[str, bool] = {}
    settings_module = getattr(settings, "SETTINGS_MODULE", None)
    if settings_module:
        roots[settings_module] = False
    # django.contrib.admin's AdminConfig.ready() imports every app's admin module.
    autodiscover = False
    if apps.is_installed("django.contrib.admin"):
        from django.contrib.admin.apps import AdminConfig

        autodiscover = any(isinstance(c, AdminConfig) for c in apps.get_app_configs())
    for config in configs:
        roots.setdefault(config.name, False)
        roots[type(config).__module__] = True
        roots[f"{config.name}.apps"] = True
        roots.setdefault(f"{config.name}.models", False)
        if autodiscover:
            roots.setdefault(f"{config.name}.admin", False)
    return roots


def find_unconnected(app_configs: list[AppConfig] | None = None) -> list[UnconnectedModule]:
    """Modules of the project's own apps that define receivers none of which is
    connected once Django has started.

    NEVER: nothing imports the module. URLCONF: only the URLconf reaches it
    (read from the source, so the answer does not depend on whether a check
    already loaded the URLconf). MIGRATE: an app's ``management`` package, which
    ``migrate`` imports before it sends ``post_migrate`` (not reported when its
    receivers are all for ``pre_migrate``/``post_migrate``). Command modules
    (``management/commands``) are imported when their command runs: not reported.
    """
    from django.conf import settings

    from .naming import short_path

    configs = app_configs if app_configs is not None else list(apps.get_app_configs())
    found: list[UnconnectedModule] = []
    urlconf = getattr(settings, "ROOT_URLCONF", None) if settings.configured else None
    reach: dict[str, set[str]] = {}

    def reached(kind: str) -> set[str]:
        if kind not in reach:
            if kind == "startup":
                every = [c for c in apps.get_app_configs() if is_project_app(c)]
                reach[kind] = _reachable(_startup_roots(every))
            else:
                reach[kind] = _reachable({urlconf: False}) if isinstance(urlconf, str) else set()
        return reach[kind]

    for app_config in configs:
        if not is_project_app(app_config):
            continue
        root = Path(app_config.path)
        for dirpath, dirnames, filenames in os.walk(root):
            dirnames[:] = sorted(
                d for d in dirnames
                if d not in _SKIP_DIRS and not d.startswith(".")
                and (Path(dirpath, d, "__init__.py").exists())
            )
            for filename in sorted(filenames):
                path = Path(dirpath, filename)
                if not filename.endswith(".py") or _is_test_file(path):
                    continue
                module = _module_name(app_config, path)
                management = f"{app_config.name}.management"
                if module.startswith(management + ".commands"):
                    continue
                loaded = module in sys.modules and is_executed(sys.modules[module])
                if loaded and module != management and not isinstance(urlconf, str):
                    continue
                try:
                    receivers = find_receivers(path.read_text(encoding="utf-8"))
                except (SyntaxError, UnicodeDecodeError, OSError, ValueError):
                    continue
                if not receivers:
                    continue
                if module == management:
                    if all(r["signal"].endswith(_MIGRATE_SIGNALS) for r in receivers):
                        continue
                    kind = MIGRATE
                elif module in reached("urlconf") and module not in reached("startup"):
                    if loaded and urlconf not in sys.modules:
                        continue  # imported by something else than the URLconf
                    kind = URLCONF
                elif not loaded:
                    kind = NEVER
                else:
                    continue
                found.append(
                    UnconnectedModule(
                        app_label=app_config.label,
                        module=module,
                        file=short_path(os.path.realpath(path)),
                        receivers=receivers,
                        ready=_ready_location(app_config),
                        fix=_fix_line(app_config, module),
                        reach=kind,
                        urlconf=urlconf if kind == URLCONF and isinstance(urlconf, str) else "",
                    )
                )
    return found


def describe(item: UnconnectedModule) -> str:
    """The warning: which receivers, and when they are (not) connected."""
    names = ", ".join(f"{r['name']} ({r['signal']})" for r in item.receivers)
    if item.reach == URLCONF:
        return (
            f"{item.file} defines receivers {names}, but the module {item.module} is "
            f"imported only through the URLconf ({item.urlconf}): they are connected "
            "once the first request loads it, and not in management commands, the "
            "shell, task workers, or before the first request."
        )
    if item.reach == MIGRATE:
        return (
            f"{item.file} defines receivers {names}, but the module {item.module} is "
            "imported only by manage.py migrate (which imports every app's management "
            "package before it sends post_migrate): they are not connected anywhere else."
        )
    return (
        f"{item.file} defines receivers {names} but the module {item.module} is "
        "never imported, so none of them is connected."
    )


def describe_fix(item: UnconnectedModule, app_config: AppConfig | None = None) -> str:
    """The hint text: which ready() to edit and the line to add."""
    if item.reach in (URLCONF, MIGRATE):
        where = f"AppConfig.ready() ({item.ready})" if item.ready else "AppConfig.ready()"
        return (
            "Move the receivers to a module of their own (such as signals.py) and import "
            f"it in the app's {where}, or import this module there: {item.fix}"
        )
    if item.ready:
        return f"Import it in the app's AppConfig.ready() ({item.ready}): {item.fix}"
    return (
        f"Give the app '{item.app_label}' an AppConfig in apps.py whose ready() "
        f"imports it: {item.fix}"
    )
