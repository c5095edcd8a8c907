#!/usr/bin/env bash
# Sets up and runs every check CI runs: the nox sessions of noxfile.py (lint, the
# Python x Django x django-debug-toolbar matrix with Django's and the toolbar's own
# suites on some combinations, docs, workflows, coverage). Installs what it needs
# (Chromium, nox in .venv-nox, each session's venv under .nox/); safe to re-run.
# A Python that is not installed is skipped with a message: on this machine pyenv
# provides 3.10-3.13. Extra arguments go to nox: `bash .ci/test.sh -s lint docs`.
set -euo pipefail

cd "$(dirname "$0")/.."

export PIP_DISABLE_PIP_VERSION_CHECK=1 PIP_NO_INPUT=1 PYTHONDONTWRITEBYTECODE=1
STARTED=$SECONDS

say() { printf '\n=== %s\n' "$*"; }

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

# The first interpreter that is 3.10 or newer, for nox itself (sessions find their own).
find_python() {
    local candidate exe
    for candidate in python3 python3.12 python3.13 python3.11 python3.10; do
        exe=$("$candidate" -c \
            "import sys; print(sys.executable if sys.version_info >= (3, 10) else '')" \
            2>/dev/null) || continue
        if [[ -n $exe ]]; then
            echo "$exe"
            return 0
        fi
    done
    return 1
}

say "Chromium for the browser test"
CHROMIUM=PASS
install_chromium || CHROMIUM=FAIL

say "nox in .venv-nox"
PYTHON=$(find_python) || { echo "No Python 3.10+ found: nothing can run." >&2; exit 1; }
if [[ ! -x .venv-nox/bin/nox || noxfile.py -nt .venv-nox/bin/nox ]]; then
    "$PYTHON" -m venv .venv-nox
    .venv-nox/bin/python -m pip install -q 'nox>=2025.2.9'
    touch .venv-nox/bin/nox
fi
.venv-nox/bin/nox --version

# A full run combines the coverage of its own sessions only.
if [[ $# -eq 0 ]]; then
    rm -rf .cache/coverage
fi

say "nox (sessions: nox -l)"
NOX=0
# --no-error-on-missing-interpreters: skip (with nox's message), even where CI is set.
.venv-nox/bin/nox --no-error-on-missing-interpreters "$@" || NOX=$?

say "Summary ($((SECONDS - STARTED))s)"
echo "Chromium: $CHROMIUM; nox: $([[ $NOX -eq 0 ]] && echo PASS || echo "FAIL (exit $NOX)")"
if [[ $NOX -ne 0 || $CHROMIUM != PASS ]]; then
    echo "make test: FAILED"
    exit 1
fi
echo "make test: PASSED"
