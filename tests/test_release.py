"""The release kit agrees with itself: the supported-versions table, the pyproject
classifiers, the nox matrix and the CI workflows name the same versions; the
workflows pin their actions and publish by trusted publishing; the README's links
into the docs lead to pages that exist."""

from __future__ import annotations

import ast
import re
import sys
from pathlib import Path
from typing import Any

import yaml

import signal_inspector

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover - Python 3.10
    import tomli as tomllib

ROOT = Path(__file__).resolve().parent.parent
DOCS = ROOT / "docs"
WORKFLOWS = ROOT / ".github" / "workflows"
DOCS_URL = "https://django-signal-inspector.readthedocs.io/en/latest/"


def pyproject() -> dict[str, Any]:
    return tomllib.loads((ROOT / "pyproject.toml").read_text())


def nox_constant(name: str) -> Any:
    """A literal assigned at the top of noxfile.py (read, not imported: nox may be absent)."""
    tree = ast.parse((ROOT / "noxfile.py").read_text())
    for node in tree.body:
        if (
            isinstance(node, ast.Assign)
            and isinstance(node.targets[0], ast.Name)
            and node.targets[0].id == name
        ):
            return ast.literal_eval(node.value)
    raise AssertionError(f"noxfile.py assigns no {name}")


def supported_table() -> dict[str, tuple[set[str], str]]:
    """docs/index.md's table: Django -> (Pythons, toolbar)."""
    text = (DOCS / "index.md").read_text()
    section = text.split("## Supported versions", 1)[1].split("\n## ", 1)[0]
    rows = {}
    for line in section.splitlines():
        cells = [c.strip() for c in line.strip().strip("|").split("|")]
        if len(cells) == 3 and re.fullmatch(r"\d+\.\d+", cells[0]):
            rows[cells[0]] = ({p.strip() for p in cells[1].split(",")}, cells[2])
    assert rows, "no supported-versions table in docs/index.md"
    return rows


def workflow(name: str) -> dict[Any, Any]:
    loaded = yaml.safe_load((WORKFLOWS / name).read_text())
    assert isinstance(loaded, dict)
    return loaded


def triggers(wf: dict[Any, Any]) -> Any:
    return wf["on"] if "on" in wf else wf[True]  # YAML 1.1 reads a bare `on` as True


def test_supported_versions_table_is_the_classifiers_and_the_matrix() -> None:
    table = supported_table()
    classifiers = pyproject()["project"]["classifiers"]
    djangos = {c.rsplit(" ", 1)[1] for c in classifiers if c.startswith("Framework :: Django :: ")}
    pythons = {
        c.rsplit(" ", 1)[1]
        for c in classifiers
        if re.fullmatch(r"Programming Language :: Python :: 3\.\d+", c)
    }
    assert set(table) == djangos
    assert set().union(*(p for p, _ in table.values())) == pythons
    matrix = nox_constant("MATRIX")
    assert {(py, dj) for py, dj, _, _ in matrix} == {
        (py, dj) for dj, (pys, _) in table.items() for py in pys
    }
    assert set(nox_constant("DJANGO")) == djangos


def test_requires_python_is_the_oldest_supported_python() -> None:
    oldest = min(
        (p for pys, _ in supported_table().values() for p in pys),
        key=lambda v: tuple(map(int, v.split("."))),
    )
    assert pyproject()["project"]["requires-python"] == f">={oldest}"


def test_the_oldest_allowed_toolbar_is_in_the_matrix() -> None:
    [extra] = pyproject()["project"]["optional-dependencies"]["toolbar"]
    floor = re.fullmatch(r"django-debug-toolbar>=(\d+\.\d+)", extra)
    assert floor, extra
    toolbars = nox_constant("TOOLBAR")
    major, minor = floor[1].split(".")
    assert toolbars[floor[1]] == f"django-debug-toolbar>={floor[1]},<{major}.{int(minor) + 1}"
    assert any(tb == floor[1] for _, _, tb, _ in nox_constant("MATRIX"))
    assert {tb for _, tb in supported_table().values()} == {f"{floor[1]} and newer"}


def test_every_django_series_runs_djangos_suites_and_both_toolbars_run_theirs() -> None:
    matrix = nox_constant("MATRIX")
    assert {dj for _, dj, _, heavy in matrix if "django" in heavy} == set(nox_constant("DJANGO"))
    assert {tb for _, _, tb, heavy in matrix if "toolbar" in heavy} == set(nox_constant("TOOLBAR"))


def test_the_version_has_one_source() -> None:
    project = pyproject()
    assert "version" not in project["project"]
    assert project["project"]["dynamic"] == ["version"]
    assert project["tool"]["setuptools"]["dynamic"]["version"] == {
        "attr": "signal_inspector.__version__"
    }
    assert re.fullmatch(r"\d+\.\d+\.\d+", signal_inspector.__version__)


