"""Whitespace of text taken from HTML: source line wraps and runs of spaces."""

from __future__ import annotations

import re

CJK_WRAP = re.compile(
    r"\n(?<=[\u3000-\u303f\u3400-\u4dbf\u4e00-\u9fff\uff00-\uffef]\n)\s*"
    r"(?=[\u3000-\u303f\u3400-\u4dbf\u4e00-\u9fff\uff00-\uffef])"
)
"""A line wrap of the HTML source between two Chinese characters: no space in the text. It
starts with the line break, which the regex engine searches for as a string instead of trying
a match at every character."""
HEADLINE_DECORATION = re.compile(r"^[\s*·•~\-—|]+|[\s*·•~\-—|]+$")
"""Marks templates put around a headline ("*第一编", "标题- -")."""


def clean_inline(text: str) -> str:
    """Drop line wraps of the HTML source between Chinese characters (spaces and tabs before
    the line break included), collapse other runs of whitespace (including U+3000 and NBSP) to
    one space, and trim."""
    if "\n" in text:
        # Spaces and tabs before a line break are whitespace next to whitespace, so they never
        # change the collapsed text; without them a wrap starts right after its character.
        lines = [line.rstrip(" \t\r") for line in text.split("\n")]
        text = CJK_WRAP.sub("", "\n".join(lines))
    # str.split() splits at exactly what the regex \s matches (U+3000 and NBSP included),
    # without a regex pass over every piece of text.
    return " ".join(text.split())
