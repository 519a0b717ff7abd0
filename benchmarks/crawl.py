"""Whole crawls: pages/s and peak RSS of parknews beside a bare Scrapy crawl, as the site grows.

Run from the repository root: `python -m benchmarks.crawl [--quick] [--sizes 1000,10000]`.

Every crawl is a `scrapy` subprocess against a `benchmarks.synthetic_site` served on 127.0.0.1
by this process, with throttling off and the same network settings (`CRAWL_SETTINGS`):

- parknews: `scrapy crawl parknews -a start_url=…`, the generic profile, every item pipeline,
  records written to JSONL in a temporary output folder;
- Scrapy baseline: `scrapy runspider benchmarks/crawl.py` (`BaselineSpider` below) outside the
  project, which fetches the same list and article pages and yields each article's `<title>`
  to a JSONL feed: the cost of the crawl itself, with no extraction.

While a crawl runs its peak resident set is read from /proc/<pid>/status (VmHWM, and VmRSS
for the curve over time) every `POLL_SECONDS`: getrusage's maxrss cannot be used because Linux
carries it over fork and exec. Rates come from the crawl's own stats (responses over
`elapsed_time_seconds`, engine start to close) and from the wall time of the whole process;
CPU time per page from the rusage of the child that wait4 returns, which is its own.

The same module also replays the fixture sites from the demo archive and re-runs an unchanged
site with the same state database, reporting what the second run fetched.

This file is also what the baseline crawl runs, so importing it does nothing but define names.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import re
import signal
import statistics
import subprocess
import sys
import tempfile
import time
from collections import Counter
from collections.abc import AsyncIterator, Iterator, Sequence
from dataclasses import dataclass, field
from importlib.util import find_spec
from itertools import pairwise
from pathlib import Path
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit

import scrapy
from scrapy.http import Response

from benchmarks import ROOT, markdown_table

if TYPE_CHECKING:
    from benchmarks.synthetic_site import SiteServer, SyntheticSite

SIZES = (1_000, 10_000, 100_000)
QUICK_SIZES = (500, 2_000)
"""Small enough for the whole quick run to finish in two minutes on two cores."""
TIME_LIMIT = 3600.0
"""Seconds a crawl may run before it is stopped (SIGINT, then SIGKILL after `GRACE`): a
100k-article crawl takes a quarter of an hour or more on two cores."""
QUICK_TIME_LIMIT = 120.0
GRACE = 60.0
POLL_SECONDS = 0.05
RERUN_SIZE = 10_000
QUICK_RERUN_SIZE = 500
DEMO_REPEATS = 5
QUICK_DEMO_REPEATS = 3
MEMORY_TARGET_MB = 300
"""Peak RSS target of a 10k-page crawl, in MB (10^6 bytes)."""
MEMORY_SIZE = 10_000
WARM_UP_PAGES = 2_000
"""Pages over which parknews's caches (block forms, learnt site templates, SQLite's page
cache) fill up to their bounds: growth measured from a smaller crawl says little."""
FLAT_EXTRA_KIB = 0.5
"""parknews's memory counts as flat when its peak RSS grows by at most this many KiB per page
more than the bare Scrapy crawl's between the same two sizes: what grows then is Scrapy's own
bookkeeping (its duplicate filter keeps a fingerprint of every request), not parknews's."""
PROJECTED_SIZE = 100_000
CRAWL_SETTINGS = {
    "DOWNLOAD_DELAY": "0",
    "AUTOTHROTTLE_ENABLED": "False",
    "CONCURRENT_REQUESTS": "32",
    "CONCURRENT_REQUESTS_PER_DOMAIN": "32",
    "ROBOTSTXT_OBEY": "True",
    "LOG_LEVEL": "INFO",
}
BASELINE_SETTINGS = {"TELNETCONSOLE_ENABLED": "False", "COOKIES_ENABLED": "False"}
"""What parknews's own settings also turn off, so the baseline does not pay for it."""
DROPPED_ENVIRONMENT = (
    "SCRAPY_SETTINGS_MODULE",
    "SCRAPY_PROJECT",
    "http_proxy",
    "https_proxy",
    "HTTP_PROXY",
    "HTTPS_PROXY",
    "all_proxy",
    "ALL_PROXY",
)
MATCHED_FIELDS = ("title", "source", "editor", "body")
PARKNEWS = "parknews"
BASELINE = "Scrapy baseline"
ARTICLE_HREF = re.compile(r"/\d{6}/t\d{8}_\d+\.s?html?$")
STAT = r"'{}': ([0-9.]+|'[^']*')"


