"""Client protocols connected through endpoints, to two servers listening side by side; then the reactor stops.

runtime/tests/test_hooks.py checks that each read is the user's protocol's (not the endpoint's wrapper's)
and each accept the connectionMade of its own server's protocol.
"""
import time

from twisted.internet import defer, endpoints, protocol, reactor


class Echo(protocol.Protocol):
    def connectionMade(self):
        self.transport.write(b"echo:")

    def dataReceived(self, data):
        self.transport.write(data)


class Greeter(protocol.Protocol):
    def connectionMade(self):
        self.transport.write(b"hello")
        self.transport.loseConnection()


class SlowClient(protocol.Protocol):
    """Connected with connectProtocol; its read blocks the reactor."""

    def __init__(self):
        self.done = defer.Deferred()
        self.received = b""

    def connectionMade(self):
        self.transport.write(b"ping")

    def dataReceived(self, data):
        time.sleep(0.1)  # blocks the reactor
        self.received += data
        if self.received == b"echo:ping":
            self.transport.loseConnection()

    def connectionLost(self, reason):
        self.done.callback(self.received)


class GreetedClient(protocol.Protocol):
    """Connected through a client endpoint's connect(factory)."""

    def dataReceived(self, data):
        self.factory.greeting.append(data)

    def connectionLost(self, reason):
        self.factory.done.callback(b"".join(self.factory.greeting))


def main():
    echo = reactor.listenTCP(0, protocol.ServerFactory.forProtocol(Echo), interface="127.0.0.1")
    greeter = reactor.listenTCP(0, protocol.ServerFactory.forProtocol(Greeter), interface="127.0.0.1")
    slow = SlowClient()
    endpoints.connectProtocol(endpoints.TCP4ClientEndpoint(reactor, "127.0.0.1", echo.getHost().port), slow)
    factory = protocol.Factory.forProtocol(GreetedClient)
    factory.greeting, factory.done = [], defer.Deferred()
    endpoints.TCP4ClientEndpoint(reactor, "127.0.0.1", greeter.getHost().port).connect(factory)
    finished = defer.gatherResults([slow.done, factory.done])
    finished.addCallback(lambda results: print(results, flush=True))
    finished.addBoth(lambda _: reactor.stop())
    reactor.run()


main()
