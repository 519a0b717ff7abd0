"""The "时间：… 来源：… 作者：…" line templates print above (or inside) the article, the
editor line below it, names in bylines, and the breadcrumb that names the section."""

from __future__ import annotations

import re
from dataclasses import dataclass, replace

from crawler.text.bylines import (
    AUTHOR_LABELS,
    BARE_DATE_LABELS,
    CORRESPONDENT_LABELS,
    COUNTER_LABELS,
    EDITOR_LABELS,
    PHOTOGRAPHER_LABELS,
    POSTED_LABELS,
    PUBLISHED_LABELS,
    REPORTER_LABELS,
    SOURCE_LABELS,
    label_alternation,
)
from crawler.text.dates import PRINTED_DATETIME, find_datetime
from crawler.text.inline import HEADLINE_DECORATION

DATE_LABEL = re.compile(rf"(?:{label_alternation(PUBLISHED_LABELS, BARE_DATE_LABELS)})\s*[:：]\s*")

SOURCE_LABEL = re.compile(rf"(?:{label_alternation(SOURCE_LABELS)})\s*[:：]\s*")

AUTHOR_LABEL = re.compile(rf"(?:{label_alternation(AUTHOR_LABELS, REPORTER_LABELS)})\s*[:：]\s*")

PHOTOGRAPHER_LABEL = re.compile(rf"(?:{label_alternation(PHOTOGRAPHER_LABELS)})\s*[:：]\s*")

EDITOR_LINE = re.compile(
    rf"[【\[]?(?:{label_alternation(EDITOR_LABELS)})\s*[:：]\s*([^\s:：|｜】\]]{{2,12}})[】\]]?"
)

EDITOR_LINE_WINDOW = 6

CLOSING_DATE_WINDOW = 3
"""Lines after the article searched for a "发表于 …" line."""

TAIL_WINDOW = max(EDITOR_LINE_WINDOW, CLOSING_DATE_WINDOW)
"""Lines after the article that are read at all: the rest of the page need not be walked."""

META_LINE_MAX_CHARS = 200

INNER_META_WINDOW = 3

POSTED_WINDOW = 4
"""Last blocks of the article searched for its closing "发表于 …" line."""

TRAILER_MAX_CHARS = 20
"""Longest block read as a section heading after the article ("相关内容", "发表评论")."""

BARE_META_REST_CHARS = 30

SENTENCE_END = re.compile(r"[。！？；]")

PUBLICATION_LABEL = re.compile(rf"(?:{label_alternation(PUBLISHED_LABELS)})\s*[:：]")

PAGE_FIELD_LABELS = label_alternation(
    PUBLISHED_LABELS, BARE_DATE_LABELS, SOURCE_LABELS, AUTHOR_LABELS, EDITOR_LABELS, COUNTER_LABELS
)
META_FIELD = re.compile(rf"(?:{PAGE_FIELD_LABELS})\s*[:：]|(?:浏览|瀏覽|点击|點擊|阅读|閱讀)[次量]")
"""One field of a page's meta line ("来源：", "浏览次数："): a meta line holds several."""

PLACEHOLDER_VALUES = frozenset(
    {
        "未知",
        "佚名",
        "admin",
        "administrator",
        "管理员",
        "系统管理员",
        "本站",
        "网络",
        "不详",
        "无",
        "null",
        "none",
        "-",
        "--",
    }
)

ORGANISATION_NAME = re.compile(
    r"(?:中心|局|办|办公室|委员会|管委会|委|厅|部|处|科|院|所|站|网|报|报社|社|台|集团|公司|政府|街道)$"
)

NAME_SEPARATORS = re.compile(r"[\s,，、;；]+")

PERSONAL_NAME = re.compile(r"[\u4e00-\u9fff\u3400-\u4dbf·]{2,5}")

ANY_FIELD_LABEL = label_alternation(
    PUBLISHED_LABELS,
    BARE_DATE_LABELS,
    SOURCE_LABELS,
    AUTHOR_LABELS,
    REPORTER_LABELS,
    CORRESPONDENT_LABELS,
    EDITOR_LABELS,
    PHOTOGRAPHER_LABELS,
    COUNTER_LABELS,
)
FIELD_END = re.compile(rf"\s*(?:[|｜【\[]|{ANY_FIELD_LABEL}|发布|访问|评论|分享|打印|$)")
"""Where the value of a meta-line field ends: at the next field's label or a separator."""

