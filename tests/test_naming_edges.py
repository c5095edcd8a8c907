"""Names and reprs at their edges: hostile receivers and classes, values past
the depth and size bounds, secrets in namedtuples and bytes query strings, a
broken exception-reporter setting, and the bounds of naming's caches.

Sends go through a real ``Signal`` and :func:`signal_inspector.record`; the
helpers the recorder calls per value are also tested on their own.
"""

from __future__ import annotations

import collections
import functools
import sys
import types
from collections.abc import Iterator, Mapping
from typing import Any

import pytest
from django.dispatch import Signal
from django.utils.functional import SimpleLazyObject
from django.utils.translation import gettext_lazy
from django.views.debug import get_default_exception_reporter_filter

import signal_inspector
from signal_inspector import naming

MASK = "********************"


def receiver(**kwargs: Any) -> None:
    pass


def recorded_kwargs(**kwargs: Any) -> dict[str, str]:
    signal = Signal()
    signal.connect(receiver)
    with signal_inspector.record() as recording:
        signal.send(sender=None, **kwargs)
    (send,) = list(recording.iter_sends())
    return send.kwargs


class HostileClass:
    """A callable whose ``__class__`` raises, as a broken proxy's does."""

    @property  # type: ignore[misc]
    def __class__(self) -> Any:
        raise RuntimeError("no class for you")

    def __call__(self, **kwargs: Any) -> str:
        return "ran"


def test_a_callable_whose_class_raises_is_named_without_raising() -> None:
    # Django's connect() refuses it (it asks isinstance()); a value or a
    # frame's callable can still be one.
    receiver = HostileClass()
    assert naming.receiver_name(receiver) == "<unnamed receiver>"
    assert naming.code_of(receiver) is None
    assert naming.receiver_location(receiver) == ""


def test_a_class_whose_module_raises_is_labelled_without_it() -> None:
    class Meta(type):
        @property
        def __module__(cls) -> str:  # type: ignore[override]
            raise RuntimeError("no module")

    hostile = Meta("Hostile", (), {})
    assert naming.sender_label(hostile) == "?.Hostile"


def test_a_wrapped_receiver_is_located_at_the_function_it_wraps() -> None:
    def inner(**kwargs: Any) -> None:
        pass

    @functools.wraps(inner)
    def outer(**kwargs: Any) -> None:
        inner(**kwargs)

    assert naming.code_of(outer) is inner.__code__
    assert naming.receiver_location(outer).endswith(f":{inner.__code__.co_firstlineno}")


def test_a_wrapped_cycle_does_not_hang() -> None:
    def receiver(**kwargs: Any) -> None:
        pass

    def other(**kwargs: Any) -> None:
        pass

    receiver.__wrapped__ = other  # type: ignore[attr-defined]
    other.__wrapped__ = receiver  # type: ignore[attr-defined]
    assert naming.code_of(receiver) in (receiver.__code__, other.__code__)


def test_a_receiver_without_code_has_an_empty_code_key() -> None:
    assert naming.code_of(len) is None
    assert naming.code_key(len, naming.code_of(len)) == ""


def test_partials_with_many_arguments_are_told_apart_by_identity() -> None:
    def receiver(*args: Any, **kwargs: Any) -> None:
        pass

    first = functools.partial(receiver, *range(9))
    second = functools.partial(receiver, *range(9))
    assert naming.own_data_key(first) != naming.own_data_key(second)
    few = naming.own_data_key(functools.partial(receiver, 1))
    assert few == naming.own_data_key(functools.partial(receiver, 1))


def test_code_with_an_unhashable_constant_still_has_an_identity() -> None:
    def receiver() -> None:
        pass

    code = receiver.__code__.replace(co_consts=([],))
    first, second = naming.code_identity(code), naming.code_identity(code)
    # Python 3.10's code objects have no co_qualname: "receiver", not "...<locals>.receiver".
    assert first == second and first.split(":")[-2].endswith("receiver")


@pytest.mark.parametrize("filename", ["", "<string>", "<frozen importlib._bootstrap>"])
def test_code_without_a_file_is_not_the_projects(filename: str) -> None:
    assert naming.is_project_file(filename) is False


def test_a_non_module_in_sys_modules_is_not_project_code(monkeypatch) -> None:
    monkeypatch.setitem(sys.modules, "signal_inspector_not_a_module", object())
    assert naming.is_project_code("signal_inspector_not_a_module.receiver") is False


def test_a_signal_made_at_run_time_is_named_by_its_address() -> None:
    signal = Signal()
    assert naming.signal_name(signal) == f"<unnamed Signal at {id(signal):#x}>"


# --- reprs -------------------------------------------------------------------------


def test_more_than_fifty_kwargs_are_cut_and_counted() -> None:
    kwargs = recorded_kwargs(**{f"k{i:02}": i for i in range(60)})
    assert len(kwargs) == 51
    assert kwargs["k00"] == "0" and kwargs["k49"] == "49" and "k50" not in kwargs
    assert kwargs["…"] == "10 more"


def test_a_namedtuples_secret_fields_are_masked() -> None:
    Credentials = collections.namedtuple("Credentials", "user password")
    kwargs = recorded_kwargs(login=Credentials("ada", "s3cret"))
    assert kwargs["login"] == f"Credentials(user='ada', password='{MASK}')"
    assert "s3cret" not in str(kwargs)


