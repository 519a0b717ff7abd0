"""Furniture words: the lookahead on their first characters finds what the words alone find."""

from __future__ import annotations

import re

import pytest

from crawler.text.vocabulary import FURNITURE_LINE, FURNITURE_WORDS, first_characters

WORDS_ALONE = re.compile("|".join(FURNITURE_WORDS))


@pytest.mark.parametrize(
    "line",
    [
        "版权所有：苏州工业园区管理委员会",
        "Copyright © 2024 园区",
        "COPYRIGHT 2024",
        "苏ICP备05005414号",
        "转载请务必注明出处",
        "本文不代表本站观点",
        "地址 ：苏州市现代大道",
        "E-mail: office@sipac.gov.cn",
        "EMAIL：office@sipac.gov.cn",
        "园区召开会议，部署全年工作。",
        "",
        "\u3000\u3000",
        "电话号码",
    ],
)
def test_furniture_line_finds_what_its_words_find(line: str) -> None:
    found, alone = FURNITURE_LINE.search(line), WORDS_ALONE.search(line)
    assert (found and found.span()) == (alone and alone.span())


def test_first_characters_of_words_cover_case_variants() -> None:
    assert first_characters(("版权", "(?i:email)", "ICP")) == "版eEI"


@pytest.mark.parametrize("word", ["[ab]c", "(?:a|b)", r"\d+"])
def test_first_characters_refuse_a_word_opening_with_markup(word: str) -> None:
    with pytest.raises(ValueError, match="plain character"):
        first_characters((word,))
