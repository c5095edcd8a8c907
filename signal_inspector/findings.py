"""Findings: the signal problems where nothing visibly goes wrong.

- ``bypassed``: ``QuerySet.update()``, ``bulk_create()`` or ``bulk_update()``
  called from the project's code on a model with ``pre_save``/``post_save``
  receivers, which a ``save()`` would have run and these do not.
- ``repeated_query``: a receiver running one SQL shape again and again in one
  recording (N+1 spread over many sends); ``init_query``: any query run by a
  ``pre_init``/``post_init`` receiver (it runs for every row loaded).
- ``network``: an outbound connection made while a receiver runs.
- ``before_commit``: a task enqueued (``django.tasks``, Celery) or mail sent by a
  receiver while a transaction is open, outside ``transaction.on_commit()``.

The hooks (QuerySet's bulk methods, ``socket.socket.connect``, ``Task.enqueue``,
Celery's ``apply_async``, ``EmailMessage.send``) follow the patching rule: put on
with the first recording, taken off with the last (slots.py). Each only reads
the context when this context records; each finding is aggregated under a key,
so a loop of 10,000 calls makes one finding with a count. Receivers of ours and
of django-debug-toolbar are never reported. Hosts are kept without user or
password; queries as their SQL template (no parameters).
"""

from __future__ import annotations

import contextlib
import re
import socket
import sys
import weakref
from contextvars import ContextVar
from dataclasses import dataclass, field
from time import perf_counter
from typing import Any

from .context import current_call, recording_var
from .naming import in_modules, is_project_code, is_project_file, receiver_name, short_path
from .recording import ReceiverCall, Recording
from .slots import INHERITED, OPEN, heal, put, running_ours, swappable, take_off

BYPASSED = "bypassed"
REPEATED_QUERY = "repeated_query"
INIT_QUERY = "init_query"
NETWORK = "network"
BEFORE_COMMIT = "before_commit"

# Distinct findings kept per recording, and distinct (receiver, SQL) pairs tallied.
MAX_FINDINGS = 100
MAX_SHAPES = 2000
_MAX_DETAILS = 10
_NEVER_REPORTED = ("signal_inspector", "debug_toolbar")
_INIT_SIGNALS = ("django.db.models.signals.pre_init", "django.db.models.signals.post_init")

# Set while an on_commit() callback runs (at commit, or at once outside a
# transaction): its work is where it belongs.
in_callback: ContextVar[bool] = ContextVar("signal_inspector_in_on_commit_callback", default=False)


@dataclass(slots=True)
class Finding:
    """One problem, aggregated: ``count`` times, ``time_ms`` in all."""

    kind: str
    title: str
    fix: str
    receiver: str = ""
    where: str = ""
    count: int = 0
    time_ms: float = 0.0
    details: list[str] = field(default_factory=list)
    # The id of the send it concerns (the receiver's), when there is one.
    send_id: int | None = None

    def to_dict(self) -> dict[str, Any]:
        return {
            "kind": self.kind,
            "title": self.title,
            "fix": self.fix,
            "receiver": self.receiver,
            "where": self.where,
            "count": self.count,
            "time_ms": round(self.time_ms, 4),
            "details": list(self.details),
            "send_id": self.send_id,
        }

    def line(self) -> str:
        """The finding in one line (without its details)."""
        times = f" ×{self.count}" if self.count > 1 else ""
        where = f" at {self.where}" if self.where else ""
        return f"{self.kind}{times}: {self.title}{where}. {self.fix}"


_NEVER_PREFIXES = tuple(p + "." for p in _NEVER_REPORTED)


# Code typed to ``manage.py shell -c`` (or piped to it) runs in the shell
# command's globals: its functions are the user's, not Django's.
_TYPED_TO_SHELL = "django.core.management.commands.shell."


def _projects(name: str) -> bool:
    """Whether the receiver named ``name`` is the project's code, its fix the user's."""
    return is_project_code(name) or name.startswith(_TYPED_TO_SHELL)


def _ours(name: str) -> bool:
    return name.startswith(_NEVER_PREFIXES) or name in _NEVER_REPORTED


def _state(recording: Recording) -> dict[Any, Finding]:
    found: dict[Any, Finding] | None = recording.__dict__.get("_findings")
    if found is None:
        found = recording.__dict__["_findings"] = {}
    return found


