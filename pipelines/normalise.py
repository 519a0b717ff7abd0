"""Text normalisation of records: one Unicode policy, pinyin-annotation removal, script.

The chain applied to a record by `normalise_record`, in order:

1. `normalise_unicode` on every text field (the house Unicode policy, see its docstring).
2. `strip_pinyin_annotations` when title and body together show the mirror pattern
   "區(qū)" repeatedly; spans where such a reading replaced characters are flagged, never
   repaired.
3. `ScriptConverter.script` decides whether the record is Traditional ("Hant") and
   `ScriptConverter.convert` turns it into Simplified with OpenCC `tw2s`.

`NormalisePipeline` is the Scrapy item pipeline around `normalise_record`.
"""

from __future__ import annotations

import html
import logging
import re
import unicodedata
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Literal

import opencc

from pipelines import process_item_by_record

if TYPE_CHECKING:
    from scrapy.crawler import Crawler
    from scrapy.settings import BaseSettings
    from scrapy.statscollectors import StatsCollector

logger = logging.getLogger(__name__)

Script = Literal["Hans", "Hant"]
Record = dict[str, Any]

# Tunable numbers, in one place.
PINYIN_MIN_REPEATS = 3
"""Tone-marked readings a record must hold before any reading is taken for mirror noise."""
PINYIN_MIN_SHARE = 0.01
"""...and their number per character of text: mirrors annotate densely (the binjiang copy
one character in eleven), an article explaining a few place names does not."""
HANT_MIN_CHARS = 2
"""Traditional-only characters a record needs before it can count as Traditional."""
HANT_MIN_SHARE = 0.5
"""Share of the script-specific characters that must be Traditional-only for "Hant"."""
SCRIPT_SAMPLE_CHARS = 2000
"""Characters of a record (title first) examined for its script."""
SCRIPT_QUICK_CHARS = 400
"""...of which the first this many decide a clear case."""
DEFAULT_CONFIG = "tw2s"
"""OpenCC configuration: character-level with Taiwan variants, no phrase rewriting."""

TEXT_FIELDS = (
    "title",
    "body",
    "source",
    "author",
    "editor",
    "photographer",
    "section",
    "site_name",
)
"""Top-level record fields that hold text."""
OPTIONAL_TEXT_FIELDS = frozenset({"source", "author", "editor", "photographer", "section"})
"""Fields that become None rather than "" when normalisation leaves nothing."""
NESTED_TEXT_FIELDS = {"images": ("caption",), "attachments": ("name",)}
"""List fields whose dict entries hold text, and which keys of each entry."""

# --- Unicode policy ---------------------------------------------------------------------------

_HAN = (
    "\u2e80-\u2fdf\u3005-\u3007\u3021-\u3029\u3038-\u303b\u3400-\u4dbf\u4e00-\u9fff"
    "\uf900-\ufaff\U00020000-\U0003ffff"
)
"""Han ideographs, radicals and the ideographic iteration and number marks."""
_CJK = (
    _HAN + "\u3001-\u3004\u3008-\u3020\u3030-\u3037\u3040-\u30ff\uff01-\uff0f\uff1a-\uff20"
    "\uff3b-\uff40\uff5b-\uff65"
)
"""Characters written without spaces between them: Han, kana, CJK and full-width punctuation."""

MAX_ENTITY_ROUNDS = 4
MARKUP_START = re.compile(r"<(?=[A-Za-z/!])")
_LINE_BREAKS = re.compile("\r\n?|[\x0b\x0c\x85\u2028\u2029]")
_INVISIBLE = re.compile(
    "[\x00-\x08\x0e-\x1f\x7f-\x84\x86-\x9f\u00ad\u061c\u180e\u200b-\u200f\u202a-\u202e"
    "\u2060-\u2064\u2066-\u206f\ufeff\ufff9-\ufffb]+"
)
_WRAP = re.compile("[ \t]*\n[ \t]*")
_CJK_CHAR = re.compile(f"[{_CJK}]")
_ODD_SPACES = re.compile("[\u00a0\u1680\u2000-\u200a\u202f\u205f\u3000]")
_FULLWIDTH_ALNUM = re.compile("[\uff10-\uff19\uff21-\uff3a\uff41-\uff5a]+")
_FULLWIDTH_ALNUM_UTF8 = re.compile(b"\xef(?:\xbc[\x90-\x99\xa1-\xba]|\xbd[\x81-\x9a])")
"""The same characters in UTF-8: searching bytes is several times faster than text."""
_TO_HALFWIDTH = {code: code - 0xFEE0 for code in range(0xFF10, 0xFF5B)}
_SPACE_RUNS = re.compile(" {2,}")
_SPACED_TAB = re.compile(" *\t *")


