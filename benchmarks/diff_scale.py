"""``python -m signal_inspector diff`` on two recordings of 20,000 sends each.

Records the same workload twice with real Django signals (a send with three
receivers, one of which sends a nested signal; the second recording has one
more receiver and a receiver that raises), writes both with
``Recording.to_dict()``, then runs the diff in a fresh process and, for
comparison, a process that only ``json.load()``s both files: seconds and
peak memory (max RSS) of each, side by side. Not a test: nothing asserts.

    python benchmarks/diff_scale.py [--sends N]
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

import django  # noqa: E402
from django.conf import settings  # noqa: E402

settings.configure(SECRET_KEY="benchmark", INSTALLED_APPS=["signal_inspector"], USE_TZ=True)
django.setup()

from django.dispatch import Signal  # noqa: E402

from signal_inspector import record  # noqa: E402

outer = Signal()
inner = Signal()


def first(sender, **kwargs):
    inner.send(sender=sender, step=1)


def second(sender, **kwargs):
    return "ok"


def third(sender, **kwargs):
    return None


def nested(sender, **kwargs):
    return None


def extra(sender, **kwargs):
    return None


def failing(sender, **kwargs):
    raise ValueError("no")


def write(path: Path, sends: int, changed: bool) -> None:
    for receiver in (first, second, third):
        outer.connect(receiver, weak=False)
    inner.connect(nested, weak=False)
    if changed:
        outer.connect(extra, weak=False)
        inner.connect(failing, weak=False)
    try:
        with record(max_sends=sends * 2) as recording:
            for index in range(sends // 2):
                outer.send_robust(sender=f"item-{index % 7}", index=index)
    finally:
        for receiver in (first, second, third, extra):
            outer.disconnect(receiver)
        for receiver in (nested, failing):
            inner.disconnect(receiver)
    with path.open("w") as stream:
        json.dump(recording.to_dict(), stream)


def measure(task: str, *argv: str) -> tuple[float, float, str]:
    """(seconds, peak RSS in MB, stdout) of ``task`` run in a fresh process: its
    VmHWM, which exec resets (a forked child's ru_maxrss counts the parent's pages)."""
    code = (
        "import sys\n" + task + "\n"
        "hwm = [l for l in open('/proc/self/status') if l.startswith('VmHWM')][0]\n"
        "print(int(hwm.split()[1]), file=sys.stderr)"
    )
    start = time.perf_counter()
    done = subprocess.run([sys.executable, "-c", code, *argv], capture_output=True, text=True, cwd=ROOT)
    seconds = time.perf_counter() - start
    return seconds, int(done.stderr.strip().splitlines()[-1]) / 1024, done.stdout


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sends", type=int, default=20_000)
    args = parser.parse_args()
    folder = Path(tempfile.mkdtemp())
    a, b = folder / "a.json", folder / "b.json"
    write(a, args.sends, False)
    write(b, args.sends, True)
    sizes = [len(json.loads(p.read_text())["sends"]) for p in (a, b)]
    print(
        f"Two recordings of {args.sends} sends ({sizes[0]} and {sizes[1]} top-level, "
        f"{a.stat().st_size / 1e6:.1f} MB and {b.stat().st_size / 1e6:.1f} MB of JSON):"
    )
    rows = [
        ("python start + imports", measure("import json, signal_inspector.diff")),
        (
            "diff (streamed, folded by key)",
            measure(
                "from signal_inspector.__main__ import main\n"
                "main(['diff', sys.argv[1], sys.argv[2], '--threshold', 'inf'])",
                str(a), str(b),
            ),
        ),
        (
            "json.load() of both, nothing else",
            measure("import json\ndata = [json.load(open(p)) for p in sys.argv[1:]]", str(a), str(b)),
        ),
    ]
    for name, (seconds, peak, _) in rows:
        print(f"  {name:<36} {seconds:6.2f} s   peak RSS {peak:7.1f} MB")
    print("diff's output:")
    print(rows[1][1][2])


if __name__ == "__main__":
    main()
