"""Saved page bytes to the record a crawl would emit: the path `parknews extract`, the golden
tests and the benchmarks share with the spider and its item pipelines."""

from __future__ import annotations

import os
from functools import cache
from pathlib import Path

from scrapy.exceptions import DropItem
from scrapy.settings import Settings
from scrapy.utils.project import get_project_settings

from crawler.decode import decode_page
from crawler.extract import NotAnArticle, build_record
from crawler.items import RecordDict
from crawler.sites import GENERIC_KEY, SITES, SiteProfile, generic_profile
from pipelines import RecordStep, apply_steps, record_steps


def profile_for(url: str, site: str | None = None) -> SiteProfile:
    """The profile named `site`, else the one owning `url`, else the generic one."""
    if site is not None:
        return generic_profile(url) if site == GENERIC_KEY else SITES[site]
    owner = next((p for p in SITES.values() if p.owns_url(url)), None)
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


class PageProcessor:
    """Extracts and cleans saved pages with the configured item pipelines (built once).

    Site-template learning is off: each page's record depends on that page alone, whatever
    else was processed before it.
    """

    def __init__(self, settings: Settings | None = None) -> None:
        configured = (settings or project_settings()).copy()
        configured.set("PARKNEWS_CLEAN_LEARN_TEMPLATES", False)
        self.steps: list[RecordStep] = record_steps(configured)

    def record(
        self, raw: bytes, url: str, *, site: str | None = None, content_type: str | None = None
    ) -> RecordDict:
        """The final record of one page; NotAnArticle (with the reason) when there is none."""
        page = decode_page(raw, content_type)
        record: RecordDict = dict(build_record(page.text, url, profile_for(url, site)))
        try:
            return apply_steps(record, self.steps)
        except DropItem as exc:
            raise NotAnArticle(str(exc)) from exc
