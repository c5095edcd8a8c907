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

    def to_dict(self) -> dict[str, Any]:
        return {
            "app": self.app_label,
            "module": self.module,
            "file": self.file,
            "receivers": list(self.receivers),
            "ready": self.ready,
            "fix": self.fix,
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


def find_unconnected(app_configs: list[AppConfig] | None = None) -> list[UnconnectedModule]:
    """Modules of the project's own apps that define receivers but were never imported."""
    from .naming import short_path

    configs = app_configs if app_configs is not None else list(apps.get_app_configs())
    found: list[UnconnectedModule] = []
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
                if module in sys.modules and is_executed(sys.modules[module]):
                    continue
                try:
                    receivers = find_receivers(path.read_text(encoding="utf-8"))
                except (SyntaxError, UnicodeDecodeError, OSError, ValueError):
                    continue
                if not receivers:
                    continue
                found.append(
                    UnconnectedModule(
                        app_label=app_config.label,
                        module=module,
                        file=short_path(os.path.realpath(path)),
                        receivers=receivers,
                        ready=_ready_location(app_config),
                        fix=_fix_line(app_config, module),
                    )
                )
    return found


def describe_fix(item: UnconnectedModule, app_config: AppConfig | None = None) -> str:
    """The hint text: which ready() to edit and the line to add."""
    if item.ready:
        return f"Import it in the app's AppConfig.ready() ({item.ready}): {item.fix}"
    return (
        f"Give the app '{item.app_label}' an AppConfig in apps.py whose ready() "
        f"imports it: {item.fix}"
    )
