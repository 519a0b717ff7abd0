"""The crawl benchmark's memory verdict: parknews's growth judged against Scrapy's own."""

from __future__ import annotations

from benchmarks.crawl import BASELINE, PARKNEWS, Crawl, Watched, memory_lines


def crawl(crawler: str, articles: int, peak_mib: float) -> Crawl:
    pages = articles + articles // 20 + 1  # articles, list pages, robots.txt
    watched = Watched(
        returncode=0,
        wall_seconds=10.0,
        peak_rss_kib=int(peak_mib * 1024),
        samples=[],
        stopped=False,
        time_limit=600.0,
        log="",
        cpu_seconds=5.0,
    )
    return Crawl(crawler, articles, watched, pages, pages, articles, 9.0, "finished")


def verdicts(ours: tuple[float, float], theirs: tuple[float, float]) -> list[str]:
    crawls = [
        crawl(BASELINE, 1_000, theirs[0]),
        crawl(PARKNEWS, 1_000, ours[0]),
        crawl(BASELINE, 10_000, theirs[1]),
        crawl(PARKNEWS, 10_000, ours[1]),
    ]
    return [line for line in memory_lines(crawls) if line.startswith("- From")]


def test_growth_like_the_bare_scrapy_crawl_is_flat() -> None:
    (line,) = verdicts(ours=(130, 140), theirs=(100, 110))
    assert line.endswith(": flat.")
    assert "+0.00 KiB per page" in line


def test_growth_beyond_the_bare_scrapy_crawl_is_not_flat() -> None:
    (line,) = verdicts(ours=(130, 150), theirs=(100, 110))
    assert line.endswith("NOT flat.")
    assert "+1.08 KiB per page" in line


def test_without_a_baseline_no_verdict_is_given() -> None:
    crawls = [crawl(PARKNEWS, 1_000, 130), crawl(PARKNEWS, 10_000, 140)]
    (line,) = [line for line in memory_lines(crawls) if line.startswith("- From")]
    assert line.endswith("no baseline to compare with.")
