"""The CMS families: recognised on list pages, their article lists found among the page's other
links, and their walks to the next list page, as the page's own scripts and pagers say."""

from __future__ import annotations

from urllib.parse import parse_qsl, urlsplit

import pytest

from crawler import cms
from crawler.cms import hanweb, paging, trs
from crawler.decode import decode_page
from crawler.sites import SITES, generic_profile
from tests.sitesrv import SITES_DIR, dataproxy_answer

LIST_PAGES = {
    "http://www.sipac.gov.cn/szgyyq/yqyw/index.shtml": ("sipac", "trs"),
    "http://www.sipac.gov.cn/szgyyq/tsyq/index_2.shtml": ("sipac", "trs"),
    "http://www.hhtz.gov.cn/col/col1487001/index.html": ("binjiang", "hanweb"),
    "http://www.wehdz.gov.cn/xwzx/ggyw.htm": ("donghu", "vsb"),
    "http://www.wehdz.gov.cn/xwzx/yqdt/2.htm": ("donghu", "vsb"),
    "http://www.twgxnews.com/news/list_1.html": ("binjiang_mirror", "generic"),
}
"""List pages of the fixture sites, with the site they belong to and their CMS family."""


def saved_list_page(url: str) -> cms.ListPage:
    """A fixture site's list page as the crawl decodes it."""
    parts = urlsplit(url)
    raw = (SITES_DIR / parts.netloc / parts.path.lstrip("/")).read_bytes()
    return cms.ListPage(url, decode_page(raw, None).text)


@pytest.mark.parametrize("url", list(LIST_PAGES))
def test_each_fixture_list_page_is_recognised_as_its_family(url: str) -> None:
    assert cms.recognise(saved_list_page(url)).name == LIST_PAGES[url][1]


@pytest.mark.parametrize("url", list(LIST_PAGES))
def test_without_a_profile_the_main_list_is_exactly_the_profiled_article_links(url: str) -> None:
    """The profiles' URL patterns name every article link of their list pages; with no
    profile, the list region must find the same ones among navigation, sidebars and footer."""
    page = saved_list_page(url)
    site = SITES[LIST_PAGES[url][0]]
    family = cms.family_named(site.family) if site.family else None
    profiled = cms.read_list(page, site.owns_url, site.is_article_url, family)
    generic = generic_profile(url)
    unprofiled = cms.read_list(page, generic.owns_url)
    assert profiled.entries, url
    assert unprofiled.entries == profiled.entries
    assert unprofiled.next == profiled.next


@pytest.mark.parametrize(
    ("script", "expected"),
    [
        ('createPageHTML(3, 0, "index", "shtml");', (3, 0, "index", "shtml")),
        ("createPageHTML( '12' ,1,'index' , 'html' )", (12, 1, "index", "html")),
        (
            "var countPage = 12//共多少页\nvar currentPage = 0;//当前页\n"
            'createPageHTML(countPage, currentPage, "index", "html");',
            (12, 0, "index", "html"),
        ),
        ("createPageHTML('page_div',34, 1,'index','html',668);", (34, 1, "index", "html")),
        ('createPageHTML(5,4,"list","htm")', (5, 4, "list", "htm")),
    ],
)
def test_create_page_html_is_read_in_the_forms_sites_write_it(
    script: str, expected: tuple[int, int, str, str]
) -> None:
    assert trs.create_page_call(f"<script>{script}</script>") == expected


def test_a_function_definition_is_not_a_page_call() -> None:
    page = "<script>function createPageHTML(_nPageCount, _nCurrIndex, _sPageName, _sPageExt){}"
    assert trs.create_page_call(page) is None


@pytest.mark.parametrize(
    ("current", "expected"),
    [
        (0, ["http://x.gov.cn/news/index_1.shtml"]),
        (1, ["http://x.gov.cn/news/index_2.shtml"]),
        (2, []),
    ],
)
def test_trs_walks_to_the_next_static_page_and_stops_at_the_last(
    current: int, expected: list[str]
) -> None:
    name = "index.shtml" if current == 0 else f"index_{current}.shtml"
    page = cms.ListPage(
        f"http://x.gov.cn/news/{name}", f'<script>createPageHTML(3, {current}, "index", "shtml");'
    )
    assert [request.url for request in trs.Trs().next_requests(page)] == expected


