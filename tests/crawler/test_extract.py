"""The extractor on saved pages: golden records of every fixture article, and its edge cases."""

from __future__ import annotations

from typing import Any

import pytest

from crawler.extract import NotAnArticle, build_record
from crawler.extract.metaline import (
    find_nearby_date,
    is_dateline,
    is_meta_line,
    split_inner_meta_lines,
)
from crawler.extract.title import (
    may_print_title_label,
    names_title,
    reads_as_headline,
    tidy_title,
    title_echo_part,
    without_site_name,
)
from crawler.extract.tree import PageFacts, ascii_lowered, parse_html
from crawler.offline import PageProcessor
from crawler.sites import generic_profile
from tests.conftest import (
    GENERIC_DIR,
    assert_valid_record,
    extract_page,
    golden_differences,
    golden_records,
    page_file,
)

GOLDEN = golden_records() | golden_records(GENERIC_DIR)


PROCESSOR = PageProcessor()


def record_of_page(expected: dict[str, Any]) -> dict[str, Any]:
    raw = page_file(expected).read_bytes()
    return PROCESSOR.record(raw, expected["url"], site=expected["site"])


@pytest.mark.parametrize("url", sorted(GOLDEN))
def test_golden_page(url: str) -> None:
    expected = GOLDEN[url]
    record = record_of_page(expected)
    assert_valid_record(record)
    assert golden_differences(record, expected) == []


ARTICLE = """<html><head><title>园区举办人才峰会_园区要闻_示例园区</title>
<meta name="ArticleTitle" content="园区举办2024人才峰会">
<meta name="PubDate" content="2024-06-01 09:30">
<meta name="ContentSource" content="园区人才办">
<meta name="Url" content="{canonical}">
</head><body>
<div class="nav"><a href="/">首页</a><a href="/news/">新闻</a></div>
<h1>园区举办2024人才峰会</h1>
<div class="TRS_Editor"><p>6月1日，园区举办2024人才峰会，来自各地的三百余名人才代表参会。</p>
<p>峰会发布了新一轮人才政策，涵盖安家补贴、项目资助和子女入学等方面。</p></div>
<div id="printContent" style="display:none"><div class="TRS_Editor">
<p>6月1日，园区举办2024人才峰会，来自各地的三百余名人才代表参会。</p></div></div>
</body></html>"""


def test_metadata_tags_win_and_hidden_print_copy_is_ignored() -> None:
    url = "http://www.sipac.gov.cn/szgyyq/yqyw/202406/t20240601_1.shtml"
    page = ARTICLE.format(canonical=url)
    found = extract_page(page, url)
    assert found["title"] == "园区举办2024人才峰会"
    assert found["published_at"] == "2024-06-01T09:30:00+08:00"
    assert found["source"] == "园区人才办"
    assert found["body"].split("\n") == [
        "6月1日，园区举办2024人才峰会，来自各地的三百余名人才代表参会。",
        "峰会发布了新一轮人才政策，涵盖安家补贴、项目资助和子女入学等方面。",
    ]


def test_canonical_url_from_another_host_is_not_trusted() -> None:
    url = "http://www.twgxnews.com/news/2024/0601/1.html"
    page = ARTICLE.format(canonical="http://www.sipac.gov.cn/szgyyq/yqyw/202406/t20240601_1.shtml")
    assert extract_page(page, url)["canonical_url"] == url


def test_density_fallback_finds_a_body_without_known_container() -> None:
    paragraphs = "".join(
        f"<p>第{i}段：园区持续优化营商环境，推动重点项目建设，服务企业发展，取得积极成效。</p>"
        for i in range(4)
    )
    page = (
        "<html><head><title>营商环境持续优化</title></head><body>"
        "<ul class='menu'><li><a href='/a'>首页</a></li><li><a href='/b'>政务公开</a></li></ul>"
        f"<h1>营商环境持续优化</h1><div class='wrap'><div class='txt'>{paragraphs}</div></div>"
        "</body></html>"
    )
    found = extract_page(page, "http://127.0.0.1/news/2024/0601/1.html")
    assert found["title"] == "营商环境持续优化"
    assert len(found["body"].split("\n")) == 4
    assert found["body"].startswith("第0段")


def test_a_paragraph_deep_in_layout_tables_is_one_part_of_its_document_section() -> None:
    """A word processor's HTML nests a long passage in a table inside font runs inside a
    paragraph; the wrappers that add no text are no step up, so the document section that
    holds the passage and the paragraphs before it is still a candidate, and wins."""
    intro = "".join(
        f"<p>第{n}点：园区持续优化营商环境，服务企业发展。推动重点项目建设，取得积极成效。</p>"
        for n in "一二三"
    )
    passage = "".join(
        f"{n}.企业服务专员上门走访，了解企业需求，协调解决用地、用工、融资等问题。<br>"
        for n in range(1, 7)
    )
    page = (
        "<html><head><title>园区优化营商环境工作要点</title></head><body>"
        "<div class='Section1'><h1>园区优化营商环境工作要点</h1>"
        f"{intro}<p><font color='green'><font color='black'><table><tr><td>"
        f"<font>{passage}</font></td></tr></table></font></font></p></div>"
        "</body></html>"
    )
    found = extract_page(page, "http://127.0.0.1/news/2024/0601/1.html")
    assert found["body"].startswith("第一点")
    assert found["body"].endswith("融资等问题。")


