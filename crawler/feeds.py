"""The output feeds: where a run's records go, in batches that each become a finished file, a
storage that never shows a reader a half-written one, and an exporter that notes which
records each file holds (so the crawl state commits them without reading the file back)."""

from __future__ import annotations

import io
import itertools
import logging
import os
from datetime import datetime, timezone
from pathlib import Path
from typing import IO, Any

from scrapy.crawler import Crawler
from scrapy.exporters import JsonLinesItemExporter
from scrapy.extensions.feedexport import FileFeedStorage
from scrapy.settings import BaseSettings
from scrapy.signalmanager import SignalManager
from twisted.python.failure import Failure

from crawler import signals as parknews_signals
from crawler.default_settings import parknews_settings

PARTIAL_SUFFIX = ".part"


def finish_file(file: IO[Any]) -> None:
    """Flush, fsync and close `file`: its bytes are on disk."""
    file.flush()
    os.fsync(file.fileno())
    file.close()


def rename_into_place(partial: Path, final: Path) -> None:
    """Rename `partial` to `final` and fsync the folder: once this returns, the file is on
    disk under its final name."""
    os.replace(partial, final)
    directory = os.open(final.parent, os.O_RDONLY)
    try:
        os.fsync(directory)
    finally:
        os.close(directory)


def put_in_place(file: IO[Any], partial: Path, final: Path) -> None:
    """`finish_file`, then `rename_into_place`."""
    finish_file(file)
    rename_into_place(partial, final)


class BatchNotCommitted(OSError):
    """An output batch that the crawl state could not stage: it is not put in place."""


class BatchFile(io.BufferedWriter):
    """The file of one output batch while it is written, with the URLs of its records (the
    exporter notes each one), so the crawl state knows what the file holds."""

    def __init__(self, path: Path, mode: str) -> None:
        super().__init__(io.FileIO(path, mode))
        self.urls: list[str] = []


class StoreErrorsOnOneLine(logging.Filter):
    """Scrapy's feed exporter logs a batch that could not be stored with its traceback; for
    the failures of the disk and of the crawl state (an OSError: no space left, a batch the
    state refused) the message itself says all: it is logged on one line."""

    def filter(self, record: logging.LogRecord) -> bool:
        failure = record.exc_info[1] if record.exc_info else None
        if isinstance(failure, OSError):
            record.msg = f"{record.msg}: %s"
            record.args = (*(record.args if isinstance(record.args, tuple) else ()), failure)
            record.exc_info = None
        return True


STORE_ERRORS = StoreErrorsOnOneLine()
logging.getLogger("scrapy.extensions.feedexport").addFilter(STORE_ERRORS)


class AtomicFileFeedStorage(FileFeedStorage):
    """Writes the feed beside its final name as `<name>.part`, fsyncs it and renames it into
    place when the feed is closed, so `output/articles/*.jsonl` only ever holds whole files.

    Between the two, the signal `batch_ready` tells the crawl state which records the file
    holds, so that it can stage them: a run stopped at any moment leaves either a `.part`
    file (written again by the next run) or a final file whose records the state either has
    committed or has staged (committed by the next run). A handler that refuses the batch
    keeps the file from its final name.
    """

    stored = False
    """True once the file is on disk under its final name."""

    def __init__(
        self,
        uri: str,
        *,
        feed_options: dict[str, Any] | None = None,
        signals: SignalManager | None = None,
    ) -> None:
        super().__init__(uri, feed_options=feed_options)
        self.signals = signals
        self.final_path = Path(self.path).absolute()
        self.partial_path = self.final_path.with_name(self.final_path.name + PARTIAL_SUFFIX)

    @classmethod
    def from_crawler(
        cls, crawler: Crawler, uri: str, *, feed_options: dict[str, Any] | None = None
    ) -> AtomicFileFeedStorage:
        return cls(uri, feed_options=feed_options, signals=crawler.signals)

    def open(self, spider: Any) -> IO[Any]:
        self.final_path.parent.mkdir(parents=True, exist_ok=True)
        return BatchFile(self.partial_path, self.write_mode)

    def store(self, file: IO[Any]) -> None:
        finish_file(file)
        refusal = self.refusal(getattr(file, "urls", None))
        if refusal:
            self.partial_path.unlink(missing_ok=True)
            raise BatchNotCommitted(f"{self.final_path} was not put in place: {refusal}")
        if self.final_path.exists():
            self.partial_path.unlink(missing_ok=True)
            raise BatchNotCommitted(f"{self.final_path} exists already; it is never replaced")
        rename_into_place(self.partial_path, self.final_path)
        self.stored = True

    def refusal(self, urls: list[str] | None) -> str | None:
        """Why a handler of `batch_ready` refuses the finished batch, or None."""
        if self.signals is None or urls is None:
            return None
        answers = self.signals.send_catch_log(
            parknews_signals.batch_ready, path=str(self.final_path), urls=list(urls)
        )
        for _, answer in answers:
            if isinstance(answer, Failure):
                return answer.getErrorMessage()
            if isinstance(answer, str):
                return answer
        return None


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
    """Scrapy's JSON lines exporter, noting the URL of each record it writes in the batch
    file (`BatchFile.urls`), so the crawl state commits them without reading the file back."""

    def export_item(self, item: Any) -> None:
        super().export_item(item)
        if isinstance(self.file, BatchFile):
            self.file.urls.append(str(item.get("url")))


def new_run_id(output_dir: Path, now: datetime | None = None) -> str:
    """A name for a run that sorts by its UTC start time and that no output file of an
    earlier run uses ("20261204T190000Z", then "20261204T190000Z-2" for a second run started
    within the same second)."""
    base = (now or datetime.now(timezone.utc)).strftime("%Y%m%dT%H%M%SZ")
    taken = {
        path.name
        for folder in ("articles", "duplicates", "runs")
        if (output_dir / folder).is_dir()
        for path in (output_dir / folder).iterdir()
    }
    for number in itertools.count(1):
        name = base if number == 1 else f"{base}-{number}"
        if not any(n.startswith((f"{name}-0", f"{name}.")) for n in taken):
            return name
    raise AssertionError("unreachable")


def output_folder(settings: BaseSettings) -> Path:
    """PARKNEWS_OUTPUT_DIR."""
    return Path(parknews_settings(settings).get("PARKNEWS_OUTPUT_DIR"))


def output_feeds(settings: BaseSettings) -> dict[str, dict[str, Any]]:
    """The two JSONL feeds of a run under PARKNEWS_OUTPUT_DIR, in batches of
    PARKNEWS_OUTPUT_BATCH_ITEMS records: the articles and the duplicates."""
    configured = parknews_settings(settings)
    output = output_folder(settings)
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
