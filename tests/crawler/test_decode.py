"""Charset decoding on real encoded bytes: declarations, conflicts, detection, mojibake."""

from __future__ import annotations

import runpy
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from scrapy.http import HtmlResponse, Request, TextResponse
from scrapy.utils.test import get_crawler

from crawler.decode import (
    decode_page,
    redecode_reasons,
    repair_gbk_mojibake,
    repair_latin1_mojibake,
)
from crawler.middlewares.charset import CharsetRepairMiddleware
from crawler.offline import PageProcessor

FIXTURES = Path(__file__).resolve().parent.parent / "fixtures" / "encoding"
BUILD = FIXTURES / "_build.py"
GBK_ONLY = "镕喆珺堃"


def page_bytes(name: str) -> bytes:
    return (FIXTURES / f"{name}.html").read_bytes()


def expected_text(name: str) -> str:
    return (FIXTURES / f"{name}.expected.txt").read_bytes().decode("utf-8")


# name, Content-Type header, encoding used, where it came from, replacement chars
GOLDEN_CASES = [
    ("gbk-gb2312-meta", "text/html", "gb18030", "meta", 0),
    ("gbk-gb2312-meta", None, "gb18030", "meta", 0),
    ("gbk-gb2312-meta", "text/html; charset=gb2312", "gb18030", "header", 0),
    # w3lib reads a gb2312 declaration as GB18030, so characters beyond GBK survive it.
    ("gb18030-gb2312-meta", "text/html", "gb18030", "meta", 0),
    # header and meta disagree: the header wins when it decodes (browsers)...
    ("gbk-utf8-meta", "text/html; charset=GBK", "gb18030", "header", 0),
    # ...gives way to the meta when it does not...
    ("gbk-gb2312-meta", "text/html; charset=utf-8", "gb18030", "meta", 0),
    # ...and a server's default Latin-1 loses to the page's own CJK meta.
    ("gbk-gb2312-meta", "text/html; charset=ISO-8859-1", "gb18030", "meta", 0),
    ("big5-hk-mirror", "text/html; charset=gb2312", "big5hkscs", "meta", 0),
    ("gbk-utf8-meta", "text/html", "gb18030", "none", 0),
    ("gbk-undeclared", "text/html", "gb18030", "none", 0),
    ("gbk-private-use", "text/html", "gb18030", "meta", 0),
    ("gbk-damaged", "text/html", "gb18030", "meta", 2),
    ("gb2312-pinyin-mirror", "text/html", "gb18030", "meta", 0),
    ("big5-hk-mirror", "text/html", "big5hkscs", "meta", 0),
    ("big5-hk-mirror", "text/html; charset=big5", "big5hkscs", "header", 0),
    ("big5-undeclared", None, "big5hkscs", "none", 0),
    ("utf8-gb2312-meta", "text/html", "utf-8", "none", 0),
    ("utf8-gb2312-meta", "text/html; charset=gbk", "utf-8", "none", 0),
    ("utf8-bom-gbk-meta", "text/html; charset=gbk", "utf-8", "bom", 0),
    ("utf8-double-latin1", "text/html; charset=utf-8", "utf-8", "header", 0),
    ("utf8-double-gbk", "text/html; charset=utf-8", "utf-8", "header", 0),
]


@pytest.mark.parametrize(
    ("name", "content_type", "encoding", "declared", "replacements"), GOLDEN_CASES
)
def test_golden_decoding(
    name: str, content_type: str | None, encoding: str, declared: str, replacements: int
) -> None:
    page = decode_page(page_bytes(name), content_type)
    assert page.text == expected_text(name)
    assert page.encoding == encoding
    assert page.declared == declared
    assert page.replacement_chars == replacements


def test_fixtures_match_their_build_script() -> None:
    pages = runpy.run_path(str(BUILD))["pages"]()
    stored = {p.stem for p in FIXTURES.glob("*.html")}
    assert stored == set(pages)
    for name, (raw, text) in pages.items():
        assert page_bytes(name) == raw, name
        assert expected_text(name) == text, name


def test_gb2312_declaration_keeps_gbk_only_characters() -> None:
    page = decode_page(page_bytes("gbk-gb2312-meta"), "text/html; charset=gb2312")
    for char in GBK_ONLY:
        assert char in page.text
    assert page.repaired == []


