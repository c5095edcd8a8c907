from __future__ import annotations

import argparse
import contextlib
import difflib
import json
import os
import sys
from collections.abc import Callable, Iterator
from contextlib import suppress
from typing import TYPE_CHECKING, Any

from django.core.management import call_command, get_commands, load_command_class
from django.core.management.base import BaseCommand, CommandError, CommandParser

import signal_inspector
from signal_inspector import graphs
from signal_inspector.naming import safe_message
from signal_inspector.text import printable

if TYPE_CHECKING:
    from signal_inspector.recording import Recording


class Command(BaseCommand):
    help = (
        "Run another management command under a signal recording, then write the "
        "tree of sends and receivers and a summary (to stderr, or --output FILE). "
        "Everything after COMMAND is that command's own: "
        "manage.py signaltrace shell -c \"...\"."
    )
    # The traced command runs its own checks, if it wants them.
    requires_system_checks: list[str] = []

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument(
            "--format",
            dest="output_format",
            default="text",
            choices=tuple(_WRITERS),
            help=(
                "Output format: a text tree (default), the recording as JSON, or the "
                "cascade as a graph: Graphviz DOT, SVG (rendered by Graphviz's dot), or "
                "one HTML page (the SVG, a legend and the text tree)."
            ),
        )
        parser.add_argument(
            "--output",
            metavar="FILE",
            default=None,
            help="Write the trace to FILE instead of stderr.",
        )
        parser.add_argument(
            "--max-lines",
            type=int,
            default=500,
            metavar="N",
            help="Lines of the text tree at most (default 500).",
        )
        parser.add_argument(
            "--max-sends",
            type=int,
            default=None,
            metavar="N",
            help="Sends recorded in detail (default: the MAX_SENDS setting).",
        )
        parser.add_argument(
            "--dry-run",
            action="store_true",
            help="Roll back every database at the end and keep mail in memory: what "
            "would fire, without keeping it (network I/O still happens: see findings).",
        )
        parser.add_argument(
            "--otel",
            action="store_true",
            help="Also export the sends as OpenTelemetry spans, under a span for the "
            "command (needs opentelemetry-api and a configured SDK; see "
            "https://django-signal-inspector.readthedocs.io/en/latest/opentelemetry.html).",
        )
        parser.add_argument("traced_command", metavar="COMMAND", help="The command to run.")
        remainder = parser.add_argument(
            "traced_args",
            metavar="ARGS",
            nargs=argparse.REMAINDER,
            help="The command's own arguments and options, as you would type them.",
        )
        # argparse counts a REMAINDER positional as required ("required: COMMAND,
        # ARGS") and writes it as "..."; a command needs no arguments of its own.
        remainder.required = False
        usage = parser.format_usage().removeprefix("usage: ").rstrip("\n")
        if usage.endswith("COMMAND ..."):
            parser.usage = usage.removesuffix("...").replace("%", "%%") + "[ARGS ...]"

    def handle(
        self,
        *,
        output_format: str,
        output: str | None,
        max_lines: int,
        max_sends: int | None,
        dry_run: bool = False,
        otel: bool = False,
        traced_command: str,
        traced_args: list[str],
        **options: Any,
    ) -> None:
        if max_lines < 1:
            raise CommandError(f"--max-lines must be 1 or more, not {max_lines}.")
        if max_sends is not None and max_sends < 0:
            raise CommandError(f"--max-sends must be 0 or more, not {max_sends}.")
        if output_format in _NEEDS_DOT and graphs.dot_path() is None:
            raise CommandError(graphs.INSTALL_HINT)  # before the command runs, not after
        command = self._load(traced_command)
        if output is not None:
            _check_writable(output)
        spans: contextlib.AbstractContextManager[Callable[[Recording], bool] | None]
        if otel:
            try:
                from signal_inspector.otel import command_span
            except ImportError as exc:
                raise CommandError(
                    '--otel needs opentelemetry-api: pip install "django-signal-inspector[otel]".'
                ) from exc
            spans = command_span(traced_command)
        else:
            spans = contextlib.nullcontext()
        argv = [sys.argv[0] if sys.argv else "manage.py", traced_command, *traced_args]
        writer = _WRITERS[output_format]
        recording: Recording | None = None
        exited: SystemExit | None = None
        try:
            with (
                spans as attach,
                # Outside the recording: the dry run's own setting change and
                # transactions are not the command's.
                dry_run_of() if dry_run else contextlib.nullcontext(),
                signal_inspector.record(max_sends=max_sends) as recording,
                would_run(recording) if dry_run else contextlib.nullcontext(),
            ):
                if attach is not None and not attach(recording):
                    self.stderr.write(
                        "signaltrace --otel: no sampled span (no OpenTelemetry SDK is "
                        "configured, or its sampler dropped it): nothing is exported."
                    )
                try:
                    self._run(command, traced_command, traced_args, options)
                except SystemExit as exc:  # from the command line, a CommandError too
                    exited = exc
        except BaseException as exc:
            # The trace first, then the exception on its way to Python's traceback.
            if recording is not None:
                ending = f"raised {type(exc).__name__}: {safe_message(exc)}"
                try:
                    self._write(writer(recording, argv[1:], None, ending, max_lines), output)
                except CommandError as error:
                    self.stderr.write(str(error))
            raise
        status = _exit_status(exited) if exited is not None else 0
        ending = f"exit status {status}" + (DRY_RUN_NOTE if dry_run else "")
        self._write(writer(recording, argv[1:], status, ending, max_lines), output)
        if exited is not None and status:
            raise exited  # the command's own SystemExit: its code, or its message

    def _run(
        self, command: BaseCommand, name: str, args: list[str], options: dict[str, Any]
    ) -> None:
        """Run the traced command as signaltrace itself was run.

        From the command line, as ``manage.py`` would: its ``CommandError`` printed
        and turned into exit status 1, its database connections closed. From
        ``call_command()`` (a test), as ``call_command()`` would: a
        ``CommandError`` raised as such, the connections left open (closing them
        mid-test breaks the test's transaction), and the ``stdout``/``stderr``
        given to signaltrace passed on.
        """
        if getattr(self, "_called_from_command_line", False):
            command.run_from_argv([sys.argv[0] if sys.argv else "manage.py", name, *args])
            return
        streams = {key: options[key] for key in ("stdout", "stderr") if options.get(key)}
        call_command(command, *args, **streams)

    def _load(self, name: str) -> BaseCommand:
        commands = get_commands()
        if name not in commands:
            close = difflib.get_close_matches(name, sorted(commands), n=3)
            hint = f" Did you mean {', '.join(close)}?" if close else ""
            raise CommandError(f"Unknown command {name!r}.{hint}")
        app_name = commands[name]
        if isinstance(app_name, BaseCommand):  # already loaded (call_command does this)
            return app_name
        return load_command_class(app_name, name)

    def _write(self, text: str, output: str | None) -> None:
        if output is None:
            # Unstyled: the trace is often piped or saved.
            self.stderr.write(text, style_func=_plain, ending="")
            self.stderr.flush()
            return
        try:
            with open(output, "w", encoding="utf-8") as handle:
                handle.write(text)
        except OSError as exc:
            # Checked before the command ran (see _check_writable()): the command's
            # work is done and its exit status stands; the trace is not lost.
            self.stderr.write(
                f"Cannot write the trace to {output}: {exc}. The trace follows.",
                style_func=_plain,
            )
            self.stderr.write(text, style_func=_plain, ending="")
            self.stderr.flush()


