"""A failure inside our own bookkeeping never reaches the application.

Each part of bookkeeping.py the send methods lean on is made to raise in turn;
the same sends (sync, robust, async, nested, silent, a receiver called twice, a
receiver that fails, a Signal subclass's own send) must give exactly what plain
Django gives, recording or not."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest
from django.dispatch import Signal

import signal_inspector
from signal_inspector import bookkeeping
from signal_inspector.recording import SendRecord

main_signal = Signal()
failing_signal = Signal()
inner_signal = Signal()
nobody_signal = Signal()


class OwnSignal(Signal):
    def send(self, sender: Any, **named: Any) -> list[tuple[Any, Any]]:
        return [(r, r(signal=self, sender=sender, **named)) for r in self._live_receivers(sender)[0]]


own_signal = OwnSignal()


class Sender:
    pass


def value_receiver(sender: Any, **kwargs: Any) -> dict[str, Any]:
    return {"x": kwargs.get("x")}


def nesting_receiver(sender: Any, depth: int = 0, **kwargs: Any) -> str:
    inner = inner_signal.send(sender=sender)
    if depth == 0:
        main_signal.send(sender=sender, depth=1)  # a loop, once
    return f"nested {[r for _, r in inner]}"


def inner_receiver(sender: Any, **kwargs: Any) -> str:
    return "inner"


async def async_receiver(sender: Any, **kwargs: Any) -> str:
    await asyncio.sleep(0)
    return "async"


async def failing_async_receiver(sender: Any, **kwargs: Any) -> str:
    raise KeyError("async broke")


def failing_receiver(sender: Any, **kwargs: Any) -> str:
    raise ValueError("broke")


main_signal.connect(value_receiver, weak=False)
main_signal.connect(value_receiver, weak=False, dispatch_uid="twice")  # called twice
main_signal.connect(nesting_receiver, weak=False)
main_signal.connect(async_receiver, weak=False)
failing_signal.connect(value_receiver, weak=False)
failing_signal.connect(failing_receiver, weak=False)
failing_signal.connect(failing_async_receiver, weak=False)
failing_signal.connect(async_receiver, weak=False)
inner_signal.connect(inner_receiver, weak=False)
own_signal.connect(value_receiver, weak=False)


def _seen(pairs: list[tuple[Any, Any]]) -> list[tuple[str, str]]:
    return [
        (receiver.__name__, f"{type(r).__name__}: {r}" if isinstance(r, BaseException) else repr(r))
        for receiver, r in pairs
    ]


def _scenario() -> list[Any]:
    out: list[Any] = [
        _seen(main_signal.send(sender=Sender, x=1)),
        _seen(failing_signal.send_robust(sender=Sender)),
        _seen(asyncio.run(main_signal.asend(sender=Sender, x=2))),
        _seen(asyncio.run(failing_signal.asend_robust(sender="s"))),
        nobody_signal.send(sender=Sender),
        nobody_signal.send(sender=Sender),
        _seen(own_signal.send(sender="own", x=3)),
    ]
    for send in (failing_signal.send, failing_signal.asend):
        try:
            result = send(sender="s")
            if asyncio.iscoroutine(result):
                asyncio.run(result)
        except Exception as err:
            out.append(f"{type(err).__name__}: {err}")
    return out


def _boom(*args: Any, **kwargs: Any) -> Any:
    raise RuntimeError("bookkeeping broke")


FAULTS = [
    # (object, attribute): what it guards
    (bookkeeping, "describe"),  # info_of(), begin_call(), skip()
    (bookkeeping, "safe_repr"),  # returned(), async_returned()
    (bookkeeping, "exception_info"),  # raised()
    (bookkeeping, "_looping"),  # check_loop(), begin_call()
    (bookkeeping, "_INFO"),  # close_checks()
    (bookkeeping, "close_checks"),  # close()
    (bookkeeping, "signal_name"),  # open_send(), count_silent()
    (SendRecord, "running"),  # finish(), caught(), failed()
]


@pytest.mark.parametrize(("owner", "name"), FAULTS, ids=[name for _, name in FAULTS])
def test_a_failure_in_bookkeeping_leaves_djangos_results_unchanged(monkeypatch, owner, name):
    plain = _scenario()
    monkeypatch.setattr(owner, name, _boom)
    with signal_inspector.record() as recording:
        recorded = _scenario()
    assert recorded == plain
    # asend(): 6.1 runs the sync receivers first, 5.2 and 6.0 alongside the async.
    assert plain[-2] == "ValueError: broke"
    assert plain[-1] in ("ValueError: broke", "KeyError: 'async broke'")
    assert recording.stopped is not None
