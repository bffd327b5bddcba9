"""A real Scrapy crawl (Scrapy from PyPI, or Debian's python3-scrapy) whose parse callback blocks: the shape of the
crawler in issue 10. The pages come from a twisted.web site on the same reactor, on a free loopback port, so the
crawl needs no network. Each page's parse spins ~60 ms on one line, then hands the page to parsel (a decoy that
runs last). Scrapy 2.13+ runs it on the asyncio reactor (asyncio Tasks); older Scrapy on epoll through
task.Cooperator: the report must name ``PageSpider.parse`` and the spin line either way.

    python scrapy_spider.py [PAGES]
"""
import sys
import time

import scrapy
from scrapy.utils.reactor import install_reactor

if tuple(int(n) for n in scrapy.__version__.split(".")[:2]) >= (2, 13):  # its default reactor since 2.13
    install_reactor("twisted.internet.asyncioreactor.AsyncioSelectorReactor")

from scrapy.crawler import CrawlerRunner  # noqa: E402
from twisted.internet import reactor  # noqa: E402
from twisted.web import resource, server  # noqa: E402

PAGES = int(sys.argv[1]) if len(sys.argv) > 1 else 12


class Page(resource.Resource):
    isLeaf = True

    def render_GET(self, request):
        return b"<html><body><p>page %s</p><a href='/next'>next</a></body></html>" % request.path


def spin(ms):
    end = time.perf_counter() + ms / 1000
    while time.perf_counter() < end:
        pass  # the reactor is held here


class PageSpider(scrapy.Spider):
    name = "pages"
    custom_settings = {"LOG_LEVEL": "ERROR", "TELNETCONSOLE_ENABLED": False, "ROBOTSTXT_OBEY": False}

    def parse(self, response):
        spin(60)
        yield {"text": response.css("p::text").get()}


def main():
    port = reactor.listenTCP(0, server.Site(Page()), interface="127.0.0.1")
    base = f"http://127.0.0.1:{port.getHost().port}"
    PageSpider.start_urls = [f"{base}/p{i}" for i in range(PAGES)]
    runner = CrawlerRunner()
    d = runner.crawl(PageSpider)
    d.addBoth(lambda _: reactor.stop())
    reactor.run()
    print("crawled", PAGES)


if __name__ == "__main__":
    main()