def _check_writable(output: str) -> None:
    """A CommandError now, before the command runs, if ``output`` cannot be written.

    Opened for appending, not truncated: ``output`` may be the traced command's own
    input (``--output data.json loaddata data.json``); it is replaced only once the
    command has run.
    """
    existed = os.path.lexists(output)
    try:
        with open(output, "a", encoding="utf-8"):
            pass
    except OSError as exc:
        raise CommandError(f"Cannot write the trace to {output}: {exc}") from exc
    if not existed:
        with suppress(OSError):
            os.remove(output)


DRY_RUN_NOTE = (
    "; dry run: every database rolled back, mail kept in memory, on_commit work not "
    "run; network I/O did happen"
)


@contextlib.contextmanager
def dry_run_of() -> Iterator[None]:
    """Run the block in a transaction on every database, rolled back at the end,
    with mail sent to memory.

    Entered before the recording opens, so that the trace shows the command's
    sends, not the ``setting_changed`` of the mail backend swapped here. These
    transactions are the dry run's, not the command's: marked as a test case
    marks its own (``_from_testcase``), a receiver's mail or task in autocommit
    is not "before commit", and a durable ``atomic()`` of the command still runs.
    """
    from django.db import connections, transaction
    from django.test.utils import override_settings

    with contextlib.ExitStack() as stack:
        stack.enter_context(
            override_settings(EMAIL_BACKEND="django.core.mail.backends.locmem.EmailBackend")
        )
        aliases = list(connections)
        for alias in aliases:
            block = transaction.atomic(using=alias)
            block._from_testcase = True  # type: ignore[attr-defined]
            stack.enter_context(block)
        try:
            yield
        finally:
            for alias in aliases:
                transaction.set_rollback(True, using=alias)


