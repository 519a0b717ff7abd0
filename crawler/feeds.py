"""The output feeds: where a run's records go, in batches that each become a finished file, a
storage that never shows a reader a half-written one, and an exporter that remembers which
records each file holds (so the crawl state commits them without reading the file back)."""

from __future__ import annotations

import os
from pathlib import Path
from typing import IO, Any

from scrapy.exporters import JsonLinesItemExporter
from scrapy.extensions.feedexport import FileFeedStorage
from scrapy.settings import BaseSettings

from crawler.default_settings import parknews_settings

PARTIAL_SUFFIX = ".part"


def put_in_place(file: IO[Any], partial: Path, final: Path) -> None:
    """Flush, fsync and close `file` (open on `partial`), rename it to `final` and fsync the
    folder: once this returns, the finished file is on disk under its final name."""
    file.flush()
    os.fsync(file.fileno())
    file.close()
    os.replace(partial, final)
    directory = os.open(final.parent, os.O_RDONLY)
    try:
        os.fsync(directory)
    finally:
        os.close(directory)


class AtomicFileFeedStorage(FileFeedStorage):
    """Writes the feed beside its final name as `<name>.part`, fsyncs it and renames it into
    place when the feed is closed, so `output/articles/*.jsonl` only ever holds whole files."""

    stored = False
    """True once the file is on disk under its final name."""

    def open(self, spider: Any) -> IO[Any]:
        final = Path(self.path)
        final.parent.mkdir(parents=True, exist_ok=True)
        self.final_path = final
        self.partial_path = final.with_name(final.name + PARTIAL_SUFFIX)
        return self.partial_path.open(self.write_mode)

    def store(self, file: IO[Any]) -> None:
        put_in_place(file, self.partial_path, self.final_path)
        self.stored = True


class MainFeedFilter:
    """The articles feed: every record that is not a duplicate of another article."""

    def __init__(self, feed_options: dict[str, Any] | None) -> None:
        self.feed_options = feed_options

    def accepts(self, item: Any) -> bool:
        return not item.get("duplicate_of")


class DuplicateFeedFilter(MainFeedFilter):
    """The duplicates feed: records that copy another article (`duplicate_of` set)."""

    def accepts(self, item: Any) -> bool:
        return bool(item.get("duplicate_of"))


class TrackingJsonLinesExporter(JsonLinesItemExporter):
    """Scrapy's JSON lines exporter, remembering the URL of each record it wrote: each
    output batch has its own exporter, so these are the records of one file."""

    def __init__(self, file: Any, **kwargs: Any) -> None:
        super().__init__(file, **kwargs)
        self.exported_urls: list[str] = []

    def export_item(self, item: Any) -> None:
        super().export_item(item)
        self.exported_urls.append(str(item.get("url")))


def output_feeds(settings: BaseSettings) -> dict[str, dict[str, Any]]:
    """The two JSONL feeds of a run under PARKNEWS_OUTPUT_DIR, in batches of
    PARKNEWS_OUTPUT_BATCH_ITEMS records: the articles and the duplicates."""
    configured = parknews_settings(settings)
    output = Path(configured.get("PARKNEWS_OUTPUT_DIR"))
    options = {
        "format": "jsonlines",
        "encoding": "utf-8",
        "store_empty": False,
        "batch_item_count": configured.getint("PARKNEWS_OUTPUT_BATCH_ITEMS"),
    }
    return {
        str(output / "articles" / "%(run_id)s-%(batch_id)03d.jsonl"): {
            **options,
            "item_filter": "crawler.feeds.MainFeedFilter",
        },
        str(output / "duplicates" / "%(run_id)s-%(batch_id)03d.jsonl"): {
            **options,
            "item_filter": "crawler.feeds.DuplicateFeedFilter",
        },
    }
