"""Replacing a class attribute while recordings are open, and putting it back.

A plain Python function (Django's ``Signal.send``, ``QuerySet.update``, the
cursor's ``_execute_with_wrappers``...) is not replaced: it stays where it is,
and only its ``__code__`` is swapped for a trampoline that calls ours, then
swapped back. Setting an attribute on a class, instead, gives the class and
every subclass a new type version: CPython's specialised attribute lookups on
them start over each time, and from Python 3.13 a class that used up 1,000
versions is never specialised again in that process (``MAX_VERSIONS_PER_CLASS``):
after 500 recorded requests, ``Signal``, ``QuerySet`` and the database wrapper
would stay slower for good, recording or not. A function's code can be swapped
without touching its class. The price is one frame (the trampoline's) between
the function's caller and ours: ``Signal``'s send methods are still replaced on
the class (patching.py), because there the recorded send calls the receivers
from the very frame Django's would, as deep as Django's (a receiver's
``warnings.warn(stacklevel=...)`` names the same line). ``running_ours(function)`` says whether a function
runs ours in place.

What is not a plain function (a method inherited from C, like
``socket.socket.connect``; a generator; a callable object) is replaced on the
class as before. Every function we put on a class carries, in its own
``__dict__``, the pair (itself, what it replaced). We know ours by that pair and
never by a marker alone: ``functools.wraps()`` copies a function's ``__dict__``
onto the wrapper another tool puts around ours, and that wrapper is not ours.

No flag remembers where we are: each install looks at what the class holds now.
Another tool may wrap ours (we leave its wrapper on top, and ours under it
passes every call through to what it replaced), unpatch before we do, or put
ours back after we took it off; in that last case the first call ours gets
while nothing records anywhere puts back what ours replaced (``heal()``).
A function swapped in place needs none of this: whoever holds it (a tool's
wrapper, ``mock.patch`` restoring it) holds Django's function, whose code is
its own again once the last recording closes.
"""

from __future__ import annotations

import contextlib
import functools
import inspect
import threading
from collections.abc import Callable
from types import CodeType, FunctionType
from typing import Any

_OURS = "_signal_inspector_ours"
# What ours "replaced" when the class only inherited the attribute: taking ours
# off deletes it again.
INHERITED = object()

# Held while anything here changes a class, and while recordings open and close.
LOCK = threading.RLock()
# How many recordings are open in the process (see patching.acquire()).
OPEN = [0]


def mark(function: Any, below: Any) -> None:
    """Mark ``function`` as ours, in place of ``below``."""
    function.__dict__[_OURS] = (function, below)


def below_of(function: Any) -> tuple[Any] | None:
    """``(what it replaced,)`` if ``function`` is one of ours, else None."""
    try:
        pair = vars(function).get(_OURS)
    except TypeError:  # no __dict__
        return None
    if type(pair) is tuple and pair[0] is function:
        return (pair[1],)
    return None


# --- swapping a function's code in place ----------------------------------------

_PLACEHOLDER = "signal_inspector: the function that runs in place"
# A generator's code cannot be stood in for by a function that returns one.
_NOT_SWAPPED = inspect.CO_GENERATOR | inspect.CO_ASYNC_GENERATOR | inspect.CO_ITERABLE_COROUTINE
_templates: dict[tuple[int, bool], CodeType] = {}


def _template(free: int, is_async: bool) -> CodeType:
    """A trampoline's code with ``free`` free variables (the function's closure
    must fit it), on one line so every instruction is at the function's ``def``."""
    key = (free, is_async)
    code = _templates.get(key)
    if code is None:
        cells = [f"_cell{i}" for i in range(free)]
        body = "".join(f"{cell} = None; " for cell in cells)
        # The cells are named, never read (``if 1 else``): one the function leaves
        # empty must not raise here.
        placeholder = repr(_PLACEHOLDER)
        if cells:
            placeholder = f"({placeholder} if 1 else ({', '.join(cells)},))"
        call = f"(ours := {placeholder})(*args, **kwargs)"
        prefix = "async def" if is_async else "def"
        source = (
            f"def outer():\n    {body}\n    {prefix} trampoline(*args, **kwargs): "
            f"return {'await ' if is_async else ''}{call}\n    return trampoline\n"
        )
        namespace: dict[str, Any] = {}
        exec(compile(source, "<signal_inspector trampoline>", "exec"), namespace)
        code = _templates[key] = namespace["outer"]().__code__
    return code


