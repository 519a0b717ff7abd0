"""Runs from cron: what a second run fetches, changed sites, killed runs, overlapping runs."""

from __future__ import annotations

import json
import os
import re
import shutil
import signal
import sqlite3
import subprocess
import sys
import time
from collections import Counter
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from crawler import cms
from crawler.cms import article_key
from crawler.default_settings import PARKNEWS_DEDUP_THRESHOLD
from crawler.extensions.crawlstate import completed_walks
from crawler.sites import SITES
from crawler.state.lock import RunLock, lock_path_for
from tests.conftest import (
    REPO,
    CrawlResult,
    golden_records,
    profiled_golden_records,
    read_records,
    run_crawl,
)
from tests.sitesrv import SITES_DIR, crawl_command, crawl_env, serve

pytestmark = pytest.mark.crawl
SIPAC_LIST = "www.sipac.gov.cn/szgyyq/yqyw/index.shtml"
NEW_ARTICLE = "http://www.sipac.gov.cn/szgyyq/yqyw/202411/t20241128_1212345.shtml"
CHANGED_ARTICLE = "http://www.sipac.gov.cn/szgyyq/yqyw/202411/t20241122_1208734.shtml"


NEW_PARAGRAPHS = [
    "11月28日，园区发布2025年重点产业链招商图谱，聚焦集成电路、生物医药、纳米技术应用和人工智能"
    "四大产业，梳理出重点招引企业清单三百余家。",
    "图谱按照“链主企业—配套企业—服务机构”三个层级绘制，标注了每条产业链的薄弱环节和补链方向，"
    "招商人员可据此开展精准对接。",
    "园区投资促进部门表示，明年将围绕图谱组织专题推介活动二十场以上，力争引进重大项目五十个。",
]


@pytest.fixture
def sites(tmp_path: Path) -> Iterator[tuple[Path, str]]:
    """A copy of the fixture sites that a test may change between runs, and its proxy."""
    copy = tmp_path / "sites"
    shutil.copytree(SITES_DIR, copy)
    with serve(sites_dir=copy) as proxy:
        yield copy, proxy


def report_of(result: CrawlResult) -> dict[str, Any]:
    latest = sorted((result.output_dir / "runs").glob("*.json"))[-1]
    loaded: dict[str, Any] = json.loads(latest.read_text("utf-8"))
    return loaded


def crawl(output: Path, proxy: str, *arguments: str) -> CrawlResult:
    result = run_crawl(output, *arguments, proxy=proxy)
    assert result.returncode == 0, result.stderr[-3000:]
    time.sleep(1.1)  # run ids are per second
    return result


def site_requests(result: CrawlResult) -> dict[str, int]:
    return {key: site["requests"] for key, site in report_of(result)["sites"].items()}


FIRST_LIST_PAGES_ONLY = {"sipac": 3, "binjiang": 3, "donghu": 3, "binjiang_mirror": 2}
"""Requests of a run that finds nothing new: robots.txt plus the first list page of each
section."""


def assert_everything_written_once(output: Path) -> None:
    """Every article of the fixture sites is in the main feed, none twice; no file unfinished."""
    assert not list(output.rglob("*.part"))
    counts = Counter(r["url"] for r in read_records(output / "articles"))
    assert [url for url, n in counts.items() if n > 1] == []
    expected = {
        url for url, g in profiled_golden_records().items() if g["site"] != "binjiang_mirror"
    }
    assert sorted(expected - set(counts)) == []
    assert set(counts) == expected


def set_faults(root: Path, host: str, rules: list[dict[str, Any]]) -> None:
    """Make `host` of the served copy misbehave by `rules` (see tests.sitesrv.FaultRule)."""
    (root / host / "_faults.json").write_text(json.dumps(rules), "utf-8")


def clear_faults(root: Path, host: str) -> None:
    (root / host / "_faults.json").unlink()


OLDER_ARTICLE = "/szgyyq/yqyw/202408/t20240816_1139876.shtml"
"""An article on the second list page of sipac's 园区要闻."""


def first_list_page_keys(root: Path) -> set[str]:
    """Keys of the articles on the first list page of sipac's 园区要闻."""
    url = "http://" + SIPAC_LIST
    html = (root / SIPAC_LIST).read_text("utf-8")
    sipac = SITES["sipac"]
    reading = cms.read_list(cms.ListPage(url, html), sipac.owns_url, sipac.is_article_url)
    entries = reading.entries
    return {article_key(e.url) for e in entries if e.url in golden_records()}


