"""Shared test fixtures: the fixture-site server, crawls run against it, golden records."""

from __future__ import annotations

import contextlib
import difflib
import json
import os
import re
import subprocess
import sys
import textwrap
from collections.abc import Iterator
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import jsonschema
import pytest
import redis
from scrapy import signals
from scrapy.crawler import Crawler
from scrapy.utils.test import get_crawler

from crawler.extract import build_record
from crawler.feeds import AtomicFileFeedStorage, TrackingJsonLinesExporter
from crawler.items import BODY_BLOCKS, RecordDict, finish_record, record_schema
from crawler.sites import SITES, generic_profile
from tests.redisrv import RedisServerError, redis_server
from tests.sitesrv import SITES_DIR, crawl_command, crawl_env, serve

REPO = Path(__file__).resolve().parent.parent
GOLDEN_META_KEYS = {"damaged_spans", "url_hint"}


@pytest.fixture(scope="session")
def fixture_proxy() -> Iterator[str]:
    """The fixture sites, served on 127.0.0.1 for the whole session, as a proxy URL."""
    with serve() as proxy:
        yield proxy


@dataclass
class CrawlResult:
    """What one `scrapy crawl parknews` run left behind."""

    returncode: int
    stderr: str
    output_dir: Path
    records: list[dict[str, Any]]
    duplicates: list[dict[str, Any]]

    def by_url(self) -> dict[str, dict[str, Any]]:
        return {r["url"]: r for r in self.records}


def run_crawl(
    output_dir: Path, *arguments: str, proxy: str | None = None, timeout: float = 300
) -> CrawlResult:
    """Run the parknews crawl in a subprocess (optionally through the fixture proxy)."""
    command = crawl_command(output_dir, *arguments)
    env = crawl_env(proxy) if proxy else dict(os.environ)
    done = subprocess.run(
        command, cwd=REPO, env=env, capture_output=True, text=True, timeout=timeout
    )
    return CrawlResult(
        done.returncode,
        done.stderr,
        output_dir,
        read_records(output_dir / "articles"),
        read_records(output_dir / "duplicates"),
    )


def read_records(folder: Path) -> list[dict[str, Any]]:
    """Every record of every finished JSONL file in `folder`, in file order."""
    return [
        json.loads(line)
        for path in sorted(folder.glob("*.jsonl"))
        for line in path.read_text("utf-8").splitlines()
    ]


GENERIC_DIR = Path(__file__).parent / "fixtures" / "generic"


def run_report(result: CrawlResult) -> dict[str, Any]:
    """The run report of a crawl that wrote one."""
    reports = sorted((result.output_dir / "runs").glob("*.json"))
    assert len(reports) == 1
    loaded: dict[str, Any] = json.loads(reports[0].read_text("utf-8"))
    return loaded


@cache
def golden_records(root: Path = SITES_DIR) -> dict[str, dict[str, Any]]:
    """Every expected record under `root` (by default: of the fixture sites), by article URL."""
    expected: dict[str, dict[str, Any]] = {}
    for path in sorted(root.rglob("*.expected.json")):
        record = json.loads(path.read_text("utf-8"))
        record["_page"] = str(path).removesuffix(".expected.json")
        expected[record["url"]] = record
    return expected


def profiled_golden_records() -> dict[str, dict[str, Any]]:
    """The expected records of the fixture sites that have a profile: what a crawl of the
    registry must write. The family fixture hosts have none (their records say "generic");
    they are reached only from a start URL."""
    return {url: g for url, g in golden_records().items() if g["site"] in SITES}


def page_file(expected: dict[str, Any]) -> Path:
    """The saved page an expected record belongs to."""
    stem = Path(expected["_page"])
    matches = [p for p in stem.parent.glob(stem.name + ".*") if not p.name.endswith(".json")]
    assert len(matches) == 1, f"no single page for {stem}"
    return matches[0]


