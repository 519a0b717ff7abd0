"""Properties of page decoding and extraction (crawler/decode.py, crawler/extract/, and the
whole page-to-record path): any bytes decode, any text extracts or is "not an article", and a
page whose article has paragraphs gives a record with those paragraphs."""

from __future__ import annotations

import contextlib
import html
from functools import cache

from hypothesis import example, given, settings
from hypothesis import strategies as st

from crawler.decode import decode_page
from crawler.extract import NotAnArticle
from crawler.offline import PageProcessor
from tests.conftest import extract_page
from tests.properties.strategies import CJK_PUNCTUATION, HANZI, clause, paragraph, prose

URL = "http://faults.test/news/202401/t20240101_1.shtml"
CONTENT_TYPES = st.one_of(
    st.none(),
    st.text(max_size=40),
    st.sampled_from(
        [
            "text/html",
            "text/html; charset=gb2312",
            "text/html; charset=UTF-8",
            "text/html;charset=big5",
            "text/html; charset=x-no-such-charset",
            "text/html; charset=",
            "text/html; charset=utf-16",
            'text/html; charset="gbk"',
            "application/pdf",
        ]
    ),
)
BODIES = st.one_of(
    st.binary(max_size=400),
    st.text(max_size=120).map(lambda t: t.encode("utf-8")),
    st.text(alphabet=HANZI + CJK_PUNCTUATION + "<>/p ", max_size=120).map(
        lambda t: t.encode("gb18030")
    ),
    st.tuples(st.text(max_size=20), st.binary(max_size=100)).map(
        lambda pair: f'<meta charset="{pair[0]}">'.encode("utf-8", "replace") + pair[1]
    ),
    st.tuples(
        st.sampled_from([b"\xef\xbb\xbf", b"\xff\xfe", b"\xfe\xff", b"\xff\xfe\x00\x00"]),
        st.binary(max_size=60),
    ).map(b"".join),
)
PAGE_TEXT = HANZI[:400] + CJK_PUNCTUATION + "abcXYZ0129 \n"


@settings(max_examples=400)
@given(BODIES, CONTENT_TYPES)
def test_decode_page_never_raises(body: bytes, content_type: str | None) -> None:
    page = decode_page(body, content_type)
    assert page.replacement_chars == page.text.count("\ufffd")
    assert not page.text.startswith("\ufeff")


@settings(max_examples=200)
@given(
    st.text(alphabet=PAGE_TEXT, max_size=200),
    st.sampled_from([("utf-8", "utf-8"), ("gb18030", "gb2312"), ("gb18030", "gbk")]),
    st.booleans(),
)
def test_decode_page_gives_back_the_text_it_was_told_about(
    text: str, charset: tuple[str, str], in_meta: bool
) -> None:
    codec, declared = charset
    if in_meta:
        page = f'<html><head><meta charset="{declared}"></head><body>{text}</body></html>'
        decoded = decode_page(page.encode(codec), "text/html")
    else:
        page = text
        decoded = decode_page(page.encode(codec), f"text/html; charset={declared}")
    assert decoded.text == page
    assert decoded.replacement_chars == 0


fragments = st.sampled_from(
    [
        "<html>",
        "<body>",
        "<div>",
        "</div>",
        "<p>",
        "</p>",
        "<br>",
        "<h1>",
        "</h1>",
        "<title>",
        "</title>",
        '<div class="TRS_Editor">',
        '<div id="zoom" style="display:none">',
        "<table><tr><td>",
        "</td></tr></table>",
        "<script>",
        "</script>",
        "<!--",
        "-->",
        "<![CDATA[",
        "]]>",
        "<?xml version='1.0'?>",
        '<meta name="ArticleTitle" content="园区召开会议">',
        '<meta name="PubDate" content="2024-13-45 99:99">',
        '<a href="/news/a.pdf">附件.pdf</a>',
        '<a href="javascript:void(0)">打印</a>',
        '<img src="/upload/1.jpg" alt="图">',
        '<link rel="canonical" href="/news/202401/t20240101_1.shtml">',
        "\x00",
        "\x0c",
        "&#0;",
        "&#x110000;",
        "&nbsp;",
        "发布时间：2024年1月1日 来源：园区",
        "责任编辑：张三",
    ]
)
html_soup = st.lists(st.one_of(fragments, paragraph, st.text(max_size=12)), max_size=30).map(
    "".join
)


@settings(max_examples=150)
@given(st.one_of(st.text(max_size=300), html_soup))
def test_extract_raises_nothing_but_not_an_article(text: str) -> None:
    try:
        found = extract_page(text, URL)
    except NotAnArticle:
        return
    assert found["title"]
    assert found["body"]


@settings(max_examples=100)
@example(text='<div class="TRS_Editor"><a href="http://[附件链接]/a.pdf">附件.pdf</a></div>')
@example(text='<link rel="canonical" href="http://[::1">')
@given(
    st.tuples(st.sampled_from(["a href", "img src", "link rel=canonical href"]), clause).map(
        lambda pair: f'<p>{"，".join([pair[1]] * 3)}。</p><{pair[0]}="http://[{pair[1]}]/x.pdf">'
    )
)
def test_extract_survives_a_placeholder_url(text: str) -> None:
    with contextlib.suppress(NotAnArticle):
        extract_page(text, URL)


@cache
def processor() -> PageProcessor:
    return PageProcessor()


def article_page(title: str, paragraphs: list[str], container: str) -> str:
    body = "\n".join(f"<p>{html.escape(p)}</p>" for p in paragraphs)
    return (
        f'<html><head><meta charset="utf-8"><title>{html.escape(title)}</title></head><body>'
        f'<div class="nav"><a href="/">首页</a> <a href="/news/">新闻</a></div>'
        f"<h1>{html.escape(title)}</h1><div>发布时间：2024-01-01 09:30</div>"
        f"{container.format(body=body)}"
        '<div class="footer">版权所有 园区管委会</div></body></html>'
    )


@settings(max_examples=80)
@given(
    clause,
    st.lists(prose, min_size=2, max_size=6, unique=True),
    st.sampled_from(
        [
            '<div class="TRS_Editor">{body}</div>',
            '<div id="zoom">{body}</div>',
            "<article>{body}</article>",
            "<div><div>{body}</div></div>",
            "<table><tr><td>{body}</td></tr></table>",
        ]
    ),
)
def test_a_page_whose_article_has_paragraphs_gives_them_all(
    title: str, paragraphs: list[str], container: str
) -> None:
    page = article_page(title, paragraphs, container)
    record = processor().record(page.encode("utf-8"), URL, content_type="text/html")
    assert record["body"]
    kept = record["body"].split("\n")
    assert [p for p in paragraphs if p not in kept and p != title] == []