class BaselineSpider(scrapy.Spider):
    """The raw cost of the crawl: list pages followed by their "下一页" link, every article
    link fetched, and nothing kept of an article but its URL and `<title>`."""

    name = "baseline"

    def __init__(self, start_url: str = "", **kwargs: Any) -> None:
        super().__init__(**kwargs)
        if not start_url:
            raise ValueError("pass the first list page as -a start_url=URL")
        self.start_url = start_url

    async def start(self) -> AsyncIterator[scrapy.Request]:
        yield scrapy.Request(self.start_url, callback=self.parse_list)

    def parse_list(self, response: Response) -> Iterator[scrapy.Request]:
        for href in response.xpath("//a/@href").getall():
            if ARTICLE_HREF.search(href):
                yield response.follow(href, callback=self.parse_article)
        following = response.xpath('//a[normalize-space()="下一页"]/@href').get()
        if following:
            yield response.follow(following, callback=self.parse_list)

    def parse_article(self, response: Response) -> Iterator[dict[str, Any]]:
        yield {"url": response.url, "title": response.xpath("//title/text()").get()}


@dataclass
class Watched:
    """How one crawl process ran: exit, wall time, memory over time, its log."""

    returncode: int
    wall_seconds: float
    peak_rss_kib: int
    samples: list[tuple[float, int]]
    stopped: bool
    time_limit: float
    log: str
    cpu_seconds: float
    """User and system CPU time of the process (its rusage from wait4)."""

    def rss_at(self, share: float) -> int:
        """VmRSS in KiB of the last sample taken before `share` of the wall time."""
        moment = share * self.wall_seconds
        before = [rss for seconds, rss in self.samples if seconds <= moment]
        return before[-1] if before else 0


@dataclass
class Crawl:
    """The figures of one crawl."""

    crawler: str
    articles: int
    watched: Watched
    responses: int
    requests: int
    records: int
    elapsed_seconds: float
    finish_reason: str
    served: Counter[str] = field(default_factory=Counter)
    report: dict[str, Any] | None = None
    matching: int | None = None
    """Records equal to the generated article in every field of `MATCHED_FIELDS`."""

    @property
    def rate(self) -> float:
        """Responses per second of crawling (engine start to close)."""
        return self.responses / self.elapsed_seconds if self.elapsed_seconds else 0.0

    @property
    def wall_rate(self) -> float:
        """Responses per second of the whole process, start-up and shut-down included."""
        seconds = self.watched.wall_seconds
        return self.responses / seconds if seconds else 0.0

    @property
    def cpu_ms_per_page(self) -> float:
        return 1000 * self.watched.cpu_seconds / self.responses if self.responses else 0.0

    @property
    def completed(self) -> bool:
        return self.watched.returncode == 0 and not self.watched.stopped


def proc_status(pid: int) -> tuple[int, int] | None:
    """(VmHWM, VmRSS) of a live process in KiB, or None once it has gone."""
    try:
        text = Path(f"/proc/{pid}/status").read_text()
    except OSError:
        return None
    values = dict(re.findall(r"^(VmHWM|VmRSS):\s+(\d+)", text, flags=re.M))
    if "VmHWM" not in values or "VmRSS" not in values:
        return None
    return int(values["VmHWM"]), int(values["VmRSS"])


@dataclass(frozen=True)
class Launch:
    """One process to start and watch: its command, folder, environment and log file."""

    command: Sequence[str]
    cwd: Path
    env: dict[str, str]
    log_path: Path


def watch(
    command: Sequence[str], *, cwd: Path, env: dict[str, str], log_path: Path, time_limit: float
) -> Watched:
    """Run `command`, sampling its memory until it exits; stop it after `time_limit` s."""
    (watched,) = watch_all([Launch(command, cwd, env, log_path)], time_limit=time_limit)
    return watched


