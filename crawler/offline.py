"""Saved page bytes to the record a crawl would emit: the path `parknews extract`,
`crawler.extract_record`, the golden tests and the benchmarks share with the spider and its
item pipelines.

The package `crawler` imports this module for `extract_record`, and every module of the
project that imports `crawler.<anything>` runs the package first. So this module names the
item pipelines only as the crawl does, by their paths in ITEM_PIPELINES, loaded when a
processor is built: an import of `pipelines` here would run back into `pipelines` whenever a
pipeline module is the first one imported.
"""

from __future__ import annotations

import os
from functools import cache
from pathlib import Path
from typing import Protocol
from urllib.parse import urlsplit

from scrapy.exceptions import DropItem
from scrapy.settings import BaseSettings, Settings
from scrapy.utils.misc import load_object
from scrapy.utils.project import get_project_settings

from crawler.decode import decode_page
from crawler.default_settings import parknews_settings
from crawler.extract import NotAnArticle, build_record, canonical_link
from crawler.extract.tree import page_metas, parse_html
from crawler.items import RecordDict
from crawler.sites import GENERIC_KEY, SiteProfile, SiteRegistry, generic_profile, load_sites


def site_keys(sites: SiteRegistry) -> tuple[str, ...]:
    """Every value `site=` takes: the registered profiles, then the generic one."""
    return (*sites, GENERIC_KEY)


def check_site(site: str | None, sites: SiteRegistry) -> None:
    """ValueError, naming the valid keys, when `site` is neither None nor a key of `sites`."""
    if site is not None and site not in site_keys(sites):
        raise ValueError(f"unknown site {site!r}; valid sites: {', '.join(site_keys(sites))}")


def is_http_url(url: str) -> bool:
    """True for an absolute http(s) URL with a host and no whitespace: the only kind of URL a
    record may carry (the schema's `http_url`)."""
    if not url.startswith(("http://", "https://")) or any(c.isspace() for c in url):
        return False
    try:
        return bool(urlsplit(url).hostname)
    except ValueError:
        return False


def own_url(html: str) -> str | None:
    """The URL a page gives for itself: its rel=canonical link, the `Url` meta of government
    sites or og:url (the order the extractor trusts them in), the first that is an absolute
    http(s) URL; None when it gives none."""
    root = parse_html(html)
    metas = page_metas(root)
    candidates = (canonical_link(root), metas.get("url", ""), metas.get("og:url", ""))
    return next((c.strip() for c in candidates if is_http_url(c.strip())), None)


SAVED_PAGE_NAME = "saved page"
"""The site name of a page read from a file that gives no URL of its own (nor a SiteName)."""


def is_file_url(url: str) -> bool:
    """True for the file: URL of a saved page (`Path.as_uri`): the URL a record of a page
    read from disk carries when the page gives none of its own."""
    return url.startswith("file:///") and not any(c.isspace() for c in url)


def saved_page_profile() -> SiteProfile:
    """The generic profile for a page at a file: URL: it has no host, so no domains."""
    return SiteProfile(
        key=GENERIC_KEY,
        name=SAVED_PAGE_NAME,
        allowed_domains=(),
        sections=(),
        family=None,
        article_url_patterns=(),
    )


def profile_for(url: str, site: str | None, sites: SiteRegistry) -> SiteProfile:
    """The profile of `sites` named `site`, else the one owning `url`, else the generic one."""
    if site is not None and site != GENERIC_KEY:
        return sites[site]
    if is_file_url(url):
        return saved_page_profile()
    if site is not None:
        return generic_profile(url)
    owner = next((p for p in sites.values() if p.owns_url(url)), None)
    return owner or generic_profile(url)


@cache
def project_settings() -> Settings:
    """The project's settings, wherever the command runs from."""
    os.environ.setdefault("SCRAPY_SETTINGS_MODULE", "crawler.settings")
    return get_project_settings()


class PageTooLarge(ValueError):
    """A saved page larger than a crawl would download, refused before it is read whole."""

    def __init__(self, limit: int, size: int | None = None) -> None:
        held = "" if size is None else f"{size:,} bytes, "
        super().__init__(
            f"it holds {held}more than a crawl downloads (DOWNLOAD_MAXSIZE: {limit:,} bytes)"
        )
        self.limit = limit
        self.size = size


def saved_page_limit(settings: Settings | None = None) -> int:
    """The most bytes a saved page may hold: the crawl's DOWNLOAD_MAXSIZE (0: no limit)."""
    return (settings or project_settings()).getint("DOWNLOAD_MAXSIZE")


def read_saved_page(path: Path, limit: int) -> bytes:
    """The bytes of a saved page; PageTooLarge when it holds more than `limit` (0: no limit).

    A file that says it is larger is refused unread; anything else is read no further than
    one byte past the limit, so a pipe or a device with no end costs no more memory.
    """
    with path.open("rb") as stream:
        if limit <= 0:
            return stream.read()
        size = os.fstat(stream.fileno()).st_size
        if size > limit:
            raise PageTooLarge(limit, size)
        raw = stream.read(limit + 1)
    if len(raw) > limit:
        raise PageTooLarge(limit)
    return raw


