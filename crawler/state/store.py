"""The crawl state between runs, as plain data in one SQLite file.

`StateStore` keeps the articles already written (by article key, with their content hash,
fingerprint, MinHash signature and revision, and the LSH bands that find near duplicates of
them), whether each section's last walk through its list pages was complete, the per-site
template counts of the body cleaning (as JSON payloads it does not interpret) and a log of
runs. It knows no pipeline's types.

The store never decides what is new: it records what the caller has durably written. Call
`StateStore.commit_written` only after the records are on disk (written and flushed), so an
article killed mid-write is fetched again by the next run rather than lost.
"""

from __future__ import annotations

import contextlib
import json
import os
import sqlite3
from collections.abc import Callable, Iterable, Iterator, Mapping
from datetime import timedelta
from pathlib import Path
from typing import Any

from crawler.cms import article_key
from crawler.state.articles import (
    ARTICLE_COLUMNS,
    ArticleState,
    CommitResult,
    article_row,
    article_state,
    commit_rows,
    loaded_row,
    stored_row,
)
from crawler.state.bands import stored_bands
from crawler.state.base import (
    Closing,
    RunInfo,
    StateBackend,
    check_final_status,
    malformed_templates,
    report_json,
    template_json,
    template_payloads,
)
from crawler.state.errors import STATE_PATH_SETTING, StateError, recovery_hint
from crawler.state.lock import lock_path_for
from crawler.state.schema import prepare, transaction
from crawler.text.dates import UTC_FORMAT, parse_utc, utc_now
from crawler.text.minhash import check_signature, rank

QUERY_CHUNK = 500
"""Keys per `IN (...)` query, well below SQLite's limit on bound parameters."""


