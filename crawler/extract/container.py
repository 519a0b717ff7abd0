"""Which element of a page holds the article: the profile's selector, the known CMS
containers and the densest text compete on how much sentence text they hold outside links."""

from __future__ import annotations

import heapq
import re
from bisect import bisect_right
from dataclasses import dataclass

from lxml import etree

from crawler.extract.metaline import SENTENCE_END
from crawler.extract.tree import PageFacts
from crawler.text.dates import find_datetime
from crawler.text.inline import clean_inline
from crawler.text.vocabulary import FURNITURE_LINE

# Containers that government CMS families put the article body in, most specific first.
KNOWN_BODY_SELECTORS = (
    "div.TRS_Editor",
    "#js_content",
    ".entry-content",
    ".post-content",
    ".detail-text",
    ".detail-content",
    ".bt_content",
    "div.TRS_UEDITOR",
    "div.trs_editor_view",
    "#zoom",
    ".v_news_content",
    "#vsb_content",
    "#UCAP-CONTENT",
    ".article-content",
    ".news-content",
    ".art_con",
    ".article_con",
    ".pages_content",
    "#ivs_content",
    ".main-txt",
    "article",
    "#content",
    ".content",
)

MIN_BODY_CHARS = 20

MAX_LINK_DENSITY = 0.4
"""A block with more of its text in links is a list (replies, related posts, a menu), never
the article, however long."""

ANCESTOR_CANDIDATES = 4
"""Wrappers of the densest block that compete with it for the article."""

# Candidates scoring at least this share of the best are "the same article"; the deepest wins.
CLOSE_TO_BEST = 0.85

SENTENCE_MARKS = ("，", "。", "；", "！", "？", "、", ",")

MAX_FURNITURE_SHARE = 0.5
"""A block more than half of whose text is footer lines is never the article..."""
MIN_FURNITURE_CHARS = 60
"""...when those lines make a footer's worth of text (a two-line article that names a
website identifier in passing is still an article)."""
FURNITURE_BLOCKS = frozenset({"p", "div", "li", "td", "dd", "span", "font", "section"})
AFTER_SENTENCE = re.compile(rf"(?<={SENTENCE_END.pattern})")
"""Where a sentence ends: its closing mark stays with it, as a footer line's marks do."""

DENSEST_TRIED = 5
"""The densest elements tried, best first, for one that is not mostly links."""
POST_MIN_CHARS = 200
"""Text a block needs to be one of a page's repeated posts (not a teaser or a comment)."""
POST_DATE_WINDOW = 120
"""A post shows its date within this many characters of its start (under its title)."""
POST_SENTENCES = 3
"""Sentence marks a post's text holds at least (a table of dated rows holds none)."""
POSTS_SHARE = 0.6
"""Share of a container's text its posts hold when it is an archive of posts."""
POST_ANCESTORS = 8
"""How far above the chosen container the repeated post blocks are looked for."""

MIN_OWN_CHARS = 10
"""Characters of its own text an element needs to count in the density walk."""

NOT_TEXT_HOLDERS = frozenset({"a", "html", "head", "body", "script", "style", "title", "option"})
"""Elements whose own text does not make them a container of the article."""


def article_score(element: etree._Element, facts: PageFacts) -> float:
    """How much sentence text an element holds outside links and page furniture: the
    punctuation marks of running text and its length, less those of footer lines
    (copyright, disclaimers, contacts), discounted by the share of its text in links. A
    block that is mostly furniture scores nothing; an article ending with its own
    "联系电话：…" line loses that line only."""
    density = facts.link_density(element)
    if density > MAX_LINK_DENSITY:
        return 0.0
    text = facts.text(element)  # not empty: an empty text has a link density of 1
    furniture = facts.once(furniture_text).get(element, FurnitureText())
    share = min(1.0, furniture.chars / len(text))
    if share > MAX_FURNITURE_SHARE and furniture.chars >= MIN_FURNITURE_CHARS:
        return 0.0
    sentences = sum(text.count(mark) for mark in SENTENCE_MARKS) - furniture.marks
    return max(0.0, sentences + (len(text) - furniture.chars) / 100) * (1.0 - density)


@dataclass
class FurnitureText:
    """How much of an element's text is footer lines: characters and sentence marks."""

    chars: int = 0
    marks: int = 0


def furniture_text(facts: PageFacts) -> dict[etree._Element, FurnitureText]:
    """For every element, the footer lines at or under it (the sentences of the pieces of
    visible text between tags in FURNITURE_BLOCKS that hold a FURNITURE_LINE match);
    computed once a page. The pieces are searched joined, in one pass of the regex."""
    found: dict[etree._Element, FurnitureText] = {}
    pieces, owners = facts.text_pieces()
    offsets = facts.piece_offsets()
    searched = -1
    for match in FURNITURE_LINE.finditer("\x00".join(pieces)):
        index = bisect_right(offsets, match.start()) - 1
        node = owners[index]
        if index == searched or node.tag not in FURNITURE_BLOCKS:
            continue
        searched = index
        lines = footer_sentences(clean_inline(pieces[index]))
        if lines:
            chars = sum(len(line) for line in lines)
            marks = sum(line.count(mark) for line in lines for mark in SENTENCE_MARKS)
            for holder in (node, *node.iterancestors()):
                total = found.setdefault(holder, FurnitureText())
                total.chars += chars
                total.marks += marks
    return found


