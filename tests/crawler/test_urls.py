"""Article identity: the key that names an article whichever URL reached it."""

from __future__ import annotations

import pytest

from crawler.cms import article_key


@pytest.mark.parametrize(
    ("url", "key"),
    [
        # TRS WCM: the t<date>_<id> name is the article, whatever the column.
        (
            "http://www.sipac.gov.cn/szgyyq/yqyw/202403/t20240315_1034521.shtml",
            "www.sipac.gov.cn|trs:t20240315_1034521",
        ),
        (
            "https://WWW.SIPAC.gov.cn:443/szgyyq/tsyq/202403/t20240315_1034521.shtml?spm=1.2",
            "www.sipac.gov.cn|trs:t20240315_1034521",
        ),
        (
            "http://www.sipac.gov.cn/szgyyq/tsyq/202401/540f6fcd1b2f38e209962eaa8181b42e.shtml",
            "www.sipac.gov.cn|trs:540f6fcd1b2f38e209962eaa8181b42e",
        ),
        # Hanweb jcms: art_<column>_<id>.
        (
            "http://www.hhtz.gov.cn/art/2021/4/29/art_1487001_58912345.html",
            "www.hhtz.gov.cn|hanweb:58912345",
        ),
        (
            "http://www.hhtz.gov.cn/art/2021/4/30/art_1487002_58912345.html#top",
            "www.hhtz.gov.cn|hanweb:58912345",
        ),
        # VSB: /info/<column>/<id>.htm, and its dynamic form.
        ("http://www.wehdz.gov.cn/info/1021/10007.htm", "www.wehdz.gov.cn|vsb:10007"),
        ("http://www.wehdz.gov.cn/info/1022/10007.htm", "www.wehdz.gov.cn|vsb:10007"),
        (
            "http://www.wehdz.gov.cn/content.jsp?urltype=news.NewsContentUrl&wbtreeid=1021"
            "&wbnewsid=10007",
            "www.wehdz.gov.cn|vsb:10007",
        ),
        # No CMS id: host, path and the query without tracking.
        (
            "http://www.twgxnews.com/news/2021/0429/8812.html",
            "www.twgxnews.com/news/2021/0429/8812.html",
        ),
        (
            "HTTPS://www.TwgxNews.com:443/news/2021/0429/8812.html?utm_source=wechat"
            "&utm_medium=social&from=singlemessage&isappinstalled=0",
            "www.twgxnews.com/news/2021/0429/8812.html",
        ),
        ("http://example.gov.cn:8080/a/b.html", "example.gov.cn:8080/a/b.html"),
        ("http://example.gov.cn/a/b.html;jsessionid=0A1B2C3D", "example.gov.cn/a/b.html"),
        ("http://example.gov.cn/a/b.html;JSESSIONID=0A1B?id=7", "example.gov.cn/a/b.html?id=7"),
        (
            "http://example.gov.cn/show.php?id=12&PHPSESSID=abc&sid=9&jsessionid=x",
            "example.gov.cn/show.php?id=12",
        ),
        ("http://example.gov.cn/show.php?id=12&_=1718000000000", "example.gov.cn/show.php?id=12"),
        ("http://example.gov.cn/show.php?id=12&t=1718000000", "example.gov.cn/show.php?id=12"),
        ("http://example.gov.cn/show.php?id=12&t=0.48213", "example.gov.cn/show.php?id=12"),
        ("http://example.gov.cn/show.php?id=12&t=2", "example.gov.cn/show.php?id=12&t=2"),
        ("http://example.gov.cn/show.php?b=2&a=1", "example.gov.cn/show.php?a=1&b=2"),
        (
            "http://example.gov.cn/show.php?id=5&scene=1&clicktime=1718000000&enterid=1718000000",
            "example.gov.cn/show.php?id=5",
        ),
        # Index pages name their folder.
        ("http://example.gov.cn/news/index.html", "example.gov.cn/news/"),
        ("http://example.gov.cn/news/index.shtml", "example.gov.cn/news/"),
        ("http://example.gov.cn/news/INDEX.HTM", "example.gov.cn/news/"),
        ("http://example.gov.cn/news/", "example.gov.cn/news/"),
        ("http://example.gov.cn", "example.gov.cn/"),
        ("http://example.gov.cn/news/index2.html", "example.gov.cn/news/index2.html"),
        # Percent-encoding follows w3lib: one form for one path.
        ("http://example.gov.cn/新闻/1.html", "example.gov.cn/%E6%96%B0%E9%97%BB/1.html"),
    ],
)
def test_article_key(url: str, key: str) -> None:
    assert article_key(url) == key


@pytest.mark.parametrize(
    ("first", "second"),
    [
        # A page with its own id stays itself beside its neighbours and other hosts.
        (
            "http://www.hhtz.gov.cn/art/2021/4/29/art_1487001_58912345.html",
            "http://www.hhtz.gov.cn/art/2021/4/29/art_1487001_58912346.html",
        ),
        (
            "http://www.hhtz.gov.cn/art/2021/4/29/art_1487001_58912345.html",
            "http://www.hangzhou.gov.cn/art/2021/4/29/art_1487001_58912345.html",
        ),
        ("http://example.gov.cn/show.php?id=12", "http://example.gov.cn/show.php?id=13"),
        ("http://example.gov.cn/news/", "http://example.gov.cn/news/list.html"),
    ],
)
def test_article_key_keeps_articles_apart(first: str, second: str) -> None:
    assert article_key(first) != article_key(second)
