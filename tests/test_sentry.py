"""Recording under sentry-sdk's Django integration with ``signals_spans=True``.

Sentry wraps every sync receiver anew on each send (``functools.wraps`` over
the receiver, in ``Signal._live_receivers``). Its patches are for the life of
the process, so the recording runs in a Python of its own, with a real Sentry
client that has no DSN and sends nothing.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

pytest.importorskip("sentry_sdk")

REPO = Path(__file__).resolve().parent.parent

SCRIPT = """
import functools, json
import django, sentry_sdk
from sentry_sdk.integrations.django import DjangoIntegration

sentry_sdk.init(integrations=[DjangoIntegration(signals_spans=True)], traces_sample_rate=1.0)
django.setup()
from django.dispatch import Signal
import signal_inspector

class Storage:
    def __init__(self, name):
        self.name = name

    def clear(self, sender, **kwargs):
        return self.name

def notify(sender, channel, **kwargs):
    return channel

def twice(sender, **kwargs):
    return "twice"

changed = Signal()
first, second = Storage("first"), Storage("second")
changed.connect(first.clear)
changed.connect(second.clear)
changed.connect(functools.partial(notify, channel="email"), weak=False)
changed.connect(functools.partial(notify, channel="slack"), weak=False)
# One function connected twice (two dispatch_uids): it does run twice.
changed.connect(twice, dispatch_uid="one")
changed.connect(twice, dispatch_uid="two")
wrapped = []
with sentry_sdk.start_transaction(name="probe"):
    wrapped = [r.__name__ for r in changed._live_receivers(None)[0]][:1]
    with signal_inspector.record() as recording:
        changed.send(sender=None)
print(json.dumps({
    "sentry_wraps": wrapped,
    "duplicates": recording.duplicates,
    "receivers": [
        [c["name"], c["result"], c["duplicate"], c["location"]]
        for c in recording.to_dict()["sends"][0]["receivers"]
    ],
}))
"""


def run_under_sentry() -> dict[str, Any]:
    env = {**os.environ, "DJANGO_SETTINGS_MODULE": "tests.settings", "PYTHONPATH": str(REPO)}
    done = subprocess.run(
        [sys.executable, "-c", SCRIPT], cwd=REPO, env=env, capture_output=True, text=True,
        timeout=120,
    )
    assert done.returncode == 0, done.stderr
    return json.loads(done.stdout.splitlines()[-1])  # type: ignore[no-any-return]


def test_per_object_and_per_argument_receivers_are_not_ran_twice_under_sentry() -> None:
    data = run_under_sentry()
    # Sentry did wrap them (the wrapper takes the receiver's name by functools.wraps).
    assert data["sentry_wraps"] == ["clear"]
    names = [(name, result, duplicate) for name, result, duplicate, _ in data["receivers"]]
    assert names == [
        ("__main__.Storage.clear", "'first'", False),
        ("__main__.Storage.clear", "'second'", False),
        ("functools.partial(__main__.notify)", "'email'", False),
        ("functools.partial(__main__.notify)", "'slack'", False),
        ("__main__.twice", "'twice'", True),
        ("__main__.twice", "'twice'", True),
    ]
    assert data["duplicates"] == 1
    # Located where the receivers are defined, not in Sentry.
    assert all(location.startswith("<string>:") for *_, location in data["receivers"])
