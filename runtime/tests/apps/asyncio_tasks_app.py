"""Twisted's asyncio reactor running native asyncio work: a Task whose steps block (a framework built on asyncio,
e.g. Scrapy 2.13+, runs the user's callbacks this way), and a plain call_soon handle that blocks too."""
from twisted.internet import asyncioreactor

asyncioreactor.install()

import asyncio  # noqa: E402
import time  # noqa: E402

from twisted.internet import reactor  # noqa: E402


def crunch():
    time.sleep(0.08)  # blocks the loop: Twisted's and asyncio's


def on_soon():
    time.sleep(0.07)  # blocks in a call_soon handle


async def worker():
    for _ in range(4):
        await asyncio.sleep(0.01)
        crunch()
    asyncio.get_running_loop().call_soon(on_soon)
    await asyncio.sleep(0.15)
    reactor.stop()


def start():
    asyncio.ensure_future(worker())


reactor.callWhenRunning(start)
reactor.run()
print("done")
