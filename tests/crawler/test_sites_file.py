"""Sites files: the shipped parks as data, a user's own file added to them, and every bad
entry refused in one line naming the file, the line and what is wrong."""

from __future__ import annotations

import dataclasses
from pathlib import Path

import pytest

from crawler.cms import hanweb, trs, vsb
from crawler.sites import (
    SHIPPED_SITES_FILE,
    SITES,
    Section,
    Selectors,
    SiteProfile,
    SitesFileError,
    load_sites,
    read_sites_file,
)

# The profiles as crawler/sites.py declared them in Python before they moved to
# crawler/data/sites.toml: the file must give exactly these.
FORMER_PROFILES = {
    "sipac": SiteProfile(
        key="sipac",
        name="苏州工业园区管理委员会",
        allowed_domains=("www.sipac.gov.cn",),
        sections=(
            Section("园区要闻", "http://www.sipac.gov.cn/szgyyq/yqyw/index.shtml"),
            Section("图说园区", "http://www.sipac.gov.cn/szgyyq/tsyq/index.shtml"),
        ),
        family="trs",
        article_url_patterns=trs.SHAPES.article_paths,
        selectors=Selectors(body="div.TRS_Editor"),
    ),
    "binjiang": SiteProfile(
        key="binjiang",
        name="杭州高新区(滨江)",
        allowed_domains=("www.hhtz.gov.cn",),
        sections=(
            Section("高新动态", "http://www.hhtz.gov.cn/col/col1487001/index.html"),
            Section("部门动态", "http://www.hhtz.gov.cn/col/col1487002/index.html"),
        ),
        family="hanweb",
        article_url_patterns=hanweb.SHAPES.article_paths,
        selectors=Selectors(body="#zoom"),
    ),
    "donghu": SiteProfile(
        key="donghu",
        name="武汉东湖新技术开发区",
        allowed_domains=("www.wehdz.gov.cn",),
        sections=(
            Section("光谷要闻", "http://www.wehdz.gov.cn/xwzx/ggyw.htm"),
            Section("园区动态", "http://www.wehdz.gov.cn/xwzx/yqdt.htm"),
        ),
        family="vsb",
        article_url_patterns=vsb.SHAPES.article_paths,
        selectors=Selectors(body=".v_news_content"),
        encoding_hint="gb18030",
    ),
    "binjiang_mirror": SiteProfile(
        key="binjiang_mirror",
        name="科技園區新聞網 (杭州高新区(滨江)转载镜像)",
        allowed_domains=("www.twgxnews.com",),
        sections=(Section("", "http://www.twgxnews.com/news/list_1.html"),),
        family="generic",
        article_url_patterns=(r"/news/\d{4}/\d{4}/\d+\.html$",),
        selectors=Selectors(body=".news-content", title="h1.news-title"),
        mirror_of="binjiang",
    ),
}


def test_the_shipped_file_holds_the_former_profiles_in_order() -> None:
    assert list(SITES) == list(FORMER_PROFILES)


@pytest.mark.parametrize("key", list(FORMER_PROFILES))
@pytest.mark.parametrize("field", [f.name for f in dataclasses.fields(SiteProfile)])
def test_each_shipped_profile_field_is_the_former_value(key: str, field: str) -> None:
    assert getattr(SITES[key], field) == getattr(FORMER_PROFILES[key], field)


def test_the_shipped_file_is_package_data() -> None:
    pyproject = (Path(__file__).resolve().parents[2] / "pyproject.toml").read_text("utf-8")
    relative = SHIPPED_SITES_FILE.relative_to(SHIPPED_SITES_FILE.parents[1])
    assert relative.as_posix() == "data/sites.toml"
    assert '"data/*.toml"' in pyproject


def write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "parks.toml"
    path.write_text(text, encoding="utf-8")
    return path


MINIMAL = """\
[[site]]
key = "xdz"
name = "某某经济开发区"
sections = [{ name = "园区新闻", url = "http://www.xdz.gov.cn/xwzx/index.html" }]
"""


def test_a_minimal_entry_takes_the_defaults(tmp_path: Path) -> None:
    (profile,) = read_sites_file(write(tmp_path, MINIMAL))
    assert profile.allowed_domains == ("www.xdz.gov.cn",)
    assert profile.family is None
    assert profile.article_url_patterns == ()  # its list pages show which links are articles
    assert profile.selectors == Selectors()
    assert profile.encoding_hint is None
    assert profile.mirror_of is None


