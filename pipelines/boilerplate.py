"""Navigation, page chrome and metadata lines removed from an article's text blocks.

The chain `clean_blocks` runs, each step a plain `blocks -> blocks` function:

1. `drop_blank_blocks`         blocks with no visible characters
2. `drop_template_widgets`     unfilled CMS widgets ("信息标题", "{{title}}", empty "相关链接")
3. `drop_boilerplate_lines`    chrome recognised by line patterns (`BOILERPLATE_RULES`,
                               `CHROME_TOKENS`) and related-links lists
4. `drop_repeated_blocks`      print / hidden copies and duplicated paragraphs
5. `lift_metadata`             meta line, bylines, signature date and captions moved out of
                               the body into `LiftedMetadata`
6. `drop_title`                the known title when it heads the blocks
7. `SiteTemplate`              lines the same site repeats on many pages

Repeats go before lifting so that the head and tail of the article are the real ones: a print
copy brings a second meta line, byline and signature date that would otherwise sit between
the two copies, outside the regions metadata is lifted from.

Line patterns are anchored: a rule drops a block only when it matches the whole (short)
block, so an article sentence that merely starts like chrome ("来源于企业的反馈显示…",
"时间就是效率…") stays. Metadata is lifted only from the *head* (blocks before the first real
paragraph) and the *tail* (blocks after the last one), so a date line or "来源：" quoted inside
the article stays too.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import html
import re
from collections import Counter
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from enum import Enum
from typing import Any

from scrapy.crawler import Crawler
from scrapy.exceptions import DropItem
from scrapy.settings import BaseSettings
from scrapy.statscollectors import StatsCollector

from pipelines import process_item_by_record
from pipelines.repeats import (
    drop_repeated_blocks,
    drop_template_widgets,
    is_related_heading,
    nfkc,
    repeat_key,
)

# --- Tunable numbers -----------------------------------------------------------------------

PARAGRAPH_MIN_CHARS = 6
"""A block needs this many visible characters, and a sentence end, to count as a paragraph."""

FIELD_LINE_MAX_CHARS = 120
"""Longest block read as a meta line or byline."""

TEXT_VALUE_MAX_CHARS = 40
"""Longest value of a free-text field such as 来源 or 作者."""

NAMES_MAX = 8
"""Most person names one byline role may list."""

CAPTION_MAX_CHARS = 120
"""Longest block read as an image caption."""

LINK_ITEM_MAX_CHARS = 60
"""Longest block read as an item of a related-links list."""

TEMPLATE_MIN_PAGES = 5
"""Pages of a site observed before `SiteTemplate` judges any of its blocks."""

TEMPLATE_MIN_COUNT = 3
"""Fewest pages of a site a block must appear on to be its template."""

TEMPLATE_MIN_SHARE = 0.5
"""Smallest share of a site's observed pages a block must appear on to be its template."""

TEMPLATE_PRUNE_EVERY = 1000
"""Every this many pages of a site, keys seen on one page only are forgotten to bound memory."""

CHINA_UTC_OFFSET = "+08:00"

# --- Text helpers --------------------------------------------------------------------------

_TAG_RE = re.compile(r"</?[A-Za-z][^<>]{0,300}>")
_SPACE_RE = re.compile(r"[\s\u00ad\u200b-\u200f\u2060\ufeff]+")
_SENTENCE_END_RE = re.compile(r"[。!?]|[\u4e00-\u9fff]\.(?:\s|$)")


def _normalize_line(block: str) -> str:
    """NFKC form of a block with markup gone and every run of spaces made one ASCII space."""
    text = _TAG_RE.sub("", html.unescape(block))
    text = nfkc(text)
    return _SPACE_RE.sub(" ", text).strip()


def is_paragraph(block: str) -> bool:
    """True for a block that reads as article prose: long enough and holding a sentence end."""
    text = _normalize_line(block)
    return len(repeat_key(text)) >= PARAGRAPH_MIN_CHARS and bool(_SENTENCE_END_RE.search(text))


def drop_blank_blocks(blocks: list[str]) -> list[str]:
    """Drop blocks that hold no visible character."""
    return [block for block in blocks if repeat_key(block)]


# --- Boilerplate line patterns -------------------------------------------------------------


@dataclass(frozen=True)
class BoilerplateRule:
    """One kind of page chrome: `pattern` must match a whole block of at most `max_chars`."""

    name: str
    pattern: re.Pattern[str]
    max_chars: int


_NO_SENTENCE = r"[^。!?]"

