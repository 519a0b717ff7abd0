"""Politeness held for the whole crawl, not per worker: each site's concurrency and delay
shared in Redis by every worker of a namespace.

Scrapy keeps CONCURRENT_REQUESTS_PER_DOMAIN and DOWNLOAD_DELAY per process, so three workers
sharing a crawl would send a site three times what it was promised. `SharedPolitenessMiddleware`
takes a per-site lease in Redis before each request is downloaded and gives it back when its
response or failure comes back; `ADMIT_SCRIPT` admits a request only when fewer than the limit
are in flight for the site across all workers and the site's delay has passed since the last
request admitted for it by any worker.

Keys, under `parknews:<namespace>:` (`crawler.state.redisstore.key_prefix`):

- `polite:<site>:leases` (sorted set): lease token → when the lease expires (ms, Redis clock).
- `polite:<site>:last` (string): when the site's last request was admitted (ms, Redis clock);
  it expires once the delay has passed.

Both expire on their own, so an idle site leaves nothing behind.
"""

from __future__ import annotations

import asyncio
import logging
import time
import uuid
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from scrapy import signals
from scrapy.crawler import Crawler
from scrapy.exceptions import NotConfigured
from scrapy.http import Request, Response
from scrapy.settings import BaseSettings
from scrapy.statscollectors import StatsCollector
from scrapy.utils.asyncio import is_asyncio_available
from scrapy.utils.httpobj import urlparse_cached

from crawler.default_settings import parknews_settings, redis_url
from crawler.state.redisstore import key_prefix, safe_url

try:
    import redis
    import redis.asyncio
except ImportError:  # without the "redis" extra: no shared politeness, said once
    redis = None  # type: ignore[assignment]

if TYPE_CHECKING:
    from scrapy.core.downloader import Downloader

logger = logging.getLogger(__name__)

LEASE_MARGIN = 10.0
"""Seconds a lease outlives the request's download timeout: a worker killed mid-request frees
its slots after its timeout plus this, and a live worker always gives them back sooner."""
FULL_SITE_POLL = 0.05
"""Seconds a request waits before asking again when its site has every slot taken."""
REDIS_TIMEOUT = 5.0
"""Seconds a Redis call may take before the request goes on without the shared limits."""
REDIS_RETRY_AFTER = 30.0
"""Seconds after a Redis error during which requests go on with the worker's own limits."""
ASYNCIO_REACTOR = "twisted.internet.asyncioreactor.AsyncioSelectorReactor"
"""The reactor redis.asyncio needs (Scrapy's default)."""
LEASE_META = "parknews_polite_lease"
"""Request meta key of the lease a request holds: (site, token)."""

ADMIT_SCRIPT = """
-- KEYS[1]: the site's leases (token -> expiry ms); KEYS[2]: the site's last admission (ms).
-- ARGV: token, limit, delay ms, lease ttl ms, poll ms.
-- Returns 0 when the request is admitted (its lease taken), else the ms to wait.
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + tonumber(t[2]) / 1000
local limit, delay = tonumber(ARGV[2]), tonumber(ARGV[3])
local ttl, poll = tonumber(ARGV[4]), tonumber(ARGV[5])
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', string.format('%.3f', now))
local wait = 0
local last = redis.call('GET', KEYS[2])
if last then wait = tonumber(last) + delay - now end
if redis.call('ZCARD', KEYS[1]) >= limit then wait = math.max(wait, poll) end
if wait > 0 then return math.max(1, math.ceil(wait)) end
redis.call('ZADD', KEYS[1], string.format('%.3f', now + ttl), ARGV[1])
if redis.call('PTTL', KEYS[1]) < ttl then redis.call('PEXPIRE', KEYS[1], math.ceil(ttl)) end
if delay > 0 then
  redis.call('SET', KEYS[2], string.format('%.3f', now), 'PX', math.ceil(delay))
end
return 0
"""
"""One admission, whole: expired leases dropped, the limit and the delay checked, the lease
taken. Times come from the Redis server's clock, the one clock every worker shares."""


def asyncio_reactor(settings: BaseSettings) -> bool:
    """Whether the crawl runs on the asyncio reactor, which redis.asyncio needs."""
    try:
        return is_asyncio_available()
    except RuntimeError:  # no reactor installed yet: the crawl will install the configured one
        return bool(settings.get("TWISTED_REACTOR") == ASYNCIO_REACTOR)