def test_every_optional_field_and_the_table_form_of_sections(tmp_path: Path) -> None:
    text = """\
[[site]]
key = "xdz"
name = "某某经济开发区"
family = "trs"
domains = ["xdz.gov.cn"]
encoding = "gb18030"
mirror_of = "sipac"
selectors = { title = "h1.title", published_at = ".date", body = "#content" }

[[site.sections]]
name = "园区新闻"
url = "http://www.xdz.gov.cn/xwzx/index.html"

[[site.sections]]
name = "通知公告"
url = "http://news.xdz.gov.cn/tzgg/index.html"
"""
    (profile,) = read_sites_file(write(tmp_path, text), SITES)
    assert profile.allowed_domains == ("xdz.gov.cn",)
    assert profile.article_url_patterns == trs.SHAPES.article_paths
    assert profile.selectors == Selectors("h1.title", ".date", "#content")
    assert [s.name for s in profile.sections] == ["园区新闻", "通知公告"]
    assert (profile.encoding_hint, profile.mirror_of) == ("gb18030", "sipac")


def test_a_user_file_adds_its_parks_to_the_shipped_ones(tmp_path: Path) -> None:
    sites = load_sites(write(tmp_path, MINIMAL))
    assert list(sites) == [*SITES, "xdz"]
    assert sites.select(["xdz"])[0].name == "某某经济开发区"
    assert load_sites(None) is SITES


SITE_HEAD = 'key = "xdz"\nname = "某某经济开发区"\n'
SECTION = 'sections = [{ name = "园区新闻", url = "http://www.xdz.gov.cn/xwzx/index.html" }]\n'