def footer_sentences(piece: str) -> list[str]:
    """The sentences of a piece of text that hold a FURNITURE_LINE match: a footer or a
    legal notice is made of such sentences, while a paragraph of running text that gives a
    phone number ("…，咨询电话：0571-87702345，…") is furniture in that sentence only."""
    return [s for s in AFTER_SENTENCE.split(piece) if FURNITURE_LINE.search(s)]


def depth(element: etree._Element) -> int:
    """Number of ancestors of an element."""
    return sum(1 for _ in element.iterancestors())


def choose_container(
    override: str | None,
    facts: PageFacts,
    source: str | None = None,
    headline: etree._Element | None = None,
) -> etree._Element | None:
    """The element holding the article.

    The profile's selector wins when it matches visible text. Otherwise every match of the
    known CMS containers and the densest text block compete on `article_score`; among those
    scoring close to the best, the deepest is taken, so a page-wide wrapper that also holds
    sidebars and navigation loses to the article block inside it.
    """
    if override:
        for element in facts.css(override, source):
            if facts.visible(element) and len(facts.text(element)) >= MIN_BODY_CHARS:
                return element
    candidates: list[etree._Element] = []
    for query in KNOWN_BODY_SELECTORS:
        for element in facts.css(query, source):
            if element not in candidates:
                candidates.append(element)
    start = facts.order(headline) if headline is not None else 0
    densest = densest_container(facts, start)
    if densest is not None:
        # Its wrappers compete too: the paragraphs the density walk saw may be one part of
        # the article (a table cell, a font run) inside the block that holds all of it.
        wrappers = [densest, *widening_wrappers(densest, facts)]
        candidates += [w for w in wrappers if w not in candidates]
    scored = [
        (c, article_score(c, facts))
        for c in candidates
        if facts.visible(c) and not facts.in_furniture(c)
    ]
    scored = [(c, score) for c, score in scored if score > 0]
    # The article follows its headline: blocks that end before it are not the article.
    scored = [(c, s) for c, s in scored if facts.last_order(c) >= start] or scored
    if not scored:
        return None
    best = max(score for _, score in scored)
    close = [c for c, score in scored if score >= CLOSE_TO_BEST * best]
    return max(close, key=depth)


def widening_wrappers(block: etree._Element, facts: PageFacts) -> list[etree._Element]:
    """The ancestors of a block below `<body>`, up to the ANCESTOR_CANDIDATES-th that holds
    more text than the one below it. A wrapper adding no text (a table row around its one
    cell, a font run around its paragraph) is no step away from the block: a paragraph in a
    cell of a table in a document section is still one section away from that section."""
    found: list[etree._Element] = []
    steps, held = 0, len(facts.text(block))
    for wrapper in block.iterancestors():
        if steps >= ANCESTOR_CANDIDATES or wrapper.tag in ("body", "html"):
            break
        found.append(wrapper)
        size = len(facts.text(wrapper))
        steps += size > held
        held = size
    return found


def first_post(
    chosen: etree._Element, facts: PageFacts, headline: etree._Element | None = None
) -> tuple[etree._Element, etree._Element | None]:
    """The article of a page that shows several posts in blocks of one make (a blog
    archive, a thread: the same tag and class, each a dated post of some length): the first
    after the headline, which the reader meets at the top, not the longest. (`chosen`, None)
    unless it lies in a later post; then (the element at the same place in the first post,
    or that post, and the first post)."""
    start = facts.order(headline) if headline is not None else 0
    makes = facts.once(classed_elements)
    held = _posts_within(chosen, facts, start, makes)
    if held:
        return _main_part(held[0], facts), held[0]
    path = [chosen]
    for block in list(chosen.iterancestors())[:POST_ANCESTORS]:
        path.append(block)
        name = block.get("class")
        if not name or block.tag in ("body", "html"):
            continue
        posts = _posts(makes[(block.tag, name)], facts, start)
        if len(posts) < 2 or block not in posts:
            continue
        first = posts[0]
        if first is block or block in first.iterancestors():
            return chosen, None
        same_place = _follow(first, [_position(e) for e in reversed(path[:-1])])
        if same_place is not None and len(facts.text(same_place)) >= POST_MIN_CHARS:
            return same_place, first
        return first, first
    return chosen, None


