"""The article record: the one type that is the JSONL contract, one field per schema property.

`ArticleRecord` declares every field the published JSON Schema (schema/article.schema.json)
allows, each with its exact format; tests/crawler/test_items.py proves the two agree. Fields
marked NotRequired are added by the item pipelines, or only where they apply; a record leaves
them out rather than writing null. Item pipelines pass records along as `RecordDict`, the
plain dict that Scrapy's ItemAdapter gives.
"""

# No `from __future__ import annotations` here: TypedDict reads NotRequired[...] from the
# evaluated annotations, and string annotations would make every field required.
import json
import sys
from functools import cache
from importlib import resources
from typing import Any

if sys.version_info >= (3, 11):
    from typing import NotRequired, TypedDict
else:  # pragma: no cover - Python 3.10
    from typing_extensions import NotRequired, TypedDict

SCHEMA_VERSION = 1
"""Version of the record contract, written in every record as `schema_version`."""

RecordDict = dict[str, Any]
"""An `ArticleRecord` as the plain dict that item pipelines receive and return."""

BODY_BLOCKS = "body_blocks"
"""The key that holds the body while a record goes through the item pipelines: its paragraphs
as a list of str, in page order (table cells joined by "\t"), in the place `body` takes in
the written record. The extractor fills it, the cleaning steps read and replace it, and
`finish_record` alone turns it into `body`; it is never written (the schema has no such
property, so the schema gate drops a record that still holds it)."""


def finish_record(record: RecordDict) -> RecordDict:
    """The record with its body blocks joined by "\n" into `body`, which takes their place
    among the fields (so the written field order is the declared one); a record without
    `BODY_BLOCKS` is returned as it is."""
    if BODY_BLOCKS not in record:
        return record
    return {
        ("body" if name == BODY_BLOCKS else name): (
            "\n".join(value) if name == BODY_BLOCKS else value
        )
        for name, value in record.items()
    }


class Image(TypedDict):
    """An image of the article body."""

    url: str
    """Absolute http(s) URL of the image file."""
    caption: str | None
    """The caption the page gives the image, or null."""


class Attachment(TypedDict):
    """A file the article links as an attachment (PDF, Word, spreadsheet, archive)."""

    url: str
    """Absolute http(s) URL of the file."""
    name: str
    """The file's name as the page shows it, without an "附件1：" label."""


class ArticleRecord(TypedDict):
    """One article, as one line of the JSONL output (declaration order is output order)."""

    id: str
    """20 lower-case hex digits: the first 20 of SHA-256 of `canonical_url` when the article
    was first written; later revisions keep it."""
    url: str
    """The http(s) URL the article was fetched from."""
    canonical_url: str
    """The article's canonical http(s) URL (rel=canonical or the page's `Url` meta when on the
    page's own host, else `url`), in w3lib canonical form."""
    site: str
    """Key of the site profile, lower-case letters, digits and "_", e.g. "sipac"."""
    site_name: str
    """Display name of the site, e.g. "苏州工业园区管理委员会"."""
    section: str | None
    """The column the page says it belongs to (ColumnName meta, else breadcrumb, else the
    list it was found on); null when none is known."""
    title: str
    """The full article title, one line."""
    published_at: str | None
    """"2024-03-15T17:57:00+08:00" (China time as printed) when the page gives a time of day,
    "2024-03-15" when it gives only a date; null when it gives none."""
    source: str | None
    """来源 as the page states it; null when absent or empty."""
    author: str | None
    """Reporters then correspondents (作者, 记者, 通讯员), joined by "、"; null when absent."""
    editor: str | None
    """编辑 / 责任编辑, several joined by "、"; null when absent."""
    photographer: str | None
    """摄影 / 图, several joined by "、"; null when absent."""
    body: str
    """The article text: paragraphs in page order separated by "\\n" (table cells by "\\t");
    no bylines, captions, navigation or footers."""
    images: list[Image]
    """Images of the body, in page order, with their captions."""
    attachments: list[Attachment]
    """Files attached to the article, in page order."""
    language: str
    """BCP 47 language of the body: "zh" when it holds Han characters, else "und"."""
    fetched_at: str
    """UTC time the page was fetched (recorded, when replayed): "2026-11-25T12:00:00Z"."""
    schema_version: int
    """Version of this contract: 1."""
    original_script: NotRequired[str]
    """"Hans" or "Hant": the script the page was written in, before any conversion."""
    normalisations: NotRequired[list[str]]
    """What normalisation changed, in order: "unicode", "pinyin_annotations", "tw2s",
    "restored_from_original"."""
    damaged_annotations: NotRequired[list[str]]
    """Spans of the body where a mirror's pinyin reading swallowed characters that could not
    be restored; present only when there are some."""
    content_hash: NotRequired[str]
    """64 hex digits: SHA-256 of the script-invariant body, equal for equal texts."""
    fingerprint: NotRequired[str | None]
    """16 hex digits summarising the body's MinHash signature; null for a text too short."""
    revision: NotRequired[int]
    """1 when first written; one more each time the article is written with changed text."""
    updated_at: NotRequired[str]
    """UTC time a revision was fetched, "2026-11-25T12:00:00Z"; revisions only."""
    duplicate_of: NotRequired[str]
    """Id of the article this record copies; records of the duplicates feed only."""
    similarity: NotRequired[float | None]
    """Estimated similarity (0 to 1, three decimals) to the article `duplicate_of` names;
    records of the duplicates feed only."""


@cache
def record_schema() -> dict[str, Any]:
    """The JSON Schema of a record, shipped in the package."""
    text = resources.files("crawler").joinpath("schema/article.schema.json").read_text("utf-8")
    schema: dict[str, Any] = json.loads(text)
    return schema
