"""URLs as parknews compares them: the canonical form of an article URL, the record id
derived from it, and joining a link to its page without raising on template junk."""

from __future__ import annotations

import hashlib
from urllib.parse import urljoin, urlsplit, urlunsplit

from w3lib.url import canonicalize_url

DEFAULT_PORTS = {"http": 80, "https": 443}


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