def committed(state: Path, keys: set[str]) -> int:
    """How many of `keys` a running crawl has committed to its state database."""
    try:
        with sqlite3.connect(f"file:{state}?mode=ro", uri=True) as db:
            marks = ",".join("?" * len(keys))
            found: int = db.execute(
                f"SELECT count(*) FROM articles WHERE key IN ({marks})", sorted(keys)
            ).fetchone()[0]
    except sqlite3.OperationalError:  # not created yet
        return 0
    return found


TEMPLATE_ARTICLE = "http://www.sipac.gov.cn/szgyyq/yqyw/202410/t20241022_1183317.shtml"


def publish(root: Path, title: str, article: str) -> None:
    """Put `article` at NEW_ARTICLE, linked at the top of sipac's 园区要闻 list."""
    page = root / SIPAC_LIST
    html = page.read_text("utf-8")
    entry = (
        f'<li><a href="./202411/t20241128_1212345.shtml" target="_blank" '
        f'title="{title}">{title}</a><span class="date">2024-11-28</span></li>\n'
    )
    page.write_text(html.replace('<ul class="list">\n', '<ul class="list">\n' + entry, 1), "utf-8")
    (root / NEW_ARTICLE.removeprefix("http://")).write_text(article, "utf-8")


def template_article(root: Path) -> str:
    path = root / TEMPLATE_ARTICLE.removeprefix("http://")
    return path.read_text("utf-8").replace("t20241022_1183317", "t20241128_1212345")


def add_article(root: Path) -> None:
    """Publish a new article at the top of sipac's 园区要闻 list."""
    article = template_article(root).replace(
        "2024年度金鸡湖人才计划申报工作启动", "园区发布2025年重点产业链招商图谱"
    )
    paragraphs = iter(NEW_PARAGRAPHS * 2)  # the page prints its article twice

    def new_paragraph(match: re.Match[str]) -> str:
        return f'<p style="text-indent:2em">{next(paragraphs, "")}</p>'

    article = re.sub(r'<p style="text-indent:2em">[^<]{20,}</p>', new_paragraph, article)
    publish(root, "园区发布2025年重点产业链招商图谱", article)


def add_near_copy(root: Path) -> None:
    """Publish, as a new article, TEMPLATE_ARTICLE with one short paragraph added."""
    paragraph = '<p style="text-indent:2em">据了解，'
    article = template_article(root)
    assert paragraph in article
    added = '<p style="text-indent:2em">园区人才服务中心提醒，申报材料须真实有效。</p>\n'
    publish(
        root, "2024年度金鸡湖人才计划申报工作启动", article.replace(paragraph, added + paragraph)
    )


def test_unchanged_rerun_fetches_first_list_pages_only(
    sites: tuple[Path, str], tmp_path: Path
) -> None:
    _, proxy = sites
    first = crawl(tmp_path / "out", proxy)
    assert len(first.records) >= 60
    second = crawl(tmp_path / "out", proxy)
    new_records = read_records(tmp_path / "out" / "articles")
    assert len(new_records) == len(first.records), "the second run wrote records"
    requests = site_requests(second)
    with sqlite3.connect(tmp_path / "out" / "state.sqlite3") as db:
        learnt = {site for (site,) in db.execute("SELECT site FROM template_counts")}
    assert learnt == {"sipac", "binjiang", "donghu", "binjiang_mirror"}
    # robots.txt plus the first list page of each section, nothing else.
    assert requests == FIRST_LIST_PAGES_ONLY


def test_a_new_article_is_the_only_one_fetched(sites: tuple[Path, str], tmp_path: Path) -> None:
    root, proxy = sites
    crawl(tmp_path / "out", proxy, "-a", "sites=sipac")
    add_article(root)
    before = {r["url"] for r in read_records(tmp_path / "out" / "articles")}
    crawl(tmp_path / "out", proxy, "-a", "sites=sipac")
    after = read_records(tmp_path / "out" / "articles")
    added = [r for r in after if r["url"] not in before]
    assert [r["url"] for r in added] == [NEW_ARTICLE]
    assert len(after) == len(before) + 1
    assert (
        report_of(crawl(tmp_path / "out", proxy, "-a", "sites=sipac"))["sites"]["sipac"]["requests"]
        == 3
    )


