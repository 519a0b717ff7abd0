"""Site profiles: each park site declared as data, checked when the registry is built."""

from __future__ import annotations

import re
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from urllib.parse import urlsplit

from crawler.cms import hanweb, trs, vsb


@dataclass(frozen=True)
class Section:
    """A news section: its name as the site shows it and the URL of its first list page."""

    name: str
    url: str


@dataclass(frozen=True)
class Selectors:
    """CSS overrides for the generic extractor; None means the extractor decides."""

    title: str | None = None
    published_at: str | None = None
    body: str | None = None


@dataclass(frozen=True)
class SiteProfile:
    """Everything parknews needs to know about one site; no behaviour lives here."""

    key: str
    name: str
    allowed_domains: tuple[str, ...]
    sections: tuple[Section, ...]
    family: str | None
    """The CMS family whose list pages the sections are (crawler.cms: "trs", "hanweb",
    "vsb", "generic"); None: recognised on each section's first list page."""
    article_url_patterns: tuple[str, ...]
    selectors: Selectors = field(default_factory=Selectors)
    encoding_hint: str | None = None
    mirror_of: str | None = None

    def is_article_url(self, url: str) -> bool:
        """True when `url` is on this site and has the shape of one of its article URLs (never
        for a profile without patterns: its list pages show which links are articles)."""
        if not self.owns_url(url):
            return False
        path = urlsplit(url).path
        return any(re.search(pattern, path) for pattern in self.article_url_patterns)

    def owns_url(self, url: str) -> bool:
        """True when the URL's host is one of the allowed domains or a subdomain of one."""
        host = (urlsplit(url).hostname or "").lower()
        return any(host == d or host.endswith("." + d) for d in self.allowed_domains)


class ProfileError(ValueError):
    """A profile that cannot work; the message says which field and why."""


SIPAC = SiteProfile(
    key="sipac",
    name="苏州工业园区管理委员会",
    allowed_domains=("www.sipac.gov.cn",),
    sections=(
        Section("园区要闻", "http://www.sipac.gov.cn/szgyyq/yqyw/index.shtml"),
        Section("图说园区", "http://www.sipac.gov.cn/szgyyq/tsyq/index.shtml"),
    ),
    family="trs",
    article_url_patterns=trs.SHAPES.article_paths,
    selectors=Selectors(body="div.TRS_Editor"),
)

BINJIANG = SiteProfile(
    key="binjiang",
    name="杭州高新区(滨江)",
    allowed_domains=("www.hhtz.gov.cn",),
    sections=(
        Section("高新动态", "http://www.hhtz.gov.cn/col/col1487001/index.html"),
        Section("部门动态", "http://www.hhtz.gov.cn/col/col1487002/index.html"),
    ),
    family="hanweb",
    article_url_patterns=hanweb.SHAPES.article_paths,
    selectors=Selectors(body="#zoom"),
)

DONGHU = SiteProfile(
    key="donghu",
    name="武汉东湖新技术开发区",
    allowed_domains=("www.wehdz.gov.cn",),
    sections=(
        Section("光谷要闻", "http://www.wehdz.gov.cn/xwzx/ggyw.htm"),
        Section("园区动态", "http://www.wehdz.gov.cn/xwzx/yqdt.htm"),
    ),
    family="vsb",
    article_url_patterns=vsb.SHAPES.article_paths,
    selectors=Selectors(body=".v_news_content"),
    encoding_hint="gb18030",
)

BINJIANG_MIRROR = SiteProfile(
    key="binjiang_mirror",
    name="科技園區新聞網 (杭州高新区(滨江)转载镜像)",
    allowed_domains=("www.twgxnews.com",),
    # The mirror files everything under one unnamed list; its pages name no column.
    sections=(Section("", "http://www.twgxnews.com/news/list_1.html"),),
    family="generic",
    article_url_patterns=(r"/news/\d{4}/\d{4}/\d+\.html$",),
    selectors=Selectors(body=".news-content", title="h1.news-title"),
    mirror_of="binjiang",
)

