"""Tests for pipelines.repeats: comparison keys, repeated blocks and template widgets."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from pipelines import repeats
from pipelines.blocktext import repeat_key
from pipelines.repeats import (
    LONG_BLOCK_CHARS,
    MAX_COMPARED_BLOCKS,
    MIN_RUN_CHARS,
    SeenBlocks,
    drop_repeated_blocks,
    drop_template_widgets,
    is_related_heading,
    is_widget_placeholder,
)

P1 = "3月15日上午，园区召开党工委政法工作会议，研究部署今后一个时期政法和基层社会治理工作任务。"
P2 = "过去一年，全区政法系统忠诚履职、担当作为，群众安全感测评结果位居全市第一。"
P3 = "会议要求，要持之以恒强化平安建设，全力营造和谐安全稳定的发展环境。"
TITLE = "园区召开党工委政法工作会议暨基层社会治理和法治建设工作推进大会"
BYLINE = "编辑\u2002朱霜\u2002摄影\u2002周志杭"


# --- repeat_key -------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("left", "right"),
    [
        pytest.param(
            "园区，召开会议：研究部署。", "园区,召开会议:研究部署.", id="punctuation-width"
        ),
        pytest.param("园区 召开\u3000会议", "园区召开会议", id="ideographic-space"),
        pytest.param("园区\xa0召开会议", "园区&nbsp;召开会议", id="nbsp-entity"),
        pytest.param("产值超过<strong>30</strong>亿元", "产值超过30亿元", id="inline-markup"),
        pytest.param("<p>园区召开会议</p>", "园区召开会议", id="paragraph-markup"),
        pytest.param("“强基提能惠民”行动", '"强基提能惠民"行动', id="curly-quotes"),
        pytest.param("ＡＢＣ１２３", "ABC123", id="full-width-letters"),
        pytest.param("园区\u200b召开会议", "园区召开会议", id="zero-width-space"),
        pytest.param("《办法》【解读】", "<办法>[解读]", id="brackets"),
    ],
)
def test_repeat_key_folds_presentation_differences(left: str, right: str) -> None:
    assert repeat_key(left) == repeat_key(right)


@pytest.mark.parametrize(
    ("left", "right"),
    [
        pytest.param("园区召开会议", "园区召开大会", id="different-word"),
        pytest.param("2024年3月15日", "2024年3月16日", id="different-date"),
        pytest.param("园区召开会议。", "园区召开会议", id="sentence-end-kept"),
    ],
)
def test_repeat_key_keeps_text_differences(left: str, right: str) -> None:
    assert repeat_key(left) != repeat_key(right)


@pytest.mark.parametrize("blank", ["", "   ", "\u3000", "\xa0", "&nbsp;", "\u200b"])
def test_repeat_key_of_blank_block_is_empty(blank: str) -> None:
    assert repeat_key(blank) == ""


# --- drop_repeated_blocks ---------------------------------------------------------------


def test_whole_article_copy_is_dropped() -> None:
    article = [TITLE, P1, P2, P3, BYLINE, "2024年3月15日"]
    assert drop_repeated_blocks(article + article) == article


def test_copy_differing_in_width_whitespace_and_markup_is_dropped() -> None:
    copy = [
        P1.replace("，", ",").replace("。", "."),
        "  ".join(P2),
        f"<p>{P3.replace('，', ', ')}</p>",
    ]
    assert drop_repeated_blocks([P1, P2, P3, *copy]) == [P1, P2, P3]


def test_repeated_run_of_paragraphs_is_dropped_at_its_second_place() -> None:
    blocks = [P1, P2, P3, P2.replace("，", ","), P3 + " ", "最后一段，会议结束。"]
    assert drop_repeated_blocks(blocks) == [P1, P2, P3, "最后一段，会议结束。"]


def test_duplicated_paragraph_is_kept_once() -> None:
    assert drop_repeated_blocks([P1, P2, P2, P3]) == [P1, P2, P3]


def test_first_occurrence_keeps_its_place_when_copy_comes_later() -> None:
    blocks = [P2, P1, P3, P2]
    assert drop_repeated_blocks(blocks) == [P2, P1, P3]


def test_refrain_line_repeated_in_a_poem_stays() -> None:
    blocks = [
        P1,
        "湖畔的灯亮了",
        "照见加班归来的人",
        "湖畔的灯亮了",
        "照见清晨出发的车",
        "湖畔的灯亮了",
    ]
    assert drop_repeated_blocks(blocks) == blocks


def test_two_line_chorus_repeated_stays() -> None:
    chorus = ["星湖的水啊向东流", "带着我们的梦想走"]
    assert sum(len(repeat_key(line)) for line in chorus) < MIN_RUN_CHARS
    blocks = [P1, *chorus, "一条条新路通四方", *chorus, P2]
    assert drop_repeated_blocks(blocks) == blocks


def test_repeated_short_subheadings_stay() -> None:
    blocks = [
        "（一）研发投入奖励",
        "支持对象",
        "在园区注册、上年度研发费用不低于500万元的企业。",
        "支持标准",
        "按上年度研发费用增量的10%给予奖励。",
        "（二）创新平台建设资助",
        "支持对象",
        "新认定为省级以上工程技术研究中心的企业。",
        "支持标准",
        "省级平台给予50万元资助。",
    ]
    assert drop_repeated_blocks(blocks) == blocks


def test_short_line_below_long_threshold_repeated_alone_stays() -> None:
    line = "会议由园区党工委副书记主持。"
    assert len(repeat_key(line)) < LONG_BLOCK_CHARS
    blocks = [line, P1, line]
    assert drop_repeated_blocks(blocks) == blocks


def test_short_title_and_byline_at_the_edge_of_a_copy_go_with_it() -> None:
    # The copy lacks the meta line, so its title does not start a matching run on its own.
    blocks = ["园区召开政法工作会议", "时间：2024-03-15", P1, P2, BYLINE]
    blocks += ["园区召开政法工作会议", P1, P2, BYLINE]
    assert drop_repeated_blocks(blocks) == blocks[:5]


def test_title_and_meta_line_two_blocks_from_a_copy_go_with_it() -> None:
    # Only the paragraphs match as a run; the title and source line reach it through each other.
    first = ["园区召开政法工作会议", "来源：园区党政办", "时间：2024-03-15", P1, P2, BYLINE]
    copy = ["园区召开政法工作会议", "来源：园区党政办", P1, P2, BYLINE]
    assert drop_repeated_blocks([*first, *copy]) == first


@pytest.mark.parametrize(
    "blocks",
    [
        pytest.param([], id="empty"),
        pytest.param([P1], id="single"),
        pytest.param([P1, P2, P3], id="all-distinct"),
    ],
)
def test_blocks_without_repeats_are_unchanged(blocks: list[str]) -> None:
    assert drop_repeated_blocks(blocks) == blocks


# --- work on large pages ---------------------------------------------------------------


class KeyWork:
    """Counts the hashing and comparing of comparison keys, and stops at a budget."""

    def __init__(self, budget: int) -> None:
        self.budget = budget
        self.done = 0

    def tick(self) -> None:
        self.done += 1
        if self.done > self.budget:
            raise AssertionError(f"more than {self.budget} key hashes and comparisons")


class CountedKey(str):
    """A comparison key that reports each hash and comparison of itself to a `KeyWork`."""

    work: KeyWork

    def __eq__(self, other: object) -> bool:
        self.work.tick()
        return str.__eq__(self, other)

    def __hash__(self) -> int:
        self.work.tick()
        return str.__hash__(self)


KEY_WORK_PER_BLOCK = 16
"""Key hashes and comparisons a block may cost: a constant, however often the block recurs."""


def counting_keys(monkeypatch: pytest.MonkeyPatch, budget: int) -> KeyWork:
    work = KeyWork(budget)

    def counted_key(block: str) -> str:
        key = CountedKey(repeat_key(block))
        key.work = work
        return key

    monkeypatch.setattr(repeats, "repeat_key", counted_key)
    return work


def test_a_page_of_one_paragraph_repeated_costs_linear_work(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    blocks = [P1] * MAX_COMPARED_BLOCKS  # 2.7 MB of text, a page under the download cap
    assert sum(len(block.encode()) for block in blocks) > 2_500_000
    work = counting_keys(monkeypatch, KEY_WORK_PER_BLOCK * len(blocks))
    assert drop_repeated_blocks(blocks) == [P1]
    assert work.done > 0


def test_a_page_of_distinct_paragraphs_costs_linear_work_and_is_unchanged(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    blocks = [f"（{number}）{P1}" for number in range(MAX_COMPARED_BLOCKS)]
    work = counting_keys(monkeypatch, KEY_WORK_PER_BLOCK * len(blocks))
    assert drop_repeated_blocks(blocks) == blocks
    assert work.done > 0


def test_a_short_line_recurring_between_paragraphs_costs_linear_work(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # Each recurrence has every earlier one to match a run from: a scan of them all is square.
    blocks = [block for number in range(5_000) for block in ("支持对象", f"第{number}项：{P2}")]
    work = counting_keys(monkeypatch, KEY_WORK_PER_BLOCK * len(blocks))
    assert drop_repeated_blocks(blocks) == blocks
    assert work.done > 0


def test_blocks_past_the_compared_ones_are_kept_unchanged() -> None:
    tail = [P1, P2, P2, "支持对象"]
    blocks = [P1, P3] * (MAX_COMPARED_BLOCKS // 2) + tail
    assert drop_repeated_blocks(blocks) == [P1, P3, *tail]


def test_a_page_at_the_cap_is_compared_whole() -> None:
    blocks = [P3] * (MAX_COMPARED_BLOCKS - 2) + [P1, P1]
    assert drop_repeated_blocks(blocks) == [P3, P1]


# --- SeenBlocks ---------------------------------------------------------------------------


def longest_earlier_run(symbols: list[int], start: int) -> int:
    """The definition: the longest run from `start` found whole among the symbols before it."""
    before = symbols[:start]
    run = 0
    while start + run < len(symbols):
        wanted = symbols[start : start + run + 1]
        if not any(before[i : i + len(wanted)] == wanted for i in range(len(before))):
            break
        run += 1
    return run


def seen(symbols: list[int]) -> SeenBlocks:
    index = SeenBlocks()
    for symbol in symbols:
        index.append(symbol)
    return index


@pytest.mark.parametrize(
    ("symbols", "start", "expected"),
    [
        pytest.param([], 0, 0, id="empty"),
        pytest.param([1], 0, 0, id="nothing-seen"),
        pytest.param([1, 1], 1, 1, id="one-block-again"),
        pytest.param([1, 2, 3, 1, 2, 3], 3, 3, id="whole-copy"),
        pytest.param([1, 2, 3, 1, 2, 4], 3, 2, id="copy-diverging"),
        pytest.param([1, 2, 1, 2, 1, 2], 2, 2, id="no-overlap-with-the-blocks-ahead"),
        pytest.param([1, 2, 9, 1, 3, 1, 2, 3], 5, 2, id="best-of-several-earlier-places"),
        pytest.param([1, 2, 3, 4, 2, 3, 4], 4, 3, id="match-in-the-middle"),
    ],
)
def test_seen_blocks_longest_run(symbols: list[int], start: int, expected: int) -> None:
    assert seen(symbols[:start]).longest_run(symbols, start) == expected


@given(st.lists(st.integers(0, 3), max_size=40), st.data())
def test_seen_blocks_agrees_with_the_definition(symbols: list[int], data: st.DataObject) -> None:
    start = data.draw(st.integers(0, len(symbols)))
    assert seen(symbols[:start]).longest_run(symbols, start) == longest_earlier_run(symbols, start)


@pytest.mark.parametrize(
    "symbols",
    [
        pytest.param([0] * 5_000, id="one-block"),
        pytest.param(list(range(5_000)), id="all-distinct"),
        pytest.param([0] + [1] * 4_999, id="one-then-another"),
        pytest.param([n % 7 for n in range(5_000)], id="periodic"),
        pytest.param([n * n % 101 for n in range(5_000)], id="scattered"),
    ],
)
def test_seen_blocks_grows_linearly(symbols: list[int]) -> None:
    index = seen(symbols)
    assert len(index.transitions) <= 2 * len(symbols)
    assert sum(map(len, index.transitions)) <= 3 * len(symbols)


# --- drop_template_widgets --------------------------------------------------------------


@pytest.mark.parametrize(
    "block",
    [
        "信息标题",
        "• 信息标题",
        "  • 信息标题",
        "1. 信息标题",
        "信息标题 2024-03-15",
        "信息标题 yyyy-MM-dd",
        "暂无内容",
        "暂无相关信息",
        "暂无数据",
        "{{title}}",
        "{{ article.title }}",
        "${title}",
        "{$title}",
        "<%= title %>",
        "$title$",
        "Loading...",
        "加载中…",
    ],
)
def test_placeholder_blocks_are_widgets(block: str) -> None:
    assert is_widget_placeholder(block)


@pytest.mark.parametrize(
    "block",
    [
        "关于规范信息标题格式的通知",
        "暂无内容的栏目将在本月底前撤销。",
        "模板中的{{title}}字段由系统自动填写。",
        "信息",
        "2024-03-15",
        "",
    ],
)
def test_text_mentioning_placeholders_is_not_a_widget(block: str) -> None:
    assert not is_widget_placeholder(block)


def test_unfilled_list_is_dropped_from_blocks() -> None:
    blocks = ["时间: 2024-03-15 17:57", *["  • 信息标题"] * 6, P1]
    assert drop_template_widgets(blocks) == ["时间: 2024-03-15 17:57", P1]


@pytest.mark.parametrize(
    ("blocks", "expected"),
    [
        pytest.param([P1, "相关链接"], [P1], id="heading-last"),
        pytest.param([P1, "相关链接：", "暂无内容"], [P1], id="only-placeholder"),
        pytest.param(
            [P1, "【相关链接】", "相关阅读", "园区召开会议"],
            [P1, "相关阅读", "园区召开会议"],
            id="followed-by-next-heading",
        ),
        pytest.param(
            [P1, "相关链接", "园区召开科技创新大会"],
            [P1, "相关链接", "园区召开科技创新大会"],
            id="filled-list-stays-for-boilerplate-step",
        ),
    ],
)
def test_empty_related_links_heading_is_dropped(blocks: list[str], expected: list[str]) -> None:
    assert drop_template_widgets(blocks) == expected


@pytest.mark.parametrize(
    ("block", "expected"),
    [("相关链接", True), ("相关阅读：", True), ("【相关新闻】", True), ("相关链接很多", False)],
)
def test_is_related_heading(block: str, expected: bool) -> None:
    assert is_related_heading(block) is expected


@given(st.lists(st.sampled_from([P1, P2, P3, TITLE, BYLINE, "支持对象", "湖畔的灯亮了", ""])))
def test_drop_repeated_blocks_keeps_every_distinct_block_in_order(blocks: list[str]) -> None:
    kept = drop_repeated_blocks(blocks)
    remaining = iter(blocks)
    assert all(block in remaining for block in kept)  # a subsequence of the input
    first_places = list(dict.fromkeys(repeat_key(block) for block in blocks))
    assert list(dict.fromkeys(repeat_key(block) for block in kept)) == first_places
