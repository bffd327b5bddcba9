"""Callbacks a little over the stall threshold, each spending its time on one line and ending in a short decoy.

    python near_threshold_app.py [COUNT] [SEED]

COUNT timers (default 40), one after the other with 5-25 ms of idle reactor between them, each running
55-95 ms (1.1 to 1.9 times the default 50 ms threshold): a loop on one line (the true line), then 3-5 ms in
decoy(), last.
A sampler that samples only past the threshold puts much of the time on the decoy; the held time of the
stack samples (test_sampler.py, bench/sampler.py) should be at the true line.
"""
import random
import sys
import time

from twisted.internet import reactor

COUNT = int(sys.argv[1]) if len(sys.argv) > 1 else 40
rng = random.Random(int(sys.argv[2]) if len(sys.argv) > 2 else 10)
perf_counter = time.perf_counter


def spin(seconds):
    deadline = perf_counter() + seconds
    while perf_counter() < deadline: pass  # TRUE LINE  # noqa: E701 (one line: the loop is the line)


def decoy(seconds):
    deadline = perf_counter() + seconds
    while perf_counter() < deadline: pass  # DECOY LINE  # noqa: E701


def handler(left):
    total, last = rng.uniform(0.055, 0.095), rng.uniform(0.003, 0.005)
    spin(total - last)
    decoy(last)
    if left > 1:
        reactor.callLater(rng.uniform(0.005, 0.025), handler, left - 1)
    else:
        reactor.callLater(0.02, reactor.stop)


reactor.callLater(0.02, handler, COUNT)
reactor.run()