def test_a_near_copy_of_an_article_of_an_earlier_run_is_a_duplicate(
    sites: tuple[Path, str], tmp_path: Path
) -> None:
    root, proxy = sites
    first = crawl(tmp_path / "out", proxy, "-a", "sites=sipac")
    original = first.by_url()[TEMPLATE_ARTICLE]
    add_near_copy(root)
    second = crawl(tmp_path / "out", proxy, "-a", "sites=sipac")
    assert read_records(tmp_path / "out" / "articles") == first.records
    copies = [r for r in second.duplicates if r["url"] == NEW_ARTICLE]
    assert len(copies) == 1, second.duplicates
    assert copies[0]["duplicate_of"] == original["id"]
    assert PARKNEWS_DEDUP_THRESHOLD <= copies[0]["similarity"] < 1.0
    assert copies[0]["content_hash"] != original["content_hash"]


def test_changed_article_is_written_again_as_a_revision(
    sites: tuple[Path, str], tmp_path: Path
) -> None:
    root, proxy = sites
    first = crawl(tmp_path / "out", proxy, "-a", "sites=sipac")
    original = next(r for r in first.records if r["url"] == CHANGED_ARTICLE)
    page = root / "www.sipac.gov.cn/szgyyq/yqyw/202411/t20241122_1208734.shtml"
    text = page.read_bytes().decode("gb18030")
    changed = text.replace("共有32个项目现场签约", "共有35个项目现场签约")
    assert changed != text
    page.write_bytes(changed.encode("gb18030"))
    crawl(tmp_path / "out", proxy, "-a", "sites=sipac", "-a", "full=1")
    records = read_records(tmp_path / "out" / "articles")
    revisions = [r for r in records if r["url"] == CHANGED_ARTICLE]
    assert [r["revision"] for r in revisions] == [1, 2]
    assert revisions[1]["id"] == original["id"]
    assert revisions[1]["updated_at"] == revisions[1]["fetched_at"]
    assert revisions[1]["content_hash"] != original["content_hash"]
    # Everything else was unchanged and is not written again.
    assert len(records) == len(first.records) + 1


def test_a_repost_under_another_host_is_a_duplicate(
    sites: tuple[Path, str], tmp_path: Path
) -> None:
    _, proxy = sites
    official = crawl(tmp_path / "out", proxy, "-a", "sites=sipac")
    # The same pages reached under another host (here the server's own address).
    repost = crawl(tmp_path / "out", proxy, "-a", f"start_url={proxy}/szgyyq/yqyw/index.shtml")
    assert repost.duplicates
    ids = {r["id"] for r in official.records}
    assert all(r["duplicate_of"] in ids and r["similarity"] == 1.0 for r in repost.duplicates)
    assert read_records(tmp_path / "out" / "articles") == official.records


