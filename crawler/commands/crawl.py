"""`scrapy crawl`, with the parknews run checked before anything starts: its arguments, its
state database, its output folder and the run lock."""

from __future__ import annotations

import argparse
import signal
import sys
import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import NoReturn

from scrapy.commands.crawl import Command as ScrapyCrawlCommand

from crawler import signals as parknews_signals
from crawler.arguments import ArgumentError, parse_arguments
from crawler.default_settings import parknews_settings, redis_url
from crawler.extensions.crawlstate import LOCK_HELD_SETTING, open_store
from crawler.extensions.report import ExitStatus
from crawler.feeds import new_run_id, output_folder
from crawler.sites import SitesFileError, load_sites
from crawler.spiders.parknews import ParknewsSpider
from crawler.state.base import StateBackend
from crawler.state.errors import StateError
from crawler.state.lock import AlreadyRunning, RunLock, lock_path_for
from crawler.state.sharedrun import RunInProgress, join_shared_run
from crawler.state.store import StateStore


def refuse(message: str, status: ExitStatus) -> NoReturn:
    """End the run before it starts: one line on stderr and the exit status."""
    print(f"parknews: error: {message}", file=sys.stderr)
    sys.exit(int(status))


OUTPUT_FOLDERS = ("articles", "duplicates", "runs")
"""The folders under PARKNEWS_OUTPUT_DIR that a run writes: the two feeds and the reports."""


def check_output_dir(output_dir: Path) -> str | None:
    """Why a run could not write every folder it writes under `output_dir`, or None when
    it can (the folders are made when missing)."""
    for folder in (output_dir, *(output_dir / name for name in OUTPUT_FOLDERS)):
        try:
            folder.mkdir(parents=True, exist_ok=True)
            with tempfile.NamedTemporaryFile(dir=folder, prefix=".write-check-"):
                pass
        except OSError as exc:
            return f"cannot write to the output folder {folder}: {exc.strerror or exc}"
    return None


def check_state_file(path: Path, output_dir: Path) -> str | None:
    """Why the state file cannot be used for this run, or None. An empty file beside the
    output of earlier runs is refused: with no state every article would be written again
    (a missing file is how a user asks for that)."""
    try:
        empty = path.is_file() and path.stat().st_size == 0
    except OSError as exc:
        return f"cannot read the state file {path}: {exc.strerror or exc}"
    written = sorted((output_dir / "articles").glob("*.jsonl")) if empty else []
    if written:
        return (
            f"the state file {path} is empty, but {output_dir / 'articles'} holds "
            f"{len(written)} files of earlier runs: with no state, this run would write every "
            f"article again. Restore the state file from a backup, or, to start afresh on "
            f"purpose, delete it (rm {path}) and run again."
        )
    return check_store(lambda: StateStore(path))


def check_store(opened: Callable[[], StateBackend]) -> str | None:
    """Why the store `opened` gives cannot be used for this run (it fails to open or to pass
    its integrity check), or None."""
    try:
        with opened() as store:
            store.check_integrity()
    except StateError as exc:
        return str(exc)
    return None


class Command(ScrapyCrawlCommand):
    """Scrapy's crawl command. Before a parknews run starts it checks, each with one line on
    stderr and its own exit status (crawler.extensions.report.ExitStatus): the sites file
    PARKNEWS_SITES_FILE names and the spider arguments (2), every output folder (73), that
    no other run holds the lock (75), and the state database, every page of it, or the Redis
    state of REDIS_URL (65). With REDIS_URL, the namespace's current run is the lock: the
    worker joins it, or starts one, unless it started too long ago to join (75). The exit
    status of a finished run is the one its run report announced (signal `run_judged`; for
    the worker that closes a shared run, the merged verdict, `shared_run_closed`); a run
    stopped before it was judged exits with INTERRUPTED (130)."""

    lock: RunLock | None = None
    judged: int | None = None

    def process_options(self, args: list[str], opts: argparse.Namespace) -> None:
        super().process_options(args, opts)
        if not args or args[0] != ParknewsSpider.name:
            return
        assert self.settings is not None
        settings = parknews_settings(self.settings)
        try:
            parse_arguments(dict(opts.spargs), load_sites(settings.get("PARKNEWS_SITES_FILE")))
        except (ArgumentError, SitesFileError) as exc:
            refuse(str(exc), ExitStatus.USAGE)
        problem = check_output_dir(Path(settings.get("PARKNEWS_OUTPUT_DIR")))
        if problem:
            refuse(problem, ExitStatus.OUTPUT)
        if not settings.getbool("PARKNEWS_STATE_ENABLED"):
            return
        given = self.settings
        if redis_url(given):
            # Workers sharing the crawl: the namespace's current run is the lock.
            problem = check_store(lambda: open_store(given))
            if problem:
                refuse(problem, ExitStatus.STATE)
            try:
                join_shared_run(given, new_run_id(output_folder(given)))
            except RunInProgress as exc:
                refuse(str(exc), ExitStatus.ALREADY_RUNNING)
            except StateError as exc:
                refuse(str(exc), ExitStatus.STATE)
            return
        path = Path(settings.get("PARKNEWS_STATE_PATH"))
        self.lock = RunLock(lock_path_for(path))
        try:
            self.lock.acquire()
        except AlreadyRunning as exc:
            refuse(str(exc), ExitStatus.ALREADY_RUNNING)
        except OSError as exc:
            refuse(f"cannot take the run lock beside {path}: {exc.strerror}", ExitStatus.STATE)
        problem = check_state_file(path, Path(settings.get("PARKNEWS_OUTPUT_DIR")))
        if problem:
            refuse(problem, ExitStatus.STATE)
        self.settings.set(LOCK_HELD_SETTING, True, priority="cmdline")

    def run(self, args: list[str], opts: argparse.Namespace) -> None:
        if len(args) != 1 or args[0] != ParknewsSpider.name:
            super().run(args, opts)
            return
        assert self.crawler_process is not None
        crawler = self.crawler_process.create_crawler(args[0])
        crawler.signals.connect(self.run_judged, signal=parknews_signals.run_judged)
        crawler.signals.connect(self.run_judged, signal=parknews_signals.shared_run_closed)
        self.crawler_process.crawl(crawler, **opts.spargs)
        self.crawler_process.start()
        # The crawl is over: a Ctrl-C pressed a moment too late must not turn its verdict
        # into a traceback.
        signal.signal(signal.SIGINT, signal.SIG_IGN)
        if self.crawler_process.bootstrap_failed:
            self.exitcode = 1
        elif self.judged is None:
            # A second Ctrl-C stops the reactor before the engine: the run was never judged.
            print(
                "parknews: the run was stopped before its end and not judged; nothing "
                "written is lost, and the next run picks up what this one did not write",
                file=sys.stderr,
            )
            self.exitcode = int(ExitStatus.INTERRUPTED)
        else:
            self.exitcode = self.judged

    def run_judged(self, exit_status: int) -> None:
        """Exit with the run report's verdict."""
        self.judged = exit_status
