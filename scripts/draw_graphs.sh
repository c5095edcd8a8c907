#!/usr/bin/env bash
# Redraws the pictures of docs/graphs.md from the example project, on request
# (`make graphs`): docs/signalmap.png (the receiver graph, as signalmap draws
# it by default) and docs/signaltrace.png (the cascade of seeding the demo and
# paying its orders, timed on this machine). Needs Graphviz's dot (apt-get install graphviz). The example
# database is a throwaway copy: the demo's own is left alone.
set -euo pipefail

cd "$(dirname "$0")/.."
ROOT=$PWD
PYTHON=${PYTHON:-$ROOT/.venv/bin/python}
command -v dot >/dev/null || { echo "Graphviz's dot is needed: apt-get install graphviz" >&2; exit 1; }

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
export EXAMPLE_DB_PATH=$work/db.sqlite3 PYTHONDONTWRITEBYTECODE=1
unset DJANGO_SETTINGS_MODULE

cd example_project
"$PYTHON" manage.py migrate --no-input --verbosity 0 --skip-checks
"$PYTHON" manage.py signalmap --format png --output "$ROOT/docs/signalmap.png"
"$PYTHON" manage.py seed_demo --skip-checks >/dev/null
"$PYTHON" manage.py signaltrace --format dot --output "$work/seed.dot" shell --no-imports -c \
    "from shop.models import Order; [order.pay() for order in Order.objects.order_by('pk')]" >/dev/null 2>"$work/shell.log"
dot -Tpng -o "$ROOT/docs/signaltrace.png" "$work/seed.dot"
ls -l "$ROOT/docs/signalmap.png" "$ROOT/docs/signaltrace.png"
