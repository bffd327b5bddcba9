"""Floods the reactor's threadpool with blocking jobs, and blocks the reactor when some results come back.

    python3 examples/threadpool_flood.py [--seconds N]

Every second a wave of 200 jobs goes to threads.deferToThread. Each job sleeps 20 ms in a worker thread,
which is fine there; but the reactor's pool has 10 threads, so most jobs wait in its queue. Each result
comes back to store_result on the reactor thread, which for one result in 50 takes 100 ms (a synchronous
write, as a sleep): that one blocks the reactor. With --seconds N it stops after about N seconds; without,
it runs until Ctrl+C.

Under Reactor Scope (from the repository root):

    PYTHONPATH=runtime python3 -m reactorscope run --report examples/threadpool_flood.py --seconds 3

The threadpool queue gauge climbs with each wave; the stall samples name store_result's line.
"""
import argparse
import time

from twisted.internet import defer, reactor, task, threads

JOBS_PER_WAVE = 200


def resize_image(job):
    time.sleep(0.02)  # runs in a worker thread: blocking here is fine
    return job


def store_result(job):
    if job % 50 == 0:
        time.sleep(0.1)  # blocks the reactor: a synchronous write on the reactor thread
    return job


@defer.inlineCallbacks
def send_waves(done):
    wave = 0
    while not done.called:
        wave += 1
        started = time.monotonic()
        jobs = [threads.deferToThread(resize_image, job).addCallback(store_result) for job in range(JOBS_PER_WAVE)]
        yield defer.gatherResults(jobs)
        print(f"wave {wave}: {JOBS_PER_WAVE} jobs in {(time.monotonic() - started) * 1e3:.0f} ms", flush=True)
        yield task.deferLater(reactor, 1.0, lambda: None)
    reactor.stop()


def stop_on_error(failure):
    failure.printTraceback()
    reactor.stop()


def main():
    parser = argparse.ArgumentParser(description="Floods the reactor's threadpool with blocking jobs.")
    parser.add_argument("--seconds", type=float, help="stop after this many seconds (default: run until Ctrl+C)")
    options = parser.parse_args()

    done = defer.Deferred()
    if options.seconds is not None:
        reactor.callLater(options.seconds, done.callback, None)
    send_waves(done).addErrback(stop_on_error)
    reactor.run()


if __name__ == "__main__":
    main()
