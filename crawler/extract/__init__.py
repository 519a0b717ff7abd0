"""The one extractor for Chinese government CMS article pages: HTML in, the article record out.

Order of evidence: the page's own metadata (the national government-site meta tags, OpenGraph,
`<title>`), then its structure (title heading, the "时间: … 来源: …" meta line, the content
container), then text density when no known container holds the article. The modules:
`tree` (parsing, visibility), `container` (which element holds the article), `blocks` (its
paragraphs, images, attachments), `title` and `metaline` (the fields around it).
"""

from __future__ import annotations

import re

from lxml import etree
from parsel import Selector

from crawler.cms import url_date
from crawler.extract.blocks import BlockWalker, following_attachments, page_lines
from crawler.extract.container import MIN_BODY_CHARS, choose_container, first_post
from crawler.extract.metaline import (
    TAIL_WINDOW,
    find_breadcrumb_section,
    find_editor_line,
    find_meta_line,
    find_nearby_date,
    join_names,
    merge_meta_lines,
    personal_author,
    real_value,
    split_inner_meta_lines,
)
from crawler.extract.title import (
    find_title,
    headline_anchor,
    page_title_text,
    post_heading,
    title_echo_part,
)
from crawler.extract.tree import (
    PageFacts,
    ascii_lowered,
    first_attribute,
    page_metas,
    parse_html,
)
from crawler.items import BODY_BLOCKS, SCHEMA_VERSION, RecordDict
from crawler.sites import GENERIC_KEY, SiteProfile
from crawler.text.dates import find_datetime, most_precise, read_date_line, utc_now
from crawler.urls import canonical_url, record_id, safe_urljoin, same_host

BINARY_MAGIC = ("%PDF", "\x89PNG", "GIF8", "PK\x03\x04", "\xff\xd8\xff", "Rar!")

# Pages wrapped in thousands of bare <div>s (a broken template loop) would exceed the parser's
# depth limit and Python's recursion limit; runs this long are collapsed to one.
BARE_DIV_RUN = 64

# The first tag is spelled out so that the regex engine scans for "<" between attempts,
# instead of starting the repeat at every position of the page.
BARE_DIV_OPENINGS = re.compile(rf"<div\s*>\s*(?:<div\s*>\s*){{{BARE_DIV_RUN - 1},}}", re.I)

BARE_DIV_CLOSINGS = re.compile(rf"</div\s*>\s*(?:</div\s*>\s*){{{BARE_DIV_RUN - 1},}}", re.I)


class NotAnArticle(Exception):
    """The page holds no article; the message says what was missing, for one log line."""


def canonical_link(root: etree._Element) -> str:
    """The href of the page's first `<link rel="canonical">` that has one, else ""."""
    return first_attribute(root, "link", "href", rel="canonical")


def find_canonical(root: etree._Element, metas: dict[str, str], url: str) -> str:
    """rel=canonical, the `Url` meta or og:url when they stay on the page's host, else `url`."""
    candidates = [
        canonical_link(root),
        metas.get("url", ""),
        metas.get("og:url", ""),
    ]
    for candidate in candidates:
        absolute = safe_urljoin(url, candidate) if candidate.strip() else None
        if absolute and absolute.startswith(("http://", "https://")) and same_host(absolute, url):
            return canonical_url(absolute)
    return canonical_url(url)


def build_record(
    html: str,
    url: str,
    profile: SiteProfile,
    *,
    fetched_at: str | None = None,
    section_hint: str | None = None,
    date_hint: str | None = None,
) -> RecordDict:
    """The record of one article page of `profile`'s site, as the spider yields it to the item
    pipelines: the fields of `ArticleRecord`, the body as its blocks (`BODY_BLOCKS`, which
    `finish_record` joins); NotAnArticle, with the reason, when the page holds no article.

    `section_hint` and `date_hint` are what the list page said of the article, used when the
    page itself does not say; `fetched_at` defaults to now.
    """
    if not html.strip():
        raise NotAnArticle("the page is empty")
    start = html[:4096]
    if "\x00" in start or start.lstrip().startswith(BINARY_MAGIC):
        raise NotAnArticle("the content is binary (a file served as a page), not HTML")
    source = ascii_lowered(html)
    if source.count("<div") >= BARE_DIV_RUN or source.count("</div") >= BARE_DIV_RUN:
        html = BARE_DIV_OPENINGS.sub("<div>", BARE_DIV_CLOSINGS.sub("</div>", html))
        source = ascii_lowered(html)
    try:
        record = record_of_tree(parse_html(html), source, url, profile, date_hint)
    except RecursionError:
        raise NotAnArticle("the page is nested too deeply to read") from None
    record["section"] = record["section"] or section_hint or None
    record["fetched_at"] = fetched_at or utc_now()
    return record


