"""How well list pages are read: article links found (precision, recall) and next list
requests right, on the family fixture hosts (each with its `_lists.json` walk truth), beside
two naive rules read from the same answers in the same run.

Run from the repository root: `python -m benchmarks.lists` (prints the section).
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

from benchmarks import GOLDEN_SITES, markdown_table
from crawler import cms
from crawler.cms.base import link_target, parse_markup
from crawler.cms.paging import next_link
from crawler.decode import decode_page
from crawler.sites import generic_profile
from tests.sitesrv import fetch_through, serve, walk_truth

Request = tuple[str, str, tuple[tuple[str, str], ...]]
Reader = Callable[[cms.ListPage, cms.Family | None], tuple[list[str], list[Request], cms.Family]]
"""A way to read a list page: its article links, its next requests and the family it keeps
for the next page of the walk."""
GENERIC_SHAPES = [re.compile(path) for path in cms.GENERIC_ARTICLE_PATHS]


def request_key(request: dict[str, Any]) -> Request:
    return cms.ListRequest(**request).key()


def parknews_reader(page: cms.ListPage, family: cms.Family | None) -> Any:
    """parknews as a crawl from a start URL reads the page."""
    reading = cms.read_list(page, generic_profile(page.url).owns_url, family=family)
    links = [entry.url for entry in reading.entries]
    return links, [request_key(r.as_dict()) for r in reading.next], reading.family


def page_links(page: cms.ListPage) -> list[str]:
    """Every link of the page to a page on its host, each once, in page order (Hanweb
    records and search API rows as the page would show them)."""
    family = cms.recognise(page)
    try:
        markup = family.list_markup(page)
    except cms.ListPageError as exc:
        markup = "".join(exc.rows)
    host = urlsplit(page.url).hostname
    found: list[str] = []
    root = parse_markup(markup)
    for link in root.iter("a") if root is not None else []:
        url = link_target(page.url, link.get("href"))
        if url and urlsplit(url).hostname == host and url not in found and url != page.url:
            found.append(url)
    return found


def every_link_reader(page: cms.ListPage, family: cms.Family | None) -> Any:
    """Every link on the page is an article; a "下一页" link is the next page."""
    following = next_link(page)
    nexts = [request_key(following.as_dict())] if following else []
    return page_links(page), nexts, None


def shaped_link_reader(page: cms.ListPage, family: cms.Family | None) -> Any:
    """Every link of a known article URL shape is an article (the families' shapes and
    common dated paths); a "下一页" link is the next page."""
    shaped = [
        url
        for url in page_links(page)
        if any(pattern.search(urlsplit(url).path) for pattern in GENERIC_SHAPES)
    ]
    following = next_link(page)
    return shaped, [request_key(following.as_dict())] if following else [], None


READERS: dict[str, Reader] = {
    "parknews": parknews_reader,
    "article-shaped links, 下一页 link": shaped_link_reader,
    "every link on the page, 下一页 link": every_link_reader,
}


@dataclass
class Score:
    """Link counts and walk verdicts of one reader over some pages."""

    found: int = 0
    right: int = 0
    wanted: int = 0
    pages: int = 0
    next_right: int = 0

    def add(self, other: Score) -> None:
        self.found += other.found
        self.right += other.right
        self.wanted += other.wanted
        self.pages += other.pages
        self.next_right += other.next_right

    def row(self, name: str) -> list[object]:
        precision = self.right / self.found if self.found else 0.0
        recall = self.right / self.wanted if self.wanted else 0.0
        return [
            name,
            f"{precision:.3f}",
            f"{recall:.3f}",
            f"{self.next_right}/{self.pages}",
        ]


def score_host(proxy: str, host: str, reader: Reader) -> tuple[Score, str]:
    """A reader's score on one host's walk (each page fetched as the truth says), and the
    family parknews's reader kept."""
    truth = walk_truth(host)
    score = Score()
    family: cms.Family | None = None
    for page in truth["pages"]:
        text = decode_page(fetch_through(proxy, page).encode("utf-8"), None).text
        listed = cms.ListPage(page["url"], text, page["method"], page["body"])
        links, nexts, kept = reader(listed, family)
        family = kept or family
        wanted = {article["url"] for article in page["articles"]}
        score.found += len(links)
        score.right += len(wanted & set(links))
        score.wanted += len(wanted)
        score.pages += 1
        score.next_right += nexts == [request_key(r) for r in page["next"]]
    return score, family.name if family else "-"


def lists_section() -> str:
    """The list-reading report as Markdown."""
    hosts = sorted(path.parent.name for path in GOLDEN_SITES.glob("*/_lists.json"))
    totals = {name: Score() for name in READERS}
    per_host: list[list[object]] = []
    with serve() as proxy:
        for host in hosts:
            truth = walk_truth(host)
            cells: list[object] = [host, truth["family"]]
            for name, reader in READERS.items():
                score, family = score_host(proxy, host, reader)
                totals[name].add(score)
                if name == "parknews":
                    cells.append(family)
                precision = score.right / score.found if score.found else 0.0
                cells.append(f"{precision:.2f} / {score.right / score.wanted:.2f}")
            per_host.append(cells)
    headers = ["reader", "link precision", "link recall", "next requests right (pages)"]
    total_table = markdown_table(headers, [totals[n].row(n) for n in READERS], align="lrrr")
    host_headers = ["host", "family (truth)", "family (parknews)", *(f"{n} P / R" for n in READERS)]
    host_table = markdown_table(host_headers, per_host, align="lll" + "r" * len(READERS))
    return "\n\n".join(
        [
            "## List pages",
            f"Every list page of the walks of {len(hosts)} park sites with no profile, one or "
            "more per CMS family (`tests/fixtures/sites/*/_lists.json`: the article links of "
            "each page's main list and its next list requests). Each reader gets the same "
            "answers in the same run. Precision and recall count article links over all "
            "pages; a page's next requests are right when method, URL and form fields are "
            "exactly the truth's. Targets: precision and recall ≥ 0.98, every next request "
            "right.",
            total_table,
            "### By host",
            host_table,
        ]
    )


if __name__ == "__main__":
    print(lists_section())
