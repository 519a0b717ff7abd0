"""The labels of meta lines and bylines ("发布时间：", "来源：", "记者 张三"), declared once:
the extractor reads the meta line around the headline with them, and the cleaning steps
lift meta lines and bylines out of the body with them.

Each constant lists label words separated by spaces; `label_alternation` makes a regex of a
group of them that also matches the letter-spaced form templates print to align a column
("来  源：", "索 引 号：").
"""

from __future__ import annotations

import re

PUBLISHED_LABELS = (
    "发布时间 发布日期 发表时间 发表日期 更新时间 更新日期 发文日期 "
    "發布時間 發佈時間 發布日期 發表時間"
)
"""What labels the time the page itself went up."""
BARE_DATE_LABELS = "时间 日期 時間"
"""A bare time label: the page's time in a meta line, but also an event's time in a notice."""
POSTED_LABELS = "发表于 发布于 张贴于 本贴由 posted"
"""What a blog or forum writes beside the time a post went up, often just after the post."""
SOURCE_LABELS = "来源 信息来源 文章来源 稿件来源 新闻来源 稿源 出处 转自 转载自 供稿 來源"
"""The organisation the article comes from."""
PUBLISHER_LABELS = "发布机构 发布单位 发布者 发布人"
"""The office that put the page up (not the article's source)."""
AUTHOR_LABELS = "作者"
"""An author of the text, a person or an office."""
REPORTER_LABELS = (
    "记者 本报记者 本台记者 本刊记者 融媒体记者 融媒记者 特约记者 见习记者 实习记者 "
    "首席记者 撰稿 撰文 执笔"
)
"""Roles of the people who wrote the article."""
CORRESPONDENT_LABELS = "通讯员"
EDITOR_LABELS = "编辑 责任编辑 责编 网络编辑 编审 文字编辑 新媒体编辑 編輯"
PHOTOGRAPHER_LABELS = "摄影 摄像 图片 拍摄 摄影记者 图片编辑"
REVIEWER_LABELS = "审核 审校 校对 初审 复审 终审 一审 二审 三审 签发 监制 统筹 策划 制作 设计 视频"
"""Roles in the making of the page that the record does not keep."""
COUNTER_LABELS = (
    "浏览量 浏览次数 访问量 阅读量 阅读次数 点击量 点击数 点击次数 浏览 阅读 点击 字号 字体 "
    "瀏覽 點擊 閱讀 字號"
)
"""Page counters and switches, whose values carry nothing."""
REGISTER_LABELS = (
    "索引号 主题分类 信息分类 组配分类 体裁分类 主题词 公文名称 文件名称 信息名称 文号 发文字号 "
    "发文机关 发文单位 办文部门 成文日期 生效日期 废止日期 有效性 公开方式 公开范围 公开时限"
)
"""The fields of a government document register printed above an article (政府信息公开)."""


def label_words(*groups: str) -> list[str]:
    """The label words of some groups, longest first (so "责任编辑" wins over "编辑")."""
    return sorted({word for group in groups for word in group.split()}, key=len, reverse=True)


def spaced(word: str) -> str:
    """A regex of one label word, also letter-spaced ("来  源")."""
    return r"\s{0,3}".join(re.escape(char) for char in word)


def label_alternation(*groups: str) -> str:
    """A regex alternation (no group) of the label words of some groups."""
    return "|".join(spaced(word) for word in label_words(*groups))


def label_word(matched: str) -> str:
    """The label word a `label_alternation` match spelled, letter spacing taken out."""
    return re.sub(r"\s+", "", matched)