BOILERPLATE_RULES: tuple[BoilerplateRule, ...] = (
    # 当前位置: 首页 > 新闻中心 > 图说园区 / 您现在的位置：首页 » 通知公告
    BoilerplateRule(
        "breadcrumb",
        re.compile(
            r"(?:当前|您的|你的|您现在的|你现在的|您当前的?|所在)位置\s*(?::|>|»)\s*"
            rf"{_NO_SENTENCE}{{0,100}}"
        ),
        120,
    ),
    # 首页 > 新闻中心 > 园区要闻
    BoilerplateRule(
        "breadcrumb_trail",
        re.compile(rf"(?:网站)?首页\s*(?:>>|>|»|›|/|→|-)\s*{_NO_SENTENCE}{{1,100}}"),
        120,
    ),
    # 上一篇：园区举办… / 下一篇：没有了 / 上一页
    BoilerplateRule(
        "previous_next",
        re.compile(
            r"(?:上一篇|下一篇|上一条|下一条|前一篇|后一篇)(?:\s*:)?.{0,100}"
            r"|(?:上篇|下篇|上一页|下一页)(?:\s*:.{0,100})?"
        ),
        120,
    ),
    # 扫一扫在手机打开当前页 / 手机扫码阅读 / 微信扫一扫分享
    BoilerplateRule(
        "qr_caption",
        re.compile(
            r"(?:微信|手机)?扫(?:一扫|码|描二维码)(?:在|用)?(?:手机|移动端)?上?"
            r"(?:打开|查看|阅读|浏览|分享)?(?:到?朋友圈)?(?:当前页面?|本页面?|此页|本文|文章|页面)?"
            r"|手机(?:扫码)?(?:阅读|查看|浏览)(?:本文|本页|当前页)?"
            r"|(?:分享|手机版|微信)?二维码"
        ),
        40,
    ),
    # 版权所有：苏州工业园区管理委员会 ICP备05005414号 网站标识码3205000010 苏公网安备…
    BoilerplateRule(
        "footer_marks",
        re.compile(
            rf"{_NO_SENTENCE}{{0,150}}"
            r"(?:版权所有|(?i:copyright)|\([cC]\)|©|ICP备|ICP证|网站标识码|公网安备|网安备)"
            rf"{_NO_SENTENCE}{{0,200}}"
        ),
        360,
    ),
    # 主办：苏州工业园区管理委员会 承办：苏州工业园区党政办公室 (a lone "主办单位：" line
    # also opens event notices, so only the pair, or a label naming the website, is chrome)
    BoilerplateRule(
        "footer_owner",
        re.compile(
            rf"(?:网站)?主办(?:单位)?\s*:{_NO_SENTENCE}{{1,60}}"
            rf"(?:承办|协办|维护|运维|技术支持)(?:单位)?\s*:{_NO_SENTENCE}{{0,80}}"
            rf"|(?:网站(?:主办|承办|维护|运维|管理)(?:单位)?|技术支持|网站维护|维护单位|运维单位)"
            rf"\s*:{_NO_SENTENCE}{{0,80}}"
        ),
        200,
    ),
    # 建议使用IE9以上浏览器，1920*1080分辨率浏览
    BoilerplateRule(
        "browser_advice",
        re.compile(r"[^。]{0,40}(?:建议|推荐|最佳)[^。]{0,60}(?:浏览器|分辨率)[^。]{0,60}"),
        160,
    ),
    # 相关链接：园区召开… (heading and one link on a single line)
    BoilerplateRule(
        "related_inline",
        re.compile(
            r"(?:相关(?:链接|阅读|新闻|文章|推荐|报道)|延伸阅读|推荐阅读|友情链接)\s*:"
            rf"{_NO_SENTENCE}{{0,80}}"
        ),
        100,
    ),
)
"""Whole-block patterns for chrome, matched against the block's `_normalize_line` form."""


CHROME_TOKENS: tuple[tuple[str, str], ...] = (
    ("back_home", r"返回[^\s|]{0,6}?首页|返回(?:顶部|列表|上一页|上级|栏目)|回到顶部|返回"),
    (
        "language_accessibility",
        r"繁體中文|繁体中文|简体中文|簡體中文|繁體|繁体|简体|簡體|English|ENGLISH|EN"
        r"|日本語|日本语|日语|韩语|한국어|无障碍(?:浏览|阅读)?|無障礙|关怀版|長者版|长者版"
        r"|长辈版|适老版|适老化|老年版|读屏专用|手机版|移动版|网站支持IPv6|支持IPv6|IPv6",
    ),
    (
        "font_size",
        r"(?:字号|字体|文字大小|字体大小)\s*:?\s*"
        r"(?:[\[【(]?\s*(?:默认|标准|特大|放大|缩小|大|中|小|A\+|A-|T)\s*[\]】)]?\s*)*",
    ),
    (
        "view_counter",
        r"(?:浏览量|浏览次数|访问量|访问次数|阅读量|阅读次数|阅读数|点击量|点击数|点击次数|点击率)"
        r"\s*:?\s*(?:\d[\d,]*\s*次?)?"
        r"|(?:浏览|阅读|点击)\s*:\s*(?:\d[\d,]*\s*次?)?",
    ),
    (
        "share_bar",
        r"分享到?\s*:?|微信(?:好友)?|朋友圈|(?:新浪|腾讯)?微博|QQ空间|QQ好友|QQ|人人网|豆瓣|今日头条",
    ),
    (
        "print_close",
        r"我要打印|打印(?:此页|本页|文章|本文|页面)?|关闭(?:窗口|本页|此页|页面)?"
        r"|(?:加入|添加)?收藏(?:本页|本站|此页)?|保存(?:本页|文章)?|我要纠错|纠错",
    ),
    (
        "footer_links",
        r"联系我们|网站地图|站点地图|关于我们|使用帮助|帮助中心|隐私(?:声明|政策)|网站声明|免责声明"
        r"|法律声明|版权声明|意见反馈|网站纠错|网站导航|设为首页|高级搜索|搜索|登录|注册",
    ),
)
"""Chrome words that fill a whole line among separators ("打印此页|关闭窗口", "繁體 |English")."""

