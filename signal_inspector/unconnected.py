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
from typing import Any

from django.apps import AppConfig, apps

from . import sourcefacts
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


def _is_test_file(name: str) -> bool:
    return name in {"tests.py", "conftest.py"} or name.startswith("test_") or name.endswith("_tests.py")


def find_receivers(source: str) -> list[dict[str, Any]]:
    """``@receiver`` functions and module-level ``.connect()`` calls in ``source``."""
    return sourcefacts.find_receivers(ast.parse(source))


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
    return f"{display_path(file)}:{line}"


def _fix_line(app_config: AppConfig, module: str) -> str:
    relative = module[len(app_config.name) + 1 :]
    package, _, name = relative.rpartition(".")
    return f"from .{package} import {name}  # noqa: F401" if package else f"from . import {name}  # noqa: F401"


NEVER = "never"
URLCONF = "urlconf"
MIGRATE = "migrate"

_MIGRATE_SIGNALS = ("pre_migrate", "post_migrate")
_MAX_MODULES = 3000
_MAX_CALL_DEPTH = 3


def _project_file(name: str, cache: sourcefacts.SourceCache) -> str | None:
    """:func:`_module_file` of ``name`` if it is the project's own code, looked up
    once per run."""
    key = ("file", name)
    if key not in cache.memo:
        file = _module_file(name, cache.memo)
        cache.memo[key] = file if file is not None and _is_project_path(file, cache) else None
    found: str | None = cache.memo[key]
    return found


def _is_project_path(file: str, cache: sourcefacts.SourceCache) -> bool:
    """:func:`is_project_file`, resolving each directory's symlinks once per run."""
    if os.path.islink(file):
        return is_project_file(file)
    directory, base = os.path.split(file)
    key = ("project dir", directory)
    if key not in cache.memo:
        cache.memo[key] = is_project_file(os.path.join(directory, "__init__.py"))
    known: bool = cache.memo[key]
    return known


def _module_file(name: str, memo: dict[Any, Any] | None = None) -> str | None:
    """The source file of module ``name``, found on disk as the import system
    would find it (``sys.path``, then each package's directory), importing and
    running nothing; ``None`` for anything but a plain ``.py`` module or package."""
    module = sys.modules.get(name)
    if module is not None and is_executed(module):
        file = module.__dict__.get("__file__")
        return file if isinstance(file, str) and file.endswith(".py") else None
    if memo is not None:
        key = ("any file", name)
        if key not in memo:
            memo[key] = _module_file(name)
        cached: str | None = memo[key]
        return cached
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


def _resolve(package: str, fact: sourcefacts.ImportFact) -> list[str]:
    """The modules (and ``module.name`` candidates) one import statement names."""
    is_from, level, module, names = fact[0], fact[1], fact[2], fact[3]
    if not is_from:
        return [name for name, _ in names]
    base = module
    if level:
        parts = package.split(".")
        anchor = ".".join(parts[: len(parts) - level + 1]) if level <= len(parts) else ""
        base = f"{anchor}.{base}" if base else anchor
    if not base:
        return []
    return [base, *(f"{base}.{name}" for name, _ in names)]


def _package(name: str, file: str) -> str:
    return name if file.endswith("__init__.py") else name.rpartition(".")[0]


def _imports(
    name: str, file: str, everywhere: bool, cache: sourcefacts.SourceCache
) -> set[str]:
    """Modules that ``file`` (module ``name``) imports: at module level, or
    ``everywhere`` (an apps.py, whose ready() runs at startup); plus the
    modules named by ``include("...")`` calls, for a URLconf."""
    key = ("imports", name, everywhere)
    if key in cache.memo:
        known: set[str] = cache.memo[key]
        return known
    facts = cache.facts(file)
    if facts is None:
        return set()
    package = _package(name, file)
    found: set[str] = set()
    for fact in facts["imports"]:
        if everywhere or fact[4]:
            found.update(_resolve(package, fact))
    found.update(facts["includes"])
    cache.memo[key] = found
    return found


def _parents(name: str) -> list[str]:
    """The packages importing ``name`` runs first: ``a`` and ``a.b`` for ``a.b.c``."""
    parts = name.split(".")
    return [".".join(parts[:end]) for end in range(1, len(parts))]


