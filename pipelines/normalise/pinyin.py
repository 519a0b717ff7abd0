"""Pinyin readings that content-farm mirrors put after Han characters ("區(qū)"), removed
when a text shows the pattern, and the spans where such a reading swallowed characters."""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from pipelines.normalise.unicode import HAN

# Tunable numbers, in one place.
PINYIN_MIN_REPEATS = 3
"""Tone-marked readings a record must hold before any reading is taken for mirror noise."""

PINYIN_MIN_SHARE = 0.01
"""...and their number per character of text: mirrors annotate densely (the binjiang copy
one character in eleven), an article explaining a few place names does not."""

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

_AFTER_HAN = f"{_OPEN}(?<=[{HAN}]{_OPEN})"

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


def strip_marked(text: str) -> tuple[str, int]:
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
    stripped, marked = strip_marked(text)
    if min_repeats and not is_pinyin_pattern(marked, len(text), min_repeats):
        return PinyinResult(text, 0)
    return finish_strip(stripped, marked)


def finish_strip(stripped: str, marked: int) -> PinyinResult:
    """Remove the unmarked readings too and look for damaged ones."""
    stripped, plain = _strip_plain(stripped)
    return PinyinResult(stripped, marked + plain, find_damaged_annotations(stripped))
