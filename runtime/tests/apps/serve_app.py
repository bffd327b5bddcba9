"""Serves until stopped (SIGINT or SIGTERM, which the reactor turns into reactor.stop): says "serving" once its
reactor runs, then a timer ticks every 10 ms."""
from twisted.internet import reactor, task


def tick_handler():
    pass


def started():
    print("serving", flush=True)


task.LoopingCall(tick_handler).start(0.01)
reactor.callWhenRunning(started)
reactor.run()
print("stopped", flush=True)