def watch_all(launches: Sequence[Launch], *, time_limit: float) -> list[Watched]:
    """Start every command at once and sample each one's memory until all have exited; stop
    any still running after `time_limit` s. Wall times count from the first start."""
    count = len(launches)
    samples: list[list[tuple[float, int]]] = [[] for _ in launches]
    peaks, walls, cpus = [0] * count, [0.0] * count, [0.0] * count
    stopped = [False] * count
    with contextlib.ExitStack() as stack:
        logs = [stack.enter_context(launch.log_path.open("wb")) for launch in launches]
        start = time.perf_counter()
        processes = [
            subprocess.Popen(
                launch.command,
                cwd=launch.cwd,
                env=launch.env,
                stdout=log,
                stderr=subprocess.STDOUT,
            )
            for launch, log in zip(launches, logs, strict=True)
        ]
        running = dict(enumerate(processes))

        def reap(index: int, process: subprocess.Popen[bytes], flags: int) -> bool:
            # wait4 rather than poll: the child's own CPU times, even with others running.
            pid, status, usage = os.wait4(process.pid, flags)
            if not pid:
                return False
            process.returncode = os.waitstatus_to_exitcode(status)
            walls[index] = time.perf_counter() - start
            cpus[index] = usage.ru_utime + usage.ru_stime
            del running[index]
            return True

        try:
            while running:
                now = time.perf_counter() - start
                for index, process in list(running.items()):
                    if reap(index, process, os.WNOHANG):
                        continue
                    status = proc_status(process.pid)
                    if status is not None:
                        peaks[index] = max(peaks[index], status[0])
                        samples[index].append((now, status[1]))
                    if not stopped[index] and now > time_limit:
                        process.send_signal(signal.SIGINT)
                        stopped[index] = True
                    elif stopped[index] and now > time_limit + GRACE:
                        process.kill()
                time.sleep(POLL_SECONDS)
        finally:
            for index, process in list(running.items()):
                process.kill()
                reap(index, process, 0)
    return [
        Watched(
            returncode=process.returncode,
            wall_seconds=walls[index],
            peak_rss_kib=peaks[index],
            samples=samples[index],
            stopped=stopped[index],
            time_limit=time_limit,
            log=launch.log_path.read_text("utf-8", errors="replace"),
            cpu_seconds=cpus[index],
        )
        for index, (launch, process) in enumerate(zip(launches, processes, strict=True))
    ]


def stat(log: str, name: str) -> str | None:
    """A value of the stats Scrapy dumps at the end of its log, as written there."""
    found = re.findall(STAT.format(re.escape(name)), log)
    return found[-1].strip("'") if found else None


def count_lines(paths: Sequence[Path]) -> int:
    total = 0
    for path in paths:
        with path.open("rb") as stream:
            total += sum(chunk.count(b"\n") for chunk in iter(lambda: stream.read(1 << 20), b""))
    return total


def crawl_environment(python_path: Path | None = None) -> dict[str, str]:
    """This process's environment without proxies or a Scrapy project chosen elsewhere."""
    env = {k: v for k, v in os.environ.items() if k not in DROPPED_ENVIRONMENT}
    if python_path is not None:
        env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(python_path), env.get("PYTHONPATH")]))
    return env


def setting_options(settings: dict[str, str]) -> list[str]:
    return [part for name, value in settings.items() for part in ("-s", f"{name}={value}")]


def parknews_command(workdir: Path, *arguments: str) -> list[str]:
    """`scrapy crawl parknews` writing into `workdir`, with the benchmark's settings."""
    settings = {
        **CRAWL_SETTINGS,
        "PARKNEWS_OUTPUT_DIR": str(workdir / "output"),
        "PARKNEWS_STATE_PATH": str(workdir / "state.sqlite3"),
    }
    command = [sys.executable, "-m", "scrapy", "crawl", "parknews"]
    return [*command, *arguments, *setting_options(settings)]


def run_reports(workdir: Path) -> set[Path]:
    return set((workdir / "output" / "runs").glob("*.json"))


def crawl_parknews(
    articles: int,
    workdir: Path,
    arguments: Sequence[str],
    *,
    time_limit: float,
    served: SiteServer | None = None,
) -> Crawl:
    """One parknews crawl writing into `workdir` (reused by a re-run, like a cron job's)."""
    workdir.mkdir(parents=True, exist_ok=True)
    before_reports = run_reports(workdir)
    before_records = set((workdir / "output" / "articles").glob("*.jsonl"))
    before_served = served.snapshot() if served is not None else Counter()
    watched = watch(
        parknews_command(workdir, *arguments),
        cwd=ROOT,
        env=crawl_environment(),
        log_path=workdir / f"crawl-{len(list(workdir.glob('crawl-*.log'))) + 1}.log",
        time_limit=time_limit,
    )
    reports = sorted(run_reports(workdir) - before_reports)
    report = json.loads(reports[-1].read_text("utf-8")) if reports else None
    records = sorted(set((workdir / "output" / "articles").glob("*.jsonl")) - before_records)
    crawl = finished(
        PARKNEWS,
        articles,
        watched,
        count_lines(records),
        served.snapshot() - before_served if served is not None else Counter(),
        report,
    )
    if served is not None:
        crawl.matching = count_matching(records, served.site)
    return crawl


