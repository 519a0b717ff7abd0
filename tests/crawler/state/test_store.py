"""Tests of the state stores: what both backends (SQLite, Redis) must do alike, run on each,
then the SQLite store's file, schema and migrations (crawler.state.store, crawler.state.schema)."""

from __future__ import annotations

import signal
import sqlite3
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from crawler.cms import article_key
from crawler.state.articles import Conflict, fingerprint_to_hex, fingerprint_to_int
from crawler.state.base import StateBackend
from crawler.state.errors import STATE_PATH_SETTING, StateError
from crawler.state.redisstore import RedisStateStore
from crawler.state.schema import APPLICATION_ID, MIGRATIONS, SCHEMA_VERSION
from crawler.state.store import QUERY_CHUNK, StateStore
from crawler.text.dates import utc_now
from crawler.text.minhash import SIGNATURE_SCHEME, signature
from tests.conftest import run_python

# --- store: fixtures -----------------------------------------------------------------------------


class Clock:
    """A settable clock for the store."""

    def __init__(self, now: str = "2026-11-25T12:00:00Z") -> None:
        self.now = now

    def __call__(self) -> str:
        return self.now


@pytest.fixture
def clock() -> Clock:
    return Clock()


Opener = Callable[..., StateBackend]
"""Opens the state of one test on its backend: (clock=...) -> a store, the same state each
time."""


@pytest.fixture(params=["sqlite", "redis"])
def open_store(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Opener]:
    """Opens the test's state on each backend in turn: the same data whichever opens it."""
    opened: list[StateBackend] = []

    def opener(clock: Callable[[], str] = utc_now) -> StateBackend:
        store: StateBackend
        if request.param == "sqlite":
            store = StateStore(tmp_path / "state" / "parknews.db", clock=clock)
        else:
            store = RedisStateStore(request.getfixturevalue("redis_url"), clock=clock)
        opened.append(store)
        return store

    yield opener
    for store in opened:
        store.close()


@pytest.fixture
def store(open_store: Opener, clock: Clock) -> StateBackend:
    return open_store(clock=clock)


@pytest.fixture
def sqlite_store(tmp_path: Path, clock: Clock) -> Iterator[StateStore]:
    with StateStore(tmp_path / "state" / "parknews.db", clock=clock) as opened:
        yield opened


def written(
    url: str,
    body_hash: str,
    *,
    record_id: str = "0123456789abcdef0123",
    site: str = "binjiang",
    **extra: Any,
) -> dict[str, Any]:
    """A written record as commit_written reads it."""
    return {
        "id": record_id,
        "url": url,
        "canonical_url": url,
        "site": site,
        "content_hash": body_hash,
        **extra,
    }


ART = "http://www.hhtz.gov.cn/art/2021/4/29/art_1487001_58912345.html"
ART_OTHER_COLUMN = "http://www.hhtz.gov.cn/art/2021/4/29/art_1487002_58912345.html"
ART_KEY = "www.hhtz.gov.cn|hanweb:58912345"


# --- store: schema -------------------------------------------------------------------------------


def test_new_store_has_schema_wal_and_identity(tmp_path: Path) -> None:
    path = tmp_path / "deep" / "folder" / "state.db"
    StateStore(path).close()
    db = sqlite3.connect(path)
    try:
        assert db.execute("PRAGMA user_version").fetchone()[0] == SCHEMA_VERSION
        assert db.execute("PRAGMA application_id").fetchone()[0] == APPLICATION_ID
        assert db.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
        tables = {row[0] for row in db.execute("SELECT name FROM sqlite_master WHERE type='table'")}
    finally:
        db.close()
    assert {"articles", "template_counts", "runs"} <= tables


def test_store_uses_synchronous_full(sqlite_store: StateStore) -> None:
    assert sqlite_store._db.execute("PRAGMA synchronous").fetchone()[0] == 2  # FULL


def test_reopening_keeps_state(open_store: Opener) -> None:
    with open_store() as first:
        first.commit_written([written(ART, "h1")])
    with open_store() as second:
        assert second.known([ART_KEY]) == {ART_KEY}


def test_the_lock_is_beside_the_state_file(tmp_path: Path) -> None:
    with StateStore(tmp_path / "state.db") as store:
        assert store.lock_path == tmp_path / "state.db.lock"