GENERIC_KEY = "generic"


PUBLIC_SECOND_LEVEL = re.compile(r"(?:gov|com|net|org|edu|ac)\.[a-z]{2}")
"""Second-level domains that are public suffixes (gov.cn, com.cn, org.hk…), never one site."""


def site_domain(host: str) -> str:
    """The domain a site's pages live under: its host without a leading "www."
    (www.hhtz.gov.cn gives hhtz.gov.cn, which zwgk.hhtz.gov.cn is part of), unless what is
    left is a public suffix (www.gov.cn stays)."""
    rest = host.removeprefix("www.")
    if rest == host or "." not in rest or PUBLIC_SECOND_LEVEL.fullmatch(rest):
        return host
    return rest


def generic_profile(start_url: str) -> SiteProfile:
    """A profile for a site that has none: its pages are those under its host's domain
    (`site_domain`); the CMS family is recognised on its list pages, which also show which
    links are articles."""
    parts = urlsplit(start_url)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise ProfileError(f"start_url must be an http(s) URL with a host, got {start_url!r}")
    host = parts.hostname.lower()
    return SiteProfile(
        key=GENERIC_KEY,
        name=host,
        allowed_domains=(site_domain(host),),
        sections=(Section("", start_url),),
        family=None,
        article_url_patterns=(),
    )


def check_profile(profile: SiteProfile) -> None:
    """Raise ProfileError naming the field when a profile cannot be crawled."""
    where = f"site profile {profile.key!r}"
    if not re.fullmatch(r"[a-z][a-z0-9_]*", profile.key):
        raise ProfileError(f"{where}: key must be lower-case letters, digits and _")
    if not profile.name.strip():
        raise ProfileError(f"{where}: name is empty")
    if not profile.allowed_domains:
        raise ProfileError(f"{where}: allowed_domains is empty")
    if not profile.sections:
        raise ProfileError(f"{where}: no sections")
    names = [section.name for section in profile.sections]
    if len(set(names)) < len(names):
        # A section is found again by its name (crawler.spiders.parknews.section_url).
        raise ProfileError(f"{where}: two sections have the same name; name them apart")
    for section in profile.sections:
        if not profile.owns_url(section.url):
            raise ProfileError(f"{where}: section URL {section.url} is outside allowed_domains")
    if not profile.article_url_patterns:
        raise ProfileError(f"{where}: article_url_patterns is empty")
    for pattern in profile.article_url_patterns:
        try:
            re.compile(pattern)
        except re.error as exc:
            raise ProfileError(f"{where}: bad article pattern {pattern!r}: {exc}") from exc


class SiteRegistry(Mapping[str, SiteProfile]):
    """The profiles by key; building it validates every profile and the keys' uniqueness."""

    def __init__(self, profiles: Iterable[SiteProfile]) -> None:
        self._profiles: dict[str, SiteProfile] = {}
        for profile in profiles:
            check_profile(profile)
            if profile.key in self._profiles or profile.key == GENERIC_KEY:
                raise ProfileError(f"site key {profile.key!r} is used twice or reserved")
            self._profiles[profile.key] = profile
        for profile in self._profiles.values():
            if profile.mirror_of is not None and profile.mirror_of not in self._profiles:
                raise ProfileError(f"{profile.key}: mirror_of names unknown site")

    def __getitem__(self, key: str) -> SiteProfile:
        return self._profiles[key]

    def __iter__(self) -> Iterator[str]:
        return iter(self._profiles)

    def __len__(self) -> int:
        return len(self._profiles)

    def select(self, keys: Iterable[str]) -> list[SiteProfile]:
        """The profiles for `keys`; ProfileError listing the valid keys for an unknown one."""
        chosen = []
        for key in keys:
            if key not in self._profiles:
                valid = ", ".join(self._profiles)
                raise ProfileError(f"unknown site {key!r}; valid sites: {valid}")
            chosen.append(self._profiles[key])
        return chosen


SITES = SiteRegistry([SIPAC, BINJIANG, DONGHU, BINJIANG_MIRROR])