def count_matching(paths: Sequence[Path], site: SyntheticSite) -> int:
    """How many records carry exactly the title, source, editor and body generated."""
    matching = 0
    for path in paths:
        with path.open(encoding="utf-8") as stream:
            for line in stream:
                record = json.loads(line)
                index = site.index_of(urlsplit(str(record.get("url", ""))).path)
                if index is None:
                    continue
                article = site.article(index)
                if all(record.get(name) == getattr(article, name) for name in MATCHED_FIELDS):
                    matching += 1
    return matching


def crawl_baseline(
    articles: int, start_url: str, workdir: Path, served: SiteServer, time_limit: float
) -> Crawl:
    """The bare Scrapy crawl of the same site, run outside the project."""
    workdir.mkdir(parents=True, exist_ok=True)
    feed = workdir / "titles.jsonl"
    before = served.snapshot()
    command = [
        sys.executable,
        "-m",
        "scrapy",
        "runspider",
        str(Path(__file__).resolve()),
        "-a",
        f"start_url={start_url}",
        "-O",
        str(feed),
        *setting_options({**CRAWL_SETTINGS, **BASELINE_SETTINGS}),
    ]
    watched = watch(
        command,
        cwd=workdir,
        env=crawl_environment(python_path=ROOT),
        log_path=workdir / "baseline.log",
        time_limit=time_limit,
    )
    records = count_lines([feed]) if feed.is_file() else 0
    return finished(BASELINE, articles, watched, records, served.snapshot() - before, None)


def finished(
    crawler: str,
    articles: int,
    watched: Watched,
    records: int,
    served: Counter[str],
    report: dict[str, Any] | None,
) -> Crawl:
    """A Crawl from the process's log, falling back on what the server counted."""
    responses = stat(watched.log, "downloader/response_count")
    requests = stat(watched.log, "downloader/request_count")
    elapsed = stat(watched.log, "elapsed_time_seconds")
    return Crawl(
        crawler=crawler,
        articles=articles,
        watched=watched,
        responses=int(responses) if responses else sum(served.values()),
        requests=int(requests) if requests else sum(served.values()),
        records=records,
        elapsed_seconds=float(elapsed) if elapsed else watched.wall_seconds,
        finish_reason=stat(watched.log, "finish_reason") or "unknown",
        served=served,
        report=report,
    )


# --- The report --------------------------------------------------------------------------------


def mib(kib: int) -> str:
    return f"{kib / 1024:.0f}"


def describe_end(crawl: Crawl) -> str:
    """How the crawl ended, when not normally."""
    if crawl.watched.stopped:
        return f"stopped at the {crawl.watched.time_limit:.0f} s limit"
    if crawl.watched.returncode != 0:
        return f"exit status {crawl.watched.returncode}"
    return ""


def growth_rows(crawls: Sequence[Crawl]) -> list[list[str]]:
    baselines = {c.articles: c for c in crawls if c.crawler == BASELINE}
    rows = []
    for crawl in crawls:
        baseline = baselines.get(crawl.articles)
        versus = (
            f"{crawl.cpu_ms_per_page / baseline.cpu_ms_per_page:.1f}x"
            if crawl.crawler == PARKNEWS and baseline and baseline.cpu_ms_per_page
            else ""
        )
        curve = " / ".join(mib(crawl.watched.rss_at(share)) for share in (0.25, 0.5, 0.75, 1.0))
        articles = f"{crawl.articles:,}"
        end = describe_end(crawl)
        rows.append(
            [
                articles,
                crawl.crawler + (f" ({end})" if end else ""),
                f"{crawl.responses:,}",
                f"{crawl.records:,}",
                "" if crawl.matching is None else f"{crawl.matching:,}",
                f"{crawl.elapsed_seconds:.1f}",
                f"{crawl.rate:.0f}",
                f"{crawl.wall_rate:.0f}",
                f"{crawl.cpu_ms_per_page:.2f}",
                versus,
                mib(crawl.watched.peak_rss_kib),
                curve,
            ]
        )
    return rows


