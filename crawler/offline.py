"""Saved page bytes to the record a crawl would emit: the path `parknews extract`, the golden
tests and the benchmarks share with the spider and its item pipelines."""

from __future__ import annotations

import os
from functools import cache

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
