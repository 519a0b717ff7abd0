"""Workers sharing a run through a real Redis: joining, the end of the crawl, the closer, and
the claims that keep each article to one writer."""

from __future__ import annotations

import time
from collections.abc import Iterator

import pytest
import redis

from crawler.extensions.report import ExitStatus, Thresholds, merge_reports
from crawler.state.errors import StateError
from crawler.state.sharedrun import RunInProgress, SharedRun
from crawler.text.minhash import signature

THRESHOLD = 0.6
TEXT = "园区召开二季度经济运行分析会，通报上半年主要经济指标完成情况，部署下一阶段重点工作。" * 4


@pytest.fixture
def join(redis_url: str) -> Iterator[object]:
    joined: list[SharedRun] = []

    def joining(worker: str, *, name: str = "20261205T000000Z", **options: float) -> SharedRun:
        run = SharedRun.join(
            redis_url,
            namespace="t",
            name=name,
            join_seconds=options.get("join_seconds", 300.0),
            heartbeat_seconds=options.get("heartbeat_seconds", 30.0),
            worker=worker,
            now=options.get("now"),
        )
        joined.append(run)
        return run

    yield joining
    for run in joined:
        run.close()


def test_the_first_worker_starts_a_run_and_the_next_ones_join_it(join) -> None:  # type: ignore[no-untyped-def]
    first = join("host-1", name="20261205T000000Z")
    second = join("host-2", name="20261205T000005Z")
    assert (second.run_id, second.name) == (first.run_id, first.name) == (1, "20261205T000000Z")
    assert second.output_name == "20261205T000000Z-host-2"


def test_a_worker_too_late_for_a_live_run_is_refused(join) -> None:  # type: ignore[no-untyped-def]
    join("host-1", now=time.time() - 120)
    with pytest.raises(RunInProgress, match="still going"):
        join("host-2", join_seconds=60)


def test_a_run_whose_workers_all_died_is_abandoned_for_a_new_one(
    join,  # type: ignore[no-untyped-def]
    redis_url: str,
) -> None:
    dead = join("host-1", heartbeat_seconds=0.05, now=time.time() - 3600)
    time.sleep(0.1)
    fresh = join("host-2", name="20261205T010000Z", join_seconds=60)
    assert (fresh.run_id, fresh.name) == (2, "20261205T010000Z")
    client = redis.Redis.from_url(redis_url)
    assert b'"interrupted"' in client.hget("parknews:t:runs", str(dead.run_id))
    client.close()


def test_the_crawl_is_over_when_the_queue_is_empty_and_every_live_worker_idle(
    join,  # type: ignore[no-untyped-def]
    redis_url: str,
) -> None:
    one, two = join("host-1"), join("host-2")
    assert one.idle() == "wait"  # two is busy: it may still add requests
    client = redis.Redis.from_url(redis_url)
    client.zadd(one.queue_key, {"request": 0})
    assert two.idle() == "work"
    client.delete(one.queue_key)
    assert two.idle() == "done"
    one.busy()
    assert two.idle() == "wait"
    client.close()


def test_a_dead_worker_does_not_hold_up_the_end_of_the_crawl(join) -> None:  # type: ignore[no-untyped-def]
    join("host-1", heartbeat_seconds=0.05)
    alive = join("host-2", heartbeat_seconds=30)
    time.sleep(0.1)
    assert alive.idle() == "lost"


def test_the_last_worker_to_leave_closes_the_run_with_every_report(join) -> None:  # type: ignore[no-untyped-def]
    one, two = join("host-1"), join("host-2")
    walk, other = ("sipac", "http://a/news/"), ("sipac", "http://a/notices/")
    left = one.leave(clean=True, report={"n": 1}, walks_ended=[walk, other], walks_failed=[])
    assert left is None  # two works on: it closes the run
    closing = two.leave(clean=True, report={"n": 2}, walks_ended=[], walks_failed=[other])
    assert closing is not None and closing.clean
    assert sorted(r["n"] for r in closing.reports) == [1, 2]
    assert closing.walks_complete == [walk]  # a walk that failed on any worker is not complete
    assert join("host-3").run_id == one.run_id + 1  # the closed run is gone


def test_a_run_that_lost_a_worker_closes_unclean(join) -> None:  # type: ignore[no-untyped-def]
    join("host-1", heartbeat_seconds=0.05)
    survivor = join("host-2", heartbeat_seconds=30)
    time.sleep(0.1)
    closing = survivor.leave(clean=True, report={}, walks_ended=[("s", "u")], walks_failed=[])
    assert closing is not None and not closing.clean