# --- store: articles -----------------------------------------------------------------------------


def test_commit_inserts_then_counts_unchanged(store: StateBackend, clock: Clock) -> None:
    assert store.commit_written([written(ART, "h1", fingerprint="ffffffffffffffff")]).inserted == 1
    first = store.get(ART_KEY)
    assert first is not None
    assert (first.revision, first.content_hash, first.fingerprint) == (1, "h1", "ffffffffffffffff")
    assert first.first_seen == first.last_seen == clock.now

    clock.now = "2026-11-26T00:00:00Z"
    result = store.commit_written([written(ART, "h1")], run_id=7)
    assert (result.inserted, result.revised, result.unchanged) == (0, 0, 1)
    again = store.get(ART_KEY)
    assert again is not None
    assert (again.revision, again.first_seen, again.last_seen, again.last_run) == (
        1,
        "2026-11-25T12:00:00Z",
        "2026-11-26T00:00:00Z",
        7,
    )


def test_changed_content_is_the_next_revision(store: StateBackend) -> None:
    store.commit_written([written(ART, "h1", fingerprint="0000000000000001")])
    result = store.commit_written([written(ART, "h2", fingerprint="0000000000000002")])
    assert result.revised == 1
    state = store.get(ART_KEY)
    assert state is not None
    assert (state.revision, state.content_hash, state.fingerprint) == (2, "h2", "0000000000000002")
    store.commit_written([written(ART, "h3", revision=5)])
    state = store.get(ART_KEY)
    assert state is not None and state.revision == 5


def test_same_article_under_another_column_keeps_its_first_id(store: StateBackend) -> None:
    store.commit_written([written(ART, "h1", record_id="aaaaaaaaaaaaaaaaaaaa")])
    store.commit_written([written(ART_OTHER_COLUMN, "h2", record_id="bbbbbbbbbbbbbbbbbbbb")])
    state = store.get(ART_KEY)
    assert state is not None
    assert (state.id, state.revision, state.canonical_url) == (
        "aaaaaaaaaaaaaaaaaaaa",
        2,
        ART_OTHER_COLUMN,
    )
    assert store.article_count() == 1


def test_commit_is_one_transaction(store: StateBackend) -> None:
    with pytest.raises((sqlite3.ProgrammingError, ValueError)):
        store.commit_written(
            [written(ART, "h1"), written("http://a.gov.cn/1.html", "h2", duplicate_of=["x"])]
        )
    assert store.article_count() == 0


@pytest.mark.parametrize(
    ("record", "message"),
    [
        ({"id": "x", "site": "s", "content_hash": "h"}, "canonical_url"),
        ({"url": ART, "site": "s", "content_hash": "h"}, "'id'"),
        ({"url": ART, "id": "x", "content_hash": "h"}, "site"),
        ({"url": ART, "id": "x", "site": "s", "content_hash": "h", "revision": 0}, "revision"),
    ],
)
def test_commit_refuses_incomplete_records(
    store: StateBackend, record: dict[str, Any], message: str
) -> None:
    with pytest.raises(ValueError, match=message):
        store.commit_written([record])


def test_known_answers_many_keys(store: StateBackend) -> None:
    urls = [f"http://example.gov.cn/a/{n}.html" for n in range(QUERY_CHUNK * 2 + 7)]
    store.commit_written(
        [written(url, f"h{n}", record_id=f"{n:020d}") for n, url in enumerate(urls[::2])]
    )
    keys = [article_key(url) for url in urls]
    assert store.known(keys) == set(keys[::2])
    assert store.known([]) == set()


def test_find_by_content_hash_prefers_the_original(store: StateBackend) -> None:
    store.commit_written(
        [
            written("http://a.gov.cn/1.html", "same", record_id="dup", duplicate_of="orig"),
            written("http://b.gov.cn/1.html", "same", record_id="orig"),
        ]
    )
    found = store.find_by_content_hash("same")
    assert found is not None and found.id == "orig"
    assert store.find_by_content_hash("other") is None


def test_signatures_of_originals_only(store: StateBackend) -> None:
    store.commit_written(
        [
            written("http://a.gov.cn/1.html", "h1", record_id="one", signature=b"\x01sig"),
            written("http://a.gov.cn/2.html", "h2", record_id="two", signature=None),
            written(
                "http://a.gov.cn/3.html",
                "h3",
                record_id="three",
                signature=b"\x01dup",
                duplicate_of="one",
            ),
        ]
    )
    assert list(store.iter_signatures()) == [("one", b"\x01sig")]


