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
_PUNCT_FOLD = str.maketrans(
    {
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
)


@lru_cache(maxsize=2048)
def nfkc(text: str) -> str:
    """NFKC form of a text. Cached: the cleaning steps ask for the forms of the same blocks
    several times, and NFKC of Chinese text is not cheap (full-width punctuation is never
    already normal)."""
    return unicodedata.normalize("NFKC", text)


@lru_cache(maxsize=512)
def repeat_key(block: str) -> str:
    """The form two blocks are compared in: markup, width, punctuation width and spaces folded.
    Cached like `nfkc`: every cleaning step compares the same blocks. The caches hold about
    one page's blocks, so they serve the steps of a page, not the next pages."""
    text = _TAG_RE.sub("", html.unescape(block))
    text = nfkc(text).translate(_PUNCT_FOLD)
    return _INVISIBLE_RE.sub("", text)


PARAGRAPH_MIN_CHARS = 6
"""A block needs this many visible characters, and a sentence end, to count as a paragraph."""

SENTENCE_END_RE = re.compile(r"[。!?]|[\u4e00-\u9fff]\.(?:\s|$)")


@lru_cache(maxsize=512)
def normalize_line(block: str) -> str:
    """NFKC form of a block with markup gone and every run of spaces made one ASCII space
    (cached, as `repeat_key`)."""
    text = _TAG_RE.sub("", html.unescape(block))
    text = nfkc(text)
    return _INVISIBLE_RE.sub(" ", text).strip()


def is_paragraph(block: str) -> bool:
    """True for a block that reads as article prose: long enough and holding a sentence end."""
    text = normalize_line(block)
    return len(repeat_key(text)) >= PARAGRAPH_MIN_CHARS and bool(SENTENCE_END_RE.search(text))
