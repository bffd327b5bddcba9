"""A twistd application: a twisted.web site with one blocking page, and a client that visits it.

    twistd -n -y examples/twistd_app.tac

Under Reactor Scope (from the repository root; reactorscope.twistd is twistd as a module):

    PYTHONPATH=runtime python3 -m reactorscope run --report -m reactorscope.twistd -n -y examples/twistd_app.tac

The site listens on a free port of 127.0.0.1 (in the log). GET /report sleeps 150 ms, standing in for a
blocking call, and holds the reactor; GET /status answers at once. A client in the same process requests
both every half second, so no load tool is needed. twistd owns the command line, so the run length comes
from the environment: REACTORSCOPE_EXAMPLE_SECONDS=N stops it after about N seconds; without, it runs until
Ctrl+C (or `kill`, when daemonised without -n).
"""
import os
import time

from twisted.application import service
from twisted.internet import defer, protocol, reactor, task
from twisted.python import log
from twisted.web import client, resource, server


class Report(resource.Resource):
    isLeaf = True

    def render_GET(self, request):
        time.sleep(0.15)  # blocks the reactor: a synchronous call in a twistd app's page
        return b"report\n"


class Status(resource.Resource):
    isLeaf = True

    def render_GET(self, request):
        return b"ok\n"


class ReadBody(protocol.Protocol):
    def __init__(self, finished):
        self.finished = finished

    def connectionLost(self, reason):
        self.finished.callback(None)


async def visit(base, done):
    pool = client.HTTPConnectionPool(reactor)
    agent = client.Agent(reactor, pool=pool)
    while not done.called:
        for path in (b"/status", b"/report"):
            started = time.monotonic()
            response = await agent.request(b"GET", base + path)
            finished = defer.Deferred()
            response.deliverBody(ReadBody(finished))
            await finished
            log.msg(f"GET {path.decode()} {response.code} in {(time.monotonic() - started) * 1e3:.1f} ms")
        await task.deferLater(reactor, 0.5, lambda: None)
    await pool.closeCachedConnections()
    reactor.stop()


class SiteWithVisitor(service.Service):
    """Serves the site on a free port of 127.0.0.1 and, once the reactor runs, visits it."""

    def startService(self):
        service.Service.startService(self)
        root = resource.Resource()
        root.putChild(b"report", Report())
        root.putChild(b"status", Status())
        self.port = reactor.listenTCP(0, server.Site(root), interface="127.0.0.1")
        base = b"http://127.0.0.1:%d" % self.port.getHost().port
        log.msg(f"serving on {base.decode()}/ (/report and /status)")
        done = defer.Deferred()
        seconds = os.environ.get("REACTORSCOPE_EXAMPLE_SECONDS")
        if seconds:
            reactor.callLater(float(seconds), done.callback, None)
        reactor.callWhenRunning(lambda: defer.Deferred.fromCoroutine(visit(base, done)).addErrback(log.err))

    def stopService(self):
        service.Service.stopService(self)
        return self.port.stopListening()


application = service.Application("reactorscope-example")
SiteWithVisitor().setServiceParent(application)