NOTICE_PARAGRAPHS = (
    "6月3日，区科技局发布2024年度科技创新券申领通知，面向区内科技型中小企业开放申领。",
    "符合条件的企业可登录政务服务网在线填报，于6月30日前提交营业执照、研发投入说明等材料，"
    "咨询电话：0571-87702345，逾期不再受理。经形式审查、专家评审和公示等环节后，"
    "创新券将于8月底前发放到企业账户，可用于购买检测、研发设计等科技服务。",
    "区科技局相关负责人表示，今年将重点支持首次申领的企业。",
)


def test_a_phone_number_in_running_text_leaves_the_paragraph_article_text() -> None:
    """A notice gives its phone number in the middle of its longest paragraph; only the
    sentence holding it reads as a contact line, so the body still wins over the footer's
    address, phone and copyright lines."""
    paragraphs = "".join(f"<p>{p}</p>" for p in NOTICE_PARAGRAPHS)
    page = (
        "<html><head><title>科技创新券开始申领_通知公告</title></head><body>"
        "<h1>科技创新券开始申领</h1>"
        f"<div class='TRS_Editor'>{paragraphs}</div>"
        "<div class='bottom'><p>地址：杭州市滨江区江南大道1号 邮编：310051</p>"
        "<p>电话：0571-87701234 传真：0571-87705678</p>"
        "<p>主办单位：滨江区人民政府 版权所有 浙ICP备05012345号</p></div>"
        "</body></html>"
    )
    found = extract_page(page, "http://127.0.0.1/tzgg/202406/t20240603_1.shtml")
    assert found["body"].split("\n") == list(NOTICE_PARAGRAPHS)


@pytest.mark.parametrize(
    "page",
    [
        "",
        "   ",
        "<html><body><ul>"
        + "".join(f"<li><a href='/a{i}'>链接{i}</a></li>" for i in range(40))
        + "</ul></body></html>",
        "<html><head><title>x</title></head><body><div class='content'></div></body></html>",
    ],
)
def test_pages_without_an_article_raise_not_an_article(page: str) -> None:
    with pytest.raises(NotAnArticle):
        extract_page(page, "http://www.sipac.gov.cn/x.shtml")


def test_generic_profile_record_keeps_the_page_site_name() -> None:
    url = "http://127.0.0.1:8000/szgyyq/yqyw/202406/t20240601_1.shtml"
    page = ARTICLE.format(canonical=url).replace(
        "</head>", '<meta name="SiteName" content="示例园区管委会"></head>'
    )
    record = build_record(page, url, generic_profile(url))
    assert record["site"] == "generic"
    assert record["site_name"] == "示例园区管委会"


@pytest.mark.parametrize(
    ("line", "meta"),
    [
        ("发布时间：2024-06-12 15:00来源：云溪高新区科技创新局阅读量：字号：大 中 小", True),
        ("2024-06-12 15:42:08 来源：北湖科技园管委会 评论：0 点击：", True),
        ("2024-06-12 11:05 凤栖高新区行政审批局", True),
        ("日期：2024-06-12 浏览次数：{{viewCount}}", True),
        ("时间：2024年7月1日（星期一）14:30", False),
        ("时间：2024年7月1日 地点：园区会议中心", False),
        ("2024年6月12日，园区召开企业服务大会，来源地遍及长三角。", False),
        ("来源于企业的数据显示，上半年研发投入增长两成。", False),
    ],
)
def test_meta_lines_are_told_from_article_text(line: str, meta: bool) -> None:
    assert is_meta_line(line) is meta


@pytest.mark.parametrize(
    ("title", "sites", "clean"),
    [
        ("名单出炉 - 西港科创城", ["西港科创城"], "名单出炉"),
        ("名单出炉_西港科创城", ["西港科创城"], "名单出炉"),
        ("西港科创城", ["西港科创城"], "西港科创城"),
        ("名单出炉 - 另一站", ["西港科创城"], "名单出炉 - 另一站"),
    ],
)
def test_site_name_is_taken_off_meta_titles(title: str, sites: list[str], clean: str) -> None:
    assert without_site_name(title, sites) == clean


