"""Which code is the project's own, told by where its file is.

``signalmap`` lists the project's receivers first: on a small project most
connected receivers are Django's and installed packages', and the few the
developer wrote get lost among them. "The project" is a directory (the
``BASE_DIR`` setting when there is one, else the directory holding the
settings module's top-level package); its code is what lives under it and
outside any installed-packages directory (a virtualenv inside the project
is not the project).
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

from .naming import is_project_file

_INSTALLED_PARTS = frozenset({"site-packages", "dist-packages"})


def project_root() -> Path:
    """The project's base directory (see the module docstring); the working
    directory when the settings say nothing."""
    from django.conf import settings

    if settings.configured:
        base = getattr(settings, "BASE_DIR", None)
        if isinstance(base, (str, os.PathLike)) and str(base):
            return Path(os.path.realpath(base))
        name = getattr(settings, "SETTINGS_MODULE", None) or ""
        top = sys.modules.get(name.partition(".")[0]) if name else None
        filename = getattr(top, "__file__", None) if top is not None else None
        if isinstance(filename, str):
            folder = Path(os.path.realpath(filename)).parent
            # A package's parent holds it; a lone settings.py's folder is the project.
            return folder.parent if "." in name else folder
    return Path(os.path.realpath(os.getcwd()))


class ProjectCode:
    """Answers "is this module the project's?" for one root, with a cache."""

    def __init__(self, root: Path | None = None) -> None:
        self.root = root if root is not None else project_root()
        self._prefix = str(self.root).rstrip(os.sep) + os.sep
        self._modules: dict[str, bool] = {}

    def has_file(self, filename: str) -> bool:
        if not filename or filename.startswith("<"):
            return False
        path = os.path.realpath(filename)
        if not path.startswith(self._prefix) or not is_project_file(path):
            return False
        parts = set(Path(path[len(self._prefix) :]).parts)
        return not (parts & _INSTALLED_PARTS)

    def has_module(self, module: str) -> bool:
        """Whether the loaded module named ``module`` is the project's."""
        hit = self._modules.get(module)
        if hit is None:
            loaded = sys.modules.get(module)
            try:
                filename = object.__getattribute__(loaded, "__dict__").get("__file__")
            except Exception:  # not loaded, or a module object that refuses
                filename = None
            hit = self._modules[module] = isinstance(filename, str) and self.has_file(filename)
        return hit
