"""TRS WCM: static list pages index.shtml, index_1.shtml, … announced only by the script
call `createPageHTML(pageCount, currentPage, "index", "shtml")` that draws the pager."""

from __future__ import annotations

import re
from urllib.parse import urljoin

from crawler.cms.base import Family, ListPage, ListRequest, script_assignments
from crawler.cms.shapes import UrlShapes

SHAPES = UrlShapes(
    name="trs",
    article_paths=(r"/\d{6}/t\d{8}_\d+\.s?html?$", r"/\d{6}/[0-9a-f]{32}\.s?html?$"),
    id_paths=(
        re.compile(r"/(?P<id>t\d{8}_\d+)\.s?html?$"),
        re.compile(r"/\d{6}/(?P<id>[0-9a-f]{32})\.s?html?$"),
    ),
    date_path=re.compile(r"/t(?P<y>\d{4})(?P<m>\d{2})(?P<d>\d{2})_"),
)
"""TRS WCM: `/202403/t20240315_1034521.shtml`, or a 32-hex-digit name in a month folder."""
CREATE_PAGE_CALL = re.compile(r"createPageHTML\s*\((?P<arguments>[^()]*)\)")
_ARGUMENT = re.compile(
    r"""\s*(?:"(?P<double>[^"]*)"|'(?P<single>[^']*)'|(?P<bare>[^,]*?))\s*(?:,|$)"""
)


def create_page_call(text: str) -> tuple[int, int, str, str] | None:
    """(page count, current page from 0, file prefix, extension) of the page's
    `createPageHTML` call, in its forms: (count, current, "index", "shtml"), the same with
    the numbers quoted or held in script variables (`countPage`, `currentPage`), and the
    newer ('pageDiv', count, current, 'index', 'html', recordCount)."""
    variables = script_assignments(text)
    for call in CREATE_PAGE_CALL.finditer(text):
        values = [
            variables.get(bare, bare) if bare else (double or single or "")
            for double, single, bare in _arguments(call["arguments"])
        ]
        if values and not values[0].strip().isdigit():
            values = values[1:]  # the id of the element the pager is drawn in
        if len(values) < 4 or not (values[0].isdigit() and values[1].isdigit()):
            continue
        return int(values[0]), int(values[1]), values[2] or "index", values[3] or "html"
    return None


def _arguments(text: str) -> list[tuple[str | None, str | None, str]]:
    found = []
    position = 0
    while position < len(text):
        match = _ARGUMENT.match(text, position)
        if match is None or match.end() == position:
            break
        found.append((match["double"], match["single"], (match["bare"] or "").strip()))
        position = match.end()
    return found


class Trs(Family):
    name = "trs"
    label = "TRS WCM"
    shapes = SHAPES

    def recognises(self, page: ListPage) -> bool:
        return create_page_call(page.text) is not None

    def next_requests(self, page: ListPage) -> list[ListRequest]:
        call = create_page_call(page.text)
        if call is None:
            return []
        count, current, prefix, extension = call
        if current + 1 >= count:
            return []
        return [ListRequest(urljoin(page.url, f"{prefix}_{current + 1}.{extension}"))]
