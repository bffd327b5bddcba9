"""Blocks the reactor on purpose: a 150 ms sleep in a timer, and a CPU-bound handler."""
import time

from twisted.internet import reactor


def sleepy_handler():
    time.sleep(0.15)  # BLOCKING LINE


def busy_handler():
    deadline = time.perf_counter() + 0.1
    while time.perf_counter() < deadline:  # CPU LINE
        pass


reactor.callLater(0.01, sleepy_handler)
reactor.callLater(0.2, busy_handler)
reactor.callLater(0.4, reactor.stop)
reactor.run()
