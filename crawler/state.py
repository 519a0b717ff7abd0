"""The crawl state between runs: article identity keys, the SQLite state store and the run lock.

`article_key` names an article independently of the URL it was reached by. `StateStore`
keeps, in one SQLite file, the articles already written (with their content hash,
fingerprint, MinHash signature and revision, and the LSH bands that find near duplicates of
them), whether each section's last walk through its list pages was complete, the per-site
template counts of the body cleaning and a log of runs. `RunLock` keeps
two runs from using the same state at once.

The store never decides what is new: it records what the caller has durably written. Call
`StateStore.commit_written` only after the records are on disk (written and flushed), so an
article killed mid-write is fetched again by the next run rather than lost.
"""

from __future__ import annotations

import contextlib
import fcntl
import json
import os
import re
import socket
import sqlite3
from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from pathlib import Path
from types import TracebackType
from typing import Any
from urllib.parse import unquote, urlsplit

from crawler.urls import canonical_url
from pipelines.boilerplate import SiteTemplate
from pipelines.minhash import band_keys, check_signature, is_current, rank

STATE_PATH_SETTING = "PARKNEWS_STATE_PATH"
"""The setting that names the state database (the recovery hints refer to it)."""
SCHEMA_VERSION = 4
"""Version of the state schema, kept in `PRAGMA user_version`."""
APPLICATION_ID = 0x504B4E53
"""`PRAGMA application_id` of a parknews state file ("PKNS"), which tells it from other SQLite
files."""
QUERY_CHUNK = 500
"""Keys per `IN (...)` query, well below SQLite's limit on bound parameters."""
MIGRATION_CHUNK = 10_000
"""Articles read at a time by a migration that rewrites them."""

# --- Article keys -------------------------------------------------------------------------------

TRACKING_PARAMS = frozenset(
    {
        "spm",
        "from",
        "isappinstalled",
        "scene",
        "clicktime",
        "enterid",
        "jsessionid",
        "phpsessid",
        "sid",
    }
)
"""Query parameters that track the visitor or the share, not the article (compared in lower
case); WeChat adds scene, clicktime and enterid to shared links."""
TRACKING_PREFIXES = ("utm_",)
"""Prefixes of tracking parameter names."""
CACHE_BUSTERS = frozenset({"_", "t"})
"""Parameters that are dropped when their value looks like a timestamp or a random number."""
_CACHE_BUSTER_VALUE = re.compile(r"\d{9,}|0?\.\d+")
_JSESSIONID = re.compile(r";jsessionid=[^/;?]*", re.IGNORECASE)
_INDEX_PAGE = re.compile(r"/index\.(?:html?|shtml)$", re.IGNORECASE)

CMS_ARTICLE_IDS: tuple[tuple[str, re.Pattern[str]], ...] = (
    ("trs", re.compile(r"/(t\d{8}_\d+)\.s?html?$")),
    ("trs", re.compile(r"/\d{6}/([0-9a-f]{32})\.s?html?$")),
    ("hanweb", re.compile(r"/art_\d+_(\d+)\.html?$")),
    ("vsb", re.compile(r"/info/\d+/(\d+)\.htm$")),
)
"""CMS article URLs whose file name holds an id unique on the site, the same under every
column: TRS WCM `t20240315_1034521` (or a 32-hex-digit name in a month folder), Hanweb
`art_<column>_<id>`, VSB `/info/<column>/<id>.htm`."""
_VSB_DYNAMIC = re.compile(r"/content\.jsp$")
_VSB_NEWS_ID = re.compile(r"(?:^|&)wbnewsid=(\d+)(?:&|$)")


def _is_tracking(param: str) -> bool:
    name, _, value = param.partition("=")
    name = unquote(name).lower()
    if name in TRACKING_PARAMS or name.startswith(TRACKING_PREFIXES):
        return True
    return name in CACHE_BUSTERS and _CACHE_BUSTER_VALUE.fullmatch(unquote(value)) is not None


