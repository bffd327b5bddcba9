"""attribution.py: the app's function behind a library callable, iterator or dispatcher; and the hooks that use
it (Deferred callbacks, cooperative tasks) leaving what the app sees unchanged. "Library" code here is compiled
with a file name under a ``lib/pythonX.Y/`` folder, which usercode.py takes for an installed package's."""
import functools
import sys
import threading

import pytest
from twisted.internet import defer, task

from reactorscope import wire
from reactorscope.attribution import PROFILE_BUDGET, AppCode, FirstAppCall
from reactorscope.clock import ManualClock
from reactorscope.defer_hooks import DeferHooks
from reactorscope.recorder import Recorder
from reactorscope.sites import SiteTable
from reactorscope.task_hooks import TaskHooks
from reactorscope.usercode import UserCode

LIBRARY_FILE = "/usr/lib/python3.11/site-packages/somelib/dispatch.py"
LIBRARY_SOURCE = '''
def wrap(f, *args):
    def call(ignored):
        return f(*args)
    return call

def plain(result):
    return result

def wrapping_gen(f, items):
    return (f(x) for x in items)

def delegating_gen(inner):
    yield from inner

async def async_wrapper(inner):
    async for item in inner:  # the iterator lives on the frame's value stack only
        yield item

class Adapter:
    """An iterator class written in Python that holds what it iterates (a framework's adapter)."""
    def __init__(self, source):
        self.source = source

    def __next__(self):
        return next(self.source)

async def awaiting(coro):
    return await coro

def calls_twice(f):
    helper()
    return f()

def helper():
    return 1

def self_wrapping():
    def again(x):
        return again(x)
    return again
'''
lib: dict = {}
exec(compile(LIBRARY_SOURCE, LIBRARY_FILE, "exec"), lib)


def app_function(x=None):
    return x


def other_app_function(x=None):
    return x


def app_generator(n):
    for i in range(n):
        yield i


async def app_async_generator(n):
    for i in range(n):
        yield i


async def app_coroutine():
    return 1


class AppHandler:
    def method(self, x):
        return x

    def __call__(self, x):
        return x


@pytest.fixture()
def app():
    return AppCode(UserCode(library=[]))


def test_the_apps_callable_is_found_through_wrappers(app):
    code = app_function.__code__
    assert app.callable_code(app_function) is code
    assert app.callable_code(functools.partial(app_function, 1)) is code
    assert app.callable_code(lib["wrap"](app_function, 1)) is code, "a library closure around it (deferLater's)"
    assert app.callable_code(lib["wrap"](functools.partial(app_function), 1)) is code
    assert app.callable_code(defer.inlineCallbacks(app_generator)) is app_generator.__code__
    assert app.callable_code(AppHandler().method) is AppHandler.method.__code__
    assert app.callable_code(AppHandler()) is AppHandler.__call__.__code__
    assert app.callable_code(lib["plain"]) is None
    assert app.callable_code(len) is None and app.callable_code(AppHandler) is None
    assert app.callable_code(lib["self_wrapping"]()) is None, "a closure that holds itself ends"
    assert app.info[lib["wrap"](app_function).__code__] == (0, 1), "how to look inside is kept per code object"
    assert app.info[lib["plain"].__code__] == ()


def test_the_apps_generator_is_found_behind_library_iterators(app):
    assert app.iterator_code(app_generator(2)) is app_generator.__code__
    assert app.iterator_code(lib["wrapping_gen"](app_function, [1])) is app_function.__code__
    delegating = lib["delegating_gen"](app_generator(3))
    assert app.iterator_code(delegating) is app_generator.__code__, "what it will iterate"
    next(delegating)
    assert app.iterator_code(delegating) is app_generator.__code__, "gi_yieldfrom"
    assert app.iterator_code(map(app_function, [1])) is app_function.__code__
    assert app.iterator_code(filter(None, app_generator(2))) is app_generator.__code__
    assert app.iterator_code(iter([1, 2])) is None
    assert app.iterator_code(lib["wrapping_gen"](lib["plain"], [1])) is None


def test_the_apps_code_is_found_behind_async_generators_adapters_and_awaits(app):
    chain = lib["async_wrapper"](lib["async_wrapper"](app_async_generator(3)))
    step = chain.__anext__()  # what _inlineCallbacks drives when a framework awaits anext() of its chain
    assert app.awaitable_code(step) is app_async_generator.__code__
    with pytest.raises(StopIteration):
        step.send(None)
    inner = lib["async_wrapper"](app_async_generator(3))
    outer = lib["async_wrapper"](inner)
    del inner
    step = outer.__anext__()
    with pytest.raises(StopIteration):
        step.send(None)
    assert app.awaitable_code(outer.__anext__()) is app_async_generator.__code__, "through an async for's iterator"
    assert app.iterator_code(lib["Adapter"](app_generator(2))) is app_generator.__code__, "an adapter's instance"
    assert app.iterator_code(lib["Adapter"](iter([1]))) is None
    awaited = app_coroutine()
    waiting = lib["awaiting"](awaited)
    assert app.iterator_code(waiting) is app_coroutine.__code__, "what its frame holds"
    assert app.iterator_code(waiting, frames=False) is None, "a coroutine step reads attributes only"
    waiting.close()
    awaited.close()


def profiled(app, within, skip=frozenset(), call=None):
    look = FirstAppCall(app)
    assert look.start(within.__code__, skip)
    try:
        result = (call or within)()
    finally:
        found = look.stop()
    assert sys.getprofile() is None
    return found, result


