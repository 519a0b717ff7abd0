"""`scrapy crawl`, with parknews spider arguments checked before anything starts."""

from __future__ import annotations

import argparse
import sys

from scrapy import Spider
from scrapy.commands.crawl import Command as ScrapyCrawlCommand
from scrapy.crawler import Crawler

from crawler.report import ExitStatus
from crawler.spiders.parknews import ArgumentError, ParknewsSpider, parse_arguments


class Command(ScrapyCrawlCommand):
    """Scrapy's crawl command; a bad `-a` argument of the parknews spider ends the run at once,
    before logging starts, with one line on stderr and exit status 2, and the exit status of a
    finished run is the one its run report decided (see crawler.report.ExitStatus)."""

    crawler: Crawler | None = None

    def _create_crawler(self, spidercls: type[Spider] | str) -> Crawler:
        self.crawler = super()._create_crawler(spidercls)
        return self.crawler

    def run(self, args: list[str], opts: argparse.Namespace) -> None:
        super().run(args, opts)
        stats = self.crawler.stats if self.crawler is not None else None
        decided = stats.get_value("parknews/exit_status") if stats is not None else None
        if self.exitcode == 0 and decided:
            self.exitcode = int(decided)

    def process_options(self, args: list[str], opts: argparse.Namespace) -> None:
        super().process_options(args, opts)
        if args and args[0] == ParknewsSpider.name:
            try:
                parse_arguments(dict(opts.spargs))
            except ArgumentError as exc:
                print(f"parknews: error: {exc}", file=sys.stderr)
                sys.exit(ExitStatus.USAGE)
