"""Run the benchmarks and write their tables to benchmarks/RESULTS.md.

Usage, from the repository root:

    python -m benchmarks [--quick] [--only quality,lists,speed,normalise,crawl,workers,dedup]
        [--pages DIR] [--output FILE]

`--quick` shortens the speed repeats (three of at least 1 s per task instead of 3 s) and the
normalisation run, crawls sites of 500 and 2,000 articles and indexes 20,000 texts for the
dedup section, and has 1, 2 and 4 workers share a crawl of 1,000 articles rather than 10,000:
the whole quick run takes about four minutes on two cores. The full run crawls 1k, 10k and 100k
articles (about half an hour), the workers section about ten minutes more, and indexes 100k and
1M texts.
"""

from __future__ import annotations

import argparse
import os
import platform
import subprocess
import sys
import time
from datetime import datetime, timezone
from importlib import metadata
from pathlib import Path

from benchmarks import ROOT, markdown_table, usable_cores

SECTIONS = ("quality", "lists", "speed", "normalise", "crawl", "workers", "dedup")
RESULTS = ROOT / "benchmarks" / "RESULTS.md"
CRAWL_PLOT = "crawl-growth.png"
"""Written beside the results file by the crawl section, when matplotlib is installed."""
NORMALISE_SCRIPT = ROOT / "benchmarks" / "bench_normalise.py"
PACKAGES = ("scrapy", "parsel", "lxml", "trafilatura", "opencc", "readability-lxml", "gne")


def cpu_model() -> str:
    """The CPU model named in /proc/cpuinfo, or what the platform module knows."""
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or "unknown"


def package_version(name: str) -> str:
    try:
        return metadata.version(name)
    except metadata.PackageNotFoundError:
        return "not installed"


def machine_header(started: datetime, quick: bool) -> str:
    rows = [
        ["date", started.strftime("%Y-%m-%d %H:%M UTC")],
        ["mode", "quick" if quick else "full"],
        ["platform", platform.platform()],
        ["CPU", cpu_model()],
        ["cores", f"{usable_cores()} usable of {os.cpu_count()}"],
        ["Python", f"{platform.python_implementation()} {platform.python_version()}"],
        *([name, package_version(name)] for name in PACKAGES),
    ]
    return "# parknews benchmark results\n\n" + markdown_table(["", ""], rows, align="ll")


def normalise_section(quick: bool) -> str:
    """The output of benchmarks/bench_normalise.py, run in its own process."""
    command = [sys.executable, str(NORMALISE_SCRIPT), "--records", "100" if quick else "300"]
    done = subprocess.run(command, cwd=ROOT, capture_output=True, text=True, timeout=600)
    output = done.stdout.strip() or "(no output)"
    if done.returncode != 0:
        output += f"\n\nexit status {done.returncode}:\n{done.stderr.strip()[-2000:]}"
    shown = " ".join(
        Path(part).name if part == str(NORMALISE_SCRIPT) else part for part in command[1:]
    )
    return f"## Normalisation throughput\n\n`python benchmarks/{shown}`:\n\n```\n{output}\n```"


def parse_only(value: str) -> list[str]:
    chosen = [part.strip() for part in value.split(",") if part.strip()]
    unknown = [part for part in chosen if part not in SECTIONS]
    if unknown or not chosen:
        named = ", ".join(unknown) or "(none)"
        raise argparse.ArgumentTypeError(
            f"unknown section(s) {named}; choose from {', '.join(SECTIONS)}"
        )
    return chosen


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m benchmarks", description=__doc__.splitlines()[0]
    )
    parser.add_argument(
        "--quick", action="store_true", help="short runs (crawl: 500 and 2k articles only)"
    )
    parser.add_argument(
        "--only",
        type=parse_only,
        default=list(SECTIONS),
        help=f"comma-separated sections to run (default: {','.join(SECTIONS)})",
    )
    parser.add_argument(
        "--pages",
        type=Path,
        action="append",
        default=[],
        metavar="DIR",
        help="also score the pages under DIR in the quality section (repeatable)",
    )
    parser.add_argument("--output", type=Path, default=RESULTS, help="Markdown file to write")
    args = parser.parse_args(argv)

    started = datetime.now(timezone.utc)
    clock = time.perf_counter()
    parts = [machine_header(started, args.quick)]
    if "quality" in args.only:
        from benchmarks.quality import quality_section

        parts.append(quality_section(args.pages))
    if "lists" in args.only:
        from benchmarks.lists import lists_section

        parts.append(lists_section())
    if "speed" in args.only:
        from benchmarks.speed import speed_section

        seconds = 1.0 if args.quick else 3.0
        parts.append(speed_section(seconds, profile_seconds=seconds))
    if "normalise" in args.only:
        parts.append(normalise_section(args.quick))
    if "crawl" in args.only:
        from benchmarks.crawl import crawl_section

        parts.append(crawl_section(args.quick, plot_path=args.output.with_name(CRAWL_PLOT)))
    if "workers" in args.only:
        from benchmarks.workers import workers_section

        parts.append(workers_section(args.quick))
    if "dedup" in args.only:
        from benchmarks.bench_dedup import dedup_section

        parts.append(dedup_section(args.quick))
    command = " ".join(["python -m benchmarks", *(argv if argv is not None else sys.argv[1:])])
    parts.append(f"_Generated by `{command}` in {time.perf_counter() - clock:.0f} s._")
    text = "\n\n".join(parts) + "\n"
    args.output.write_text(text, "utf-8")
    print(text)
    print(f"written to {args.output}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
