"""Several workers sharing one crawl through Redis, beside one host with its state in SQLite.

Run from the repository root: `python -m benchmarks.workers [--quick] [--articles N]`.

The generated park site (`benchmarks.synthetic_site`) is served on 127.0.0.1 and crawled by
`scrapy crawl parknews` with the crawl benchmark's settings (`benchmarks.crawl.CRAWL_SETTINGS`),
first by one process with its state in a SQLite file (the baseline), then by 1, 2 and 4
workers started together with `REDIS_URL` set to a redis-server that this module starts on a
free port of 127.0.0.1 (tests/redisrv.py: no persistence, stopped at the end) and empties
before each configuration. Reported per configuration: pages/s over the wall time from the
first start to the last exit, CPU time per page summed over the workers, the state's size per
100k articles (Redis: INFO used_memory after the crawl minus before; SQLite: the file), and
whether every article of the site was written exactly once.
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
from collections import Counter
from collections.abc import Sequence, Set
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import urlsplit

import redis

from benchmarks import ROOT, markdown_table, usable_cores
from benchmarks.crawl import (
    CRAWL_SETTINGS,
    TIME_LIMIT,
    Launch,
    Watched,
    crawl_environment,
    crawl_parknews,
    load_average,
    parknews_command,
    stat,
    watch_all,
)
from benchmarks.synthetic_site import SyntheticSite, serve
from tests.redisrv import RedisServerError, redis_server

WORKER_COUNTS = (1, 2, 4)
ARTICLES = 10_000
QUICK_ARTICLES = 1_000
"""Four crawls of this many articles take about a minute and a half on two cores."""
QUICK_TIME_LIMIT = 300.0
NAMESPACE = "bench"
PER_ARTICLES = 100_000
"""State size is given per this many articles."""
KEY_FAMILIES = (
    ("article state", ("article:",)),
    ("LSH bands", ("bands:",)),
    ("indexes", ("articles", "hash:", "site:")),
)
"""What the state keys (crawler.state.redisstore) are grouped under, by name after the prefix;
the rest (run log, section walks, learnt templates, …) is "other keys"."""
OTHER_KEYS = "other keys"
OUTSIDE_KEYS = "outside keys"
SCAN_CHUNK = 1_000
SINGLE_HOST = "one host, SQLite"
SHOWN_PATHS = 5
"""Articles named when some were not written."""


@dataclass
class Configuration:
    """How one configuration crawled the site: its processes and what they left behind."""

    name: str
    workers: int
    """Processes sharing the crawl through Redis; 0 for the single host."""
    watched: list[Watched]
    pages: list[int]
    """Responses of each process."""
    written: Counter[str]
    """Article path → how many records of it were written (articles and duplicates)."""
    committed: int
    """Articles in the crawl state at the end."""
    state_bytes: int
    """Redis: used_memory after the crawl minus before; SQLite: the state file(s)."""
    redis_cpu_seconds: float | None = None
    keys: dict[str, int] = field(default_factory=dict)
    """Redis: bytes of the state's keys by family (MEMORY USAGE), KEY_FAMILIES and the rest."""

    @property
    def wall_seconds(self) -> float:
        """From the first start to the last exit (the processes start together)."""
        return max(watched.wall_seconds for watched in self.watched)

    @property
    def total_pages(self) -> int:
        return sum(self.pages)

    @property
    def rate(self) -> float:
        return self.total_pages / self.wall_seconds if self.wall_seconds else 0.0

    @property
    def cpu_seconds(self) -> float:
        return sum(watched.cpu_seconds for watched in self.watched)

    @property
    def cpu_ms_per_page(self) -> float:
        return 1000 * self.cpu_seconds / self.total_pages if self.total_pages else 0.0

    @property
    def completed(self) -> bool:
        return all(w.returncode == 0 and not w.stopped for w in self.watched)

    def per_articles(self, size: int) -> float:
        """`size` bytes per PER_ARTICLES articles committed, in MiB."""
        return size / self.committed * PER_ARTICLES / 2**20 if self.committed else 0.0


def exactly_once(written: Counter[str], expected: Set[str]) -> str:
    """✓ when every path of `expected` was written once and nothing else was, else ✗ and
    what was wrong."""
    missing = len(expected - written.keys())
    extra = len(written.keys() - expected)
    repeated = sum(1 for count in written.values() if count > 1)
    if not (missing or extra or repeated):
        return "✓"
    problems = [(missing, "missing"), (repeated, "written more than once"), (extra, "unknown")]
    return "✗ (" + ", ".join(f"{count:,} {what}" for count, what in problems if count) + ")"


