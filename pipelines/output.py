"""The last gate before the output files: only records valid against the schema are written."""

from __future__ import annotations

from typing import Any

from itemadapter import ItemAdapter
from scrapy.crawler import Crawler
from scrapy.exceptions import DropItem

from crawler.report import RunReport
from crawler.validate import record_problems, schema_validator


class SchemaGatePipeline:
    """Drops a record the schema rejects, so no output line is ever invalid; each one is
    counted and reported as an `invalid_record` failure of its site, with what was wrong."""

    def __init__(self, crawler: Crawler) -> None:
        self.crawler = crawler
        self.validator = schema_validator()

    @classmethod
    def from_crawler(cls, crawler: Crawler) -> SchemaGatePipeline:
        return cls(crawler)

    def process_item(self, item: Any) -> Any:
        record = ItemAdapter(item).asdict()
        problems = record_problems(record, self.validator)
        if not problems:
            return item
        detail = "; ".join(problems)
        report = self.crawler.get_extension(RunReport)
        if report is not None:
            report.failure(record.get("site"), str(record.get("url")), "invalid_record", detail)
        if self.crawler.stats is not None:
            self.crawler.stats.inc_value("parknews/errors/invalid_record")
        raise DropItem(f"invalid record {record.get('url')}: {detail}")
