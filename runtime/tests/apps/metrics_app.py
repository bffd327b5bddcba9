"""Stalls a known number of times for a known length, then idles until SIGTERM: what --metrics must report.

    metrics_app.py COUNT MS [RELEASE]

After the COUNT stalls it prints "stalls done"; with RELEASE it then blocks the reactor ("holding") until that
file exists ("released"), so a test can scrape while the reactor thread is stuck.
"""
import os
import sys
import time

from twisted.internet import reactor

count, ms = int(sys.argv[1]), float(sys.argv[2])
release = sys.argv[3] if len(sys.argv) > 3 else None
done = [0]


def say(text):
    print(text, flush=True)


def stall():
    time.sleep(ms / 1000)  # STALL LINE
    done[0] += 1
    if done[0] < count:
        reactor.callLater(0.05, stall)
    else:
        say("stalls done")
        if release:
            reactor.callLater(0.3, hold)


def hold():
    say("holding")
    while not os.path.exists(release):
        time.sleep(0.01)  # HOLD LINE
    say("released")


reactor.callLater(0.05, stall)
reactor.run()