def _note(
    recording: Recording, key: Any, make: Any, time_ms: float = 0.0
) -> Finding | None:
    found = _state(recording)
    finding = found.get(key)
    if finding is None:
        if len(found) >= MAX_FINDINGS:
            dropped = recording.__dict__["_findings_dropped"] = (
                recording.__dict__.get("_findings_dropped", 0) + 1
            )
            # Said where every reader looks (the panel's notes, to_text(), to_dict()).
            line = f"{dropped} finding(s) past the first {MAX_FINDINGS} were not kept."
            at = recording.__dict__.get("_findings_dropped_at")
            if at is None:
                recording.__dict__["_findings_dropped_at"] = len(recording.limitations)
                recording.limitations.append(line)
            else:
                recording.limitations[at] = line
            return None
        finding = found[key] = make()
    finding.count += 1
    finding.time_ms += time_ms
    return finding


def _call_send_id(call: ReceiverCall | None) -> int | None:
    parent = getattr(call, "parent", None)
    return getattr(parent, "id", None)


# --- the user's frame ----------------------------------------------------------

_SKIP_FILES = ("/django/db/models/", "/django/core/mail/", "/django/tasks/", "/celery/")


_TYPED = ("<string>", "<stdin>", "<console>")
_project_files: dict[str, bool] = {}


def _is_project(filename: str) -> bool:
    project = _project_files.get(filename)
    if project is None:
        if len(_project_files) > 5000:
            _project_files.clear()
        # shell -c and the interactive shell: code the user typed is theirs.
        project = _project_files[filename] = filename in _TYPED or is_project_file(filename)
    return project


# How many frames of an installed package's bulk helper are walked through.
_MAX_HELPER_FRAMES = 4


def _caller(depth: int, operation: str = "") -> tuple[str, bool, str]:
    """(file:line, whether it is the project's own code, helper) of the first
    frame above ``depth`` outside Django's ORM/mail/tasks, Celery and this package.

    An installed package's function named for a bulk operation (simple-history's
    ``bulk_create_with_history``, a QuerySet subclass's own ``update()`` calling
    Django's) called from the project's code is the project's bulk operation:
    then the project's line is given, and ``helper`` names the function
    (``module.qualname``)."""
    frame: Any = sys._getframe(depth)
    first = ""
    helper = ""
    walked = 0
    while frame is not None:
        module = frame.f_globals.get("__name__", "")
        filename = frame.f_code.co_filename
        if module.startswith("signal_inspector") or any(
            part in filename.replace("\\", "/") for part in _SKIP_FILES
        ):
            if first:
                break  # a library's own receiver, task or model method: its design
            frame = frame.f_back
            continue
        where = f"{short_path(filename)}:{frame.f_lineno}"
        if _is_project(filename):
            return where, True, helper if first else ""
        if not first:
            first = where
        name = frame.f_code.co_name
        named = "bulk" in name.lower() or name == operation
        if not named or walked >= _MAX_HELPER_FRAMES:
            break
        if not helper:
            helper = f"{module}.{_qualname(frame)}"
        walked += 1
        frame = frame.f_back
    return first, False, ""


def _qualname(frame: Any) -> str:
    """The qualified name of ``frame``'s function (Python 3.10's code objects have
    no ``co_qualname``: a method is named through its ``self``)."""
    code = frame.f_code
    qualname = getattr(code, "co_qualname", None)
    if qualname is not None:
        return str(qualname)
    owner = frame.f_locals.get("self")
    if owner is not None:
        return f"{type(owner).__qualname__}.{code.co_name}"
    return str(code.co_name)


# --- bypassed receivers --------------------------------------------------------


