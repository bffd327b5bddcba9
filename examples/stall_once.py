"""A Twisted app that blocks its reactor once, then exits: the quickest way to see Reactor Scope work.

    python3 examples/stall_once.py

`fast_handler` runs every 20 ms; `slow_handler` sleeps 200 ms once, and every other callback waits for it.
"""
import time

from twisted.internet import reactor, task


def fast_handler():
    pass


def slow_handler():
    time.sleep(0.2)  # blocks the reactor: nothing else runs meanwhile


task.LoopingCall(fast_handler).start(0.02)
reactor.callLater(0.1, slow_handler)
reactor.callLater(0.6, reactor.stop)
reactor.run()