def decode_entities(text: str) -> str:
    """Decode HTML character references ("&nbsp;", "&#12288;", "&amp;"), also those a CMS
    escaped twice ("&amp;nbsp;"), until none is left, so decoding again changes nothing."""
    for _ in range(MAX_ENTITY_ROUNDS):
        if "&" not in text:
            break
        decoded = html.unescape(text)
        if decoded == text:
            break
        text = decoded
    return text


def defuse_markup(text: str) -> str:
    """Write "<" before a letter, "/" or "!" as "＜", so text quoting code ("<script>") can
    never be taken for markup by whatever renders a record."""
    return MARKUP_START.sub("＜", text) if "<" in text else text


def compose(text: str) -> str:
    """Unicode NFC, so that "u" + combining macron and "ū" are one character."""
    return text if unicodedata.is_normalized("NFC", text) else unicodedata.normalize("NFC", text)


def unify_line_breaks(text: str) -> str:
    """CR LF, CR, NEL, vertical tab, form feed and the Unicode separators become "\\n"."""
    return _LINE_BREAKS.sub("\n", text)


def is_plain(text: str) -> bool:
    """True when `text` holds no control, format, separator or non-ASCII space character
    other than "\\n" (a quick test that lets clean text skip three steps)."""
    return all(map(str.isprintable, text.split("\n")))


def join_lines(text: str) -> str:
    """Join a single-line field that the HTML source wrapped: a line break (with the blanks
    around it) between two CJK characters disappears, any other becomes a space; tabs
    become spaces."""

    def join(match: re.Match[str]) -> str:
        start, end = match.span()
        if start and _CJK_CHAR.match(text, start - 1) and _CJK_CHAR.match(text, end):
            return ""
        return " "

    if "\n" in text:
        text = _WRAP.sub(join, text)
    return text.replace("\t", " ") if "\t" in text else text


def drop_invisible(text: str) -> str:
    """Remove control characters, zero-width characters, soft hyphens and direction marks."""
    return _INVISIBLE.sub("", text)


def plain_spaces(text: str) -> str:
    """No-break, ideographic and typographic spaces become one plain space each."""
    return _ODD_SPACES.sub(" ", text)


def halfwidth_alnum(text: str) -> str:
    """Full-width ASCII letters and digits become half-width; full-width punctuation stays."""
    if text.isascii() or not _FULLWIDTH_ALNUM_UTF8.search(text.encode("utf-8", "surrogatepass")):
        return text
    return _FULLWIDTH_ALNUM.sub(lambda m: m.group().translate(_TO_HALFWIDTH), text)


def tidy_spaces(text: str) -> str:
    """Collapse runs of spaces, trim every line, drop empty lines and the edges of the text."""
    # One-character searches only: a two-character one costs as much as a regex pass.
    spaced = " " in text
    if spaced and "  " in text:
        text = _SPACE_RUNS.sub(" ", text)
    if spaced and "\t" in text:
        text = _SPACED_TAB.sub("\t", text)
    if "\n" not in text:
        return text.strip(" ") if spaced else text
    lines = text.split("\n")
    if spaced or "" in lines:
        return "\n".join(line for line in (raw.strip(" ") for raw in lines) if line)
    return text


