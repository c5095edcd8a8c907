from __future__ import annotations

import dataclasses
import difflib
import json
import shutil
import sys
import textwrap
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from django.apps import apps
from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.core.management.color import no_style

from signal_inspector import graphs
from signal_inspector.naming import class_label
from signal_inspector.project import ProjectCode
from signal_inspector.receivers import (
    CollectedReceiver,
    DuplicateGroup,
    Registration,
    SignalInfo,
    SignalMap,
    build_map,
    find_collected,
)
from signal_inspector.unconnected import (
    MIGRATE,
    NEVER,
    URLCONF,
    UnconnectedModule,
    describe_fix,
    find_unconnected,
)

_KIND_SUFFIX = {
    "proxy_model": " (proxy)",
    "abstract_model": " (abstract: never sent)",
}


class Command(BaseCommand):
    help = (
        "Show every connected receiver of every signal, in the order Django calls "
        "them, and find receivers registered more than once."
    )
    # The duplicates are this command's own output: do not print W001 first.
    requires_system_checks: list[str] = []

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument(
            "--format",
            dest="output_format",
            default="text",
            choices=FORMATS,
            help=(
                "Output format: aligned text (default), JSON (the whole selection), a "
                "Mermaid flowchart, Graphviz DOT, or the DOT rendered by Graphviz's dot "
                "(svg, png), or one HTML page (the SVG, a legend and the text listing)."
            ),
        )
        parser.add_argument(
            "--output",
            metavar="FILE",
            default=None,
            help="Write to FILE instead of standard output (png needs it on a terminal).",
        )
        parser.add_argument(
            "--width",
            type=int,
            default=None,
            metavar="COLUMNS",
            help=(
                "Text output: wrap lines to this many columns (default: the terminal's "
                "width on a terminal, no wrapping otherwise; 0: never wrap)."
            ),
        )
        parser.add_argument(
            "--signal",
            dest="signal_names",
            action="append",
            metavar="NAME",
            help=(
                "Only this signal: its dotted name (django.db.models.signals.post_save) "
                "or its last part (post_save). Repeat for several."
            ),
        )
        parser.add_argument(
            "--sender",
            dest="sender_labels",
            action="append",
            metavar="LABEL",
            help=(
                "Only receivers that run when this sender sends: those connected for "
                "it, and those connected for any sender on a signal it sends (a model "
                "signal, for a model; else a signal with a receiver connected for it). "
                "A model label (app_label.Model) or a dotted class path. Repeat for "
                "several."
            ),
        )
        parser.add_argument(
            "--app",
            dest="app_labels",
            action="append",
            metavar="APP_LABEL",
            help="Only receivers defined in this app. Repeat for several.",
        )
        parser.add_argument(
            "--all",
            dest="show_all",
            action="store_true",
            help=(
                "Also list the receivers of Django and installed packages (without a "
                "filter, only the project's own are listed), and signals that have no "
                "receivers."
            ),
        )
        parser.add_argument(
            "--duplicates",
            dest="duplicates_only",
            action="store_true",
            help="Only show duplicate registrations.",
        )
        parser.add_argument(
            "--check",
            action="store_true",
            help="Exit with status 1 if any duplicate registration is shown.",
        )
        parser.add_argument(
            "--include-inspector",
            dest="include_inspector",
            action="store_true",
            help=(
                "Also list signal_inspector's and django-debug-toolbar's own receivers "
                "(hidden by default; JSON always has them)."
            ),
        )

    def handle(
        self,
        *,
        output_format: str,
        signal_names: list[str] | None,
        sender_labels: list[str] | None,
        app_labels: list[str] | None,
        show_all: bool,
        duplicates_only: bool,
        check: bool,
        include_inspector: bool = False,
        output: str | None = None,
        width: int | None = None,
        **options: Any,
    ) -> None:
        if width is not None and width < 0:
            raise CommandError(f"--width must be 0 or more, not {width}.")
        full = build_map()
        modules = len(sys.modules)
        senders = _resolve("sender", sender_labels, _sender_choices(full), _class_path)
        if len(sys.modules) != modules:
            # A --sender class path imported its module, which may connect receivers.
            full = build_map()
        wanted_signals = _resolve("signal", signal_names, _signal_choices(full))
        selected = full.select(
            signals=wanted_signals,
            senders=senders,
            apps=_resolve("app", app_labels, _app_choices()),
            duplicates_only=duplicates_only,
            include_empty=show_all and not duplicates_only,
        )
        # Modules whose receivers nothing connected (W002): shown unless the
        # output is narrowed to duplicates or to particular signals or senders.
        self.unconnected: list[UnconnectedModule] = []
        if not (duplicates_only or signal_names or sender_labels):
            wanted = _resolve("app", app_labels, _app_choices())
            self.unconnected = find_unconnected(
                [c for c in apps.get_app_configs() if wanted is None or c.label in wanted]
            )
        # Weak receivers collected while connected: they no longer run.
        self.collected: list[CollectedReceiver] = []
        if not (duplicates_only or sender_labels):
            wanted_apps = _resolve("app", app_labels, _app_choices())
            self.collected = [
                c
                for c in find_collected()
                if (wanted_signals is None or c.signal in wanted_signals)
                and (wanted_apps is None or c.app in wanted_apps)
            ]
        self.include_inspector = include_inspector
        self.include_empty = show_all
        self.project = ProjectCode()
        # Without --all or a filter, text and pictures are the project's own
        # receivers: a filter names what the user asked for, whoever wrote it.
        self.project_only = not (
            show_all or signal_names or sender_labels or app_labels or duplicates_only
        )
        self.output = output
        self.width = width if width is not None else self._terminal_width()
        write: Callable[[SignalMap, bool], None] = {
            "text": self.write_text,
            "json": self.write_json,
            "mermaid": self.write_mermaid,
            "dot": self.write_dot,
            "svg": self.write_svg,
            "png": self.write_png,
            "html": self.write_html,
        }[output_format]
        write(selected, duplicates_only)
        if check and selected.duplicates:
            count = len(selected.duplicates)
            self.stderr.write(
                f"{count} duplicate receiver registration{'s' if count != 1 else ''} found."
            )
            sys.exit(1)

    def _terminal_width(self) -> int:
        if getattr(self, "output", None) is None and self.stdout.isatty():
            return shutil.get_terminal_size().columns
        return 0

    def _emit(self, text: str) -> None:
        """``text`` to --output, else to standard output (one write)."""
        if getattr(self, "output", None) is None:
            self.stdout.write(text)
            return
        self._emit_bytes((text + "\n").encode("utf-8"))

    def _emit_bytes(self, data: bytes) -> None:
        output = getattr(self, "output", None)
        if output is not None:
            try:
                with open(output, "wb") as handle:
                    handle.write(data)
            except OSError as exc:
                raise CommandError(f"Cannot write to {output}: {exc}") from exc
            return
        stream = getattr(self.stdout._out, "buffer", None)
        if stream is None or self.stdout.isatty():
            raise CommandError("--format png is binary: give --output FILE, or redirect the output.")
        self.stdout.flush()
        stream.write(data)
        stream.flush()

    def shown_unconnected(self) -> list[UnconnectedModule]:
        """W002's modules, without the debugging tools' own unless --include-inspector
        (an editable install of signal_inspector counts as the project's code)."""
        if getattr(self, "include_inspector", True):
            return self.unconnected
        return [m for m in self.unconnected if not (m.module + ".").startswith(_OWN_PREFIXES)]

    def shown(self, sigmap: SignalMap) -> tuple[SignalMap, Hidden]:
        """What text and pictures show: without the debugging tools' receivers
        unless --include-inspector, and only the project's own by default."""
        hidden = Hidden()
        include_empty = getattr(self, "include_empty", False)
        if not getattr(self, "include_inspector", True):
            sigmap, hidden.own, _, _ = _keep_receivers(
                sigmap, lambda r: not r.receiver.startswith(_OWN_PREFIXES), include_empty
            )
        if getattr(self, "project_only", False):
            project = self.project
            sigmap, hidden.others, hidden.other_signals, hidden.other_duplicates = _keep_receivers(
                # Asked-for tools' receivers stay, wherever they are installed.
                sigmap,
                lambda r: project.has_module(r.module) or r.receiver.startswith(_OWN_PREFIXES),
                include_empty,
            )
        return sigmap, hidden

    # --- text ------------------------------------------------------------------

    def write_text(self, sigmap: SignalMap, duplicates_only: bool) -> None:
        # One write: thousands of OutputWrapper.write() calls cost more than the map.
        self._emit("\n".join(self._text_lines(sigmap, duplicates_only)))

    def _text_lines(self, sigmap: SignalMap, duplicates_only: bool) -> list[str]:
        style = self.style
        sigmap, hidden = self.shown(sigmap)
        lines = [] if duplicates_only else self._signal_lines(sigmap.signals)
        if sigmap.duplicates:
            lines += self._duplicate_lines(sigmap.duplicates)
        unconnected = self.shown_unconnected()
        never = [item for item in unconnected if item.reach == NEVER]
        later = [item for item in unconnected if item.reach != NEVER]
        if never:
            lines += self._unconnected_lines(never, "Receivers never connected")
        if later:
            lines += self._unconnected_lines(later, "Receivers not connected at startup")
        collected = self.collected
        if getattr(self, "project_only", False):
            # Weak receivers an installed package lost (the toolbar's per-request
            # ones): counted with the others, not listed.
            collected = [c for c in collected if c.project]
            hidden.other_collected = len(self.collected) - len(collected)
        if collected:
            lines += self._collected_lines(collected)
        count = len(sigmap.duplicates)
        summary = (
            f"{len(sigmap.signals)} signal{'s' if len(sigmap.signals) != 1 else ''}, "
            f"{sigmap.receiver_count} receiver{'s' if sigmap.receiver_count != 1 else ''}, "
            f"{count or 'no'} duplicate{'s' if count != 1 else ''}."
        )
        lines += self._wrapped(summary, "", style.WARNING if count else style.SUCCESS)
        if not duplicates_only:
            for line in hidden.lines(self.project.root):
                lines += self._wrapped(line, "")
        return lines

    def _wrapped(self, text: str, indent: str, style_func: Callable[[str], str] | None = None) -> list[str]:
        """``text`` wrapped to --width (continuations indented by ``indent``
        more than its own first line), each line styled."""
        width = getattr(self, "width", 0)
        if width and len(text) > width:
            lead = text[: len(text) - len(text.lstrip())]
            parts = textwrap.wrap(
                text.lstrip(),
                width,
                initial_indent=lead,
                subsequent_indent=lead + indent,
                break_long_words=False,
                break_on_hyphens=False,
            ) or [text]
        else:
            parts = [text]
        return [style_func(p) for p in parts] if style_func else parts

    def _signal_lines(self, signals: list[SignalInfo]) -> list[str]:
        style = self.style
        header = ("#", "SENDER", "RECEIVER", "DEFINED AT", "CONNECTED AT", "NOTES")
        rows = {id(r): _row(r) for info in signals for r in info.receivers}
        unknown: dict[str, int] = {}
        width = getattr(self, "width", 0)
        lines = []
        for info in signals:
            lines.append(style.MIGRATE_HEADING(info.name))
            if not info.receivers:
                lines += ["  (no receivers)", ""]
                continue
            # Columns aligned within one signal: one long name elsewhere in the
            # project does not widen every line.
            widths = [
                max([len(header[i])] + [len(rows[id(r)][i]) for r in info.receivers])
                for i in range(len(header) - 1)
            ]
            widest = 2 + sum(widths) + 2 * len(widths) + max(
                len(rows[id(r)][5]) for r in info.receivers
            )
            indent = " " * (2 + widths[0] + 2)
            stacked = bool(width) and widest > width
            if stacked:
                # Too wide for the terminal: where and how on a line of its own.
                lines.append(style.MIGRATE_LABEL(f"  {'#'.ljust(widths[0])}  SENDER  RECEIVER"))
                lines.append(style.MIGRATE_LABEL(f"{indent}DEFINED AT  CONNECTED AT  NOTES"))
            else:
                lines.append(style.MIGRATE_LABEL(_line(header, widths).rstrip()))
            for r in info.receivers:
                row = rows[id(r)]
                if r.connected_at is None:
                    unknown[r.connect_note] = unknown.get(r.connect_note, 0) + 1
                if stacked:
                    lines += self._wrapped(
                        f"  {row[0].ljust(widths[0])}  {row[1]}  {row[2]}", indent[2:]
                    )
                    where = "  ".join(c for c in row[3:] if c)
                    lines += self._wrapped(
                        indent + where,
                        "",
                        style.ERROR if r.duplicate_groups
                        else style.WARNING if r.connected_at is None else None,
                    )
                else:
                    padded = _pad(row, widths)
                    if r.connected_at is None:
                        padded[4] = style.WARNING(padded[4])
                    if r.duplicate_groups:
                        padded[5] = style.ERROR(padded[5])
                    lines.append(("  " + "  ".join(padded)).rstrip())
                why = "same dispatch_uid" if r.dispatch_uid is not None else "already connected"
                for ignored in r.ignored_connects:
                    lines += self._wrapped(
                        f"{indent}also connected at {ignored.connected_at} "
                        f"({ignored.receiver}): ignored by Django, {why}",
                        "  ",
                    )
            lines.append("")
        for note, count in unknown.items():
            lines += self._wrapped(
                f"Connect site unknown for {count} receiver{'s' if count != 1 else ''}: {note}.",
                "  ",
                style.WARNING,
            )
        if unknown:
            lines.append("")
        return lines

    def _duplicate_lines(self, groups: list[DuplicateGroup]) -> list[str]:
        style = self.style
        lines = [style.MIGRATE_HEADING(f"Duplicate registrations ({len(groups)})")]
        for group in groups:
            lines += self._wrapped(
                f"  #{group.id}  {group.signal}: {group.receiver} runs "
                f"up to {group.runs} times per send",
                "    ",
                style.ERROR,
            )
            lines += self._labelled("cause:", group.message)
            lines += self._labelled("fix:  ", group.fix)
            cells = [
                (
                    str(r.position),
                    _sender_cell(r),
                    r.receiver,
                    f"connected at {r.connected_at or 'unknown'}",
                    f"dispatch_uid={r.dispatch_uid}" if r.dispatch_uid is not None else "",
                )
                for r in group.registrations
            ]
            widths = [max(len(c[i]) for c in cells) for i in range(4)]
            for c in cells:
                lines += self._wrapped(("      " + _line(c, widths)).rstrip(), "    ")
            lines.append("")
        return lines

    def _labelled(self, label: str, text: str) -> list[str]:
        """``      label text``, wrapped under the text, the label styled."""
        parts = self._wrapped(f"      {label} {text}", " " * (len(label) + 1))
        parts[0] = parts[0].replace(label, self.style.MIGRATE_LABEL(label.strip()) + label[len(label.strip()):], 1)
        return parts

    def _unconnected_lines(self, modules: list[UnconnectedModule], title: str) -> list[str]:
        style = self.style
        count = f"{len(modules)} module{'s' if len(modules) != 1 else ''}"
        lines = [style.MIGRATE_HEADING(f"{title} ({count})")]
        for item in modules:
            if item.reach == URLCONF:
                head = (
                    f"{item.file}: only the URLconf ({item.urlconf}) imports {item.module}, "
                    "so these are not connected in management commands, the shell, "
                    "workers, or before the first request:"
                )
            elif item.reach == MIGRATE:
                head = (
                    f"{item.file}: only manage.py migrate imports {item.module}, so these "
                    "are connected nowhere else:"
                )
            else:
                head = f"{item.file}: nothing imports {item.module}, so these never run:"
            lines += self._wrapped(f"  {head}", "    ", style.WARNING)
            for r in item.receivers:
                lines += self._wrapped(f"      {r['name']} ({r['signal']}) line {r['line']}", "  ")
            lines += self._labelled("fix:", describe_fix(item))
            lines.append("")
        return lines

    def _collected_lines(self, collected: list[CollectedReceiver]) -> list[str]:
        style = self.style
        title = (
            "Weak receivers garbage-collected, or alive only while DEBUG is on"
            if any(c.debug_only for c in collected)
            else "Receivers garbage-collected while connected"
        )
        lines = [style.MIGRATE_HEADING(f"{title} ({len(collected)})")]
        for c in collected:
            lines += self._wrapped(f"  {c.message}", "    ", style.WARNING)
            lines += self._labelled("fix:", c.fix)
        lines.append("")
        return lines

    # --- json ------------------------------------------------------------------

    def write_json(self, sigmap: SignalMap, duplicates_only: bool) -> None:
        self._emit(json.dumps(self._data(sigmap), indent=2))

    def _data(self, sigmap: SignalMap) -> dict[str, Any]:
        """The map as plain data: what --format json writes and the pictures draw.
        Each receiver says whether it is the project's own (``project``)."""
        data = sigmap.to_dict()
        project = getattr(self, "project", None) or ProjectCode()
        for info, info_data in zip(sigmap.signals, data["signals"], strict=True):
            for r, r_data in zip(info.receivers, info_data["receivers"], strict=True):
                r_data["project"] = project.has_module(r.module)
        data["unconnected"] = [item.to_dict() for item in self.unconnected]
        data["collected"] = [c.to_dict() for c in self.collected]
        return data

    # --- graphviz ---------------------------------------------------------------

    def _dot(self, sigmap: SignalMap) -> str:
        shown, hidden = self.shown(sigmap)
        data = self._data(shown)
        data["unconnected"] = [item.to_dict() for item in self.shown_unconnected()]
        return graphs.receiver_dot(
            data, note="\n".join(hidden.lines(self.project.root, drawn=True))
        )

    def write_dot(self, sigmap: SignalMap, duplicates_only: bool) -> None:
        self._emit(self._dot(sigmap).rstrip("\n"))

    def _render(self, sigmap: SignalMap, fmt: str) -> bytes:
        try:
            return graphs.render(self._dot(sigmap), fmt)
        except graphs.GraphvizError as exc:
            raise CommandError(str(exc)) from exc

    def write_svg(self, sigmap: SignalMap, duplicates_only: bool) -> None:
        self._emit(self._render(sigmap, "svg").decode("utf-8").rstrip("\n"))

    def write_png(self, sigmap: SignalMap, duplicates_only: bool) -> None:
        self._emit_bytes(self._render(sigmap, "png"))

    def write_html(self, sigmap: SignalMap, duplicates_only: bool) -> None:
        svg = graphs.inline_svg(self._render(sigmap, "svg"))
        style, self.style = self.style, no_style()
        try:
            listing = "\n".join(self._text_lines(sigmap, duplicates_only))
        finally:
            self.style = style
        title = f"Signal receivers of {self.project.root.name or self.project.root}"
        self._emit(graphs.html_page(title, svg, graphs.LEGEND["receiver"], listing).rstrip("\n"))

    # --- mermaid ---------------------------------------------------------------

    def write_mermaid(self, sigmap: SignalMap, duplicates_only: bool) -> None:
        sigmap, _ = self.shown(sigmap)
        lines = ["flowchart LR"]
        ids: dict[tuple[str, str], str] = {}

        def node(kind: str, key: str, shape: str) -> str:
            if (kind, key) not in ids:
                ids[(kind, key)] = f"{kind}{len(ids) + 1}"
                lines.append(f"    {ids[(kind, key)]}{shape.format(_mermaid_label(key))}")
            return ids[(kind, key)]

        edges: set[tuple[str, str]] = set()
        duplicate_nodes: list[str] = []
        for info in sigmap.signals:
            signal = node("signal", info.name, '(["{}"])')
            for r in info.receivers:
                sender = node("sender", _sender_cell(r), '["{}"]')
                if (sender, signal) not in edges:
                    edges.add((sender, signal))
                    lines.append(f"    {sender} --> {signal}")
                receiver = node("receiver", f"{r.receiver}\n{r.defined_at}", '["{}"]')
                label = "" if r.sender is None else _sender_cell(r)
                if r.duplicate_groups:
                    marks = ", ".join(f"duplicate #{g}" for g in r.duplicate_groups)
                    label = f"{label}: {marks}" if label else marks
                    duplicate_nodes.append(receiver)
                    arrow = "==>"
                else:
                    arrow = "-->"
                text = f'|"{_mermaid_label(label)}"|' if label else ""
                lines.append(f"    {signal} {arrow}{text} {receiver}")
        if duplicate_nodes:
            lines.append("    classDef duplicate stroke:#d33,stroke-width:3px")
            lines.append(f"    class {','.join(dict.fromkeys(duplicate_nodes))} duplicate")
        self._emit("\n".join(lines))


