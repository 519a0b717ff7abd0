"""What the walk of a list page is made of, whatever CMS serves it: the page as fetched, the
article links read from it, the requests for the next list pages, and the family contract."""

from __future__ import annotations

import re
from abc import ABC, abstractmethod
from dataclasses import dataclass
from functools import cached_property
from urllib.parse import parse_qsl, urlsplit

from lxml import html as lxml_html

from crawler.cms.shapes import UrlShapes
from crawler.urls import safe_urljoin


def parse_markup(markup: str) -> lxml_html.HtmlElement | None:
    """Markup parsed as HTML, or None when it holds none."""
    try:
        return lxml_html.fromstring(markup) if markup.strip() else None
    except (ValueError, lxml_html.etree.ParserError):
        return None


def link_target(base_url: str, href: str | None) -> str | None:
    """Where a link leads, resolved against its page and without its fragment; None for a
    script, fragment or mail link, or an href that cannot be a URL."""
    href = (href or "").strip()
    if not href or href.startswith(("javascript:", "#", "mailto:")):
        return None
    target = safe_urljoin(base_url, href)
    return target.split("#")[0] if target is not None else None


@dataclass(frozen=True)
class ListPage:
    """A list page as fetched: the request that got it (a POST carries its form) and its
    decoded text."""

    url: str
    text: str
    method: str = "GET"
    body: str | None = None
    """The x-www-form-urlencoded form of a POST."""

    @cached_property
    def tree(self) -> lxml_html.HtmlElement | None:
        """The page parsed as HTML once, for every reader of its links (None: no markup)."""
        return parse_markup(self.text)

    def form(self) -> dict[str, str]:
        """The POSTed form fields, in order."""
        return dict(parse_qsl(self.body or "", keep_blank_values=True))

    def query(self) -> dict[str, str]:
        """The URL's query fields."""
        return dict(parse_qsl(urlsplit(self.url).query, keep_blank_values=True))


@dataclass(frozen=True)
class ListRequest:
    """A request for a list page (or a list's data answer) that the walk makes next."""

    url: str
    method: str = "GET"
    body: str | None = None
    """x-www-form-urlencoded form fields of a POST, in the order the page's script gives."""

    def as_dict(self) -> dict[str, str | None]:
        return {"url": self.url, "method": self.method, "body": self.body}

    def key(self) -> tuple[str, str, tuple[tuple[str, str], ...]]:
        """The request as a server tells it apart: method, URL and form fields by name (in
        whatever order a script sends them)."""
        fields = tuple(sorted(parse_qsl(self.body or "", keep_blank_values=True)))
        return self.method, self.url, fields


@dataclass(frozen=True)
class ListEntry:
    """An article link on a list page, with the title and date the list shows beside it."""

    url: str
    title: str | None
    date: str | None


class ListPageError(ValueError):
    """A list page or data answer that cannot be read; the message names the fault, and
    `rows` holds the list markup that could still be read of it."""

    def __init__(self, message: str, rows: list[str] | None = None) -> None:
        super().__init__(message)
        self.rows = rows or []


class Family(ABC):
    """One CMS family: how its list pages are recognised, where their article list is, and
    how the walk goes on to the next list page."""

    name: str
    """Short name used in site entries, article keys and the probe ("trs", "hanweb", …)."""
    label: str
    """The name people know it by, for messages."""
    shapes: UrlShapes | None = None
    """The URL shapes of its article pages, when the family has its own."""

    @abstractmethod
    def recognises(self, page: ListPage) -> bool:
        """True when the page carries this family's markers."""

    def list_markup(self, page: ListPage) -> str:
        """The markup that holds the page's article list (the whole page unless the family
        keeps its list elsewhere); ListPageError when it cannot be read."""
        return page.text

    @abstractmethod
    def next_requests(self, page: ListPage) -> list[ListRequest]:
        """The requests for the list page(s) after this one; [] on the last."""


def script_assignments(text: str) -> dict[str, str]:
    """Simple script variables of a page, `var name = value;` or `name: value` in an object
    literal, as raw text without quotes. A value wins over a reference to another variable
    (`ajaxParam: {col: col}` after `var col = 1;`, `pageSize: pagingInfo.pageSize`), a
    declared variable over an object member; among equals the last one wins."""
    found: dict[str, tuple[int, str]] = {}
    for match in _ASSIGNMENT.finditer(text):
        bare = match["bare"]
        value = next(v for v in (match["double"], match["single"], bare) if v is not None)
        is_reference = bare is not None and _REFERENCE.fullmatch(bare) is not None
        rank = 0 if is_reference else 2 if match["keyword"] else 1
        if rank >= found.get(match["name"], (0, ""))[0]:
            found[match["name"]] = (rank, value)
    return {name: value for name, (_, value) in found.items()}


_REFERENCE = re.compile(r"(?!(?:true|false|null)$)[A-Za-z_$][\w$.]*")
_ASSIGNMENT = re.compile(
    r"""(?:\b(?P<keyword>var|let|const)\s+|[{,]\s*)["']?(?P<name>[A-Za-z_$][\w$]*)["']?\s*[:=]\s*"""
    r"""(?:"(?P<double>[^"\n]*)"|'(?P<single>[^'\n]*)'|(?P<bare>[^"',;{}\[\]\s)/]*))"""
)
