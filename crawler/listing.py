"""List pages: the article links they hold and where their next page is, per CMS family."""

from __future__ import annotations

import re
from dataclasses import dataclass
from urllib.parse import parse_qsl, urlencode, urljoin, urlsplit

from lxml import etree
from parsel import Selector

from crawler.sites import SiteProfile
from crawler.text.dates import find_datetime
from crawler.text.inline import clean_inline
from crawler.urls import safe_urljoin

CREATE_PAGE_HTML = re.compile(
    r"createPageHTML\(\s*['\"]?(\d+)['\"]?\s*,\s*['\"]?(\d+)['\"]?\s*,\s*['\"]([^'\"]+)['\"]\s*,"
    r"\s*['\"]([^'\"]+)['\"]"
)
NEXT_LINK_TEXTS = ("下页", "下一页", "下一頁", "下頁", "后页", "next", ">", "›", "»")
HANWEB_PER_PAGE = re.compile(r"perPage\s*[:=]\s*['\"]?(\d+)")
HANWEB_TOTAL = re.compile(r"totalRecord\s*[:=]\s*['\"]?(\d+)")
DATAPROXY_PATH = "/module/web/jpage/dataproxy.jsp"
CDATA_RECORD = re.compile(r"<record>\s*<!\[CDATA\[(.*?)\]\]>\s*</record>", re.S)
SAFE_XML = etree.XMLParser(
    resolve_entities=False, no_network=True, load_dtd=False, huge_tree=False, recover=False
)


@dataclass(frozen=True)
class ListEntry:
    """An article link on a list page, with the title and date the list shows beside it."""

    url: str
    title: str | None
    date: str | None


@dataclass(frozen=True)
class HanwebPager:
    """What a Hanweb jpage widget needs to fetch the rest of a column's records."""

    form: dict[str, str]
    per_page: int
    total: int


class ListPageError(ValueError):
    """A list page or dataproxy answer that cannot be read; the message names the fault, and
    `rows` holds what could still be read of it."""

    def __init__(self, message: str, rows: list[str] | None = None) -> None:
        super().__init__(message)
        self.rows = rows or []


def entries_from_html(html: str, base_url: str, profile: SiteProfile) -> list[ListEntry]:
    """Article links of `profile` on a page, once each, in page order, with their list dates."""
    selector = Selector(text=html, base_url=base_url)
    seen: set[str] = set()
    entries: list[ListEntry] = []
    for link in selector.xpath("//a[@href]"):
        href = (link.attrib.get("href") or "").strip()
        if not href or href.startswith(("javascript:", "#", "mailto:")):
            continue
        url = safe_urljoin(base_url, href)
        if url is None or url in seen or not profile.is_article_url(url):
            continue
        seen.add(url)
        title = clean_inline(link.attrib.get("title") or link.xpath("string()").get() or "")
        row = link.xpath("ancestor::li[1] | ancestor::tr[1]")
        context = row[-1].xpath("string()").get() if row else link.xpath("string(..)").get()
        entries.append(ListEntry(url=url, title=title or None, date=find_datetime(context or "")))
    return entries


def trs_next_page(html: str, page_url: str) -> str | None:
    """The next list page announced by TRS `createPageHTML(count, current, "index", "shtml")`."""
    match = CREATE_PAGE_HTML.search(html)
    if match is None:
        return None
    count, current, prefix, ext = int(match[1]), int(match[2]), match[3], match[4]
    if current + 1 >= count:
        return None
    return urljoin(page_url, f"{prefix}_{current + 1}.{ext}")


def next_link_page(html: str, page_url: str) -> str | None:
    """The target of the page's "下一页"-style link, when it has one."""
    selector = Selector(text=html, base_url=page_url)
    for link in selector.xpath("//a[@href]"):
        text = clean_inline(link.xpath("string()").get() or "").lower()
        if text in NEXT_LINK_TEXTS:
            href = (link.attrib.get("href") or "").strip()
            if href and not href.startswith(("javascript:", "#")):
                target = safe_urljoin(page_url, href)
                if target is not None and target != page_url:
                    return target
    return None


def hanweb_records(xml_text: str) -> list[str]:
    """The CDATA `<record>` rows of a Hanweb `<datastore>`; ListPageError when malformed."""
    start = xml_text.find("<datastore")
    if start < 0:
        raise ListPageError("no <datastore> in the Hanweb answer")
    end = xml_text.rfind("</datastore>")
    if end < 0:
        raise ListPageError("the Hanweb <datastore> is not closed (truncated answer?)")
    fragment = xml_text[start : end + len("</datastore>")]
    try:
        tree = etree.fromstring(fragment.encode("utf-8"), SAFE_XML)
    except etree.XMLSyntaxError as exc:
        # The rows that are whole are still worth following; no entity is resolved here.
        rows = CDATA_RECORD.findall(fragment)
        raise ListPageError(f"malformed Hanweb <datastore>: {exc}", rows) from exc
    return [record.text or "" for record in tree.iter("record")]


def hanweb_pager(html: str, page_url: str) -> HanwebPager | None:
    """The dataproxy form, page size and record count of a Hanweb column page."""
    hrefs = re.findall(r"href=['\"]([^'\"]*dataproxy\.jsp[^'\"]*)['\"]", html)
    per_page = HANWEB_PER_PAGE.search(html)
    total = HANWEB_TOTAL.search(html)
    if not hrefs or per_page is None or total is None:
        return None
    query = dict(parse_qsl(urlsplit(hrefs[0].replace("&amp;", "&")).query))
    query.pop("page", None)
    form = {"col": "1", "sourceContentType": "1", **query}
    return HanwebPager(form=form, per_page=int(per_page[1]), total=int(total[1]))


def hanweb_dataproxy_url(page_url: str, start: int, pager: HanwebPager) -> str:
    """The dataproxy URL for records `start`..`start + per_page - 1`."""
    end = min(start + pager.per_page - 1, pager.total)
    query = urlencode({"startrecord": start, "endrecord": end, "perpage": pager.per_page})
    return urljoin(page_url, f"{DATAPROXY_PATH}?{query}")


def hanweb_entries(xml_text: str, base_url: str, profile: SiteProfile) -> list[ListEntry]:
    """List entries of every record of a Hanweb datastore."""
    return rows_entries(hanweb_records(xml_text), base_url, profile)


def rows_entries(rows: list[str], base_url: str, profile: SiteProfile) -> list[ListEntry]:
    """List entries of Hanweb record rows (each an `<li>` fragment)."""
    return entries_from_html("<ul>" + "".join(rows) + "</ul>", base_url, profile)


def next_page(html: str, page_url: str, profile: SiteProfile) -> str | None:
    """The URL of the next list page for TRS and next-link families (Hanweb pages by POST)."""
    if profile.family == "trs":
        return trs_next_page(html, page_url)
    if profile.family in ("vsb", "generic"):
        return next_link_page(html, page_url)
    return None