def test_the_changelog_has_an_unreleased_section() -> None:
    headings = re.findall(r"^## (.+)$", (DOCS / "changelog.md").read_text(), re.MULTILINE)
    assert headings[0] == "Unreleased"


def test_every_action_is_pinned_by_commit_sha_with_its_version() -> None:
    uses = []
    for path in sorted(WORKFLOWS.glob("*.yml")):
        for line in path.read_text().splitlines():
            if match := re.match(r"\s*(?:- )?uses: (\S+)(.*)", line):
                uses.append((path.name, match[1], match[2]))
    assert len(uses) >= 8
    for name, action, comment in uses:
        assert re.fullmatch(r"[\w.-]+/[\w.-]+@[0-9a-f]{40}", action), (name, action)
        assert re.fullmatch(r" # v\d+(\.\d+)*", comment), (name, action, comment)


def test_workflows_grant_nothing_by_default_and_read_only_to_tests() -> None:
    for name in ("test.yml", "release.yml"):
        wf = workflow(name)
        assert wf["permissions"] == {}, name
        for job_name, job in wf["jobs"].items():
            assert "permissions" in job, (name, job_name)
    for job in workflow("test.yml")["jobs"].values():
        assert job["permissions"] == {"contents": "read"}


def test_the_test_workflow_runs_every_python_of_the_matrix() -> None:
    wf = workflow("test.yml")
    assert set(triggers(wf)) == {"push", "pull_request"}
    tests = wf["jobs"]["tests"]
    assert set(tests["strategy"]["matrix"]["python-version"]) == {
        py for py, _, _, _ in nox_constant("MATRIX")
    }
    runs = [step.get("run", "") for step in tests["steps"]]
    assert any('nox -s tests -p "$PYTHON_VERSION"' in run for run in runs)
    assert wf["jobs"]["coverage"]["needs"] == "tests"
    checks = " ".join(step.get("run", "") for step in wf["jobs"]["checks"]["steps"])
    assert "nox -s lint docs workflows" in checks


def test_a_version_tag_builds_once_checks_and_publishes_by_trusted_publishing() -> None:
    wf = workflow("release.yml")
    assert triggers(wf) == {"push": {"tags": ["v*"]}}
    build, publish = wf["jobs"]["build"], wf["jobs"]["publish"]
    build_runs = [step.get("run", "") for step in build["steps"]]
    assert "python -m build" in build_runs
    assert "python -m twine check --strict dist/*" in build_runs
    assert any("GITHUB_REF_NAME" in run for run in build_runs)
    assert build["permissions"] == {"contents": "read"}
    assert publish["needs"] == "build"
    assert publish["permissions"] == {"id-token": "write"}
    assert publish["environment"]["name"] == "pypi"
    assert not any("run" in step for step in publish["steps"])  # nothing is built again
    [upload] = [s for s in publish["steps"] if "gh-action-pypi-publish" in s["uses"]]
    assert "with" not in upload or not {"password", "user"} & set(upload["with"])
    for wf_name in ("test.yml", "release.yml"):
        for job in workflow(wf_name)["jobs"].values():
            for step in job["steps"]:
                if step.get("uses", "").startswith("actions/checkout@"):
                    assert step["with"]["persist-credentials"] is False


def test_the_pre_commit_config_runs_what_ci_runs() -> None:
    config = yaml.safe_load((ROOT / ".pre-commit-config.yaml").read_text())
    entries = {hook["id"]: hook["entry"] for repo in config["repos"] for hook in repo["hooks"]}
    assert entries["ruff"].startswith("ruff check")
    assert entries["mypy"] == "mypy"
    # mypy sees the packages the nox "lint" session installs: every extra's
    # requirements (without opentelemetry-api, otel.py's imports are errors).
    [mypy] = [hook for repo in config["repos"] for hook in repo["hooks"] if hook["id"] == "mypy"]
    extras = pyproject()["project"]["optional-dependencies"]
    lint = (ROOT / "noxfile.py").read_text().split("def lint(", 1)[1].split("\ndef ", 1)[0]
    [named] = re.findall(r'"-e", "\.\[([\w,]+)\]"', lint)
    for extra in named.split(","):
        for requirement in extras[extra]:
            assert requirement in mypy["additional_dependencies"], requirement
    assert "sphinx -W" in entries["docs"]
    assert entries["zizmor"].startswith("zizmor --offline")


def test_readthedocs_builds_the_sphinx_config_with_warnings_as_errors() -> None:
    config = yaml.safe_load((ROOT / ".readthedocs.yaml").read_text())
    assert config["sphinx"] == {"configuration": "docs/conf.py", "fail_on_warning": True}
    assert (ROOT / config["python"]["install"][0]["requirements"]).is_file()


def test_the_readmes_links_into_the_docs_lead_to_pages() -> None:
    readme = (ROOT / "README.md").read_text()
    for url in re.findall(re.escape(DOCS_URL) + r"[^)\s>\"]*", readme):
        page = url[len(DOCS_URL) :].split("#", 1)[0]
        if page:
            assert page.endswith(".html"), url
            assert (DOCS / (page[: -len(".html")] + ".md")).is_file(), url


