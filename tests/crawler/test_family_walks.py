"""Park sites with no profile, one per CMS family: each list page read as its family, and a
crawl from the start URL alone that fetches every listed article once and nothing else."""

from __future__ import annotations

from collections import Counter
from typing import Any
from urllib.parse import urlsplit

import pytest

from crawler import cms
from crawler.decode import decode_page
from crawler.sites import generic_profile
from tests.conftest import golden_differences, golden_records, run_crawl, run_report
from tests.sitesrv import SITES_DIR, RequestLog, fetch_through, serve, walk_truth

HOSTS = sorted(path.parent.name for path in SITES_DIR.glob("*/_lists.json"))


def request_key(request: dict[str, Any]) -> tuple[str, str, tuple[tuple[str, str], ...]]:
    return cms.ListRequest(**request).key()


@pytest.mark.parametrize("host", HOSTS)
def test_each_list_page_is_read_as_its_family_with_its_articles_dates_and_next(
    host: str, fixture_proxy: str
) -> None:
    truth = walk_truth(host)
    site = generic_profile(truth["start_url"])
    family = None
    for page in truth["pages"]:
        text = decode_page(fetch_through(fixture_proxy, page).encode("utf-8"), None).text
        listed = cms.ListPage(page["url"], text, page["method"], page["body"])
        reading = cms.read_list(listed, site.owns_url, family=family)
        family = reading.family  # the walk keeps the family its first page was read as
        assert reading.family.name == truth["family"], page["url"]
        got = [{"url": e.url, "date": e.date[:10] if e.date else None} for e in reading.entries]
        assert got == page["articles"], page["url"]
        assert [request_key(r.as_dict()) for r in reading.next] == [
            request_key(r) for r in page["next"]
        ], page["url"]


@pytest.fixture(scope="module", params=HOSTS)
def start_url_crawl(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> tuple[str, RequestLog, Any]:
    """A crawl of one family fixture host from its start URL alone, with every request the
    server saw."""
    host: str = request.param
    log = RequestLog()
    with serve(log=log) as proxy:
        crawl = run_crawl(
            tmp_path_factory.mktemp(host),
            "-a",
            f"start_url={walk_truth(host)['start_url']}",
            proxy=proxy,
        )
    return host, log, crawl


def test_a_start_url_crawl_walks_every_list_page_and_fetches_each_article_once(
    start_url_crawl: tuple[str, RequestLog, Any],
) -> None:
    host, log, crawl = start_url_crawl
    assert crawl.returncode == 0, crawl.stderr[-3000:]
    truth = walk_truth(host)
    seen = Counter(
        (r.method, f"http://{host}{r.path}" + (f"?{r.query}" if r.query else ""))
        for r in log.requests()
        if r.host == host and r.path != "/robots.txt"
    )
    walked = Counter((page["method"], page["url"]) for page in truth["pages"])
    articles = Counter(("GET", a["url"]) for page in truth["pages"] for a in page["articles"])
    assert seen == walked + articles


def test_a_start_url_crawl_writes_the_golden_record_of_every_article(
    start_url_crawl: tuple[str, RequestLog, Any],
) -> None:
    host, _, crawl = start_url_crawl
    goldens = {url: g for url, g in golden_records().items() if urlsplit(url).hostname == host}
    written = crawl.by_url()
    assert set(written) == set(goldens)
    problems = {url: golden_differences(written[url], g) for url, g in goldens.items()}
    assert {url: found for url, found in problems.items() if found} == {}


def test_the_family_is_told_in_the_log(start_url_crawl: tuple[str, RequestLog, Any]) -> None:
    host, _, crawl = start_url_crawl
    label = cms.family_named(walk_truth(host)["family"]).label
    assert f"recognised as {label}" in crawl.stderr


def test_the_run_report_names_the_family_each_list_page_was_read_as(
    start_url_crawl: tuple[str, RequestLog, Any],
) -> None:
    host, _, crawl = start_url_crawl
    truth = walk_truth(host)
    site = run_report(crawl)["sites"]["generic"]
    assert site["list_families"] == {truth["family"]: len(truth["pages"])}
