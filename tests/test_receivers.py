"""The static map and the duplicate rules, on real signals connected in each test."""

from __future__ import annotations

import functools
import gc
import importlib.util
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import django
import pytest
from django.db.models.signals import ModelSignal
from django.dispatch import Signal

from signal_inspector import receivers
from signal_inspector.receivers import (
    CAUSE_ANY_AND_SPECIFIC,
    CAUSE_DISPATCH_UIDS,
    CAUSE_DOUBLE_IMPORT,
    CAUSE_SAME_CODE,
    UNKNOWN_LAZY,
    UNKNOWN_NOT_RECORDED,
    UNKNOWN_NOT_SEEN,
    SignalMap,
    build_map,
)
from signal_inspector.slots import below_of
from tests.dupapp import handlers
from tests.dupapp.models import AbstractThing, Thing, ThingProxy

HERE = "tests/test_receivers.py"


def one(signal: Signal) -> SignalMap:
    return build_map([("t.sig", signal)])


def line_of(marker: str) -> int:
    """The line of this file that holds ``marker`` (a comment at a connect() call)."""
    for number, text in enumerate(Path(__file__).read_text().splitlines(), 1):
        if text.rstrip().endswith(f"# {marker}"):
            return number
    raise AssertionError(marker)


def r1(sender: Any, **kwargs: Any) -> None:
    pass


def r2(sender: Any, **kwargs: Any) -> None:
    pass


async def ar(sender: Any, **kwargs: Any) -> None:
    pass


class Plain:
    pass


class Callable:
    def __call__(self, sender: Any, **kwargs: Any) -> None:
        pass


class Listener:
    def on_signal(self, sender: Any, **kwargs: Any) -> None:
        pass


# --- what the map shows --------------------------------------------------------


def test_a_registration_names_receiver_sender_and_both_places() -> None:
    sig = Signal()
    sig.connect(r1, sender=Thing, dispatch_uid="t.r1")  # site-r1
    [info] = one(sig).signals
    [reg] = info.receivers
    assert reg.to_dict() == {
        "position": 1,
        "receiver": "tests.test_receivers.r1",
        "module": "tests.test_receivers",
        "app": None,
        "defined_at": f"{HERE}:{r1.__code__.co_firstlineno}",
        "sender": "dupapp.Thing",
        "sender_kind": "model",
        "lazy_sender": False,
        "connected_at": f"{HERE}:{line_of('site-r1')}",
        "connect_note": None,
        "ignored_connects": [],
        "dispatch_uid": "t.r1",
        "weak": True,
        "is_async": False,
        "duplicate_groups": [],
    }
    assert info.kind == "django.dispatch.dispatcher.Signal"


def test_receivers_are_listed_in_the_order_django_calls_them() -> None:
    sig = Signal()
    sig.connect(ar)
    sig.connect(r1)
    sig.connect(r2, weak=False)
    [info] = one(sig).signals
    assert [(r.receiver.rpartition(".")[2], r.is_async, r.weak) for r in info.receivers] == [
        ("r1", False, True),
        ("r2", False, False),
        ("ar", True, True),
    ]
    assert [r.position for r in info.receivers] == [1, 2, 3]
    called: list[str] = []
    sig.connect(lambda sender, **kw: called.append("sync"), weak=False)
    sig.send(sender=None)
    assert called == ["sync"]


def test_sender_kinds() -> None:
    sig = Signal()
    for sender in (None, Thing, ThingProxy, AbstractThing, Plain, "a string"):
        sig.connect(r1, sender=sender)
    [info] = one(sig).signals
    assert [(r.sender, r.sender_kind) for r in info.receivers] == [
        (None, "any"),
        ("dupapp.Thing", "model"),
        ("dupapp.ThingProxy", "proxy_model"),
        ("dupapp.AbstractThing", "abstract_model"),
        ("tests.test_receivers.Plain", "class"),
        ("'a string'", "object"),
    ]


def test_lazy_string_sender_resolved_at_once_keeps_its_connect_site() -> None:
    sig = ModelSignal()
    sig.connect(r1, sender="dupapp.Thing")  # site-lazy
    [reg] = one(sig).signals[0].receivers
    assert (reg.sender, reg.sender_kind, reg.lazy_sender) == ("dupapp.Thing", "model", True)
    assert reg.connected_at == f"{HERE}:{line_of('site-lazy')}"