def site_paths(site: SyntheticSite) -> set[str]:
    return {site.article(index).path for index in range(site.articles)}


def written_paths(output_dir: Path) -> Counter[str]:
    """How many records of each URL path the crawl wrote, articles and duplicates alike."""
    written: Counter[str] = Counter()
    for folder in ("articles", "duplicates"):
        for path in sorted((output_dir / folder).glob("*.jsonl")):
            with path.open(encoding="utf-8") as stream:
                for line in stream:
                    written[urlsplit(str(json.loads(line).get("url", ""))).path] += 1
    return written


def pages_of(watched: Watched) -> int:
    found = stat(watched.log, "downloader/response_count")
    return int(found) if found else 0


# --- Redis ---------------------------------------------------------------------------------------


def redis_cpu(client: redis.Redis) -> float:
    info = client.info("cpu")
    return float(info["used_cpu_user"]) + float(info["used_cpu_sys"])


def family(name: str) -> str:
    for label, starts in KEY_FAMILIES:
        if any(name == start or name.startswith(start) for start in starts):
            return label
    return OTHER_KEYS


def key_memory(client: redis.Redis, prefix: str) -> dict[str, int]:
    """Bytes of every key under `prefix` (MEMORY USAGE, every element counted), by family."""
    sizes: Counter[str] = Counter()
    names = [key.decode() for key in client.scan_iter(match=prefix + "*", count=SCAN_CHUNK)]
    for start in range(0, len(names), SCAN_CHUNK):
        chunk = names[start : start + SCAN_CHUNK]
        pipeline = client.pipeline(transaction=False)
        for name in chunk:
            pipeline.memory_usage(name, samples=0)
        for name, size in zip(chunk, pipeline.execute(), strict=True):
            sizes[family(name.removeprefix(prefix))] += size or 0
    return dict(sizes)


def crawl_workers(
    count: int,
    site: SyntheticSite,
    start_url: str,
    workdir: Path,
    redis_url: str,
    time_limit: float,
) -> Configuration:
    """`count` workers started together on an emptied Redis, sharing one crawl."""
    workdir.mkdir(parents=True, exist_ok=True)
    client = redis.Redis.from_url(redis_url)
    try:
        # Scripts too: each configuration's used_memory then counts loading its own.
        client.flushall()
        client.script_flush()
        memory_before = int(client.info("memory")["used_memory"])
        cpu_before = redis_cpu(client)
        command = parknews_command(
            workdir,
            *("-a", f"start_url={start_url}"),
            *("-s", f"REDIS_URL={redis_url}", "-s", f"PARKNEWS_REDIS_NAMESPACE={NAMESPACE}"),
        )
        launches = [
            Launch(command, ROOT, crawl_environment(), workdir / f"worker-{number}.log")
            for number in range(1, count + 1)
        ]
        watched = watch_all(launches, time_limit=time_limit)
        prefix = f"parknews:{NAMESPACE}:"
        return Configuration(
            name=f"{count} worker{'' if count == 1 else 's'}, Redis",
            workers=count,
            watched=watched,
            pages=[pages_of(w) for w in watched],
            written=written_paths(workdir / "output"),
            committed=int(client.zcard(prefix + "articles")),
            state_bytes=int(client.info("memory")["used_memory"]) - memory_before,
            redis_cpu_seconds=redis_cpu(client) - cpu_before,
            keys=key_memory(client, prefix),
        )
    finally:
        client.close()


def crawl_single_host(
    site: SyntheticSite, start_url: str, workdir: Path, time_limit: float
) -> Configuration:
    """The same crawl by one process with its state in SQLite, as crawl.py runs it."""
    crawl = crawl_parknews(
        site.articles, workdir, ("-a", f"start_url={start_url}"), time_limit=time_limit
    )
    state = [workdir / name for name in ("state.sqlite3", "state.sqlite3-wal")]
    return Configuration(
        name=SINGLE_HOST,
        workers=0,
        watched=[crawl.watched],
        pages=[crawl.responses],
        written=written_paths(workdir / "output"),
        committed=crawl.records,
        state_bytes=sum(path.stat().st_size for path in state if path.is_file()),
    )


# --- Running and the report ----------------------------------------------------------------------


@dataclass
class Plan:
    """What one run of the workers benchmark does."""

    articles: int
    worker_counts: tuple[int, ...] = WORKER_COUNTS
    time_limit: float = TIME_LIMIT

    @classmethod
    def for_mode(cls, quick: bool) -> Plan:
        if quick:
            return cls(QUICK_ARTICLES, time_limit=QUICK_TIME_LIMIT)
        return cls(ARTICLES)


