"""Single-core throughput of parknews beside trafilatura and a bare lxml parse, on golden pages.

Run from the repository root: `python -m benchmarks.speed [--seconds S]`.

Two page sets, each measured on its own: the real pages (tests/fixtures/real, recorded from
sites parknews has no profile for; the headline figure) and the fixture sites' pages. Each
task is measured in a fresh process pinned to one CPU, so that its peak RSS and its caches are
its own: one warm-up pass over every page of the set, then three repeats of as many passes as
make a repeat last at least `--seconds`; the rate reported is the median repeat, in pages per
second. Inputs per task:

- parknews record: `PageProcessor().record(raw, url, site=site)` on the page's bytes
  (decoding, extraction and every item pipeline: what a crawl does per page);
- trafilatura (bytes): `trafilatura.extract(raw, ...)` on the same bytes (it decodes them
  itself), configured as in the quality report (default precision);
- parknews record (text): `PageProcessor().record_of_text(text, url, site=site)` on the
  page's text as parknews decodes it (extraction and every item pipeline);
- parknews extract: `crawler.extract.build_record(text, url, profile)` on the decoded text;
- trafilatura: `trafilatura.extract(text, ...)` on the same decoded text;
- lxml parse floor: `lxml.html.fromstring(raw)` on the page's bytes, nothing else.
"""

from __future__ import annotations

import argparse
import cProfile
import gc
import json
import os
import pstats
import resource
import statistics
import subprocess
import sys
import sysconfig
import time
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager, suppress
from dataclasses import asdict, dataclass
from functools import partial
from importlib import import_module
from pathlib import Path

import lxml.html

from benchmarks import GOLDEN_REAL, GOLDEN_SITES, ROOT, GoldenPage, load_pages, markdown_table
from benchmarks.quality import TRAFILATURA_OPTIONS
from crawler.decode import decode_page
from crawler.extract import NotAnArticle, build_record
from crawler.extract.tree import parse_html
from crawler.offline import PageProcessor, profile_for
from crawler.sites import SITES

REPEATS = 3


@dataclass(frozen=True)
class PageSet:
    """Pages measured together, with the targets parknews is held to on them."""

    folder: Path
    title: str
    speed_target: float | None
    """parknews records per second should be at least this multiple of trafilatura's rate."""
    floor_target: float | None
    """parknews should take at most this multiple of the bare parse's time per page."""


PAGE_SETS = {
    "real": PageSet(
        GOLDEN_REAL,
        "Real pages (tests/fixtures/real: recorded from sites parknews has no profile for)",
        speed_target=3.0,
        floor_target=None,
    ),
    "sites": PageSet(
        GOLDEN_SITES,
        "Fixture site pages (tests/fixtures/sites: the profiled sites' saved pages)",
        speed_target=None,
        floor_target=3.0,
    ),
}
"""The real pages come first: they are the headline figure."""
PROFILE_ROWS = 20
PARSE_FUNCTIONS = frozenset({parse_html.__name__})
"""Where parknews hands the page to lxml's parser."""

Task = Callable[[], None]


@dataclass(frozen=True)
class Measurement:
    """Throughput of one task."""

    name: str
    pages_per_second: float
    repeat_rates: tuple[float, ...]
    passes: int
    peak_rss_kib: int

    def to_json(self) -> str:
        return json.dumps(asdict(self))

    @classmethod
    def from_json(cls, text: str) -> Measurement:
        fields = json.loads(text)
        return cls(**{**fields, "repeat_rates": tuple(fields["repeat_rates"])})


@dataclass(frozen=True)
class Prepared:
    """A golden page with everything a task needs computed ahead of timing."""

    page: GoldenPage
    text: str
    site: str | None


def prepare(pages: Sequence[GoldenPage]) -> list[Prepared]:
    return [
        Prepared(page, decode_page(page.raw, None).text, page.site if page.site in SITES else None)
        for page in pages
    ]


def parknews_record_task(pages: Sequence[Prepared], from_bytes: bool = True) -> Task:
    """Records of `pages` from their bytes (`PageProcessor.record`), or from the text
    parknews decoded (`record_of_text`)."""
    processor = PageProcessor()

    def run() -> None:
        for item in pages:
            with suppress(NotAnArticle):
                if from_bytes:
                    processor.record(item.page.raw, item.page.url, site=item.site)
                else:
                    processor.record_of_text(item.text, item.page.url, site=item.site)

    return run


