"""The article's headline: the profile's selector, the page's title metas, its headings
checked against `<title>`."""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import lru_cache

from lxml import etree

from crawler.extract.metaline import (
    AUTHOR_LABEL,
    DATE_LABEL,
    META_LINE_MAX_CHARS,
    SENTENCE_END,
    SOURCE_LABEL,
    is_meta_line,
    squeezed,
)
from crawler.extract.tree import (
    SKIPPED_TAGS,
    PageFacts,
    css_elements,
    element_text,
    is_furniture,
    is_hidden,
)
from crawler.text.dates import PRINTED_DATETIME
from crawler.text.inline import HEADLINE_DECORATION, clean_inline
from crawler.urls import canonical_url, safe_urljoin

STRING_VALUE = etree.XPath("string()")
WRAPPER_TITLE = etree.XPath("string((//text[@title])[1]/@title)")
"""Collections of saved pages wrap each in `<text id="URL" title="…">`, often with no
`<title>` left inside."""


def page_title_text(root: etree._Element) -> str:
    """The text of the page's (first) `<title>` (its XPath string value, the element found
    without gathering every node of the page as //title does), else of its saved-page
    wrapper's title."""
    title = next(root.iter("title"), None)
    text = clean_inline(str(STRING_VALUE(title))) if title is not None else ""
    return text or clean_inline(str(WRAPPER_TITLE(root)))


def site_names_of(metas: dict[str, str]) -> list[str]:
    """The names the page gives its site (og:site_name, the SiteName meta)."""
    return [n for n in (metas.get("og:site_name"), metas.get("sitename")) if n]


def without_site_name(title: str, site_names: list[str]) -> str:
    """A title with a trailing " - Site name" (or "_", "|") taken off."""
    for site in site_names:
        match = re.search(r"\s*(?:-|_|\||｜|—|–)\s*" + re.escape(site) + r"$", title)
        if match and match.start() > 0:
            return title[: match.start()]
    return title


def heading_text(element: etree._Element, facts: PageFacts) -> str:
    """A heading's text without the date or meta line some templates nest inside it."""
    if not len(element) and element.tag not in SKIPPED_TAGS:
        return HEADLINE_DECORATION.sub("", facts.text(element))  # nothing nested: its text
    parts: list[str] = [element.text or ""]
    for child in element:
        if not isinstance(child.tag, str) or child.tag in SKIPPED_TAGS or is_hidden(child):
            parts.append(child.tail or "")
            continue
        text = facts.text(child)
        if not (PRINTED_DATETIME.search(text) or SOURCE_LABEL.search(text)):
            parts.append(text)
        parts.append(child.tail or "")
    return HEADLINE_DECORATION.sub("", clean_inline("".join(parts)))


@dataclass(frozen=True)
class TitleCandidate:
    """A line that may be the headline, with the evidence for it."""

    text: str
    weight: int
    """How headline-like its markup is: a heading or title class, emphasis."""
    order: int
    """Position in the page (document order)."""
    linked: bool = False
    """Whether it is a link (a blog's post title links to the post): only `<title>` can vouch
    for it."""
    permalink: bool = False
    """Whether it is the text of a link to the page itself (a post's title linking to the
    post): that vouches for it as `<title>` would."""
    labelled: bool = False
    """Whether the page labels it as the title ("主题：…", "标题：…"): that vouches for it as
    `<title>` would."""