def _save_receivers(model: type, recording: Recording) -> list[str]:
    """"name (connected at file:line)" of the pre_save/post_save receivers a
    save() of ``model`` would run, ours, the toolbar's and ignored ones left out."""
    from django.db.models.signals import post_save, pre_save
    from django.dispatch.dispatcher import NONE_ID

    from .sites import connect_sites, entry_parts

    out = []
    for label, signal in (("pre_save", pre_save), ("post_save", post_save)):
        if not signal.receivers:
            continue
        sync, asynchronous = signal._live_receivers(model)
        live = {id(r) for r in (*sync, *asynchronous)}
        if not live:
            continue
        sites = connect_sites(signal)
        with signal.lock:
            entries = list(signal.receivers)
        for entry in entries:
            key, ref, _, _ = entry_parts(entry)
            receiver = ref() if isinstance(ref, weakref.ReferenceType) else ref
            if receiver is None or id(receiver) not in live:
                continue
            live.discard(id(receiver))
            name = receiver_name(receiver)
            module = getattr(receiver, "__module__", "") or ""
            if _ours(module) or in_modules(module, recording.ignore_modules):
                continue
            if key[1] == NONE_ID and not _projects(name):
                # An installed package's receiver for every model picks its models
                # itself (Wagtail's set_locale_on_new_instance returns at once for
                # a model that is not translatable): not known to act on this one.
                continue
            site = sites.get(key)
            where = f" (connected at {site[-1].describe()})" if site else ""
            out.append(f"{label}: {name}{where}")
    return out


def _bypassed(recording: Recording, operation: str, queryset: Any, result: Any) -> None:
    from .conf import get_config

    rows = len(result) if isinstance(result, list) else result
    if not isinstance(rows, int) or isinstance(rows, bool) or rows <= 0:
        return  # nothing written, nothing bypassed
    model = getattr(queryset, "model", None)
    meta = getattr(model, "_meta", None)
    if model is None or meta is None:
        return
    label = str(meta.label)
    where, project, helper = _caller(3, operation)
    if not project:
        return  # a library bypassing by design: not the user's to change
    acknowledged = get_config().acknowledged_bypasses
    if label in acknowledged:
        return
    # The helper does what its own package's receivers would (simple-history's
    # bulk_create_with_history writes the history rows).
    package = helper.split(".", 1)[0] + "." if helper else "\0"
    receivers = [
        r for r in _save_receivers(model, recording)
        if r.split(": ", 1)[1].split(" (", 1)[0] not in acknowledged
        and not r.split(": ", 1)[1].startswith(package)
    ]
    if not receivers:
        return
    call = current_call()
    finding = _note(
        recording,
        (BYPASSED, operation, label, where),
        lambda: Finding(
            kind=BYPASSED,
            title=f"{label}.objects.{operation}() sent no pre_save/post_save: "
            f"{len(receivers)} receiver(s) a save() would run did not run",
            fix="Call save() per object, or do what the receivers do for these rows "
            "(or acknowledge it in SIGNAL_INSPECTOR['ACKNOWLEDGED_BYPASSES']).",
            where=where,
            details=receivers[:_MAX_DETAILS],
            send_id=_call_send_id(call),
        ),
    )
    if finding is not None:
        finding.details = receivers[:_MAX_DETAILS]
        if helper:
            finding.details.append(f"through {helper}()")
        rows_line = f"rows: {rows}"
        if finding.count > 1:
            rows_line = f"rows: {rows} (last of {finding.count} calls)"
        finding.details.append(rows_line)


# Set while one bulk operation runs: bulk_update() calls update() itself.
_in_bulk: ContextVar[bool] = ContextVar("signal_inspector_in_bulk", default=False)


# Where each of our wrappers sits: (owner, name), set as _Hook puts it there.
_SLOT = "_signal_inspector_findings_slot"


def _idle(wrapper: Any) -> None:
    """One of ours ran while no recording is open anywhere: if another tool put it
    back after we took it off (a mock.patch ending), it goes (see slots.heal())."""
    if OPEN[0] == 0:
        slot = wrapper.__dict__.get(_SLOT)
        if slot is not None:
            heal(slot[0], slot[1], wrapper)


def _bulk(operation: str) -> Any:
    def make(below: Any) -> Any:
        def wrapper(self: Any, *args: Any, **kwargs: Any) -> Any:
            recording = recording_var.get()
            if recording is None or _in_bulk.get():
                if recording is None:
                    _idle(wrapper)
                return below(self, *args, **kwargs)
            token = _in_bulk.set(True)
            try:
                result = below(self, *args, **kwargs)
            finally:
                _in_bulk.reset(token)
            if recording is not None:
                with contextlib.suppress(Exception):
                    _bypassed(recording, operation, self, result)
            return result

        wrapper.__name__ = wrapper.__qualname__ = operation
        wrapper.__doc__ = getattr(below, "__doc__", None)
        return wrapper

    return make


