"""The ``SIGNAL_INSPECTOR`` setting: defaults, validation and one cached accessor."""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any

from django.conf import settings
from django.core.signals import setting_changed

SETTING_NAME = "SIGNAL_INSPECTOR"

DEFAULTS: dict[str, Any] = {
    # Detailed send records kept per recording; beyond it sends are only counted.
    "MAX_SENDS": 1000,
    # Longest repr kept for a sender, kwarg, return value or exception message.
    "MAX_REPR_LENGTH": 200,
    # Modules whose frames are skipped when finding where a send fired.
    "SKIP_MODULES": [],
    # Dotted signal names never recorded (e.g. "django.db.models.signals.pre_init").
    "IGNORE_SIGNALS": [],
    # Receivers slower than this many milliseconds are flagged in the panel.
    "SLOW_RECEIVER_MS": 50.0,
    # A receiver running one query shape this many times in a recording: N+1.
    "REPEATED_QUERY_THRESHOLD": 5,
    # Known bypasses not to report: "app_label.Model" or a receiver's dotted name.
    "ACKNOWLEDGED_BYPASSES": [],
    # Look for the signal problems of findings.py (bulk updates, N+1 by receiver,
    # network I/O, work handed over before commit) while recording.
    "FINDINGS": True,
    # Signal spans and metrics in OpenTelemetry traces: True, or a dict of
    # OPENTELEMETRY_OPTIONS (see docs/opentelemetry.md). Off by default.
    "OPENTELEMETRY": False,
}

# The options of OPENTELEMETRY as a dict; True means all of these defaults.
OPENTELEMETRY_OPTIONS: dict[str, Any] = {
    # Signal spans (sends and receivers) at most per recording (request, task,
    # command); past it receivers are summarised on their send's span.
    "MAX_SPANS": 100,
    # Receivers faster than this many milliseconds are folded into their
    # send's span (0: every receiver is a span of its own).
    "FOLD_BELOW_MS": 0.0,
    # The django.signal.receiver.duration histogram.
    "METRICS": True,
}

_OTEL_TYPES: dict[str, tuple[type, ...]] = {
    "MAX_SPANS": (int,),
    "FOLD_BELOW_MS": (int, float),
    "METRICS": (bool,),
}

_TYPES: dict[str, tuple[type, ...]] = {
    "MAX_SENDS": (int,),
    "MAX_REPR_LENGTH": (int,),
    "SKIP_MODULES": (list, tuple),
    "IGNORE_SIGNALS": (list, tuple),
    "SLOW_RECEIVER_MS": (int, float),
    "REPEATED_QUERY_THRESHOLD": (int,),
    "ACKNOWLEDGED_BYPASSES": (list, tuple),
    "FINDINGS": (bool,),
}

# Frames from these packages are never "where a send fired".
ALWAYS_SKIPPED = (
    "django",
    "signal_inspector",
    "asgiref",
    "asyncio",
    "concurrent",
    "threading",
    "contextlib",
    "functools",
    "debug_toolbar",
)


@dataclass(frozen=True)
class Config:
    max_sends: int = DEFAULTS["MAX_SENDS"]
    max_repr_length: int = DEFAULTS["MAX_REPR_LENGTH"]
    skip_modules: tuple[str, ...] = ALWAYS_SKIPPED
    ignore_signals: frozenset[str] = field(default_factory=frozenset)
    slow_receiver_ms: float = DEFAULTS["SLOW_RECEIVER_MS"]
    repeated_query_threshold: int = DEFAULTS["REPEATED_QUERY_THRESHOLD"]
    acknowledged_bypasses: frozenset[str] = field(default_factory=frozenset)
    findings: bool = DEFAULTS["FINDINGS"]
    # None: off; else the OPENTELEMETRY options, merged over their defaults.
    opentelemetry: OpenTelemetryOptions | None = None


@dataclass(frozen=True)
class OpenTelemetryOptions:
    max_spans: int = OPENTELEMETRY_OPTIONS["MAX_SPANS"]
    fold_below_ms: float = OPENTELEMETRY_OPTIONS["FOLD_BELOW_MS"]
    metrics: bool = OPENTELEMETRY_OPTIONS["METRICS"]


