"""Text normalisation of records: one Unicode policy, pinyin-annotation removal, script.

The chain applied to a record by `normalise_record`, in order:

1. `unicode.normalise_unicode` on every text field (the house Unicode policy, see its
   docstring).
2. `pinyin.strip_pinyin_annotations` when title and body together show the mirror pattern
   "區(qū)" repeatedly; spans where such a reading replaced characters are flagged, never
   repaired.
3. `script.ScriptConverter.script` decides whether the record is Traditional ("Hant") and
   `ScriptConverter.convert` turns it into Simplified with OpenCC `tw2s`.

`NormalisePipeline` is the Scrapy item pipeline around `normalise_record`.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any

from scrapy.crawler import Crawler
from scrapy.settings import BaseSettings
from scrapy.statscollectors import StatsCollector

from crawler.default_settings import parknews_settings
from crawler.items import BODY_BLOCKS, RecordDict
from pipelines import process_item_by_record
from pipelines.normalise.pinyin import (
    PINYIN_MIN_REPEATS,
    finish_strip,
    is_pinyin_pattern,
    strip_marked,
)
from pipelines.normalise.script import ScriptConverter
from pipelines.normalise.unicode import normalise_unicode

logger = logging.getLogger(__name__)

TEXT_FIELDS = (
    "title",
    BODY_BLOCKS,
    "source",
    "author",
    "editor",
    "photographer",
    "section",
    "site_name",
)
"""Top-level record fields that hold text: a str, or the list of the body's blocks."""

OPTIONAL_TEXT_FIELDS = frozenset({"source", "author", "editor", "photographer", "section"})
"""Fields that become None rather than "" when normalisation leaves nothing."""

NESTED_TEXT_FIELDS = {"images": ("caption",), "attachments": ("name",)}
"""List fields whose dict entries hold text, and which keys of each entry."""


@dataclass
class _Slot:
    """One text of a record being normalised: where it lives (a field of a dict, or a block
    of the body's list) and its current value."""

    holder: dict[str, Any] | list[str]
    key: Any
    text: str

    @property
    def multiline(self) -> bool:
        """True for a body block: its line breaks separate paragraphs."""
        return isinstance(self.holder, list)


def _text_slots(record: RecordDict) -> list[_Slot]:
    """The text fields of `record` (title first), which must be a copy: nested entries
    holding text are replaced by copies so that the caller's record is never modified."""
    slots: list[_Slot] = []
    for name in TEXT_FIELDS:
        value = record.get(name)
        if isinstance(value, str):
            slots.append(_Slot(record, name, value))
        elif isinstance(value, list):
            blocks = record[name] = list(value)
            slots.extend(_Slot(blocks, index, block) for index, block in enumerate(blocks))
    for name, keys in NESTED_TEXT_FIELDS.items():
        entries = record.get(name)
        if not isinstance(entries, list):
            continue
        copies = [dict(entry) if isinstance(entry, dict) else entry for entry in entries]
        record[name] = copies
        for entry in copies:
            if isinstance(entry, dict):
                slots.extend(
                    _Slot(entry, key, value)
                    for key in keys
                    if isinstance(value := entry.get(key), str)
                )
    return slots


def _body_lines(slots: list[_Slot]) -> tuple[list[_Slot], bool]:
    """The slots with the body blocks made lines again once the Unicode policy has run: a
    block it emptied goes, a block it broke (a decoded "&#13;", a U+2028) becomes one block
    per line, as the lines of the joined body would be; and whether the joined body lost
    an empty line."""
    body = [slot for slot in slots if slot.multiline]
    if all(slot.text and "\n" not in slot.text for slot in body):
        return slots, False
    blocks = body[0].holder
    assert isinstance(blocks, list)
    pieces = [line for slot in body for line in slot.text.split("\n")]
    blocks[:] = [line for line in pieces if line]
    first = slots.index(body[0])
    others = [slot for slot in slots if not slot.multiline]
    lines = [_Slot(blocks, index, line) for index, line in enumerate(blocks)]
    return others[:first] + lines + others[first:], len(pieces) > max(len(blocks), 1)


