"""The parknews spider: walks each site's news sections and hands article pages to the extractor.

It only navigates. What a page says is decided by crawler.extract; what a record keeps is
decided by the item pipelines; what the run did is told with the project's signals
(crawler.signals), for the run report and the crawl state to record.
"""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator, Iterable, Iterator
from typing import Any

import scrapy
from scrapy import signals
from scrapy.crawler import Crawler
from scrapy.exceptions import CloseSpider, DontCloseSpider
from scrapy.http import Request, Response, TextResponse
from scrapy.settings import Settings
from twisted.python.failure import Failure

from crawler import cms
from crawler import signals as parknews_signals
from crawler.arguments import SPIDER_ARGUMENTS, parse_arguments
from crawler.cms import article_key
from crawler.default_settings import parknews_settings, redis_url
from crawler.extensions.report import STATE_UNUSABLE
from crawler.extract import NotAnArticle, build_record
from crawler.feeds import new_run_id, output_feeds, output_folder
from crawler.sites import SITES, SiteProfile, SiteRegistry, load_sites
from crawler.state.base import StateBackend
from crawler.state.errors import StateError
from crawler.state.sharedrun import SharedRun, join_shared_run, shared_run

logger = logging.getLogger(__name__)
ARTICLE_PRIORITY = 1
"""Articles are fetched before list pages: a section's next list page is asked for once the
articles of the last one are under way, so the queue holds about one list page's requests,
not those of every list page of the section (memory stays flat however long a section is)."""
Walk = tuple[str, str]
"""A section's walk through its list pages, named by (site key, URL of its first list page)."""


def section_url(profile: SiteProfile, name: str) -> str:
    """The URL of the first list page of the profile's section `name`, which names its walk."""
    return next(section.url for section in profile.sections if section.name == name)


