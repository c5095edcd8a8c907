"""Recording leaves CPython's type versions alone where it can (slots.py).

Setting an attribute on a class gives it, and every subclass, a new type
version; CPython's specialised attribute lookups start over, and from Python
3.13 a class that used up 1,000 versions is never specialised again in that
process. A plain function runs ours in place (its code swapped), so the classes
below keep the version they had: a recording must not change it.
"""

from __future__ import annotations

import socket

import pytest
from django.core.mail.message import EmailMessage, EmailMultiAlternatives
from django.db import connection, transaction
from django.db.backends.base.base import BaseDatabaseWrapper
from django.db.backends.utils import CursorWrapper
from django.db.models.query import QuerySet
from django.dispatch import Signal

import signal_inspector
from tests.testapp.models import Order

_testcapi = pytest.importorskip("_testcapi", reason="needs CPython's _testcapi (type versions)")
if not hasattr(_testcapi, "type_get_version"):  # pragma: no cover - every CPython we support has it
    pytest.skip("this CPython's _testcapi has no type_get_version()", allow_module_level=True)

IN_PLACE = (QuerySet, CursorWrapper, BaseDatabaseWrapper, EmailMessage, EmailMultiAlternatives)


def versions(classes: tuple[type, ...]) -> dict[str, int]:
    for cls in classes:
        getattr(cls, "__init__")  # a lookup assigns a version if the class has none  # noqa: B009
    return {cls.__qualname__: _testcapi.type_get_version(cls) for cls in classes}


def work() -> None:
    """A query through a receiver, an on_commit(), a bulk update and a mail: every
    hook of ours runs."""
    signal = Signal()

    def receiver(sender, **kwargs):
        Order.objects.filter(number="x").count()
        transaction.on_commit(lambda: None)
        EmailMessage("subject", "body", to=["a@example.com"]).send()

    signal.connect(receiver, weak=False)
    signal.send(sender=None)
    Order.objects.update(paid=True)


@pytest.mark.django_db
def test_a_recording_leaves_the_classes_it_hooks_in_place_their_versions(mailoutbox) -> None:
    classes = (*IN_PLACE, type(connection))
    work()
    before = versions(classes)
    assert all(before.values()), before
    for _ in range(3):
        with signal_inspector.record() as recording:
            work()
            assert versions(classes) == before  # while recording too
        work()
    assert versions(classes) == before
    # The hooks ran: the receiver's query and on_commit() were seen, and its mail.
    [call] = recording.to_dict()["sends"][0]["receivers"]
    assert call["queries"] == 1 and recording.on_commit_count == 1
    assert len(mailoutbox) == 7


@pytest.mark.django_db
def test_six_hundred_recordings_leave_query_set_specialisable(mailoutbox) -> None:
    """On Python 3.13 the old way (a setattr per recording) left QuerySet, the
    cursor and the database wrapper with no version after 500 recordings."""
    for _ in range(600):
        with signal_inspector.record():
            Order.objects.filter(number="x").update(paid=True)
        Order.objects.filter(number="x").update(paid=True)
    assert all(versions((*IN_PLACE, type(connection))).values())


def test_signal_and_socket_are_still_set_on_the_class() -> None:
    """The known exceptions (docs/guarantees.md): Signal's send methods (the
    recorded send must call receivers as deep as Django's) and socket's
    connect(), inherited from C. Their version changes with each recording."""
    before = versions((Signal, socket.socket))
    with signal_inspector.record():
        during = versions((Signal, socket.socket))
    for name in ("Signal", "socket"):
        # A new version, or none left to give (Python 3.13+, after the 600 above).
        assert during[name] != before[name] or during[name] == 0
