# Requesting /stop.rpy ends the server (the reactor stops once the response is written), so that a test run of
# `twist web` ends by itself with status 0.
from twisted.internet import reactor
from twisted.web import resource


class Stop(resource.Resource):
    isLeaf = True

    def render_GET(self, request):
        reactor.callLater(0.05, reactor.stop)
        return b"stopping\n"


resource = Stop()
