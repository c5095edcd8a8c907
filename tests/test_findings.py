"""Findings: bypassed receivers, repeated queries by receiver, network I/O and
work handed over before commit, through record(), capture_signals and the text."""

from __future__ import annotations

import logging
import os
import socket
import threading

import pytest
from django.core import mail
from django.core.mail.message import EmailMessage
from django.db import connection, transaction
from django.db.models.query import QuerySet
from django.db.models.signals import post_init, post_save
from django.dispatch import Signal
from django.test import override_settings

import signal_inspector
from signal_inspector.slots import running_ours
from signal_inspector.testing import capture_signals
from tests.testapp.models import AuditLog, Order

DJANGO_UPDATE = QuerySet.__dict__["update"]
DJANGO_BULK_CREATE = QuerySet.__dict__["bulk_create"]
DJANGO_MAIL_SEND = EmailMessage.__dict__["send"]


def kinds(recording):
    return [f.kind for f in recording.findings]


@pytest.mark.django_db
def test_an_update_that_bypasses_save_receivers_is_named_with_them():
    Order.objects.create(number="1")
    Order.objects.create(number="2")
    with signal_inspector.record() as recording:
        Order.objects.filter(number__in=["1", "2"]).update(paid=True)
        AuditLog.objects.all().update(message="x")  # no receiver: nothing bypassed
    (finding,) = recording.findings
    assert finding.kind == "bypassed"
    assert "testapp.Order.objects.update()" in finding.title
    assert finding.where.startswith("tests/test_findings.py:")
    assert any("post_save: tests.testapp.receivers.audit_order_saved" in d for d in finding.details)
    assert any("connected at tests/testapp/receivers.py:" in d for d in finding.details)
    assert "rows: 2" in finding.details
    assert recording.to_dict()["findings"][0]["kind"] == "bypassed"


@pytest.mark.django_db
def test_bulk_operations_are_named_and_empty_ones_are_not():
    with signal_inspector.record() as recording:
        assert Order.objects.bulk_create([]) == []
        orders = Order.objects.bulk_create([Order(number="a"), Order(number="b")])
        for order in orders:
            order.paid = True
        Order.objects.bulk_update(orders, ["paid"])
        Order.objects.filter(number="nothing").update(paid=True)  # 0 rows
    titles = [f.title for f in recording.findings]
    assert len(titles) == 2
    assert "bulk_create()" in titles[0] and "bulk_update()" in titles[1]


@pytest.mark.django_db
@pytest.mark.parametrize(
    "acknowledged", ["testapp.Order", "tests.testapp.receivers.audit_order_saved"]
)
def test_an_acknowledged_bypass_is_not_reported(acknowledged):
    Order.objects.create(number="1")
    setting = {"ACKNOWLEDGED_BYPASSES": [acknowledged]}
    with override_settings(SIGNAL_INSPECTOR=setting), signal_inspector.record() as recording:
        Order.objects.update(paid=True)
    assert recording.findings == []


@pytest.mark.django_db
def test_a_receiver_repeating_one_query_is_named_past_the_threshold():
    signal = Signal()

    def count_audits(sender, **kwargs):
        return AuditLog.objects.filter(message=f"order {sender}").count()

    signal.connect(count_audits, weak=False)
    with signal_inspector.record() as below:
        for number in range(4):
            signal.send(sender=number)
    with signal_inspector.record() as recording:
        for number in range(6):
            signal.send(sender=number)
    assert below.findings == []
    (finding,) = recording.findings
    assert finding.kind == "repeated_query"
    assert finding.count == 6
    assert "count_audits" in finding.receiver
    assert "testapp_auditlog" in finding.details[0]
    assert "%s" in finding.details[0] or "?" in finding.details[0]  # no parameter values


