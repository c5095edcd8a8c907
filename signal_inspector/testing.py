"""Assertions on the signals a block of code sent, for pytest, unittest and Django's TestCase.

::

    from signal_inspector.testing import capture_signals

    with capture_signals() as signals:
        order.pay()
    signals.assert_sent(order_paid, sender=Order, times=1)
    signals.assert_received(email_receipt, times=1)
    signals.assert_no_errors()

Everything is read from the plain records of a :func:`signal_inspector.record`
block. A failed assertion raises ``AssertionError`` whose message shows what was
recorded, as a tree, so the reader sees what ran instead; bad arguments (an
unknown signal name, say) raise ``ValueError`` naming the close matches.
"""

from __future__ import annotations

import difflib
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager, suppress
from typing import TYPE_CHECKING, Any

from .recording import OUTCOME_CAUGHT, OUTCOME_RAISED

if TYPE_CHECKING:
    from .recording import ReceiverCall, Recording, SendRecord

__all__ = ["SignalCapture", "capture_signals"]

# Tests count sends: keep them all unless told otherwise (a test is short).
DEFAULT_MAX_SENDS = 100_000
_MESSAGE_LINES = 60

# Called with each capture's recording when its block ends (the pytest
# plugin's session report listens here); never allowed to break a test.
_finished: list[Callable[[Recording], None]] = []


@contextmanager
def capture_signals(
    *, max_sends: int = DEFAULT_MAX_SENDS, stacks: bool = False
) -> Iterator[SignalCapture]:
    """Record the signals sent inside the block; yields a :class:`SignalCapture`.

    Like pytest-django's ``django_capture_on_commit_callbacks``: assert on the
    capture after the block (or inside it, on what was sent so far).
    """
    from . import record

    with record(max_sends=max_sends, stacks=stacks) as recording:
        capture = SignalCapture(recording)
        try:
            yield capture
        finally:
            for listener in list(_finished):
                with suppress(Exception):
                    listener(recording)


