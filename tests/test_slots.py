"""slots.py: a plain function runs ours in place; anything else is replaced on
the class. Each as its own case, through put()/take_off()."""

from __future__ import annotations

import asyncio
import inspect
import traceback
from typing import Any

import pytest

from signal_inspector.slots import is_trampoline, put, running_ours, take_off


def adding(below: Any) -> Any:
    def ours(self: Any, *args: Any, **kwargs: Any) -> Any:
        return ("ours", below(self, *args, **kwargs))

    return ours


class Plain:
    def method(self, x: int, y: int = 2, *, z: int = 3) -> tuple[int, int, int]:
        return x, y, z

    async def coroutine(self, x: int) -> int:
        return x

    def generator(self) -> Any:
        yield 1


def test_a_plain_function_runs_ours_in_place_and_is_its_own_after() -> None:
    function, code = Plain.__dict__["method"], Plain.method.__code__
    signature = inspect.signature(Plain.method)
    put(Plain, "method", adding)
    try:
        assert Plain.__dict__["method"] is function  # the class is untouched
        assert Plain().method(1, z=9) == ("ours", (1, 2, 9))  # defaults are the copy's
        assert is_trampoline(function.__code__) and running_ours(function) is not None
        assert inspect.signature(Plain.method) == signature  # through __wrapped__
        assert function.__code__.co_name == "method"
        assert function.__code__.co_filename == code.co_filename
    finally:
        take_off(Plain, "method")
    assert function.__code__ is code and running_ours(function) is None
    assert "__wrapped__" not in function.__dict__
    assert Plain().method(1) == (1, 2, 3)


def test_a_coroutine_function_stays_one_and_runs_ours() -> None:
    def wrapping(below: Any) -> Any:
        async def ours(self: Any, x: int) -> Any:
            return ("ours", await below(self, x))

        return ours

    put(Plain, "coroutine", wrapping)
    try:
        assert inspect.iscoroutinefunction(Plain.coroutine)
        assert asyncio.run(Plain().coroutine(5)) == ("ours", 5)
    finally:
        take_off(Plain, "coroutine")
    assert asyncio.run(Plain().coroutine(5)) == 5


def test_a_closure_and_super_keep_their_cells() -> None:
    def outer() -> Any:
        seen = []

        class Child(Plain):
            def method(self, x: int, y: int = 2, *, z: int = 3) -> Any:
                seen.append(x)
                return super().method(x, y, z=z)

        return Child, seen

    child, seen = outer()
    assert len(child.__dict__["method"].__code__.co_freevars) == 2  # __class__, seen
    put(child, "method", adding)
    try:
        assert child().method(4) == ("ours", (4, 2, 3))
    finally:
        take_off(child, "method")
    assert child().method(5) == (5, 2, 3) and seen == [4, 5]


def test_a_generator_and_a_callable_object_are_replaced_on_the_class() -> None:
    generator = Plain.__dict__["generator"]
    put(Plain, "generator", lambda below: lambda self: ["ours", *below(self)])
    try:
        assert Plain.__dict__["generator"] is not generator
        assert Plain().generator() == ["ours", 1]
    finally:
        take_off(Plain, "generator")
    assert Plain.__dict__["generator"] is generator and list(Plain().generator()) == [1]


def test_a_frame_of_ours_in_place_carries_the_functions_name_and_place() -> None:
    def failing(below: Any) -> Any:
        def ours(self: Any, *args: Any, **kwargs: Any) -> Any:
            raise ValueError("from ours")

        return ours

    put(Plain, "method", failing)
    try:
        with pytest.raises(ValueError) as caught:
            Plain().method(1)
    finally:
        take_off(Plain, "method")
    frames = traceback.extract_tb(caught.value.__traceback__)
    [trampoline] = [f for f in frames if f.name == "method"]
    assert trampoline.lineno == Plain.method.__code__.co_firstlineno  # the def line


