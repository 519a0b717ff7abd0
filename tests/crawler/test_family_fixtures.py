"""The family fixture hosts agree with themselves: their `_lists.json` walk, pages and goldens.

Each host of tests/fixtures/sites that holds a `_lists.json` is a park site with no profile,
kept as the truth of a crawl from one URL (see tests/fixtures/sites/README.md). These tests
check that truth against the pages the fixture server sends, so a list entry, date, request
body or golden that drifts from the pages fails here rather than in the crawl under test.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import parse_qsl, urljoin, urlsplit

import pytest
from lxml import html as lxml_html
from lxml.html import HtmlElement

from tests.conftest import golden_records, page_file
from tests.sitesrv import (
    SITES_DIR,
    TRS_SEARCH_PATH,
    fetch_through,
    resolve,
    resolve_query,
    walk_truth,
)

FAMILIES = {"trs", "hanweb", "vsb", "generic"}
LISTS = sorted(SITES_DIR.glob("*/_lists.json"))
HOSTS = [path.parent.name for path in LISTS]
NOT_ARTICLES = re.compile(r"\.(?:pdf|docx?|xlsx?|wps|zip|rar)$|/module/download/", re.I)
CDATA_RECORD = re.compile(r"<record><!\[CDATA\[(.*?)\]\]></record>", re.S)
DATE = re.compile(r"\d{4}-\d{2}-\d{2}")


def request_of(page: dict[str, Any]) -> dict[str, Any]:
    return {"url": page["url"], "method": page["method"], "body": page["body"]}


@dataclass(frozen=True)
class Link:
    """A link of a list answer: where it points and the text of the entry around it."""

    url: str
    entry: str


def html_links(text: str, base: str) -> list[Link]:
    """Every link of an HTML fragment, with the text of the element that holds it."""
    if not text.strip():
        return []
    tree = lxml_html.fromstring(text)
    links = []
    for anchor in tree.iter("a"):
        href = anchor.get("href")
        if not isinstance(anchor, HtmlElement) or not href or href.startswith("javascript:"):
            continue
        holder = anchor.getparent()
        entry = (holder if isinstance(holder, HtmlElement) else anchor).text_content()
        links.append(Link(urljoin(base, href), entry))
    return links


def answer_links(body: str, url: str) -> list[Link]:
    """The links of a list answer: an HTML page (Hanweb records inline in its `<datastore>`
    included), a dataproxy `<datastore>` or the TRS search API's JSON."""
    if urlsplit(url).path == TRS_SEARCH_PATH:
        data = json.loads(body)["data"]["list"]
        return [Link(doc["url"], doc["pubDate"]) for doc in data]
    records = CDATA_RECORD.findall(body)
    in_records = html_links("<ul>" + "".join(records) + "</ul>", url) if records else []
    if body.lstrip().startswith("<?xml"):
        return in_records
    return html_links(body, url) + in_records


def host_goldens(host: str) -> dict[str, dict[str, Any]]:
    return {url: g for url, g in golden_records().items() if urlsplit(url).hostname == host}


def test_there_is_a_fixture_host_for_every_family() -> None:
    assert {walk_truth(host)["family"] for host in HOSTS} == FAMILIES


@pytest.mark.parametrize("host", HOSTS)
def test_the_walk_is_well_formed_and_chained(host: str) -> None:
    lists = walk_truth(host)
    assert set(lists) == {"start_url", "family", "pages"}
    assert lists["family"] in FAMILIES
    pages = lists["pages"]
    assert pages[0]["url"] == lists["start_url"]
    assert pages[0]["method"] == "GET"
    assert len(pages) >= 3
    for page, following in zip(pages, [*pages[1:], None], strict=True):
        assert set(page) == {"url", "method", "body", "articles", "next"}
        assert page["method"] in ("GET", "POST")
        assert (page["body"] is None) == (page["method"] == "GET"), page["url"]
        assert urlsplit(page["url"]).hostname == host
        assert page["next"] == ([request_of(following)] if following else [])
        assert len(page["articles"]) >= 4, page["url"]


@pytest.mark.parametrize("host", HOSTS)
def test_every_listed_article_is_a_golden_page_of_the_host(host: str) -> None:
    goldens = host_goldens(host)
    listed = [a["url"] for page in walk_truth(host)["pages"] for a in page["articles"]]
    assert len(listed) == len(set(listed)), "an article is listed twice"
    assert set(listed) == set(goldens), "the walk and the host's goldens differ"
    for page in walk_truth(host)["pages"]:
        for article in page["articles"]:
            parts = urlsplit(article["url"])
            assert parts.hostname == host and not parts.query, article["url"]
            assert not NOT_ARTICLES.search(parts.path), article["url"]
            golden = goldens[article["url"]]
            assert golden["url"] == article["url"]
            assert golden["site"] == "generic"
            assert resolve(SITES_DIR, host, parts.path) == page_file(golden)
            assert article["date"] == golden["published_at"][:10], article["url"]