@pytest.mark.django_db
def test_a_query_in_a_post_init_receiver_is_always_named():
    Order.objects.create(number="1")

    def fetch_audit(sender, instance, **kwargs):
        AuditLog.objects.filter(message="x").exists()

    post_init.connect(fetch_audit, sender=Order, weak=False)
    try:
        with signal_inspector.record() as recording:
            list(Order.objects.all())
    finally:
        post_init.disconnect(fetch_audit, sender=Order)
    (finding,) = recording.findings
    assert finding.kind == "init_query"
    assert "post_init" in finding.title


@pytest.fixture
def listener():
    server = socket.create_server(("127.0.0.1", 0))
    server.settimeout(5)
    accepted = []

    def serve():
        try:
            conn, _ = server.accept()
            accepted.append(conn)
        except OSError:
            pass

    thread = threading.Thread(target=serve, daemon=True)
    thread.start()
    yield server.getsockname()[1]
    server.close()
    thread.join(5)
    for conn in accepted:
        conn.close()


@pytest.mark.django_db(transaction=True)
def test_a_receiver_connecting_out_is_named_and_an_on_commit_callback_is_not(listener):
    signal = Signal()

    def webhook(sender, **kwargs):
        with socket.create_connection(("127.0.0.1", listener), timeout=5):
            pass

    def deferred(sender, **kwargs):
        transaction.on_commit(
            lambda: socket.create_connection(("127.0.0.1", listener), timeout=5).close()
        )

    signal.connect(webhook, weak=False)
    with signal_inspector.record() as recording:
        signal.send(sender=None)
    (finding,) = recording.findings
    assert finding.kind == "network"
    assert finding.details == [f"127.0.0.1:{listener}"]
    assert "webhook" in finding.receiver

    other = Signal()
    other.connect(deferred, weak=False)
    with signal_inspector.record() as after_commit, transaction.atomic():
        other.send(sender=None)
    assert after_commit.findings == []  # ran at commit, after the receiver


@pytest.mark.django_db(transaction=True)
def test_a_refused_connection_is_reported_without_crashing():
    signal = Signal()
    closed = socket.create_server(("127.0.0.1", 0))
    port = closed.getsockname()[1]
    closed.close()

    def webhook(sender, **kwargs):
        try:
            socket.create_connection(("127.0.0.1", port), timeout=1)
        except OSError:
            return "down"

    signal.connect(webhook, weak=False)
    with signal_inspector.record() as recording:
        assert signal.send(sender=None) == [(webhook, "down")]
    assert kinds(recording) == ["network"]


@pytest.mark.django_db(transaction=True)
def test_mail_sent_inside_a_transaction_is_named_and_on_commit_is_not():
    signal = Signal()

    def notify(sender, **kwargs):
        mail.send_mail("Paid", "body", "a@example.com", ["b@example.com"])

    def notify_later(sender, **kwargs):
        transaction.on_commit(
            lambda: mail.send_mail("Later", "body", "a@example.com", ["b@example.com"])
        )

    signal.connect(notify, weak=False)
    with signal_inspector.record() as inside, transaction.atomic():
        signal.send(sender=None)
    with signal_inspector.record() as autocommit:
        signal.send(sender=None)
    signal.disconnect(notify)
    signal.connect(notify_later, weak=False)
    with signal_inspector.record() as deferred, transaction.atomic():
        signal.send(sender=None)
    (finding,) = inside.findings
    assert finding.kind == "before_commit"
    assert "sent mail inside an open transaction" in finding.title
    assert finding.details == ["'Paid'"]
    assert autocommit.findings == [] and deferred.findings == []
    assert len(mail.outbox) == 3


@pytest.mark.django_db
def test_a_test_cases_own_transaction_is_not_an_open_transaction():
    signal = Signal()
    signal.connect(
        lambda sender, **kw: mail.send_mail("x", "y", "a@example.com", ["b@example.com"]),
        weak=False,
    )
    with signal_inspector.record() as recording:
        signal.send(sender=None)
    assert recording.findings == []


