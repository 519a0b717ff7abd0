"""What a URL says about its article whatever CMS made it: the article id it carries, its
date, and the article key that names an article whichever URL reached it."""

from __future__ import annotations

import re
from urllib.parse import unquote, urlsplit

from crawler.cms import hanweb, trs, vsb
from crawler.text.dates import find_datetime
from crawler.urls import canonical_url

URL_SHAPES = (trs.SHAPES, hanweb.SHAPES, vsb.SHAPES)
TRACKING_PARAMS = frozenset(
    {
        "spm",
        "from",
        "isappinstalled",
        "scene",
        "clicktime",
        "enterid",
        "jsessionid",
        "phpsessid",
        "sid",
    }
)
"""Query parameters that track the visitor or the share, not the article (compared in lower
case); WeChat adds scene, clicktime and enterid to shared links."""
TRACKING_PREFIXES = ("utm_",)
"""Prefixes of tracking parameter names."""
CACHE_BUSTERS = frozenset({"_", "t"})
"""Parameters that are dropped when their value looks like a timestamp or a random number."""
_CACHE_BUSTER_VALUE = re.compile(r"\d{9,}|0?\.\d+")
_JSESSIONID = re.compile(r";jsessionid=[^/;?]*", re.IGNORECASE)
_INDEX_PAGE = re.compile(r"/index\.(?:html?|shtml)$", re.IGNORECASE)


def article_id(path: str, query: str = "") -> tuple[str, str] | None:
    """(family name, article id) when a URL's path (and query) carries a CMS article id."""
    for shapes in URL_SHAPES:
        for pattern in shapes.id_paths:
            match = pattern.search(path)
            if match:
                return shapes.name, match["id"]
    if vsb.DYNAMIC_PATH.search(path) and (news := vsb.DYNAMIC_ID.search(query)):
        return vsb.SHAPES.name, news["id"]
    return None


def url_date(url: str) -> str | None:
    """The date a URL carries (t20240315_…, /art/2021/4/29/), as "YYYY-MM-DD"."""
    path = urlsplit(url).path
    for shapes in URL_SHAPES:
        match = shapes.date_path.search(path) if shapes.date_path else None
        if match:
            return find_datetime(f"{match['y']}-{match['m']}-{match['d']}")
    return None


def article_key(url: str) -> str:
    """The identity of the article at `url`, the same for every URL that reaches it.

    Starts from `canonical_url` (w3lib canonical form, lower-case host, no default port, no
    fragment), then drops tracking and session parameters (utm_*, spm, from, isappinstalled,
    WeChat's scene/clicktime/enterid, jsessionid and ";jsessionid=" path parameters,
    PHPSESSID, sid) and timestamp-like "_=" and "t=" cache busters, and turns
    ".../index.html", "index.shtml" and "index.htm" into ".../". The scheme is left out: the
    http and https copies of a page are one article.

    Where the URL carries a CMS article id (`crawler.cms.article_id`), the key is the host
    and that id, "www.hhtz.gov.cn|hanweb:58912345", so the same article filed under two
    columns is one article. Otherwise it is host, path and query:
    "www.twgxnews.com/news/2021/0429/8812.html". A key is not a URL.
    """
    parts = urlsplit(canonical_url(url))
    host = parts.netloc
    path = _JSESSIONID.sub("", parts.path)
    found = article_id(path, parts.query)
    if found is not None:
        return f"{host}|{found[0]}:{found[1]}"
    path = _INDEX_PAGE.sub("/", path) or "/"
    query = "&".join(p for p in parts.query.split("&") if p and not _is_tracking(p))
    return f"{host}{path}?{query}" if query else f"{host}{path}"


def _is_tracking(param: str) -> bool:
    name, _, value = param.partition("=")
    name = unquote(name).lower()
    if name in TRACKING_PARAMS or name.startswith(TRACKING_PREFIXES):
        return True
    return name in CACHE_BUSTERS and _CACHE_BUSTER_VALUE.fullmatch(unquote(value)) is not None