# --- helpers -------------------------------------------------------------------

FORMATS = ("text", "json", "mermaid", "dot", "svg", "png", "html")

# Debugging tools' own receivers (signal_inspector's setting_changed resets, the
# toolbar's): not what a map of the project is for.
_OWN_PREFIXES = ("signal_inspector.", "debug_toolbar.")


@dataclass
class Hidden:
    """What text and pictures left out, to say so in one line each."""

    own: int = 0
    others: int = 0
    other_signals: int = 0
    other_duplicates: int = 0
    other_collected: int = 0

    def lines(self, root: Path, *, drawn: bool = False) -> list[str]:
        verb, listed = ("drawn", "draws") if drawn else ("listed", "lists")
        # A picture is shared: it names the project's folder, not this machine's path.
        where = f"{root.name}/" if drawn and root.name else str(root)
        out = []
        if self.others or self.other_collected:
            among = (
                f" ({self.other_duplicates} duplicate{'s' if self.other_duplicates != 1 else ''}"
                " among them)"
                if self.other_duplicates
                else ""
            )
            collected = (
                f", and {self.other_collected} of their weak receivers garbage-collected"
                if self.other_collected
                else ""
            )
            out.append(
                f"Not {verb}: {self.others} receiver{'s' if self.others != 1 else ''} of "
                f"Django and installed packages, on {self.other_signals} "
                f"signal{'s' if self.other_signals != 1 else ''}{among}{collected} (the project's "
                f"own code is under {where}); --all {listed} them."
            )
        if self.own:
            out.append(
                f"signal_inspector's and the toolbar's own receiver{'s' if self.own != 1 else ''} "
                f"({self.own}) not {verb}: --include-inspector {listed} them."
            )
        return out


