"""``manage.py signaltrace``: through ``call_command`` and as typed, in a real process."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from io import StringIO
from pathlib import Path

import pytest
from django.core.management import CommandError, call_command

pytest_plugins = ["pytester"]

REPO = Path(__file__).resolve().parent.parent
MANAGE = REPO / "example_project" / "manage.py"

PAY = (
    "from tests.testapp.models import Order; "
    "from tests.testapp.signals import order_paid; "
    "order_paid.send_robust(sender=Order, order=Order.objects.create(number='<x>')); "
    "print('paid')"
)


def trace(*args: str) -> tuple[str, str]:
    """(what the traced command wrote to stdout, what signaltrace wrote to stderr)."""
    out, err = StringIO(), StringIO()
    call_command("signaltrace", *args, stdout=out, stderr=err)
    return out.getvalue(), err.getvalue()


@pytest.mark.django_db
def test_the_trace_goes_to_stderr_and_the_commands_stdout_stays_clean(capsys):
    out, err = trace("shell", "-c", PAY, "--verbosity", "0")
    assert out == ""
    assert capsys.readouterr().out == "paid\n"  # the shell's own output, untouched
    lines = err.splitlines()
    # The command line, cut at 200 characters, and how it ended.
    assert lines[0].startswith("signaltrace: shell -c from tests.testapp.models import Order; ")
    assert lines[0].endswith("… (exit status 0)")
    assert len(lines[0]) == len("signaltrace: ") + 200 + len(" (exit status 0)")
    assert lines[1].startswith("django.db.models.signals.post_save  send()  sender=testapp.Order")
    assert any(
        line.startswith("└─ tests.testapp.receivers.refuse_hostile")
        and line.endswith("raised (caught by send_robust) ValueError: refused <x>")
        for line in lines
    )
    assert lines[-1].startswith("3 sends, 4 receiver calls, ")


@pytest.mark.django_db
def test_the_exit_status_is_the_commands():
    code = "from tests.testapp.models import Order; Order.objects.create(number='1'); raise SystemExit(3)"
    stderr = StringIO()
    with pytest.raises(SystemExit) as exited:
        call_command("signaltrace", "shell", "-c", code, stderr=stderr)
    assert exited.value.code == 3
    err = stderr.getvalue()
    assert "(exit status 3)" in err.splitlines()[0]
    assert "tests.testapp.receivers.audit_order_saved" in err


@pytest.mark.django_db
def test_under_call_command_a_command_error_is_raised_as_call_command_raises_it():
    err = StringIO()
    code = "from django.core.management import CommandError; raise CommandError('nope')"
    with pytest.raises(CommandError, match="^nope$"):
        call_command("signaltrace", "shell", "-c", code, stderr=err)
    assert err.getvalue().splitlines()[0].endswith("(raised CommandError: nope)")


def test_under_call_command_the_tests_database_connection_stays_open(pytester, monkeypatch):
    # An in-memory SQLite database is never closed: this takes a database file.
    pytester.makepyfile(
        file_settings="""
from tests.settings import *  # noqa: F403

DATABASES = {"default": {
    "ENGINE": "django.db.backends.sqlite3", "NAME": "db.sqlite3", "TEST": {"NAME": "test.sqlite3"},
}}
""",
        test_trace="""
import pytest
from django.core.management import call_command
from django.db import connection

from tests.testapp.models import Order


@pytest.mark.django_db
def test_trace_inside_a_test():
    Order.objects.create(number="kept")
    call_command("signaltrace", "check")
    # manage.py closes every connection after a command; inside the test's
    # transaction that closes it under the test and marks it for rollback.
    assert not connection.needs_rollback
    assert list(Order.objects.values_list("number", flat=True)) == ["kept"]