class RecordStep(Protocol):
    """An item pipeline that cleans one record without a running crawl."""

    def process_record(self, record: RecordDict) -> RecordDict: ...


def record_steps(settings: BaseSettings) -> list[RecordStep]:
    """Each item pipeline of ITEM_PIPELINES that has `process_record` and `from_settings`,
    built from `settings`, in pipeline order: the cleaning a crawl gives every record."""
    configured = settings.getwithbase("ITEM_PIPELINES")
    ordered = sorted(
        ((order, path) for path, order in configured.items() if order is not None),
        key=lambda pair: pair[0],
    )
    steps: list[RecordStep] = []
    for _, path in ordered:
        cls = load_object(path)
        if hasattr(cls, "process_record") and hasattr(cls, "from_settings"):
            steps.append(cls.from_settings(settings))
    return steps


def apply_steps(record: RecordDict, steps: list[RecordStep]) -> RecordDict:
    """Run `record` through the `process_record` of each step, in order."""
    for step in steps:
        record = step.process_record(record)
    return record


def configured_sites(settings: BaseSettings | None = None) -> SiteRegistry:
    """The shipped sites and those of the file PARKNEWS_SITES_FILE names (setting or
    environment); SitesFileError when that file cannot be used."""
    return load_sites(parknews_settings(settings or project_settings()).get("PARKNEWS_SITES_FILE"))


class PageProcessor:
    """Extracts and cleans saved pages with the configured item pipelines (built once).

    Site-template learning is off: each page's record depends on that page alone, whatever
    else was processed before it. The sites are the shipped ones and those of the file
    PARKNEWS_SITES_FILE names (SitesFileError when it cannot be used).
    """

    def __init__(self, settings: Settings | None = None) -> None:
        configured = (settings or project_settings()).copy()
        configured.set("PARKNEWS_CLEAN_LEARN_TEMPLATES", False)
        self.sites = configured_sites(configured)
        self.steps: list[RecordStep] = record_steps(configured)

    def profile(self, url: str, site: str | None = None) -> SiteProfile:
        """The profile named `site`, else the one owning `url`, else the generic one."""
        return profile_for(url, site, self.sites)

    def text(
        self, raw: bytes, url: str, *, site: str | None = None, content_type: str | None = None
    ) -> str:
        """A page's bytes as text, with its site's charset for a page that declares none."""
        return decode_page(raw, content_type, hint=self.profile(url, site).encoding_hint).text

    def record(
        self, raw: bytes, url: str, *, site: str | None = None, content_type: str | None = None
    ) -> RecordDict:
        """The final record of one page; NotAnArticle (with the reason) when there is none."""
        text = self.text(raw, url, site=site, content_type=content_type)
        return self.record_of_text(text, url, site=site)

    def record_of_text(self, html: str, url: str, *, site: str | None = None) -> RecordDict:
        """`record` of a page already decoded."""
        record: RecordDict = dict(build_record(html, url, self.profile(url, site)))
        try:
            return apply_steps(record, self.steps)
        except DropItem as exc:
            raise NotAnArticle(str(exc)) from exc


def packaged_settings() -> Settings:
    """The settings of `crawler/settings.py` alone, whatever SCRAPY_SETTINGS_MODULE says: code
    that imports parknews may be a Scrapy project of its own."""
    settings = Settings()
    settings.setmodule("crawler.settings", priority="project")
    return settings


@cache
def shared_processor() -> PageProcessor:
    """The one processor `extract_record` uses, built on first use.

    Sharing it cannot make a record depend on the pages processed before: template learning
    is off, and its steps keep nothing of a record once they have returned it.
    """
    return PageProcessor(packaged_settings())


def extract_record(
    page: bytes, url: str, *, site: str | None = None, content_type: str | None = None
) -> RecordDict:
    """The record a crawl writes for `page`, the bytes fetched from `url`: decoded (the charset
    of `content_type`, the HTTP Content-Type, else the page's own, else the site's), extracted
    with the profile `site` (else the one owning `url`, else the generic one) and cleaned by
    every record pipeline, with the settings of `crawler/settings.py`. `fetched_at` is now.

    NotAnArticle, saying why, when the page holds no article; ValueError when `url` is not an
    absolute http(s) URL or `site` is no profile key (the shipped ones and those of the file
    the environment variable PARKNEWS_SITES_FILE names).
    """
    if not is_http_url(url):
        raise ValueError(f"url must be an absolute http(s) URL, got {url!r}")
    processor = shared_processor()
    check_site(site, processor.sites)
    return processor.record(page, url, site=site, content_type=content_type)