# --- queries by receiver -------------------------------------------------------


def tally_query(recording: Recording, call: ReceiverCall, sql: Any, ms: float) -> None:
    """Count one query a receiver ran, by receiver and SQL template (the cursor
    wrapper calls it while this context records)."""
    if type(sql) is not str:
        return
    shapes: dict[tuple[str, str], list[Any]] | None = recording.__dict__.get("_query_shapes")
    if shapes is None:
        shapes = recording.__dict__["_query_shapes"] = {}
    key = (call.name, sql)
    entry = shapes.get(key)
    if entry is None:
        if len(shapes) >= MAX_SHAPES:
            return
        parent = call.parent
        entry = shapes[key] = [0, 0.0, getattr(parent, "signal", ""), getattr(parent, "id", None)]
    entry[0] += 1
    entry[1] += ms


_LITERALS = re.compile(r"'(?:[^']|'')*'|\b\d+(?:\.\d+)?\b")
_IN_LISTS = re.compile(r"\(\s*(?:%s|\?|\d+)(?:\s*,\s*(?:%s|\?|\d+))*\s*\)")


def shape(sql: str) -> str:
    """A query's shape: its template with literals and IN lists folded."""
    return _IN_LISTS.sub("(…)", _LITERALS.sub("?", sql))


def _query_findings(recording: Recording) -> list[Finding]:
    from .conf import get_config

    shapes: dict[tuple[str, str], list[Any]] = recording.__dict__.get("_query_shapes", {})
    threshold = get_config().repeated_query_threshold
    grouped: dict[tuple[str, str], list[Any]] = {}
    for (name, sql), (count, ms, signal, send_id) in list(shapes.items()):
        if _ours(name) or in_modules(name, recording.ignore_modules):
            continue
        if not _projects(name):
            # An installed package's receiver (auditlog's log_update reading the
            # old row, Wagtail's reference index, modelsearch's index) queries per
            # save by design, and its fix is not in the project's code.
            continue
        group = grouped.setdefault((name, shape(sql)), [0, 0.0, signal, send_id])
        group[0] += count
        group[1] += ms
    out = []
    for (name, sql), (count, ms, signal, send_id) in grouped.items():
        short = sql if len(sql) <= 300 else sql[:299] + "…"
        if signal in _INIT_SIGNALS:
            event = signal.rsplit(".", 1)[-1]
            out.append(Finding(
                kind=INIT_QUERY,
                title=f"{name} ({event}) ran a query: it runs for every row loaded",
                fix=f"Don't query in {event} receivers; load what they need once, or "
                "move the work to where the rows are used.",
                receiver=name, count=count, time_ms=ms, details=[short], send_id=send_id,
            ))
        elif count >= threshold and sql.lstrip()[:6].upper() in ("SELECT", "WITH"):
            # Reads: a receiver writing a row per save (an audit log) is its job.
            out.append(Finding(
                kind=REPEATED_QUERY,
                title=f"{name} ran the same query {count} times",
                fix="Fetch it once (select_related/prefetch_related, or a cache per "
                "request), or do the work once after the loop that sends.",
                receiver=name, count=count, time_ms=ms, details=[short], send_id=send_id,
            ))
    return out


# --- network I/O ----------------------------------------------------------------


def _database_addresses(databases: Any) -> set[tuple[str, str]]:
    out = set()
    for config in databases.values():
        host = str(config.get("HOST") or "localhost")
        out.add((host, str(config.get("PORT") or "")))
    return out


def _cache_server_addresses(caches: Any) -> set[tuple[str, str]]:
    """(host, port) of the configured cache servers (memcached, Redis): a cache is
    meant to be used while the request waits, as the database is."""
    from urllib.parse import urlsplit

    out = set()
    for config in caches.values():
        locations = config.get("LOCATION") or []
        if isinstance(locations, str):
            locations = locations.split(";") if "://" not in locations else [locations]
        for location in locations:
            location = str(location).strip()
            try:
                if "://" in location:
                    parts = urlsplit(location)
                    host, port = parts.hostname, parts.port
                else:
                    host, _, number = location.rpartition(":")
                    port = int(number)
            except ValueError:
                continue
            if host and port:
                out.add((host.strip("[]"), str(port)))
    return out


