"""`scrapy crawl`, with parknews spider arguments checked before anything starts."""

from __future__ import annotations

import argparse
import sys

from scrapy.commands.crawl import Command as ScrapyCrawlCommand

from crawler.spiders.parknews import ArgumentError, ParknewsSpider, parse_arguments


class Command(ScrapyCrawlCommand):
    """Scrapy's crawl command; a bad `-a` argument of the parknews spider ends the run at once,
    before logging starts, with one line on stderr and exit status 2."""

    def process_options(self, args: list[str], opts: argparse.Namespace) -> None:
        super().process_options(args, opts)
        if args and args[0] == ParknewsSpider.name:
            try:
                parse_arguments(dict(opts.spargs))
            except ArgumentError as exc:
                print(f"parknews: error: {exc}", file=sys.stderr)
                sys.exit(2)