@pytest.mark.django_db(transaction=True)
def test_a_task_enqueued_before_commit_is_named():
    tasks = pytest.importorskip("django.tasks", reason="django.tasks is new in Django 6.0")
    from tests.testapp.tasks import welcome

    signal = Signal()
    signal.connect(lambda sender, **kw: welcome.enqueue(), weak=False)
    with override_settings(
        TASKS={"default": {"BACKEND": "django.tasks.backends.dummy.DummyBackend"}}
    ), signal_inspector.record() as recording, transaction.atomic():
        signal.send(sender=None)
    assert tasks is not None
    (finding,) = recording.findings
    assert finding.kind == "before_commit"
    assert "enqueued task" in finding.title and "welcome" in finding.details[0]


@pytest.mark.django_db
def test_capture_signals_asserts_no_findings_and_names_them():
    Order.objects.create(number="1")
    with capture_signals() as signals:
        Order.objects.update(paid=True)
    assert [f.kind for f in signals.findings] == ["bypassed"]
    signals.assert_no_findings("network")
    with pytest.raises(AssertionError, match="1 signal problem found") as raised:
        signals.assert_no_findings()
    assert "audit_order_saved" in str(raised.value)
    with pytest.raises(ValueError, match="kind must be one of"):
        signals.assert_no_findings("slow")


@pytest.mark.django_db
def test_the_text_and_the_request_logger_name_findings(client, caplog):
    Order.objects.create(number="1")
    with signal_inspector.record() as recording:
        Order.objects.update(paid=True)
    text = recording.to_text()
    assert "finding: bypassed: testapp.Order.objects.update()" in text
    assert "1 finding" in text.splitlines()[-1]


def test_idle_is_djangos_own_again():
    """Django's methods run ours in place while we record (their code swapped,
    the classes untouched: slots.py); socket's connect(), inherited from C, is
    replaced on the class. After, each is its own again."""
    codes = {f: f.__code__ for f in (DJANGO_UPDATE, DJANGO_BULK_CREATE, DJANGO_MAIL_SEND)}
    with signal_inspector.record():
        assert QuerySet.__dict__["update"] is DJANGO_UPDATE
        assert all(running_ours(f) is not None for f in codes)
        assert all(f.__code__ is not code for f, code in codes.items())
        assert "connect" in socket.socket.__dict__
    assert QuerySet.__dict__["update"] is DJANGO_UPDATE
    assert QuerySet.__dict__["bulk_create"] is DJANGO_BULK_CREATE
    assert EmailMessage.__dict__["send"] is DJANGO_MAIL_SEND
    assert all(f.__code__ is code and running_ours(f) is None for f, code in codes.items())
    assert all("__wrapped__" not in f.__dict__ for f in codes)
    assert "connect" not in socket.socket.__dict__
    assert "connect_ex" not in socket.socket.__dict__


@pytest.mark.django_db
def test_a_hook_is_built_once_and_wraps_whatever_a_tool_put_there_since():
    """The hooks are worked out once per process and put back as they were (no
    new wrapper or trampoline per request), unless the attribute changed while
    idle: then ours runs in what is there now, and leaves it as it was."""
    with signal_inspector.record():
        update, connect = DJANGO_UPDATE.__code__, socket.socket.__dict__["connect"]
    with signal_inspector.record():
        assert DJANGO_UPDATE.__code__ is update  # the same trampoline
        assert socket.socket.__dict__["connect"] is connect
    assert QuerySet.__dict__["update"] is DJANGO_UPDATE
    assert "connect" not in socket.socket.__dict__

    calls = []

    def tools_update(self, **kwargs):
        calls.append("update")
        return DJANGO_UPDATE(self, **kwargs)

    def tools_connect(self, address):
        calls.append("connect")
        return socket.socket.__bases__[0].connect(self, address)

    tools_codes = tools_update.__code__, tools_connect.__code__
    QuerySet.update = tools_update
    socket.socket.connect = tools_connect
    try:
        with signal_inspector.record() as recording:
            assert QuerySet.__dict__["update"] is tools_update
            assert running_ours(tools_update) is not None
            assert socket.socket.__dict__["connect"] is tools_connect
            assert running_ours(tools_connect) is not None
            Order.objects.update(paid=True)
            with socket.socket() as listener, socket.socket() as client:
                listener.bind(("127.0.0.1", 0))
                listener.listen()
                client.connect(listener.getsockname())
        assert calls == ["update", "connect"]
        assert QuerySet.__dict__["update"] is tools_update
        assert socket.socket.__dict__["connect"] is tools_connect
        assert (tools_update.__code__, tools_connect.__code__) == tools_codes
        assert DJANGO_UPDATE.__code__ is not update  # Django's own code
    finally:
        QuerySet.update = DJANGO_UPDATE
        del socket.socket.connect
    assert "bulk_create" not in [f.kind for f in recording.findings]


