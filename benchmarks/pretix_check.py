"""What the source scan behind W002/W004 costs on pretix, against ``manage.py check``.

pretix is a large real project (about 1,100 source files, 45 signals, 180
receivers). Needs the setup of ``scripts/try_pretix.sh`` (PRETIX_HOME, default
/work/pretix). Side by side, in one run:

1. In fresh processes, interleaved round after round, the wall time of
   ``manage.py check``: pretix alone; with signal_inspector (its source cache
   warm); with signal_inspector and no cache on disk (every file parsed, as
   before the cache); and, with ``--before REF``, with signal_inspector as it is
   at git REF of this repository (exported to a temporary directory and put first
   on ``PYTHONPATH``).
2. In one process (after ``django.setup()`` and one check): ``call_command("check")``
   and ``find_unconnected()`` alone, warm and without the cache; the scan's share of
   the wall time of pretix's own ``manage.py check`` (the budget: under a tenth).

Reports medians in seconds. Not a test: nothing asserts a time.

    python benchmarks/pretix_check.py [--rounds N] [--before main] [--home DIR] [--json FILE]
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent

IN_PROCESS = r"""
import json, os, statistics, sys, time
import django
django.setup()
from django.core.management import call_command
from signal_inspector import sourcefacts, unconnected

rounds = int(sys.argv[1])
call_command("check", verbosity=0)  # the URLconf loaded, caches filled, as on a reload
def timed(fn):
    out = []
    for _ in range(rounds):
        start = time.perf_counter()
        fn()
        out.append(time.perf_counter() - start)
    return statistics.median(out)

def no_cache():
    os.environ["SIGNAL_INSPECTOR_CACHE_DIR"] = ""
    try:
        unconnected.find_unconnected()
    finally:
        os.environ.pop("SIGNAL_INSPECTOR_CACHE_DIR")

found = unconnected.find_unconnected()
print(json.dumps({
    "check": timed(lambda: call_command("check", verbosity=0)),
    "scan_warm": timed(unconnected.find_unconnected),
    "scan_no_cache": timed(no_cache),
    "findings": [(f.module, f.reach) for f in found],
}))
"""


def environment(home: Path, settings: str, extra_path: str = "") -> dict[str, str]:
    env = dict(os.environ)
    env.pop("SIGNAL_INSPECTOR_CACHE_DIR", None)
    env.update(
        PRETIX_CONFIG_FILE=str(home / "pretix.cfg"),
        PYTHONPATH=os.pathsep.join(p for p in (extra_path, str(home)) if p),
        DJANGO_SETTINGS_MODULE=settings,
    )
    return env


def wall(python: Path, src: Path, env: dict[str, str]) -> float:
    start = time.perf_counter()
    subprocess.run(
        [str(python), "manage.py", "check"], cwd=src, env=env, check=True,
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )
    return time.perf_counter() - start


def export(ref: str, into: str) -> str:
    """signal_inspector as it is at git ``ref`` of this repository, under ``into``."""
    archive = subprocess.run(
        ["git", "-C", str(ROOT), "archive", ref, "signal_inspector"],
        check=True, capture_output=True,
    ).stdout
    subprocess.run(["tar", "-x", "-C", into], input=archive, check=True)
    return into


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--home", default=os.environ.get("PRETIX_HOME", "/work/pretix"))
    parser.add_argument("--version", default=os.environ.get("PRETIX_VERSION", "2026.8.0"))
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--before", help="a git ref of this repository to compare with")
    parser.add_argument("--json", help="also write the results to this file")
    args = parser.parse_args()
    home = Path(args.home)
    python = home / "venv" / "bin" / "python"
    src = home / "sdist" / f"pretix-{args.version}" / "src"
    if not (python.exists() and (src / "manage.py").exists()):
        sys.exit(f"No pretix set up under {home}: run scripts/try_pretix.sh {home} first.")

    with tempfile.TemporaryDirectory() as before_dir:
        variants = {
            "pretix alone": environment(home, "pretix.settings"),
            "signal_inspector": environment(home, "si_settings"),
            "signal_inspector, no cache": {
                **environment(home, "si_settings"), "SIGNAL_INSPECTOR_CACHE_DIR": "",
            },
        }
        if args.before:
            variants[f"signal_inspector at {args.before}"] = environment(
                home, "si_settings", export(args.before, before_dir)
            )
        wall(python, src, variants["signal_inspector"])  # fill the cache
        times: dict[str, list[float]] = {name: [] for name in variants}
        for _ in range(args.rounds):
            for name, env in variants.items():
                times[name].append(wall(python, src, env))
        walls = {name: statistics.median(values) for name, values in times.items()}

    inner = json.loads(
        subprocess.run(
            [str(python), "-c", IN_PROCESS, str(args.rounds)], cwd=src,
            env=environment(home, "si_settings"), check=True, capture_output=True, text=True,
        ).stdout
    )
    plain = walls["pretix alone"]
    print(f"pretix {args.version}: manage.py check, median of {args.rounds} rounds (s)")
    for name, seconds in walls.items():
        print(f"  {name:<40} {seconds:7.2f}  (+{seconds - plain:5.2f} over pretix alone)")
    print("In one process, after a first check (s); shares of pretix's own manage.py check:")
    print(f"  call_command('check'), scan included     {inner['check']:7.3f}")
    for key, label in (("scan_warm", "source scan, cache warm"),
                       ("scan_no_cache", "source scan, no cache")):
        share = inner[key] / plain
        print(f"  {label:<40} {inner[key]:7.3f}  ({share:.1%} of check)")
    print(f"  findings: {inner['findings']}")
    if args.json:
        Path(args.json).write_text(json.dumps({"walls": walls, "in_process": inner}, indent=2))


if __name__ == "__main__":
    main()
