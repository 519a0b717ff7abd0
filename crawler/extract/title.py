"""The article's headline: the profile's selector, the page's title metas, its headings
checked against `<title>`."""

from __future__ import annotations

import re

from lxml import etree

from crawler.extract.metaline import SOURCE_LABEL
from crawler.extract.tree import SKIPPED_TAGS, css_elements, element_text, is_hidden, is_visible
from crawler.text.dates import PRINTED_DATETIME
from crawler.text.inline import clean_inline

TITLE_CANDIDATES = (
    "h1",
    ".article-title",
    ".arti_title",
    ".news-title",
    "td.title",
    "div.title",
    "h2",
    "[class*=title]",
)

TITLE_SPLIT = re.compile(r"\s*(?:_|\||｜|-{1,2}|—)\s*")

PAGE_TITLE = etree.XPath("string(//title)")


def without_site_name(title: str, site_names: list[str]) -> str:
    """A title with a trailing " - Site name" (or "_", "|") taken off."""
    for site in site_names:
        match = re.search(r"\s*(?:-|_|\||｜|—|–)\s*" + re.escape(site) + r"$", title)
        if match and match.start() > 0:
            return title[: match.start()]
    return title


def heading_text(element: etree._Element) -> str:
    """A heading's text without the date or meta line some templates nest inside it."""
    parts: list[str] = [element.text or ""]
    for child in element:
        if not isinstance(child.tag, str) or child.tag in SKIPPED_TAGS or is_hidden(child):
            parts.append(child.tail or "")
            continue
        text = element_text(child)
        if not (PRINTED_DATETIME.search(text) or SOURCE_LABEL.search(text)):
            parts.append(text)
        parts.append(child.tail or "")
    return clean_inline("".join(parts))


def find_title(
    root: etree._Element, metas: dict[str, str], override: str | None, source: str | None = None
) -> str | None:
    """Title from the profile's selector, the ArticleTitle meta, og:title, a heading, `<title>`."""
    if override:
        texts = [element_text(e) for e in css_elements(root, override)]
        if texts and texts[0]:
            return texts[0]
    site_names = [n for n in (metas.get("og:site_name"), metas.get("sitename")) if n]
    for name in ("articletitle", "og:title"):
        if metas.get(name):
            return without_site_name(metas[name], site_names)
    page_title = clean_inline(str(PAGE_TITLE(root)))
    headings: list[str] = []
    for query in TITLE_CANDIDATES:
        for element in css_elements(root, query, source):
            if is_visible(element):
                text = heading_text(element)
                if 4 <= len(text) <= 120:
                    headings.append(text)
    for text in headings:
        if page_title and (text in page_title or page_title.startswith(text[:10])):
            return text
    if headings:
        return headings[0]
    if page_title:
        return TITLE_SPLIT.split(page_title)[0] or page_title
    return None