def _trampoline(function: FunctionType, ours: Any) -> CodeType:
    """Code for ``function`` that calls ``ours`` with the arguments it was given,
    under ``function``'s own names and place (tracebacks and the frame walkers
    see Django's function, at its ``def`` line)."""
    original = function.__code__
    template = _template(len(original.co_freevars), bool(original.co_flags & inspect.CO_COROUTINE))
    consts = tuple(
        ours if type(const) is str and const == _PLACEHOLDER else const
        for const in template.co_consts
    )
    changes: dict[str, Any] = {
        "co_consts": consts,
        "co_name": original.co_name,
        "co_filename": original.co_filename,
        "co_firstlineno": original.co_firstlineno,
        "co_freevars": original.co_freevars,
    }
    if hasattr(original, "co_qualname"):  # Python 3.11+
        changes["co_qualname"] = original.co_qualname
    return template.replace(**changes)


# The trampoline of every swap, by id, with its swap: frame walkers step over them
# (is_trampoline()), and a trampoline found in a function is never taken for its code.
_trampolines: dict[int, tuple[CodeType, _Swap]] = {}


def is_trampoline(code: Any) -> bool:
    """Whether ``code`` is one of our trampolines (a frame to step over: it has
    the name and place of the function it stands in, and is not its caller)."""
    entry = _trampolines.get(id(code))
    return entry is not None and entry[0] is code


def _own_swap_of(code: Any) -> _Swap | None:
    entry = _trampolines.get(id(code))
    return entry[1] if entry is not None and entry[0] is code else None


def _copy(function: FunctionType) -> FunctionType:
    """A function with ``function``'s code, names and defaults: what ours calls
    while ``function`` itself runs the trampoline."""
    copy = FunctionType(
        function.__code__,
        function.__globals__,
        function.__name__,
        function.__defaults__,
        function.__closure__,
    )
    copy.__kwdefaults__ = function.__kwdefaults__
    copy.__qualname__ = function.__qualname__
    copy.__module__ = function.__module__
    copy.__doc__ = function.__doc__
    copy.__dict__.update(function.__dict__)
    # Evaluated on Python 3.14, where a name in them may not exist yet.
    with contextlib.suppress(Exception):
        copy.__annotations__ = function.__annotations__
    return copy


class _Swap:
    """One function running ours in place, or ready to: kept after it is put
    back, so the next recording reuses the copy, our wrapper and the trampoline."""

    __slots__ = (
        "function", "code", "below", "make", "wrapper", "trampoline", "wrapped", "on", "keep"
    )

    def __init__(self, function: FunctionType, keep: bool) -> None:
        self.function = function
        self.keep = keep
        self.code = function.__code__
        self.below = _copy(function)
        self.make: Any = None
        self.wrapper: Any = None
        self.trampoline: CodeType | None = None
        self.wrapped = False
        self.on = False


# (class, name) -> its swap; and id(function) -> the swap running in it now.
_swaps: dict[tuple[type, str], _Swap] = {}
_running: dict[int, _Swap] = {}


def swappable(function: Any) -> bool:
    return (
        type(function) is FunctionType
        and not function.__code__.co_flags & _NOT_SWAPPED
        and id(function) not in _running
    )


def running_ours(function: Any) -> Any | None:
    """Our wrapper, if ``function`` runs it in place now; else None."""
    swap = _running.get(id(function))
    if swap is not None and swap.function is function and function.__code__ is swap.trampoline:
        return swap.wrapper
    return None


def _same(make: Any, other: Any) -> bool:
    """Whether ``make`` builds what ``other`` built: the same function, an equal
    bound method (made anew at each attribute lookup), or a partial of the same
    function and arguments (patching.py makes one per recording)."""
    if make is other or make == other:
        return True
    return (
        type(make) is functools.partial
        and type(other) is functools.partial
        and make.func is other.func
        and make.args == other.args
        and make.keywords == other.keywords
    )


def _forget(swap: _Swap) -> None:
    if swap.trampoline is not None:
        _trampolines.pop(id(swap.trampoline), None)