def test_big5_hkscs_and_eten_characters() -> None:
    page = decode_page(page_bytes("big5-hk-mirror"), "text/html")
    assert "嘅" in page.text  # HKSCS
    assert "園裏" in page.text  # ETEN extension F9D8
    assert page.private_use_chars == 0


@pytest.mark.parametrize(
    ("name", "content_type", "note"),
    [
        ("utf8-gb2312-meta", "text/html", "meta gb18030 overruled: the body is valid UTF-8"),
        ("utf8-bom-gbk-meta", "text/html; charset=gbk", "BOM utf-8 overrides declared gb18030"),
        (
            "gbk-gb2312-meta",
            "text/html; charset=utf-8",
            "header charset utf-8 does not decode the body; meta gb18030 used",
        ),
        ("gbk-undeclared", None, "no charset declared; the text reads as Chinese in gb18030"),
        ("utf8-double-latin1", None, "repaired 5 runs of UTF-8 read as Latin-1"),
        ("utf8-double-gbk", None, "repaired 6 runs of UTF-8 read as GBK"),
    ],
)
def test_repairs_are_reported(name: str, content_type: str | None, note: str) -> None:
    assert note in decode_page(page_bytes(name), content_type).repaired


def test_private_use_glyph_is_kept_and_counted() -> None:
    page = decode_page(page_bytes("gbk-private-use"), "text/html")
    assert page.private_use_chars == 1
    assert "李\ue000出席" in page.text


def test_damaged_bytes_are_counted_not_dropped() -> None:
    page = decode_page(page_bytes("gbk-damaged"), "text/html")
    assert page.replacement_chars == 2
    assert "\ufffd会议要求" in page.text
    assert page.text.endswith("全部\ufffd")


@pytest.mark.parametrize(
    ("body", "content_type", "text"),
    [
        (b"", None, ""),
        (b"<p>plain ASCII</p>", None, "<p>plain ASCII</p>"),
        (b"<p>plain ASCII</p>", "text/html; charset=nonsense-charset", "<p>plain ASCII</p>"),
        ("<p>短</p>".encode(), None, "<p>短</p>"),
        ("<p>园区</p>".encode("utf-16-le"), "text/html; charset=utf-16le", "<p>园区</p>"),
        (b"\xff\xfe" + "<p>园区</p>".encode("utf-16-le"), None, "<p>园区</p>"),
    ],
)
def test_edge_cases(body: bytes, content_type: str | None, text: str) -> None:
    assert decode_page(body, content_type).text == text


def test_hint_is_tried_before_detection() -> None:
    body = "<p>园区</p>".encode("gbk")
    page = decode_page(body, None, hint="gbk")
    assert (page.text, page.encoding, page.declared) == ("<p>园区</p>", "gb18030", "site")


def test_detection_alone_misreads_the_undeclared_gb18030_page() -> None:
    """Why a site's charset is worth declaring (and what makes the page a test of it)."""
    assert decode_page(page_bytes("gb18030-undeclared"), None).text != expected_text(
        "gb18030-undeclared"
    )


# name, Content-Type header, the site's charset, encoding used, where it came from
SITE_CHARSET_CASES = [
    # the page says nothing, or only a server's Western default: the site's charset decodes it
    ("gb18030-undeclared", None, "gb18030", "gb18030", "site"),
    ("gb18030-undeclared", "text/html", "gb18030", "gb18030", "site"),
    ("gb18030-undeclared", "text/html; charset=ISO-8859-1", "gb18030", "gb18030", "site"),
    ("gb18030-undeclared", "text/html", "gbk", "gb18030", "site"),
    ("gbk-undeclared", None, "gb18030", "gb18030", "site"),
    # the page names the site's charset, or a label it contains: the page's declaration
    ("gb18030-gb2312-meta", "text/html", "gb18030", "gb18030", "meta"),
    ("gb18030-gb2312-meta", "text/html; charset=gb2312", "gb18030", "gb18030", "header"),
    ("big5-hk-mirror", "text/html", "big5hkscs", "big5hkscs", "meta"),
    # never over a BOM, a valid UTF-8 body or another charset the page declares and that fits
    ("utf8-bom-gbk-meta", None, "gb18030", "utf-8", "bom"),
    ("utf8-gb2312-meta", None, "gb18030", "utf-8", "none"),
    ("big5-hk-mirror", "text/html", "gb18030", "big5hkscs", "meta"),
    ("big5-undeclared", "text/html; charset=big5", "gb18030", "big5hkscs", "header"),
]


