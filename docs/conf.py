"""Sphinx configuration: the docs site (Markdown pages through MyST, the furo theme).

Built by `make docs` and the nox "docs" session with warnings as errors
(``-W --keep-going -n``), and by Read the Docs (.readthedocs.yaml).

A page added as docs/<topic>.md that no toctree names is listed under
"Features" on the front page by itself (see ``_feature_pages``): nothing to edit.
"""

from __future__ import annotations

import re
import sys
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent))

from signal_inspector import __version__  # noqa: E402

project = "django-signal-inspector"
author = "The django-signal-inspector authors"
copyright = "the django-signal-inspector authors"  # noqa: A001
release = __version__
version = ".".join(__version__.split(".")[:2])

extensions = ["myst_parser"]
source_suffix = {".md": "markdown"}
exclude_patterns = ["_build", "requirements.txt"]
myst_enable_extensions = ["colon_fence", "deflist"]
# Links such as [the JSON schema](signalmap.md#json-schema-version-1) are checked.
myst_heading_anchors = 3
nitpicky = True
# External links are never fetched by the build (`nox -s linkcheck` does that).
linkcheck_anchors = False

html_theme = "furo"
html_title = f"django-signal-inspector {release}"
html_static_path: list[str] = []
html_theme_options = {
    "source_repository": "https://github.com/django-signal-inspector/django-signal-inspector/",
    "source_branch": "main",
    "source_directory": "docs/",
}

# Every page some toctree of index.md (or checks/index.md) names: the rest are features.
_LISTED = re.compile(r"^([\w./-]+)$", re.MULTILINE)
_FEATURES_MARKER = "<!-- feature pages -->"


def _feature_pages() -> list[str]:
    """docs/*.md pages no toctree names, in name order."""
    listed = set()
    for index in (HERE / "index.md", HERE / "checks" / "index.md"):
        for block in re.findall(r"```\{toctree\}(.*?)```", index.read_text(), re.DOTALL):
            listed.update(_LISTED.findall(block))
    return sorted(
        page.stem
        for page in HERE.glob("*.md")
        if page.stem != "index" and page.stem not in listed
    )


def _add_feature_pages(app: Any, docname: str, source: list[str]) -> None:
    if docname != "index":
        return
    pages = _feature_pages()
    toctree = "```{toctree}\n:caption: Features\n:maxdepth: 2\n\n" + "\n".join(pages) + "\n```"
    source[0] = source[0].replace(_FEATURES_MARKER, toctree if pages else "")


def _reread_index(app: Any, env: Any, added: Any, changed: Any, removed: Any) -> list[str]:
    """The front page's Features list depends on which pages exist: always read it again."""
    return ["index"]


def setup(app: Any) -> dict[str, Any]:
    app.connect("source-read", _add_feature_pages)
    app.connect("env-get-outdated", _reread_index)
    return {"parallel_read_safe": True}