def _apply(slots: list[_Slot], step: Callable[[_Slot], str]) -> bool:
    """Run `step` on every slot and store the results; True when any text changed."""
    changed = False
    for slot in slots:
        new = step(slot)
        if new != slot.text:
            slot.text = slot.holder[slot.key] = new
            changed = True
    return changed


def _empty_to_none(slots: list[_Slot]) -> None:
    for slot in slots:
        if (
            slot.text == ""
            and isinstance(slot.holder, dict)
            and (slot.key in OPTIONAL_TEXT_FIELDS or slot.key == "caption")
        ):
            slot.holder[slot.key] = None


def iter_texts(record: RecordDict) -> Iterable[str]:
    """Every text of the record's text fields (each body block), title first."""
    for name in TEXT_FIELDS:
        value = record.get(name)
        if isinstance(value, str):
            yield value
        elif isinstance(value, list):
            yield from value
    for name, keys in NESTED_TEXT_FIELDS.items():
        for entry in record.get(name) or ():
            if isinstance(entry, dict):
                for key in keys:
                    if isinstance(entry.get(key), str):
                        yield entry[key]


def normalise_record(
    record: RecordDict,
    *,
    keep_script: bool = False,
    converter: ScriptConverter | None = None,
    pinyin_min_repeats: int = PINYIN_MIN_REPEATS,
) -> RecordDict:
    """A normalised copy of an article record.

    Applies the Unicode policy to every text field; removes mirror pinyin readings from
    every text field when title and body together show the pattern (at least
    `pinyin_min_repeats` tone-marked readings, densely; 0 removes them unconditionally);
    converts a Traditional record to Simplified unless `keep_script`. Adds
    `original_script` ("Hans"/"Hant"), `normalisations` (the steps that changed the
    record, in order: "unicode", "pinyin_annotations", and the OpenCC configuration name)
    and, only when some remain, `damaged_annotations` (spans of the result to review).
    The body is read and written as its blocks (`BODY_BLOCKS`), one paragraph each: the
    result holds the blocks the joined body's lines would be. `converter` should be shared
    between calls; one is built when none is given.
    """
    if pinyin_min_repeats < 0:
        raise ValueError(f"pinyin_min_repeats must be 0 or more, got {pinyin_min_repeats}")
    converter = converter or ScriptConverter()
    out = dict(record)
    slots = _text_slots(out)
    applied: list[str] = []

    changed = _apply(slots, lambda slot: normalise_unicode(slot.text, keep_newlines=slot.multiline))
    _empty_to_none(slots)
    slots, lost_lines = _body_lines(slots)
    if changed or lost_lines:
        applied.append("unicode")

    # Readings are decided on title and body together; the marked ones go in the same pass.
    main = [
        slot for slot in slots if slot.multiline or (slot.holder is out and slot.key == "title")
    ]
    first_pass = [strip_marked(slot.text) for slot in main]
    evidence = sum(marked for _, marked in first_pass)
    # The length of the title and of the body its blocks make, one "\n" between two blocks.
    blocks = sum(slot.multiline for slot in slots)
    length = sum(len(slot.text) for slot in main) + max(blocks - 1, 0)
    damaged: list[str] = []
    if pinyin_min_repeats == 0 or is_pinyin_pattern(evidence, length, pinyin_min_repeats):
        done = dict(zip((id(slot) for slot in main), first_pass, strict=True))
        removed = 0

        def strip(slot: _Slot) -> str:
            nonlocal removed
            stripped, marked = done.get(id(slot)) or strip_marked(slot.text)
            result = finish_strip(stripped, marked)
            removed += result.removed
            damaged.extend(result.damaged)
            return result.text

        _apply(slots, strip)
        if removed:
            applied.append("pinyin_annotations")

    script = converter.script("\n".join(slot.text for slot in slots))
    if script == "Hant" and not keep_script:
        converted = iter(converter.convert_all([slot.text for slot in slots]))
        if _apply(slots, lambda _slot: next(converted)):
            applied.append(converter.config)

    out["original_script"] = script
    out["normalisations"] = applied
    if damaged:
        out["damaged_annotations"] = damaged
    else:
        out.pop("damaged_annotations", None)
    return out