RELATED = """<html><head><title>t</title></head><body><h1>园区新建职工之家</h1>
<div class="zw"><p>园区新建8个职工之家，覆盖企业职工三万余人，配备阅览室、健身房和母婴室。</p>
<p>详见<a href="/a/1.html">职工之家名录</a>。</p>
<p><img src="/img/share_wx.png" alt="微信"><img src="/images/ewm.png" alt="二维码">
<img src="data:image/gif;base64,R0lGOD" data-lazy-src="/up/2024/photo.jpg"></p>
<p>相关链接：</p><p><a href="/a/2.html">园区举办职工运动会</a></p>
<p><a href="/a/3.html">职工技能月启动</a></p>
<p>附件：1.<a href="/files/list.xlsx">名录.xlsx</a></p></div></body></html>"""


def test_link_lists_attachments_and_page_images_stay_out_of_the_body() -> None:
    found = extract_page(RELATED, "http://www.example.gov.cn/a/9.html")
    assert found["body"].split("\n") == [
        "园区新建8个职工之家，覆盖企业职工三万余人，配备阅览室、健身房和母婴室。",
        "详见职工之家名录。",
        "相关链接：",
    ]
    assert [image["url"] for image in found["images"]] == [
        "http://www.example.gov.cn/up/2024/photo.jpg"
    ]
    assert [a["name"] for a in found["attachments"]] == ["名录.xlsx"]


BLOG_POST = """<html><head></head><body>
<div id="side"><h3>随笔分类</h3><ul><li><a href="/cat/1">园区生活</a></li></ul></div>
<div id="main"><div class="post">
<h2><a href="{url}">园区骑行道开通</a></h2>
<p>周末去了新开通的环湖骑行道，全程二十公里，沿途有三处驿站，可以补水休息。</p>
<p>骑行道与地铁站相连，早晚都有不少人骑车通勤，管理也很细致。</p>
<p class="postfoot">发表于 2024年5月12日 21:05 - (阅读:310;评论:{n})</p>
</div>
<div id="comments"><h3>评论</h3>{comments}</div>
<div id="commentform"><h3>发表评论</h3><table><tr><td>姓名</td><td><input></td></tr>
<tr><td>内容</td><td><textarea></textarea></td></tr></table></div>
</div></body></html>"""


def test_a_blog_post_is_told_from_its_comment_thread() -> None:
    """The comment thread is longer and more talkative than the post, yet it is furniture:
    the post, its self-linked title and its closing "发表于" time make the record."""
    url = "http://blog.example.cn/archive/2024/05/12/1.aspx"
    comments = "".join(
        f"<h4><a href='{url}#{i}'>#</a> re: 园区骑行道开通 <span>2024-05-13 0{i}:00</span>"
        f"<a>读者{i}</a></h4><p>写得真好，我也去骑过，风景很美，驿站的服务也很周到，下次还去。</p>"
        for i in range(8)
    )
    found = extract_page(BLOG_POST.format(url=url, n=8, comments=comments), url)
    assert found["title"] == "园区骑行道开通"
    assert found["published_at"] == "2024-05-12T21:05:00+08:00"
    assert found["body"].split("\n") == [
        "周末去了新开通的环湖骑行道，全程二十公里，沿途有三处驿站，可以补水休息。",
        "骑行道与地铁站相连，早晚都有不少人骑车通勤，管理也很细致。",
    ]


def test_a_headline_linking_to_another_page_needs_the_page_title_to_vouch() -> None:
    url = "http://blog.example.cn/archive/2024/05/12/1.aspx"
    page = BLOG_POST.format(url="/archive/2024/05/01/9.aspx", n=0, comments="")
    page = page.replace("<head></head>", "<head><title>骑行笔记</title></head>")
    page = page.replace('<div id="side"><h3>随笔分类</h3>', '<div id="side">')
    assert extract_page(page, url)["title"] == "骑行笔记"


def test_the_article_follows_its_headline_not_the_menu_above_it() -> None:
    """A header menu whose panels describe the office in full sentences is denser than a
    penalty notice laid out as a table; the ArticleTitle meta names the headline, and the
    article is what follows it."""
    duties = "".join(
        f"<p>{n}、依法对辖区金融业实行统一监督管理，维护金融业合法、稳健运行，防范和化解风险。</p>"
        for n in "一二三四"
    )
    cells = "".join(
        f"<tr><td>{i}</td><td>某财产保险股份有限公司第{i}分公司</td><td>罚款{i * 10}万元</td></tr>"
        for i in range(1, 5)
    )
    page = (
        "<html><head><title>金融监管局</title>"
        "<meta name='ArticleTitle' content='行政处罚信息公开表（金罚决字〔2024〕52号）'>"
        "</head><body>"
        f"<div class='menu'><a href='/jg'>机构职能</a><div class='panel'>{duties}</div></div>"
        "<div class='detail'><div class='detail-title'>"
        "行政处罚信息公开表<br>（金罚决字〔2024〕52号）</div>"
        f"<table><tr><td>序号</td><td>当事人名称</td><td>行政处罚内容</td></tr>{cells}</table>"
        "</div></body></html>"
    )
    found = extract_page(page, "http://127.0.0.1/cn/view/pages/ItemDetail.html")
    assert found["title"] == "行政处罚信息公开表（金罚决字〔2024〕52号）"
    assert "依法对辖区金融业" not in found["body"]
    assert "某财产保险股份有限公司第4分公司" in found["body"]


