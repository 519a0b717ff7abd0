"""One byline vocabulary: the extractor, reading the meta line around the headline, and the
cleaning step, lifting it out of the body, read the same fields from the same line."""

from __future__ import annotations

import pytest

from crawler.extract.metaline import is_meta_line, read_meta_line
from pipelines.boilerplate.metadata import lift_metadata, parse_field_line

PARAGRAPH = "园区召开2024年科技创新大会，表彰一批创新企业和人才，部署下一阶段重点工作。"


@pytest.mark.parametrize(
    ("line", "published_at", "source", "author"),
    [
        ("发布时间：2024-03-15 10:20 来源：日报", "2024-03-15T10:20:00+08:00", "日报", None),
        ("发布日期：2024-04-02 信息来源：科创委 作者：张三", "2024-04-02", "科创委", "张三"),
        ("发布时间：2024-04-02 来  源：管委会 作  者：李四", "2024-04-02", "管委会", "李四"),
        ("發布時間：2024-04-02 來源：園區管委會", "2024-04-02", "園區管委會", None),
        ("发布日期：2024-05-06 记者：王五 浏览次数：12", "2024-05-06", None, "王五"),
    ],
)
def test_the_extractor_and_the_cleaning_read_a_meta_line_alike(
    line: str, published_at: str, source: str | None, author: str | None
) -> None:
    assert is_meta_line(line)
    read = read_meta_line(line)
    assert (read.published_at, read.source, read.author) == (published_at, source, author)
    assert parse_field_line(line) is not None
    _, lifted = lift_metadata([line, PARAGRAPH])
    assert (lifted.published_at, lifted.source, lifted.author) == (published_at, source, author)


@pytest.mark.parametrize(
    "line",
    [
        "索 引 号：bm55000001/2024-00012 主题分类：行政处罚",
        "办文部门：浙江监管局 发文日期：2024-06-03",
        "公文名称：国家金融监督管理总局浙江监管局行政处罚信息公开表（浙金罚决字〔2024〕52号）",
        "文 号：浙金罚决字〔2024〕52号",
    ],
)
def test_a_document_register_above_the_article_is_lifted(line: str) -> None:
    blocks, _ = lift_metadata([line, PARAGRAPH])
    assert blocks == [PARAGRAPH]


def test_a_register_label_inside_a_sentence_stays() -> None:
    sentence = "文号：浙金罚决字〔2024〕52号。该决定已依法送达当事人，当事人未提出异议。"
    assert lift_metadata([sentence, PARAGRAPH])[0] == [sentence, PARAGRAPH]
