"""``python -m signal_inspector diff``: real recordings of the test app, written in
each of the three forms it reads, compared in a real process."""

from __future__ import annotations

import io
import json
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import pytest
from django.core.management import call_command
from django.db.models.signals import post_save
from django.test import Client
from django.urls import reverse

from signal_inspector import diff, record
from signal_inspector.__main__ import main
from tests.testapp.models import Order
from tests.testapp.signals import order_paid

REPO = Path(__file__).resolve().parent.parent


def cli(*args: str | Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "signal_inspector", "diff", *map(str, args)],
        capture_output=True, text=True, cwd=REPO, timeout=120,
    )


def dump(path: Path, work: Callable[[], None]) -> Path:
    with record() as recording:
        work()
    path.write_text(json.dumps(recording.to_dict()))
    return path


def pay(*numbers: str) -> None:
    for number in numbers:
        order = Order.objects.create(number=number)
        order_paid.send_robust(sender=Order, order=order)


def stamp(sender, instance, **kwargs):
    return None


def also(sender, **kwargs):
    return None


@pytest.mark.django_db
def test_identical_work_makes_no_difference_and_exits_0(tmp_path):
    a = dump(tmp_path / "a.json", lambda: pay("1", "2"))
    b = dump(tmp_path / "b.json", lambda: pay("3", "4"))
    done = cli(a, b, "--threshold", "inf")
    assert (done.returncode, done.stderr) == (0, "")
    assert done.stdout == f"No difference in the signals sent between {a} and {b}.\n"


@pytest.mark.django_db
def test_every_kind_of_change_is_a_sentence_and_exits_1(tmp_path):
    a = dump(tmp_path / "a.json", lambda: pay("1"))
    post_save.connect(stamp, sender=Order)
    order_paid.connect(also)
    try:
        b = dump(tmp_path / "b.json", lambda: pay("2", "3", "<hostile>"))
    finally:
        post_save.disconnect(stamp, sender=Order)
        order_paid.disconnect(also)
    done = cli(a, b, "--threshold", "inf")
    assert done.returncode == 1, done.stderr
    lines = done.stdout.splitlines()
    assert lines[0] == f"The signals sent differ between {a} (before) and {b} (after):"
    assert "django.db.models.signals.post_save from testapp.Order:" in lines
    assert "  sent 6 times instead of twice (+4)." in lines
    assert "  receiver added: tests.test_diff.stamp (ran 6 times)." in lines
    assert "  tests.testapp.receivers.audit_order_saved ran 6 times instead of twice (+4)." in lines
    assert "tests.testapp.signals.order_paid from testapp.Order:" in lines
    assert (
        "  new error: tests.testapp.receivers.refuse_hostile raised ValueError, "
        "caught by send_robust() once." in lines
    )
    assert "  receiver added: tests.test_diff.also (ran 3 times)." in lines
    # Sends no receiver heard count too: AuditLog rows were made three times.
    assert "django.db.models.signals.pre_save from testapp.AuditLog:" in lines
    # And the other way round.
    back = cli(b, a, "--threshold", "inf")
    assert back.returncode == 1
    assert "  receiver removed: tests.test_diff.stamp (ran 6 times in " in back.stdout
    assert "  error gone: tests.testapp.receivers.refuse_hostile raised ValueError" in back.stdout


@pytest.mark.django_db
def test_receivers_reordered_and_sends_new_or_gone(tmp_path):
    from django.dispatch import Signal

    signal = Signal()

    def one(sender, **kwargs):
        return None

    def two(sender, **kwargs):
        return None

    signal.connect(one, weak=False)
    signal.connect(two, weak=False)
    a = dump(tmp_path / "a.json", lambda: signal.send(sender=Order))
    signal.disconnect(one)
    signal.connect(one, weak=False)
    b = dump(tmp_path / "b.json", lambda: (signal.send(sender=Order), order_paid.send_robust(sender=Order, order=Order(number="x"))))
    out = io.StringIO()
    sys_stdout, sys.stdout = sys.stdout, out
    try:
        status = main(["diff", str(a), str(b), "--threshold", "inf"])
    finally:
        sys.stdout = sys_stdout
    text = out.getvalue()
    assert status == 1
    assert ".one, " in text and "receivers reordered: " in text
    prefix = "tests.test_diff.test_receivers_reordered_and_sends_new_or_gone.<locals>."
    assert f"  receivers reordered: {prefix}one, {prefix}two -> {prefix}two, {prefix}one." in text
    assert "tests.testapp.signals.order_paid from testapp.Order:\n  new: sent once in " in text


