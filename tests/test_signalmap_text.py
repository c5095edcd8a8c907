"""``manage.py signalmap``'s text output: columns aligned per signal, and
signal_inspector's own receivers left out unless asked for."""

from __future__ import annotations

import re

from tests.test_signalmap import run


def _tables(out: str) -> dict[str, list[str]]:
    """Each signal's header and rows, by signal name."""
    tables: dict[str, list[str]] = {}
    name = ""
    current: list[str] | None = None
    for line in out.splitlines():
        if line and not line.startswith(" "):
            name, current = line, None
        elif "SENDER" in line and "RECEIVER" in line:
            current = tables.setdefault(name, [line])
        elif not line.strip():
            current = None
        elif current is not None:
            current.append(line)
    return tables


def test_columns_are_aligned_within_each_signal_not_across_all() -> None:
    out, _, code = run()
    assert code == 0
    tables = _tables(out)
    starts = set()
    for name, rows in tables.items():
        header = rows[0]
        assert header.lstrip().startswith("#"), (name, header)
        column = header.index("RECEIVER")
        # Within a signal, every receiver starts under RECEIVER.
        for row in rows[1:]:
            if row.startswith("  ") and row.strip()[0].isdigit():
                assert row[column - 1] == " " and row[column] != " ", (name, row)
        starts.add(header.index("DEFINED AT"))
    # A signal with short receiver names is not widened by another's long ones.
    assert len(starts) > 1, starts


def test_own_receivers_are_hidden_unless_asked_for() -> None:
    out, _, _ = run()
    assert "signal_inspector.conf" not in out
    assert re.search(r"signal_inspector's and the toolbar's own receivers? \(\d+\) not listed", out)
    shown, _, _ = run("--include-inspector")
    assert "signal_inspector.conf._reset" in shown
    assert "--include-inspector lists them" not in shown
    # JSON is the full map, as its schema says.
    data, _, _ = run("--format", "json")
    assert "signal_inspector.conf._reset" in data
