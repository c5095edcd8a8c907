"""``make demo``: the port is yours to choose, and a restart keeps the demo data."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parent.parent
MANAGE = REPO / "example_project" / "manage.py"


def _manage(*args: str, db: Path) -> str:
    env = {**os.environ, "EXAMPLE_DB_PATH": str(db)}
    env.pop("DJANGO_SETTINGS_MODULE", None)
    result = subprocess.run(
        [sys.executable, str(MANAGE), *args],
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    return result.stdout


@pytest.mark.skipif(shutil.which("make") is None, reason="make is not installed")
def test_make_demo_takes_a_port_and_seeds_only_once() -> None:
    plan = subprocess.run(
        ["make", "-n", "demo", "demo-asgi", "PORT=8123"],
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=60,
    ).stdout
    assert "runserver 127.0.0.1:8123" in plan
    assert "--port 8123" in plan
    seeds = [line for line in plan.splitlines() if "seed_demo" in line]
    assert seeds and all("--if-empty" in line for line in seeds)


def test_seeding_if_empty_keeps_what_the_demo_did(tmp_path: Path) -> None:
    db = tmp_path / "demo.sqlite3"
    _manage("migrate", "--no-input", db=db)
    assert "Demo data ready" in _manage("seed_demo", "--if-empty", db=db)
    _manage(
        "shell",
        "-c",
        "from shop.models import Order; Order.objects.get(number='DEMO-1').pay()",
        db=db,
    )
    assert "already there" in _manage("seed_demo", "--if-empty", db=db)
    paid = "from shop.models import Order; print(Order.objects.get(number='DEMO-1').paid_at is not None)"
    assert _manage("shell", "-c", paid, db=db).strip().endswith("True")
    _manage("seed_demo", db=db)  # make demo-reset
    assert _manage("shell", "-c", paid, db=db).strip().endswith("False")