@pytest.mark.parametrize(
    ("heading", "title"),
    [
        ("行政处罚信息公开表", "行政处罚信息公开表"),
        (
            "行政处罚信息公开表<br>(金罚决字〔2024〕36号)",
            "行政处罚信息公开表(金罚决字〔2024〕36号)",
        ),
        (
            "<a href='/view/1.html'>行政处罚信息公开表</a>",
            "行政处罚信息公开表(金罚决字〔2024〕36号)",
        ),
    ],
)
def test_a_heading_leaving_out_the_document_number_of_the_meta_title_is_the_headline(
    heading: str, title: str
) -> None:
    """The CMS's ArticleTitle meta ends with the document number; the page's heading shows
    the title without it, or with it. A link elsewhere showing that text is no heading."""
    rows = "".join(
        f"<tr><td>第{i}项</td><td>违反审慎经营规则，罚款{i * 10}万元。</td></tr>" for i in range(4)
    )
    page = (
        "<html><head><title>金融监管局</title>"
        "<meta name='ArticleTitle' content='行政处罚信息公开表(金罚决字〔2024〕36号)'></head><body>"
        f"<div class='detail'><div class='wenzhang-title'>{heading}</div>"
        "<p>当事人：某财产保险股份有限公司，处罚依据《保险法》，决定如下。</p>"
        f"<table>{rows}</table></div></body></html>"
    )
    assert extract_page(page, "http://127.0.0.1/cn/view/pages/ItemDetail.html")["title"] == title


def test_the_content_of_a_collapsed_block_is_not_the_reader_s_text() -> None:
    """A wiki shows lists collapsed under their heading ("collapsed", "mw-collapsed" on the
    block, the hidden part named content); the reader sees the heading only, and an open
    block in full."""
    story = "".join(
        f"<p>第{n}段：他于一九九五年出道，此后主持多档节目，获得多项大奖，深受观众喜爱。</p>"
        for n in "一二三四"
    )
    page = (
        "<html><head><title>金某某</title></head><body><h1>金某某</h1>"
        f"<div class='mw-parser-output'>{story}"
        "<div class='NavFrame collapsed'><div class='NavHead'>特别嘉宾出演列表</div>"
        "<div class='NavContent'><table><tr><td>2001年1月31日</td><td>两个男人</td></tr>"
        "</table></div></div>"
        "<div class='mw-collapsible mw-collapsed'><div>曲目</div>"
        "<div class='mw-collapsible-content'><ol><li>Prologue</li><li>Sad Story</li></ol>"
        "</div></div>"
        "<div class='mw-collapsible'><div>获奖</div>"
        "<div class='mw-collapsible-content'><p>二〇〇五年度大赏</p></div></div>"
        "</div></body></html>"
    )
    body = extract_page(page, "http://127.0.0.1/wiki/1.html")["body"]
    assert "特别嘉宾出演列表" in body and "曲目" in body
    assert "两个男人" not in body and "Prologue" not in body
    assert "二〇〇五年度大赏" in body


@pytest.mark.parametrize(
    ("style", "shown"),
    [
        (".ng-hide{display:none !important;}", False),
        ("[ng-cloak],.ng-cloak,.ng-hide{display: none ! important}", False),
        ("@media print{.ng-hide{display:none!important}}", True),
        (".ng-hide{display:none}", True),
        (".ng-hide{display:none!important}.ng-hide.open{display:block}", True),
    ],
)
def test_a_class_the_page_s_style_hides_for_good_is_hidden(style: str, shown: bool) -> None:
    """A script framework hides elements by a class its stylesheet hides with !important
    (AngularJS's ng-hide); a plain display:none a script may undo, and a print or screen
    width rule hides only there. The content the page hides plainly until its script runs
    stays the article."""
    rows = "".join(
        f"<tr><td>{i}</td><td>某保险公司第{i}分公司，违反审慎经营规则，罚款{i * 10}万元。</td></tr>"
        for i in range(1, 5)
    )
    page = (
        f"<html><head><style>{style}.content{{display:none}}</style>"
        "<title>行政处罚信息公开表</title></head><body><div class='content'>"
        "<h1>行政处罚信息公开表</h1><div id='wenzhang-content'>"
        "<p class='ng-hide'>本表由中国银行保险监督管理委员会公布，依法向社会公开，接受监督。</p>"
        f"<table>{rows}</table></div></div></body></html>"
    )
    body = extract_page(page, "http://127.0.0.1/cn/view/pages/ItemDetail.html")["body"]
    assert ("中国银行保险监督管理委员会" in body) is shown
    assert "某保险公司第4分公司" in body