def _local_database_addresses() -> set[tuple[str, str]]:
    # Read when a recording first meets an address (see _connected()), not once
    # per process: a project may add databases at run time (connections.databases
    # is settings.DATABASES), and tests change them in place.
    from django.conf import settings

    return _database_addresses(getattr(settings, "DATABASES", {}))


def _cache_addresses() -> set[tuple[str, str]]:
    from django.conf import settings

    return _cache_server_addresses(getattr(settings, "CACHES", {}))


_resolved: dict[str, frozenset[str]] = {}


def _names(host: str) -> frozenset[str]:
    """``host`` and the addresses it resolves to (socket.connect() sees addresses)."""
    names = _resolved.get(host)
    if names is None:
        try:
            found = {str(info[4][0]) for info in socket.getaddrinfo(host, None)}
        except (OSError, UnicodeError):
            found = set()
        if len(_resolved) > 200:
            _resolved.clear()
        names = _resolved[host] = frozenset({host, *found})
    return names


def _address(address: Any) -> tuple[str, str] | None:
    """(host, port) of an AF_INET/AF_INET6 address; None for anything else."""
    if isinstance(address, tuple) and len(address) >= 2:
        return str(address[0]), str(address[1])
    return None


_LOOPBACK = ("localhost", "127.0.0.1", "::1", "")
_DEFAULT_PORTS = ("5432", "3306", "1521")


def _is_database(host: str, port: str) -> bool:
    for db_host, db_port in _local_database_addresses():
        same_port = port == db_port or (not db_port and port in _DEFAULT_PORTS)
        same_host = host == db_host or (host in _LOOPBACK and db_host in _LOOPBACK)
        if same_port and (same_host or host in _names(db_host)):
            return True
    return False


def _is_cache(host: str, port: str) -> bool:
    return any(
        port == cache_port and (host == cache_host or host in _names(cache_host))
        for cache_host, cache_port in _cache_addresses()
    )


def _connected(call: ReceiverCall, address: Any, ms: float) -> None:
    recording = recording_var.get()
    if recording is None or in_callback.get() or _ours(call.name):
        return
    if in_modules(call.name, recording.ignore_modules):
        return
    parts = _address(address)
    if parts is None:
        return
    host, port = parts
    # Each address is placed once per recording: the settings are read at its
    # first connection in the recording, not at every one (a receiver posting
    # per save connects as often as it saves).
    served: dict[tuple[str, str], bool] | None = recording.__dict__.get("_served_here")
    if served is None:
        served = recording.__dict__["_served_here"] = {}
    local = served.get(parts)
    if local is None:
        if len(served) >= MAX_SHAPES:
            served.clear()
        local = served[parts] = _is_database(host, port) or _is_cache(host, port)
    if local:
        return
    target = f"{host}:{port}"
    _note(
        recording,
        (NETWORK, call.name, target),
        lambda: Finding(
            kind=NETWORK,
            title=f"{call.name} connected to {target} while the request waited",
            fix="Move the call to transaction.on_commit() or a task queue, so the "
            "response does not wait for the network.",
            receiver=call.name,
            details=[target],
            send_id=_call_send_id(call),
        ),
        ms,
    )


_in_connect: ContextVar[bool] = ContextVar("signal_inspector_in_connect", default=False)


def _connecting(name: str) -> Any:
    """A wrapper for ``socket.socket.connect``/``connect_ex``."""

    def make(below: Any) -> Any:
        def connect(self: Any, address: Any) -> Any:
            call = current_call()
            if call is None or _in_connect.get():
                if call is None:
                    _idle(connect)
                return below(self, address)
            start = perf_counter()
            # Ours may be under another tool's wrapper that is under ours: once.
            token = _in_connect.set(True)
            try:
                return below(self, address)
            finally:
                _in_connect.reset(token)
                try:  # noqa: SIM105 (suppress() is an object per call)
                    _connected(call, address, (perf_counter() - start) * 1000)
                except Exception:
                    pass

        connect.__name__ = connect.__qualname__ = name
        return connect

    return make


# --- work handed over before commit ---------------------------------------------


