"""A crawl extension that kills its own process at a chosen point of the output, for the
exactly-once tests: the kill lands deterministically inside a window of the batch protocol.

Enabled with `-s EXTENSIONS={"tests.faults.killer.KillAt": ORDER}` and the environment
variable PARKNEWS_TEST_KILL_AT = "<signal>:<feed>:<n>", where <signal> is `batch_ready` (the
file is whole and its records staged, not yet under its final name) or `feed_slot_closed`
(the file has its final name); <feed> is `articles` or `duplicates`; the process is sent
SIGKILL (or the signals PARKNEWS_TEST_KILL_SIGNAL names, e.g. "SIGTERM", or "SIGINT,SIGINT"
for a user pressing Ctrl-C twice) at the <n>th such event. The extension's ORDER puts its
handler before (below 510) or after (above 510) the crawl state's.
"""

from __future__ import annotations

import os
import signal
from pathlib import Path
from typing import Any

from scrapy import signals
from scrapy.crawler import Crawler
from scrapy.exceptions import NotConfigured

from crawler import signals as parknews_signals


class KillAt:
    """Signal this process at the nth output event of one feed."""

    def __init__(self, event: str, feed: str, count: int, sent: list[signal.Signals]) -> None:
        self.event = event
        self.feed = feed
        self.count = count
        self.sent = sent
        self.seen = 0

    @classmethod
    def from_crawler(cls, crawler: Crawler) -> KillAt:
        spec = os.environ.get("PARKNEWS_TEST_KILL_AT")
        if not spec:
            raise NotConfigured
        event, feed, count = spec.split(":")
        names = os.environ.get("PARKNEWS_TEST_KILL_SIGNAL", "SIGKILL").split(",")
        sent = [signal.Signals[name] for name in names]
        killer = cls(event, feed, int(count), sent)
        if event == "batch_ready":
            crawler.signals.connect(killer.batch_ready, signal=parknews_signals.batch_ready)
        else:
            crawler.signals.connect(killer.feed_slot_closed, signal=signals.feed_slot_closed)
        return killer

    def batch_ready(self, path: str) -> None:
        self.maybe_kill(path)

    def feed_slot_closed(self, slot: Any) -> None:
        self.maybe_kill(str(getattr(slot.storage, "path", slot.uri)))

    def maybe_kill(self, path: str) -> None:
        if Path(path).parent.name != self.feed:
            return
        self.seen += 1
        if self.seen == self.count:
            for sent in self.sent:
                os.kill(os.getpid(), sent)