def _reachable(roots: dict[str, bool], cache: sourcefacts.SourceCache) -> set[str]:
    """The project modules ``roots`` (name -> read imports everywhere) import,
    directly or not, by reading their source; installed packages are not read.
    Importing a module runs its parent packages first: they count too."""
    seen: set[str] = set()
    todo = [name for name, _ in roots.items() if _project_file(name, cache) is not None]
    todo += [
        successor
        for name, everywhere in roots.items()
        if everywhere and _project_file(name, cache) is not None
        for successor in _successors(name, True, cache)
    ]
    while todo and len(seen) < _MAX_MODULES:
        name = todo.pop()
        if name in seen:
            continue
        seen.add(name)
        todo += _successors(name, False, cache)
    return seen


def _successors(name: str, everywhere: bool, cache: sourcefacts.SourceCache) -> list[str]:
    """The project modules importing project module ``name`` runs, looked up once."""
    key = ("successors", name, everywhere)
    found: list[str] | None = cache.memo.get(key)
    if found is None:
        file = _project_file(name, cache)
        names = _parents(name) + sorted(_imports(name, file, everywhere, cache)) if file else []
        found = cache.memo[key] = [n for n in names if _project_file(n, cache) is not None]
    return found


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


def _project_key(configs: list[AppConfig]) -> str:
    from django.conf import settings

    name = getattr(settings, "SETTINGS_MODULE", None) if settings.configured else None
    return "\n".join([str(name), *sorted(c.path for c in configs)])


def _source_files(root: str, package: str) -> list[tuple[str, str]]:
    """(module, path) of the ``.py`` files of package ``package`` at ``root`` and
    its subpackages, tests and migrations left out."""
    files = []
    for dirpath, dirnames, filenames in os.walk(root):
        dirnames[:] = sorted(
            d for d in dirnames
            if d not in _SKIP_DIRS and not d.startswith(".")
            and os.path.exists(os.path.join(dirpath, d, "__init__.py"))
        )
        relative = os.path.relpath(dirpath, root)
        prefix = package if relative == os.curdir else f"{package}.{relative.replace(os.sep, '.')}"
        for filename in sorted(filenames):
            if filename.endswith(".py") and not _is_test_file(filename):
                stem = filename[:-3]
                module = prefix if stem == "__init__" else f"{prefix}.{stem}"
                files.append((module, os.path.join(dirpath, filename)))
    return files


def _is_own(app_config: AppConfig) -> bool:
    """signal_inspector's own app: never the user's to fix, even installed editable."""
    return app_config.name == __package__ or app_config.name.startswith(f"{__package__}.")


def find_unconnected(app_configs: list[AppConfig] | None = None) -> list[UnconnectedModule]:
    """Modules of the project's own apps that define receivers none of which is
    connected once Django has started.

    NEVER: nothing imports the module. URLCONF: only the URLconf reaches it
    (read from the source, so the answer does not depend on whether a check
    already loaded the URLconf), and some of its receivers are of a signal that
    may be sent where the URLconf was not loaded (see :func:`_always_imported_first`).
    MIGRATE: an app's ``management`` package, which ``migrate`` imports before it
    sends ``post_migrate`` (not reported when its receivers are all for
    ``pre_migrate``/``post_migrate``). Command modules (``management/commands``) are
    imported when their command runs: not reported.
    """
    from django.conf import settings

    configs = app_configs if app_configs is not None else list(apps.get_app_configs())
    project = [c for c in apps.get_app_configs() if is_project_app(c) and not _is_own(c)]
    cache = sourcefacts.SourceCache(_project_key(project))
    try:
        found = _find_unconnected(configs, project, cache, settings)
    except Exception:
        if not cache.entries:
            raise
        # A cache file someone else wrote (or a bug of ours): read the sources afresh.
        cache = sourcefacts.SourceCache(_project_key(project), load=False)
        found = _find_unconnected(configs, project, cache, settings)
    cache.save()
    return found