def normalise_unicode(text: str, *, keep_newlines: bool = True) -> str:
    """Apply the parknews Unicode policy to one text field.

    The policy, in order:

    - HTML character references are decoded, also when escaped twice ("&amp;nbsp;"), so that
      the policy applied twice gives the same text ("&nbsp;" → no-break space, "&amp;" → "&").
    - A "<" that would open a tag ("<script", "</p", "<!--") becomes "＜": no text field can
      carry markup.
    - Line breaks (CR LF, CR, NEL, VT, FF, U+2028, U+2029) become "\\n".
    - Removed: C0 and C1 control characters (except "\\n" and tab), zero-width space,
      joiner and non-joiner, word joiner, BOM, soft hyphen, direction marks and embeddings.
    - No-break space, ideographic space (U+3000) and typographic spaces (U+2000–U+200A,
      U+202F, U+205F) become a plain space.
    - Single-line fields (``keep_newlines=False``): a line break left by the HTML source's
      wrapping disappears between two CJK characters (Han, kana, CJK and full-width
      punctuation) and becomes a space elsewhere; tabs become spaces. In the body "\\n"
      separates paragraphs and a tab separates the cells of a table row; both stay.
      A space a page writes between CJK characters stays: headlines separate their
      clauses with one ("冬至将至 园区社区…"), bylines their names ("文/周琳 图/张宇").
    - Full-width ASCII letters and digits become half-width ("２０２１" → "2021").
      Chinese and full-width punctuation (，。“”（）：；) is kept as it is.
    - NFC composition, last, so a mark freed by the steps above composes at once.
    - Runs of spaces collapse to one, spaces beside a tab go; every line is trimmed of
      spaces; empty lines are dropped, so paragraphs stay separated by exactly one "\\n".

    U+FFFD replacement characters are kept: they mark text lost in decoding, and dropping
    them would hide the loss.
    """
    if not text:
        return ""
    text = defuse_markup(decode_entities(text))
    plain = is_plain(text)
    if not plain:
        text = unify_line_breaks(text)
        text = drop_invisible(text)
        text = plain_spaces(text)
    if not keep_newlines:
        text = join_lines(text)
    text = compose(halfwidth_alnum(text))
    return tidy_spaces(text)


# --- Pinyin annotations ------------------------------------------------------------------------

_SYLLABLES_BY_INITIAL = {
    "": "a ai an ang ao e ei en eng er o ou "
    "yi ya yao ye you yan yin yang ying yong yo yu yue yuan yun "
    "wu wa wo wai wei wan wen wang weng",
    "b": "a o ai ei ao an en ang eng i ie iao ian in ing u",
    "p": "a o ai ei ao ou an en ang eng i ie iao ian in ing u",
    "m": "a o e ai ei ao ou an en ang eng i ie iao iu ian in ing u",
    "f": "a o ei ou an en ang eng u",
    "d": "a e ai ei ao ou an en ang eng ong i ia ie iao iu ian ing u uo ui uan un",
    "t": "a e ai ao ou an ang eng ong i ie iao ian ing u uo ui uan un",
    "n": "a e ai ei ao ou an en ang eng ong i ie iao iu ian in iang ing u uo uan un v ve ue",
    "l": "a e o ai ei ao ou an ang eng ong i ia ie iao iu ian in iang ing u uo uan un v ve ue",
    "g": "a e ai ei ao ou an en ang eng ong u ua uo uai ui uan un uang",
    "k": "a e ai ei ao ou an en ang eng ong u ua uo uai ui uan un uang",
    "h": "a e ai ei ao ou an en ang eng ong u ua uo uai ui uan un uang",
    "j": "i ia ie iao iu ian in iang ing iong u ue uan un",
    "q": "i ia ie iao iu ian in iang ing iong u ue uan un",
    "x": "i ia ie iao iu ian in iang ing iong u ue uan un",
    "zh": "a e i ai ei ao ou an en ang eng ong u ua uo uai ui uan un uang",
    "ch": "a e i ai ao ou an en ang eng ong u ua uo uai ui uan un uang",
    "sh": "a e i ai ei ao ou an en ang eng u ua uo uai ui uan un uang",
    "r": "e i ao ou an en ang eng ong u ua uo ui uan un",
    "z": "a e i ai ei ao ou an en ang eng ong u uo ui uan un",
    "c": "a e i ai ao ou an en ang eng ong u uo ui uan un",
    "s": "a e i ai ao ou an en ang eng ong u uo ui uan un",
}
PINYIN_SYLLABLES = frozenset(
    initial + final for initial, finals in _SYLLABLES_BY_INITIAL.items() for final in finals.split()
)
"""Toneless Hanyu Pinyin syllables of standard Mandarin, "ü" written "v" (lv, nve)."""

_TONED = {"a": "āáǎà", "e": "ēéěè", "i": "īíǐì", "o": "ōóǒò", "u": "ūúǔù", "ü": "ǖǘǚǜ"}
_TONED_VOWELS = "".join(_TONED.values())
_MARK_CHARS = _TONED_VOWELS + "ü"


