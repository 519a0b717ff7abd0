"""Page chrome recognised line by line: breadcrumbs, previous/next links, QR-code captions,
footers, share and print bars, and related-links lists.

Rules are anchored: a rule drops a block only when it matches the whole (short) block, so an
article sentence that merely starts like chrome ("来源于企业的反馈显示…") stays.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from crawler.text.vocabulary import FURNITURE_LINE, LEGAL_NOTICE_HEADING, RELATED_LINKS_INLINE
from pipelines.blocktext import is_paragraph, made_of, normalize_line, repeat_key
from pipelines.boilerplate.metadata import parse_field_line
from pipelines.repeats import is_related_heading

LINK_ITEM_MAX_CHARS = 60
"""Longest block read as an item of a related-links list."""


def drop_blank_blocks(blocks: list[str]) -> list[str]:
    """Drop blocks that hold no visible character."""
    return [block for block in blocks if repeat_key(block)]


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
    # 打开微信，点击底部的“发现”，使用“扫一扫”即可将网页分享至朋友圈。
    BoilerplateRule(
        "share_help",
        re.compile(
            rf"{_NO_SENTENCE}{{0,40}}扫一扫{_NO_SENTENCE}{{0,50}}(?:分享|朋友圈){_NO_SENTENCE}{{0,30}}。?"
        ),
        100,
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
    BoilerplateRule("related_inline", RELATED_LINKS_INLINE, 100),
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
        r"|(?:加入|添加)?收藏(?:本页|本站|此页)?|保存(?:本页|文章)?|我要纠错|纠错|(?:查看)?更多",
    ),
    ("previous_next", r"上一篇|下一篇|上一条|下一条|前一篇|后一篇|上一页|下一页"),
    (
        "comments",
        r"(?:发表|我要|网友|文章|最新|热门|精彩|全部|查看)?评论(?:列表|区)?(?:\s*\(\d+\))?"
        r"|(?i:post\s+comments?|comments?)",
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
    text = normalize_line(block)
    if not text:
        return False
    for rule in BOILERPLATE_RULES:
        if len(text) <= rule.max_chars and rule.pattern.fullmatch(text):
            return True
    return len(text) <= _CHROME_LINE_MAX_CHARS and made_of(
        text, _CHROME_TOKEN_RE, _CHROME_REST_RE, gap=" "
    )


def drop_boilerplate_lines(blocks: list[str]) -> list[str]:
    """Drop chrome lines, then related-links headings with the link titles listed under them,
    then a legal notice closing the body."""
    kept = [block for block in blocks if not is_boilerplate_line(block)]
    return drop_legal_notice(_drop_related_lists(kept))


LEGAL_NOTICE_MAX_CHARS = 800
"""Longest legal notice (its heading's lines to the end of the body) taken off the body."""


def drop_legal_notice(blocks: list[str]) -> list[str]:
    """Drop a "版权与免责声明" heading and the notice under it when they close the body: the
    heading in the body's second half, at most LEGAL_NOTICE_MAX_CHARS after it, at least
    one of those lines a footer line (reprint terms, copyright, contacts)."""
    for index in range(len(blocks) - 1, len(blocks) // 2 - 1, -1):
        if LEGAL_NOTICE_HEADING.fullmatch(normalize_line(blocks[index])):
            notice = blocks[index + 1 :]
            if sum(len(line) for line in notice) <= LEGAL_NOTICE_MAX_CHARS and any(
                FURNITURE_LINE.search(line) for line in notice
            ):
                return blocks[:index]
            break
    return blocks


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
    text = normalize_line(block)
    return (
        len(text) <= LINK_ITEM_MAX_CHARS
        and not is_paragraph(block)
        and parse_field_line(block) is None
    )
