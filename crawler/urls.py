"""URL identity: canonical article URLs, the record id derived from them, and the article key
that names an article whichever URL reached it."""

from __future__ import annotations

import hashlib
import re
from urllib.parse import unquote, urljoin, urlsplit, urlunsplit

from w3lib.url import canonicalize_url

from crawler.cms import article_id

DEFAULT_PORTS = {"http": 80, "https": 443}
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


def canonical_url(url: str) -> str:
    """The form of `url` that names one article: w3lib canonical, lower-case host, no port 80/443,
    no fragment."""
    canonical = canonicalize_url(url.strip(), keep_fragments=False)
    parts = urlsplit(canonical)
    host = (parts.hostname or "").lower()
    netloc = host
    if parts.port is not None and parts.port != DEFAULT_PORTS.get(parts.scheme):
        netloc = f"{host}:{parts.port}"
    return urlunsplit((parts.scheme.lower(), netloc, parts.path or "/", parts.query, ""))


def record_id(canonical: str) -> str:
    """A stable 20-hex-digit id for the record of the article at `canonical`."""
    return hashlib.sha256(canonical.encode("utf-8")).hexdigest()[:20]


def safe_urljoin(base: str, href: str) -> str | None:
    """`href` resolved against `base`, or None when it cannot be a URL (an unfilled template
    placeholder such as "http://[附件链接]/a.pdf" makes urllib raise)."""
    try:
        url = urljoin(base, href.strip())
        urlsplit(url).port  # noqa: B018 - parsing the netloc is what raises
    except ValueError:
        return None
    return url


def same_host(url: str, other: str) -> bool:
    """True when both URLs name the same host."""
    return (urlsplit(url).hostname or "").lower() == (urlsplit(other).hostname or "").lower()


def _is_tracking(param: str) -> bool:
    name, _, value = param.partition("=")
    name = unquote(name).lower()
    if name in TRACKING_PARAMS or name.startswith(TRACKING_PREFIXES):
        return True
    return name in CACHE_BUSTERS and _CACHE_BUSTER_VALUE.fullmatch(unquote(value)) is not None


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
