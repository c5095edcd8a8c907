"""The django-debug-toolbar panel: the only module of the package importing ``debug_toolbar``."""

from __future__ import annotations

import inspect
import os
import re
import sys
from collections.abc import Callable
from typing import Any

from debug_toolbar.decorators import require_show_toolbar
from debug_toolbar.panels import Panel
from debug_toolbar.utils import get_csp_nonce
from django.contrib.auth.decorators import login_not_required
from django.http import Http404, HttpRequest, HttpResponse, JsonResponse
from django.template.loader import render_to_string
from django.urls import NoReverseMatch, URLPattern, path, reverse
from django.utils.safestring import mark_safe
from django.utils.translation import gettext_lazy as _
from django.utils.translation import ngettext

# The system checks, registered when the toolbar imports this panel: W006 must
# speak when the app is missing from INSTALLED_APPS (its ready() is not run).
from . import checks  # noqa: F401
from .conf import get_config
from .drawing.rows import build_context, mark_propagated, receiver_wall_ms
from .drawing.timing import format_ms
from .naming import mask_source_line as _mask_code
from .recorder import begin, end
from .recording import Recording
from .stored import expand, failure_views, panel_sends, sent_signals

__all__ = [
    "SignalInspectorPanel",
    "build_context",
    "export_recording",
    "format_ms",
    "mark_propagated",
    "receiver_wall_ms",
]

# Receiver-map rows kept per signal; a project rarely connects more.
_MAP_LIMIT = 200
# Receiver-map rows kept in all: the map is stored with the request, outside
# the sends' budget (a row is about 350 bytes).
_MAP_TOTAL = 1000


class SignalInspectorPanel(Panel):
    """Every signal the request sent, the receivers that ran, their time and outcome."""

    is_async = True
    title = _("Signals")
    template = "signal_inspector/panel.html"
    nav_icon = "debug_toolbar/img/signals.svg"  # type: ignore[assignment]

    _recording: Recording | None = None
    # Read by templates/debug_toolbar/base.html: subclasses get the stylesheet too.
    loads_signal_inspector_css = True

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
        stats = recording.summary()
        mask = _line_masker()
        # Flat, so the JSON stores never nest deeper than a few levels however
        # deep the cascade (a runaway receiver recurses hundreds of levels);
        # compact (see stored.py); each distinct stack stored once.
        # The toolbar listens to signals to do its work (the Templates panel
        # makes every template render send template_rendered): its own
        # receivers, and the sends only they heard, are noise here.
        stats.update(
            panel_sends(
                recording,
                _hidden_prefixes(tuple(self.toolbar.config["HIDE_IN_STACKTRACES"])),
                mask,
                MAX_STORED_BYTES,
                leave_out="debug_toolbar.",
            )
        )
        left_out = stats.pop("left_out")
        stats["receiver_calls"] -= left_out["receiver_calls"]
        stats["receiver_time_ms"] = round(
            max(stats["receiver_time_ms"] - left_out["receiver_time_ms"], 0.0), 4
        )
        stats["total_sends"] -= left_out["sends"]
        stats["kept_sends"] -= left_out["sends"]
        stats["slow_receiver_ms"] = get_config().slow_receiver_ms
        stats["failures"] = mark_propagated(failure_views(stats))
        stats["receiver_wall_ms"] = round(receiver_wall_ms(stats), 4)
        stats["csp_nonce"] = _page_nonce(request)
        stats["receiver_map"] = _receiver_map(sent_signals(stats))
        self.record_stats(stats)

    def generate_server_timing(self, request: Any, response: Any) -> None:
        stats = self.get_stats()
        if not stats:
            return
        calls = stats.get("receiver_calls", 0)
        title = ngettext(
            "Signal receivers (%(count)d call)", "Signal receivers (%(count)d calls)", calls
        ) % {"count": calls}
        self.record_server_timing("receivers", title, round(receiver_wall_ms(stats), 3))

    # --- rendering (stored stats only) -----------------------------------------

    @property
    def nav_subtitle(self) -> str:
        stats = self.get_stats()
        if not stats:
            return ""
        sends = stats.get("total_sends", 0)
        calls = stats.get("receiver_calls", 0)
        if not sends:
            silent = sum(s.get("count", 0) for s in stats.get("silent", []))
            return str(
                ngettext(
                    "%(n)d silent send (no receiver)", "%(n)d silent sends (no receiver)", silent
                )
                % {"n": silent}
                if silent
                else _("No signal sent")
            )
        parts = [
            ngettext("%(n)d send", "%(n)d sends", sends) % {"n": sends},
            ngettext("%(n)d receiver call", "%(n)d receiver calls", calls) % {"n": calls},
            f"{format_ms(receiver_wall_ms(stats))} ms",
        ]
        errors = stats.get("failures", stats.get("errors", 0))
        if errors:
            parts.append(ngettext("%(n)d error", "%(n)d errors", errors) % {"n": errors})
        loops = stats.get("loops", 0)
        if loops:
            parts.append(ngettext("%(n)d loop", "%(n)d loops", loops) % {"n": loops})
        return " · ".join(parts)

    @property
    def content(self) -> str:
        try:
            url = reverse("djdt:signal_inspector_export")
        except NoReverseMatch:  # the toolbar's URLs without ours: no export link
            url = ""
        if url:
            url = f"{url}?request_id={self.toolbar.request_id}"
        context = build_context(self.get_stats(), export_url=url)
        if url:
            from .graphs import dot_path

            context["export_dot_url"] = f"{url}&format=dot"
            # SVG only where Graphviz can draw it, on this server.
            context["export_svg_url"] = f"{url}&format=svg" if dot_path() else ""
        context["css_in_toolbar"] = _stylesheet_in_toolbar()
        # Escaped by the template; _compact() only collapses white space. Safe,
        # so RENDER_PANELS=True (the content inside the page) draws it as markup.
        return mark_safe(_compact(render_to_string(self.template, context)))

    @classmethod
    def get_urls(cls) -> list[URLPattern]:
        return [path("signals/export/", export_recording, name="signal_inspector_export")]


