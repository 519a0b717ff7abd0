"""Whitespace of text taken from HTML."""

from __future__ import annotations

import pytest

from crawler.text.inline import clean_inline


@pytest.mark.parametrize(
    ("text", "cleaned"),
    [
        ("", ""),
        (" \n\t ", ""),
        ("园区\n新闻", "园区新闻"),
        ("园区 \t\r\n   新闻", "园区新闻"),
        ("园区\n\n  \n新闻", "园区新闻"),
        ("园区\n\u3000新闻", "园区新闻"),  # the wrap runs on to the next character
        ("园区\u3000\n新闻", "园区 新闻"),  # a space the page typed stays a space
        ("园区 \u3000 \n新闻", "园区 新闻"),
        ("园区\nnews", "园区 news"),
        ("park\n新闻", "park 新闻"),
        ("park\nnews", "park news"),
        ("园区，\n新闻。", "园区，新闻。"),  # full-width punctuation is Chinese text too
        ("园区\xa0\n新闻", "园区 新闻"),
        ("园区\n\xa0新闻", "园区新闻"),
        ("园区  新闻", "园区 新闻"),
        ("\n园区\n", "园区"),
        ("一\n二\n三", "一二三"),
    ],
)
def test_clean_inline(text: str, cleaned: str) -> None:
    assert clean_inline(text) == cleaned
