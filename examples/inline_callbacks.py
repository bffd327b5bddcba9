"""An @inlineCallbacks flow with one slow synchronous step between its yields.

    python3 examples/inline_callbacks.py [--seconds N]

handle_order waits for a stock check and for a payment (each a deferLater, standing in for a network call,
so the reactor runs other things meanwhile), and between the two renders an invoice synchronously: a
120 ms sleep, standing in for a blocking library call, during which nothing else runs. Orders come one
after another, every 200 ms. With --seconds N it stops after about N seconds; without, it runs until Ctrl+C.

Under Reactor Scope (from the repository root):

    PYTHONPATH=runtime python3 -m reactorscope run --report examples/inline_callbacks.py --seconds 3

The reactor ran the timer that fired the stock check's Deferred; the stall samples name handle_order's line.
"""
import argparse
import time

from twisted.internet import defer, reactor, task


def check_stock(order_id):
    return 3


def charge(order_id):
    return f"receipt-{order_id}"


@defer.inlineCallbacks
def handle_order(order_id):
    stock = yield task.deferLater(reactor, 0.02, check_stock, order_id)  # waits without blocking
    time.sleep(0.12)  # blocks the reactor: rendering the invoice synchronously, between two yields
    receipt = yield task.deferLater(reactor, 0.02, charge, order_id)  # waits without blocking
    return receipt, stock


@defer.inlineCallbacks
def take_orders(done):
    order_id = 0
    while not done.called:
        order_id += 1
        started = time.monotonic()
        receipt, stock = yield handle_order(order_id)
        took = (time.monotonic() - started) * 1e3
        print(f"order {order_id}: {receipt} ({stock} in stock) in {took:.1f} ms", flush=True)
        yield task.deferLater(reactor, 0.2, lambda: None)
    reactor.stop()


def stop_on_error(failure):
    failure.printTraceback()
    reactor.stop()


def main():
    parser = argparse.ArgumentParser(description="An inlineCallbacks flow with a slow synchronous step.")
    parser.add_argument("--seconds", type=float, help="stop after this many seconds (default: run until Ctrl+C)")
    options = parser.parse_args()

    done = defer.Deferred()
    if options.seconds is not None:
        reactor.callLater(options.seconds, done.callback, None)
    take_orders(done).addErrback(stop_on_error)
    reactor.run()


if __name__ == "__main__":
    main()
