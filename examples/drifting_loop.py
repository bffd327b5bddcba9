"""A task.LoopingCall whose body sometimes takes longer than its interval, so the loop skips ticks.

    python3 examples/drifting_loop.py [--seconds N]

Poller.poll runs every 100 ms. Every fifth tick it also flushes what it collected to a slow store: a 250 ms
sleep, standing in for a blocking write. LoopingCall never runs a tick late to catch up: it skips to the
next multiple of the interval, so after each flush two ticks are lost; poll prints the gap it saw. With
--seconds N it stops after about N seconds; without, it runs until Ctrl+C.

Under Reactor Scope (from the repository root):

    PYTHONPATH=runtime python3 -m reactorscope run --report examples/drifting_loop.py --seconds 3
"""
import argparse
import time

from twisted.internet import reactor, task

INTERVAL = 0.1


class Poller:
    def __init__(self):
        self.ticks = 0
        self.last = None

    def poll(self):
        now = reactor.seconds()
        if self.last is not None:
            skipped = round((now - self.last) / INTERVAL) - 1
            if skipped > 0:
                gap = (now - self.last) * 1e3
                print(f"tick {self.ticks}: {gap:.0f} ms since the last one, {skipped} skipped", flush=True)
        self.last = now
        self.ticks += 1
        if self.ticks % 5 == 0:
            time.sleep(0.25)  # blocks the reactor: a slow flush, longer than the loop's interval


def main():
    parser = argparse.ArgumentParser(description="A LoopingCall that takes longer than its interval.")
    parser.add_argument("--seconds", type=float, help="stop after this many seconds (default: run until Ctrl+C)")
    options = parser.parse_args()

    task.LoopingCall(Poller().poll).start(INTERVAL)
    if options.seconds is not None:
        reactor.callLater(options.seconds, reactor.stop)
    reactor.run()


if __name__ == "__main__":
    main()
