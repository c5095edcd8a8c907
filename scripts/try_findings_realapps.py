"""Try signal_inspector's findings on real third-party apps from PyPI (issue 20).

Builds everything under /tmp/realproj (nothing outside /tmp): a Django project
``proj`` with an app ``books`` whose ``Book`` model is tracked by
django-simple-history, django-auditlog and django-taggit, has a FileField
(django-cleanup), a ``post_save`` receiver of the project's own that reads a row,
calls a Celery task's ``.delay()`` (eager mode, in-memory broker) and sends mail
(django-anymail's test backend); and a Wagtail ``BookPage``.

Usage (the venv needs the apps and signal_inspector installed)::

    python3 -m venv /tmp/realproj/venv
    /tmp/realproj/venv/bin/pip install -e . django-simple-history django-auditlog \
        django-cleanup django-taggit wagtail celery django-anymail django-debug-toolbar \
        pymemcache
    /tmp/realproj/venv/bin/python scripts/try_findings_realapps.py

Each flow runs under ``signal_inspector.record()`` and prints its findings, one a
line, so each can be judged against the apps' code. The last flow goes through
Django's test client with the debug toolbar's signal panel, when the toolbar is
installed. The idle check at the end asserts that, after the recordings, the
hooked methods are exactly their owners' own.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

ROOT = Path("/tmp/realproj")

FILES = {
    "manage.py": """\
import os, sys
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "proj.settings")
from django.core.management import execute_from_command_line
execute_from_command_line(sys.argv)
""",
    "proj/__init__.py": "",
    "proj/settings.py": """\
SECRET_KEY = "x"
DEBUG = True
ALLOWED_HOSTS = ["*"]
INTERNAL_IPS = ["127.0.0.1"]
ROOT_URLCONF = "proj.urls"
USE_TZ = True
DEFAULT_AUTO_FIELD = "django.db.models.AutoField"
INSTALLED_APPS = [
    "django.contrib.auth", "django.contrib.contenttypes", "django.contrib.sessions",
    "django.contrib.messages", "django.contrib.staticfiles", "django.contrib.admin",
    "signal_inspector",
    "simple_history", "auditlog", "taggit", "django_cleanup.apps.CleanupConfig", "anymail",
    "wagtail.contrib.forms", "wagtail.contrib.redirects", "wagtail.embeds", "wagtail.sites",
    "wagtail.users", "wagtail.snippets", "wagtail.documents", "wagtail.images",
    "wagtail.search", "wagtail.admin", "wagtail", "modelcluster",
    "books",
]
MIDDLEWARE = ["django.contrib.sessions.middleware.SessionMiddleware",
              "django.contrib.auth.middleware.AuthenticationMiddleware",
              "django.contrib.messages.middleware.MessageMiddleware",
              "simple_history.middleware.HistoryRequestMiddleware"]
try:
    import debug_toolbar  # noqa: F401
except ImportError:
    pass
else:
    INSTALLED_APPS.insert(0, "debug_toolbar")
    MIDDLEWARE.insert(0, "debug_toolbar.middleware.DebugToolbarMiddleware")
    DEBUG_TOOLBAR_PANELS = ["signal_inspector.panels.SignalInspectorPanel"]
    DEBUG_TOOLBAR_CONFIG = {"SHOW_TOOLBAR_CALLBACK": lambda request: True}
DATABASES = {"default": {"ENGINE": "django.db.backends.sqlite3",
                         "NAME": "/tmp/realproj/db.sqlite3"}}
TEMPLATES = [{"BACKEND": "django.template.backends.django.DjangoTemplates", "APP_DIRS": True,
              "OPTIONS": {"context_processors": [
                  "django.template.context_processors.request",
                  "django.contrib.auth.context_processors.auth",
                  "django.contrib.messages.context_processors.messages"]}}]
STATIC_URL = "/static/"
MEDIA_ROOT = "/tmp/realproj/media"
WAGTAIL_SITE_NAME = "x"
WAGTAILADMIN_BASE_URL = "http://localhost"
EMAIL_BACKEND = "anymail.backends.test.EmailBackend"
ANYMAIL = {}
CELERY_TASK_ALWAYS_EAGER = True
""",
    "proj/celery.py": """\
from celery import Celery
app = Celery("proj", broker="memory://", backend="cache+memory://")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()
""",
    "proj/urls.py": """\
