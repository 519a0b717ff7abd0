"""The frontier that workers sharing a crawl take their requests from: scrapy-redis's scheduler
and request filter, under parknews's keys and with its own idea of when a crawl is over.

What it changes of scrapy-redis 0.9.1, and why:

- The request filter is keyed by the run (`frontier:seen:<run id>`) and dropped when the run
  closes: every page is fetched once per run whichever worker asks for it (so each worker
  may seed the start URLs: the copies are filtered), and the next run walks its list pages
  again. "Article already written" is the crawl state's business, not the filter's.
- Nothing is flushed when one worker closes (the run's closer drops the keys,
  `crawler.state.sharedrun`), and a worker is not closed by a momentarily empty queue: it
  stays while any other live worker is busy, since that one may still add requests.
- Stats are counted without the deprecated `spider=` argument, the queue is opened without
  the deprecated `Spider.log()`, and the filter is built here, not through scrapy-redis's
  `from_settings`/`from_spider`.
"""

from __future__ import annotations

import logging

import redis
from scrapy import Request, Spider, signals
from scrapy.crawler import Crawler
from scrapy.exceptions import DontCloseSpider
from scrapy.utils.misc import load_object
from scrapy_redis.dupefilter import RFPDupeFilter
from scrapy_redis.scheduler import Scheduler
from twisted.internet import task
from twisted.python.failure import Failure

from crawler import signals as parknews_signals
from crawler.state.errors import StateError
from crawler.state.sharedrun import HEARTBEATS_PER_TTL, SharedRun, shared_run

logger = logging.getLogger(__name__)
WATCH_SECONDS = 0.25
"""How often an idle worker looks at the shared queue while the crawl goes on elsewhere."""


class RunRequestFilter(RFPDupeFilter):  # type: ignore[misc]
    """scrapy-redis's request filter for one run: kept when a worker closes."""

    def close(self, reason: str = "") -> None:
        """The run's closer drops the filter with the run."""

    def log(self, request: Request, spider: Spider) -> None:
        logger.debug("Filtered a request another worker or this one made: %s", request)


class SharedFrontier(Scheduler):  # type: ignore[misc]
    """scrapy-redis's scheduler over the run's shared queue (see the module docstring)."""

    def __init__(self, crawler: Crawler, run: SharedRun) -> None:
        super().__init__(
            server=run.client,
            persist=True,
            queue_key=run.queue_key,
            dupefilter=RunRequestFilter(run.client, run.seen_key),
            dupefilter_key=run.seen_key,
        )
        self.crawler = crawler
        self.run = run
        self.stats = crawler.stats
        self.idle_now = False
        self.heartbeat = task.LoopingCall(self.beat)
        self.watch = task.LoopingCall(self.look_for_work)
        """While this worker is idle and the crawl is not over, whether there is news."""

    @classmethod
    def from_crawler(cls, crawler: Crawler) -> SharedFrontier:
        run = shared_run(crawler.settings)
        if run is None:
            raise StateError("the shared frontier needs a joined run (REDIS_URL)")
        frontier = cls(crawler, run)
        crawler.signals.connect(frontier.spider_idle, signal=signals.spider_idle)
        return frontier

    def open(self, spider: Spider) -> None:
        # scrapy-redis's own open() logs through the deprecated Spider.log().
        self.spider = spider
        self.queue = load_object(self.queue_cls)(
            server=self.server, spider=spider, key=self.queue_key, serializer=self.serializer
        )
        waiting = len(self.queue)
        if waiting:
            logger.info("Joined run %s: %d requests are waiting", self.run.name, waiting)
        self.heartbeat.start(self.run.heartbeat_seconds / HEARTBEATS_PER_TTL, now=True)

    def close(self, reason: str) -> None:
        for loop in (self.heartbeat, self.watch):
            if loop.running:
                loop.stop()
        super().close(reason)

    def beat(self) -> None:
        try:
            self.run.heartbeat()
        except StateError as exc:
            logger.error("%s", exc)

    def look_for_work(self) -> None:
        """While idle, look at the crawl four times a second: Scrapy asks an idle scheduler
        again only at its engine's heartbeat (every 5 s), so when other workers have added
        requests, or the crawl is over, wake the engine now."""
        try:
            if len(self.queue) or self.run.idle() in ("done", "lost"):
                self.watch.stop()
                self.wake_engine()
        except (redis.RedisError, StateError) as exc:
            self.watch.stop()
            self.failed(exc)

    def wake_engine(self) -> None:
        """Have the engine ask this scheduler for requests, or see that the spider is idle,
        now. Scrapy has no public call for it: without the engine's slot (another Scrapy),
        its heartbeat does the same within 5 s."""
        slot = getattr(self.crawler.engine, "_slot", None)
        nextcall = getattr(slot, "nextcall", None)
        if nextcall is not None:
            nextcall.schedule()

    def failed(self, exc: Exception) -> None:
        """The shared frontier cannot be used: the run stops (signal `state_failed`)."""
        self.crawler.signals.send_catch_log(
            parknews_signals.state_failed,
            message=f"cannot use the shared frontier in {self.run.where} ({exc})",
        )

    def enqueue_request(self, request: Request) -> bool:
        try:
            if not request.dont_filter and self.df.request_seen(request):
                self.df.log(request, self.spider)
                return False
            self.queue.push(request)
        except (redis.RedisError, StateError) as exc:
            self.failed(exc)
            return False
        if self.stats is not None:
            self.stats.inc_value("scheduler/enqueued/redis")
        return True

    def mark_busy(self) -> None:
        if self.idle_now:
            # Busy before taking anything, so no other worker sees the crawl over meanwhile.
            self.run.busy()
            self.idle_now = False

    def next_request(self) -> Request | None:
        try:
            self.mark_busy()
            request = self.queue.pop(0)
        except (redis.RedisError, StateError) as exc:
            self.failed(exc)
            return None
        if request is not None and self.stats is not None:
            self.stats.inc_value("scheduler/dequeued/redis")
        return request  # type: ignore[no-any-return]

    def __len__(self) -> int:
        try:
            return len(self.queue)
        except redis.RedisError as exc:
            self.failed(exc)
            return 0

    def spider_idle(self) -> None:
        """Keep the worker while the crawl goes on elsewhere; when it is over with no worker
        lost, tell the spider (signal `crawl_idle`), which may start more work."""
        self.idle_now = True
        try:
            state = self.run.idle()
        except StateError as exc:
            self.failed(exc)
            return
        if state in ("work", "wait"):
            if not self.watch.running:
                self.watch.start(WATCH_SECONDS, now=False)
            raise DontCloseSpider
        if state == "lost":
            # A dead worker took requests with it: articles the mirrors copy may be missing,
            # so the mirrors wait for the next run, which writes those first.
            logger.warning(
                "A worker of run %s died before it finished: what it had taken is left to "
                "the next run, and nothing more is started in this one",
                self.run.name,
            )
            return
        answers = self.crawler.signals.send_catch_log(
            parknews_signals.crawl_idle, dont_log=DontCloseSpider
        )
        if any(
            isinstance(answer, Failure) and isinstance(answer.value, DontCloseSpider)
            for _, answer in answers
        ):
            raise DontCloseSpider
