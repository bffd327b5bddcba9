"""A twisted.web server for the load benchmark: each request does about 2 KB of JSON work.

    python web_server.py PORT      (prints "ready" when listening on 127.0.0.1:PORT)
"""
import json
import sys

from twisted.internet import reactor
from twisted.web import resource, server

DOCUMENT = {"items": [{"id": i, "name": f"item-{i}", "tags": ["a", "b", "c"], "price": i * 1.25} for i in range(24)]}


class Api(resource.Resource):
    isLeaf = True

    def render_GET(self, request):
        body = json.dumps(DOCUMENT).encode()
        parsed = json.loads(body)
        request.setHeader(b"content-type", b"application/json")
        return json.dumps({"count": len(parsed["items"]), "first": parsed["items"][0]}).encode() + body[:512]


reactor.listenTCP(int(sys.argv[1]), server.Site(Api()), interface="127.0.0.1")
reactor.callWhenRunning(lambda: print("ready", flush=True))
reactor.run()