def _spellings(syllable: str) -> set[str]:
    """Every way a page writes `syllable` (given with v for ü, "lve"): with ü or v, with
    no tone mark or one."""
    bases = {syllable.replace("v", "ü"), syllable}
    if syllable[:1] in "jqxy" and "u" in syllable:
        bases.add(syllable.replace("u", "ü"))  # "qu" is also written "qü"
    out = set()
    for base in bases:
        out.add(base)
        for index, letter in enumerate(base):
            for marked in _TONED.get("ü" if letter == "v" else letter, ""):
                out.add(base[:index] + marked + base[index + 1 :])
    return out


PINYIN_SPELLINGS = frozenset(
    spelling for syllable in PINYIN_SYLLABLES for spelling in _spellings(syllable)
)
"""The syllables as pages write them: with or without one tone mark, ü or v."""
_MARKED_SPELLINGS = frozenset(s for s in PINYIN_SPELLINGS if not s.isascii())
_PLAIN_SPELLINGS = PINYIN_SPELLINGS - _MARKED_SPELLINGS


def _trie_pattern(words: Iterable[str]) -> str:
    """A regex matching exactly `words`, built as a trie so that the regex engine follows
    one branch per letter instead of trying thousands of alternatives."""
    trie: dict[str, Any] = {}
    for word in words:
        node = trie
        for letter in word:
            node = node.setdefault(letter, {})
        node[""] = {}

    def emit(node: dict[str, Any]) -> str:
        branches = [letter + emit(node[letter]) for letter in sorted(k for k in node if k)]
        if not branches:
            return ""
        if "" in node:  # the word may end here: an empty branch is cheaper than "(...)?"
            return f"(?:{'|'.join(branches)}|)"
        return branches[0] if len(branches) == 1 else f"(?:{'|'.join(branches)})"

    return emit(trie)


_OPEN, _CLOSE = "[(（]", "[)）]"
_AFTER_HAN = f"{_OPEN}(?<=[{_HAN}]{_OPEN})"
_MARKED_ANNOTATION = re.compile(f"{_AFTER_HAN}(?:{_trie_pattern(_MARKED_SPELLINGS)}){_CLOSE}")
"""A bracketed syllable with a tone mark or ü (no English word has one) right after a Han
character: a reading, and the evidence that a page is a mirror's."""
_PLAIN_ANNOTATION = re.compile(f"{_AFTER_HAN}(?:{_trie_pattern(_PLAIN_SPELLINGS)}){_CLOSE}")
"""The same without a mark (neutral tone, "們(men)"): removed only on a mirror's page."""
_MARK_CHAR = re.compile(f"[{_MARK_CHARS}]")
_LATIN = "A-Za-z\u00c0-\u024f"
_WORD_CHAR = re.compile(f"[{_LATIN}]")
_DAMAGE_LEFT = "(（?？\ufffd"
_DAMAGE_RIGHT = ")）?？\ufffd"


def is_pinyin_syllable(word: str) -> bool:
    """True for one Hanyu Pinyin syllable, toneless or with one tone mark ("qū", "lǜ")."""
    return word in PINYIN_SPELLINGS


@dataclass(frozen=True)
class PinyinResult:
    """What `strip_pinyin_annotations` did to one text."""

    text: str
    """The text with the readings removed (unchanged when the pattern was not found)."""
    removed: int
    """Readings removed."""
    damaged: list[str] = field(default_factory=list)
    """Spans of the result where a reading replaced characters: left in place, not repaired."""


def count_pinyin_annotations(text: str) -> int:
    """Tone-marked (or ü) pinyin syllables in brackets right after a Han character."""
    if "(" not in text and "（" not in text:
        return 0
    return len(_MARKED_ANNOTATION.findall(text))


def _strip_marked(text: str) -> tuple[str, int]:
    if "(" not in text and "（" not in text:
        return text, 0
    return _MARKED_ANNOTATION.subn("", text)


def _strip_plain(text: str) -> tuple[str, int]:
    if "(" not in text and "（" not in text:
        return text, 0
    return _PLAIN_ANNOTATION.subn("", text)


def is_pinyin_pattern(readings: int, length: int, min_repeats: int = PINYIN_MIN_REPEATS) -> bool:
    """True when `readings` tone-marked readings in `length` characters of text show the
    mirror pattern: at least `min_repeats` of them (and at least one), and at least
    PINYIN_MIN_SHARE of a reading per character."""
    return readings >= max(min_repeats, 1) and readings >= PINYIN_MIN_SHARE * length


