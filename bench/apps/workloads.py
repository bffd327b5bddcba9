"""Worst-case reactor workloads for the overhead benchmark: python workloads.py NAME SIZE.

Prints one JSON line: the workload's own elapsed seconds, measured inside the process from the first
callback to the last (start-up and teardown are not the workload's), and the CPU seconds of the whole
process (every thread, the shim's too) over the same span.
  storm       SIZE trivial callLater(0) callbacks, in 100 parallel chains
  deferreds   SIZE Deferreds with 10 callbacks each (half added before firing, half after)
  coroutines  SIZE coroutines, each awaiting 5 Deferreds fired by callLater(0)
  mixed       SIZE short callLater(0) callbacks in 100 chains, 10 of them long (a fixed loop, about 60 ms
              here): a busy reactor with a few stalls, for the stall sampler's cost (bench/sampler.py)
"""
import json
import sys
import time

from twisted.internet import defer, reactor

NAME, SIZE = sys.argv[1], int(sys.argv[2])
started = [0.0, 0.0]


def finish():
    elapsed = time.perf_counter() - started[0]
    cpu = time.process_time() - started[1]
    print(json.dumps({"workload": NAME, "size": SIZE, "seconds": elapsed, "cpu_seconds": cpu}), flush=True)
    reactor.stop()


def storm():
    chains = 100
    per_chain = SIZE // chains
    left = [chains]

    def tick(n):
        if n:
            reactor.callLater(0, tick, n - 1)
        else:
            left[0] -= 1
            if not left[0]:
                finish()

    for _ in range(chains):
        reactor.callLater(0, tick, per_chain)


def inc(x):
    return x + 1


def deferreds():
    def batch(start):
        for i in range(start, min(start + 1000, SIZE)):
            d = defer.Deferred()
            if i % 2:
                for _ in range(10):
                    d.addCallback(inc)
                d.callback(0)
            else:
                d.callback(0)
                for _ in range(10):
                    d.addCallback(inc)
        if start + 1000 < SIZE:
            reactor.callLater(0, batch, start + 1000)
        else:
            finish()

    reactor.callLater(0, batch, 0)


def coroutines():
    left = [SIZE]

    async def worker():
        for _ in range(5):
            d = defer.Deferred()
            reactor.callLater(0, d.callback, None)
            await d
        left[0] -= 1
        if not left[0]:
            finish()

    for _ in range(SIZE):
        defer.ensureDeferred(worker())


LONG_LOOP = 2_500_000


def mixed():
    chains = 100
    per_chain = SIZE // chains
    every = max(1, per_chain // 10)
    left = [chains]

    def tick(chain, n):
        if chain == 0 and n % every == 0:
            for _ in range(LONG_LOOP):
                pass
        else:
            total = 0
            for i in range(10):
                total += i
        if n:
            reactor.callLater(0, tick, chain, n - 1)
        else:
            left[0] -= 1
            if not left[0]:
                finish()

    for chain in range(chains):
        reactor.callLater(0, tick, chain, per_chain - 1)


def begin():
    started[0], started[1] = time.perf_counter(), time.process_time()
    {"storm": storm, "deferreds": deferreds, "coroutines": coroutines, "mixed": mixed}[NAME]()


reactor.callWhenRunning(begin)
reactor.run()
