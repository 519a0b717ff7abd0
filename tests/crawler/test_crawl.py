"""Real crawls of the fixture sites over 127.0.0.1, compared with the golden records."""

from __future__ import annotations

import re
from collections import Counter
from itertools import pairwise
from pathlib import Path
from typing import Any

import pytest

from benchmarks.scoring import leaked_boilerplate, repeated_paragraphs
from crawler.sites import SITES
from tests.conftest import (
    CrawlResult,
    assert_valid_record,
    golden_differences,
    golden_records,
    profiled_golden_records,
    run_crawl,
    run_report,
)
from tests.sitesrv import SITES_DIR, RequestLog, serve

pytestmark = pytest.mark.crawl
SIPAC_SAMPLE = "http://www.sipac.gov.cn/szgyyq/tsyq/202403/t20240315_"
MIRROR_HOST = "http://www.twgxnews.com/"
# Lines this short that carry a boilerplate marker are page furniture, not article sentences.
BOILERPLATE_LINE_MAX_CHARS = 40
ARTICLE_LINK = re.compile(r'href="\./(\d{6}/t\d{8}_\d+\.shtml)"')


@pytest.fixture(scope="module")
def full_crawl(fixture_proxy: str, tmp_path_factory: pytest.TempPathFactory) -> CrawlResult:
    return run_crawl(tmp_path_factory.mktemp("full"), proxy=fixture_proxy)


def test_full_crawl_succeeds_and_writes_one_finished_file(full_crawl: CrawlResult) -> None:
    assert full_crawl.returncode == 0, full_crawl.stderr[-3000:]
    files = list((full_crawl.output_dir / "articles").iterdir())
    assert len(files) == 1
    assert files[0].suffix == ".jsonl"
    assert "\\u" not in files[0].read_text("utf-8")


def test_full_crawl_logs_no_python_warnings(full_crawl: CrawlResult) -> None:
    """A deprecated call into Scrapy shows up as a warning in every run's log."""
    assert "py.warnings" not in full_crawl.stderr
    assert "DeprecationWarning" not in full_crawl.stderr


def test_full_crawl_emits_every_golden_record(full_crawl: CrawlResult) -> None:
    records = full_crawl.by_url() | {r["url"]: r for r in full_crawl.duplicates}
    problems: dict[str, list[str]] = {}
    for url, expected in profiled_golden_records().items():
        if url not in records:
            problems[url] = ["missing from the crawl"]
            continue
        differences = golden_differences(records[url], expected)
        if differences:
            problems[url] = differences
    assert problems == {}


def test_full_crawl_records_are_valid_and_unique(full_crawl: CrawlResult) -> None:
    for record in full_crawl.records:
        assert_valid_record(record)
    urls = Counter(r["url"] for r in full_crawl.records)
    assert [u for u, n in urls.items() if n > 1] == []
    sites = Counter(r["site"] for r in full_crawl.records)
    assert len(full_crawl.records) >= 60
    assert {k for k in SITES if not SITES[k].mirror_of} <= set(sites)


def test_full_crawl_never_leaves_the_sites(full_crawl: CrawlResult) -> None:
    for record in full_crawl.records:
        assert SITES[record["site"]].owns_url(record["url"])
    assert "suzhou.gov.cn" not in full_crawl.stderr.replace("Filtered offsite", "")


def test_full_crawl_holds_both_samples(full_crawl: CrawlResult) -> None:
    sipac = [
        r
        for r in full_crawl.records
        if r["url"].startswith(SIPAC_SAMPLE) and r["title"].startswith("园区召开党工委政法工作会议")
    ]
    assert len(sipac) == 1
    original = [
        r
        for r in full_crawl.records
        if r["site"] == "binjiang" and r["title"].startswith("高新区(滨江)召开平安建设工作")
    ]
    assert len(original) == 1
    mirror = [
        r
        for r in full_crawl.duplicates
        if r["url"].startswith(MIRROR_HOST)
        and r["title"].startswith("高新区(滨江)召开平安建设工作")
    ]
    assert len(mirror) == 1
    assert mirror[0]["duplicate_of"] == original[0]["id"]
    assert mirror[0]["similarity"] >= 0.6
    # The span the mirror damaged is mended from the original met in the same crawl.
    assert mirror[0]["body"] == original[0]["body"]
    assert "damaged_annotations" not in mirror[0]
    assert "restored_from_original" in mirror[0]["normalisations"]


def test_mirror_copies_go_to_the_duplicates_file(full_crawl: CrawlResult) -> None:
    ids = {r["id"] for r in full_crawl.records if r["site"] == "binjiang"}
    mirrored = [r for r in full_crawl.duplicates if r["site"] == "binjiang_mirror"]
    assert len(mirrored) == 6
    assert all(r["duplicate_of"] in ids for r in mirrored)
    assert not [r for r in full_crawl.records if r["site"] == "binjiang_mirror"]
    for record in full_crawl.records + full_crawl.duplicates:
        assert_valid_record(record)
        assert record["revision"] == 1
        assert len(record["content_hash"]) == 64