def test_a_bytes_query_string_is_masked_and_stays_bytes() -> None:
    text = naming.safe_repr({"QUERY_STRING": b"page=2&token=abc"})
    assert text == f"{{'QUERY_STRING': b'page=2&token={MASK}'}}"


def test_deep_containers_are_cut_at_the_depth_bound() -> None:
    assert naming.safe_repr([[[["deep"]]]]) == "[[[[…]]]]"
    assert naming.safe_repr(((((1,),),),)) == "((((…),),),)"


class Headers(Mapping[str, Any]):
    """A read-only mapping that is not a dict (``request.headers``)."""

    def __init__(self, data: dict[str, Any]) -> None:
        self.data = data

    def __getitem__(self, key: str) -> Any:
        return self.data[key]

    def __iter__(self) -> Iterator[str]:
        return iter(self.data)

    def __len__(self) -> int:
        return len(self.data)


class BrokenHeaders(Headers):
    def items(self) -> Any:  # type: ignore[override]
        raise RuntimeError("cannot read")

    def __repr__(self) -> str:
        return "SECRET-IN-REPR"


def test_mappings_are_shown_item_by_item_within_the_bounds() -> None:
    inner = Headers({"Authorization": "Bearer abc"})
    assert naming.safe_repr(Headers({"x": inner})) == (
        f"<Headers: {{'x': <Headers: {{'Authorization': '{MASK}'}}>}}>"
    )
    assert naming.safe_repr([[Headers({"a": 1})]]) == "[[<Headers: {'a': 1}>]]"
    assert naming.safe_repr([[[Headers({"a": 1})]]]) == "[[[<Headers: {…}>]]]"
    many = naming.safe_repr(Headers({str(i): i for i in range(20)}))
    assert many.endswith(", '7': 7, …}>")


def test_a_mapping_that_cannot_be_read_is_named_never_shown() -> None:
    text = naming.safe_repr(BrokenHeaders({"token": "abc"}))
    assert text == "<tests.test_naming_edges.BrokenHeaders mapping>"


def test_lazy_objects_and_strings_are_not_evaluated() -> None:
    evaluated: list[bool] = []

    def setup() -> str:
        evaluated.append(True)
        return "value"

    kwargs = recorded_kwargs(user=SimpleLazyObject(setup), title=gettext_lazy("Title"))
    assert kwargs == {"user": "<SimpleLazyObject>", "title": "<lazy string>"}
    assert evaluated == []


class BadRepr:
    def __repr__(self) -> str:
        raise RuntimeError("password=hunter2")


def test_a_repr_that_raises_is_named_not_shown() -> None:
    kwargs = recorded_kwargs(value=BadRepr())
    assert kwargs == {"value": "<unrepresentable tests.test_naming_edges.BadRepr: RuntimeError>"}


def test_keys_that_are_not_strings_are_never_secret() -> None:
    assert naming.is_sensitive(1) is False
    assert naming.safe_repr({1: "one"}) == "{1: 'one'}"


def test_a_broken_reporter_filter_setting_still_masks_with_djangos_default(settings) -> None:
    # Django caches its filter for the process: a process started with this
    # setting is what the cache_clear() gives.
    settings.DEFAULT_EXCEPTION_REPORTER_FILTER = "tests.no_such_module.Filter"
    get_default_exception_reporter_filter.cache_clear()
    try:
        with pytest.raises(ImportError):
            get_default_exception_reporter_filter()
        kwargs = recorded_kwargs(password="hunter2", api_token="abc", page=2)
    finally:
        get_default_exception_reporter_filter.cache_clear()
    assert kwargs == {"password": MASK, "api_token": MASK, "page": "2"}


# --- bounded caches ----------------------------------------------------------------


@pytest.mark.parametrize(
    ("cache", "limit", "fill"),
    [
        ("_class_labels", 10_000, lambda: naming.class_label(type("Fresh", (), {}))),
        ("_unnamed", 1000, lambda: naming.signal_name(Signal())),
        ("_short_paths", 10_000, lambda: naming.short_path("/nowhere/fresh.py")),
        ("_sensitive", 2000, lambda: naming.is_sensitive("fresh_key_name")),
        ("_project_names", 5000, lambda: naming.is_project_code("fresh.module.name")),
    ],
)
def test_naming_caches_are_bounded(monkeypatch, cache: str, limit: int, fill: Any) -> None:
    full: dict[Any, Any] = {f"filler {i}": None for i in range(limit + 1)}
    monkeypatch.setattr(naming, cache, full)
    fill()
    assert len(full) <= 2


def test_a_non_module_in_sys_modules_is_skipped_by_the_scan(monkeypatch) -> None:
    module = types.ModuleType("signal_inspector_scanned")
    module.sent = Signal()  # type: ignore[attr-defined]
    monkeypatch.setitem(sys.modules, "signal_inspector_scanned", module)
    monkeypatch.setitem(sys.modules, "signal_inspector_odd", "not a module")
    assert naming.signal_name(module.sent) == "signal_inspector_scanned.sent"  # type: ignore[attr-defined]
