# A twistd application (foreground with -n, or daemonised): a slow timer, then the reactor stops.
import time

from twisted.application import service
from twisted.internet import reactor


def slow_tac_handler():
    time.sleep(0.08)


reactor.callLater(0.05, slow_tac_handler)
reactor.callLater(0.3, reactor.stop)
application = service.Application("reactorscope-test")
