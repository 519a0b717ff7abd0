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

Work per page
-------------
Each block is keyed once, and the blocks read so far are indexed (`SeenBlocks`) so that the
longest earlier run matching the blocks ahead is found in time proportional to its length:
the work grows linearly with the number of blocks, however often a block recurs. Only the
first `MAX_COMPARED_BLOCKS` blocks are compared; the blocks past them are kept unchanged, in
their order, so the cost of comparing is bounded whatever the page's size. An article has
tens or hundreds of blocks: a page past the cap is no article but a dump (a log, a data table,
one paragraph pasted thousands of times), and its tail is passed on as it came, not cut.
"""

from __future__ import annotations

import re

from crawler.text.vocabulary import ATTACHMENTS_HEADING, RELATED_LINKS_HEADING
from pipelines.blocktext import made_of, nfkc, repeat_key

LONG_BLOCK_CHARS = 30
"""A block with this many key characters is a paragraph, so a second copy is a repeat."""

MIN_RUN_BLOCKS = 2
"""Fewest consecutive blocks that make a repeated run."""

MIN_RUN_CHARS = 60
"""Fewest key characters a repeated run of short blocks needs; shorter runs are refrains."""

MAX_COMPARED_BLOCKS = 20_000
"""Blocks compared for repeats, from the first; the blocks past them are kept unchanged."""


def drop_repeated_blocks(blocks: list[str]) -> list[str]:
    """Keep each repeated block or run at its first place; short standalone refrains stay."""
    compared = blocks[:MAX_COMPARED_BLOCKS]
    keys = [repeat_key(block) for block in compared]
    repeat = _mark_repeats(keys)
    _extend_to_fringe(keys, repeat)
    kept = [block for block, dropped in zip(compared, repeat, strict=True) if not dropped]
    return kept + blocks[MAX_COMPARED_BLOCKS:]


def _mark_repeats(keys: list[str]) -> list[bool]:
    """Flag blocks that repeat as a long block or as part of a long enough run."""
    symbols = _symbols(keys)
    seen = SeenBlocks()
    repeat = [False] * len(keys)
    i = 0
    while i < len(keys):
        step = 1
        if keys[i]:
            run = seen.longest_run(symbols, i)
            run_chars = sum(len(keys[x]) for x in range(i, i + run))
            if run >= MIN_RUN_BLOCKS and run_chars >= MIN_RUN_CHARS:
                repeat[i : i + run] = [True] * run
                step = run
            elif run and len(keys[i]) >= LONG_BLOCK_CHARS:
                repeat[i] = True
        for x in range(i, i + step):
            seen.append(symbols[x])
        i += step
    return repeat


def _symbols(keys: list[str]) -> list[int]:
    """One number per block: equal for equal keys, and unique for each empty key, so a run
    never matches across a blank block."""
    numbers: dict[str, int] = {}
    return [numbers.setdefault(key, len(numbers)) if key else -1 - i for i, key in enumerate(keys)]


class SeenBlocks:
    """The blocks read so far, indexed so that the longest run of later blocks that occurred
    among them is found in time proportional to its length (a suffix automaton over block
    symbols: every run that occurred is a path of transitions from state 0).

    Appending a block costs amortised constant time, so a page is indexed in linear time.
    """

    def __init__(self) -> None:
        self.transitions: list[dict[int, int]] = [{}]
        self.link = [-1]
        self.length = [0]
        self.last = 0

    def longest_run(self, symbols: list[int], start: int) -> int:
        """How many blocks from `start` on reproduce, in order, blocks already appended."""
        state = run = 0
        while start + run < len(symbols):
            state = self.transitions[state].get(symbols[start + run], -1)
            if state < 0:
                break
            run += 1
        return run

    def append(self, symbol: int) -> None:
        """Add the next block of the page (the automaton's online construction)."""
        # Each state stands for the runs ending at the same set of places; `link` leads to the
        # state of their shorter endings, `length` is the longest run a state stands for.
        transitions, link, length = self.transitions, self.link, self.length
        current = len(length)
        transitions.append({})
        length.append(length[self.last] + 1)
        link.append(0)
        state = self.last
        while state >= 0 and symbol not in transitions[state]:
            transitions[state][symbol] = current
            state = link[state]
        if state >= 0:
            follow = transitions[state][symbol]
            if length[follow] == length[state] + 1:
                link[current] = follow
            else:
                # `follow` also stands for longer runs that do not end here: split it so that
                # the runs ending here get a state of their own.
                clone = len(length)
                transitions.append(dict(transitions[follow]))
                length.append(length[state] + 1)
                link.append(link[follow])
                while state >= 0 and transitions[state].get(symbol) == follow:
                    transitions[state][symbol] = clone
                    state = link[state]
                link[follow] = link[current] = clone
        self.last = current


def _extend_to_fringe(keys: list[str], repeat: list[bool]) -> None:
    """Also flag earlier-seen blocks that border a flagged block (a copy's title or byline).

    Flagging spreads through neighbours, so a stretch of earlier-seen blocks is flagged whole
    as soon as one of its blocks is: one pass each way flags every such stretch.
    """
    seen: set[str] = set()
    earlier_seen = []
    for key in keys:
        earlier_seen.append(bool(key) and key in seen)
        seen.add(key)
    for index in range(1, len(keys)):
        if earlier_seen[index] and repeat[index - 1]:
            repeat[index] = True
    for index in range(len(keys) - 2, -1, -1):
        if earlier_seen[index] and repeat[index + 1]:
            repeat[index] = True


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
    return made_of(text, _PLACEHOLDER_RE, _WIDGET_REST_RE)


def is_related_heading(block: str) -> bool:
    """True for a related-links list heading such as "相关链接" or "【相关阅读】"."""
    text = nfkc(block).strip()
    return RELATED_LINKS_HEADING.fullmatch(text) is not None


def is_list_heading(block: str) -> bool:
    """True for a line that only heads a list: related links or attached files."""
    text = nfkc(block).strip()
    return any(h.fullmatch(text) for h in (RELATED_LINKS_HEADING, ATTACHMENTS_HEADING))


def drop_template_widgets(blocks: list[str]) -> list[str]:
    """Drop placeholder-only blocks, and list headings (related links, attachments) whose
    list came out empty: the last block, or one right before another such heading."""
    kept = [block for block in blocks if not is_widget_placeholder(block)]
    return [
        block
        for index, block in enumerate(kept)
        if not (
            is_list_heading(block) and (index + 1 == len(kept) or is_list_heading(kept[index + 1]))
        )
    ]
