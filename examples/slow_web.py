"""A small twisted.web site with one deliberately slow handler.

    python3 examples/slow_web.py [PORT]      # default 8080, on 127.0.0.1

GET /fast answers at once. GET /slow blocks the reactor for about 250 ms in a synchronous sleep, so every
other request waits too: the kind of stall Reactor Scope points at.
"""
import sys
import time

from twisted.internet import reactor
from twisted.web import resource, server


class Fast(resource.Resource):
    isLeaf = True

    def render_GET(self, request):
        return b"fast\n"


class Slow(resource.Resource):
    isLeaf = True

    def render_GET(self, request):
        time.sleep(0.25)  # blocks the reactor: nothing else runs meanwhile
        return b"slow\n"


def main(port: int) -> None:
    root = resource.Resource()
    root.putChild(b"fast", Fast())
    root.putChild(b"slow", Slow())
    reactor.listenTCP(port, server.Site(root), interface="127.0.0.1")
    print(f"serving on http://127.0.0.1:{port}/ (try /fast and /slow)", flush=True)
    reactor.run()


if __name__ == "__main__":
    main(int(sys.argv[1]) if len(sys.argv) > 1 else 8080)
