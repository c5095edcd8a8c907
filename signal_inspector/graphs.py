"""Graphviz pictures of signals, drawn from plain data.

Two graphs, in the manner of django-extensions' ``graph_models``: DOT is written
as text from the data the commands already produce (``signalmap --format json``
and a recording's ``to_dict()``), and Graphviz's ``dot`` is run only at the edge,
to turn it into SVG or PNG. Nothing here imports Django or reads live objects,
so the same data draws the same bytes.

- :func:`receiver_dot`: how the project is wired. Signals and receivers as
  nodes, receivers clustered by app, an edge per registration labelled with
  its sender when it has one; registrations that run one code twice in red,
  receivers of never-imported modules dashed.
- :func:`cascade_dot`: what actually ran. Send -> receiver -> the sends it
  caused, each edge with its count and total time.
"""

from __future__ import annotations

import html
import re
import shutil
import subprocess
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

DOT_TIMEOUT = 60.0
INSTALL_HINT = (
    "Graphviz's `dot` was not found on PATH; it draws the svg and png formats. "
    "Install Graphviz (Debian/Ubuntu: apt-get install graphviz; macOS: brew install "
    "graphviz; see https://graphviz.org/download/), or write --format dot and render "
    "it elsewhere."
)

# Colours, shared by the pictures and the HTML legend.
SIGNAL_FILL = "#dde8f4"
SIGNAL_LINE = "#3f6e9c"
OWN_FILL = "#ffffff"
OTHER_FILL = "#eeeeee"
OTHER_TEXT = "#555555"
DUPLICATE = "#c62828"
UNCONNECTED = "#8a6d00"
RAISED = "#c62828"
LOOP = "#e65100"
EDGE = "#555555"

LEGEND = {
    "receiver": [
        ("signal", f"fill:{SIGNAL_FILL};stroke:{SIGNAL_LINE}", "a signal (ellipse)"),
        ("own", f"fill:{OWN_FILL};stroke:#333333", "a receiver of the project"),
        ("other", f"fill:{OTHER_FILL};stroke:#999999", "a receiver of Django or an installed package"),
        ("duplicate", f"fill:{OWN_FILL};stroke:{DUPLICATE};stroke-width:3",
         "registered more than once: runs that many times per send (red edges)"),
        ("unconnected", f"fill:{OWN_FILL};stroke:{UNCONNECTED};stroke-dasharray:4 3",
         "in a module nothing imports: never connected (dashed)"),
    ],
    "cascade": [
        ("signal", f"fill:{SIGNAL_FILL};stroke:{SIGNAL_LINE}", "a signal sent by one sender"),
        ("own", f"fill:{OWN_FILL};stroke:#333333", "a receiver that ran (calls, total time on its edge)"),
        ("raised", f"fill:{OWN_FILL};stroke:{RAISED};stroke-width:3", "raised, or ran twice for one send"),
        ("loop", f"fill:{OWN_FILL};stroke:{LOOP};stroke-width:3", "part of a loop of sends"),
    ],
}


class GraphvizError(Exception):
    """``dot`` is missing, failed, or took too long; the message says which."""


# --- DOT text ------------------------------------------------------------------

_CONTROL = re.compile(r"[\x00-\x09\x0b-\x1f\x7f]")


def quote(text: str) -> str:
    """``text`` as a DOT double-quoted string, shown as written: backslashes and
    quotes escaped (so Graphviz's own ``\\l``, ``\\N`` escapes never apply),
    newlines kept as line breaks, other control characters spelled out."""
    out = text.replace("\\", "\\\\").replace('"', '\\"')
    out = out.replace("\r\n", "\n").replace("\r", "\n").replace("\n", "\\n")
    out = _CONTROL.sub(lambda m: f"\\\\x{ord(m.group()):02x}", out)
    return f'"{out}"'


def _attrs(values: Mapping[str, str | float | None]) -> str:
    parts = [f"{key}={quote(str(value))}" for key, value in values.items() if value is not None]
    return f" [{', '.join(parts)}]" if parts else ""


def _clip(text: str, limit: int = 80) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "…"


