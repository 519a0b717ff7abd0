"""Site profiles: each park site declared as data in a TOML sites file, checked when read.

The shipped parks are in crawler/data/sites.toml; a user's own file of the same shape
(`read_sites_file`) adds theirs. A bad entry is refused in one line naming the file, the
line and what is wrong.
"""

from __future__ import annotations

import codecs
import re
import sys
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass, field, fields
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from cssselect import SelectorError
from parsel.csstranslator import css2xpath

from crawler.cms import FAMILIES

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover - Python 3.10
    import tomli as tomllib


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
    """Regexes on the URL path of the site's article pages (searched)."""
    selectors: Selectors = field(default_factory=Selectors)
    encoding_hint: str | None = None
    """The charset the site's pages are in (a Python codec name, e.g. "gb18030"). It decodes
    a page that declares no charset, only a server's Western default, or a label the hint
    contains (gb2312 and gbk under gb18030, as w3lib reads them) — before charset detection
    guesses; a BOM, a valid UTF-8 body or another declared charset still go first
    (crawler.decode.decode_page)."""
    mirror_of: str | None = None
    """The key of the site whose articles this one copies; crawled after it."""

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
    """A profile that cannot work; the message says which field and why.

    `field` names the SiteProfile field at fault and `value` the value, when there is one:
    a sites file reader finds the line they are written on."""

    def __init__(self, message: str, field: str | None = None, value: str | None = None) -> None:
        super().__init__(message)
        self.field = field
        self.value = value


FAMILY_ARTICLE_PATHS: dict[str, tuple[str, ...]] = {
    family.name: family.shapes.article_paths if family.shapes else () for family in FAMILIES
}
"""Each family a profile may name, with the article URL shapes a profile of it defaults to
(none for the generic family: its list pages show which links are articles)."""


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
    where = f"site {profile.key!r}"
    if not re.fullmatch(r"[a-z][a-z0-9_]*", profile.key):
        raise ProfileError(
            f"{where}: key must be lower-case letters, digits and _, starting with a letter",
            "key",
        )
    if not profile.name.strip():
        raise ProfileError(f"{where}: name is empty", "name")
    if not profile.allowed_domains:
        raise ProfileError(f"{where}: no domains to crawl", "allowed_domains")
    if not profile.sections:
        raise ProfileError(f"{where}: no sections", "sections")
    names = [section.name for section in profile.sections]
    for number, name in enumerate(names):
        if name in names[:number]:
            # A section is found again by its name (crawler.spiders.parknews.section_url).
            raise ProfileError(
                f"{where}: two sections have the same name {name!r}; name them apart",
                "sections",
                profile.sections[number].url,
            )
    for section in profile.sections:
        if not profile.owns_url(section.url):
            raise ProfileError(
                f"{where}: section URL {section.url} is outside the site's domains "
                f"({', '.join(profile.allowed_domains)})",
                "sections",
                section.url,
            )
    if profile.family is not None and profile.family not in FAMILY_ARTICLE_PATHS:
        raise ProfileError(
            f"{where}: unknown family {profile.family!r}; "
            f"families: {', '.join(FAMILY_ARTICLE_PATHS)}",
            "family",
        )
    for pattern in profile.article_url_patterns:
        try:
            re.compile(pattern)
        except re.error as exc:
            raise ProfileError(
                f"{where}: bad article pattern {pattern!r}: {exc}", "article_url_patterns", pattern
            ) from exc
    if profile.encoding_hint is not None:
        try:
            codecs.lookup(profile.encoding_hint)
        except LookupError as exc:
            raise ProfileError(
                f"{where}: unknown encoding {profile.encoding_hint!r}", "encoding_hint"
            ) from exc