@pytest.mark.parametrize(
    ("name", "content_type", "hint", "encoding", "declared"), SITE_CHARSET_CASES
)
def test_a_site_charset_decodes_pages_that_declare_none(
    name: str, content_type: str | None, hint: str, encoding: str, declared: str
) -> None:
    page = decode_page(page_bytes(name), content_type, hint=hint)
    assert page.text == expected_text(name)
    assert (page.encoding, page.declared) == (encoding, declared)
    assert page.replacement_chars == 0


CONTENT_TYPES = [
    None,
    "text/html",
    "text/html; charset=utf-8",
    "text/html; charset=gb2312",
    "text/html; charset=x",
]


@settings(max_examples=150, deadline=None)
@given(st.binary(max_size=400), st.sampled_from(CONTENT_TYPES))
def test_any_bytes_decode_without_error(body: bytes, content_type: str | None) -> None:
    page = decode_page(body, content_type)
    assert page.replacement_chars == page.text.count("\ufffd")
    assert isinstance(page.encoding, str)


@pytest.mark.parametrize(
    "text",
    [
        "苏州工业园区召开党工委政法工作会议暨基层社会治理和法治建设工作推进大会",
        "高新區召開平安建設工作、掃黑除惡專項鬥爭總結大會暨數字法治推進會",
        "香港科學園舉辦創科博覽，一眾初創企業喺園裏展示最新成果",
        "Café, naïve, São Paulo, Ångström, “quoted” — façade",
        "温度为25°C，湿度±5%，面积约3×10²平方米",
    ],
)
def test_genuine_text_is_not_taken_for_mojibake(text: str) -> None:
    assert repair_latin1_mojibake(text) == (text, 0)
    assert repair_gbk_mojibake(text) == (text, 0)


@pytest.mark.parametrize(
    "path",
    sorted([*FIXTURES.glob("*.expected.txt"), FIXTURES / "binjiang-mirror.txt"]),
    ids=lambda p: p.name,
)
def test_fixture_texts_are_not_taken_for_mojibake(path: Path) -> None:
    text = path.read_text("utf-8")
    assert repair_latin1_mojibake(text) == (text, 0)
    assert repair_gbk_mojibake(text) == (text, 0)


@pytest.mark.parametrize(
    ("original", "wrong"),
    [
        ("园区举办人才峰会，来自各地的人才代表参会", "latin-1"),
        ("数字园区", "cp1252"),  # no byte cp1252 leaves undefined
        ("园区举办人才峰会，来自各地的人才代表参会", "gb18030"),
    ],
)
def test_lossless_mojibake_is_repaired(original: str, wrong: str) -> None:
    misread = original.encode("utf-8").decode(wrong)
    repaired, _ = repair_gbk_mojibake(repair_latin1_mojibake(misread)[0])
    assert repaired == original


def test_mojibake_that_lost_bytes_is_left_alone() -> None:
    # cp1252 has no character for byte 0x81: "、" (E3 80 81) lost its last byte.
    misread = "园区、数字".encode().decode("cp1252", "replace")
    repaired, runs = repair_latin1_mojibake(misread)
    assert repaired == "园区ã€\ufffd数字"
    assert runs == 2


# --- the downloader middleware -----------------------------------------------------------------

URL = "http://www.example.gov.cn/art/2024/5/8/art_1_1.html"


def html_response(name: str, content_type: str) -> HtmlResponse:
    return HtmlResponse(
        URL, body=page_bytes(name), headers={"Content-Type": content_type}, request=Request(URL)
    )


@pytest.fixture
def middleware() -> CharsetRepairMiddleware:
    crawler = get_crawler()
    mw = CharsetRepairMiddleware.from_crawler(crawler)
    return mw


def stat(mw: CharsetRepairMiddleware, name: str) -> object:
    assert mw.stats is not None
    return mw.stats.get_value(f"parknews/charset/{name}")


