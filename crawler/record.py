"""The article record: the JSONL contract, one field per line of the schema."""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field
from functools import cache
from importlib import resources
from typing import Any

SCHEMA_VERSION = 1


@dataclass(frozen=True)
class Image:
    """An image of the article body."""

    url: str
    """Absolute URL of the image file."""
    caption: str | None
    """The caption the page gives the image, or None."""


@dataclass(frozen=True)
class Attachment:
    """A file the article links as an attachment (PDF, Word, spreadsheet, archive)."""

    url: str
    """Absolute URL of the file."""
    name: str
    """The file's name as the page shows it."""


@dataclass
class ArticleRecord:
    """One article, as written to the JSONL output (field order is the output order)."""

    id: str
    """Stable id: the first 20 hex digits of SHA-256 of `canonical_url`."""
    url: str
    """The URL the article was fetched from."""
    canonical_url: str
    """The article's canonical URL (rel=canonical or the page's `Url` meta), canonicalised."""
    site: str
    """Key of the site profile, e.g. "sipac"."""
    site_name: str
    """Display name of the site, e.g. "苏州工业园区管理委员会"."""
    section: str | None
    """The column the page says it belongs to (ColumnName meta, else breadcrumb, else the list)."""
    title: str
    """The full article title."""
    published_at: str | None
    """"2024-03-15T17:57:00+08:00" when the page gives a time, "2024-03-15" when only a date."""
    source: str | None
    """来源 as the page states it; None when absent or empty."""
    author: str | None
    """Reporter(s) (作者, 记者), joined by "、"; None when absent."""
    editor: str | None
    """编辑 / 责任编辑; None when absent."""
    photographer: str | None
    """摄影 / 图; None when absent."""
    body: str
    """The article text: paragraphs in page order, separated by "\\n"; nothing else."""
    images: list[Image] = field(default_factory=list)
    """Images of the body with their captions."""
    attachments: list[Attachment] = field(default_factory=list)
    """Files attached to the article."""
    language: str = "zh"
    """BCP 47 language of the body: "zh" for Chinese, "und" when there is no Han text."""
    fetched_at: str = ""
    """UTC time the page was fetched (or recorded, when replayed), "2026-11-25T12:00:00Z"."""
    schema_version: int = SCHEMA_VERSION
    """Version of this contract."""

    def to_dict(self) -> dict[str, Any]:
        """The record as the plain dict that item pipelines and the feed exporter see."""
        return asdict(self)


@cache
def record_schema() -> dict[str, Any]:
    """The JSON Schema of a record, shipped in the package."""
    text = resources.files("crawler").joinpath("schema/article.schema.json").read_text("utf-8")
    schema: dict[str, Any] = json.loads(text)
    return schema
