"""The article list of a list page: the region where many article-like links stand in rows,
most with a date beside them, rather than the navigation, the sidebar's 热点/推荐 boxes or the
footer, which link to pages of the same shapes."""

from __future__ import annotations

import posixpath
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from urllib.parse import parse_qsl, urlsplit

from lxml import html as lxml_html

from crawler.cms.base import ListEntry, link_target
from crawler.text.dates import find_datetime
from crawler.text.inline import clean_inline

FILE_EXTENSIONS = frozenset(
    {
        ".pdf", ".doc", ".docx", ".xls", ".xlsx", ".ppt", ".pptx", ".wps", ".et", ".ofd",
        ".txt", ".rtf", ".csv", ".zip", ".rar", ".7z", ".gz", ".tar", ".jpg", ".jpeg",
        ".png", ".gif", ".bmp", ".webp", ".svg", ".mp3", ".mp4", ".avi", ".flv", ".wmv",
        ".mov", ".exe", ".apk", ".xml", ".json", ".css", ".js",
    }
)  # fmt: skip
"""Extensions of links to files, which are never article pages (attachments, media)."""
MIN_TITLE_CHARS = 6
"""Link text of at least this many characters reads as an article title; menu items
("首页", "新闻中心", "园区动态") are shorter."""
BOX_CLASS_WORDS = (
    "nav", "menu", "foot", "header", "side", "aside", "crumb", "breadcrumb", "position",
    "location", "hot", "rank", "recommend", "tuijian", "remen", "paihang", "friend", "yqlj",
    "share", "banner",
)  # fmt: skip
"""Beginnings of class or id words of page furniture and side boxes ("sidebar", "hotnews";
not "photo")."""
_CLASS_WORD = re.compile(r"[a-z]+")
BOX_TAGS = frozenset({"nav", "header", "footer", "aside"})
BOX_HEADINGS = re.compile(r"热点|热门|推荐|排行|相关|友情链接|猜你喜欢|专题|阅读榜|点击榜")
"""Headings of side boxes whose links are not the section's list."""
DATED_WEIGHT = 3
"""A row with a date beside its link counts as much as this many undated rows."""
BOX_PENALTY = 0.2
"""What a region inside furniture or under a side-box heading keeps of its score."""
PAGER_BONUS = 1.5
"""What a region beside the page's pager gains: the pager pages the section's own list."""
PAGER_TEXT = re.compile(r"下一?[页頁]|尾[页頁]|共\s*\d+\s*[页頁条條]|createPageHTML|\.jpage\s*\(")
"""What a pager shows or the script that draws one calls."""


def page_like(url: str) -> bool:
    """True when the URL names a web page rather than a file (PDF, document, image…), by
    the extension of its path or of a file its query names."""
    parts = urlsplit(url)
    if posixpath.splitext(parts.path)[1].lower() in FILE_EXTENSIONS:
        return False
    # A download script names its file in the query: downfile.jsp?filename=2405131522.pdf
    values = (value for _, value in parse_qsl(parts.query))
    return not any(posixpath.splitext(value)[1].lower() in FILE_EXTENSIONS for value in values)


@dataclass
class _Region:
    """A run of rows under one element, each holding one article-like link."""

    container: lxml_html.HtmlElement
    rows: list[tuple[lxml_html.HtmlElement, str, lxml_html.HtmlElement]] = field(
        default_factory=list
    )
    """(row, URL, link) in page order."""

    def score(self) -> float:
        """Its rows, those with a date beside them counting more; less in a side box, more
        beside the pager."""
        dated = sum(1 for row, _, _ in self.rows if find_datetime(_text(row)))
        score = float(len(self.rows) + DATED_WEIGHT * dated)
        if _in_box(self.container):
            score *= BOX_PENALTY
        if _beside_pager(self.container):
            score *= PAGER_BONUS
        return score

    def signature(self) -> tuple[str, ...]:
        """Tag and class path of the container, to find the other parts of a split list."""
        path = []
        element: lxml_html.HtmlElement | None = self.container
        while element is not None:
            path.append(f"{element.tag}.{element.get('class') or ''}")
            element = element.getparent()
        return tuple(path)


