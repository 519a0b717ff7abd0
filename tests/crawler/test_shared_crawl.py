"""Several workers share one crawl of the fixture sites through a real Redis: together they
write exactly what one host writes, each article once, and a worker killed mid-run loses
nothing."""

from __future__ import annotations

import contextlib
import json
import os
import signal
import subprocess
import time
from collections import Counter
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
import redis

from crawler.state.redisstore import RedisStateStore
from crawler.state.sharedrun import SharedRun, worker_name
from tests.conftest import REPO, CrawlResult, read_records, run_crawl
from tests.redisrv import redis_server
from tests.sitesrv import crawl_command, crawl_env

pytestmark = pytest.mark.crawl
VARYING = {"fetched_at"}
"""Record fields that differ between two crawls of the same pages."""


def comparable(records: list[dict[str, Any]]) -> dict[str, dict[str, Any]]:
    return {r["url"]: {k: v for k, v in r.items() if k not in VARYING} for r in records}


@pytest.fixture(scope="module")
def one_host(fixture_proxy: str, tmp_path_factory: pytest.TempPathFactory) -> CrawlResult:
    """The crawl of the fixture sites by one host, its state in SQLite."""
    result = run_crawl(tmp_path_factory.mktemp("one-host"), proxy=fixture_proxy)
    assert result.returncode == 0, result.stderr[-3000:]
    assert result.records and result.duplicates
    return result


def start_worker(
    output_dir: Path, redis_url: str, proxy: str, *settings: str
) -> subprocess.Popen[str]:
    """One worker of the shared crawl, started in the background."""
    command = crawl_command(output_dir, "-s", f"REDIS_URL={redis_url}", *settings)
    return subprocess.Popen(
        command,
        cwd=REPO,
        env=crawl_env(proxy),
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
    )


def finish(workers: list[subprocess.Popen[str]], timeout: float = 300) -> list[tuple[int, str]]:
    """The exit status and stderr of each worker, once all have ended."""
    ended = []
    for worker in workers:
        _, stderr = worker.communicate(timeout=timeout)
        ended.append((worker.returncode, stderr))
    return ended


def run_workers(
    count: int, output_dir: Path, redis_url: str, proxy: str, *settings: str
) -> list[tuple[int, str]]:
    return finish([start_worker(output_dir, redis_url, proxy, *settings) for _ in range(count)])


def merged_report(output_dir: Path) -> dict[str, Any]:
    """The report of the shared run, written by the worker that closed it."""
    reports = [p for p in (output_dir / "runs").glob("*.json") if p.stem.endswith("Z")]
    assert len(reports) == 1, reports
    loaded: dict[str, Any] = json.loads(reports[0].read_text("utf-8"))
    return loaded


@pytest.mark.parametrize("workers", [2, 3])
def test_workers_sharing_a_crawl_write_what_one_host_writes(
    workers: int, one_host: CrawlResult, fixture_proxy: str, tmp_path: Path, redis_url: str
) -> None:
    # A pause between a worker's requests to a site, so that a worker starting a second
    # later still finds work.
    paced = ("-s", "DOWNLOAD_DELAY=0.2")
    ended = run_workers(workers, tmp_path, redis_url, fixture_proxy, *paced)
    assert [status for status, _ in ended] == [0] * workers, ended[0][1][-3000:]
    for _, log in ended:
        assert "Warning" not in log and "Traceback" not in log, log[-3000:]
    articles = read_records(tmp_path / "articles")
    duplicates = read_records(tmp_path / "duplicates")
    # Each article written once, across all workers, and exactly the one host's records.
    assert max(Counter(r["url"] for r in articles + duplicates).values()) == 1
    assert comparable(articles) == comparable(one_host.records)
    assert comparable(duplicates) == comparable(one_host.duplicates)
    # The work was split: more than one worker fetched pages, each into its own files.
    reports = [json.loads(p.read_text("utf-8")) for p in (tmp_path / "runs").glob("*-*-*.json")]
    assert len(reports) == workers
    busy = [r for r in reports if sum(site["requests"] for site in r["sites"].values())]
    assert len(busy) >= 2
    for path in (tmp_path / "articles").glob("*.jsonl"):
        assert any(path.name.startswith(r["run_id"] + "-") for r in reports), path
    # One report for the run: every list page read once across the workers.
    report = merged_report(tmp_path)
    assert len(report["workers"]) == workers and report["exit_status"] == 0
    single = json.loads(next((one_host.output_dir / "runs").glob("*.json")).read_text("utf-8"))
    for key, site in single["sites"].items():
        assert report["sites"][key]["list_pages"] == site["list_pages"], key
        assert report["sites"][key]["records"] == site["records"], key
    # The run is logged once, and its keys are gone.
    with RedisStateStore(redis_url) as store:
        assert [run.status for run in store.runs()] == ["ok"]
        assert store.article_count() == len(articles) + len(duplicates)
    client = redis.Redis.from_url(redis_url)
    try:
        assert not client.keys("parknews:default:run:*") and not client.keys("*frontier*")
        assert not client.exists("parknews:default:run")
    finally:
        client.close()


