from __future__ import annotations

import dataclasses
import difflib
import json
import sys
from collections.abc import Callable, Iterable
from typing import Any

from django.apps import apps
from django.core.management.base import BaseCommand, CommandError, CommandParser

from signal_inspector.naming import class_label
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
            choices=("text", "json", "mermaid"),
            help="Output format: aligned text (default), JSON, or a Mermaid flowchart.",
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
            dest="include_empty",
            action="store_true",
            help="Also list signals that have no receivers.",
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
            help="Text output: also list signal_inspector's own receivers (hidden by default).",
        )

    def handle(
        self,
        *,
        output_format: str,
        signal_names: list[str] | None,
        sender_labels: list[str] | None,
        app_labels: list[str] | None,
        include_empty: bool,
        duplicates_only: bool,
        check: bool,
        include_inspector: bool = False,
        **options: Any,
    ) -> None:
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
            include_empty=include_empty and not duplicates_only,
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
        self.include_empty = include_empty
        write: Callable[[SignalMap, bool], None] = {
            "text": self.write_text,
            "json": self.write_json,
            "mermaid": self.write_mermaid,
        }[output_format]
        write(selected, duplicates_only)
        if check and selected.duplicates:
            count = len(selected.duplicates)
            self.stderr.write(
                f"{count} duplicate receiver registration{'s' if count != 1 else ''} found."
            )
            sys.exit(1)

    # --- text ------------------------------------------------------------------

    def write_text(self, sigmap: SignalMap, duplicates_only: bool) -> None:
        style = self.style
        hidden = 0
        if not getattr(self, "include_inspector", True):
            sigmap, hidden = _without_own_receivers(sigmap, getattr(self, "include_empty", False))
        lines = [] if duplicates_only else self._signal_lines(sigmap.signals)
        if sigmap.duplicates:
            lines += self._duplicate_lines(sigmap.duplicates)
        never = [item for item in self.unconnected if item.reach == NEVER]
        later = [item for item in self.unconnected if item.reach != NEVER]
        if never:
            lines += self._unconnected_lines(never, "Receivers never connected")
        if later:
            lines += self._unconnected_lines(later, "Receivers not connected at startup")
        if self.collected:
            lines += self._collected_lines(self.collected)
        count = len(sigmap.duplicates)
        summary = (
            f"{len(sigmap.signals)} signal{'s' if len(sigmap.signals) != 1 else ''}, "
            f"{sigmap.receiver_count} receiver{'s' if sigmap.receiver_count != 1 else ''}, "
            f"{count or 'no'} duplicate{'s' if count != 1 else ''}."
        )
        lines.append(style.WARNING(summary) if count else style.SUCCESS(summary))
        if hidden and not duplicates_only:
            lines.append(
                f"signal_inspector's own receiver{'s' if hidden != 1 else ''} ({hidden}) "
                "not listed: --include-inspector lists them."
            )
        # One write: thousands of OutputWrapper.write() calls cost more than the map.
        self.stdout.write("\n".join(lines))

    def _signal_lines(self, signals: list[SignalInfo]) -> list[str]:
        style = self.style
        header = ("#", "SENDER", "RECEIVER", "DEFINED AT", "CONNECTED AT", "NOTES")
        rows = {id(r): _row(r) for info in signals for r in info.receivers}
        unknown: dict[str, int] = {}
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
            indent = " " * (2 + widths[0] + 2)
            lines.append(style.MIGRATE_LABEL(_line(header, widths).rstrip()))
            for r in info.receivers:
                padded = _pad(rows[id(r)], widths)
                if r.connected_at is None:
                    padded[4] = style.WARNING(padded[4])
                    unknown[r.connect_note] = unknown.get(r.connect_note, 0) + 1
                if r.duplicate_groups:
                    padded[5] = style.ERROR(padded[5])
                lines.append(("  " + "  ".join(padded)).rstrip())
                why = "same dispatch_uid" if r.dispatch_uid is not None else "already connected"
                lines.extend(
                    f"{indent}also connected at {ignored.connected_at} "
                    f"({ignored.receiver}): ignored by Django, {why}"
                    for ignored in r.ignored_connects
                )
            lines.append("")
        for note, count in unknown.items():
            lines.append(
                style.WARNING(
                    f"Connect site unknown for {count} receiver{'s' if count != 1 else ''}: {note}."
                )
            )
        if unknown:
            lines.append("")
        return lines

    def _duplicate_lines(self, groups: list[DuplicateGroup]) -> list[str]:
        style = self.style
        lines = [style.MIGRATE_HEADING(f"Duplicate registrations ({len(groups)})")]
        for group in groups:
            lines += [
                style.ERROR(
                    f"  #{group.id}  {group.signal}: {group.receiver} runs "
                    f"up to {group.runs} times per send"
                ),
                f"      {style.MIGRATE_LABEL('cause:')} {group.message}",
                f"      {style.MIGRATE_LABEL('fix:')}   {group.fix}",
            ]
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
            lines += [("      " + _line(c, widths)).rstrip() for c in cells]
            lines.append("")
        return lines

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
            lines.append(style.WARNING(f"  {head}"))
            lines += [
                f"      {r['name']} ({r['signal']}) line {r['line']}" for r in item.receivers
            ]
            lines.append(f"      {style.MIGRATE_LABEL('fix:')} {describe_fix(item)}")
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
            lines.append(style.WARNING(f"  {c.message}"))
            lines.append(f"      {style.MIGRATE_LABEL('fix:')} {c.fix}")
        lines.append("")
        return lines

    # --- json ------------------------------------------------------------------

    def write_json(self, sigmap: SignalMap, duplicates_only: bool) -> None:
        data = sigmap.to_dict()
        data["unconnected"] = [item.to_dict() for item in self.unconnected]
        data["collected"] = [c.to_dict() for c in self.collected]
        self.stdout.write(json.dumps(data, indent=2))

    # --- mermaid ---------------------------------------------------------------

    def write_mermaid(self, sigmap: SignalMap, duplicates_only: bool) -> None:
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
        self.stdout.write("\n".join(lines))


# --- helpers -------------------------------------------------------------------

_OWN_PREFIX = "signal_inspector."


def _without_own_receivers(sigmap: SignalMap, include_empty: bool) -> tuple[SignalMap, int]:
    """The map without signal_inspector's own receivers (its setting_changed
    resets), and how many were left out; a signal left with none is dropped
    unless empty signals were asked for."""
    hidden = 0
    signals = []
    for info in sigmap.signals:
        kept = [r for r in info.receivers if not r.receiver.startswith(_OWN_PREFIX)]
        hidden += len(info.receivers) - len(kept)
        if kept or include_empty or not info.receivers:
            signals.append(dataclasses.replace(info, receivers=kept))
    return dataclasses.replace(sigmap, signals=signals), hidden



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