@dataclass
class _Dot:
    """A digraph written line by line; clusters hold nodes by cluster name."""

    name: str
    lines: list[str] = field(default_factory=list)
    clusters: dict[str, list[str]] = field(default_factory=dict)
    edges: list[str] = field(default_factory=list)

    def node(self, key: str, cluster: str | None = None, **attrs: str | float | None) -> None:
        line = f"    {quote(key)}{_attrs(attrs)};"
        if cluster is None:
            self.lines.append(line)
        else:
            self.clusters.setdefault(cluster, []).append("    " + line)

    def edge(self, tail: str, head: str, **attrs: str | float | None) -> None:
        self.edges.append(f"    {quote(tail)} -> {quote(head)}{_attrs(attrs)};")

    def text(self, label: str, cluster_labels: Mapping[str, str]) -> str:
        out = [
            f"digraph {quote(self.name)} {{",
            '    graph [rankdir=LR, fontname="Helvetica", fontsize=11, nodesep=0.15, '
            'ranksep=0.9, labelloc=b, labeljust=l, newrank=true, '
            f"label={quote(label)}];",
            '    node [fontname="Helvetica", fontsize=10, shape=box, style="rounded,filled", '
            f'fillcolor="{OWN_FILL}", color="#333333", margin="0.12,0.04"];',
            f'    edge [fontname="Helvetica", fontsize=9, color="{EDGE}", arrowsize=0.6];',
            *self.lines,
        ]
        for index, (name, body) in enumerate(sorted(self.clusters.items())):
            out.append(f"    subgraph {quote(f'cluster_{index}')} {{")
            out.append(
                f"        graph [label={quote(cluster_labels.get(name, name))}, "
                'style="rounded,dashed", color="#aaaaaa", fontcolor="#444444"];'
            )
            out.extend(sorted(body))
            out.append("    }")
        out.extend(self.edges)
        out.append("}")
        return "\n".join(out) + "\n"


def _signal_node(dot: _Dot, name: str, seen: set[str], tooltip: str | None = None) -> str:
    key = f"signal {name}"
    if key not in seen:
        seen.add(key)
        module, _, short = name.rpartition(".")
        dot.node(
            key,
            label=f"{short}\n{module}" if module else short,
            tooltip=tooltip or name,
            shape="ellipse",
            fillcolor=SIGNAL_FILL,
            color=SIGNAL_LINE,
        )
    return key


def _sender_text(r: Mapping[str, Any]) -> str:
    sender = r.get("sender")
    if sender is None:
        return ""
    text = f'"{sender}"' if r.get("lazy_sender") else str(sender)
    kind = r.get("sender_kind")
    if kind == "proxy_model":
        text += " (proxy)"
    elif kind == "abstract_model":
        text += " (abstract: never sent)"
    return _clip(text, 60)


def _short_receiver(name: str, module: str) -> str:
    if module and name.startswith(module + "."):
        return name[len(module) + 1 :]
    return name


# --- the receiver graph ----------------------------------------------------------


