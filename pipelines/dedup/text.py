"""The script-invariant form of a text, in which copies of one article are equal, and the
content hash taken over it."""

from __future__ import annotations

import hashlib
import re
import unicodedata
from collections.abc import Mapping
from typing import Any

from pipelines.normalise.pinyin import strip_pinyin_annotations
from pipelines.normalise.script import ScriptConverter

_NON_WORD = re.compile(r"[\W_]+")


def invariant_text(text: str, converter: ScriptConverter | None = None) -> str:
    """The script-invariant form of a text: NFKC, mirror pinyin readings and the spans they
    damaged removed, OpenCC tw2s, lower case, only letters and digits left.

    "高新區(qū)(濱江)召開(kāi)" and "高新区（滨江）召开" both become "高新区滨江召开";
    "1,234.5" becomes "12345". Pass a converter to reuse one (building one loads dictionaries).
    """
    if not text:
        return ""
    text = unicodedata.normalize("NFKC", text)
    readings = strip_pinyin_annotations(text)
    text = readings.text
    for span in readings.damaged:
        text = text.replace(span, "")
    text = (converter or ScriptConverter()).convert(text)
    return _NON_WORD.sub("", text.casefold())


def comparison_text(record: Mapping[str, Any], converter: ScriptConverter | None = None) -> str:
    """The invariant form of a record's title and body together, as near duplicates compare."""
    title = record.get("title") or ""
    body = record.get("body") or ""
    return invariant_text(f"{title}\n{body}", converter)


def content_hash(body: str, converter: ScriptConverter | None = None) -> str:
    """SHA-256 (64 hex digits) of the invariant form of a body: equal for exact duplicates."""
    return sha256_hex(invariant_text(body, converter))


def sha256_hex(text: str) -> str:
    return hashlib.sha256(text.encode("utf-8")).hexdigest()
