"""Tests of crawler.state.redisstore that only a shared store needs: writers racing, namespaces,
its scripts and its errors. What both backends do alike is in test_store.py."""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import Any

import pytest
import redis

from crawler.state import redisstore
from crawler.state.articles import CommitResult
from crawler.state.errors import StateError
from crawler.state.redisstore import FORMAT, RedisStateStore, key_prefix, safe_url
from crawler.text.minhash import signature
from tests.redisrv import free_port

RACES = 40
"""Articles two writers race for in one test."""


def article(n: int, record_id: str, *, content: str | None = None, **extra: Any) -> dict[str, Any]:
    """Article `n` as a writer that took it for new commits it."""
    url = f"http://www.sipac.gov.cn/szgyyq/yqyw/202411/t20241101_{n}.shtml"
    return {
        "id": record_id,
        "url": url,
        "canonical_url": url,
        "site": "sipac",
        "content_hash": content or f"hash{n}",
        "revision": 1,
        **extra,
    }


def race(
    redis_url: str, commit: Callable[[RedisStateStore, str, int], CommitResult]
) -> dict[str, list[CommitResult]]:
    """Two writers, each with its own store (connection), commit round after round, both
    starting each round at once; what each got back, by writer."""
    start = threading.Barrier(2, timeout=30)
    results: dict[str, list[CommitResult]] = {"a": [], "b": []}
    errors: list[BaseException] = []

    def writer(name: str) -> None:
        try:
            with RedisStateStore(redis_url) as store:
                for n in range(RACES):
                    start.wait()
                    results[name].append(commit(store, name, n))
        except BaseException as exc:
            errors.append(exc)
            start.abort()

    threads = [threading.Thread(target=writer, args=(name,)) for name in results]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    assert not errors, errors
    return results


def test_two_writers_committing_one_article_first_wins_second_learns_it(redis_url: str) -> None:
    results = race(
        redis_url, lambda store, name, n: store.commit_written([article(n, f"{name}{n}")])
    )
    with RedisStateStore(redis_url) as store:
        assert store.article_count() == RACES
        for n in range(RACES):
            a, b = results["a"][n], results["b"][n]
            assert a.inserted + b.inserted == 1
            loser = b if a.inserted else a
            winner = store.get(f"www.sipac.gov.cn|trs:t20241101_{n}")
            assert winner is not None and winner.revision == 1
            assert [(c.id[1:], c.duplicate_of) for c in loser.conflicts] == [(str(n), winner.id)]
            assert winner.id != loser.conflicts[0].id


def test_two_writers_committing_one_text_under_two_keys_first_is_the_original(
    redis_url: str,
) -> None:
    sig = signature("园区召开党工委政法工作会议，研究部署今后一个时期政法和基层社会治理工作。")

    def commit(store: RedisStateStore, name: str, n: int) -> CommitResult:
        # Writer b finds the article under other URLs (another site reposting it).
        record = article(n + (1000 if name == "b" else 0), f"{name}{n}", content=f"text{n}")
        record.update(claims_content=True, signature=sig)
        return store.commit_written([record])

    results = race(redis_url, commit)
    with RedisStateStore(redis_url) as store:
        assert store.article_count() == 2 * RACES
        originals = set()
        for n in range(RACES):
            a, b = results["a"][n], results["b"][n]
            assert a.inserted == b.inserted == 1
            assert len(a.conflicts) + len(b.conflicts) == 1
            (conflict,) = a.conflicts or b.conflicts
            original = store.find_by_content_hash(f"text{n}")
            assert original is not None and original.duplicate_of is None
            assert conflict.duplicate_of == original.id != conflict.id
            originals.add(original.id)
        assert sig is not None
        assert {doc for doc, _ in store.near_duplicates(sig, 0.9)} == originals


