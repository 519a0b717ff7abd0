"""Record normalisation: the Unicode policy, mirror pinyin readings, script detection and OpenCC."""

from __future__ import annotations

import difflib
import json
import logging
from pathlib import Path
from typing import Any

import pytest
from scrapy.utils.test import get_crawler

from crawler.items import finish_record
from pipelines.normalise import NormalisePipeline, normalise_record
from pipelines.normalise.pinyin import (
    count_pinyin_annotations,
    is_pinyin_syllable,
    strip_pinyin_annotations,
)
from pipelines.normalise.script import ScriptConverter, detect_script
from pipelines.normalise.unicode import normalise_unicode
from tests.conftest import with_body_blocks

FIXTURES = Path(__file__).resolve().parent.parent / "fixtures" / "encoding"
MIRROR_TEXT = (FIXTURES / "binjiang-mirror.txt").read_text("utf-8")
MIRROR = json.loads((FIXTURES / "binjiang-mirror.expected.json").read_text("utf-8"))

SIMPLIFIED_BODY = (
    "3月15日上午，园区召开党工委政法工作会议，严格履行法定程序开展行政决策和行政执法。\n"
    "会议要求，要守正创新强化效能建设，全面提升综合治理效能，着力夯实基层治理基础。\n"
    "著名经济学家应邀出席，沿着高质量发展的道路，找准着力点。"
)


@pytest.fixture(scope="module")
def converter() -> ScriptConverter:
    return ScriptConverter()


def record(**fields: Any) -> dict[str, Any]:
    base: dict[str, Any] = {
        "url": "http://www.example.gov.cn/art/1.html",
        "site": "example",
        "site_name": "示例园区",
        "section": None,
        "title": "标题",
        "source": None,
        "author": None,
        "editor": None,
        "photographer": None,
        "body": "正文。",
        "images": [],
        "attachments": [],
    }
    base.update(fields)
    return with_body_blocks(base)


def normalised(rec: dict[str, Any], **options: Any) -> dict[str, Any]:
    """`normalise_record` of a record, its body blocks joined as the written record's are."""
    return finish_record(normalise_record(rec, **options))


def mirror_record() -> dict[str, Any]:
    return record(site="binjiang_mirror", title=MIRROR["mirror_title"], body=MIRROR_TEXT)


# --- Unicode policy ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("raw", "clean"),
    [
        ("", ""),
        ("\u3000\u3000园区召开会议", "园区召开会议"),
        ("&nbsp;&nbsp;园区召开会议", "园区召开会议"),
        ("园区&nbsp;召开", "园区 召开"),
        ("研究&amp;开发", "研究&开发"),
        ("&#12288;&#x56ed;区", "园区"),
        ("园区召开\n    重点项目推进会", "园区召开\n重点项目推进会"),
        ("冬至将至 园区社区邻里共包“团圆饺”", "冬至将至 园区社区邻里共包“团圆饺”"),
        ("文/周琳 图/张宇", "文/周琳 图/张宇"),
        (
            "指标\t数值\t同比增长（%）\n地区生产总值（亿元）\t1286.4\t7.9",
            "指标\t数值\t同比增长（%）\n地区生产总值（亿元）\t1286.4\t7.9",
        ),
        ("指标 \t 数值", "指标\t数值"),
        ("使用 Python 开发", "使用 Python 开发"),
        ("2024年 3月15日", "2024年 3月15日"),
        ("编辑\u2002朱霜\u2002摄影\u2002周志杭", "编辑 朱霜 摄影 周志杭"),
        ("编辑\u3000朱霜", "编辑 朱霜"),
        ("２０２１年ＧＤＰ增长６．５％", "2021年GDP增长6．5％"),
        ("ＡＢＣ＠ｘｙｚ", "ABC＠xyz"),
        ("（以下简称“园区”）：标点，。；！？保持", "（以下简称“园区”）：标点，。；！？保持"),
        ("软\u00ad件", "软件"),
        ("零\u200b宽\u200c字\u200d符\u2060号\ufeff", "零宽字符号"),
        ("\ufeff标题", "标题"),
        ("控\x00制\x07字\x1b符\x7f\x85", "控制字符"),
        ("\u202a方向\u202c\u200e标记", "方向标记"),
        ("qu\u0304", "qū"),
        ("第一段\r\n\r\n第二段\r第三段", "第一段\n第二段\n第三段"),
        ("第一段\u2029第二段", "第一段\n第二段"),
        ("  首尾空白  \n\n", "首尾空白"),
        ("多个   空格", "多个 空格"),
        ("many   spaces", "many spaces"),
        ("Tab\there", "Tab\there"),
        ("损坏\ufffd字符", "损坏\ufffd字符"),
        ("混合 English 和中文 text", "混合 English 和中文 text"),
        ("日本語 の かな", "日本語 の かな"),
        ("记者 王敏 通讯员 李华", "记者 王敏 通讯员 李华"),
        ("（摄影 周志杭）", "（摄影 周志杭）"),
        ("责任编辑  张三", "责任编辑 张三"),
        ("园区记\n者", "园区记\n者"),
    ],
)
def test_unicode_policy(raw: str, clean: str) -> None:
    assert normalise_unicode(raw) == clean


