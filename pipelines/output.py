"""The record made final: its body joined once the text is clean, and the last gate before the
output files, which lets only records valid against the schema be written."""

from __future__ import annotations

from typing import Any

from itemadapter import ItemAdapter
from scrapy.crawler import Crawler
from scrapy.exceptions import DropItem
from scrapy.settings import BaseSettings
from scrapy.signalmanager import SignalManager
from scrapy.statscollectors import StatsCollector

from crawler import signals as parknews_signals
from crawler.items import RecordDict, finish_record
from crawler.validate import record_problems, schema_validator
from pipelines import process_item_by_record


class FinishRecordPipeline:
    """Joins the body blocks the cleaning steps pass along into the record's `body`
    (`finish_record`), once its text is final: what comes after (dedup, the schema gate, the
    feeds) reads the record as it is written."""

    @classmethod
    def from_settings(cls, settings: BaseSettings) -> FinishRecordPipeline:
        """The pipeline (it has no settings); `parknews extract` runs it as a crawl does."""
        return cls()

    def process_record(self, record: RecordDict) -> RecordDict:
        """The record with its body joined."""
        return finish_record(record)

    def process_item(self, item: Any) -> Any:
        return process_item_by_record(item, self.process_record)


class SchemaGatePipeline:
    """Drops a record the schema rejects, so no output line is ever invalid; each one is
    counted (``parknews/errors/invalid_record``) and reported as an `invalid_record` failure of
    its site (signal `failure`), with what was wrong."""

    def __init__(self, stats: StatsCollector | None, signals: SignalManager | None) -> None:
        self.stats = stats
        self.signals = signals
        self.validator = schema_validator()

    @classmethod
    def from_crawler(cls, crawler: Crawler) -> SchemaGatePipeline:
        return cls(crawler.stats, crawler.signals)

    def process_item(self, item: Any) -> Any:
        record = ItemAdapter(item).asdict()
        problems = record_problems(record, self.validator)
        if not problems:
            return item
        detail = "; ".join(problems)
        if self.signals is not None:
            self.signals.send_catch_log(
                parknews_signals.failure,
                site=record.get("site"),
                url=str(record.get("url")),
                kind="invalid_record",
                detail=detail,
                unanswered=False,
            )
        if self.stats is not None:
            self.stats.inc_value("parknews/errors/invalid_record")
        raise DropItem(f"invalid record {record.get('url')}: {detail}")