def test_time_changes_beyond_the_threshold(tmp_path):
    def recording(ms: float) -> dict:
        return {
            "sends": [
                {"signal": "s", "sender": "x", "method": "send", "duration_ms": ms,
                 "receivers": [{"name": "r", "outcome": "returned", "children": []}]}
            ]
        }

    a, b = tmp_path / "a.json", tmp_path / "b.json"
    a.write_text(json.dumps(recording(1.0)))
    b.write_text(json.dumps(recording(9.5)))
    slower = cli(a, b)  # default threshold: 5 ms
    assert slower.returncode == 1
    assert "  its sends took 9.50 ms instead of 1.00 ms (+8.50 ms, beyond the 5 ms threshold)." in slower.stdout
    assert cli(a, b, "--threshold", "10").returncode == 0


@pytest.mark.django_db
@pytest.mark.urls("tests.panel_urls")
def test_signaltrace_json_and_the_panels_export_are_read_too(tmp_path):
    trace = tmp_path / "trace.json"
    code = "from tests.testapp.models import Order; Order.objects.create(number='1')"
    call_command("signaltrace", "--format", "json", "--output", str(trace), "shell", "-c", code)
    plain = dump(tmp_path / "plain.json", lambda: Order.objects.create(number="2"))
    assert cli(trace, plain, "--threshold", "inf").returncode == 0

    from debug_toolbar.store import get_store

    get_store().clear()
    client = Client()
    order = Order.objects.create(number="3")
    response = client.get(f"/pay/{order.pk}/")
    from tests.test_panel import request_id_of

    url = f"{reverse('djdt:signal_inspector_export')}?request_id={request_id_of(response)}"
    export = tmp_path / "export.json"
    export.write_bytes(client.get(url).content)
    assert json.loads(export.read_bytes())["sends"][0].get("parent", "absent") is None  # flat form
    paid = dump(
        tmp_path / "paid.json",
        lambda: order_paid.send_robust(sender=Order, order=Order.objects.get(pk=order.pk)),
    )
    done = cli(export, paid, "--threshold", "inf")
    assert done.returncode == 0, done.stdout


def test_bad_input_exits_2_with_a_clear_message(tmp_path):
    good = tmp_path / "good.json"
    good.write_text('{"sends": []}')
    broken = tmp_path / "broken.json"
    broken.write_text('{"sends": [{"signal": "s",')
    other = tmp_path / "other.json"
    other.write_text('{"hello": [1, 2]}')
    for path, message in (
        (broken, "not valid JSON at character "),
        (other, 'not a signal_inspector recording: no "sends" list'),
        (tmp_path / "missing.json", "No such file or directory"),
    ):
        done = cli(good, path)
        assert done.returncode == 2
        assert done.stdout == ""
        assert done.stderr.startswith(f"signal_inspector diff: {path}: {message}")
    usage = cli(good)
    assert usage.returncode == 2 and "usage:" in usage.stderr


@pytest.mark.django_db
def test_reading_in_small_chunks_gives_what_json_load_gives(tmp_path, monkeypatch):
    path = dump(tmp_path / "a.json", lambda: pay("1", "<x>", "22"))
    whole = diff.Totals()
    data = json.loads(path.read_text())
    for send in data["sends"]:
        whole.add(send)
    whole.finish(data)
    monkeypatch.setattr(diff, "_CHUNK", 7)
    assert diff.load(path) == whole
    assert whole.sends and whole.errors and whole.silent


def test_findings_new_and_gone(tmp_path):
    def recording(**flags: object) -> dict:
        call = {"name": "shop.audit", "outcome": "returned", "children": [], **flags}
        return {"sends": [{"signal": "post_save", "sender": "shop.Order", "receivers": [call]}]}

    a, b = tmp_path / "a.json", tmp_path / "b.json"
    a.write_text(json.dumps(recording(hints=["Checks created on an update"])))
    b.write_text(json.dumps(recording(duplicate=True)))
    done = cli(a, b)
    assert done.returncode == 1
    assert done.stdout.splitlines()[1:] == [
        "post_save from shop.Order:",
        "  new finding: shop.audit ran twice for one send (registered twice), once.",
        f"  finding gone: shop.audit: Checks created on an update (once) in {a}.",
    ]