class StateStore(Closing):
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
                prepare(self._db, self.path)
        except BaseException:
            self._db.close()
            raise

    @property
    def lock_path(self) -> Path:
        """The lock file of runs using this state: the database's name plus ".lock"."""
        return lock_path_for(self.path)

    def check_integrity(self) -> None:
        """Read every page of the file (SQLite's quick_check): StateError naming the damage
        and how to recover when a table or index is broken. Opening checks only the schema;
        this is what a run does before it starts."""
        with self._guard():
            problems = [row[0] for row in self._db.execute("PRAGMA quick_check(5)")]
        if problems != ["ok"]:
            raise StateError(
                f"state database {self.path} is damaged ({'; '.join(problems)}). "
                f"{recovery_hint(self.path)}"
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
        return f"state database {self.path} cannot be read ({exc}). {recovery_hint(self.path)}"

    def close(self) -> None:
        """Close the database (idempotent)."""
        self._db.close()

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
        since = (parse_utc(now or self._clock()) - timedelta(days=retry_days)).strftime(UTC_FORMAT)
        return self._keys_in("gone", keys, "AND last_checked >= ?", since)

    def mark_gone(self, url: str, status: int) -> None:
        """Remember that the article link `url` answered `status` (404, 410) just now."""
        now = self._clock()
        with self._guard(), transaction(self._db) as db:
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
                f"SELECT {ARTICLE_COLUMNS} FROM articles WHERE key = ?", (key,)
            ).fetchone()
        return None if row is None else article_state(row)

    def find_by_content_hash(self, content_hash: str) -> ArticleState | None:
        """The first-committed article whose latest body has `content_hash`, preferring one
        that is not itself a duplicate, or None."""
        with self._guard():
            row = self._db.execute(
                f"SELECT {ARTICLE_COLUMNS} FROM articles WHERE content_hash = ? "
                f"ORDER BY duplicate_of IS NOT NULL, first_seen, rowid LIMIT 1",
                (content_hash,),
            ).fetchone()
        return None if row is None else article_state(row)

    def article_count(self) -> int:
        """How many articles the store holds."""
        with self._guard():
            count: int = self._db.execute("SELECT count(*) FROM articles").fetchone()[0]
        return count

    def recent_article_count(self, site: str, *, days: float = 30.0, now: str | None = None) -> int:
        """Articles of `site` first committed in the `days` days before `now` (default: the
        store's clock)."""
        end = parse_utc(now or self._clock())
        since = (end - timedelta(days=days)).strftime(UTC_FORMAT)
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
        bands = stored_bands(sig)
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

        Of two writers committing one article, the first wins; what the second committed is
        reported in `CommitResult.conflicts` with the id of the first's article. A known key
        whose stored revision is the record's revision or later (`lost_race`) keeps what it
        holds. A new key whose record `claims_content` (see `article_row`) while another
        article that is no copy holds its content hash is stored as a copy of that article.
        """
        rows = [article_row(record) for record in records]
        with self._guard(), transaction(self._db) as db:
            return commit_rows(db, rows, now=self._clock(), run_id=run_id)

    # -- output batches

    def stage_batch(self, path: str, records: Iterable[Mapping[str, Any]]) -> None:
        """Record that the output file `path` is about to be put in place holding `records`
        (as `commit_written` takes them): call it before the file gets its final name, and
        `commit_batch` after. A batch staged again replaces the earlier one."""
        rows = [stored_row(article_row(record)) for record in records]
        with self._guard(), transaction(self._db) as db:
            db.execute(
                "INSERT INTO batches (path, rows, staged) VALUES (?, ?, ?) ON CONFLICT (path) "
                "DO UPDATE SET rows = excluded.rows, staged = excluded.staged",
                (path, json.dumps(rows, ensure_ascii=False), self._clock()),
            )

    def commit_batch(self, path: str, *, run_id: int | None = None) -> CommitResult:
        """Commit the records of the staged batch `path` and forget the batch, in one
        transaction: the file is in place. ValueError when no batch `path` is staged."""
        with self._guard(), transaction(self._db) as db:
            found = db.execute("SELECT rows FROM batches WHERE path = ?", (path,)).fetchone()
            if found is None:
                raise ValueError(f"no batch {path} is staged in {self.path}")
            rows = [loaded_row(row) for row in json.loads(found[0])]
            result = commit_rows(db, rows, now=self._clock(), run_id=run_id)
            db.execute("DELETE FROM batches WHERE path = ?", (path,))
        return result

    def discard_batch(self, path: str) -> None:
        """Forget the staged batch `path`: its file never got its final name."""
        with self._guard(), transaction(self._db) as db:
            db.execute("DELETE FROM batches WHERE path = ?", (path,))

    def staged_batches(self) -> list[str]:
        """The paths of the batches staged and not yet committed or discarded, oldest first."""
        with self._guard():
            rows = self._db.execute("SELECT path FROM batches ORDER BY staged, rowid").fetchall()
        return [path for (path,) in rows]

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
        with self._guard(), transaction(self._db) as db:
            db.executemany(
                "INSERT INTO walks (site, section_url, complete, updated) VALUES (?, ?, ?, ?) "
                "ON CONFLICT (site, section_url) DO UPDATE SET complete = excluded.complete, "
                "updated = excluded.updated",
                [(site, url, int(complete), now) for site, url in walks],
            )

    # -- site templates

    def load_templates(self) -> dict[str, Any]:
        """The stored template counts of the body cleaning, as {site: payload}: the payloads
        `update_templates` stored, which the store does not interpret."""
        with self._guard():
            rows = self._db.execute("SELECT site, payload FROM template_counts").fetchall()
        return template_payloads(rows, self.bad_template)

    def bad_template(self, site: str, problem: str) -> StateError:
        """The error for stored template counts of `site` that cannot be used, saying how to
        delete them."""
        delete = f"sqlite3 {self.path} \"DELETE FROM template_counts WHERE site = '{site}'\""
        return malformed_templates(site, self.path, problem, delete)

    def update_templates(self, change: Callable[[dict[str, Any]], Mapping[str, Any]]) -> None:
        """Store what `change` makes of the stored template counts ({site: payload}, as
        `load_templates` reads them): the sites it returns are stored, in one transaction
        that no other writer interleaves with."""
        now = self._clock()
        with self._guard(), transaction(self._db) as db:
            rows = db.execute("SELECT site, payload FROM template_counts").fetchall()
            sites = change(template_payloads(rows, self.bad_template))
            db.executemany(
                "INSERT INTO template_counts (site, payload, updated) VALUES (?, ?, ?) "
                "ON CONFLICT (site) DO UPDATE SET payload = excluded.payload, "
                "updated = excluded.updated",
                [(site, template_json(payload), now) for site, payload in sites.items()],
            )

    # -- runs

    def start_run(self) -> int:
        """Log the start of a run and return its run_id. Runs still logged as running are
        marked "interrupted": call this holding the RunLock, so none of them can be alive."""
        now = self._clock()
        with self._guard(), transaction(self._db) as db:
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
        check_final_status(status)
        payload = report_json(report)
        with self._guard(), transaction(self._db) as db:
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


_CHECKED: type[StateBackend] = StateStore
"""mypy checks here that the SQLite store has every method of the interface."""
