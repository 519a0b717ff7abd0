"""The lines a site repeats on many of its pages: its template, learnt during the crawl."""

from __future__ import annotations

import hashlib
from collections import Counter
from collections.abc import Iterable, Mapping
from typing import Any

from pipelines.blocktext import repeat_key

TEMPLATE_MIN_PAGES = 5
"""Pages of a site observed before `SiteTemplate` judges any of its blocks."""

TEMPLATE_MIN_COUNT = 3
"""Fewest pages of a site a block must appear on to be its template."""

TEMPLATE_MIN_SHARE = 0.5
"""Smallest share of a site's observed pages a block must appear on to be its template."""

TEMPLATE_PRUNE_EVERY = 1000
"""Every this many pages of a site, keys seen on one page only are forgotten to bound memory."""


def _digest(key: str) -> str:
    return hashlib.blake2b(key.encode("utf-8"), digest_size=8).hexdigest()


class SiteTemplate:
    """Per-site counts of the pages each block appears on, to find the site's own template.

    A block is template when its site has at least `min_pages` observed pages, the block
    appeared on at least `min_count` of them and on at least `min_share` of all of them.
    Blocks are compared by `repeat_key`, stored as short digests so the state stays small.
    Pass each page to `observe` once; pages cleaned before their site reaches `min_pages`
    keep that site's template lines.
    """

    STATE_VERSION = 1

    def __init__(
        self,
        *,
        min_pages: int = TEMPLATE_MIN_PAGES,
        min_count: int = TEMPLATE_MIN_COUNT,
        min_share: float = TEMPLATE_MIN_SHARE,
        prune_every: int = TEMPLATE_PRUNE_EVERY,
    ) -> None:
        if min_pages < 1:
            raise ValueError(f"min_pages must be at least 1, got {min_pages}")
        if min_count < 2:
            raise ValueError(
                f"min_count must be at least 2 (a block on one page is not template), "
                f"got {min_count}"
            )
        if not 0.0 < min_share <= 1.0:
            raise ValueError(f"min_share must be in (0, 1], got {min_share}")
        if prune_every < 1:
            raise ValueError(f"prune_every must be at least 1, got {prune_every}")
        self.min_pages = min_pages
        self.min_count = min_count
        self.min_share = min_share
        self.prune_every = prune_every
        self._pages: Counter[str] = Counter()
        self._counts: dict[str, Counter[str]] = {}

    def observe(self, site: str, blocks: Iterable[str]) -> None:
        """Count one page of `site`: each distinct block once."""
        _check_site(site)
        keys = {_digest(key) for key in map(repeat_key, blocks) if key}
        self._pages[site] += 1
        counts = self._counts.setdefault(site, Counter())
        counts.update(keys)
        if self._pages[site] % self.prune_every == 0:
            for digest in [digest for digest, count in counts.items() if count <= 1]:
                del counts[digest]

    def pages(self, site: str) -> int:
        """How many pages of `site` have been observed."""
        return self._pages[site]

    def is_template(self, site: str, block: str) -> bool:
        """True when `block` recurs on enough of `site`'s pages to be its template."""
        pages = self._pages[site]
        key = repeat_key(block)
        if pages < self.min_pages or not key:
            return False
        count = self._counts.get(site, Counter())[_digest(key)]
        return count >= self.min_count and count >= self.min_share * pages

    def drop_site_template(self, site: str, blocks: list[str]) -> list[str]:
        """Drop the blocks that are `site`'s template."""
        _check_site(site)
        return [block for block in blocks if not self.is_template(site, block)]

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready state: {"version": 1, "sites": {site: {"pages": n, "counts": {…}}}}."""
        return {
            "version": self.STATE_VERSION,
            "sites": {
                site: {"pages": pages, "counts": dict(self._counts.get(site, Counter()))}
                for site, pages in self._pages.items()
            },
        }

    def added_to(
        self, stored: Mapping[str, Any], loaded: Mapping[str, Any]
    ) -> dict[str, dict[str, Any]]:
        """Per-site counts to store: what is `stored` now plus what this template counted
        since it was `loaded` (both {site: {"pages": n, "counts": {…}}}), so that workers
        sharing a crawl add up what each saw instead of keeping the last one's. Counts that
        cannot be read count as none."""
        merged = {}
        for site, pages in self._pages.items():
            now_pages, now_counts = _read_site_state(stored.get(site))
            base_pages, base_counts = _read_site_state(loaded.get(site))
            now, base = now_counts or Counter(), base_counts or Counter()
            total = max(0, (now_pages or 0) + pages - (base_pages or 0))
            added = now + self._counts.get(site, Counter())
            added.subtract(base)
            counts = {key: min(count, total) for key, count in added.items() if count > 0}
            merged[site] = {"pages": total, "counts": counts}
        return merged

    @classmethod
    def from_dict(cls, state: Mapping[str, Any], **options: Any) -> SiteTemplate:
        """Rebuild from `to_dict` output; `options` are the constructor's keyword arguments."""
        template = cls(**options)
        sites = state.get("sites") if isinstance(state, Mapping) else None
        if not isinstance(sites, Mapping) or state.get("version") != cls.STATE_VERSION:
            raise ValueError(
                f"site template state must be a mapping with 'version': {cls.STATE_VERSION} "
                f"and a 'sites' mapping. Delete the stored state to start counting afresh."
            )
        template, malformed = cls.from_stored(sites, **options)
        if malformed:
            site, problem = malformed[0]
            raise ValueError(
                f"site template state for {site!r} is malformed: {problem}. Delete the stored "
                f"state to start counting afresh."
            )
        return template

    @classmethod
    def from_stored(
        cls, sites: Mapping[str, Any], **options: Any
    ) -> tuple[SiteTemplate, list[tuple[str, str]]]:
        """A template from stored per-site counts ({site: {"pages": n, "counts": {…}}}), and
        the (site, problem) of each site whose counts are malformed and were left out;
        `options` are the constructor's keyword arguments."""
        template = cls(**options)
        malformed = []
        for site, entry in sites.items():
            pages, counts = _read_site_state(entry)
            if pages is None or counts is None:
                malformed.append((str(site), MALFORMED_SITE_STATE))
                continue
            template._pages[site] = pages
            template._counts[site] = counts
        return template, malformed


MALFORMED_SITE_STATE = "expected {'pages': int, 'counts': {digest: int <= pages}}"


def _read_site_state(entry: Any) -> tuple[int | None, Counter[str] | None]:
    """Page count and digest counts of one site's stored state, or Nones when malformed."""
    if not isinstance(entry, Mapping):
        return None, None
    pages, counts = entry.get("pages"), entry.get("counts")
    if not isinstance(pages, int) or pages < 0 or not isinstance(counts, Mapping):
        return None, None
    if not all(isinstance(count, int) and 0 < count <= pages for count in counts.values()):
        return None, None
    return pages, Counter({str(digest): count for digest, count in counts.items()})


def _check_site(site: str) -> None:
    if not isinstance(site, str) or not site:
        raise ValueError(f"site must be a non-empty string such as a host name, got {site!r}")