def test_lazy_sender_resolved_later_says_its_connect_site_is_unknown() -> None:
    # tests/dupapp/models.py connects pre_save for "dupapp.Later" above that class.
    from django.db.models.signals import pre_save

    [reg] = [r for r in one(pre_save).signals[0].receivers if r.receiver.endswith("later_saved")]
    assert (reg.sender, reg.lazy_sender) == ("dupapp.Later", True)
    assert reg.connected_at is None
    assert reg.connect_note == UNKNOWN_LAZY


def test_a_connect_that_was_not_recorded_is_unknown() -> None:
    sig = Signal()
    (django_connect,) = below_of(Signal.__dict__["connect"]) or (None,)
    assert django_connect is not None
    django_connect(sig, r1, sender=Thing)
    [reg] = one(sig).signals[0].receivers
    assert reg.connected_at is None
    # signal_inspector is first in INSTALLED_APPS and this module was imported
    # after it: the connect went around the wrapper, "put it first" would be untrue.
    assert reg.connect_note == UNKNOWN_NOT_SEEN
    assert "first in INSTALLED_APPS" in UNKNOWN_NOT_RECORDED
    # The sender still has a name: Django 6.x keeps it, 5.2 only its id (a model).
    assert reg.sender == "dupapp.Thing"


def test_connects_django_ignored_are_listed_with_the_kept_one() -> None:
    sig = Signal()
    sig.connect(r1, dispatch_uid="t.once")  # site-kept
    sig.connect(r2, dispatch_uid="t.once")  # site-ignored-uid
    sig.connect(r2)  # site-r2
    sig.connect(r2)  # site-r2-again
    sigmap = one(sig)
    first, second = sigmap.signals[0].receivers
    assert first.receiver.endswith(".r1")
    assert first.connected_at == f"{HERE}:{line_of('site-kept')}"
    assert [c.to_dict() for c in first.ignored_connects] == [
        {"receiver": "tests.test_receivers.r2", "connected_at": f"{HERE}:{line_of('site-ignored-uid')}"}
    ]
    assert second.connected_at == f"{HERE}:{line_of('site-r2')}"
    assert [c.connected_at for c in second.ignored_connects] == [f"{HERE}:{line_of('site-r2-again')}"]
    assert sigmap.duplicates == []


def test_reconnecting_after_disconnect_forgets_the_old_site() -> None:
    sig = Signal()
    sig.connect(r1)
    sig.disconnect(r1)
    sig.connect(r1)  # site-reconnected
    [reg] = one(sig).signals[0].receivers
    assert reg.connected_at == f"{HERE}:{line_of('site-reconnected')}"
    assert reg.ignored_connects == []


def test_dead_weak_receivers_are_not_live(settings: Any) -> None:
    sig = Signal()
    sig.connect(r1)
    listener = Listener()
    sig.connect(listener.on_signal)
    settings.DEBUG = False  # with DEBUG, connect() caches the function's signature
    # (and so keeps it alive); a bound method dies with its object either way.

    def short_lived(sender: Any, **kwargs: Any) -> None:
        pass

    sig.connect(short_lived)
    del listener, short_lived
    gc.collect()
    assert len(sig.receivers) == 3  # Django clears dead entries lazily
    assert [r.receiver for r in one(sig).signals[0].receivers] == ["tests.test_receivers.r1"]


@pytest.mark.skipif(django.VERSION < (6,), reason="Django 5.2 does not track senders")
def test_a_receiver_whose_sender_died_is_not_live() -> None:
    sig = Signal()

    class Gone:
        pass

    sig.connect(r1, sender=Gone)
    sig.connect(r2)
    del Gone
    gc.collect()
    assert [r.receiver for r in one(sig).signals[0].receivers] == ["tests.test_receivers.r2"]


def test_discovery_finds_signals_wherever_modules_define_them() -> None:
    names = dict(receivers.discover_signals())
    for name in (
        "django.db.models.signals.post_save",
        "django.core.signals.request_finished",
        "django.db.backends.signals.connection_created",
        "django.contrib.auth.signals.user_logged_in",
        "django.test.signals.template_rendered",
        "django.core.signals.setting_changed",
        "tests.dupapp.signals.ping",
        "tests.dupapp.models.thing_archived",  # not in a signals.py
    ):
        assert name in names
    from tests.dupapp.signals import ping

    assert names["tests.dupapp.signals.ping"] is ping