_CHROME_TOKEN_RE = re.compile("|".join(f"(?:{pattern})" for _, pattern in CHROME_TOKENS))
_CHROME_REST_RE = re.compile(r"[\s|/\\·,、:;\-_>»›<«‹\[\]【】()•*]*")
_CHROME_LINE_MAX_CHARS = 120


def is_boilerplate_line(block: str) -> bool:
    """True when one rule of `BOILERPLATE_RULES` or only `CHROME_TOKENS` cover the whole block."""
    text = _normalize_line(block)
    if not text:
        return False
    for rule in BOILERPLATE_RULES:
        if len(text) <= rule.max_chars and rule.pattern.fullmatch(text):
            return True
    if len(text) > _CHROME_LINE_MAX_CHARS:
        return False
    rest = _CHROME_TOKEN_RE.sub(" ", text)
    return rest != text and _CHROME_REST_RE.fullmatch(rest) is not None


def drop_boilerplate_lines(blocks: list[str]) -> list[str]:
    """Drop chrome lines, then related-links headings with the link titles listed under them."""
    kept = [block for block in blocks if not is_boilerplate_line(block)]
    return _drop_related_lists(kept)


def _drop_related_lists(blocks: list[str]) -> list[str]:
    """Drop a "相关链接"-style heading and the short non-sentence lines right after it."""
    kept: list[str] = []
    in_list = False
    for block in blocks:
        if is_related_heading(block):
            in_list = True
            continue
        if in_list and _is_link_item(block):
            continue
        in_list = False
        kept.append(block)
    return kept


def _is_link_item(block: str) -> bool:
    text = _normalize_line(block)
    return (
        len(text) <= LINK_ITEM_MAX_CHARS
        and not is_paragraph(block)
        and parse_field_line(block) is None
    )


# --- Dates -----------------------------------------------------------------------------------

_DATE = r"(?P<y>\d{4})\s*[-/.年]\s*(?P<m>\d{1,2})\s*[-/.月]\s*(?P<d>\d{1,2})\s*日?"
_CN_DATE = (
    r"(?P<cy>[〇零○O0一二三四五六七八九]{4})\s*年\s*(?P<cm>[一二三四五六七八九十]{1,2})\s*月"
    r"\s*(?P<cd>[一二三四五六七八九十]{1,3})\s*日"
)
_TIME = r"(?P<H>\d{1,2})\s*[:时]\s*(?P<M>\d{2})(?:\s*[:分]\s*(?P<S>\d{2})\s*秒?|\s*分)?"
_WEEKDAY = r"(?:星期|周)[一二三四五六日天]"
_DATETIME_RE = re.compile(
    rf"(?:{_DATE}|{_CN_DATE})(?:\s*{_WEEKDAY})?(?:\s*{_TIME})?(?:\s*{_WEEKDAY})?"
)
_BARE_DATE_RE = re.compile(rf"[(\[]?\s*{_DATETIME_RE.pattern}\s*[)\]]?")
_CN_DIGITS = {c: i for i, c in enumerate("〇一二三四五六七八九")}
_CN_DIGITS.update({"零": 0, "○": 0, "O": 0, "0": 0})


def _cn_number(text: str) -> int:
    """Value of a Chinese numeral below 100 ("五", "十五", "二十", "三十一")."""
    tens, ten, ones = text.partition("十")
    if (not ten and len(text) != 1) or len(tens) > 1 or len(ones) > 1 or "十" in ones:
        raise ValueError(f"not a Chinese number below 100: {text!r}")
    if not ten:
        return _CN_DIGITS[text]
    return (_CN_DIGITS[tens] if tens else 1) * 10 + (_CN_DIGITS[ones] if ones else 0)