HEADING_WEIGHTS = {"h1": 3, "h2": 2, "h3": 1, "h4": 1}
EMPHASIS_TAGS = frozenset({"b", "strong", "font", "center"})
TITLE_NAME = re.compile(r"title|biaoti|bt\b|headline")
"""Class and id names that say "headline", lower-cased (`names_title`)."""
TITLE_NAME_ANY_CASE = re.compile(TITLE_NAME.pattern, re.I)
MIN_TITLE_CHARS = 2
MAX_TITLE_CHARS = 120
MAX_HEADING_CHARS = MAX_TITLE_CHARS + META_LINE_MAX_CHARS
"""Longest text of an element read as a heading: a headline with a meta line inside."""
MAX_HEADING_LINKS = 2
"""Most links a heading holds: its own and perhaps its category's."""
RAW_TO_CLEAN = 8
"""Most a text shrinks when its whitespace (source indentation) is collapsed."""
PAGE_MARKER = re.compile(r"\s*[(（]\s*(?:第\s*\d+\s*页|页\s*\d+|\d+\s*/\s*\d+)\s*[)）]\s*$")
"""A page number a paginated article adds to its title: "(页 1)", "（第2页）", "(1/3)"."""
PRIVATE_USE = re.compile("[\ue000-\uf8ff]")
WORD_CHAR = re.compile(r"[^\W\d_]")
"""A letter of any script: a line of digits and marks alone is no headline."""
HAN_CHAR = re.compile(r"[\u4e00-\u9fff\u3400-\u4dbf]")
DATE_PARTS = re.compile(r"[\d年月日时分秒:：/.\-\s]+")
FIELD_FIGURE = re.compile(r"[^\d:：]{1,8}[:：]\s*[\d.,%]+")
"""A label and its number: a counter or a statistic, never a headline."""
TITLE_LABEL_WORDS = ("标题", "主题", "题目", "標題", "主題")
TITLE_LABEL = re.compile(rf"^(?:文章)?(?:{'|'.join(TITLE_LABEL_WORDS)})\s*[:：]\s*")
"""A label some templates print before the headline."""
BRACKETED_TAIL = re.compile(r"\s*(?:\([^()（）]*\)|（[^()（）]*）|\[[^\[\]]*\]|【[^【】]*】)\s*$")
"""A bracketed part ending a title: a document number ("（金罚决字〔2024〕36号）"), a note
("（图）"). A CMS may add it to the title it stores while the page's heading leaves it out."""
TITLE_SEPARATOR = re.compile(r"\s*(?:_|\||｜|\s-{1,2}\s|-{2}|—|–|»|>|::)\s*")
"""What sites put between the headline and their own name in `<title>`."""


@dataclass(frozen=True)
class Heading:
    """A visible element whose markup says "headline", with its text."""

    element: etree._Element
    weight: int
    text: str


LABEL_MARK = re.compile(rf"(?:{'|'.join(TITLE_LABEL_WORDS)})(?:\s|&[a-z0-9#]+;)*[:：]")
"""A title label in the page's source: its colon may follow a space or a space's entity."""


def may_print_title_label(facts: PageFacts) -> bool:
    """False when no text of the page can open with a title label (`TITLE_LABEL`): its
    source holds no label word followed by its colon, no numeric character reference that
    could spell one and no NUL (the parser drops it, which could join the halves of one)."""
    source = facts.source
    if source is None or "&#" in source or "\x00" in source:
        return True
    # Every label word holds 题 or 題: the label is looked for where one stands (finding one
    # character is far quicker than a regex tried at every position of the page).
    for mark in ("题", "題"):
        at = source.find(mark)
        while at >= 0:
            if LABEL_MARK.match(source, max(at - 1, 0)) or LABEL_MARK.match(source, at):
                return True
            at = source.find(mark, at + 1)
    return False


def headline_like(facts: PageFacts, labels: bool) -> list[etree._Element]:
    """A superset of the elements that `title_weight` weighs, in document order: headings
    and emphasis by their tag, elements by their attributes, and (with `labels`) those whose
    text, or whose first child's, opens with a title label. Most elements of a page are
    none of these, and are not weighed one by one."""
    found = set(facts.root.iter(*HEADING_WEIGHTS, *EMPHASIS_TAGS))
    found.update(element for element, names in facts.named if names_title(names))
    found.update(element for element in facts.aligned if element.get("align") == "center")
    if labels:
        for element in facts.elements:
            text = element.text
            if not text or ("题" not in text and "題" not in text):
                continue
            if TITLE_LABEL.match(text.strip()):
                found.add(element)
                parent = element.getparent()
                if parent is not None and parent[0] is element and not (parent.text or "").strip():
                    found.add(parent)
    return sorted(found, key=facts.order)


def page_headings(facts: PageFacts) -> list[Heading]:
    """The page's headline-like elements in document order; computed once a page."""
    found = []
    # Most pages print no title label: their elements' openings need not be read for one.
    labels = may_print_title_label(facts)
    for element in headline_like(facts, labels):
        weight = title_weight(element, labels)
        if weight and facts.visible(element) and short_enough_for_a_heading(element, facts):
            found.append(Heading(element, weight, heading_text(element, facts)))
    return found


def short_enough_for_a_heading(element: etree._Element, facts: PageFacts) -> bool:
    """True when the element's text is at most MAX_HEADING_CHARS: a heading holds its
    headline and perhaps a meta line, a longer text is a block. Its raw length (whitespace
    not yet collapsed) decides where it is clear, so long blocks are not cleaned for this."""
    raw = facts.raw_length(element)
    if raw <= MAX_HEADING_CHARS or raw > RAW_TO_CLEAN * MAX_HEADING_CHARS:
        return raw <= MAX_HEADING_CHARS
    return len(facts.text(element)) <= MAX_HEADING_CHARS