# --- store: near duplicates ----------------------------------------------------------------------

TEXTS = (
    "记者从园区海关获悉今年一季度园区实现进出口总额1382.6亿元同比增长6.3%其中出口额增长8.9%"
    "跨境电商进出口额首次突破百亿元",
    "新学期园区5所新建学校正式启用新增学位7200个进一步缓解部分片区入学压力教师队伍同步扩充",
)
NEAR_COPY = "本报讯" + TEXTS[0] + "责任编辑王晓明"


def sig_of(text: str) -> bytes:
    sig = signature(text)
    assert sig is not None
    return sig


def band_rows(store: StateBackend) -> int:
    """How many (band, article) entries the store files."""
    if isinstance(store, StateStore):
        count: int = store._db.execute("SELECT count(*) FROM article_bands").fetchone()[0]
        return count
    assert isinstance(store, RedisStateStore)
    client = store._redis
    return sum(
        len(nums.split(b","))
        for bucket in client.scan_iter(store.prefix + "bands:*")
        for nums in client.hvals(bucket)
    )


def bands_of(store: StateBackend, article_id: str) -> int:
    count: int = store._db.execute(
        "SELECT count(*) FROM article_bands JOIN articles ON num = article WHERE id = ?",
        (article_id,),
    ).fetchone()[0]
    return count


def test_near_copy_of_an_article_of_an_earlier_run_is_found(open_store: Opener) -> None:
    with open_store() as store:
        store.commit_written(
            [
                written(
                    "http://a.gov.cn/1.html", "h1", record_id="trade", signature=sig_of(TEXTS[0])
                ),
                written(
                    "http://a.gov.cn/2.html", "h2", record_id="schools", signature=sig_of(TEXTS[1])
                ),
            ]
        )
    with open_store() as store:
        found = store.near_duplicates(sig_of(NEAR_COPY), 0.6)
        assert [doc for doc, _ in found] == ["trade"] and 0.6 <= found[0][1] < 1.0
        assert store.near_duplicates(sig_of(TEXTS[1]), 0.6) == [("schools", 1.0)]
        assert store.near_duplicates(sig_of(NEAR_COPY), 0.99) == []
        assert store.near_duplicates(sig_of("完全无关的一段文字内容用于测试查询"), 0.6) == []
        with pytest.raises(ValueError, match="threshold"):
            store.near_duplicates(sig_of(TEXTS[0]), 0.0)
        with pytest.raises(ValueError, match="scheme"):
            store.near_duplicates(b"\x01sig", 0.6)


def test_a_revision_replaces_the_articles_bands(store: StateBackend) -> None:
    store.commit_written([written(ART, "h1", signature=sig_of(TEXTS[0]))])
    store.commit_written([written(ART, "h2", signature=sig_of(TEXTS[1]))])
    assert band_rows(store) == 32
    assert store.near_duplicates(sig_of(TEXTS[0]), 0.6) == []
    assert store.near_duplicates(sig_of(TEXTS[1]), 0.6) == [("0123456789abcdef0123", 1.0)]
    store.commit_written([written(ART, "h2", signature=sig_of(TEXTS[1]))])  # unchanged
    assert band_rows(store) == 32


def test_duplicates_get_no_bands(store: StateBackend) -> None:
    store.commit_written(
        [
            written(ART, "h1", record_id="copy", signature=sig_of(TEXTS[0]), duplicate_of="x"),
            written("http://a.gov.cn/2.html", "h2", record_id="unsigned"),
        ]
    )
    assert band_rows(store) == 0
    assert store.near_duplicates(sig_of(TEXTS[0]), 0.6) == []
    # A revision that is no copy any more is searched for from then on.
    store.commit_written([written(ART, "h3", record_id="copy", signature=sig_of(TEXTS[0]))])
    assert store.near_duplicates(sig_of(TEXTS[0]), 0.6) == [("copy", 1.0)]