def test_a_calendar_is_no_headline_and_a_post_line_before_trailing_headings_dates_it() -> None:
    """No <title>, a sidebar calendar in <font>s ("2006年12月", "Sa"), a headline that links to
    the post's other address: the headline opening the post is still the title, and the
    "发表于" line above the emptied "相关内容"/"发表评论" headings gives the time."""
    days = "".join(f"<th><font size='1'>{d}</font></th>" for d in ("Su", "Mo", "Sa"))
    page = (
        "<html><body><div id='left'><table><caption><font>2006年12月</font></caption>"
        f"<tr>{days}</tr></table></div><div id='right'>"
        "<div class='rightmenu'><div><a id='viewpost1_TitleUrl' href='/archive/2005/07/31/1.html'>"
        "园区新开一条公交线路</a></div></div>"
        "<div class='rightbox'>本报讯 园区新开一条公交线路，连接地铁站和产业园，早晚高峰加密班次。"
        "<br><br>线路全长十二公里，设站十八个，票价两元，可刷交通卡和手机支付。</div>"
        "<div class='rightcom'>作者:园区观察 阅读(1660) 发表于:2005-07-31 12:30</div>"
        "<div class='more'>相关内容</div><div class='more'>发表评论</div></div></body></html>"
    )
    found = extract_page(page, "http://blog.example.cn/archive/2005/07/31/1.aspx")
    assert found["title"] == "园区新开一条公交线路"
    assert found["published_at"] == "2005-07-31T12:30:00+08:00"
    assert "发表于" not in found["body"]


BLOG_ENTRY = """<html><head><title>园区博客--湖畔一叶</title></head><body>
<table><tr><td><strong>Blog信息</strong></td></tr>
<tr><td><div>Blog名:湖畔一叶<br>日志:279<br>建立于:2004年10月6日</div></td></tr></table>
<table><tr><td><font size="4"><strong><a href="blog.asp?subjectid=516">[园区生活]</a>
<a href="more.asp?name=hp&amp;id=22546">{headline}</a></strong></font><br>
<a href="blog.asp?name=hp">hp</a> 发表于 2005-9-15 11:46:00</td></tr>
<tr><td><p>周末沿着湖边走了一圈，新修的步道平整宽阔，一路都有指示牌和休息座椅。</p>
<p>傍晚时分湖面很静，不少市民带着孩子在草坪上放风筝，远处的灯光渐渐亮起来。</p></td></tr>
</table></body></html>"""


def test_a_heading_linking_to_the_page_itself_is_the_headline() -> None:
    """<title> names the blog ("湖畔一叶", also in the sidebar); the post's heading holds a
    link to its category and one to the page itself: the latter is the headline, and the
    time under it, not the blog's creation date in the sidebar, is the post's."""
    url = "http://blog.example.cn/more.asp?name=hp&id=22546"
    found = extract_page(BLOG_ENTRY.format(headline="湖边步道散记"), url)
    assert found["title"] == "湖边步道散记"
    assert found["published_at"] == "2005-09-15T11:46:00+08:00"


def test_a_pager_entry_linking_to_the_page_itself_is_no_headline() -> None:
    url = "http://blog.example.cn/more.asp?name=hp&id=22546"
    pager = "".join(
        f"<a href='more.asp?name=hp&amp;id={22545 + i}'>第{i}章</a>│" for i in (1, 2, 3)
    )
    page = BLOG_ENTRY.format(headline="湖边步道散记").replace(
        "<tr><td><p>周末",
        f"<tr><td align='center'><b>第一编</b><br>{pager}</td></tr><tr><td><p>周末",
    )
    assert extract_page(page, url)["title"] != "第1章"


def test_without_the_headline_above_the_article_the_nearest_date_is_taken() -> None:
    head = ["Blog名:湖畔一叶", "建立于:2004年10月6日", "湖边散记", "hp 发表于 2005-9-15 11:46:00"]
    assert find_nearby_date(head, [], "另一个标题") == "2005-09-15T11:46:00+08:00"


ARCHIVE_POST = (
    "<table class='post'><tr><td class='post-title'>{title}</td><td>{date}</td></tr>"
    "<tr><td colspan='2'><div class='post-body'>{body}</div></td></tr></table>"
)


def archive_page(posts: list[tuple[str, str, int]], before: str = "") -> str:
    """A blog archive page: the blog's name as heading, then posts (title, date, how many
    sentences) in blocks of one make."""
    sentence = "今天去园区的湖边走了一圈，天气很好，游人不多，拍了不少照片。"
    blocks = "".join(
        ARCHIVE_POST.format(title=title, date=date, body=sentence * n) for title, date, n in posts
    )
    return (
        "<html><head><title>湖边小记 | 博客</title></head><body><h1>湖边小记</h1>"
        f"{before}<div class='posts'>{blocks}</div></body></html>"
    )