def _iso_from_match(match: re.Match[str]) -> str | None:
    """ISO date, or ISO datetime at +08:00 when a time was given; None for impossible dates."""
    try:
        if match.group("y"):
            year, month, day = (int(match.group(g)) for g in ("y", "m", "d"))
        else:
            year = int("".join(str(_CN_DIGITS[c]) for c in match.group("cy")))
            month, day = _cn_number(match.group("cm")), _cn_number(match.group("cd"))
        date = dt.date(year, month, day)
        if not 1990 <= year <= 2100:
            return None
        if match.group("H") is None:
            return date.isoformat()
        clock = dt.time(int(match.group("H")), int(match.group("M")), int(match.group("S") or 0))
    except ValueError:
        return None
    return f"{date.isoformat()}T{clock.isoformat()}{CHINA_UTC_OFFSET}"


def parse_datetime(text: str) -> str | None:
    """ISO form of a text that is only a date, optionally with time and weekday; else None."""
    match = _DATETIME_RE.fullmatch(_normalize_line(text))
    return _iso_from_match(match) if match else None


def parse_bare_date(block: str) -> str | None:
    """ISO form of a block that is only a date line ("2024年3月15日", "(2024-03-15)")."""
    match = _BARE_DATE_RE.fullmatch(_normalize_line(block))
    return _iso_from_match(match) if match else None


# --- Meta lines and bylines ----------------------------------------------------------------


class _Kind(Enum):
    NAMES = "names"  # person names, checked one by one
    TEXT = "text"  # short free text (an organisation)
    DATETIME = "datetime"  # must parse as a date, or be empty
    IGNORE = "ignore"  # counters and switches whose value carries nothing


@dataclass(frozen=True)
class _Label:
    field: str | None
    kind: _Kind
    tail_ok: bool = True  # may be lifted from the tail, not only the head
    colon: bool = True  # must be followed by ":" (or "/" for names)


def _names(field: str | None) -> _Label:
    """A byline role followed by person names; a space after the role is enough."""
    return _Label(field, _Kind.NAMES, colon=False)


# Which label fills which field, as (labels separated by spaces, meaning). 通讯员
# (correspondent) names join the 记者 names in `author`, reporters first: the record has no
# field of its own for them and they share the authorship.
_LABEL_TABLE: tuple[tuple[str, _Label], ...] = (
    (
        "发布时间 发布日期 发表时间 发表日期 更新时间 更新日期 发文日期",
        _Label("published_at", _Kind.DATETIME),
    ),
    # Bare 时间/日期 also open the event details at the end of notices: head only.
    ("时间 日期", _Label("published_at", _Kind.DATETIME, tail_ok=False)),
    (
        "来源 信息来源 文章来源 稿件来源 新闻来源 稿源 转自 转载自 供稿",
        _Label("source", _Kind.TEXT),
    ),
    ("发布机构 发布单位 发布者 发布人", _Label(None, _Kind.TEXT)),
    ("作者", _Label("author", _Kind.TEXT)),
    (
        "记者 本报记者 本台记者 本刊记者 融媒体记者 融媒记者 特约记者 见习记者 实习记者 "
        "首席记者 撰稿 撰文 执笔",
        _names("author"),
    ),
    ("文", _Label("author", _Kind.NAMES, colon=True)),
    ("通讯员", _names("correspondent")),
    ("编辑 责任编辑 责编 网络编辑 编审 文字编辑 新媒体编辑", _names("editor")),
    ("摄影 摄像 图片 拍摄 摄影记者 图片编辑", _names("photographer")),
    ("图 摄", _Label("photographer", _Kind.NAMES, colon=True)),
    (
        "审核 审校 校对 初审 复审 终审 一审 二审 三审 签发 监制 统筹 策划 制作 设计 视频",
        _names(None),
    ),
    (
        "浏览量 浏览次数 访问量 阅读量 阅读次数 点击量 点击数 点击次数 浏览 阅读 点击 字号 字体",
        _Label(None, _Kind.IGNORE),
    ),
)
_LABELS = {label: spec for labels, spec in _LABEL_TABLE for label in labels.split()}


def _label_alternative(label: str, spec: _Label) -> str:
    if spec.kind is _Kind.NAMES and not spec.colon:
        separator = r"(?:\s*[:/]\s*|\s+|$)"
    elif spec.kind is _Kind.NAMES:
        separator = r"\s*[:/]\s*"
    else:
        separator = r"\s*:\s*"
    return re.escape(label) + separator