def article_key(url: str) -> str:
    """The identity of the article at `url`, the same for every URL that reaches it.

    Starts from `crawler.urls.canonical_url` (w3lib canonical form, lower-case host, no
    default port, no fragment), then drops tracking and session parameters (utm_*, spm,
    from, isappinstalled, WeChat's scene/clicktime/enterid, jsessionid and ";jsessionid="
    path parameters, PHPSESSID, sid) and timestamp-like "_=" and "t=" cache busters, and
    turns ".../index.html", "index.shtml" and "index.htm" into ".../". The scheme is left
    out: the http and https copies of a page are one article.

    Where the URL carries a CMS article id (see CMS_ARTICLE_IDS, and VSB's
    `content.jsp?wbnewsid=`), the key is the host and that id, "www.hhtz.gov.cn|hanweb:58912345",
    so the same article filed under two columns is one article. Otherwise it is host, path
    and query: "www.twgxnews.com/news/2021/0429/8812.html". A key is not a URL.
    """
    parts = urlsplit(canonical_url(url))
    host = parts.netloc
    path = _JSESSIONID.sub("", parts.path)
    for cms, pattern in CMS_ARTICLE_IDS:
        match = pattern.search(path)
        if match:
            return f"{host}|{cms}:{match.group(1)}"
    if _VSB_DYNAMIC.search(path) and (news := _VSB_NEWS_ID.search(parts.query)):
        return f"{host}|vsb:{news.group(1)}"
    path = _INDEX_PAGE.sub("/", path) or "/"
    query = "&".join(p for p in parts.query.split("&") if p and not _is_tracking(p))
    return f"{host}{path}?{query}" if query else f"{host}{path}"


# --- Errors -------------------------------------------------------------------------------------


class StateError(Exception):
    """The state file cannot be used; the message names it and says how to recover."""


class AlreadyRunning(Exception):
    """Another run holds the lock; the message names its pid and start time."""

    def __init__(self, path: Path, holder: LockHolder | None) -> None:
        self.path = path
        self.holder = holder
        if holder is None:
            who = "another parknews run"
        else:
            who = f"parknews run pid {holder.pid} on {holder.host}, started {holder.started}"
        super().__init__(
            f"{who} holds the lock {path}; this run exits without crawling. "
            f"Wait for it to finish, or stop that process if it hangs."
        )


def _recovery(path: Path) -> str:
    return (
        f"To recover, move the file aside (mv {path} {path}.broken, with any -wal and -shm "
        f"files beside it) and run again: the next run starts from empty state and crawls "
        f"everything, as with full=1. Or point {STATE_PATH_SETTING} at a new file."
    )


# --- Store ---------------------------------------------------------------------------------------

MigrationStep = str | Callable[[sqlite3.Connection], None]
"""A statement, or a function given the connection inside the migration's transaction."""


def _stored_bands(sig: bytes) -> list[int]:
    """The band keys of a signature as the state stores them: signed, so that SQLite packs
    each in four bytes."""
    return [key - (1 << 32) if key >> 31 else key for key in band_keys(sig)]


_INSERT_BAND = "INSERT OR IGNORE INTO article_bands (band, article) VALUES (?, ?)"


def _file_stored_bands(db: sqlite3.Connection) -> None:
    """Migration step: file the bands of every stored signature of an article that is not a
    duplicate, sorted before they reach the table (random inserts into a large B-tree are
    what makes building it slow)."""
    db.execute("CREATE TEMP TABLE new_bands (band INTEGER, article INTEGER)")
    last = 0
    while rows := db.execute(
        "SELECT num, signature FROM articles WHERE num > ? AND signature IS NOT NULL "
        "AND duplicate_of IS NULL ORDER BY num LIMIT ?",
        (last, MIGRATION_CHUNK),
    ).fetchall():
        db.executemany(
            "INSERT INTO new_bands (band, article) VALUES (?, ?)",
            [
                (band, num)
                for num, sig in rows
                if is_current(sig)
                for band in _stored_bands(bytes(sig))
            ],
        )
        last = rows[-1][0]
    db.execute(
        "INSERT OR IGNORE INTO article_bands (band, article) "
        "SELECT band, article FROM new_bands ORDER BY band, article"
    )
    db.execute("DROP TABLE temp.new_bands")