def _keep_receivers(
    sigmap: SignalMap, keep: Callable[[Registration], bool], include_empty: bool
) -> tuple[SignalMap, int, int, int]:
    """The map with only the receivers ``keep`` accepts; how many were left out,
    on how many signals, and how many duplicate groups went with them. A signal
    left with none is dropped unless empty signals were asked for; a duplicate
    group stays while any of its registrations does."""
    hidden = 0
    touched = 0
    signals = []
    kept_groups: set[int] = set()
    for info in sigmap.signals:
        kept = [r for r in info.receivers if keep(r)]
        hidden += len(info.receivers) - len(kept)
        touched += len(kept) < len(info.receivers)
        for r in kept:
            kept_groups.update(r.duplicate_groups)
        if kept or include_empty or not info.receivers:
            signals.append(dataclasses.replace(info, receivers=kept))
    duplicates = [d for d in sigmap.duplicates if d.id in kept_groups]
    return (
        dataclasses.replace(sigmap, signals=signals, duplicates=duplicates),
        hidden,
        touched,
        len(sigmap.duplicates) - len(duplicates),
    )


def _sender_cell(r: Registration) -> str:
    if r.sender is None:
        return "(any sender)"
    label = f'"{r.sender}"' if r.lazy_sender else r.sender
    return label + _KIND_SUFFIX.get(r.sender_kind, "")