_BOUNDARY = r"\s|/丨,;()\[\]【】、"
_LABEL_RE = re.compile(
    rf"(?<![^{_BOUNDARY}])(?:"
    + "|".join(
        _label_alternative(label, spec)
        for label, spec in sorted(_LABELS.items(), key=lambda item: -len(item[0]))
    )
    + ")"
)
_LABEL_WORD_RE = re.compile(r"[^\s:/]+")
_VALUE_TRIM = " |丨/,;、[]【】"
_NAME_RE = re.compile(
    r"[\u4e00-\u9fff]{2,4}|[\u4e00-\u9fff]{1,10}·[\u4e00-\u9fff]{1,10}|[A-Za-z][A-Za-z.'-]{1,30}"
)
_NAME_SPLIT_RE = re.compile(r"[\s、,;]+")
_IGNORED_VALUE_RE = re.compile(r"[\d,\s大中小默认标准特大放大缩小A+\-T次|]{0,20}")
_ENCLOSED_RE = re.compile(r"[(\[【](.*)[)\]】]")


@dataclass(frozen=True)
class FieldLine:
    """A meta line or byline read field by field; `values` pairs a field with its value."""

    values: tuple[tuple[str, str], ...]
    tail_ok: bool


def parse_field_line(block: str) -> FieldLine | None:
    """Read a block made only of "label: value" fields ("时间: … |来源: …", "编辑 X 摄影 Y")."""
    text = _normalize_line(block)
    if not text or len(text) > FIELD_LINE_MAX_CHARS:
        return None
    enclosed = _ENCLOSED_RE.fullmatch(text)
    if enclosed:
        text = enclosed.group(1).strip()
    values: list[tuple[str, str]] = []
    tail_ok = True
    start = 0
    leading = _DATETIME_RE.match(text)
    if leading:  # "2024-03-15 10:20 来源：…" carries its date without a label
        iso = _iso_from_match(leading)
        if iso is None:
            return None
        values.append(("published_at", iso))
        start = leading.end()
        while start < len(text) and text[start] in _VALUE_TRIM:
            start += 1
    matches = list(_LABEL_RE.finditer(text, start))
    if not matches or matches[0].start() != start:
        return None
    for index, match in enumerate(matches):
        end = matches[index + 1].start() if index + 1 < len(matches) else len(text)
        label_match = _LABEL_WORD_RE.match(match.group())
        assert label_match is not None  # every alternative starts with a label word
        spec = _LABELS[label_match.group()]
        value = text[match.end() : end].strip(_VALUE_TRIM)
        parsed = _read_value(spec, value, has_colon=":" in match.group() or "/" in match.group())
        if parsed is None:
            return None
        tail_ok = tail_ok and spec.tail_ok
        if spec.field is not None and parsed:
            values.extend((spec.field, item) for item in parsed)
    return FieldLine(tuple(values), tail_ok)


def _read_value(spec: _Label, value: str, *, has_colon: bool) -> list[str] | None:
    """The value's items when it fits the label's kind ([] for an empty value), else None."""
    if spec.kind is _Kind.IGNORE:
        return [] if _IGNORED_VALUE_RE.fullmatch(value) else None
    if not value:
        return [] if has_colon else None
    if spec.kind is _Kind.DATETIME:
        iso = parse_datetime(value)
        return [iso] if iso else None
    if spec.kind is _Kind.TEXT:
        too_long = len(value) > TEXT_VALUE_MAX_CHARS
        return None if too_long or _SENTENCE_END_RE.search(value) else [value]
    names = [name for name in _NAME_SPLIT_RE.split(value) if name]
    if len(names) > NAMES_MAX or not all(_NAME_RE.fullmatch(name) for name in names):
        return None
    return names


# Bylines inside the first or last paragraph: "本报讯（记者 张三 通讯员 李四）3月15日…",
# "…参加会议。（记者 张三）".
_LEADING_BYLINE_RE = re.compile(
    r"\s*(?:[^\s（(，,。]{0,14}[讯电])?\s*[（(]([^（()）]{1,60})[)）]\s*"
)
_TRAILING_BYLINE_RE = re.compile(r"\s*[（(]([^（()）]{1,60})[)）]\s*$")

_CAPTION_RE = re.compile(
    r"[(\[]?\s*(?:图为|上图(?:为|:)|下图(?:为|:)|左图为|右图为|图片为|图注|▲|△)"
)


def is_caption(block: str) -> bool:
    """True for a short block that describes a photo ("图为会议现场。", "▲园区夜景")."""
    text = _normalize_line(block)
    return len(text) <= CAPTION_MAX_CHARS and _CAPTION_RE.match(text) is not None