def shows_pinyin_pattern(text: str, min_repeats: int = PINYIN_MIN_REPEATS) -> bool:
    """True when `text` shows the mirror pattern of readings (see `is_pinyin_pattern`)."""
    return is_pinyin_pattern(count_pinyin_annotations(text), len(text), min_repeats)


def find_damaged_annotations(text: str) -> list[str]:
    """Spans where a tone-marked reading stands without the Han character before it.

    A mirror that lost bytes leaves "全要素?cái)?shù)字": a syllable whose brackets or whose
    character are gone. Each span holds the syllable with the bracket, "?" and U+FFFD
    characters around it; touching spans are merged. Only marked syllables count, so
    English words and "(Beijing)" are never taken for damage.
    """
    found = _MARK_CHAR.search(text)
    if found is None:
        return []
    spans: list[list[int]] = []
    for mark in _MARK_CHAR.finditer(text, found.start()):
        first, last = mark.start(), mark.end()
        if spans and first < spans[-1][1]:
            continue  # a second mark of a word already seen
        while first > 0 and _WORD_CHAR.match(text, first - 1):
            first -= 1
        while last < len(text) and _WORD_CHAR.match(text, last):
            last += 1
        if not is_pinyin_syllable(text[first:last]):
            continue
        start, end = first, last
        while start > 0 and text[start - 1] in _DAMAGE_LEFT:
            start -= 1
        while end < len(text) and text[end] in _DAMAGE_RIGHT:
            end += 1
        if start == first and end == last:
            continue  # a bare syllable in running text is a romanisation, not damage
        if spans and start <= spans[-1][1]:
            spans[-1][1] = max(spans[-1][1], end)
        else:
            spans.append([start, end])
    return [text[start:end] for start, end in spans]


def strip_pinyin_annotations(text: str, min_repeats: int = PINYIN_MIN_REPEATS) -> PinyinResult:
    """Remove bracketed pinyin readings after Han characters when the text repeats the pattern.

    "高新區(qū)(濱江)召開(kāi)" → "高新區(濱江)召開". A reading is removed only when it
    directly follows a Han character, sits in ASCII or full-width brackets and is one
    syllable of the inventory (PINYIN_SYLLABLES, with or without a tone mark); and only
    when the text shows the pattern (`is_pinyin_pattern`: at least `min_repeats`
    tone-marked readings, densely), so that a genuine pronunciation note ("单(shàn)县")
    stays. With `min_repeats` 0 the pattern is taken as shown (the caller decided on a
    larger text). Damaged readings that remain are reported in `damaged`, not removed:
    nothing is guessed.
    """
    if min_repeats < 0:
        raise ValueError(f"min_repeats must be 0 or more, got {min_repeats}")
    stripped, marked = _strip_marked(text)
    if min_repeats and not is_pinyin_pattern(marked, len(text), min_repeats):
        return PinyinResult(text, 0)
    return _finish_strip(stripped, marked)


def _finish_strip(stripped: str, marked: int) -> PinyinResult:
    """Remove the unmarked readings too and look for damaged ones."""
    stripped, plain = _strip_plain(stripped)
    return PinyinResult(stripped, marked + plain, find_damaged_annotations(stripped))


# --- Script -------------------------------------------------------------------------------------

_SEPARATOR = "\u2063"
"""Joins the texts of a record for one OpenCC call: a format character that the Unicode
policy removes, so no text holds it, and that no OpenCC dictionary entry contains."""
_SCRIPT_RANGES = ((0x3400, 0x4DBF), (0x4E00, 0x9FFF), (0xF900, 0xFAFF))
"""Han characters examined for script: CJK Extension A, the unified block, compatibility."""