_MIGRATIONS: tuple[tuple[int, tuple[MigrationStep, ...]], ...] = (
    (
        1,
        (
            """CREATE TABLE articles (
                key TEXT PRIMARY KEY,
                id TEXT NOT NULL,
                canonical_url TEXT NOT NULL,
                site TEXT NOT NULL,
                content_hash TEXT NOT NULL,
                fingerprint INTEGER,
                signature BLOB,
                revision INTEGER NOT NULL,
                duplicate_of TEXT,
                first_seen TEXT NOT NULL,
                last_seen TEXT NOT NULL,
                last_run INTEGER
            )""",
            "CREATE INDEX articles_content_hash ON articles (content_hash)",
            "CREATE INDEX articles_id ON articles (id)",
            "CREATE INDEX articles_site_first_seen ON articles (site, first_seen)",
            """CREATE TABLE template_counts (
                site TEXT PRIMARY KEY,
                payload TEXT NOT NULL,
                updated TEXT NOT NULL
            )""",
            """CREATE TABLE runs (
                run_id INTEGER PRIMARY KEY AUTOINCREMENT,
                started TEXT NOT NULL,
                finished TEXT,
                status TEXT NOT NULL,
                exit_code INTEGER,
                report TEXT
            )""",
        ),
    ),
    (
        2,
        (
            """CREATE TABLE gone (
                key TEXT PRIMARY KEY,
                url TEXT NOT NULL,
                status INTEGER NOT NULL,
                first_seen TEXT NOT NULL,
                last_checked TEXT NOT NULL
            )""",
        ),
    ),
    (
        # Articles get a number of their own that the bands refer to: a plain rowid may be
        # renumbered by VACUUM, an INTEGER PRIMARY KEY may not.
        3,
        (
            """CREATE TABLE articles_v3 (
                num INTEGER PRIMARY KEY,
                key TEXT NOT NULL UNIQUE,
                id TEXT NOT NULL,
                canonical_url TEXT NOT NULL,
                site TEXT NOT NULL,
                content_hash TEXT NOT NULL,
                fingerprint INTEGER,
                signature BLOB,
                revision INTEGER NOT NULL,
                duplicate_of TEXT,
                first_seen TEXT NOT NULL,
                last_seen TEXT NOT NULL,
                last_run INTEGER
            )""",
            """INSERT INTO articles_v3 (num, key, id, canonical_url, site, content_hash,
                fingerprint, signature, revision, duplicate_of, first_seen, last_seen, last_run)
            SELECT rowid, key, id, canonical_url, site, content_hash, fingerprint, signature,
                revision, duplicate_of, first_seen, last_seen, last_run
            FROM articles ORDER BY rowid""",
            "DROP TABLE articles",
            "ALTER TABLE articles_v3 RENAME TO articles",
            "CREATE INDEX articles_content_hash ON articles (content_hash)",
            "CREATE INDEX articles_id ON articles (id)",
            "CREATE INDEX articles_site_first_seen ON articles (site, first_seen)",
            """CREATE TABLE article_bands (
                band INTEGER NOT NULL,
                article INTEGER NOT NULL,
                PRIMARY KEY (band, article)
            ) WITHOUT ROWID""",
            _file_stored_bands,
        ),
    ),
    (
        # A section's walk is complete once a run has followed its list pages to the end and
        # written every article found there; only then may a later run stop at known pages.
        4,
        (
            """CREATE TABLE walks (
                site TEXT NOT NULL,
                section_url TEXT NOT NULL,
                complete INTEGER NOT NULL,
                updated TEXT NOT NULL,
                PRIMARY KEY (site, section_url)
            )""",
        ),
    ),
)
"""Schema migrations in order: (the version they lead to, their statements). Append, never
edit: a released step has already run on somebody's file."""

_EXPECTED_COLUMNS = {
    "gone": {"key", "url", "status", "first_seen", "last_checked"},
    "articles": {
        "num",
        "key",
        "id",
        "canonical_url",
        "site",
        "content_hash",
        "fingerprint",
        "signature",
        "revision",
        "duplicate_of",
        "first_seen",
        "last_seen",
        "last_run",
    },
    "template_counts": {"site", "payload", "updated"},
    "runs": {"run_id", "started", "finished", "status", "exit_code", "report"},
    "article_bands": {"band", "article"},
    "walks": {"site", "section_url", "complete", "updated"},
}
"""Tables and columns of the current schema, checked on every open."""

_ARTICLE_COLUMNS = (
    "key, id, canonical_url, site, content_hash, fingerprint, signature, revision, "
    "duplicate_of, first_seen, last_seen, last_run"
)