def test_namespaces_share_no_key(redis_url: str) -> None:
    with (
        RedisStateStore(redis_url, namespace="east") as east,
        RedisStateStore(redis_url, namespace="west") as west,
    ):
        east.commit_written([article(1, "e1")])
        east.stage_batch("/out/a.jsonl", [article(2, "e2")])
        east.update_templates(lambda _: {"sipac": {"pages": 1}})
        assert west.known(["www.sipac.gov.cn|trs:t20241101_1"]) == set()
        assert west.article_count() == 0 and west.staged_batches() == []
        assert west.load_templates() == {} and west.start_run() == 1
        assert east.start_run() == 1
        client = redis.Redis.from_url(redis_url)
        try:
            keys = {key.decode() for key in client.scan_iter()}
        finally:
            client.close()
    assert keys and all(key.startswith(("parknews:east:", "parknews:west:")) for key in keys)


@pytest.mark.parametrize("namespace", ["", "a:b", "a b", "x*", "{tag}"])
def test_a_namespace_that_would_blur_the_prefix_is_refused(namespace: str) -> None:
    with pytest.raises(ValueError, match="namespace"):
        key_prefix(namespace)


def command_calls(client: redis.Redis, command: str) -> int:
    stats = client.info("commandstats").get(f"cmdstat_{command}")
    return int(stats["calls"]) if stats else 0


def test_the_commit_script_is_sent_once_and_sent_again_after_a_flush(redis_url: str) -> None:
    client = redis.Redis.from_url(redis_url)
    client.script_flush()  # the session's server may know it from an earlier test
    with RedisStateStore(redis_url) as store:
        client.config_resetstat()
        for n in range(5):
            store.commit_written([article(n, f"id{n}")])
        assert command_calls(client, "evalsha") == 5 + 1  # the first one met NOSCRIPT
        assert command_calls(client, "script|load") == 1  # the first call met NOSCRIPT
        assert command_calls(client, "eval") == 0
        client.script_flush()
        assert store.commit_written([article(5, "id5")]).inserted == 1
        assert store.commit_written([article(6, "id6")]).inserted == 1
        assert command_calls(client, "script|load") == 2
        assert store.article_count() == 7
        run = store.start_run()
        client.script_flush()
        store.finish_run(run, status="ok", exit_code=0)
        assert store.runs()[0].status == "ok"
    client.close()


def test_an_unreachable_server_is_a_state_error_without_the_password() -> None:
    url = f"redis://worker:s3cret@127.0.0.1:{free_port()}/0"
    with pytest.raises(StateError, match="cannot reach") as error:
        RedisStateStore(url)
    assert "s3cret" not in str(error.value) and "127.0.0.1" in str(error.value)
    assert safe_url(url).startswith("redis://worker:***@127.0.0.1:")


def test_a_namespace_of_a_newer_layout_is_refused(redis_url: str) -> None:
    client = redis.Redis.from_url(redis_url)
    client.hset("parknews:default:meta", "format", FORMAT + 1)
    client.close()
    with pytest.raises(StateError, match="newer than this parknews"):
        RedisStateStore(redis_url)


def test_a_commit_refused_before_any_write(redis_url: str) -> None:
    with RedisStateStore(redis_url) as store:
        with pytest.raises(ValueError, match="duplicate_of"):
            store.commit_written([article(1, "one"), article(2, "two", duplicate_of=["x"])])
        assert store.article_count() == 0


def test_a_staged_batch_is_committed_once(redis_url: str) -> None:
    with RedisStateStore(redis_url) as first, RedisStateStore(redis_url) as second:
        first.stage_batch("/out/articles/r-001.jsonl", [article(1, "one")])
        assert second.commit_batch("/out/articles/r-001.jsonl").inserted == 1
        with pytest.raises(ValueError, match="no batch"):
            first.commit_batch("/out/articles/r-001.jsonl")
        assert first.article_count() == 1


def test_without_the_redis_client_the_store_says_what_to_install(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(redisstore, "redis", None)
    with pytest.raises(StateError, match=r"pip install 'parknews\[redis\]'"):
        RedisStateStore("redis://127.0.0.1:6379/0")