def test_an_archive_of_posts_gives_its_first_post_not_its_longest() -> None:
    page = archive_page(
        [("春天的湖边", "2024-04-02 08:10:00", 6), ("夏夜", "2024-03-20 21:00:00", 30)]
    )
    found = extract_page(page, "http://blog.example.cn/archives.php?date=202404")
    assert found["title"] == "春天的湖边"
    assert found["published_at"] == "2024-04-02T08:10:00+08:00"
    assert len(found["body"]) < 6 * 40


def test_a_post_block_above_the_headline_is_not_the_article() -> None:
    """A dated teaser of the same make standing before the page's headline is not a post of
    this page: the article follows its headline."""
    teaser = ARCHIVE_POST.format(
        title="置顶：往期回顾",
        date="2023-12-31 10:00:00",
        body="往期的精彩内容都在这里，欢迎翻看。" * 8,
    )
    page = archive_page([("夏夜", "2024-03-20 21:00:00", 30)], before=teaser)
    page = page.replace("<h1>湖边小记</h1>", "").replace(
        "<div class='posts'>", "<div class='posts'><h1>夏夜</h1>"
    )
    page = page.replace("湖边小记 | 博客", "夏夜 | 湖边小记")
    found = extract_page(page, "http://blog.example.cn/post/1.html")
    assert found["title"] == "夏夜"
    assert "往期的精彩内容" not in found["body"]


@pytest.mark.parametrize(
    ("text", "headline"),
    [
        ("园区召开年度工作会议", True),
        ("2006年12月", False),
        ("Sa", False),
        ("能力值:545803", False),
        ("浏览次数：1,024", False),
        ("2024：园区十件大事", True),
    ],
)
def test_a_counter_or_a_calendar_caption_is_no_headline(text: str, headline: bool) -> None:
    assert reads_as_headline(text) is headline


@pytest.mark.parametrize(
    ("title", "clean"),
    [
        ("主题: 【太行山上】 【DVDSCR】", "【太行山上】 【DVDSCR】"),
        ("标题：园区召开年度工作会议", "园区召开年度工作会议"),
        ("主题教育读书班开班", "主题教育读书班开班"),
    ],
)
def test_a_label_before_the_headline_is_taken_off(title: str, clean: str) -> None:
    assert tidy_title(title, []) == clean


@pytest.mark.parametrize(
    ("html", "label"),
    [
        ("<td><b>主题：</b> 导游为什么热衷于带人购物？</td>", True),
        ("<div>标题&nbsp;：园区召开年度工作会议</div>", True),
        ("<div>题目 : 园区召开年度工作会议</div>", True),
        ("<div>主&#39064;：园区召开年度工作会议</div>", True),
        ("<p>主题教育读书班开班，学员围绕问题清单讨论。</p>", False),
        ("<p>园区召开年度工作会议</p>", False),
    ],
)
def test_pages_that_may_print_a_title_label_are_told_by_their_source(
    html: str, label: bool
) -> None:
    page = f"<html><body>{html}</body></html>"
    facts = PageFacts(parse_html(page), ascii_lowered(page))
    assert may_print_title_label(facts) is label


def test_a_labelled_line_with_no_headline_markup_is_the_title() -> None:
    page = (
        "<html><head><title>园区论坛</title></head><body><div>主题：园区召开年度工作会议</div>"
        f"<div><p>{POST}</p></div></body></html>"
    )
    assert extract_page(page, "http://bbs.example.cn/thread.jsp?id=7")["title"] == (
        "园区召开年度工作会议"
    )


def test_the_source_is_lowered_in_its_ascii_letters_alone() -> None:
    assert ascii_lowered("<DIV Class=標題>İK\u212a</Div>") == "<div class=標題>İk\u212a</div>"


@pytest.mark.parametrize(
    ("names", "headline"),
    [
        ("news-Title main", True),
        ("BT", True),
        ("btn-share", False),
        ("Biaoti", True),
        ("tİtle", True),  # Turkish dotted capital I: any case, as a case-insensitive regex
        ("tıtle", True),
        ("标题 headLine", True),
        ("标题 content", False),
    ],
)
def test_class_and_id_names_say_headline_in_any_case(names: str, headline: bool) -> None:
    assert names_title(names) is headline


@pytest.mark.parametrize(
    ("line", "dateline"),
    [
        ("2003-7-24 钱江晚报", True),
        ("2024年3月15日", True),
        ("3月15日 开幕式", False),
        ("2024-03-15，园区召开了年度工作会议。", False),
    ],
)
def test_a_dateline_is_a_full_date_and_at_most_a_short_name(line: str, dateline: bool) -> None:
    assert is_dateline(line) is dateline


