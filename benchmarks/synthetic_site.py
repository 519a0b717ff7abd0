"""A park news site of any size, generated on request and served on 127.0.0.1 for crawl benchmarks.

The site has one section, `/xwzx/`, whose list pages `index.shtml`, `index_1.shtml`, … show
`per_page` articles each, newest first, and link the next one with "下一页". Article pages sit
at `/xwzx/YYYYMM/tYYYYMMDD_<id>.shtml` and are laid out as the TRS article page of the sipac
fixture site, which is read once as a template; list pages follow the sipac list page. Titles,
sources, editors and sentences are drawn from the golden records of the fixture sites, so
every page is real park-news text, and everything is a function of the seed and the article's
index: the same site always serves the same bytes, and the site of N articles is the first N
articles of any larger one.

Every body is distinct: its lead paragraph is the article's date followed by corpus sentence
`index mod L` (L distinct leads), and no day has more than L articles. No two bodies are near
duplicates either: the other paragraphs are sentences of two to four clauses drawn at random,
without replacement, from the thousand-odd clauses of the corpus, so two articles share about
one clause in thirty. Whole sentences or paragraphs would not do: the corpus has a few hundred,
and among the billions of pairs of a 100k-article site many would share most of their text,
which near-duplicate detection rightly folds into one record.

Run one alone with `python -m benchmarks.synthetic_site --articles 1000 [--port N]`.
"""

from __future__ import annotations

import argparse
import hashlib
import html
import json
import random
import re
import threading
from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from email.utils import format_datetime, parsedate_to_datetime
from functools import cached_property
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from urllib.parse import urlsplit

from benchmarks import GOLDEN_SITES

TEMPLATE_HOST = GOLDEN_SITES / "www.sipac.gov.cn"
ARTICLE_TEMPLATE = TEMPLATE_HOST / "szgyyq" / "yqyw" / "202403" / "t20240322_1039862.shtml"
LIST_TEMPLATE = TEMPLATE_HOST / "szgyyq" / "yqyw" / "index_1.shtml"
SECTION = "/xwzx/"
NEWEST = datetime(2024, 12, 31, 17, 30)
"""Publication time (China Standard Time) of article 0; each later index is older."""
SPACING = timedelta(minutes=36)
"""Time between consecutive articles: 40 a day."""
CHINA = timezone(timedelta(hours=8))
FIRST_ID = 2_000_000
"""Document id of article 0; article i has id FIRST_ID - i, as TRS ids grow with time."""
MAX_ARTICLES = 1_000_000
MIN_PARAGRAPH = 15
"""Shorter lines of golden bodies (captions, sign-offs) are not used."""
MIN_SENTENCE = 8
MAX_CLAUSE = 60
"""Longer clauses would weigh too much in the similarity of two articles sharing one."""
EXTRA_PARAGRAPHS = (3, 6)
"""How many paragraphs follow the lead, inclusive range."""
SENTENCES_PER_PARAGRAPH = (1, 3)
CLAUSES_PER_SENTENCE = (2, 4)
SENTENCE_STOPS = "。！？；!?"
CLAUSE_BREAK = re.compile(r"[，,；;]")
SENTENCE = re.compile(f"[^{SENTENCE_STOPS}]*[{SENTENCE_STOPS}]+[”’」』）)]*|[^{SENTENCE_STOPS}]+$")
"""A sentence with its final punctuation and any closing quotes or brackets after it."""
ROBOTS = b"User-agent: *\nDisallow: /search/\nDisallow: /cms/\n"
LEADING_DATE = re.compile(r"^(?:\d{4}年)?\d{1,2}月\d{1,2}日(?:[上下]午)?[，,、]?")
ARTICLE_PATH = re.compile(r"^/xwzx/(\d{6})/t(\d{8})_(\d+)\.shtml$")
LIST_PATH = re.compile(r"^/xwzx/(?:index(?:_(\d+))?\.shtml)?$")


class TemplateError(RuntimeError):
    """The fixture page used as a template no longer has the shape this module expects."""


def split_sentences(paragraph: str) -> list[str]:
    """The sentences of a paragraph, each with its punctuation (a full stop added to a last
    sentence that has none)."""
    parts = [part.strip() for part in SENTENCE.findall(paragraph) if part.strip()]
    return [part if any(c in SENTENCE_STOPS for c in part[-3:]) else part + "。" for part in parts]