def test_each_check_id_has_its_page() -> None:
    source = (ROOT / "signal_inspector" / "checks.py").read_text()
    ids = set(re.findall(r'id="signal_inspector\.([EW]\d{3})"', source))
    ids |= set(re.findall(r'else "signal_inspector\.([EW]\d{3})"', source))
    assert ids
    pages = {p.stem for p in (DOCS / "checks").glob("[EW]*.md")}
    assert ids == pages
    index = (DOCS / "checks" / "index.md").read_text()
    for check in ids:
        assert f"({check}.md)" in index


def test_the_session_venvs_contributing_names_are_made_by_make_test() -> None:
    """CONTRIBUTING's "one test" commands run in a venv that `make test` (the CI
    subset of the matrix) has made, under the name nox gives it."""
    ci = nox_constant("CI_MATRIX")
    made = {
        ".nox/" + re.sub(r"[^\w]+", "-", f"tests(py{py}-dj{dj}-tb{tb})").strip("-")
        for py, dj, tb, _ in nox_constant("MATRIX")
        if (py, dj) in ci
    }
    named = set(re.findall(r"\.nox/tests-[\w-]+", (ROOT / "CONTRIBUTING.md").read_text()))
    assert named
    assert named <= made, named - made


# What django-debug-toolbar's installation guide adds (app, middleware, URLs,
# INTERNAL_IPS), which the README links to rather than repeats.
TOOLBAR_SETUP = """
INSTALLED_APPS += ["debug_toolbar"]
MIDDLEWARE = ["debug_toolbar.middleware.DebugToolbarMiddleware", *MIDDLEWARE]
INTERNAL_IPS = ["127.0.0.1"]
"""
TOOLBAR_URLS = """
from debug_toolbar.toolbar import debug_toolbar_urls
urlpatterns += debug_toolbar_urls()
"""
# A failed admin login sends user_login_failed (and more) in the request.
# The toolbar shows where DEBUG allows the host (127.0.0.1), as runserver's would.
SHOW_PANEL = """
import re
from django.test import Client
html = Client(HTTP_HOST="127.0.0.1").post(
    "/admin/login/", {"username": "newcomer", "password": "wrong"}
).content.decode()
assert 'id="SignalInspectorPanel"' in html, html[-3000:]
nav = html.split('id="djdt-SignalInspectorPanel"', 1)[1].split("</li>", 1)[0]
print("subtitle:", re.search(r"<small>(.*?)</small>", nav, re.S)[1].strip())
"""


def test_the_readmes_quick_start_works_in_a_new_project(tmp_path: Path) -> None:
    """The README's quick start, run as written in a project `django-admin
    startproject` just made; then its panel snippet after the toolbar's own setup."""
    import shlex
    import subprocess

    readme = (ROOT / "README.md").read_text()
    quick = readme.split("## Quick start", 1)[1].split("\n## ", 1)[0]
    [commands] = re.findall(r"```console\n(.*?)```", quick, re.DOTALL)
    [panel_snippet] = re.findall(r"```python\n(.*?)```", quick, re.DOTALL)
    bin_dir = Path(sys.executable).parent
    subprocess.run([bin_dir / "django-admin", "startproject", "mysite"], cwd=tmp_path, check=True)
    project = tmp_path / "mysite"
    env = {"PATH": f"{bin_dir}:/usr/bin:/bin", "HOME": str(tmp_path)}

    def run(*args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(args, cwd=project, env=env, capture_output=True, text=True, timeout=120)

    outputs = []
    for line in commands.strip().splitlines():
        args = shlex.split(line)
        if args[0] == "python":
            args[0] = sys.executable
        result = run("bash", "-c", shlex.join(args)) if ">>" not in line else run("bash", "-c", line)
        assert result.returncode == 0, (line, result.stdout, result.stderr)
        outputs.append(result.stdout + result.stderr)
    assert "signal_inspector" in (project / "mysite" / "settings.py").read_text()
    assert "receivers" in outputs[1]  # signalmap's summary line
    assert "System check identified no issues" in outputs[2]

    with open(project / "mysite" / "settings.py", "a") as settings:
        settings.write(TOOLBAR_SETUP + panel_snippet)
    with open(project / "mysite" / "urls.py", "a") as urls:
        urls.write(TOOLBAR_URLS)
    check = run(sys.executable, "manage.py", "check")
    assert check.returncode == 0 and "no issues" in check.stdout + check.stderr, check.stderr
    assert run(sys.executable, "manage.py", "migrate", "-v0").returncode == 0
    shown = run(sys.executable, "manage.py", "shell", "-c", SHOW_PANEL)
    assert shown.returncode == 0, shown.stderr
    [subtitle] = re.findall(r"^subtitle: (.*)$", shown.stdout, re.MULTILINE)
    assert re.match(r"\d+ (silent )?sends?\b", subtitle), subtitle