def parknews_extract_task(pages: Sequence[Prepared]) -> Task:
    profiles = [profile_for(item.page.url, item.site, SITES) for item in pages]

    def run() -> None:
        for item, profile in zip(pages, profiles, strict=True):
            with suppress(NotAnArticle):
                build_record(item.text, item.page.url, profile)

    return run


def trafilatura_task(pages: Sequence[Prepared], from_bytes: bool = False) -> Task | None:
    """trafilatura on the text parknews decoded, or on the bytes (it decodes them itself);
    None when it is not installed."""
    try:
        trafilatura = import_module("trafilatura")
    except ImportError:
        return None

    def run() -> None:
        for item in pages:
            page = item.page.raw if from_bytes else item.text
            trafilatura.extract(page, url=item.page.url, **TRAFILATURA_OPTIONS)

    return run


def floor_task(pages: Sequence[Prepared]) -> Task:
    def run() -> None:
        for item in pages:
            lxml.html.fromstring(item.page.raw)

    return run


TASKS: dict[str, Callable[[Sequence[Prepared]], Task | None]] = {
    "parknews record": parknews_record_task,
    "trafilatura (bytes)": partial(trafilatura_task, from_bytes=True),
    "parknews record (text)": partial(parknews_record_task, from_bytes=False),
    "parknews extract": parknews_extract_task,
    "trafilatura": trafilatura_task,
    "lxml parse floor": floor_task,
}
BASELINES = {
    "parknews record": "trafilatura (bytes)",
    "trafilatura (bytes)": "trafilatura (bytes)",
    "lxml parse floor": "trafilatura (bytes)",
}
"""The trafilatura task given the same input as each task (page bytes, or the page decoded
by parknews); the tasks not named here are given the decoded text, as "trafilatura" is."""


def repeat(task: Task, seconds: float) -> tuple[int, float]:
    """Run passes of `task` until at least `seconds` have passed: (passes, elapsed seconds)."""
    gc.collect()
    passes, start = 0, time.perf_counter()
    while True:
        task()
        passes += 1
        elapsed = time.perf_counter() - start
        if elapsed >= seconds:
            return passes, elapsed


def peak_rss_kib() -> int:
    """This process's peak resident set in KiB.

    /proc's VmHWM when there is one: Linux carries `getrusage` ru_maxrss over fork and exec,
    so a child started by a large parent would report the parent's peak instead of its own.
    """
    try:
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1])
    except (OSError, ValueError, IndexError):
        pass
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss


def measure(name: str, task: Task, pages: int, seconds: float) -> Measurement:
    """One warm-up pass, then the median rate of repeats lasting at least `seconds` each."""
    task()
    runs = [repeat(task, seconds) for _ in range(REPEATS)]
    rates = tuple(passes * pages / elapsed for passes, elapsed in runs)
    peak = peak_rss_kib()
    return Measurement(name, statistics.median(rates), rates, max(p for p, _ in runs), peak)


@contextmanager
def one_cpu() -> Iterator[None]:
    """Pin the process to the first CPU it may use, for the duration (where the OS allows)."""
    if not hasattr(os, "sched_setaffinity"):
        yield
        return
    allowed = os.sched_getaffinity(0)
    os.sched_setaffinity(0, {min(allowed)})
    try:
        yield
    finally:
        os.sched_setaffinity(0, allowed)


def profile_parknews(pages: Sequence[Prepared], seconds: float) -> str:
    """Top functions by cumulative time while parknews builds records of `pages`."""
    task = parknews_record_task(pages)
    task()
    profiler = cProfile.Profile()
    start = time.perf_counter()
    profiler.enable()
    passes = 0
    while passes == 0 or time.perf_counter() - start < seconds:
        task()
        passes += 1
    profiler.disable()
    stats = pstats.Stats(profiler)
    entries = sorted(
        (
            (where, timing)
            for where, timing in stats.stats.items()  # type: ignore[attr-defined]
            if not where[0].startswith(str(Path(__file__).parent))
        ),
        key=lambda entry: entry[1][3],
        reverse=True,
    )
    total = max((timing[3] for _, timing in entries), default=1e-9)
    parse = sum(timing[3] for where, timing in entries if where[2] in PARSE_FUNCTIONS)
    rows = []
    for (filename, line, function), (_, calls, own, cumulative, _) in entries[:PROFILE_ROWS]:
        rows.append(
            [
                f"`{short_location(filename, line, function)}`",
                str(calls),
                f"{own:.3f}",
                f"{cumulative:.3f}",
                f"{100 * cumulative / total:.0f}",
            ]
        )
    table = markdown_table(["function", "calls", "own s", "cumulative s", "% of records"], rows)
    return (
        f"cProfile of `PageProcessor.record` over the real pages ({passes} passes, "
        f"{total:.2f} s in `record` under the profiler), top {PROFILE_ROWS} functions by "
        f"cumulative time. Parsing the HTML itself ({', '.join(sorted(PARSE_FUNCTIONS))}) "
        f"takes {100 * parse / total:.0f}% of it.\n\n{table}"
    )


