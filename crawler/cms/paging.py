"""Ways to the next list page that several families share: a "下一页" link, a pager of
numbered links, a form's page field."""

from __future__ import annotations

import re
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

from crawler.cms.base import ListPage, ListRequest, link_target
from crawler.text.inline import clean_inline
from crawler.urls import safe_urljoin

NEXT_LINK_TEXTS = frozenset(
    {"下页", "下一页", "下一頁", "下頁", "后页", "后一页", "next", "next page", ">", "›", "»", ">>"}
)
"""Texts of a link to the next page (compared in lower case, brackets and spaces removed)."""
PAGE_PARAMS = ("page", "pageno", "pagenum", "pageindex", "currentpage", "curpage", "pn", "p")
"""Query and form field names that carry a list page's number (compared in lower case)."""
_LINK_TEXT_DECORATION = re.compile(r"[\s\[\]【】()（）<>〈〉《》]+")
_TOTAL_PAGES = re.compile(r"共\s*(\d+)\s*页|/\s*(\d+)\s*页|第\s*\d+\s*/\s*(\d+)\s*页")
_NUMBERED_PATH = re.compile(r"^(?P<stem>.*?)(?:[_/-](?P<number>\d+))?(?P<ext>\.[a-z]+)$", re.I)


def next_link(page: ListPage) -> ListRequest | None:
    """The target of the page's "下一页"-style link (not a script link, not the page itself)."""
    tree = page.tree
    if tree is None:
        return None
    for link in tree.iter("a"):
        text = _LINK_TEXT_DECORATION.sub("", link.text_content() or "").lower()
        title = clean_inline(link.get("title") or "").lower()
        if text not in NEXT_LINK_TEXTS and not (not text and title in NEXT_LINK_TEXTS):
            continue
        target = _followable(page, link.get("href"))
        if target is not None:
            return ListRequest(target)
    return None


def numbered_next(page: ListPage) -> ListRequest | None:
    """The link of a pager of numbered pages to the page after this one: the same path and
    query but for a page number one higher (`?page=3`, `pageNo=3`, `index_2.html`,
    `list_3.html`, `list/3.html`)."""
    tree = page.tree
    if tree is None:
        return None
    current = page_number(page.url)
    best: tuple[int, str] | None = None
    for link in tree.iter("a"):
        target = _followable(page, link.get("href"))
        if target is None or not _same_list(page.url, target):
            continue
        number = page_number(target)
        if number is not None and number > (current or 0) and (best is None or number < best[0]):
            best = (number, target)
    return ListRequest(best[1]) if best is not None else None


def form_next(page: ListPage) -> ListRequest | None:
    """The request a list page's paging form makes for the next page: its page field one
    higher, up to the page count the pager prints ("共12页", "1/12页")."""
    tree = page.tree
    if tree is None:
        return None
    total = _total_pages(tree.text_content() or "")
    for form in tree.iter("form"):
        fields: dict[str, str] = {}
        page_field = None
        for field in form.iter("input", "select"):
            name = field.get("name")
            if not name:
                continue
            fields[name] = field.get("value") or ""
            if name.lower() in PAGE_PARAMS:
                page_field = name
        if page_field is None:
            continue
        sent = {**fields, **page.form(), **page.query()}
        current = _as_int(sent.get(page_field)) or 1
        if total is None or current + 1 > total:
            return None
        fields[page_field] = str(current + 1)
        action = safe_urljoin(page.url, form.get("action") or page.url)
        if action is None:
            return None
        body = urlencode(fields)
        if (form.get("method") or "get").lower() == "post":
            return ListRequest(action, "POST", body)
        parts = urlsplit(action)
        return ListRequest(urlunsplit(parts._replace(query=body)))
    return None


def page_number(url: str) -> int | None:
    """The list page number a URL carries in a page parameter or a numbered file name."""
    parts = urlsplit(url)
    for name, value in parse_qsl(parts.query):
        if name.lower() in PAGE_PARAMS and value.isdigit():
            return int(value)
    match = _NUMBERED_PATH.match(parts.path)
    return int(match["number"]) if match and match["number"] else None


def _same_list(url: str, other: str) -> bool:
    """True when two URLs differ only by their page number."""
    a, b = urlsplit(url), urlsplit(other)
    if a.netloc != b.netloc:
        return False
    query_a = [(k, v) for k, v in parse_qsl(a.query) if k.lower() not in PAGE_PARAMS]
    query_b = [(k, v) for k, v in parse_qsl(b.query) if k.lower() not in PAGE_PARAMS]
    if query_a != query_b:
        return False
    if a.path == b.path:
        return a.query != b.query
    path_a, path_b = _NUMBERED_PATH.match(a.path), _NUMBERED_PATH.match(b.path)
    return bool(
        path_a and path_b and (path_a["stem"], path_a["ext"]) == (path_b["stem"], path_b["ext"])
    )


def _followable(page: ListPage, href: str | None) -> str | None:
    """`link_target` of an href on the page, unless it leads to the page itself."""
    target = link_target(page.url, href)
    return target if target != page.url.split("#")[0] else None


def _total_pages(text: str) -> int | None:
    match = _TOTAL_PAGES.search(text)
    return int(next(g for g in match.groups() if g)) if match else None


def _as_int(value: str | None) -> int | None:
    return int(value) if value and value.strip().isdigit() else None
