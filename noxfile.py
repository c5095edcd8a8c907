"""Every check CI runs, as nox sessions: ``nox`` runs them all, ``nox -l`` lists them.

The matrix is every supported (Python, Django, django-debug-toolbar) combination.
Django's own signal test suites and the toolbar's own test suite are slow (minutes
each) and test the Django or toolbar version, not Python: Django's run once per
Django series, the toolbar's on the oldest toolbar (with Django 5.2) and on the
newest with Django 6.0 and 6.1 (``MATRIX``'s last column); the other combinations
run the pytest suite only. The supported-versions
table in docs/index.md is checked against ``MATRIX`` and the pyproject classifiers
by tests/test_release.py.

A Python that cannot be found is skipped with nox's "Python interpreter X not
found" (an error when the ``CI`` variable is set, unless
``--no-error-on-missing-interpreters``). With pyenv, the newest installed 3.10, 3.11,
3.12 and 3.13 are added to ``PYENV_VERSION`` (after any you set yourself).
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import nox

ROOT = Path(__file__).resolve().parent
COVERAGE_DIR = ROOT / ".cache" / "coverage"

nox.options.default_venv_backend = "venv"
nox.options.reuse_venv = "yes"

DJANGO = {
    "5.2": "Django>=5.2,<5.3",
    "6.0": "Django>=6.0,<6.1",
    "6.1": "Django>=6.1,<6.2",
}
TOOLBAR = {
    # The oldest the ``toolbar`` extra allows (TasksPanel, get_csp_nonce).
    "7.1": "django-debug-toolbar>=7.1,<7.2",
    "latest": "django-debug-toolbar>=7.1",
}
# (Python, Django, toolbar, heavy suites: "django" and/or "toolbar")
MATRIX = [
    ("3.10", "5.2", "latest", ()),
    # Not 3.10: toolbar_suite.py builds the toolbar's sdist and its build backend
    # from source; pip's wheel cache, per interpreter, is warm for 3.11 on CI.
    ("3.11", "5.2", "7.1", ("django", "toolbar")),
    ("3.12", "5.2", "latest", ()),
    ("3.13", "5.2", "latest", ()),
    ("3.12", "6.0", "latest", ("django", "toolbar")),
    ("3.13", "6.0", "latest", ()),
    ("3.12", "6.1", "latest", ()),
    ("3.13", "6.1", "latest", ("django", "toolbar")),
]
# What CI (and `make test`, through .ci/test.sh) runs of the matrix, to stay well
# under 45 minutes on 2 cores: the oldest Python, the oldest toolbar, and each Django
# series with its own and the toolbar's suites. `nox` alone runs every combination.
CI_MATRIX = {("3.10", "5.2"), ("3.11", "5.2"), ("3.12", "6.0"), ("3.13", "6.1")}
TEST_DEPS = [
    "pytest",
    "pytest-django",
    "hypothesis",
    "playwright",
    "uvicorn",
    "django-csp",
    "build",
    "twine",
    "coverage>=7.10",
    "pyyaml",
    "sentry-sdk",
    "django-simple-history",
    "pytest-xdist",
    # Real apps the findings tests use (each test skips with a reason without its app).
    "celery",
    "django-tasks",
    "pymemcache",
    # docs/opentelemetry.md's exporter, tested with the real SDK, exporter and servers.
    "opentelemetry-sdk",
    "opentelemetry-exporter-otlp-proto-http",
    "opentelemetry-proto",
    "opentelemetry-instrumentation-django",
    "opentelemetry-instrumentation-asgi",
    "opentelemetry-instrumentation-celery",
    "opentelemetry-instrumentation-urllib",
]
# lint, docs, workflows and coverage run on the Python that runs nox: always there.
LINT_PYTHON = f"{sys.version_info.major}.{sys.version_info.minor}"


def _pyenv_versions() -> None:
    """Let pyenv's shims answer python3.10 ... python3.13 (nox looks them up on PATH):
    the newest installed patch release of each minor version missing from PYENV_VERSION
    is added to it."""
    if not shutil.which("pyenv"):
        return
    listed = subprocess.run(
        ["pyenv", "versions", "--bare"], capture_output=True, text=True, check=False
    ).stdout.split()
    chosen = [v for v in os.environ.get("PYENV_VERSION", "").split(":") if v]
    newest: dict[str, tuple[int, int]] = {}
    for version in listed:
        if match := re.fullmatch(r"3\.(1[0-3])\.(\d+)", version):
            key = (int(match[1]), int(match[2]))
            newest[match[1]] = max(newest.get(match[1], key), key)
    for minor, patch in sorted(newest.values(), reverse=True):
        if not any(v.startswith(f"3.{minor}.") or v == f"3.{minor}" for v in chosen):
            chosen.append(f"3.{minor}.{patch}")
    if chosen:
        os.environ["PYENV_VERSION"] = ":".join(chosen)


_pyenv_versions()


@nox.session(python=LINT_PYTHON, tags=["ci"])
def lint(session: nox.Session) -> None:
    """ruff and mypy --strict (django-stubs), as pre-commit runs them."""
    session.install("-e", ".[toolbar,otel]", DJANGO["5.2"], "ruff", "mypy", "django-stubs", "pytest")
    session.run("ruff", "check", ".")
    session.run("mypy")


@nox.session
@nox.parametrize(
    ("python", "django", "toolbar", "heavy"),
    [
        nox.param(
            py, dj, tb, heavy,
            id=f"py{py}-dj{dj}-tb{tb}",
            tags=["ci"] if (py, dj) in CI_MATRIX else [],
        )
        for py, dj, tb, heavy in MATRIX
    ],
)
def tests(session: nox.Session, django: str, toolbar: str, heavy: tuple[str, ...]) -> None:
    """The pytest suite under coverage; where ``heavy`` says, the upstream suites too."""
    session.install("-e", ".[toolbar,otel]", DJANGO[django], TOOLBAR[toolbar], *TEST_DEPS)
    if django == "5.2" and "django" in heavy:
        # A real third-party project for the graph tests (they skip without it).
        session.install("wagtail")
    session.run(
        "python",
        "-c",
        "import sys, django, debug_toolbar; print(f'Python {sys.version.split()[0]}, "
        "Django {django.get_version()}, django-debug-toolbar {debug_toolbar.VERSION}')",
    )
    COVERAGE_DIR.mkdir(parents=True, exist_ok=True)
    env = {
        "COVERAGE_FILE": str(COVERAGE_DIR / "data"),
        "COVERAGE_RCFILE": str(ROOT / "pyproject.toml"),
    }
    # Two workers (pytest-xdist) on CI's two cores: the suite's wall time halves.
    session.run("coverage", "run", "-m", "pytest", "-q", "-n", "2", *session.posargs, env=env)
    if "django" in heavy:
        session.run("python", "tests/django_suites.py")
        session.run("python", "tests/django_suites.py", "--idle")
    if "toolbar" in heavy:
        session.run("python", "tests/toolbar_suite.py")


@nox.session(python=LINT_PYTHON, tags=["ci"])
def docs(session: nox.Session) -> None:
    """The docs site, warnings as errors, every internal link and reference resolved.

    External links are never fetched (no network in CI): ``nox -s linkcheck`` does that.
    """
    session.install("-r", "docs/requirements.txt")
    shutil.rmtree(ROOT / "build" / "docs", ignore_errors=True)
    session.run(
        "sphinx-build", "-W", "--keep-going", "-n", "-b", "html", "docs", "build/docs/html"
    )


@nox.session(python=LINT_PYTHON, default=False)
def linkcheck(session: nox.Session) -> None:
    """External links of the docs, fetched (needs the network; not run by CI)."""
    session.install("-r", "docs/requirements.txt")
    session.run("sphinx-build", "-b", "linkcheck", "docs", "build/docs/linkcheck")


@nox.session(python=LINT_PYTHON, tags=["ci"])
def workflows(session: nox.Session) -> None:
    """The GitHub Actions workflows, audited by zizmor (offline: no GitHub API)."""
    session.install("zizmor")
    session.run("zizmor", "--offline", "--min-severity", "low", ".github/workflows")


@nox.session(python=LINT_PYTHON, tags=["ci"])
def coverage(session: nox.Session) -> None:
    """Combine the data of every ``tests`` session run so far and report it.

    Fails under ``fail_under`` in pyproject.toml. Run after the ``tests`` sessions.
    """
    session.install("coverage>=7.10")
    env = {"COVERAGE_FILE": str(COVERAGE_DIR / "data")}
    if not any(COVERAGE_DIR.glob("data.*")):
        session.error("No coverage data in .cache/coverage: run the tests sessions first.")
    session.run("coverage", "combine", "-q", env=env)
    session.run("coverage", "report", env=env)
