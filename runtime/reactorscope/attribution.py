"""The app's function behind what a dispatcher runs: the one rule the hooks share to attribute a nested event
(a Deferred's callbacks, a cooperative task's work unit, a web request's render) to the user's code rather than
to Twisted's or a framework's, which stays visible as the top-level event around it.

"The app's code" is ``UserCode.is_user_code`` (usercode.py), decided once per code object here and kept in one
dict: a code object maps to ``True`` (the app's), to the indices of its free variables (a library closure, which
may hold an app callable: deferLater's ``cb``, a decorator's wrapper, ``inlineCallbacks``' ``unwindGenerator``),
or to ``()`` (library code that wraps nothing). The look inside a library callable is therefore cached per code
object (which cells to read) and costs nothing for the app's own callbacks, which are found first.

Three ways to the app's function, cheapest first, each bounded:
- ``callable_code(f)``: the callable's own code, else what it wraps (a partial's ``func``, a closure's cells, a
  callable object's ``__call__``, a bound method's function).
- ``iterator_code(it)``: a generator being iterated: its code when it is the app's, else the generator it
  delegates to (``gi_yieldfrom``), else what its frame holds (the generators it iterates, the callables it calls:
  a framework's ``(f(x) for x in items)``), else ``map``/``filter``'s function.
- ``FirstAppCall``: what a dispatcher runs cannot be read off its objects (a Klein or servlet router picks the
  function from the URL): a profile function (``sys.setprofile``, this thread only) that stops at the first app
  function entered, or after ``PROFILE_BUDGET`` events; see web_hooks.py for when it runs.
"""
from __future__ import annotations

import functools
import gc
import sys
import weakref
from types import (AsyncGeneratorType, CellType, CodeType, CoroutineType, FrameType, FunctionType, GeneratorType,
                   GetSetDescriptorType, MethodType)
from typing import Any, Callable, Dict, FrozenSet, List, Optional, Tuple, Union

from reactorscope.patches import Patches
from reactorscope.recorder import Recorder
from reactorscope.sites import SiteTable
from reactorscope.usercode import UserCode, build

MAX_DEPTH = 24  # wrappers (or nested generators: a crawler's middleware chain) looked through
MAX_VISITS = 96  # objects looked at in one look, whatever the depth and fan-out
MAX_TRIES = 8  # looks at one async generator or task that found nothing (its chain is built lazily)
MAX_CELLS = 8  # free variables of one closure looked at
MAX_LOCALS = 24  # values of one generator frame (locals, cells, value stack) looked at
PROFILE_BUDGET = 2000  # profile events (calls and returns, C calls included) before FirstAppCall gives up

CodeInfo = Union[bool, Tuple[int, ...]]
# What a closure cell or a generator's local may hold that is looked into (never any other object's attributes).
WRAPPED_CALLABLES = (FunctionType, MethodType, functools.partial)
ITERATORS = (GeneratorType, AsyncGeneratorType, CoroutineType, map, filter)
ASYNC_GENERATOR_STEPS = ("async_generator_asend", "async_generator_athrow")
# A suspended generator, async generator or coroutine: (its code, what it delegates to or awaits, its frame).
SUSPENDED = {
    GeneratorType: ("gi_code", "gi_yieldfrom", "gi_frame"),
    AsyncGeneratorType: ("ag_code", "ag_await", "ag_frame"),
    CoroutineType: ("cr_code", "cr_await", "cr_frame"),
}