def test_hanweb_column_page_asks_dataproxy_for_the_records_after_its_inline_ones() -> None:
    page = saved_list_page("http://www.hhtz.gov.cn/col/col1487001/index.html")
    (request,) = hanweb.Hanweb().next_requests(page)
    assert request.method == "POST"
    query = dict(parse_qsl(urlsplit(request.url).query))
    assert urlsplit(request.url).path == "/module/web/jpage/dataproxy.jsp"
    assert query == {"startrecord": "6", "endrecord": "10", "perpage": "5"}
    form = dict(parse_qsl(request.body or ""))
    assert form["columnid"] == "1487001"
    assert form["unitid"] == "349780"
    assert form["webid"] == "98"


def dataproxy_page(start: int, end: int, per_page: int, body: str) -> cms.ListPage:
    """A dataproxy answer of the fixture server, as the page after which the walk goes on."""
    query = f"startrecord={start}&endrecord={end}&perpage={per_page}"
    answer = dataproxy_answer(SITES_DIR, "www.hhtz.gov.cn", query, body)
    assert answer is not None
    url = f"http://www.hhtz.gov.cn/module/web/jpage/dataproxy.jsp?{query}"
    return cms.ListPage(url, answer.decode("utf-8"), "POST", body)


def test_hanweb_answers_lead_to_the_next_block_until_the_last_record() -> None:
    body = "col=1&columnid=1487001&unitid=349780"
    walk = []
    page = dataproxy_page(6, 10, 5, body)
    while True:
        reading = cms.read_list(page, SITES["binjiang"].owns_url)
        assert reading.family.name == "hanweb"
        walk.append((page.query()["startrecord"], len(reading.entries)))
        if not reading.next:
            break
        (following,) = reading.next
        assert following.body == body
        query = dict(parse_qsl(urlsplit(following.url).query))
        page = dataproxy_page(
            int(query["startrecord"]), int(query["endrecord"]), int(query["perpage"]), body
        )
    # 14 records in all: 1–5 inline on the column page, then 6–10 and 11–14.
    assert walk == [("6", 5), ("11", 4)]


def test_a_truncated_hanweb_answer_keeps_its_whole_rows_and_says_what_is_wrong() -> None:
    page = dataproxy_page(6, 10, 5, "columnid=1487001")
    cut = cms.ListPage(page.url, page.text[: page.text.index("</recordset>") - 40], "POST")
    reading = cms.read_list(cut, SITES["binjiang"].owns_url)
    assert reading.problem is not None and "not closed" in reading.problem
    assert 1 <= len(reading.entries) < 5


SIDEBAR_PAGE = """<html><head><title>园区动态 - 某某高新区</title></head><body>
<div class="header"><ul class="nav"><li><a href="/">首页</a></li>
<li><a href="/xwzx/">新闻中心</a></li><li><a href="/zwgk/">政务公开</a></li></ul></div>
<div class="main">
 <div class="left-box"><div class="box-title">热点新闻</div><ul>
  <li><a href="/xwzx/yqdt/202405/t20240501_9001.html">
  园区召开年度重点项目推进大会部署全年工作</a></li>
  <li><a href="/xwzx/yqdt/202404/t20240420_9002.html">
  高新区举行科技创新大会表彰一批优秀企业</a></li>
  <li><a href="/xwzx/yqdt/202403/t20240310_9003.html">人才新政二十条正式发布首批申报启动</a></li>
 </ul></div>
 <div class="content"><h2>园区动态</h2><ul class="list">
  <li><a href="./202406/t20240612_9101.html"
   title="园区集成电路产业基金完成首期募集">园区集成电路产业基金完成首期…</a>
   <span>2024-06-12</span></li>
  <li><a href="./202406/t20240605_9100.html">生物医药产业园二期项目开工建设</a>
   <span>2024-06-05</span></li>
  <li><a href="/uploadfiles/2024/06/通知.pdf">关于开展2024年度企业研发费用补贴申报工作的通知</a>
   <span>2024-06-03</span></li>
  <li><a href="http://www.other.gov.cn/xw/202406/t20240601_1.html">市领导调研园区重点企业发展情况</a>
   <span>2024-06-01</span></li>
  <li><a href="./202405/t20240528_9099.html">园区举办第三届数字经济创新创业大赛</a>
   <span>2024-05-28</span></li>
 </ul>
 <div class="page"><a href="index_1.html">下一页</a> <a href="index_4.html">尾页</a></div>
 </div>
</div>
<div class="footer"><a href="/xwzx/yqdt/202401/t20240101_1.html">网站声明与隐私保护政策说明</a>
<p>主办单位：某某高新区管委会</p></div></body></html>"""


