"""A crawl that keeps its state in Redis (REDIS_URL): the same records as with SQLite."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from crawler.state.redisstore import RedisStateStore
from tests.conftest import run_crawl
from tests.redisrv import free_port

pytestmark = pytest.mark.crawl
VARYING = {"fetched_at"}
"""Record fields that differ between two crawls of the same pages."""


def comparable(records: list[dict[str, Any]]) -> dict[str, dict[str, Any]]:
    return {r["url"]: {k: v for k, v in r.items() if k not in VARYING} for r in records}


def test_a_crawl_with_redis_url_writes_what_a_crawl_without_it_writes(
    fixture_proxy: str, tmp_path: Path, redis_url: str
) -> None:
    embedded = run_crawl(tmp_path / "sqlite", proxy=fixture_proxy)
    shared = run_crawl(tmp_path / "redis", "-s", f"REDIS_URL={redis_url}", proxy=fixture_proxy)
    assert embedded.returncode == 0, embedded.stderr[-3000:]
    assert shared.returncode == 0, shared.stderr[-3000:]
    assert embedded.records and comparable(shared.records) == comparable(embedded.records)
    assert comparable(shared.duplicates) == comparable(embedded.duplicates)
    assert not (tmp_path / "redis" / "state.sqlite3").exists()
    with RedisStateStore(redis_url) as store:
        assert store.article_count() == len(shared.records) + len(shared.duplicates)
        assert [run.status for run in store.runs()] == ["ok"]
    again = run_crawl(tmp_path / "redis", "-s", f"REDIS_URL={redis_url}", proxy=fixture_proxy)
    assert again.returncode == 0, again.stderr[-3000:]
    assert len(again.records) == len(shared.records)  # the files of the first run, no more


def test_a_crawl_whose_redis_cannot_be_reached_stops_before_it_starts(tmp_path: Path) -> None:
    url = f"redis://127.0.0.1:{free_port()}/0"
    result = run_crawl(tmp_path, "-s", f"REDIS_URL={url}", timeout=120)
    assert result.returncode == 65, result.stderr[-3000:]
    assert f"cannot reach Redis {url}" in result.stderr
    assert not list((tmp_path / "articles").glob("*"))
