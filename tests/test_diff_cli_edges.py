"""``python -m signal_inspector diff --threshold``: a bad value is a usage error
(exit 2, argparse's message), before any file is read."""

from __future__ import annotations

import pytest

from signal_inspector.__main__ import main


@pytest.mark.parametrize(
    ("value", "message"),
    [
        ("fast", "not a number of milliseconds: 'fast'"),
        ("-1", "must be 0 or more (inf to ignore times), not '-1'"),
        ("nan", "must be 0 or more (inf to ignore times), not 'nan'"),
    ],
)
def test_a_bad_threshold_is_a_usage_error(capsys, tmp_path, value: str, message: str) -> None:
    missing = str(tmp_path / "missing.json")
    with pytest.raises(SystemExit) as exit_:
        main(["diff", missing, missing, "--threshold", value])
    assert exit_.value.code == 2
    err = capsys.readouterr().err
    assert f"argument --threshold: {message}" in err
    assert "missing.json" not in err.splitlines()[-1]


def test_an_infinite_threshold_is_accepted(capsys, tmp_path) -> None:
    missing = str(tmp_path / "missing.json")
    assert main(["diff", missing, missing, "--threshold", "inf"]) == 2
    assert "missing.json" in capsys.readouterr().err
