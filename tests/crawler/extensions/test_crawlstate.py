"""The crawl state extension: records staged before their file gets its final name, committed
after, duplicates after their originals, and the batches of a stopped run settled."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from scrapy.settings import Settings

from crawler import signals as parknews_signals
from crawler.cms import article_key
from crawler.default_settings import redis_url as configured_redis_url
from crawler.extensions.crawlstate import CrawlState, finish_staged_batches, open_store
from crawler.state.redisstore import RedisStateStore
from crawler.state.store import StateStore
from tests.conftest import state_crawler, write_batch


def row(n: int, duplicate_of: str | None = None) -> dict[str, Any]:
    """What the dedup pipeline announces for record `n` (`record_to_commit`)."""
    url = f"http://www.example.gov.cn/news/{n}.html"
    return {
        "url": url,
        "canonical_url": url,
        "id": f"{n:020x}",
        "site": "example",
        "content_hash": f"{n:064x}",
        "key": article_key(url),
        "fingerprint": None,
        "signature": None,
        "revision": 1,
        "duplicate_of": duplicate_of,
    }


class Run:
    """A crawler with the crawl state extension, fed the way a crawl feeds it."""

    def __init__(self, folder: Path) -> None:
        self.folder = folder
        self.crawler = state_crawler(folder)
        state = self.crawler.get_extension(CrawlState)
        assert state is not None
        self.state = state
        self.committed: list[list[str]] = []
        self.crawler.signals.connect(self.on_commit, signal=parknews_signals.batch_committed)

    def on_commit(self, keys: list[str]) -> None:
        self.committed.append(keys)

    def announce(self, *rows: dict[str, Any]) -> None:
        for announced in rows:
            self.crawler.signals.send_catch_log(parknews_signals.record_to_commit, row=announced)

    def write(self, feed: str, name: str, *rows: dict[str, Any]) -> bool:
        path = self.folder / "output" / feed / name
        return write_batch(self.crawler, path, [{"url": r["url"]} for r in rows])

    def known(self, *rows: dict[str, Any]) -> set[str]:
        return self.state.store.known(r["key"] for r in rows)

    def end(self) -> None:
        self.crawler.signals.send_catch_log(parknews_signals.run_judged, report={}, exit_status=0)


@pytest.fixture
def run(tmp_path: Path) -> Iterator[Run]:
    current = Run(tmp_path)
    yield current
    if current.state.lock is not None and current.state.lock.held:
        current.end()


def test_a_batch_is_committed_once_its_file_has_its_name(run: Run) -> None:
    first, second = row(1), row(2)
    run.announce(first, second)
    assert run.write("articles", "r-001.jsonl", first, second)
    assert run.known(first, second) == {first["key"], second["key"]}
    assert run.committed == [[first["key"], second["key"]]]


def test_an_article_another_writer_committed_first_is_counted_and_logged(
    run: Run, caplog: pytest.LogCaptureFixture
) -> None:
    first, second = row(1), row(2)
    run.state.store.commit_written([dict(first, id="f" * 20)])  # another worker, sooner
    run.announce(first, second)
    assert run.write("articles", "r-001.jsonl", first, second)
    assert run.committed == [[first["key"], second["key"]]]
    assert run.crawler.stats is not None
    assert run.crawler.stats.get_value("parknews/state/conflicts") == 1
    assert f"committed first by another writer as {'f' * 20}" in caplog.text
    stored = run.state.store.get(first["key"])
    assert stored is not None and stored.id == "f" * 20


def test_copies_wait_for_the_batch_of_their_originals(run: Run) -> None:
    original, other = row(1), row(2)
    copy = row(3, duplicate_of=original["id"])
    run.announce(original, other, copy)
    assert run.write("duplicates", "r-001.jsonl", copy)
    assert run.known(copy) == set()  # its original is in no file yet
    assert run.write("articles", "r-001.jsonl", original, other)
    assert run.known(original, other, copy) == {original["key"], other["key"], copy["key"]}
    assert run.committed == [[original["key"], other["key"]], [copy["key"]]]


def test_copies_of_originals_that_never_come_are_committed_at_the_end(run: Run) -> None:
    original = row(1)
    copy = row(2, duplicate_of=original["id"])
    run.announce(original, copy)
    assert run.write("duplicates", "r-001.jsonl", copy)
    assert run.known(copy) == set()
    run.end()
    with StateStore(run.folder / "state.sqlite3") as store:
        assert store.known([copy["key"], original["key"]]) == {copy["key"]}


def test_a_refused_batch_is_not_put_in_place_and_fails_the_run(run: Run) -> None:
    failures: list[str] = []
    run.crawler.signals.connect(
        lambda message: failures.append(message), signal=parknews_signals.output_failed, weak=False
    )
    first, second = row(1), row(2)
    run.announce(first, second)
    run.state.output_failure = "the disk is full"
    assert not run.write("articles", "r-001.jsonl", first)
    assert not (run.folder / "output" / "articles" / "r-001.jsonl").exists()
    assert not list((run.folder / "output" / "articles").glob("*.part"))
    assert run.known(first) == set()
    assert failures and "could not be written" in failures[-1]


def test_the_batches_of_a_stopped_run_are_settled_by_the_next(tmp_path: Path) -> None:
    written = tmp_path / "output" / "articles" / "r-001.jsonl"
    written.parent.mkdir(parents=True)
    written.write_text("{}\n")
    lost = tmp_path / "output" / "articles" / "r-002.jsonl"
    with StateStore(tmp_path / "state.sqlite3") as store:
        store.stage_batch(str(written), [row(1)])
        store.stage_batch(str(lost), [row(2)])
        done = finish_staged_batches(store)
        assert store.known([row(1)["key"], row(2)["key"]]) == {row(1)["key"]}
        assert store.staged_batches() == []
    assert done == [
        f"committed {written} (1 articles)",
        f"forgot {lost}, which never got its final name",
    ]


# --- which store -------------------------------------------------------------------------------


def test_redis_url_comes_from_the_setting_else_the_environment() -> None:
    environ = {"REDIS_URL": "redis://env:6379/0"}
    given = Settings({"REDIS_URL": "redis://setting:6379/1"})
    assert configured_redis_url(given, environ) == "redis://setting:6379/1"
    assert configured_redis_url(Settings(), environ) == "redis://env:6379/0"
    assert configured_redis_url(Settings(), {}) == ""


def test_the_state_is_in_redis_when_redis_url_is_set(tmp_path: Path, redis_url: str) -> None:
    settings = Settings(
        {"PARKNEWS_STATE_PATH": str(tmp_path / "state.sqlite3"), "REDIS_URL": redis_url}
    )
    settings.set("PARKNEWS_REDIS_NAMESPACE", "east")
    with open_store(settings) as store:
        assert isinstance(store, RedisStateStore) and store.prefix == "parknews:east:"
    settings.set("REDIS_URL", "")
    with open_store(settings) as store:
        assert isinstance(store, StateStore) and store.path == tmp_path / "state.sqlite3"
    assert not (tmp_path / "state.sqlite3.lock").exists()


def test_a_run_keeps_its_state_in_redis(tmp_path: Path, redis_url: str) -> None:
    crawler = state_crawler(tmp_path, REDIS_URL=redis_url)
    state = crawler.get_extension(CrawlState)
    assert state is not None and isinstance(state.store, RedisStateStore)
    crawler.signals.send_catch_log(parknews_signals.record_to_commit, row=row(1))
    assert write_batch(crawler, tmp_path / "output" / "articles" / "r-001.jsonl", [row(1)])
    assert state.store.known([row(1)["key"]]) == {row(1)["key"]}
    assert not (tmp_path / "state.sqlite3").exists()
    state.run_judged({}, 0)
    with RedisStateStore(redis_url) as shared:
        assert shared.runs()[0].status == "ok" and shared.article_count() == 1
