"""The run report: what each site gave and what failed, as output/runs/<run>.json, a table at
the end of the log, and the exit status cron sees."""

from __future__ import annotations

import json
import logging
import time
from collections import Counter, defaultdict
from collections.abc import Mapping
from dataclasses import dataclass, field
from enum import IntEnum
from pathlib import Path
from typing import Any

from scrapy import Request, Spider, signals
from scrapy.crawler import Crawler
from scrapy.http import Response
from scrapy.settings import BaseSettings
from scrapy.statscollectors import StatsCollector

from crawler import signals as parknews_signals
from crawler.default_settings import parknews_settings
from crawler.feeds import PARTIAL_SUFFIX, put_in_place
from crawler.sites import SiteProfile
from crawler.state.sharedrun import shares_run

logger = logging.getLogger(__name__)


class ExitStatus(IntEnum):
    """Exit statuses of `scrapy crawl parknews`, for cron and wrappers."""

    OK = 0
    SITE_FAILED = 1
    """A site had errors above the threshold, no list entries, or poor field coverage."""
    USAGE = 2
    """A bad argument."""
    STATE = 65
    """The state database cannot be used (sysexits EX_DATAERR); the message says how to
    recover."""
    OUTPUT = 73
    """Records could not be written (sysexits EX_CANTCREAT); the state did not advance."""
    ALREADY_RUNNING = 75
    """Another run holds the lock (sysexits EX_TEMPFAIL: try again later)."""
    INTERRUPTED = 130
    """The run was stopped before its end (Ctrl-C, SIGTERM; 128 + SIGINT, as shells report
    it): nothing written is lost, and the next run picks up what this one did not write."""


INTERRUPTED_REASONS = frozenset({"shutdown"})
"""Why a spider closes when a signal stopped the run (Scrapy's finish_reason)."""
STATE_UNUSABLE = "state_unusable"
"""The finish_reason of a run the spider stopped because the state database failed."""


def verdict(sites: dict[str, dict[str, Any]], reason: str, output_failed: bool) -> ExitStatus:
    """The exit status of a run, the gravest first: records not written, the state
    unusable, the run interrupted, a site failed."""
    if output_failed:
        return ExitStatus.OUTPUT
    if reason == STATE_UNUSABLE:
        return ExitStatus.STATE
    if reason in INTERRUPTED_REASONS:
        return ExitStatus.INTERRUPTED
    if any(site["problems"] for site in sites.values()):
        return ExitStatus.SITE_FAILED
    return ExitStatus.OK


@dataclass(frozen=True)
class Thresholds:
    """When a site counts as failed (settings PARKNEWS_RUN_*)."""

    max_error_share: float
    min_errors: int
    min_field_coverage: float

    @classmethod
    def from_settings(cls, settings: BaseSettings) -> Thresholds:
        configured = parknews_settings(settings)
        return cls(
            max_error_share=configured.getfloat("PARKNEWS_RUN_MAX_ERROR_SHARE"),
            min_errors=configured.getint("PARKNEWS_RUN_MIN_ERRORS"),
            min_field_coverage=configured.getfloat("PARKNEWS_RUN_MIN_FIELD_COVERAGE"),
        )


@dataclass
class SiteRun:
    """What one site did during the run."""

    requests: int = 0
    list_pages: int = 0
    list_entries: int = 0
    families: Counter[str] = field(default_factory=Counter)
    """List pages read, by the CMS family they were read as."""
    articles: Counter[str] = field(default_factory=Counter)
    errors: list[dict[str, str]] = field(default_factory=list)
    coverage: Counter[str] = field(default_factory=Counter)
    records: int = 0
    started: float | None = None
    finished: float | None = None


COVERED_FIELDS = ("title", "published_at", "body")