@pytest.mark.parametrize(
    ("name", "content_type", "reason"),
    [
        ("utf8-gb2312-meta", "text/html", "utf8_body"),
        ("big5-hk-mirror", "text/html; charset=gb2312", "private_use"),
        ("gbk-gb2312-meta", "text/html; charset=utf-8", "replacement"),
        ("utf8-double-gbk", "text/html", "mojibake"),
    ],
)
def test_middleware_redecodes_bad_responses(
    middleware: CharsetRepairMiddleware, name: str, content_type: str, reason: str
) -> None:
    response = html_response(name, content_type)
    assert response.text != expected_text(name)  # Scrapy alone gets these wrong
    result = middleware.process_response(response.request, response)
    assert isinstance(result, HtmlResponse)
    assert result.text == expected_text(name)
    assert result.encoding == "utf-8"
    assert stat(middleware, "redecoded") == 1
    assert stat(middleware, f"reason/{reason}") == 1


def test_middleware_counts_header_meta_mismatch(middleware: CharsetRepairMiddleware) -> None:
    response = html_response("gbk-gb2312-meta", "text/html; charset=utf-8")
    middleware.process_response(response.request, response)
    assert stat(middleware, "reason/header_meta_mismatch") == 1


def test_middleware_leaves_good_responses_alone(middleware: CharsetRepairMiddleware) -> None:
    response = html_response("gbk-gb2312-meta", "text/html")
    assert middleware.process_response(response.request, response) is response
    assert stat(middleware, "checked") == 1
    assert stat(middleware, "redecoded") is None


def test_middleware_reports_lossy_pages(
    middleware: CharsetRepairMiddleware, caplog: pytest.LogCaptureFixture
) -> None:
    response = html_response("gbk-damaged", "text/html")
    result = middleware.process_response(response.request, response)
    assert result.text == expected_text("gbk-damaged")
    assert stat(middleware, "lossy") == 1
    assert stat(middleware, "replacement_chars") == 2
    assert URL in caplog.text


def test_middleware_skips_non_html(middleware: CharsetRepairMiddleware) -> None:
    response = TextResponse(URL, body=b"\xff\xfe", headers={"Content-Type": "text/plain"})
    assert middleware.process_response(Request(URL), response) is response


def test_middleware_can_be_disabled() -> None:
    from scrapy.exceptions import NotConfigured

    crawler = get_crawler(settings_dict={"PARKNEWS_CHARSET_REPAIR_ENABLED": False})
    with pytest.raises(NotConfigured):
        CharsetRepairMiddleware.from_crawler(crawler)


def test_reasons_are_empty_for_a_clean_page() -> None:
    body = page_bytes("gbk-gb2312-meta")
    assert redecode_reasons(expected_text("gbk-gb2312-meta"), body, "text/html") == []


DONGHU_URL = "http://www.wehdz.gov.cn/info/1022/10093.htm"


@pytest.mark.parametrize("content_type", ["text/html", "text/html; charset=ISO-8859-1"])
def test_middleware_decodes_with_the_site_charset(
    middleware: CharsetRepairMiddleware, content_type: str
) -> None:
    body = page_bytes("gb18030-undeclared")
    response = HtmlResponse(DONGHU_URL, body=body, headers={"Content-Type": content_type})
    result = middleware.process_response(Request(DONGHU_URL), response)
    assert result.text == expected_text("gb18030-undeclared")
    assert stat(middleware, "reason/site_charset") == 1


def test_middleware_gives_no_site_charset_to_a_site_without_one(
    middleware: CharsetRepairMiddleware,
) -> None:
    response = html_response("gb18030-undeclared", "text/html")
    middleware.process_response(response.request, response)
    assert stat(middleware, "reason/site_charset") is None


def test_middleware_takes_the_charset_of_a_park_of_the_user_file(tmp_path: Path) -> None:
    sites = tmp_path / "parks.toml"
    sites.write_text(
        '[[site]]\nkey = "example"\nname = "示例园区"\nencoding = "gb18030"\n'
        f'sections = [{{ name = "要闻", url = "{URL}" }}]\n',
        encoding="utf-8",
    )
    crawler = get_crawler(settings_dict={"PARKNEWS_SITES_FILE": str(sites)})
    mw = CharsetRepairMiddleware.from_crawler(crawler)
    response = html_response("gb18030-undeclared", "text/html")
    assert mw.process_response(response.request, response).text == expected_text(
        "gb18030-undeclared"
    )


def test_a_saved_page_is_decoded_with_its_site_charset() -> None:
    processor = PageProcessor()
    raw = page_bytes("gb18030-undeclared")
    assert processor.text(raw, DONGHU_URL) == expected_text("gb18030-undeclared")
    assert processor.text(raw, DONGHU_URL, site="generic") != expected_text("gb18030-undeclared")