BREADCRUMB_LABEL = re.compile(
    r"^(?:当前位置|您当前的位置|您的位置|您现在的位置|所在位置|当前位置是)\s*[:：]?"
)

BREADCRUMB_SPLIT = re.compile(r"\s*(?:>>|>|»|›|→|/|＞)\s*")

BREADCRUMB_TAIL_WORDS = frozenset({"正文", "详情", "内容", "文章", "详细"})


def labelled_value(line: str, label: re.Pattern[str]) -> str | None:
    """The value after `label` on a meta line, up to the next field; None when empty."""
    match = label.search(line)
    if match is None:
        return None
    rest = line[match.end() :]
    end = FIELD_END.search(rest)
    value = rest[: end.start()] if end else rest
    value = value.strip(" :：|｜")
    return value or None


@dataclass(frozen=True)
class MetaLine:
    """Fields of the "时间: … |来源: … |作者: …" line above the article."""

    published_at: str | None = None
    source: str | None = None
    author: str | None = None
    photographer: str | None = None


def find_meta_line(head: list[str]) -> MetaLine:
    """Date, source, author and photographer from the meta line just above the article."""
    for line in reversed(head[-12:]):
        if len(line) > META_LINE_MAX_CHARS:
            continue
        if DATE_LABEL.search(line) is None and not is_meta_line(line):
            continue
        found = read_meta_line(line)
        if found.published_at is not None:
            return found
    return MetaLine()


POSTED_LABEL = re.compile(label_alternation(POSTED_LABELS, PUBLISHED_LABELS), re.I)
"""What a blog or forum writes beside the time a post went up, often just after the post."""
NEARBY_LINE_MAX_CHARS = 120
"""Longest line around the headline read for a date: longer ones are text, not a byline."""
HEADLINE_WINDOW = 4
"""Lines before the article read for a date when the headline is not among them."""


def squeezed(text: str) -> str:
    """A line with all whitespace removed, for comparing a line with the headline."""
    return re.sub(r"\s+", "", text)


def find_nearby_date(head: list[str], tail: list[str], title: str) -> str | None:
    """The date printed with the article that no labelled meta line gave: on the headline's
    own line or between it and the article; when the headline is not among the lines before
    the article, the nearest of the last few (a sidebar above them may print other dates);
    else on a "发表于 …" line right after the article."""
    key = squeezed(title)
    at = next((i for i in range(len(head) - 1, -1, -1) if key and key in squeezed(head[i])), None)
    around = head[at:] if at is not None else head[: -HEADLINE_WINDOW - 1 : -1]
    for line in around:
        if len(line) <= NEARBY_LINE_MAX_CHARS and (found := find_datetime(line)):
            return found
    return next(
        (found for line in tail[:CLOSING_DATE_WINDOW] if (found := posted_time(line))), None
    )


MARKUP_VALUE = re.compile(r"""\w+\s*=\s*["']|[<>]""")
"""Markup a broken template printed where a value should be (`size="20"`)."""


def real_value(value: str | None) -> str | None:
    """None for the placeholders CMS templates print when a field was left empty, and for
    the markup a broken template prints in its place."""
    if value is None or value.strip().lower() in PLACEHOLDER_VALUES:
        return None
    if MARKUP_VALUE.search(value):
        return None
    return value


def personal_author(value: str | None, *organisations: str | None) -> str | None:
    """The Author meta when it names people; None when it names the publishing office (some
    templates fill it with the site or the department for every page)."""
    value = real_value(value)
    if value is None or value in organisations or ORGANISATION_NAME.search(value):
        return None
    return value


def join_names(value: str | None) -> str | None:
    """Several personal names given in one field ("王珺 陈晓雯", "王珺，陈晓雯") as "王珺、陈晓雯";
    anything that is not a list of names is left as it is."""
    if not value:
        return None
    names = [n for n in NAME_SEPARATORS.split(value) if n]
    if len(names) > 1 and all(PERSONAL_NAME.fullmatch(n) for n in names):
        return "、".join(names)
    return value


def is_meta_line(line: str) -> bool:
    """True for a page's own "发布时间：… 来源：… 浏览：…" line, as opposed to an article sentence
    or an event's "时间：…" detail: it names publication, or carries two page fields, or is a
    bare date with a time of day and a short name."""
    if len(line) > META_LINE_MAX_CHARS or SENTENCE_END.search(line):
        return False
    if PUBLICATION_LABEL.search(line) and PRINTED_DATETIME.search(line):
        return True
    fields = len(META_FIELD.findall(line))
    if fields >= 2 and (PRINTED_DATETIME.search(line) or SOURCE_LABEL.search(line)):
        return True
    bare = PRINTED_DATETIME.match(line)
    return bool(bare and bare["H"] is not None and len(line) - bare.end() <= BARE_META_REST_CHARS)