def count_replacement_chars(record: RecordDict) -> int:
    """U+FFFD characters in the record's text fields: text lost before normalisation."""
    return sum(text.count("\ufffd") for text in iter_texts(record))


SITE_OVERRIDE_VALUES = ("keep", "simplify")


class NormalisePipeline:
    """Normalises every record with `normalise_record`.

    Settings:

    - ``PARKNEWS_SCRIPT_KEEP_ORIGINAL`` (bool, default False): keep Traditional records in
      Traditional script (still recorded in `original_script`).
    - ``PARKNEWS_SCRIPT_SITE_OVERRIDES`` (dict, default {}): site key → "keep" or
      "simplify", overriding the setting above for that site's records.

    Stats: ``parknews/normalise/records``, ``.../hant``, ``.../converted``,
    ``.../pinyin_stripped``, ``.../damaged_annotations`` (records flagged for review),
    ``.../lossy`` (records still holding U+FFFD) and ``.../replacement_chars`` (how many);
    flagged and lossy records are logged with their URL.

    Dict items get the normalised dict back; other item types are updated in place and
    must declare `original_script`, `normalisations` and `damaged_annotations`.
    """

    def __init__(
        self,
        *,
        keep_original_script: bool = False,
        site_overrides: dict[str, str] | None = None,
        stats: StatsCollector | None = None,
    ) -> None:
        overrides = dict(site_overrides or {})
        for site, value in overrides.items():
            if value not in SITE_OVERRIDE_VALUES:
                raise ValueError(
                    f"PARKNEWS_SCRIPT_SITE_OVERRIDES[{site!r}] is {value!r};"
                    f" use one of {', '.join(SITE_OVERRIDE_VALUES)}"
                )
        self.keep_original_script = keep_original_script
        self.site_overrides = overrides
        self.stats = stats
        self.converter = ScriptConverter()

    @classmethod
    def from_settings(
        cls, settings: BaseSettings, stats: StatsCollector | None = None
    ) -> NormalisePipeline:
        """The pipeline as `settings` configure it; without stats for `parknews extract`."""
        configured = parknews_settings(settings)
        return cls(
            keep_original_script=configured.getbool("PARKNEWS_SCRIPT_KEEP_ORIGINAL"),
            site_overrides=configured.getdict("PARKNEWS_SCRIPT_SITE_OVERRIDES"),
            stats=stats,
        )

    @classmethod
    def from_crawler(cls, crawler: Crawler) -> NormalisePipeline:
        return cls.from_settings(crawler.settings, crawler.stats)

    def keeps_script(self, site: object) -> bool:
        """Whether records of `site` keep their original script."""
        override = self.site_overrides.get(site) if isinstance(site, str) else None
        if override is None:
            return self.keep_original_script
        return override == "keep"

    def process_record(self, record: RecordDict) -> RecordDict:
        """The normalised record, counted in stats and logged when it needs review."""
        out = normalise_record(
            record, keep_script=self.keeps_script(record.get("site")), converter=self.converter
        )
        self._inc("records")
        if out["original_script"] == "Hant":
            self._inc("hant")
        if self.converter.config in out["normalisations"]:
            self._inc("converted")
        if "pinyin_annotations" in out["normalisations"]:
            self._inc("pinyin_stripped")
        if out.get("damaged_annotations"):
            self._inc("damaged_annotations")
            logger.warning(
                "Damaged pinyin annotations left in %s: %s",
                out.get("url"),
                out["damaged_annotations"],
            )
        lost = count_replacement_chars(out)
        if lost:
            self._inc("lossy")
            self._inc("replacement_chars", lost)
            logger.warning(
                "%d replacement characters (text lost in decoding) in %s", lost, out.get("url")
            )
        return out

    def process_item(self, item: Any) -> Any:
        return process_item_by_record(item, self.process_record)

    def _inc(self, name: str, count: int = 1) -> None:
        if self.stats is not None:
            self.stats.inc_value(f"parknews/normalise/{name}", count)
