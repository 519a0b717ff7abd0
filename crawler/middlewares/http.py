"""HTTP behaviour a crawler of fragile government sites needs beyond Scrapy's defaults: no
request ever leaves the allowed domains, redirects that go nowhere are reported, retries back
off and honour Retry-After."""

from __future__ import annotations

import asyncio
import logging
from typing import Any

from scrapy import Request, Spider
from scrapy.crawler import Crawler
from scrapy.downloadermiddlewares.offsite import OffsiteMiddleware
from scrapy.downloadermiddlewares.retry import RetryMiddleware
from scrapy.exceptions import IgnoreRequest
from scrapy.http import Response
from scrapy.utils.url import url_is_from_any_domain

from crawler.default_settings import parknews_settings
from crawler.urls import safe_urljoin

logger = logging.getLogger(__name__)
REDIRECT_STATUSES = (301, 302, 303, 307, 308)


class StrictOffsiteMiddleware(OffsiteMiddleware):
    """Scrapy's offsite filter, without its exemption for `dont_filter` requests: retries are
    `dont_filter` and a redirect inherits it, so a retried page redirecting elsewhere would
    otherwise be fetched from a domain the crawl was never allowed to touch."""

    def process_request(self, request: Request) -> Any:  # type: ignore[override]
        if request.meta.get("allow_offsite"):
            return super().process_request(request)
        return super().process_request(request.replace(dont_filter=False))


class RedirectGuardMiddleware:
    """Downloader middleware (above RedirectMiddleware): a redirect back to a URL of its own
    chain, or to a host outside the allowed domains, ends the request with IgnoreRequest, so the
    spider's errback counts and logs it instead of it vanishing in a filter."""

    def __init__(self, crawler: Crawler) -> None:
        self.crawler = crawler

    @classmethod
    def from_crawler(cls, crawler: Crawler) -> RedirectGuardMiddleware:
        return cls(crawler)

    def process_response(
        self, request: Request, response: Response, spider: Spider | None = None
    ) -> Response:
        location = response.headers.get(b"Location")
        if response.status not in REDIRECT_STATUSES or not location:
            return response
        target = safe_urljoin(request.url, location.decode("latin-1"))
        if target is None:
            raise IgnoreRequest(f"redirect to a URL that cannot be read: {location!r}")
        chain = [*request.meta.get("redirect_urls", []), request.url]
        if target in chain:
            raise IgnoreRequest(f"redirect loop: {' -> '.join([*chain, target])}")
        domains = getattr(self.crawler.spider, "allowed_domains", None) or []
        leaves = domains and not url_is_from_any_domain(target, domains)
        if leaves and not request.meta.get("allow_offsite"):
            raise IgnoreRequest(f"redirect off site to {target}")
        return response


class BackoffRetryMiddleware(RetryMiddleware):
    """Scrapy's retry policy, sent after a wait: the server's Retry-After when it gives one
    (capped by PARKNEWS_RETRY_MAX_DELAY), else PARKNEWS_RETRY_BASE_DELAY * 2**(attempt - 1)."""

    def __init__(self, crawler: Crawler) -> None:
        super().__init__(crawler.settings)
        self.crawler = crawler
        settings = parknews_settings(crawler.settings)
        self.base_delay = settings.getfloat("PARKNEWS_RETRY_BASE_DELAY")
        self.max_delay = settings.getfloat("PARKNEWS_RETRY_MAX_DELAY")

    @classmethod
    def from_crawler(cls, crawler: Crawler) -> BackoffRetryMiddleware:
        return cls(crawler)

    def delay(self, request: Request, response: Response | None) -> float:
        """Seconds to wait before the retry of `request`."""
        attempt = request.meta.get("retry_times", 0) + 1
        delay = self.base_delay * 2 ** (attempt - 1)
        if response is not None:
            given = response.headers.get(b"Retry-After")
            if given and given.strip().isdigit():
                delay = float(given.strip())
        return float(min(delay, self.max_delay))

    async def process_response(  # type: ignore[override]
        self, request: Request, response: Response
    ) -> Request | Response:
        result = super().process_response(request, response)
        if isinstance(result, Request):
            await asyncio.sleep(self.delay(request, response))
        return result

    async def process_exception(  # type: ignore[override]
        self, request: Request, exception: Exception
    ) -> Request | Response | None:
        result = super().process_exception(request, exception)
        if isinstance(result, Request):
            await asyncio.sleep(self.delay(request, None))
        return result