def test_bands_survive_vacuum(sqlite_store: StateStore) -> None:
    store = sqlite_store
    store.commit_written(
        [
            written(f"http://a.gov.cn/{n}.html", f"h{n}", record_id=f"doc{n}", signature=None)
            for n in range(50)
        ]
    )
    store.commit_written([written(ART, "h", record_id="trade", signature=sig_of(TEXTS[0]))])
    store._db.execute("DELETE FROM articles WHERE id < 'doc4'")
    store._db.execute("VACUUM")
    assert store.near_duplicates(sig_of(NEAR_COPY), 0.6)[0][0] == "trade"


@pytest.mark.parametrize("value", ["0000000000000000", "7fffffffffffffff", "8000000000000000"])
def test_fingerprints_survive_int64_storage(store: StateBackend, value: str) -> None:
    store.commit_written([written(ART, "h1", fingerprint=value)])
    state = store.get(ART_KEY)
    assert state is not None and state.fingerprint == value
    assert fingerprint_to_hex(fingerprint_to_int(value)) == value


def test_fingerprint_out_of_range() -> None:
    with pytest.raises(ValueError, match="64-bit"):
        fingerprint_to_int(1 << 64)


def test_recent_article_count(store: StateBackend, clock: Clock) -> None:
    clock.now = "2026-09-01T00:00:00Z"
    store.commit_written([written("http://a.gov.cn/old.html", "h0", record_id="old")])
    clock.now = "2026-11-20T00:00:00Z"
    store.commit_written(
        [
            written("http://a.gov.cn/new.html", "h1", record_id="new"),
            written("http://b.gov.cn/new.html", "h2", record_id="other", site="sipac"),
        ]
    )
    clock.now = "2026-11-25T00:00:00Z"
    assert store.recent_article_count("binjiang") == 1
    assert store.recent_article_count("binjiang", days=120) == 2
    assert store.recent_article_count("sipac", days=1) == 0


# --- store: templates and runs -------------------------------------------------------------------


def test_template_counts_round_trip(store: StateBackend) -> None:
    sipac = {"pages": 3, "counts": {"0a1b2c3d4e5f6a7b": 3}}
    store.update_templates(lambda _: {"sipac": sipac, "donghu": {"pages": 1, "counts": {}}})
    assert store.load_templates() == {"sipac": sipac, "donghu": {"pages": 1, "counts": {}}}
    store.update_templates(lambda _: {"sipac": {"pages": 4, "counts": {"0a1b2c3d4e5f6a7b": 4}}})
    assert store.load_templates()["sipac"]["pages"] == 4
    assert store.load_templates()["donghu"] == {"pages": 1, "counts": {}}


def test_template_counts_another_worker_changed_meanwhile_are_changed_again(
    redis_url: str,
) -> None:
    with RedisStateStore(redis_url) as mine, RedisStateStore(redis_url) as other:
        mine.update_templates(lambda _: {"sipac": {"pages": 1, "counts": {}}})
        seen: list[int] = []

        def add_a_page(stored: dict[str, Any]) -> dict[str, Any]:
            seen.append(stored["sipac"]["pages"])
            if len(seen) == 1:  # another worker writes between this read and this write
                other.update_templates(lambda _: {"sipac": {"pages": 5, "counts": {}}})
            return {"sipac": {"pages": stored["sipac"]["pages"] + 1, "counts": {}}}

        mine.update_templates(add_a_page)
        assert seen == [1, 5]
        assert mine.load_templates()["sipac"]["pages"] == 6


def test_empty_template_state(store: StateBackend) -> None:
    assert store.load_templates() == {}


def test_unreadable_template_counts_name_site_and_fix(store: StateBackend) -> None:
    if isinstance(store, StateStore):
        store._db.execute(
            "INSERT INTO template_counts VALUES ('sipac', '{\"pages\": ', '2026-01-01T00:00:00Z')"
        )
        where, fix = str(store.path), "DELETE FROM"
    else:
        assert isinstance(store, RedisStateStore)
        store._redis.hset(store.prefix + "templates", "sipac", '{"pages": ')
        where, fix = store.prefix, "HDEL"
    with pytest.raises(StateError) as error:
        store.load_templates()
    message = str(error.value)
    assert "'sipac'" in message and where in message and fix in message


