"""What ``--signals-report`` costs a test that sends 200,000 times: peak memory and time.

One run, side by side: the same test (a signal with one receiver sent
200,000 times) under pytest in a fresh process each, round by round, in
three ways: without the report, with the report as it is now, and with the
report of an earlier revision (``--before``, default the commit before the
report folded its sends; its plugin is taken from git and loaded in place of
the installed one). Prints the medians of the test's own time and of the
process's peak RSS, and the ratios to the run without the report. Not a test:
nothing asserts a time.

    python benchmarks/report_memory.py [--rounds N] [--sends N] [--before REV]
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent

TEST = '''
import json
import os
import resource
import time

from django.dispatch import Signal

tick = Signal()


def on_tick(sender, **kwargs):
    return None


tick.connect(on_tick, weak=False)


def test_many_sends():
    start = time.perf_counter()
    for _ in range({sends}):
        tick.send(sender=None)
    elapsed = time.perf_counter() - start
    with open(os.environ["REPORT_MEMORY_OUT"], "w") as out:
        json.dump({{"seconds": elapsed}}, out)
'''

RUNNER = '''
import json, os, resource, sys
import pytest
code = pytest.main(sys.argv[1:])
with open(os.environ["REPORT_MEMORY_OUT"]) as handle:
    data = json.load(handle)
data["peak_mib"] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
data["code"] = int(code)
with open(os.environ["REPORT_MEMORY_OUT"], "w") as handle:
    json.dump(data, handle)
'''


def before_plugin(rev: str, where: Path) -> str:
    """The pytest plugin of ``rev`` as a module of its own in ``where``."""
    source = subprocess.run(
        ["git", "-C", str(REPO), "show", f"{rev}:signal_inspector/pytest_plugin.py"],
        check=True, capture_output=True, text=True,
    ).stdout
    source = source.replace("from . import ", "from signal_inspector import ")
    source = source.replace("from .", "from signal_inspector.")
    (where / "report_before.py").write_text(source)
    return "report_before"


def run(where: Path, args: list[str]) -> dict[str, float]:
    out = where / "result.json"
    env = {
        **os.environ,
        "PYTHONPATH": os.pathsep.join([str(REPO), str(where)]),
        "DJANGO_SETTINGS_MODULE": "tests.settings",
        "REPORT_MEMORY_OUT": str(out),
    }
    subprocess.run(
        [sys.executable, "-c", RUNNER, "-q", "-p", "no:cacheprovider", "-p", "no:randomly",
         str(where / "test_many.py"), *args],
        cwd=where, env=env, check=True, capture_output=True, text=True,
    )
    data: dict[str, float] = json.loads(out.read_text())
    if data["code"] != 0:
        raise SystemExit(f"pytest failed with {args}")
    return data


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--sends", type=int, default=200_000)
    parser.add_argument("--before", default="9c87cf7")
    options = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        where = Path(tmp)
        (where / "test_many.py").write_text(TEST.format(sends=options.sends))
        before = before_plugin(options.before, where)
        modes = {
            "no report": [],
            "--signals-report (now)": ["--signals-report"],
            f"--signals-report ({options.before})": [
                "-p", "no:signal_inspector", "-p", before, "--signals-report",
            ],
        }
        results: dict[str, list[dict[str, float]]] = {mode: [] for mode in modes}
        for _ in range(options.rounds):
            for mode, args in modes.items():
                results[mode].append(run(where, args))
    base = {key: statistics.median(r[key] for r in results["no report"]) for key in ("seconds", "peak_mib")}
    print(f"{options.sends:,} sends, one receiver; medians of {options.rounds} rounds")
    print(f"{'':32} {'test s':>8} {'x':>6} {'peak MiB':>9} {'+MiB':>7}")
    for mode in modes:
        seconds = statistics.median(r["seconds"] for r in results[mode])
        peak = statistics.median(r["peak_mib"] for r in results[mode])
        print(
            f"{mode:32} {seconds:8.2f} {seconds / base['seconds']:6.2f} "
            f"{peak:9.1f} {peak - base['peak_mib']:7.1f}"
        )


if __name__ == "__main__":
    main()