def test_killed_run_loses_nothing_and_writes_nothing_twice(
    sites: tuple[Path, str], tmp_path: Path
) -> None:
    root, proxy = sites
    output = tmp_path / "out"
    # The second list page of sipac's 园区要闻 hangs, so the run is killed at the same point
    # every time: the articles of the section's first list page written, the older ones not.
    page = "szgyyq/yqyw/index_1.shtml"
    set_faults(
        root,
        "www.sipac.gov.cn",
        [{"path": "/" + page, "fault": "stall", "page": page, "sent": 100, "seconds": 120}],
    )
    first_page = first_list_page_keys(root)
    command = crawl_command(
        output,
        "-s",
        "PARKNEWS_OUTPUT_BATCH_ITEMS=5",
        "-s",
        "DOWNLOAD_DELAY=0.05",
        "-s",
        "CONCURRENT_REQUESTS_PER_DOMAIN=2",
    )
    process = subprocess.Popen(
        command,
        cwd=REPO,
        env=crawl_env(proxy),
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    deadline = time.time() + 60
    while time.time() < deadline and committed(output / "state.sqlite3", first_page) < len(
        first_page
    ):
        time.sleep(0.05)
    os.kill(process.pid, signal.SIGKILL)
    process.wait()
    assert committed(output / "state.sqlite3", first_page) == len(first_page), (
        "the run was killed before the articles of its first list pages were written"
    )
    killed = {r["url"] for r in read_records(output / "articles")}
    assert "http://www.sipac.gov.cn" + OLDER_ARTICLE not in killed
    clear_faults(root, "www.sipac.gov.cn")
    time.sleep(1.1)
    crawl(output, proxy)
    assert_everything_written_once(output)
    for path in (output / "articles").glob("*.jsonl"):
        for line in path.read_text("utf-8").splitlines():
            json.loads(line)


def test_a_run_after_a_partial_one_writes_the_older_pages(
    sites: tuple[Path, str], tmp_path: Path
) -> None:
    _, proxy = sites
    output = tmp_path / "out"
    partial = crawl(output, proxy, "-a", "max_pages=1")
    assert 0 < len(partial.records) < 60
    crawl(output, proxy)
    assert_everything_written_once(output)
    # Every section has now been walked to its end: the next run stops at known pages again.
    assert site_requests(crawl(output, proxy)) == FIRST_LIST_PAGES_ONLY


def test_an_article_that_failed_is_written_by_the_next_run(
    sites: tuple[Path, str], tmp_path: Path
) -> None:
    root, proxy = sites
    output = tmp_path / "out"
    set_faults(
        root, "www.sipac.gov.cn", [{"path": OLDER_ARTICLE, "fault": "status", "status": 500}]
    )
    first = crawl(output, proxy, "-a", "sites=sipac", "-s", "RETRY_ENABLED=False")
    assert "http://www.sipac.gov.cn" + OLDER_ARTICLE not in first.by_url()
    clear_faults(root, "www.sipac.gov.cn")
    second = crawl(output, proxy, "-a", "sites=sipac")
    records = read_records(output / "articles")
    assert [r["url"] for r in records if r not in first.records] == [
        "http://www.sipac.gov.cn" + OLDER_ARTICLE
    ]
    assert site_requests(second)["sipac"] > 3
    assert site_requests(crawl(output, proxy, "-a", "sites=sipac"))["sipac"] == 3


A, B = ("sipac", "http://a/"), ("sipac", "http://b/")


@pytest.mark.parametrize(
    ("ended", "failed", "reason", "uncommitted", "complete"),
    [
        ({A, B}, set(), "finished", 0, {A, B}),
        ({A, B}, {B}, "finished", 0, {A}),
        ({A}, {B}, "finished", 0, {A}),
        ({A, B}, set(), "shutdown", 0, set()),
        ({A, B}, set(), "closespider_timeout", 0, set()),
        ({A, B}, set(), "finished", 1, set()),
        (set(), set(), "finished", 0, set()),
    ],
)
def test_completed_walks(
    ended: set[Any], failed: set[Any], reason: str, uncommitted: int, complete: set[Any]
) -> None:
    assert completed_walks(ended, failed, reason, uncommitted) == complete


def test_a_second_run_is_refused_while_one_holds_the_lock(tmp_path: Path) -> None:
    state = tmp_path / "out" / "state.sqlite3"
    with RunLock(lock_path_for(state)):
        result = run_crawl(tmp_path / "out", "-a", "replay=demo", timeout=60)
    assert result.returncode == 75
    assert len(result.stderr.strip().splitlines()) == 1
    assert "holds the lock" in result.stderr


def test_a_stale_lock_of_a_killed_run_is_taken_over(tmp_path: Path) -> None:
    state = tmp_path / "out" / "state.sqlite3"
    holder = subprocess.Popen(
        [
            sys.executable,
            "-c",
            "import sys, time\n"
            "from crawler.state.lock import RunLock\n"
            f"RunLock({str(lock_path_for(state))!r}).acquire()\n"
            "print('held', flush=True)\n"
            "time.sleep(60)\n",
        ],
        cwd=REPO,
        stdout=subprocess.PIPE,
        text=True,
    )
    assert holder.stdout is not None
    with holder.stdout:
        assert holder.stdout.readline().strip() == "held"
        os.kill(holder.pid, signal.SIGKILL)
        holder.wait()
    result = run_crawl(tmp_path / "out", "-a", "replay=demo", "-a", "sites=sipac", timeout=120)
    assert result.returncode == 0, result.stderr[-2000:]
    assert len(result.records) == 26


def test_a_corrupt_state_file_stops_the_run_with_a_way_out(tmp_path: Path) -> None:
    output = tmp_path / "out"
    output.mkdir()
    (output / "state.sqlite3").write_bytes(b"this is not a database" * 100)
    result = run_crawl(output, "-a", "replay=demo", timeout=60)
    assert result.returncode == 65
    line = result.stderr.strip()
    assert len(line.splitlines()) == 1
    assert "state.sqlite3" in line and "move the file aside" in line
    assert "Traceback" not in result.stderr