def utc_now() -> str:
    """The current UTC time as "2026-11-25T12:00:00Z", the format of every stored time."""
    return datetime.now(timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


def _signed64(value: int) -> int:
    """An unsigned 64-bit fingerprint as the signed integer SQLite stores."""
    return value - (1 << 64) if value >= 1 << 63 else value


def fingerprint_to_int(fingerprint: str | int | None) -> int | None:
    """A fingerprint given as 16 hex digits (as records carry it) or an int, as SQLite's int64."""
    if fingerprint is None:
        return None
    value = int(fingerprint, 16) if isinstance(fingerprint, str) else fingerprint
    if not 0 <= value < 1 << 64:
        raise ValueError(f"fingerprint must be a 64-bit unsigned value, got {fingerprint!r}")
    return _signed64(value)


def fingerprint_to_hex(stored: int | None) -> str | None:
    """The stored int64 fingerprint as the 16 hex digits records carry."""
    return None if stored is None else f"{stored & 0xFFFFFFFFFFFFFFFF:016x}"


@dataclass(frozen=True)
class ArticleState:
    """What the store remembers of one article."""

    key: str
    """`article_key` of the article."""
    id: str
    """Record id of the article's first record; later revisions keep it."""
    canonical_url: str
    """Canonical URL of the latest record."""
    site: str
    """Site profile key."""
    content_hash: str
    """`content_hash` of the latest revision's body."""
    fingerprint: str | None
    """Fingerprint of the latest revision, 16 hex digits, or None."""
    signature: bytes | None
    """MinHash signature of the latest revision, None for duplicates and short texts."""
    revision: int
    """1 for the first version, one more for each changed version written."""
    duplicate_of: str | None
    """Record id of the article this one duplicates, or None."""
    first_seen: str
    """UTC time the first revision was committed."""
    last_seen: str
    """UTC time the article was last committed (changed or not)."""
    last_run: int | None
    """run_id of the last run that committed it."""


@dataclass(frozen=True)
class CommitResult:
    """What one `commit_written` call did."""

    inserted: int = 0
    """Articles stored for the first time."""
    revised: int = 0
    """Known articles whose content changed."""
    unchanged: int = 0
    """Known articles committed again with the same content."""


@dataclass(frozen=True)
class RunInfo:
    """One entry of the run log."""

    run_id: int
    started: str
    finished: str | None
    status: str
    exit_code: int | None
    report: dict[str, Any] | None


class StateStore:
    """The crawl state in one SQLite file (WAL journal, synchronous=FULL).

    Opening creates the file (and its folder) when missing, applies pending migrations,
    and refuses, with `StateError`, a file that is not SQLite, is another program's
    database, comes from a newer parknews (user_version beyond SCHEMA_VERSION) or is
    damaged. Every error message names the file and how to recover; the store never resets
    a file by itself. Use one store per process, as a context manager or with `close()`.
    """

    def __init__(self, path: str | os.PathLike[str], *, clock: Callable[[], str] = utc_now):
        self.path = Path(path)
        self._clock = clock
        if self.path.is_dir():
            raise StateError(f"state path {self.path} is a folder; give a file name")
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            self._db = sqlite3.connect(self.path, isolation_level=None, timeout=10.0)
        except (OSError, sqlite3.Error) as exc:
            raise StateError(
                f"cannot open state database {self.path}: {exc}. Make its folder writable "
                f"or point {STATE_PATH_SETTING} at a file in a writable folder."
            ) from None
        try:
            with self._guard():
                self._open()
        except BaseException:
            self._db.close()
            raise

    @property
    def lock_path(self) -> Path:
        """The lock file of runs using this state: the database's name plus ".lock"."""
        return lock_path_for(self.path)

    # -- opening and schema

    def _open(self) -> None:
        db = self._db
        version = db.execute("PRAGMA user_version").fetchone()[0]
        application = db.execute("PRAGMA application_id").fetchone()[0]
        tables = {row[0] for row in db.execute("SELECT name FROM sqlite_master")}
        if application not in (0, APPLICATION_ID):
            raise StateError(
                f"{self.path} is an SQLite database of another program (application_id "
                f"{application:#x}), not parknews state. {_recovery(self.path)}"
            )
        if version > SCHEMA_VERSION:
            raise StateError(
                f"{self.path} has state schema version {version}, newer than this parknews "
                f"understands ({SCHEMA_VERSION}). Run the parknews version that wrote it, or: "
                f"{_recovery(self.path)}"
            )
        if application == 0 and (version or tables):
            raise StateError(
                f"{self.path} is an SQLite database but not parknews state (tables: "
                f"{', '.join(sorted(tables)) or 'none'}). {_recovery(self.path)}"
            )
        mode = db.execute("PRAGMA journal_mode=WAL").fetchone()[0]
        if str(mode).lower() != "wal":
            raise StateError(
                f"cannot use write-ahead logging on {self.path} (journal mode stays {mode}); "
                f"put the state on a local file system"
            )
        db.execute("PRAGMA synchronous=FULL")
        self._migrate(version)
        self._check_schema()

    def _migrate(self, version: int) -> None:
        for target, statements in _MIGRATIONS:
            if target <= version:
                continue
            with self._transaction() as db:
                for statement in statements:
                    if isinstance(statement, str):
                        db.execute(statement)
                    else:
                        statement(db)
                db.execute(f"PRAGMA application_id={APPLICATION_ID}")
                db.execute(f"PRAGMA user_version={target}")

    def _check_schema(self) -> None:
        for table, expected in _EXPECTED_COLUMNS.items():
            columns = {row[1] for row in self._db.execute(f"PRAGMA table_info({table})")}
            missing = expected - columns
            if missing:
                lacks = (
                    f"columns {', '.join(sorted(missing))} of table {table}"
                    if columns
                    else f"table {table}"
                )
                raise StateError(
                    f"{self.path} lacks {lacks} although it says state schema version "
                    f"{SCHEMA_VERSION}: it was altered or damaged. {_recovery(self.path)}"
                )

    @contextlib.contextmanager
    def _guard(self) -> Iterator[None]:
        """Turn SQLite errors into a StateError that names the file."""
        try:
            yield
        except (StateError, sqlite3.ProgrammingError, sqlite3.IntegrityError, sqlite3.DataError):
            raise  # the caller's mistake, not the file's
        except sqlite3.OperationalError as exc:
            problem = str(exc)
            if "locked" in problem or "busy" in problem:
                raise StateError(
                    f"state database {self.path} is locked by another process ({exc}); "
                    f"make sure no other parknews run or tool has it open"
                ) from None
            if any(word in problem for word in ("readonly", "unable to open", "disk I/O", "full")):
                raise StateError(
                    f"cannot write state database {self.path} ({exc}): check the permissions "
                    f"and free space of its folder, or point {STATE_PATH_SETTING} at another file"
                ) from None
            raise StateError(self._damaged(exc)) from None
        except sqlite3.DatabaseError as exc:
            raise StateError(self._damaged(exc)) from None

    def _damaged(self, exc: sqlite3.Error) -> str:
        return f"state database {self.path} cannot be read ({exc}). {_recovery(self.path)}"

    @contextlib.contextmanager
    def _transaction(self) -> Iterator[sqlite3.Connection]:
        """One write transaction, taken up front so that it cannot fail half-way on a lock."""
        db = self._db
        db.execute("BEGIN IMMEDIATE")
        try:
            yield db
        except BaseException:
            db.execute("ROLLBACK")
            raise
        db.execute("COMMIT")

    def close(self) -> None:
        """Close the database (idempotent)."""
        self._db.close()

    def __enter__(self) -> StateStore:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()

    # -- articles

    def known(self, keys: Iterable[str]) -> set[str]:
        """The keys among `keys` of articles already committed."""
        return self._keys_in("articles", keys)

    def _keys_in(
        self, table: str, keys: Iterable[str], condition: str = "", *params: str
    ) -> set[str]:
        """The keys among `keys` found in `table` (where `condition` holds), asked for in
        chunks that stay below SQLite's limit on bound parameters."""
        wanted = list(dict.fromkeys(keys))
        found: set[str] = set()
        with self._guard():
            for start in range(0, len(wanted), QUERY_CHUNK):
                chunk = wanted[start : start + QUERY_CHUNK]
                marks = ",".join("?" * len(chunk))
                rows = self._db.execute(
                    f"SELECT key FROM {table} WHERE key IN ({marks}) {condition}",
                    [*chunk, *params],
                )
                found.update(row[0] for row in rows)
        return found

    def gone(self, keys: Iterable[str], *, retry_days: float, now: str | None = None) -> set[str]:
        """The keys among `keys` of article links that answered 404/410 within `retry_days`:
        not worth fetching again yet."""
        since = (_parse_time(now or self._clock()) - timedelta(days=retry_days)).strftime(
            "%Y-%m-%dT%H:%M:%SZ"
        )
        return self._keys_in("gone", keys, "AND last_checked >= ?", since)

    def mark_gone(self, url: str, status: int) -> None:
        """Remember that the article link `url` answered `status` (404, 410) just now."""
        now = self._clock()
        with self._guard(), self._transaction() as db:
            db.execute(
                "INSERT INTO gone (key, url, status, first_seen, last_checked) "
                "VALUES (?, ?, ?, ?, ?) ON CONFLICT (key) DO UPDATE SET "
                "status = excluded.status, last_checked = excluded.last_checked",
                (article_key(url), url, status, now, now),
            )

    def get(self, key: str) -> ArticleState | None:
        """What the store holds for the article `key`, or None."""
        with self._guard():
            row = self._db.execute(
                f"SELECT {_ARTICLE_COLUMNS} FROM articles WHERE key = ?", (key,)
            ).fetchone()
        return None if row is None else _article(row)

    def find_by_content_hash(self, content_hash: str) -> ArticleState | None:
        """The first-committed article whose latest body has `content_hash`, preferring one
        that is not itself a duplicate, or None."""
        with self._guard():
            row = self._db.execute(
                f"SELECT {_ARTICLE_COLUMNS} FROM articles WHERE content_hash = ? "
                f"ORDER BY duplicate_of IS NOT NULL, first_seen, rowid LIMIT 1",
                (content_hash,),
            ).fetchone()
        return None if row is None else _article(row)

    def article_count(self) -> int:
        """How many articles the store holds."""
        with self._guard():
            count: int = self._db.execute("SELECT count(*) FROM articles").fetchone()[0]
        return count

    def recent_article_count(self, site: str, *, days: float = 30.0, now: str | None = None) -> int:
        """Articles of `site` first committed in the `days` days before `now` (default: the
        store's clock)."""
        end = _parse_time(now or self._clock())
        since = (end - timedelta(days=days)).strftime("%Y-%m-%dT%H:%M:%SZ")
        with self._guard():
            count: int = self._db.execute(
                "SELECT count(*) FROM articles WHERE site = ? AND first_seen >= ?", (site, since)
            ).fetchone()[0]
        return count

    def iter_signatures(self) -> Iterator[tuple[str, bytes]]:
        """(record id, MinHash signature) of every stored article that is not a duplicate,
        in commit order: what a near-duplicate index is rebuilt from."""
        with self._guard():
            rows = self._db.execute(
                "SELECT id, signature FROM articles "
                "WHERE signature IS NOT NULL AND duplicate_of IS NULL ORDER BY rowid"
            )
            for article_id, signature in rows:
                yield article_id, bytes(signature)

    def near_duplicates(self, sig: bytes, threshold: float) -> list[tuple[str, float]]:
        """(record id, estimated similarity) of the stored articles that share an LSH band
        with the signature `sig` and whose similarity to it reaches `threshold`, most similar
        first. Duplicates are never found: their copies were not stored."""
        check_signature(sig)
        bands = _stored_bands(sig)
        with self._guard():
            rows = self._db.execute(
                f"SELECT id, signature FROM articles WHERE num IN (SELECT article FROM "
                f"article_bands WHERE band IN ({','.join('?' * len(bands))})) "
                f"AND duplicate_of IS NULL",
                bands,
            ).fetchall()
        return rank(sig, rows, threshold)

    def commit_written(
        self, records: Iterable[Mapping[str, Any]], *, run_id: int | None = None
    ) -> CommitResult:
        """Remember records that have been durably written, in one transaction.

        Each record is a mapping with the record fields `canonical_url` (or `url`), `id`,
        `site` and `content_hash`, and optionally `fingerprint` (16 hex digits or an int),
        `revision`, `duplicate_of` and `signature` (bytes, not a record field) and `key`
        (else `article_key` of the canonical URL). A new key is inserted with the record's
        revision (default 1). A known key with another content hash takes the record's
        revision (default: the stored one plus 1), content hash, fingerprint and signature;
        with the same content hash only its last_seen and last_run change. The stored id
        of a known key is kept. The bands of the article's signature, when it has one and is
        not a duplicate, replace those of its previous revision (`near_duplicates`).
        """
        rows = [_row(record) for record in records]
        now = self._clock()
        inserted = revised = unchanged = 0
        with self._guard(), self._transaction() as db:
            for row in rows:
                stored = db.execute(
                    "SELECT content_hash, revision, num, signature FROM articles WHERE key = ?",
                    (row["key"],),
                ).fetchone()
                if stored is None:
                    cursor = db.execute(
                        f"INSERT INTO articles ({_ARTICLE_COLUMNS}) "
                        f"VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                        (
                            row["key"],
                            row["id"],
                            row["canonical_url"],
                            row["site"],
                            row["content_hash"],
                            row["fingerprint"],
                            row["signature"],
                            row["revision"] or 1,
                            row["duplicate_of"],
                            now,
                            now,
                            run_id,
                        ),
                    )
                    _file_bands(db, cursor.lastrowid, row)
                    inserted += 1
                elif stored[0] != row["content_hash"]:
                    db.execute(
                        "UPDATE articles SET canonical_url = ?, content_hash = ?, "
                        "fingerprint = ?, signature = ?, revision = ?, duplicate_of = ?, "
                        "last_seen = ?, last_run = ? WHERE key = ?",
                        (
                            row["canonical_url"],
                            row["content_hash"],
                            row["fingerprint"],
                            row["signature"],
                            row["revision"] or stored[1] + 1,
                            row["duplicate_of"],
                            now,
                            run_id,
                            row["key"],
                        ),
                    )
                    old = stored[3]
                    if old is not None and is_current(old):
                        db.executemany(
                            "DELETE FROM article_bands WHERE band = ? AND article = ?",
                            [(band, stored[2]) for band in _stored_bands(bytes(old))],
                        )
                    _file_bands(db, stored[2], row)
                    revised += 1
                else:
                    db.execute(
                        "UPDATE articles SET last_seen = ?, last_run = ? WHERE key = ?",
                        (now, run_id, row["key"]),
                    )
                    unchanged += 1
        return CommitResult(inserted, revised, unchanged)

    # -- section walks

    def walk_complete(self, site: str, section_url: str) -> bool | None:
        """Whether the last walk of the section of `site` whose first list page is
        `section_url` was recorded complete; None when no walk of it was recorded."""
        with self._guard():
            row = self._db.execute(
                "SELECT complete FROM walks WHERE site = ? AND section_url = ?",
                (site, section_url),
            ).fetchone()
        return None if row is None else bool(row[0])

    def mark_walks(self, walks: Iterable[tuple[str, str]], *, complete: bool) -> None:
        """Record the walks of the sections `walks` ((site, section_url) pairs) as complete or
        not, in one transaction."""
        now = self._clock()
        with self._guard(), self._transaction() as db:
            db.executemany(
                "INSERT INTO walks (site, section_url, complete, updated) VALUES (?, ?, ?, ?) "
                "ON CONFLICT (site, section_url) DO UPDATE SET complete = excluded.complete, "
                "updated = excluded.updated",
                [(site, url, int(complete), now) for site, url in walks],
            )

    # -- site templates

    def load_template(self, **options: Any) -> SiteTemplate:
        """The stored per-site template counts as a `SiteTemplate` (`options` are its
        constructor's keyword arguments); an empty one when nothing is stored."""
        with self._guard():
            rows = self._db.execute("SELECT site, payload FROM template_counts").fetchall()
        sites: dict[str, Any] = {}
        for site, payload in rows:
            try:
                sites[site] = json.loads(payload)
            except json.JSONDecodeError as exc:
                raise StateError(self._bad_template(site, str(exc))) from None
        try:
            return SiteTemplate.from_dict(
                {"version": SiteTemplate.STATE_VERSION, "sites": sites}, **options
            )
        except ValueError as exc:
            bad = next((site for site in sites if repr(site) in str(exc)), None)
            if bad is None:
                raise
            raise StateError(self._bad_template(bad, str(exc))) from None

    def _bad_template(self, site: str, problem: str) -> str:
        return (
            f"the template counts of site {site!r} in {self.path} are malformed ({problem}). "
            f"Delete them to start counting afresh: "
            f"sqlite3 {self.path} \"DELETE FROM template_counts WHERE site = '{site}'\""
        )

    def save_template(self, template: SiteTemplate) -> None:
        """Store the counts of every site of `template`, in one transaction."""
        sites = template.to_dict()["sites"]
        now = self._clock()
        with self._guard(), self._transaction() as db:
            db.executemany(
                "INSERT INTO template_counts (site, payload, updated) VALUES (?, ?, ?) "
                "ON CONFLICT (site) DO UPDATE SET payload = excluded.payload, "
                "updated = excluded.updated",
                [
                    (site, json.dumps(payload, separators=(",", ":"), sort_keys=True), now)
                    for site, payload in sites.items()
                ],
            )

    # -- runs

    def start_run(self) -> int:
        """Log the start of a run and return its run_id. Runs still logged as running are
        marked "interrupted": call this holding the RunLock, so none of them can be alive."""
        now = self._clock()
        with self._guard(), self._transaction() as db:
            db.execute("UPDATE runs SET status = 'interrupted' WHERE status = 'running'")
            cursor = db.execute("INSERT INTO runs (started, status) VALUES (?, 'running')", (now,))
        run_id = cursor.lastrowid
        assert run_id is not None
        return run_id

    def finish_run(
        self,
        run_id: int,
        *,
        status: str,
        exit_code: int,
        report: Mapping[str, Any] | None = None,
    ) -> None:
        """Log the end of run `run_id` with its status ("ok", "failed", …), exit status and
        a JSON-ready report (stats, counts)."""
        if status == "running":
            raise ValueError("finish_run needs a final status, not 'running'")
        payload = None if report is None else json.dumps(report, ensure_ascii=False, default=str)
        with self._guard(), self._transaction() as db:
            cursor = db.execute(
                "UPDATE runs SET finished = ?, status = ?, exit_code = ?, report = ? "
                "WHERE run_id = ?",
                (self._clock(), status, exit_code, payload, run_id),
            )
            if cursor.rowcount != 1:
                raise ValueError(f"no run {run_id} in {self.path}")

    def runs(self, limit: int = 20) -> list[RunInfo]:
        """The latest `limit` runs, newest first."""
        with self._guard():
            rows = self._db.execute(
                "SELECT run_id, started, finished, status, exit_code, report FROM runs "
                "ORDER BY run_id DESC LIMIT ?",
                (limit,),
            ).fetchall()
        return [
            RunInfo(run_id, started, finished, status, code, json.loads(rep) if rep else None)
            for run_id, started, finished, status, code, rep in rows
        ]


