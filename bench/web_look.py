"""What one render look costs on a Klein route (the first request of each route, runtime/reactorscope/web_hooks.py):
a look that notes the first app function entered against one that notes up to APP_CALLS (48), and bare renders,
in one process (median us per render, a new path each time so that every render is looked into).

    PYTHONPATH=runtime taskset -c 1 .venv/bin/python bench/web_look.py
"""
import os
import statistics
import sys
import threading
import time

from klein import Klein
from twisted.web.test.test_web import DummyChannel
from twisted.web import server
from reactorscope import web_hooks
from reactorscope.recorder import Recorder
from reactorscope.clock import ManualClock
from reactorscope.sites import SiteTable
from reactorscope.usercode import UserCode

app = Klein()

def helper(n):
    return sum(range(n))

@app.route("/r/<name>")
def route(request, name):
    return str(helper(10) + helper(20)).encode()

def make(i):
    req = server.Request(DummyChannel(), False)
    req.method = b"GET"
    req.uri = req.path = b"/r/n%d" % i
    req.prepath = []
    req.postpath = [b"r", b"n%d" % i]
    req.requestHeaders.setRawHeaders(b"host", [b"localhost"])
    return req

def run(limit, n=300):
    web_hooks.APP_CALLS = limit
    rec = Recorder(ManualClock(), buffer_events=100000)
    rec.reactor_thread = threading.get_ident()
    sites = SiteTable()
    hooks = web_hooks.WebHooks(rec, sites, UserCode(globs=[os.path.abspath(__file__)]))
    hooks.install(server)
    res = app.resource()
    times = []
    try:
        for i in range(n):
            req = make(i)  # a new path each time: a look each time
            t = time.perf_counter()
            req.render(res)
            times.append(time.perf_counter() - t)
    finally:
        hooks.uninstall()
    names = {sites.row(sites.resolve(key))[3] for key in rec.events[1::4]}
    assert names == {"route"}, names  # every look found the route
    return statistics.median(times) * 1e6

def bare(n=300):
    res = app.resource(); times = []
    for i in range(n):
        req = make(i)
        t = time.perf_counter(); req.render(res); times.append(time.perf_counter() - t)
    return statistics.median(times) * 1e6

for _ in range(2):
    print(f"bare {bare():.1f} us, look limit 1: {run(1):.1f} us, limit 48: {run(48):.1f} us, bare {bare():.1f} us")