GROWTH_HEADERS = [
    "articles",
    "crawler",
    "pages fetched",
    "records",
    "records as generated",
    "crawl s",
    "pages/s",
    "pages/s incl. start-up",
    "CPU ms/page",
    "CPU/page vs baseline",
    "peak RSS MiB",
    "RSS at ¼ / ½ / ¾ / end of run, MiB",
]


def projected_peak(smaller: Crawl, larger: Crawl, articles: int) -> float:
    """Peak RSS in KiB of a crawl of `articles`, extrapolated linearly from two crawls."""
    per_page = (larger.watched.peak_rss_kib - smaller.watched.peak_rss_kib) / max(
        larger.responses - smaller.responses, 1
    )
    pages = articles * larger.responses / larger.articles
    return larger.watched.peak_rss_kib + per_page * (pages - larger.responses)


def growth_per_page(smaller: Crawl, larger: Crawl) -> float | None:
    """KiB of peak RSS added per extra page fetched from one crawl to a larger one."""
    pages = larger.responses - smaller.responses
    if pages <= 0 or not smaller.watched.peak_rss_kib:
        return None
    return (larger.watched.peak_rss_kib - smaller.watched.peak_rss_kib) / pages


def memory_lines(crawls: Sequence[Crawl]) -> list[str]:
    """The verdict on peak RSS at `MEMORY_SIZE` pages and on whether RSS stays flat."""
    ours = sorted((c for c in crawls if c.crawler == PARKNEWS), key=lambda c: c.articles)
    completed = [c for c in ours if c.completed]
    at_size = [c for c in completed if c.articles == MEMORY_SIZE]
    target = f"Target peak RSS under {MEMORY_TARGET_MB} MB crawling {MEMORY_SIZE:,} articles"
    # Growth is extrapolated only between the two largest crawls, and only past the warm-up.
    projectable = len(completed) >= 2 and completed[-2].responses >= WARM_UP_PAGES
    lines = []
    if at_size:
        peak_mb = at_size[0].watched.peak_rss_kib * 1024 / 1e6
        lines.append(
            f"- {target}: {'met' if peak_mb < MEMORY_TARGET_MB else 'MISSED'} "
            f"({peak_mb:.0f} MB = {at_size[0].watched.peak_rss_kib / 1024:.0f} MiB)."
        )
    elif projectable:
        guess = projected_peak(completed[-2], completed[-1], MEMORY_SIZE)
        lines.append(
            f"- {target}: not measured in this run; extrapolated from "
            f"{completed[-2].articles:,} and {completed[-1].articles:,} articles, "
            f"{guess * 1024 / 1e6:.0f} MB."
        )
    elif completed:
        lines.append(
            f"- {target}: not checked, the crawls of this run are too few or too small to "
            f"extrapolate from (two past the first {WARM_UP_PAGES:,} pages' warm-up are "
            "needed; the full run measures it)."
        )
    else:
        lines.append(f"- {target}: not checked, no crawl of that size finished.")
    baselines = {c.articles: c for c in crawls if c.crawler == BASELINE and c.completed}
    for smaller, larger in pairwise(ours):
        ours_per_page = growth_per_page(smaller, larger)
        if ours_per_page is None:
            continue
        line = (
            f"- From {smaller.articles:,} to {larger.articles:,} articles"
            f"{' (stopped early)' if not larger.completed else ''} parknews's peak grows by "
            f"{(larger.watched.peak_rss_kib - smaller.watched.peak_rss_kib) / 1024:.0f} MiB, "
            f"{ours_per_page:.2f} KiB per extra page fetched"
        )
        base_small, base_large = baselines.get(smaller.articles), baselines.get(larger.articles)
        theirs = growth_per_page(base_small, base_large) if base_small and base_large else None
        if theirs is None:
            lines.append(f"{line}; no baseline to compare with.")
            continue
        extra = ours_per_page - theirs
        verdict = "flat" if extra <= FLAT_EXTRA_KIB else "NOT flat"
        if smaller.responses < WARM_UP_PAGES:
            verdict = (
                f"no verdict, the smaller crawl ends within the first {WARM_UP_PAGES:,} pages, "
                "while caches and the state database's page cache still fill"
            )
        lines.append(
            f"{line}; the bare Scrapy crawl's by {theirs:.2f} KiB per page: parknews adds "
            f"{extra:+.2f} KiB per page (flat means at most {FLAT_EXTRA_KIB} KiB): {verdict}."
        )
    if projectable and completed[-1].articles < PROJECTED_SIZE:
        smaller, larger = completed[-2], completed[-1]
        guess = projected_peak(smaller, larger, PROJECTED_SIZE)
        lines.append(
            f"- Growing at the rate from {smaller.articles:,} to {larger.articles:,} articles, a "
            f"{PROJECTED_SIZE:,}-article crawl would peak near {guess / 1024:.0f} MiB."
        )
    return lines


