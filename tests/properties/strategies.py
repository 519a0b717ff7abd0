"""Text strategies for the property tests: arbitrary text, text seeded with what park pages
actually contain (entities, odd spaces, full-width letters, pinyin readings, meta lines), and
article paragraphs."""

from __future__ import annotations

from hypothesis import strategies as st

from pipelines.boilerplate.metadata import is_caption


def gb2312_level1() -> str:
    """The 3,755 frequent Han characters of GB2312 (rows 16-55)."""
    chars = []
    for row in range(0xB0, 0xD8):
        for cell in range(0xA1, 0xFF):
            try:
                chars.append(bytes([row, cell]).decode("gb2312"))
            except UnicodeDecodeError:
                continue
    return "".join(chars)


HANZI = gb2312_level1()
CJK_PUNCTUATION = "，。、；：？！“”‘’（）《》【】—…·"
TRICKY = (
    "&nbsp;",
    "&amp;",
    "&lt;",
    "&#12288;",
    "\r\n",
    "\r",
    "\n",
    "\t",
    "\u200b",
    "\ufeff",
    "\u00ad",
    "\u3000",
    "\xa0",
    "\u2028",
    "\x85",
    "\x00",
    "\x1f",
    "Ａ",
    "２０２４",
    " ",
    "  ",
    "區(qū)",
    "（",
    "）",
    "来源：",
    "责任编辑：",
    "【打印本页】",
    "\ufffd",
    "\ue000",
)

hanzi = st.text(alphabet=HANZI, min_size=1, max_size=8)
messy_text = st.lists(
    st.one_of(st.sampled_from(TRICKY), hanzi, st.text(max_size=4)), max_size=16
).map("".join)
"""Text as park pages mix it: Han text, entities, odd spaces and controls, readings."""

clause = st.text(alphabet=HANZI, min_size=4, max_size=16)
paragraph = st.lists(clause, min_size=2, max_size=5).map(lambda parts: "，".join(parts) + "。")
"""One article paragraph: Han clauses separated by "，", ended by "。" (at least 10 chars)."""
prose = paragraph.filter(lambda p: not is_caption(p))
"""A paragraph that does not open like a photo caption ("图为…"), which cleaning lifts."""

noise_block = st.one_of(
    messy_text,
    st.sampled_from(
        [
            "来源：园区管委会",
            "责任编辑：张三",
            "【打印本页】【关闭窗口】",
            "2024-01-01 09:30",
            "图为会议现场",
            "相关链接",
            "信息标题",
            "分享到：",
            "",
        ]
    ),
)
"""A block that may sit around an article: chrome, meta lines, captions, anything."""