def test_someone_elses_code_swap_meanwhile_is_left_and_ours_starts_again() -> None:
    function, code = Plain.__dict__["method"], Plain.method.__code__

    def theirs(self: Any, x: int, y: int = 2, *, z: int = 3) -> Any:
        return "theirs"

    put(Plain, "method", adding)
    function.__code__ = theirs.__code__  # another tool swaps code too
    try:
        assert running_ours(function) is None
        assert Plain().method(1) == "theirs"
        put(Plain, "method", adding)  # the next recording: ours around theirs
        assert Plain().method(1) == ("ours", "theirs")
        take_off(Plain, "method")
        assert function.__code__ is theirs.__code__  # theirs, as found
        take_off(Plain, "method")  # nothing of ours left: nothing changes
        assert function.__code__ is theirs.__code__
    finally:
        function.__code__ = code


def test_one_function_in_two_classes_runs_ours_once() -> None:
    class Other:
        method = Plain.__dict__["method"]

    first = put(Plain, "method", adding)
    try:
        assert put(Other, "method", adding) is first
        assert Other().method(1) == ("ours", (1, 2, 3))  # not ours twice
    finally:
        take_off(Other, "method")
        take_off(Plain, "method")
    assert Other().method(1) == (1, 2, 3)


def test_a_cell_the_function_leaves_empty_does_not_raise_in_the_trampoline() -> None:
    def outer() -> Any:
        class Late:
            def method(self) -> str:
                if False:
                    return later  # noqa: F821 - bound after the return below, never read
                return "fine"

        return Late
        later = 1  # noqa: F841 - makes ``later`` a cell that stays empty

    late = outer()
    assert late.__dict__["method"].__code__.co_freevars == ("later",)
    put(late, "method", adding)
    try:
        assert late().method() == ("ours", "fine")
    finally:
        take_off(late, "method")


def test_the_next_recording_sees_the_defaults_as_they_are_now() -> None:
    class Defaults:
        def method(self, x: int = 1) -> int:
            return x

    function = Defaults.__dict__["method"]
    put(Defaults, "method", adding)
    take_off(Defaults, "method")
    function.__defaults__ = (2,)
    put(Defaults, "method", adding)
    try:
        assert Defaults().method() == ("ours", 2)
    finally:
        take_off(Defaults, "method")
        function.__defaults__ = (1,)


def test_a_class_not_kept_is_collected_after_it_is_taken_off() -> None:
    import gc
    import weakref

    def make() -> type:
        class Passing:
            def method(self) -> str:
                return type(self).__name__ + " " + super().__repr__()[:0]

        return Passing

    passing = make()
    put(passing, "method", adding, keep=False)
    assert passing().method() == ("ours", "Passing ")
    take_off(passing, "method")
    gone = weakref.ref(passing)
    del passing
    gc.collect()
    assert gone() is None


def test_our_trampoline_put_back_by_a_tool_that_swapped_code_after_us_is_ours() -> None:
    """A tool swaps code after ours, we take ours off (finding the tool's code: we
    leave it), then the tool restores what it found, our trampoline: the next
    recording runs ours once, and leaves Django's own code."""
    function, code = Plain.__dict__["method"], Plain.method.__code__
    calls = []

    def counting(below: Any) -> Any:
        def ours(self: Any, *args: Any, **kwargs: Any) -> Any:
            calls.append("ours")
            return below(self, *args, **kwargs)

        return ours

    put(Plain, "method", counting)
    found = function.__code__  # the tool reads it, and swaps in its own
    function.__code__ = (lambda self, x, y=2, *, z=3: "tool's").__code__
    take_off(Plain, "method")
    function.__code__ = found  # the tool restores what it found
    try:
        put(Plain, "method", counting)
        assert Plain().method(1) == (1, 2, 3) and calls == ["ours"]
        take_off(Plain, "method")
        assert function.__code__ is code
    finally:
        function.__code__ = code