def _find_unconnected(
    configs: list[AppConfig],
    project: list[AppConfig],
    cache: sourcefacts.SourceCache,
    settings: Any,
) -> list[UnconnectedModule]:
    found: list[UnconnectedModule] = []
    urlconf = getattr(settings, "ROOT_URLCONF", None) if settings.configured else None
    reach: dict[str, set[str]] = {}

    def reached(kind: str) -> set[str]:
        if kind not in reach:
            if kind == "startup":
                reach[kind] = _reachable(_startup_roots(project), cache)
            else:
                reach[kind] = (
                    _reachable({urlconf: False}, cache) if isinstance(urlconf, str) else set()
                )
        return reach[kind]

    senders = _Senders(project, cache)
    for app_config in configs:
        if not is_project_app(app_config) or _is_own(app_config):
            continue
        for module, path in _source_files(app_config.path, app_config.name):
            management = f"{app_config.name}.management"
            if module.startswith(management + ".commands"):
                continue
            loaded = module in sys.modules and is_executed(sys.modules[module])
            if loaded and module != management and not isinstance(urlconf, str):
                continue
            facts = cache.facts(path)
            receivers = facts["receivers"] if facts is not None else []
            if not receivers:
                continue
            if module == management:
                if all(r["signal"].endswith(_MIGRATE_SIGNALS) for r in receivers):
                    continue
                kind = MIGRATE
            elif module in reached("urlconf") and module not in reached("startup"):
                if loaded and urlconf not in sys.modules:
                    continue  # imported by something else than the URLconf
                receivers = [
                    r for r in receivers
                    if not senders.always_imported_first(module, path, r["signal"])
                ]
                if not receivers:
                    continue
                kind = URLCONF
            elif not loaded:
                kind = NEVER
            else:
                continue
            found.append(
                UnconnectedModule(
                    app_label=app_config.label,
                    module=module,
                    file=display_path(path),
                    receivers=receivers,
                    ready=_ready_location(app_config),
                    fix=_fix_line(app_config, module),
                    reach=kind,
                    urlconf=urlconf if kind == URLCONF and isinstance(urlconf, str) else "",
                )
            )
    return found


def _urlconf(settings: Any) -> str | None:
    urlconf = getattr(settings, "ROOT_URLCONF", None) if settings.configured else None
    return urlconf if isinstance(urlconf, str) else None


def display_path(filename: str) -> str:
    """``filename`` as messages show it: relative to the ``sys.path`` entry that
    holds it (as connect sites are), else to ``BASE_DIR`` or the working directory."""
    from django.conf import settings

    from .naming import short_path

    for candidate in (os.path.abspath(filename), os.path.realpath(filename)):
        short = short_path(candidate)
        if not os.path.isabs(short):
            return short
    real = os.path.realpath(filename)
    base = getattr(settings, "BASE_DIR", None) if settings.configured else None
    for root in (base, os.getcwd()):
        if root:
            try:
                relative = os.path.relpath(real, os.path.realpath(str(root)))
            except ValueError:
                continue
            if not relative.startswith(os.pardir):
                return relative
    return short