def test_to_dict_is_json_and_versioned() -> None:
    import json

    data = build_map().to_dict()
    assert data["version"] == receivers.SCHEMA_VERSION == 1
    assert set(data) == {"version", "signals", "duplicates"}
    assert json.loads(json.dumps(data)) == data


# --- the duplicate rules -------------------------------------------------------


def causes(sigmap: SignalMap) -> list[tuple[str, list[int]]]:
    return [(g.cause, [r.position for r in g.registrations]) for g in sigmap.duplicates]


def test_rule1_any_sender_and_a_specific_sender() -> None:
    sig = Signal()
    sig.connect(r1)
    sig.connect(r1, sender=Thing)
    sig.connect(r1, sender=Plain)
    sigmap = one(sig)
    assert causes(sigmap) == [(CAUSE_ANY_AND_SPECIFIC, [1, 2, 3])]
    [group] = sigmap.duplicates
    assert group.runs == 2
    assert "for any sender and for dupapp.Thing, tests.test_receivers.Plain" in group.message
    assert group.fix.startswith("Connect it once")
    assert [r.duplicate_groups for r in sigmap.signals[0].receivers] == [[1], [1], [1]]


def test_rule2_closures_made_in_a_loop() -> None:
    sig = Signal()
    for n in range(3):
        sig.connect(lambda sender, n=n, **kw: n, weak=False)  # site-loop
    sigmap = one(sig)
    assert causes(sigmap) == [(CAUSE_SAME_CODE, [1, 2, 3])]
    [group] = sigmap.duplicates
    assert group.runs == 3
    assert f"connect() at {HERE}:{line_of('site-loop')} ran 3 times" in group.message
    assert "dispatch_uid" in group.fix


def test_rule2_setup_that_runs_twice() -> None:
    sig = Signal()

    def setup() -> None:
        def handler(sender: Any, **kwargs: Any) -> None:
            pass

        sig.connect(handler, sender=Thing, weak=False)

    setup()
    setup()
    assert causes(one(sig)) == [(CAUSE_SAME_CODE, [1, 2])]


def test_rule2_module_imported_under_two_names(tmp_path: Path) -> None:
    sig = Signal()
    source = tmp_path / "twice.py"
    source.write_text(
        "def handler(sender, **kwargs):\n    pass\n\nSIGNAL.connect(handler, weak=False)\n"
    )
    for name in ("pkg_a_twice", "pkg_b_twice"):
        spec = importlib.util.spec_from_file_location(name, source)
        assert spec is not None and spec.loader is not None
        module = importlib.util.module_from_spec(spec)
        module.SIGNAL = sig  # type: ignore[attr-defined]
        spec.loader.exec_module(module)
    sigmap = one(sig)
    assert causes(sigmap) == [(CAUSE_DOUBLE_IMPORT, [1, 2])]
    [group] = sigmap.duplicates
    assert "pkg_a_twice, pkg_b_twice" in group.message
    assert str(source) in group.message  # the file, outside sys.path: in full
    assert group.fix.startswith("Import that file under one name only (pkg_a_twice)")


def test_rule2_partials_of_equal_arguments() -> None:
    sig = Signal()
    for _ in range(2):
        sig.connect(functools.partial(r1, channel="email"), weak=False)
    assert causes(one(sig)) == [(CAUSE_SAME_CODE, [1, 2])]


def test_partials_of_different_arguments_are_different_receivers() -> None:
    """Issue 11: partial(f, channel="email") and partial(f, channel="slack"), each
    under its own dispatch_uid, are two receivers, as methods of two objects are."""
    sig = Signal()
    sig.connect(functools.partial(r1, channel="email"), weak=False, dispatch_uid="t.email")
    sig.connect(functools.partial(r1, channel="slack"), weak=False, dispatch_uid="t.slack")
    sig.connect(functools.partial(r2, {"request": 1}), weak=False)
    sig.connect(functools.partial(r2, {"request": 1}), weak=False)  # another dict
    a, b = Listener(), Listener()
    sig.connect(functools.partial(a.on_signal, extra=1), weak=False)
    sig.connect(functools.partial(b.on_signal, extra=1), weak=False)
    assert one(sig).duplicates == []


