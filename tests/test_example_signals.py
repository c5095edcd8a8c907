"""The example project's own tests, which use the ``capture_signals`` fixture and
``signal_inspector.testing``, pass under pytest and under ``manage.py test``.

They need the example's settings, so they run in a subprocess from
``example_project/``, as a user of the example runs them.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

EXAMPLE = Path(__file__).resolve().parent.parent / "example_project"


def run(*args: str, tmp_path: Path) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "EXAMPLE_DB_PATH": str(tmp_path / "db.sqlite3")}
    env.pop("DJANGO_SETTINGS_MODULE", None)  # the example has its own settings
    return subprocess.run(
        [sys.executable, *args],
        cwd=EXAMPLE,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
        stdin=subprocess.DEVNULL,
    )


def test_the_example_tests_pass_under_pytest_with_the_fixture(tmp_path: Path) -> None:
    result = run("-m", "pytest", "-v", "shop/tests", tmp_path=tmp_path)
    output = result.stdout + result.stderr
    assert result.returncode == 0, output
    assert "settings: config.settings" in output
    assert "6 passed" in output
    for test in (
        "test_paying_sends_order_paid_once_and_every_receiver_runs",
        "test_a_blocked_account_raises_inside_send_robust_and_the_payment_stands",
        "test_cancelling_stops_at_the_failed_refund",
        "test_deleting_an_order_audits_before_and_after",
        "SignUpTests::test_a_new_user_gets_a_profile_and_a_loyalty_account",
    ):
        assert f"{test} PASSED" in output


def test_the_example_test_case_passes_under_manage_py_test(tmp_path: Path) -> None:
    result = run("manage.py", "test", "shop", "-v", "2", tmp_path=tmp_path)
    output = result.stdout + result.stderr
    assert result.returncode == 0, output
    assert "Ran 2 tests" in output
    assert "test_a_new_user_gets_a_profile_and_a_loyalty_account" in output
