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

from .connections import assert_connected, assert_not_connected
from .isolation import muted
from .recording import OUTCOME_CAUGHT, OUTCOME_RAISED

if TYPE_CHECKING:
    from .recording import ReceiverCall, Recording, SendRecord

__all__ = ["SignalCapture", "assert_connected", "assert_not_connected", "capture_signals", "muted"]
__unittest = True  # unittest: a failure shows the test's line, not this module's

# Tests count sends: keep them all unless told otherwise (a test is short).
DEFAULT_MAX_SENDS = 100_000
_MESSAGE_LINES = 60

# Called with each capture's recording when its block ends (the pytest
# plugin's session report listens here); never allowed to break a test.
_finished: list[Callable[[Recording], None]] = []


@contextmanager
def capture_signals(
    *,
    max_sends: int = DEFAULT_MAX_SENDS,
    stacks: bool = False,
    keep_kwargs: bool = True,
    mute: Iterable[Any] = (),
) -> Iterator[SignalCapture]:
    """Record the signals sent inside the block; yields a :class:`SignalCapture`.

    Like pytest-django's ``django_capture_on_commit_callbacks``: assert on the
    capture after the block (or inside it, on what was sent so far).
    ``keep_kwargs``: hold the sends' real keyword arguments until the block
    ends, for ``assert_sent(..., order=order)`` inside it. ``mute``: receivers
    (or their dotted names) that do not run inside the block (see :func:`muted`).
    """
    from . import record

    with record(max_sends=max_sends, stacks=stacks) as recording:
        recording.keep_kwargs = keep_kwargs
        capture = SignalCapture(recording)
        try:
            with muted(*mute):
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
            and (senders is None or senders(send.sender) == _YES)
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
                (match is None or match(call.name, call.key))
                and (signals is None or (send is not None and send.signal in signals))
                and (senders is None or (send is not None and senders(send.sender) == _YES))
            ):
                out.append(call)
            for child in reversed(call.children):
                pending.extend(reversed(child.receivers))
        return out

    def count(self, signal: Any, sender: Any = None) -> int:
        """How many times ``signal`` was sent, with or without a receiver (sends
        whose sender the recording cannot tell apart are not counted: see the
        assertions, which say so)."""
        return self._counts(signal, sender)[0]

    def _counts(self, signal: Any, sender: Any) -> tuple[int, int, int]:
        """(sends of ``signal`` from ``sender``, sends that may be: their sender
        recorded as a cut label or as "(other senders)", sends past max_sends,
        counted but not kept, whose signal is not known)."""
        signals = self._signals(signal)
        senders = self._sender(sender) if sender is not None else None
        found = [0, 0, 0]  # indexed by _NO, _MAYBE, _YES
        for send in self.recording.iter_sends():
            if send.signal in signals:
                found[_YES if senders is None else senders(send.sender)] += 1
        # Past its distinct senders the recording counts new ones under "(other
        # senders)"; a sender it already counted under its own label is not there.
        others: dict[str, int] = {}
        named: set[str] = set()
        for (name, label), count in self.recording.silent.items():
            if name not in signals:
                continue
            verdict = _YES if senders is None else senders(label)
            if senders is not None and label == _OTHER_SENDERS:
                others[name] = count
                continue
            if verdict == _YES:
                named.add(name)
            found[verdict] += count
        found[_MAYBE] += sum(count for name, count in others.items() if name not in named)
        return found[_YES], found[_MAYBE], self.recording.dropped

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

    def assert_sent(
        self, signal: Any, sender: Any = None, *, times: int | None = None, **kwargs: Any
    ) -> None:
        """``signal`` was sent (by ``sender``): at least once, or exactly ``times``.

        Keyword arguments select the sends whose own match: by equality or, given
        a callable, by what it returns for the argument (see matching.py).
        """
        __tracebackhide__ = True  # pytest: show the test, not this helper
        _check_times(times)
        if kwargs:
            self._assert_sent_with(signal, sender, times, kwargs)
            return
        count, maybe, unseen = self._counts(signal, sender)
        if count >= 1 if times is None else (count == times and not maybe and not unseen):
            return
        expected = "at least once" if times is None else _times(times)
        self._fail(
            f"{self._describe_signal(signal, sender)} was sent {_times(count)}, "
            f"expected {expected}.{self._unsure_note(sender, maybe, unseen)}"
        )

    def assert_not_sent(self, signal: Any, sender: Any = None, **kwargs: Any) -> None:
        """``signal`` was never sent (by ``sender``; with these keyword arguments)."""
        __tracebackhide__ = True
        if kwargs:
            self._assert_sent_with(signal, sender, 0, kwargs)
            return
        count, maybe, unseen = self._counts(signal, sender)
        if count or maybe or unseen:
            self._fail(
                f"{self._describe_signal(signal, sender)} was sent {_times(count)}, "
                f"expected never.{self._unsure_note(sender, maybe, unseen)}"
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
        unseen = self.recording.dropped  # their receivers are not known
        if (count >= 1) if times is None else (count == times and not unseen):
            return
        expected = "at least once" if times is None else _times(times)
        detail = self._skipped_note(receiver) + self._unsure_note(sender, 0, unseen)
        self._fail(
            f"{self._describe_receiver(receiver, signal, sender)} ran {_times(count)}, "
            f"expected {expected}.{detail}"
        )

    def assert_not_received(self, receiver: Any, *, signal: Any = None, sender: Any = None) -> None:
        """``receiver`` never ran (for ``signal`` and ``sender``)."""
        __tracebackhide__ = True
        count = len(self.calls(receiver, signal=signal, sender=sender))
        unseen = self.recording.dropped  # their receivers are not known
        if count or unseen:
            self._fail(
                f"{self._describe_receiver(receiver, signal, sender)} ran {_times(count)}, "
                f"expected never.{self._unsure_note(sender, 0, unseen)}"
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
            if not match(call.name, call.key) or call.exception is None:
                continue
            if wanted is None or call.exception.type == wanted or (
                "." not in wanted and call.exception.type.rsplit(".", 1)[-1] == wanted
            ):
                return
        what = f" {wanted}" if wanted else ""
        self._fail(f"{self._describe_receiver(receiver, None, None)} did not raise{what}.")

    def assert_matches_snapshot(
        self, *, name: str | None = None, path: Any = None, update: bool | None = None
    ) -> Any:
        """The recording matches the test's snapshot file (written on the first run);
        see :func:`signal_inspector.snapshots.assert_matches_snapshot`."""
        __tracebackhide__ = True
        from .snapshots import assert_matches_snapshot

        return assert_matches_snapshot(self.recording, name=name, path=path, update=update)

    # --- helpers -------------------------------------------------------------

    def _assert_sent_with(
        self, signal: Any, sender: Any, times: int | None, expected: dict[str, Any]
    ) -> None:
        __tracebackhide__ = True
        from . import matching

        matching.check_expected(self, expected)
        sends = self.sends(signal, sender)
        hits = [send for send in sends if matching.matches(self, send, expected)]
        count = len(hits)
        if (count >= 1) if times is None else (count == times):
            return
        silent = self.count(signal, sender) - len(sends)
        wanted = "at least once" if times is None else ("never" if times == 0 else _times(times))
        lines = [
            f"{self._describe_signal(signal, sender)} with {matching.describe(expected)} "
            f"was sent {_times(count)}, expected {wanted}."
        ]
        lines += matching.recorded_lines(hits if times == 0 else sends, silent if times != 0 else 0)
        self._fail("\n".join(lines))

    def _fail(self, message: str) -> None:
        __tracebackhide__ = True
        tree = self.recording.to_text(max_lines=_MESSAGE_LINES)
        raise AssertionError(f"{message}\n\nRecorded signals:\n{_indent(tree)}")

    def _unsure_note(self, sender: Any, maybe: int, unseen: int) -> str:
        note = ""
        if maybe:
            note += (
                f" {_plural(maybe, 'more send')} may be from {_sender_text(sender)}: "
                "the recording kept their sender only as a label cut at "
                f"{self.recording.max_repr_length} characters or as \"(other senders)\"."
            )
        if unseen:
            note += (
                f" {_plural(unseen, 'send')} past max_sends={self.recording.max_sends} "
                "were counted, not kept: any of them may be this one (raise max_sends)."
            )
        return note

    def _skipped_note(self, receiver: Any) -> str:
        match = self._receiver(receiver)
        skipped = sum(
            1
            for send in self.recording.iter_sends()
            for item in send.skipped
            # A receiver known by its key (a bound method, a partial) is matched
            # by it; a stored recording from before skipped receivers had one, not.
            if match(item["name"], item.get("key"))
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
        text = receiver if isinstance(receiver, str) else _receiver_description(receiver)
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

    def _sender(self, sender: Any) -> Callable[[str], int]:
        recorded = {send.sender for send in self.recording.iter_sends()}
        recorded.update(label for _, label in self.recording.silent)
        return _sender_test(sender, recorded, self.recording.max_repr_length)

    def _receiver(self, receiver: Any) -> Callable[[str, str | None], bool]:
        """A test on a call's (name, key): a bound method, a partial or a callable
        object is that one receiver (its key), not every one of its function."""
        key = _own_key(receiver)
        recorded = {call.name for send in self.recording.iter_sends() for call in send.receivers}
        recorded.update(
            item["name"] for send in self.recording.iter_sends() for item in send.skipped
        )
        if key is None and isinstance(receiver, str) and receiver not in recorded:
            # A dotted path to one object's method ("shop.notifier.on_paid"),
            # not a function's name: that object's method only.
            key = _own_key(_imported(receiver))
        if key is not None:
            return lambda name, call_key: call_key == key
        by_name = resolve_receiver(receiver, recorded)
        return lambda name, call_key: by_name(name)


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


# What a recorded sender label says of the sender asked about: not it, maybe
# (the label was cut, or stands for "(other senders)"), it.
_NO, _MAYBE, _YES = 0, 1, 2
_OTHER_SENDERS = "(other senders)"  # bookkeeping's label past its distinct senders


def resolve_sender(sender: Any, recorded: Iterable[str] = ()) -> Callable[[str], bool]:
    """A test on recorded sender labels: a class, a label or the object itself."""
    test = _sender_test(sender, recorded, _default_repr_length())
    return lambda label: test(label) == _YES


def _default_repr_length() -> int:
    from .conf import get_config

    return get_config().max_repr_length


def _sender_test(sender: Any, recorded: Iterable[str], limit: int) -> Callable[[str], int]:
    """A test on recorded sender labels, answering _NO, _MAYBE or _YES.

    ``sender``: a class, the object itself (matched by its label, cut at
    ``limit`` as the recording cut it), a model label or dotted class path
    (``"shop.Order"``), or a string that was itself the sender
    (``sender="payments"``: recorded as ``'payments'``).
    """
    from .naming import class_label, sender_label

    if isinstance(sender, type):
        return _label_test(class_label(sender))
    if not isinstance(sender, str):
        return _label_test(sender_label(sender, limit))
    recorded = set(recorded)
    as_sent = sender_label(sender, limit)  # the string as the sender: its repr
    if as_sent in recorded:
        return _label_test(as_sent)
    lowered = sender.lower()
    labels = _model_labels() | {label for label in recorded if not label.startswith("'")}
    if any(label.lower() == lowered for label in labels):
        return lambda label: (
            _YES if label.lower() == lowered else _MAYBE if label == _OTHER_SENDERS else _NO
        )
    try:
        from django.utils.module_loading import import_string

        found = import_string(sender) if "." in sender else None
    except Exception:
        found = None
    if isinstance(found, type):
        return _label_test(class_label(found))
    if "." in sender:
        # Meant as a label? A close one is a typo ("shop.Ordr"); otherwise it is
        # taken as a string sender, which may never have been sent.
        close = _close(sender, labels)
        if close:
            raise ValueError(
                f"Unknown sender {sender!r}.{close} (A string sent as the sender "
                f"itself is matched once a send from it is recorded: {as_sent}.)"
            )
    return _label_test(as_sent)


def _label_test(wanted: str) -> Callable[[str], int]:
    def test(label: str) -> int:
        if label == wanted:
            return _YES
        if label == _OTHER_SENDERS or (
            label.endswith("…") and len(label) < len(wanted) and wanted.startswith(label[:-1])
        ):
            return _MAYBE
        return _NO

    return test


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


def _imported(path: str) -> Any:
    """What the dotted ``path`` names, or None (never raises)."""
    import importlib
    import sys

    parts = path.split(".")
    for end in range(len(parts) - 1, 0, -1):
        modname = ".".join(parts[:end])
        try:
            found = sys.modules.get(modname) or importlib.import_module(modname)
            for attr in parts[end:]:  # "module.object.method"
                found = getattr(found, attr)
        except Exception:
            continue
        return found
    return None


def _own_key(receiver: Any) -> str | None:
    """The recorded key (naming.code_key) of a receiver that is one object among
    many running the same code: a bound method, a ``functools.partial``, a
    callable instance. None for a function, a class or a name (matched by name)."""
    import functools
    import types

    if isinstance(receiver, (str, type, types.FunctionType, types.BuiltinFunctionType)):
        return None
    if not isinstance(receiver, (types.MethodType, functools.partial)) and not callable(receiver):
        return None
    from .naming import code_key, code_of

    code = code_of(receiver)
    return code_key(receiver, code) if code is not None else None


def _receiver_description(receiver: Any) -> str:
    """The receiver's name, and which one when it is one of many (see _own_key)."""
    import functools
    import types

    from .naming import safe_repr

    name = _receiver_text(receiver)
    if _own_key(receiver) is None:
        return name
    if isinstance(receiver, types.MethodType):
        return f"{name} bound to {safe_repr(receiver.__self__, 80)}"
    if isinstance(receiver, functools.partial):
        args = [safe_repr(arg, 40) for arg in receiver.args[:4]]
        args += [f"{key}={safe_repr(value, 40)}" for key, value in list(receiver.keywords.items())[:4]]
        return f"{name} of ({', '.join(args)})"
    return f"{name} {safe_repr(receiver, 80)}"


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
    except Exception:  # pragma: no cover - defensive: a hint for a failure message never raises
        return set()


def _connected_receivers() -> set[str]:
    """Names of every receiver connected to a module-level signal right now."""
    try:
        from .receivers import build_map

        return {r.receiver for info in build_map().signals for r in info.receivers}
    except Exception:  # pragma: no cover - defensive: a hint for a failure message never raises
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