def record_of_tree(
    root: etree._Element,
    source: str,
    url: str,
    profile: SiteProfile,
    date_hint: str | None = None,
) -> RecordDict:
    """`build_record` on the parsed page (`source` is the page `ascii_lowered`, its runs of bare
    wrappers collapsed); the section a list page gives and the fetch time are left empty."""
    if not isinstance(root, etree._Element):
        raise NotAnArticle("the page is not HTML")
    selectors = profile.selectors
    facts = PageFacts(root, source)
    metas = page_metas(root)
    headline = headline_anchor(facts, metas, url)
    content = choose_container(selectors.body, facts, source, headline)
    if content is None:
        raise NotAnArticle("no article body found (no known content container, no dense text)")
    post = None
    if not selectors.body:
        content, post = first_post(content, facts, headline)
    walker = BlockWalker(url, skip_furniture=True, text_of=facts.text)
    walker.walk(content)
    blocks, images, attachments = walker.result()
    if sum(len(b) for b in blocks) < MIN_BODY_CHARS:
        raise NotAnArticle("the content container holds no article text")
    title = (post_heading(post, content, facts) if post is not None else None) or find_title(
        facts, url, metas, selectors.title, source, content, blocks[:2]
    )
    if not title:
        raise NotAnArticle("no title found")
    blocks, inner_meta = split_inner_meta_lines(blocks, title)
    if blocks and title_echo_part(blocks[0], page_title_text(root)) == title:
        blocks = blocks[1:]  # the page's title reassembled, heading the content
    if sum(len(b) for b in blocks) < MIN_BODY_CHARS:
        raise NotAnArticle("the content container holds no article text")
    head, tail = page_lines(root, content, url, lines_after=TAIL_WINDOW)
    attachments = attachments + [
        a for a in following_attachments(content, url) if a not in attachments
    ]
    meta_line = merge_meta_lines(find_meta_line(head), inner_meta)
    override_date = None
    if selectors.published_at:
        found = Selector(root=root, base_url=url).css(selectors.published_at).getall()
        override_date = find_datetime(" ".join(found))
    canonical = find_canonical(root, metas, url)
    return {
        "id": record_id(canonical),
        "url": url,
        "canonical_url": canonical,
        "site": profile.key,
        "site_name": (
            profile.name if profile.key != GENERIC_KEY else metas.get("sitename") or profile.name
        ),
        "section": metas.get("columnname") or find_breadcrumb_section(head),
        "title": title,
        "published_at": most_precise(
            override_date,
            find_datetime(metas.get("pubdate", "")),
            find_datetime(metas.get("article:published_time", "")),
            meta_line.published_at,
            find_datetime(first_attribute(root, "time", "datetime")),
        )
        or find_nearby_date(head, tail, title)
        or url_date(url)
        or date_hint
        or named_date(facts, content),
        "source": real_value(metas.get("contentsource")) or real_value(meta_line.source),
        "author": join_names(
            personal_author(metas.get("author"), metas.get("sitename"), metas.get("contentsource"))
        )
        or real_value(meta_line.author),
        "editor": find_editor_line(tail),
        "photographer": meta_line.photographer,
        BODY_BLOCKS: blocks,
        "images": images,
        "attachments": attachments,
        "language": language_of(blocks),
        "fetched_at": "",
        "schema_version": SCHEMA_VERSION,
    }


DATE_NAME = re.compile(r"date|time|riqi|shijian")
"""Class and id names (lower-cased) of an element showing a date: "date", "pubtime"."""
OTHER_DATE_NAME = re.compile(r"updat|modif|lastmod|expir|access|comment|reply")
"""...unless it names another date than the publication's (an update, a citation's access)."""
NAMED_DATE_MAX_CHARS = 40


def named_date(facts: PageFacts, content: etree._Element) -> str | None:
    """The date printed alone (brackets allowed) in the elements that the page names a date
    ("date", "pubtime"), visible, outside the page furniture and not after the article: the
    first of them, when they all give one day. Pages that print no labelled date beside the
    headline may still mark one up so; elements giving different days are a list of events,
    not the article's date."""
    end = facts.last_order(content)
    days: set[str] = set()
    first: str | None = None
    for element, names in facts.named:
        if facts.order(element) > end:
            break
        lowered = names.lower()
        if not DATE_NAME.search(lowered) or OTHER_DATE_NAME.search(lowered):
            continue
        if not facts.visible(element) or facts.in_furniture(element):
            continue
        text = facts.text(element)
        found = read_date_line(text) if len(text) <= NAMED_DATE_MAX_CHARS else None
        if found is not None:
            days.add(found[:10])
            first = first or found
    return first if len(days) == 1 else None


HAN_CHAR = re.compile(r"[\u4e00-\u9fff\u3400-\u4dbf]")


def language_of(blocks: list[str]) -> str:
    """ "zh" when the blocks hold Han characters, "und" otherwise."""
    return "zh" if any(HAN_CHAR.search(block) for block in blocks) else "und"