def list_entries(
    root: lxml_html.HtmlElement | None,
    base_url: str,
    is_candidate: Callable[[str], bool],
    is_article_shaped: Callable[[str], bool],
) -> list[ListEntry]:
    """The article links of the page's main list (`root`: the parsed markup that holds it),
    each once, in page order, with the title and the date the list shows beside each.
    Candidates are the page links to consider; of those, a link reads as an article when it
    shows a title or its URL has an article shape (menu items, "更多" and a row's category
    link do not), and only those make up lists."""
    if root is None:
        return []
    page_url = base_url.split("#")[0]
    links: list[tuple[lxml_html.HtmlElement, str]] = []
    for link in root.iter("a"):
        url = link_target(base_url, link.get("href"))
        if url is None or url == page_url or not page_like(url) or not is_candidate(url):
            continue
        if is_article_shaped(url) or _title_of(link) is not None:
            links.append((link, url))
    regions = _regions(links)
    if not regions:
        return []
    main = max(regions, key=lambda region: region.score())
    signature = main.signature()
    chosen = [
        region
        for region in regions
        if region is main or (region.signature() == signature and not _in_box(region.container))
    ]
    seen: set[str] = set()
    entries: list[ListEntry] = []
    for region in chosen:
        for row, url, link in region.rows:
            if url in seen:
                continue
            seen.add(url)
            entries.append(ListEntry(url, _title_of(link), find_datetime(_text(row))))
    return entries


def _regions(links: list[tuple[lxml_html.HtmlElement, str]]) -> list[_Region]:
    """The links grouped by the element their rows stand in: a link's row is its highest
    ancestor that links to no other article URL."""
    urls_under: dict[lxml_html.HtmlElement, set[str]] = {}
    for link, url in links:
        element: lxml_html.HtmlElement | None = link
        while element is not None:
            urls_under.setdefault(element, set()).add(url)
            element = element.getparent()
    regions: dict[lxml_html.HtmlElement, _Region] = {}
    for link, url in links:
        row = link
        parent = row.getparent()
        while parent is not None and len(urls_under[parent]) == 1:
            row, parent = parent, parent.getparent()
        container = parent if parent is not None else row
        regions.setdefault(container, _Region(container)).rows.append((row, url, link))
    return list(regions.values())


def _title_of(link: lxml_html.HtmlElement) -> str | None:
    """The title a list shows for a link (its title attribute holds the uncut one), when it
    reads as an article title."""
    title = clean_inline(link.get("title") or "") or clean_inline(link.text_content() or "")
    return title if len(title) >= MIN_TITLE_CHARS else None


def _text(element: lxml_html.HtmlElement) -> str:
    return element.text_content() or ""


def _in_box(container: lxml_html.HtmlElement) -> bool:
    """True when the region stands in page furniture or a side box (by tag, by class or id
    words, or by the heading of its box)."""
    element: lxml_html.HtmlElement | None = container
    depth = 0
    while element is not None:
        if element.tag in BOX_TAGS:
            return True
        names = f"{element.get('class') or ''} {element.get('id') or ''}".lower()
        if any(word.startswith(BOX_CLASS_WORDS) for word in _CLASS_WORD.findall(names)):
            return True
        if depth < 2 and _box_heading(element):
            return True
        element = element.getparent()
        depth += 1
    return False


def _beside_pager(container: lxml_html.HtmlElement) -> bool:
    """True when a pager stands in the region's box or right after it."""
    parent = container.getparent()
    box = parent if parent is not None else container
    following = box.getnext()
    return any(
        element is not None
        and isinstance(element.tag, str)
        and PAGER_TEXT.search(lxml_html.tostring(element, encoding="unicode")) is not None
        for element in (box, following)
    )


def _box_heading(element: lxml_html.HtmlElement) -> bool:
    """True when the nearest text before the element inside its parent is a side-box
    heading ("热点新闻", "推荐阅读")."""
    sibling = element.getprevious()
    while sibling is not None:
        text = clean_inline(sibling.text_content() or "") if isinstance(sibling.tag, str) else ""
        if text:
            return len(text) <= 12 and BOX_HEADINGS.search(text) is not None
        sibling = sibling.getprevious()
    return False
