"""What the URLs of each government CMS family look like, declared once.

Site profiles take their article link patterns from here, article identity (`crawler.urls`)
the article id a URL carries, and extraction the date a URL carries. A family is data: the
regexes on the URL path that make an article page, the ones that hold its id, and the one
that holds its date.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from urllib.parse import urlsplit

from crawler.text.dates import find_datetime


@dataclass(frozen=True)
class CmsFamily:
    """The URL shapes of one CMS family's articles."""

    name: str
    """Short name, used in article keys ("trs" gives "www.sipac.gov.cn|trs:t20240315_1")."""
    article_paths: tuple[str, ...]
    """Regexes on the URL path of an article page of the family (searched)."""
    id_paths: tuple[re.Pattern[str], ...]
    """Regexes whose group "id" is an article id unique on the site, the same under every
    column the article is filed in (searched; looser than `article_paths`)."""
    date_path: re.Pattern[str] | None = None
    """Regex whose groups "y", "m" and "d" give the date the URL carries (searched)."""


TRS = CmsFamily(
    name="trs",
    article_paths=(r"/\d{6}/t\d{8}_\d+\.s?html?$", r"/\d{6}/[0-9a-f]{32}\.s?html?$"),
    id_paths=(
        re.compile(r"/(?P<id>t\d{8}_\d+)\.s?html?$"),
        re.compile(r"/\d{6}/(?P<id>[0-9a-f]{32})\.s?html?$"),
    ),
    date_path=re.compile(r"/t(?P<y>\d{4})(?P<m>\d{2})(?P<d>\d{2})_"),
)
"""TRS WCM: `/202403/t20240315_1034521.shtml`, or a 32-hex-digit name in a month folder."""
HANWEB = CmsFamily(
    name="hanweb",
    article_paths=(r"/art/\d{4}/\d{1,2}/\d{1,2}/art_\d+_\d+\.html$",),
    id_paths=(re.compile(r"/art_\d+_(?P<id>\d+)\.html?$"),),
    date_path=re.compile(r"/art/(?P<y>\d{4})/(?P<m>\d{1,2})/(?P<d>\d{1,2})/"),
)
"""Hanweb jcms: `/art/2021/4/29/art_1487001_58912345.html` (column, then article id)."""
VSB = CmsFamily(
    name="vsb",
    article_paths=(r"/info/\d+/\d+\.htm$",),
    id_paths=(re.compile(r"/info/\d+/(?P<id>\d+)\.htm$"),),
)
"""VSB (博达): `/info/1022/10093.htm` (column, then article id)."""
FAMILIES = (TRS, HANWEB, VSB)

VSB_DYNAMIC_PATH = re.compile(r"/content\.jsp$")
VSB_DYNAMIC_ID = re.compile(r"(?:^|&)wbnewsid=(?P<id>\d+)(?:&|$)")
"""VSB's dynamic article view, `content.jsp?...&wbnewsid=10093`: the same id as `/info/`."""

GENERIC_ARTICLE_PATHS = (
    *TRS.article_paths,
    *HANWEB.article_paths,
    *VSB.article_paths,
    r"/20\d{2}[-/]?\d{2}[-/]?\d{2}/[^/]+\.s?html?$",
    r"/content/(?:post|detail)_\d+\.html$",
    r"/\d{4}/\d{4}/\d+\.html$",
)
"""Article link patterns of a site with no profile: the families' and common dated paths."""


def article_id(path: str, query: str = "") -> tuple[str, str] | None:
    """(family name, article id) when a URL's path (and query) carries a CMS article id."""
    for family in FAMILIES:
        for pattern in family.id_paths:
            match = pattern.search(path)
            if match:
                return family.name, match["id"]
    if VSB_DYNAMIC_PATH.search(path) and (news := VSB_DYNAMIC_ID.search(query)):
        return VSB.name, news["id"]
    return None


def url_date(url: str) -> str | None:
    """The date a URL carries (t20240315_…, /art/2021/4/29/), as "YYYY-MM-DD"."""
    path = urlsplit(url).path
    for family in FAMILIES:
        match = family.date_path.search(path) if family.date_path else None
        if match:
            return find_datetime(f"{match['y']}-{match['m']}-{match['d']}")
    return None