class SignalCapture:
    """What one :func:`capture_signals` block recorded, and assertions on it."""

    def __init__(self, recording: Recording) -> None:
        self.recording = recording

    def __repr__(self) -> str:
        from .text import summary_line

        return f"<SignalCapture: {summary_line(self.recording)}>"

    # --- reading -----------------------------------------------------------

    def sends(self, signal: Any = None, sender: Any = None) -> list[SendRecord]:
        """Sends that reached a receiver, depth first (nested sends included), in order.

        ``signal``: a ``Signal``, its dotted name or its short name (``"post_save"``);
        ``sender``: a class, a label (``"shop.Order"``) or the object sent.
        """
        signals = self._signals(signal) if signal is not None else None
        senders = self._sender(sender) if sender is not None else None
        return [
            send
            for send in self.recording.iter_sends()
            if (signals is None or send.signal in signals)
            and (senders is None or senders(send.sender))
        ]

    def calls(
        self, receiver: Any = None, *, signal: Any = None, sender: Any = None
    ) -> list[ReceiverCall]:
        """Receiver calls in the order they started (a nested send's calls come
        inside the call that caused them), optionally of one receiver, for one
        signal and sender."""
        match = self._receiver(receiver) if receiver is not None else None
        signals = self._signals(signal) if signal is not None else None
        senders = self._sender(sender) if sender is not None else None
        out: list[ReceiverCall] = []
        pending: list[ReceiverCall] = []
        for top in reversed(self.recording.sends):
            pending.extend(reversed(top.receivers))
        while pending:
            call = pending.pop()
            send: SendRecord | None = call.parent
            if (
                (match is None or match(call.name))
                and (signals is None or (send is not None and send.signal in signals))
                and (senders is None or (send is not None and senders(send.sender)))
            ):
                out.append(call)
            for child in reversed(call.children):
                pending.extend(reversed(child.receivers))
        return out

    def count(self, signal: Any, sender: Any = None) -> int:
        """How many times ``signal`` was sent, with or without a receiver."""
        signals = self._signals(signal)
        senders = self._sender(sender) if sender is not None else None
        silent = sum(
            count
            for (name, label), count in self.recording.silent.items()
            if name in signals and (senders is None or senders(label))
        )
        return len(self.sends(signal, sender)) + silent

    def errors(self) -> list[ReceiverCall]:
        """Receiver calls that raised, whether ``send_robust()`` caught it or not."""
        return [
            call
            for call in self.calls()
            if call.outcome in (OUTCOME_RAISED, OUTCOME_CAUGHT)
        ]

    def to_text(self, **options: Any) -> str:
        """The recorded tree; see :func:`signal_inspector.text.render`."""
        return self.recording.to_text(**options)

    # --- assertions ----------------------------------------------------------

    def assert_sent(self, signal: Any, sender: Any = None, *, times: int | None = None) -> None:
        """``signal`` was sent (by ``sender``): at least once, or exactly ``times``."""
        __tracebackhide__ = True  # pytest: show the test, not this helper
        _check_times(times)
        count = self.count(signal, sender)
        if (count >= 1) if times is None else (count == times):
            return
        expected = "at least once" if times is None else _times(times)
        self._fail(
            f"{self._describe_signal(signal, sender)} was sent {_times(count)}, "
            f"expected {expected}."
        )

    def assert_not_sent(self, signal: Any, sender: Any = None) -> None:
        """``signal`` was never sent (by ``sender``), with or without a receiver."""
        __tracebackhide__ = True
        count = self.count(signal, sender)
        if count:
            self._fail(
                f"{self._describe_signal(signal, sender)} was sent {_times(count)}, "
                "expected never."
            )

    def assert_received(
        self,
        receiver: Any,
        *,
        times: int | None = None,
        signal: Any = None,
        sender: Any = None,
    ) -> None:
        """``receiver`` (a function or its dotted name) ran: at least once, or ``times``."""
        __tracebackhide__ = True
        _check_times(times)
        count = len(self.calls(receiver, signal=signal, sender=sender))
        if (count >= 1) if times is None else (count == times):
            return
        expected = "at least once" if times is None else _times(times)
        detail = self._skipped_note(receiver)
        self._fail(
            f"{self._describe_receiver(receiver, signal, sender)} ran {_times(count)}, "
            f"expected {expected}.{detail}"
        )

    def assert_not_received(self, receiver: Any, *, signal: Any = None, sender: Any = None) -> None:
        """``receiver`` never ran (for ``signal`` and ``sender``)."""
        __tracebackhide__ = True
        count = len(self.calls(receiver, signal=signal, sender=sender))
        if count:
            self._fail(
                f"{self._describe_receiver(receiver, signal, sender)} ran {_times(count)}, "
                "expected never."
            )

    def assert_no_errors(self) -> None:
        """No receiver raised, including inside ``send_robust()``, which swallows errors."""
        __tracebackhide__ = True
        errors = self.errors()
        unseen = self.recording.errors - len(errors)
        if not errors and unseen <= 0:
            return
        lines = [f"{_plural(max(self.recording.errors, len(errors)), 'receiver')} raised:"]
        for call in errors[:10]:
            where = "raised (caught by send_robust)" if call.outcome == OUTCOME_CAUGHT else "raised"
            exc = call.exception
            lines.append(
                f"  {call.name} {where}"
                + (f" {exc.type}: {exc.message}" if exc is not None else "")
            )
            if exc is not None and exc.traceback:
                lines.extend(
                    f"      {frame.file}:{frame.line} in {frame.function}"
                    + (f": {frame.code}" if frame.code else "")
                    for frame in exc.traceback[-4:]
                )
        if len(errors) > 10:
            lines.append(f"  … {len(errors) - 10} more")
        if unseen > 0:
            lines.append(f"  … {unseen} in sends past max_sends={self.recording.max_sends}")
        self._fail("\n".join(lines))

    @property
    def findings(self) -> list[Any]:
        """The recording's findings (see :mod:`signal_inspector.findings`), as data."""
        return list(self.recording.findings)

    def assert_no_findings(self, kind: str | None = None) -> None:
        """No signal problem was found (of ``kind``: "bypassed", "repeated_query",
        "init_query", "network" or "before_commit"), each named on failure."""
        __tracebackhide__ = True
        from .findings import BEFORE_COMMIT, BYPASSED, INIT_QUERY, NETWORK, REPEATED_QUERY

        kinds = (BYPASSED, REPEATED_QUERY, INIT_QUERY, NETWORK, BEFORE_COMMIT)
        if kind is not None and kind not in kinds:
            raise ValueError(f"kind must be one of {', '.join(kinds)}, not {kind!r}")
        found = [f for f in self.findings if kind is None or f.kind == kind]
        if not found:
            return
        lines = [f"{_plural(len(found), 'signal problem')} found:"]
        for finding in found[:10]:
            lines.append("  " + finding.line())
            lines.extend(f"      {detail}" for detail in finding.details[:5])
        self._fail("\n".join(lines))

    def assert_raised(self, receiver: Any, exception: type[BaseException] | str | None = None) -> None:
        """``receiver`` raised (``exception``, a class or its name), caught or not."""
        __tracebackhide__ = True
        match = self._receiver(receiver)
        if exception is not None and not isinstance(exception, (str, type)):
            raise ValueError(f"exception must be an exception class or its name, not {exception!r}")
        wanted = exception if isinstance(exception, str) or exception is None else (
            exception.__qualname__ if exception.__module__ == "builtins"
            else f"{exception.__module__}.{exception.__qualname__}"
        )
        for call in self.errors():
            if not match(call.name) or call.exception is None:
                continue
            if wanted is None or call.exception.type == wanted or (
                "." not in wanted and call.exception.type.rsplit(".", 1)[-1] == wanted
            ):
                return
        what = f" {wanted}" if wanted else ""
        self._fail(f"{self._describe_receiver(receiver, None, None)} did not raise{what}.")

    # --- helpers -------------------------------------------------------------

    def _fail(self, message: str) -> None:
        __tracebackhide__ = True
        tree = self.recording.to_text(max_lines=_MESSAGE_LINES)
        raise AssertionError(f"{message}\n\nRecorded signals:\n{_indent(tree)}")

    def _skipped_note(self, receiver: Any) -> str:
        match = self._receiver(receiver)
        skipped = sum(
            1
            for send in self.recording.iter_sends()
            for item in send.skipped
            if match(item["name"])
        )
        if not skipped:
            return ""
        return (
            f" It was not run {_times(skipped)} because a receiver before it raised "
            "inside send()."
        )

    def _describe_signal(self, signal: Any, sender: Any) -> str:
        text = " or ".join(sorted(self._signals(signal)))
        return text + (f" from {_sender_text(sender)}" if sender is not None else "")

    def _describe_receiver(self, receiver: Any, signal: Any, sender: Any) -> str:
        text = receiver if isinstance(receiver, str) else _receiver_text(receiver)
        if signal is not None:
            text += f" for {self._describe_signal(signal, sender)}"
        elif sender is not None:
            text += f" for sends from {_sender_text(sender)}"
        return text

    def _recorded_signals(self) -> set[str]:
        names = {send.signal for send in self.recording.iter_sends()}
        names.update(name for name, _ in self.recording.silent)
        return names

    def _signals(self, signal: Any) -> set[str]:
        return resolve_signal(signal, self._recorded_signals())

    def _sender(self, sender: Any) -> Callable[[str], bool]:
        recorded = {send.sender for send in self.recording.iter_sends()}
        recorded.update(label for _, label in self.recording.silent)
        return resolve_sender(sender, recorded)

    def _receiver(self, receiver: Any) -> Callable[[str], bool]:
        recorded = {call.name for send in self.recording.iter_sends() for call in send.receivers}
        recorded.update(
            item["name"] for send in self.recording.iter_sends() for item in send.skipped
        )
        return resolve_receiver(receiver, recorded)