def test_per_request_partials_with_their_own_dispatch_uid_are_no_duplicate() -> None:
    """django-auditlog's set_actor(): partial(_set_extra_data, signal_duid=(...)),
    connected per request under that signal_duid; two requests overlap."""
    from django.db.models.signals import pre_save

    def set_extra_data(sender: Any, instance: Any, signal_duid: Any, **kwargs: Any) -> None:
        pass

    uids = [("set_actor", 1700000000.25), ("set_actor", 1700000000.5)]
    for uid in uids:
        pre_save.connect(
            functools.partial(set_extra_data, signal_duid=uid),
            sender=Thing, dispatch_uid=uid, weak=False,
        )
    try:
        sigmap = build_map([("django.db.models.signals.pre_save", pre_save)])
        mine = [r for s in sigmap.signals for r in s.receivers if "set_extra_data" in r.receiver]
        assert len(mine) == 2
        assert sigmap.duplicates == []
    finally:
        for uid in uids:
            pre_save.disconnect(sender=Thing, dispatch_uid=uid)


def test_rule3_one_function_under_two_dispatch_uids() -> None:
    sig = Signal()
    sig.connect(r1, dispatch_uid="t.a")
    sig.connect(r1, dispatch_uid="t.b")
    sig.connect(r2, sender=Thing, dispatch_uid="t.c")
    sig.connect(r2, sender=Thing)
    sigmap = one(sig)
    assert causes(sigmap) == [(CAUSE_DISPATCH_UIDS, [1, 2]), (CAUSE_DISPATCH_UIDS, [3, 4])]
    assert "('t.a', 't.b')" in sigmap.duplicates[0].message
    assert "('t.c', no dispatch_uid)" in sigmap.duplicates[1].message


def test_look_alikes_are_not_duplicates(tmp_path: Path) -> None:
    sig, other = Signal(), Signal()
    # One function on two signals.
    sig.connect(r1)
    other.connect(r1)
    # One function for two senders, even a model and its proxy.
    sig.connect(r2, sender=Thing)
    sig.connect(r2, sender=ThingProxy)
    sig.connect(r2, sender=Plain)
    # Two functions sharing a name in different modules.
    sig.connect(handlers.same_name)
    from tests.dupapp import more_handlers

    sig.connect(more_handlers.same_name)
    # One dispatch_uid connected twice, and one function connected twice.
    sig.connect(handlers.first, dispatch_uid="t.once")
    sig.connect(handlers.second, dispatch_uid="t.once")
    sig.connect(handlers.shared)
    sig.connect(handlers.shared)
    # Methods and callable instances of two objects: per-object receivers.
    a, b = Listener(), Listener()
    sig.connect(a.on_signal)
    sig.connect(b.on_signal)
    sig.connect(Callable(), weak=False)
    sig.connect(Callable(), weak=False)
    # Two lambdas written on one line.
    sig.connect(lambda sender, **kw: 1, weak=False), sig.connect(lambda sender, **kw: 2, weak=False)
    # One async receiver.
    sig.connect(ar)
    sigmap = build_map([("t.sig", sig), ("t.other", other)])
    assert sigmap.duplicates == []
    assert sigmap.receiver_count == 16


def test_a_dead_duplicate_is_no_duplicate(settings: Any) -> None:
    settings.DEBUG = False
    sig = Signal()

    def make() -> Any:
        def handler(sender: Any, **kwargs: Any) -> None:
            pass

        return handler

    kept = make()
    sig.connect(kept)
    sig.connect(make())  # weak, and nothing holds it
    gc.collect()
    assert one(sig).duplicates == []


