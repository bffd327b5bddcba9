"""An app that forks after its reactor started (a pre-fork server, ``os.fork()`` in a handler): busy timers keep
the shim's sender flushing while CHILDREN children are forked one after another; each child stops its copy of
the reactor and ends the way the app does (the script returns), printing ``child N done``. The parent waits for
them all, with a deadline, and says how many ended.

    python fork_app.py [CHILDREN]
"""
import os
import sys
import time

from twisted.internet import selectreactor

selectreactor.install()  # no kernel state shared with the children (an epoll set would be)

from twisted.internet import reactor  # noqa: E402

CHILDREN = int(sys.argv[1]) if len(sys.argv) > 1 else 20
pids = []
role = ["parent"]


def busy():
    for _ in range(200):
        reactor.callLater(0, lambda: None)
    if role[0] == "parent":
        reactor.callLater(0.001, busy)


def fork(n):
    pid = os.fork()
    if pid == 0:
        role[0] = f"child {n}"
        reactor.callLater(0.01, reactor.stop)
        return
    pids.append(pid)
    if n + 1 < CHILDREN:
        reactor.callLater(0.01, fork, n + 1)
    else:
        reactor.callLater(0.05, reactor.stop)


reactor.callLater(0, busy)
reactor.callLater(0.05, fork, 0)
reactor.run()
if role[0] != "parent":
    print(f"{role[0]} done", flush=True)
    sys.exit(0)
ended = 0
deadline = time.monotonic() + 20
for pid in pids:
    while time.monotonic() < deadline:
        done, status = os.waitpid(pid, os.WNOHANG)
        if done:
            ended += os.WIFEXITED(status) and os.WEXITSTATUS(status) == 0
            break
        time.sleep(0.01)
print(f"parent: {ended} of {len(pids)} children ended", flush=True)
