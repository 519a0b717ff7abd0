"""The government CMS families parknews knows, in one place.

Each family module says how its list pages are recognised (`Family.recognises`), where
their article list is (`Family.list_markup`), how the walk goes on (`Family.next_requests`)
and what its article URLs look like (`SHAPES`). The spider only asks `read_list`; the probe
command prints what it answers. Families are tried in `FAMILIES` order, generic last.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from urllib.parse import urlsplit

from crawler.cms.base import (
    Family,
    ListEntry,
    ListPage,
    ListPageError,
    ListRequest,
    parse_markup,
)
from crawler.cms.generic import Generic
from crawler.cms.hanweb import Hanweb
from crawler.cms.identity import article_id, article_key, url_date
from crawler.cms.links import list_entries
from crawler.cms.trs import Trs
from crawler.cms.vsb import Vsb

__all__ = [
    "FAMILIES",
    "GENERIC_ARTICLE_PATHS",
    "Family",
    "ListEntry",
    "ListPage",
    "ListPageError",
    "ListReading",
    "ListRequest",
    "article_id",
    "article_key",
    "family_named",
    "read_list",
    "recognise",
    "url_date",
]

FAMILIES: tuple[Family, ...] = (Hanweb(), Trs(), Vsb(), Generic())
"""In the order they are tried: the most specific markers first, generic last."""
GENERIC_ARTICLE_PATHS = (
    *(path for family in FAMILIES if family.shapes for path in family.shapes.article_paths),
    r"/20\d{2}[-/]?\d{2}[-/]?\d{2}/[^/]+\.s?html?$",
    r"/content/(?:post|detail)_\d+\.html$",
    r"/\d{4}/\d{4}/\d+\.html$",
)
"""URL paths that are article pages on most sites: the families' and common dated paths."""


def family_named(name: str) -> Family:
    """The family called `name`; ValueError naming the known ones."""
    for family in FAMILIES:
        if family.name == name:
            return family
    known = ", ".join(family.name for family in FAMILIES)
    raise ValueError(f"unknown CMS family {name!r}; known families: {known}")


def recognise(page: ListPage) -> Family:
    """The family whose markers the list page carries (generic when none)."""
    return next(family for family in FAMILIES if family.recognises(page))


@dataclass(frozen=True)
class ListReading:
    """What a list page holds for the walk."""

    family: Family
    entries: list[ListEntry]
    next: list[ListRequest]
    problem: str | None = None
    """Why part of the page could not be read (a malformed Hanweb answer), if it could not."""


def read_list(
    page: ListPage,
    owns: Callable[[str], bool],
    is_article: Callable[[str], bool] | None = None,
    family: Family | None = None,
) -> ListReading:
    """The article links of the page's main list and the next list requests, read as
    `family` (recognised when None). Links must be on the site (`owns`). With `is_article`
    (a profile's URL patterns) only the URLs it accepts are articles; without it a link of
    the main list is one when the list shows a title for it or its path has an article shape
    (`GENERIC_ARTICLE_PATHS`)."""
    family = family or recognise(page)
    problem = None
    try:
        markup = family.list_markup(page)
    except ListPageError as exc:
        problem = str(exc)
        markup = "<ul>" + "".join(exc.rows) + "</ul>"
    # The page's own text is parsed once, for its list and its pager alike.
    root = page.tree if markup is page.text else parse_markup(markup)
    entries = list_entries(root, page.url, is_article or owns, is_article or _generic_shape)
    following = [request for request in family.next_requests(page) if owns(request.url)]
    return ListReading(family, entries, following, problem)


_GENERIC_PATHS = [re.compile(path) for path in GENERIC_ARTICLE_PATHS]


def _generic_shape(url: str) -> bool:
    path = urlsplit(url).path
    return any(pattern.search(path) for pattern in _GENERIC_PATHS)
