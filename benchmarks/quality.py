"""Extraction quality of parknews beside general-purpose extractors, scored on golden pages.

Run from the repository root: `python -m benchmarks.quality [--pages DIR ...]`.

Every tool gets the same input: the page's bytes decoded once with
`crawler.decode.decode_page(raw, None)`. parknews itself is given the raw bytes, because
`PageProcessor.record` (the crawl's own path: extraction and every item pipeline) decodes them
with that very call. Scores are defined in `benchmarks.scoring`; a tool that raises, or returns
nothing, fails the page and scores 0 on it; a tool that gives no title or date misses them.
"""

from __future__ import annotations

import argparse
import json
import logging
import sys
from collections import defaultdict
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from importlib import import_module
from pathlib import Path

import lxml.html
from lxml import etree

from benchmarks import (
    GOLDEN_GENERIC,
    GOLDEN_REAL,
    GOLDEN_SITES,
    GoldenPage,
    load_pages,
    markdown_table,
)
from benchmarks.scoring import Extracted, PageScore, Summary, score_page, summarise
from crawler.decode import decode_page
from crawler.extract import NotAnArticle
from crawler.offline import PageProcessor
from crawler.sites import SITES

# Block-level tags after which readability's HTML output starts a new paragraph.
BLOCK_TAGS = frozenset(
    {
        "p",
        "div",
        "li",
        "ul",
        "ol",
        "h1",
        "h2",
        "h3",
        "h4",
        "h5",
        "h6",
        "tr",
        "table",
        "td",
        "th",
        "blockquote",
        "pre",
        "section",
        "article",
        "dl",
        "dt",
        "dd",
        "center",
        "figure",
        "figcaption",
        "header",
        "footer",
        "main",
        "aside",
        "nav",
        "hr",
        "address",
        "br",
        "body",
    }
)
TRAFILATURA_OPTIONS = {"output_format": "json", "with_metadata": True, "include_comments": False}

Runner = Callable[[GoldenPage, str], Extracted | None]


@dataclass(frozen=True)
class Tool:
    """One extractor under test: a name, how to run it on a page, and its configuration."""

    name: str
    run: Runner
    config: str


@dataclass
class ToolResult:
    """One tool's scores over a page set, and the first error it raised."""

    tool: Tool
    scores: dict[str, PageScore] = field(default_factory=dict)
    first_error: str | None = None


def html_text(fragment: str) -> str:
    """The text of an HTML fragment, one line per block element, blank lines dropped."""
    if not fragment.strip():
        return ""
    root = lxml.html.fragment_fromstring(fragment, create_parent="div")
    etree.strip_elements(root, "script", "style", with_tail=False)
    pieces: list[str] = []

    def walk(element: etree._Element) -> None:
        block = isinstance(element.tag, str) and element.tag in BLOCK_TAGS
        if block:
            pieces.append("\n")
        if isinstance(element.tag, str) and element.text:
            pieces.append(element.text)
        for child in element:
            walk(child)
            if child.tail:
                pieces.append(child.tail)
        if block:
            pieces.append("\n")

    walk(root)
    lines = (" ".join(line.split()) for line in "".join(pieces).split("\n"))
    return "\n".join(line for line in lines if line)


def parknews_tool() -> Tool:
    processor = PageProcessor()

    def run(page: GoldenPage, _text: str) -> Extracted | None:
        site = page.site if page.site in SITES else None
        try:
            record = processor.record(page.raw, page.url, site=site)
        except NotAnArticle:
            return None
        return Extracted(record.get("title"), record.get("published_at"), record.get("body") or "")

    return Tool("parknews", run, "PageProcessor().record(raw, url, site=site)")


def trafilatura_tool(favor_precision: bool) -> Tool | str:
    try:
        trafilatura = import_module("trafilatura")
    except ImportError:
        return "trafilatura: not installed (pip install trafilatura)"
    logging.getLogger("trafilatura").setLevel(logging.CRITICAL)
    logging.getLogger("htmldate").setLevel(logging.CRITICAL)
    options = {**TRAFILATURA_OPTIONS, "favor_precision": favor_precision}

    def run(page: GoldenPage, text: str) -> Extracted | None:
        output = trafilatura.extract(text, url=page.url, **options)
        if not output:
            return None
        found = json.loads(output)
        return Extracted(found.get("title"), found.get("date"), found.get("text") or "")

    name = "trafilatura (favor_precision)" if favor_precision else "trafilatura"
    shown = ", ".join(f"{key}={value!r}" for key, value in options.items())
    return Tool(name, run, f"trafilatura.extract(text, url=url, {shown})")


def readability_tool() -> Tool | str:
    try:
        readability = import_module("readability")
    except ImportError:
        return "readability-lxml: not installed (pip install readability-lxml)"
    logging.getLogger("readability").setLevel(logging.CRITICAL)
    logging.getLogger("readability.readability").setLevel(logging.CRITICAL)

    def run(page: GoldenPage, text: str) -> Extracted | None:
        document = readability.Document(text, url=page.url)
        body = html_text(document.summary(html_partial=True))
        return Extracted(document.short_title(), None, body) if body else None

    return Tool(
        "readability-lxml",
        run,
        "Document(text, url=url): short_title(), text of summary(html_partial=True); no date",
    )