""",
    )
    monkeypatch.setenv("PYTHONPATH", f"{REPO}{os.pathsep}{pytester.path}")
    monkeypatch.setenv("DJANGO_SETTINGS_MODULE", "file_settings")
    result = pytester.runpytest_subprocess("-p", "no:cacheprovider", "-p", "no:randomly")
    result.assert_outcomes(passed=1)


@pytest.mark.django_db
def test_a_send_typed_in_shell_c_is_placed_in_the_code_given():
    code = "from tests.testapp.models import Order\nOrder.objects.create(number='1')"
    _, err = trace("shell", "-c", code)
    line = next(line for line in err.splitlines() if line.startswith("django.db.models.signals.post_save"))
    assert line.endswith("at <string>:2")


def test_the_usage_says_args_are_optional():
    from signal_inspector.management.commands.signaltrace import Command

    usage = Command().create_parser("manage.py", "signaltrace").format_usage()
    assert " ".join(usage.split()).endswith("[--force-color] COMMAND [ARGS ...]")
    with pytest.raises(CommandError, match="the following arguments are required: COMMAND$"):
        trace()


@pytest.mark.django_db
def test_an_unwritable_output_is_an_error_before_the_command_runs(tmp_path, capsys):
    missing = tmp_path / "no-such-dir" / "trace.txt"
    with pytest.raises(CommandError, match="Cannot write the trace to .*no-such-dir"):
        trace("--output", str(missing), "shell", "-c", "print('ran')")
    assert "ran" not in capsys.readouterr().out  # the command did not run


@pytest.mark.django_db
def test_an_output_the_command_made_unwritable_falls_back_to_stderr(tmp_path):
    where = tmp_path / "traces"
    where.mkdir()
    code = f"import shutil; shutil.rmtree({str(where)!r}); print('ran')"
    out, err = trace("--output", str(where / "trace.txt"), "shell", "-c", code)  # no exception
    assert "Cannot write the trace to " in err and "The trace follows." in err
    assert "signaltrace: shell -c import shutil" in err  # the trace, not lost


@pytest.mark.django_db
def test_the_output_may_be_the_commands_own_input(tmp_path):
    # Checked without truncating it: loaddata still reads its fixture.
    fixture = tmp_path / "orders.json"
    fixture.write_text(json.dumps([{"model": "testapp.order", "pk": 7, "fields": {"number": "N7"}}]))
    out, _ = trace("--format", "json", "--output", str(fixture), "loaddata", str(fixture))
    assert out == "Installed 1 object(s) from 1 fixture(s)\n"
    assert json.loads(fixture.read_text())["exit_status"] == 0


@pytest.mark.django_db
def test_a_command_that_raises_still_gets_its_trace():
    err = StringIO()
    code = "from tests.testapp.models import Order; Order.objects.create(number='1'); 1 / 0"
    with pytest.raises(ZeroDivisionError):
        call_command("signaltrace", "shell", "-c", code, stderr=err)
    lines = err.getvalue().splitlines()
    assert lines[0].endswith("(raised ZeroDivisionError: division by zero)")
    assert lines[1].startswith("django.db.models.signals.post_save  send()  sender=testapp.Order")


@pytest.mark.django_db
def test_json_to_a_file(tmp_path, capsys):
    path = tmp_path / "trace.json"
    out, err = trace("--format", "json", "--output", str(path), "shell", "-c", PAY)
    assert err == ""
    assert "objects imported automatically" in out  # the shell's own, as without signaltrace
    assert capsys.readouterr().out.endswith("paid\n")
    data = json.loads(path.read_text())
    assert data["command"] == ["shell", "-c", PAY]
    assert data["exit_status"] == 0
    sends = data["recording"]["sends"]
    assert [s["signal"] for s in sends] == [
        "django.db.models.signals.post_save",
        "tests.testapp.signals.order_paid",
    ]
    assert [c["outcome"] for c in sends[1]["receivers"]] == ["returned", "caught"]


@pytest.mark.django_db
def test_options_after_the_command_are_the_commands(tmp_path, capsys, monkeypatch):
    # diffsettings has an --output of its own: it must get it, not signaltrace.
    monkeypatch.chdir(tmp_path)
    out, err = trace("diffsettings", "--output", "unified")
    unified = out.splitlines()  # the stdout given to call_command(), as without signaltrace
    assert "+ ALLOWED_HOSTS = ['*', 'testserver']" in unified
    assert all(line[:2] in ("+ ", "- ", "  ") for line in unified)
    assert err.startswith("signaltrace: diffsettings --output unified (exit status 0)")
    assert list(tmp_path.iterdir()) == []


def test_bad_use_is_a_command_error():
    with pytest.raises(CommandError, match=r"Unknown command 'shel'\. Did you mean shell"):
        trace("shel")
    with pytest.raises(CommandError, match="invalid choice: 'xml'"):
        trace("--format", "xml", "check")
    with pytest.raises(CommandError, match="--max-lines must be 1 or more"):
        trace("--max-lines", "0", "check")


# --- as typed, in a real process -------------------------------------------------


@pytest.fixture(scope="module")
def example_template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    db = tmp_path_factory.mktemp("signaltrace") / "template.sqlite3"
    for command in (["migrate", "--no-input"], ["seed_demo"]):
        result = manage(*command, db=db)
        assert result.returncode == 0, result.stdout + result.stderr
    return db


@pytest.fixture
def example_db(example_template: Path, tmp_path: Path) -> Path:
    path = tmp_path / "db.sqlite3"
    shutil.copy(example_template, path)
    return path


def manage(
    *args: str, db: Path, cwd: Path = REPO, manage_py: Path = MANAGE
) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "EXAMPLE_DB_PATH": str(db)}
    env.pop("DJANGO_SETTINGS_MODULE", None)  # the example has its own settings
    return subprocess.run(
        [sys.executable, str(manage_py), *args],
        cwd=cwd,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        stdin=subprocess.DEVNULL,
    )


PAY_DEMO_3 = (
    "from shop.models import Order; "
    "Order.objects.get(number='DEMO-3').pay(); "
    "print('paid DEMO-3')"
)


def test_as_typed_the_trace_is_on_stderr_and_stdout_is_the_commands(example_db, tmp_path):
    plain_db = tmp_path / "plain.sqlite3"
    shutil.copy(example_db, plain_db)
    plain = manage("shell", "-c", PAY_DEMO_3, db=plain_db)
    traced = manage("signaltrace", "shell", "-c", PAY_DEMO_3, db=example_db)
    assert traced.returncode == plain.returncode == 0, traced.stderr
    assert traced.stdout == plain.stdout
    assert traced.stdout.endswith("paid DEMO-3\n")
    trace_text = traced.stderr[traced.stderr.index("signaltrace: shell -c ") :]
    lines = trace_text.splitlines()
    assert lines[0] == f"signaltrace: shell -c {PAY_DEMO_3} (exit status 0)"
    assert lines[1].startswith("shop.signals.order_paid  send_robust()  sender=shop.Order  ")
    assert lines[1].endswith("at shop/models.py:45")
    award = next(line for line in lines if "award_loyalty_points" in line)
    assert award.endswith(
        "raised (caught by send_robust) shop.receivers.LoyaltyAccountBlocked: "
        "loyalty account of mallory is blocked  [1 query]"
    )
    receipts = [line for line in lines if "shop.receivers.email_receipt" in line]
    assert len(receipts) == 2 and all("[slow]  [ran twice]" in line for line in receipts)
    assert any("notify_warehouse" in line and "[async]" in line for line in lines)
    assert lines[-1].startswith("1 send, 4 receiver calls, ")
    assert ", 1 error, 1 receiver ran twice, " in lines[-1]


def test_as_typed_system_exit_3_exits_3(example_db):
    result = manage("signaltrace", "shell", "-c", "raise SystemExit(3)", db=example_db)
    assert result.returncode == 3, result.stderr
    assert "signaltrace:" not in result.stdout
    assert 'signaltrace: shell -c raise SystemExit(3) (exit status 3)' in result.stderr


def test_as_typed_a_command_error_prints_its_message_and_exits_1(example_db):
    code = "from django.core.management import CommandError; raise CommandError('nope')"
    result = manage("signaltrace", "shell", "-c", code, db=example_db)
    assert result.returncode == 1
    assert "(raised" not in result.stderr and "(exit status 1)" in result.stderr
    assert "CommandError: nope\nsignaltrace: shell -c " in result.stderr


def test_as_typed_sends_are_placed_in_the_code_given_not_in_manage_py(example_db, tmp_path):
    code = "from shop.models import Order\nOrder.objects.get(number='DEMO-3').pay()"
    result = manage("signaltrace", "shell", "-c", code, db=example_db)
    assert result.returncode == 0, result.stderr
    assert "shop.signals.order_paid  send_robust()  sender=shop.Order" in result.stderr
    assert "at shop/models.py:45" in result.stderr
    # A migration's own sends are placed in it; migrate's are Django's, not manage.py's.
    project = tmp_path / "project"
    shutil.copytree(MANAGE.parent, project, ignore=shutil.ignore_patterns("__pycache__", "*.sqlite3"))
    (project / "shop" / "migrations" / "0099_ping.py").write_text(MIGRATION)
    result = manage("signaltrace", "migrate", "shop", db=example_db, manage_py=project / "manage.py")
    assert result.returncode == 0, result.stderr
    lines = result.stderr.splitlines()
    ping = next(line for line in lines if line.startswith("shop.signals.order_paid"))
    assert ping.endswith("at shop/migrations/0099_ping.py:8")
    post_migrate = [line for line in lines if line.startswith("django.db.models.signals.post_migrate")]
    assert post_migrate and all("manage.py" not in line for line in post_migrate)
    assert all(" inside django (django/core/management/sql.py:" in line for line in post_migrate)


MIGRATION = """from django.db import migrations


