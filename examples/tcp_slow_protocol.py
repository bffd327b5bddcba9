"""A TCP server whose Protocol.dataReceived blocks the reactor on some messages, and a client in the same process.

    python3 examples/tcp_slow_protocol.py [--port PORT] [--seconds N]

The server (127.0.0.1, PORT or a free port) answers each line it gets. A "report" line makes dataReceived
sleep 150 ms, standing in for a synchronous database query; every other line is answered at once. The
client sends a line, waits for the answer and sends the next one: four "ping" lines, then a "report", over
and over, printing how long each answer took. With --seconds N it stops after about N seconds; without, it
runs until Ctrl+C.

Under Reactor Scope (from the repository root):

    PYTHONPATH=runtime python3 -m reactorscope run --report examples/tcp_slow_protocol.py --seconds 3
"""
import argparse
import time

from twisted.internet import protocol, reactor


class QueryServer(protocol.Protocol):
    def connectionMade(self):
        self.buffer = b""

    def dataReceived(self, data):
        self.buffer += data
        *lines, self.buffer = self.buffer.split(b"\n")
        for line in lines:
            if line.startswith(b"report"):
                time.sleep(0.15)  # blocks the reactor: a synchronous query, on "report" lines only
            self.transport.write(b"done " + line + b"\n")


class QueryClient(protocol.Protocol):
    def connectionMade(self):
        self.buffer = b""
        self.sent = 0
        self.send_next()

    def send_next(self):
        self.sent += 1
        self.line = b"report %d" % self.sent if self.sent % 5 == 0 else b"ping %d" % self.sent
        self.started = time.monotonic()
        self.transport.write(self.line + b"\n")

    def dataReceived(self, data):
        self.buffer += data
        while b"\n" in self.buffer:
            answer, self.buffer = self.buffer.split(b"\n", 1)
            took = (time.monotonic() - self.started) * 1e3
            print(f"{self.line.decode():10} -> {answer.decode():15} in {took:6.1f} ms", flush=True)
            reactor.callLater(0.05, self.send_next)


def main():
    parser = argparse.ArgumentParser(description="A TCP server with a slow dataReceived, and its own client.")
    parser.add_argument("--port", type=int, default=0, help="port on 127.0.0.1 (default: a free one)")
    parser.add_argument("--seconds", type=float, help="stop after this many seconds (default: run until Ctrl+C)")
    options = parser.parse_args()

    port = reactor.listenTCP(options.port, protocol.ServerFactory.forProtocol(QueryServer), interface="127.0.0.1")
    print(f"listening on 127.0.0.1:{port.getHost().port}", flush=True)
    reactor.connectTCP("127.0.0.1", port.getHost().port, protocol.ClientFactory.forProtocol(QueryClient))
    if options.seconds is not None:
        reactor.callLater(options.seconds, reactor.stop)
    reactor.run()


if __name__ == "__main__":
    main()