@dataclass(frozen=True)
class Corpus:
    """Texts drawn from the golden records of the fixture sites, sorted and distinct."""

    sentences: tuple[str, ...]
    leads: tuple[str, ...]
    clauses: tuple[str, ...]
    titles: tuple[str, ...]
    sources: tuple[str, ...]
    editors: tuple[str, ...]

    @classmethod
    def load(cls, root: Path = GOLDEN_SITES) -> Corpus:
        paragraphs: set[str] = set()
        titles: set[str] = set()
        sources: set[str] = set()
        editors: set[str] = set()
        for path in root.rglob("*.expected.json"):
            record = json.loads(path.read_text("utf-8"))
            for line in (record.get("body") or "").split("\n"):
                # Tab-separated lines are table rows, which a <p> would not keep as such.
                if len(line.strip()) >= MIN_PARAGRAPH and "\t" not in line:
                    paragraphs.add(line.strip())
            for values, name in ((titles, "title"), (sources, "source"), (editors, "editor")):
                if record.get(name):
                    values.add(record[name])
        sentences = {
            text
            for paragraph in paragraphs
            for text in split_sentences(paragraph)
            if len(text) >= MIN_SENTENCE
        }
        leads = {LEADING_DATE.sub("", text) for text in sentences}
        clauses = {
            clause.strip()
            for text in sentences
            for clause in CLAUSE_BREAK.split(text.rstrip(SENTENCE_STOPS))
            if 2 <= len(clause.strip()) <= MAX_CLAUSE
        }
        if not sentences or not titles or not sources or not editors:
            raise TemplateError(f"no golden records with bodies, titles and bylines in {root}")
        return cls(
            sentences=tuple(sorted(sentences)),
            clauses=tuple(sorted(clauses)),
            leads=tuple(sorted(lead for lead in leads if len(lead) >= MIN_PARAGRAPH)),
            titles=tuple(sorted(titles)),
            sources=tuple(sorted(sources)),
            editors=tuple(sorted(editors)),
        )


@dataclass(frozen=True)
class Article:
    """One generated article: what its page says."""

    index: int
    doc_id: int
    published: datetime
    title: str
    source: str
    editor: str
    paragraphs: tuple[str, ...]

    @property
    def path(self) -> str:
        return f"{SECTION}{self.published:%Y%m}/t{self.published:%Y%m%d}_{self.doc_id}.shtml"

    @property
    def body(self) -> str:
        """The body a record of this page should carry: its paragraphs joined by \\n."""
        return "\n".join(self.paragraphs)


@dataclass(frozen=True)
class Page:
    """An answer of the site: status, content type, body and validators."""

    status: int
    content_type: str
    body: bytes
    kind: str
    etag: str | None = None
    last_modified: datetime | None = None


def _placeholders(text: str, replacements: list[tuple[str, str]], where: Path) -> str:
    """`text` as a str.format template: each (pattern, name) regex replaced by `{name}`."""
    marked = text
    for pattern, name in replacements:
        marked, found = re.subn(pattern, f"\x00{name}\x00", marked, flags=re.S)
        if not found:
            raise TemplateError(f"{where}: nothing matches {pattern!r} for the {{{name}}} field")
    escaped = marked.replace("{", "{{").replace("}", "}}")
    return re.sub("\x00(\\w+)\x00", r"{\1}", escaped)


def article_template(page: Path = ARTICLE_TEMPLATE) -> str:
    """The TRS article page as a str.format template, its article replaced by fields."""
    expected = json.loads(page.with_name(page.stem + ".expected.json").read_text("utf-8"))
    text = page.read_text("utf-8")
    stamp = expected["published_at"][:16].replace("T", " ")
    doc_id = re.search(r"_(\d+)\.s?html?$", page.name)
    if doc_id is None:
        raise TemplateError(f"{page}: its name holds no TRS document id")
    return _placeholders(
        text,
        [
            (r"(?<=</style>\n).*?(?=\n</div>)", "body"),
            (r'(?<=<meta name="Description" content=")[^"]*', "description"),
            (r'(?<=<meta name="Url" content=")[^"]*', "url"),
            (re.escape(expected["title"]), "title"),
            (re.escape(stamp), "stamp"),
            (re.escape(expected["source"]), "source"),
            (rf"(?<=docid=){doc_id[1]}\b", "doc_id"),
        ],
        page,
    ).replace("/szgyyq/yqyw/", SECTION)


def list_template(page: Path = LIST_TEMPLATE) -> str:
    """The TRS list page as a str.format template with {entries} and {pager} fields."""
    return _placeholders(
        page.read_text("utf-8"),
        [
            (r'(?<=<ul class="list">\n).*?(?=</ul>)', "entries"),
            (r'(?<=<div class="page">\n).*?(?=</div>)', "pager"),
        ],
        page,
    ).replace("/szgyyq/yqyw/", SECTION)


