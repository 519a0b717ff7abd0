"""The workers benchmark: a shared crawl of a tiny generated site, end to end, and its table."""

from __future__ import annotations

from collections import Counter

import pytest

from benchmarks.workers import SINGLE_HOST, TABLE_HEADERS, Plan, exactly_once, workers_section

ARTICLES = 40
"""Two list pages: the smallest crawl that still walks a list and splits into batches."""


def tables(text: str) -> list[list[list[str]]]:
    """Every Markdown table of `text`, as rows of cells (header first, rule left out)."""
    found: list[list[list[str]]] = []
    rows: list[list[str]] = []
    for line in [*text.splitlines(), ""]:
        if line.startswith("|"):
            cells = [cell.strip() for cell in line.strip("|").split("|")]
            if not all(set(cell) <= set(":-") for cell in cells):
                rows.append(cells)
        elif rows:
            found.append(rows)
            rows = []
    return found


@pytest.mark.crawl
def test_workers_sharing_a_small_crawl_write_each_article_once() -> None:
    section = workers_section(quick=True, plan=Plan(ARTICLES, (1, 2), time_limit=60))
    assert "Skipped" not in section, section
    main, keys = tables(section)
    assert main[0] == TABLE_HEADERS
    column = {name: index for index, name in enumerate(TABLE_HEADERS)}
    rows = main[1:]
    assert [row[0] for row in rows] == [SINGLE_HOST, "1 worker, Redis", "2 workers, Redis"]
    assert [row[column["each article once"]] for row in rows] == ["✓"] * 3
    assert [row[column["articles written"]] for row in rows] == [f"{ARTICLES}"] * 3
    for row in rows:
        # Every article, both list pages and robots.txt; a second worker may ask robots.txt.
        assert int(row[column["pages fetched"]].replace(",", "")) >= ARTICLES + 3, row
        assert float(row[column["pages/s"]]) > 0 and float(row[column["CPU ms/page"]]) > 0
        assert float(row[column["state MiB per 100k articles"]]) > 0
    assert len(rows[2][column["pages per process"]].split(" / ")) == 2
    # One row of Redis memory by key family per shared crawl, each holding every article.
    assert [row[:2] for row in keys[1:]] == [
        ["1 worker, Redis", f"{ARTICLES}"],
        ["2 workers, Redis", f"{ARTICLES}"],
    ]


@pytest.mark.parametrize(
    ("written", "verdict"),
    [
        ({0: 1, 1: 1, 2: 1}, "✓"),
        ({0: 1, 1: 2, 2: 1}, "✗ (1 written more than once)"),
        ({0: 1, 2: 1}, "✗ (1 missing)"),
        ({0: 2, 1: 1}, "✗ (1 missing, 1 written more than once)"),
    ],
)
def test_exactly_once_names_what_is_wrong(written: dict[int, int], verdict: str) -> None:
    counts = Counter({f"/{index}": times for index, times in written.items()})
    assert exactly_once(counts, {"/0", "/1", "/2"}) == verdict


def test_a_path_not_expected_is_unknown() -> None:
    assert exactly_once(Counter({"/0": 1, "/9": 1}), {"/0"}) == "✗ (1 unknown)"
