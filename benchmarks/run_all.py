"""Run every benchmark in one go and write BENCHMARKS.md.

    python benchmarks/run_all.py [--quick] [--output BENCHMARKS.md]

Each benchmark is its own script (runnable alone, documented at its top); this
runs them one after another with the current Python and writes their output,
with the machine, the versions, the load average and the date, to BENCHMARKS.md.
Budget: under 10 minutes on a 2-core machine (8 to 9 while other work shares it;
``--quick``: about 2, under 3.5 shared). Nothing asserts a time. The written
analysis goes where the ``<!-- analysis -->`` marker is left.
"""

from __future__ import annotations

import argparse
import datetime
import os
import platform
import subprocess
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent

BENCHMARKS = [
    (
        "Findings: recorded pages with FINDINGS on and off, bulk_update() of 1,000 rows",
        "findings_overhead.py",
        ["--rounds", "40"],
        ["--rounds", "8"],
    ),
    (
        "Idle Django after 1,000 recordings against a fresh process (CPython type versions)",
        "type_versions.py",
        ["--rounds", "5"],
        ["--rounds", "2", "--recordings", "600"],
    ),
    (
        "Signal send cost: plain Django, another context recording, recording, Sentry",
        "send_overhead.py",
        ["--rounds", "7", "--number", "5000"],
        ["--rounds", "3", "--number", "2000"],
    ),
    (
        "A test saving 100 models, with and without the capture_signals fixture",
        "fixture_overhead.py",
        ["--rounds", "20"],
        ["--rounds", "6"],
    ),
    (
        "Opening and closing a recording, per request",
        "recording_lifecycle.py",
        ["--rounds", "7", "--number", "500"],
        ["--rounds", "3", "--number", "200"],
    ),
    (
        "A request that sends 2,000 signals: the toolbar with and without the panel",
        "panel_overhead.py",
        ["--rounds", "30"],
        ["--rounds", "8"],
    ),
    (
        "The Signals panel per event against the toolbar's SQL and cache panels",
        "panel_anchors.py",
        ["--rounds", "12", "--render-rounds", "3"],
        ["--rounds", "4", "--render-rounds", "1"],
    ),
    (
        "Cost per kept send as the recording grows: MAX_SENDS 1,000 against 20,000",
        "panel_flatness.py",
        ["--rounds", "7"],
        ["--rounds", "2"],
    ),
    (
        "signalmap against manage.py check (200 models, 2,000 receivers)",
        "signalmap_project.py",
        ["--rounds", "7"],
        ["--rounds", "3"],
    ),
    (
        "OpenTelemetry: a request not sampled and a sampled pay page, the option on vs off",
        "otel_overhead.py",
        ["--part", "requests", "--rounds", "9", "--requests", "30"],
        ["--part", "requests", "--rounds", "3", "--requests", "10"],
    ),
    (
        "OpenTelemetry: per receiver, our signal spans vs Sentry's",
        "otel_overhead.py",
        ["--part", "receivers", "--rounds", "7", "--number", "2000"],
        ["--part", "receivers", "--rounds", "3", "--number", "500"],
    ),
    (
        "Memory of a recording of 20,000 sends",
        "recording_memory.py",
        [],
        [],
    ),
]


def machine() -> str:
    cpu = ""
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    memory = ""
    try:
        kb = int(Path("/proc/meminfo").read_text().split()[1])
        memory = f", {kb / 1024 / 1024:.0f} GiB"
    except (OSError, ValueError, IndexError):
        pass
    return f"{os.cpu_count()} cores{memory}; {cpu or platform.processor()}; {platform.platform()}"


def load() -> str:
    try:
        return " ".join(Path("/proc/loadavg").read_text().split()[:3])
    except OSError:
        return "unknown"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="fewer rounds")
    parser.add_argument("--output", type=Path, default=ROOT / "BENCHMARKS.md")
    args = parser.parse_args()

    import debug_toolbar
    import django

    started = time.monotonic()
    load_before = load()
    sections = []
    failed = 0
    for title, script, full, quick in BENCHMARKS:
        command = [sys.executable, str(HERE / script), *(quick if args.quick else full)]
        print(f"== {title}: {' '.join(command[1:])}", flush=True)
        begin = time.monotonic()
        result = subprocess.run(command, capture_output=True, text=True, cwd=ROOT)
        took = time.monotonic() - begin
        output = result.stdout.strip()
        if result.returncode:
            failed += 1
            output += f"\n\n(exit status {result.returncode})\n{result.stderr.strip()[-2000:]}"
        print(output, flush=True)
        shown = " ".join(["python", f"benchmarks/{script}", *command[2:]])
        sections.append(f"## {title}\n\n`{shown}` ({took:.0f} s)\n\n```\n{output}\n```\n")
    total = time.monotonic() - started
    header = (
        "# Benchmarks\n\n"
        f"Measured {datetime.date.today().isoformat()} with `python benchmarks/run_all.py"
        f"{' --quick' if args.quick else ''}` ({total / 60:.1f} minutes).\n\n"
        f"- Machine: {machine()}\n"
        f"- Python {platform.python_version()}, Django {django.__version__}, "
        f"django-debug-toolbar {debug_toolbar.VERSION}\n"
        f"- Load average (1, 5, 15 min) at the start {load_before}, at the end {load()}: "
        "above the core count means other work shared the machine\n"
        "- Every comparison is measured side by side in one run (interleaved rounds, "
        "medians); timings on a shared 2-core machine are noisy, ratios less so.\n\n"
    )
    args.output.write_text(header + "<!-- analysis -->\n\n" + "\n".join(sections))
    print(f"wrote {args.output} in {total:.0f} s")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
