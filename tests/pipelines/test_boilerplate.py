"""Tests for pipelines.boilerplate: line patterns, metadata lifting, site template, the chain."""

from __future__ import annotations

import json
from dataclasses import asdict
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from crawler.state.store import StateStore
from pipelines.boilerplate import CleanBodyPipeline, CleanResult, clean_blocks
from pipelines.boilerplate.lines import drop_boilerplate_lines, is_boilerplate_line
from pipelines.boilerplate.metadata import LiftedMetadata, drop_title, lift_metadata
from pipelines.boilerplate.template import SiteTemplate

BLOCK_FIXTURES = Path(__file__).resolve().parents[1] / "fixtures" / "blocks"

P1 = "3月15日上午，园区召开党工委政法工作会议，研究部署今后一个时期政法和基层社会治理工作任务。"
P2 = "过去一年，全区政法系统忠诚履职、担当作为，群众安全感测评结果位居全市第一。"
P3 = "会议要求，要持之以恒强化平安建设，全力营造和谐安全稳定的发展环境。"


def read_blocks(path: Path) -> list[str]:
    """Blocks of a fixture: one per line, stripped, blank lines skipped."""
    lines = path.read_text(encoding="utf-8").splitlines()
    return [line.strip() for line in lines if line.strip()]


# --- Golden fixtures ----------------------------------------------------------------------

CASES = sorted(path.stem for path in BLOCK_FIXTURES.glob("*.txt"))


def test_every_block_fixture_has_an_expected_file() -> None:
    assert "sipac-repeated-article" in CASES
    for case in CASES:
        assert (BLOCK_FIXTURES / f"{case}.expected.json").is_file(), case


@pytest.mark.parametrize("case", CASES)
def test_block_fixture_cleans_to_expected(case: str) -> None:
    expected: dict[str, Any] = json.loads(
        (BLOCK_FIXTURES / f"{case}.expected.json").read_text(encoding="utf-8")
    )
    result = clean_blocks(read_blocks(BLOCK_FIXTURES / f"{case}.txt"))
    got = asdict(result.metadata)
    got["captions"] = list(got["captions"])
    for name, value in expected["metadata"].items():
        assert got[name] == value, f"metadata field {name!r}"
    assert list(result.blocks) == expected["blocks"]


def test_sipac_sample_matches_the_shared_expected_record() -> None:
    record: dict[str, Any] = json.loads(
        (BLOCK_FIXTURES / "sipac-repeated-article.expected.json").read_text(encoding="utf-8")
    )
    raw = (BLOCK_FIXTURES / "sipac-repeated-article.txt").read_text(encoding="utf-8")
    assert "编辑\u2002朱霜\u2002摄影\u2002周志杭" in raw
    result = clean_blocks(read_blocks(BLOCK_FIXTURES / "sipac-repeated-article.txt"))
    assert "\n".join(result.blocks) == "\n".join(record["blocks"])
    assert result.metadata.published_at == "2024-03-15T17:57:00+08:00"
    assert result.metadata.source is None
    assert result.metadata.editor == "朱霜"
    assert result.metadata.photographer == "周志杭"
    assert result.metadata.signature_date == "2024-03-15"
    assert all("信息标题" not in block and "编辑" not in block for block in result.blocks)


# --- Boilerplate lines --------------------------------------------------------------------