def test_run_log(store: StateBackend, clock: Clock) -> None:
    first = store.start_run()
    clock.now = "2026-11-25T12:30:00Z"
    store.finish_run(first, status="ok", exit_code=0, report={"items": 3, "sites": ["sipac"]})
    second = store.start_run()  # killed: never finished
    third = store.start_run()
    runs = store.runs()
    assert [run.run_id for run in runs] == [third, second, first]
    assert runs[1].status == "interrupted" and runs[1].finished is None
    assert runs[2].status == "ok" and runs[2].exit_code == 0
    assert runs[2].report == {"items": 3, "sites": ["sipac"]}
    assert runs[2].finished == "2026-11-25T12:30:00Z"
    with pytest.raises(ValueError, match="final status"):
        store.finish_run(third, status="running", exit_code=0)
    with pytest.raises(ValueError, match="no run 999"):
        store.finish_run(999, status="ok", exit_code=0)


# --- store: files it must refuse -----------------------------------------------------------------


def assert_recoverable(error: StateError, path: Path) -> None:
    message = str(error)
    assert str(path) in message
    assert "mv " in message and STATE_PATH_SETTING in message and "full=1" in message


def foreign_sqlite(path: Path) -> None:
    db = sqlite3.connect(path)
    db.execute("CREATE TABLE moz_places (id INTEGER PRIMARY KEY, url TEXT)")
    db.commit()
    db.close()


def other_application(path: Path) -> None:
    db = sqlite3.connect(path)
    db.execute("PRAGMA application_id = 1234")
    db.execute("CREATE TABLE t (x)")
    db.commit()
    db.close()


def text_file(path: Path) -> None:
    path.write_text("id,url\n1,http://example.gov.cn/\n" * 200)


def random_bytes(path: Path) -> None:
    path.write_bytes(bytes(range(256)) * 64)


@pytest.mark.parametrize(
    ("make", "words"),
    [
        (text_file, "cannot be read"),
        (random_bytes, "cannot be read"),
        (foreign_sqlite, "not parknews state"),
        (other_application, "another program"),
    ],
)
def test_foreign_files_are_refused_untouched(tmp_path: Path, make: Any, words: str) -> None:
    path = tmp_path / "state.db"
    make(path)
    before = path.read_bytes()
    with pytest.raises(StateError, match=words) as error:
        StateStore(path)
    assert_recoverable(error.value, path)
    assert path.read_bytes() == before


def test_state_from_a_newer_version_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "state.db"
    StateStore(path).close()
    db = sqlite3.connect(path)
    db.execute(f"PRAGMA user_version = {SCHEMA_VERSION + 1}")
    db.commit()
    db.close()
    with pytest.raises(StateError, match="newer than this parknews") as error:
        StateStore(path)
    assert_recoverable(error.value, path)


def test_state_missing_a_table_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "state.db"
    StateStore(path).close()
    db = sqlite3.connect(path)
    db.execute("DROP TABLE runs")
    db.commit()
    db.close()
    with pytest.raises(StateError, match="lacks table runs") as error:
        StateStore(path)
    assert_recoverable(error.value, path)


def test_damaged_state_is_reported_not_reset(tmp_path: Path) -> None:
    path = tmp_path / "state.db"
    with StateStore(path) as store:
        store.commit_written(
            [
                written(f"http://a.gov.cn/{n}.html", f"h{n}", record_id=f"{n:020d}")
                for n in range(400)
            ]
        )
    # Close checkpoints the WAL into the file; now scribble over everything past page one.
    raw = bytearray(path.read_bytes())
    raw[4096:] = b"\xa5" * (len(raw) - 4096)
    path.write_bytes(bytes(raw))
    with pytest.raises(StateError) as error, StateStore(path) as store:
        store.known(["a.gov.cn/1.html"])
    assert_recoverable(error.value, path)
    assert path.read_bytes() == bytes(raw)


def test_folder_as_state_path(tmp_path: Path) -> None:
    with pytest.raises(StateError, match="is a folder"):
        StateStore(tmp_path)


def test_state_folder_that_cannot_be_made(tmp_path: Path) -> None:
    blocker = tmp_path / "output"
    blocker.write_text("a file where the state folder should be")
    with pytest.raises(StateError, match=STATE_PATH_SETTING) as error:
        StateStore(blocker / "state" / "parknews.db")
    assert str(blocker / "state" / "parknews.db") in str(error.value)


# --- crash safety --------------------------------------------------------------------------------


