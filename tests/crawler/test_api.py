"""`crawler.extract_record`: page bytes and URL to the record a crawl writes, for code that
uses parknews as a library."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from pathlib import Path
from typing import Any

import grimp
import pytest

import crawler
import crawler.extract
from crawler import NotAnArticle, extract_record
from crawler.offline import PageProcessor, packaged_settings
from crawler.sites import SITES
from tests.conftest import assert_valid_record, golden_differences, page_file
from tests.crawler.test_cli import generic_golden, site_golden
from tests.sitesrv import SITES_DIR

REPO = Path(__file__).resolve().parents[2]
LIST_PAGE = SITES_DIR / "www.sipac.gov.cn/szgyyq/yqyw/index.shtml"
LIST_URL = "http://www.sipac.gov.cn/szgyyq/yqyw/index.shtml"


def golden(name: str) -> dict[str, Any]:
    """The expected record of a fixture-site page (by site key) or of a generic case."""
    return site_golden(name) if name in SITES else generic_golden(name)


def without_clock(record: dict[str, Any]) -> dict[str, Any]:
    """The record without `fetched_at`, which is the time it was made."""
    return {k: v for k, v in record.items() if k != "fetched_at"}


GOLDEN_CASES = ["sipac", "binjiang", "donghu", "dedecms-gb2312", "wordpress-archives"]


@pytest.mark.parametrize("name", GOLDEN_CASES)
def test_extract_record_gives_the_golden_record(name: str) -> None:
    expected = golden(name)
    record = extract_record(page_file(expected).read_bytes(), expected["url"])
    assert_valid_record(record)
    assert golden_differences(record, expected) == []


@pytest.mark.parametrize("name", ["sipac", "dedecms-gb2312"])
def test_extract_record_equals_what_parknews_extract_prints(name: str) -> None:
    expected = golden(name)
    path = page_file(expected)
    done = subprocess.run(
        [sys.executable, "-m", "crawler.cli", "extract", str(path), "--url", expected["url"]],
        cwd=REPO,
        capture_output=True,
        encoding="utf-8",
        timeout=60,
    )
    assert done.returncode == 0, done.stderr
    printed = json.loads(done.stdout)
    record = extract_record(path.read_bytes(), expected["url"])
    assert without_clock(record) == without_clock(printed)


@pytest.mark.parametrize(
    "page",
    [
        pytest.param(LIST_PAGE.read_bytes(), id="list-page"),
        pytest.param(b"", id="empty"),
        pytest.param(b"\x89PNG\r\n\x1a\n" + bytes(range(256)) * 4, id="image"),
    ],
)
def test_a_page_without_an_article_raises_not_an_article(page: bytes) -> None:
    with pytest.raises(NotAnArticle):
        extract_record(page, LIST_URL)


def test_not_an_article_is_the_one_the_extractor_raises() -> None:
    assert crawler.NotAnArticle is crawler.extract.NotAnArticle
    assert set(crawler.__all__) == {"extract_record", "NotAnArticle"}


def test_site_chooses_the_profile() -> None:
    expected = golden("sipac")
    page = page_file(expected).read_bytes()
    assert extract_record(page, expected["url"])["site"] == "sipac"
    assert extract_record(page, expected["url"], site="generic")["site"] == "generic"


@pytest.mark.parametrize(
    ("url", "site", "message"),
    [
        ("file:///srv/pages/a.html", None, "absolute http"),
        ("www.sipac.gov.cn/szgyyq/a.shtml", None, "absolute http"),
        ("HTTP://www.sipac.gov.cn/szgyyq/a.shtml", None, "absolute http"),
        ("http:///szgyyq/a.shtml", None, "absolute http"),
        ("http://www.sipac.gov.cn/a b.shtml", None, "absolute http"),
        ("http://www.sipac.gov.cn/a.shtml", "nowhere", "valid sites: sipac, "),
    ],
)
def test_a_url_or_site_a_record_cannot_carry_is_a_value_error(
    url: str, site: str | None, message: str
) -> None:
    with pytest.raises(ValueError, match=re.escape(message)):
        extract_record(b"<html></html>", url, site=site)


def strip_charset_declaration(page: bytes) -> bytes:
    return re.sub(rb"<meta[^>]*charset[^>]*>", b"", page, flags=re.IGNORECASE)


@pytest.mark.parametrize(
    "content_type", [None, "text/html; charset=gbk", "text/html; charset=iso-8859-1"]
)
def test_content_type_decodes_as_the_crawl_path_does(content_type: str | None) -> None:
    expected = golden("dedecms-gb2312")
    page = strip_charset_declaration(page_file(expected).read_bytes())
    record = extract_record(page, expected["url"], content_type=content_type)
    processed = PageProcessor(packaged_settings()).record(
        page, expected["url"], content_type=content_type
    )
    assert without_clock(record) == without_clock(processed)
    if content_type == "text/html; charset=gbk":
        assert golden_differences(record, expected) == []


def test_a_record_does_not_depend_on_the_pages_extracted_before() -> None:
    first, second = golden("sipac"), golden("wordpress-archives")
    pages = {g["url"]: page_file(g).read_bytes() for g in (first, second)}
    alone = PageProcessor(packaged_settings()).record(pages[first["url"]], first["url"])
    before = extract_record(pages[first["url"]], first["url"])
    extract_record(pages[second["url"]], second["url"])
    after = extract_record(pages[first["url"]], first["url"])
    assert without_clock(before) == without_clock(after) == without_clock(alone)


def run_python(code: str, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-c", code],
        cwd=REPO,
        env=env,
        capture_output=True,
        encoding="utf-8",
        timeout=60,
    )


def test_extract_record_uses_the_parknews_settings_whatever_the_caller_configured(
    tmp_path: Path,
) -> None:
    """Code that calls it may be a Scrapy project of its own, with its own settings module."""
    expected = golden("sipac")
    code = (
        "import os, sys\n"
        "from crawler import extract_record\n"
        f"record = extract_record(open({str(page_file(expected))!r}, 'rb').read(),"
        f" {expected['url']!r})\n"
        "print(record['title'])\n"
        "print(os.environ.get('SCRAPY_SETTINGS_MODULE'))\n"
    )
    env = {k: v for k, v in os.environ.items() if not k.startswith("SCRAPY_")}
    done = run_python(code, env)
    assert done.returncode == 0, done.stderr
    assert done.stdout.splitlines() == [expected["title"], "None"]
    done = run_python(code, {**env, "SCRAPY_SETTINGS_MODULE": "callers_project.settings"})
    assert done.returncode == 0, done.stderr
    assert done.stdout.splitlines() == [expected["title"], "callers_project.settings"]


@pytest.mark.parametrize(
    "first", ["pipelines", "pipelines.normalise", "pipelines.output", "crawler.items"]
)
def test_the_package_imports_whichever_module_is_imported_first(first: str) -> None:
    done = run_python(f"import {first}\nfrom crawler import extract_record", dict(os.environ))
    assert done.returncode == 0, done.stderr


def test_the_package_stays_above_every_layer() -> None:
    """No module imports the package `crawler` itself, and what the package imports never
    imports `pipelines`: a pipeline module imported first runs the package before it has
    finished itself, so the package must not need it."""
    graph = grimp.build_graph("crawler", "pipelines", cache_dir=None)
    assert graph.find_modules_that_directly_import("crawler") == set()
    needed = graph.find_upstream_modules("crawler")
    assert sorted(m for m in needed if m.split(".")[0] == "pipelines") == []