class SiteRegistry(Mapping[str, SiteProfile]):
    """The profiles by key; building it validates every profile and the keys' uniqueness."""

    def __init__(self, profiles: Iterable[SiteProfile]) -> None:
        self._profiles: dict[str, SiteProfile] = {}
        for profile in profiles:
            check_profile(profile)
            if profile.key in self._profiles or profile.key == GENERIC_KEY:
                raise ProfileError(f"site key {profile.key!r} is used twice or reserved", "key")
            self._profiles[profile.key] = profile
        for profile in self._profiles.values():
            if profile.mirror_of is not None and profile.mirror_of not in self._profiles:
                raise ProfileError(
                    f"{profile.key}: mirror_of names unknown site {profile.mirror_of!r}",
                    "mirror_of",
                )

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


SHIPPED_SITES_FILE = Path(__file__).parent / "data" / "sites.toml"
"""The parks parknews ships with."""
SITE_FIELDS = (
    "key",
    "name",
    "sections",
    "family",
    "domains",
    "article_urls",
    "encoding",
    "selectors",
    "mirror_of",
)
"""The fields of a [[site]] table; key, name and sections are required."""
FILE_NAMES = {
    "allowed_domains": "domains",
    "article_url_patterns": "article_urls",
    "encoding_hint": "encoding",
}
"""SiteProfile field → its name in a sites file, where the two differ."""
SECTION_FIELDS = ("name", "url")
SELECTOR_FIELDS = tuple(f.name for f in fields(Selectors))
TOML_TYPES = {
    str: "a string",
    bool: "true or false",
    int: "a number",
    float: "a number",
    list: "an array",
    dict: "a table",
}


class SitesFileError(ProfileError):
    """A sites file that cannot be used: the message is one line, `FILE:LINE: what is wrong`
    (`FILE: …` when the file cannot be read at all)."""

    def __init__(self, path: Path, line: int | None, problem: str) -> None:
        problem = " ".join(problem.splitlines())  # a value written with a line break in it
        super().__init__(f"{path}:{line}: {problem}" if line else f"{path}: {problem}")
        self.path = path
        self.line = line


class SourceLines:
    """Where the entries and fields of a sites file are written (tomllib gives no positions)."""

    SITE_HEADER = re.compile(r"\s*\[\[\s*site\s*\]\]")

    def __init__(self, text: str) -> None:
        self.lines = text.splitlines()
        self.sites = [n for n, line in enumerate(self.lines, 1) if self.SITE_HEADER.match(line)]

    def site(self, index: int) -> int | None:
        """The line of the `index`-th [[site]] header."""
        return self.sites[index] if index < len(self.sites) else None

    def field(self, index: int, name: str | None, value: str | None = None) -> int | None:
        """The line of the `index`-th site's field `name` (of `value` in it, when given and
        found on the lines that follow); the site's own line when neither is found."""
        start = self.site(index)
        if start is None or name is None:
            return start
        end = self.sites[index + 1] if index + 1 < len(self.sites) else len(self.lines) + 1
        written = re.compile(rf"\s*(?:{re.escape(name)}\s*=|\[\[?\s*site\.{re.escape(name)}\b)")
        line = next((n for n in range(start, end) if written.match(self.lines[n - 1])), start)
        if value:
            spellings = (value, value.replace("\\", "\\\\"))
            for number in range(line, end):
                if any(spelling in self.lines[number - 1] for spelling in spellings):
                    return number
        return line

    def top_level(self, name: str) -> int | None:
        """The line where a top-level key or table `name` is written."""
        written = re.compile(rf"\s*(?:\[\[?\s*{re.escape(name)}\b|{re.escape(name)}\s*=)")
        return next((n for n, line in enumerate(self.lines, 1) if written.match(line)), None)


def toml_type(value: object) -> str:
    """How a TOML user would name the type of `value`."""
    return next((name for kind, name in TOML_TYPES.items() if type(value) is kind), "a date")


def text_field(entry: dict[str, Any], name: str, where: str) -> str | None:
    """The string field `name` of a table, None when absent; ProfileError for another type."""
    value = entry.get(name)
    if value is not None and not isinstance(value, str):
        raise ProfileError(f"{where}: {name} must be a string, not {toml_type(value)}", name)
    return value


