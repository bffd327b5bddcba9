"""Twisted on asyncio's event loop: a Twisted server with one blocking handler, and a native asyncio client.

    python3 examples/asyncio_app.py [--port PORT] [--seconds N]

asyncioreactor.install() must run before anything imports twisted.internet.reactor. The server (127.0.0.1,
PORT or a free port) is a Twisted Protocol; a "quote" line makes its dataReceived sleep 120 ms, standing in
for a blocking call, which holds Twisted and asyncio alike. The client is plain asyncio (asyncio streams) on
the same loop: "ping", "ping", "quote", over and over. With --seconds N it stops after about N seconds;
without, it runs until Ctrl+C.

Under Reactor Scope (from the repository root):

    PYTHONPATH=runtime python3 -m reactorscope run --report examples/asyncio_app.py --seconds 3
"""
from twisted.internet import asyncioreactor

asyncioreactor.install()

import argparse  # noqa: E402
import asyncio  # noqa: E402
import time  # noqa: E402

from twisted.internet import defer, protocol, reactor  # noqa: E402


class QuoteServer(protocol.Protocol):
    def connectionMade(self):
        self.buffer = b""

    def dataReceived(self, data):
        self.buffer += data
        *lines, self.buffer = self.buffer.split(b"\n")
        for line in lines:
            if line == b"quote":
                time.sleep(0.12)  # blocks the reactor, and asyncio's loop with it
            self.transport.write(line.upper() + b"\n")


async def client(port, done):
    """Native asyncio: talks to the Twisted server over asyncio streams until ``done`` fires."""
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    sent = 0
    while not done.called:
        sent += 1
        line = b"quote" if sent % 3 == 0 else b"ping"
        started = time.monotonic()
        writer.write(line + b"\n")
        answer = await reader.readline()
        took = (time.monotonic() - started) * 1e3
        print(f"{line.decode():5} -> {answer.decode().strip():5} in {took:6.1f} ms", flush=True)
        await asyncio.sleep(0.05)
    writer.close()
    await writer.wait_closed()


running = set()  # asyncio holds tasks only weakly: keep each one here while it runs


def start_client(port, done):
    # Called once the reactor runs, so asyncio finds its running loop.
    task = asyncio.ensure_future(client(port, done))
    running.add(task)
    task.add_done_callback(running.discard)
    d = defer.Deferred.fromFuture(task)
    d.addErrback(lambda failure: failure.printTraceback())
    d.addBoth(lambda _: reactor.stop())


def main():
    parser = argparse.ArgumentParser(description="Twisted on asyncio, with a blocking handler.")
    parser.add_argument("--port", type=int, default=0, help="port on 127.0.0.1 (default: a free one)")
    parser.add_argument("--seconds", type=float, help="stop after this many seconds (default: run until Ctrl+C)")
    options = parser.parse_args()

    port = reactor.listenTCP(options.port, protocol.ServerFactory.forProtocol(QuoteServer), interface="127.0.0.1")
    print(f"listening on 127.0.0.1:{port.getHost().port} ({type(reactor).__name__})", flush=True)
    done = defer.Deferred()
    if options.seconds is not None:
        reactor.callLater(options.seconds, done.callback, None)
    reactor.callWhenRunning(start_client, port.getHost().port, done)
    reactor.run()


if __name__ == "__main__":
    main()