def short_location(filename: str, line: int, function: str) -> str:
    """A profiler location relative to the repository, site-packages or the standard library."""
    if filename == "~":
        return function
    path = Path(filename)
    bases = [ROOT, *(Path(p) for p in sys.path if p.endswith("site-packages"))]
    bases.append(Path(sysconfig.get_paths()["stdlib"]))
    for base in bases:
        if path.is_relative_to(base):
            path = path.relative_to(base)
            break
    return f"{path}:{line}({function})"


def ratio(a: float, b: float) -> str:
    return f"{a / b:.2f}x" if b else "n/a"


def verdicts(results: dict[str, Measurement], pages: PageSet) -> tuple[list[str], bool]:
    """One line per speed target of the page set saying whether it was met, and whether any
    was missed."""
    record, extracted = results.get("parknews record"), results.get("parknews extract")
    record_of_text = results.get("parknews record (text)")
    traf, traf_bytes = results.get("trafilatura"), results.get("trafilatura (bytes)")
    floor = results.get("lxml parse floor")
    if record is None or extracted is None or record_of_text is None:
        return ["- parknews was not measured: no target was checked."], False
    lines, missed = [], False
    speed_target, floor_target = pages.speed_target, pages.floor_target
    if speed_target is not None and (traf is None or traf_bytes is None):
        lines.append("- trafilatura was not measured: the speed target was not checked.")
    elif speed_target is not None and traf is not None and traf_bytes is not None:
        # Full records, each pair given the same input: both must reach the target.
        from_bytes = record.pages_per_second / traf_bytes.pages_per_second
        from_text = record_of_text.pages_per_second / traf.pages_per_second
        short = min(from_bytes, from_text) < speed_target
        missed |= short
        lines.append(
            f"- Target parknews ≥ {speed_target:g}x trafilatura's rate: "
            f"{'MISSED' if short else 'met'} (full records: {from_bytes:.2f}x from the "
            f"page's bytes, {from_text:.2f}x from its decoded text; extraction alone "
            f"{extracted.pages_per_second / traf.pages_per_second:.2f}x)."
        )
    if floor_target is not None and floor is None:
        lines.append("- The parse floor was not measured: its target was not checked.")
    elif floor_target is not None and floor is not None:
        slowdown = floor.pages_per_second / record.pages_per_second
        missed |= slowdown > floor_target
        lines.append(
            f"- Target parknews within {floor_target:g}x of the parse floor: "
            f"{'MISSED' if slowdown > floor_target else 'met'} (full records take "
            f"{slowdown:.2f}x the bare parse's time per page, extraction alone "
            f"{floor.pages_per_second / extracted.pages_per_second:.2f}x)."
        )
        if slowdown > floor_target:
            lines.append(
                "  The floor is libxml2's C parser and nothing else; all parknews does after "
                "it (finding the article, its title, meta line and attachments, then cleaning, "
                "normalising and converting the text) is Python walking the tree and its "
                "strings. Where that time goes is in the profile below."
            )
    return lines, missed


def speed_section(seconds: float, profile_seconds: float) -> str:
    """The speed report as Markdown: for each page set, rates, ratios and verdicts, then a
    profile of the real pages if a target is missed."""
    parts = ["## Speed"]
    missed_any = False
    for key, page_set in PAGE_SETS.items():
        table, lines, missed = page_set_report(key, page_set, seconds)
        parts += [*table, "\n".join(lines)]
        missed_any |= missed
    if missed_any:
        pages = prepare(load_pages(PAGE_SETS["real"].folder))
        parts += ["### Where parknews spends its time", profile_parknews(pages, profile_seconds)]
    return "\n\n".join(parts)