CELERY_LATER = """
import django
from django.conf import settings

settings.configure(
    INSTALLED_APPS=["signal_inspector"],
    DATABASES={"default": {"ENGINE": "django.db.backends.sqlite3", "NAME": ":memory:"}},
)
django.setup()
import sys
import signal_inspector
from signal_inspector.slots import running_ours

with signal_inspector.record():
    pass
assert "celery" not in sys.modules
from celery.app.base import Celery
from celery.app.task import Task

own = Task.__dict__["apply_async"], Celery.__dict__["send_task"]
codes = [f.__code__ for f in own]
with signal_inspector.record():
    assert running_ours(Task.__dict__["apply_async"]) is not None
    assert running_ours(Celery.__dict__["send_task"]) is not None
assert (Task.__dict__["apply_async"], Celery.__dict__["send_task"]) == own
assert [f.__code__ for f in own] == codes
print("hooked and restored")
"""


def test_celery_imported_after_the_first_recording_is_hooked_by_the_next():
    import subprocess
    import sys

    pytest.importorskip("celery", reason="needs Celery from PyPI")
    result = subprocess.run(
        [sys.executable, "-c", CELERY_LATER], capture_output=True, text=True, timeout=120,
        env={k: v for k, v in os.environ.items() if k != "DJANGO_SETTINGS_MODULE"},
    )
    assert result.stdout.strip() == "hooked and restored", result.stderr


@pytest.mark.django_db
def test_our_own_and_the_toolbars_receivers_are_never_reported():
    with signal_inspector.record() as recording, connection.cursor() as cursor:
        for _ in range(10):
            cursor.execute("SELECT 1")
    assert recording.findings == []
    assert logging.getLogger("signal_inspector") is not None
    assert post_save is not None


@pytest.mark.django_db
def test_findings_can_be_turned_off_and_the_setting_is_checked():
    from signal_inspector.conf import validate

    Order.objects.create(number="1")
    off = {"FINDINGS": False}
    with override_settings(SIGNAL_INSPECTOR=off), signal_inspector.record() as recording:
        assert QuerySet.__dict__["update"] is DJANGO_UPDATE  # no hook at all
        Order.objects.update(paid=True)
    assert recording.findings == []
    assert validate({"FINDINGS": "no"}) == ["SIGNAL_INSPECTOR['FINDINGS'] must be bool, not str."]
    assert validate({"FINDINGS": False, "REPEATED_QUERY_THRESHOLD": True}) == [
        "SIGNAL_INSPECTOR['REPEATED_QUERY_THRESHOLD'] must be int, not bool."
    ]


# --- installed packages' receivers and helpers (tried on real apps: see
# scripts/try_findings_realapps.py) -------------------------------------------