@pytest.mark.parametrize(
    ("raw", "clean"),
    [
        ("园区召开\n  重点项目推进会", "园区召开重点项目推进会"),
        ("园区召开\r\n重点项目推进会", "园区召开重点项目推进会"),
        ("园区召开，\n重点项目", "园区召开，重点项目"),
        ("Suzhou\nIndustrial Park", "Suzhou Industrial Park"),
        ("2024年\n3月", "2024年 3月"),
        ("编辑\t朱霜", "编辑 朱霜"),
        ("冬至将至 园区社区", "冬至将至 园区社区"),
    ],
)
def test_single_line_fields_join_wrapped_lines(raw: str, clean: str) -> None:
    assert normalise_unicode(raw, keep_newlines=False) == clean


def test_policy_is_idempotent() -> None:
    once = normalise_unicode("\u3000&nbsp;园区 召开\r\n２０２１年\u200b")
    assert normalise_unicode(once) == once


# --- pinyin annotations ------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("word", "valid"),
    [
        ("qū", True),
        ("kāi", True),
        ("zhuān", True),
        ("lǜ", True),
        ("nüè", True),
        ("xué", True),
        ("lüe", True),
        ("er", True),
        ("a", True),
        ("zhuang", True),
        ("qūū", False),
        ("bing", True),
        ("Beijing", False),
        ("pm", False),
        ("zhi", True),
        ("āá", False),
        ("shiyong", False),
        ("ng", False),
        ("bv", False),
    ],
)
def test_pinyin_syllable_inventory(word: str, valid: bool) -> None:
    assert is_pinyin_syllable(word) is valid


@pytest.mark.parametrize(
    ("raw", "stripped"),
    [
        ("高新區(qū)(濱江)召開(kāi)會(huì)議", "高新區(濱江)召開會議"),
        ("專（zhuān）項（xiàng）鬥（dòu）爭", "專項鬥爭"),
        ("綠(lǜ)色(sè)發(fā)展(zhǎn)", "綠色發展"),
        ("設(shè)立(2021)專(zhuān)項(xiàng)", "設立(2021)專項"),
    ],
)
def test_mirror_readings_are_removed(raw: str, stripped: str) -> None:
    result = strip_pinyin_annotations(raw)
    assert result.text == stripped
    assert result.damaged == []


