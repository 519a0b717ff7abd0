"""A user's own sites file, named by the setting or the environment variable
PARKNEWS_SITES_FILE: its parks can be crawled and extracted, and a bad one stops the crawl at
once with one line naming the file and the line."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from scrapy.settings import BaseSettings

from crawler.arguments import ArgumentError, parse_arguments
from crawler.default_settings import parknews_settings
from crawler.sites import SITES, load_sites
from tests.conftest import golden_records, page_file, run_crawl

REPO = Path(__file__).resolve().parents[2]
USER_PARK = """\
# A park of my own: the Suzhou park's picture news, under a key of its own.
[[site]]
key = "sipac_pictures"
name = "图说园区"
family = "trs"
sections = [{ name = "图说园区", url = "http://www.sipac.gov.cn/szgyyq/tsyq/index.shtml" }]
"""
BAD_PARK = """\
[[site]]
key = "xdz"
name = "某某经济开发区"
sections = [{ name = "园区新闻", url = "http://www.xdz.gov.cn/xwzx/index.html" }]
family = "wordpress"
"""


def sites_file(tmp_path: Path, text: str, name: str = "parks.toml") -> Path:
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return path


def test_the_environment_variable_names_the_file_unless_a_setting_does(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("PARKNEWS_SITES_FILE", "/from/the/environment.toml")
    assert parknews_settings(BaseSettings()).get("PARKNEWS_SITES_FILE") == (
        "/from/the/environment.toml"
    )
    given = BaseSettings({"PARKNEWS_SITES_FILE": "/from/a/setting.toml"}, priority="cmdline")
    assert parknews_settings(given).get("PARKNEWS_SITES_FILE") == "/from/a/setting.toml"
    monkeypatch.delenv("PARKNEWS_SITES_FILE")
    assert parknews_settings(BaseSettings()).get("PARKNEWS_SITES_FILE") == ""


def test_sites_selects_a_park_of_the_user_file(tmp_path: Path) -> None:
    sites = load_sites(str(sites_file(tmp_path, USER_PARK)))
    plan = parse_arguments({"sites": "sipac_pictures"}, sites)
    assert [p.key for p in plan.profiles] == ["sipac_pictures"]
    assert [p.key for p in parse_arguments({}, sites).profiles] == [*SITES, "sipac_pictures"]
    with pytest.raises(ArgumentError, match="unknown site 'sipac_pictures'"):
        parse_arguments({"sites": "sipac_pictures"}, SITES)


@pytest.mark.crawl
def test_a_crawl_takes_the_parks_of_the_user_file(
    fixture_proxy: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("PARKNEWS_SITES_FILE", str(sites_file(tmp_path, USER_PARK)))
    crawl = run_crawl(
        tmp_path / "out", "-a", "sites=sipac_pictures", "-a", "max_pages=1", proxy=fixture_proxy
    )
    assert crawl.returncode == 0, crawl.stderr[-2000:]
    assert crawl.records
    assert {r["site"] for r in crawl.records} == {"sipac_pictures"}
    assert all("/szgyyq/tsyq/" in r["url"] for r in crawl.records)


def one_line_refusal(stderr: str) -> str:
    lines = stderr.strip().splitlines()
    assert len(lines) == 1, stderr
    assert "Traceback" not in stderr
    return lines[0]


@pytest.mark.crawl
def test_a_bad_sites_file_stops_the_crawl_with_one_line(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = sites_file(tmp_path, BAD_PARK)
    monkeypatch.setenv("PARKNEWS_SITES_FILE", str(path))
    result = run_crawl(tmp_path / "out", timeout=60)
    assert result.returncode == 2
    assert one_line_refusal(result.stderr) == (
        f"parknews: error: {path}:5: site 'xdz': unknown family 'wordpress'; "
        "families: hanweb, trs, vsb, generic"
    )
    assert not (tmp_path / "out" / "state.sqlite3").exists()


@pytest.mark.crawl
def test_the_setting_wins_over_the_environment_variable(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("PARKNEWS_SITES_FILE", str(sites_file(tmp_path, USER_PARK)))
    missing = tmp_path / "missing.toml"
    result = run_crawl(tmp_path / "out", "-s", f"PARKNEWS_SITES_FILE={missing}", timeout=60)
    assert result.returncode == 2
    assert one_line_refusal(result.stderr) == (
        f"parknews: error: {missing}: cannot read the sites file: No such file or directory"
    )


def parknews_extract(env_file: Path, *arguments: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "crawler.cli", "extract", *arguments],
        cwd=REPO,
        env={**os.environ, "PARKNEWS_SITES_FILE": str(env_file)},
        capture_output=True,
        encoding="utf-8",
        timeout=60,
    )


def test_extract_knows_the_parks_of_the_user_file(tmp_path: Path) -> None:
    golden = next(g for g in golden_records().values() if "/szgyyq/tsyq/" in g["url"])
    page = str(page_file(golden))
    done = parknews_extract(sites_file(tmp_path, USER_PARK), page, "--site", "sipac_pictures")
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout)["site"] == "sipac_pictures"
    bad = parknews_extract(sites_file(tmp_path, BAD_PARK, "bad.toml"), page)
    assert bad.returncode == 2
    assert bad.stdout == ""
    assert one_line_refusal(bad.stderr).startswith(f"parknews extract: {tmp_path}/bad.toml:5: ")