def _row(r: Registration) -> tuple[str, ...]:
    notes = []
    if not r.weak:
        notes.append("strong")
    if r.is_async:
        notes.append("async")
    if r.lazy_sender:
        notes.append("lazy sender")
    if r.dispatch_uid is not None:
        notes.append(f"dispatch_uid={r.dispatch_uid}")
    if r.duplicate_groups:
        notes.append("DUPLICATE " + ",".join(f"#{g}" for g in r.duplicate_groups))
    return (
        str(r.position),
        _sender_cell(r),
        r.receiver,
        r.defined_at or "?",
        r.connected_at or "unknown",
        "  ".join(notes),
    )


def _pad(cells: Iterable[str], widths: list[int]) -> list[str]:
    """Cells padded to ``widths``; cells past the last width are left as they are."""
    cells = list(cells)
    count = len(widths)
    return [c.ljust(w) for c, w in zip(cells[:count], widths, strict=True)] + cells[count:]


def _line(cells: Iterable[str], widths: list[int]) -> str:
    return "  " + "  ".join(_pad(cells, widths))


def _mermaid_label(text: str) -> str:
    """Text safe inside a quoted Mermaid label (entity codes, as Mermaid documents)."""
    out = text.replace("#", "#35;")
    for char, code in (('"', "#quot;"), ("<", "#lt;"), (">", "#gt;"), ("|", "#124;"), ("`", "#96;")):
        out = out.replace(char, code)
    return out.replace("\n", "<br>")