def page_set_report(
    key: str, page_set: PageSet, seconds: float
) -> tuple[list[str], list[str], bool]:
    """The measurements of one page set: its heading, text and table; its verdict lines; and
    whether a target was missed."""
    pages = load_pages(page_set.folder)
    count = len(pages)
    size_kib = sum(len(page.raw) for page in pages) / max(count, 1) / 1024
    results: dict[str, Measurement] = {}
    skipped: list[str] = []
    for name in TASKS:
        measured = measure_apart(name, key, seconds)
        if isinstance(measured, Measurement):
            results[name] = measured
        else:
            skipped.append(f"- {name}: {measured}")
    floor = results.get("lxml parse floor")
    rows = []
    for result in results.values():
        rate = result.pages_per_second
        traf = results.get(BASELINES.get(result.name, "trafilatura"))
        rows.append(
            [
                result.name,
                f"{rate:.1f}",
                f"{1000 / rate:.2f}",
                " / ".join(f"{r:.0f}" for r in result.repeat_rates),
                str(result.passes),
                ratio(rate, traf.pages_per_second) if traf else "n/a",
                ratio(floor.pages_per_second, rate) if floor else "n/a",
                f"{result.peak_rss_kib / 1024:.0f}",
            ]
        )
    table = markdown_table(
        [
            "task",
            "pages/s (median)",
            "ms/page",
            "repeats pages/s",
            "passes/repeat",
            "rate vs trafilatura",
            "time vs floor",
            "peak RSS MiB",
        ],
        rows,
    )
    pinning = "pinned to one CPU" if hasattr(os, "sched_setaffinity") else "not pinned"
    text = [
        f"### {page_set.title}",
        f"{count} pages (mean {size_kib:.1f} KiB). Each task runs in its own process, "
        f"{pinning}: one warm-up pass, then {REPEATS} repeats of at least {seconds:g} s each; "
        'the median is reported. "rate vs trafilatura" is the task\'s pages/s over '
        "trafilatura's given the same input (the page's bytes, or its text as parknews decodes "
        'it); "time vs floor" is the task\'s time per page over the bare lxml '
        "parse's. Peak RSS is that process's high-water mark (VmHWM, else ru_maxrss); every "
        "process first imports parknews (and so Scrapy), so the floor's RSS is the baseline.",
        table,
    ]
    if skipped:
        text.append("Not measured:\n" + "\n".join(skipped))
    lines, missed = verdicts(results, page_set)
    return text, lines, missed


def measure_here(name: str, page_set: str, seconds: float) -> Measurement | str:
    """Measure one task on one page set in this process: its Measurement, or why it cannot
    run."""
    pages = prepare(load_pages(PAGE_SETS[page_set].folder))
    task = TASKS[name](pages)
    if task is None:
        return "its package is not installed"
    with one_cpu():
        return measure(name, task, len(pages), seconds)


def measure_apart(name: str, page_set: str, seconds: float) -> Measurement | str:
    """Measure one task on one page set in a fresh interpreter: its Measurement, or why it
    was not measured."""
    command = [sys.executable, "-m", "benchmarks.speed", "--task", name, "--pages", page_set]
    command += ["--seconds", str(seconds)]
    done = subprocess.run(command, cwd=ROOT, capture_output=True, text=True, timeout=900)
    lines = done.stdout.strip().splitlines()
    if done.returncode != 0 or not lines:
        return f"failed (exit status {done.returncode}): {done.stderr.strip()[-500:]}"
    found = json.loads(lines[-1])
    if isinstance(found, str):
        return found
    return Measurement.from_json(lines[-1])


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=3.0, help="minimum seconds per repeat")
    parser.add_argument(
        "--task",
        choices=sorted(TASKS),
        help="measure this task alone in this process and print its result as JSON",
    )
    parser.add_argument(
        "--pages", choices=sorted(PAGE_SETS), default="real", help="page set of --task"
    )
    args = parser.parse_args(argv)
    if args.task:
        measured = measure_here(args.task, args.pages, args.seconds)
        print(measured.to_json() if isinstance(measured, Measurement) else json.dumps(measured))
    else:
        print(speed_section(args.seconds, args.seconds))
    return 0


if __name__ == "__main__":
    sys.exit(main())