def test_the_main_list_is_chosen_over_a_sidebar_of_article_links_of_the_same_shape() -> None:
    url = "http://www.mmgxq.gov.cn/xwzx/yqdt/index.html"
    reading = cms.read_list(cms.ListPage(url, SIDEBAR_PAGE), generic_profile(url).owns_url)
    assert [(entry.url.rsplit("/", 1)[1], entry.date) for entry in reading.entries] == [
        ("t20240612_9101.html", "2024-06-12"),
        ("t20240605_9100.html", "2024-06-05"),
        ("t20240528_9099.html", "2024-05-28"),
    ]
    assert reading.entries[0].title == "园区集成电路产业基金完成首期募集"
    assert reading.family.name == "generic"
    assert [request.url for request in reading.next] == [
        "http://www.mmgxq.gov.cn/xwzx/yqdt/index_1.html"
    ]


@pytest.mark.parametrize(
    ("url", "pager", "expected"),
    [
        (
            "http://x.cn/news/list.php?cat=3&page=2",
            '<a href="list.php?cat=3&page=1">1</a><a href="list.php?cat=3&page=3">3</a>'
            '<a href="list.php?cat=4&page=3">other</a>',
            "http://x.cn/news/list.php?cat=3&page=3",
        ),
        (
            "http://x.cn/news/list.jsp?pageNo=1",
            '<a href="list.jsp?pageNo=2">2</a><a href="list.jsp?pageNo=3">3</a>',
            "http://x.cn/news/list.jsp?pageNo=2",
        ),
        (
            "http://x.cn/news/index.html",
            '<a href="index_3.html">3</a><a href="index_1.html">1</a><a href="index_2.html">2</a>',
            "http://x.cn/news/index_1.html",
        ),
        (
            "http://x.cn/news/list_2.html",
            '<a href="list_1.html">1</a><a href="list_3.html">3</a><a href="list_4.html">4</a>',
            "http://x.cn/news/list_3.html",
        ),
    ],
)
def test_a_pager_of_numbered_links_leads_to_the_next_number(
    url: str, pager: str, expected: str
) -> None:
    request = paging.numbered_next(cms.ListPage(url, f"<div class='pager'>{pager}</div>"))
    assert request is not None and request.url == expected


@pytest.mark.parametrize(
    ("method", "sent", "expected"),
    [
        ("get", None, cms.ListRequest("http://x.cn/news/list.jsp?channel=12&pageNo=3")),
        (
            "post",
            "channel=12&pageNo=2",
            cms.ListRequest("http://x.cn/news/list.jsp", "POST", "channel=12&pageNo=3"),
        ),
        ("post", "channel=12&pageNo=4", None),
    ],
)
def test_a_paging_form_asks_for_its_page_field_one_higher_up_to_the_page_count(
    method: str, sent: str | None, expected: cms.ListRequest | None
) -> None:
    form = (
        f'<form action="list.jsp" method="{method}"><input type="hidden" name="channel" value="12">'
        '共4页 第<input name="pageNo" value="2">页 <input type="submit" value="跳转"></form>'
    )
    page = cms.ListPage("http://x.cn/news/list.jsp", form, "POST" if sent else "GET", sent)
    assert paging.form_next(page) == expected


def test_a_script_link_or_the_page_itself_is_not_a_next_page() -> None:
    page = cms.ListPage(
        "http://x.cn/news/index.html",
        '<a href="javascript:goPage(2)">下一页</a><a href="index.html">下一页</a>',
    )
    assert paging.next_link(page) is None


def test_a_datastore_without_a_named_dataproxy_is_still_read_as_hanweb() -> None:
    """The jpage widget's default proxyUrl is dataproxy.jsp: a column page need not name it.
    Its inline records are the list, and the walk goes on through the default proxy."""
    page = saved_list_page("http://www.hhtz.gov.cn/col/col1487001/index.html")
    text = page.text.replace("/module/web/jpage/dataproxy.jsp", "")
    reading = cms.read_list(cms.ListPage(page.url, text), SITES["binjiang"].owns_url)
    assert reading.family.name == "hanweb"
    assert len(reading.entries) == 5
    (following,) = reading.next
    assert urlsplit(following.url).path == "/module/web/jpage/dataproxy.jsp"