def claim(run: SharedRun, key: str, text: str = TEXT, **options: object):  # type: ignore[no-untyped-def]
    return run.claim(
        key=key,
        record_id=f"id-{key}-{run.worker}",
        content_hash=str(options.get("content_hash", hash(text))),
        copyable=True,
        signature=signature(text),
        threshold=THRESHOLD,
        body=str(options.get("body", "")),
    )


def test_the_first_worker_to_claim_an_article_writes_it(join) -> None:  # type: ignore[no-untyped-def]
    one, two = join("host-1"), join("host-2")
    assert claim(one, "a") is None
    taken = claim(two, "a", "另一个正文" * 30)
    assert taken is not None and (taken.kind, taken.id) == ("article", "id-a-host-1")
    assert claim(one, "a") is None  # a worker's own claim is its own


def test_a_copy_of_another_workers_article_is_its_duplicate(join) -> None:  # type: ignore[no-untyped-def]
    one, two = join("host-1"), join("host-2")
    assert claim(one, "a") is None
    exact = claim(two, "b")
    assert exact is not None and (exact.kind, exact.id, exact.similarity) == (
        "exact",
        "id-a-host-1",
        1.0,
    )
    edited = claim(two, "c", TEXT.replace("部署下一阶段", "安排下半年"), content_hash="other")
    assert edited is not None and (edited.kind, edited.id) == ("near", "id-a-host-1")
    assert THRESHOLD <= edited.similarity < 1.0
    unrelated = claim(two, "d", "高新区举办人才招聘会，八十余家企业提供岗位一千二百个。" * 4)
    assert unrelated is None


def test_the_claims_of_a_dead_worker_hold_for_the_run(join) -> None:  # type: ignore[no-untyped-def]
    dead = join("host-1", heartbeat_seconds=0.05)
    alive = join("host-2", heartbeat_seconds=30)
    assert claim(dead, "a", body="原文") is None
    time.sleep(0.1)
    # The next run writes the dead worker's article under its id: copies keep pointing at it.
    copy = claim(alive, "b")
    assert copy is not None and (copy.kind, copy.id) == ("exact", "id-a-host-1")
    assert alive.claimed_body("id-a-host-1") == "原文"


def test_an_unreachable_redis_is_a_state_error() -> None:
    with pytest.raises(StateError, match="cannot join"):
        SharedRun.join(
            "redis://127.0.0.1:1/0",
            namespace="t",
            name="x",
            join_seconds=1,
            heartbeat_seconds=1,
        )


def test_merged_reports_add_up_the_sites_and_judge_the_sum() -> None:
    def site(requests: int, list_pages: int, errors: int) -> dict[str, object]:
        return {
            "requests": requests,
            "list_pages": list_pages,
            "list_entries": list_pages * 10,
            "list_families": {"trs": list_pages},
            "articles": {"new": requests - list_pages},
            "records": requests - list_pages,
            "field_coverage": {"title": requests - list_pages, "published_at": 0, "body": 0},
            "errors_by_kind": {"http_404": errors} if errors else {},
            "errors": [{"kind": "http_404"}] * errors,
            "duration_seconds": float(requests),
            "problems": [],
        }

    reports = [
        {
            "run_id": "r-a",
            "exit_status": 0,
            "finish_reason": "finished",
            "sites": {"s": site(5, 0, 1)},
        },
        {
            "run_id": "r-b",
            "exit_status": 0,
            "finish_reason": "finished",
            "sites": {"s": site(7, 2, 0)},
        },
    ]
    thresholds = Thresholds(max_error_share=0.5, min_errors=3, min_field_coverage=0.9)
    merged = merge_reports("r", reports, thresholds)
    summed = merged["sites"]["s"]
    assert (summed["requests"], summed["list_pages"], summed["records"]) == (12, 2, 10)
    assert summed["list_families"] == {"trs": 2} and summed["errors_by_kind"] == {"http_404": 1}
    assert summed["duration_seconds"] == 7.0
    # Each worker alone saw a site with no list page; together they read two. The sum still
    # misses dates and bodies: the site fails on what all workers wrote.
    assert summed["problems"] == [
        "only 0% of records have published_at",
        "only 0% of records have body",
    ]
    assert merged["exit_status"] == ExitStatus.SITE_FAILED
    assert [w["run_id"] for w in merged["workers"]] == ["r-a", "r-b"]
    lost = merge_reports("r", reports, thresholds, complete=False)
    assert lost["interrupted"] and lost["exit_status"] == ExitStatus.INTERRUPTED
    assert lost["sites"]["s"]["problems"] == []
