"""A Klein server for the load benchmark (bench/web.py --app klein): the same JSON work as web_server.py, in a
Klein route, so that each request goes through KleinResource.render's routing (and the shim's look for the app
function it enters).

    python klein_server.py PORT      (prints "ready" when listening on 127.0.0.1:PORT)
"""
import json
import sys

from klein import Klein
from twisted.internet import reactor
from twisted.web import server

DOCUMENT = {"items": [{"id": i, "name": f"item-{i}", "tags": ["a", "b", "c"], "price": i * 1.25} for i in range(24)]}
app = Klein()


@app.route("/")
def api(request):
    body = json.dumps(DOCUMENT).encode()
    parsed = json.loads(body)
    request.setHeader(b"content-type", b"application/json")
    return json.dumps({"count": len(parsed["items"]), "first": parsed["items"][0]}).encode() + body[:512]


reactor.listenTCP(int(sys.argv[1]), server.Site(app.resource()), interface="127.0.0.1")
reactor.callWhenRunning(lambda: print("ready", flush=True))
reactor.run()