def title_weight(element: etree._Element, labels: bool = True) -> int:
    """How much an element's markup says "headline" (with `labels`, also a title label it
    opens with: False when the page holds none)."""
    tag = element.tag if isinstance(element.tag, str) else ""
    weight = HEADING_WEIGHTS.get(tag, 0)
    class_names, element_id = element.get("class"), element.get("id")
    if (class_names or element_id) and names_title(f"{class_names or ''} {element_id or ''}"):
        weight += 2
    if tag in EMPHASIS_TAGS or element.get("align") == "center":
        weight += 1
    if not weight and labels and TITLE_LABEL.match(_opening_text(element)):
        weight = 2
    return weight


@lru_cache(maxsize=4096)
def names_title(names: str) -> bool:
    """True when class or id `names` say "headline" (TITLE_NAME, any case). Lower-casing
    first spares the regex a case-insensitive scan; beyond ASCII `lower` and re.I part ways
    (re.I matches "i" to "İ" and "ı"), so there the case-insensitive pattern reads them.
    Cached, as `furniture_names`."""
    if names.isascii():
        return TITLE_NAME.search(names.lower()) is not None
    return TITLE_NAME_ANY_CASE.search(names) is not None


def _opening_text(element: etree._Element) -> str:
    """The text an element opens with: its own, else its first child's ("<b>主题：</b>")."""
    own = (element.text or "").strip()
    if own or not len(element) or not isinstance(element[0].tag, str):
        return own
    return (element[0].text or "").strip()


def link_targets(element: etree._Element) -> list[str]:
    """The hrefs of the link an element is in, or of the links it holds."""
    node: etree._Element | None = element
    while node is not None:
        if node.tag == "a" and node.get("href"):
            return [node.get("href") or ""]
        node = node.getparent()
    return [href for link in element.iter("a") if (href := link.get("href"))]


class PageLinks:
    """Where the links of one page lead: each href is resolved and canonicalised once, as the
    page's own URL is, however many headings hold it."""

    def __init__(self, page_url: str) -> None:
        self.page_url = page_url
        self.own = canonical_url(page_url)
        self._canonical: dict[str, str | None] = {}

    def elsewhere(self, targets: list[str]) -> bool:
        """True when one of the hrefs leads to another page than the page itself."""
        for href in targets:
            if href not in self._canonical:
                absolute = safe_urljoin(self.page_url, href)
                self._canonical[href] = canonical_url(absolute) if absolute is not None else None
            if self._canonical[href] != self.own:
                return True
        return False


def title_candidates(
    facts: PageFacts, content: etree._Element | None, opening: list[str], page_url: str
) -> list[TitleCandidate]:
    """Headline-like lines of the page that stand before the article, or open it (one of
    its `opening` lines), and are not a meta line or a sentence."""
    start = facts.order(content) if content is not None else len(facts.nodes)
    end = facts.last_order(content) + 1 if content is not None else start
    found: list[TitleCandidate] = []
    seen: set[str] = set()
    # Headings are compared without their decoration ("标题- -") and title label ("主题："); so
    # are the opening lines.
    opened = {
        TITLE_LABEL.sub("", HEADLINE_DECORATION.sub("", clean_inline(line))) for line in opening
    }
    page_links = PageLinks(page_url)
    for heading in facts.once(page_headings):
        element, weight, text = heading.element, heading.weight, heading.text
        if facts.order(element) >= end or is_furniture(element):
            continue
        permalink = permalink_text(element, facts, page_links)
        labelled = not permalink and TITLE_LABEL.match(text) is not None
        text = permalink or (TITLE_LABEL.sub("", text) if labelled else text)
        if not MIN_TITLE_CHARS <= len(text) <= MAX_TITLE_CHARS or text in seen:
            continue
        if facts.order(element) >= start and text not in opened:
            continue
        if not reads_as_headline(text) or SENTENCE_END.search(text[:-1]) or is_meta_text(text):
            continue
        seen.add(text)
        # A link is suspect before the article (a sidebar's list), not when it opens it and
        # leads to this very page (a blog post's title linking to the post).
        targets = link_targets(element)
        before = facts.order(element) < start
        linked = not permalink and bool(targets) and (before or page_links.elsewhere(targets))
        found.append(
            TitleCandidate(text, weight, facts.order(element), linked, bool(permalink), labelled)
        )
    return found


