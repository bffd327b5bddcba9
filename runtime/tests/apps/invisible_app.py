"""Prints, as one JSON line, what an app can see of Twisted that the shim hooks (argv[1]: the reactor).

runtime/tests/test_invisible.py runs it bare and under the shim (every hook, the watchdog and the sender on)
and compares the two: names, reprs and signatures of what is wrapped, scheduled calls, thread call entries,
the stacks of timers and thread calls, logged tracebacks, the "reactor already installed" traceback.
"""
import inspect
import json
import re
import sys
import threading
import traceback

REACTOR = sys.argv[1]
if REACTOR == "asyncio":
    from twisted.internet import asyncioreactor as chosen
elif REACTOR == "poll":
    from twisted.internet import pollreactor as chosen
elif REACTOR == "select":
    from twisted.internet import selectreactor as chosen
else:
    from twisted.internet import epollreactor as chosen
chosen.install()

import twisted.internet  # noqa: E402
import twisted.web.server  # noqa: E402
from twisted.internet import defer, reactor, task  # noqa: E402
from twisted.internet import main as main_module  # noqa: E402
from twisted.logger import globalLogPublisher  # noqa: E402

seen = {}


def normal(text):
    """Addresses and times vary from run to run."""
    text = re.sub(r"0x[0-9a-f]+", "0x?", text)
    return re.sub(r"\d+\.\d+", "N", text)


def describe(obj):
    try:
        signature = str(inspect.signature(obj))
    except (TypeError, ValueError):
        signature = None
    return {
        "repr": normal(repr(obj)),
        "name": getattr(obj, "__name__", None),
        "qualname": getattr(obj, "__qualname__", None),
        "module": getattr(obj, "__module__", None),
        "doc": getattr(obj, "__doc__", None),
        "signature": signature,
    }


def app_stack():
    """The frames from this file's main() in: what a callback's stack holds above the app's start."""
    frames = traceback.extract_stack()[:-1]
    start = [f.name == "main" and f.filename == __file__ for f in frames].index(True)
    return [(f.name, f.filename.rsplit("/", 1)[-1], f.line) for f in frames[start:]]


def target(*args, **kw):
    return args, kw


def boom():
    raise ValueError("boom in a timer")


def on_timer():
    seen["timer_stack"] = app_stack()
    calls = sorted(reactor.getDelayedCalls(), key=lambda c: c.getTime())
    seen["delayed_calls"] = [
        (c.func is target, repr(c.args), repr(c.kw), normal(repr(c))) for c in calls if c.func is target
    ]
    seen["delayed_call_count"] = len(calls)
    threading.Thread(target=lambda: reactor.callFromThread(on_thread_call, "x")).start()


def on_thread_call(arg):
    seen["thread_call_stack"] = app_stack()
    reactor.callLater(0, boom)
    reactor.callLater(0.05, finish)


def finish():
    for call in reactor.getDelayedCalls():
        if call.func is target:
            call.cancel()
    print(json.dumps(seen, sort_keys=True))
    reactor.stop()


def main():
    seen["installReactor"] = describe(main_module.installReactor)
    for name in ("callLater", "callFromThread", "runUntilCurrent", "doIteration", "_doReadOrWrite", "_readOrWrite"):
        if hasattr(reactor, name):
            seen[f"reactor.{name}"] = describe(getattr(reactor, name))
    selector = getattr(getattr(reactor, "_asyncioEventloop", None), "_selector", None)
    if selector is not None:
        seen["selector.select"] = describe(selector.select)
    seen["Deferred._runCallbacks"] = describe(defer.Deferred._runCallbacks)
    seen["defer._inlineCallbacks"] = describe(defer._inlineCallbacks)
    seen["Request.render"] = describe(twisted.web.server.Request.render)
    seen["package"] = [type(twisted.internet).__name__, type(twisted.internet.__loader__).__name__]
    seen["web_loader"] = type(twisted.web.server.__spec__.loader).__name__
    seen["meta_path"] = [type(f).__name__ for f in sys.meta_path]
    try:
        main_module.installReactor(object())
    except Exception:
        seen["already_installed"] = traceback.format_exc()
    if REACTOR != "asyncio":  # asyncio's callFromThread goes through the event loop, not this queue
        reactor.callFromThread(target, 3, k=4)
        seen["thread_call_queue"] = [(f is target, repr(a), repr(kw)) for f, a, kw in reactor.threadCallQueue]
    reactor.callLater(30, target, 1, key=2)
    task.LoopingCall(target, 5).start(20, now=False)
    reactor.callLater(0, on_timer)
    seen["logged"] = []
    def observe(event):
        failure = event.get("log_failure") or event.get("failure")  # 22.4's log.deferr: a legacy event
        if failure is not None:
            seen["logged"].append(normal(failure.getTraceback()))

    globalLogPublisher.addObserver(observe)
    reactor.run()


main()
