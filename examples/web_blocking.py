"""A twisted.web site whose handlers block the reactor in three ways, with its own client to drive them.

    python3 examples/web_blocking.py [--port PORT] [--seconds N]

It serves on 127.0.0.1 (PORT, default a free port; the address is printed) and requests every path itself,
a round every half second, so no load tool is needed. With --seconds N it stops after about N seconds;
without, it runs until Ctrl+C, as a server would.

- /sleep  sleeps 200 ms: a synchronous call, standing in for a blocking client library
- /file   reads 64 MB from /dev/urandom in one blocking read(): the time goes in the kernel, as a slow disk
          or network file system would take it (a regular file this size comes from the page cache too fast)
- /hash   derives a key with PBKDF2 (400,000 rounds): CPU work on the reactor thread
- /fast   answers at once, yet waits behind whichever of the others is running

Under Reactor Scope (from the repository root):

    PYTHONPATH=runtime python3 -m reactorscope run --report examples/web_blocking.py --seconds 3

Each request is a handler of its own, at its render_GET (a web request event). Twisted parses a request and
renders it inside the HTTP channel's dataReceived (twisted/web/http.py), the I/O read the reactor ran, so the
report shows that read too, holding the same time; the stall samples name the line of each render_GET that
held the reactor.
"""
import argparse
import hashlib
import time

from twisted.internet import defer, protocol, reactor, task
from twisted.web import client, resource, server


class Sleep(resource.Resource):
    isLeaf = True

    def render_GET(self, request):
        time.sleep(0.2)  # blocks the reactor: a synchronous sleep
        return b"slept\n"


class File(resource.Resource):
    isLeaf = True

    def render_GET(self, request):
        with open("/dev/urandom", "rb") as source:
            data = source.read(64 * 1024 * 1024)  # blocks the reactor: a 64 MB file read
        return b"read %d bytes\n" % len(data)


class Hash(resource.Resource):
    isLeaf = True

    def render_GET(self, request):
        key = hashlib.pbkdf2_hmac("sha256", b"password", b"salt", 400_000)  # blocks the reactor: CPU
        return key.hex().encode() + b"\n"


class Fast(resource.Resource):
    isLeaf = True

    def render_GET(self, request):
        return b"fast\n"


def make_site():
    root = resource.Resource()
    for name, child in [(b"sleep", Sleep()), (b"file", File()), (b"hash", Hash()), (b"fast", Fast())]:
        root.putChild(name, child)
    return server.Site(root)


class ReadBody(protocol.Protocol):
    """Takes a response's body and fires ``finished`` at its end (client.readBody does too, but recent Twisted
    warns about it with this transport)."""

    def __init__(self, finished):
        self.finished = finished

    def connectionLost(self, reason):
        self.finished.callback(None)


async def drive(base, done):
    """Requests each path in turn until ``done`` fires, then lets the reactor stop."""
    pool = client.HTTPConnectionPool(reactor)
    agent = client.Agent(reactor, pool=pool)
    while not done.called:
        for path in (b"/fast", b"/sleep", b"/file", b"/hash"):
            started = time.monotonic()
            response = await agent.request(b"GET", base + path)
            finished = defer.Deferred()
            response.deliverBody(ReadBody(finished))
            await finished
            print(f"GET {path.decode():7} {response.code} in {(time.monotonic() - started) * 1e3:6.1f} ms", flush=True)
        await task.deferLater(reactor, 0.5, lambda: None)
    await pool.closeCachedConnections()
    reactor.stop()


def stop_on_error(failure):
    failure.printTraceback()
    reactor.stop()


def main():
    parser = argparse.ArgumentParser(description="A twisted.web site with blocking handlers and its own client.")
    parser.add_argument("--port", type=int, default=0, help="port on 127.0.0.1 (default: a free one)")
    parser.add_argument("--seconds", type=float, help="stop after this many seconds (default: run until Ctrl+C)")
    options = parser.parse_args()

    port = reactor.listenTCP(options.port, make_site(), interface="127.0.0.1")
    base = b"http://127.0.0.1:%d" % port.getHost().port
    print(f"serving on {base.decode()}/ (paths /sleep /file /hash /fast)", flush=True)
    done = defer.Deferred()
    if options.seconds is not None:
        reactor.callLater(options.seconds, done.callback, None)
    defer.Deferred.fromCoroutine(drive(base, done)).addErrback(stop_on_error)
    reactor.run()


if __name__ == "__main__":
    main()