class ScriptConverter:
    """Detects Traditional script and converts it to Simplified with OpenCC.

    Holds the OpenCC converters (loading one reads its dictionaries, so build one
    ScriptConverter and reuse it). Phrase-level configurations (names ending in "p")
    are refused: they rewrite words even in Simplified text (法定程序 → 法定进程).
    """

    def __init__(self, config: str = DEFAULT_CONFIG) -> None:
        name = config.removesuffix(".json")
        if name not in {c.removesuffix(".json") for c in opencc.CONFIGS}:
            known = ", ".join(sorted(c.removesuffix(".json") for c in opencc.CONFIGS))
            raise ValueError(f"unknown OpenCC configuration {config!r}; known: {known}")
        if name.endswith("p"):
            raise ValueError(
                f"OpenCC configuration {config!r} rewrites phrases even in"
                " Simplified text; use tw2s"
            )
        if not name.endswith("2s"):
            raise ValueError(
                f"OpenCC configuration {config!r} does not convert to Simplified;"
                " use tw2s, hk2s or t2s"
            )
        self.config = name
        self._to_simplified = opencc.OpenCC(name)
        self._to_traditional = opencc.OpenCC("s2t")
        self._traditional_only, self._simplified_only = self._script_specific()

    def convert(self, text: str) -> str:
        """The text in Simplified script."""
        return self._to_simplified.convert(text) if text else text

    def convert_all(self, texts: list[str]) -> list[str]:
        """Each text in Simplified script, converted in one call to OpenCC."""
        if any(_SEPARATOR in text for text in texts):
            return [self.convert(text) for text in texts]
        parts = self.convert(_SEPARATOR.join(texts)).split(_SEPARATOR)
        if len(parts) != len(texts):
            return [self.convert(text) for text in texts]
        return parts

    def script(self, text: str) -> Script:
        """ "Hant" when the text is written in Traditional script, else "Hans".

        The evidence is the share of characters that change under Traditional→Simplified
        conversion. Among the first SCRIPT_QUICK_CHARS characters (SCRIPT_SAMPLE_CHARS when
        those leave the answer close), the characters that OpenCC changes going to
        Simplified (Traditional-only) are counted against those it changes going to
        Traditional (Simplified-only); characters it changes both ways count for neither.
        The text is Traditional when at least HANT_MIN_CHARS characters are
        Traditional-only and they are at least HANT_MIN_SHARE of the script-specific ones,
        so one "繁體" link on a Simplified page does not make it Traditional.
        """
        for size in (SCRIPT_QUICK_CHARS, SCRIPT_SAMPLE_CHARS):
            sample = text[:size]
            traditional = len(self._traditional_only.findall(sample))
            simplified = len(self._simplified_only.findall(sample))
            clear = max(traditional, simplified) >= HANT_MIN_CHARS and (
                traditional >= 4 * simplified or simplified >= 4 * traditional
            )
            if clear or size >= len(text):
                break
        if traditional >= HANT_MIN_CHARS and traditional >= HANT_MIN_SHARE * (
            traditional + simplified
        ):
            return "Hant"
        return "Hans"

    def _script_specific(self) -> tuple[re.Pattern[str], re.Pattern[str]]:
        """Patterns of the Traditional-only and Simplified-only characters, found by
        converting every BMP Han character one way and the other."""
        chars = [chr(code) for first, last in _SCRIPT_RANGES for code in range(first, last + 1)]
        joined = "\n".join(chars)  # one character a line: no phrase spans two of them
        to_simplified = self._to_simplified.convert(joined).split("\n")
        to_traditional = self._to_traditional.convert(joined).split("\n")
        traditional = {c for c, s in zip(chars, to_simplified, strict=True) if s != c}
        simplified = {c for c, t in zip(chars, to_traditional, strict=True) if t != c}
        both = traditional & simplified
        return (
            re.compile(f"[{''.join(sorted(traditional - both))}]"),
            re.compile(f"[{''.join(sorted(simplified - both))}]"),
        )


def detect_script(text: str, converter: ScriptConverter | None = None) -> Script:
    """ "Hant" or "Hans" for a text (see `ScriptConverter.script`); pass a converter to reuse."""
    return (converter or ScriptConverter()).script(text)


def to_simplified(text: str, converter: ScriptConverter | None = None) -> str:
    """The text in Simplified script with OpenCC tw2s; pass a converter to reuse one."""
    return (converter or ScriptConverter()).convert(text)


# --- Records ------------------------------------------------------------------------------------


@dataclass
class _Slot:
    """One text of a record being normalised: where it lives and its current value."""

    holder: dict[str, Any]
    key: str
    text: str

    @property
    def multiline(self) -> bool:
        return self.key == "body"


