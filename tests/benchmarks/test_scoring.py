"""The benchmark scores on small hand-computed cases."""

from __future__ import annotations

import pytest

from benchmarks.scoring import (
    BodyScore,
    Extracted,
    Timestamp,
    body_score,
    date_matches,
    leaked_boilerplate,
    parse_timestamp,
    repeated_paragraphs,
    score_page,
    summarise,
    title_matches,
)

PARAGRAPH = "园区举办2024人才峰会，三百余名人才代表参会。"  # 23 characters
SHORT = "编辑：张三"


@pytest.mark.parametrize(
    ("output", "expected", "score"),
    [
        # a, b shared; c extra; d missing: 2 of 3 each way
        ("ab c", "abd", BodyScore(2 / 3, 2 / 3, 2 / 3)),
        # one "a" too many: precision 2/3, recall 1, F1 = 2·(2/3)/(5/3)
        ("aab", "ab", BodyScore(2 / 3, 1.0, 0.8)),
        # whitespace of every kind is ignored, order is not scored
        ("园 区\u3000新\xa0闻\n", "园区新闻", BodyScore(1.0, 1.0, 1.0)),
        ("闻新区园", "园区新闻", BodyScore(1.0, 1.0, 1.0)),
        # a breadcrumb line: 4 right of 11 output characters, F1 = 2·(4/11)/(15/11)
        ("园区新闻\n当前位置：首页", "园区新闻", BodyScore(4 / 11, 1.0, 8 / 15)),
        ("xyz", "园区新闻", BodyScore(0.0, 0.0, 0.0)),
        ("", "园区新闻", BodyScore(0.0, 0.0, 0.0)),
        (" \n", "", BodyScore(1.0, 1.0, 1.0)),
        ("园区", "", BodyScore(0.0, 1.0, 0.0)),
        # compared in Simplified script: a Traditional expected body, Simplified output
        ("距墨尔本西北约110公里", "距墨爾本西北約110公里", BodyScore(1.0, 1.0, 1.0)),
        # 園區要聞 is 园区要闻: three of four characters shared
        ("园区新闻", "園區要聞", BodyScore(0.75, 0.75, 0.75)),
    ],
)
def test_body_score(output: str, expected: str, score: BodyScore) -> None:
    got = body_score(output, expected)
    assert got.precision == pytest.approx(score.precision)
    assert got.recall == pytest.approx(score.recall)
    assert got.f1 == pytest.approx(score.f1)


@pytest.mark.parametrize(
    ("found", "expected", "match"),
    [
        ("园区 新闻", "园区 新闻", True),
        (" 园区\u3000 新闻\n", "园区 新闻", True),
        ("园区新闻", "园区 新闻", False),
        ("园区新闻_园区要闻_示例园区", "园区新闻", False),
        (None, "园区新闻", False),
        ("", "园区新闻", False),
        ("昨天去金矿玩", "昨天去金礦玩", True),
    ],
)
def test_title_matches(found: str | None, expected: str, match: bool) -> None:
    assert title_matches(found, expected) is match


@pytest.mark.parametrize(
    ("text", "stamp"),
    [
        ("2024-03-15T17:57:00+08:00", Timestamp("2024-03-15", "17:57:00")),
        ("发布时间：2024年3月5日 9时30分", Timestamp("2024-03-05", "09:30:00")),
        ("2024/5/6", Timestamp("2024-05-06", None)),
        ("2024-02-30 then 2024-03-01", Timestamp("2024-03-01", None)),
        ("no date", None),
        (None, None),
    ],
)
def test_parse_timestamp(text: str | None, stamp: Timestamp | None) -> None:
    assert parse_timestamp(text) == stamp


@pytest.mark.parametrize(
    ("found", "expected", "day", "full"),
    [
        ("2024-03-15 17:57", "2024-03-15T17:57:00+08:00", True, True),
        ("2024-03-15", "2024-03-15T17:57:00+08:00", True, False),
        ("2024-03-15 18:00", "2024-03-15T17:57:00+08:00", True, False),
        ("2024-03-16 17:57", "2024-03-15T17:57:00+08:00", False, False),
        ("2024-03-15", "2024-03-15", True, True),
        ("2024/3/15 09:00", "2024-03-15", True, False),
        (None, "2024-03-15", False, False),
        (None, None, True, True),
    ],
)
def test_date_matches(found: str | None, expected: str | None, day: bool, full: bool) -> None:
    assert date_matches(found, expected) == (day, full)


def test_leaked_footer_is_counted_and_article_sentence_is_not() -> None:
    expected = "正文第一段。\n如有疑问请联系我们的服务热线。"
    output = "正文第一段。\n分享到： 微信  微博\n如有疑问请联系我们的服务热线。\n版權所有 示例园区"
    assert leaked_boilerplate(output, expected) == ["分享到： 微信 微博", "版權所有 示例园区"]


def test_leak_check_ignores_paragraph_layout() -> None:
    expected = "正文第一段。\n如有疑问请联系我们的服务热线。"
    merged = "正文第一段。 如有疑问请联系我们的服务热线。"
    assert leaked_boilerplate(merged, expected) == []
    assert leaked_boilerplate(merged + " 联系我们", expected) == [merged + " 联系我们"]


def test_line_without_marker_is_not_a_leak() -> None:
    assert leaked_boilerplate("正文第一段。\n编辑：张三", "正文第一段。") == []


def test_repeated_paragraphs() -> None:
    other = "另一段不重复的正文内容，长度足够十五个字。"
    output = "\n".join([PARAGRAPH, SHORT, other, PARAGRAPH, SHORT])
    assert repeated_paragraphs(output) == [PARAGRAPH]


def test_repeats_the_expected_body_has_are_not_counted() -> None:
    twice = f"{PARAGRAPH}\n{PARAGRAPH}"
    assert repeated_paragraphs(twice, expected=twice) == []
    assert repeated_paragraphs(f"{twice}\n {PARAGRAPH} ", expected=twice) == [PARAGRAPH]


def test_score_page_and_summary() -> None:
    expected = Extracted("园区新闻", "2024-03-15T17:57:00+08:00", f"{PARAGRAPH}\n第二段。")
    found = Extracted(
        "园区新闻", "2024-03-15", f"{PARAGRAPH}\n第二段。\n{PARAGRAPH}\n打印本页 关闭窗口"
    )
    page = score_page(found, expected)
    assert not page.failed
    assert page.title_match and page.date_match and not page.timestamp_match
    assert page.leaked_lines == ("打印本页 关闭窗口",)
    assert page.repeated == (PARAGRAPH,)
    assert page.body.recall == pytest.approx(1.0)

    failed = score_page(None, expected)
    assert failed.failed and failed.body.f1 == 0.0 and not failed.title_match

    summary = summarise([page, failed])
    assert summary.pages == 2 and summary.failed == 1
    assert summary.title_rate == pytest.approx(0.5)
    assert summary.f1 == pytest.approx(page.body.f1 / 2)
    assert (summary.leaked_lines, summary.leak_pages) == (1, 1)
    assert (summary.repeated, summary.repeat_pages) == (1, 1)
