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


def verdicts(
    ours: tuple[float, float],
    theirs: tuple[float, float],
    sizes: tuple[int, int] = (10_000, 100_000),
) -> list[str]:
    crawls = [
        crawl(BASELINE, sizes[0], theirs[0]),
        crawl(PARKNEWS, sizes[0], ours[0]),
        crawl(BASELINE, sizes[1], theirs[1]),
        crawl(PARKNEWS, sizes[1], ours[1]),
    ]
    return [line for line in memory_lines(crawls) if line.startswith("- From")]


def test_growth_like_the_bare_scrapy_crawl_is_flat() -> None:
    (line,) = verdicts(ours=(130, 140), theirs=(100, 110))
    assert line.endswith(": flat.")
    assert "+0.00 KiB per page" in line


def test_growth_beyond_the_bare_scrapy_crawl_is_not_flat() -> None:
    (line,) = verdicts(ours=(130, 200), theirs=(100, 110))
    assert line.endswith("NOT flat.")
    assert "+0.65 KiB per page" in line


def test_growth_measured_from_a_crawl_still_warming_up_gets_no_verdict() -> None:
    (line,) = verdicts(ours=(125, 130), theirs=(100, 101), sizes=(500, 2_000))
    assert "no verdict" in line
    assert not line.endswith("flat.")


def test_without_a_baseline_no_verdict_is_given() -> None:
    crawls = [crawl(PARKNEWS, 10_000, 130), crawl(PARKNEWS, 100_000, 140)]
    (line,) = [line for line in memory_lines(crawls) if line.startswith("- From")]
    assert line.endswith("no baseline to compare with.")


def test_crawls_within_the_warm_up_are_not_extrapolated() -> None:
    crawls = [crawl(PARKNEWS, 500, 125), crawl(PARKNEWS, 2_000, 130)]
    lines = memory_lines(crawls)
    assert "too small" in lines[0]
    assert not any("would peak near" in line or "extrapolated from" in line for line in lines)


def test_crawls_past_the_warm_up_are_extrapolated() -> None:
    crawls = [crawl(PARKNEWS, 2_000, 130), crawl(PARKNEWS, 5_000, 131)]
    lines = memory_lines(crawls)
    assert "extrapolated from 2,000 and 5,000 articles" in lines[0]
    assert any("would peak near" in line for line in lines)