def permalink_text(element: etree._Element, facts: PageFacts, page_links: PageLinks) -> str | None:
    """The text of a link at or in a heading that leads to the page itself (a blog post's
    title linking to the post, beside a link to its category), if it reads as a headline.
    A line of more links is a pager or a menu whose current entry links to the page."""
    links = [element] if element.tag == "a" else list(element.iter("a"))
    if len(links) > MAX_HEADING_LINKS:
        return None
    for link in links:
        href = (link.get("href") or "").strip()
        if href and not href.startswith("#") and not page_links.elsewhere([href]):
            text = HEADLINE_DECORATION.sub("", facts.text(link))
            return text if reads_as_headline(text) else None
    return None


def headline_anchor(
    facts: PageFacts, metas: dict[str, str], page_url: str
) -> etree._Element | None:
    """The element that shows the headline, found before the article is: a heading-like
    element whose text is the ArticleTitle or og:title meta or a part of `<title>` (a site
    name aside); of several, the longest text, first in the page. The article follows its
    headline, so text before it (a menu's blurbs, a header's notices) is not the article."""
    sites = {squeezed(name) for name in site_names_of(metas)}
    titles = [metas.get("articletitle", ""), metas.get("og:title", ""), page_title_text(facts.root)]
    references = {squeezed(part) for title in titles for part in [title, *title_segments(title)]}
    references = {r for r in references if len(r) >= MIN_TITLE_CHARS and r not in sites}
    best: etree._Element | None = None
    longest = 0
    page_links = PageLinks(page_url)
    for heading in facts.once(page_headings) if references else []:
        text = squeezed(heading.text)
        if (
            len(text) > longest
            and text in references
            and not facts.in_furniture(heading.element)
            and not page_links.elsewhere(link_targets(heading.element))
        ):
            best, longest = heading.element, len(text)
    return best


def reads_as_headline(text: str) -> bool:
    """True for words a headline can be: beside any date in it, two Han characters at least,
    or four characters with a letter. A calendar's "Sa" or "2006年12月" is not, nor a field
    and its figure ("能力值:545803", "浏览次数：12")."""
    if FIELD_FIGURE.fullmatch(text.strip()):
        return False
    words = DATE_PARTS.sub("", text)
    return len(HAN_CHAR.findall(words)) >= 2 or (len(words) >= 4 and bool(WORD_CHAR.search(words)))


def is_meta_text(text: str) -> bool:
    """True for a meta line or a labelled field ("作者：…", "来源：…", "发布日期：…")."""
    return is_meta_line(text) or any(
        label.search(text) for label in (DATE_LABEL, SOURCE_LABEL, AUTHOR_LABEL)
    )


def title_segments(page_title: str) -> list[str]:
    """The parts of `<title>` between the separators sites use."""
    return [part for part in TITLE_SEPARATOR.split(page_title) if part]


ECHO_SEPARATOR = re.compile(r"\s*(?:-{1,2}|_|\||｜|—|–|»|>|::)\s*")
"""What joins the parts of a line that reassembles `<title>`: TITLE_SEPARATOR's marks, and a
hyphen without spaces ("站名-栏目-标题")."""
MIN_ECHO_PART_CHARS = 4
"""Characters the headline part of a title echo has at least."""


def title_echo_part(line: str, page_title: str) -> str | None:
    """The headline in a line that reassembles the page's `<title>` in another order: parts
    (site, section, headline) joined by separators, each of them in `<title>`, the line
    itself not ("麻辣社区-大话四川-X" over "大话四川-X[麻辣社区]"); its longest part, when it
    reads as a headline. Such a line heads a page's content as its header, not its text.
    None for any other line."""
    squeezed_title = squeezed(page_title)
    if not squeezed_title or squeezed(line) in squeezed_title:
        return None
    parts = [part for part in ECHO_SEPARATOR.split(line) if part]
    if len(parts) < 2 or any(squeezed(part) not in squeezed_title for part in parts):
        return None
    longest = max(parts, key=len)
    if len(longest) < MIN_ECHO_PART_CHARS or not reads_as_headline(longest):
        return None
    return longest


