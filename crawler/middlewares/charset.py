"""Responses that Scrapy decoded badly, decoded again with `crawler.decode.decode_page`."""

from __future__ import annotations

import logging
from collections.abc import Iterable

from scrapy.crawler import Crawler
from scrapy.exceptions import NotConfigured
from scrapy.http import HtmlResponse, Request, Response
from scrapy.statscollectors import StatsCollector

from crawler.decode import decode_page, redecode_reasons
from crawler.default_settings import parknews_settings
from crawler.sites import SiteProfile, load_sites

logger = logging.getLogger(__name__)


class CharsetRepairMiddleware:
    """Re-decodes HTML responses that Scrapy decoded badly, with `decode_page`.

    A response whose text holds U+FFFD or private-use characters, whose header and meta
    charsets disagree, whose legacy declaration sits on a UTF-8 body, whose text shows
    mojibake, or which declares no charset and was not decoded with the one its site's
    profile gives (`encoding_hint`, which the second decoding uses too) is decoded again;
    when that changes the text, the response is replaced by one whose body is that text in
    UTF-8 (encoding "utf-8"; the meta tag in the body is left as it was, so read
    `response.text`, not the raw body). Must run after
    HttpCompressionMiddleware (order below 590).

    Setting: ``PARKNEWS_CHARSET_REPAIR_ENABLED`` (default True).
    Stats: ``parknews/charset/checked``, ``.../reason/<reason>``, ``.../redecoded``,
    ``.../lossy`` (pages still holding U+FFFD) and ``.../replacement_chars``.
    """

    def __init__(
        self, stats: StatsCollector | None = None, sites: Iterable[SiteProfile] = ()
    ) -> None:
        self.stats = stats
        self.hinted = tuple(site for site in sites if site.encoding_hint)
        """The sites whose profile names their charset."""

    @classmethod
    def from_crawler(cls, crawler: Crawler) -> CharsetRepairMiddleware:
        settings = parknews_settings(crawler.settings)
        if not settings.getbool("PARKNEWS_CHARSET_REPAIR_ENABLED"):
            raise NotConfigured("PARKNEWS_CHARSET_REPAIR_ENABLED is off")
        return cls(crawler.stats, load_sites(settings.get("PARKNEWS_SITES_FILE")).values())

    def charset_of(self, url: str) -> str | None:
        """The charset the profile of the site owning `url` gives, if any."""
        return next((s.encoding_hint for s in self.hinted if s.owns_url(url)), None)

    def process_response(self, request: Request, response: Response) -> Response:
        if not isinstance(response, HtmlResponse):
            return response
        self._inc("checked")
        content_type = response.headers.get(b"Content-Type")
        header = content_type.decode("latin-1") if content_type else None
        hint = self.charset_of(response.url)
        reasons = redecode_reasons(
            response.text, response.body, header, hint=hint, encoding=response.encoding
        )
        if not reasons:
            return response
        for reason in reasons:
            self._inc(f"reason/{reason}")
        page = decode_page(response.body, header, hint=hint)
        if page.replacement_chars:
            self._inc("lossy")
            self._inc("replacement_chars", page.replacement_chars)
            logger.warning(
                "%d undecodable characters in %s (%s)",
                page.replacement_chars,
                response.url,
                page.encoding,
            )
        if page.text == response.text:
            return response
        self._inc("redecoded")
        logger.info(
            "Re-decoded %s as %s: %s",
            response.url,
            page.encoding,
            "; ".join(page.repaired) or ", ".join(reasons),
        )
        return response.replace(body=page.text.encode("utf-8"), encoding="utf-8")

    def _inc(self, name: str, count: int = 1) -> None:
        if self.stats is not None:
            self.stats.inc_value(f"parknews/charset/{name}", count)