def test_kill_in_the_middle_of_a_commit_keeps_the_previous_state(tmp_path: Path) -> None:
    path = tmp_path / "state.db"
    child = run_python(
        """
        import os, signal, sys
        from crawler.state.store import StateStore
        store = StateStore(sys.argv[1])
        store.commit_written([{"id": "kept", "url": "http://a.gov.cn/kept.html",
                               "site": "a", "content_hash": "h"}])
        db = store._db
        db.execute("BEGIN IMMEDIATE")
        for n in range(1000):
            db.execute(
                "INSERT INTO articles (key, id, canonical_url, site, content_hash, revision, "
                "first_seen, last_seen) VALUES (?, ?, ?, 'a', 'h', 1, 'now', 'now')",
                (f"a.gov.cn/{n}.html", f"id{n}", f"http://a.gov.cn/{n}.html"))
        os.kill(os.getpid(), signal.SIGKILL)
        """,
        str(path),
    )
    _, stderr = child.communicate(timeout=60)
    assert child.returncode == -signal.SIGKILL, stderr
    with StateStore(path) as store:
        assert store.article_count() == 1
        assert store.known(["a.gov.cn/kept.html", "a.gov.cn/1.html"]) == {"a.gov.cn/kept.html"}


def old_state_file(path: Path, version: int, articles: list[tuple[Any, ...]]) -> None:
    """A state file as the release of schema `version` left it: the migration steps up to
    that version (released steps are never edited), then `articles` as that release stored
    them: (key, id, content_hash, signature, duplicate_of)."""
    db = sqlite3.connect(path, isolation_level=None)
    for target, steps in MIGRATIONS:
        if target <= version:
            for step in steps:
                if isinstance(step, str):
                    db.execute(step)
                else:
                    step(db)  # a function step; it has no rows to convert yet
    db.execute(f"PRAGMA application_id = {APPLICATION_ID}")
    db.execute(f"PRAGMA user_version = {version}")
    db.executemany(
        "INSERT INTO articles (key, id, canonical_url, site, content_hash, signature, "
        "revision, duplicate_of, first_seen, last_seen) "
        "VALUES (?, ?, 'http://' || ?, 'sipac', ?, ?, 1, ?, 'then', 'then')",
        [(key, article_id, key, chash, sig, dup) for key, article_id, chash, sig, dup in articles],
    )
    db.close()


def test_a_version_1_state_file_is_migrated_and_keeps_its_articles(tmp_path: Path) -> None:
    path = tmp_path / "state.sqlite3"
    key = "www.sipac.gov.cn|trs:t20240315_1"
    old_state_file(path, 1, [(key, "0" * 20, "a" * 64, None, None)])
    with StateStore(path) as store:
        assert store.article_count() == 1
        assert store.gone(["x"], retry_days=7) == set()
        assert store.known([key]) == {key}


def test_a_version_2_state_file_gets_the_bands_of_its_signatures(tmp_path: Path) -> None:
    path = tmp_path / "state.sqlite3"
    old = bytes([SIGNATURE_SCHEME + 1]) + sig_of(TEXTS[1])[1:]
    old_state_file(
        path,
        2,
        [
            ("a.gov.cn/0.html", "original", "h0", sig_of(TEXTS[0]), None),
            ("a.gov.cn/1.html", "copy", "h1", sig_of(TEXTS[0]), "original"),
            ("a.gov.cn/2.html", "old-scheme", "h2", old, None),
            ("a.gov.cn/3.html", "unsigned", "h3", None, None),
        ],
    )
    with StateStore(path) as store:
        assert store._db.execute("PRAGMA user_version").fetchone()[0] == SCHEMA_VERSION
        assert store.article_count() == 4
        assert bands_of(store, "original") == 32 and band_rows(store) == 32
        assert store.near_duplicates(sig_of(NEAR_COPY), 0.6)[0][0] == "original"
        assert store.near_duplicates(sig_of(TEXTS[1]), 0.6) == []
        got = store.get("a.gov.cn/0.html")
        assert got is not None and got.signature == sig_of(TEXTS[0]) and got.first_seen == "then"
        store.commit_written(
            [written("http://a.gov.cn/4.html", "h4", record_id="new", signature=sig_of(TEXTS[1]))]
        )
    with StateStore(path) as store:
        assert [doc for doc, _ in store.near_duplicates(sig_of(TEXTS[1]), 0.6)] == ["new"]


