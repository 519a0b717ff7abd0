"""The list-page benchmark scores readers against the walk truth of the family fixture hosts."""

from __future__ import annotations

from typing import Any

from benchmarks import GOLDEN_SITES
from benchmarks.lists import (
    Score,
    every_link_reader,
    lists_section,
    parknews_reader,
    score_host,
)
from crawler import cms


def nothing_reader(page: cms.ListPage, family: cms.Family | None) -> Any:
    return [], [], None


def test_a_reader_scores_by_links_found_and_next_requests(fixture_proxy: str) -> None:
    exact, family = score_host(fixture_proxy, "www.qhgxq.gov.cn", parknews_reader)
    assert family == "trs"
    assert exact.right == exact.found == exact.wanted > 0
    assert exact.next_right == exact.pages == 3
    blind, _ = score_host(fixture_proxy, "www.qhgxq.gov.cn", nothing_reader)
    assert (blind.found, blind.right, blind.wanted) == (0, 0, exact.wanted)
    assert blind.next_right == 1  # only the last page, which has no next request
    greedy, _ = score_host(fixture_proxy, "www.qhgxq.gov.cn", every_link_reader)
    assert greedy.right == exact.wanted and greedy.found > 2 * greedy.right
    assert Score(found=4, right=3, wanted=6, pages=2, next_right=1).row("x") == [
        "x",
        "0.750",
        "0.500",
        "1/2",
    ]


def test_the_section_reports_every_reader_and_host_and_parknews_meets_its_targets() -> None:
    section = lists_section()
    rows = {line.split(" | ")[0].lstrip("| "): line for line in section.splitlines()}
    for reader in ("parknews", "article-shaped links, 下一页 link", "every link on the page"):
        assert any(name.startswith(reader) for name in rows), reader
    _, precision, recall, walked = rows["parknews"].strip("| ").split(" | ")
    right, pages = walked.split("/")
    assert float(precision) >= 0.98 and float(recall) >= 0.98
    assert right == pages
    assert section.count("| www.") == len(list(GOLDEN_SITES.glob("*/_lists.json")))
