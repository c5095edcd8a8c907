#!/usr/bin/env bash
# Set up pretix (from PyPI) for trying signal_inspector on a large real project,
# then run `manage.py check` without and with signal_inspector, and `signalmap`.
#
# Usage: scripts/try_pretix.sh [PRETIX_HOME]      (default: /work/pretix)
#   PRETIX_VERSION=2026.8.0  PYTHON=python3.11  override the defaults.
#
# What it builds under PRETIX_HOME (outside this repository):
#   venv/          Python 3.11, pretix's wheel, Django 5.2 (as pretix requires),
#                  tomli/setuptools/wheel, and signal_inspector installed editable
#                  from this checkout.
#   sdist/pretix-VERSION/src/   pretix's sdist: the source tree with tests/ and
#                  manage.py. Run pretix from there: its code is then the project's
#                  own (not site-packages), as in a pretix checkout, so W002/W004 and
#                  signalmap's project-only views see it. The sdist downloads only
#                  with --no-build-isolation (its build needs node otherwise).
#   pretix.cfg     SQLite database and data directory under PRETIX_HOME/data.
#   si_settings.py pretix's settings with 'signal_inspector' first in INSTALLED_APPS.
#   env.sh         the environment to source before running manage.py by hand.
# Re-running it reuses what is there. Read PRETIX_HOME/HOWTO.md for flows and tests.
set -euo pipefail
REPO="$(cd "$(dirname "$0")/.." && pwd)"
HOME_DIR="${1:-/work/pretix}"
VERSION="${PRETIX_VERSION:-2026.8.0}"
PY="${PYTHON:-python3.11}"
mkdir -p "$HOME_DIR" "$HOME_DIR/data" "$HOME_DIR/sdist"
cd "$HOME_DIR"

if [ ! -x venv/bin/python ]; then
    "$PY" -m venv venv
fi
venv/bin/pip install -q --disable-pip-version-check "pretix==$VERSION" 'Django>=5.2,<5.3' \
    tomli setuptools wheel
venv/bin/pip install -q --disable-pip-version-check -e "$REPO"

SRC="$HOME_DIR/sdist/pretix-$VERSION/src"
if [ ! -f "$SRC/manage.py" ]; then
    venv/bin/pip download -q --disable-pip-version-check --no-deps --no-binary :all: \
        --no-build-isolation "pretix==$VERSION" -d sdist
    tar -xzf "sdist/pretix-$VERSION.tar.gz" -C sdist
fi

[ -f pretix.cfg ] || cat > pretix.cfg <<EOF
[pretix]
instance_name=pretix (signal_inspector trials)
url=http://localhost:8000
datadir=$HOME_DIR/data
currency=EUR

[database]
backend=sqlite3
name=$HOME_DIR/data/db.sqlite3

[django]
debug=on
EOF

[ -f si_settings.py ] || cat > si_settings.py <<'EOF'
"""pretix's own settings, with signal_inspector first in INSTALLED_APPS."""
from pretix.settings import *  # noqa: F401,F403
from pretix.settings import INSTALLED_APPS

INSTALLED_APPS = ["signal_inspector", *[a for a in INSTALLED_APPS if a != "signal_inspector"]]
EOF

cat > env.sh <<EOF
# source $HOME_DIR/env.sh; cd \$PRETIX_SRC; python manage.py ...
export PATH="$HOME_DIR/venv/bin:\$PATH"
export PRETIX_CONFIG_FILE="$HOME_DIR/pretix.cfg"
export PYTHONPATH="$HOME_DIR"
export PRETIX_SRC="$SRC"
export DJANGO_SETTINGS_MODULE=si_settings
EOF

export PRETIX_CONFIG_FILE="$HOME_DIR/pretix.cfg" PYTHONPATH="$HOME_DIR"
cd "$SRC"
run() {  # run LABEL SETTINGS ARGS...: wall time and the last lines of the output
    local label="$1" settings="$2"; shift 2
    local start end status=0
    start=$(date +%s.%N)
    DJANGO_SETTINGS_MODULE="$settings" "$HOME_DIR/venv/bin/python" manage.py "$@" \
        > "$HOME_DIR/last-$label.log" 2>&1 || status=$?
    end=$(date +%s.%N)
    printf '== %s (exit %s, %.2f s): manage.py %s\n' "$label" "$status" \
        "$(echo "$end - $start" | bc)" "$*"
    tail -n 3 "$HOME_DIR/last-$label.log"
}
run check-plain pretix.settings check
run check-signal-inspector si_settings check
run signalmap si_settings signalmap
echo "Full outputs: $HOME_DIR/last-*.log"