@pytest.mark.parametrize(
    "line",
    [
        # breadcrumbs and home links
        "当前位置: 首页\xa0>\xa0新闻中心\xa0>\xa0图说园区",
        "您现在的位置：首页 » 通知公告",
        "首页 > 新闻中心 > 园区要闻",
        "返回首页",
        "返回管委会首页",
        "【返回顶部】",
        # language and accessibility switchers
        "繁體 |English |日语 |无障碍 |关怀版",
        "简体 | 繁體",
        "无障碍浏览",
        # font size
        "字号：大 中 小",
        "【字号：大 中 小】",
        "字体：【大】【中】【小】",
        # view counters
        "浏览量:",
        "浏览次数：",
        "浏览次数：1,024",
        "阅读：356次",
        # share bars
        "分享到:",
        "分享到： 微信 微博 QQ空间",
        # print / close
        "打印此页|关闭窗口",
        "【打印本页】【关闭窗口】",
        "[打印] [关闭]",
        "【我要打印】【加入收藏】",
        # previous / next
        "上一篇：园区举办人才周活动",
        "下一篇：没有了",
        "上一条 园区召开科技创新大会",
        "[上一篇] [下一篇]",
        # QR captions
        "扫一扫在手机打开当前页",
        "手机扫码阅读",
        "微信扫一扫分享",
        "用微信扫一扫，点击右上角分享按钮，将本文分享给您的好友或朋友圈。",
        "打开微信，点击底部的“发现”，使用“扫一扫”即可将网页分享至朋友圈。",
        "更多>>",
        # comment sections
        "发表评论",
        "网友评论 (5)",
        "Post Comment",
        # footers
        "主办单位：苏州工业园区管理委员会 承办单位：苏州工业园区党政办公室",
        "网站主办：苏州工业园区管理委员会",
        "版权所有：苏州工业园区管理委员会",
        "版权所有 © 苏州工业园区总工会",
        "Copyright © 2024 www.sipac.gov.cn All Rights Reserved",
        "苏ICP备05005414号-1",
        "网站标识码：3205000010",
        "苏公网安备 32059002001413号",
        "联系我们 | 网站地图",
        "网站地图",
        "建议使用1920×1080分辨率、IE10以上浏览器浏览本站",
        # related links on one line
        "相关链接：园区召开科技创新大会",
        # mixed chrome on one line
        "【字号：大 中 小】【打印本页】【关闭窗口】 浏览次数：12",
    ],
)
def test_boilerplate_line_is_dropped(line: str) -> None:
    assert is_boilerplate_line(line)
    assert drop_boilerplate_lines([P1, line, P2]) == [P1, P2]


LOOK_ALIKES = [
    "来源于企业的反馈显示，园区营商环境持续优化。",
    "时间就是效率，园区项目建设跑出加速度。",
    "2024年3月15日，园区召开党工委政法工作会议。",
    "一、聚焦科技创新",
    "主办单位：园区科技创新委员会",
    "地点：园区会议中心二楼报告厅",
    "扫描二维码即可报名参加本次活动",
    "首页设计简洁明了，深受用户欢迎。",
    "返回家乡创业的青年越来越多。",
    "关闭了一批落后产能企业。",
    "打印机",
    "分享经验，共同进步。",
    "依法保护著作权人的版权所有权益。",
    "您的位置很重要",
    "上篇文章介绍了园区的人才政策。",
    "联系我们的企业服务专员可获得帮助。",
    "中国",
    "居民可用微信扫一扫社区二维码，分享办事经验。园区将择优推广。",
    "更多企业将在年内入驻。",
    "评论员文章指出，园区营商环境持续优化。",
]


@pytest.mark.parametrize("line", LOOK_ALIKES)
def test_look_alike_sentence_is_not_boilerplate(line: str) -> None:
    assert not is_boilerplate_line(line)


@pytest.mark.parametrize("line", LOOK_ALIKES)
def test_look_alike_sentence_survives_the_chain_mid_article(line: str) -> None:
    result = clean_blocks([P1, line, P2])
    assert list(result.blocks) == [P1, line, P2]


@pytest.mark.parametrize(
    "line",
    [
        "来源于企业的反馈显示，园区营商环境持续优化。",
        "时间就是效率，园区项目建设跑出加速度。",
        "2024年3月15日，园区召开党工委政法工作会议。",
    ],
)
def test_look_alike_sentence_survives_as_first_or_last_paragraph(line: str) -> None:
    assert list(clean_blocks([line, P2]).blocks) == [line, P2]
    assert list(clean_blocks([P2, line]).blocks) == [P2, line]