@contextlib.contextmanager
def would_run(recording: Recording) -> Iterator[None]:
    """On the way out of a dry run, before the recording closes: on_commit
    callbacks still queued are what they are, work that would run on commit."""
    from signal_inspector.on_commit import PENDING, WOULD_RUN

    try:
        yield
    finally:
        for _, _, callback in recording._on_commit:
            if callback.status == PENDING:
                callback.status = WOULD_RUN


def _plain(text: str) -> str:
    return text


def _exit_status(exc: SystemExit) -> int:
    """The process exit status ``sys.exit(code)`` would give."""
    code = exc.code
    if code is None:
        return 0
    if isinstance(code, int) and not isinstance(code, bool):
        return code
    return 1  # sys.exit("message") prints the message and exits 1


def _text(recording: Recording, argv: list[str], status: int | None, ending: str, max_lines: int) -> str:
    return f"{_title(argv, ending)}\n{recording.to_text(max_lines=max_lines)}\n"


def _json(recording: Recording, argv: list[str], status: int | None, ending: str, max_lines: int) -> str:
    data = {
        "command": argv,
        "exit_status": status,
        "ended": ending,
        "recording": recording.to_dict(),
    }
    return json.dumps(data, indent=2, default=str) + "\n"


def _title(argv: list[str], ending: str) -> str:
    command = " ".join(argv)
    if len(command) > 200:
        command = command[:199] + "…"
    return printable(f"signaltrace: {command} ({ending})")


def _dot(recording: Recording, argv: list[str], status: int | None, ending: str, max_lines: int) -> str:
    return graphs.cascade_dot(recording.to_dict(), title=_title(argv, ending))


def _svg(recording: Recording, argv: list[str], status: int | None, ending: str, max_lines: int) -> str:
    try:
        return graphs.render(_dot(recording, argv, status, ending, max_lines), "svg").decode("utf-8")
    except graphs.GraphvizError as exc:
        raise CommandError(str(exc)) from exc


def _html(recording: Recording, argv: list[str], status: int | None, ending: str, max_lines: int) -> str:
    svg = graphs.inline_svg(_svg(recording, argv, status, ending, max_lines).encode("utf-8"))
    listing = _text(recording, argv, status, ending, max_lines)
    return graphs.html_page(_title(argv, ending), svg, graphs.LEGEND["cascade"], listing)


_WRITERS: dict[str, Callable[[Recording, list[str], int | None, str, int], str]] = {
    "text": _text,
    "json": _json,
    "dot": _dot,
    "svg": _svg,
    "html": _html,
}
_NEEDS_DOT = ("svg", "html")