def receiver_dot(data: Mapping[str, Any], *, title: str = "signalmap", note: str = "") -> str:
    """DOT for ``signalmap``'s data (its JSON form: ``signals``, ``duplicates``,
    ``unconnected``), as selected by the caller.

    A receiver connected to several signals is one node with an edge from each;
    two registrations of one receiver on one signal are two edges, in red when
    Django calls it twice for one send (the data's ``duplicate_groups``). A
    receiver's ``project`` flag, when present, decides its fill.
    """
    dot = _Dot("signalmap")
    seen: set[str] = set()
    cluster_labels: dict[str, str] = {}
    receivers: dict[str, dict[str, Any]] = {}
    signal_names = [str(s["name"]) for s in data.get("signals", [])]
    for info in data.get("signals", []):
        if not info.get("receivers"):
            continue  # listed by the text; alone in a picture it says nothing
        signal = _signal_node(dot, str(info["name"]), seen)
        for r in info.get("receivers", []):
            name, defined = str(r.get("receiver", "?")), str(r.get("defined_at") or "")
            key = f"receiver {name} {defined}"
            node = receivers.setdefault(
                key,
                {"r": r, "signals": [], "duplicate": False, "unconnected": ""},
            )
            node["signals"].append(str(info["name"]))
            groups = [int(g) for g in r.get("duplicate_groups", [])]
            node["duplicate"] = node["duplicate"] or bool(groups)
            label = _sender_text(r)
            if groups:
                marks = ", ".join(f"#{g}" for g in groups)
                label = f"{label}\nduplicate {marks}" if label else f"duplicate {marks}"
            dot.edge(
                signal,
                key,
                label=label or None,
                color=DUPLICATE if groups else None,
                fontcolor=DUPLICATE if groups else None,
                penwidth=2 if groups else None,
            )
    for item in data.get("unconnected", []):
        reach = str(item.get("reach", "never"))
        why = {
            "never": "never connected: nothing imports its module",
            "urlconf": "imported only by the URLconf",
            "migrate": "imported only by migrate",
        }.get(reach, reach)
        for r in item.get("receivers", []):
            module = str(item.get("module", ""))
            name = f"{module}.{r.get('name', '?')}" if module else str(r.get("name", "?"))
            defined = f"{item.get('file', '?')}:{r.get('line', '?')}"
            key = f"receiver {name} {defined}"
            receivers[key] = {
                "r": {"receiver": name, "module": module, "app": item.get("app"),
                      "defined_at": defined, "project": True},
                "signals": [],
                "duplicate": False,
                "unconnected": why,
            }
            signal = _signal_node(dot, _match_signal(str(r.get("signal", "?")), signal_names), seen)
            dot.edge(signal, key, style="dashed", color=UNCONNECTED, label=why, fontcolor=UNCONNECTED)
    for key, node in sorted(receivers.items()):
        r = node["r"]
        name, module = str(r.get("receiver", "?")), str(r.get("module") or "")
        defined = str(r.get("defined_at") or "")
        app = r.get("app")
        cluster = str(app) if app else "(no app)"
        cluster_labels[cluster] = f"app: {app}" if app else "not in an app"
        own = r.get("project", True)
        tooltip = [name, f"defined at {defined or '?'}"]
        if r.get("connected_at"):
            tooltip.append(f"connected at {r['connected_at']}")
        if node["unconnected"]:
            tooltip.append(node["unconnected"])
        if node["duplicate"]:
            tooltip.append("registered more than once: runs twice or more per send")
        style = "rounded,filled,dashed" if node["unconnected"] else "rounded,filled"
        dot.node(
            key,
            cluster,
            label=f"{_clip(_short_receiver(name, module))}\n{_clip(defined)}" if defined else _clip(name),
            tooltip="\n".join(tooltip),
            style=style,
            fillcolor=OWN_FILL if own else OTHER_FILL,
            fontcolor=None if own else OTHER_TEXT,
            color=DUPLICATE if node["duplicate"] else UNCONNECTED if node["unconnected"]
            else "#333333" if own else "#999999",
            penwidth=2 if node["duplicate"] else None,
        )
    counts = _receiver_counts(data)
    label = f"{title}: {counts}" + (f"\n{note}" if note else "")
    return dot.text(label, cluster_labels)


def _match_signal(written: str, names: list[str]) -> str:
    """The signal a source's ``@receiver(...)`` names (``post_save``,
    ``signals.order_paid``), if it names exactly one of ``names``; else as written."""
    if written in names:
        return written
    matches = [n for n in names if n.endswith("." + written.rpartition(".")[2])]
    return matches[0] if len(matches) == 1 else written


def _receiver_counts(data: Mapping[str, Any]) -> str:
    signals = data.get("signals", [])
    receivers = sum(len(s.get("receivers", [])) for s in signals)
    duplicates = len(data.get("duplicates", []))
    unconnected = sum(len(u.get("receivers", [])) for u in data.get("unconnected", []))
    parts = [_plural(len(signals), "signal"), _plural(receivers, "receiver")]
    if duplicates:
        parts.append(_plural(duplicates, "duplicate"))
    if unconnected:
        parts.append(f"{unconnected} never connected")
    return ", ".join(parts)


def _plural(count: int, word: str) -> str:
    return f"{count} {word}{'' if count == 1 else 's'}"


# --- the observed cascade ----------------------------------------------------------


@dataclass
class _Tally:
    count: int = 0
    ms: float = 0.0