# --- resolving what the test names ----------------------------------------------


def _known_signals() -> set[str]:
    from .naming import iter_module_signals, signal_name

    return {
        name
        for name in (signal_name(signal) for _, _, signal in iter_module_signals())
        if not name.startswith("<")
    }


def resolve_signal(signal: Any, recorded: Iterable[str] = ()) -> set[str]:
    """The recorded names a ``Signal``, a dotted name or a short name stands for."""
    from django.dispatch import Signal

    from .naming import signal_name

    if isinstance(signal, Signal):
        return {signal_name(signal)}
    if not isinstance(signal, str) or not signal:
        raise ValueError(
            "signal must be a Signal, its dotted name (django.db.models.signals.post_save) "
            f"or its short name (post_save), not {signal!r}"
        )
    known = _known_signals() | set(recorded)
    if "." in signal:
        if signal in known:
            return {signal}
        try:
            from django.utils.module_loading import import_string

            found = import_string(signal)
        except Exception:
            found = None
        if isinstance(found, Signal):
            return {signal_name(found)}
    else:
        matches = {name for name in known if name.rsplit(".", 1)[-1] == signal}
        if matches:
            return matches
    raise ValueError(f"Unknown signal {signal!r}.{_close(signal, known, short=True)}")


def resolve_sender(sender: Any, recorded: Iterable[str] = ()) -> Callable[[str], bool]:
    """A test on recorded sender labels: a class, a label or the object itself."""
    from .naming import class_label, sender_label

    if isinstance(sender, type):
        label = class_label(sender)
        return label.__eq__
    if not isinstance(sender, str):
        text = sender_label(sender)
        return text.__eq__
    lowered = sender.lower()
    known = _model_labels() | set(recorded)
    if any(label.lower() == lowered for label in known):
        return lambda label: label.lower() == lowered
    try:
        from django.utils.module_loading import import_string

        found = import_string(sender)
    except Exception:
        found = None
    if isinstance(found, type):
        label = class_label(found)
        return label.__eq__
    raise ValueError(f"Unknown sender {sender!r}.{_close(sender, known)}")