def gne_tool() -> Tool | str:
    try:
        gne = import_module("gne")
    except ImportError:
        return "GNE: not installed (pip install gne)"
    extractor = gne.GeneralNewsExtractor()

    def run(page: GoldenPage, text: str) -> Extracted | None:
        found = extractor.extract(text)
        body = found.get("content") or ""
        return Extracted(found.get("title"), found.get("publish_time"), body) if body else None

    return Tool("GNE", run, "GeneralNewsExtractor().extract(text): title, publish_time, content")


def available_tools() -> tuple[list[Tool], list[str]]:
    """The tools that can run here, and a note for each one that cannot."""
    tools: list[Tool] = [parknews_tool()]
    skipped: list[str] = []
    for made in (trafilatura_tool(False), trafilatura_tool(True), readability_tool(), gne_tool()):
        if isinstance(made, Tool):
            tools.append(made)
        else:
            skipped.append(made)
    return tools, skipped


def expected_of(page: GoldenPage) -> Extracted:
    record = page.expected
    return Extracted(record.get("title"), record.get("published_at"), record.get("body") or "")


def run_tools(tools: Sequence[Tool], pages: Sequence[GoldenPage]) -> list[ToolResult]:
    """Every tool on every page, scored; an exception fails the page for that tool only."""
    results = [ToolResult(tool) for tool in tools]
    for page in pages:
        text = decode_page(page.raw, None).text
        expected = expected_of(page)
        for result in results:
            try:
                found = result.tool.run(page, text)
            except Exception as exc:  # a crashing tool fails this page only
                found = None
                if result.first_error is None:
                    result.first_error = f"{page.url}: {type(exc).__name__}: {exc}"
            result.scores[page.url] = score_page(found, expected)
    return results


def percent(value: float) -> str:
    return f"{100 * value:.1f}"


def overall_table(results: Sequence[ToolResult]) -> str:
    rows = []
    for result in results:
        s: Summary = summarise(list(result.scores.values()))
        rows.append(
            [
                result.tool.name,
                f"{s.precision:.3f}",
                f"{s.recall:.3f}",
                f"{s.f1:.3f}",
                percent(s.title_rate),
                percent(s.date_rate),
                percent(s.timestamp_rate),
                f"{s.leaked_lines} ({s.leak_pages})",
                f"{s.repeated} ({s.repeat_pages})",
                f"{s.failed}/{s.pages}",
            ]
        )
    headers = [
        "tool",
        "body P",
        "body R",
        "body F1",
        "title %",
        "date %",
        "timestamp %",
        "leaked lines (pages)",
        "repeated paragraphs (pages)",
        "failed",
    ]
    return markdown_table(headers, rows)


def site_table(results: Sequence[ToolResult], pages: Sequence[GoldenPage]) -> str:
    groups: dict[str, list[str]] = defaultdict(list)
    for page in pages:
        groups[page.group].append(page.url)
    rows = []
    for group, urls in sorted(groups.items()):
        cells = [f"{group} ({len(urls)})"]
        for result in results:
            cells.append(f"{summarise([result.scores[url] for url in urls]).f1:.3f}")
        rows.append(cells)
    return markdown_table(["group (pages)", *(r.tool.name for r in results)], rows)


def leak_examples(results: Sequence[ToolResult]) -> str:
    lines = []
    for result in results:
        examples = summarise(list(result.scores.values())).examples
        if examples:
            shown = "; ".join(f"`{line[:60]}`" for line in examples)
            lines.append(f"- {result.tool.name}: {shown}")
    return "\n".join(lines) if lines else "- none"


def report(pages: Sequence[GoldenPage], title: str, by: str = "site") -> str:
    """The quality section for one page set, as Markdown, broken down `by` site or page."""
    tools, skipped = available_tools()
    results = run_tools(tools, pages)
    parts = [
        f"### {title}: {len(pages)} pages",
        overall_table(results),
        "Body P/R/F1: mean bag-of-characters scores per page (non-whitespace characters). "
        "Title, date (YYYY-MM-DD) and timestamp (day and time of day): share of pages exactly "
        "right. Leaked lines: output lines with a boilerplate marker that the expected body "
        "lacks. Repeated: distinct paragraphs of 15+ characters output more than once. "
        "A failed page scores 0 everywhere.",
        f"#### Body F1 by {by}",
        site_table(results, pages),
        "#### Most frequent leaked lines",
        leak_examples(results),
        "#### Configurations",
        "\n".join(f"- {r.tool.name}: `{r.tool.config}`" for r in results),
    ]
    errors = [f"- {r.tool.name}: first error {r.first_error}" for r in results if r.first_error]
    notes = [f"- skipped {note}" for note in skipped] + errors
    if notes:
        parts += ["#### Notes", "\n".join(notes)]
    return "\n\n".join(parts)


def quality_section(extra: Sequence[Path] = ()) -> str:
    """Quality tables for the golden pages, then for each extra directory of pages."""
    sections = [
        report(load_pages(GOLDEN_SITES), "Golden pages (tests/fixtures/sites)"),
        report(
            load_pages(GOLDEN_GENERIC), "Pages of sites with no profile (tests/fixtures/generic)"
        ),
        report(
            load_pages(GOLDEN_REAL),
            "Real pages recorded from real sites (tests/fixtures/real)",
            by="page",
        ),
    ]
    sections += [report(load_pages(path), str(path)) for path in extra]
    return "## Extraction quality\n\n" + "\n\n".join(sections)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--pages",
        type=Path,
        action="append",
        default=[],
        metavar="DIR",
        help="also score the pages under DIR (each beside its <stem>.expected.json)",
    )
    args = parser.parse_args(argv)
    print(quality_section(args.pages))
    return 0


if __name__ == "__main__":
    sys.exit(main())
