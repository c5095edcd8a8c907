"""``python -m signal_inspector diff A.json B.json``: what changed in the signals sent.

Exit status 0 when the recordings match, 1 when they differ (so CI can compare a
branch's ``signaltrace --format json`` with main's), 2 on bad input.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence


def _diff(options: argparse.Namespace) -> int:
    from .diff import BadInput, compare, load

    loaded = []
    for path in (options.old, options.new):
        try:
            loaded.append(load(path))
        except OSError as exc:
            print(f"signal_inspector diff: {path}: {exc.strerror or exc}", file=sys.stderr)
            return 2
        except BadInput as exc:
            print(f"signal_inspector diff: {path}: {exc}", file=sys.stderr)
            return 2
    lines = compare(
        loaded[0], loaded[1], threshold_ms=options.threshold, old_name=options.old, new_name=options.new
    )
    if not lines:
        print(f"No difference in the signals sent between {options.old} and {options.new}.")
        return 0
    print(f"The signals sent differ between {options.old} (before) and {options.new} (after):")
    for line in lines:
        print(line)
    return 1


def _threshold(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a number of milliseconds: {text!r}") from None
    if not value >= 0:
        raise argparse.ArgumentTypeError(f"must be 0 or more (inf to ignore times), not {text!r}")
    return value


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m signal_inspector")
    commands = parser.add_subparsers(dest="command", required=True)
    diff = commands.add_parser(
        "diff",
        help="Compare two recordings (the panel's JSON export, signaltrace --format json, "
        "Recording.to_dict()).",
        description="Print sends added and removed per (signal, sender), receivers added, "
        "removed or reordered, changed counts, new errors and findings, and time changes "
        "beyond --threshold. Exit status 1 when the recordings differ, 2 on bad input.",
    )
    diff.add_argument("old", metavar="A.json", help="The recording before (main's).")
    diff.add_argument("new", metavar="B.json", help="The recording after (the branch's).")
    diff.add_argument(
        "--threshold",
        type=_threshold,
        default=5.0,
        metavar="MS",
        help="Report a (signal, sender)'s total time only when it changed by more than this "
        "many milliseconds (default 5; inf ignores times).",
    )
    options = parser.parse_args(argv)
    handlers = {"diff": _diff}
    return handlers[options.command](options)


if __name__ == "__main__":
    sys.exit(main())