def resolve_receiver(receiver: Any, recorded: Iterable[str] = ()) -> Callable[[str], bool]:
    """A test on recorded receiver names: a function (or method) or its dotted name."""
    if callable(receiver) and not isinstance(receiver, str):
        name = _receiver_text(receiver)
        return name.__eq__
    if not isinstance(receiver, str) or not receiver:
        raise ValueError(
            f"receiver must be a function or its dotted name, not {receiver!r}"
        )
    recorded = set(recorded)
    if receiver in recorded:
        return receiver.__eq__
    known = recorded | _connected_receivers()
    if receiver in known:
        return receiver.__eq__
    if "." not in receiver:
        short = {name for name in known if name.rsplit(".", 1)[-1] == receiver}
        if short:
            return lambda name: name.rsplit(".", 1)[-1] == receiver
    try:
        from django.utils.module_loading import import_string

        found = import_string(receiver)
    except Exception:
        found = None
    if found is not None and callable(found):
        name = _receiver_text(found)
        return name.__eq__
    raise ValueError(f"Unknown receiver {receiver!r}.{_close(receiver, known, short=True)}")


def _receiver_text(receiver: Any) -> str:
    from .naming import receiver_name

    return receiver_name(receiver)


def _sender_text(sender: Any) -> str:
    from .naming import class_label, sender_label

    if isinstance(sender, str):
        return sender
    if isinstance(sender, type):
        return class_label(sender)
    return sender_label(sender)


def _model_labels() -> set[str]:
    try:
        from django.apps import apps

        return {model._meta.label for model in apps.get_models(include_auto_created=True)}
    except Exception:
        return set()


def _connected_receivers() -> set[str]:
    """Names of every receiver connected to a module-level signal right now."""
    try:
        from .receivers import build_map

        return {r.receiver for info in build_map().signals for r in info.receivers}
    except Exception:
        return set()


def _close(word: str, known: set[str], *, short: bool = False) -> str:
    """`` Did you mean: a, b?`` from ``known`` (their short forms too), or ``""``."""
    pool = {name for name in known if not name.startswith("<")}
    by_short: dict[str, set[str]] = {}
    if short:
        for name in pool:
            by_short.setdefault(name.rsplit(".", 1)[-1], set()).add(name)
    candidates = difflib.get_close_matches(word, sorted(pool | set(by_short)), n=5, cutoff=0.6)
    found: list[str] = []
    for candidate in candidates:
        for name in sorted(by_short.get(candidate, {candidate})):
            if name not in found:
                found.append(name)
    if not found:
        return ""
    return " Did you mean: " + ", ".join(found[:5]) + "?"


def _check_times(times: int | None) -> None:
    if times is not None and (isinstance(times, bool) or not isinstance(times, int) or times < 0):
        raise ValueError(f"times must be a whole number (0 or more), not {times!r}")


def _plural(count: int, word: str) -> str:
    return f"{count} {word}" if count == 1 else f"{count} {word}s"


def _times(count: int) -> str:
    return {0: "0 times", 1: "once"}.get(count, f"{count} times")


def _indent(text: str) -> str:
    return "\n".join("  " + line for line in text.splitlines())