def site_problems(site: Mapping[str, Any], thresholds: Thresholds) -> list[str]:
    """Why a site's run counts as failed, from its part of the report (`site_summary`); empty
    when it does not."""
    problems = []
    if site["list_pages"] and site["list_entries"] == 0:
        problems.append("its list pages held no articles (a redesign?)")
    if site["list_pages"] == 0:
        problems.append("no list page could be read")
    errors = len(site["errors"])
    requests = site["requests"]
    if (
        requests
        and errors >= thresholds.min_errors
        and errors / requests > thresholds.max_error_share
    ):
        problems.append(
            f"{errors / requests:.0%} of requests failed (limit {thresholds.max_error_share:.0%})"
        )
    if site["records"]:
        for name in COVERED_FIELDS:
            share = site["field_coverage"][name] / site["records"]
            if share < thresholds.min_field_coverage:
                problems.append(f"only {share:.0%} of records have {name}")
    return problems


def site_summary(site: SiteRun, thresholds: Thresholds, judged: bool = True) -> dict[str, Any]:
    """One site's part of the report file; `problems` is empty when the site is not judged."""
    kinds = Counter(error["kind"] for error in site.errors)
    duration = (site.finished or 0) - (site.started or 0) if site.started else 0.0
    summary: dict[str, Any] = {
        "requests": site.requests,
        "list_pages": site.list_pages,
        "list_entries": site.list_entries,
        "list_families": dict(site.families),
        "articles": dict(site.articles),
        "records": site.records,
        "field_coverage": {name: site.coverage[name] for name in COVERED_FIELDS},
        "errors_by_kind": dict(kinds),
        "errors": site.errors,
        "duration_seconds": round(duration, 3),
    }
    summary["problems"] = site_problems(summary, thresholds) if judged else []
    return summary


GRAVEST_FIRST = (ExitStatus.OUTPUT, ExitStatus.STATE, ExitStatus.INTERRUPTED)
"""Exit statuses of a worker that a run shared by several workers passes on, gravest first."""


def merge_reports(
    name: str, reports: list[dict[str, Any]], thresholds: Thresholds, *, complete: bool = True
) -> dict[str, Any]:
    """The report of a run several workers shared, from theirs (which judge no site: each
    saw only part of every site): counts added up site by site, errors gathered, each site
    judged on the sum, and the gravest exit status of a worker or else the sites' verdict;
    `workers` keeps each worker's run_id, finish reason and exit status. A run that lost a
    worker (`complete` False) is interrupted: its sites are not judged."""
    sites: dict[str, dict[str, Any]] = {}
    for report in reports:
        for key, site in report.get("sites", {}).items():
            merged = sites.setdefault(key, {})
            for field_name, value in site.items():
                if field_name != "problems":
                    merged[field_name] = _merged(merged.get(field_name), value, field_name)
    interrupted = not complete or any(r.get("interrupted") for r in reports)
    for site in sites.values():
        site["problems"] = [] if interrupted else site_problems(site, thresholds)
    statuses = {int(report.get("exit_status", 0)) for report in reports}
    gravest = next((status for status in GRAVEST_FIRST if status in statuses), None)
    reason = "shutdown" if interrupted else "finished"
    status = gravest if gravest is not None else verdict(sites, reason, False)
    return {
        "run_id": name,
        "finish_reason": ",".join(sorted({str(r.get("finish_reason")) for r in reports})),
        "interrupted": interrupted,
        "duration_seconds": max((float(r.get("duration_seconds", 0)) for r in reports), default=0),
        "exit_status": int(status),
        "sites": dict(sorted(sites.items())),
        "run_errors": [error for r in reports for error in r.get("run_errors", [])],
        "workers": [
            {k: r.get(k) for k in ("run_id", "finish_reason", "exit_status")} for r in reports
        ],
    }


def _merged(mine: Any, theirs: Any, field_name: str) -> Any:
    """Two workers' values of one report field: numbers added (durations: the longest),
    lists joined, mappings merged key by key."""
    if mine is None:
        return theirs
    if isinstance(theirs, dict):
        return {k: _merged(mine.get(k), v, k) for k, v in theirs.items()} | {
            k: v for k, v in mine.items() if k not in theirs
        }
    if isinstance(theirs, list):
        return mine + theirs
    if field_name == "duration_seconds":
        return max(mine, theirs)
    return mine + theirs


