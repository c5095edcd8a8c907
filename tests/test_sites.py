"""Connect sites stay bounded when Django ignores a connect as a duplicate."""

from __future__ import annotations

import functools
from typing import Any

from django.dispatch import Signal

from signal_inspector import sites
from signal_inspector.receivers import build_map
from signal_inspector.sites import MAX_SITES_PER_KEY, connect_sites


def handler(sender, **kwargs):
    return None


def _sites(signal: Signal) -> list:
    return [site for sites in connect_sites(signal).values() for site in sites]


def test_a_connect_per_request_with_one_dispatch_uid_keeps_one_site() -> None:
    # django-auditlog style: the same dispatch_uid connected on every request.
    signal = Signal()
    for _ in range(2_000):
        signal.connect(handler, dispatch_uid="per-request", weak=False)
    assert len(signal.receivers) == 1
    assert len(_sites(signal)) == 1


def test_ignored_connects_from_many_places_keep_the_first_and_the_latest() -> None:
    signal = Signal()
    namespace = {"__name__": "tests.generated_connects", "signal": signal, "handler": handler}
    for line in range(1, 201):
        source = "\n" * (line - 1) + "signal.connect(handler, dispatch_uid='uid', weak=False)"
        exec(compile(source, "generated_connects.py", "exec"), namespace)  # noqa: S102
    sites = _sites(signal)
    assert len(signal.receivers) == 1
    assert len(sites) == MAX_SITES_PER_KEY
    assert sites[0].line == 1  # the connect Django kept
    assert sites[-1].line == 200  # the latest one it ignored
    assert [s.line for s in sites[1:]] == list(range(201 - MAX_SITES_PER_KEY + 1, 201))


def test_the_receiver_map_still_lists_the_ignored_connects() -> None:
    signal = Signal()
    namespace = {"__name__": "tests.generated_connects", "signal": signal, "handler": handler}
    for line in (1, 2, 2, 3):
        source = "\n" * (line - 1) + "signal.connect(handler, dispatch_uid='uid', weak=False)"
        exec(compile(source, "generated_connects.py", "exec"), namespace)  # noqa: S102
    (registration,) = build_map([("tests.signal", signal)]).signals[0].receivers
    assert registration.connected_at == "generated_connects.py:1"
    assert [c.connected_at for c in registration.ignored_connects] == [
        "generated_connects.py:2", "generated_connects.py:3",
    ]


def test_a_connect_override_is_not_the_connect_site() -> None:
    """pretix's EventPluginSignal.connect() checks the receiver, then calls
    super().connect(): the site is the @receiver or connect() line that called it."""
    from tests.pluginapp import handlers
    from tests.pluginapp.signals import plugin_hook

    sites = {
        r.receiver.rpartition(".")[2]: r.connected_at
        for r in build_map([("plugin_hook", plugin_hook)]).signals[0].receivers
    }
    assert sites == {
        "zulu": "tests/pluginapp/handlers.py:10",
        "alpha": "tests/pluginapp/handlers.py:15",
        "mike": "tests/pluginapp/handlers.py:24",
    }
    assert handlers.mike in {r for r, _ in plugin_hook.send(None)}


def test_a_method_named_connect_outside_a_signal_is_a_connect_site() -> None:
    signal = Signal()

    class Wiring:
        def connect(self, receiver: object) -> None:
            signal.connect(receiver, weak=False)

    Wiring().connect(handler)
    (site,) = _sites(signal)
    assert site.function == "connect" and site.file == "tests/test_sites.py"


def test_another_tools_functools_wraps_copy_of_our_wrapper_is_not_taken_for_ours() -> None:
    """functools.wraps() copies our wrapper's __dict__ onto the wrapper another
    tool puts around it: uninstall() must not take it for ours and put Django's
    method back over it (the tool's wrapper would be gone); install() must not
    wrap ours a second time under it (each connect noted twice)."""
    ours = {name: Signal.__dict__[name] for name in ("connect", "disconnect")}
    seen: list[str] = []

    def foreign(name: str) -> Any:
        below = ours[name]

        @functools.wraps(below)
        def wrapper(self: Signal, *args: Any, **kwargs: Any) -> Any:
            seen.append(name)
            return below(self, *args, **kwargs)

        return wrapper

    wrappers = {name: foreign(name) for name in ours}
    try:
        for name, wrapper in wrappers.items():
            setattr(Signal, name, wrapper)
        sites.install()
        assert {name: Signal.__dict__[name] for name in ours} == wrappers
        signal = Signal()
        signal.connect(handler, weak=False)
        assert len(_sites(signal)) == 1
        sites.uninstall()
        assert {name: Signal.__dict__[name] for name in ours} == wrappers
        signal.connect(handler, dispatch_uid="after", weak=False)
        assert signal.disconnect(dispatch_uid="after")
        assert seen == ["connect", "connect", "disconnect"]
    finally:
        for name, function in ours.items():
            setattr(Signal, name, function)
    sites.install()
    assert {name: Signal.__dict__[name] for name in ours} == ours
