"""A twisted.web site whose resources fail, answer later, override render or meet odd methods, and a client
that requests each once; it prints every response and every failure twisted.web logged, then stops.

runtime/tests/test_web.py runs it with and without the shim: the output must be the same, and each request's
render an event of its own.
"""
import time

from twisted.internet import defer, protocol, reactor
from twisted.logger import globalLogPublisher
from twisted.web import client, resource, server
from twisted.web.http_headers import Headers


class Boom(resource.Resource):
    isLeaf = True

    def render_GET(self, request):
        raise ValueError("boom")


class Later(resource.Resource):
    isLeaf = True

    def render_GET(self, request):
        reactor.callLater(0.01, self.finish, request)
        return server.NOT_DONE_YET

    def finish(self, request):
        request.write(b"later\n")
        request.finish()


class Slow(resource.Resource):
    isLeaf = True

    def render_GET(self, request):
        time.sleep(0.06)  # blocks the reactor
        return b"slow\n"

    def render_POST(self, request):
        return b"posted " + request.content.read() + b"\n"


class Routed(resource.Resource):
    """Dispatches by itself, as Klein's resource does."""

    isLeaf = True

    def render(self, request):
        return b"routed " + request.method + b"\n"


class Body(protocol.Protocol):
    def __init__(self, finished):
        self.finished = finished
        self.data = b""

    def dataReceived(self, data):
        self.data += data

    def connectionLost(self, reason):
        self.finished.callback(self.data)


def log_failures(event):
    failure = event.get("log_failure")
    if failure is not None:
        print(f"logged {failure.type.__name__}: {failure.getErrorMessage()} in {failure.frames[-1][0]}", flush=True)


REQUESTS = [
    (b"GET", b"/boom", None),
    (b"GET", b"/later", None),
    (b"GET", b"/slow", None),
    (b"POST", b"/slow", b"form"),
    (b"HEAD", b"/slow", None),
    (b"BREW", b"/slow", None),
    (b"PUT", b"/routed", None),
]


async def drive(base):
    pool = client.HTTPConnectionPool(reactor)
    agent = client.Agent(reactor, pool=pool)
    for method, path, body in REQUESTS:
        producer = client.FileBodyProducer(__import__("io").BytesIO(body)) if body is not None else None
        response = await agent.request(method, base + path, Headers(), producer)
        finished = defer.Deferred()
        response.deliverBody(Body(finished))
        data = await finished
        print(method.decode(), path.decode(), response.code, data, flush=True)
    await pool.closeCachedConnections()


def main():
    globalLogPublisher.addObserver(log_failures)
    root = resource.Resource()
    for name, child in [(b"boom", Boom()), (b"later", Later()), (b"slow", Slow()), (b"routed", Routed())]:
        root.putChild(name, child)
    port = reactor.listenTCP(0, server.Site(root), interface="127.0.0.1")
    done = defer.Deferred.fromCoroutine(drive(b"http://127.0.0.1:%d" % port.getHost().port))
    done.addErrback(lambda failure: print(failure.getTraceback(), flush=True))
    done.addBoth(lambda _: reactor.stop())
    reactor.run()


main()