def cascade_dot(recording: Mapping[str, Any], *, title: str = "signaltrace") -> str:
    """DOT for what a recording (``Recording.to_dict()``, or the panel's export)
    saw: the run, the sends it made (one node per signal and sender), the
    receivers each called (one node per receiver), and the sends those caused;
    each edge with how many times it happened and, into a receiver, its total
    time. Walked without recursion: a runaway loop leaves a very deep tree."""
    dot = _Dot("signaltrace")
    root = "run"
    top = _nested(list(recording.get("sends", [])))
    dot.node(root, label=_clip(title, 100), shape="box", style="filled", fillcolor="#f5f5f5")
    sends: dict[str, tuple[str, str]] = {}
    receivers: dict[str, dict[str, Any]] = {}
    edges: dict[tuple[str, str], _Tally] = {}
    pending: list[tuple[str, Mapping[str, Any]]] = [(root, s) for s in reversed(top)]
    walked: set[int] = set()  # a malformed export's cycle is drawn once, not forever
    while pending:
        parent, send = pending.pop()
        if id(send) in walked:
            continue
        walked.add(id(send))
        signal, sender = str(send.get("signal", "?")), str(send.get("sender", ""))
        send_key = f"send {signal} {sender}"
        sends.setdefault(send_key, (signal, sender))
        tally = edges.setdefault((parent, send_key), _Tally())
        tally.count += 1
        tally.ms += float(send.get("duration_ms") or 0.0)
        looped = bool(send.get("loop"))
        children: list[tuple[str, Mapping[str, Any]]] = []
        for call in send.get("receivers", []):
            name, location = str(call.get("name", "?")), str(call.get("location") or "")
            key = f"receiver {name} {location}"
            node = receivers.setdefault(
                key, {"name": name, "location": location, "raised": 0, "loop": False, "twice": False}
            )
            if call.get("outcome") in ("raised", "caught"):
                node["raised"] += 1
            node["twice"] = node["twice"] or bool(call.get("duplicate"))
            node["loop"] = node["loop"] or bool(call.get("loop")) or looped
            tally = edges.setdefault((send_key, key), _Tally())
            tally.count += 1
            tally.ms += float(call.get("duration_ms") or 0.0)
            children.extend((key, child) for child in call.get("children", []))
        pending.extend(reversed(children))
    for key, (signal, sender) in sorted(sends.items()):
        module, _, short = signal.rpartition(".")
        dot.node(
            key,
            label=f"{short}\n{_clip(sender, 60)}" if sender else short,
            tooltip=f"{signal}\nsender: {sender}",
            shape="ellipse",
            fillcolor=SIGNAL_FILL,
            color=SIGNAL_LINE,
        )
    for key, node in sorted(receivers.items()):
        bad = node["raised"] or node["twice"]
        notes = []
        if node["raised"]:
            notes.append(f"raised {_plural(node['raised'], 'time')}")
        if node["twice"]:
            notes.append("ran twice for one send")
        if node["loop"]:
            notes.append("part of a loop of sends")
        dot.node(
            key,
            label="\n".join([_clip(node["name"]), _clip(node["location"]), *notes]).strip(),
            tooltip="\n".join([node["name"], node["location"], *notes]).strip(),
            color=RAISED if bad else LOOP if node["loop"] else None,
            penwidth=2 if bad or node["loop"] else None,
        )
    for (tail, head), tally in edges.items():
        into_receiver = head.startswith("receiver ")
        label = (
            f"{_plural(tally.count, 'call')}\n{_ms(tally.ms)}"
            if into_receiver
            else _plural(tally.count, "send")
        )
        dot.edge(tail, head, label=label, penwidth=_width(tally.count))
    total = int(recording.get("total_sends") or 0)
    kept = int(recording.get("kept_sends") or 0)
    summary = [
        _plural(total, "send"),
        _plural(int(recording.get("receiver_calls") or 0), "receiver call"),
        _ms(float(recording.get("receiver_time_ms") or 0.0)) + " in receivers",
    ]
    if kept < total:
        summary.append(f"{total - kept} sends without receivers or past the limit not drawn")
    return dot.text(", ".join(summary), {})


