"""Hostile payloads handed straight to the parsers: nothing expands, nothing is loaded, and the
download limits that keep a crawl bounded are set."""

from __future__ import annotations

import contextlib
import time
from collections.abc import Iterator

import pytest
from lxml import etree
from parsel import Selector

from crawler import cms, settings
from crawler.cms import hanweb
from crawler.extract import NotAnArticle
from tests.conftest import extract_page
from tests.sitesrv import FAULT_HOST, FAULTS_DIR, RequestLog, serve

DATAPROXY_DIR = FAULTS_DIR / "www.hhtz.gov.cn" / "_dataproxy"
ENTITY_PAGE = FAULTS_DIR / FAULT_HOST / "news" / "202401" / "t20240101_119.shtml"
DATAPROXY_URL = (
    "http://www.hhtz.gov.cn/module/web/jpage/dataproxy.jsp?startrecord=6&endrecord=10&perpage=5"
)
HOSTILE = ["broken-cdata.xml", "billion-laughs.xml", "external-entity.xml"]
# A parse of any payload here takes milliseconds; an expansion or a fetch would not.
QUICK_SECONDS = 2.0


def payload(name: str, server: str = "http://127.0.0.1:9") -> str:
    return (DATAPROXY_DIR / name).read_text("utf-8").replace("{{server}}", server)


@pytest.fixture(scope="module")
def canary() -> Iterator[tuple[str, RequestLog]]:
    """A server that records any fetch an external entity would make (none may happen)."""
    log = RequestLog()
    with serve(FAULTS_DIR, log=log) as server:
        yield server, log


@pytest.mark.parametrize("name", HOSTILE)
def test_hanweb_records_refuses_a_malformed_or_hostile_answer(
    name: str, canary: tuple[str, RequestLog]
) -> None:
    server, log = canary
    started = time.monotonic()
    with pytest.raises(cms.ListPageError) as caught:
        hanweb.datastore_records(payload(name, server))
    assert time.monotonic() - started < QUICK_SECONDS
    assert "root:" not in str(caught.value)
    assert log.requests() == []


@pytest.mark.parametrize("name", HOSTILE)
def test_hanweb_entries_refuses_a_malformed_or_hostile_answer(
    name: str, canary: tuple[str, RequestLog]
) -> None:
    server, log = canary
    with pytest.raises(cms.ListPageError):
        hanweb.Hanweb().list_markup(cms.ListPage(DATAPROXY_URL, payload(name, server)))
    assert log.requests() == []


@pytest.mark.parametrize("name", ["billion-laughs.xml", "external-entity.xml"])
def test_the_safe_xml_parser_expands_and_loads_nothing_even_with_the_dtd(
    name: str, canary: tuple[str, RequestLog]
) -> None:
    """datastore_records cuts the prolog off before parsing; the parser is safe without it."""
    server, log = canary
    started = time.monotonic()
    try:
        tree = etree.fromstring(payload(name, server).encode("utf-8"), hanweb.SAFE_XML)
    except etree.XMLSyntaxError:
        text = ""
    else:
        text = etree.tostring(tree, encoding="unicode", method="text")
    assert time.monotonic() - started < QUICK_SECONDS
    assert len(text) < 10_000
    assert "root:" not in text
    assert log.requests() == []


def test_the_html_parser_expands_and_loads_no_declared_entity(
    canary: tuple[str, RequestLog],
) -> None:
    server, log = canary
    page = ENTITY_PAGE.read_text("utf-8").replace("{{server}}", server)
    text = Selector(text=page).xpath("string(//body)").get() or ""
    assert "root:" not in text
    assert "lollollol" not in text
    found = extract_page(page, f"http://{FAULT_HOST}/news/202401/t20240101_119.shtml")
    assert not any("root:" in block or "lollol" in block for block in found["body"].split("\n"))
    assert log.requests() == []


@pytest.mark.parametrize(
    "raw",
    [
        b"%PDF-1.4\n" + bytes(range(256)) * 4,
        b"\xff\xd8\xff\xe0\x00\x10JFIF\x00" + bytes(range(256)),
        b"PK\x03\x04" + bytes(64),
    ],
    ids=["pdf", "jpeg", "zip"],
)
def test_a_binary_file_served_as_a_page_is_not_an_article(raw: bytes) -> None:
    with pytest.raises(NotAnArticle, match="binary"):
        extract_page(raw.decode("latin-1"), "http://faults.test/news/202401/t20240101_1.shtml")


def test_downloads_are_capped_in_size_time_and_retries() -> None:
    assert 0 < settings.DOWNLOAD_MAXSIZE <= 32 * 1024 * 1024
    assert 0 < settings.DOWNLOAD_WARNSIZE < settings.DOWNLOAD_MAXSIZE
    assert 0 < settings.DOWNLOAD_TIMEOUT <= 60
    assert 0 <= settings.RETRY_TIMES <= 3
    assert 0 < settings.REDIRECT_MAX_TIMES <= 10


def test_a_deeply_nested_page_costs_little_cpu() -> None:
    page = (ENTITY_PAGE.parent / "t20240101_117.shtml").read_text("utf-8")
    started = time.process_time()
    with contextlib.suppress(NotAnArticle):
        extract_page(page, f"http://{FAULT_HOST}/news/202401/t20240101_117.shtml")
    assert time.process_time() - started < 1.0
