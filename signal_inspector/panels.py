"""The django-debug-toolbar panel: the only module of the package importing ``debug_toolbar``."""

from __future__ import annotations

import inspect
import os
import re
import sys
from collections.abc import Callable
from typing import Any

from debug_toolbar.panels import Panel
from debug_toolbar.utils import render_stacktrace
from django.template.loader import render_to_string
from django.utils.safestring import SafeString, mark_safe
from django.utils.translation import gettext_lazy as _
from django.utils.translation import ngettext

from .conf import get_config
from .naming import is_sensitive, mask_substitute
from .recorder import begin, end
from .recording import Recording

# Receiver-map rows kept per signal; a project rarely connects more.
_MAP_LIMIT = 200
# Sends listed when the panel opens; a larger MAX_SENDS is stored, not drawn.
MAX_RENDERED_SENDS = 500
# Deeper sends are drawn at this indent; the row still says its depth.
_MAX_INDENT = 12
# A literal assigned to a sensitive name in a source line: ``api_key="..."``.
_ASSIGNED_LITERAL = re.compile(
    r"""(?P<name>[A-Za-z_][\w]*)(?P<quote_name>['"]?)(?P<sep>\s*[:=]\s*)"""
    r"""(?P<prefix>[rbuRBUfF]{0,2})(?P<q>['"])(?P<value>(?:\\.|(?!(?P=q)).)*)(?P=q)"""
)


class SignalInspectorPanel(Panel):
    """Every signal the request sent, the receivers that ran, their time and outcome."""

    is_async = True
    title = _("Signals")
    template = "signal_inspector/panel.html"
    nav_icon = "debug_toolbar/img/signals.svg"

    _recording: Recording | None = None

    # --- recording -------------------------------------------------------------

    # The recording is opened around the rest of the request in process_request(),
    # not in enable_instrumentation(): the toolbar calls disable_instrumentation()
    # only if every panel's enable_instrumentation() returned, so a recording
    # begun there stayed open in the thread, and later requests without the
    # toolbar recorded into it, when a panel after ours failed. Here it closes
    # in the context that opened it, whatever happens.

    def process_request(self, request: Any) -> Any:
        # begin() sets a ContextVar: only this request's context records, so
        # concurrent requests (threads or asyncio tasks) never mix.
        recording = self._recording = begin(
            capture_stacks=bool(self.toolbar.config["ENABLE_STACKTRACES"]),
            # The toolbar's own receivers (its Templates panel listens to
            # template_rendered) must not use up MAX_SENDS.
            ignore_modules=("debug_toolbar",),
        )
        try:
            response = super().process_request(request)
        except BaseException:
            end(recording)
            raise
        if inspect.isawaitable(response):
            return _ended_after(response, recording)
        end(recording)
        return response

    def disable_instrumentation(self) -> None:
        # Only if process_request()'s awaitable was never awaited.
        if self._recording is not None:
            end(self._recording)

    def generate_stats(self, request: Any, response: Any) -> None:
        recording = self._recording
        if recording is None:
            return
        # The toolbar object may outlive the request (the test client keeps its
        # template context); its stats are all that should.
        self._recording = None
        end(recording)
        stats = recording.to_dict()
        # Flat, so the JSON stores never nest deeper than a few levels however
        # deep the cascade (a runaway receiver recurses hundreds of levels).
        stats["sends"] = _flatten(stats["sends"])
        _leave_out_toolbar(stats)
        mask = _line_masker()
        stats["stacks"] = _stack_table(
            stats["sends"],
            _hidden_prefixes(tuple(self.toolbar.config["HIDE_IN_STACKTRACES"])),
            mask,
        )
        _mask_exceptions(stats["sends"], mask)
        stats["slow_receiver_ms"] = get_config().slow_receiver_ms
        stats["receiver_map"] = _receiver_map({s["signal"] for s in stats["sends"]})
        self.record_stats(stats)

    def generate_server_timing(self, request: Any, response: Any) -> None:
        stats = self.get_stats()
        if not stats:
            return
        calls = stats.get("receiver_calls", 0)
        title = ngettext(
            "Signal receivers (%(count)d call)", "Signal receivers (%(count)d calls)", calls
        ) % {"count": calls}
        self.record_server_timing("receivers", title, round(stats.get("receiver_time_ms", 0), 3))

    # --- rendering (stored stats only) -----------------------------------------

    @property
    def nav_subtitle(self) -> str:
        stats = self.get_stats()
        if not stats:
            return ""
        sends = stats.get("total_sends", 0)
        calls = stats.get("receiver_calls", 0)
        parts = [
            ngettext("%(n)d send", "%(n)d sends", sends) % {"n": sends},
            ngettext("%(n)d receiver", "%(n)d receivers", calls) % {"n": calls},
            f"{stats.get('receiver_time_ms', 0.0):.1f} ms",
        ]
        errors = stats.get("errors", 0)
        if errors:
            parts.append(ngettext("%(n)d error", "%(n)d errors", errors) % {"n": errors})
        loops = stats.get("loops", 0)
        if loops:
            parts.append(ngettext("%(n)d loop", "%(n)d loops", loops) % {"n": loops})
        return " · ".join(parts)

    @property
    def content(self) -> SafeString:
        # Safe, as every toolbar panel's: the template escaped it, and with the
        # toolbar's RENDER_PANELS the page includes it with {{ panel.content }}.
        return mark_safe(_compact(render_to_string(self.template, build_context(self.get_stats()))))


