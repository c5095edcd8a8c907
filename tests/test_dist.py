"""The sdist and the wheel as PyPI will see them: ``scripts/check_dist.sh``
(build, ``twine check --strict``, LICENSE included, no relative README link)."""

from __future__ import annotations

import importlib.util
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parent.parent

pytestmark = pytest.mark.dist


@pytest.mark.skipif(
    not (importlib.util.find_spec("build") and importlib.util.find_spec("twine")),
    reason="build and twine are not installed",
)
def test_sdist_and_wheel_pass_twine_check() -> None:
    result = subprocess.run(
        ["bash", str(REPO / "scripts" / "check_dist.sh"), sys.executable],
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert "check_dist: PASSED" in result.stdout