class _Senders:
    """Whether every send of a signal is made by code that imports a given module.

    A receiver module that only the URLconf imports is connected wherever its
    signal is sent, if every place in the project that sends the signal imports
    that module first: at module level (directly or through what it imports), or
    inside the sending function, above the send. Read from the source of the
    project's packages (the top-level packages of its apps). Any other use of the
    signal's name (passed along, stored, its receivers called directly as pretix's
    ``runperiodic`` does), no send found at all, or a signal defined outside the
    project (Django's own are sent from Django) proves nothing: the warning stays.
    Sends made by installed packages are not seen.
    """

    def __init__(self, project: list[AppConfig], cache: sourcefacts.SourceCache) -> None:
        self.cache = cache
        self.project = project
        self._files: list[tuple[str, str]] | None = None
        self._closures: dict[str, set[str]] = {}

    def files(self) -> list[tuple[str, str]]:
        """(module, path) of every source file of the project's top-level packages
    (of its apps, its settings and its URLconf)."""
        if self._files is None:
            from django.conf import settings

            tops: dict[str, str] = {}
            for config in self.project:
                parts = config.name.split(".")
                root = config.path
                for _ in parts[1:]:
                    root = os.path.dirname(root)
                if os.path.exists(os.path.join(root, "__init__.py")):
                    tops.setdefault(parts[0], root)
            # The packages of the settings and the URLconf: project code outside apps.
            for name in (getattr(settings, "SETTINGS_MODULE", None), _urlconf(settings)):
                top = name.partition(".")[0] if isinstance(name, str) else ""
                file = _project_file(top, self.cache) if top else None
                if file is not None and file.endswith("__init__.py"):
                    tops.setdefault(top, os.path.dirname(file))
            self._files = []
            for top, root in sorted(tops.items()):
                self._files += _source_files(root, top)
        return self._files

    def closure(self, module: str) -> set[str]:
        if module not in self._closures:
            self._closures[module] = _reachable({module: False}, self.cache)
        return self._closures[module]

    def always_imported_first(self, module: str, file: str, signal_text: str) -> bool:
        attr = self._project_signal(module, file, signal_text)
        return attr is not None and self._imported_first(module, attr, "send", set())

    def _imported_first(self, module: str, name: str, kind: str, seen: set[str]) -> bool:
        """Whether every use of ``name`` is a ``kind`` (a send of the signal, or a
        call of a function that sends it) made by code that imports ``module``
        first; a use in a function that does not is covered when every call of
        that function is (up to ``_MAX_CALL_DEPTH`` functions up)."""
        if name in seen or len(seen) > _MAX_CALL_DEPTH:
            return False
        seen = seen | {name}
        uses = 0
        for user, path in self.files():
            mentions = self.cache.mentions(path, {name})
            if mentions is None:
                return False  # unreadable: cannot tell
            for found_kind, line, scope in mentions[name]:
                if found_kind != kind:
                    return False
                uses += 1
                if user == module or module in self.closure(user):
                    continue
                if self._imported_in(user, path, scope, line, module):
                    continue
                function = scope.rpartition(".")[2]
                if not function or not self._imported_first(module, function, "call", seen):
                    return False
        return uses > 0

    def _imported_in(self, sender: str, path: str, scope: str, line: int, module: str) -> bool:
        """Whether the function ``scope`` of ``sender`` imports ``module`` (directly
        or through what it imports) above ``line``."""
        facts = self.cache.facts(path)
        if facts is None or not scope:
            return False
        package = _package(sender, path)
        enclosing = {".".join(scope.split(".")[:end]) for end in range(1, scope.count(".") + 2)}
        for fact in facts["imports"]:
            if fact[5] in enclosing and fact[6] < line:
                for name in _resolve(package, fact):
                    if name == module or module in self.closure(name):
                        return True
        return False

    def _project_signal(self, module: str, file: str, signal_text: str) -> str | None:
        """The attribute name of the signal a receiver names, if the project's own
        code defines it; ``None`` if that cannot be told."""
        parts = signal_text.split(".")
        if not all(part.isidentifier() for part in parts):
            return None
        facts = self.cache.facts(file)
        if facts is None:
            return None
        bindings: dict[str, str] = {}
        package = _package(module, file)
        for fact in facts["imports"]:
            if not fact[4]:
                continue
            if fact[0]:
                base = _resolve(package, fact)
                if base:
                    for name, asname in fact[3]:
                        bindings[asname or name] = f"{base[0]}.{name}"
            else:
                for name, asname in fact[3]:
                    bindings[asname or name.partition(".")[0]] = name if asname else name.partition(".")[0]
        head = parts[0]
        qualified = ".".join([bindings.get(head, f"{module}.{head}"), *parts[1:]])
        defining = qualified.rpartition(".")[0]
        if _project_file(defining, self.cache) is None:
            return None
        return parts[-1]


def describe(item: UnconnectedModule) -> str:
    """The warning: which receivers, and when they are (not) connected."""
    names = ", ".join(f"{r['name']} ({r['signal']})" for r in item.receivers)
    if item.reach == URLCONF:
        return (
            f"{item.file} defines receivers {names}, but the module {item.module} is "
            f"imported only through the URLconf ({item.urlconf}): they are connected "
            "once something loads it (the system checks that runserver, migrate and most "
            "management commands run first, or the first request), and not where nothing "
            "does: call_command(..., skip_checks=True) and --skip-checks, the shell, task "
            "workers, scripts that only call django.setup(), tests before any request."
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