def _swap_in(
    owner: type, name: str, function: FunctionType, make: Callable[[Any], Any], keep: bool
) -> Any:
    own = _own_swap_of(function.__code__)
    if own is not None and own.function is function:
        # Our trampoline, put back by a tool that swapped code after ours and
        # restored what it found: never taken for the function's own code.
        function.__code__ = own.code
    swap = _swaps.get((owner, name))
    if swap is None or swap.function is not function or function.__code__ is not swap.code:
        if swap is not None:
            _forget(swap)
        swap = _swaps[(owner, name)] = _Swap(function, keep)
    if swap.wrapper is None or not _same(make, swap.make):
        wrapper = make(swap.below)
        if below_of(wrapper) is None:
            mark(wrapper, swap.below)
        if wrapper is not swap.wrapper:
            swap.wrapper = wrapper
            _forget(swap)
            swap.trampoline = _trampoline(function, wrapper)
            _trampolines[id(swap.trampoline)] = (swap.trampoline, swap)
        swap.make = make
    return _swap_on(swap)


def _swap_on(swap: _Swap) -> Any:
    function = swap.function
    below = swap.below
    # The copy kept from the last recording takes the defaults as they are now.
    below.__defaults__ = function.__defaults__
    below.__kwdefaults__ = function.__kwdefaults__
    function.__code__ = swap.trampoline  # type: ignore[assignment]
    # inspect.signature() and getsource() follow __wrapped__ to Django's own.
    swap.wrapped = "__wrapped__" not in function.__dict__
    if swap.wrapped:
        function.__dict__["__wrapped__"] = swap.below
    swap.on = True
    _running[id(function)] = swap
    return swap.wrapper


def _swap_out(swap: _Swap) -> None:
    swap.on = False
    function = swap.function
    _running.pop(id(function), None)
    if function.__code__ is swap.trampoline:
        function.__code__ = swap.code
    if swap.wrapped and function.__dict__.get("__wrapped__") is swap.below:
        del function.__dict__["__wrapped__"]


# --- put on, take off ---------------------------------------------------------------


def put(
    owner: type,
    name: str,
    make: Callable[[Any], Any],
    in_place: bool = True,
    keep: bool = True,
) -> Any:
    """Make ``owner``'s ``name`` run ``make(what it does now)``, unless ours runs
    there already (a tool put it back, or it never left); returns ours.

    A plain function runs ours in place (its code swapped), unless ``in_place``
    is false; anything else is replaced on the class. ``keep``: what a swap
    needs is kept for the next recording (for Django's classes, which live as
    long as the process; not for a class a test may define and drop, which it
    would keep alive)."""
    swap = _swaps.get((owner, name))
    if swap is not None:
        function = swap.function
        if swap.on:
            if function.__code__ is swap.trampoline:
                return swap.wrapper  # wherever the function is now, it runs ours
            _swap_out(swap)  # someone set its code meanwhile: start again
        elif (
            in_place
            and owner.__dict__.get(name) is function
            # Its own code, or our trampoline a tool put back (it found it there).
            and (function.__code__ is swap.code or function.__code__ is swap.trampoline)
            and id(function) not in _running
            and _same(make, swap.make)
        ):
            return _swap_on(swap)  # as the last recording left it: no work
    current = owner.__dict__.get(name, INHERITED)
    if below_of(current) is not None:
        return current
    if running_ours(current) is not None:
        return running_ours(current)  # another class's slot holds the same function
    if in_place and swappable(current):
        return _swap_in(owner, name, current, make, keep)
    wrapper = make(getattr(owner, name) if current is INHERITED else current)
    if below_of(wrapper) is None:
        mark(wrapper, current)
    setattr(owner, name, wrapper)
    return wrapper


def take_off(owner: type, name: str) -> None:
    """Put back what ours replaced. A function swapped in place gets its own code
    back wherever it is now. Replaced on the class: if ours is what ``owner``
    holds; a wrapper another tool put around ours stays (ours, under it, passes
    calls through)."""
    swap = _swaps.get((owner, name))
    if swap is not None and swap.on:
        _swap_out(swap)
        if not swap.keep:
            _forget(swap)
            del _swaps[(owner, name)]
        return
    current = owner.__dict__.get(name)
    below = below_of(current)
    if below is not None:
        if below[0] is INHERITED:
            delattr(owner, name)
        else:
            setattr(owner, name, below[0])


def heal(owner: type, name: str, function: Any) -> None:
    """One of ours ran while no recording is open anywhere and ``owner`` still
    holds it (another tool restored it after we took it off): take it off."""
    with LOCK:
        if OPEN[0] == 0 and owner.__dict__.get(name) is function:
            take_off(owner, name)