def demo_section(runs: Sequence[Crawl]) -> str:
    ok = [run for run in runs if run.completed]
    if not ok:
        reasons = "; ".join(describe_end(run) or run.finish_reason for run in runs)
        return f"The demo replay failed: {reasons}."
    rates = [run.rate for run in ok]
    walls = [run.watched.wall_seconds for run in ok]
    row = [
        str(len(ok)),
        f"{ok[0].responses}",
        f"{ok[0].records}",
        f"{statistics.median(run.elapsed_seconds for run in ok):.2f}",
        f"{statistics.median(rates):.0f} ({min(rates):.0f}–{max(rates):.0f})",
        f"{statistics.median(walls):.2f}",
        f"{statistics.median(run.wall_rate for run in ok):.0f}",
        f"{statistics.median(run.cpu_ms_per_page for run in ok):.2f}",
        mib(max(run.watched.peak_rss_kib for run in ok)),
    ]
    headers = [
        "runs",
        "pages fetched",
        "records",
        "crawl s (median)",
        "pages/s (median, range)",
        "wall s (median)",
        "pages/s incl. start-up",
        "CPU ms/page (median)",
        "peak RSS MiB",
    ]
    return markdown_table(headers, [row])


def rerun_section(first: Crawl, second: Crawl) -> str:
    def row(name: str, crawl: Crawl) -> list[str]:
        reported = (
            sum(site.get("requests", 0) for site in crawl.report["sites"].values())
            if crawl.report
            else "n/a"
        )
        served = crawl.served
        return [
            name,
            str(reported),
            str(crawl.requests),
            str(served["list"]),
            str(served["article"]),
            str(served["not_modified"]),
            str(served["robots"]),
            str(crawl.records),
            f"{crawl.elapsed_seconds:.1f}",
        ]

    table = markdown_table(
        [
            "run",
            "requests (run report)",
            "downloader/request_count",
            "list pages served",
            "articles served",
            "304 answers",
            "robots.txt",
            "records written",
            "crawl s",
        ],
        [row("first", first), row("second, unchanged site", second)],
    )
    lists = first.served["list"]
    articles, revalidated = second.served["article"], second.served["not_modified"]
    if not second.completed:
        verdict = f"the second run did not finish ({describe_end(second)})"
    elif articles == 0 and revalidated == 0:
        fetched = second.served["list"]
        verdict = (
            f"met: the second run fetched {fetched} list page{'' if fetched == 1 else 's'} "
            f"(of {lists}) and no article"
        )
    elif articles == 0:
        verdict = (
            f"MISSED: no article was downloaded again, but {revalidated} were still requested "
            "(answered 304 Not Modified)"
        )
    else:
        verdict = (
            f"MISSED: the second run fetched {articles} of the {first.served['article']} "
            "articles again; nothing was skipped for being unchanged"
        )
    return f"{table}\n\nTarget (an unchanged re-run requests list pages only): {verdict}."


def plot_growth(crawls: Sequence[Crawl], path: Path) -> bool:
    """Pages/s and peak RSS against site size as a PNG, when matplotlib is installed."""
    if find_spec("matplotlib") is None:
        return False
    import matplotlib

    matplotlib.use("Agg")
    from matplotlib import pyplot

    figure, (rates, memory) = pyplot.subplots(1, 2, figsize=(10, 4))
    for crawler in (PARKNEWS, BASELINE):
        mine = sorted((c for c in crawls if c.crawler == crawler), key=lambda c: c.articles)
        sizes = [c.articles for c in mine]
        rates.plot(sizes, [c.rate for c in mine], marker="o", label=crawler)
        memory.plot(sizes, [c.watched.peak_rss_kib / 1024 for c in mine], marker="o", label=crawler)
    for axes, label in ((rates, "pages/s"), (memory, "peak RSS, MiB")):
        axes.set_xscale("log")
        axes.set_xlabel("articles on the site")
        axes.set_ylabel(label)
        axes.set_ylim(bottom=0)
        axes.grid(True, alpha=0.3)
        axes.legend()
    figure.tight_layout()
    figure.savefig(path, dpi=100)
    pyplot.close(figure)
    return True