def test_a_dateline_between_headline_and_first_paragraph_dates_the_article() -> None:
    title = "谁来为无序拆房“埋单”？"
    blocks = [
        f"{title}- -",
        "拆房屡出命案",
        "本报记者 王燕平",
        "2003-7-24 钱江晚报",
        "为拆一幢房，断送了三条人命。",
        "2005-01-01 另一家报纸",
    ]
    kept, found = split_inner_meta_lines(blocks, title)
    assert found.published_at == "2003-07-24"
    assert "2003-7-24 钱江晚报" not in kept
    assert kept[-1] == "2005-01-01 另一家报纸"  # after the first paragraph it is text


POST = (
    "导游的收入很大一部分来自购物的回扣，这是业内的行规，境内游境外游都是这样的。以国内游为例，"
    "回扣一般在购物额的百分之十左右。旅行车停在购物店门口会有停车费，进店购物一般要停留四十五分钟"
    "左右，店里会根据客人的人数付钱。所以，以我的经验，一定要看清楚合同，不要听导游瞎说。"
)


def test_a_forum_post_is_told_from_its_reply_index_and_the_login_box() -> None:
    """A short post under a labelled title; after it an index of replies (each a link, a
    name and counters), longer than the post; a login form in the side column."""
    replies = "".join(
        f"<li><a href='thread.jsp?id={i}'>回复{i}：我去年也遇到过一次，导游带我们进了三家店</a>"
        f"【<a href='user.jsp?id={i}'>网友{i}</a>】08-11 16:{i:02} 138字 [140/{i}]</li>"
        for i in range(30)
    )
    login = (
        "<form action='login.jsp' method='post'>您尚未登录，您可以输入您的用户名、密码登录以便"
        "进行您的操作。请输入用户名<input name='u'>请输入密码<input type='PASSWORD' name='p'>"
        "选择隐身登录，论坛会员将在用户列表看不到您的信息。</form>"
    )
    page = (
        "<html><head><title>央视论坛</title></head><body>"
        f"<table><tr><td class='side'>{login}</td><td>"
        "<table><tr><td class='large'><b>主题：</b> 导游为什么热衷于带人购物？</td></tr>"
        "<tr><td><b>作者：</b>芊草 <b>时间：</b>2005-08-22 19:13:18</td></tr></table>"
        f"<table><tr><td><p class='large'>{POST}</p></td></tr></table>"
        "<table><tr><td><b>回复线索：</b></td></tr></table>"
        f"<table><tr><td><ul>{replies}</ul></td></tr></table></td></tr></table></body></html>"
    )
    found = extract_page(page, "http://bbs.example.cn/forumthread.jsp?id=6910910")
    assert found["title"] == "导游为什么热衷于带人购物？"
    assert found["body"] == POST


def dated_page(dated: str, url: str = "http://wiki.example.cn/wiki/entry") -> dict[str, Any]:
    """The extraction of an article page whose headline has no date beside it; `dated` is
    markup placed above the headline and article."""
    page = (
        "<html><head><title>园区召开年度工作会议</title></head><body>"
        f"<div class='top'>{dated}</div><h1>园区召开年度工作会议</h1>"
        f"<div class='main'><p>{POST}</p><p>{POST}</p></div></body></html>"
    )
    return dict(build_record(page, url, generic_profile(url)))


def test_a_date_the_page_marks_up_as_one_is_the_fallback_publish_date() -> None:
    found = dated_page(
        "<small class='date-container'>(<span class='date'>2020年4月17日</span>)</small>"
    )
    assert found["published_at"] == "2020-04-17"


@pytest.mark.parametrize(
    "dated",
    [
        # dates of a list of events disagree: none of them is the article's
        "<ul><li><span class='date'>2020-04-17</span></li>"
        "<li><span class='date'>2020-05-02</span></li></ul>",
        # an update, a citation's access date: other dates than the publication's
        "<span class='update-time'>2020-04-17</span>",
        "<span class='reference-accessdate'>[2020-04-17]</span>",
        # a date in running text, not a date alone
        "<span class='time'>会议于2020年4月17日召开，历时两天</span>",
        # hidden
        "<span class='date' style='display:none'>2020-04-17</span>",
    ],
)
def test_marked_up_dates_that_are_not_the_articles_give_none(dated: str) -> None:
    assert dated_page(dated)["published_at"] is None


def test_the_urls_date_comes_before_a_marked_up_one() -> None:
    found = dated_page(
        "<span class='date'>2020-04-17</span>",
        url="http://www.example.cn/xw/202103/t20210305_8812.html",
    )
    assert found["published_at"] == "2021-03-05"