def test_max_pages_limits_list_pages(fixture_proxy: str, tmp_path: Path) -> None:
    limited = run_crawl(tmp_path, "-a", "sites=sipac", "-a", "max_pages=1", proxy=fixture_proxy)
    assert limited.returncode == 0, limited.stderr[-2000:]
    assert 0 < len(limited.records) <= 10
    assert "index_1.shtml" not in limited.stderr


def test_since_skips_older_articles(fixture_proxy: str, tmp_path: Path) -> None:
    recent = run_crawl(
        tmp_path, "-a", "sites=donghu", "-a", "since=2024-07-01", proxy=fixture_proxy
    )
    assert recent.returncode == 0, recent.stderr[-2000:]
    assert recent.records
    dates: list[Any] = [r["published_at"][:10] for r in recent.records]
    assert min(dates) >= "2024-07-01"
    all_donghu = [g for g in golden_records().values() if g["site"] == "donghu"]
    assert len(recent.records) < len(all_donghu)


def test_generic_profile_crawls_a_site_given_by_start_url(
    fixture_proxy: str, tmp_path: Path
) -> None:
    start = fixture_proxy + "/szgyyq/yqyw/index.shtml"
    generic = run_crawl(tmp_path, "-a", f"start_url={start}")
    assert generic.returncode == 0, generic.stderr[-2000:]
    assert generic.records
    assert {r["site"] for r in generic.records} == {"generic"}
    assert all(r["url"].startswith(fixture_proxy) for r in generic.records)


@pytest.mark.parametrize(
    ("argument", "message"),
    [
        ("sites=sipac,nowhere", "unknown site 'nowhere'; valid sites: sipac, binjiang, donghu"),
        ("since=2024-13-01", "since must be a date as YYYY-MM-DD"),
        ("max_pages=0", "max_pages must be a whole number of at least 1"),
        ("max_pages=two", "max_pages must be a whole number"),
        ("replay=/nonexistent/archive.warc.gz", "replay must be 'demo' or the path"),
        ("colour=blue", "unknown argument 'colour'; valid arguments:"),
        ("start_url=ftp://x", "start_url must be an http(s) URL"),
    ],
)
def test_bad_arguments_stop_at_once_with_one_line(
    argument: str, message: str, tmp_path: Path
) -> None:
    result = run_crawl(tmp_path, "-a", argument, timeout=60)
    assert result.returncode == 2
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    assert message in lines[0]
    assert "Traceback" not in result.stderr


def test_full_crawl_bodies_hold_no_repeats_and_no_boilerplate_lines(
    full_crawl: CrawlResult,
) -> None:
    """Checked with the benchmark's own marker list, independent of the cleaning rules."""
    for record in full_crawl.records:
        assert repeated_paragraphs(record["body"]) == [], record["url"]
        short_marked = [
            line
            for line in leaked_boilerplate(record["body"], "")
            if len(line) <= BOILERPLATE_LINE_MAX_CHARS
        ]
        assert short_marked == [], record["url"]
        assert "信息标题" not in record["body"]


def test_full_crawl_writes_a_run_report(full_crawl: CrawlResult) -> None:
    report = run_report(full_crawl)
    assert report["exit_status"] == 0
    assert set(report["sites"]) == set(SITES)
    sipac = report["sites"]["sipac"]
    assert sipac["list_pages"] == 6
    assert sipac["articles"] == {"new": 26}
    assert sipac["errors_by_kind"] == {"http_404": 1}
    assert sipac["errors"][0]["url"].endswith("/t20241012_1178825.shtml")
    assert sipac["requests"] >= 6 + 26
    assert "Run summary" in full_crawl.stderr


def test_a_failing_site_makes_the_run_fail(fixture_proxy: str, tmp_path: Path) -> None:
    broken = run_crawl(tmp_path, "-a", f"start_url={fixture_proxy}/szgyyq/nowhere/index.shtml")
    assert broken.returncode == 1, broken.stderr[-2000:]
    problems = run_report(broken)["sites"]["generic"]["problems"]
    assert problems == ["no list page could be read"]
    assert "Site generic failed: no list page could be read" in broken.stderr


def test_articles_of_a_list_page_are_fetched_before_the_next_list_page(tmp_path: Path) -> None:
    """The queue holds one list page's articles at a time, not a whole section's: with many
    list pages the crawl's memory would otherwise grow with the length of the section."""
    section = SITES_DIR / "www.sipac.gov.cn" / "szgyyq" / "yqyw"
    log = RequestLog()
    with serve(log=log) as proxy:
        # One request at a time: the server then sees them in the order they left the queue.
        result = run_crawl(
            tmp_path, "-a", "sites=sipac", "-s", "CONCURRENT_REQUESTS=1", proxy=proxy
        )
    assert result.returncode == 0, result.stderr[-2000:]
    order = [seen.path for seen in log.requests() if seen.host == "www.sipac.gov.cn"]
    pages = ["index.shtml", "index_1.shtml", "index_2.shtml"]
    for page, following in pairwise(pages):
        html = (section / page).read_text("utf-8")
        linked = {f"/szgyyq/yqyw/{link}" for link in ARTICLE_LINK.findall(html)}
        assert linked, page
        fetched_before = set(order[: order.index(f"/szgyyq/yqyw/{following}")])
        assert linked <= fetched_before, (page, sorted(linked - fetched_before))
