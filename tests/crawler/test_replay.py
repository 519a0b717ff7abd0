"""Replaying WARC archives: the bundled demo and an archive recorded by the crawl itself."""

from __future__ import annotations

import io
from pathlib import Path
from typing import Any

import pytest
from warcio.statusandheaders import StatusAndHeaders
from warcio.warcwriter import WARCWriter

from crawler.middlewares.replay import DEMO_ARCHIVE, WarcIndex, archive_summary
from tests.conftest import golden_differences, golden_records, run_crawl

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
    for url, expected in golden_records().items():
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
