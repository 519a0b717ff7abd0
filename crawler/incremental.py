"""Incremental runs: the crawl state opened for one run, and committed only for what is on disk.

The spider asks `CrawlState.known` which articles earlier runs wrote, so it fetches only new
ones. Records become "seen" only after the output file holding them has been fsynced and
renamed into place (`feed_slot_closed`): a run killed at any moment leaves its unfinished
batch unseen, and the next run fetches and writes those articles again, once.

Paging may stop at list pages whose articles are all known only in a section whose last walk
was complete: followed to its end by a run that finished cleanly with every article of it
written. A walk is recorded incomplete as soon as it starts, so a run killed, cut short
(max_pages, since) or missing articles leaves the next run to walk the whole section.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Any

from scrapy import Spider, signals
from scrapy.crawler import Crawler
from scrapy.exceptions import NotConfigured
from scrapy.extensions.feedexport import FeedSlot

from crawler.feeds import PARTIAL_SUFFIX
from crawler.report import ExitStatus, RunReport
from crawler.state import RunLock, StateError, StateStore, article_key, lock_path_for
from pipelines.boilerplate import SiteTemplate

logger = logging.getLogger(__name__)
Walk = tuple[str, str]
"""A section's walk through its list pages, named by (site key, URL of its first list page)."""
LOCK_HELD_SETTING = "_PARKNEWS_RUN_LOCK_HELD"
"""Set by the crawl command once it holds the run lock, so the extension does not take it
twice (flock locks of one process on two descriptors exclude each other)."""


def state_path(settings: Any) -> Path:
    """The state database named by PARKNEWS_STATE_PATH."""
    return Path(str(settings.get("PARKNEWS_STATE_PATH") or "state/parknews.sqlite3"))


def completed_walks(
    ended: set[Walk], failed: set[Walk], finish_reason: str | None, uncommitted: int
) -> set[Walk]:
    """The walks a run may record complete: those that reached the section's end with no
    failed article, and none unless the run finished with every written record committed."""
    if finish_reason != "finished" or uncommitted:
        return set()
    return ended - failed


def remove_unfinished_files(output_dir: Path) -> list[Path]:
    """Delete the `*.part` files a killed run left under `output_dir`; their records were
    never committed, so this run writes them again."""
    removed = []
    for folder in ("articles", "duplicates"):
        for partial in sorted((output_dir / folder).glob("*" + PARTIAL_SUFFIX)):
            partial.unlink()
            removed.append(partial)
    return removed