def test_the_first_app_function_entered_inside_a_call_is_found(app):
    calls_app = functools.partial(lib["calls_twice"], app_function)
    assert profiled(app, lib["calls_twice"], call=calls_app) == (app_function.__code__, None)
    skip = frozenset({app_function.__code__})
    assert profiled(app, lib["calls_twice"], skip, call=calls_app) == (None, None), "its own methods do not count"

    def before_then_inside():
        other_app_function()  # entered before the call looked inside: does not count
        return lib["calls_twice"](app_function)

    assert profiled(app, lib["calls_twice"], call=before_then_inside)[0] is app_function.__code__


def test_a_look_ends_when_the_call_returns_or_its_budget_is_spent(app):
    def after():
        lib["helper"]()
        app_function()  # after the call looked inside returned: does not count

    assert profiled(app, lib["helper"], call=after)[0] is None

    exec(compile("def busy_then(f, n):\n    for _ in range(n):\n        helper()\n    return f()\n", LIBRARY_FILE,
                 "exec"), lib)
    busy = lib["busy_then"]
    assert profiled(app, busy, call=lambda: busy(app_function, 10))[0] is app_function.__code__
    assert profiled(app, busy, call=lambda: busy(app_function, PROFILE_BUDGET))[0] is None


def test_a_look_never_replaces_the_threads_profile_function(app):
    seen = []

    def apps_profiler(frame, event, arg):
        seen.append(event)

    sys.setprofile(apps_profiler)
    try:
        look = FirstAppCall(app)
        assert not look.start(app_function.__code__)
        assert sys.getprofile() is apps_profiler
        assert look.stop() is None
        assert sys.getprofile() is apps_profiler
    finally:
        sys.setprofile(None)


def recorder():
    rec = Recorder(ManualClock(), buffer_events=1000)
    rec.reactor_thread = threading.get_ident()
    return rec


def event_names(rec, sites, kind):
    return [sites.row(sites.resolve(key))[3] for k, key in zip(rec.events[0::4], rec.events[1::4]) if k == kind]


def test_a_deferred_is_attributed_to_the_apps_callback_first_then_to_what_a_library_callback_wraps():
    rec, sites = recorder(), SiteTable()
    hooks = DeferHooks(rec, sites, UserCode(library=[]))
    hooks.install(defer)
    try:
        results = []
        d = defer.Deferred()
        d.addCallback(lib["wrap"](app_function, 1))  # deferLater's shape
        d.addCallback(other_app_function)
        d.addCallback(results.append)
        d.callback(None)
        d = defer.Deferred()
        d.addCallback(lib["wrap"](app_function, 2))
        d.addCallback(lib["plain"])
        d.addCallback(results.append)
        d.callback(None)
        d = defer.Deferred()
        d.addCallback(lib["plain"])
        d.addCallback(results.append)
        d.callback(3)
        d = defer.Deferred()
        d.addCallback(lib["wrap"](app_function, 4))
        d.addErrback(lambda failure: results.append(failure.type))
        d.errback(KeyError("x"))
    finally:
        hooks.uninstall()
    assert results == [1, 2, 3, KeyError], "the app's results are unchanged"
    assert event_names(rec, sites, wire.KIND_DEFERRED) == [
        qual("other_app_function"), qual("app_function"), "plain", qual(
            "test_a_deferred_is_attributed_to_the_apps_callback_first_then_to_what_a_library_callback_wraps.<locals>.<lambda>")
    ]


def qual(name):
    return name if sys.version_info >= (3, 11) else name.rsplit(".", 1)[-1]


def test_cooperative_work_units_are_events_at_the_apps_generator_and_change_nothing():
    rec, sites = recorder(), SiteTable()
    hooks = TaskHooks(rec, sites, UserCode(library=[]))
    original = task.CooperativeTask.__dict__["_oneWorkUnit"]
    hooks.install(task)
    assert task.CooperativeTask._oneWorkUnit is not original
    hooks.install(task)
    assert task.CooperativeTask._oneWorkUnit.__wrapped__ is original, "installed once"
    scheduled = []
    cooperator = task.Cooperator(scheduler=scheduled.append, terminationPredicateFactory=lambda: lambda: False)
    outcomes = []

    def failing():
        yield 1
        raise ValueError("in the app")

    try:
        cooperator.coiterate(app_generator(2)).addCallback(lambda it: outcomes.append("done"))
        cooperator.coiterate(lib["wrapping_gen"](app_function, [1])).addCallback(lambda it: outcomes.append("done"))
        cooperator.coiterate(failing()).addErrback(lambda failure: outcomes.append(failure.value.args))
        worker = threading.Thread(target=lambda: task.cooperate(iter([])))  # not the reactor thread's
        worker.start()
        worker.join()
        while scheduled:
            scheduled.pop(0)()
    finally:
        hooks.uninstall()
    assert task.CooperativeTask.__dict__["_oneWorkUnit"] is original
    assert sorted(outcomes, key=str) == [("in the app",), "done", "done"]
    names = event_names(rec, sites, wire.KIND_COROUTINE)
    assert names.count(qual("app_generator")) == 3 and names.count(qual("app_function")) == 2
    assert names.count(qual("test_cooperative_work_units_are_events_at_the_apps_generator_and_change_nothing.<locals>.failing")) == 2