def test_dupapp_holds_one_group_per_kind() -> None:
    from tests.dupapp.signals import ping

    sigmap = one(ping)
    assert [(g.cause, g.receiver) for g in sigmap.duplicates] == [
        (CAUSE_ANY_AND_SPECIFIC, "tests.dupapp.handlers.any_and_thing"),
        (CAUSE_DISPATCH_UIDS, "tests.dupapp.handlers.two_uids"),
        (CAUSE_SAME_CODE, "tests.dupapp.wiring.connect_all.<locals>.<lambda>"),
        (CAUSE_SAME_CODE, "tests.dupapp.wiring.setup_listeners.<locals>.on_ping"),
        (CAUSE_DOUBLE_IMPORT, "tests.dupapp.imported_twice.on_ping"),
    ]
    double = sigmap.duplicates[-1]
    assert [r.module for r in double.registrations] == [
        "tests.dupapp.imported_twice",
        "dupapp_alias.imported_twice",
    ]
    assert "tests/dupapp/imported_twice.py" in double.message


# --- selecting -----------------------------------------------------------------


@pytest.fixture
def sigmap() -> Iterator[SignalMap]:
    yield build_map()


def test_select_by_app_keeps_whole_duplicate_groups(sigmap: SignalMap) -> None:
    selected = sigmap.select(apps={"dupapp"})
    modules = {r.module for s in selected.signals for r in s.receivers}
    assert "dupapp_alias.imported_twice" not in modules
    double = [g for g in selected.duplicates if g.cause == CAUSE_DOUBLE_IMPORT]
    assert len(double[0].registrations) == 2


def test_select_by_sender(sigmap: SignalMap) -> None:
    selected = sigmap.select(senders={"tests.dupapp.handlers.PlainSender"})
    names = [(s.name, r.receiver, r.sender) for s in selected.signals for r in s.receivers]
    # The receivers for it, and those for any sender on the signals it sends.
    assert ("tests.dupapp.signals.ping", "tests.dupapp.handlers.per_sender", "tests.dupapp.handlers.PlainSender") in names
    assert ("tests.dupapp.signals.ping", "tests.dupapp.handlers.shared", None) in names
    assert all(s.name == "tests.dupapp.signals.ping" for s in selected.signals)


def test_select_by_model_sender_keeps_any_sender_receivers_of_model_signals() -> None:
    model_signal, custom = ModelSignal(), Signal()
    model_signal.connect(r1)
    model_signal.connect(r2, sender=Plain)
    custom.connect(r1)
    sigmap = build_map([("t.model", model_signal), ("t.custom", custom)])

    def kept(senders: set[str]) -> list[tuple[str, str | None]]:
        selected = sigmap.select(senders=senders)
        return [(s.name, r.sender) for s in selected.signals for r in s.receivers]

    # Django sends model signals with models: any-sender receivers run for one.
    assert kept({"dupapp.Thing"}) == [("t.model", None)]
    # Plain is no model: only signals with a receiver connected for it count.
    assert kept({"tests.test_receivers.Plain"}) == [
        ("t.model", None),
        ("t.model", "tests.test_receivers.Plain"),
    ]


def test_select_duplicates_only_and_empty_signals(sigmap: SignalMap) -> None:
    only = sigmap.select(duplicates_only=True)
    assert all(r.duplicate_groups for s in only.signals for r in s.receivers)
    assert len(only.duplicates) == len(sigmap.duplicates)
    names = [s.name for s in sigmap.select(include_empty=True).signals]
    assert "tests.dupapp.signals.never_connected" in names
    assert "tests.dupapp.signals.never_connected" not in [s.name for s in sigmap.signals if s.receivers]
    assert "tests.dupapp.signals.never_connected" not in [s.name for s in sigmap.select().signals]


def test_module_imported_twice_is_in_sys_modules_under_both_names() -> None:
    # The fixture itself: a real second import, not a faked name.
    assert sys.modules["dupapp_alias.imported_twice"] is not sys.modules["tests.dupapp.imported_twice"]
    assert (
        sys.modules["dupapp_alias.imported_twice"].__file__
        == sys.modules["tests.dupapp.imported_twice"].__file__
    )