@pytest.mark.parametrize("host", HOSTS)
def test_every_get_of_the_walk_is_served_from_a_file(host: str) -> None:
    for page in walk_truth(host)["pages"]:
        for request in [request_of(page), *page["next"]]:
            parts = urlsplit(request["url"])
            if request["method"] != "GET" or parts.path == TRS_SEARCH_PATH:
                continue
            found = resolve_query(SITES_DIR, host, parts.path, parts.query)
            found = found or resolve(SITES_DIR, host, parts.path)
            assert found is not None, request["url"]
            assert not parts.query or found.name.endswith("@" + parts.query), request["url"]


@pytest.mark.parametrize("host", HOSTS)
def test_each_list_answer_links_its_articles_with_their_dates(
    host: str, fixture_proxy: str
) -> None:
    for page in walk_truth(host)["pages"]:
        links = answer_links(fetch_through(fixture_proxy, request_of(page)), page["url"])
        for article in page["articles"]:
            beside = [link.entry for link in links if link.url == article["url"]]
            assert beside, f"{page['url']} does not link {article['url']}"
            assert any(article["date"] in entry for entry in beside), article["url"]
        for link in links:
            if NOT_ARTICLES.search(link.url) or urlsplit(link.url).hostname != host:
                assert link.url not in {a["url"] for a in page["articles"]}


@pytest.mark.parametrize("host", HOSTS)
def test_every_list_answer_has_an_entry_the_walk_leaves_out(host: str, fixture_proxy: str) -> None:
    """The faults are there: every host lists an attachment or an off-site page among its
    articles, which the walk must not count."""
    dated_entries = []
    for page in walk_truth(host)["pages"]:
        links = answer_links(fetch_through(fixture_proxy, request_of(page)), page["url"])
        dated_entries += [link.url for link in links if DATE.search(link.entry)]
    listed = {a["url"] for page in walk_truth(host)["pages"] for a in page["articles"]}
    left_out = [url for url in dated_entries if url not in listed]
    assert any(NOT_ARTICLES.search(url) for url in left_out), host
    assert any(urlsplit(url).hostname != host for url in left_out), host


def script_values(page: str) -> dict[str, str]:
    """The `var name = value;` declarations of a page's scripts, quotes dropped."""
    found = re.findall(r"var\s+(\w+)\s*=\s*['\"]?([^'\";\n]*)['\"]?\s*;", page)
    return dict(found)


def test_the_hanweb_posts_send_the_form_the_column_page_declares(fixture_proxy: str) -> None:
    for host in HOSTS:
        lists = walk_truth(host)
        if lists["family"] != "hanweb":
            continue
        column = fetch_through(fixture_proxy, request_of(lists["pages"][0]))
        declared = script_values(column)
        per_page = int(re.findall(r"perPage:\s*(\d+)", column)[0])
        total = int(re.findall(r"totalRecord:\s*(\d+)", column)[0])
        posts = [p for p in lists["pages"] if p["method"] == "POST"]
        assert posts
        for number, post in enumerate(posts, start=2):
            fields = parse_qsl(post["body"])
            assert fields == [(name, declared[name]) for name, _ in fields]
            assert [name for name, _ in fields][:3] == ["col", "appid", "webid"]
            start = (number - 1) * per_page + 1
            query = dict(parse_qsl(urlsplit(post["url"]).query))
            assert query == {
                "startrecord": str(start),
                "endrecord": str(min(start + per_page - 1, total)),
                "perpage": str(per_page),
            }


def test_the_trs_search_request_follows_the_paging_object(fixture_proxy: str) -> None:
    searched = 0
    for host in HOSTS:
        pages = walk_truth(host)["pages"]
        for number, page in enumerate(pages, start=1):
            if urlsplit(page["url"]).path != TRS_SEARCH_PATH:
                continue
            first = fetch_through(fixture_proxy, request_of(pages[0]))
            paging = json.loads(re.findall(r"pagingInfo = (\{.*?\});", first, re.S)[0])
            query = dict(parse_qsl(urlsplit(page["url"]).query))
            assert query == {
                "channelId": paging["channelId"],
                "pageNo": str(number),
                "pageSize": str(paging["pageSize"]),
            }
            assert number == paging["staticPageCount"] + 1
            answer = json.loads(fetch_through(fixture_proxy, request_of(page)))
            assert answer["data"]["pager"]["total"] == paging["recordCount"]
            searched += 1
    assert searched >= 1


@pytest.mark.parametrize("host", HOSTS)
def test_the_host_is_a_crawlable_site(host: str) -> None:
    assert (SITES_DIR / host / "robots.txt").is_file()
    assert all(Path(g["_page"]).parent.is_dir() for g in host_goldens(host).values())
