"""Incremental runs: the crawl state opened for one run, and committed only for what is on disk.

The extension opens the state store (taking the run lock unless the crawl command holds it,
or the worker shares a run through Redis, whose run is the lock: `crawler.state.sharedrun`),
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

import json
import logging
from collections.abc import Callable
from pathlib import Path
from typing import Any

from scrapy import signals
from scrapy.crawler import Crawler
from scrapy.exceptions import NotConfigured
from scrapy.extensions.feedexport import FeedSlot
from scrapy.settings import BaseSettings
from scrapy.utils.defer import deferred_from_coro

from crawler import signals as parknews_signals
from crawler.default_settings import parknews_settings, redis_url
from crawler.extensions.report import (
    STATE_UNUSABLE,
    ExitStatus,
    Thresholds,
    merge_reports,
    write_atomically,
)
from crawler.feeds import PARTIAL_SUFFIX
from crawler.state.base import StateBackend
from crawler.state.errors import StateError
from crawler.state.lock import RunLock, lock_path_for
from crawler.state.redisstore import RedisStateStore
from crawler.state.sharedrun import SharedRun, shared_run
from crawler.state.store import StateStore

logger = logging.getLogger(__name__)
Walk = tuple[str, str]
"""A section's walk through its list pages, named by (site key, URL of its first list page)."""
LOCK_HELD_SETTING = "_PARKNEWS_RUN_LOCK_HELD"
"""Set by the crawl command once it holds the run lock, so the extension does not take it
twice (flock locks of one process on two descriptors exclude each other)."""
RUN_LOG_STATUS = {int(ExitStatus.OK): "ok", int(ExitStatus.INTERRUPTED): "interrupted"}
"""How the run log names a run's end by its exit status; any other status is "failed"."""
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


def everything(path: str | Path) -> bool:
    """A run that shares its state with no other worker settles whatever was left."""
    return True


def remove_unfinished_files(
    output_dir: Path, left_behind: Callable[[str | Path], bool] = everything
) -> list[Path]:
    """Delete the `*.part` files a killed run left under `output_dir` (those `left_behind`
    accepts); their records were never committed, so this run writes them again."""
    removed = []
    for folder in ("articles", "duplicates", "runs"):
        for partial in sorted((output_dir / folder).glob("*" + PARTIAL_SUFFIX)):
            if left_behind(partial):
                partial.unlink()
                removed.append(partial)
    return removed


def finish_staged_batches(
    store: StateBackend,
    run_id: int | None = None,
    left_behind: Callable[[str | Path], bool] = everything,
) -> list[str]:
    """Settle the batches a stopped run left staged (those `left_behind` accepts): one whose
    file got its final name is committed (its records are written), one whose file did not
    is forgotten (its records are written again). Returns what was done, one line each."""
    done = []
    for path in store.staged_batches():
        if not left_behind(path):
            continue
        if Path(path).is_file():
            result = store.commit_batch(path, run_id=run_id)
            done.append(f"committed {path} ({result.inserted + result.revised} articles)")
        else:
            store.discard_batch(path)
            done.append(f"forgot {path}, which never got its final name")
    return done


def open_store(settings: BaseSettings) -> StateBackend:
    """The crawl state the settings name: in Redis when REDIS_URL is set (setting or
    environment variable), under PARKNEWS_REDIS_NAMESPACE; else the SQLite file
    PARKNEWS_STATE_PATH. StateError when it cannot be used."""
    parknews = parknews_settings(settings)
    url = redis_url(settings)
    if url:
        return RedisStateStore(url, namespace=parknews.get("PARKNEWS_REDIS_NAMESPACE"))
    return StateStore(Path(parknews.get("PARKNEWS_STATE_PATH")))


