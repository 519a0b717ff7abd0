"""Articles as the state database keeps them: the row a written record becomes, what the
store gives back, and committing rows inside a transaction."""

from __future__ import annotations

import sqlite3
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from crawler.cms import article_key
from crawler.state.bands import file_bands, stored_bands
from crawler.text.minhash import is_current

ARTICLE_COLUMNS = (
    "key, id, canonical_url, site, content_hash, fingerprint, signature, revision, "
    "duplicate_of, first_seen, last_seen, last_run"
)


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
class Conflict:
    """A written record that another writer beat to the store: the store kept the other's
    article and the record is a copy of it."""

    key: str
    """`article_key` of the record."""
    id: str
    """Record id of the record."""
    duplicate_of: str
    """Record id of the article committed first."""


@dataclass(frozen=True)
class CommitResult:
    """What one `commit_written` call did."""

    inserted: int = 0
    """Articles stored for the first time (a record stored as a copy, see `conflicts`,
    included)."""
    revised: int = 0
    """Known articles whose content changed."""
    unchanged: int = 0
    """Known articles committed again with the same content."""
    conflicts: tuple[Conflict, ...] = ()
    """Records that came second (`lost_race`, `claims_content`), in commit order."""


def lost_race(row: Mapping[str, Any], stored_revision: int) -> bool:
    """Whether the row of an article the store holds comes too late: it names a revision
    (1 for an article its writer took for new) that the store already holds, so another
    writer committed that revision first. The store keeps what it holds. A row without a
    revision never loses."""
    revision = row["revision"]
    return revision is not None and stored_revision >= revision


def commit_rows(
    db: sqlite3.Connection, rows: Iterable[Mapping[str, Any]], *, now: str, run_id: int | None
) -> CommitResult:
    """Store `rows` (see `article_row`) inside the caller's transaction; see
    `StateStore.commit_written` for what happens to new, changed and unchanged articles."""
    inserted = revised = unchanged = 0
    conflicts: list[Conflict] = []
    for row in rows:
        stored = db.execute(
            "SELECT content_hash, revision, num, signature, id FROM articles WHERE key = ?",
            (row["key"],),
        ).fetchone()
        if stored is None:
            first = content_owner(db, row)
            if first is not None:
                conflicts.append(Conflict(row["key"], row["id"], first))
                row = {**row, "duplicate_of": first}
            cursor = db.execute(
                f"INSERT INTO articles ({ARTICLE_COLUMNS}) "
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
            file_bands(db, cursor.lastrowid, row)
            inserted += 1
        elif lost_race(row, stored[1]):
            conflicts.append(Conflict(row["key"], row["id"], stored[4]))
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
                    [(band, stored[2]) for band in stored_bands(bytes(old))],
                )
            file_bands(db, stored[2], row)
            revised += 1
        else:
            db.execute(
                "UPDATE articles SET last_seen = ?, last_run = ? WHERE key = ?",
                (now, run_id, row["key"]),
            )
            unchanged += 1
    return CommitResult(inserted, revised, unchanged, tuple(conflicts))


def content_owner(db: sqlite3.Connection, row: Mapping[str, Any]) -> str | None:
    """For a new row that `claims_content`, the id of the first-committed article with its
    content hash that is no copy and not the row's own record, else None."""
    if not row.get("claims_content") or row["duplicate_of"] is not None:
        return None
    found = db.execute(
        "SELECT id FROM articles WHERE content_hash = ? AND duplicate_of IS NULL AND id != ? "
        "ORDER BY num LIMIT 1",
        (row["content_hash"], row["id"]),
    ).fetchone()
    return None if found is None else str(found[0])


def article_state(row: tuple[Any, ...]) -> ArticleState:
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


def article_row(record: Mapping[str, Any]) -> dict[str, Any]:
    """The article columns of a written record, and whether it `claims_content`: its writer
    found no other article with its content hash, so should another writer have committed
    one first, the record is stored as a copy of it. ValueError naming a missing field."""
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
        "claims_content": bool(record.get("claims_content")),
    }


def stored_row(row: Mapping[str, Any]) -> dict[str, Any]:
    """An `article_row` as JSON can hold it (the signature in hex), for a staged batch."""
    out = dict(row)
    signature = row["signature"]
    out["signature"] = None if signature is None else bytes(signature).hex()
    return out


def loaded_row(row: Mapping[str, Any]) -> dict[str, Any]:
    """A row of a staged batch as `commit_rows` takes it: `stored_row` undone."""
    out = dict(row)
    signature = row["signature"]
    out["signature"] = None if signature is None else bytes.fromhex(signature)
    return out