@login_not_required
@require_show_toolbar
def export_recording(request: HttpRequest) -> HttpResponse:
    """The stored recording of one request, as a JSON download (``format=dot``:
    its cascade as Graphviz DOT; ``format=svg``: drawn by Graphviz; see docs/graphs.md).

    Refused wherever the toolbar is refused, like the toolbar's ``render_panel``.
    """
    from debug_toolbar.store import get_store

    request_id = request.GET.get("request_id", "")
    if not re.fullmatch(r"[0-9a-f]{1,64}", request_id):
        raise Http404("No such request")
    stats = get_store().panel(request_id, SignalInspectorPanel.__name__)
    if not stats:
        raise Http404("No recording for this request")
    data = {key: value for key, value in expand(stats).items() if key != "csp_nonce"}
    extension = request.GET.get("format", "json")
    if extension in ("dot", "svg"):
        from .graphs import GraphvizError, cascade_dot, dot_path, render

        dot = cascade_dot(data, title=f"request {request_id}")
        if extension == "dot":
            response: HttpResponse = HttpResponse(
                dot, content_type="text/vnd.graphviz; charset=utf-8"
            )
        else:
            try:
                # A request thread held for at most this long (the CLI allows a minute).
                svg = render(dot, "svg", timeout=SVG_TIMEOUT)
            except GraphvizError as exc:
                # Graphviz missing: the install hint. Else no server path or stderr:
                # the DOT link next to this one always works.
                message = str(exc) if dot_path() is None else (
                    "Graphviz could not draw this cascade here; download it as DOT instead."
                )
                failed = HttpResponse(message, status=503, content_type="text/plain; charset=utf-8")
                failed["X-Content-Type-Options"] = "nosniff"
                return failed
            response = HttpResponse(svg, content_type="image/svg+xml")
            # Graphviz escapes the labels; should the file be opened from this
            # origin all the same, nothing in it may run.
            response["Content-Security-Policy"] = "default-src 'none'; style-src 'unsafe-inline'"
    else:
        extension = "json"
        response = JsonResponse(data, json_dumps_params={"indent": 1})
    response["Content-Disposition"] = f'attachment; filename="signals-{request_id}.{extension}"'
    response["X-Content-Type-Options"] = "nosniff"
    return response


# Seconds Graphviz may take to draw a request's cascade for the panel's SVG link.
SVG_TIMEOUT = 10.0

# Our override of the toolbar's base template, which loads panel.css with it.
_TOOLBAR_BASE = "debug_toolbar/base.html"
_OUR_BASE = os.path.join(os.path.dirname(os.path.abspath(__file__)), "templates", _TOOLBAR_BASE)


def _stylesheet_in_toolbar() -> bool:
    """Whether the toolbar's base template, as the loader resolves it, is ours or
    extends ours: then panel.css came with the page, under the page's nonce.

    Otherwise the panel's content links it, with the nonce of the request it
    shows, which the page's policy refuses once the History panel switches to
    another request (see docs/panel.md).
    """
    from django.template import Context
    from django.template.loader import get_template
    from django.template.loader_tags import ExtendsNode

    try:
        template = getattr(get_template(_TOOLBAR_BASE), "template", None)
        context = Context()
        for _ in range(8):  # a project's override may extend ours, in turn
            if template is None:
                return False
            if os.path.abspath(str(template.origin.name)) == _OUR_BASE:
                return True
            parent = next((n for n in template.nodelist if isinstance(n, ExtendsNode)), None)
            if parent is None:
                return False
            context.template = template
            template = parent.get_parent(context)
    except Exception:
        # A project's override we cannot follow (``{% extends some_variable %}``):
        # the panel links its stylesheet itself, as without ours.
        return False
    return False


def _page_nonce(request: Any) -> str:
    """The page's CSP nonce if the page used one (asking for one would add it)."""
    nonce = get_csp_nonce(request) if request is not None else None
    # django-csp's and Django's lazy nonces are false until generated.
    return str(nonce) if nonce else ""


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
        elif isinstance(getattr(module, "__file__", None), str):
            prefixes.append(os.path.abspath(str(module.__file__)))
    return tuple(prefixes)


def _receiver_map(signal_names: set[str]) -> dict[str, Any]:
    """The connected receivers of the signals this request sent, and their duplicates."""
    try:
        from .receivers import build_map, discover_signals
    except ImportError:  # pragma: no cover - defensive: receivers.py needs only Django
        return {}
    try:
        # Duplicate groups are per signal: the signals sent are all it needs.
        sent = [(name, signal) for name, signal in discover_signals() if name in signal_names]
        selected = build_map(sent).select(signals=signal_names)
    except Exception:  # a map that cannot be built must not break the page
        return {}
    signals = []
    room = _MAP_TOTAL
    for info in selected.signals:
        receivers = []
        for r in info.receivers[: max(min(_MAP_LIMIT, room), 0)]:
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
        room -= len(receivers)
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


# A rough byte budget for what the toolbar's store keeps of one request, whatever
# MAX_SENDS is (the store holds RESULTS_CACHE_SIZE requests, 25 by default).
MAX_STORED_BYTES = 1_000_000