LIBRARY_SOURCE = '''
from django.db.models.query import QuerySet

from tests.testapp.models import AuditLog, Order


def read_old_row(sender, instance, **kwargs):
    """As auditlog's log_update: the old row, read on every save."""
    AuditLog.objects.filter(message=f"old {instance.pk}").exists()


def set_locale(sender, instance, **kwargs):
    """As Wagtail's set_locale_on_new_instance: for every model, acts on few."""


def write_history(sender, instance, **kwargs):
    """As simple-history's post_save receiver."""


def bulk_create_with_history(objs):
    """As simple-history's helper: bulk_create, then the history rows itself."""
    return Order.objects.bulk_create(objs)


def enqueue_index(sender, instance, **kwargs):
    """As Wagtail's update_reference_index_on_save: a task on every save."""
    from tests.testapp.backport_tasks import reindex

    reindex.enqueue()


class ArchivingQuerySet(QuerySet):
    """As a package's QuerySet subclass with its own update() (calling Django's)."""

    def update(self, **kwargs):
        return super().update(**kwargs)


def sync(queryset):
    """A library's own bulk write, not named for one (Wagtail's move())."""
    return queryset.update(paid=True)
'''


@pytest.fixture
def library():
    """An installed package: a real module in this venv's site-packages, removed
    afterwards (as tests/test_diagnosis.py does)."""
    import importlib
    import sys
    import sysconfig
    from pathlib import Path

    # One module per process: pytest-xdist's workers share the venv.
    name = f"si_test_fake_library_{os.getpid()}"
    path = Path(sysconfig.get_paths()["purelib"]) / f"{name}.py"
    path.write_text(LIBRARY_SOURCE)
    try:
        yield importlib.import_module(name)
    finally:
        path.unlink()
        sys.modules.pop(name, None)


@pytest.mark.django_db
def test_an_installed_packages_receiver_repeating_a_read_is_not_reported(library):
    """auditlog's log_update, Wagtail's reference index and modelsearch read per
    save by design: on the real apps they made 7 repeated_query findings the
    project could not act on."""
    def own_read(sender, instance, **kwargs):
        AuditLog.objects.filter(message=f"own {instance.pk}").exists()

    post_save.connect(library.read_old_row, sender=Order, weak=False)
    post_save.connect(own_read, sender=Order, weak=False)
    try:
        with signal_inspector.record() as recording:
            for number in range(6):
                Order.objects.create(number=str(number))
    finally:
        post_save.disconnect(library.read_old_row, sender=Order)
        post_save.disconnect(own_read, sender=Order)
    assert [(f.kind, f.receiver.rpartition(".")[2]) for f in recording.findings] == [
        ("repeated_query", "own_read")
    ]


@pytest.mark.django_db
def test_an_installed_packages_receiver_for_every_model_is_not_a_bypassed_one(library):
    """Wagtail connects set_locale_on_new_instance to pre_save for every model and
    returns for models that are not translatable: an update() of any model was
    reported as bypassing it."""
    from django.db.models.signals import pre_save

    AuditLog.objects.create(message="x")
    Order.objects.create(number="1")
    pre_save.connect(library.set_locale, weak=False)
    try:
        with signal_inspector.record() as recording:
            AuditLog.objects.update(message="y")
            Order.objects.update(paid=True)
    finally:
        pre_save.disconnect(library.set_locale)
    (finding,) = recording.findings
    assert "testapp.Order.objects.update()" in finding.title
    assert not any("set_locale" in detail for detail in finding.details)


@pytest.mark.django_db
def test_a_bulk_helper_of_an_installed_package_called_by_the_project_is_named(library):
    """simple-history's bulk_create_with_history bypasses every other receiver
    (an audit log, the project's own): it was not reported, the first frame being
    the library's. Its own package's receivers are left out (it does their work);
    a library's bulk write not named for one stays the library's."""
    post_save.connect(library.write_history, sender=Order, weak=False)
    try:
        with signal_inspector.record() as recording:
            library.bulk_create_with_history([Order(number="h1"), Order(number="h2")])
            library.sync(Order.objects.all())
    finally:
        post_save.disconnect(library.write_history, sender=Order)
    (finding,) = recording.findings
    assert "bulk_create()" in finding.title
    assert finding.where.startswith("tests/test_findings.py:")
    assert f"through {library.__name__}.bulk_create_with_history()" in finding.details
    assert any("audit_order_saved" in detail for detail in finding.details)
    assert not any("write_history" in detail for detail in finding.details)