def test_heading_before_the_first_paragraph_stays() -> None:
    blocks = ["时间: 2024-03-15 17:57 |来源: |浏览量:|字号:", "一、聚焦科技创新", P1]
    assert list(clean_blocks(blocks).blocks) == ["一、聚焦科技创新", P1]


def test_related_list_with_items_is_dropped_up_to_the_next_paragraph() -> None:
    blocks = [P1, "相关阅读", "园区召开科技创新大会", "园区发布人才新政 2024-03-01", P2]
    assert drop_boilerplate_lines(blocks) == [P1, P2]


def test_related_list_stops_at_a_byline() -> None:
    blocks = [P1, "相关链接", "园区召开科技创新大会", "编辑 朱霜"]
    assert drop_boilerplate_lines(blocks) == [P1, "编辑 朱霜"]


NOTICE = [
    "版权与免责声明",
    "1.凡本站注明“文章类型：原创”的作品，版权属于本站。转载时必须注明：“文章来源：本站”。",
    "2.凡注明“文章类型：转载”的作品均转载自其他媒体，不代表本站赞同其观点。",
]


def test_a_legal_notice_closing_the_body_is_dropped() -> None:
    assert drop_boilerplate_lines([P1, P2, *NOTICE]) == [P1, P2]


def test_a_legal_notice_heading_mid_article_or_without_notice_lines_stays() -> None:
    assert drop_boilerplate_lines([*NOTICE, P1, P2]) == [*NOTICE, P1, P2]
    policy = [P1, P2, "版权与免责声明", "本条例所称免责，是指企业依法申请后减免相应责任的情形。"]
    assert drop_boilerplate_lines(policy) == policy


def test_an_empty_attachments_heading_is_a_template_widget() -> None:
    assert list(clean_blocks([P1, P2, "附件信息:"]).blocks) == [P1, P2]
    listed = [P1, P2, "附件：", "园区人才政策申报表.docx"]
    assert list(clean_blocks(listed).blocks) == listed


def test_long_chrome_like_lines_do_not_stall() -> None:
    assert not is_boilerplate_line("返回首页" * 40 + "园区")
    assert not is_boilerplate_line("字号" + " 大" * 200 + "x")


# --- Metadata lifting ---------------------------------------------------------------------


@pytest.mark.parametrize(
    ("byline", "author", "editor", "photographer"),
    [
        pytest.param(
            "编辑\u2002朱霜\u2002摄影\u2002周志杭", None, "朱霜", "周志杭", id="en-spaces"
        ),
        pytest.param("编辑 朱霜 摄影 周志杭", None, "朱霜", "周志杭", id="ascii-spaces"),
        pytest.param("编辑：朱霜　摄影：周志杭", None, "朱霜", "周志杭", id="colons"),
        pytest.param("（记者 张三 通讯员 李四）", "张三、李四", None, None, id="paren-reporter"),
        pytest.param(
            "(记者 张三 王五 通讯员 李四)", "张三、王五、李四", None, None, id="two-reporters"
        ),
        pytest.param("记者 张三", "张三", None, None, id="reporter"),
        pytest.param("本报记者 欧阳娜娜", "欧阳娜娜", None, None, id="prefixed-reporter"),
        pytest.param("通讯员 李四", "李四", None, None, id="correspondent-only"),
        pytest.param("责任编辑：王五", None, "王五", None, id="responsible-editor"),
        pytest.param("文/孙七 图/周八", "孙七", None, "周八", id="text-and-picture"),
        pytest.param("文/孙七、赵九", "孙七、赵九", None, None, id="two-writers"),
        pytest.param("编辑：张三 审核：李四", None, "张三", None, id="reviewer-dropped"),
        pytest.param("作者：园区科技局", "园区科技局", None, None, id="organisation-author"),
    ],
)
def test_byline_in_tail_is_lifted(
    byline: str, author: str | None, editor: str | None, photographer: str | None
) -> None:
    body, metadata = lift_metadata([P1, P2, byline])
    assert body == [P1, P2]
    assert (metadata.author, metadata.editor, metadata.photographer) == (
        author,
        editor,
        photographer,
    )