def summary_table(sites: dict[str, dict[str, Any]], interrupted: bool = False) -> str:
    """The per-site summary as a fixed-width table for the end of the log; the sites of an
    interrupted run are not judged."""
    header = ("site", "requests", "lists", "new", "updated", "dup", "errors", "seconds", "status")
    rows = [header]
    for key, site in sites.items():
        articles = site["articles"]
        rows.append(
            (
                key,
                str(site["requests"]),
                str(site["list_pages"]),
                str(articles.get("new", 0)),
                str(articles.get("updated", 0)),
                str(articles.get("duplicate", 0)),
                str(sum(site["errors_by_kind"].values())),
                f"{site['duration_seconds']:.1f}",
                "interrupted" if interrupted else "FAILED" if site["problems"] else "ok",
            )
        )
    widths = [max(len(row[i]) for row in rows) for i in range(len(header))]
    return "\n".join(
        "  ".join(cell.ljust(w) for cell, w in zip(row, widths, strict=True)) for row in rows
    )


def write_atomically(path: Path, text: str) -> None:
    """Write `text` beside `path`, fsync it, and rename it into place; when that fails, no
    partial file is left behind (OSError)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    partial = path.with_name(path.name + PARTIAL_SUFFIX)
    try:
        with partial.open("w", encoding="utf-8") as stream:
            stream.write(text)
            put_in_place(stream, partial, path)
    except OSError:
        partial.unlink(missing_ok=True)
        raise


class RunReport:
    """Extension: gathers per-site figures during the crawl and, once the engine has stopped
    (the feeds are stored by then, so a failed output counts), judges the run: it writes
    `<PARKNEWS_OUTPUT_DIR>/runs/<run>.json`, logs the summary table, sets the stat
    `parknews/exit_status` and announces the verdict with the signal `run_judged`.

    It listens to the project's signals (`crawl_planned`, `list_page_read`, `failure`,
    `output_failed`) and to Scrapy's `response_received` and `item_scraped`.
    """

    def __init__(self, crawler: Crawler, output_dir: Path, thresholds: Thresholds) -> None:
        self.crawler = crawler
        self.output_dir = output_dir
        self.thresholds = thresholds
        self.judges_sites = True
        """False for a worker of a shared run: the run's closer judges the sites on the sum of
        what every worker did (`merge_reports`)."""
        self.profiles: Mapping[str, SiteProfile] = {}
        self.run_id: str | None = None
        self.sites: dict[str, SiteRun] = defaultdict(SiteRun)
        self.run_errors: list[str] = []
        self.output_failed = False
        self.started = time.time()

    @classmethod
    def from_crawler(cls, crawler: Crawler) -> RunReport:
        settings = parknews_settings(crawler.settings)
        extension = cls(
            crawler,
            Path(settings.get("PARKNEWS_OUTPUT_DIR")),
            Thresholds.from_settings(crawler.settings),
        )
        extension.judges_sites = not shares_run(crawler.settings)
        connect = crawler.signals.connect
        connect(extension.crawl_planned, signal=parknews_signals.crawl_planned)
        connect(extension.list_page, signal=parknews_signals.list_page_read)
        connect(extension.failure, signal=parknews_signals.failure)
        connect(extension.output_failure, signal=parknews_signals.output_failed)
        connect(extension.response_received, signal=signals.response_received)
        connect(extension.item_scraped, signal=signals.item_scraped)
        connect(extension.engine_stopped, signal=signals.engine_stopped)
        return extension

    @property
    def stats(self) -> StatsCollector:
        assert self.crawler.stats is not None
        return self.crawler.stats

    def crawl_planned(self, profiles: Mapping[str, SiteProfile], run_id: str) -> None:
        """The sites of the run: every one of them appears in the report."""
        self.profiles = profiles
        self.run_id = run_id

    def site_of(self, url: str) -> str | None:
        """The key of the crawled site that owns `url`."""
        return next((key for key, p in self.profiles.items() if p.owns_url(url)), None)

    def response_received(self, response: Response, request: Request, spider: Spider) -> None:
        key = self.site_of(request.url)
        if key is not None:
            self.count_request(key)

    def count_request(self, key: str) -> None:
        """One request of site `key` answered or given up on (robots.txt included)."""
        site = self.sites[key]
        now = time.time()
        site.requests += 1
        site.started = site.started or now
        site.finished = now

    def item_scraped(self, item: Any, response: Response, spider: Spider) -> None:
        key = item.get("site") if isinstance(item, dict) else None
        if key is None:
            return
        site = self.sites[key]
        if item.get("duplicate_of"):
            site.articles["duplicate"] += 1
            return
        site.articles["updated" if (item.get("revision") or 1) > 1 else "new"] += 1
        site.records += 1
        for name in COVERED_FIELDS:
            if item.get(name):
                site.coverage[name] += 1

    def list_page(self, site: str, entries: int, family: str = "") -> None:
        """A list page read, the article links it held and the family it was read as."""
        self.sites[site].list_pages += 1
        self.sites[site].list_entries += entries
        if family:
            self.sites[site].families[family] += 1

    def failure(
        self, site: str | None, url: str, kind: str, detail: str = "", unanswered: bool = False
    ) -> None:
        """A failed request or unusable page; `unanswered` when no response came back at all
        (timeout, reset, DNS), so the request is counted here."""
        site = site or self.site_of(url)
        if unanswered and site is not None:
            self.count_request(site)
        entry = {"url": url, "kind": kind}
        if detail:
            entry["detail"] = detail[:300]
        if site is None:
            self.run_errors.append(f"{kind}: {url}")
        else:
            self.sites[site].errors.append(entry)

    def output_failure(self, message: str) -> None:
        """Records could not be written or committed: the run must not pass."""
        self.run_errors.append(message)
        self.output_failed = True

    def report(self, reason: str) -> dict[str, Any]:
        """The report as written to the run file. The sites of an interrupted run are not
        judged: what they did not do, the stop kept them from."""
        interrupted = reason in INTERRUPTED_REASONS
        for key in self.profiles:
            self.sites[key]  # every crawled site appears, even one that never answered
        sites = {
            key: site_summary(run, self.thresholds, judged=self.judges_sites and not interrupted)
            for key, run in sorted(self.sites.items())
        }
        feed_failures = any(
            value
            for name, value in self.stats.get_stats().items()
            if name.startswith("feedexport/failed_count/")
        )
        status = verdict(sites, reason, self.output_failed or bool(feed_failures))
        return {
            "run_id": self.run_id,
            "finish_reason": reason,
            "interrupted": interrupted,
            "duration_seconds": round(time.time() - self.started, 3),
            "exit_status": int(status),
            "sites": sites,
            "run_errors": self.run_errors,
        }

    def engine_stopped(self) -> None:
        """Judge the run, write and log the report, and announce the verdict."""
        # Scrapy's core stats hold why the spider closed ("finished", "shutdown", …).
        report = self.report(str(self.stats.get_value("finish_reason", "unknown")))
        path = self.output_dir / "runs" / f"{report['run_id']}.json"
        try:
            write_atomically(path, json.dumps(report, ensure_ascii=False, indent=2) + "\n")
        except OSError as exc:
            logger.error("Cannot write the run report %s: %s", path, exc.strerror)
            report["exit_status"] = int(ExitStatus.OUTPUT)
        table = summary_table(report["sites"], interrupted=report["interrupted"])
        logger.info("Run summary (%s):\n%s", path, table)
        if report["interrupted"]:
            logger.warning(
                "Run interrupted (%s) before its end: nothing written is lost; the next run "
                "picks up what this one did not write",
                report["finish_reason"],
            )
        for key, site in report["sites"].items():
            for problem in site["problems"]:
                logger.error("Site %s failed: %s", key, problem)
        self.stats.set_value("parknews/exit_status", report["exit_status"])
        self.crawler.signals.send_catch_log(
            parknews_signals.run_judged, report=report, exit_status=report["exit_status"]
        )
