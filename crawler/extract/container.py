"""Which element of a page holds the article: the profile's selector, the known CMS
containers and the densest text compete on how much sentence text they hold outside links."""

from __future__ import annotations

from lxml import etree

from crawler.extract.tree import css_elements, element_text, is_visible, link_density
from crawler.text.inline import clean_inline

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

MAX_LINK_DENSITY = 0.5

# Candidates scoring at least this share of the best are "the same article"; the deepest wins.
CLOSE_TO_BEST = 0.85

SENTENCE_MARKS = ("，", "。", "；", "！", "？", "、", ",")


def article_score(element: etree._Element) -> float:
    """How much sentence text an element holds outside links: punctuation marks of running
    text, discounted by the share of its text that is links."""
    text = element_text(element)
    linked = sum(len(element_text(a)) for a in element.iter("a"))
    density = min(1.0, linked / len(text)) if text else 1.0
    if density > MAX_LINK_DENSITY:
        return 0.0
    sentences = sum(text.count(mark) for mark in SENTENCE_MARKS)
    return (sentences + len(text) / 100) * (1.0 - density)


def depth(element: etree._Element) -> int:
    """Number of ancestors of an element."""
    return sum(1 for _ in element.iterancestors())


def choose_container(
    override: str | None, root: etree._Element, source: str | None = None
) -> etree._Element | None:
    """The element holding the article.

    The profile's selector wins when it matches visible text. Otherwise every match of the
    known CMS containers and the densest text block compete on `article_score`; among those
    scoring close to the best, the deepest is taken, so a page-wide wrapper that also holds
    sidebars and navigation loses to the article block inside it.
    """
    if override:
        for element in css_elements(root, override, source):
            if is_visible(element) and len(element_text(element)) >= MIN_BODY_CHARS:
                return element
    candidates: list[etree._Element] = []
    for query in KNOWN_BODY_SELECTORS:
        for element in css_elements(root, query, source):
            if element not in candidates:
                candidates.append(element)
    densest = densest_container(root)
    if densest is not None and densest not in candidates:
        candidates.append(densest)
    scored = [(c, article_score(c)) for c in candidates if is_visible(c)]
    scored = [(c, score) for c, score in scored if score > 0]
    if not scored:
        return None
    best = max(score for _, score in scored)
    close = [c for c, score in scored if score >= CLOSE_TO_BEST * best]
    return max(close, key=depth)


def densest_container(root: etree._Element) -> etree._Element | None:
    """Text-density fallback: the element whose paragraphs carry the most sentence text."""
    scores: dict[etree._Element, float] = {}
    for node in root.iter("p", "div", "td", "li", "section"):
        if not is_visible(node):
            continue
        own = clean_inline((node.text or "") + "".join(c.tail or "" for c in node))
        if len(own) < 10:
            continue
        score = 1.0 + own.count("，") + own.count("。") + own.count(",") + len(own) / 100
        parent = node.getparent()
        if parent is None:
            continue
        scores[parent] = scores.get(parent, 0.0) + score
        grand = parent.getparent()
        if grand is not None:
            scores[grand] = scores.get(grand, 0.0) + score / 2
    ranked = sorted(scores.items(), key=lambda item: item[1], reverse=True)
    for element, _ in ranked[:5]:
        if link_density(element) <= MAX_LINK_DENSITY and len(element_text(element)) >= 50:
            return element
    return None
