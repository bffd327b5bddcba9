"""Work that Twisted's own dispatchers run for the app, each with one step that blocks the reactor:
a deferLater callable, a cooperate() generator, a coiterate() over map() of the app's function, and the result
of a database thread pool (twisted.enterprise.adbapi on sqlite3) whose callback blocks. Ends by itself.

runtime/tests/test_apps.py runs it under the shim: each step must be a nested event at the app's function
(not at deferLater's closure, CooperativeTask._oneWorkUnit or Deferred.callback), and each blocking line found.
"""
import os
import sqlite3
import sys
import tempfile
import time

from twisted.enterprise import adbapi
from twisted.internet import defer, reactor, task


def slow_job(n):
    time.sleep(0.15)  # blocks: deferLater's callable
    return n * 2


def crawl(pages):
    for page in range(pages):
        if page == 1:
            time.sleep(0.15)  # blocks: one work unit of the cooperative task
        yield None


def parse_item(item):
    if item == 2:
        time.sleep(0.15)  # blocks: coiterate(map(parse_item, ...)) runs it
    return item


def store_rows(rows):
    time.sleep(0.15)  # blocks: the callback of the thread pool's result
    return len(rows)


def create_table(cursor):
    cursor.execute("CREATE TABLE items (name TEXT)")
    cursor.executemany("INSERT INTO items VALUES (?)", [("a",), ("b",), ("c",)])


async def main():
    doubled = await task.deferLater(reactor, 0.01, slow_job, 21)
    await task.cooperate(crawl(3)).whenDone()
    await task.coiterate(map(parse_item, range(4)))
    folder = tempfile.mkdtemp()
    pool = adbapi.ConnectionPool("sqlite3", os.path.join(folder, "app.db"), check_same_thread=False,
                                 cp_min=1, cp_max=1)
    try:
        await pool.runInteraction(create_table)
        count = await pool.runQuery("SELECT name FROM items").addCallback(store_rows)
    finally:
        pool.close()
    print("results", doubled, count, sqlite3.sqlite_version_info >= (3,), flush=True)


def run():
    done = defer.ensureDeferred(main())
    done.addErrback(lambda failure: print(failure.getTraceback(), file=sys.stderr, flush=True))
    done.addBoth(lambda _: reactor.stop())
    reactor.run()


run()
