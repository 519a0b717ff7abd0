"""Item pipelines of parknews: each a thin class around a pure function on the record dict.

A pipeline whose work depends on the record alone exposes `process_record(record) -> record`;
`record_steps()` returns those of ITEM_PIPELINES in their configured order, so a crawl and
`parknews extract` clean a page the same way.
"""

from __future__ import annotations

from typing import Any, Protocol

from itemadapter import ItemAdapter
from scrapy.settings import BaseSettings
from scrapy.utils.misc import load_object

from crawler.items import RecordDict


class RecordStep(Protocol):
    """A pipeline that can clean one record without a running crawl."""

    def process_record(self, record: RecordDict) -> RecordDict: ...


def record_steps(settings: BaseSettings) -> list[RecordStep]:
    """The `process_record` of each configured item pipeline that has one, in pipeline order."""
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


def process_item_by_record(item: Any, step: RecordStep) -> Any:
    """Scrapy's `process_item` for a pipeline that works on record dicts: the item, changed as
    `step.process_record` says (a dict item is replaced, any other item updated in place)."""
    adapter = ItemAdapter(item)
    record = step.process_record(adapter.asdict())
    if isinstance(item, dict):
        return record
    for key, value in record.items():
        adapter[key] = value
    return item


def apply_steps(record: RecordDict, steps: list[RecordStep]) -> RecordDict:
    """Run `record` through the `process_record` of each step, in order."""
    for step in steps:
        record = step.process_record(record)
    return record
