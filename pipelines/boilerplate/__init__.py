"""The body cleaning: navigation, page chrome and metadata lines taken out of an article's
text blocks.

The chain `clean_blocks` runs, each step a plain `blocks -> blocks` function:

1. `drop_blank_blocks`         blocks with no visible characters
2. `drop_boilerplate_lines`    chrome recognised by line patterns (`lines.BOILERPLATE_RULES`,
                               `lines.CHROME_TOKENS`), related-links lists, a closing legal
                               notice
3. `drop_template_widgets`     unfilled CMS widgets ("信息标题", "{{title}}", a "相关链接" or
                               "附件：" heading left with no list under it)
4. `drop_repeated_blocks`      print / hidden copies and duplicated paragraphs
5. `lift_metadata`             meta line, bylines, signature date and captions moved out of
                               the body into `LiftedMetadata`
6. `drop_title`                the known title when it heads the blocks
7. `SiteTemplate`              lines the same site repeats on many pages

Repeats go before lifting so that the head and tail of the article are the real ones: a print
copy brings a second meta line, byline and signature date that would otherwise sit between
the two copies, outside the regions metadata is lifted from.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from scrapy.crawler import Crawler
from scrapy.exceptions import DropItem
from scrapy.settings import BaseSettings
from scrapy.statscollectors import StatsCollector

from crawler import signals as parknews_signals
from crawler.default_settings import parknews_settings
from crawler.items import BODY_BLOCKS, RecordDict
from crawler.state.base import StateBackend
from crawler.state.errors import StateError
from pipelines import process_item_by_record
from pipelines.blocktext import forget_forms
from pipelines.boilerplate.lines import drop_blank_blocks, drop_boilerplate_lines
from pipelines.boilerplate.metadata import LiftedMetadata, drop_title, lift_metadata
from pipelines.boilerplate.template import SiteTemplate
from pipelines.repeats import drop_repeated_blocks, drop_template_widgets

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class CleanResult:
    """The article's blocks, in page order, and the metadata lifted out of them."""

    blocks: tuple[str, ...]
    metadata: LiftedMetadata


def clean_blocks(
    blocks: Iterable[str],
    *,
    site: str | None = None,
    template: SiteTemplate | None = None,
    title: str | None = None,
) -> CleanResult:
    """Run the cleaning chain over one page's blocks; with `template`, also learn from them."""
    if template is not None and not site:
        raise ValueError("clean_blocks(template=...) needs site= (the page's host) as well")
    forget_forms()
    kept = drop_blank_blocks(list(blocks))
    kept = drop_boilerplate_lines(kept)
    kept = drop_template_widgets(kept)
    kept = drop_repeated_blocks(kept)
    kept, metadata = lift_metadata(kept)
    if title:
        kept = drop_title(kept, title)
    if template is not None and site:
        template.observe(site, kept)
        kept = template.drop_site_template(site, kept)
    return CleanResult(tuple(kept), metadata)


class EmptyBody(DropItem):
    """Cleaning left nothing of the body: the page held no article text."""


def merge_lifted(record: dict[str, Any], metadata: LiftedMetadata) -> dict[str, Any]:
    """Fill the record's empty fields from metadata lifted out of its text.

    The page's own metadata (meta tags, meta line) wins; a lifted date completes a date-only
    `published_at` of the same day with its time, and a signature date fills a missing one.
    """
    merged = dict(record)
    for name in ("source", "author", "editor", "photographer"):
        if not merged.get(name) and getattr(metadata, name):
            merged[name] = getattr(metadata, name)
    published = merged.get("published_at")
    lifted = metadata.published_at or metadata.signature_date
    if not published or (
        lifted and len(published) == 10 and len(lifted) > 10 and lifted.startswith(published)
    ):
        merged["published_at"] = lifted
    captions = list(metadata.captions)
    images = [dict(image) for image in merged.get("images") or []]
    for image in images:
        if image.get("caption") is None and captions:
            image["caption"] = captions.pop(0)
    merged["images"] = images
    return merged


class CleanBodyPipeline:
    """Keeps the article and nothing else in the body blocks (`BODY_BLOCKS`), lifting bylines
    and meta lines into fields.

    Settings: ``PARKNEWS_CLEAN_LEARN_TEMPLATES`` — learn each site's recurring lines during
    the crawl and drop them (see `SiteTemplate`); with a crawl state, the counts are loaded
    when the state opens and saved when the spider closes, so they grow from run to run. A
    record whose body is empty after cleaning is dropped and counted as
    ``parknews/clean/empty_body``.
    """

    def __init__(self, *, learn_templates: bool = True, stats: StatsCollector | None = None):
        self.template = SiteTemplate() if learn_templates else None
        self.stats = stats
        self.store: StateBackend | None = None
        self.loaded: dict[str, Any] = {}
        """The template counts as the state held them when this run took them up."""
        """The crawl state the template counts are kept in, when the crawl has one."""

    @classmethod
    def from_settings(
        cls, settings: BaseSettings, stats: StatsCollector | None = None
    ) -> CleanBodyPipeline:
        """The pipeline as `settings` configure it; without stats for `parknews extract`."""
        learn = parknews_settings(settings).getbool("PARKNEWS_CLEAN_LEARN_TEMPLATES")
        return cls(learn_templates=learn, stats=stats)

    @classmethod
    def from_crawler(cls, crawler: Crawler) -> CleanBodyPipeline:
        pipeline = cls.from_settings(crawler.settings, crawler.stats)
        crawler.signals.connect(pipeline.state_opened, signal=parknews_signals.state_opened)
        return pipeline

    def state_opened(self, store: StateBackend) -> None:
        """Take up what earlier runs learnt of each site's template. Counts that cannot be
        read are logged with how to delete them, and counted afresh."""
        if self.template is None:
            return
        self.store = store
        try:
            stored = store.load_templates()
        except StateError as exc:
            logger.error("%s", exc)
            return
        self.loaded = stored
        self.template, malformed = SiteTemplate.from_stored(
            stored,
            min_pages=self.template.min_pages,
            min_count=self.template.min_count,
            min_share=self.template.min_share,
            prune_every=self.template.prune_every,
        )
        for site, problem in malformed:
            logger.error("%s", store.bad_template(site, problem))

    def close_spider(self) -> None:
        """Add what this run counted of each site's template to the crawl state (other
        workers sharing the crawl may have added theirs meanwhile)."""
        if self.store is None or self.template is None:
            return
        try:
            template = self.template
            self.store.update_templates(lambda stored: template.added_to(stored, self.loaded))
        except StateError as exc:
            logger.error("%s", exc)

    def process_record(self, record: RecordDict) -> RecordDict:
        """The record with a clean body and the lifted fields; EmptyBody when nothing is left."""
        result = clean_blocks(
            record.get(BODY_BLOCKS, []),
            site=record.get("site") if self.template is not None else None,
            template=self.template,
            title=record.get("title"),
        )
        if not result.blocks:
            if self.stats is not None:
                self.stats.inc_value("parknews/clean/empty_body")
            raise EmptyBody(f"no article text left after cleaning {record.get('url')}")
        cleaned = merge_lifted(record, result.metadata)
        cleaned[BODY_BLOCKS] = list(result.blocks)
        return cleaned

    def process_item(self, item: Any) -> Any:
        return process_item_by_record(item, self.process_record)