# --- Lifting ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class LiftedMetadata:
    """Metadata taken out of the text blocks; None where the page does not say."""

    published_at: str | None = None
    """"2024-03-15T17:57:00+08:00" when a time was given, else "2024-03-15"."""
    source: str | None = None
    """The 来源 organisation; an empty 来源 field is None."""
    author: str | None = None
    """Reporters then correspondents (记者, 作者, 文/, then 通讯员), joined by "、"."""
    editor: str | None = None
    """编辑 / 责任编辑 names joined by "、"."""
    photographer: str | None = None
    """摄影 / 图/ names joined by "、"."""
    signature_date: str | None = None
    """The date line closing the article ("2024年3月15日"), ISO date."""
    title: str | None = None
    """The block right above the head's first meta line or byline, when there is one."""
    captions: tuple[str, ...] = ()
    """Photo captions found between the blocks, in page order, as the page wrote them."""


@dataclass
class _Collected:
    published_head: list[str] = field(default_factory=list)
    published_tail: list[str] = field(default_factory=list)
    fields: dict[str, list[str]] = field(default_factory=dict)
    signature_date: str | None = None
    captions: list[str] = field(default_factory=list)

    def add(self, line: FieldLine, *, in_head: bool) -> None:
        for name, value in line.values:
            if name == "published_at":
                (self.published_head if in_head else self.published_tail).append(value)
            elif value not in self.fields.setdefault(name, []):
                self.fields[name].append(value)

    def joined(self, *names: str) -> str | None:
        values = [value for name in names for value in self.fields.get(name, [])]
        return "、".join(dict.fromkeys(values)) or None


def lift_metadata(blocks: list[str]) -> tuple[list[str], LiftedMetadata]:
    """Move the meta line, bylines, signature date and captions out of the head and tail."""
    paragraphs = [
        index for index, block in enumerate(blocks) if is_paragraph(block) and not is_caption(block)
    ]
    head_end = paragraphs[0] if paragraphs else len(blocks)
    tail_start = paragraphs[-1] + 1 if paragraphs else 0
    collected = _Collected()
    lifted: set[int] = set()
    first_head_lift: int | None = None
    # A photo story told in captions alone keeps them as its text.
    lift_captions = bool(paragraphs)
    for index, block in enumerate(blocks):
        in_head, in_tail = index < head_end, index >= tail_start
        if lift_captions and is_caption(block):
            collected.captions.append(block)
            lifted.add(index)
            continue
        if not (in_head or in_tail):
            continue
        line = parse_field_line(block)
        date = parse_bare_date(block) if line is None else None
        if line is not None and (in_head or line.tail_ok):
            collected.add(line, in_head=in_head)
        elif date is not None and in_head:
            collected.published_head.append(date)
        elif date is not None:
            collected.signature_date = date
        else:
            continue
        lifted.add(index)
        if in_head and first_head_lift is None:
            first_head_lift = index
    title = None
    if first_head_lift:  # what sits above the head's meta line is the title group
        above = [index for index in range(first_head_lift) if index not in lifted]
        title = blocks[above[-1]] if above else None
        lifted.update(range(first_head_lift))
    body = [block for index, block in enumerate(blocks) if index not in lifted]
    body = _lift_inline_bylines(body, collected)
    published = collected.published_head + collected.published_tail
    signature = collected.signature_date
    metadata = LiftedMetadata(
        published_at=published[0] if published else signature,
        source=collected.joined("source"),
        author=collected.joined("author", "correspondent"),
        editor=collected.joined("editor"),
        photographer=collected.joined("photographer"),
        signature_date=signature,
        title=title,
        captions=tuple(collected.captions),
    )
    return body, metadata


def _lift_inline_bylines(blocks: list[str], collected: _Collected) -> list[str]:
    """Cut a byline in parentheses off the start of the first or end of the last paragraph."""
    paragraphs = [index for index, block in enumerate(blocks) if is_paragraph(block)]
    if not paragraphs:
        return blocks
    blocks = list(blocks)
    first, last = paragraphs[0], paragraphs[-1]
    blocks[first] = _cut_byline(blocks[first], _LEADING_BYLINE_RE.match(blocks[first]), collected)
    blocks[last] = _cut_byline(blocks[last], _TRAILING_BYLINE_RE.search(blocks[last]), collected)
    return [block for block in blocks if block]


def _cut_byline(block: str, match: re.Match[str] | None, collected: _Collected) -> str:
    """`block` without the matched parenthesis when that holds a byline, else unchanged."""
    line = parse_field_line(match.group(1)) if match else None
    if match is None or line is None or not line.values:
        return block
    collected.add(line, in_head=match.start() == 0)
    return (block[: match.start()] + block[match.end() :]).strip()


def drop_title(blocks: list[str], title: str) -> list[str]:
    """Drop blocks before the first paragraph that repeat the known `title`."""
    key = repeat_key(title)
    kept: list[str] = []
    in_head = True
    for block in blocks:
        in_head = in_head and not is_paragraph(block)
        if not (in_head and key and repeat_key(block) == key):
            kept.append(block)
    return kept


