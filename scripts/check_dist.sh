#!/usr/bin/env bash
# Build the sdist and the wheel, then check them as PyPI would:
#   twine check --strict (the long description renders), LICENSE in both,
#   no relative link or image in the README (PyPI cannot resolve them).
# Usage: scripts/check_dist.sh [PYTHON]   (default: .venv/bin/python, else python3)
# Needs `build` and `twine` in that Python. Exit status 0 when all is well.
set -euo pipefail
cd "$(dirname "$0")/.."
PY="${1:-$( [ -x .venv/bin/python ] && echo .venv/bin/python || echo python3 )}"
OUT="$(mktemp -d)"
trap 'rm -rf "$OUT"' EXIT

"$PY" -m build --sdist --wheel --outdir "$OUT" . >"$OUT/build.log" 2>&1 || {
    cat "$OUT/build.log"; echo "check_dist: FAILED (build)"; exit 1; }
"$PY" -m twine check --strict "$OUT"/*.whl "$OUT"/*.tar.gz
"$PY" - "$OUT" <<'PY'
import re, sys, tarfile, zipfile
from pathlib import Path

out = Path(sys.argv[1])
[wheel] = out.glob("*.whl")
[sdist] = out.glob("*.tar.gz")
problems = []
with zipfile.ZipFile(wheel) as zf:
    names = zf.namelist()
    if not any(n.endswith("licenses/LICENSE") or n.endswith("/LICENSE") for n in names):
        problems.append("LICENSE is not in the wheel")
    for needed in ("signal_inspector/static/signal_inspector/panel.css",
                   "signal_inspector/templates/signal_inspector/includes/flame.html",
                   "signal_inspector/templates/signal_inspector/panel.html",
                   "signal_inspector/templates/debug_toolbar/base.html",
                   "signal_inspector/py.typed"):
        if needed not in names:
            problems.append(f"{needed} is not in the wheel")
    [metadata] = [n for n in names if n.endswith(".dist-info/METADATA")]
    text = zf.read(metadata).decode()
with tarfile.open(sdist) as tf:
    if not any(m.name.endswith("/LICENSE") for m in tf.getmembers()):
        problems.append("LICENSE is not in the sdist")
if "License-Expression: BSD-3-Clause" not in text:
    problems.append("no License-Expression: BSD-3-Clause in the metadata")
if "Project-URL: Source" not in text:
    problems.append("no Project-URL in the metadata")
body = text.split("\n\n", 1)[1]
for target in re.findall(r"\]\(([^)\s]+)", body) + re.findall(r'src="([^"]+)"', body):
    if not re.match(r"(https?://|#|mailto:)", target):
        problems.append(f"relative link in the long description: {target}")
for problem in problems:
    print("check_dist:", problem)
sys.exit(1 if problems else 0)
PY
echo "check_dist: PASSED ($(cd "$OUT" && ls *.whl *.tar.gz | tr '\n' ' '))"