# Legitimate parentheses of park news: none of them may ever be touched.
LEGITIMATE = [
    "高新区(滨江)召开平安建设工作会议",
    "杭州高新区（滨江）2021年工作要点",
    "苏州(中国)工业园区",
    "中国(浙江)自由贸易试验区杭州片区",
    "中新(重庆)战略性互联互通示范项目",
    "《苏州工业园区企业研发费用补贴办法(试行)》",
    "《园区数据安全管理规定（试行）》",
    "北京(Beijing)、上海(Shanghai)两地",
    "苏州(Sūzhōu)工业园区",
    "（以下简称“园区”）",
    "(以下简称“管委会”)",
    "细颗粒物(PM2.5)年均浓度下降",
    "(2021)苏05民初123号",
    "2021年(第十届)中国园区发展论坛",
    "国内生产总值(GDP)增长6.5%",
    "研究与试验发展(R&D)经费投入强度",
    "人工智能(AI)和物联网(IoT)产业",
    "集成电路(IC)设计企业",
    "环境、社会和治理(ESG)报告",
    "上海证券交易所科创板(STAR Market)",
    "浙江大学(ZJU)国际联合学院",
    "园区管委会(筹)",
    "附件(1)：申报表",
    "第(三)项规定",
    "(一)加强组织领导",
    "（二）强化责任落实",
    "张三(左一)为获奖企业颁奖",
    "(摄影 周志杭)",
    "(记者 王敏 通讯员 李华)",
    "单位：亿元(人民币)",
    "咨询电话(0512)66681234",
    "5万元(含)以上",
    "(注：数据截至2023年底)",
    "(按姓氏笔画排序)",
    "(上接第1版)",
    "(完)",
    "独角兽企业(估值10亿美元以上)",
    "国家级(省级)重点实验室",
    "(杭高新〔2021〕12号)",
    "(图片来源：园区发布)",
    "专精特新“小巨人”企业(第四批)",
    "龙头企业（如阿里巴巴、网易）",
    "鄱阳湖(Poyang Lake)湿地",
    "园区(SIP)品牌",
    "方案(A)和方案(B)",
    "面积(km²)",
    "温度(°C)",
    "《中华人民共和国公司法》(2018年修正)",
    "(详见附件2)",
    "(暂定名)",
]


@pytest.mark.parametrize("snippet", LEGITIMATE)
def test_legitimate_parentheses_survive(snippet: str, converter: ScriptConverter) -> None:
    assert strip_pinyin_annotations(snippet).text == snippet
    assert strip_pinyin_annotations(snippet, min_repeats=0).text == snippet
    out = normalised(record(title=snippet, body=snippet), converter=converter)
    assert (out["title"], out["body"]) == (snippet, snippet)
    assert "damaged_annotations" not in out


def test_legitimate_parentheses_survive_on_a_mirror_page(converter: ScriptConverter) -> None:
    body = "\n".join([MIRROR_TEXT.strip(), *LEGITIMATE])
    out = normalised(record(body=body, title=MIRROR["mirror_title"]), converter=converter)
    paragraphs = out["body"].split("\n")
    assert paragraphs[-len(LEGITIMATE) :] == [converter.convert(s) for s in LEGITIMATE]
    assert "pinyin_annotations" in out["normalisations"]


def test_corpus_holds_no_reading() -> None:
    assert len(LEGITIMATE) >= 40
    assert count_pinyin_annotations("\n".join(LEGITIMATE)) == 0


@pytest.mark.parametrize(
    "text",
    [
        "山东单(shàn)县举办牡丹文化节，吸引游客十余万人次。",
        "六(lù)安市与园区签订合作协议，双方将在新能源领域开展合作。",
        "园区(yuán qū)",
    ],
)
def test_a_genuine_pronunciation_note_stays(text: str, converter: ScriptConverter) -> None:
    assert strip_pinyin_annotations(text).text == text
    assert normalised(record(body=text), converter=converter)["body"] == text


def test_a_few_notes_in_a_long_article_stay() -> None:
    notes = "六(lù)安、蚌(bèng)埠、亳(bó)州三地企业代表参加了对接会。"
    text = notes + "\n" + "\n".join(SIMPLIFIED_BODY for _ in range(20))
    assert strip_pinyin_annotations(text).text == text


