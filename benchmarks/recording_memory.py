"""Memory of a recording of 20,000 sends: peak while recording, retained after.

Each send is a model-style send (sender a model class, an instance in kwargs)
with two receivers, one of which fires a nested send, so the record has the
shape of real traffic. Measured with tracemalloc. Not a test.

    python benchmarks/recording_memory.py [--sends N]
"""

from __future__ import annotations

import argparse
import gc
import json
import sys
import tracemalloc
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import django
from django.conf import settings

settings.configure(
    DEBUG=False,
    SECRET_KEY="bench",
    INSTALLED_APPS=["django.contrib.contenttypes", "django.contrib.auth"],
    DATABASES={"default": {"ENGINE": "django.db.backends.sqlite3", "NAME": ":memory:"}},
)
django.setup()

from django.contrib.auth.models import User  # noqa: E402
from django.dispatch import Signal  # noqa: E402

import signal_inspector  # noqa: E402

outer = Signal()
inner = Signal()


def first(sender, instance, **kwargs):
    inner.send(sender=sender, instance=instance)
    return instance.pk


def second(sender, **kwargs):
    return None


outer.connect(first, weak=False)
outer.connect(second, weak=False)
inner.connect(second, weak=False)


def measure(sends: int, max_sends: int) -> dict[str, float]:
    users = [User(pk=i, username=f"user{i}") for i in range(100)]
    gc.collect()
    tracemalloc.start()
    before = tracemalloc.get_traced_memory()[0]
    with signal_inspector.record(max_sends=max_sends) as recording:
        for i in range(sends // 2):  # each outer send fires one inner send
            outer.send(sender=User, instance=users[i % 100], note="x" * 50)
    during_current, peak = tracemalloc.get_traced_memory()
    data = recording.to_dict()
    json_bytes = len(json.dumps(data))
    del data
    gc.collect()
    retained = tracemalloc.get_traced_memory()[0] - before
    tracemalloc.stop()
    return {
        "sends": recording.total_sends,
        "kept": recording.kept_sends,
        "peak_mb": (peak - before) / 1e6,
        "retained_mb": retained / 1e6,
        "json_mb": json_bytes / 1e6,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sends", type=int, default=20_000)
    args = parser.parse_args()
    print(f"Python {sys.version.split()[0]}, Django {django.__version__}")
    for max_sends in (1000, args.sends):
        result = measure(args.sends, max_sends)
        print(
            f"{result['sends']:>6} sends, MAX_SENDS={max_sends:>6} ({result['kept']} kept): "
            f"peak {result['peak_mb']:.1f} MB, retained by the recording {result['retained_mb']:.1f} MB, "
            f"to_dict() as JSON {result['json_mb']:.1f} MB"
        )


if __name__ == "__main__":
    main()