class AppCode:
    """Thread-safe enough: the dict is only ever filled with the same answer for the same code object."""

    def __init__(self, user_code: UserCode) -> None:
        self.user_code = user_code
        # code object -> True (the app's), free-variable indices to look in (a library closure), or ().
        self.info: Dict[CodeType, CodeInfo] = {}
        # async generator -> what its steps are attributed to (looked through once, kept while it lives)
        self._by_async_generator: "weakref.WeakKeyDictionary[Any, Any]" = weakref.WeakKeyDictionary()
        self._visits = 0  # objects left to look at in the current look

    def _visit(self, depth: int) -> bool:
        """Counts one object looked into; False once this look has used its budget (MAX_VISITS)."""
        self._visits -= 1
        return self._visits >= 0

    def callable_code(self, f: Any) -> Optional[CodeType]:
        """The app's code that calling ``f`` runs: its own, or that of an app callable it wraps; else None."""
        self._visits = MAX_VISITS
        return self._callable_code(f, 0)

    def iterator_code(self, it: Any, frames: bool = True) -> Optional[CodeType]:
        """The app's code that ``next(it)`` (or resuming a coroutine or async generator) runs: see the module's
        docstring; None when none was found. ``frames=False`` follows only what it delegates to or awaits."""
        self._visits = MAX_VISITS
        return self._iterator_code(it, 0, frames)

    def classify(self, code: CodeType) -> CodeInfo:
        info: CodeInfo
        if self.user_code.is_user_code(code):
            info = True
        else:
            info = tuple(range(min(len(code.co_freevars), MAX_CELLS)))
        self.info[code] = info
        return info

    def is_app(self, code: CodeType) -> bool:
        info = self.info.get(code)
        if info is None:
            info = self.classify(code)
        return info is True

    # -- callables -------------------------------------------------------------------------------------

    def _callable_code(self, f: Any, depth: int) -> Optional[CodeType]:
        code = getattr(f, "__code__", None)  # functions, and bound methods (which forward it)
        if code.__class__ is CodeType:
            info = self.info.get(code)
            if info is None:
                info = self.classify(code)
            if info is True:
                return code
            if not info or depth >= MAX_DEPTH or not self._visit(depth):
                return None
            closure = getattr(f, "__closure__", None)  # bound methods forward it too
            if not closure:
                return None
            for i in info:
                try:
                    inner = closure[i].cell_contents
                except (IndexError, ValueError):  # an empty cell (assigned later in the enclosing function)
                    continue
                if inner is not f and isinstance(inner, WRAPPED_CALLABLES):
                    found = self._callable_code(inner, depth + 1)
                    if found is not None:
                        return found
            return None
        if depth >= MAX_DEPTH or not self._visit(depth):
            return None
        if isinstance(f, functools.partial):
            return self._callable_code(f.func, depth + 1)
        if isinstance(f, MethodType):  # a method whose function has no __code__ (a builtin's, a callable object)
            return self._callable_code(f.__func__, depth + 1)
        if isinstance(f, type):
            return None  # a class: its __init__ is not what the caller reads as "the handler"
        # Read on the type: an instance's __getattr__ never runs (callable() would not give the function).
        call = getattr(type(f), "__call__", None)  # noqa: B004
        if isinstance(call, FunctionType):
            return self._callable_code(call, depth + 1)
        return None

    # -- iterators -------------------------------------------------------------------------------------

    def _iterator_code(self, it: Any, depth: int, frames: bool = True) -> Optional[CodeType]:
        names = SUSPENDED.get(type(it))
        if names is None:
            return self._other_iterator_code(it, depth) if frames else None
        code_name, inner_name, frame_name = names
        code = getattr(it, code_name)
        info = self.info.get(code)
        if info is None:
            info = self.classify(code)
        if info is True:
            return code
        if depth >= MAX_DEPTH or not self._visit(depth):
            return None
        inner = getattr(it, inner_name)
        if inner is not None:
            found = self._iterator_code(inner, depth + 1, frames)
            if found is not None:
                return found
        frame: Optional[FrameType] = getattr(it, frame_name) if frames else None
        if frame is None:
            return None
        return self._frame_code(frame, it, depth)

    def _frame_code(self, frame: FrameType, it: Any, depth: int) -> Optional[CodeType]:
        # A library generator that iterates another (``.0`` of a generator expression, a wrapper's argument)
        # or calls a callable it holds (``(f(x) for x in items)``): the generators first, they are what ``next``
        # resumes; then the callables.
        # What the suspended frame holds: its locals and cells and its value stack (an ``async for``/``for``
        # loop's iterator lives only there), as the garbage collector sees them (C, runs no app code, makes no
        # f_locals dict). The generator names them (3.11+), or its frame object does (3.9, 3.10).
        values: List[Any] = []
        for value in gc.get_referents(it):
            if type(value) is FrameType:
                values.extend(gc.get_referents(value))
            else:
                values.append(value)
        for i, value in enumerate(values):
            if type(value) is CellType:
                try:
                    values[i] = value.cell_contents
                except ValueError:  # an empty cell
                    values[i] = None
        return self._values_code(values, it, depth)

    def _values_code(self, values: List[Any], it: Any, depth: int) -> Optional[CodeType]:
        # Only generators, coroutines, map/filter, iterator classes written in Python (their instance dict) and
        # plain callables are looked into: reading attributes of any other object could run the app's code.
        values = values[:MAX_LOCALS]
        for value in values:
            if value is not it and (isinstance(value, ITERATORS) or _python_iterator(value)):
                found = self._iterator_code(value, depth + 1)
                if found is not None:
                    return found
        for value in values:
            if isinstance(value, WRAPPED_CALLABLES):
                found = self._callable_code(value, depth + 1)
                if found is not None:
                    return found
        return None

    def awaitable_code(self, awaitable: Any) -> Any:
        """What a coroutine step resumes when the object ``_inlineCallbacks`` drives has no code of its own: an
        async generator's ``__anext__()`` or ``asend()`` (a crawler's output chain), which names its async
        generator only to the garbage collector (``gc.get_referents``, C, no app code run). The app's code behind
        it, else the async generator's own code; None when there is none."""
        agen = _async_generator_of(awaitable)
        if agen is None:
            return None
        known = self._by_async_generator.get(agen)
        if known is not None and known.__class__ is not int:
            return known
        self._visits = MAX_VISITS
        found = self._iterator_code(agen, 0)
        if found is not None:
            self._by_async_generator[agen] = found
            return found
        tries = (known or 0) + 1  # not found yet: its chain may not be built; looked again, MAX_TRIES times
        self._by_async_generator[agen] = tries if tries < MAX_TRIES else agen.ag_code
        return agen.ag_code

    def _other_iterator_code(self, it: Any, depth: int) -> Optional[CodeType]:
        kind = type(it)
        agen = _async_generator_of(it)  # what an async generator awaits: another one's __anext__()
        if agen is not None:
            return self._iterator_code(agen, depth + 1) if depth < MAX_DEPTH else None
        if kind is map or kind is filter:
            try:
                parts = it.__reduce__()[1]  # (function, iterator...) for map and filter, without consuming any
            except Exception:
                return None
            if parts and callable(parts[0]):
                found = self._callable_code(parts[0], depth + 1)
                if found is not None:
                    return found
            for inner in parts[1:]:
                found = self._iterator_code(inner, depth + 1) if depth < MAX_DEPTH else None
                if found is not None:
                    return found
            return None
        if not _python_iterator(it) or depth >= MAX_DEPTH:
            return None
        # An iterator class written in Python (a framework's adapter): what its instance holds, else __next__.
        found = self._values_code(list(it.__dict__.values()), it, depth)
        if found is not None:
            return found
        step = getattr(kind, "__next__", None) or getattr(kind, "__anext__", None)
        return self._callable_code(step, depth + 1)


