"""A real Scrapy crawl under the shim (tests/apps/realapps/scrapy_spider.py): the newest Scrapy from PyPI runs its
callbacks in asyncio Tasks on the asyncio reactor, Debian's Scrapy 2.8 through task.Cooperator on epoll. Either
way the report must lead with the spider's ``parse`` (a handler known from the stall samples, behind Scrapy's
dispatch) and put the held time on the spinning line, not on the HTML parsing that runs after it."""
from __future__ import annotations

import pytest

from helpers import APPS, first_line_of, run_shim

scrapy = pytest.importorskip("scrapy", reason="Scrapy is not installed for this Python (.venv: pip; Debian: python3-scrapy)")

APP = APPS / "realapps" / "scrapy_spider.py"
PAGES = 12


def _rows(section: str):
    return [line.split() for line in section.splitlines() if line.startswith("  ") and not line.startswith("  (")]


def test_a_blocking_spider_callback_is_named_with_its_line(tmp_path):
    result = run_shim(["--report", str(APP), str(PAGES)], cwd=tmp_path, timeout=120)
    assert result.returncode == 0, result.stderr
    assert f"crawled {PAGES}" in result.stdout
    report = result.stderr[result.stderr.index("slowest handlers"):]
    handlers, blocked = report.split("Where the reactor was blocked")
    first = _rows(handlers)[1]  # the row after the header: the app's slowest
    assert first[0] == "PageSpider.parse" and first[-1] == "sampled", handlers
    assert first[1].endswith(f"scrapy_spider.py:{first_line_of(APP, 'PageSpider.parse')}"), first
    assert int(first[2]) >= PAGES - 2, f"parse sampled in {first[2]} of {PAGES} stalls"
    spin_line = next(n for n, text in enumerate(APP.read_text().splitlines(), 1) if "the reactor is held here" in text) - 1
    in_parse = [row for row in _rows(blocked)[1:] if row[-1] == "PageSpider.parse"]
    held = {row[0].rsplit("/", 1)[-1]: float(row[-3].lstrip("~")) for row in in_parse}
    spin = held.get(f"scrapy_spider.py:{spin_line}", 0.0) + held.get(f"scrapy_spider.py:{spin_line + 1}", 0.0)
    assert spin >= 0.9 * sum(held.values()), blocked
