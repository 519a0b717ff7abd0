"""Item pipelines of parknews: each a thin class around a pure function on the record dict.

A pipeline whose work depends on the record alone exposes `process_record(record) -> record`;
`record_steps()` returns those of ITEM_PIPELINES in their configured order, so a crawl and
`parknews extract` clean a page the same way.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, Protocol

from scrapy.settings import BaseSettings
from scrapy.utils.misc import load_object

Record = dict[str, Any]


class RecordStep(Protocol):
    """A pipeline that can clean one record without a running crawl."""

    def process_record(self, record: Record) -> Record: ...


def record_steps(settings: BaseSettings) -> list[Callable[[Record], Record]]:
    """The `process_record` of each configured item pipeline that has one, in pipeline order."""
    configured = settings.getwithbase("ITEM_PIPELINES")
    ordered = sorted(
        ((order, path) for path, order in configured.items() if order is not None),
        key=lambda pair: pair[0],
    )
    steps: list[Callable[[Record], Record]] = []
    for _, path in ordered:
        cls = load_object(path)
        if hasattr(cls, "process_record") and hasattr(cls, "from_settings"):
            steps.append(cls.from_settings(settings).process_record)
    return steps


def apply_steps(record: Record, steps: list[Callable[[Record], Record]]) -> Record:
    """Run `record` through `steps` in order."""
    for step in steps:
        record = step(record)
    return record