def classed_elements(facts: PageFacts) -> dict[tuple[str, str], list[etree._Element]]:
    """The page's elements that carry a class, by tag and class, in document order (once a
    page)."""
    makes: dict[tuple[str, str], list[etree._Element]] = {}
    for element, name in facts.classed:
        makes.setdefault((element.tag, name), []).append(element)
    return makes


def _posts(blocks: list[etree._Element], facts: PageFacts, start: int) -> list[etree._Element]:
    """The blocks that are posts and end after the headline (document position `start`)."""
    return [b for b in blocks if facts.last_order(b) >= start and _is_post(b, facts)]


def _posts_within(
    chosen: etree._Element,
    facts: PageFacts,
    start: int,
    makes: dict[tuple[str, str], list[etree._Element]],
) -> list[etree._Element]:
    """Two or more post blocks of one make that the chosen container holds, if it does."""
    first, last = facts.order(chosen), facts.last_order(chosen)
    for blocks in makes.values():
        inside = [b for b in blocks if first < facts.order(b) <= last] if len(blocks) > 1 else []
        posts = _posts(inside, facts, start) if len(inside) > 1 else []
        if len(posts) < 2 or any(p in q.iterancestors() for p in posts for q in posts):
            continue
        held = sum(len(facts.text(p)) for p in posts)
        if held >= POSTS_SHARE * len(facts.text(chosen)):
            return posts
    return []


def _is_post(block: etree._Element, facts: PageFacts) -> bool:
    # Visibility first, then the raw length, which bounds the text's: the text of a hidden
    # or short block need not be built.
    if not facts.visible(block) or facts.in_furniture(block):
        return False
    if facts.raw_length(block) < POST_MIN_CHARS:
        return False
    text = facts.text(block)
    return (
        len(text) >= POST_MIN_CHARS
        and sum(text.count(mark) for mark in SENTENCE_MARKS) >= POST_SENTENCES
        and find_datetime(text[:POST_DATE_WINDOW]) is not None
    )


MAIN_PART_SHARE = 0.8
"""A child holding this share of a post's text is its body (the rest: title, date line)."""


def _main_part(post: etree._Element, facts: PageFacts) -> etree._Element:
    """The part of a post that holds its body: down from the post while one child holds
    most of the text."""
    element = post
    while True:
        total = len(facts.text(element))
        children = [c for c in element if isinstance(c.tag, str)]
        biggest = max(children, key=lambda c: len(facts.text(c)), default=None)
        if biggest is None or total == 0 or len(facts.text(biggest)) < MAIN_PART_SHARE * total:
            return element
        element = biggest


def _position(element: etree._Element) -> int:
    parent = element.getparent()
    return parent.index(element) if parent is not None else 0


def _follow(start: etree._Element, indexes: list[int]) -> etree._Element | None:
    """The element reached from `start` by child positions `indexes`, if there is one."""
    element = start
    for index in indexes:
        if index >= len(element):
            return None
        element = element[index]
    return element


def densest_container(facts: PageFacts, start: int = 0) -> etree._Element | None:
    """Text-density fallback: the element whose own text and paragraphs carry the most
    sentence text, from document position `start` (the headline) on. Text an element holds
    itself counts for it and its parent (a table cell of text broken by <br> is a container
    too), and half for its grandparent."""
    scores: dict[etree._Element, float] = {}
    own_lengths = facts.own_lengths()
    for node in facts.nodes[start:]:
        # The text walk measured each element's own text: most hold too little to count.
        if own_lengths.get(node, 0) < MIN_OWN_CHARS:
            continue
        tag = node.tag
        if not isinstance(tag, str) or tag in NOT_TEXT_HOLDERS:
            continue
        raw = node.text or ""
        if len(node):
            raw += "".join([child.tail or "" for child in node])
        if len(raw) < MIN_OWN_CHARS or not facts.visible(node) or facts.in_furniture(node):
            continue
        own = clean_inline(raw)
        if len(own) < MIN_OWN_CHARS or FURNITURE_LINE.search(own):
            continue
        score = 1.0 + own.count("，") + own.count("。") + own.count(",") + len(own) / 100
        parent = node.getparent()
        if parent is None:
            continue
        for holder, share in ((node, 1.0), (parent, 1.0), (parent.getparent(), 0.5)):
            if holder is not None:
                scores[holder] = scores.get(holder, 0.0) + score * share
    # Of a block and the element that only wraps it, the wrapper: it holds the whole article.
    # Depths are counted only for the elements scoring as much as the fifth best.
    fifth = min(heapq.nlargest(DENSEST_TRIED, scores.values()), default=0.0)
    contenders = [(element, score) for element, score in scores.items() if score >= fifth]
    ranked = sorted(contenders, key=lambda item: (item[1], -depth(item[0])), reverse=True)
    for element, _ in ranked[:DENSEST_TRIED]:
        if (
            facts.link_density(element) <= MAX_LINK_DENSITY
            and len(facts.text(element)) >= MIN_BODY_CHARS
        ):
            return element
    return None