def _resolve(
    kind: str,
    values: list[str] | None,
    choices: dict[str, set[str]],
    fallback: Callable[[str], set[str]] | None = None,
) -> set[str] | None:
    """The canonical names ``values`` stand for; a ``CommandError`` for an unknown one."""
    if not values:
        return None
    lowered: dict[str, set[str]] = {}
    for spelling, names in choices.items():
        lowered.setdefault(spelling.lower(), set()).update(names)
    found: set[str] = set()
    for value in values:
        names = choices.get(value) or lowered.get(value.lower()) or set()
        if not names and fallback is not None:
            names = fallback(value)
        if not names:
            close = difflib.get_close_matches(value, sorted(choices), n=5, cutoff=0.6)
            hint = f" Did you mean {', '.join(close)}?" if close else ""
            raise CommandError(f"Unknown {kind} {value!r}.{hint}")
        found |= names
    return found


def _signal_choices(sigmap: SignalMap) -> dict[str, set[str]]:
    choices: dict[str, set[str]] = {}
    for info in sigmap.signals:
        choices.setdefault(info.name, set()).add(info.name)
        choices.setdefault(info.name.rpartition(".")[2], set()).add(info.name)
    return choices


def _sender_choices(sigmap: SignalMap) -> dict[str, set[str]]:
    """Model labels, models' dotted class paths, and the senders in the map."""
    choices: dict[str, set[str]] = {}
    for model in apps.get_models(include_auto_created=True):
        choices[model._meta.label] = {model._meta.label}
        choices.setdefault(f"{model.__module__}.{model.__qualname__}", set()).add(
            model._meta.label
        )
    for info in sigmap.signals:
        for r in info.receivers:
            if r.sender is not None:
                choices.setdefault(r.sender, set()).add(r.sender)
    return choices


def _class_path(value: str) -> set[str]:
    """The sender label of the class ``value`` names (``library.models.Book``,
    ``myapp.senders.Plain``), imported as the user asked; empty if it names none."""
    if "." not in value:
        return set()
    from django.utils.module_loading import import_string

    try:
        cls = import_string(value)
    except Exception:  # not importable: the CommandError names close matches
        return set()
    return {class_label(cls)} if isinstance(cls, type) else set()


def _app_choices() -> dict[str, set[str]]:
    choices: dict[str, set[str]] = {}
    for config in apps.get_app_configs():
        choices[config.label] = {config.label}
        choices.setdefault(config.name, set()).add(config.label)
    return choices