def validate(value: Any) -> list[str]:
    """Return one message per problem in a ``SIGNAL_INSPECTOR`` value (empty if valid)."""
    if not isinstance(value, dict):
        return [f"{SETTING_NAME} must be a dict, not {type(value).__name__}."]
    problems = []
    for key in sorted(set(value) - set(DEFAULTS), key=str):
        problems.append(
            f"{SETTING_NAME} has an unknown key {key!r}; "
            f"known keys are {', '.join(sorted(DEFAULTS))}."
        )
    for key, types in _TYPES.items():
        if key not in value:
            continue
        item = value[key]
        if (isinstance(item, bool) and bool not in types) or not isinstance(item, types):
            names = " or ".join(t.__name__ for t in types)
            problems.append(
                f"{SETTING_NAME}[{key!r}] must be {names}, not {type(item).__name__}."
            )
        elif types[0] in (int, float) and not isinstance(item, bool) and not (math.isfinite(item) and item > 0):  # type: ignore[arg-type,operator]
            problems.append(f"{SETTING_NAME}[{key!r}] must be positive, not {item!r}.")
        elif types[0] is list and not all(isinstance(s, str) for s in item):  # type: ignore[attr-defined]
            problems.append(f"{SETTING_NAME}[{key!r}] must hold only strings.")
    if "OPENTELEMETRY" in value:
        problems.extend(_validate_opentelemetry(value["OPENTELEMETRY"]))
    return problems


def _validate_opentelemetry(value: Any) -> list[str]:
    where = f"{SETTING_NAME}['OPENTELEMETRY']"
    if value is False:
        return []
    if value is True or isinstance(value, dict):
        try:
            import opentelemetry.trace  # noqa: F401
        except ImportError:
            return [
                f"{where} is on but opentelemetry-api is not installed: "
                'pip install "django-signal-inspector[otel]".'
            ]
    if isinstance(value, bool):
        return []
    if not isinstance(value, dict):
        return [f"{where} must be True, False or a dict of options, not {type(value).__name__}."]
    problems = [
        f"{where} has an unknown key {key!r}; known keys are "
        f"{', '.join(sorted(OPENTELEMETRY_OPTIONS))}."
        for key in sorted(set(value) - set(OPENTELEMETRY_OPTIONS), key=str)
    ]
    for key, types in _OTEL_TYPES.items():
        if key not in value:
            continue
        item: Any = value[key]
        if (isinstance(item, bool) and bool not in types) or not isinstance(item, types):
            names = " or ".join(t.__name__ for t in types)
            problems.append(f"{where}[{key!r}] must be {names}, not {type(item).__name__}.")
            continue
        number: Any = item
        if key == "MAX_SPANS" and number < 1:
            problems.append(f"{where}['MAX_SPANS'] must be 1 or more, not {number!r}.")
        elif key == "FOLD_BELOW_MS" and not (math.isfinite(number) and number >= 0):
            problems.append(f"{where}['FOLD_BELOW_MS'] must be 0 or more, not {number!r}.")
    return problems


def _opentelemetry(value: Any) -> OpenTelemetryOptions | None:
    if value is False:
        return None
    options = {**OPENTELEMETRY_OPTIONS, **(value if isinstance(value, dict) else {})}
    return OpenTelemetryOptions(
        max_spans=options["MAX_SPANS"],
        fold_below_ms=float(options["FOLD_BELOW_MS"]),
        metrics=options["METRICS"],
    )


def _build() -> Config:
    raw = getattr(settings, SETTING_NAME, None) if settings.configured else None
    if raw is None or validate(raw):
        # A broken setting is reported by the system check; recording goes on
        # with the defaults rather than breaking the application.
        raw = {}
    merged = {**DEFAULTS, **raw}
    return Config(
        max_sends=merged["MAX_SENDS"],
        max_repr_length=max(merged["MAX_REPR_LENGTH"], 10),
        skip_modules=ALWAYS_SKIPPED + tuple(merged["SKIP_MODULES"]),
        ignore_signals=frozenset(merged["IGNORE_SIGNALS"]),
        slow_receiver_ms=float(merged["SLOW_RECEIVER_MS"]),
        repeated_query_threshold=merged["REPEATED_QUERY_THRESHOLD"],
        acknowledged_bypasses=frozenset(merged["ACKNOWLEDGED_BYPASSES"]),
        findings=merged["FINDINGS"],
        opentelemetry=_opentelemetry(merged["OPENTELEMETRY"]),
    )


_config: Config | None = None


def get_config() -> Config:
    """The current configuration, built once and rebuilt when the setting changes."""
    global _config
    if _config is None:
        _config = _build()
    return _config


def _reset(*, setting: str, **kwargs: Any) -> None:
    global _config
    if setting == SETTING_NAME:
        _config = None


setting_changed.connect(_reset, dispatch_uid="signal_inspector.conf.reset")
