"""Politeness shared through Redis: one site's concurrency and delay held across workers."""

from __future__ import annotations

import asyncio
import itertools
import logging
import subprocess
import threading
import time
from collections.abc import AsyncIterator, Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import asynccontextmanager, contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

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
from tests.conftest import REPO
from tests.redisrv import free_port
from tests.sitesrv import FixtureHandler, FixtureServer, crawl_command, crawl_env


@asynccontextmanager
async def gates(
    url: str, count: int = 2, namespace: str = "default"
) -> AsyncIterator[list[SharedGate]]:
    """`count` gates on one namespace, each with its own client, as separate workers have."""
    clients = [redis.asyncio.Redis.from_url(url) for _ in range(count)]
    try:
        yield [SharedGate(client, namespace) for client in clients]
    finally:
        for client in clients:
            await client.aclose()


# --- the admission script, two workers on one Redis ------------------------------------------


def test_two_workers_never_hold_more_than_the_limit_of_a_site(redis_url: str) -> None:
    async def body() -> None:
        async with gates(redis_url) as (a, b):
            pace = Pace(limit=2, delay=0)
            assert await a.admit("www.a.cn", "a1", pace, ttl=30) == 0
            assert await b.admit("www.a.cn", "b1", pace, ttl=30) == 0
            assert await a.admit("www.a.cn", "a2", pace, ttl=30) > 0  # two in flight
            assert await b.admit("www.b.cn", "b2", pace, ttl=30) == 0  # another host is free
            await b.release("www.a.cn", "b1")
            assert await a.admit("www.a.cn", "a2", pace, ttl=30) == 0
            assert await b.admit("www.a.cn", "b3", pace, ttl=30) > 0

    asyncio.run(body())


def test_two_workers_are_admitted_the_delay_apart(redis_url: str) -> None:
    async def body() -> list[float]:
        admitted: list[float] = []
        async with gates(redis_url) as workers:
            pace = Pace(limit=10, delay=0.1)
            for number in range(6):
                gate = workers[number % 2]
                while wait := await gate.admit("www.a.cn", f"t{number}", pace, ttl=30):
                    assert 0 < wait <= 0.1
                    await asyncio.sleep(wait)
                admitted.append(time.monotonic())
        return admitted

    admitted = asyncio.run(body())
    gaps = [later - earlier for earlier, later in itertools.pairwise(admitted)]
    assert min(gaps) >= 0.1 - 0.002, gaps


def test_a_lease_its_worker_never_gave_back_expires(redis_url: str) -> None:
    async def body() -> None:
        async with gates(redis_url) as (killed, alive):
            pace = Pace(limit=1, delay=0)
            assert await killed.admit("www.a.cn", "lost", pace, ttl=0.2) == 0
            assert await alive.admit("www.a.cn", "next", pace, ttl=30) > 0
            await asyncio.sleep(0.25)
            assert await alive.admit("www.a.cn", "next", pace, ttl=30) == 0

    asyncio.run(body())


def test_an_idle_site_leaves_no_key_behind(redis_url: str) -> None:
    async def body() -> list[bytes]:
        async with gates(redis_url, 1, "w1") as (gate,):
            assert await gate.admit("www.a.cn", "t", Pace(limit=2, delay=0.05), ttl=0.1) == 0
            await asyncio.sleep(0.15)
            return list(await gate.client.keys("parknews:w1:polite:*"))

    assert asyncio.run(body()) == []


def test_namespaces_share_no_slots(redis_url: str) -> None:
    async def body() -> None:
        async with gates(redis_url, 1, "one") as (one,), gates(redis_url, 1, "two") as (two,):
            pace = Pace(limit=1, delay=10)
            assert await one.admit("www.a.cn", "t1", pace, ttl=30) == 0
            assert await two.admit("www.a.cn", "t2", pace, ttl=30) == 0

    asyncio.run(body())


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


def middleware(gate: SharedGate) -> SharedPolitenessMiddleware:
    """The middleware on `gate`, outside a crawl (one request at a time, no delay)."""
    return SharedPolitenessMiddleware(gate, start_delay=0, jitter=0, timeout=30, where="Redis")


def test_a_redis_that_fails_leaves_the_worker_its_own_limits_with_one_logged_error(
    caplog: pytest.LogCaptureFixture,
) -> None:
    async def body() -> list[Request]:
        requests = [Request(f"http://www.a.cn/{n}.html") for n in range(3)]
        async with gates(f"redis://127.0.0.1:{free_port()}/0", 1) as (gate,):
            gone = middleware(gate)
            for request in requests:
                assert await gone.process_request(request) is None
                await gone.process_response(request, Response(request.url))
        return requests

    with caplog.at_level(logging.ERROR):
        requests = asyncio.run(body())
    assert all(LEASE_META not in request.meta for request in requests)
    errors = [r for r in caplog.records if r.levelno >= logging.ERROR]
    assert len(errors) == 1 and errors[0].exc_info is None
    assert "keeps its own DOWNLOAD_DELAY" in errors[0].getMessage()


