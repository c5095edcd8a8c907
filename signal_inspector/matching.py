"""``assert_sent(signal, sender, created=True, order=order)``: what was sent, not only that.

Records hold reprs of keyword arguments (strings, never application objects).
A :func:`~signal_inspector.testing.capture_signals` block also keeps the real
keyword arguments of its detailed sends, by send id on the recording, until the
block ends (``recorder.end()`` lets them go), so a test can compare them by
equality or with a predicate. After the block only ``None``, booleans, integers
and short strings can still be compared, through their exact reprs; anything
else raises ``TypeError`` saying to assert inside the block.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from .recording import SendRecord
    from .testing import SignalCapture

__unittest = True  # unittest: a failure shows the test's line, not this module's

_SHOWN = 10


def matches(capture: SignalCapture, send: SendRecord, expected: dict[str, Any]) -> bool:
    """Whether ``send``'s keyword arguments match every one of ``expected``."""
    live = capture.recording._live_kwargs.get(send.id)
    for name, wanted in expected.items():
        if live is not None:
            if name not in live:
                return False
            actual = live[name]
            if _is_predicate(wanted):
                if not wanted(actual):
                    return False
            elif not _equal(actual, wanted):
                return False
        else:
            recorded = send.kwargs.get(name)
            if recorded is None or recorded != _exact_repr(name, wanted, capture):
                return False
    return True


def check_expected(capture: SignalCapture, expected: dict[str, Any]) -> None:
    """``TypeError`` for what cannot be compared any more (after the block)."""
    recording = capture.recording
    if recording.stopped is None and recording.keep_kwargs:
        return
    why = (
        "the capture_signals() block has ended, and the real keyword arguments are kept "
        "only inside it"
        if recording.keep_kwargs
        else "this capture was opened with keep_kwargs=False"
    )
    for name, wanted in expected.items():
        if _is_predicate(wanted):
            raise TypeError(
                f"{name}= is a predicate, which needs the real argument: {why}. "
                "Make the assertion inside the with block."
            )
        if _exact_repr(name, wanted, capture) is None:
            raise TypeError(
                f"{name}={_short(wanted)} cannot be compared: {why}, and only None, booleans, "
                "integers and short strings are compared by their recorded repr. Make the "
                "assertion inside the with block."
            )


def describe(expected: dict[str, Any]) -> str:
    return ", ".join(
        f"{name}=<predicate {getattr(wanted, '__qualname__', type(wanted).__name__)}>"
        if _is_predicate(wanted) else f"{name}={_short(wanted)}"
        for name, wanted in expected.items()
    )


def recorded_lines(sends: list[SendRecord], silent: int) -> list[str]:
    """The recorded reprs of the sends that did not match, for the failure message."""
    if not sends and not silent:
        return []
    lines = ["Sent with (keyword arguments as recorded):"]
    for index, send in enumerate(sends[:_SHOWN], 1):
        text = ", ".join(f"{key}={value}" for key, value in send.kwargs.items()) or "no keyword arguments"
        lines.append(f"  {index}. {text}")
    if len(sends) > _SHOWN:
        lines.append(f"  … {len(sends) - _SHOWN} more")
    if silent:
        lines.append(
            f"  and {silent} send{'s' if silent != 1 else ''} no receiver heard, counted "
            "without their arguments (they cannot match)."
        )
    return lines


def _is_predicate(value: Any) -> bool:
    return callable(value) and not isinstance(value, type)


def _equal(actual: Any, wanted: Any) -> bool:
    try:
        return bool(actual == wanted)
    except Exception:
        return False


def _exact_repr(name: str, wanted: Any, capture: SignalCapture) -> str | None:
    """The repr a record holds for ``wanted``, when it is exact: None otherwise."""
    from .naming import is_sensitive

    if is_sensitive(name):
        return None  # recorded masked
    limit = capture.recording.max_repr_length
    if wanted is None or wanted is True or wanted is False:
        return repr(wanted)
    kind = type(wanted)
    if (kind is int and -(10**18) < wanted < 10**18) or (kind is str and len(wanted) < limit - 2):
        return repr(wanted)
    return None


def _short(value: Any) -> str:
    from .naming import safe_repr

    return safe_repr(value, 80)


Predicate = Callable[[Any], bool]
