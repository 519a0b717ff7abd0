"""Hanweb jcms: a column page carries its first records inside an inline
`<script type="text/xml"><datastore>`, and its jpage widget POSTs for the rest to
`/module/web/jpage/dataproxy.jsp?startrecord=&endrecord=&perpage=`, which answers the same
XML envelope with `<totalrecord>`."""

from __future__ import annotations

import re
from urllib.parse import parse_qsl, urlencode, urljoin, urlsplit, urlunsplit

from lxml import etree

from crawler.cms.base import Family, ListPage, ListPageError, ListRequest, script_assignments
from crawler.cms.shapes import UrlShapes

SHAPES = UrlShapes(
    name="hanweb",
    article_paths=(r"/art/\d{4}/\d{1,2}/\d{1,2}/art_\d+_\d+\.html$",),
    id_paths=(re.compile(r"/art_\d+_(?P<id>\d+)\.html?$"),),
    date_path=re.compile(r"/art/(?P<y>\d{4})/(?P<m>\d{1,2})/(?P<d>\d{1,2})/"),
)
"""Hanweb jcms: `/art/2021/4/29/art_1487001_58912345.html` (column, then article id)."""
DATAPROXY_PATH = "/module/web/jpage/dataproxy.jsp"
DATASTORE = re.compile(r"<datastore\b.*?</datastore>|<datastore\b.*", re.S | re.I)
CDATA_RECORD = re.compile(r"<record>\s*<!\[CDATA\[(.*?)\]\]>\s*</record>", re.S)
NEXTGROUP_HREF = re.compile(r"href=['\"]([^'\"]*dataproxy\.jsp[^'\"]*)['\"]")
JPAGE_UNIT = re.compile(r"""['"]#(\w+)['"]\s*\)\s*\.jpage\s*\(""")
AJAX_PARAM = re.compile(r"ajaxParam\s*:\s*\{(?P<fields>[^{}]*)\}")
_FIELD = re.compile(r"""["']?(\w+)["']?\s*:\s*(?:"([^"]*)"|'([^']*)'|([^,\s}]+))""")
TOTAL_RECORD = re.compile(r"<totalrecord>\s*(\d+)\s*</totalrecord>", re.I)
SAFE_XML = etree.XMLParser(
    resolve_entities=False, no_network=True, load_dtd=False, huge_tree=False, recover=False
)
FORM_DEFAULTS = {"col": "1", "sourceContentType": "1"}
"""Fields jpage sends that the nextgroup link leaves out."""


def datastore_records(xml_text: str) -> list[str]:
    """The CDATA `<record>` rows of a Hanweb `<datastore>`; ListPageError when malformed
    (no entity is resolved, nothing is loaded)."""
    start = xml_text.find("<datastore")
    if start < 0:
        raise ListPageError("no <datastore> in the Hanweb answer")
    end = xml_text.rfind("</datastore>")
    if end < 0:
        raise ListPageError(
            "the Hanweb <datastore> is not closed (truncated answer?)",
            CDATA_RECORD.findall(xml_text[start:]),
        )
    fragment = xml_text[start : end + len("</datastore>")]
    try:
        tree = etree.fromstring(fragment.encode("utf-8"), SAFE_XML)
    except etree.XMLSyntaxError as exc:
        # The rows that are whole are still worth following.
        raise ListPageError(
            f"malformed Hanweb <datastore>: {exc}", CDATA_RECORD.findall(fragment)
        ) from exc
    return [record.text or "" for record in tree.iter("record")]


def is_dataproxy_answer(page: ListPage) -> bool:
    return urlsplit(page.url).path.endswith("dataproxy.jsp")


def column_datastore(text: str) -> str | None:
    """The `<datastore>` of the column's own list: the one in the unit the jpage widget
    pages, else the one with the most records."""
    stores: list[str] = DATASTORE.findall(text)
    if not stores:
        return None
    unit = JPAGE_UNIT.search(text)
    if unit is not None:
        marker = f'id="{unit[1]}"'
        position = text.find(marker)
        if position >= 0:
            following = DATASTORE.search(text, position)
            if following is not None:
                return str(following.group(0))
    return max(stores, key=lambda store: store.count("<record"))


def jpage_form(text: str) -> dict[str, str]:
    """The form fields the jpage widget POSTs: its ajaxParam object, else the query of the
    datastore's nextgroup link (without its page number)."""
    param = AJAX_PARAM.search(text)
    if param is not None:
        variables = script_assignments(text)
        form = {}
        for field in _FIELD.finditer(param["fields"]):
            name, double, single, bare = field.groups()
            if double is not None or single is not None:
                form[name] = double if double is not None else single
            else:
                # A bare value may name a script variable (`col: col` after `var col = 1;`).
                form[name] = variables.get(bare, bare)
        return form
    href = NEXTGROUP_HREF.search(text)
    if href is None:
        return {}
    query = dict(parse_qsl(urlsplit(href[1].replace("&amp;", "&")).query, keep_blank_values=True))
    query.pop("page", None)
    return {**FORM_DEFAULTS, **query}


def dataproxy_request(
    page_url: str, proxy: str, start: int, end: int, per_page: int, form: dict[str, str]
) -> ListRequest:
    query = urlencode({"startrecord": start, "endrecord": end, "perpage": per_page})
    return ListRequest(f"{urljoin(page_url, proxy)}?{query}", "POST", urlencode(form))


class Hanweb(Family):
    name = "hanweb"
    label = "Hanweb jcms"
    shapes = SHAPES

    def recognises(self, page: ListPage) -> bool:
        # Only jcms keeps list records in a <datastore>; its page may name no dataproxy.jsp
        # (the widget's default proxyUrl).
        return is_dataproxy_answer(page) or "<datastore" in page.text

    def list_markup(self, page: ListPage) -> str:
        store = page.text if is_dataproxy_answer(page) else column_datastore(page.text)
        if store is None:
            return page.text
        return "<ul>" + "".join(datastore_records(store)) + "</ul>"

    def next_requests(self, page: ListPage) -> list[ListRequest]:
        if is_dataproxy_answer(page):
            return self._next_answer(page)
        variables = script_assignments(page.text)
        per_page, total = variables.get("perPage", ""), variables.get("totalRecord", "")
        store = column_datastore(page.text)
        form = jpage_form(page.text)
        if not (per_page.isdigit() and total.isdigit()) or store is None or not form:
            return []
        delivered = len(CDATA_RECORD.findall(store))
        group = variables.get("groupSize", "1")
        batch = max(int(per_page) * (int(group) if group.isdigit() else 1), delivered, 1)
        start = delivered + 1
        if start > int(total):
            return []
        proxy = variables.get("proxyUrl") or DATAPROXY_PATH
        end = min(start + batch - 1, int(total))
        return [dataproxy_request(page.url, proxy, start, end, int(per_page), form)]

    def _next_answer(self, page: ListPage) -> list[ListRequest]:
        """The request after a dataproxy answer: the next block of the same size."""
        query = page.query()
        total = TOTAL_RECORD.search(page.text)
        numbers = [query.get(k, "") for k in ("startrecord", "endrecord", "perpage")]
        if total is None or not all(n.isdigit() for n in numbers):
            return []
        start, end, per_page = (int(n) for n in numbers)
        following = end + 1
        if following > int(total[1]):
            return []
        last = min(following + (end - start), int(total[1]))
        query.update(startrecord=str(following), endrecord=str(last), perpage=str(per_page))
        url = urlunsplit(urlsplit(page.url)._replace(query=urlencode(query)))
        return [ListRequest(url, "POST", page.body)]
