"""The state database's schema: its migrations, the checks a file passes before it is used,
and the one way to write to it (an immediate transaction)."""

from __future__ import annotations

import contextlib
import sqlite3
from collections.abc import Callable, Iterator
from pathlib import Path

from crawler.state.bands import stored_bands
from crawler.state.errors import StateError, recovery_hint
from crawler.text.minhash import is_current

SCHEMA_VERSION = 5
"""Version of the state schema, kept in `PRAGMA user_version`."""

APPLICATION_ID = 0x504B4E53
"""`PRAGMA application_id` of a parknews state file ("PKNS"), which tells it from other SQLite
files."""

MIGRATION_CHUNK = 10_000
"""Articles read at a time by a migration that rewrites them."""

MigrationStep = str | Callable[[sqlite3.Connection], None]
"""A statement, or a function given the connection inside the migration's transaction."""


def file_stored_bands(db: sqlite3.Connection) -> None:
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
                for band in stored_bands(bytes(sig))
            ],
        )
        last = rows[-1][0]
    db.execute(
        "INSERT OR IGNORE INTO article_bands (band, article) "
        "SELECT band, article FROM new_bands ORDER BY band, article"
    )
    db.execute("DROP TABLE temp.new_bands")


MIGRATIONS: tuple[tuple[int, tuple[MigrationStep, ...]], ...] = (
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
            file_stored_bands,
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
    (
        # An output file's records are staged before the file is put in place and committed
        # after: a run stopped in between is finished by the next one, whichever way it went.
        5,
        (
            """CREATE TABLE batches (
                path TEXT PRIMARY KEY,
                rows TEXT NOT NULL,
                staged TEXT NOT NULL
            )""",
        ),
    ),
)
"""Schema migrations in order: (the version they lead to, their statements). Append, never
edit: a released step has already run on somebody's file."""

EXPECTED_COLUMNS = {
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
    "batches": {"path", "rows", "staged"},
}
"""Tables and columns of the current schema, checked on every open."""


@contextlib.contextmanager
def transaction(db: sqlite3.Connection) -> Iterator[sqlite3.Connection]:
    """One write transaction, taken up front so that it cannot fail half-way on a lock."""
    db.execute("BEGIN IMMEDIATE")
    try:
        yield db
    except BaseException:
        db.execute("ROLLBACK")
        raise
    db.execute("COMMIT")


def prepare(db: sqlite3.Connection, path: Path) -> None:
    """Make the database at `path` ready for use: refuse (StateError) a file of another
    program or of a newer parknews, switch to WAL with synchronous=FULL, apply pending
    migrations and check that every table and column is there."""
    version = db.execute("PRAGMA user_version").fetchone()[0]
    application = db.execute("PRAGMA application_id").fetchone()[0]
    tables = {row[0] for row in db.execute("SELECT name FROM sqlite_master")}
    if application not in (0, APPLICATION_ID):
        raise StateError(
            f"{path} is an SQLite database of another program (application_id "
            f"{application:#x}), not parknews state. {recovery_hint(path)}"
        )
    if version > SCHEMA_VERSION:
        raise StateError(
            f"{path} has state schema version {version}, newer than this parknews "
            f"understands ({SCHEMA_VERSION}). Run the parknews version that wrote it, or: "
            f"{recovery_hint(path)}"
        )
    if application == 0 and (version or tables):
        raise StateError(
            f"{path} is an SQLite database but not parknews state (tables: "
            f"{', '.join(sorted(tables)) or 'none'}). {recovery_hint(path)}"
        )
    mode = db.execute("PRAGMA journal_mode=WAL").fetchone()[0]
    if str(mode).lower() != "wal":
        raise StateError(
            f"cannot use write-ahead logging on {path} (journal mode stays {mode}); "
            f"put the state on a local file system"
        )
    db.execute("PRAGMA synchronous=FULL")
    migrate(db, version)
    check_columns(db, path)


def migrate(db: sqlite3.Connection, version: int) -> None:
    """Apply the migrations past `version`, each in a transaction of its own."""
    for target, statements in MIGRATIONS:
        if target <= version:
            continue
        with transaction(db):
            for statement in statements:
                if isinstance(statement, str):
                    db.execute(statement)
                else:
                    statement(db)
            db.execute(f"PRAGMA application_id={APPLICATION_ID}")
            db.execute(f"PRAGMA user_version={target}")


def check_columns(db: sqlite3.Connection, path: Path) -> None:
    """StateError when a table or column of the current schema is missing."""
    for table, expected in EXPECTED_COLUMNS.items():
        columns = {row[1] for row in db.execute(f"PRAGMA table_info({table})")}
        missing = expected - columns
        if missing:
            lacks = (
                f"columns {', '.join(sorted(missing))} of table {table}"
                if columns
                else f"table {table}"
            )
            raise StateError(
                f"{path} lacks {lacks} although it says state schema version "
                f"{SCHEMA_VERSION}: it was altered or damaged. {recovery_hint(path)}"
            )