class CrawlState:
    """Extension: the state database of this run.

    Settings: PARKNEWS_STATE_ENABLED, PARKNEWS_STATE_PATH (and the run lock beside it),
    REDIS_URL and PARKNEWS_REDIS_NAMESPACE (`open_store`), PARKNEWS_OUTPUT_DIR. The run is
    logged in the database from start to finish (its end when the run report announces its
    verdict, signal `run_judged`).

    Stats: ``parknews/state/conflicts``, records of this run that another writer sharing the
    state committed first (each logged with its file).

    Records reach the state in three steps. The dedup pipeline announces each record on its
    way to a feed (`record_to_commit`). When an output file is whole on disk but not yet
    under its final name (`batch_ready`), its records are staged in the database. Once the
    file is in place (`feed_slot_closed`), they are committed and the commit announced
    (`batch_committed`). A batch of duplicates waits until the batches holding their
    originals are committed, so the state never holds a copy of an article it does not hold.
    A run stopped at any point leaves the next one to settle its staged batches
    (`finish_staged_batches`). Once an output file could not be written
    (`output_failed`), no later one is put in place: the state does not advance past it.
    """

    def __init__(
        self,
        crawler: Crawler,
        store: StateBackend,
        lock: RunLock | None,
        shared: SharedRun | None = None,
    ) -> None:
        self.crawler = crawler
        self.store = store
        self.lock = lock
        self.shared = shared
        """The run this worker shares with others through Redis, if any."""
        self.run_number = shared.run_id if shared is not None else store.start_run()
        self.output_dir = Path("output")
        self.pending: dict[str, dict[str, Any]] = {}
        """What to commit for each record on its way to a feed, by URL."""
        self.staged: dict[str, list[dict[str, Any]]] = {}
        """The rows of each batch staged and not yet committed, by the file's final path."""
        self.in_place: set[str] = set()
        """Staged batches whose file has its final name, waiting for their commit."""
        self.output_failure: str | None = None
        self.committed = 0
        self.walks_ended: set[Walk] = set()
        self.state_failures: set[str] = set()
        self.walks_failed: set[Walk] = set()

    @classmethod
    def from_crawler(cls, crawler: Crawler) -> CrawlState:
        settings = parknews_settings(crawler.settings)
        if not settings.getbool("PARKNEWS_STATE_ENABLED"):
            raise NotConfigured
        path = Path(settings.get("PARKNEWS_STATE_PATH"))
        shared = shared_run(crawler.settings)
        lock = None
        if shared is None and not crawler.settings.getbool(LOCK_HELD_SETTING):
            lock = RunLock(lock_path_for(path))
            lock.acquire()
        try:
            store = open_store(crawler.settings)
        except BaseException:
            if lock is not None:
                lock.release()
            raise
        left_behind = shared.left_behind if shared is not None else everything
        for line in finish_staged_batches(store, left_behind=left_behind):
            logger.warning("Interrupted run's output: %s", line)
        extension = cls(crawler, store, lock, shared)
        output_dir = extension.output_dir = Path(settings.get("PARKNEWS_OUTPUT_DIR"))
        for partial in remove_unfinished_files(output_dir, left_behind):
            logger.warning("Removed %s, left unfinished by an interrupted run", partial)
        connect = crawler.signals.connect
        connect(extension.spider_opened, signal=signals.spider_opened)
        connect(extension.batch_ready, signal=parknews_signals.batch_ready)
        connect(extension.feed_slot_closed, signal=signals.feed_slot_closed)
        connect(extension.record_to_commit, signal=parknews_signals.record_to_commit)
        connect(extension.walk_ended, signal=parknews_signals.walk_ended)
        connect(extension.article_unfetched, signal=parknews_signals.article_unfetched)
        connect(extension.run_judged, signal=parknews_signals.run_judged)
        connect(extension.state_failed, signal=parknews_signals.state_failed)
        return extension

    def spider_opened(self) -> None:
        """Hand the store to the components that read it."""
        self.crawler.signals.send_catch_log(parknews_signals.state_opened, store=self.store)

    def state_failed(self, message: str) -> None:
        """The state or the shared frontier cannot be used: log why, once, and stop the run
        (without its state it would fetch and write everything again)."""
        if message not in self.state_failures:
            self.state_failures.add(message)
            logger.error("%s: the run stops; the next run picks up what it did not write", message)
        engine = self.crawler.engine
        if engine is not None:
            deferred_from_coro(engine.close_spider_async(reason=STATE_UNUSABLE))

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

    def batch_ready(self, path: str, urls: list[str]) -> str | None:
        """Stage the records of an output file about to get its final name; a message
        refusing the file when the state cannot stage them, or an earlier file failed."""
        if self.output_failure is not None:
            return f"an earlier output file could not be written ({self.output_failure})"
        rows = [self.pending.pop(url) for url in urls if url in self.pending]
        try:
            self.store.stage_batch(path, rows)
        except StateError as exc:
            self.pending.update((row["url"], row) for row in rows)
            self.failed(str(exc))
            return str(exc)
        self.staged[path] = rows
        return None

    def feed_slot_closed(self, slot: FeedSlot) -> None:
        """Commit the records of an output file now in place (once the originals of any
        duplicates among them are committed); a file that was not stored fails the run."""
        final = getattr(slot.storage, "final_path", None)
        if final is None:
            logger.warning(
                "%s is not an output file of parknews's own storage: its records are not "
                "committed to the state, so the next run writes them again",
                slot.uri,
            )
            return
        path = str(final)
        if not getattr(slot.storage, "stored", False):
            if self.staged.pop(path, None) is not None:
                self.forget_batch(path)
            self.failed(f"output file {slot.uri} could not be written")
            return
        if path in self.staged:
            self.in_place.add(path)
            self.commit_in_place()

    def uncommitted_originals(self) -> set[str]:
        """Ids of the articles (not duplicates) announced or staged and not yet committed."""
        rows = [*self.pending.values(), *(row for rows in self.staged.values() for row in rows)]
        return {str(row["id"]) for row in rows if not row.get("duplicate_of")}

    def commit_in_place(self, *, waiting_allowed: bool = True) -> None:
        """Commit the batches in place, originals before their duplicates; with
        `waiting_allowed` False (the run is over), commit every batch in place."""
        while self.in_place:
            waiting = self.uncommitted_originals() if waiting_allowed else set()
            ready = [
                path
                for path in sorted(self.in_place)
                if not any(row.get("duplicate_of") in waiting for row in self.staged[path])
            ]
            if not ready:
                return
            for path in ready:
                if not self.commit(path):
                    return

    def commit(self, path: str) -> bool:
        """Commit one staged batch whose file is in place; False when the state failed."""
        try:
            result = self.store.commit_batch(path, run_id=self.run_number)
        except StateError as exc:
            # The batch stays staged in the database: the next run commits it.
            self.in_place.discard(path)
            self.failed(str(exc))
            return False
        for conflict in result.conflicts:
            # Another writer sharing the state committed this article first.
            logger.warning(
                "%s: article %s (%s) was committed first by another writer as %s",
                path,
                conflict.key,
                conflict.id,
                conflict.duplicate_of,
            )
        if self.crawler.stats is not None and result.conflicts:
            self.crawler.stats.inc_value("parknews/state/conflicts", len(result.conflicts))
        rows = self.staged.pop(path)
        self.in_place.discard(path)
        self.committed += len(rows)
        self.crawler.signals.send_catch_log(
            parknews_signals.batch_committed, keys=[str(row["key"]) for row in rows]
        )
        return True

    def forget_batch(self, path: str) -> None:
        try:
            self.store.discard_batch(path)
        except StateError as exc:
            logger.error("%s", exc)

    def failed(self, message: str) -> None:
        """Records could not be written or committed: no later file is put in place."""
        logger.error("%s", message)
        if self.output_failure is None:
            self.output_failure = message
        self.crawler.signals.send_catch_log(parknews_signals.output_failed, message=message)

    def uncommitted(self) -> int:
        """Records announced and not committed: in no file in place, or in one whose commit
        failed."""
        return len(self.pending) + sum(len(rows) for rows in self.staged.values())

    def run_judged(self, report: dict[str, Any], exit_status: int) -> None:
        """Commit what is in place, record the walks this run completed and log its end in
        the state, then let the lock go. Sent once the feeds are stored."""
        self.commit_in_place(waiting_allowed=False)
        stats = self.crawler.stats
        finish_reason = stats.get_value("finish_reason") if stats else None
        uncommitted = self.uncommitted()
        done = completed_walks(self.walks_ended, self.walks_failed, finish_reason, uncommitted)
        if self.shared is not None:
            clean = finish_reason == "finished" and not uncommitted
            self.leave_shared_run(report, clean=clean)
            return
        try:
            if done:
                self.store.mark_walks(sorted(done), complete=True)
            self.store.finish_run(
                self.run_number,
                status=RUN_LOG_STATUS.get(exit_status, "failed"),
                exit_code=exit_status,
                report={"committed": self.committed, "uncommitted": uncommitted},
            )
        except StateError as exc:
            logger.error("%s", exc)
        finally:
            self.store.close()
            if self.lock is not None:
                self.lock.release()

    def leave_shared_run(self, report: dict[str, Any], *, clean: bool) -> None:
        """Leave the shared run with this worker's report and walks. The last worker to
        leave closes it: the walks the run completed are recorded (only when every worker
        ended cleanly), and the merged report is written and logged as the run's."""
        assert self.shared is not None
        try:
            closing = self.shared.leave(
                clean=clean,
                report=report,
                walks_ended=self.walks_ended,
                walks_failed=self.walks_failed,
            )
            if closing is None:
                logger.info("Left run %s; other workers finish it", self.shared.name)
                return
            merged = merge_reports(
                self.shared.name,
                closing.reports,
                Thresholds.from_settings(self.crawler.settings),
                complete=closing.clean,
            )
            if closing.clean and closing.walks_complete:
                self.store.mark_walks(closing.walks_complete, complete=True)
            status = int(merged["exit_status"])
            self.store.finish_run(
                self.run_number,
                status=RUN_LOG_STATUS.get(status, "failed"),
                exit_code=status,
                report={"workers": len(closing.reports), "sites": merged["sites"]},
            )
            path = self.output_dir / "runs" / f"{self.shared.name}.json"
            write_atomically(path, json.dumps(merged, ensure_ascii=False, indent=2) + "\n")
            logger.info(
                "Closed run %s of %d workers: report %s",
                self.shared.name,
                len(closing.reports),
                path,
            )
            for key, site in merged["sites"].items():
                for problem in site["problems"]:
                    logger.error("Site %s failed: %s", key, problem)
            self.crawler.signals.send_catch_log(
                parknews_signals.shared_run_closed, report=merged, exit_status=status
            )
        except (StateError, OSError) as exc:
            logger.error("Cannot close the shared run: %s", exc)
        finally:
            self.shared.close()
            self.store.close()