def is_dateline(line: str) -> bool:
    """True for a line that is a date and at most a short name after it ("2003-7-24 钱江晚报",
    "2024年3月15日"), as reprinted news prints under its headline."""
    # Every form of PRINTED_DATETIME carries its year: "3月15日 开幕式" does not match.
    date = PRINTED_DATETIME.match(line.strip())
    return bool(
        date
        and not SENTENCE_END.search(line)
        and len(line.strip()) - date.end() <= BARE_META_REST_CHARS
    )


def split_inner_meta_lines(blocks: list[str], title: str) -> tuple[list[str], MetaLine]:
    """Meta lines templates put inside the content container, at its head or under a repeated
    title, and datelines before the first paragraph, taken out of the blocks and read; lines
    repeating the title go too, and so does a blog's closing "发表于 …" line, whose time is the
    post's."""
    kept: list[str] = []
    found = MetaLine()
    head = next(
        (
            index
            for index, block in enumerate(blocks)
            if SENTENCE_END.search(block) and HEADLINE_DECORATION.sub("", block) != title
        ),
        len(blocks),
    )
    for index, block in enumerate(blocks):
        after_title = index > 0 and blocks[index - 1] == title
        if block == title:
            continue
        if index < head and is_dateline(block):
            # Between the headline and the first paragraph: "2003-7-24 钱江晚报".
            if found.published_at is None and found.source is None:
                found = read_meta_line(block)
            continue
        if (index < INNER_META_WINDOW or after_title) and is_meta_line(block):
            if found.published_at is None and found.source is None:
                found = read_meta_line(block)
            continue
        kept.append(block)
    # The post's own "发表于 …" line closes it, before section headings ("相关内容", "评论").
    for index in range(len(kept) - 1, max(0, len(kept) - POSTED_WINDOW) - 1, -1):
        posted = posted_time(kept[index]) if index > 0 else None
        if posted:
            del kept[index]
            if found.published_at is None:
                found = replace(found, published_at=posted)
            break
        if len(kept[index]) > TRAILER_MAX_CHARS or SENTENCE_END.search(kept[index]):
            break
    return kept, found


def posted_time(line: str) -> str | None:
    """The time on a short "发表于 …" / "posted …" line, None for any other line."""
    if len(line) <= NEARBY_LINE_MAX_CHARS and POSTED_LABEL.search(line):
        return find_datetime(line)
    return None


def read_meta_line(line: str) -> MetaLine:
    """The fields of one meta line."""
    label = DATE_LABEL.search(line)
    published = find_datetime(line[label.end() :] if label else line)
    return MetaLine(
        published_at=published,
        source=labelled_value(line, SOURCE_LABEL),
        author=join_names(labelled_value(line, AUTHOR_LABEL)),
        photographer=join_names(labelled_value(line, PHOTOGRAPHER_LABEL)),
    )


def merge_meta_lines(outer: MetaLine, inner: MetaLine) -> MetaLine:
    """The meta line above the content, completed by one found inside it."""
    return MetaLine(
        published_at=outer.published_at or inner.published_at,
        source=outer.source or inner.source,
        author=outer.author or inner.author,
        photographer=outer.photographer or inner.photographer,
    )


def find_editor_line(tail: list[str]) -> str | None:
    """The "责任编辑：X" line that some templates put just below the article."""
    for line in tail[:EDITOR_LINE_WINDOW]:
        match = EDITOR_LINE.fullmatch(line)
        if match:
            return match[1]
    return None


def find_breadcrumb_section(head: list[str]) -> str | None:
    """The last named step of a "当前位置: 首页 > 新闻中心 > 图说园区" breadcrumb."""
    for line in head:
        label = BREADCRUMB_LABEL.match(line)
        if label is None:
            continue
        steps = [s for s in BREADCRUMB_SPLIT.split(line[label.end() :]) if s.strip()]
        steps = [s.strip() for s in steps if s.strip() not in BREADCRUMB_TAIL_WORDS]
        if len(steps) >= 2:
            return steps[-1]
    return None
