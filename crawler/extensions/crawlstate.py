"""Incremental runs: the crawl state opened for one run, and committed only for what is on disk.

The extension opens the state store (taking the run lock unless the crawl command holds it),
removes the unfinished output files a killed run left, and hands the store to the components
that read it (signal `state_opened`): the spider asks it which articles earlier runs wrote,
so it fetches only new ones; the pipelines search it for duplicates and keep the cleaning's
template counts in it.

Records become "seen" only after the output file holding them has been fsynced and renamed
into place (`feed_slot_closed`): a run killed at any moment leaves its unfinished batch
unseen, and the next run fetches and writes those articles again, once.

Paging may stop at list pages whose articles are all known only in a section whose last walk
was complete: followed to its end by a run that finished cleanly with every article of it
written. The spider records a walk incomplete as soon as it starts it, so a run killed, cut
short (max_pages, since) or missing articles leaves the next run to walk the whole section.
"""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any

from scrapy import signals
from scrapy.crawler import Crawler
from scrapy.exceptions import NotConfigured
from scrapy.extensions.feedexport import FeedSlot

from crawler import signals as parknews_signals
from crawler.default_settings import parknews_settings
from crawler.extensions.report import ExitStatus
from crawler.feeds import PARTIAL_SUFFIX
from crawler.state.errors import StateError
from crawler.state.lock import RunLock, lock_path_for
from crawler.state.store import StateStore

logger = logging.getLogger(__name__)
Walk = tuple[str, str]
"""A section's walk through its list pages, named by (site key, URL of its first list page)."""
LOCK_HELD_SETTING = "_PARKNEWS_RUN_LOCK_HELD"
"""Set by the crawl command once it holds the run lock, so the extension does not take it
twice (flock locks of one process on two descriptors exclude each other)."""
GONE_STATUSES = (404, 410)
"""Answers after which an article link is not asked for again for a while."""


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

    Settings: PARKNEWS_STATE_ENABLED, PARKNEWS_STATE_PATH, PARKNEWS_OUTPUT_DIR. The run is
    logged in the database from start to finish (its end when the run report announces its
    verdict, signal `run_judged`); the records the dedup pipeline announces
    (`record_to_commit`) are committed batch by batch as their output files are stored, and
    each commit is announced (`batch_committed`), or its failure (`output_failed`).
    """

    def __init__(self, crawler: Crawler, store: StateStore, lock: RunLock | None) -> None:
        self.crawler = crawler
        self.store = store
        self.lock = lock
        self.run_number = store.start_run()
        self.pending: dict[str, dict[str, Any]] = {}
        """What to commit for each record on its way to a feed, by URL."""
        self.committed = 0
        self.walks_ended: set[Walk] = set()
        self.walks_failed: set[Walk] = set()

    @classmethod
    def from_crawler(cls, crawler: Crawler) -> CrawlState:
        settings = parknews_settings(crawler.settings)
        if not settings.getbool("PARKNEWS_STATE_ENABLED"):
            raise NotConfigured
        path = Path(settings.get("PARKNEWS_STATE_PATH"))
        lock = None
        if not crawler.settings.getbool(LOCK_HELD_SETTING):
            lock = RunLock(lock_path_for(path))
            lock.acquire()
        extension = cls(crawler, StateStore(path), lock)
        for partial in remove_unfinished_files(Path(settings.get("PARKNEWS_OUTPUT_DIR"))):
            logger.warning("Removed %s, left unfinished by an interrupted run", partial)
        connect = crawler.signals.connect
        connect(extension.spider_opened, signal=signals.spider_opened)
        connect(extension.feed_slot_closed, signal=signals.feed_slot_closed)
        connect(extension.record_to_commit, signal=parknews_signals.record_to_commit)
        connect(extension.walk_ended, signal=parknews_signals.walk_ended)
        connect(extension.article_unfetched, signal=parknews_signals.article_unfetched)
        connect(extension.run_judged, signal=parknews_signals.run_judged)
        return extension

    def spider_opened(self) -> None:
        """Hand the store to the components that read it."""
        self.crawler.signals.send_catch_log(parknews_signals.state_opened, store=self.store)

    def walk_ended(self, walk: Walk) -> None:
        """A walk reached the section's end: its last list page, or known pages."""
        self.walks_ended.add(walk)

    def article_unfetched(self, walk: Walk, url: str, status: int | None) -> None:
        """An article of the walk could not be fetched: a link that is gone is remembered,
        and the walk stays incomplete whatever the reason."""
        if status not in GONE_STATUSES:
            self.walks_failed.add(walk)
            return
        try:
            self.store.mark_gone(url, status)
        except StateError as exc:
            logger.error("%s", exc)

    def record_to_commit(self, row: dict[str, Any]) -> None:
        """Remember what to commit for a record once the file holding it is in place."""
        self.pending[row["url"]] = row

    def feed_slot_closed(self, slot: FeedSlot) -> None:
        """Commit the records of an output file that was stored; a failed store commits
        nothing and fails the run."""
        if not getattr(slot.storage, "stored", False):
            self.failed(f"output file {slot.uri} could not be written")
            return
        exported = getattr(slot.exporter, "exported_urls", None)
        if exported is None:
            logger.warning(
                "%s is a %s feed: its records are not committed to the state (only jsonlines "
                "feeds are), so the next run writes them again",
                slot.uri,
                slot.format,
            )
            return
        written = [self.pending.pop(url) for url in exported if url in self.pending]
        try:
            self.store.commit_written(written, run_id=self.run_number)
        except StateError as exc:
            logger.error("%s", exc)
            self.pending.update((row["url"], row) for row in written)
            self.failed(str(exc))
            return
        self.committed += len(written)
        self.crawler.signals.send_catch_log(
            parknews_signals.batch_committed, keys=[str(row["key"]) for row in written]
        )

    def failed(self, message: str) -> None:
        self.crawler.signals.send_catch_log(parknews_signals.output_failed, message=message)

    def run_judged(self, report: dict[str, Any], exit_status: int) -> None:
        """Record the walks this run completed and log its end in the state, then let the
        lock go. Sent once the feeds are stored, so `pending` holds what was not committed."""
        stats = self.crawler.stats
        finish_reason = stats.get_value("finish_reason") if stats else None
        done = completed_walks(
            self.walks_ended, self.walks_failed, finish_reason, len(self.pending)
        )
        try:
            if done:
                self.store.mark_walks(sorted(done), complete=True)
            self.store.finish_run(
                self.run_number,
                status="ok" if exit_status == ExitStatus.OK else "failed",
                exit_code=exit_status,
                report={"committed": self.committed, "uncommitted": len(self.pending)},
            )
        except StateError as exc:
            logger.error("%s", exc)
        finally:
            self.store.close()
            if self.lock is not None:
                self.lock.release()