from django.urls import include, path
from books import views
urlpatterns = [path("save/", views.save_books)]
try:
    from debug_toolbar.toolbar import debug_toolbar_urls
except ImportError:
    pass
else:
    urlpatterns += debug_toolbar_urls()
""",
    "books/__init__.py": "",
    "books/migrations/__init__.py": "",
    "books/apps.py": """\
from django.apps import AppConfig
class BooksConfig(AppConfig):
    name = "books"
    def ready(self):
        from . import receivers  # noqa
""",
    "books/models.py": """\
from django.db import models
from simple_history.models import HistoricalRecords
from auditlog.registry import auditlog
from taggit.managers import TaggableManager
from wagtail.models import Page

class Author(models.Model):
    name = models.CharField(max_length=100)

class Book(models.Model):
    title = models.CharField(max_length=100)
    author = models.ForeignKey(Author, on_delete=models.CASCADE, null=True)
    cover = models.FileField(upload_to="covers", blank=True)
    price = models.IntegerField(default=1)
    history = HistoricalRecords()
    tags = TaggableManager(blank=True)

auditlog.register(Book)

class BookPage(Page):
    pass
""",
    "books/receivers.py": """\
from django.core.mail import send_mail
from django.db.models.signals import post_save
from django.dispatch import receiver
from .models import Book, Author
from .tasks import reindex

@receiver(post_save, sender=Book)
def book_saved(sender, instance, created, **kwargs):
    Author.objects.filter(pk=instance.author_id).exists()   # one read per save
    reindex.delay(instance.pk)
    send_mail("saved", "b", "a@example.com", ["b@example.com"])
""",
    "books/tasks.py": """\
from proj.celery import app
@app.task
def reindex(pk):
    return pk
""",
    "books/backport_tasks.py": """\
from django_tasks import task
@task()
def notify(pk):
    return pk
""",
    "books/views.py": """\
from django.db import transaction
from django.http import HttpResponse
from .models import Book

def save_books(request):
    with transaction.atomic():
        for book in Book.objects.all()[:6]:
            book.save()
    Book.objects.filter(price__gte=0).update(price=3)
    return HttpResponse("<html><body>saved</body></html>")