def _text_slots(record: Record) -> list[_Slot]:
    """The text fields of `record` (title first), which must be a copy: nested entries
    holding text are replaced by copies so that the caller's record is never modified."""
    slots = [
        _Slot(record, name, value)
        for name in TEXT_FIELDS
        if isinstance(value := record.get(name), str)
    ]
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
        if slot.text == "" and (slot.key in OPTIONAL_TEXT_FIELDS or slot.key == "caption"):
            slot.holder[slot.key] = None


def iter_texts(record: Record) -> Iterable[str]:
    """Every text of the record's text fields, title first."""
    for name in TEXT_FIELDS:
        value = record.get(name)
        if isinstance(value, str):
            yield value
    for name, keys in NESTED_TEXT_FIELDS.items():
        for entry in record.get(name) or ():
            if isinstance(entry, dict):
                for key in keys:
                    if isinstance(entry.get(key), str):
                        yield entry[key]


def normalise_record(
    record: Record,
    *,
    keep_script: bool = False,
    converter: ScriptConverter | None = None,
    pinyin_min_repeats: int = PINYIN_MIN_REPEATS,
) -> Record:
    """A normalised copy of an article record.

    Applies the Unicode policy to every text field; removes mirror pinyin readings from
    every text field when title and body together show the pattern (at least
    `pinyin_min_repeats` tone-marked readings, densely; 0 removes them unconditionally);
    converts a Traditional record to Simplified unless `keep_script`. Adds
    `original_script` ("Hans"/"Hant"), `normalisations` (the steps that changed the
    record, in order: "unicode", "pinyin_annotations", and the OpenCC configuration name)
    and, only when some remain, `damaged_annotations` (spans of the result to review).
    The body keeps its paragraphs separated by "\\n". `converter` should be shared
    between calls; one is built when none is given.
    """
    if pinyin_min_repeats < 0:
        raise ValueError(f"pinyin_min_repeats must be 0 or more, got {pinyin_min_repeats}")
    converter = converter or ScriptConverter()
    out = dict(record)
    slots = _text_slots(out)
    applied: list[str] = []

    if _apply(slots, lambda slot: normalise_unicode(slot.text, keep_newlines=slot.multiline)):
        applied.append("unicode")
    _empty_to_none(slots)

    # Readings are decided on title and body together; the marked ones go in the same pass.
    main = [slot for slot in slots if slot.holder is out and slot.key in ("title", "body")]
    first_pass = [_strip_marked(slot.text) for slot in main]
    evidence = sum(marked for _, marked in first_pass)
    length = sum(len(slot.text) for slot in main)
    damaged: list[str] = []
    if pinyin_min_repeats == 0 or is_pinyin_pattern(evidence, length, pinyin_min_repeats):
        done = dict(zip((id(slot) for slot in main), first_pass, strict=True))
        removed = 0

        def strip(slot: _Slot) -> str:
            nonlocal removed
            stripped, marked = done.get(id(slot)) or _strip_marked(slot.text)
            result = _finish_strip(stripped, marked)
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


def count_replacement_chars(record: Record) -> int:
    """U+FFFD characters in the record's text fields: text lost before normalisation."""
    return sum(text.count("\ufffd") for text in iter_texts(record))


# --- Scrapy pipeline ----------------------------------------------------------------------------

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
    def from_settings(cls, settings: BaseSettings) -> NormalisePipeline:
        """The pipeline as configured by `settings`, without stats (for `parknews extract`)."""
        return cls(
            keep_original_script=settings.getbool("PARKNEWS_SCRIPT_KEEP_ORIGINAL", False),
            site_overrides=settings.getdict("PARKNEWS_SCRIPT_SITE_OVERRIDES"),
        )

    @classmethod
    def from_crawler(cls, crawler: Crawler) -> NormalisePipeline:
        settings = crawler.settings
        return cls(
            keep_original_script=settings.getbool("PARKNEWS_SCRIPT_KEEP_ORIGINAL", False),
            site_overrides=settings.getdict("PARKNEWS_SCRIPT_SITE_OVERRIDES"),
            stats=crawler.stats,
        )

    def keeps_script(self, site: object) -> bool:
        """Whether records of `site` keep their original script."""
        override = self.site_overrides.get(site) if isinstance(site, str) else None
        if override is None:
            return self.keep_original_script
        return override == "keep"

    def process_record(self, record: Record) -> Record:
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
        return process_item_by_record(item, self)

    def _inc(self, name: str, count: int = 1) -> None:
        if self.stats is not None:
            self.stats.inc_value(f"parknews/normalise/{name}", count)