def _open_transaction() -> str | None:
    """The alias of a database with a transaction open by the application (a
    test case's own atomic blocks do not count), if any."""
    from django.db import connections

    for connection in connections.all(initialized_only=True):
        if not connection.in_atomic_block:
            continue
        blocks = getattr(connection, "atomic_blocks", [])
        if blocks and all(getattr(block, "_from_testcase", False) for block in blocks):
            continue
        return str(connection.alias)
    return None


def _handed_over(what: str, target: str) -> None:
    call = current_call()
    recording = recording_var.get()
    if call is None or recording is None or in_callback.get() or _ours(call.name):
        return
    if in_modules(call.name, recording.ignore_modules) or not _projects(call.name):
        # Wagtail's update_reference_index_on_save enqueues on every save: its
        # fix is not in the project's code.
        return
    alias = _open_transaction()
    if alias is None:
        return
    finding = _note(
        recording,
        (BEFORE_COMMIT, call.name, what),
        lambda: Finding(
            kind=BEFORE_COMMIT,
            title=f"{call.name} {what} inside an open transaction (database {alias!r})",
            fix="Call it from transaction.on_commit(), so the worker or the mail never "
            "acts on a change that is not committed yet, or is rolled back.",
            receiver=call.name,
            send_id=_call_send_id(call),
        ),
    )
    if finding is not None and target not in finding.details and len(finding.details) < _MAX_DETAILS:
        finding.details.append(target)


def _task_name(task: Any) -> str:
    name = getattr(task, "name", None) or getattr(task, "module_path", None)
    if not isinstance(name, str):
        func = getattr(task, "func", None)
        name = receiver_name(func) if func is not None else type(task).__name__
    return name


# Set while one hand-over runs: Celery's apply_async() calls send_task() itself.
_handing: ContextVar[bool] = ContextVar("signal_inspector_handing_over", default=False)


def _sent_task_name(app: Any, args: tuple[Any, ...], kwargs: dict[str, Any]) -> str:
    name = args[0] if args else kwargs.get("name")
    return name if isinstance(name, str) else "?"


def _enqueue(what: str, name_of: Any = None) -> Any:
    def make(below: Any) -> Any:
        def wrapper(self: Any, *args: Any, **kwargs: Any) -> Any:
            if recording_var.get() is None or _handing.get():
                if recording_var.get() is None:
                    _idle(wrapper)
                return below(self, *args, **kwargs)
            with contextlib.suppress(Exception):
                target = name_of(self, args, kwargs) if name_of else _task_name(self)
                _handed_over(what, target)
            token = _handing.set(True)
            try:
                return below(self, *args, **kwargs)
            finally:
                _handing.reset(token)

        wrapper.__name__ = wrapper.__qualname__ = getattr(below, "__name__", "enqueue")
        wrapper.__doc__ = getattr(below, "__doc__", None)
        return wrapper

    return make


_mailing: ContextVar[bool] = ContextVar("signal_inspector_mailing", default=False)


def _mail(below: Any) -> Any:
    def send(self: Any, *args: Any, **kwargs: Any) -> Any:
        if recording_var.get() is None:
            _idle(send)
            return below(self, *args, **kwargs)
        if _mailing.get():
            return below(self, *args, **kwargs)  # ours under a tool's under ours: once
        try:
            subject = str(getattr(self, "subject", ""))[:80]
            _handed_over("sent mail", repr(subject))
        except Exception:
            pass
        token = _mailing.set(True)
        try:
            return below(self, *args, **kwargs)
        finally:
            _mailing.reset(token)

    send.__doc__ = getattr(below, "__doc__", None)
    return send


# --- install ---------------------------------------------------------------------

# The modules whose classes are hooked only once imported: a project may import
# Celery or django.tasks after the first recording, and must find them hooked.
_OPTIONAL = ("django.tasks.base", "django_tasks.base", "celery.app.task", "celery.app.base")