def progress(message: str) -> None:
    print(f"[workers] {message}", file=sys.stderr, flush=True)


def run_plan(
    plan: Plan, redis_url: str, scratch: Path
) -> tuple[SyntheticSite, list[Configuration]]:
    site = SyntheticSite(plan.articles)
    done = []
    with serve(site) as server:
        progress(f"{plan.articles:,} articles: one host, state in SQLite")
        done.append(
            crawl_single_host(site, server.start_url, scratch / "single-host", plan.time_limit)
        )
        for count in plan.worker_counts:
            progress(f"{plan.articles:,} articles: {count} worker(s) sharing the crawl in Redis")
            done.append(
                crawl_workers(
                    count,
                    site,
                    server.start_url,
                    scratch / f"workers-{count}",
                    redis_url,
                    plan.time_limit,
                )
            )
    return site, done


TABLE_HEADERS = [
    "configuration",
    "pages fetched",
    "pages per process",
    "wall s",
    "pages/s",
    "pages/s vs one host",
    "CPU s (all processes)",
    "CPU ms/page",
    "Redis CPU ms/page",
    "state MiB per 100k articles",
    "articles written",
    "each article once",
]


def describe_end(configuration: Configuration) -> str:
    ends = [
        "stopped at the time limit" if w.stopped else f"exit status {w.returncode}"
        for w in configuration.watched
        if w.stopped or w.returncode != 0
    ]
    return f" ({', '.join(ends)})" if ends else ""


def table_rows(site: SyntheticSite, configurations: Sequence[Configuration]) -> list[list[str]]:
    single = next((c for c in configurations if c.workers == 0), None)
    reference = set(single.written) if single is not None else site_paths(site)
    rows = []
    for configuration in configurations:
        versus = (
            f"{configuration.rate / single.rate:.2f}x" if single is not None and single.rate else ""
        )
        redis_ms = (
            ""
            if configuration.redis_cpu_seconds is None or not configuration.total_pages
            else f"{1000 * configuration.redis_cpu_seconds / configuration.total_pages:.2f}"
        )
        rows.append(
            [
                configuration.name + describe_end(configuration),
                f"{configuration.total_pages:,}",
                " / ".join(f"{pages:,}" for pages in configuration.pages),
                f"{configuration.wall_seconds:.1f}",
                f"{configuration.rate:.0f}",
                versus,
                f"{configuration.cpu_seconds:.1f}",
                f"{configuration.cpu_ms_per_page:.2f}",
                redis_ms,
                f"{configuration.per_articles(configuration.state_bytes):.1f}",
                f"{len(configuration.written):,}",
                exactly_once(configuration.written, reference),
            ]
        )
    return rows


def key_rows(configurations: Sequence[Configuration]) -> list[list[str]]:
    """Redis memory per 100k articles by key family, and what used_memory holds beyond keys."""
    rows = []
    for configuration in configurations:
        if not configuration.workers:
            continue
        families = [label for label, _ in KEY_FAMILIES] + [OTHER_KEYS]
        sizes = [configuration.keys.get(label, 0) for label in families]
        outside = configuration.state_bytes - sum(sizes)
        rows.append(
            [
                configuration.name,
                f"{configuration.committed:,}",
                *(f"{configuration.per_articles(size):.1f}" for size in sizes),
                f"{configuration.per_articles(outside):.1f}",
                f"{configuration.per_articles(configuration.state_bytes):.1f}",
            ]
        )
    return rows


def split_lines(site: SyntheticSite, configurations: Sequence[Configuration]) -> list[str]:
    """What the single host left out of the site, and how evenly the work of each shared
    crawl was split among its workers."""
    lines = []
    single = next((c for c in configurations if c.workers == 0), None)
    if single is not None:
        expected = site_paths(site)
        left_out = sorted(expected - single.written.keys())
        lines.append(
            f"- {single.name} wrote {len(expected) - len(left_out):,} of the site's "
            f"{len(expected):,} articles"
            + (
                f"; not written: {', '.join(left_out[:SHOWN_PATHS])}"
                + (" …" if len(left_out) > SHOWN_PATHS else "")
                + " (the shared crawls are held to the same set)."
                if left_out
                else "."
            )
        )
    for configuration in configurations:
        if configuration.workers < 2 or not configuration.total_pages:
            continue
        busiest = max(configuration.pages)
        idle = sum(1 for pages in configuration.pages if pages == 0)
        lines.append(
            f"- {configuration.name}: the busiest worker fetched {busiest:,} of the "
            f"{configuration.total_pages:,} pages ({busiest / configuration.total_pages:.0%})"
            + (f"; {idle} fetched none" if idle else "")
            + "."
        )
    return lines