def _async_generator_of(awaitable: Any) -> Optional[Any]:
    """The async generator behind its ``__anext__()``/``asend()``/``athrow()`` object, which names it only to the
    garbage collector (``gc.get_referents``: C, runs no app code)."""
    if type(awaitable).__name__ not in ASYNC_GENERATOR_STEPS:
        return None
    for inner in gc.get_referents(awaitable):
        if type(inner) is AsyncGeneratorType:
            return inner
    return None


def _python_iterator(value: Any) -> bool:
    """An instance of a class written in Python with ``__next__`` or ``__anext__``, a plain instance dict and the
    default attribute lookup: its dict can be read without running any of its code."""
    kind = type(value)
    step = getattr(kind, "__next__", None) or getattr(kind, "__anext__", None)
    if not isinstance(step, FunctionType) or kind.__getattribute__ is not object.__getattribute__:
        return False
    for klass in kind.__mro__:
        descriptor = vars(klass).get("__dict__")
        if descriptor is not None:
            return isinstance(descriptor, GetSetDescriptorType)
    return False


class FirstAppCall:
    """Finds the first functions of the app's code entered inside one call of ``within`` (a code object), in the
    order first entered, up to ``limit`` of them: a ``sys.setprofile`` function on the calling thread only,
    removed when it has them, when that call returns, or after ``PROFILE_BUDGET`` events. Codes in ``skip`` do
    not count (a dispatcher's own methods). Reused from one look to the next; one look at a time."""

    def __init__(self, app: AppCode, limit: int = 1) -> None:
        # [codes found, events left, codes skipped, code looked inside, its frame once entered]: the whole state
        self._state: List[Any] = [[], 0, frozenset(), None, None]
        self.limit = limit
        self._profile = self._make_profile(app)

    def _make_profile(self, app: AppCode) -> Callable[[FrameType, str, Any], None]:
        setprofile = sys.setprofile
        info_of = app.info.get
        classify = app.classify
        state = self._state
        limit = self.limit

        def profile(frame: FrameType, event: str, arg: Any) -> None:
            if event == "call":
                code = frame.f_code
                if state[4] is None:  # not inside ``within`` yet
                    if code is state[3]:
                        state[4] = frame
                else:
                    info = info_of(code)
                    if info is None:
                        info = classify(code)
                    if info is True and code not in state[2] and code not in state[0]:
                        state[0].append(code)
                        if len(state[0]) >= limit:
                            setprofile(None)
                            return
            elif event == "return" and frame is state[4]:
                setprofile(None)
                return
            state[1] -= 1
            if state[1] <= 0:
                setprofile(None)

        return profile

    def start(self, within: CodeType, skip: FrozenSet[CodeType] = frozenset()) -> bool:
        """Starts looking; False (and nothing changed) when this thread already has a profile function (the
        app's profiler, a debugger's, a look already under way): never replaced."""
        if sys.getprofile() is not None:
            return False
        state = self._state
        state[0] = []
        state[1] = PROFILE_BUDGET
        state[2] = skip
        state[3] = within
        state[4] = None
        sys.setprofile(self._profile)
        return True

    def stop(self) -> Optional[CodeType]:
        """Stops looking (if still on) and returns the first app code found, if any."""
        found = self.stop_all()
        return found[0] if found else None

    def stop_all(self) -> Tuple[CodeType, ...]:
        """Stops looking (if still on) and returns the app's codes found, in the order first entered."""
        if sys.getprofile() is self._profile:
            sys.setprofile(None)
        state = self._state
        found = tuple(state[0])
        state[0] = []
        state[4] = None  # no frame kept alive
        return found


class AppHooks:
    """What the hooks that attribute nested events to the app's code share (Deferreds, cooperative tasks, web
    renders): the recorder, the site table, one ``AppCode`` (the session's, so that the three decide alike and
    share its cache), and their patches."""

    def __init__(self, rec: Recorder, sites: SiteTable, user_code: Optional[UserCode] = None,
                 app: Optional[AppCode] = None) -> None:
        self.rec = rec
        self.sites = sites
        self.app = app or AppCode(user_code or build())
        self._patches = Patches()