def ping(apps, schema_editor):
    from shop.signals import order_paid

    # A receiver fails on order=None: send_robust() catches it.
    order_paid.send_robust(sender=None, order=None)


class Migration(migrations.Migration):
    dependencies = [("shop", "0002_restock")]
    operations = [migrations.RunPython(ping, migrations.RunPython.noop)]
"""


def test_as_typed_sys_exit_with_a_message_prints_it_and_exits_1(example_db):
    result = manage("signaltrace", "shell", "-c", "import sys; sys.exit('bye now')", db=example_db)
    assert result.returncode == 1
    assert "(exit status 1)" in result.stderr
    assert result.stderr.rstrip().endswith("bye now")  # Python prints the message last


def test_as_typed_a_command_that_raises_gets_its_trace_and_exits_1(example_db):
    code = "from shop.models import Order; Order.objects.get(number='DEMO-1').cancel()"
    result = manage("signaltrace", "shell", "-c", code, db=example_db)
    assert result.returncode == 1
    stderr = result.stderr
    assert "Traceback (most recent call last):" in stderr  # Python's, as without signaltrace
    assert stderr.rstrip().endswith(
        "shop.receivers.PaymentProviderDown: refund for order DEMO-1 failed: provider unavailable"
    )
    start = stderr.index("signaltrace: shell -c")
    lines = stderr[start:].splitlines()
    assert lines[0].endswith(
        "(raised PaymentProviderDown: refund for order DEMO-1 failed: provider unavailable)"
    )
    assert "├─ shop.receivers.refund_payment" in lines[2]
    assert lines[3] == "├─ not run: shop.receivers.restock_items (an earlier receiver raised)"
    assert lines[4] == "└─ not run: shop.receivers.email_cancellation (an earlier receiver raised)"


def test_as_typed_json_to_a_file_with_loaddata(example_db, tmp_path):
    fixture = tmp_path / "users.json"
    dumped = manage("dumpdata", "auth.user", "--pks", "1", "-o", str(fixture), db=example_db)
    assert dumped.returncode == 0, dumped.stderr
    out = tmp_path / "trace.json"
    result = manage(
        "signaltrace", "--format", "json", "--output", str(out), "loaddata", str(fixture),
        db=example_db,
    )
    assert result.returncode == 0, result.stderr
    assert "signaltrace" not in result.stderr
    assert result.stdout == "Installed 1 object(s) from 1 fixture(s)\n"
    data = json.loads(out.read_text())
    assert data["command"] == ["loaddata", str(fixture)]
    assert data["exit_status"] == 0
    (send,) = [s for s in data["recording"]["sends"] if s["sender"] == "auth.User"]
    assert (send["signal"], send["kwargs"]["raw"]) == ("django.db.models.signals.post_save", "True")
    assert [c["name"] for c in send["receivers"]] == [
        "accounts.signals.create_profile",
        "shop.receivers.open_loyalty_account",
    ]


DRY = (
    "from django.db import transaction; "
    "from django.core import mail; "
    "from tests.testapp.models import AuditLog, Order; "
    "o = Order.objects.create(number='dry'); "
    "transaction.on_commit(lambda: print('committed')); "
    "Order.objects.filter(pk=o.pk).update(paid=True); "
    "mail.send_mail('s', 'b', 'a@example.com', ['b@example.com']); "
    "print('orders', Order.objects.count())"
)


@pytest.mark.django_db(transaction=True)
def test_a_dry_run_rolls_back_keeps_mail_in_memory_and_names_what_would_run(capsys):
    from django.core import mail
    from django.test import override_settings

    from tests.testapp.models import AuditLog, Order

    # A real SMTP backend aimed at a closed port: only a dry run's memory backend
    # lets the mail "go".
    smtp = {"EMAIL_BACKEND": "django.core.mail.backends.smtp.EmailBackend", "EMAIL_PORT": 9}
    with override_settings(**smtp):
        out, err = trace("--dry-run", "shell", "-c", DRY)
    assert "orders 1" in capsys.readouterr().out  # it ran...
    assert Order.objects.count() == 0 and AuditLog.objects.count() == 0  # ...and left nothing
    assert [m.subject for m in mail.outbox] == ["s"]
    assert "dry run: every database rolled back" in err
    assert "post_save" in err and "audit_order_saved" in err
    assert "finding: bypassed: testapp.Order.objects.update()" in err


@pytest.mark.django_db(transaction=True)
def test_a_dry_run_marks_on_commit_work_of_receivers_as_would_run(capsys):
    code = (
        "from django.db import transaction; "
        "from django.dispatch import Signal; "
        "s = Signal(); "
        "s.connect(lambda sender, **kw: transaction.on_commit(lambda: print('ran!')), weak=False); "
        "s.send(sender=None)"
    )
    out, err = trace("--dry-run", "shell", "-c", code)
    assert "ran!" not in capsys.readouterr().out
    assert ": would run on commit" in err


@pytest.mark.django_db(transaction=True)
def test_a_dry_runs_own_transaction_and_mail_setting_are_not_the_commands(capsys):
    """The dry run's transaction is not one the command opened: a receiver mailing
    in autocommit is no before_commit finding, and a durable atomic() still runs;
    swapping the mail backend is no send of the command's."""
    from django.core import mail

    code = (
        "from django.core import mail; "
        "from django.db import transaction; "
        "from django.dispatch import Signal; "
        "s = Signal(); "
        "s.connect(lambda sender, **kw: mail.send_mail('r', 'b', 'a@example.com', ['b@example.com']), weak=False); "
        "s.send(sender=None); "
        "transaction.atomic(durable=True)(lambda: print('durable ran'))()"
    )
    out, err = trace("--dry-run", "shell", "-c", code)
    assert "durable ran" in capsys.readouterr().out
    assert [m.subject for m in mail.outbox] == ["r"]
    assert "finding" not in err, err
    assert "setting_changed" not in err, err
    assert "1 sends, 1 receiver calls" in err or "1 send, 1 receiver call" in err, err
