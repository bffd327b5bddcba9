"""A treq client whose response callback blocks the reactor, against a small twisted.web server of its own;
ends by itself. runtime/tests/test_apps.py runs it under the shim: the callback must be a Deferred event at the
app's function, and the blocking line found in it.
"""
import sys
import time

import treq
from twisted.internet import defer, reactor
from twisted.web import resource, server


class Quote(resource.Resource):
    isLeaf = True

    def render_GET(self, request):
        return b"QUOTE 42\n"


def on_body(body):
    time.sleep(0.15)  # blocks the reactor: the response's callback
    return body.strip()


@defer.inlineCallbacks
def fetch(url):
    response = yield treq.get(url)
    quote = yield treq.content(response).addCallback(on_body)
    return quote


def run():
    port = reactor.listenTCP(0, server.Site(Quote()), interface="127.0.0.1")
    url = "http://127.0.0.1:%d/" % port.getHost().port
    done = defer.gatherResults([fetch(url), fetch(url)])
    done.addCallback(lambda quotes: print("quotes", quotes, flush=True))
    done.addErrback(lambda failure: print(failure.getTraceback(), file=sys.stderr, flush=True))
    done.addBoth(lambda _: reactor.stop())
    reactor.run()


run()