@pytest.mark.django_db(transaction=True)
def test_a_backport_task_enqueued_before_commit_is_named_for_project_receivers(library):
    """The django-tasks backport (Wagtail enqueues through it on Django 5.2) was not
    hooked. An installed package's receiver enqueueing (Wagtail's reference index
    on every save) is its design, not reported."""
    pytest.importorskip("django_tasks", reason="needs the django-tasks backport from PyPI")
    from django_tasks.base import Task

    from tests.testapp.backport_tasks import reindex

    own_enqueue = Task.__dict__["enqueue"]

    def own(sender, instance, **kwargs):
        reindex.enqueue()

    tasks = {"default": {"BACKEND": "django_tasks.backends.dummy.DummyBackend"}}
    post_save.connect(library.enqueue_index, sender=Order, weak=False)
    try:
        with override_settings(TASKS=tasks):
            with signal_inspector.record() as library_only, transaction.atomic():
                Order.objects.create(number="1")
            post_save.connect(own, sender=Order, weak=False)
            with signal_inspector.record() as recording, transaction.atomic():
                Order.objects.create(number="2")
    finally:
        post_save.disconnect(library.enqueue_index, sender=Order)
        post_save.disconnect(own, sender=Order)
    assert library_only.findings == []
    (finding,) = recording.findings
    assert finding.kind == "before_commit"
    assert "own" in finding.receiver and "enqueued task" in finding.title
    assert "reindex" in finding.details[0]
    assert Task.__dict__["enqueue"] is own_enqueue  # idle: the backport's own again


@pytest.fixture
def celery_app():
    """A real Celery app on its in-memory broker (no worker: messages stay queued)."""
    celery = pytest.importorskip("celery", reason="needs Celery from PyPI")
    app = celery.Celery("si_tests", broker="memory://", backend="cache+memory://")
    app.conf.task_always_eager = False

    @app.task(name="si_tests.reindex")
    def reindex(pk=None):
        return pk

    yield app, reindex
    app.close()


@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize("eager", [False, True])
def test_celery_tasks_queued_before_commit_are_named_once_each(celery_app, eager):
    """delay(), apply_async() (which calls send_task() itself: counted once) and
    app.send_task() by name, which went unseen; in eager mode too (the code is
    the production code). Autocommit and on_commit() are where they belong."""
    from celery.app.base import Celery
    from celery.app.task import Task

    app, reindex = celery_app
    app.conf.task_always_eager = eager
    own_apply, own_send = Task.__dict__["apply_async"], Celery.__dict__["send_task"]
    signal = Signal()

    def queue(sender, **kwargs):
        reindex.delay(1)
        if not eager:
            app.send_task("si_tests.by_name", args=[1])

    def queue_later(sender, **kwargs):
        transaction.on_commit(lambda: reindex.delay(2))

    signal.connect(queue, weak=False)
    signal.connect(queue_later, weak=False)
    with signal_inspector.record() as inside, transaction.atomic():
        signal.send(sender=None)
    with signal_inspector.record() as autocommit:
        signal.send(sender=None)
    (finding,) = inside.findings
    assert finding.kind == "before_commit" and "queue" in finding.receiver
    assert finding.count == (1 if eager else 2)
    expected = ["si_tests.reindex"] if eager else ["si_tests.reindex", "si_tests.by_name"]
    assert finding.details == expected
    assert autocommit.findings == []
    assert Task.__dict__["apply_async"] is own_apply
    assert Celery.__dict__["send_task"] is own_send


