"""`parknews extract` on saved pages: a JSON line on stdout for each record, one line on stderr
for each page refused."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from crawler import settings as crawl_settings
from crawler.offline import PageTooLarge, read_saved_page, saved_page_limit
from tests.conftest import (
    GENERIC_DIR,
    assert_valid_record,
    golden_differences,
    golden_records,
    page_file,
)
from tests.sitesrv import SITES_DIR

REPO = Path(__file__).resolve().parents[2]


def parknews(*arguments: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "crawler.cli", *arguments],
        cwd=REPO,
        capture_output=True,
        encoding="utf-8",
        timeout=60,
    )


@pytest.mark.parametrize("site", ["sipac", "binjiang", "donghu"])
def test_extract_prints_the_golden_record(site: str) -> None:
    expected = next(g for g in golden_records().values() if g["site"] == site)
    done = parknews("extract", str(page_file(expected)), "--url", expected["url"])
    assert done.returncode == 0, done.stderr
    assert len(done.stdout.splitlines()) == 1
    record = json.loads(done.stdout)
    assert_valid_record(record)
    assert golden_differences(record, expected) == []


def site_golden(site: str) -> dict[str, Any]:
    return next(g for g in golden_records().values() if g["site"] == site)


def generic_golden(case: str) -> dict[str, Any]:
    return next(g for g in golden_records(GENERIC_DIR).values() if Path(g["_page"]).name == case)


def pages_naming_their_url() -> list[dict[str, Any]]:
    """Golden pages that give their own URL: the `Url` meta (the two TRS-family fixture sites
    and a 集约化平台 page) or rel=canonical and og:url (a WordPress page)."""
    return [
        site_golden("sipac"),
        site_golden("binjiang"),
        generic_golden("jyh-article-content"),
        generic_golden("wordpress-archives"),
    ]


def test_extract_several_pages_prints_one_json_line_each(tmp_path: Path) -> None:
    expected = pages_naming_their_url()
    done = parknews("extract", *(str(page_file(e)) for e in expected))
    assert done.returncode == 0, done.stderr
    assert done.stderr == ""
    lines = done.stdout.splitlines()
    assert len(lines) == len(expected)
    for line, want in zip(lines, expected, strict=True):
        record = json.loads(line)
        assert line == json.dumps(record, ensure_ascii=False)
        assert_valid_record(record)
        assert golden_differences(record, want) == []
    output = tmp_path / "records.jsonl"
    output.write_text(done.stdout, "utf-8")
    assert parknews("validate", str(output)).returncode == 0


def test_extract_one_page_without_url_takes_the_url_it_gives() -> None:
    expected = generic_golden("trs-like-custom-classes")
    done = parknews("extract", str(page_file(expected)))
    assert done.returncode == 0, done.stderr
    assert golden_differences(json.loads(done.stdout), expected) == []


def list_page_naming_its_url(tmp_path: Path) -> Path:
    """A list page (no article) that gives its URL with rel=canonical."""
    page = SITES_DIR / "www.sipac.gov.cn/szgyyq/yqyw/index.shtml"
    link = b'<head><link rel="canonical" href="http://www.sipac.gov.cn/szgyyq/yqyw/index.shtml">'
    path = tmp_path / "index.shtml"
    path.write_bytes(page.read_bytes().replace(b"<head>", link, 1))
    return path


def test_extract_several_pages_refuses_each_bad_one_in_a_line(tmp_path: Path) -> None:
    good = pages_naming_their_url()[:2]
    no_url = site_golden("donghu")
    no_article = list_page_naming_its_url(tmp_path)
    missing = tmp_path / "missing.html"
    pages = [page_file(good[0]), page_file(no_url), no_article, missing, page_file(good[1])]
    done = parknews("extract", *map(str, pages))
    assert done.returncode == 1
    records = [json.loads(line) for line in done.stdout.splitlines()]
    file_url = page_file(no_url).resolve().as_uri()
    assert [r["url"] for r in records] == [good[0]["url"], file_url, good[1]["url"]]
    refused = done.stderr.splitlines()
    assert len(refused) == 2
    assert refused[0].startswith(f"parknews extract: {no_article} is not an article page: ")
    assert refused[1].startswith(f"parknews extract: cannot read {missing}: ")


def test_a_page_giving_no_url_of_its_own_is_read_at_its_file_url(tmp_path: Path) -> None:
    expected = site_golden("donghu")
    done = parknews("extract", str(page_file(expected)))
    assert done.returncode == 0, done.stderr
    record = json.loads(done.stdout)
    file_url = page_file(expected).resolve().as_uri()
    assert (record["url"], record["canonical_url"]) == (file_url, file_url)
    assert record["site"] == "generic"
    assert record["title"] == expected["title"]
    assert record["body"] == expected["body"]
    assert_valid_record(record)
    output = tmp_path / "records.jsonl"
    output.write_text(done.stdout, "utf-8")
    assert parknews("validate", str(output)).returncode == 0


def test_extract_applies_the_site_to_every_page() -> None:
    pages = [str(page_file(g)) for g in pages_naming_their_url()[:2]]
    done = parknews("extract", *pages, "--site", "generic")
    assert done.returncode == 0, done.stderr
    assert [json.loads(line)["site"] for line in done.stdout.splitlines()] == ["generic"] * 2


def test_extract_refuses_a_list_page_in_one_line() -> None:
    list_page = SITES_DIR / "www.sipac.gov.cn/szgyyq/yqyw/index.shtml"
    done = parknews(
        "extract", str(list_page), "--url", "http://www.sipac.gov.cn/szgyyq/yqyw/index.shtml"
    )
    assert done.returncode == 1
    assert done.stdout == ""
    assert len(done.stderr.strip().splitlines()) == 1
    assert "is not an article page" in done.stderr


@pytest.mark.parametrize(
    ("content", "message"),
    [
        (b"\x89PNG\r\n\x1a\n" + bytes(range(256)) * 4, "is not an article page"),
        (b"", "is not an article page"),
    ],
)
def test_extract_refuses_files_that_are_not_pages(
    content: bytes, message: str, tmp_path: Path
) -> None:
    path = tmp_path / "saved.html"
    path.write_bytes(content)
    done = parknews("extract", str(path), "--url", "http://www.sipac.gov.cn/a/t20240101_1.shtml")
    assert done.returncode == 1
    assert message in done.stderr
    assert "Traceback" not in done.stderr


@pytest.mark.parametrize(
    ("arguments", "code", "message"),
    [
        (["extract", "/nonexistent.html", "--url", "http://www.sipac.gov.cn/"], 1, "cannot read"),
        (["extract", "x.html", "--url", "http://a.cn/", "--site", "nowhere"], 2, "valid sites"),
        (["extract", "x.html", "--url", "not a url"], 2, "http(s) URL"),
        (["extract", "x.html", "--url", "file:///srv/x.html"], 2, "http(s) URL"),
        (["extract", "a.html", "b.html", "--url", "http://a.cn/x"], 2, "URL of one page"),
        (["extract"], 2, "PAGE"),
    ],
)
def test_extract_argument_errors(arguments: list[str], code: int, message: str) -> None:
    done = parknews(*arguments)
    assert done.returncode == code
    assert message in done.stderr
    assert done.stdout == ""
    assert "Traceback" not in done.stderr


def parknews_within(memory: int, *arguments: str) -> subprocess.CompletedProcess[str]:
    """`parknews` in a process whose address space cannot grow past `memory` bytes."""
    launcher = (
        "import resource, runpy; "
        f"resource.setrlimit(resource.RLIMIT_AS, ({memory}, {memory})); "
        "runpy.run_module('crawler.cli', run_name='__main__', alter_sys=True)"
    )
    return subprocess.run(
        [sys.executable, "-c", launcher, *arguments],
        cwd=REPO,
        capture_output=True,
        encoding="utf-8",
        timeout=60,
    )


def test_extract_refuses_a_file_larger_than_a_crawl_downloads(tmp_path: Path) -> None:
    path = tmp_path / "saved.html"
    with path.open("wb") as sparse:
        sparse.truncate(saved_page_limit() + 1)
    done = parknews("extract", str(path), "--url", "http://www.sipac.gov.cn/a/t20240101_1.shtml")
    assert done.returncode == 1
    assert done.stdout == ""
    assert done.stderr.splitlines() == [
        f"parknews extract: {path} is refused: it holds {saved_page_limit() + 1:,} bytes, more"
        f" than a crawl downloads (DOWNLOAD_MAXSIZE: {saved_page_limit():,} bytes)"
    ]


def test_extract_caps_each_of_several_pages(tmp_path: Path) -> None:
    large = tmp_path / "large.html"
    with large.open("wb") as sparse:
        sparse.truncate(saved_page_limit() + 1)
    expected = pages_naming_their_url()[0]
    done = parknews("extract", str(large), str(page_file(expected)))
    assert done.returncode == 1
    assert [json.loads(line)["url"] for line in done.stdout.splitlines()] == [expected["url"]]
    assert done.stderr.splitlines() == [
        f"parknews extract: {large} is refused: it holds {saved_page_limit() + 1:,} bytes, more"
        f" than a crawl downloads (DOWNLOAD_MAXSIZE: {saved_page_limit():,} bytes)"
    ]


@pytest.mark.skipif(not Path("/dev/zero").is_char_device(), reason="needs /dev/zero")
def test_extract_reads_a_stream_with_no_end_only_up_to_the_limit() -> None:
    done = parknews_within(
        2**30, "extract", "/dev/zero", "--url", "http://www.sipac.gov.cn/a/t20240101_1.shtml"
    )
    assert done.returncode == 1
    assert done.stderr.splitlines() == [
        "parknews extract: /dev/zero is refused: it holds more than a crawl downloads"
        f" (DOWNLOAD_MAXSIZE: {saved_page_limit():,} bytes)"
    ]


def test_the_saved_page_limit_is_the_crawl_download_limit() -> None:
    assert saved_page_limit() == crawl_settings.DOWNLOAD_MAXSIZE


@pytest.mark.parametrize(
    ("size", "limit", "refused"),
    [
        pytest.param(0, 10, False, id="empty"),
        pytest.param(10, 10, False, id="at-the-limit"),
        pytest.param(11, 10, True, id="a-byte-over"),
        pytest.param(11, 0, False, id="no-limit"),
    ],
)
def test_read_saved_page_stops_at_the_limit(
    size: int, limit: int, refused: bool, tmp_path: Path
) -> None:
    path = tmp_path / "saved.html"
    path.write_bytes(b"x" * size)
    if refused:
        with pytest.raises(PageTooLarge, match=f"it holds {size} bytes"):
            read_saved_page(path, limit)
    else:
        assert read_saved_page(path, limit) == b"x" * size


@pytest.mark.parametrize(
    ("content", "code", "summary"),
    [
        pytest.param(None, 2, "some paths could not be read", id="missing"),
        pytest.param(b"", 1, "1 empty file", id="empty"),
        pytest.param(b"{}\n", 1, "1 bad line", id="bad-line"),
    ],
)
def test_validate_exit_status(
    content: bytes | None, code: int, summary: str, tmp_path: Path
) -> None:
    path = tmp_path / "run-001.jsonl"
    if content is not None:
        path.write_bytes(content)
    done = parknews("validate", str(path))
    assert done.returncode == code
    assert done.stdout.splitlines()[-1].endswith(summary)


def test_validate_names_the_bad_lines(tmp_path: Path) -> None:
    expected = next(iter(golden_records().values()))
    good = parknews("extract", str(page_file(expected)), "--url", expected["url"]).stdout
    record = json.loads(good)
    path = tmp_path / "run-001.jsonl"
    lines = [json.dumps(record, ensure_ascii=False), '{"id": "x"}', json.dumps(record)[:40]]
    path.write_text("\n".join(lines), "utf-8")
    done = parknews("validate", str(tmp_path))
    assert done.returncode == 1
    assert f"{path}:2:" in done.stdout
    assert f"{path}:3:" in done.stdout
    assert f"{path}:1:" not in done.stdout
    path.write_text(lines[0] + "\n", "utf-8")
    assert parknews("validate", str(path)).returncode == 0
