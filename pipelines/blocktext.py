"""The forms the cleaning steps read a text block in: NFKC, its comparison key, its line form,
and whether it reads as a paragraph of prose."""

from __future__ import annotations

import html
import re
import unicodedata
from functools import lru_cache

_TAG_RE = re.compile(r"</?[A-Za-z][^<>]{0,300}>")
_INVISIBLE_RE = re.compile(r"[\s\u00ad\u200b-\u200f\u2060\ufeff]+")

# NFKC already folds full-width ASCII (，：；！？（）～) and the ellipsis; these remain.
_PUNCT_FOLD = {
    "。": ".",
    "、": ",",
    "“": '"',
    "”": '"',
    "„": '"',
    "‟": '"',
    "「": '"',
    "」": '"',
    "『": '"',
    "』": '"',
    "‘": "'",
    "’": "'",
    "《": "<",
    "》": ">",
    "〈": "<",
    "〉": ">",
    "【": "[",
    "】": "]",
    "〔": "[",
    "〕": "]",
    "〖": "[",
    "〗": "]",
    "—": "-",
    "–": "-",
    "―": "-",
    "‐": "-",
    "‑": "-",
    "‒": "-",
    "−": "-",
    "・": "·",
    "•": "·",
    "‧": "·",
    "〜": "~",
}
_PUNCT_FOLD_RE = re.compile("[" + re.escape("".join(_PUNCT_FOLD)) + "]")
"""One of the marks `_PUNCT_FOLD` folds: a regex finds them faster than str.translate reads
each character of Chinese text through a mapping."""

PAGE_FORMS = 8192
"""Most forms each cache below holds: a long page's blocks and their line forms."""


def _folded(mark: re.Match[str]) -> str:
    return _PUNCT_FOLD[mark.group()]


_FULL_WIDTH_RE = re.compile("[\uff01-\uff5e\u3000]")
"""Full-width ASCII and the ideographic space: the compatibility characters of Chinese text."""


def _narrowed(mark: re.Match[str]) -> str:
    """The character a full-width one stands for (its whole compatibility decomposition)."""
    wide = mark.group()
    return " " if wide == "\u3000" else chr(ord(wide) - 0xFEE0)


@lru_cache(maxsize=PAGE_FORMS)
def nfkc(text: str) -> str:
    """NFKC form of a text. Cached: the cleaning steps ask for the forms of the same blocks
    several times, and NFKC of Chinese text is not cheap (full-width punctuation is never
    already normal). The full-width characters are narrowed first, as NFKC decomposes them:
    what is left is mostly normal already, which `is_normalized` tells fast."""
    narrowed = _FULL_WIDTH_RE.sub(_narrowed, text)
    if unicodedata.is_normalized("NFKC", narrowed):
        return narrowed
    return unicodedata.normalize("NFKC", narrowed)


@lru_cache(maxsize=PAGE_FORMS)
def repeat_key(block: str) -> str:
    """The form two blocks are compared in: markup, width, punctuation width and spaces folded.
    Cached like `nfkc`: every cleaning step compares the same blocks (`forget_forms`)."""
    text = _TAG_RE.sub("", html.unescape(block))
    text = _PUNCT_FOLD_RE.sub(_folded, nfkc(text))
    return _INVISIBLE_RE.sub("", text)


PARAGRAPH_MIN_CHARS = 6
"""A block needs this many visible characters, and a sentence end, to count as a paragraph."""

SENTENCE_END_RE = re.compile(r"[。!?]|[\u4e00-\u9fff]\.(?:\s|$)")


@lru_cache(maxsize=PAGE_FORMS)
def normalize_line(block: str) -> str:
    """NFKC form of a block with markup gone and every run of spaces made one ASCII space
    (cached, as `repeat_key`)."""
    text = _TAG_RE.sub("", html.unescape(block))
    text = nfkc(text)
    return _INVISIBLE_RE.sub(" ", text).strip()


def forget_forms() -> None:
    """Empty the caches of block forms. The cleaning calls this as each page starts, so
    that the caches serve the steps of one page and never the pages after it."""
    for cached in (nfkc, repeat_key, normalize_line, is_paragraph):
        cached.cache_clear()


@lru_cache(maxsize=PAGE_FORMS)
def is_paragraph(block: str) -> bool:
    """True for a block that reads as article prose: long enough and holding a sentence end.
    Cached, as `repeat_key`: the steps ask it of the same blocks again, and its visible
    characters are counted on the block's own key, which the steps have already made."""
    return len(repeat_key(block)) >= PARAGRAPH_MIN_CHARS and bool(
        SENTENCE_END_RE.search(normalize_line(block))
    )


def made_of(text: str, words: re.Pattern[str], filler: re.Pattern[str], gap: str = "") -> bool:
    """True when `text` holds `words` and, besides them, only characters of `filler` (a
    pattern of one character class repeated, "[…]*"): the words replaced by `gap` left to
    right, as re.sub does, leave a text `filler` matches whole."""
    # The first character that is no filler must lie in the first word, which starts no
    # later than it: trying a match there spares most texts a replacement pass.
    leading = filler.match(text)
    first = leading.end() if leading else 0
    if not any(words.match(text, start) for start in range(first + 1)):
        return False
    rest = words.sub(gap, text)
    return rest != text and filler.fullmatch(rest) is not None