def best_title(
    candidates: list[TitleCandidate], page_title: str, site_names: list[str], content_at: int
) -> str | None:
    """The candidate `<title>` confirms, nearest the article; else the most headline-like one
    nearest the article; None when there is none."""
    squeezed_title = squeezed(page_title)
    segments = {squeezed(part) for part in title_segments(page_title)}
    sites = {squeezed(name) for name in site_names}

    def confirmed(candidate: TitleCandidate) -> int:
        text = squeezed(candidate.text)
        if text in sites:
            return -1
        if text in segments or candidate.permalink or candidate.labelled:
            return 2
        return 1 if len(text) >= 4 and text in squeezed_title else 0

    def nearness(candidate: TitleCandidate) -> int:
        return -abs(content_at - candidate.order)

    usable = [c for c in candidates if confirmed(c) > 0 or (confirmed(c) == 0 and not c.linked)]
    if not usable:
        return None
    best = max(
        usable, key=lambda c: (confirmed(c), c.weight > 0, not c.linked, nearness(c), c.weight)
    )
    return best.text


def tidy_title(title: str, site_names: list[str]) -> str:
    """A headline without a trailing site name, page number, private-use glyph or a label
    ("主题：", "标题：") before it."""
    title = PRIVATE_USE.sub("", without_site_name(title, site_names)).strip()
    title = TITLE_LABEL.sub("", title) or title
    return PAGE_MARKER.sub("", title) or title


def post_heading(post: etree._Element, content: etree._Element, facts: PageFacts) -> str | None:
    """The title of a post among several on the page (see `first_post`): its first heading
    above its body, which names it better than the page's heading (the blog's name)."""
    body_at = facts.order(content)
    for heading in page_headings(facts):
        if facts.order(heading.element) >= body_at:
            break
        inside = heading.element is post or post in heading.element.iterancestors()
        if inside and reads_as_headline(heading.text):
            return heading.text
    return None


def shown_heading(facts: PageFacts, meta_title: str, page_url: str) -> str:
    """The meta's title as the page shows it: a heading of the page may leave out the
    bracketed part ending the title the CMS stored ("…公开表(金罚决字〔2024〕36号)" over a
    heading "…公开表"); then the heading is the headline. Else the meta's title."""
    tail = BRACKETED_TAIL.search(meta_title)
    if tail is None or squeezed(meta_title[: tail.start()]) in ("", squeezed(meta_title)):
        return meta_title
    wanted = squeezed(meta_title[: tail.start()])
    page_links = PageLinks(page_url)
    for heading in facts.once(page_headings):
        if (
            squeezed(heading.text) == wanted
            and not facts.in_furniture(heading.element)
            and not page_links.elsewhere(link_targets(heading.element))
        ):
            return heading.text
    return meta_title


def find_title(
    facts: PageFacts,
    page_url: str,
    metas: dict[str, str],
    override: str | None,
    source: str | None = None,
    content: etree._Element | None = None,
    opening: list[str] | None = None,
) -> str | None:
    """The headline: the profile's selector; else the ArticleTitle meta or og:title; else the
    heading or emphasised line before (or opening) the article that `<title>` confirms, the
    nearest one; else the most headline-like line nearest the article; else the longest part
    of `<title>` that is not the site's name."""
    root = facts.root
    if override:
        texts = [element_text(e) for e in css_elements(root, override)]
        if texts and texts[0]:
            return texts[0]
    sites = site_names_of(metas)
    candidates = title_candidates(facts, content, opening or [], page_url)
    shown = {squeezed(c.text): c.text for c in candidates if not c.linked}
    for name in ("articletitle", "og:title"):
        meta = metas.get(name)
        if meta and squeezed(meta) not in {squeezed(n) for n in sites}:
            # "Headline - Site": the part the page shows as a heading is the headline.
            parts = [
                shown[squeezed(part)] for part in title_segments(meta) if squeezed(part) in shown
            ]
            return tidy_title(parts[0] if parts else shown_heading(facts, meta, page_url), sites)
    shown_title = page_title_text(root)
    content_at = facts.order(content) if content is not None else 0
    # The article opening with the page's title reassembled: its headline part opens it.
    echoed = [part for line in opening or [] if (part := title_echo_part(line, shown_title))]
    candidates += [TitleCandidate(part, 1, content_at) for part in echoed[:1]]
    chosen = best_title(candidates, shown_title, sites, content_at)
    if chosen:
        return tidy_title(chosen, sites)
    parts = [p for p in title_segments(shown_title) if squeezed(p) not in map(squeezed, sites)]
    if parts:
        return tidy_title(max(parts, key=len), sites)
    # Nothing vouches for a headline that links elsewhere; the one nearest the article is
    # still the best there is.
    linked = [c for c in candidates if c.linked]
    nearest = min(linked, key=lambda c: abs(content_at - c.order), default=None)
    return tidy_title(nearest.text, sites) if nearest else None
