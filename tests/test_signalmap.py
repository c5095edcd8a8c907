"""``manage.py signalmap`` through call_command: output, error output, exit status."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from io import StringIO
from pathlib import Path
from typing import Any

import pytest
from django.core.management import CommandError, call_command

from tests.dupapp import handlers

ROOT = Path(__file__).resolve().parent.parent
WIRING = ROOT / "tests" / "dupapp" / "wiring.py"


def run(*args: str, **options: Any) -> tuple[str, str, int]:
    out, err = StringIO(), StringIO()
    try:
        call_command("signalmap", *args, stdout=out, stderr=err, **options)
    except SystemExit as exc:
        code = exc.code
    else:
        code = 0
    assert isinstance(code, int)
    return out.getvalue(), err.getvalue(), code


def wiring_line(text: str) -> int:
    """The line of tests/dupapp/wiring.py that holds ``text``."""
    lines = WIRING.read_text().splitlines()
    [number] = [n for n, line in enumerate(lines, 1) if text in line]
    return number


def defined(func: Any) -> str:
    return f"tests/dupapp/handlers.py:{func.__code__.co_firstlineno}"


# --- text ----------------------------------------------------------------------


def test_text_is_grouped_by_signal_and_aligned() -> None:
    out, err, code = run("--signal", "pong")
    connected = f"tests/dupapp/wiring.py:{wiring_line('pong.connect(handlers.shared)')}"
    assert out == (
        "tests.dupapp.signals.pong\n"
        f"  #  SENDER        RECEIVER                      {'DEFINED AT'.ljust(27)}  "
        f"{'CONNECTED AT'.ljust(len(connected))}  NOTES\n"
        f"  1  (any sender)  tests.dupapp.handlers.shared  {defined(handlers.shared)}  {connected}\n"
        "\n"
        "1 signal, 1 receiver, no duplicates.\n"
    )
    assert (err, code) == ("", 0)


def test_text_lists_receivers_in_call_order_with_their_notes() -> None:
    out, err, code = run("--signal", "tests.dupapp.signals.ping")
    rows = [line.split() for line in out.splitlines() if re.match(r"  \d+ ", line)]
    receivers = [row[2] if row[1] != "(any" else row[3] for row in rows]
    assert receivers == [
        "tests.dupapp.handlers.any_and_thing",
        "tests.dupapp.handlers.any_and_thing",
        "tests.dupapp.handlers.two_uids",
        "tests.dupapp.handlers.two_uids",
        "tests.dupapp.wiring.connect_all.<locals>.<lambda>",
        "tests.dupapp.wiring.connect_all.<locals>.<lambda>",
        "tests.dupapp.wiring.setup_listeners.<locals>.on_ping",
        "tests.dupapp.wiring.setup_listeners.<locals>.on_ping",
        "tests.dupapp.imported_twice.on_ping",
        "dupapp_alias.imported_twice.on_ping",
        "tests.dupapp.handlers.shared",
        "tests.dupapp.handlers.per_sender",
        "tests.dupapp.handlers.per_sender",
        "tests.dupapp.handlers.same_name",
        "tests.dupapp.more_handlers.same_name",
        "tests.dupapp.handlers.first",
        "tests.dupapp.handlers.connected_twice",
        "tests.dupapp.handlers.on_ping_async",  # async receivers run after the sync ones
    ]
    # Its object is gone: a dead weak reference is no row, but it is named below.
    assert "ShortLived" not in "\n".join(" ".join(row) for row in rows)
    assert (
        "Receivers garbage-collected while connected (1)\n"
        "  tests.dupapp.wiring.ShortLived.on_ping was connected weakly to "
        "tests.dupapp.signals.ping (sender: any sender) at tests/dupapp/wiring.py:"
    ) in out
    assert rows[-1][-1] == "async"
    assert rows[4][-3:-1] == ["strong", "DUPLICATE"]
    assert rows[12][1] == "tests.dupapp.handlers.PlainSender"
    assert (
        f"also connected at tests/dupapp/wiring.py:{wiring_line('handlers.second')} "
        "(tests.dupapp.handlers.second): ignored by Django, same dispatch_uid"
    ) in out
    assert "(tests.dupapp.handlers.connected_twice): ignored by Django, already connected" in out
    assert out.endswith("1 signal, 18 receivers, 5 duplicates.\n")
    assert (err, code) == ("", 0)


def test_text_names_model_proxy_abstract_and_lazy_senders() -> None:
    out, _, _ = run("--signal", "post_save", "--signal", "pre_save", "--app", "dupapp")
    senders = [line.split("  ")[2].strip() for line in out.splitlines() if re.match(r"  \d ", line)]
    assert senders == [
        "dupapp.Thing",
        "dupapp.ThingProxy (proxy)",
        "dupapp.AbstractThing (abstract: never sent)",
        '"dupapp.Thing"',
        '"dupapp.Later"',
    ]
    later = [line for line in out.splitlines() if "later_saved" in line][0]
    assert "  unknown  " in later
    assert later.endswith("lazy sender")
    assert (
        "Connect site unknown for 1 receiver: lazy sender: connected when the model "
        "was loaded; the connect() call is not known.\n"
    ) in out


def test_text_duplicates_name_cause_fix_and_every_connect_site() -> None:
    out, err, code = run("--duplicates", "--app", "dupapp")
    assert not re.search(r"^  #  SENDER", out, re.M)  # no signal tables
    blocks = out.split("\n\n")
    assert blocks[0].startswith("Duplicate registrations (5)\n")
    double = [b for b in blocks if "imported_twice.on_ping runs up to 2 times per send" in b][0]
    assert "tests.dupapp.imported_twice, dupapp_alias.imported_twice" in double
    assert "tests/dupapp/imported_twice.py is imported as 2 modules" in double
    assert "fix:   Import that file under one name only (tests.dupapp.imported_twice)" in double
    assert double.count("connected at tests/dupapp/imported_twice.py:") == 2
    rule1 = [b for b in blocks if "any_and_thing runs up to 2 times" in b][0]
    assert f"(any sender)  tests.dupapp.handlers.any_and_thing  connected at tests/dupapp/wiring.py:{wiring_line('ping.connect(handlers.any_and_thing)')}" in rule1
    assert f"dupapp.Thing  tests.dupapp.handlers.any_and_thing  connected at tests/dupapp/wiring.py:{wiring_line('handlers.any_and_thing, sender=Thing')}" in rule1
    uids = [b for b in blocks if "two_uids runs up to 2 times" in b][0]
    assert "dispatch_uid=dupapp.two_uids.a" in uids and "dispatch_uid=dupapp.two_uids.b" in uids
    assert "fix:   Connect it once, under one dispatch_uid." in uids
    # The copy imported as dupapp_alias is in no app: counted out, shown in its group.
    assert out.endswith("1 signal, 9 receivers, 5 duplicates.\n")
    assert (err, code) == ("", 0)


def test_colour_through_django_styles_and_no_color() -> None:
    coloured, _, _ = run("--signal", "ping", force_color=True)
    assert "\x1b[" in coloured
    assert re.search(r"\x1b\[[0-9;]*mtests\.dupapp\.signals\.ping\x1b\[0m", coloured)
    assert re.search(r"\x1b\[[0-9;]*mDUPLICATE #\d+\s*\x1b\[0m", coloured)
    plain, _, _ = run("--signal", "ping", no_color=True)
    assert "\x1b[" not in plain
    assert re.sub(r"\x1b\[[0-9;]*m", "", coloured) == plain


# --- filters -------------------------------------------------------------------


def test_all_lists_signals_without_receivers() -> None:
    out, _, _ = run("--signal", "never_connected")
    assert out == "0 signals, 0 receivers, no duplicates.\n"
    out, _, _ = run("--signal", "never_connected", "--all")
    assert out == (
        "tests.dupapp.signals.never_connected\n  (no receivers)\n\n"
        "1 signal, 0 receivers, no duplicates.\n"
    )


def test_app_filter_keeps_receivers_defined_in_that_app() -> None:
    out, _, _ = run("--app", "testapp", "--format", "json")
    data = json.loads(out)
    apps = {r["app"] for s in data["signals"] for r in s["receivers"]}
    assert apps == {"testapp"}
    assert {s["name"] for s in data["signals"]} == {
        "django.db.models.signals.post_save",
        "tests.testapp.signals.order_paid",
    }
    assert data["duplicates"] == []


def test_sender_filter_keeps_its_receivers_and_any_sender_ones_of_its_signals() -> None:
    out, _, _ = run("--sender", "tests.dupapp.handlers.PlainSender", "--format", "json")
    data = json.loads(out)
    assert [s["name"] for s in data["signals"]] == ["tests.dupapp.signals.ping"]
    senders = {r["sender"] for r in data["signals"][0]["receivers"]}
    assert senders == {None, "tests.dupapp.handlers.PlainSender"}
    # Model labels are accepted in any case; model signals count as sent.
    out, _, _ = run("--sender", "DUPAPP.thingproxy", "--app", "dupapp", "--format", "json")
    data = json.loads(out)
    assert [(s["name"], [r["sender"] for r in s["receivers"]]) for s in data["signals"]] == [
        ("django.db.models.signals.post_save", ["dupapp.ThingProxy"]),
    ]


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (("--signal", "pnig"), "Unknown signal 'pnig'. Did you mean "),
        (("--sender", "dupapp.Thign"), "Unknown sender 'dupapp.Thign'. Did you mean dupapp.Thing"),
        (("--app", "dupap"), "Unknown app 'dupap'. Did you mean dupapp?"),
        (("--app", "zzzzzz"), "Unknown app 'zzzzzz'."),
    ],
)
def test_unknown_filter_values_are_command_errors_with_close_matches(
    args: tuple[str, ...], message: str
) -> None:
    with pytest.raises(CommandError) as info:
        run(*args)
    assert str(info.value).startswith(message)
    if args[1] == "pnig":
        assert {"ping", "pong"} <= set(re.findall(r"\w+", str(info.value)))
    if args[1] == "zzzzzz":
        assert str(info.value) == message


def test_format_is_a_choice() -> None:
    with pytest.raises(CommandError, match="invalid choice: 'yaml'"):
        run("--format", "yaml")


# --- --check -------------------------------------------------------------------


def test_check_exits_1_after_writing_the_output_when_duplicates_exist() -> None:
    out, err, code = run("--check", "--app", "dupapp", "--duplicates")
    assert code == 1
    assert err == "5 duplicate receiver registrations found.\n"
    assert out.startswith("Duplicate registrations (5)\n")


def test_check_exits_0_without_duplicates() -> None:
    out, err, code = run("--check", "--signal", "pong")
    assert (err, code) == ("", 0)
    assert out.endswith("no duplicates.\n")


# --- json ----------------------------------------------------------------------


def test_json_schema() -> None:
    out, err, code = run("--format", "json", "--app", "dupapp")
    data = json.loads(out)
    assert (err, code) == ("", 0)
    assert list(data) == ["version", "signals", "duplicates", "unconnected", "collected"]
    assert data["version"] == 1
    ping = [s for s in data["signals"] if s["name"] == "tests.dupapp.signals.ping"][0]
    assert ping["class"] == "django.dispatch.dispatcher.Signal"
    first = ping["receivers"][0]
    assert first == {
        "position": 1,
        "receiver": "tests.dupapp.handlers.any_and_thing",
        "module": "tests.dupapp.handlers",
        "app": "dupapp",
        "defined_at": defined(handlers.any_and_thing),
        "sender": None,
        "sender_kind": "any",
        "lazy_sender": False,
        "connected_at": f"tests/dupapp/wiring.py:{wiring_line('ping.connect(handlers.any_and_thing)')}",
        "connect_note": None,
        "ignored_connects": [],
        "dispatch_uid": None,
        "weak": True,
        "is_async": False,
        "duplicate_groups": first["duplicate_groups"],
        # Added with the project-only default (docs/graphs.md): the file is under
        # the project's directory, outside site-packages.
        "project": True,
    }
    assert [g["cause"] for g in data["duplicates"]] == [
        "any_and_specific_sender",
        "different_dispatch_uids",
        "same_code_connected_again",
        "same_code_connected_again",
        "double_import",
    ]
    group = data["duplicates"][0]
    assert first["duplicate_groups"] == [group["id"]]
    assert set(group) == {
        "id", "signal", "receiver", "defined_at", "cause", "runs", "message", "fix", "registrations",
    }
    assert group["signal"] == "tests.dupapp.signals.ping"
    assert group["receiver"] == "tests.dupapp.handlers.any_and_thing"
    assert [(r["sender"], r["connected_at"]) for r in group["registrations"]] == [
        (None, f"tests/dupapp/wiring.py:{wiring_line('ping.connect(handlers.any_and_thing)')}"),
        ("dupapp.Thing", f"tests/dupapp/wiring.py:{wiring_line('handlers.any_and_thing, sender=Thing')}"),
    ]
    assert set(group["registrations"][0]) == {
        "position", "receiver", "module", "sender", "dispatch_uid", "connected_at",
    }


def test_json_duplicates_only() -> None:
    out, _, _ = run("--format", "json", "--duplicates", "--signal", "ping")
    data = json.loads(out)
    receivers = data["signals"][0]["receivers"]
    assert len(receivers) == 10
    assert all(r["duplicate_groups"] for r in receivers)
    assert len(data["duplicates"]) == 5


# --- mermaid -------------------------------------------------------------------


def test_mermaid_draws_sender_signal_receiver() -> None:
    out, err, code = run("--format", "mermaid", "--signal", "pong")
    assert out == (
        "flowchart LR\n"
        '    signal1(["tests.dupapp.signals.pong"])\n'
        '    sender2["(any sender)"]\n'
        "    sender2 --> signal1\n"
        f'    receiver3["tests.dupapp.handlers.shared<br>{defined(handlers.shared)}"]\n'
        "    signal1 --> receiver3\n"
    )
    assert (err, code) == ("", 0)


def test_mermaid_marks_duplicates_and_escapes_labels() -> None:
    out, _, _ = run("--format", "mermaid", "--signal", "ping", "--signal", "post_save", "--app", "dupapp")
    lines = out.splitlines()
    assert lines[0] == "flowchart LR"
    assert any("connect_all.#lt;locals#gt;.#lt;lambda#gt;" in line for line in lines)
    assert not any("<lambda>" in line or "<locals>" in line for line in lines)
    assert any(re.fullmatch(r'    signal\d+ ==>\|"dupapp\.Thing: duplicate #35;\d+"\| receiver\d+', line) for line in lines)
    assert any('["#quot;dupapp.Thing#quot;"]' in line for line in lines)  # a lazy sender
    assert lines[-2] == "    classDef duplicate stroke:#d33,stroke-width:3px"
    assert re.fullmatch(r"    class (receiver\d+,){4}receiver\d+ duplicate", lines[-1])


# --- a real process ------------------------------------------------------------


def manage(*args: str) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "PYTHONPATH": str(ROOT), "DJANGO_SETTINGS_MODULE": "tests.settings"}
    return subprocess.run(
        [sys.executable, "-m", "django", *args],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )


def test_exit_statuses_of_a_real_process() -> None:
    found = manage("signalmap", "--check", "--duplicates", "--app", "dupapp", "--no-color")
    assert found.returncode == 1
    assert found.stderr == "5 duplicate receiver registrations found.\n"
    assert "Duplicate registrations (5)" in found.stdout
    clean = manage("signalmap", "--check", "--signal", "pong")
    assert (clean.returncode, clean.stderr) == (0, "")
    unknown = manage("signalmap", "--app", "dupap")
    assert unknown.returncode == 1
    assert unknown.stderr == "CommandError: Unknown app 'dupap'. Did you mean dupapp?\n"


def test_sender_given_as_a_dotted_class_path() -> None:
    """Issue 11: the README promises dotted class paths; ``dupapp.models.Thing``
    was refused."""
    by_path, _, _ = run("--sender", "tests.dupapp.models.Thing", "--format", "json")
    by_label, _, _ = run("--sender", "dupapp.Thing", "--format", "json")
    assert json.loads(by_path) == json.loads(by_label)
    assert json.loads(by_path)["signals"]
    # Any importable class, even one no receiver names yet.
    out, _, _ = run("--sender", "tests.abstractlib.models.StatusModel", "--format", "json")
    assert [s["name"] for s in json.loads(out)["signals"]] == [
        "django.db.models.signals.class_prepared"
    ]


def test_abstract_model_of_no_installed_app_is_named_by_its_class_path() -> None:
    """Issue 11: model_utils' StatusModel, its app not installed, read None.StatusModel."""
    from signal_inspector.naming import sender_label
    from tests.abstractlib.models import StatusModel

    out, _, _ = run("--signal", "class_prepared", "--no-color")
    assert "tests.abstractlib.models.StatusModel (abstract: never sent)" in out
    assert "None." not in out
    assert sender_label(StatusModel) == "tests.abstractlib.models.StatusModel"


