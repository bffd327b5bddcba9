"""An app with its own prometheus_client metrics, served by Twisted (prometheus_client.twisted.MetricsResource) on
127.0.0.1 at a port it prints ("port N"). It defines Synapse's python_twisted_reactor_tick_time itself, stalls
once, prints "stalls done" and idles until SIGTERM."""
import time

from prometheus_client import Counter, Histogram
from prometheus_client.twisted import MetricsResource
from twisted.internet import reactor
from twisted.web.resource import Resource
from twisted.web.server import Site

stalls = Counter("app_stalls", "Stalls the app made on purpose")
tick_time = Histogram("python_twisted_reactor_tick_time", "The app's own (Synapse's) tick time; never observed here")


def stall():
    time.sleep(0.1)  # STALL LINE
    stalls.inc()
    print("stalls done", flush=True)


root = Resource()
root.putChild(b"metrics", MetricsResource())
port = reactor.listenTCP(0, Site(root), interface="127.0.0.1")
print(f"port {port.getHost().port}", flush=True)
reactor.callLater(0.05, stall)
reactor.run()
