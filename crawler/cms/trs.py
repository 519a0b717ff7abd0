"""TRS WCM: static list pages index.shtml, index_1.shtml, … announced only by the script
call `createPageHTML(pageCount, currentPage, "index", "shtml")` that draws the pager. Newer
TRS front ends publish only the first pages as static files and declare a paging object
(record count, page size, how many pages are static, the search API and channel) whose
script fetches the later pages from the search API as JSON."""

from __future__ import annotations

import json
import re
from html import escape
from typing import Any
from urllib.parse import urlencode, urljoin

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


PAGING_NAMES = {
    "records": ("recordCount", "totalRecord", "recordTotal", "totalCount", "total"),
    "page_size": ("pageSize", "perPage", "pagesize"),
    "static_pages": ("staticPageCount", "staticPages", "htmlPageCount", "staticPageNum"),
    "api": ("searchApi", "searchUrl", "apiUrl", "dataUrl"),
    "channel": ("channelId", "chnlId", "channelid", "columnId"),
}
"""The names the paging object's fields go by, in the order they are tried."""
ANSWER_URL_KEYS = ("url", "docpuburl", "link", "href")
ANSWER_TITLE_KEYS = ("title", "doctitle", "docTitle", "name")
ANSWER_DATE_KEYS = ("pubDate", "docreltime", "pubdate", "publishTime", "time", "date")


def paging_object(text: str) -> dict[str, str] | None:
    """The fields of a newer TRS page's paging object (record count, page size, static
    pages, search API, channel); None when the page declares none."""
    variables = script_assignments(text)
    found = {}
    for field, names in PAGING_NAMES.items():
        value = next((variables[name] for name in names if variables.get(name)), None)
        if value is not None:
            found[field] = value
    if {"records", "page_size", "static_pages", "api"} <= found.keys() and all(
        found[k].isdigit() for k in ("records", "page_size", "static_pages")
    ):
        return found
    return None


def search_request(page_url: str, paging: dict[str, str], page_number: int) -> ListRequest:
    """The search API request for list page `page_number` (counted from 1 over all pages)."""
    query = {"pageNo": page_number, "pageSize": paging["page_size"]}
    if "channel" in paging:
        query = {"channelId": paging["channel"], **query}
    return ListRequest(f"{urljoin(page_url, paging['api'])}?{urlencode(query)}")


def answer_rows(answer: Any) -> list[dict[str, Any]]:
    """The documents of a search API answer: the first list of objects that carry a URL."""
    if isinstance(answer, list):
        documents = answer and all(isinstance(row, dict) for row in answer)
        if documents and any(key in answer[0] for key in ANSWER_URL_KEYS):
            return answer
        children = answer
    elif isinstance(answer, dict):
        children = list(answer.values())
    else:
        return []
    for child in children:
        rows = answer_rows(child)
        if rows:
            return rows
    return []


def answer_pager(answer: Any) -> tuple[int, int] | None:
    """(page number, page count) a search API answer reports."""
    if isinstance(answer, dict):
        number, count = answer.get("pageNo"), answer.get("pageCount")
        if isinstance(number, int) and isinstance(count, int):
            return number, count
        for child in answer.values():
            found = answer_pager(child)
            if found is not None:
                return found
    return None


def _first(row: dict[str, Any], keys: tuple[str, ...]) -> str:
    return next((str(row[key]) for key in keys if row.get(key)), "")


class Trs(Family):
    name = "trs"
    label = "TRS WCM"
    shapes = SHAPES

    def recognises(self, page: ListPage) -> bool:
        return create_page_call(page.text) is not None or paging_object(page.text) is not None

    def list_markup(self, page: ListPage) -> str:
        answer = _json_answer(page)
        if answer is None:
            return page.text
        rows = [
            f'<li><a href="{escape(_first(row, ANSWER_URL_KEYS))}">'
            f"{escape(_first(row, ANSWER_TITLE_KEYS))}</a>"
            f"<span>{escape(_first(row, ANSWER_DATE_KEYS))}</span></li>"
            for row in answer_rows(answer)
        ]
        return "<ul>" + "".join(rows) + "</ul>"

    def next_requests(self, page: ListPage) -> list[ListRequest]:
        answer = _json_answer(page)
        if answer is not None:
            return self._after_answer(page, answer)
        call = create_page_call(page.text)
        paging = paging_object(page.text)
        if call is not None:
            count, current, prefix, extension = call
            if current + 1 < count:
                return [ListRequest(urljoin(page.url, f"{prefix}_{current + 1}.{extension}"))]
            # The last static page: a paging object says whether the search API holds more.
            if paging is not None and current + 1 >= int(paging["static_pages"]):
                pages = -(-int(paging["records"]) // max(int(paging["page_size"]), 1))
                if current + 2 <= pages:
                    return [search_request(page.url, paging, current + 2)]
        return []

    def _after_answer(self, page: ListPage, answer: Any) -> list[ListRequest]:
        """The search API request for the page after an answer, up to its page count."""
        pager = answer_pager(answer)
        query = page.query()
        if pager is None or pager[0] >= pager[1] or "pageNo" not in query:
            return []
        paging = {"api": page.url.split("?")[0], "page_size": query.get("pageSize", "")}
        if "channelId" in query:
            paging["channel"] = query["channelId"]
        return [search_request(page.url, paging, pager[0] + 1)]


def _json_answer(page: ListPage) -> Any:
    """The page as a search API's JSON answer, or None when it is a web page."""
    text = page.text.lstrip()
    if not text.startswith(("{", "[")):
        return None
    try:
        return json.loads(text)
    except ValueError:
        return None