def test_the_readmes_panels_defaults_recipe_leaves_no_false_put_it_first(tmp_path: Path) -> None:
    """Issue 11: a settings module importing debug_toolbar.settings (the README's
    PANELS_DEFAULTS recipe) imports django.test.signals before any app: its
    receivers read "unknown ... put 'signal_inspector' first", which it was."""
    import django.test.signals

    (tmp_path / "recipe_settings.py").write_text(
        "from tests.settings import *  # noqa: F403\n"
        "from debug_toolbar.settings import PANELS_DEFAULTS  # noqa: F401\n"
        "import tests.early.from_settings  # noqa: F401\n"
    )
    env = {
        **os.environ,
        "PYTHONPATH": os.pathsep.join([str(ROOT), str(tmp_path)]),
        "DJANGO_SETTINGS_MODULE": "recipe_settings",
    }
    run = subprocess.run(
        [sys.executable, "-m", "django", "signalmap", "--format", "json"],
        cwd=ROOT, env=env, capture_output=True, text=True, timeout=120,
    )
    assert run.returncode == 0, run.stderr
    receivers = [r for s in json.loads(run.stdout)["signals"] for r in s["receivers"]]
    test_signals = [r for r in receivers if r["module"] == "django.test.signals"]
    assert len(test_signals) > 10
    source = Path(django.test.signals.__file__).read_text().splitlines()
    for r in test_signals:
        assert r["connected_at"] is not None, r
        line = int(r["connected_at"].rpartition(":")[2])
        assert source[line - 1].startswith("@receiver("), r
    assert not any("first in INSTALLED_APPS" in (r["connect_note"] or "") for r in receivers)
    [early] = [r for r in receivers if r["receiver"].endswith("settings_time_receiver")]
    assert early["connected_at"] is None
    assert early["connect_note"].startswith(
        "connected before signal_inspector was imported, by a module loaded before any "
        "app: by Django itself, or by the settings module (recipe_settings) and what it imports"
    )