# --- Running everything ------------------------------------------------------------------------


@dataclass
class Plan:
    """What one run of the crawl benchmarks does."""

    sizes: tuple[int, ...]
    rerun_size: int | None
    demo_repeats: int
    time_limit: float = TIME_LIMIT

    @classmethod
    def for_mode(cls, quick: bool) -> Plan:
        if quick:
            return cls(QUICK_SIZES, QUICK_RERUN_SIZE, QUICK_DEMO_REPEATS, QUICK_TIME_LIMIT)
        return cls(SIZES, RERUN_SIZE, DEMO_REPEATS)


@dataclass
class Results:
    growth: list[Crawl] = field(default_factory=list)
    rerun: tuple[Crawl, Crawl] | None = None
    demo: list[Crawl] = field(default_factory=list)


def load_average() -> str:
    """The one-minute load average, where the OS reports one."""
    try:
        return f"{os.getloadavg()[0]:.2f}"
    except (AttributeError, OSError):
        return "n/a"


def progress(message: str) -> None:
    print(f"[crawl] {message}", file=sys.stderr, flush=True)


def run_plan(plan: Plan, scratch: Path) -> Results:
    from benchmarks.synthetic_site import SyntheticSite, serve

    results = Results()
    for articles in plan.sizes:
        site = SyntheticSite(articles)
        with serve(site) as server:
            progress(f"{articles:,} articles: Scrapy baseline")
            baseline = crawl_baseline(
                articles,
                server.start_url,
                scratch / f"baseline-{articles}",
                server,
                plan.time_limit,
            )
            results.growth.append(baseline)
            progress(f"{articles:,} articles: parknews")
            workdir = scratch / f"parknews-{articles}"
            arguments = ("-a", f"start_url={server.start_url}")
            ours = crawl_parknews(
                articles, workdir, arguments, time_limit=plan.time_limit, served=server
            )
            results.growth.append(ours)
            if articles == plan.rerun_size and ours.completed:
                progress(f"{articles:,} articles: parknews again, nothing changed")
                again = crawl_parknews(
                    articles, workdir, arguments, time_limit=plan.time_limit, served=server
                )
                results.rerun = (ours, again)
        if not ours.completed:
            progress(f"stopping at {articles:,} articles: {describe_end(ours)}")
            break
    for repeat in range(plan.demo_repeats):
        progress(f"demo archive replay {repeat + 1}/{plan.demo_repeats}")
        workdir = scratch / f"demo-{repeat}"
        results.demo.append(
            crawl_parknews(0, workdir, ("-a", "replay=demo"), time_limit=plan.time_limit)
        )
    return results


