"""The LSH bands of committed articles' MinHash signatures, as the state database files them."""

from __future__ import annotations

import sqlite3
from collections.abc import Mapping
from typing import Any

from crawler.text.minhash import band_keys, is_current


def stored_bands(sig: bytes) -> list[int]:
    """The band keys of a signature as the state stores them: signed, so that SQLite packs
    each in four bytes."""
    return [key - (1 << 32) if key >> 31 else key for key in band_keys(sig)]


INSERT_BAND = "INSERT OR IGNORE INTO article_bands (band, article) VALUES (?, ?)"


def file_bands(db: sqlite3.Connection, num: int | None, row: Mapping[str, Any]) -> None:
    """File the bands of the article `num` just written as `row`, if it is searched for."""
    sig = row["signature"]
    if num is not None and sig is not None and row["duplicate_of"] is None and is_current(sig):
        db.executemany(INSERT_BAND, [(band, num) for band in stored_bands(sig)])
