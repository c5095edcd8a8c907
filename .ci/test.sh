#!/usr/bin/env bash
# Sets up and runs every check CI runs: lint, types, the pytest suite and Django's
# own signal test suites, on Django 5.2 (Python 3.11), Django 6.0 (Python 3.13)
# and the newest Django 6.x (Python 3.12). Installs what it needs; safe to re-run
# (venvs are reused). A missing interpreter is skipped with a message.
set -euo pipefail

cd "$(dirname "$0")/.."

export PIP_DISABLE_PIP_VERSION_CHECK=1 PIP_NO_INPUT=1 PYTHONDONTWRITEBYTECODE=1
# Which interpreters pyenv may offer (harmless without pyenv).
PYENV_CHOICES="3.11.7:3.12.1:3.13.0"

declare -a RESULTS=()
FAILED=0
STARTED=$SECONDS

say() { printf '\n=== %s\n' "$*"; }

# step NAME COMMAND...: run it and remember PASS/FAIL; returns its exit code.
step() {
    local name=$1 start=$SECONDS rc=0
    shift
    say "$name"
    "$@" || rc=$?
    if [[ $rc -eq 0 ]]; then
        RESULTS+=("PASS  $name ($((SECONDS - start))s)")
    else
        RESULTS+=("FAIL  $name (exit $rc, $((SECONDS - start))s)")
        FAILED=1
    fi
    return "$rc"
}

skip() {
    echo "SKIPPED: $2"
    RESULTS+=("SKIP  $1: $2")
}

# pytest exits 5 when it collected nothing: that is a broken run, not a pass.
run_pytest() {
    local rc=0
    "$1/bin/python" -m pytest "${@:2}" || rc=$?
    if [[ $rc -eq 5 ]]; then
        echo "pytest collected no tests: treating as a failure" >&2
    fi
    return "$rc"
}

# find_python MIN_MINOR CANDIDATES...: print the path of the first interpreter
# that runs and is 3.MIN_MINOR or newer, trying each with and without pyenv's choices.
find_python() {
    local min=$1 candidate exe pyenv_version
    shift
    for candidate in "$@"; do
        for pyenv_version in "${PYENV_VERSION:-}" "$PYENV_CHOICES"; do
            exe=$(PYENV_VERSION=$pyenv_version "$candidate" -c \
                "import sys; print(sys.executable if sys.version_info >= (3, $min) else '')" \
                2>/dev/null) || continue
            if [[ -n $exe ]]; then
                echo "$exe"
                return 0
            fi
        done
    done
    return 1
}

# make_venv DIR PYTHON DJANGO_SPEC: create it if missing; (re)install when
# pyproject.toml changed since the last successful install. (Steps run where
# bash ignores `set -e`, hence the explicit `|| return`.)
make_venv() {
    local venv=$1 python=$2 django=$3
    if [[ ! -x $venv/bin/python ]]; then
        "$python" -m venv "$venv" || return
    fi
    if [[ ! -f $venv/.installed || pyproject.toml -nt $venv/.installed || .ci/test.sh -nt $venv/.installed ]]; then
        rm -f "$venv/.installed"
        "$venv/bin/python" -m pip install -q -e '.[toolbar,otel]' "$django" \
            pytest pytest-django hypothesis playwright ruff uvicorn mypy django-stubs \
            django-csp build twine \
            opentelemetry-sdk opentelemetry-exporter-otlp-proto-http opentelemetry-proto \
            opentelemetry-instrumentation-django opentelemetry-instrumentation-asgi \
            celery opentelemetry-instrumentation-celery || return
        touch "$venv/.installed"
    fi
    "$venv/bin/python" -c 'import sys, django, debug_toolbar; print(
        f"{sys.argv[1]}: Python {sys.version.split()[0]}, Django {django.get_version()},",
        f"django-debug-toolbar {debug_toolbar.VERSION}")' "$venv"
}

install_chromium() {
    if [[ -x /usr/bin/chromium ]]; then
        echo "/usr/bin/chromium is there"
        return 0
    fi
    if ! command -v apt-get >/dev/null; then
        echo "No /usr/bin/chromium and no apt-get: install Chromium by hand for the browser test." >&2
        return 1
    fi
    local sudo=""
    [[ $(id -u) -eq 0 ]] || sudo="sudo"
    $sudo apt-get update -qq || return
    DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends chromium
}

# Every check for one Django version.
check_version() {
    local label=$1 venv=$2
    step "$label: pytest" run_pytest "$venv" -q || true
    if [[ -f tests/django_suites.py ]]; then
        step "$label: Django's signal test suites, recording" \
            "$venv/bin/python" tests/django_suites.py || true
        step "$label: Django's signal test suites, installed but idle" \
            "$venv/bin/python" tests/django_suites.py --idle || true
        if [[ -f tests/toolbar_suite.py ]]; then
            step "$label: django-debug-toolbar's own test suite, with our panel" \
                "$venv/bin/python" tests/toolbar_suite.py || true
        fi
    else
        skip "$label: Django's suites" "tests/django_suites.py does not exist yet"
    fi
}

step "Chromium for the browser test" install_chromium || true

if PY311=$(find_python 10 python3.11 python3 python3.12 python3.13); then
    if step "venv .venv-test-dj52" make_venv .venv-test-dj52 "$PY311" 'Django>=5.2,<5.3'; then
        step "ruff check" .venv-test-dj52/bin/ruff check . || true
        step "mypy --strict (django-stubs)" .venv-test-dj52/bin/mypy || true
        check_version "Django 5.2" .venv-test-dj52
    fi
else
    step "find Python 3.10+ for Django 5.2" false || true
fi

if PY313=$(find_python 13 python3.13 python3.14); then
    if step "venv .venv-test-dj60" make_venv .venv-test-dj60 "$PY313" 'Django>=6.0,<6.1'; then
        check_version "Django 6.0" .venv-test-dj60
    fi
else
    skip "Django 6.0" "Django 6.0 is tested on Python 3.13, which was not found (pyenv absent?)"
fi

if PY312=$(find_python 12 python3.12 python3.13 python3.14 python3); then
    if step "venv .venv-test-dj6" make_venv .venv-test-dj6 "$PY312" 'Django>=6,<7'; then
        check_version "Django 6.x (newest)" .venv-test-dj6
    fi
else
    skip "Django 6.x" "Django 6.x needs Python 3.12+, not found"
fi

say "Summary ($((SECONDS - STARTED))s)"
printf '%s\n' "${RESULTS[@]}"
if [[ $FAILED -ne 0 ]]; then
    echo "make test: FAILED"
    exit 1
fi
echo "make test: PASSED"
