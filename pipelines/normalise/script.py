"""Which script a text is written in, and its conversion to Simplified with OpenCC."""

from __future__ import annotations

import re
from typing import Literal

import opencc

Script = Literal["Hans", "Hant"]

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