""",
}


def build() -> None:
    """Write the project (once) and migrate it, in a child process."""
    for name, text in FILES.items():
        path = ROOT / name
        path.parent.mkdir(parents=True, exist_ok=True)
        if not path.exists() or path.read_text() != text:
            path.write_text(text)
    if not (ROOT / "books/migrations/0001_initial.py").exists():
        subprocess.run([sys.executable, "manage.py", "makemigrations", "books", "-v0"],
                       cwd=ROOT, check=True)
    subprocess.run([sys.executable, "manage.py", "migrate", "-v0"], cwd=ROOT, check=True)


def show(title: str, recording) -> None:
    print(f"\n== {title}")
    for finding in recording.findings:
        print("  " + finding.line())
        for detail in finding.details:
            print(f"      {detail}")
    if not recording.findings:
        print("  (no finding)")


def main() -> None:
    build()
    sys.path.insert(0, str(ROOT))
    os.chdir(ROOT)
    os.environ["DJANGO_SETTINGS_MODULE"] = "proj.settings"
    import django

    django.setup()
    flows()


def flows() -> None:
    from books.models import Author, Book, BookPage
    from celery.app.task import Task as CeleryTask
    from django.core.files.base import ContentFile
    from django.core.mail import EmailMessage, send_mail
    from django.db import transaction
    from django.db.models.query import QuerySet
    from simple_history.utils import bulk_create_with_history, bulk_update_with_history
    from wagtail.models import Page, Site

    import signal_inspector

    own = {
        (QuerySet, "update"): QuerySet.__dict__["update"],
        (QuerySet, "bulk_create"): QuerySet.__dict__["bulk_create"],
        (EmailMessage, "send"): EmailMessage.__dict__["send"],
        (CeleryTask, "apply_async"): CeleryTask.__dict__["apply_async"],
    }
    from celery.app.base import Celery

    own[(Celery, "send_task")] = Celery.__dict__["send_task"]
    if _has("django_tasks"):
        from django_tasks.base import Task as BackportTask

        own[(BackportTask, "enqueue")] = BackportTask.__dict__["enqueue"]
    codes = {slot: method.__code__ for slot, method in own.items()}
    socket_own = {name: __import__("socket").socket.__dict__.get(name)
                  for name in ("connect", "connect_ex")}

    Book.objects.all().delete()
    author = Author.objects.create(name="A")

    with signal_inspector.record() as r:
        for n in range(6):
            Book.objects.create(title=f"b{n}", author=author)
    show("6 Book.objects.create() in autocommit", r)

    with signal_inspector.record() as r, transaction.atomic():
        for book in Book.objects.all():
            book.price += 1
            book.save()
    show("6 Book.save() inside transaction.atomic()", r)

    with signal_inspector.record() as r:
        book = Book.objects.first()
        book.tags.add("red", "blue")
        book.tags.set(["green"])
        book.tags.remove("green")
    show("taggit: tags.add / set / remove", r)

    with signal_inspector.record() as r:
        book = Book.objects.first()
        book.cover.save("a.txt", ContentFile(b"one"))
        book.cover.save("b.txt", ContentFile(b"two"))  # cleanup deletes a.txt
        book.delete()
    show("django-cleanup: replace a file, delete the book", r)

    with signal_inspector.record() as r:
        Book.objects.filter(price__gte=0).update(price=5)
        books = Book.objects.bulk_create([Book(title="bulk1"), Book(title="bulk2")])
        for b in books:
            b.price = 9
        Book.objects.bulk_update(books, ["price"])
        Book.objects.bulk_create([])
        Author.objects.update(name="B")  # no pre_save/post_save receiver
    show("bulk from project code: update, bulk_create, bulk_update", r)

    with signal_inspector.record() as r:
        made = bulk_create_with_history([Book(title="h1"), Book(title="h2")], Book)
        for b in made:
            b.price = 11
        bulk_update_with_history(made, Book, ["price"])
    show("simple-history's bulk_create_with_history / bulk_update_with_history", r)

    with signal_inspector.record() as r:
        root = Page.get_first_root_node()
        Page.objects.filter(depth__gt=1).exclude(pk__in=Site.objects.values("root_page"))
        home = root.add_child(instance=BookPage(title="Home", slug=f"home-{os.getpid()}"))
        Site.objects.get_or_create(hostname="realproj", defaults={"root_page": home,
                                                                   "site_name": "r"})
        child = home.add_child(instance=BookPage(title="Child", slug="child"))
        other = home.add_child(instance=BookPage(title="Other", slug="other"))
        revision = child.save_revision()
        revision.publish()
        child.title = "Child 2"
        child.save_revision().publish()
        child.move(other, pos="last-child")
        child.refresh_from_db()
        child.unpublish()
        child.delete()
        other.delete()
    show("wagtail: add, publish, revise, move, unpublish, delete pages", r)
    with signal_inspector.record() as r, transaction.atomic():
        page = home.add_child(instance=BookPage(title="In tx", slug="intx"))
        page.save_revision().publish()
    show("wagtail: add and publish inside transaction.atomic()", r)
    home.delete()

    with signal_inspector.record() as r, transaction.atomic():
        send_mail("direct", "b", "a@example.com", ["b@example.com"])
        EmailMessage("msg", "b", "a@example.com", ["b@example.com"]).send()
    show("anymail: mail from the view's own code inside a transaction (no receiver)", r)

    more_flows(author)

    if "debug_toolbar" in sys.modules or _has("debug_toolbar"):
        from django.test import Client

        Book.objects.create(title="for the view", author=author)
        response = Client().get("/save/")
        print("\n== test client GET /save/ with the toolbar:", response.status_code)
        toolbar_check(response)

    for (owner, name), method in own.items():
        assert owner.__dict__[name] is method, f"{owner.__name__}.{name} is not its own"
        # Ours ran in place (its code swapped): the code must be its own again.
        assert method.__code__ is codes[(owner, name)], f"{owner.__name__}.{name} runs other code"
    import socket

    for name, method in socket_own.items():
        assert socket.socket.__dict__.get(name) is method, f"socket.{name} is not its own"
    print("\nidle: QuerySet.update/bulk_create, EmailMessage.send, Celery's Task.apply_async"
          " and send_task, django-tasks' Task.enqueue, socket.connect/connect_ex are their"
          " own again")


def fake_memcached() -> int:
    """A local server speaking just enough memcached for get/set/delete."""
    import socket
    import threading

    server = socket.create_server(("127.0.0.1", 0))
    replies = {b"get": b"END\r\n", b"set": b"STORED\r\n", b"delete": b"NOT_FOUND\r\n"}

    def serve_one(conn):
        with conn:
            buffered = b""
            while chunk := conn.recv(4096):
                buffered += chunk
                while b"\r\n" in buffered:
                    line, _, buffered = buffered.partition(b"\r\n")
                    command = line.split(b" ", 1)[0]
                    if command == b"set":
                        _, _, buffered = buffered.partition(b"\r\n")
                    conn.sendall(replies.get(command, b"ERROR\r\n"))

    def serve():
        while True:
            conn, _ = server.accept()
            threading.Thread(target=serve_one, args=(conn,), daemon=True).start()

    threading.Thread(target=serve, daemon=True).start()
    return server.getsockname()[1]


def more_flows(author) -> None:
    import socket

    from books.models import Book
    from django.core.cache import caches
    from django.db import transaction
    from django.db.models.signals import post_save
    from django.test import override_settings
    from wagtail.models import Page, Site

    import signal_inspector

    if _has("pymemcache"):
        port = fake_memcached()
        memcached = {"default": {
            "BACKEND": "django.core.cache.backends.memcached.PyMemcacheCache",
            "LOCATION": f"localhost:{port}"}}
        with override_settings(CACHES=memcached):
            with signal_inspector.record() as r:
                site, _ = Site.objects.get_or_create(
                    hostname="cached", defaults={"root_page": Page.get_first_root_node()})
                site.site_name = "renamed"
                site.save()  # Wagtail's post_save clears its cache: connects to memcached
                site.delete()
            caches["default"].close()
        show("wagtail Site save/delete with a memcached cache (Wagtail's receivers)", r)

        def webhook(sender, instance, **kwargs):
            with socket.create_connection(("127.0.0.1", port), timeout=5):
                pass

        post_save.connect(webhook, sender=Book, weak=False)
        try:
            with signal_inspector.record() as r:
                Book.objects.create(title="webhooked", author=author)
        finally:
            post_save.disconnect(webhook, sender=Book)
        show("a project receiver connecting out (not a configured cache)", r)

    if _has("django_tasks"):
        from books.backport_tasks import notify

        def enqueue(sender, instance, **kwargs):
            notify.enqueue(instance.pk)

        post_save.connect(enqueue, sender=Book, weak=False)
        try:
            with signal_inspector.record() as r, transaction.atomic():
                Book.objects.create(title="tasked", author=author)
        finally:
            post_save.disconnect(enqueue, sender=Book)
        show("a project receiver enqueueing a django-tasks (backport) task in atomic()", r)

    from proj.celery import app

    app.conf.task_always_eager = False

    def by_name(sender, instance, **kwargs):
        app.send_task("books.tasks.reindex", args=[instance.pk])

    post_save.connect(by_name, sender=Book, weak=False)
    try:
        with signal_inspector.record() as r, transaction.atomic():
            Book.objects.create(title="sent", author=author)
    finally:
        post_save.disconnect(by_name, sender=Book)
        app.conf.task_always_eager = True
    show("Celery not eager (memory broker): delay() and app.send_task() in atomic()", r)


def _has(module: str) -> bool:
    import importlib.util

    return importlib.util.find_spec(module) is not None


def toolbar_check(response) -> None:
    from debug_toolbar.toolbar import DebugToolbar

    store = DebugToolbar._store if hasattr(DebugToolbar, "_store") else None
    toolbar = None
    if store:
        toolbar = list(store.values())[-1]
    else:
        from debug_toolbar.store import get_store

        store = get_store()
        request_ids = list(store.request_ids())
        if request_ids:
            toolbar = DebugToolbar.fetch(request_ids[-1])
    if toolbar is None:
        print("  (no toolbar stored)")
        return
    panel = toolbar.get_panel_by_id("SignalInspectorPanel")
    stats = panel.get_stats()
    for finding in stats.get("findings", []):
        print(f"  {finding['kind']} x{finding['count']}: {finding['title']}")
        for detail in finding["details"]:
            print(f"      {detail}")


if __name__ == "__main__":
    main()