@dataclass(frozen=True)
class Pace:
    """What one site is owed across all workers: requests in flight at most, and seconds
    between two requests at least."""

    limit: int
    delay: float

    def __post_init__(self) -> None:
        if self.limit < 1 or self.delay < 0:
            raise ValueError(
                f"a site's pace needs a concurrency of at least 1 and a delay of at least 0 "
                f"(CONCURRENT_REQUESTS_PER_DOMAIN, DOWNLOAD_DELAY), got {self}"
            )


class SharedGate:
    """The per-site slots of one namespace in Redis (`ADMIT_SCRIPT`), for one worker."""

    def __init__(self, client: Any, namespace: str) -> None:
        self.client = client
        self.prefix = key_prefix(namespace) + "polite:"
        self._admit = client.register_script(ADMIT_SCRIPT)

    def keys(self, site: str) -> list[str]:
        """The leases and last-admission keys of `site`."""
        return [f"{self.prefix}{site}:leases", f"{self.prefix}{site}:last"]

    async def admit(self, site: str, token: str, pace: Pace, ttl: float) -> float:
        """Take a slot of `site` for `token`: 0.0 when taken, else the seconds to wait before
        asking again."""
        waited = await self._admit(
            keys=self.keys(site),
            args=[token, pace.limit, pace.delay * 1000, ttl * 1000, FULL_SITE_POLL * 1000],
        )
        return int(waited) / 1000

    async def release(self, site: str, token: str) -> None:
        """Give the slot of `token` back."""
        await self.client.zrem(self.keys(site)[0], token)