def workers_section(quick: bool, plan: Plan | None = None) -> str:
    """The workers report as Markdown; says so and skips the crawls without redis-server."""
    plan = plan or Plan.for_mode(quick)
    parts = ["## Workers sharing a crawl"]
    load_before = load_average()
    try:
        with (
            redis_server() as redis_url,
            tempfile.TemporaryDirectory(prefix="parknews-workers-") as scratch,
        ):
            site, configurations = run_plan(plan, redis_url, Path(scratch))
    except RedisServerError as error:
        progress(f"skipped: {error}")
        return "\n\n".join([*parts, f"Skipped: {error}"])
    load_after = load_average()
    settings = " ".join(f"`{k}={v}`" for k, v in CRAWL_SETTINGS.items())
    counts = ", ".join(str(count) for count in plan.worker_counts)
    per_domain = CRAWL_SETTINGS["CONCURRENT_REQUESTS_PER_DOMAIN"]
    parts += [
        f"The generated park site of {plan.articles:,} articles (as in the crawl section) "
        f"crawled over 127.0.0.1 with {settings}, first by one `scrapy crawl parknews` process "
        f"with its state in a SQLite file (the baseline), then by {counts} workers started "
        "together with `REDIS_URL` set, sharing one crawl (one run, one frontier, claims "
        "before writing) through a redis-server started by the benchmark on 127.0.0.1 "
        "(no persistence) and emptied before each configuration. pages/s is every response "
        "of every process over the wall time from the first start to the last exit, "
        "start-up included; CPU is the user and system time of the crawl processes (wait4), "
        "summed; Redis CPU is what redis-server spent meanwhile (INFO cpu), not in the sum. "
        "The site is served by threads of the benchmark process, whose CPU is in neither. "
        '"each article once": the articles the single host wrote (URL paths), each written '
        "exactly once across the workers' files (articles and duplicates), and nothing else; "
        "for the single host, each written once. "
        f"One-minute load average before: {load_before}, after: {load_after}.",
        markdown_table(TABLE_HEADERS, table_rows(site, configurations)),
        "State size per 100k articles is the state's bytes over the articles it holds at "
        "the end, scaled. For Redis it is INFO memory `used_memory` after the crawl minus "
        "before, on an emptied server: what the namespace keeps for the next run (each "
        "article's hash: ids, canonical URL, content hash, fingerprint, MinHash signature, "
        "revision, times, its band keys; the LSH band buckets; the articles, content-hash and "
        "site indexes; the run log, section walks and learnt templates) plus whatever else "
        "the server still holds (the cached Lua scripts, allocator overhead). The run's own "
        "keys (claims, frontier, request filter, reports) are dropped when the run closes, "
        "and politeness leases expire, so they are mostly gone by then. For SQLite it is "
        "the state file and its WAL. By key family (MEMORY USAGE of every key, MiB per 100k "
        "articles):",
        markdown_table(
            [
                "configuration",
                "articles in state",
                *(label for label, _ in KEY_FAMILIES),
                OTHER_KEYS,
                f"{OUTSIDE_KEYS} (scripts, allocator)",
                "used_memory growth",
            ],
            key_rows(configurations),
        ),
        "\n".join(split_lines(site, configurations)),
        "What limits scaling: the site is one host, and politeness is held across the "
        f"workers (`PARKNEWS_POLITENESS_SHARED`), so at most {per_domain} requests "
        "(`CONCURRENT_REQUESTS_PER_DOMAIN`) are in flight at once whatever the number of "
        "workers, each admitted by a Redis lease taken before and given back after the "
        "download; the list pages form one chain (each links the next), so new articles "
        "reach the frontier one list page (20 articles) at a time; and the machine has "
        f"{usable_cores()} usable cores, which the workers share with redis-server and the "
        "site server: past that many workers, more processes add start-up and Redis round "
        "trips (frontier, leases, claims, commits) but no CPU to spend them.",
    ]
    return "\n\n".join(parts)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--quick", action="store_true", help=f"{QUICK_ARTICLES:,} articles instead of {ARTICLES:,}"
    )
    parser.add_argument("--articles", type=int, help="articles on the generated site")
    parser.add_argument("--time-limit", type=float, help="seconds per configuration")
    args = parser.parse_args(argv)
    plan = Plan.for_mode(args.quick)
    if args.articles is not None:
        if args.articles < 1:
            parser.error("--articles must be at least 1")
        plan.articles = args.articles
    if args.time_limit is not None:
        plan.time_limit = args.time_limit
    print(workers_section(args.quick, plan))
    return 0


if __name__ == "__main__":
    sys.exit(main())
