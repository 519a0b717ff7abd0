"""Repeated blocks and unfilled template widgets removed from an article's text blocks.

A *block* is one paragraph, list item or table row as the extractor emits it, in page order.

What counts as a repeat
-----------------------
Government pages repeat text for three reasons: a print copy or hidden copy of the whole
article, a run of paragraphs pasted twice by the CMS, and a single paragraph duplicated.
Articles also repeat text on purpose: a refrain of a poem or song, the same short subheading
("典型案例", "主要做法") above each of several sections, event labels ("地点：园区会议中心").
Those legitimate recurrences are short and stand alone, while accidental copies are long or
come as runs. So a later block is dropped as a repeat when

* its comparison form (`repeat_key`) has at least `LONG_BLOCK_CHARS` characters and occurred
  earlier: a lone short line is never judged on its own; or
* it belongs to a run of at least `MIN_RUN_BLOCKS` consecutive blocks that reproduces an
  earlier run in the same order and holds at least `MIN_RUN_CHARS` characters in all: a
  two-line chorus stays, a reprinted title + meta line + paragraphs goes; or
* it occurred earlier and sits right next to a block dropped by the two rules above: the
  short title or byline at the edge of a reprinted copy goes with the copy.

The first occurrence always stays where it was.
"""

from __future__ import annotations

import re
from collections import defaultdict

from crawler.text.vocabulary import RELATED_LINKS_HEADING
from pipelines.blocktext import nfkc, repeat_key

LONG_BLOCK_CHARS = 30
"""A block with this many key characters is a paragraph, so a second copy is a repeat."""

MIN_RUN_BLOCKS = 2
"""Fewest consecutive blocks that make a repeated run."""

MIN_RUN_CHARS = 60
"""Fewest key characters a repeated run of short blocks needs; shorter runs are refrains."""


def drop_repeated_blocks(blocks: list[str]) -> list[str]:
    """Keep each repeated block or run at its first place; short standalone refrains stay."""
    keys = [repeat_key(block) for block in blocks]
    repeat = _mark_repeats(keys)
    _extend_to_fringe(keys, repeat)
    return [block for block, dropped in zip(blocks, repeat, strict=True) if not dropped]


def _mark_repeats(keys: list[str]) -> list[bool]:
    """Flag blocks that repeat as a long block or as part of a long enough run."""
    earlier: dict[str, list[int]] = defaultdict(list)
    repeat = [False] * len(keys)
    i = 0
    while i < len(keys):
        key = keys[i]
        if not key:
            i += 1
            continue
        run = max((_run_length(keys, j, i) for j in earlier.get(key, ())), default=0)
        run_chars = sum(len(keys[x]) for x in range(i, i + run))
        if run >= MIN_RUN_BLOCKS and run_chars >= MIN_RUN_CHARS:
            for x in range(i, i + run):
                repeat[x] = True
                earlier[keys[x]].append(x)
            i += run
            continue
        if run and len(key) >= LONG_BLOCK_CHARS:
            repeat[i] = True
        earlier[key].append(i)
        i += 1
    return repeat


def _run_length(keys: list[str], first: int, later: int) -> int:
    """How many blocks from `later` on match those from `first` on, without overlapping."""
    length = 0
    while (
        later + length < len(keys)
        and first + length < later
        and keys[first + length]
        and keys[first + length] == keys[later + length]
    ):
        length += 1
    return length


def _extend_to_fringe(keys: list[str], repeat: list[bool]) -> None:
    """Also flag earlier-seen blocks that border a flagged block (a copy's title or byline)."""
    first_seen: dict[str, int] = {}
    for index, key in enumerate(keys):
        first_seen.setdefault(key, index)
    changed = True
    while changed:
        changed = False
        for index, key in enumerate(keys):
            if repeat[index] or not key or first_seen[key] == index:
                continue
            neighbours = (index - 1, index + 1)
            if any(0 <= n < len(keys) and repeat[n] for n in neighbours):
                repeat[index] = True
                changed = True


# Unfilled widgets: a CMS list or field rendered with its template text instead of content.
_PLACEHOLDER_RE = re.compile(
    r"""
      信息标题 | 文章标题 | 新闻标题 | 标题内容 | 此处(?:为|是)?标题 | 这里是标题
    | 暂无(?:相关)?(?:内容|数据|信息|记录|文章|链接|新闻|图片|附件)
    | (?:没有|无)相关(?:内容|数据|信息|记录|文章)
    | 正在加载 | 加载中 | loading
    | \{\{[^{}]{0,40}\}\}          # {{title}}
    | \$\{[^{}]{0,40}\}            # ${title}
    | \{\$[^{}]{0,40}\}            # {$title}
    | \#\{[^{}]{0,40}\}            # #{title}
    | <%=?[^%]{0,40}%>             # <%= title %>
    | \$[A-Za-z_]\w{0,30}\$        # $title$
    """,
    re.VERBOSE | re.IGNORECASE,
)
# What may surround placeholders in a widget line: bullets, numbering, separators, a date.
_WIDGET_REST_RE = re.compile(r"[\s\d•·●○◆◇■□▪▫►▶*>|:./()\[\]\-_年月日yYmMdD]*")


def is_widget_placeholder(block: str) -> bool:
    """True for a block made only of template placeholders ("信息标题", "{{title}}", "暂无内容")."""
    text = nfkc(block).strip()
    rest = _PLACEHOLDER_RE.sub("", text)
    return rest != text and _WIDGET_REST_RE.fullmatch(rest) is not None


def is_related_heading(block: str) -> bool:
    """True for a related-links list heading such as "相关链接" or "【相关阅读】"."""
    text = nfkc(block).strip()
    return RELATED_LINKS_HEADING.fullmatch(text) is not None


def drop_template_widgets(blocks: list[str]) -> list[str]:
    """Drop placeholder-only blocks and related-links headings whose list came out empty."""
    kept = [block for block in blocks if not is_widget_placeholder(block)]
    return [
        block
        for index, block in enumerate(kept)
        if not (
            is_related_heading(block)
            and (index + 1 == len(kept) or is_related_heading(kept[index + 1]))
        )
    ]