def test_byline_under_the_title_is_lifted_with_the_title() -> None:
    body, metadata = lift_metadata(["园区召开政法工作会议", "记者 张三", P1, P2])
    assert body == [P1, P2]
    assert metadata.author == "张三"
    assert metadata.title == "园区召开政法工作会议"


@pytest.mark.parametrize(
    ("first", "rest", "author"),
    [
        ("本报讯（记者 张三 通讯员 李四）", "3月15日上午，园区召开会议。", "张三、李四"),
        ("（记者 张三）", "3月15日上午，园区召开会议。", "张三"),
        ("新华社苏州3月15日电（记者 王五）", "3月15日上午，园区召开会议。", "王五"),
    ],
)
def test_byline_opening_the_first_paragraph_is_cut(first: str, rest: str, author: str) -> None:
    body, metadata = lift_metadata([first + rest, P2])
    assert body == [rest, P2]
    assert metadata.author == author


def test_byline_and_source_closing_the_last_paragraph_are_cut() -> None:
    body, metadata = lift_metadata([P1, P2 + "（来源：苏州日报 记者 张三）"])
    assert body == [P1, P2]
    assert (metadata.source, metadata.author) == ("苏州日报", "张三")


def test_parenthesis_that_is_not_a_byline_stays() -> None:
    last = P2 + "（详见附件）"
    assert lift_metadata([P1, last])[0] == [P1, last]


@pytest.mark.parametrize(
    ("line", "published_at", "source"),
    [
        ("时间: 2024-03-15 17:57 |来源: |浏览量:|字号:", "2024-03-15T17:57:00+08:00", None),
        ("发布时间：2024年03月15日 10:20 来源：苏州日报", "2024-03-15T10:20:00+08:00", "苏州日报"),
        (
            "发布日期：2024-04-02 来源：园区科技创新委员会 浏览次数：356",
            "2024-04-02",
            "园区科技创新委员会",
        ),
        ("2024-03-15 10:20:30 来源：新华社", "2024-03-15T10:20:30+08:00", "新华社"),
        ("日期：2024/3/5 星期二", "2024-03-05", None),
        ("【发布时间：2024-03-15】【来源：园区管委会】", "2024-03-15", "园区管委会"),
        ("来源：园区融媒体中心", None, "园区融媒体中心"),
        ("2024-03-15", "2024-03-15", None),
    ],
)
def test_meta_line_in_head_is_lifted(
    line: str, published_at: str | None, source: str | None
) -> None:
    body, metadata = lift_metadata([line, P1, P2])
    assert body == [P1, P2]
    assert (metadata.published_at, metadata.source) == (published_at, source)


def test_empty_source_is_none_not_empty_string() -> None:
    _, metadata = lift_metadata(["时间: 2024-03-15 17:57 |来源: |浏览量:", P1])
    assert metadata.source is None


def test_title_group_above_the_meta_line_is_lifted() -> None:
    blocks = ["园区要闻", "园区召开政法工作会议", "时间: 2024-03-15 17:57", P1]
    body, metadata = lift_metadata(blocks)
    assert body == [P1]
    assert metadata.title == "园区召开政法工作会议"


def test_caption_above_the_meta_line_is_not_the_title() -> None:
    blocks = ["园区召开政法工作会议", "图为会议现场", "时间: 2024-03-15 17:57", P1]
    body, metadata = lift_metadata(blocks)
    assert body == [P1]
    assert (metadata.title, metadata.captions) == ("园区召开政法工作会议", ("图为会议现场",))


def test_source_line_in_tail_is_lifted() -> None:
    body, metadata = lift_metadata([P1, P2, "（来源：苏州日报）"])
    assert body == [P1, P2]
    assert metadata.source == "苏州日报"