def _file_bands(db: sqlite3.Connection, num: int | None, row: Mapping[str, Any]) -> None:
    """File the bands of the article `num` just written as `row`, if it is searched for."""
    sig = row["signature"]
    if num is not None and sig is not None and row["duplicate_of"] is None and is_current(sig):
        db.executemany(_INSERT_BAND, [(band, num) for band in _stored_bands(sig)])


def _article(row: tuple[Any, ...]) -> ArticleState:
    key, article_id, url, site, chash, fingerprint, signature, revision = row[:8]
    return ArticleState(
        key=key,
        id=article_id,
        canonical_url=url,
        site=site,
        content_hash=chash,
        fingerprint=fingerprint_to_hex(fingerprint),
        signature=None if signature is None else bytes(signature),
        revision=revision,
        duplicate_of=row[8],
        first_seen=row[9],
        last_seen=row[10],
        last_run=row[11],
    )


def _row(record: Mapping[str, Any]) -> dict[str, Any]:
    """The article columns of a written record; ValueError naming a missing field."""
    url = record.get("canonical_url") or record.get("url")
    for name, value in (
        ("canonical_url", url),
        ("id", record.get("id")),
        ("site", record.get("site")),
        ("content_hash", record.get("content_hash")),
    ):
        if not isinstance(value, str) or not value:
            raise ValueError(f"a written record needs a non-empty {name!r}: {record.get('url')}")
    revision = record.get("revision")
    if revision is not None and (not isinstance(revision, int) or revision < 1):
        raise ValueError(f"revision must be a positive int, got {revision!r}")
    signature = record.get("signature")
    return {
        "key": record.get("key") or article_key(str(url)),
        "id": record["id"],
        "canonical_url": url,
        "site": record["site"],
        "content_hash": record["content_hash"],
        "fingerprint": fingerprint_to_int(record.get("fingerprint")),
        "signature": None if signature is None else bytes(signature),
        "revision": revision,
        "duplicate_of": record.get("duplicate_of"),
    }