# --- Site-level template ---------------------------------------------------------------------


def _digest(key: str) -> str:
    return hashlib.blake2b(key.encode("utf-8"), digest_size=8).hexdigest()


class SiteTemplate:
    """Per-site counts of the pages each block appears on, to find the site's own template.

    A block is template when its site has at least `min_pages` observed pages, the block
    appeared on at least `min_count` of them and on at least `min_share` of all of them.
    Blocks are compared by `repeat_key`, stored as short digests so the state stays small.
    Pass each page to `observe` once; pages cleaned before their site reaches `min_pages`
    keep that site's template lines.
    """

    STATE_VERSION = 1

    def __init__(
        self,
        *,
        min_pages: int = TEMPLATE_MIN_PAGES,
        min_count: int = TEMPLATE_MIN_COUNT,
        min_share: float = TEMPLATE_MIN_SHARE,
        prune_every: int = TEMPLATE_PRUNE_EVERY,
    ) -> None:
        if min_pages < 1:
            raise ValueError(f"min_pages must be at least 1, got {min_pages}")
        if min_count < 2:
            raise ValueError(
                f"min_count must be at least 2 (a block on one page is not template), "
                f"got {min_count}"
            )
        if not 0.0 < min_share <= 1.0:
            raise ValueError(f"min_share must be in (0, 1], got {min_share}")
        if prune_every < 1:
            raise ValueError(f"prune_every must be at least 1, got {prune_every}")
        self.min_pages = min_pages
        self.min_count = min_count
        self.min_share = min_share
        self.prune_every = prune_every
        self._pages: Counter[str] = Counter()
        self._counts: dict[str, Counter[str]] = {}

    def observe(self, site: str, blocks: Iterable[str]) -> None:
        """Count one page of `site`: each distinct block once."""
        _check_site(site)
        keys = {_digest(key) for key in map(repeat_key, blocks) if key}
        self._pages[site] += 1
        counts = self._counts.setdefault(site, Counter())
        counts.update(keys)
        if self._pages[site] % self.prune_every == 0:
            for digest in [digest for digest, count in counts.items() if count <= 1]:
                del counts[digest]

    def pages(self, site: str) -> int:
        """How many pages of `site` have been observed."""
        return self._pages[site]

    def is_template(self, site: str, block: str) -> bool:
        """True when `block` recurs on enough of `site`'s pages to be its template."""
        pages = self._pages[site]
        key = repeat_key(block)
        if pages < self.min_pages or not key:
            return False
        count = self._counts.get(site, Counter())[_digest(key)]
        return count >= self.min_count and count >= self.min_share * pages

    def drop_site_template(self, site: str, blocks: list[str]) -> list[str]:
        """Drop the blocks that are `site`'s template."""
        _check_site(site)
        return [block for block in blocks if not self.is_template(site, block)]

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready state: {"version": 1, "sites": {site: {"pages": n, "counts": {…}}}}."""
        return {
            "version": self.STATE_VERSION,
            "sites": {
                site: {"pages": pages, "counts": dict(self._counts.get(site, Counter()))}
                for site, pages in self._pages.items()
            },
        }

    @classmethod
    def from_dict(cls, state: Mapping[str, Any], **options: Any) -> SiteTemplate:
        """Rebuild from `to_dict` output; `options` are the constructor's keyword arguments."""
        template = cls(**options)
        sites = state.get("sites") if isinstance(state, Mapping) else None
        if not isinstance(sites, Mapping) or state.get("version") != cls.STATE_VERSION:
            raise ValueError(
                f"site template state must be a mapping with 'version': {cls.STATE_VERSION} "
                f"and a 'sites' mapping. Delete the stored state to start counting afresh."
            )
        for site, entry in sites.items():
            pages, counts = _read_site_state(entry)
            if pages is None or counts is None:
                raise ValueError(
                    f"site template state for {site!r} is malformed: expected "
                    f"{{'pages': int, 'counts': {{digest: int <= pages}}}}. Delete the stored "
                    f"state to start counting afresh."
                )
            template._pages[site] = pages
            template._counts[site] = counts
        return template


def _read_site_state(entry: Any) -> tuple[int | None, Counter[str] | None]:
    """Page count and digest counts of one site's stored state, or Nones when malformed."""
    if not isinstance(entry, Mapping):
        return None, None
    pages, counts = entry.get("pages"), entry.get("counts")
    if not isinstance(pages, int) or pages < 0 or not isinstance(counts, Mapping):
        return None, None
    if not all(isinstance(count, int) and 0 < count <= pages for count in counts.values()):
        return None, None
    return pages, Counter({str(digest): count for digest, count in counts.items()})


