"""Item pipelines of parknews: each a thin class around a pure function on the record dict.

A pipeline whose work depends on the record alone exposes `process_record(record) -> record`
and a `from_settings` constructor; `crawler.offline` runs those of ITEM_PIPELINES in their
configured order, so a crawl and `parknews extract` clean a page the same way.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from itemadapter import ItemAdapter

from crawler.items import RecordDict


def process_item_by_record(item: Any, process_record: Callable[[RecordDict], RecordDict]) -> Any:
    """Scrapy's `process_item` for a pipeline that works on record dicts: the item, changed as
    `process_record` says (a dict item is replaced, any other item updated in place)."""
    adapter = ItemAdapter(item)
    record = process_record(adapter.asdict())
    if isinstance(item, dict):
        return record
    for key, value in record.items():
        adapter[key] = value
    return item
