"""What the quality benchmark feeds the scores: golden pages found, HTML output as text."""

from __future__ import annotations

import pytest

from benchmarks import GOLDEN_SITES, load_pages
from benchmarks.quality import html_text


def test_every_golden_record_has_its_page() -> None:
    records = list(GOLDEN_SITES.rglob("*.expected.json"))
    pages = load_pages()
    assert len(pages) == len(records)
    assert all(page.url == page.expected["url"] for page in pages)


@pytest.mark.parametrize(
    ("fragment", "text"),
    [
        ("<div><p>第一段。</p><p>第二 <b>段</b>。</p></div>", "第一段。\n第二 段。"),
        ("<div>甲<br>乙<script>var x;</script></div>", "甲\n乙"),
        ("<div><p>\u3000\u3000首行缩进。</p>\n\n<p> </p></div>", "首行缩进。"),
        ("", ""),
    ],
)
def test_html_text(fragment: str, text: str) -> None:
    assert html_text(fragment) == text
