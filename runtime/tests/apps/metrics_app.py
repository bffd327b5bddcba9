"""Stalls a known number of times for a known length, then idles until SIGTERM: what --metrics must report.

    metrics_app.py COUNT MS [--gap SECONDS] [--go FILE] [--release FILE]

--gap: the idle time between two stalls (default 0.05 s).

With --go it waits (polling every 50 ms) until FILE exists before the first stall, so a scraper can see the
stalls happen. After the COUNT stalls it prints "stalls done"; with --release it then blocks the reactor
("holding") until that file exists ("released"), so a test can scrape while the reactor thread is stuck.
"""
import argparse
import os
import time

from twisted.internet import reactor, task

parser = argparse.ArgumentParser()
parser.add_argument("count", type=int)
parser.add_argument("ms", type=float)
parser.add_argument("--gap", type=float, default=0.05)
parser.add_argument("--go")
parser.add_argument("--release")
options = parser.parse_args()
count, ms, release = options.count, options.ms, options.release
done = [0]


def say(text):
    print(text, flush=True)


def stall():
    time.sleep(ms / 1000)  # STALL LINE
    done[0] += 1
    if done[0] < count:
        reactor.callLater(options.gap, stall)
    else:
        say("stalls done")
        if release:
            reactor.callLater(0.3, hold)


def hold():
    say("holding")
    while not os.path.exists(release):
        time.sleep(0.01)  # HOLD LINE
    say("released")


def wait_for_go():
    if os.path.exists(options.go):
        poll.stop()
        reactor.callLater(0.05, stall)


if options.go:
    poll = task.LoopingCall(wait_for_go)
    poll.start(0.05)
else:
    reactor.callLater(0.05, stall)
reactor.run()
