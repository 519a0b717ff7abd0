"""Benchmarks of parknews: extraction quality and speed beside other extractors, on saved pages.

Shared here: the golden pages (a saved page beside its `*.expected.json` record) and the
Markdown tables every report is printed as.
"""

from __future__ import annotations

import json
import os
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

ROOT = Path(__file__).resolve().parent.parent
GOLDEN_SITES = ROOT / "tests" / "fixtures" / "sites"
GOLDEN_GENERIC = ROOT / "tests" / "fixtures" / "generic"
GOLDEN_REAL = ROOT / "tests" / "fixtures" / "real"
"""Real pages recorded from real sites, each folder a `page.html` and its `expected.json`."""
REAL_PAGE = "page.html"
REAL_EXPECTED = "expected.json"
UNKNOWN_URL = "http://page.invalid/{id}.html"
"""The URL a real page is handed to an extractor under when the page does not say its own."""
PAGE_SUFFIXES = (".html", ".htm", ".shtml")
EXPECTED_SUFFIX = ".expected.json"


@dataclass(frozen=True)
class GoldenPage:
    """A saved page, the URL it was served at, and the record parknews must emit for it."""

    path: Path
    url: str
    site: str | None
    raw: bytes
    expected: dict[str, Any]
    label: str | None = None
    """The page's own name in per-page tables (real pages: their folder)."""

    @property
    def group(self) -> str:
        """The label, else the site key, else the host, that breakdowns group the page under."""
        return self.label or self.site or urlsplit(self.url).hostname or "?"


def page_beside(expected_path: Path) -> Path | None:
    """The saved page with the same stem as an expected record, if there is exactly one."""
    stem = expected_path.name.removesuffix(EXPECTED_SUFFIX)
    found = [expected_path.with_name(stem + suffix) for suffix in PAGE_SUFFIXES]
    pages = [page for page in found if page.is_file()]
    return pages[0] if len(pages) == 1 else None


def real_page(folder: Path) -> GoldenPage:
    """A real page's folder as a golden page: its expected record in the fields of a record
    (`source_name` is the record's `source`; a page that does not state its URL gets one)."""
    expected = json.loads((folder / REAL_EXPECTED).read_text("utf-8"))
    url = expected.get("url") or UNKNOWN_URL.format(id=expected["id"])
    if url.startswith("//"):  # protocol-relative, as the page wrote it
        url = "http:" + url
    record = {
        "url": url,
        "title": expected.get("title"),
        "published_at": expected.get("published_at"),
        "source": expected.get("source_name"),
        "author": expected.get("author"),
        "body": expected.get("body") or "",
    }
    raw = (folder / REAL_PAGE).read_bytes()
    return GoldenPage(folder / REAL_PAGE, url, None, raw, record, label=folder.name)


def load_pages(root: Path = GOLDEN_SITES) -> list[GoldenPage]:
    """Every page under `root` that has an expected record beside it, in path order: a saved
    page beside its `<stem>.expected.json`, or a folder of `page.html` and `expected.json`."""
    if not root.is_dir():
        raise SystemExit(f"{root} is not a directory of pages with *{EXPECTED_SUFFIX} records")
    real = sorted(path.parent for path in root.rglob(REAL_EXPECTED))
    if real:
        return [real_page(folder) for folder in real if (folder / REAL_PAGE).is_file()]
    pages = []
    for expected_path in sorted(root.rglob("*" + EXPECTED_SUFFIX)):
        page = page_beside(expected_path)
        if page is None:
            continue
        expected = json.loads(expected_path.read_text("utf-8"))
        pages.append(
            GoldenPage(
                path=page,
                url=expected["url"],
                site=expected.get("site"),
                raw=page.read_bytes(),
                expected=expected,
            )
        )
    return pages


def markdown_table(
    headers: Sequence[str], rows: Sequence[Sequence[object]], align: str | None = None
) -> str:
    """A Markdown table; `align` holds one of "l"/"r" per column (default: first left)."""
    align = align or "l" + "r" * (len(headers) - 1)
    cells = [[str(cell) for cell in row] for row in rows]
    rule = ["---:" if a == "r" else ":---" for a in align]
    lines = ["| " + " | ".join(headers) + " |", "| " + " | ".join(rule) + " |"]
    lines += ["| " + " | ".join(row) + " |" for row in cells]
    return "\n".join(lines)


def usable_cores() -> int:
    """The cores this process may run on."""
    if hasattr(os, "sched_getaffinity"):
        return len(os.sched_getaffinity(0))
    return os.cpu_count() or 1