SECTION = "http://www.sipac.gov.cn/szgyyq/yqyw/index.shtml"
OTHER_SECTION = "http://www.sipac.gov.cn/szgyyq/tsyq/index.shtml"


def test_a_version_3_state_file_gets_section_walks_none_of_them_complete(tmp_path: Path) -> None:
    path = tmp_path / "state.sqlite3"
    key = "www.sipac.gov.cn|trs:t20240315_1"
    old_state_file(path, 3, [(key, "0" * 20, "a" * 64, None, None)])
    with StateStore(path) as store:
        assert store._db.execute("PRAGMA user_version").fetchone()[0] == SCHEMA_VERSION
        assert store.known([key]) == {key}
        assert store.walk_complete("sipac", SECTION) is None
        store.mark_walks([("sipac", SECTION)], complete=True)
    with StateStore(path) as store:
        assert store.walk_complete("sipac", SECTION) is True


def test_section_walks_survive_reopening(open_store: Opener) -> None:
    with open_store() as store:
        assert store.walk_complete("sipac", SECTION) is None
        store.mark_walks([("sipac", SECTION), ("sipac", OTHER_SECTION)], complete=False)
        store.mark_walks([("sipac", SECTION)], complete=True)
    with open_store() as store:
        assert store.walk_complete("sipac", SECTION) is True
        assert store.walk_complete("sipac", OTHER_SECTION) is False
        assert store.walk_complete("generic", SECTION) is None
        store.mark_walks([("sipac", SECTION)], complete=False)
        assert store.walk_complete("sipac", SECTION) is False


def test_gone_links_are_known_until_their_retry_time(open_store: Opener) -> None:
    times = iter(["2026-11-01T00:00:00Z", "2026-11-05T00:00:00Z", "2026-11-20T00:00:00Z"])
    url = "http://www.sipac.gov.cn/szgyyq/tsyq/202410/t20241012_1178825.shtml"
    with open_store(clock=lambda: next(times)) as store:
        store.mark_gone(url, 404)
        key = article_key(url)
        assert store.gone([key], retry_days=7) == {key}
        assert store.gone([key], retry_days=7) == set()


# --- staged output batches -----------------------------------------------------------------------


def test_a_staged_batch_is_committed_whole_with_its_signatures(store: StateBackend) -> None:
    sig = signature("园区召开党工委政法工作会议，研究部署今后一个时期政法和基层社会治理工作。" * 3)
    records = [
        written("http://a.gov.cn/1.html", "h1", record_id="1", signature=sig),
        written("http://a.gov.cn/2.html", "h2", record_id="2"),
    ]
    store.stage_batch("/out/articles/r-001.jsonl", records)
    assert store.known(["a.gov.cn/1.html"]) == set()  # staged is not committed
    assert store.staged_batches() == ["/out/articles/r-001.jsonl"]
    result = store.commit_batch("/out/articles/r-001.jsonl", run_id=7)
    assert result.inserted == 2
    assert store.staged_batches() == []
    assert store.known(["a.gov.cn/1.html", "a.gov.cn/2.html"]) == {
        "a.gov.cn/1.html",
        "a.gov.cn/2.html",
    }
    found = store.get("a.gov.cn/1.html")
    assert found is not None and found.signature == sig and found.last_run == 7
    assert sig is not None and store.near_duplicates(sig, 0.9)[0][0] == "1"


def test_a_discarded_batch_leaves_no_trace(store: StateBackend) -> None:
    store.stage_batch(
        "/out/articles/r-001.jsonl", [written("http://a.gov.cn/1.html", "h", record_id="1")]
    )
    store.discard_batch("/out/articles/r-001.jsonl")
    assert store.staged_batches() == [] and store.article_count() == 0
    with pytest.raises(ValueError, match="no batch"):
        store.commit_batch("/out/articles/r-001.jsonl")


def test_staged_batches_survive_a_kill(tmp_path: Path) -> None:
    path = tmp_path / "state.db"
    child = run_python(
        """
        import os, signal, sys
        from crawler.state.store import StateStore
        store = StateStore(sys.argv[1])
        store.stage_batch("/out/articles/r-001.jsonl", [{"id": "x", "url": "http://a.gov.cn/x.html",
                          "site": "a", "content_hash": "h"}])
        os.kill(os.getpid(), signal.SIGKILL)
        """,
        str(path),
    )
    child.communicate(timeout=60)
    assert child.returncode == -signal.SIGKILL
    with StateStore(path) as store:
        assert store.staged_batches() == ["/out/articles/r-001.jsonl"]
        store.commit_batch("/out/articles/r-001.jsonl")
        assert store.known(["a.gov.cn/x.html"]) == {"a.gov.cn/x.html"}