class ParknewsSpider(scrapy.Spider):
    """Crawls the news sections of every selected site profile (all of them by default).

    Arguments (crawler.arguments): sites=KEY[,KEY…], since=YYYY-MM-DD, max_pages=N (list
    pages per section), replay=demo|PATH (serve every request from a WARC archive),
    start_url=URL (a site with no profile, crawled with the generic one), full=1. The sites
    are the shipped ones and those of the file PARKNEWS_SITES_FILE names (`registry`).
    """

    name = "parknews"

    def __init__(self, *args: Any, registry: SiteRegistry = SITES, **kwargs: Any) -> None:
        arguments = {k: v for k, v in kwargs.items() if k in SPIDER_ARGUMENTS}
        passthrough = {k: v for k, v in kwargs.items() if k not in arguments}
        self.plan = parse_arguments(arguments, registry)
        super().__init__(*args, **passthrough)
        self.profiles = {p.key: p for p in self.plan.profiles}
        self.allowed_domains = sorted({d for p in self.plan.profiles for d in p.allowed_domains})
        self.run_id = ""
        """The run's name, sortable by its start time (set when the crawl starts)."""
        self.recheck_pages = 0
        self.gone_retry_days = 0.0
        self.started_mirrors: set[str] = set()
        self.store: StateBackend | None = None
        """The crawl state, once it has opened (signal `state_opened`); None without one."""
        self.walks: dict[Walk, bool] = {}
        """The walks this run started, and whether each section's last walk was complete."""

    @classmethod
    def from_crawler(cls, crawler: Crawler, *args: Any, **kwargs: Any) -> ParknewsSpider:
        settings = crawler.settings
        configured = parknews_settings(settings)
        registry = load_sites(configured.get("PARKNEWS_SITES_FILE"))
        spider = super().from_crawler(crawler, *args, registry=registry, **kwargs)
        assert isinstance(spider, ParknewsSpider)
        spider.recheck_pages = configured.getint("PARKNEWS_INCREMENTAL_RECHECK_PAGES")
        spider.gone_retry_days = configured.getfloat("PARKNEWS_STATE_GONE_RETRY_DAYS")
        crawler.signals.connect(spider.opened, signal=signals.spider_opened)
        shared = spider.share_crawl(settings)
        # The mirrors wait until the crawl is idle: on every worker, when several share it.
        idle = parknews_signals.crawl_idle if shared else signals.spider_idle
        crawler.signals.connect(spider.crawl_mirrors, signal=idle)
        crawler.signals.connect(spider.state_opened, signal=parknews_signals.state_opened)
        if spider.plan.replay is not None:
            # A replay reads a local file: no politeness delays are owed to anyone.
            settings.set("PARKNEWS_REPLAY_ARCHIVE", str(spider.plan.replay), priority="spider")
            settings.set("DOWNLOAD_DELAY", 0, priority="spider")
            settings.set("AUTOTHROTTLE_ENABLED", False, priority="spider")
            settings.set("CONCURRENT_REQUESTS_PER_DOMAIN", 16, priority="spider")
        spider.run_id = shared.output_name if shared else new_run_id(output_folder(settings))
        if settings.getpriority("FEEDS") in (None, 0) or not settings.getdict("FEEDS"):
            settings.set("FEEDS", output_feeds(settings), priority="spider")
        return spider

    @staticmethod
    def share_crawl(settings: Settings) -> SharedRun | None:
        """With REDIS_URL and a crawl state, the run this worker shares with others (joined
        now unless the crawl command did), taking its requests from the shared frontier."""
        if not redis_url(settings) or not parknews_settings(settings).getbool(
            "PARKNEWS_STATE_ENABLED"
        ):
            return None
        shared = shared_run(settings)
        if shared is None:
            shared = join_shared_run(settings, new_run_id(output_folder(settings)))
        settings.set("SCHEDULER", "crawler.frontier.SharedFrontier", priority="spider")
        return shared

    def opened(self) -> None:
        """Announce the sites of this run."""
        self.crawler.signals.send_catch_log(
            parknews_signals.crawl_planned, profiles=self.profiles, run_id=self.run_id
        )

    def state_opened(self, store: StateBackend) -> None:
        """Ask the crawl state which articles earlier runs wrote."""
        self.store = store

    async def start(self) -> AsyncIterator[Request]:
        """The first list page of every section; mirror sites wait (see `crawl_mirrors`)."""
        for profile in self.plan.profiles:
            if not self.waits_for_original(profile):
                for request in self.section_requests(profile):
                    yield request

    def waits_for_original(self, profile: SiteProfile) -> bool:
        """True for a mirror whose original site is crawled in the same run."""
        return profile.mirror_of is not None and profile.mirror_of in self.profiles

    def section_requests(self, profile: SiteProfile) -> Iterator[Request]:
        """The first list page of each of a site's sections."""
        for section in profile.sections:
            yield self.list_request(cms.ListRequest(section.url), profile, section.name, 1)

    def crawl_mirrors(self) -> None:
        """When the crawl goes idle, start the mirrors of the sites it crawled: the original
        articles are then all written first, so the copies are the ones marked duplicate."""
        waiting = [
            p
            for p in self.plan.profiles
            if self.waits_for_original(p) and p.key not in self.started_mirrors
        ]
        if not waiting:
            return
        engine = self.crawler.engine
        assert engine is not None
        for profile in waiting:
            self.started_mirrors.add(profile.key)
            for request in self.section_requests(profile):
                engine.crawl(request)
        raise DontCloseSpider

    def list_request(
        self,
        listed: cms.ListRequest,
        profile: SiteProfile,
        section: str,
        page: int,
        known_pages: int = 0,
        family: str | None = None,
    ) -> Request:
        """The request for one list page (or list data answer) of a section; `family` is the
        CMS family its walk was recognised as, which reads the answer."""
        post = listed.method == "POST"
        return Request(
            listed.url,
            method=listed.method,
            body=listed.body if post else None,
            headers={"Content-Type": "application/x-www-form-urlencoded"} if post else None,
            callback=self.parse_list,
            errback=self.failed,
            cb_kwargs={
                "site": profile.key,
                "section": section,
                "page": page,
                "known_pages": known_pages,
                "family": family,
            },
            meta={"parknews_kind": "list"},
        )

    def parse_list(
        self,
        response: Response,
        site: str,
        section: str,
        page: int,
        known_pages: int = 0,
        family: str | None = None,
    ) -> Iterator[Request]:
        """Follow the articles of a list page, then its next page when there should be one.

        Articles that earlier runs wrote are not fetched again (unless full=1). In a section
        whose last walk was complete, paging stops after a page whose articles are all known,
        plus PARKNEWS_INCREMENTAL_RECHECK_PAGES more such pages; any other section is walked
        to its last page (see crawler.extensions.crawlstate)."""
        profile = self.profiles[site]
        stats = self.crawler.stats
        assert stats is not None
        if not isinstance(response, TextResponse):
            self.record_error(site, response.url, "list_not_html")
            return
        walk = (site, section_url(profile, section))
        stop_at_known = self.walk_may_stop(walk)
        reading = self.read_list(response, profile, section, family)
        if reading.problem is not None:
            self.record_error(site, response.url, "list_malformed", reading.problem)
        entries = reading.entries
        stats.inc_value(f"parknews/{site}/list_pages")
        self.crawler.signals.send_catch_log(
            parknews_signals.list_page_read,
            site=site,
            entries=len(entries),
            family=reading.family.name,
        )
        known = self.known_urls(entry.url for entry in entries)
        stats.inc_value(f"parknews/{site}/articles_known", len(known))
        older_than_since = False
        for entry in entries:
            if self.plan.since and entry.date and entry.date[:10] < self.plan.since.isoformat():
                older_than_since = True
                continue
            if entry.url not in known:
                yield self.article_request(entry, profile, section)
        if older_than_since:
            return
        if stop_at_known and entries and len(known) == len(entries):
            known_pages += 1
            if known_pages > self.recheck_pages:
                self.walk_ended(walk)
                return
        if self.plan.max_pages is not None and page >= self.plan.max_pages:
            return
        for listed in reading.next:
            yield self.list_request(
                listed, profile, section, page + 1, known_pages, reading.family.name
            )
        if not reading.next:
            self.walk_ended(walk)

    def read_list(
        self, response: TextResponse, profile: SiteProfile, section: str, family: str | None
    ) -> cms.ListReading:
        """The articles and next list requests of a list page, read as the family the
        profile pins, or the one its walk was recognised as, or the one the page shows."""
        request = response.request
        body = request.body.decode("utf-8", "replace") if request and request.body else None
        listed = cms.ListPage(
            response.url, response.text, request.method if request else "GET", body
        )
        named = family or profile.family
        reading = cms.read_list(
            listed,
            profile.owns_url,
            profile.is_article_url if profile.article_url_patterns else None,
            cms.family_named(named) if named else None,
        )
        if named is None:
            self.logger.info(
                "%s: list pages of %s recognised as %s",
                profile.key,
                section_url(profile, section),
                reading.family.label,
            )
            stats = self.crawler.stats
            assert stats is not None
            stats.set_value(f"parknews/{profile.key}/family", reading.family.name)
        return reading

    def walk_may_stop(self, walk: Walk) -> bool:
        """Whether paging may stop at known pages in the section: its last walk was recorded
        complete when this run started walking it. The first call records the walk
        incomplete at once, so that a run killed before the end of the walk leaves it so."""
        if self.store is None:
            return False
        if walk not in self.walks:
            try:
                complete = self.store.walk_complete(*walk)
                if complete is not False:
                    self.store.mark_walks([walk], complete=False)
            except StateError as exc:
                raise self.state_unusable(exc) from None
            self.walks[walk] = bool(complete)
        return self.walks[walk]

    def walk_ended(self, walk: Walk) -> None:
        self.crawler.signals.send_catch_log(parknews_signals.walk_ended, walk=walk)

    def known_urls(self, urls: Iterable[str]) -> set[str]:
        """The URLs among `urls` whose articles earlier runs wrote (by article identity), or
        whose links answered "not found" within PARKNEWS_STATE_GONE_RETRY_DAYS; none with
        full=1 or without a crawl state."""
        if self.store is None or self.plan.full:
            return set()
        keys = {url: article_key(url) for url in urls}
        if not keys:
            return set()
        wanted = set(keys.values())
        try:
            seen = self.store.known(wanted) | self.store.gone(
                wanted, retry_days=self.gone_retry_days
            )
        except StateError as exc:
            raise self.state_unusable(exc) from None
        return {url for url, key in keys.items() if key in seen}

    def state_unusable(self, exc: StateError) -> CloseSpider:
        """Stop the run: without its state it would fetch and write everything again."""
        logger.error("%s", exc)
        return CloseSpider(STATE_UNUSABLE)

    def article_request(self, entry: cms.ListEntry, profile: SiteProfile, section: str) -> Request:
        """The request for an article page found on a list."""
        return Request(
            entry.url,
            callback=self.parse_article,
            errback=self.failed,
            cb_kwargs={"site": profile.key, "section": section, "list_date": entry.date},
            meta={"parknews_kind": "article"},
            priority=ARTICLE_PRIORITY,
        )

    def parse_article(
        self, response: Response, site: str, section: str, list_date: str | None
    ) -> Iterator[dict[str, Any]]:
        """Extract the record of an article page; a page with no article is counted, not fatal."""
        profile = self.profiles[site]
        if not isinstance(response, TextResponse):
            self.record_error(site, response.url, "article_not_html")
            return
        try:
            record = build_record(
                response.text,
                response.url,
                profile,
                fetched_at=response.meta.get("parknews_recorded_at"),
                section_hint=section or None,
                date_hint=list_date,
            )
        except NotAnArticle as exc:
            self.record_error(site, response.url, "not_an_article", str(exc))
            return
        stats = self.crawler.stats
        assert stats is not None
        stats.inc_value(f"parknews/{site}/articles_extracted")
        yield dict(record)

    def failed(self, failure: Failure) -> None:
        """Count and log a request that failed (HTTP error, DNS, timeout, reset…)."""
        request = getattr(failure, "request", None)
        url = request.url if request is not None else "?"
        site = request.cb_kwargs.get("site") if request is not None else None
        response = getattr(failure.value, "response", None)
        kind = f"http_{response.status}" if response is not None else type(failure.value).__name__
        if request is not None and request.meta.get("parknews_kind") == "article":
            profile = self.profiles[request.cb_kwargs["site"]]
            self.crawler.signals.send_catch_log(
                parknews_signals.article_unfetched,
                walk=(profile.key, section_url(profile, request.cb_kwargs["section"])),
                url=url,
                status=response.status if response is not None else None,
            )
        self.record_error(site, url, kind, failure.getErrorMessage(), unanswered=response is None)

    def record_error(
        self, site: str | None, url: str, kind: str, detail: str = "", unanswered: bool = False
    ) -> None:
        """One failure: a stats counter by kind, the signal `failure`, one log line with the
        URL."""
        stats = self.crawler.stats
        assert stats is not None
        stats.inc_value("parknews/errors")
        stats.inc_value(f"parknews/errors/{kind}")
        self.crawler.signals.send_catch_log(
            parknews_signals.failure,
            site=site,
            url=url,
            kind=kind,
            detail=detail,
            unanswered=unanswered,
        )
        self.logger.warning("%s: %s%s", kind, url, f" ({detail})" if detail else "")
