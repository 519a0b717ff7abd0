"""`scrapy crawl`, with the parknews run checked before anything starts: its arguments, its
state database, its output folder and the run lock."""

from __future__ import annotations

import argparse
import sys
import tempfile
from pathlib import Path
from typing import NoReturn

from scrapy import Spider
from scrapy.commands.crawl import Command as ScrapyCrawlCommand
from scrapy.crawler import Crawler

from crawler.incremental import LOCK_HELD_SETTING, state_path
from crawler.report import ExitStatus
from crawler.spiders.parknews import ArgumentError, ParknewsSpider, parse_arguments
from crawler.state import AlreadyRunning, RunLock, StateError, StateStore, lock_path_for


def refuse(message: str, status: ExitStatus) -> NoReturn:
    """End the run before it starts: one line on stderr and the exit status."""
    print(f"parknews: error: {message}", file=sys.stderr)
    sys.exit(int(status))


def check_output_dir(output_dir: Path) -> str | None:
    """Why records could not be written under `output_dir`, or None when they can."""
    try:
        output_dir.mkdir(parents=True, exist_ok=True)
        with tempfile.NamedTemporaryFile(dir=output_dir, prefix=".write-check-"):
            pass
    except OSError as exc:
        return f"cannot write to the output folder {output_dir}: {exc.strerror or exc}"
    return None


class Command(ScrapyCrawlCommand):
    """Scrapy's crawl command. Before a parknews run starts it checks, each with one line on
    stderr and its own exit status (crawler.report.ExitStatus): the spider arguments (2), the
    output folder (73), the state database (65), and that no other run holds the lock (75).
    The exit status of a finished run is the one its run report decided."""

    crawler: Crawler | None = None
    lock: RunLock | None = None

    def process_options(self, args: list[str], opts: argparse.Namespace) -> None:
        super().process_options(args, opts)
        if not args or args[0] != ParknewsSpider.name:
            return
        try:
            parse_arguments(dict(opts.spargs))
        except ArgumentError as exc:
            refuse(str(exc), ExitStatus.USAGE)
        assert self.settings is not None
        problem = check_output_dir(Path(self.settings.get("PARKNEWS_OUTPUT_DIR", "output")))
        if problem:
            refuse(problem, ExitStatus.OUTPUT)
        if not self.settings.getbool("PARKNEWS_STATE_ENABLED", True):
            return
        path = state_path(self.settings)
        self.lock = RunLock(lock_path_for(path))
        try:
            self.lock.acquire()
        except AlreadyRunning as exc:
            refuse(str(exc), ExitStatus.ALREADY_RUNNING)
        except OSError as exc:
            refuse(f"cannot take the run lock beside {path}: {exc.strerror}", ExitStatus.STATE)
        try:
            StateStore(path).close()
        except StateError as exc:
            refuse(str(exc), ExitStatus.STATE)
        self.settings.set(LOCK_HELD_SETTING, True, priority="cmdline")

    def _create_crawler(self, spidercls: type[Spider] | str) -> Crawler:
        self.crawler = super()._create_crawler(spidercls)
        return self.crawler

    def run(self, args: list[str], opts: argparse.Namespace) -> None:
        super().run(args, opts)
        stats = self.crawler.stats if self.crawler is not None else None
        decided = stats.get_value("parknews/exit_status") if stats is not None else None
        if self.exitcode == 0 and decided:
            self.exitcode = int(decided)
