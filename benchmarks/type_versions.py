"""What recordings leave behind in CPython: idle Django after 1,000 recordings
against a fresh process, side by side.

From Python 3.13 a class that used up 1,000 type versions is never specialised
again in that process; every ``setattr`` on a class (and its subclasses) uses one
up once the class is looked up again. signal_inspector runs its hooks in place
(slots.py), except ``Signal``'s send methods and ``socket.socket.connect``: this
prints, for each class, whether it still has a version after the recordings, and
the time of idle work on it (nothing recording) against a fresh process. Each
variant runs in a child process of its own, alternated; the ratio is of medians.
On Python 3.12 and older there is no budget to use up: expect ×1.00.

    python benchmarks/type_versions.py [--recordings N] [--rounds N]
"""

from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import sys

CHILD = r"""
import json, sys, timeit
import django
from django.conf import settings
settings.configure(
    INSTALLED_APPS=["django.contrib.contenttypes", "django.contrib.auth", "signal_inspector"],
    DATABASES={"default": {"ENGINE": "django.db.backends.sqlite3", "NAME": ":memory:"}},
)
django.setup()
from django.core.management import call_command
call_command("migrate", verbosity=0)
import socket
from django.contrib.auth.models import User
from django.db import connection, connections
from django.db.backends.utils import CursorWrapper
from django.db.models.query import QuerySet
from django.dispatch import Signal
import signal_inspector

User.objects.create(username="a")
signal = Signal()
signal.connect(lambda sender, **kwargs: None, weak=False)
for _ in range(int(sys.argv[1])):
    with signal_inspector.record():
        User.objects.filter(username="a").update(is_active=True)
        signal.send(sender=None)
    User.objects.filter(username="a").update(is_active=True)
    signal.send(sender=None)

users = User.objects.all()
cursor = connection.cursor()
work = {
    "Signal.send(), one receiver": lambda: signal.send(sender=None),
    "a QuerySet chained": lambda: users.filter(username="a").exclude(pk=3).order_by("pk"),
    "a cursor's execute()": lambda: cursor.execute("SELECT 1"),
    "a socket's attributes": lambda: (socket.socket.family, socket.socket.type),
}
out = {}
for name, action in work.items():
    number = 2000
    out[name] = min(timeit.repeat(action, number=number, repeat=5)) / number
try:
    import _testcapi
    out["versions"] = {
        cls.__name__: bool(_testcapi.type_get_version(cls))
        for cls in (Signal, QuerySet, CursorWrapper, type(connections['default']), socket.socket)
    }
except (ImportError, AttributeError):
    out["versions"] = {}
print(json.dumps(out))
"""


def child(recordings: int) -> dict[str, float]:
    done = subprocess.run(
        [sys.executable, "-c", CHILD, str(recordings)], capture_output=True, text=True, check=True
    )
    result: dict[str, float] = json.loads(done.stdout)
    return result


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--recordings", type=int, default=1000)
    parser.add_argument("--rounds", type=int, default=5)
    args = parser.parse_args()
    fresh: list[dict[str, float]] = []
    after: list[dict[str, float]] = []
    for number in range(args.rounds):
        for recordings, into in ((0, fresh), (args.recordings, after))[:: 1 if number % 2 == 0 else -1]:
            into.append(child(recordings))
    print(f"Python {sys.version.split()[0]}; {args.recordings} recordings; {args.rounds} rounds")
    print(f"still with a type version after them: {after[-1]['versions'] or '(no _testcapi)'}")
    for name in fresh[0]:
        if name == "versions":
            continue
        a = statistics.median(r[name] for r in after)
        f = statistics.median(r[name] for r in fresh)
        print(f"idle {name}: {a * 1e6:.3f} µs after, {f * 1e6:.3f} µs fresh: ×{a / f:.3f}")


if __name__ == "__main__":
    main()