class SharedPolitenessMiddleware:
    """Downloader middleware (last before the downloader): at most the site's concurrency in
    flight, and its delay between two requests, across every worker sharing the Redis
    namespace.

    The site is Scrapy's download slot key (the request's host, as for
    CONCURRENT_REQUESTS_PER_DOMAIN; robots.txt requests count too). Its limit is the slot's
    concurrency; its delay is the slot's delay (DOWNLOAD_DELAY, or AutoThrottle's current
    one) stretched by its jitter to the longest the worker's own slot may wait, so the
    worker's slot never holds back a request the shared gate let through. A request that is
    not admitted waits, without blocking the reactor, as long as the gate says.

    Not configured without REDIS_URL, in a replay (PARKNEWS_REPLAY_ARCHIVE: no site is
    touched), or with PARKNEWS_POLITENESS_SHARED off. When Redis fails, one error is logged
    and for REDIS_RETRY_AFTER seconds requests go on with the worker's own limits, which
    Scrapy keeps whatever happens: the sites get what one worker alone would give them, times
    the workers, rather than a run failing for a Redis hiccup.

    Stats: ``parknews/politeness/admitted``, ``.../waits`` and ``.../wait_ms`` (time
    requests spent waiting for their site), ``.../unshared`` (requests sent on the worker's
    own limits while Redis failed) and ``.../redis_errors``.
    """

    def __init__(
        self,
        gate: SharedGate,
        *,
        start_delay: float,
        jitter: float,
        timeout: float,
        where: str,
        stats: StatsCollector | None = None,
        crawler: Crawler | None = None,
    ) -> None:
        self.gate = gate
        self.start_delay = start_delay
        """The delay of a site the worker has no download slot for yet."""
        self.jitter = jitter
        """DOWNLOAD_DELAY_JITTER, for a site with no slot yet."""
        self.timeout = timeout
        self.where = where
        self.stats = stats
        self.crawler = crawler
        """The crawl whose downloader slots give each site's pace (None: defaults only)."""
        self.unshared_until = 0.0
        """time.monotonic() until which Redis is not asked (it failed just before)."""
        self.failed = False
        """Whether the last call to Redis failed."""

    @classmethod
    def from_crawler(cls, crawler: Crawler) -> SharedPolitenessMiddleware:
        settings = crawler.settings
        parknews = parknews_settings(settings)
        url = redis_url(settings)
        # Bare NotConfigured: Scrapy would log a reason as a warning in every ordinary run.
        if not url or parknews.get("PARKNEWS_REPLAY_ARCHIVE"):
            raise NotConfigured  # one worker, or a replay that touches no site
        if not parknews.getbool("PARKNEWS_POLITENESS_SHARED"):
            raise NotConfigured
        missing = None
        if redis is None:
            missing = "the Redis client (pip install 'parknews[redis]')"
        elif not asyncio_reactor(settings):
            missing = "the asyncio reactor (TWISTED_REACTOR)"
        if missing:
            logger.error(
                "Politeness is not shared between workers: it needs %s; each worker keeps "
                "its own DOWNLOAD_DELAY and CONCURRENT_REQUESTS_PER_DOMAIN",
                missing,
            )
            raise NotConfigured
        try:
            client = redis.asyncio.Redis.from_url(
                url, socket_timeout=REDIS_TIMEOUT, socket_connect_timeout=REDIS_TIMEOUT
            )
            gate = SharedGate(client, parknews.get("PARKNEWS_REDIS_NAMESPACE"))
        except ValueError as exc:  # the crawl state, when enabled, has stopped the run already
            logger.error("Politeness is not shared between workers: %s", exc)
            raise NotConfigured from None
        start_delay = settings.getfloat("DOWNLOAD_DELAY")
        if settings.getbool("AUTOTHROTTLE_ENABLED"):
            start_delay = max(start_delay, settings.getfloat("AUTOTHROTTLE_START_DELAY"))
        middleware = cls(
            gate,
            start_delay=start_delay,
            jitter=settings.getfloat("DOWNLOAD_DELAY_JITTER"),
            timeout=settings.getfloat("DOWNLOAD_TIMEOUT"),
            where=f"Redis {safe_url(url)}",
            stats=crawler.stats,
            crawler=crawler,
        )
        crawler.signals.connect(middleware.spider_closed, signal=signals.spider_closed)
        return middleware

    @property
    def downloader(self) -> Downloader | None:
        engine = self.crawler.engine if self.crawler is not None else None
        return engine.downloader if engine is not None else None

    async def spider_closed(self) -> None:
        await self.gate.client.aclose()

    def site_of(self, request: Request) -> str:
        """The site a request counts against: its download slot key (its host)."""
        if self.downloader is not None:
            return self.downloader.get_slot_key(request)
        return str(request.meta.get("download_slot") or urlparse_cached(request).hostname or "")

    def pace_of(self, site: str) -> Pace:
        """The limit and delay of `site`, as this worker's download slot for it has them."""
        downloader = self.downloader
        if downloader is None:  # no crawl running: one request at a time
            return Pace(1, self.start_delay * (1 + self.jitter))
        slot = downloader.slots.get(site)
        if slot is not None:
            return Pace(slot.concurrency, slot.delay * (1 + slot.jitter))
        given = downloader.per_slot_settings.get(site, {})
        limit = given.get("concurrency", downloader.ip_concurrency or downloader.domain_concurrency)
        delay = float(given.get("delay", self.start_delay))
        return Pace(int(limit), delay * (1 + float(given.get("jitter", self.jitter))))

    async def process_request(self, request: Request) -> None:
        site = self.site_of(request)
        token = uuid.uuid4().hex
        ttl = float(request.meta.get("download_timeout") or self.timeout) + LEASE_MARGIN
        waited = 0.0
        while time.monotonic() >= self.unshared_until:
            try:
                wait = await self.gate.admit(site, token, self.pace_of(site), ttl)
            except redis.RedisError as exc:
                self.redis_failed(exc)
                break
            if self.failed:
                self.failed = False
                logger.info("Politeness is shared again: %s answers", self.where)
            if not wait:
                request.meta[LEASE_META] = (site, token)
                self._inc("admitted")
                if waited:
                    self._inc("waits")
                    self._inc("wait_ms", round(waited * 1000))
                return
            await asyncio.sleep(wait)
            waited += wait
        request.meta.pop(LEASE_META, None)
        self._inc("unshared")

    async def process_response(self, request: Request, response: Response) -> Response:
        await self.give_back(request)
        return response

    async def process_exception(self, request: Request, exception: Exception) -> None:
        await self.give_back(request)

    async def give_back(self, request: Request) -> None:
        """Release the lease `request` holds, if any (a failure: it expires on its own)."""
        lease = request.meta.pop(LEASE_META, None)
        if lease is None:
            return
        try:
            await self.gate.release(*lease)
        except redis.RedisError as exc:
            self.redis_failed(exc)

    def redis_failed(self, exc: Exception) -> None:
        """Log a Redis failure once per outage, and go on with the worker's own limits for
        REDIS_RETRY_AFTER seconds."""
        self._inc("redis_errors")
        if not self.failed:
            logger.error(
                "Politeness is not shared for the next %.0f s: %s failed (%s: %s); this "
                "worker keeps its own DOWNLOAD_DELAY and CONCURRENT_REQUESTS_PER_DOMAIN",
                REDIS_RETRY_AFTER,
                self.where,
                type(exc).__name__,
                exc,
            )
        self.failed = True
        self.unshared_until = time.monotonic() + REDIS_RETRY_AFTER

    def _inc(self, name: str, count: int = 1) -> None:
        if self.stats is not None:
            self.stats.inc_value(f"parknews/politeness/{name}", count)