@pytest.mark.parametrize(
    "line",
    ["时间：2024年3月20日 14:00", "日期：2024-03-20"],
)
def test_bare_time_label_in_tail_is_event_detail_and_stays(line: str) -> None:
    body, metadata = lift_metadata([P1, P2, line, "地点：园区会议中心"])
    assert body == [P1, P2, line, "地点：园区会议中心"]
    assert metadata.published_at is None


@pytest.mark.parametrize(
    "line",
    [
        "来源：企业反馈显示，园区营商环境持续优化。",
        "记者从园区获悉，今年一季度园区实际使用外资同比增长。",
        "编辑部的同志们连夜赶稿。",
        "2024年3月15日",
        "时间: 2024-03-15 17:57",
    ],
)
def test_metadata_look_alikes_mid_article_stay(line: str) -> None:
    body, metadata = lift_metadata([P1, line, P2])
    assert body == [P1, line, P2]
    assert metadata == LiftedMetadata()


def test_signature_date_completes_missing_published_at() -> None:
    body, metadata = lift_metadata([P1, P2, "苏州工业园区管理委员会", "2024年3月15日"])
    assert body == [P1, P2, "苏州工业园区管理委员会"]
    assert metadata.signature_date == "2024-03-15"
    assert metadata.published_at == "2024-03-15"


def test_signature_date_does_not_override_meta_line() -> None:
    blocks = ["发布时间：2024-03-18 09:00", P1, P2, "二〇二四年三月十五日"]
    body, metadata = lift_metadata(blocks)
    assert body == [P1, P2]
    assert metadata.published_at == "2024-03-18T09:00:00+08:00"
    assert metadata.signature_date == "2024-03-15"


def test_captions_are_lifted_anywhere() -> None:
    body, metadata = lift_metadata([P1, "图为签约现场。", P2, "▲园区夜景", P3])
    assert body == [P1, P2, P3]
    assert metadata.captions == ("图为签约现场。", "▲园区夜景")


def test_blocks_without_paragraphs_are_all_head_and_tail() -> None:
    body, metadata = lift_metadata(["时间: 2024-03-15", "湖畔的灯亮了", "编辑 朱霜"])
    assert body == ["湖畔的灯亮了"]
    assert (metadata.published_at, metadata.editor) == ("2024-03-15", "朱霜")


@pytest.mark.parametrize("blocks", [[], [P1], [P1, P2, P3]])
def test_plain_paragraphs_lift_nothing(blocks: list[str]) -> None:
    assert lift_metadata(blocks) == (blocks, LiftedMetadata())


def test_drop_title_only_in_head() -> None:
    title = "园区召开政法工作会议"
    blocks = ["园区召开政法工作会议 ", P1, title, P2]
    assert drop_title(blocks, title) == [P1, title, P2]


def test_drop_title_with_the_decoration_a_template_puts_around_it() -> None:
    title = "园区召开政法工作会议"
    assert drop_title(["*园区召开政法工作会议- -", P1], title) == [P1]
    assert drop_title(["园区召开政法工作会议（上）", P1], title) == [
        "园区召开政法工作会议（上）",
        P1,
    ]


def test_drop_title_broken_over_two_head_lines() -> None:
    title = "行政处罚信息公开表（金罚决字〔2024〕52号）"
    blocks = ["行政处罚信息公开表", "（金罚决字〔2024〕52号）", P1, "行政处罚信息公开表"]
    assert drop_title(blocks, title) == [P1, "行政处罚信息公开表"]
    assert drop_title(["行政处罚信息公开表", P1], title) == ["行政处罚信息公开表", P1]


def test_clean_blocks_drops_known_title() -> None:
    result = clean_blocks(["园区召开政法工作会议", P1], title="园区召开政法工作会议")
    assert result == CleanResult((P1,), LiftedMetadata())


# --- Site template ------------------------------------------------------------------------

SITE = "www.sipac.gov.cn"
FOOTER = [
    "苏州工业园区管理委员会主办",
    "地址：苏州工业园区现代大道999号 邮编：215028",
    "政务服务热线：12345",
]