class SyntheticSite:
    """A TRS-style news section of `articles` pages, `per_page` to a list page, from `seed`."""

    def __init__(self, articles: int, *, seed: int = 0, per_page: int = 20) -> None:
        if not 1 <= articles <= MAX_ARTICLES:
            raise ValueError(f"articles must be between 1 and {MAX_ARTICLES}, got {articles}")
        if per_page < 1:
            raise ValueError(f"per_page must be at least 1, got {per_page}")
        self.articles = articles
        self.seed = seed
        self.per_page = per_page
        self.corpus = Corpus.load()
        if len(self.corpus.leads) < timedelta(days=1) / SPACING:
            raise TemplateError("fewer distinct lead sentences than articles a day")
        self._article_page = article_template()
        self._list_page = list_template()

    @cached_property
    def list_pages(self) -> int:
        return -(-self.articles // self.per_page)

    def article(self, index: int) -> Article:
        """Article `index` (0 is the newest); IndexError outside the site."""
        if not 0 <= index < self.articles:
            raise IndexError(f"no article {index} on a site of {self.articles}")
        corpus = self.corpus
        rng = random.Random(self.seed * 1_000_003 + index)
        published = NEWEST - index * SPACING
        lead = f"{published.year}年{published.month}月{published.day}日，"
        lead += corpus.leads[index % len(corpus.leads)]
        shape = [
            [
                rng.randint(*CLAUSES_PER_SENTENCE)
                for _ in range(rng.randint(*SENTENCES_PER_PARAGRAPH))
            ]
            for _ in range(rng.randint(*EXTRA_PARAGRAPHS))
        ]
        # Drawn without replacement for the whole article, so no paragraph repeats another.
        drawn = iter(rng.sample(corpus.clauses, sum(map(sum, shape))))
        extra = [
            "".join("，".join(next(drawn) for _ in range(size)) + "。" for size in sentences)
            for sentences in shape
        ]
        return Article(
            index=index,
            doc_id=FIRST_ID - index,
            published=published,
            title=rng.choice(corpus.titles),
            source=rng.choice(corpus.sources),
            editor=rng.choice(corpus.editors),
            paragraphs=(lead, *extra),
        )

    def index_of(self, path: str) -> int | None:
        """The index of the article served at `path`, or None."""
        match = ARTICLE_PATH.match(path)
        if match is None:
            return None
        index = FIRST_ID - int(match[3])
        if not 0 <= index < self.articles or self.article(index).path != path:
            return None
        return index

    def list_path(self, page: int) -> str:
        return f"{SECTION}index.shtml" if page == 0 else f"{SECTION}index_{page}.shtml"

    def article_html(self, article: Article, origin: str) -> str:
        paragraphs = "\n".join(
            f"<p>&nbsp;&nbsp;&nbsp;&nbsp;{html.escape(text, quote=False)}</p>"
            for text in article.paragraphs
        )
        day = article.published
        signature = (
            f'<p style="text-align:right">责任编辑：{html.escape(article.editor)}</p>\n'
            f'<p style="text-align:right">{day.year}年{day.month}月{day.day}日</p>'
        )
        return self._article_page.format(
            body=f"{paragraphs}\n{signature}",
            description=html.escape(article.paragraphs[0][:60]),
            url=html.escape(origin + article.path),
            title=html.escape(article.title, quote=False),
            stamp=f"{article.published:%Y-%m-%d %H:%M}",
            source=html.escape(article.source),
            doc_id=article.doc_id,
        )

    def list_html(self, page: int) -> str:
        first = page * self.per_page
        rows = []
        for index in range(first, min(first + self.per_page, self.articles)):
            article = self.article(index)
            title = html.escape(article.title)
            href = "." + article.path.removeprefix(SECTION.rstrip("/"))
            rows.append(
                f'<li><a href="{href}" target="_blank" title="{title}">{title}</a>'
                f'<span class="date">{article.published:%Y-%m-%d}</span></li>\n'
            )
        links = []
        if page > 0:
            links.append('<a href="index.shtml">首页</a>')
            previous = self.list_path(page - 1).removeprefix(SECTION)
            links.append(f'<a href="{previous}">上一页</a>')
        links.append(f"<span>{page + 1}/{self.list_pages}</span>")
        if page + 1 < self.list_pages:
            following = self.list_path(page + 1).removeprefix(SECTION)
            last = self.list_path(self.list_pages - 1).removeprefix(SECTION)
            links.append(f'<a href="{following}">下一页</a>')
            links.append(f'<a href="{last}">尾页</a>')
        return self._list_page.format(entries="".join(rows), pager=" ".join(links) + "\n")

    def answer(self, path: str, origin: str) -> Page:
        """What the site serves at `path` (query string excluded) for a page at `origin`."""
        if path == "/robots.txt":
            return Page(200, "text/plain", ROBOTS, "robots")
        listed = LIST_PATH.match(path)
        if listed is not None:
            page = int(listed[1] or 0)
            if page < self.list_pages and (page > 0 or listed[1] is None):
                tag = hashlib.blake2b(f"{self.seed}:{self.articles}:{page}".encode(), digest_size=8)
                body = self.list_html(page).encode("utf-8")
                last = NEWEST.replace(tzinfo=CHINA)
                return Page(200, "text/html; charset=utf-8", body, "list", tag.hexdigest(), last)
        index = self.index_of(path)
        if index is not None:
            article = self.article(index)
            body = self.article_html(article, origin).encode("utf-8")
            etag = f"{self.seed:x}-{article.doc_id}"
            modified = article.published.replace(tzinfo=CHINA)
            return Page(200, "text/html; charset=utf-8", body, "article", etag, modified)
        return Page(404, "text/plain", b"not found\n", "missing")


class SiteServer(ThreadingHTTPServer):
    """A threaded HTTP/1.1 server of one SyntheticSite that counts what it answered."""

    daemon_threads = True
    block_on_close = False
    request_queue_size = 256

    def __init__(self, site: SyntheticSite, address: tuple[str, int]) -> None:
        super().__init__(address, SiteHandler)
        self.site = site
        self.counts: Counter[str] = Counter()
        self.lock = threading.Lock()

    def count(self, kind: str) -> None:
        with self.lock:
            self.counts[kind] += 1

    def snapshot(self) -> Counter[str]:
        """A copy of the answers so far by kind: robots, list, article, not_modified, missing."""
        with self.lock:
            return Counter(self.counts)

    @property
    def origin(self) -> str:
        host, port = self.server_address[:2]
        return f"http://{host!s}:{port}"

    @property
    def start_url(self) -> str:
        return self.origin + self.site.list_path(0)


class SiteHandler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    timeout = 60
    server: SiteServer

    def do_GET(self) -> None:
        self.respond(with_body=True)

    def do_HEAD(self) -> None:
        self.respond(with_body=False)

    def respond(self, with_body: bool) -> None:
        host = self.headers.get("Host") or self.server.origin.removeprefix("http://")
        page = self.server.site.answer(urlsplit(self.path).path, f"http://{host}")
        if page.status == 200 and self.unchanged(page):
            self.server.count("not_modified")
            self.send_response(304)
            self.validators(page)
            self.send_header("Content-Length", "0")
            self.end_headers()
            return
        self.server.count(page.kind)
        self.send_response(page.status)
        self.send_header("Content-Type", page.content_type)
        self.send_header("Content-Length", str(len(page.body)))
        self.validators(page)
        self.end_headers()
        if with_body:
            self.wfile.write(page.body)

    def validators(self, page: Page) -> None:
        if page.etag:
            self.send_header("ETag", f'"{page.etag}"')
        if page.last_modified:
            stamp = format_datetime(page.last_modified.astimezone(timezone.utc), usegmt=True)
            self.send_header("Last-Modified", stamp)

    def unchanged(self, page: Page) -> bool:
        """True when the request's validators say the client's copy is current."""
        tags = self.headers.get("If-None-Match")
        if tags is not None:
            offered = {tag.strip() for tag in tags.split(",")}
            return page.etag is not None and f'"{page.etag}"' in offered
        since = self.headers.get("If-Modified-Since")
        if since and page.last_modified:
            try:
                return page.last_modified <= parsedate_to_datetime(since)
            except (TypeError, ValueError):
                return False
        return False

    def log_message(self, format: str, *args: object) -> None:
        """Silent: a benchmark serves thousands of requests."""


@contextmanager
def serve(site: SyntheticSite, port: int = 0) -> Iterator[SiteServer]:
    """Serve `site` on 127.0.0.1 (any free port by default) in a thread, for the duration."""
    server = SiteServer(site, ("127.0.0.1", port))
    thread = threading.Thread(target=server.serve_forever, name="synthetic-site", daemon=True)
    thread.start()
    try:
        yield server
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=5)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--articles", type=int, default=1000, help="articles on the site")
    parser.add_argument("--seed", type=int, default=0, help="what the texts are drawn with")
    parser.add_argument("--port", type=int, default=8000, help="port on 127.0.0.1 (0: any)")
    args = parser.parse_args(argv)
    site = SyntheticSite(args.articles, seed=args.seed)
    with serve(site, args.port) as server:
        print(f"{site.articles} articles on {site.list_pages} list pages at {server.start_url}")
        with suppress(KeyboardInterrupt):
            threading.Event().wait()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