# case: (sites file text, line the message names, what it says)
BAD_FILES = {
    "TOML syntax": (
        f"[[site]]\n{SITE_HEAD}sections = [{{ name = 1 url = 2 }}]\n",
        4,
        "not valid TOML: ",
    ),
    "unclosed array": (f"[[site]]\n{SITE_HEAD}sections = [\n", 4, "at the end of the file"),
    "unknown field": (
        f"# parks\n[[site]]\n{SITE_HEAD}{SECTION}timezone = '+08:00'\n",
        6,
        "site 'xdz': unknown field 'timezone'; fields: key, name, sections,",
    ),
    "unknown section field": (
        f'[[site]]\n{SITE_HEAD}sections = [{{ url = "http://www.xdz.gov.cn/", title = "x" }}]\n',
        4,
        "site 'xdz': section: unknown field 'title'; fields: name, url",
    ),
    "wrong type": (
        f"[[site]]\n{SITE_HEAD}{SECTION}domains = 'www.xdz.gov.cn'\n",
        5,
        "site 'xdz': domains must be an array of strings",
    ),
    "wrong type of a string": (
        f'[[site]]\nkey = "xdz"\nname = 12\n{SECTION}',
        3,
        "site 'xdz': name must be a string, not a number",
    ),
    "missing field": (f"[[site]]\n{SITE_HEAD}", 1, "site 'xdz': sections is missing"),
    "bad key": (
        f'[[site]]\nname = "x"\nkey = "Xdz-1"\n{SECTION}',
        3,
        "site 'Xdz-1': key must be lower-case letters, digits and _",
    ),
    "section outside the domains": (
        f"[[site]]\n{SITE_HEAD}domains = ['www.xdz.gov.cn']\nsections = [\n"
        '  { name = "a", url = "http://www.xdz.gov.cn/a/" },\n'
        '  { name = "b", url = "http://elsewhere.cn/b/" },\n]\n',
        7,
        "site 'xdz': section URL http://elsewhere.cn/b/ is outside the site's domains "
        "(www.xdz.gov.cn)",
    ),
    "section URL not http": (
        f'[[site]]\n{SITE_HEAD}sections = [{{ url = "www.xdz.gov.cn/news" }}]\n',
        4,
        "site 'xdz': section URL 'www.xdz.gov.cn/news' must be an http(s) URL",
    ),
    "bad regex": (
        f"[[site]]\n{SITE_HEAD}{SECTION}article_urls = [\n  '/a/\\d+\\.html$',\n"
        "  '/b/(\\d+\\.html$',\n]\n",
        7,
        "site 'xdz': bad article pattern '/b/(\\\\d+\\\\.html$': missing ), unterminated",
    ),
    "no article URLs": (
        f"[[site]]\n{SITE_HEAD}{SECTION}article_urls = []\n",
        5,
        "site 'xdz': article_urls is empty; leave it out and the list pages show which links"
        " are articles",
    ),
    "no domains": (
        f"[[site]]\n{SITE_HEAD}domains = []\n{SECTION}",
        4,
        "site 'xdz': no domains to crawl",
    ),
    "no sections": (f"[[site]]\n{SITE_HEAD}sections = []\n", 4, "site 'xdz': no sections"),
    "unknown family": (
        f"[[site]]\n{SITE_HEAD}{SECTION}family = 'wordpress'\n",
        5,
        "site 'xdz': unknown family 'wordpress'; families: hanweb, trs, vsb, generic",
    ),
    "unknown encoding": (
        f"[[site]]\n{SITE_HEAD}encoding = 'gb-whatever'\n{SECTION}",
        4,
        "site 'xdz': unknown encoding 'gb-whatever'",
    ),
    "bad selector": (
        f"[[site]]\n{SITE_HEAD}{SECTION}[site.selectors]\nbody = 'div[class='\n",
        6,
        "site 'xdz': selectors.body 'div[class=' is not a CSS selector",
    ),
    "unknown mirror_of": (
        f"[[site]]\n{SITE_HEAD}{SECTION}mirror_of = 'nowhere'\n",
        5,
        "site 'xdz': mirror_of names no site: 'nowhere'",
    ),
    "duplicate key": (
        f"[[site]]\n{SITE_HEAD}{SECTION}\n[[site]]\n{SITE_HEAD}{SECTION}",
        7,
        "site key 'xdz' is taken by the site at line 1",
    ),
    "a shipped key": (
        f'[[site]]\nkey = "sipac"\nname = "x"\n{SECTION}',
        2,
        "site key 'sipac' is a site parknews ships; choose another key",
    ),
    "the generic key": (
        f'[[site]]\nkey = "generic"\nname = "x"\n{SECTION}',
        2,
        "site key 'generic' is reserved for start_url=",
    ),
    "same section name twice": (
        f"[[site]]\n{SITE_HEAD}\n[[site.sections]]\nname = 'a'\nurl = 'http://www.xdz.gov.cn/1/'\n"
        "[[site.sections]]\nname = 'a'\nurl = 'http://www.xdz.gov.cn/2/'\n",
        10,
        "site 'xdz': two sections have the same name 'a'",
    ),
    "a line break in a value": (
        f"[[site]]\n{SITE_HEAD}sections = [{{ url = 'http://www.xdz.gov.cn/a/' }}]\n"
        'domains = ["www.xdz.gov.cn\\n"]\n',
        4,
        "site 'xdz': section URL http://www.xdz.gov.cn/a/ is outside the site's domains",
    ),
    "a table, not an array of tables": (
        f"[site]\n{SITE_HEAD}{SECTION}",
        1,
        "write each site as a [[site]] table, not [site]",
    ),
    "unknown top-level key": (
        f"parks = 1\n[[site]]\n{SITE_HEAD}{SECTION}",
        1,
        "unknown 'parks': a sites file holds [[site]] tables",
    ),
}


@pytest.mark.parametrize("case", list(BAD_FILES))
def test_a_bad_entry_is_one_line_naming_file_line_and_problem(tmp_path: Path, case: str) -> None:
    text, line, problem = BAD_FILES[case]
    path = write(tmp_path, text)
    with pytest.raises(SitesFileError) as raised:
        load_sites(path)
    message = str(raised.value)
    assert "\n" not in message
    assert message.startswith(f"{path}:{line}: "), message
    assert problem in message
    assert raised.value.line == line


def test_a_file_that_cannot_be_read_is_named(tmp_path: Path) -> None:
    with pytest.raises(SitesFileError, match=r"missing\.toml: cannot read the sites file: No "):
        load_sites(tmp_path / "missing.toml")
    path = tmp_path / "latin.toml"
    path.write_bytes(b'[[site]]\nkey = "x"\nname = "caf\xe9"\n')
    with pytest.raises(SitesFileError, match=r"latin\.toml:3: a sites file must be UTF-8 text"):
        load_sites(path)
