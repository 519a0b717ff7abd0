"""Replaying WARC archives: the bundled demo and an archive recorded by the crawl itself."""

from __future__ import annotations

import io
import json
from pathlib import Path
from typing import Any

import pytest
from scrapy import Request
from scrapy.exceptions import IgnoreRequest
from scrapy.utils.test import get_crawler
from warcio.archiveiterator import ArchiveIterator
from warcio.statusandheaders import StatusAndHeaders
from warcio.warcwriter import WARCWriter

from crawler import signals as parknews_signals
from crawler.middlewares.replay import (
    DEMO_ARCHIVE,
    DamagedRecord,
    NotInArchive,
    ReplayMiddleware,
    WarcIndex,
    archive_summary,
)
from crawler.sites import SITES
from tests.conftest import golden_differences, profiled_golden_records, run_crawl

pytestmark = pytest.mark.crawl
# Nothing listens here: a request that escaped the replay would fail and show up.
DEAD_PROXY = "http://127.0.0.1:9"


def comparable(records: list[dict[str, Any]]) -> dict[str, dict[str, Any]]:
    return {r["url"]: {k: v for k, v in r.items() if k != "fetched_at"} for r in records}


def test_demo_archive_replays_the_whole_crawl_offline(tmp_path: Path) -> None:
    assert DEMO_ARCHIVE.is_file()
    replayed = run_crawl(tmp_path, "-a", "replay=demo", proxy=DEAD_PROXY)
    assert replayed.returncode == 0, replayed.stderr[-3000:]
    assert len(replayed.records) >= 60
    assert "parknews/replay/missing" not in replayed.stderr
    records = replayed.by_url() | {r["url"]: r for r in replayed.duplicates}
    for url, expected in profiled_golden_records().items():
        assert url in records, url
        assert golden_differences(records[url], expected) == []


def test_recorded_archive_replays_to_the_same_records(fixture_proxy: str, tmp_path: Path) -> None:
    archive = tmp_path / "binjiang.warc.gz"
    live = run_crawl(
        tmp_path / "live",
        "-a",
        "sites=binjiang",
        "-s",
        f"PARKNEWS_RECORD_ARCHIVE={archive}",
        proxy=fixture_proxy,
    )
    assert live.returncode == 0, live.stderr[-2000:]
    counts = archive_summary(archive)
    assert counts["request"] == counts["response"] > 20
    replayed = run_crawl(
        tmp_path / "replayed", "-a", "sites=binjiang", "-a", f"replay={archive}", proxy=DEAD_PROXY
    )
    assert replayed.returncode == 0, replayed.stderr[-2000:]
    assert comparable(replayed.records) == comparable(live.records)
    assert all(r["fetched_at"].endswith("Z") for r in replayed.records)


def write_exchange(
    writer: WARCWriter, method: str, url: str, body: bytes, answer: bytes, response_first: bool
) -> None:
    """One request/response pair, linked the way parknews (request → response) or wget
    (response → request) links them."""
    response = writer.create_warc_record(
        url,
        "response",
        payload=io.BytesIO(answer),
        length=len(answer),
        http_headers=StatusAndHeaders(
            "200 OK", [("Content-Type", "text/xml")], protocol="HTTP/1.1"
        ),
    )
    request = writer.create_warc_record(
        url,
        "request",
        payload=io.BytesIO(body),
        length=len(body),
        http_headers=StatusAndHeaders(f"{method} /x HTTP/1.1", [], is_http_request=True),
    )
    if response_first:
        response.rec_headers.add_header(
            "WARC-Concurrent-To", request.rec_headers.get_header("WARC-Record-ID")
        )
    else:
        request.rec_headers.add_header(
            "WARC-Concurrent-To", response.rec_headers.get_header("WARC-Record-ID")
        )
    writer.write_record(response)
    writer.write_record(request)


@pytest.mark.parametrize("response_first", [True, False])
def test_posts_to_one_url_are_told_apart_by_body(tmp_path: Path, response_first: bool) -> None:
    archive = tmp_path / "posts.warc.gz"
    url = "http://www.hhtz.gov.cn/module/web/jpage/dataproxy.jsp?startrecord=6&endrecord=10"
    with archive.open("wb") as stream:
        writer = WARCWriter(stream, gzip=True)
        write_exchange(writer, "POST", url, b"columnid=1", b"<a/>", response_first)
        write_exchange(writer, "POST", url, b"columnid=2", b"<b/>", response_first)
    index = WarcIndex(archive)
    for body, answer in ((b"columnid=1", b"<a/>"), (b"columnid=2", b"<b/>")):
        found = index.find("POST", url, body)
        assert found is not None
        status, _, payload = index.read(found)
        assert (status, payload) == (200, answer)
    assert index.find("POST", url, b"columnid=3") is None


def demo_exchanges(path: Path, count: int) -> None:
    """Write the demo's first `count` request/response pairs to `path`: every record whole,
    the rest of the crawl missing."""
    records = ArchiveIterator(io.BytesIO(DEMO_ARCHIVE.read_bytes()))
    starts = [(records.get_record_offset(), record.rec_type) for record in records]
    assert [kind for _, kind in starts[:2]] == ["response", "request"]
    path.write_bytes(DEMO_ARCHIVE.read_bytes()[: starts[2 * count][0]])


def expected_articles() -> set[str]:
    """The URLs of the demo's articles, mirror copies (written as duplicates) left out."""
    return {
        url
        for url, record in profiled_golden_records().items()
        if SITES[record["site"]].mirror_of is None
    }


