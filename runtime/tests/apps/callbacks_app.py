"""Runs one callback of each kind on the reactor named by argv[1] (epoll, poll, select, asyncio), then stops.

runtime/tests/test_hooks.py runs it under the shim and finds each handler below in the recording.
"""
import sys
import threading

REACTOR = sys.argv[1]
if REACTOR == "asyncio":
    from twisted.internet import asyncioreactor as chosen
elif REACTOR == "poll":
    from twisted.internet import pollreactor as chosen
elif REACTOR == "select":
    from twisted.internet import selectreactor as chosen
else:
    from twisted.internet import epollreactor as chosen
chosen.install()

from twisted.internet import defer, protocol, reactor, task  # noqa: E402


class Echo(protocol.Protocol):
    def dataReceived(self, data):
        self.transport.write(data)


class Client(protocol.Protocol):
    def connectionMade(self):
        self.transport.write(b"ping")

    def dataReceived(self, data):
        self.factory.answered.callback(data)
        self.transport.loseConnection()


def on_timer(done):
    done.callback("timer")


def from_thread(done):
    done.callback("thread")


def deferred_callback(result):
    return result


@defer.inlineCallbacks
def generator_flow():
    yield task.deferLater(reactor, 0, lambda: None)
    return "generator"


async def coroutine_flow():
    await task.deferLater(reactor, 0, lambda: None)
    return "coroutine"


def main():
    server = protocol.ServerFactory.forProtocol(Echo)
    port = reactor.listenTCP(0, server, interface="127.0.0.1")
    client = protocol.ClientFactory.forProtocol(Client)
    client.answered = defer.Deferred()
    reactor.connectTCP("127.0.0.1", port.getHost().port, client)

    timer_done = defer.Deferred()
    reactor.callLater(0.01, on_timer, timer_done)

    thread_done = defer.Deferred()
    threading.Thread(target=reactor.callFromThread, args=(from_thread, thread_done)).start()

    chained = defer.Deferred()
    chained.addCallback(deferred_callback)
    reactor.callLater(0.02, chained.callback, "deferred")

    every = [client.answered, timer_done, thread_done, chained, generator_flow(), defer.ensureDeferred(coroutine_flow())]
    finished = defer.gatherResults(every)
    finished.addCallback(lambda results: print(sorted(map(str, results)), flush=True))
    finished.addBoth(lambda _: reactor.stop())
    reactor.run()


main()