def _parse_time(text: str) -> datetime:
    return datetime.strptime(text, "%Y-%m-%dT%H:%M:%SZ").replace(tzinfo=timezone.utc)


# --- Run lock -------------------------------------------------------------------------------------


def lock_path_for(state_path: str | os.PathLike[str]) -> Path:
    """The lock file beside a state database: its name plus ".lock"."""
    path = Path(state_path)
    return path.with_name(path.name + ".lock")


@dataclass(frozen=True)
class LockHolder:
    """Who holds (or last held) a run lock, as written in the lock file."""

    pid: int
    host: str
    started: str


class RunLock:
    """An exclusive lock on a lock file, held by one run at a time.

    `acquire` takes an `fcntl.flock` lock without waiting and writes the run's pid, host and
    start time into the file; a second run raises `AlreadyRunning` naming the holder. The
    kernel drops the lock when its process dies, however it dies, so the file a killed run
    leaves behind is taken over by the next run (`taken_over` then tells whose it was).
    The file is never deleted: deleting it would let two runs lock two different files.
    flock does not work across NFS clients; keep the state on a local file system.
    """

    def __init__(self, path: str | os.PathLike[str], *, clock: Callable[[], str] = utc_now):
        self.path = Path(path)
        self._clock = clock
        self._fd: int | None = None
        self.taken_over: LockHolder | None = None
        """The previous holder named in the file when this run acquired it after a run that
        died without releasing it; None otherwise."""

    @property
    def held(self) -> bool:
        """Whether this object holds the lock."""
        return self._fd is not None

    def acquire(self) -> None:
        """Take the lock now or raise `AlreadyRunning`."""
        if self._fd is not None:
            raise RuntimeError(f"{self.path} is already held by this RunLock")
        self.path.parent.mkdir(parents=True, exist_ok=True)
        fd = os.open(self.path, os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o644)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            holder = _read_holder(fd)
            os.close(fd)
            raise AlreadyRunning(self.path, holder) from None
        except BaseException:
            os.close(fd)
            raise
        self.taken_over = _read_holder(fd)
        me = {"pid": os.getpid(), "host": socket.gethostname(), "started": self._clock()}
        payload = (json.dumps(me) + "\n").encode("utf-8")
        os.ftruncate(fd, 0)
        os.pwrite(fd, payload, 0)
        os.fsync(fd)
        self._fd = fd

    def release(self) -> None:
        """Empty the lock file and release the lock (idempotent)."""
        fd, self._fd = self._fd, None
        if fd is None:
            return
        try:
            os.ftruncate(fd, 0)
        finally:
            fcntl.flock(fd, fcntl.LOCK_UN)
            os.close(fd)

    def holder(self) -> LockHolder | None:
        """The holder the lock file names (whether or not it is still alive), or None."""
        try:
            fd = os.open(self.path, os.O_RDONLY | os.O_CLOEXEC)
        except FileNotFoundError:
            return None
        try:
            return _read_holder(fd)
        finally:
            os.close(fd)

    def __enter__(self) -> RunLock:
        self.acquire()
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.release()


def _read_holder(fd: int) -> LockHolder | None:
    """The holder recorded in an open lock file, or None when it is empty or unreadable."""
    raw = os.pread(fd, 4096, 0)
    try:
        data = json.loads(raw.decode("utf-8"))
        return LockHolder(int(data["pid"]), str(data["host"]), str(data["started"]))
    except (ValueError, KeyError, TypeError):
        return None
