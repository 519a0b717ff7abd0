"""The site registry checks itself, and every registered site ships golden pages."""

from __future__ import annotations

from urllib.parse import urlsplit

import pytest

from crawler.sites import (
    SITES,
    ProfileError,
    Section,
    SiteProfile,
    SiteRegistry,
    generic_profile,
)
from tests.conftest import golden_records, profiled_golden_records
from tests.sitesrv import SITES_DIR


@pytest.mark.parametrize("key", list(SITES))
def test_every_site_has_golden_pages_and_a_fixture_tree(key: str) -> None:
    profile = SITES[key]
    goldens = [g for g in golden_records().values() if g["site"] == key]
    assert len(goldens) >= 5, f"{key} needs golden article pages"
    for domain in profile.allowed_domains:
        assert (SITES_DIR / domain / "robots.txt").is_file()
    for section in profile.sections:
        assert profile.owns_url(section.url)


@pytest.mark.parametrize("key", [k for k in SITES if not SITES[k].mirror_of])
def test_each_park_site_has_twenty_articles(key: str) -> None:
    assert sum(1 for g in golden_records().values() if g["site"] == key) >= 20


def test_golden_urls_match_their_site_article_patterns() -> None:
    """A site with a profile by its own patterns (a family fixture host has none: its list
    pages show which links are articles, tests/crawler/test_family_walks.py)."""
    for url in profiled_golden_records():
        assert SITES[golden_records()[url]["site"]].is_article_url(url), url


def profile(**changes: object) -> SiteProfile:
    base = dict(
        key="demo",
        name="示例园区",
        allowed_domains=("www.example.gov.cn",),
        sections=(Section("要闻", "http://www.example.gov.cn/news/index.shtml"),),
        family="trs",
        article_url_patterns=(r"/t\d{8}_\d+\.shtml$",),
    )
    base.update(changes)
    return SiteProfile(**base)  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        ({"key": "Bad Key"}, "key must be"),
        ({"allowed_domains": ()}, "no domains"),
        ({"sections": ()}, "no sections"),
        (
            {
                "sections": (
                    Section("x", "http://www.example.gov.cn/1/"),
                    Section("x", "http://www.example.gov.cn/2/"),
                )
            },
            "same name",
        ),
        ({"sections": (Section("x", "http://elsewhere.cn/"),)}, "outside the site's domains"),
        ({"article_url_patterns": ("(",)}, "bad article pattern"),
        ({"mirror_of": "nowhere"}, "mirror_of"),
    ],
)
def test_registry_rejects_broken_profiles(changes: dict[str, object], message: str) -> None:
    with pytest.raises(ProfileError, match=message):
        SiteRegistry([profile(**changes)])


def test_registry_rejects_duplicate_keys() -> None:
    with pytest.raises(ProfileError, match="used twice"):
        SiteRegistry([profile(), profile()])


def test_select_names_valid_sites_for_an_unknown_key() -> None:
    with pytest.raises(ProfileError, match="valid sites: sipac, binjiang"):
        SITES.select(["nowhere"])


def test_generic_profile_takes_the_start_url_host() -> None:
    generic = generic_profile("http://127.0.0.1:8087/szgyyq/yqyw/index.shtml")
    assert generic.allowed_domains == ("127.0.0.1",)
    assert generic.family is None  # recognised on its list pages
    assert generic.article_url_patterns == ()  # its list pages show which links are articles
    assert generic.owns_url("http://127.0.0.1:8087/szgyyq/yqyw/202403/t20240315_1.shtml")
    assert not generic.owns_url("http://www.sipac.gov.cn/szgyyq/yqyw/202403/t20240315_1.shtml")
    with pytest.raises(ProfileError):
        generic_profile("ftp://example.com/")


@pytest.mark.parametrize(
    ("start_url", "domain"),
    [
        ("http://www.hhtz.gov.cn/col/col1487001/index.html", "hhtz.gov.cn"),
        ("https://www.example.com/news/", "example.com"),
        ("http://www.gov.cn/xinwen/", "www.gov.cn"),
        ("http://www.com.cn/", "www.com.cn"),
        ("http://zwgk.hhtz.gov.cn/", "zwgk.hhtz.gov.cn"),
    ],
)
def test_a_site_without_profile_spans_its_domain_not_a_public_suffix(
    start_url: str, domain: str
) -> None:
    generic = generic_profile(start_url)
    assert generic.allowed_domains == (domain,)
    assert generic.owns_url(start_url)


def test_article_urls_outside_the_site_are_not_articles() -> None:
    sipac = SITES["sipac"]
    off_site = "http://www.suzhou.gov.cn/szsrmzf/szyw/202405/t20240510_401234.shtml"
    assert urlsplit(off_site).path.endswith(".shtml")
    assert not sipac.is_article_url(off_site)
    assert sipac.is_article_url("http://www.sipac.gov.cn/szgyyq/tsyq/202403/t20240315_123456.shtml")
