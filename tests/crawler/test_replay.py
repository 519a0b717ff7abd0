"""Replaying WARC archives: the bundled demo and an archive recorded by the crawl itself."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from crawler.replay import DEMO_ARCHIVE, archive_summary
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
    records = replayed.by_url()
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