def test_damaged_reading_is_flagged_not_repaired() -> None:
    result = strip_pinyin_annotations(MIRROR_TEXT)
    assert result.damaged == MIRROR["damaged_spans"]
    assert "全要素?cái)?shù)字" in result.text
    assert result.removed == count_pinyin_annotations(MIRROR_TEXT)


# --- script ------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "script"),
    [
        ("", "Hans"),
        ("Suzhou Industrial Park", "Hans"),
        (SIMPLIFIED_BODY, "Hans"),
        ("繁體 | English | 日语 | 无障碍 | 关怀版\n" + SIMPLIFIED_BODY, "Hans"),
        ("繁體", "Hans"),  # one Traditional-only character is no evidence
        ("園區新聞動態", "Hant"),
        (MIRROR["body"], "Hans"),
        (MIRROR_TEXT, "Hant"),
        ("简体版 | 關於我們\n香港科學園舉辦創科博覽，一眾初創企業展示最新成果。", "Hant"),
    ],
)
def test_detect_script(text: str, script: str, converter: ScriptConverter) -> None:
    assert detect_script(text, converter) == script


def test_tw2s_converts_the_binjiang_zhe_cases(converter: ScriptConverter) -> None:
    assert (
        converter.convert("沿著習近平總書記擘畫的道路，找準著力點，著名")
        == "沿着习近平总书记擘画的道路，找准着力点，著名"
    )


@pytest.mark.parametrize("config", ["tw2sp", "hk2sp", "s2t", "no-such-config"])
def test_unsafe_or_unknown_configurations_are_refused(config: str) -> None:
    with pytest.raises(ValueError, match=config):
        ScriptConverter(config)


def test_simplified_record_is_untouched(converter: ScriptConverter) -> None:
    rec = record(title="园区召开法定程序与效能建设推进会", body=SIMPLIFIED_BODY)
    out = normalised(rec, converter=converter)
    assert out["body"] == SIMPLIFIED_BODY
    assert out["title"] == rec["title"]
    assert out["original_script"] == "Hans"
    assert out["normalisations"] == []


# --- records -----------------------------------------------------------------------------------


def test_binjiang_mirror_yields_the_expected_record(converter: ScriptConverter) -> None:
    out = normalised(mirror_record(), converter=converter)
    assert out["title"] == MIRROR["title"]
    assert out["original_script"] == "Hant"
    assert out["normalisations"] == ["unicode", "pinyin_annotations", "tw2s"]
    assert out["damaged_annotations"] == MIRROR["damaged_spans"]

    got, want = out["body"].split("\n"), MIRROR["body"].split("\n")
    assert len(got) == len(want)
    for number, (g, w) in enumerate(zip(got, want, strict=True)):
        if g == w:
            continue
        changes = [
            (w[i1:i2], g[j1:j2])
            for tag, i1, i2, j1, j2 in difflib.SequenceMatcher(None, w, g).get_opcodes()
            if tag != "equal"
        ]
        assert changes == [("数", "?cái)?shù)")], f"paragraph {number}: {changes}"


def test_every_text_field_is_normalised(converter: ScriptConverter) -> None:
    rec = record(
        title="園區(qū)新聞",
        body=MIRROR_TEXT,
        source="\u3000高新區(qū)辦公室\u3000",
        author="記者\u2002張瑋",
        editor=" 編輯部 ",
        photographer="\u00a0",
        section="新聞\n    動態",
        site_name="科技園區新聞網",
        images=[
            {"url": "http://x.cn/1.jpg", "caption": "會(huì)議現場"},
            {"url": "http://x.cn/2.jpg", "caption": "\u3000"},
        ],
        attachments=[{"url": "http://x.cn/a.pdf", "name": "附件１：會議議程.pdf"}],
    )
    out = normalised(rec, converter=converter)
    assert out["title"] == "园区新闻"
    assert out["source"] == "高新区办公室"
    assert out["author"] == "记者 张玮"
    assert out["editor"] == "编辑部"
    assert out["photographer"] is None
    assert out["section"] == "新闻动态"
    assert out["site_name"] == "科技园区新闻网"
    assert out["images"][0]["caption"] == "会议现场"
    assert out["images"][1]["caption"] is None
    assert out["attachments"][0]["name"] == "附件1：会议议程.pdf"
    assert rec["title"] == "園區(qū)新聞"  # the input is not modified