def texts_field(entry: dict[str, Any], name: str, where: str) -> tuple[str, ...] | None:
    """The array-of-strings field `name` of a table, None when absent."""
    value = entry.get(name)
    if value is None:
        return None
    if not isinstance(value, list) or not all(isinstance(item, str) for item in value):
        raise ProfileError(f"{where}: {name} must be an array of strings", name)
    return tuple(value)


def unknown_field(table: dict[str, Any], known: tuple[str, ...], where: str, field: str) -> None:
    """ProfileError naming the first field of `table` not in `known`."""
    for name in table:
        if name not in known:
            raise ProfileError(
                f"{where}: unknown field {name!r}; fields: {', '.join(known)}",
                field or name,
                name if field else None,
            )


def sections_field(entry: dict[str, Any], where: str) -> tuple[Section, ...]:
    """The sections of a site table: an array of tables with a url and a name ("" if none)."""
    value = entry["sections"]
    if not isinstance(value, list) or not all(isinstance(item, dict) for item in value):
        raise ProfileError(
            f"{where}: sections must be an array of {{ name = …, url = … }} tables", "sections"
        )
    if not value:
        raise ProfileError(f"{where}: no sections", "sections")
    sections = []
    for table in value:
        unknown_field(table, SECTION_FIELDS, f"{where}: section", "sections")
        url = text_field(table, "url", f"{where}: section")
        name = text_field(table, "name", f"{where}: section") or ""
        if url is None:
            raise ProfileError(f"{where}: section {name!r} has no url", "sections", name or None)
        parts = urlsplit(url)
        if parts.scheme not in ("http", "https") or not parts.hostname:
            raise ProfileError(
                f"{where}: section URL {url!r} must be an http(s) URL with a host", "sections", url
            )
        sections.append(Section(name, url))
    return tuple(sections)


def selectors_field(entry: dict[str, Any], where: str) -> Selectors:
    """The CSS selectors of a site table, each checked to be a selector."""
    value = entry.get("selectors", {})
    if not isinstance(value, dict):
        raise ProfileError(
            f"{where}: selectors must be a table, not {toml_type(value)}", "selectors"
        )
    unknown_field(value, SELECTOR_FIELDS, f"{where}: selectors", "selectors")
    for name in SELECTOR_FIELDS:
        css = text_field(value, name, f"{where}: selectors")
        if css is None:
            continue
        try:
            css2xpath(css)
        except SelectorError as exc:
            raise ProfileError(
                f"{where}: selectors.{name} {css!r} is not a CSS selector: {exc}", "selectors", css
            ) from exc
    return Selectors(**value)


def profile_of_entry(entry: object) -> SiteProfile:
    """The profile a [[site]] table declares, its defaults filled in and checked;
    ProfileError whose `field` is the sites file's name of the field at fault."""
    if not isinstance(entry, dict):
        raise ProfileError("a site must be a [[site]] table")
    key = entry.get("key")
    where = f"site {key!r}" if isinstance(key, str) else "site"
    unknown_field(entry, SITE_FIELDS, where, "")
    for name in ("key", "name", "sections"):
        if name not in entry:
            raise ProfileError(f"{where}: {name} is missing")
    family = text_field(entry, "family", where)
    sections = sections_field(entry, where)
    domains = texts_field(entry, "domains", where)
    if domains is None:
        domains = tuple(dict.fromkeys(urlsplit(s.url).hostname or "" for s in sections))
    article_urls = texts_field(entry, "article_urls", where)
    if article_urls == ():
        raise ProfileError(
            f"{where}: article_urls is empty; leave it out and the list pages show which links"
            " are articles",
            "article_urls",
        )
    if article_urls is None:
        article_urls = FAMILY_ARTICLE_PATHS.get(family or "generic", ())
    try:
        profile = SiteProfile(
            key=text_field(entry, "key", where) or "",
            name=text_field(entry, "name", where) or "",
            allowed_domains=domains,
            sections=sections,
            family=family,
            article_url_patterns=article_urls,
            selectors=selectors_field(entry, where),
            encoding_hint=text_field(entry, "encoding", where),
            mirror_of=text_field(entry, "mirror_of", where),
        )
        check_profile(profile)
    except ProfileError as exc:
        exc.field = FILE_NAMES.get(exc.field or "", exc.field)
        raise
    return profile