@pytest.fixture
def memcached():
    """A memcached speaking just enough of the text protocol for get/set/delete,
    on a free local port; the client is the real pymemcache."""
    pytest.importorskip("pymemcache", reason="needs pymemcache from PyPI")
    server = socket.create_server(("127.0.0.1", 0))
    server.settimeout(5)
    replies = {b"get": b"END\r\n", b"set": b"STORED\r\n", b"delete": b"NOT_FOUND\r\n"}

    def serve():
        try:
            conn, _ = server.accept()
        except OSError:
            return
        with conn:
            buffered = b""
            while chunk := conn.recv(4096):
                buffered += chunk
                while b"\r\n" in buffered:
                    line, _, buffered = buffered.partition(b"\r\n")
                    command = line.split(b" ", 1)[0]
                    if command == b"set":  # its data line follows
                        _, _, buffered = buffered.partition(b"\r\n")
                    conn.sendall(replies.get(command, b"ERROR\r\n"))

    thread = threading.Thread(target=serve, daemon=True)
    thread.start()
    yield server.getsockname()[1]
    server.close()
    thread.join(5)


@pytest.mark.django_db
def test_a_receiver_using_the_configured_cache_server_is_not_a_network_finding(memcached):
    """A cache is meant to be used while the request waits (Wagtail clears its
    site root paths from the cache in a post_save receiver): the first call
    connects, and that connection was reported."""
    from django.core.cache import caches

    location = f"127.0.0.1:{memcached}"
    cache_settings = {
        "default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"},
        "shared": {
            "BACKEND": "django.core.cache.backends.memcached.PyMemcacheCache",
            "LOCATION": location,
        },
    }
    signal = Signal()

    def clear_cache(sender, **kwargs):
        caches["shared"].delete("site_root_paths")

    signal.connect(clear_cache, weak=False)
    with override_settings(CACHES=cache_settings):
        try:
            with signal_inspector.record() as recording:
                signal.send(sender=None)
                signal.send(sender=None)
        finally:
            caches["shared"].close()
    assert recording.findings == []
    with override_settings(CACHES={"default": cache_settings["default"]}):
        other = Signal()
        other.connect(
            lambda sender, **kw: socket.create_connection(("127.0.0.1", memcached)).close(),
            weak=False,
        )
        with signal_inspector.record() as unconfigured:
            other.send(sender=None)
    assert kinds(unconfigured) == ["network"]  # the same server, not a configured cache


@pytest.mark.django_db
def test_an_update_through_a_packages_queryset_subclass_is_the_projects(library):
    """A package's QuerySet subclass overriding update() (calling Django's) made
    the project's own update() invisible: the first frame was the package's."""
    Order.objects.create(number="1")
    with signal_inspector.record() as recording:
        library.ArchivingQuerySet(Order).filter(number="1").update(paid=True)
    (finding,) = recording.findings
    assert "testapp.Order.objects.update()" in finding.title
    assert finding.where.startswith("tests/test_findings.py:")
    assert f"through {library.__name__}.ArchivingQuerySet.update()" in finding.details


SHELL_CODE = """
from django.dispatch import Signal
from tests.testapp.models import AuditLog

def count_audits(sender, **kwargs):
    AuditLog.objects.filter(message=str(sender)).count()

typed = Signal()
typed.connect(count_audits, weak=False)
for number in range(6):
    typed.send(sender=number)
"""


@pytest.mark.django_db
def test_a_receiver_typed_to_shell_c_is_the_users():
    """Code given to `manage.py shell -c` runs in Django's shell module's globals:
    its receivers looked like Django's and their findings were dropped."""
    from django.core.management import call_command

    with signal_inspector.record() as recording:
        call_command("shell", command=SHELL_CODE)
    (finding,) = recording.findings
    assert finding.kind == "repeated_query" and finding.count == 6
    assert finding.receiver == "django.core.management.commands.shell.count_audits"
