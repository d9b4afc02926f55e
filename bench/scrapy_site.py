"""Scrapy doing what crawlworker does on the benchmark site, for a side-by-side figure.

Follows every in-scope link from the root, records each page's title and images, obeys
robots.txt under the same agent token as crawlworker (the site allows only that group),
64 requests in flight, no delay, no retries, 5 s timeout; stops after PAGES pages.
Usage: python3 scrapy_site.py ROOT_URL PAGES OUT.jsonl
"""
import sys
from urllib.parse import urlparse

import scrapy
from scrapy.crawler import CrawlerProcess
from scrapy.http import HtmlResponse
from scrapy.linkextractors import LinkExtractor


class SiteSpider(scrapy.Spider):
    name = "site"

    def __init__(self, root, **kwargs):
        super().__init__(**kwargs)
        self.start_urls = [root]
        self.allowed_domains = [urlparse(root).hostname]
        self.extractor = LinkExtractor()

    def parse(self, response):
        if not isinstance(response, HtmlResponse):
            return
        yield {
            "url": response.url,
            "title": response.css("title::text").get(),
            "images": [response.urljoin(src) for src in response.css("img::attr(src)").getall()],
        }
        for link in self.extractor.extract_links(response):
            yield response.follow(link.url, self.parse)


def main():
    root, pages, out = sys.argv[1], int(sys.argv[2]), sys.argv[3]
    process = CrawlerProcess(settings={
        "ROBOTSTXT_OBEY": True,
        "ROBOTSTXT_USER_AGENT": "crawlworker",
        "USER_AGENT": "scrapy-bench",
        "CONCURRENT_REQUESTS": 64,
        "CONCURRENT_REQUESTS_PER_DOMAIN": 64,
        "DOWNLOAD_DELAY": 0,
        "DOWNLOAD_TIMEOUT": 5,
        "RETRY_ENABLED": False,
        "COOKIES_ENABLED": False,
        "TELNETCONSOLE_ENABLED": False,
        "CLOSESPIDER_PAGECOUNT": pages,
        "LOG_LEVEL": "WARNING",
        "FEEDS": {out: {"format": "jsonlines"}},
    })
    process.crawl(SiteSpider, root=root)
    process.start()


if __name__ == "__main__":
    main()