def golden_differences(record: dict[str, Any], expected: dict[str, Any]) -> list[str]:
    """Field-by-field differences between a record and its golden record, named by field."""
    problems = []
    for field, want in expected.items():
        if field.startswith("_") or field in GOLDEN_META_KEYS:
            continue
        got = record.get(field)
        if field == "body" and expected.get("damaged_spans"):
            problems.extend(damaged_body_differences(record, want))
            continue
        if got != want:
            problems.append(f"{field}: expected {want!r}, got {got!r}")
    return problems


def damaged_body_differences(record: dict[str, Any], want: str) -> list[str]:
    """Body differences outside the spans the record flags as damaged annotations."""
    got = record.get("body") or ""
    damaged = record.get("damaged_annotations") or []
    if got == want:
        return []
    if not damaged:
        return ["body: differs from the expected body and no damaged annotation is flagged"]
    problems = []
    matcher = difflib.SequenceMatcher(None, want, got, autojunk=False)
    flagged = [(m.start(), m.end()) for span in damaged for m in re.finditer(re.escape(span), got)]
    for tag, _, _, g1, g2 in matcher.get_opcodes():
        if tag == "equal":
            continue
        if not any(start - 2 <= g1 and g2 <= end + 2 for start, end in flagged):
            problems.append(f"body: unexpected change {got[max(0, g1 - 10) : g2 + 10]!r}")
    return problems


def assert_valid_record(record: dict[str, Any]) -> None:
    """Fail with the JSON path of the first schema violation."""
    jsonschema.validate(record, record_schema())


def run_python(code: str, *args: str) -> subprocess.Popen[str]:
    """Start `code` in a Python subprocess from the repository root, its output piped."""
    return subprocess.Popen(
        [sys.executable, "-c", textwrap.dedent(code), *args],
        cwd=REPO,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


def extract_page(html: str, url: str) -> RecordDict:
    """The record the extractor makes of a page of a site with no profile, its body blocks
    joined as the written record's are."""
    return finish_record(build_record(html, url, generic_profile(url)))


def with_body_blocks(record: RecordDict) -> RecordDict:
    """A record written with a `body` as the item pipelines carry it: the body's lines as
    its blocks (`BODY_BLOCKS`), in its place."""
    return {
        (BODY_BLOCKS if name == "body" else name): (value.split("\n") if name == "body" else value)
        for name, value in record.items()
    }


def write_batch(crawler: Crawler, path: Path, records: list[dict[str, Any]]) -> bool:
    """Write `records` as one output file through the project's storage and exporter, as the
    feed exporter of `crawler` would (signals included); whether the file got its name."""
    storage = AtomicFileFeedStorage(str(path), signals=crawler.signals)
    file = storage.open(None)
    exporter = TrackingJsonLinesExporter(file)
    exporter.start_exporting()
    for record in records:
        exporter.export_item(record)
    exporter.finish_exporting()
    with contextlib.suppress(OSError):  # a refused batch: the slot tells
        storage.store(file)
    slot = SimpleNamespace(storage=storage, uri=str(path), format="jsonlines")
    crawler.signals.send_catch_log(signals.feed_slot_closed, slot=slot)
    return storage.stored


def state_crawler(folder: Path, **settings: Any) -> Crawler:
    """A crawler with the crawl state extension, its state database and output in `folder`."""
    return get_crawler(
        settings_dict={
            "EXTENSIONS": {"crawler.extensions.crawlstate.CrawlState": 0},
            "PARKNEWS_STATE_PATH": str(folder / "state.sqlite3"),
            "PARKNEWS_OUTPUT_DIR": str(folder / "output"),
            **settings,
        }
    )


@pytest.fixture(scope="session")
def redis_server_url() -> Iterator[str]:
    """One real redis-server on 127.0.0.1 for the session (tests/redisrv.py)."""
    with contextlib.ExitStack() as stack:
        try:
            url = stack.enter_context(redis_server())
        except RedisServerError as error:
            pytest.fail(str(error), pytrace=False)
        yield url


@pytest.fixture
def redis_url(redis_server_url: str) -> str:
    """The session's redis-server, emptied for this test."""
    client = redis.Redis.from_url(redis_server_url)
    try:
        client.flushall()
    finally:
        client.close()
    return redis_server_url