def _nested(sends: list[Mapping[str, Any]]) -> list[Mapping[str, Any]]:
    """The top-level sends, nested. The panel's stored form is flat (each send
    with its ``parent`` send's id, each call's ``children`` as send ids); a
    recording's ``to_dict()`` is already nested and is returned as it is."""
    if not any("parent" in send for send in sends):
        return sends
    by_id = {send.get("id"): send for send in sends}
    out = []
    for send in sends:
        calls = [
            {**call, "children": [by_id[i] for i in call.get("children", []) if i in by_id]}
            for call in send.get("receivers", [])
        ]
        by_id[send.get("id")] = {**send, "receivers": calls}
    for send in sends:
        nested = by_id[send.get("id")]
        for call in nested["receivers"]:
            call["children"] = [by_id[child.get("id")] for child in call["children"]]
        if send.get("parent") is None:
            out.append(nested)
    return out


def _ms(value: float) -> str:
    return f"{value:.1f} ms" if value >= 0.1 or value == 0 else f"{value:.3f} ms"


def _width(count: int) -> float:
    return 1.0 if count <= 1 else min(1.0 + count.bit_length() * 0.5, 5.0)


# --- rendering -------------------------------------------------------------------


def dot_path() -> str | None:
    """Where Graphviz's ``dot`` is, if it is on PATH."""
    return shutil.which("dot")


def render(dot: str, fmt: str, *, timeout: float = DOT_TIMEOUT) -> bytes:
    """``dot`` rendered by Graphviz to ``fmt`` (``svg``, ``png``, ``json``, ``plain``)."""
    exe = dot_path()
    if exe is None:
        raise GraphvizError(INSTALL_HINT)
    try:
        done = subprocess.run(
            [exe, f"-T{fmt}"],
            input=dot.encode("utf-8"),
            capture_output=True,
            timeout=timeout,
            check=False,
        )
    except subprocess.TimeoutExpired as exc:
        raise GraphvizError(
            f"Graphviz's dot took longer than {timeout:g} s; write --format dot and "
            "narrow it with --signal, --sender or --app."
        ) from exc
    except OSError as exc:
        raise GraphvizError(f"Graphviz's dot ({exe}) could not run: {exc}") from exc
    if done.returncode != 0:
        message = done.stderr.decode("utf-8", "replace").strip()
        raise GraphvizError(f"Graphviz's dot failed (exit {done.returncode}): {message}")
    return done.stdout


_SVG_START = re.compile(r"<svg\b", re.S)


def inline_svg(svg: bytes) -> str:
    """Graphviz's SVG without its XML prolog and doctype, to place in HTML."""
    text = svg.decode("utf-8")
    match = _SVG_START.search(text)
    return text[match.start() :] if match else text


_PAGE_STYLE = """
body { font: 14px/1.4 system-ui, sans-serif; margin: 1.5em; color: #222; }
h1 { font-size: 1.3em; margin: 0 0 0.6em; }
.graph { overflow: auto; border: 1px solid #ddd; padding: 0.5em; }
.graph svg { max-width: none; height: auto; }
.legend { list-style: none; padding: 0; display: flex; flex-wrap: wrap; gap: 0.4em 1.4em; }
.legend svg { vertical-align: middle; margin-right: 0.4em; }
pre { background: #f6f6f6; padding: 1em; overflow: auto; font-size: 12px; }
"""


def html_page(title: str, svg: str, legend: Iterable[tuple[str, str, str]], listing: str) -> str:
    """One self-contained page: the picture (inline SVG), a legend, the text listing.

    ``svg`` is Graphviz's output (its text is XML-escaped by Graphviz); every
    other piece of text is escaped here.
    """
    items = "\n".join(
        f'<li class="legend-{html.escape(kind)}"><svg width="28" height="16" aria-hidden="true">'
        f'<rect x="2" y="2" width="24" height="12" rx="4" style="{html.escape(style)}"/></svg>'
        f"{html.escape(text)}</li>"
        for kind, style, text in legend
    )
    return (
        "<!DOCTYPE html>\n"
        '<html lang="en">\n<head>\n<meta charset="utf-8">\n'
        f"<title>{html.escape(title)}</title>\n<style>{_PAGE_STYLE}</style>\n</head>\n<body>\n"
        f"<h1>{html.escape(title)}</h1>\n"
        f'<div class="graph">\n{svg}\n</div>\n'
        f'<ul class="legend">\n{items}\n</ul>\n'
        f"<pre>{html.escape(listing)}</pre>\n"
        "</body>\n</html>\n"
    )
