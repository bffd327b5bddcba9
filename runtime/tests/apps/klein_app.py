"""A Klein app with a route that blocks the reactor and one that does not, and a client that requests each
twice, then stops. runtime/tests/test_apps.py runs it under the shim: each request must be a web request event
at the route function (not at KleinResource.render), and the blocking line found in it.
"""
import sys
import time

from klein import Klein
from twisted.internet import defer, reactor
from twisted.web import client, server

app = Klein()


@app.route("/report/<int:year>")
def report(request, year):
    time.sleep(0.15)  # blocks the reactor
    return f"report {year}\n"


@app.route("/health")
def health(request):
    return "ok\n"


async def drive(base):
    agent = client.Agent(reactor)
    for path in (b"/report/2024", b"/health", b"/report/2025", b"/health"):
        response = await agent.request(b"GET", base + path)
        body = await client.readBody(response)
        print(path.decode(), response.code, body, flush=True)


def run():
    port = reactor.listenTCP(0, server.Site(app.resource()), interface="127.0.0.1")
    done = defer.ensureDeferred(drive(b"http://127.0.0.1:%d" % port.getHost().port))
    done.addErrback(lambda failure: print(failure.getTraceback(), file=sys.stderr, flush=True))
    done.addBoth(lambda _: reactor.stop())
    reactor.run()


run()
