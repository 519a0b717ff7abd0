"""`parknews probe`: what a crawl would do with one list page — the CMS family it is read as,
its article links with their dates, and the next list requests — and a site entry to paste
into a sites file."""

from __future__ import annotations

import json
import re
import urllib.error
import urllib.request
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from crawler import cms
from crawler.decode import decode_page
from crawler.extract.tree import page_metas, parse_html
from crawler.offline import (
    PageTooLarge,
    is_http_url,
    profile_for,
    project_settings,
    read_saved_page,
    saved_page_limit,
)
from crawler.sites import SiteRegistry
from crawler.text.inline import clean_inline


class ProbeError(Exception):
    """A list page that cannot be probed; the message says which and why."""


@dataclass(frozen=True)
class Probe:
    """What a crawl reads from one list page."""

    url: str
    reading: cms.ListReading
    site_name: str
    section_name: str

    def as_dict(self) -> dict[str, Any]:
        return {
            "family": self.reading.family.name,
            "articles": [{"url": e.url, "date": e.date} for e in self.reading.entries],
            "next": [request.as_dict() for request in self.reading.next],
        }

    def site_entry(self) -> str:
        """A sites-file entry for the section, ready to paste."""
        host = urlsplit(self.url).hostname or ""
        labels = [label for label in host.split(".") if label not in ("www", "web")]
        key = re.sub(r"[^a-z0-9_]", "_", (labels[0] if labels else host).lower())
        if not key[:1].isalpha():
            key = f"site_{key}"
        return "\n".join(
            [
                "[[site]]",
                f"key = {json.dumps(key)}",
                f"name = {json.dumps(self.site_name, ensure_ascii=False)}",
                f"family = {json.dumps(self.reading.family.name)}",
                "sections = [",
                f"    {{ name = {json.dumps(self.section_name, ensure_ascii=False)},"
                f" url = {json.dumps(self.url)} }},",
                "]",
            ]
        )

    def text(self) -> str:
        """The probe as a reader wants it."""
        reading = self.reading
        lines = [f"family: {reading.family.name} ({reading.family.label})"]
        if reading.problem:
            lines.append(f"problem: {reading.problem}")
        lines.append(f"articles: {len(reading.entries)}")
        lines += [f"  {entry.date or '-':<19}  {entry.url}" for entry in reading.entries]
        lines.append(f"next list requests: {len(reading.next)}")
        for request in reading.next:
            body = f"  body: {request.body}" if request.body else ""
            lines.append(f"  {request.method:<4} {request.url}{body}")
        lines += ["", "site entry:", self.site_entry()]
        return "\n".join(lines)


def probe_page(
    raw: bytes,
    url: str,
    sites: SiteRegistry,
    content_type: str | None = None,
    site: str | None = None,
) -> Probe:
    """Read a list page's bytes as the crawl would, as site `site` of `sites`, else the one
    owning `url`, else a site with no profile."""
    profile = profile_for(url, site, sites)
    text = decode_page(raw, content_type, hint=profile.encoding_hint).text
    family = cms.family_named(profile.family) if profile.family else None
    is_article = profile.is_article_url if profile.article_url_patterns else None
    reading = cms.read_list(cms.ListPage(url, text), profile.owns_url, is_article, family)
    root = parse_html(text) if text.strip() else None
    metas = page_metas(root) if root is not None else {}
    title = clean_inline(root.findtext(".//title") or "") if root is not None else ""
    parts = [p.strip() for p in re.split(r"\s*[-_|—–]\s*", title) if p.strip()]
    site_name = metas.get("sitename") or (parts[-1] if parts else urlsplit(url).hostname or "")
    section = metas.get("columnname") or (parts[0] if len(parts) > 1 else "")
    return Probe(url, reading, clean_inline(site_name), clean_inline(section))


def probe_file(path: Path, url: str, sites: SiteRegistry, site: str | None = None) -> Probe:
    """Probe a saved list page fetched from `url`."""
    if not is_http_url(url):
        raise ProbeError(f"--url must be an absolute http(s) URL, got {url!r}")
    try:
        raw = read_saved_page(path, saved_page_limit())
    except PageTooLarge as exc:
        raise ProbeError(f"{path}: {exc}") from None
    except OSError as exc:
        raise ProbeError(f"{path}: cannot read it ({exc.strerror or exc})") from None
    return probe_page(raw, url, sites, site=site)


def probe_url(url: str, sites: SiteRegistry, site: str | None = None) -> Probe:
    """Fetch a list page (through the proxy the environment names, as the crawl would) and
    probe it."""
    if not is_http_url(url):
        raise ProbeError(f"not an http(s) URL: {url!r}")
    settings = project_settings()
    limit = saved_page_limit(settings)
    request = urllib.request.Request(url, headers={"User-Agent": settings.get("USER_AGENT")})
    try:
        timeout = settings.getfloat("DOWNLOAD_TIMEOUT")
        with urllib.request.urlopen(request, timeout=timeout) as answer:
            raw = answer.read(limit + 1 if limit > 0 else -1)
            content_type = answer.headers.get("Content-Type")
            final_url = answer.geturl()
    except urllib.error.HTTPError as exc:
        raise ProbeError(f"{url} answered HTTP {exc.code} {exc.reason}") from None
    except (urllib.error.URLError, TimeoutError, OSError) as exc:
        reason = getattr(exc, "reason", None) or exc
        raise ProbeError(f"{url} could not be fetched: {reason}") from None
    if limit > 0 and len(raw) > limit:
        raise ProbeError(f"{url}: {PageTooLarge(limit)}")
    return probe_page(raw, final_url, sites, content_type, site)