def test_a_second_shared_run_of_unchanged_sites_fetches_list_pages_only(
    fixture_proxy: str, tmp_path: Path, redis_url: str
) -> None:
    first = run_workers(2, tmp_path / "first", redis_url, fixture_proxy)
    assert [status for status, _ in first] == [0, 0], first[0][1][-3000:]
    second = run_workers(2, tmp_path / "second", redis_url, fixture_proxy)
    assert [status for status, _ in second] == [0, 0], second[0][1][-3000:]
    assert not list((tmp_path / "second" / "articles").glob("*.jsonl"))
    report = merged_report(tmp_path / "second")
    for key, site in report["sites"].items():
        assert site["list_pages"] > 0, key  # the list walks happen every run
        assert site["records"] == 0 and not site["articles"].get("new"), key


def test_a_worker_started_long_after_a_live_run_began_exits_75(
    tmp_path: Path, redis_url: str
) -> None:
    running = SharedRun.join(
        redis_url,
        namespace="default",
        name="20261205T000000Z",
        join_seconds=300,
        heartbeat_seconds=60,
        worker="elsewhere-1",
        now=time.time() - 600,
    )
    try:
        result = run_crawl(tmp_path, "-s", f"REDIS_URL={redis_url}", timeout=120)
    finally:
        running.close()
    assert result.returncode == 75, result.stderr[-3000:]
    assert "run 20261205T000000Z" in result.stderr and "still going" in result.stderr
    assert "Traceback" not in result.stderr


RUN_WORKERS = "parknews:default:run:workers"


def claims(client: redis.Redis) -> list[bytes]:
    return [
        claim for claim in client.hvals("parknews:default:run:claims") if isinstance(claim, bytes)
    ]


def survivor_name(worker: subprocess.Popen[str]) -> str:
    """The name a worker started on this host goes by in the run."""
    return f"{worker_name().rsplit('-', 1)[0]}-{worker.pid}"


def wait_for(condition: Callable[[], object], worker: subprocess.Popen[str]) -> None:
    """Wait until `condition` holds while `worker` still runs."""
    deadline = time.monotonic() + 120
    while not condition():
        assert worker.poll() is None, "the worker ended before it could be killed"
        assert time.monotonic() < deadline, "the crawl did not get there in time"
        time.sleep(0.02)


def test_a_worker_killed_mid_run_loses_no_article(
    one_host: CrawlResult, fixture_proxy: str, tmp_path: Path, redis_url: str
) -> None:
    slow = ("-s", "DOWNLOAD_DELAY=0.2", "-s", "PARKNEWS_REDIS_HEARTBEAT_SECONDS=4")
    client = redis.Redis.from_url(redis_url)
    victim = start_worker(tmp_path, redis_url, fixture_proxy, *slow)
    try:
        # The victim has claimed an article (and holds more in flight) when the survivor
        # has joined the run: then it is killed.
        wait_for(lambda: any(f"-{victim.pid}\t".encode() in c for c in claims(client)), victim)
        survivor = start_worker(tmp_path, redis_url, fixture_proxy, *slow)
        wait_for(lambda: client.hexists(RUN_WORKERS, survivor_name(survivor)), victim)
        os.kill(victim.pid, signal.SIGKILL)
        victim.communicate()
    finally:
        client.close()
    ((status, stderr),) = finish([survivor])
    # The survivor finishes the run; one worker was lost, so the run counts as interrupted.
    assert status == 130, stderr[-3000:]
    assert merged_report(tmp_path)["interrupted"]
    # The next run writes what the killed worker had claimed and not written, once.
    again = run_workers(1, tmp_path, redis_url, fixture_proxy)
    assert again[0][0] == 0, again[0][1][-3000:]
    articles = read_records(tmp_path / "articles")
    duplicates = read_records(tmp_path / "duplicates")
    assert max(Counter(r["url"] for r in articles + duplicates).values()) == 1
    assert comparable(articles) == comparable(one_host.records)
    assert unmended(duplicates) == unmended(one_host.duplicates)
    assert not list(tmp_path.rglob("*.part"))


MENDED = "restored_from_original"


def unmended(records: list[dict[str, Any]]) -> dict[str, dict[str, Any]]:
    """Records by URL, a mirror's copy without what was mended from its original. The mirrors
    are crawled by the next run when a worker died (their originals may be missing), and, as
    on one host, a copy is mended only from an original written in the same run."""
    out = comparable(records)
    for record in out.values():
        if MENDED in record["normalisations"] or record.get("damaged_annotations"):
            record["normalisations"] = [n for n in record["normalisations"] if n != MENDED]
            record.pop("damaged_annotations", None)
            del record["body"]
    return out


def test_a_redis_that_goes_away_mid_run_stops_the_run_with_one_clear_error(
    fixture_proxy: str, tmp_path: Path
) -> None:
    with redis_server() as url:
        worker = start_worker(tmp_path, url, fixture_proxy, "-s", "DOWNLOAD_DELAY=0.2")
        client = redis.Redis.from_url(url)
        try:
            wait_for(lambda: claims(client), worker)
            with contextlib.suppress(redis.ConnectionError):
                client.shutdown(nosave=True)
        finally:
            client.close()
        ((status, stderr),) = finish([worker])
    # The records it had extracted could not be committed: "not written" (73), the gravest.
    assert status == 73, stderr[-3000:]
    assert "Traceback" not in stderr, stderr[-3000:]
    assert "Spider closed (state_unusable)" in stderr
    assert "the run stops; the next run picks up what it did not write" in stderr
    assert not list((tmp_path / "articles").glob("*.jsonl"))  # nothing half-committed
