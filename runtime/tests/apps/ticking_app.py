"""Runs for argv[1] seconds: a timer every 10 ms, plus (with argv[2] == "storm") a storm of callLater(0)."""
import sys

from twisted.internet import reactor

SECONDS = float(sys.argv[1])
STORM = len(sys.argv) > 2 and sys.argv[2] == "storm"
ticks = [0]


def tick_handler():
    ticks[0] += 1
    reactor.callLater(0.01, tick_handler)


def storm_handler(n):
    if n:
        reactor.callLater(0, storm_handler, n - 1)


def storm_starter():
    for _ in range(200):
        storm_handler(50)
    reactor.callLater(0.001, storm_starter)


reactor.callLater(0.01, tick_handler)
if STORM:
    reactor.callLater(0.01, storm_starter)
reactor.callLater(SECONDS, reactor.stop)
reactor.run()
print(f"ticks {ticks[0]}", flush=True)