def _check_site(site: str) -> None:
    if not isinstance(site, str) or not site:
        raise ValueError(f"site must be a non-empty string such as a host name, got {site!r}")


# --- The chain -------------------------------------------------------------------------------


@dataclass(frozen=True)
class CleanResult:
    """The article's blocks, in page order, and the metadata lifted out of them."""

    blocks: tuple[str, ...]
    metadata: LiftedMetadata


def clean_blocks(
    blocks: Iterable[str],
    *,
    site: str | None = None,
    template: SiteTemplate | None = None,
    title: str | None = None,
) -> CleanResult:
    """Run the cleaning chain over one page's blocks; with `template`, also learn from them."""
    if template is not None and not site:
        raise ValueError("clean_blocks(template=...) needs site= (the page's host) as well")
    kept = drop_blank_blocks(list(blocks))
    kept = drop_template_widgets(kept)
    kept = drop_boilerplate_lines(kept)
    kept = drop_repeated_blocks(kept)
    kept, metadata = lift_metadata(kept)
    if title:
        kept = drop_title(kept, title)
    if template is not None and site:
        template.observe(site, kept)
        kept = template.drop_site_template(site, kept)
    return CleanResult(tuple(kept), metadata)


class EmptyBody(DropItem):
    """Cleaning left nothing of the body: the page held no article text."""


def merge_lifted(record: dict[str, Any], metadata: LiftedMetadata) -> dict[str, Any]:
    """Fill the record's empty fields from metadata lifted out of its text.

    The page's own metadata (meta tags, meta line) wins; a lifted date completes a date-only
    `published_at` of the same day with its time, and a signature date fills a missing one.
    """
    merged = dict(record)
    for name in ("source", "author", "editor", "photographer"):
        if not merged.get(name) and getattr(metadata, name):
            merged[name] = getattr(metadata, name)
    published = merged.get("published_at")
    lifted = metadata.published_at or metadata.signature_date
    if not published or (
        lifted and len(published) == 10 and len(lifted) > 10 and lifted.startswith(published)
    ):
        merged["published_at"] = lifted
    captions = list(metadata.captions)
    images = [dict(image) for image in merged.get("images") or []]
    for image in images:
        if image.get("caption") is None and captions:
            image["caption"] = captions.pop(0)
    merged["images"] = images
    return merged


class CleanBodyPipeline:
    """Keeps the article and nothing else in `body`, lifting bylines and meta lines into fields.

    Settings: ``PARKNEWS_CLEAN_LEARN_TEMPLATES`` (bool, default True) — learn each site's
    recurring lines during the crawl and drop them (see `SiteTemplate`); the counts are kept
    in the crawl state between runs. A record whose body
    is empty after cleaning is dropped and counted as ``parknews/clean/empty_body``.
    """

    def __init__(self, *, learn_templates: bool = True, stats: StatsCollector | None = None):
        self.template = SiteTemplate() if learn_templates else None
        self.stats = stats
        self.state: Any = None
        """The crawl state the template counts are saved with, when the crawl has one."""

    @classmethod
    def from_settings(cls, settings: BaseSettings) -> CleanBodyPipeline:
        """The pipeline as configured by `settings`, without stats (for `parknews extract`)."""
        return cls(learn_templates=settings.getbool("PARKNEWS_CLEAN_LEARN_TEMPLATES", True))

    @classmethod
    def from_crawler(cls, crawler: Crawler) -> CleanBodyPipeline:
        from crawler.incremental import CrawlState  # the state imports this module: import late

        learn = crawler.settings.getbool("PARKNEWS_CLEAN_LEARN_TEMPLATES", True)
        pipeline = cls(learn_templates=learn, stats=crawler.stats)
        state = crawler.get_extension(CrawlState)
        if state is not None and pipeline.template is not None:
            # What earlier runs learnt of each site's template carries over, and grows.
            pipeline.template = state.store.load_template()
            pipeline.state = state
        return pipeline

    def close_spider(self) -> None:
        """Save the template counts with the crawl state."""
        if self.state is not None and self.template is not None:
            self.state.save_template(self.template)

    def process_record(self, record: dict[str, Any]) -> dict[str, Any]:
        """The record with a clean body and the lifted fields; EmptyBody when nothing is left."""
        result = clean_blocks(
            record.get("body", "").split("\n"),
            site=record.get("site") if self.template is not None else None,
            template=self.template,
            title=record.get("title"),
        )
        if not result.blocks:
            if self.stats is not None:
                self.stats.inc_value("parknews/clean/empty_body")
            raise EmptyBody(f"no article text left after cleaning {record.get('url')}")
        cleaned = merge_lifted(record, result.metadata)
        cleaned["body"] = "\n".join(result.blocks)
        return cleaned

    def process_item(self, item: Any) -> Any:
        return process_item_by_record(item, self)