def test_a_request_holds_its_lease_until_its_answer_comes_back(redis_url: str) -> None:
    async def body() -> None:
        request = Request("http://www.a.cn/1.html")
        leases = "parknews:default:polite:www.a.cn:leases"
        async with gates(redis_url, 1) as (gate,):
            shared = middleware(gate)
            await shared.process_request(request)
            assert request.meta[LEASE_META][0] == "www.a.cn"
            assert await gate.client.zcard(leases) == 1
            await shared.process_exception(request, TimeoutError())
            assert await gate.client.zcard(leases) == 0 and LEASE_META not in request.meta

    asyncio.run(body())


# --- measured: concurrent crawls against one server ------------------------------------------

LIMIT = 2
"""CONCURRENT_REQUESTS_PER_DOMAIN of the measured crawls."""
DELAY = 0.1
"""DOWNLOAD_DELAY of the measured crawls (seconds)."""
HOLD = 0.35
"""Seconds the server takes over each answer: longer than LIMIT times the delay between two
requests (DELAY * 1.5 with the default jitter), so the concurrency limit binds, not only the
delay."""
TOLERANCE = 0.005
"""Seconds by which two request arrivals may fall short of DELAY: the time between a worker's
admission and its request reaching the server varies by a few milliseconds."""
WORKERS = 2


@dataclass
class Meter:
    """When each request reached the server, and the most in flight at once, per host."""

    lock: threading.Lock = field(default_factory=threading.Lock)
    arrivals: dict[str, list[float]] = field(default_factory=dict)
    in_flight: dict[str, int] = field(default_factory=dict)
    most: dict[str, int] = field(default_factory=dict)

    def enter(self, host: str) -> None:
        with self.lock:
            self.arrivals.setdefault(host, []).append(time.monotonic())
            self.in_flight[host] = self.in_flight.get(host, 0) + 1
            self.most[host] = max(self.most.get(host, 0), self.in_flight[host])

    def leave(self, host: str) -> None:
        with self.lock:
            self.in_flight[host] -= 1

    def min_gap(self, host: str) -> float:
        times = sorted(self.arrivals[host])
        return min(later - earlier for earlier, later in itertools.pairwise(times))


class MeteredHandler(FixtureHandler):
    """The fixture sites, each answer taking HOLD seconds, metered."""

    meter: Meter

    def metered(self, answer: Callable[[], None]) -> None:
        host = self.target()[0]
        self.meter.enter(host)
        try:
            time.sleep(HOLD)
        finally:
            # Left before the answer is written, so no worker can have read it yet: a thread
            # waiting for the GIL after writing would count its request in flight still.
            self.meter.leave(host)
        answer()

    def do_GET(self) -> None:
        self.metered(super().do_GET)

    def do_POST(self) -> None:
        self.metered(super().do_POST)


@contextmanager
def metered_sites() -> Iterator[tuple[str, Meter]]:
    """The fixture sites served on 127.0.0.1 through a Meter; yields the proxy URL and it."""
    meter = Meter()
    attributes = {
        "meter": meter,
        "stopping": threading.Event(),
        "seen_paths": {},
        "seen_lock": threading.Lock(),
    }
    server = FixtureServer(("127.0.0.1", 0), type("Handler", (MeteredHandler,), attributes))
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}", meter
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=5)


def crawl_together(folder: Path, redis_url: str | None) -> Meter:
    """WORKERS crawls of the same site at once, each its own output, no state; the meter of
    what the site saw."""
    with metered_sites() as (proxy, meter):
        env = crawl_env(proxy)
        env.pop("REDIS_URL", None)
        shared = ["-s", f"REDIS_URL={redis_url}"] if redis_url else []
        workers = [
            subprocess.Popen(
                crawl_command(
                    folder / f"worker{number}",
                    *("-a", "sites=sipac", "-a", "max_pages=1"),
                    *("-s", "PARKNEWS_STATE_ENABLED=False", "-s", f"DOWNLOAD_DELAY={DELAY}"),
                    *("-s", f"CONCURRENT_REQUESTS_PER_DOMAIN={LIMIT}"),
                    *shared,
                ),
                cwd=REPO,
                env=env,
                stdout=subprocess.DEVNULL,
                stderr=subprocess.PIPE,
                text=True,
            )
            for number in range(WORKERS)
        ]
        for worker in workers:
            _, stderr = worker.communicate(timeout=60)
            assert worker.returncode == 0, stderr[-3000:]
            assert ("parknews/politeness/admitted" in stderr) == bool(redis_url), stderr[-3000:]
    return meter


@pytest.mark.crawl
def test_workers_sharing_a_redis_hold_the_site_limits_together(
    tmp_path: Path, redis_url: str
) -> None:
    # Both at once, each against its own server, to keep the test short.
    with ThreadPoolExecutor(2) as pool:
        running = pool.submit(crawl_together, tmp_path / "alone", None)
        together = crawl_together(tmp_path / "together", redis_url)
        alone = running.result()
    host = "www.sipac.gov.cn"
    print(
        f"{WORKERS} workers, limit {LIMIT}, delay {DELAY} s: "
        f"alone most in flight {alone.most[host]}, shortest gap {alone.min_gap(host):.4f} s; "
        f"together most in flight {together.most[host]}, "
        f"shortest gap {together.min_gap(host):.4f} s"
    )
    assert len(together.arrivals[host]) == len(alone.arrivals[host])
    assert alone.most[host] > LIMIT and alone.min_gap(host) < DELAY - TOLERANCE
    assert together.most[host] <= LIMIT
    assert together.min_gap(host) >= DELAY - TOLERANCE