def crawl_section(quick: bool, plot_path: Path | None = None, plan: Plan | None = None) -> str:
    """The crawl report as Markdown; a PNG of the growth at `plot_path` if matplotlib is there."""
    plan = plan or Plan.for_mode(quick)
    load_before = load_average()
    with tempfile.TemporaryDirectory(prefix="parknews-crawl-") as scratch:
        results = run_plan(plan, Path(scratch))
    load_after = load_average()
    sizes = ", ".join(f"{size:,}" for size in plan.sizes)
    settings = " ".join(f"`{k}={v}`" for k, v in CRAWL_SETTINGS.items())
    parts = [
        "## Crawl",
        "Whole crawls over 127.0.0.1 of a generated park site (`benchmarks/synthetic_site.py`: "
        "TRS list pages of 20 articles linked by 下一页, article pages laid out as the sipac "
        f"fixture's, texts from the golden records) of {sizes} articles, with {settings}. "
        "The site is served by the benchmark process itself (threads) and shares the machine's "
        "cores with the crawl. Each crawl is a fresh `scrapy` process; "
        f"parknews is `scrapy crawl parknews -a start_url=…` (generic profile, every pipeline, "
        "records to JSONL); the Scrapy baseline is `scrapy runspider benchmarks/crawl.py`, "
        "which fetches the same pages and keeps each article's `<title>` only. Pages fetched "
        "include robots.txt and the list pages. pages/s is responses over Scrapy's "
        "`elapsed_time_seconds`; the start-up column divides by the process's wall time. "
        '"records as generated" counts the records whose title, source, editor and body '
        "equal the generated article's: the crawl did the whole job. "
        "CPU ms/page is the crawl process's user and system CPU time (start-up included) over "
        "the pages it fetched, which other load on the machine disturbs far less than pages/s; "
        "\"CPU/page vs baseline\" is parknews's figure over the baseline's. Peak RSS "
        f"is the process's VmHWM, sampled every {POLL_SECONDS * 1000:.0f} ms from /proc; the "
        "RSS curve is VmRSS at those points of the wall time. A crawl still running after "
        f"{plan.time_limit:.0f} s is stopped and reported as such, and larger sizes are skipped. "
        f"One-minute load average before the crawls: {load_before}, after: {load_after} "
        "(anything else running on the machine slows the crawls down).",
        "### Throughput and memory as the site grows",
        markdown_table(GROWTH_HEADERS, growth_rows(results.growth)),
    ]
    if plot_path is not None and results.growth and plot_growth(results.growth, plot_path):
        parts.append(f"![pages/s and peak RSS against site size]({plot_path.name})")
    elif plot_path is not None:
        parts.append("(matplotlib is not installed: no plot, the table above is the record.)")
    unfinished = [c for c in results.growth if c.crawler == PARKNEWS and not c.completed]
    if unfinished:
        finished_sizes = [
            c.articles for c in results.growth if c.crawler == PARKNEWS and c.completed
        ]
        largest = f"{max(finished_sizes):,} articles" if finished_sizes else "none"
        parts.append(
            f"parknews did not finish {unfinished[0].articles:,} articles "
            f"({describe_end(unfinished[0])}); its row shows the crawl up to then. The largest "
            f"site crawled to the end: {largest}."
        )
    skipped = [size for size in plan.sizes if size not in {c.articles for c in results.growth}]
    if skipped:
        parts.append(
            "Not run, because a smaller crawl did not finish: "
            + ", ".join(f"{size:,}" for size in skipped)
            + " articles."
        )
    parts += ["### Memory", "\n".join(memory_lines(results.growth))]
    parts += [
        "### Fixture sites from the demo archive",
        "`scrapy crawl parknews -a replay=demo` with the same settings: the four fixture sites "
        "answered from `crawler/data/demo.warc.gz`, no network at all. The crawl is short, "
        "so start-up dominates the wall time.",
        demo_section(results.demo),
    ]
    parts.append("### Unchanged re-run")
    if results.rerun is None:
        parts.append("Not measured (no re-run size in this plan, or its first crawl failed).")
    else:
        first, second = results.rerun
        parts += [
            f"The {first.articles:,}-article site crawled twice into the same output folder "
            "with the same `PARKNEWS_STATE_PATH`; the second run finds the site unchanged. "
            "The server answers If-None-Match and If-Modified-Since with 304. Server counts "
            "are what the synthetic site answered during each run.",
            rerun_section(first, second),
        ]
    return "\n\n".join(parts)


def parse_sizes(value: str) -> tuple[int, ...]:
    try:
        sizes = tuple(int(part.replace("_", "")) for part in value.split(",") if part.strip())
    except ValueError as exc:
        raise argparse.ArgumentTypeError(f"sizes are whole numbers, got {value!r}") from exc
    if not sizes or any(size < 1 for size in sizes):
        raise argparse.ArgumentTypeError(f"sizes must be at least 1, got {value!r}")
    return sizes


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="500 and 2k articles only")
    parser.add_argument("--sizes", type=parse_sizes, help="article counts, comma-separated")
    parser.add_argument("--rerun-size", type=int, help="the size crawled a second time")
    parser.add_argument("--time-limit", type=float, default=TIME_LIMIT, help="seconds per crawl")
    parser.add_argument("--plot", type=Path, help="write the growth plot here (needs matplotlib)")
    args = parser.parse_args(argv)
    plan = Plan.for_mode(args.quick)
    if args.sizes:
        plan.sizes = args.sizes
    if args.rerun_size is not None:
        plan.rerun_size = args.rerun_size
    plan.time_limit = args.time_limit
    print(crawl_section(args.quick, args.plot, plan))
    return 0


if __name__ == "__main__":
    sys.exit(main())