def test_keep_script(converter: ScriptConverter) -> None:
    out = normalised(mirror_record(), keep_script=True, converter=converter)
    assert out["original_script"] == "Hant"
    assert out["title"].startswith("高新區(濱江)召開")
    assert out["normalisations"] == ["unicode", "pinyin_annotations"]


def test_pinyin_evidence_comes_from_title_and_body_together(converter: ScriptConverter) -> None:
    rec = record(title="高新區(qū)召開(kāi)大會", body="專(zhuān)項工作總結會議。")
    out = normalised(rec, converter=converter)
    assert (out["title"], out["body"]) == ("高新区召开大会", "专项工作总结会议。")


def test_body_paragraphs_stay_separated() -> None:
    out = normalised(record(body="第一段。\n\n\u3000\u3000第二段。\r\n第三段。"))
    assert out["body"] == "第一段。\n第二段。\n第三段。"


# --- the pipeline ------------------------------------------------------------------------------


def pipeline(**settings: Any) -> NormalisePipeline:
    return NormalisePipeline.from_crawler(get_crawler(settings_dict=settings))


def test_pipeline_converts_and_counts() -> None:
    pipe = pipeline()
    out = pipe.process_item(mirror_record())
    assert out["title"] == MIRROR["title"]
    assert pipe.stats is not None
    stats = pipe.stats.get_stats()
    for name in ("records", "hant", "converted", "pinyin_stripped", "damaged_annotations"):
        assert stats[f"parknews/normalise/{name}"] == 1, name


@pytest.mark.parametrize(
    ("settings", "site", "converted"),
    [
        ({}, "binjiang_mirror", True),
        ({"PARKNEWS_SCRIPT_KEEP_ORIGINAL": True}, "binjiang_mirror", False),
        ({"PARKNEWS_SCRIPT_SITE_OVERRIDES": {"binjiang_mirror": "keep"}}, "binjiang_mirror", False),
        ({"PARKNEWS_SCRIPT_SITE_OVERRIDES": {"binjiang_mirror": "keep"}}, "other", True),
        (
            {
                "PARKNEWS_SCRIPT_KEEP_ORIGINAL": True,
                "PARKNEWS_SCRIPT_SITE_OVERRIDES": {"binjiang_mirror": "simplify"},
            },
            "binjiang_mirror",
            True,
        ),
    ],
)
def test_pipeline_script_settings(settings: dict[str, Any], site: str, converted: bool) -> None:
    out = pipeline(**settings).process_record(record(site=site, title="園區新聞動態"))
    assert out["title"] == ("园区新闻动态" if converted else "園區新聞動態")
    assert out["original_script"] == "Hant"


def test_pipeline_rejects_a_bad_override() -> None:
    with pytest.raises(ValueError, match="keep, simplify"):
        pipeline(PARKNEWS_SCRIPT_SITE_OVERRIDES={"binjiang_mirror": "traditional"})


def test_pipeline_logs_lost_text(caplog: pytest.LogCaptureFixture) -> None:
    pipe = pipeline()
    with caplog.at_level(logging.WARNING):
        pipe.process_item(record(body="损坏\ufffd字符"))
    assert "http://www.example.gov.cn/art/1.html" in caplog.text
    assert pipe.stats is not None
    assert pipe.stats.get_value("parknews/normalise/lossy") == 1
    assert pipe.stats.get_value("parknews/normalise/replacement_chars") == 1


def test_pipeline_from_settings_has_process_record() -> None:
    from scrapy.settings import Settings

    pipe = NormalisePipeline.from_settings(Settings({"PARKNEWS_SCRIPT_KEEP_ORIGINAL": True}))
    out = pipe.process_record(record(title="園區新聞動態"))
    assert out["title"] == "園區新聞動態"