def _slots() -> list[tuple[type, str, Any]]:
    """(owner, name, make) of every hook, for the modules imported now."""
    from django.core.mail.message import EmailMessage
    from django.db.models.query import QuerySet

    out: list[tuple[type, str, Any]] = [
        (QuerySet, "update", _bulk("update")),
        (QuerySet, "bulk_create", _bulk("bulk_create")),
        (QuerySet, "bulk_update", _bulk("bulk_update")),
        (socket.socket, "connect", _connecting("connect")),
        (socket.socket, "connect_ex", _connecting("connect_ex")),
        (EmailMessage, "send", _mail),
    ]
    tasks = sys.modules.get("django.tasks.base")
    if tasks is not None and hasattr(getattr(tasks, "Task", None), "enqueue"):
        out.append((tasks.Task, "enqueue", _enqueue("enqueued task")))
    # The django-tasks backport (Django 5.2; Wagtail 7+ enqueues through it).
    backport = sys.modules.get("django_tasks.base")
    backport_task = getattr(backport, "Task", None)
    if (
        isinstance(backport_task, type)
        and hasattr(backport_task, "enqueue")
        and backport_task is not getattr(tasks, "Task", None)
    ):
        out.append((backport_task, "enqueue", _enqueue("enqueued task")))
    celery_task = sys.modules.get("celery.app.task")
    if celery_task is not None and hasattr(getattr(celery_task, "Task", None), "apply_async"):
        out.append((celery_task.Task, "apply_async", _enqueue("queued Celery task")))
    celery_app = sys.modules.get("celery.app.base")
    if celery_app is not None and hasattr(getattr(celery_app, "Celery", None), "send_task"):
        out.append(
            (celery_app.Celery, "send_task", _enqueue("queued Celery task", _sent_task_name))
        )
    return out


class _Hook:
    """One hooked attribute, ``make`` building our wrapper of what it holds.

    A plain function runs ours in place (slots.py keeps what it needs for the
    next time). Anything else (``socket.socket.connect``, inherited from C) is
    replaced on the class: the wrapper made last is kept with what the
    attribute held then and the function under it: the next install that finds the attribute as it was puts
    the same wrapper back with one ``setattr``, and takes it off with one, instead
    of building and marking a new one (``slots.put()``/``take_off()`` do the rest:
    a tool's wrapper found there, ours put back by a tool)."""

    __slots__ = ("owner", "name", "make", "held", "below", "wrapper")

    def __init__(self, owner: type, name: str, make: Any) -> None:
        self.owner = owner
        self.name = name
        self.make = make
        self.held: Any = None
        self.below: Any = None
        self.wrapper: Any = None

    def _made(self, below: Any) -> Any:
        self.held = self.owner.__dict__.get(self.name, INHERITED)
        self.below = below
        self.wrapper = self.make(below)
        self.wrapper.__dict__[_SLOT] = (self.owner, self.name)
        return self.wrapper

    def on(self) -> None:
        owner, name = self.owner, self.name
        held = owner.__dict__.get(name, INHERITED)
        if swappable(held) or running_ours(held) is not None:
            put(owner, name, self._made)  # in place: the class stays as it is
        elif (
            self.wrapper is not None
            and held is self.held
            and (held is not INHERITED or getattr(owner, name) is self.below)
        ):
            setattr(owner, name, self.wrapper)
        else:
            put(owner, name, self._made)

    def off(self) -> None:
        owner, name = self.owner, self.name
        if self.wrapper is not None and owner.__dict__.get(name) is self.wrapper:
            if self.held is INHERITED:
                delattr(owner, name)
            else:
                setattr(owner, name, self.held)
        else:
            take_off(owner, name)


# (the optional modules as they were, the hooks for them), worked out once per
# process and again only when one of those modules appears (or goes).
_cache: list[Any] = [None, None]


def _hooks() -> list[_Hook]:
    modules = tuple(map(sys.modules.get, _OPTIONAL))
    if _cache[1] is None or _cache[0] != modules:
        _cache[:] = [modules, [_Hook(*slot) for slot in _slots()]]
    hooks: list[_Hook] = _cache[1]
    return hooks


_installed: list[_Hook] = []
# Whether the hooks are on (the FINDINGS setting, read as the first recording
# opens): queries are tallied by receiver only then.
ACTIVE = [False]


def install() -> None:
    for hook in _hooks():
        hook.on()
        _installed.append(hook)
    ACTIVE[0] = True


def uninstall() -> None:
    ACTIVE[0] = False
    while _installed:
        _installed.pop().off()


def collect(recording: Recording) -> list[Finding]:
    """Every finding of ``recording``, the query ones worked out now."""
    found = list(_state(recording).values())
    return found + _query_findings(recording)