def run_reports(output_dir: Path) -> list[dict[str, Any]]:
    return [json.loads(p.read_text("utf-8")) for p in sorted((output_dir / "runs").glob("*"))]


def test_a_replay_of_a_cut_archive_then_the_whole_one_write_every_article_once(
    tmp_path: Path,
) -> None:
    """A request missing from the archive is not a page gone from the site: the section is
    walked again and the article fetched by the next run."""
    half = tmp_path / "half.warc.gz"
    demo_exchanges(half, 107 // 2)
    output = tmp_path / "out"
    cut = run_crawl(output, "-a", f"replay={half}", proxy=DEAD_PROXY)
    whole = run_crawl(output, "-a", "replay=demo", proxy=DEAD_PROXY)
    urls = [record["url"] for record in whole.records]  # the files of both runs
    assert sorted(set(urls)) == sorted(urls)
    assert set(urls) == expected_articles()
    assert len(urls) == 73
    assert len({record["url"] for record in whole.duplicates}) == len(whole.duplicates) == 6
    # Every site lost requests to the cut, more than 10% of them: site errors, status 1.
    assert cut.returncode == 1, cut.stderr[-3000:]
    assert whole.returncode == 0, whole.stderr[-3000:]
    first_report = run_reports(output)[0]
    assert all(s["errors_by_kind"].get("NotInArchive") for s in first_report["sites"].values())
    assert "Traceback" not in cut.stderr


@pytest.mark.parametrize(
    ("content", "problem"),
    [
        (b"hello\nworld\n", "is not a WARC file (Unknown archive format, first line: ['hello'])"),
        (
            DEMO_ARCHIVE.read_bytes()[:1000],
            "is damaged: record 3 (at byte 887) cannot be read; the 2 records before it can be "
            "replayed from a copy of its first 887 bytes (head -c 887 {archive} > COPY)",
        ),
    ],
    ids=["plain text", "cut to 1,000 bytes"],
)
def test_an_archive_that_cannot_be_replayed_stops_the_run_in_one_line(
    content: bytes, problem: str, tmp_path: Path
) -> None:
    archive = tmp_path / "recorded.warc.gz"
    archive.write_bytes(content)
    result = run_crawl(tmp_path / "out", "-a", f"replay={archive}", proxy=DEAD_PROXY, timeout=60)
    assert result.returncode == 2
    lines = result.stderr.strip().splitlines()
    message = problem.format(archive=archive)
    assert lines == [f"parknews: error: replay archive {archive} {message}"]


def replay_middleware(archive: Path) -> tuple[ReplayMiddleware, list[dict[str, Any]]]:
    """A replay middleware on `archive`, and the `failure` signals it sends."""
    crawler = get_crawler(settings_dict={"PARKNEWS_REPLAY_ARCHIVE": str(archive)})
    failures: list[dict[str, Any]] = []

    def heard(**arguments: Any) -> None:
        failures.append(arguments)

    crawler.signals.connect(heard, signal=parknews_signals.failure, weak=False)
    return ReplayMiddleware.from_crawler(crawler), failures


def test_a_request_missing_from_the_archive_fails_with_no_response() -> None:
    middleware, failures = replay_middleware(DEMO_ARCHIVE)
    url = "http://www.sipac.gov.cn/szgyyq/yqyw/202401/t20240101_0.shtml"
    with pytest.raises(NotInArchive, match=f"not in the replayed archive: GET {url}"):
        middleware.process_request(Request(url, errback=lambda failure: None))
    assert failures == []  # the request's errback reports it
    assert issubclass(NotInArchive, IgnoreRequest)
    # No errback of its own, as robots.txt: the middleware reports it.
    with pytest.raises(NotInArchive):
        middleware.process_request(Request("http://www.example.gov.cn/robots.txt"))
    assert [(f["site"], f["kind"], f["unanswered"]) for f in failures] == [
        (None, "NotInArchive", True)
    ]
    assert middleware.stats.get_value("parknews/replay/missing") == 2


def test_a_record_damaged_during_the_crawl_fails_its_request(tmp_path: Path) -> None:
    archive = tmp_path / "demo.warc.gz"
    archive.write_bytes(DEMO_ARCHIVE.read_bytes())
    middleware, _ = replay_middleware(archive)
    url = "http://www.sipac.gov.cn/robots.txt"
    found = middleware.index.find("GET", url, b"")
    assert found is not None
    with archive.open("r+b") as stream:
        stream.truncate(found.offset + 200)
    with pytest.raises(DamagedRecord, match=f"the record at byte {found.offset}"):
        middleware.process_request(Request(url, errback=lambda failure: None))
    assert middleware.stats.get_value("parknews/replay/damaged") == 1


def test_an_archive_damaged_part_way_is_replayed_up_to_the_damage(tmp_path: Path) -> None:
    archive = tmp_path / "cut.warc.gz"
    archive.write_bytes(DEMO_ARCHIVE.read_bytes()[:1000])
    middleware, _ = replay_middleware(archive)
    assert middleware.stats.get_value("parknews/replay/damaged") == 1
    response = middleware.process_request(Request("http://www.sipac.gov.cn/robots.txt"))
    assert response.status == 200
    with pytest.raises(NotInArchive):
        middleware.process_request(Request("http://www.wehdz.gov.cn/robots.txt"))