async def _ended_after(response: Any, recording: Recording) -> Any:
    """Await the async toolbar's response, then end the recording (in the task
    that began it: the panels' process_request() run in the middleware's task)."""
    try:
        return await response
    finally:
        end(recording)


# Text whose white space shows: left exactly as rendered.
_KEEP_SPACE = re.compile(r"(<pre\b.*?</pre>|<code\b.*?</code>)", re.S)
_LINE_BREAKS = re.compile(r"\s*\n\s*")


def _compact(html: str) -> str:
    """The template's indentation collapsed (outside ``<pre>`` and ``<code>``), as
    the browser would: it is a third of the panel's size on a busy request."""
    return "".join(
        part if index % 2 else _LINE_BREAKS.sub(" ", part)
        for index, part in enumerate(_KEEP_SPACE.split(html))
    )


# --- stats -----------------------------------------------------------------------


def _flatten(sends: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """The send tree as a list, depth first in the order sends started.

    Each send gets ``depth`` and ``parent`` (the id of the send whose receiver
    sent it); each receiver call's ``children`` become the ids of its sends.
    """
    flat: list[dict[str, Any]] = []
    pending: list[tuple[dict[str, Any], int, int | None]] = [
        (send, 0, None) for send in reversed(sends)
    ]
    while pending:
        send, depth, parent = pending.pop()
        send["depth"] = depth
        send["parent"] = parent
        flat.append(send)
        for call in reversed(send["receivers"]):
            children = call["children"]
            call["children"] = [child["id"] for child in children]
            pending.extend((child, depth + 1, send["id"]) for child in reversed(children))
    return flat


def _leave_out_toolbar(stats: dict[str, Any]) -> None:
    """Drop the toolbar's own receivers, and the sends that only they received.

    The toolbar listens to signals to do its work (the Templates panel makes
    every template render send ``template_rendered``); they are noise here.
    """
    removed: set[int] = set()
    kept = []
    for send in stats["sends"]:
        calls = []
        for call in send["receivers"]:
            if call["name"].startswith("debug_toolbar.") and not call["children"]:
                stats["receiver_calls"] -= 1
                if send["depth"] == 0:
                    stats["receiver_time_ms"] -= call["duration_ms"]
                continue
            calls.append(call)
        send["receivers"] = calls
        if calls or send["skipped"]:
            kept.append(send)
        else:
            removed.add(send["id"])
            stats["total_sends"] -= 1
            stats["kept_sends"] -= 1
    if removed:
        for send in kept:
            for call in send["receivers"]:
                call["children"] = [i for i in call["children"] if i not in removed]
    stats["sends"] = kept
    stats["receiver_time_ms"] = round(max(stats["receiver_time_ms"], 0.0), 4)


def _stack_table(
    sends: list[dict[str, Any]], hidden: tuple[str, ...], mask: Callable[[str], str]
) -> list[list[dict[str, Any]]]:
    """Move each send's stack into a table of distinct stacks, hidden frames left out.

    Sends from one loop share one stack: it is filtered, masked, stored and
    rendered once. Each send keeps a ``stack_id`` into the table (or None).
    """
    table: list[list[dict[str, Any]]] = []
    index: dict[tuple[tuple[str, int], ...], int] = {}
    for send in sends:
        frames = send.pop("stack", None) or []
        key = tuple((f["file"], f["line"]) for f in frames)
        stack_id = index.get(key)
        if stack_id is None and frames:
            kept = [
                {**frame, "code": mask(frame["code"])}
                for frame in frames
                if not frame["file"].startswith(hidden)
            ]
            stack_id = index[key] = len(table)
            table.append(kept)
        send["stack_id"] = stack_id
    return table


def _mask_exceptions(sends: list[dict[str, Any]], mask: Callable[[str], str]) -> None:
    """Mask secrets in the source lines of receivers' tracebacks, as in stacks."""
    for send in sends:
        for call in send["receivers"]:
            exception = call.get("exception")
            if exception:
                for frame in exception.get("traceback", []):
                    frame["code"] = mask(frame.get("code", ""))
                exception["text"] = "\n".join(
                    mask(line) for line in exception.get("text", "").split("\n")
                )


def _line_masker() -> Callable[[str], str]:
    """:func:`_mask_code` with a cache: one request repeats the same lines."""
    cache: dict[str, str] = {}

    def mask(line: str) -> str:
        if line not in cache:
            cache[line] = _mask_code(line)
        return cache[line]

    return mask


def _hidden_prefixes(modules: tuple[str, ...]) -> tuple[str, ...]:
    """File-path prefixes of the ``HIDE_IN_STACKTRACES`` modules, and of this package.

    Recorded frames carry file paths, not frame objects, so the toolbar's
    module test is done on where each module lives.
    """
    prefixes: list[str] = []
    for name in (*modules, __package__ or "signal_inspector"):
        module = sys.modules.get(name)
        if module is None:
            continue
        paths = getattr(module, "__path__", None)
        if paths:
            prefixes.extend(os.path.join(os.path.abspath(p), "") for p in paths)
        elif getattr(module, "__file__", None):
            prefixes.append(os.path.abspath(module.__file__))
    return tuple(prefixes)


def _mask_code(line: str) -> str:
    """Hide literals assigned to secret-looking names in a source line.

    Frames show the line that sent the signal, and that line is where a
    developer writes ``api_key="sk-live-..."``.
    """
    if not line or ("=" not in line and ":" not in line):
        return line

    def replace(match: re.Match[str]) -> str:
        if not is_sensitive(match["name"]):
            return match[0]
        q = match["q"]
        return (
            f"{match['name']}{match['quote_name']}{match['sep']}{match['prefix']}"
            f"{q}{mask_substitute()}{q}"
        )

    return _ASSIGNED_LITERAL.sub(replace, line)


def _receiver_map(signal_names: set[str]) -> dict[str, Any]:
    """The connected receivers of the signals this request sent, and their duplicates."""
    try:
        from .receivers import build_map
    except ImportError:  # the static map is optional for the panel
        return {}
    try:
        selected = build_map().select(signals=signal_names)
    except Exception:  # a map that cannot be built must not break the page
        return {}
    signals = []
    for info in selected.signals:
        receivers = []
        for r in info.receivers[:_MAP_LIMIT]:
            receivers.append(
                {
                    "position": r.position,
                    "receiver": r.receiver,
                    "defined_at": r.defined_at,
                    "sender": r.sender,
                    "connected_at": r.connected_at,
                    "connect_note": r.connect_note,
                    "dispatch_uid": r.dispatch_uid,
                    "is_async": r.is_async,
                    "duplicate": bool(r.duplicate_groups),
                }
            )
        signals.append(
            {
                "signal": info.name,
                "receivers": receivers,
                "more": len(info.receivers) - len(receivers),
            }
        )
    duplicates = [
        {
            "signal": d.signal,
            "receiver": d.receiver,
            "runs": d.runs,
            "message": d.message,
            "fix": d.fix,
        }
        for d in selected.duplicates
    ]
    return {"signals": signals, "duplicates": duplicates}


# --- the template's context --------------------------------------------------------


def _trace(frames: list[dict[str, Any]], *, outermost_first: bool) -> str:
    """Frames in the toolbar's stack-trace markup (escaped by ``format_html``)."""
    from debug_toolbar import settings as dt_settings

    locals_ = "" if dt_settings.get_config()["ENABLE_STACKTRACES_LOCALS"] else None
    ordered = frames if outermost_first else list(reversed(frames))
    return render_stacktrace(
        [
            (
                str(f.get("file", "")),
                f.get("line", 0),
                str(f.get("function", "")),
                str(f.get("code", "")),
                locals_,
            )
            for f in ordered
        ]
    )


def _bar(start_ms: float | None, duration_ms: float, total_ms: float) -> dict[str, float]:
    if not total_ms or start_ms is None:
        return {"x": 0.0, "width": 0.0}
    x = min(max(start_ms / total_ms * 100, 0.0), 100.0)
    width = min(max(duration_ms / total_ms * 100, 0.3), 100.0 - x)
    return {"x": round(x, 3), "width": round(max(width, 0.0), 3)}


def _where(frame: dict[str, Any] | None) -> str:
    if not frame:
        return ""
    return f"{frame.get('file', '')}:{frame.get('line', '')} in {frame.get('function', '')}"


def _send_row(send: dict[str, Any], depth: int, total_ms: float, stack: str) -> dict[str, Any]:
    receivers = send.get("receivers", [])
    raised = any(c.get("outcome") == "raised" for c in receivers)
    return {
        "kind": "send",
        "depth": depth,
        "indent": min(2 * depth, _MAX_INDENT),
        "id": send.get("id"),
        "signal": send.get("signal", ""),
        "method": send.get("method", ""),
        "sender": send.get("sender", ""),
        "fired_at": _where(send.get("fired_at")),
        "kwargs": list(send.get("kwargs", {}).items()),
        "stack": stack,
        "duration_ms": send.get("duration_ms", 0.0),
        "bar": _bar(send.get("start_ms"), send.get("duration_ms", 0.0), total_ms),
        "duplicate": send.get("duplicate", False),
        "loop": send.get("loop", []),
        # Receivers skipped because one raised are listed under that one.
        "skipped": [] if raised else send.get("skipped", []),
        "error": any(c.get("outcome") in ("raised", "caught") for c in receivers),
    }


def _receiver_row(
    call: dict[str, Any], send: dict[str, Any], depth: int, total_ms: float, slow_ms: float
) -> dict[str, Any]:
    exception = call.get("exception")
    raised = call.get("outcome") == "raised"
    return {
        "kind": "receiver",
        "depth": depth,
        "indent": min(2 * depth + 1, _MAX_INDENT),
        "name": call.get("name", ""),
        "location": call.get("location", ""),
        "is_async": call.get("is_async", False),
        "duration_ms": call.get("duration_ms", 0.0),
        "queries": call.get("queries", 0),
        "query_ms": call.get("query_ms", 0.0),
        "inserts": call.get("inserts", 0),
        "outcome": call.get("outcome", ""),
        "result": call.get("result", ""),
        "exception": exception
        and {
            "type": exception.get("type", ""),
            "message": exception.get("message", ""),
            "trace": _trace(exception.get("traceback", []), outermost_first=True),
        },
        "slow": call.get("duration_ms", 0.0) > slow_ms,
        "duplicate": call.get("duplicate", False),
        "loop": call.get("loop", False),
        "on_commit": call.get("on_commit", []),
        "hints": call.get("hints", []),
        "skipped": send.get("skipped", []) if raised else [],
        "bar": _bar(call.get("start_ms"), call.get("duration_ms", 0.0), total_ms),
        "error": call.get("outcome") in ("raised", "caught"),
    }


def build_context(stats: dict[str, Any]) -> dict[str, Any]:
    """Turn stored stats into flat rows for the template; reads nothing but ``stats``."""
    total_ms = float(stats.get("duration_ms") or 0.0)
    slow_ms = float(stats.get("slow_receiver_ms") or get_config().slow_receiver_ms)
    rows: list[dict[str, Any]] = []
    stacks = stats.get("stacks", [])
    first_with: dict[int, int | None] = {}
    sends = stats.get("sends", [])
    by_id = {send["id"]: send for send in sends}
    # A runaway receiver marks every level: show each chain once, counted.
    loops: dict[tuple[str, ...], dict[str, Any]] = {}
    for send in sends:
        if send.get("loop"):
            chain = tuple(send["loop"])
            entry = loops.setdefault(chain, {"chain": list(chain), "count": 0, "send": send["id"]})
            entry["count"] += 1
    # Depth first: a send, then each receiver followed by the sends it caused.
    pending: list[tuple[dict[str, Any], dict[str, Any] | None, int]] = [
        (send, None, 0) for send in reversed(sends) if send.get("parent") is None
    ]
    shown = 0
    while pending:
        item, send, depth = pending.pop()
        if send is None:
            if shown >= MAX_RENDERED_SENDS:
                continue
            shown += 1
            stack_id = item.get("stack_id")
            stack, same_as = "", None
            if stack_id in first_with:
                # Sends from one loop share a stack: render it once.
                same_as = first_with[stack_id]
            elif stack_id is not None and stack_id < len(stacks) and stacks[stack_id]:
                first_with[stack_id] = item.get("id")
                stack = _trace(stacks[stack_id], outermost_first=False)
            row = _send_row(item, depth, total_ms, stack)
            row["stack_same_as"] = same_as
            rows.append(row)
            pending.extend((call, item, depth) for call in reversed(item.get("receivers", [])))
        else:
            rows.append(_receiver_row(item, send, depth, total_ms, slow_ms))
            children = [by_id[i] for i in item.get("children", []) if i in by_id]
            pending.extend((child, None, depth + 1) for child in reversed(children))

    receiver_ms = float(stats.get("receiver_time_ms") or 0.0)
    silent = stats.get("silent", [])
    return {
        "stats": stats,
        "rows": rows,
        "shown_sends": shown,
        "max_rendered": MAX_RENDERED_SENDS,
        "left_out": stats.get("total_sends", 0) - shown,
        "loops": list(loops.values()),
        "slow_count": sum(1 for r in rows if r["kind"] == "receiver" and r["slow"]),
        "slow_receiver_ms": slow_ms,
        "share": (receiver_ms / total_ms * 100) if total_ms else 0.0,
        "silent": sorted(silent, key=lambda s: (-s.get("count", 0), s.get("signal", ""))),
        "silent_total": sum(s.get("count", 0) for s in silent),
        "receiver_map": stats.get("receiver_map") or {},
    }