def toml_problem(exc: tomllib.TOMLDecodeError, lines: int) -> tuple[int | None, str]:
    """The line of a TOML syntax error and what it is, from tomllib's message (`lines`: the
    number of lines of the file, where an error at its end is)."""
    message = str(exc)
    if message.endswith(" (at end of document)"):
        return lines, message.removesuffix(" (at end of document)") + " (at the end of the file)"
    found = re.search(r" \(at line (\d+), column (\d+)\)$", message)
    if found is None:
        return None, message
    return int(found[1]), f"{message[: found.start()]} (column {found[2]})"


def read_sites_file(
    path: Path, shipped: Mapping[str, SiteProfile] | None = None
) -> list[SiteProfile]:
    """The profiles of the sites file at `path`, each checked; `shipped`, the sites parknews
    ships, whose keys it may not use again and whose keys mirror_of may name.
    SitesFileError naming the line of the first thing wrong."""
    try:
        raw = path.read_bytes()
    except OSError as exc:
        problem = f"cannot read the sites file: {exc.strerror or exc}"
        raise SitesFileError(path, None, problem) from exc
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        where = raw[: exc.start].count(b"\n") + 1
        raise SitesFileError(path, where, "a sites file must be UTF-8 text") from exc
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        at, problem = toml_problem(exc, max(1, len(text.splitlines())))
        raise SitesFileError(path, at, f"not valid TOML: {problem}") from exc
    lines = SourceLines(text)
    for name in data:
        if name != "site":
            raise SitesFileError(
                path, lines.top_level(name), f"unknown {name!r}: a sites file holds [[site]] tables"
            )
    entries = data.get("site", [])
    if not isinstance(entries, list):
        raise SitesFileError(
            path, lines.top_level("site"), "write each site as a [[site]] table, not [site]"
        )
    taken = dict.fromkeys(shipped or (), 0)
    profiles = []
    for index, entry in enumerate(entries):
        try:
            profile = profile_of_entry(entry)
        except ProfileError as exc:
            at = lines.field(index, exc.field, exc.value)
            raise SitesFileError(path, at, str(exc)) from exc
        if profile.key == GENERIC_KEY or profile.key in taken:
            first = taken.get(profile.key)
            why = (
                "is reserved for start_url="
                if profile.key == GENERIC_KEY
                else f"is taken by the site at line {first}"
                if first
                else "is a site parknews ships; choose another key"
            )
            raise SitesFileError(path, lines.field(index, "key"), f"site key {profile.key!r} {why}")
        taken[profile.key] = lines.site(index) or 0
        profiles.append(profile)
    for index, profile in enumerate(profiles):
        if profile.mirror_of is not None and profile.mirror_of not in taken:
            raise SitesFileError(
                path,
                lines.field(index, "mirror_of"),
                f"site {profile.key!r}: mirror_of names no site: {profile.mirror_of!r}",
            )
    return profiles


def load_sites(user_file: str | Path | None = None) -> SiteRegistry:
    """The shipped sites, and those of `user_file` when one is named (None or "": none);
    SitesFileError when it cannot be used."""
    if not user_file:
        return SITES
    path = Path(user_file).expanduser()
    return SiteRegistry([*SITES.values(), *read_sites_file(path, SITES)])


SITES = SiteRegistry(read_sites_file(SHIPPED_SITES_FILE))
"""The sites parknews ships with (crawler/data/sites.toml)."""