def synthetic_page(number: int) -> list[str]:
    """A page of SITE: two unique paragraphs and the site's footer lines."""
    return [
        f"第{number}篇报道：园区第{number}批重点项目集中开工，总投资约{number * 10}亿元。",
        f"据介绍，本批{number}个项目涵盖智能制造、生物医药等领域，将于年内陆续投产。",
        *FOOTER,
    ]


def test_site_template_drops_shared_footer_not_unique_paragraphs() -> None:
    template = SiteTemplate()
    for number in range(1, 11):
        template.observe(SITE, synthetic_page(number))
    page = synthetic_page(11)
    assert template.drop_site_template(SITE, page) == page[:2]
    assert all(template.is_template(SITE, line) for line in FOOTER)
    assert not template.is_template(SITE, synthetic_page(3)[0])


def test_site_template_does_not_judge_before_minimum_pages() -> None:
    template = SiteTemplate(min_pages=5, min_count=3)
    for number in range(1, 5):
        template.observe(SITE, synthetic_page(number))
    assert template.pages(SITE) == 4
    assert not template.is_template(SITE, FOOTER[0])
    template.observe(SITE, synthetic_page(5))
    assert template.is_template(SITE, FOOTER[0])


def test_site_template_is_per_site() -> None:
    template = SiteTemplate()
    for number in range(1, 11):
        template.observe(SITE, synthetic_page(number))
    assert not template.is_template("www.hhtz.gov.cn", FOOTER[0])


def test_site_template_needs_a_share_of_pages() -> None:
    template = SiteTemplate(min_pages=5, min_count=3, min_share=0.5)
    for number in range(1, 11):
        extra = ["专栏：营商环境"] if number <= 3 else []
        template.observe(SITE, synthetic_page(number) + extra)
    assert not template.is_template(SITE, "专栏：营商环境")


def test_site_template_counts_a_block_once_per_page() -> None:
    template = SiteTemplate(min_pages=1, min_count=2)
    template.observe(SITE, [FOOTER[0], FOOTER[0], FOOTER[0].replace("：", ":")])
    assert not template.is_template(SITE, FOOTER[0])


def test_site_template_round_trips_through_dict() -> None:
    template = SiteTemplate()
    for number in range(1, 11):
        template.observe(SITE, synthetic_page(number))
    state = template.to_dict()
    restored = SiteTemplate.from_dict(json.loads(json.dumps(state)))
    assert restored.to_dict() == state
    assert restored.pages(SITE) == 10
    page = synthetic_page(12)
    assert restored.drop_site_template(SITE, page) == template.drop_site_template(SITE, page)


def test_site_template_prunes_one_page_keys() -> None:
    template = SiteTemplate(prune_every=10)
    for number in range(1, 11):
        template.observe(SITE, synthetic_page(number))
    counts = template.to_dict()["sites"][SITE]["counts"]
    assert sorted(counts.values()) == [10, 10, 10]


@pytest.mark.parametrize(
    "state",
    [
        {},
        {"version": 2, "sites": {}},
        {"version": 1, "sites": []},
        {"version": 1, "sites": {SITE: {"pages": -1, "counts": {}}}},
        {"version": 1, "sites": {SITE: {"pages": 2, "counts": {"ab": 3}}}},
        {"version": 1, "sites": {SITE: {"pages": 2}}},
        {"version": 1, "sites": {SITE: [2, {}]}},
        [],
    ],
)
def test_site_template_rejects_malformed_state(state: Any) -> None:
    with pytest.raises(ValueError, match="afresh"):
        SiteTemplate.from_dict(state)


