"""Three stalls a little over the stall threshold (80, 90 and 100 ms, 150 ms apart), then the reactor stops.

The watchdog keeps a stall's samples until it has run the threshold (50 ms in), so its samples and its end
often reach the sender in the same flush: test_launcher.py checks that the report's "held" is still each
stall's whole duration.
"""
import time

from twisted.internet import reactor


def short_stall(seconds):
    time.sleep(seconds)  # SHORT STALL LINE


for i, seconds in enumerate((0.08, 0.09, 0.1)):
    reactor.callLater(0.05 + 0.25 * i, short_stall, seconds)
reactor.callLater(0.9, reactor.stop)
reactor.run()
