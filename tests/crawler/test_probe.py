"""`parknews probe`: what a crawl would do with one list page, saved or fetched now."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from urllib.parse import parse_qsl, urlsplit

from crawler.sites import SITES, read_sites_file
from tests.sitesrv import SITES_DIR, crawl_env, serve

REPO = Path(__file__).resolve().parents[2]
VSB_LIST = SITES_DIR / "www.wehdz.gov.cn" / "xwzx" / "ggyw.htm"
VSB_URL = "http://www.wehdz.gov.cn/xwzx/ggyw.htm"


def probe(*arguments: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "crawler.cli", "probe", *arguments],
        cwd=REPO,
        capture_output=True,
        encoding="utf-8",
        timeout=60,
        env=env or dict(os.environ),
    )


def test_a_saved_vsb_list_page_gives_its_articles_dates_and_next_page() -> None:
    done = probe(str(VSB_LIST), "--url", VSB_URL, "--json")
    assert done.returncode == 0, done.stderr
    found = json.loads(done.stdout)
    assert found["family"] == "vsb"
    assert [(a["url"].rsplit("/info/", 1)[1], a["date"]) for a in found["articles"]] == [
        ("1021/10191.htm", "2024-11-12"),
        ("1021/10182.htm", "2024-11-05"),
        ("1021/10156.htm", "2024-10-15"),
        ("1021/10124.htm", "2024-09-05"),
        ("1021/10101.htm", "2024-08-14"),
    ]
    assert found["next"] == [
        {"url": "http://www.wehdz.gov.cn/xwzx/ggyw/2.htm", "method": "GET", "body": None}
    ]


def test_the_text_form_ends_with_a_site_entry_a_sites_file_takes(tmp_path: Path) -> None:
    done = probe(str(VSB_LIST), "--url", VSB_URL)
    assert done.returncode == 0, done.stderr
    assert done.stdout.startswith("family: vsb")
    entry = done.stdout.split("site entry:\n", 1)[1].replace('key = "wehdz"', 'key = "ljgx"')
    sites_file = tmp_path / "sites.toml"
    sites_file.write_text(entry, "utf-8")
    (site,) = read_sites_file(sites_file, SITES)
    assert site.family == "vsb"
    assert site.name == "武汉东湖新技术开发区"
    assert [(s.name, s.url) for s in site.sections] == [("光谷要闻", VSB_URL)]
    assert site.allowed_domains == ("www.wehdz.gov.cn",)


def test_a_live_hanweb_column_is_fetched_and_its_dataproxy_post_shown() -> None:
    with serve() as proxy:
        done = probe(
            "http://www.hhtz.gov.cn/col/col1487001/index.html", "--json", env=crawl_env(proxy)
        )
    assert done.returncode == 0, done.stderr
    found = json.loads(done.stdout)
    assert found["family"] == "hanweb"
    assert len(found["articles"]) == 5
    (following,) = found["next"]
    assert following["method"] == "POST"
    assert dict(parse_qsl(urlsplit(following["url"]).query)) == {
        "startrecord": "6",
        "endrecord": "10",
        "perpage": "5",
    }
    assert dict(parse_qsl(following["body"]))["columnid"] == "1487001"


def test_a_page_that_is_not_there_is_one_line_and_status_1() -> None:
    with serve() as proxy:
        done = probe("http://www.hhtz.gov.cn/col/col9999999/index.html", env=crawl_env(proxy))
    assert done.returncode == 1
    assert done.stderr.strip().splitlines() == [
        "parknews probe: http://www.hhtz.gov.cn/col/col9999999/index.html answered HTTP 404"
        " Not Found"
    ]


def test_bad_arguments_are_one_line_and_status_2() -> None:
    done = probe(str(VSB_LIST))
    assert done.returncode == 2
    assert "give the URL it came from with --url" in done.stderr
    assert len(done.stderr.strip().splitlines()) == 1
    missing = probe("nowhere.htm", "--url", VSB_URL)
    assert missing.returncode == 1
    assert missing.stderr.startswith("parknews probe: nowhere.htm: cannot read it")