def test_a_version_4_state_file_gets_the_batches_table(tmp_path: Path) -> None:
    path = tmp_path / "state.sqlite3"
    key = "www.sipac.gov.cn|trs:t20240315_1"
    old_state_file(path, 4, [(key, "0" * 20, "a" * 64, None, None)])
    with StateStore(path) as store:
        assert store._db.execute("PRAGMA user_version").fetchone()[0] == SCHEMA_VERSION == 5
        assert store.known([key]) == {key}
        assert store.staged_batches() == []


# --- integrity ----------------------------------------------------------------------------------


def test_the_integrity_check_finds_a_damaged_index(tmp_path: Path) -> None:
    path = tmp_path / "state.db"
    with StateStore(path) as store:
        store.commit_written(
            written(f"http://a.gov.cn/{n}.html", f"h{n}", record_id=str(n)) for n in range(2000)
        )
        store.check_integrity()  # a whole file passes
        page_size = store._db.execute("PRAGMA page_size").fetchone()[0]
        root = store._db.execute(
            "SELECT rootpage FROM sqlite_master WHERE name = 'articles_content_hash'"
        ).fetchone()[0]
    with path.open("r+b") as file:
        file.seek((root - 1) * page_size)
        file.write(b"\xff" * page_size)
    with StateStore(path) as store, pytest.raises(StateError) as error:
        store.check_integrity()
    message = str(error.value)
    assert "damaged" in message and str(path) in message and "move the file aside" in message


# --- two writers ---------------------------------------------------------------------------------


def test_a_record_naming_a_revision_already_stored_came_second(store: StateBackend) -> None:
    first = store.commit_written([written(ART, "h1", record_id="first", revision=1)])
    assert first.inserted == 1 and first.conflicts == ()
    second = store.commit_written(
        [written(ART_OTHER_COLUMN, "h2", record_id="second", revision=1)], run_id=3
    )
    assert (second.inserted, second.revised, second.unchanged) == (0, 0, 0)
    assert second.conflicts == (Conflict(ART_KEY, "second", "first"),)
    kept = store.get(ART_KEY)
    assert kept is not None
    assert (kept.id, kept.content_hash, kept.revision, kept.canonical_url, kept.last_run) == (
        "first",
        "h1",
        1,
        ART,
        None,
    )
    # The next revision is taken; the same revision again comes second.
    assert store.commit_written([written(ART, "h3", revision=2)]).revised == 1
    late = store.commit_written([written(ART, "h4", record_id="late", revision=2)])
    assert late.conflicts == (Conflict(ART_KEY, "late", "first"),)
    # A record without a revision never comes second: it takes the next one.
    assert store.commit_written([written(ART, "h5")]).revised == 1
    state = store.get(ART_KEY)
    assert state is not None and (state.revision, state.content_hash) == (3, "h5")


def test_a_record_claiming_content_another_article_holds_is_stored_as_its_copy(
    store: StateBackend,
) -> None:
    sig = sig_of(TEXTS[0])
    claim = {"claims_content": True, "signature": sig, "revision": 1}
    store.commit_written([written("http://a.gov.cn/1.html", "same", record_id="one", **claim)])
    result = store.commit_written(
        [written("http://b.gov.cn/1.html", "same", record_id="two", **claim)]
    )
    assert result.inserted == 1
    assert result.conflicts == (Conflict("b.gov.cn/1.html", "two", "one"),)
    copy = store.get("b.gov.cn/1.html")
    assert copy is not None and copy.duplicate_of == "one"
    assert store.near_duplicates(sig, 0.9) == [("one", 1.0)]  # the copy is not filed
    assert band_rows(store) == 32
    # A record that does not claim its content (a short body, "详见附件。") is its own article.
    plain = store.commit_written([written("http://c.gov.cn/1.html", "same", record_id="three")])
    assert plain.conflicts == ()
    third = store.get("c.gov.cn/1.html")
    assert third is not None and third.duplicate_of is None