def test_a_site_not_recorded_is_found_in_the_receivers_source() -> None:
    """Issue 11: receivers connected before signal_inspector was imported (27 of
    them when the settings import debug_toolbar.settings) read "unknown"; the
    @receiver line above the function, or a unique signal.connect(f) line in its
    module, still says where."""
    from tests.early import connects

    source = Path(connects.__file__).read_text().splitlines()

    def line(marker: str) -> str:
        [number] = [n for n, text in enumerate(source, 1) if text.endswith(f"# {marker}")]
        return f"tests/early/connects.py:{number}"

    sigmap = build_map([("tests.early.connects.early", connects.early)])
    by_name = {r.receiver.rpartition(".")[2]: r for r in sigmap.signals[0].receivers}
    assert by_name["decorated"].connected_at == line("site-decorated")
    assert by_name["decorated"].connect_note == ""
    assert by_name["plain"].connected_at == line("site-plain")
    assert by_name["hidden"].connected_at is None
    assert by_name["hidden"].connect_note == UNKNOWN_NOT_SEEN
    # Two @receiver lines: the one naming this signal.
    [other] = build_map([("tests.early.connects.other", connects.other)]).signals[0].receivers
    file, _, number = line("site-decorated").rpartition(":")
    assert other.connected_at == f"{file}:{int(number) - 1}"


def test_signal_inspectors_own_receivers_have_their_connect_line() -> None:
    """Found on a real project: signal_inspector.conf._reset read
    "<frozen importlib._bootstrap>:241": frames of the whole package were skipped
    when finding the caller of connect(), not only the wrapper's."""
    from django.core.signals import setting_changed

    from signal_inspector import conf, naming

    sigmap = build_map([("django.core.signals.setting_changed", setting_changed)])
    by_name = {r.receiver: r for r in sigmap.signals[0].receivers}
    for module, name in ((conf, "_reset"), (naming, "_forget_filter")):
        source = Path(module.__file__).read_text().splitlines()
        [line] = [n for n, text in enumerate(source, 1) if text.startswith(f"setting_changed.connect({name}")]
        connected_at = by_name[f"{module.__name__}.{name}"].connected_at
        assert connected_at is not None and connected_at.endswith(f"{module.__name__.replace('.', '/')}.py:{line}")


# --- a Signal subclass that orders its receivers itself (pretix's plugin signals) ---


def test_receivers_are_listed_in_the_order_a_signal_subclass_calls_them() -> None:
    from tests.pluginapp.handlers import alpha, mike, zulu
    from tests.pluginapp.signals import plugin_hook

    info = build_map([("tests.pluginapp.signals.plugin_hook", plugin_hook)]).signals[0]
    called = [receiver for receiver, _ in plugin_hook.send(None)]
    assert called == [alpha, mike, zulu]  # sorted by name; connected zulu, alpha, mike
    assert [(r.position, r.receiver.rpartition(".")[2]) for r in info.receivers] == [
        (1, "alpha"), (2, "mike"), (3, "zulu"),
    ]
    assert info.order == receivers.ORDER_SIGNAL
    assert info.to_dict()["order"] == "signal" and info.to_dict()["order_note"] is None


def test_a_subclass_ordering_per_sender_is_said_to_decide_its_order() -> None:
    from tests.pluginapp.signals import PluginSignal

    signal = PluginSignal()
    signal.connect(handlers.second, weak=False)
    signal.connect(handlers.first, sender=Thing, weak=False)
    info = one(signal).signals[0]
    assert info.order == receivers.ORDER_CLASS
    assert [r.receiver.rpartition(".")[2] for r in info.receivers] == ["second", "first"]
    assert info.order_note == (
        "tests.pluginapp.signals.PluginSignal overrides _live_receivers() and decides the "
        "order of its receivers for each sender; they are listed in the order they were "
        "connected."
    )


def test_a_subclass_whose_order_cannot_be_asked_keeps_the_connect_order() -> None:
    from tests.pluginapp.signals import PluginSignal

    class Failing(PluginSignal):
        def _live_receivers(self, sender: Any) -> Any:
            raise RuntimeError("no")

    signal = Failing()
    signal.connect(handlers.second, weak=False)
    signal.connect(handlers.first, weak=False)
    info = one(signal).signals[0]
    assert info.order == receivers.ORDER_CLASS
    assert [r.position for r in info.receivers] == [1, 2]


def test_plain_signals_keep_djangos_order() -> None:
    signal = Signal()
    signal.connect(handlers.second, weak=False)
    signal.connect(handlers.first, weak=False)
    info = one(signal).signals[0]
    assert info.order == receivers.ORDER_DJANGO and info.order_note == ""
