"""An async def flow, run by Twisted, with one slow synchronous step between its awaits.

    python3 examples/async_flow.py [--seconds N]

sign_upload awaits the upload's bytes and later the store's acknowledgement (each a deferLater, standing in
for a network call, so the reactor runs other things meanwhile), and between the two derives a signing key
with PBKDF2 (400,000 rounds): CPU work on the reactor thread, during which nothing else runs. A LoopingCall
starts one upload every 300 ms, each as its own Deferred.fromCoroutine, and waits for it to finish. With
--seconds N it stops after about N seconds; without, it runs until Ctrl+C.

Under Reactor Scope (from the repository root):

    PYTHONPATH=runtime python3 -m reactorscope run --report examples/async_flow.py --seconds 3

The reactor ran the timer that fired the fetch's Deferred; the stall samples name sign_upload's line.
"""
import argparse
import hashlib
import itertools
import time

from twisted.internet import defer, reactor, task


def fetch(upload_id):
    return b"upload %d" % upload_id


def store(upload_id, key):
    return f"stored-{upload_id}"


async def sign_upload(upload_id):
    payload = await task.deferLater(reactor, 0.02, fetch, upload_id)  # waits without blocking
    key = hashlib.pbkdf2_hmac("sha256", payload, b"salt", 400_000)  # blocks the reactor: CPU between two awaits
    return await task.deferLater(reactor, 0.02, store, upload_id, key)  # waits without blocking


def ms_since(started):
    return (time.monotonic() - started) * 1e3


def start_upload(upload_ids):
    upload_id = next(upload_ids)
    started = time.monotonic()
    d = defer.Deferred.fromCoroutine(sign_upload(upload_id))
    d.addCallback(lambda result: print(f"upload {upload_id}: {result} in {ms_since(started):.1f} ms", flush=True))
    return d  # the LoopingCall waits for it before the next upload


def main():
    parser = argparse.ArgumentParser(description="An async def flow with a slow synchronous step.")
    parser.add_argument("--seconds", type=float, help="stop after this many seconds (default: run until Ctrl+C)")
    options = parser.parse_args()

    uploads = task.LoopingCall(start_upload, itertools.count(1))
    finished = uploads.start(0.3)
    finished.addErrback(lambda failure: failure.printTraceback())
    finished.addBoth(lambda _: reactor.stop())
    if options.seconds is not None:
        reactor.callLater(options.seconds, uploads.stop)
    reactor.run()


if __name__ == "__main__":
    main()
