"""Politeness shared through Redis: one site's concurrency and delay held across workers."""

from __future__ import annotations

import asyncio
import itertools
import logging
import time
from collections.abc import Awaitable, Callable
from typing import Any, TypeVar

import pytest
import redis.asyncio
from scrapy.exceptions import NotConfigured
from scrapy.http import Request, Response
from scrapy.utils.test import get_crawler

from crawler.middlewares.politeness import (
    LEASE_META,
    Pace,
    SharedGate,
    SharedPolitenessMiddleware,
)
from tests.redisrv import free_port

T = TypeVar("T")


def run(coroutine: Callable[[], Awaitable[T]]) -> T:
    """Run an async test body on a fresh event loop."""

    async def main() -> T:
        return await coroutine()

    return asyncio.run(main())


async def close(*clients: redis.asyncio.Redis) -> None:
    for client in clients:
        await client.aclose()


# --- the admission script, two workers on one Redis ------------------------------------------


def test_two_workers_never_hold_more_than_the_limit_of_a_site(redis_url: str) -> None:
    async def body() -> None:
        one, two = redis.asyncio.Redis.from_url(redis_url), redis.asyncio.Redis.from_url(redis_url)
        a, b = SharedGate(one, "default"), SharedGate(two, "default")
        pace = Pace(limit=2, delay=0)
        try:
            assert await a.admit("www.a.cn", "a1", pace, ttl=30) == 0
            assert await b.admit("www.a.cn", "b1", pace, ttl=30) == 0
            assert await a.admit("www.a.cn", "a2", pace, ttl=30) > 0  # two in flight
            assert await b.admit("www.b.cn", "b2", pace, ttl=30) == 0  # another host is free
            await b.release("www.a.cn", "b1")
            assert await a.admit("www.a.cn", "a2", pace, ttl=30) == 0
            assert await b.admit("www.a.cn", "b3", pace, ttl=30) > 0
        finally:
            await close(one, two)

    run(body)


def test_two_workers_are_admitted_the_delay_apart(redis_url: str) -> None:
    async def body() -> list[float]:
        one, two = redis.asyncio.Redis.from_url(redis_url), redis.asyncio.Redis.from_url(redis_url)
        gates = [SharedGate(one, "default"), SharedGate(two, "default")]
        pace = Pace(limit=10, delay=0.1)
        admitted: list[float] = []
        try:
            for number in range(6):
                gate = gates[number % 2]
                while wait := await gate.admit("www.a.cn", f"t{number}", pace, ttl=30):
                    assert 0 < wait <= 0.1
                    await asyncio.sleep(wait)
                admitted.append(time.monotonic())
        finally:
            await close(one, two)
        return admitted

    admitted = run(body)
    gaps = [later - earlier for earlier, later in itertools.pairwise(admitted)]
    assert min(gaps) >= 0.1 - 0.002, gaps


def test_a_lease_its_worker_never_gave_back_expires(redis_url: str) -> None:
    async def body() -> None:
        one, two = redis.asyncio.Redis.from_url(redis_url), redis.asyncio.Redis.from_url(redis_url)
        killed, alive = SharedGate(one, "default"), SharedGate(two, "default")
        pace = Pace(limit=1, delay=0)
        try:
            assert await killed.admit("www.a.cn", "lost", pace, ttl=0.2) == 0
            assert await alive.admit("www.a.cn", "next", pace, ttl=30) > 0
            await asyncio.sleep(0.25)
            assert await alive.admit("www.a.cn", "next", pace, ttl=30) == 0
        finally:
            await close(one, two)

    run(body)


def test_an_idle_site_leaves_no_key_behind(redis_url: str) -> None:
    async def body() -> list[bytes]:
        client = redis.asyncio.Redis.from_url(redis_url)
        gate = SharedGate(client, "w1")
        try:
            assert await gate.admit("www.a.cn", "t", Pace(limit=2, delay=0.05), ttl=0.1) == 0
            await asyncio.sleep(0.15)
            return list(await client.keys("parknews:w1:polite:*"))
        finally:
            await close(client)

    assert run(body) == []


def test_namespaces_share_no_slots(redis_url: str) -> None:
    async def body() -> None:
        client = redis.asyncio.Redis.from_url(redis_url)
        pace = Pace(limit=1, delay=10)
        try:
            assert await SharedGate(client, "one").admit("www.a.cn", "t1", pace, ttl=30) == 0
            assert await SharedGate(client, "two").admit("www.a.cn", "t2", pace, ttl=30) == 0
        finally:
            await close(client)

    run(body)


# --- the middleware ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    "settings",
    [
        {},
        {"REDIS_URL": "redis://127.0.0.1:1/0", "PARKNEWS_REPLAY_ARCHIVE": "demo.warc.gz"},
        {"REDIS_URL": "redis://127.0.0.1:1/0", "PARKNEWS_POLITENESS_SHARED": False},
    ],
    ids=["no REDIS_URL", "replay", "switched off"],
)
def test_the_middleware_stays_out_of_a_single_worker_or_a_replay(
    settings: dict[str, Any], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("REDIS_URL", raising=False)
    with pytest.raises(NotConfigured):
        SharedPolitenessMiddleware.from_crawler(get_crawler(settings_dict=settings))


def test_a_redis_that_fails_leaves_the_worker_its_own_limits_with_one_logged_error(
    caplog: pytest.LogCaptureFixture,
) -> None:
    url = f"redis://127.0.0.1:{free_port()}/0"

    async def body() -> list[Request]:
        client = redis.asyncio.Redis.from_url(url, socket_connect_timeout=1)
        middleware = SharedPolitenessMiddleware(
            SharedGate(client, "default"), start_delay=1.0, jitter=0.5, timeout=30, where=url
        )
        requests = [Request(f"http://www.a.cn/{n}.html") for n in range(3)]
        try:
            for request in requests:
                assert await middleware.process_request(request) is None
                await middleware.process_response(request, Response(request.url))
        finally:
            await close(client)
        return requests

    with caplog.at_level(logging.ERROR):
        requests = run(body)
    assert all(LEASE_META not in request.meta for request in requests)
    errors = [r for r in caplog.records if r.levelno >= logging.ERROR]
    assert len(errors) == 1 and errors[0].exc_info is None
    assert "keeps its own DOWNLOAD_DELAY" in errors[0].getMessage()


def test_a_request_holds_its_lease_until_its_answer_comes_back(redis_url: str) -> None:
    async def body() -> None:
        client = redis.asyncio.Redis.from_url(redis_url)
        middleware = SharedPolitenessMiddleware(
            SharedGate(client, "default"), start_delay=0, jitter=0, timeout=30, where=redis_url
        )
        request = Request("http://www.a.cn/1.html")
        leases = "parknews:default:polite:www.a.cn:leases"
        try:
            await middleware.process_request(request)
            assert request.meta[LEASE_META][0] == "www.a.cn"
            assert await client.zcard(leases) == 1
            await middleware.process_exception(request, TimeoutError())
            assert await client.zcard(leases) == 0 and LEASE_META not in request.meta
        finally:
            await close(client)

    run(body)