class CrawlState:
    """Extension: the state database of this run.

    Settings: PARKNEWS_STATE_PATH (default state/parknews.sqlite3). The run is logged in the
    database from start to finish; per-site template counts of the cleaning are loaded at the
    start and saved at the end; written records are committed batch by batch.
    """

    def __init__(self, crawler: Crawler, store: StateStore, lock: RunLock | None) -> None:
        self.crawler = crawler
        self.store = store
        self.lock = lock
        self.run_number = store.start_run()
        self.pending: dict[str, dict[str, Any]] = {}
        self.committed = 0
        self.commit_listeners: list[Callable[[list[str]], None]] = []
        """Called with the article keys of each commit: what they held for them can go."""
        self.gone_retry_days = crawler.settings.getfloat("PARKNEWS_STATE_GONE_RETRY_DAYS", 7.0)
        self.walks: dict[Walk, bool] = {}
        """The walks this run started, and whether each section's last walk was complete."""
        self.walks_ended: set[Walk] = set()
        self.walks_failed: set[Walk] = set()

    @classmethod
    def from_crawler(cls, crawler: Crawler) -> CrawlState:
        settings = crawler.settings
        if not settings.getbool("PARKNEWS_STATE_ENABLED", True):
            raise NotConfigured
        path = state_path(settings)
        lock = None
        if not settings.getbool(LOCK_HELD_SETTING, False):
            lock = RunLock(lock_path_for(path))
            lock.acquire()
        extension = cls(crawler, StateStore(path), lock)
        output_dir = Path(settings.get("PARKNEWS_OUTPUT_DIR", "output"))
        for partial in remove_unfinished_files(output_dir):
            logger.warning("Removed %s, left unfinished by an interrupted run", partial)
        crawler.signals.connect(extension.feed_slot_closed, signals.feed_slot_closed)
        crawler.signals.connect(extension.engine_stopped, signals.engine_stopped)
        return extension

    def start_walk(self, walk: Walk) -> bool:
        """Whether the section's last walk was complete when this run started walking it.

        The first call records the walk incomplete at once (committed), so that a run
        killed before the end of the walk leaves it so; later calls answer from memory."""
        if walk not in self.walks:
            try:
                complete = self.store.walk_complete(*walk)
                if complete is not False:
                    self.store.mark_walks([walk], complete=False)
            except StateError as exc:
                logger.error("%s", exc)
                complete = False
            self.walks[walk] = bool(complete)
        return self.walks[walk]

    def walk_ended(self, walk: Walk) -> None:
        """Note that a walk reached the section's end: its last list page, or known pages."""
        self.walks_ended.add(walk)

    def article_failed(self, walk: Walk) -> None:
        """Note that an article of the walk could not be fetched: the walk stays incomplete."""
        self.walks_failed.add(walk)

    def known(self, urls: Iterable[str]) -> set[str]:
        """The URLs among `urls` whose articles earlier runs wrote (by article identity), or
        whose links answered "not found" within PARKNEWS_STATE_GONE_RETRY_DAYS."""
        keys = {url: article_key(url) for url in urls}
        wanted = set(keys.values())
        seen = self.store.known(wanted) | self.store.gone(wanted, retry_days=self.gone_retry_days)
        return {url for url, key in keys.items() if key in seen}

    def gone(self, url: str, status: int) -> None:
        """Remember an article link that answered 404 or 410."""
        try:
            self.store.mark_gone(url, status)
        except StateError as exc:
            logger.error("%s", exc)

    def written_later(self, record: dict[str, Any]) -> None:
        """Remember what to commit for a record once the file holding it is on disk."""
        self.pending[record["url"]] = record

    def save_template(self, template: SiteTemplate) -> None:
        """Store the cleaning's per-site template counts for the next runs."""
        try:
            self.store.save_template(template)
        except StateError as exc:
            logger.error("%s", exc)

    def feed_slot_closed(self, slot: FeedSlot) -> None:
        """Commit the records of an output file that was stored; a failed store commits
        nothing and fails the run."""
        path = getattr(slot.storage, "final_path", None)
        stored = bool(getattr(slot.storage, "stored", False))
        report = self.crawler.get_extension(RunReport)
        if path is None or not stored:
            if report is not None:
                report.output_failure(f"output file {slot.uri} could not be written")
            return
        written = []
        for line in Path(path).read_text("utf-8").splitlines():
            url = json.loads(line)["url"]
            if url in self.pending:
                written.append(self.pending.pop(url))
        try:
            self.store.commit_written(written, run_id=self.run_number)
        except StateError as exc:
            logger.error("%s", exc)
            self.pending.update((record["url"], record) for record in written)
            if report is not None:
                report.output_failure(str(exc))
            return
        self.committed += len(written)
        keys = [str(record["key"]) for record in written]
        for listener in self.commit_listeners:
            listener(keys)

    def engine_stopped(self) -> None:
        """Record the walks this run completed and log its end in the state, then let the
        lock go. Runs once the feeds are stored, so `pending` holds what was not committed."""
        stats = self.crawler.stats
        status = int(stats.get_value("parknews/exit_status", 0)) if stats else 0
        # Scrapy's core stats hold why the spider closed ("finished", "shutdown", …).
        finish_reason = stats.get_value("finish_reason") if stats else None
        done = completed_walks(
            self.walks_ended, self.walks_failed, finish_reason, len(self.pending)
        )
        try:
            if done:
                self.store.mark_walks(sorted(done), complete=True)
            self.store.finish_run(
                self.run_number,
                status="ok" if status == ExitStatus.OK else "failed",
                exit_code=status,
                report={"committed": self.committed, "uncommitted": len(self.pending)},
            )
        except StateError as exc:
            logger.error("%s", exc)
        finally:
            self.store.close()
            if self.lock is not None:
                self.lock.release()


def spider_state(spider: Spider) -> CrawlState | None:
    """The crawl state of the spider's crawl, when state is enabled."""
    crawler = getattr(spider, "crawler", None)
    return None if crawler is None else crawler.get_extension(CrawlState)