@pytest.mark.parametrize(
    ("line", "page_title", "headline"),
    [
        # the site and section moved in front of the headline
        (
            "园区论坛-园区动态-园区召开年度工作会议",
            "园区动态-园区召开年度工作会议[园区论坛]",
            "园区召开年度工作会议",
        ),
        ("示例网 | 园区召开年度工作会议", "园区召开年度工作会议 - 示例网", "园区召开年度工作会议"),
        # the headline as <title> holds it, hyphen and all: a headline, no echo
        ("园区-企业对接会", "园区-企业对接会_示例网", None),
        # a part <title> does not hold
        ("园区论坛-园区召开年度工作会议-下午", "园区召开年度工作会议[园区论坛]", None),
        # a date is no headline
        ("2024-03-15", "2024-03-15 园区召开年度工作会议", None),
        ("园区召开年度工作会议", "示例网-园区召开年度工作会议", None),
    ],
)
def test_a_line_reassembling_the_page_title_gives_its_headline(
    line: str, page_title: str, headline: str | None
) -> None:
    assert title_echo_part(line, page_title) == headline


def test_a_header_row_reassembling_the_page_title_is_no_article_text() -> None:
    page = (
        "<html><head><title>园区动态-园区召开年度工作会议[园区论坛]</title></head><body>"
        "<div><b><a href='/board/7'>园区动态</a></b></div>"
        "<table><tr><th>园区论坛-园区动态-园区召开年度工作会议</th></tr>"
        f"<tr><td>{POST}</td></tr><tr><td>{POST}</td></tr></table></body></html>"
    )
    found = extract_page(page, "http://bbs.example.cn/dispbbs.asp?id=7")
    assert found["title"] == "园区召开年度工作会议"
    assert found["body"] == f"{POST}\n{POST}"


def test_an_elements_own_text_is_its_text_and_its_childrens_tails() -> None:
    page = (
        "<html><body><div id='a'>园区<b>召开</b>年度<script>x=1</script>工作会议"
        "<p id='b' style='display:none'>隐藏<i>的</i>段落</p>。</div></body></html>"
    )
    facts = PageFacts(parse_html(page), ascii_lowered(page))
    lengths = facts.own_lengths()
    div, bold = facts.root.find(".//div"), facts.root.find(".//b")
    assert lengths[div] == len("园区年度工作会议。")
    assert lengths[bold] == len("召开")
    # the hidden paragraph is not walked: none of its text counts for anything
    assert facts.root.find(".//p") not in lengths
    assert facts.root.find(".//i") not in lengths


WECHAT_PARAGRAPHS = (
    "3月15日，园区召开年度工作会议，总结过去一年的发展成绩，部署新一年的重点任务。",
    "会议指出，要坚持创新驱动，推动产业升级，加快建设具有全球影响力的产业科技创新高地。",
    "会上还对去年表现突出的企业和个人进行了表彰，并签约了一批重点项目。",
)


def wechat_page(script: str) -> str:
    """A WeChat-style article page: the article laid out hidden, shown by `script`."""
    paragraphs = "".join(f"<p>{p}</p>" for p in WECHAT_PARAGRAPHS)
    return (
        "<html><head><title>园区召开年度工作会议</title>"
        "<meta property='og:title' content='园区召开年度工作会议'></head><body>"
        "<div id='page-content'><h1 class='rich_media_title' id='activity-name'>"
        "园区召开年度工作会议</h1><div id='meta_content'><em id='publish_time'>"
        "2024-03-15 10:20</em></div>"
        "<div class='rich_media_content' id='js_content' style='visibility: hidden;'>"
        f"{paragraphs}</div><script>{script}</script></div>"
        "<div class='related'><a href='/s/1'>猜你喜欢：园区十件大事</a></div></body></html>"
    )


@pytest.mark.parametrize(
    "script",
    [
        "document.getElementById('js_content').style.visibility = 'visible';",
        "var c = document.getElementById(\"js_content\"); layout(c); c.style.visibility='visible';",
        "$('#js_content').css('visibility', 'visible');",
    ],
)
def test_an_article_hidden_until_its_own_script_shows_it_is_the_article(script: str) -> None:
    found = extract_page(wechat_page(script), "https://mp.weixin.qq.com/s/AbCdEf")
    assert found["title"] == "园区召开年度工作会议"
    assert found["body"] == "\n".join(WECHAT_PARAGRAPHS)


@pytest.mark.parametrize(
    "script",
    [
        "",
        # the script shows another element
        "document.getElementById('js_tags').style.visibility = 'visible';",
        # it looks the article up, but to hide it
        "document.getElementById('js_content').style.visibility = 'hidden';",
    ],
)
def test_an_article_no_script_shows_stays_hidden(script: str) -> None:
    with pytest.raises(NotAnArticle):
        build_record(
            wechat_page(script),
            "https://mp.weixin.qq.com/s/AbCdEf",
            generic_profile("https://mp.weixin.qq.com/s/AbCdEf"),
        )