def test_the_pipeline_keeps_its_template_counts_in_the_crawl_state(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    with StateStore(tmp_path / "state.sqlite3") as store:
        learning = CleanBodyPipeline()
        learning.state_opened(store)
        assert learning.template is not None
        for number in range(1, 11):
            learning.template.observe(SITE, synthetic_page(number))
        learning.close_spider()
        store.update_templates(lambda _: {"www.broken.gov.cn": {"pages": 2, "counts": {"ab": 3}}})

        next_run = CleanBodyPipeline()
        next_run.state_opened(store)
    assert next_run.template is not None
    assert next_run.template.pages(SITE) == 10
    assert next_run.template.is_template(SITE, FOOTER[0])
    assert next_run.template.pages("www.broken.gov.cn") == 0
    assert "'www.broken.gov.cn'" in caplog.text and "DELETE FROM template_counts" in caplog.text


@pytest.mark.parametrize(
    "options",
    [
        {"min_pages": 0},
        {"min_count": 1},
        {"min_share": 0.0},
        {"min_share": 1.5},
        {"prune_every": 0},
    ],
)
def test_site_template_rejects_bad_settings(options: dict[str, Any]) -> None:
    with pytest.raises(ValueError, match="must be"):
        SiteTemplate(**options)


@pytest.mark.parametrize("site", ["", None])
def test_site_template_needs_a_site(site: Any) -> None:
    with pytest.raises(ValueError, match="site"):
        SiteTemplate().observe(site, [P1])


def test_clean_blocks_learns_and_applies_site_template() -> None:
    template = SiteTemplate()
    results = [
        clean_blocks(synthetic_page(number), site=SITE, template=template)
        for number in range(1, 11)
    ]
    assert list(results[0].blocks) == synthetic_page(1)  # not judged yet
    assert list(results[-1].blocks) == synthetic_page(10)[:2]
    assert template.pages(SITE) == 10


def test_clean_blocks_with_template_needs_site() -> None:
    with pytest.raises(ValueError, match="site="):
        clean_blocks([P1], template=SiteTemplate())


# --- Arbitrary input ----------------------------------------------------------------------

PIECES = st.sampled_from(
    [
        P1,
        P2,
        "编辑 朱霜",
        "时间: 2024-03-15",
        "2024年3月15日",
        "信息标题",
        "相关链接",
        "（",
        "）",
        "记者",
        "：",
        "|",
        "首页 > ",
        "来源",
        "\u3000",
        "。",
        "图为",
        "二〇二四年十",
    ]
)
BLOCKS = st.lists(
    st.one_of(st.text(max_size=40), st.lists(PIECES, max_size=5).map("".join)), max_size=12
)


@given(BLOCKS)
def test_clean_blocks_never_raises_and_keeps_page_order(blocks: list[str]) -> None:
    result = clean_blocks(blocks, site=SITE, template=SiteTemplate(min_pages=1))
    remaining = iter(blocks)
    for block in result.blocks:  # each kept block is an input block, or a trimmed paragraph
        assert any(block in original for original in remaining)


def test_template_counts_of_workers_sharing_a_crawl_add_up() -> None:
    loaded = {"gov": {"pages": 4, "counts": {"aa": 4, "bb": 1}}}
    east, west = SiteTemplate.from_stored(loaded)[0], SiteTemplate.from_stored(loaded)[0]
    for _ in range(3):
        east.observe("gov", ["首页 | 新闻中心", "east only"])
    west.observe("gov", ["首页 | 新闻中心"])
    west.observe("new.gov", ["首页"])
    stored = east.added_to(loaded, loaded)  # east leaves first
    merged = west.added_to(stored, loaded)
    # Both workers' pages counted once over the counts both started from.
    assert merged["gov"]["pages"] == 4 + 3 + 1
    counts = merged["gov"]["counts"]
    assert counts["aa"] == 4 and counts["bb"] == 1
    assert sorted(counts.values()) == [1, 3, 4, 4]  # "east only" 3, the breadcrumb 3 + 1
    assert merged["new.gov"] == {
        "pages": 1,
        "counts": {next(iter(west.to_dict()["sites"]["new.gov"]["counts"])): 1},
    }
    # One host alone: what it counted replaces nothing else.
    assert east.added_to(loaded, loaded) == east.to_dict()["sites"]
