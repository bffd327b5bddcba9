# A resource script for Twisted's own server, `twist web --path DIR`: executed by twisted.web.script for each
# request. Its render_GET blocks the reactor. runtime/tests/test_apps.py requests /report.rpy, then stops it.
import time

from twisted.web import resource


class Report(resource.Resource):
    isLeaf = True

    def render_GET(self, request):
        time.sleep(0.15)  # blocks the reactor
        return b"report\n"


resource = Report()
