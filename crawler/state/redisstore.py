"""The crawl state in Redis, shared by workers that crawl together: the same data and meaning
as the SQLite `StateStore`, under one key prefix per namespace.

Every key starts with `parknews:<namespace>:` (`key_prefix`). After the prefix:

- `meta` (hash): `format`, the layout version of the namespace (FORMAT).
- `seq` (string): the counter that numbers articles in commit order.
- `article:<key>` (hash): one article: `id`, `canonical_url`, `site`, `content_hash`,
  `fingerprint` (signed int64, as text), `signature` (bytes), `revision`, `duplicate_of`,
  `first_seen`, `last_seen`, `last_run`, `num` (its number), `bands` (the band keys it is
  filed under, comma-separated).
- `articles` (sorted set): every article key, scored by its number.
- `hash:<content_hash>` (sorted set): the keys of the articles whose latest body has that
  hash, scored by number.
- `site:<site>` (sorted set): the keys of the site's articles, scored by their first commit
  (Unix time).
- `bands:<band key // BAND_BUCKET_SIZE>` (hash): band key → the numbers of the articles (no
  copies) filed under that LSH band, comma-separated.
- `gone` (hash): article key → JSON {url, status, first_seen, last_checked} of a link that
  answered 404 or 410.
- `walks` (hash): JSON [site, section_url] → JSON {complete, updated}.
- `templates` (hash): site → its template counts (JSON the store does not interpret).
- `batches` (hash): output file path → JSON {rows, staged, seq} of a staged batch;
  `batch_seq` (string) orders them.
- `runs` (hash): run_id → JSON {started, finished, status, exit_code, report};
  `run_seq` (string): the last run_id given; `runs:running` (set): run_ids still running.

The run that workers share, the shared frontier and the per-host politeness slots live under
the same prefix; `crawler.state.sharedrun` and `crawler.middlewares.politeness` list their keys.

Writes that must be whole are Lua scripts (`COMMIT_SCRIPT`, `START_RUN_SCRIPT`,
`FINISH_RUN_SCRIPT`; `NEAR_SCRIPT` reads the band index in one round trip), run with
EVALSHA and loaded again after a SCRIPT FLUSH or a server restart. They name their keys from
the prefix, so the store needs one Redis server, not a cluster.
"""

from __future__ import annotations

import contextlib
import json
from collections.abc import Callable, Iterable, Iterator, Mapping
from datetime import timedelta
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit, urlunsplit

try:
    import redis
except ImportError:  # without the "redis" extra; RedisStateStore then says what to install
    redis = None  # type: ignore[assignment]

from crawler.cms import article_key
from crawler.state.articles import (
    ARTICLE_COLUMNS,
    ArticleState,
    CommitResult,
    Conflict,
    article_row,
    fingerprint_to_hex,
    loaded_row,
    stored_row,
)
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
from crawler.state.errors import StateError
from crawler.text.dates import UTC_FORMAT, parse_utc, utc_now
from crawler.text.minhash import band_keys, check_signature, is_current, rank

if TYPE_CHECKING:
    from redis.typing import EncodableT, FieldT

FORMAT = 1
"""Version of the key layout above, kept in `meta`; a namespace of a newer one is refused."""

QUERY_CHUNK = 500
"""Keys asked for in one command."""

BAND_BUCKET_SIZE = 1 << 16
"""Band keys per `bands:<bucket>` hash. Filing the 32 bands of an article as fields of shared
hashes rather than a set each keeps the index to about a tenth of the memory (Redis keeps a
small hash as one compact list): 65,536 buckets hold up to 8 million bands (250,000 articles)
in that form with Redis's default hash-max-listpack-entries of 128."""

COMMIT_SCRIPT = """
-- ARGV[1]: key prefix; ARGV[2]: JSON {now, first_seen_score, run_id, batch, batch_value,
-- rows}; ARGV[3..]: the rows' signatures, which a row names by position (field "sig").
-- Commits every row, in order, as one step no other client can interleave with.
local P = ARGV[1]
local call = cjson.decode(ARGV[2])
if call.batch then
  if redis.call('HGET', P .. 'batches', call.batch) ~= call.batch_value then
    return redis.error_reply('NOBATCH the batch is not staged as it was read')
  end
  redis.call('HDEL', P .. 'batches', call.batch)
end
local run_id = call.run_id
local inserted, revised, unchanged = 0, 0, 0
local conflicts = {}

local function bucket(band)
  return P .. 'bands:' .. math.floor(tonumber(band) / call.bucket_size)
end

local function file_bands(num, bands)
  for _, band in ipairs(bands) do
    local nums = redis.call('HGET', bucket(band), band)
    if not nums then
      redis.call('HSET', bucket(band), band, num)
    elseif not (',' .. nums .. ','):find(',' .. num .. ',', 1, true) then
      redis.call('HSET', bucket(band), band, nums .. ',' .. num)
    end
  end
  return table.concat(bands, ',')
end

local function drop_bands(num, listed)
  for band in string.gmatch(listed or '', '[^,]+') do
    local kept = {}
    for other in string.gmatch(redis.call('HGET', bucket(band), band) or '', '[^,]+') do
      if other ~= num then kept[#kept + 1] = other end
    end
    if #kept > 0 then
      redis.call('HSET', bucket(band), band, table.concat(kept, ','))
    else
      redis.call('HDEL', bucket(band), band)
    end
  end
end

-- Set the optional fields a row gives, delete those it leaves out.
local function optional(key, row, sig)
  local set, unset = {}, {}
  local values = {fingerprint = row.fingerprint, signature = sig,
                  duplicate_of = row.duplicate_of, last_run = run_id}
  for _, name in ipairs({'fingerprint', 'signature', 'duplicate_of', 'last_run'}) do
    if values[name] ~= nil then
      set[#set + 1] = name
      set[#set + 1] = values[name]
    else
      unset[#unset + 1] = name
    end
  end
  if #set > 0 then redis.call('HSET', key, unpack(set)) end
  if #unset > 0 then redis.call('HDEL', key, unpack(unset)) end
end

for _, row in ipairs(call.rows) do
  local ak = P .. 'article:' .. row.key
  local stored = redis.call('HMGET', ak, 'id', 'content_hash', 'revision', 'bands', 'num')
  local sig = nil
  if row.sig then sig = ARGV[2 + row.sig] end
  if not stored[1] then
    local bands = row.bands
    if row.claims_content and row.duplicate_of == nil then
      for _, other in ipairs(redis.call('ZRANGE', P .. 'hash:' .. row.content_hash, 0, -1)) do
        local found = redis.call('HMGET', P .. 'article:' .. other, 'id', 'duplicate_of')
        if not found[2] and found[1] ~= row.id then
          row.duplicate_of = found[1]
          conflicts[#conflicts + 1] = {row.key, row.id, found[1]}
          bands = {}
          break
        end
      end
    end
    local num = redis.call('INCR', P .. 'seq')
    redis.call('HSET', ak, 'id', row.id, 'canonical_url', row.canonical_url,
      'site', row.site, 'content_hash', row.content_hash, 'revision', row.revision or 1,
      'first_seen', call.now, 'last_seen', call.now, 'num', num,
      'bands', file_bands(num, bands))
    optional(ak, row, sig)
    redis.call('ZADD', P .. 'articles', num, row.key)
    redis.call('ZADD', P .. 'hash:' .. row.content_hash, num, row.key)
    redis.call('ZADD', P .. 'site:' .. row.site, call.first_seen_score, row.key)
    inserted = inserted + 1
  elseif row.revision and tonumber(stored[3]) >= row.revision then
    conflicts[#conflicts + 1] = {row.key, row.id, stored[1]}
  elseif stored[2] ~= row.content_hash then
    redis.call('ZREM', P .. 'hash:' .. stored[2], row.key)
    redis.call('ZADD', P .. 'hash:' .. row.content_hash, stored[5], row.key)
    drop_bands(stored[5], stored[4])
    redis.call('HSET', ak, 'canonical_url', row.canonical_url,
      'content_hash', row.content_hash, 'revision', row.revision or tonumber(stored[3]) + 1,
      'last_seen', call.now, 'bands', file_bands(stored[5], row.bands))
    optional(ak, row, sig)
    revised = revised + 1
  else
    redis.call('HSET', ak, 'last_seen', call.now)
    if run_id ~= nil then
      redis.call('HSET', ak, 'last_run', run_id)
    else
      redis.call('HDEL', ak, 'last_run')
    end
    unchanged = unchanged + 1
  end
end
return {inserted, revised, unchanged, conflicts}
"""
"""Check-and-insert of written records: see `RedisStateStore.commit_written`."""

NEAR_SCRIPT = """
-- ARGV[1]: key prefix; ARGV[2]: JSON [[bucket, band key], ...] of a signature's bands.
-- Returns id, signature, id, signature, ... of the articles (no copies) filed under any.
local P = ARGV[1]
local seen, found = {}, {}
for _, pair in ipairs(cjson.decode(ARGV[2])) do
  for num in string.gmatch(redis.call('HGET', P .. 'bands:' .. pair[1], pair[2]) or '', '[^,]+') do
    if not seen[num] then
      seen[num] = true
      local key = redis.call('ZRANGEBYSCORE', P .. 'articles', num, num)[1]
      if key then
        local a = redis.call('HMGET', P .. 'article:' .. key, 'id', 'signature', 'duplicate_of')
        if a[1] and a[2] and not a[3] then
          found[#found + 1] = a[1]
          found[#found + 1] = a[2]
        end
      end
    end
  end
end
return found
"""
"""The candidates of `RedisStateStore.near_duplicates`, in one round trip."""

START_RUN_SCRIPT = """
-- ARGV[1]: key prefix; ARGV[2]: now. Marks the runs logged as running interrupted and
-- logs a new one; returns its run_id.
local P = ARGV[1]
for _, id in ipairs(redis.call('SMEMBERS', P .. 'runs:running')) do
  local run = cjson.decode(redis.call('HGET', P .. 'runs', id))
  run.status = 'interrupted'
  redis.call('HSET', P .. 'runs', id, cjson.encode(run))
end
redis.call('DEL', P .. 'runs:running')
local id = redis.call('INCR', P .. 'run_seq')
redis.call('HSET', P .. 'runs', id, cjson.encode({started = ARGV[2], status = 'running'}))
redis.call('SADD', P .. 'runs:running', id)
return id
"""
"""`RedisStateStore.start_run`, whole."""

FINISH_RUN_SCRIPT = """
-- ARGV[1]: key prefix; ARGV[2]: run_id; ARGV[3]: JSON of the run's end. 0 when no such run.
local P = ARGV[1]
local stored = redis.call('HGET', P .. 'runs', ARGV[2])
if not stored then return 0 end
local run = cjson.decode(stored)
for name, value in pairs(cjson.decode(ARGV[3])) do run[name] = value end
redis.call('HSET', P .. 'runs', ARGV[2], cjson.encode(run))
redis.call('SREM', P .. 'runs:running', ARGV[2])
return 1
"""
"""`RedisStateStore.finish_run`, whole."""


def key_prefix(namespace: str) -> str:
    """The prefix of every key of the namespace; ValueError for a namespace that would blur
    it."""
    if not namespace or any(char in namespace for char in ":{}* \t\r\n"):
        raise ValueError(
            f"a Redis namespace is a non-empty name without ':', braces, '*' or spaces, "
            f"got {namespace!r}"
        )
    return f"parknews:{namespace}:"


def safe_url(url: str) -> str:
    """`url` without its password, for messages."""
    parts = urlsplit(url)
    if parts.password is None:
        return url
    host = parts.hostname or ""
    netloc = f"{parts.username or ''}:***@{host}" + (f":{parts.port}" if parts.port else "")
    return urlunsplit(parts._replace(netloc=netloc))


def connect(url: str, namespace: str) -> tuple[redis.Redis, str, str]:
    """A Redis client for `url` (not yet connected), the namespace's key prefix, and how
    messages name the two; StateError for a URL that is not Redis's or a missing client."""
    where = f"Redis {safe_url(url)} namespace {namespace!r}"
    prefix = key_prefix(namespace)
    if redis is None:
        raise StateError(
            f"REDIS_URL is set ({safe_url(url)}) but the Redis client is not installed: "
            f"pip install 'parknews[redis]', or unset REDIS_URL to keep the state in SQLite"
        )
    try:
        client = redis.Redis.from_url(url, socket_timeout=30, socket_connect_timeout=10)
    except ValueError as exc:
        raise StateError(f"REDIS_URL {safe_url(url)!r} is not a Redis URL: {exc}") from None
    return client, prefix, where


def _text(value: bytes | None) -> str | None:
    return None if value is None else value.decode("utf-8")


def _str(value: Any) -> str:
    """A key or value as Redis gave it back (bytes: the client does not decode)."""
    return value.decode("utf-8") if isinstance(value, bytes) else str(value)


def _lua_row(row: Mapping[str, Any], position: int | None) -> dict[str, Any]:
    """An `article_row` as `COMMIT_SCRIPT` reads it: optional fields left out rather than
    null, the fingerprint as text (Lua numbers are doubles), the signature by position and
    the band keys it is filed under. ValueError for a value the script could not store: a
    script stopped by an error keeps what it wrote before it, so every row is checked first."""
    if not isinstance(row["duplicate_of"], (str, type(None))):
        raise ValueError(f"duplicate_of must be a record id or None, got {row['duplicate_of']!r}")
    sig = row["signature"]
    searched = sig is not None and row["duplicate_of"] is None and is_current(sig)
    out = {
        "key": row["key"],
        "id": row["id"],
        "canonical_url": row["canonical_url"],
        "site": row["site"],
        "content_hash": row["content_hash"],
        "bands": [str(band) for band in band_keys(sig)] if searched else [],
        "claims_content": bool(row.get("claims_content")),
    }
    optional = {
        "revision": row["revision"],
        "duplicate_of": row["duplicate_of"],
        "fingerprint": None if row["fingerprint"] is None else str(row["fingerprint"]),
        "sig": position,
    }
    out.update((name, value) for name, value in optional.items() if value is not None)
    return out


class RedisStateStore(Closing):
    """The crawl state in one Redis namespace; see the module docstring for its keys.

    Opening connects and checks the namespace's layout version: StateError, naming the
    server (never its password) and what to do, when the server cannot be reached or the
    namespace was written by a newer parknews. Any Redis error later is a StateError too.
    Each worker opens its own store; they share what they commit.
    """

    def __init__(
        self,
        url: str,
        *,
        namespace: str = "default",
        clock: Callable[[], str] = utc_now,
    ) -> None:
        self.url = url
        self.namespace = namespace
        self._clock = clock
        self._redis, self.prefix, self.where = connect(url, namespace)
        self._commit = self._redis.register_script(COMMIT_SCRIPT)
        self._near = self._redis.register_script(NEAR_SCRIPT)
        self._start_run = self._redis.register_script(START_RUN_SCRIPT)
        self._finish_run = self._redis.register_script(FINISH_RUN_SCRIPT)
        try:
            self.check_integrity(create=True)
        except BaseException:
            self.close()
            raise

    def _key(self, *parts: str) -> str:
        return self.prefix + ":".join(parts)

    @contextlib.contextmanager
    def _guard(self) -> Iterator[None]:
        """Turn Redis errors into a StateError that names the server and namespace."""
        try:
            yield
        except redis.ConnectionError as exc:
            raise StateError(
                f"cannot reach {self.where} ({exc}): start the server, or check REDIS_URL "
                f"(host, port, password) and that this host may connect to it"
            ) from None
        except redis.RedisError as exc:
            raise StateError(f"{self.where} refused a state operation: {exc}") from None

    def check_integrity(self, *, create: bool = False) -> None:
        """StateError unless the server answers and the namespace's layout is one this
        version reads (`create`: claim an empty namespace for it)."""
        meta = self._key("meta")
        with self._guard():
            if create:
                self._redis.hsetnx(meta, "format", FORMAT)
            stored = self._redis.hget(meta, "format")
        if stored is None and not create:
            return
        if stored is None or not stored.isdigit():
            raise StateError(
                f"{self.where} holds no parknews layout version ({meta} is {stored!r}); "
                f"it was altered. Delete the namespace's keys (parknews:{self.namespace}:*) "
                f"to start afresh, or choose another PARKNEWS_REDIS_NAMESPACE."
            )
        if int(stored) > FORMAT:
            raise StateError(
                f"{self.where} has state layout {int(stored)}, newer than this parknews "
                f"understands ({FORMAT}): run the parknews version that wrote it, or choose "
                f"another PARKNEWS_REDIS_NAMESPACE."
            )

    def close(self) -> None:
        """Close the connections (idempotent)."""
        self._redis.close()

    # -- articles

    def known(self, keys: Iterable[str]) -> set[str]:
        """The keys among `keys` of articles already committed."""
        wanted = list(dict.fromkeys(keys))
        found: set[str] = set()
        with self._guard():
            for start in range(0, len(wanted), QUERY_CHUNK):
                chunk = wanted[start : start + QUERY_CHUNK]
                scores = self._redis.zmscore(self._key("articles"), chunk)
                found.update(
                    key for key, score in zip(chunk, scores, strict=True) if score is not None
                )
        return found

    def gone(self, keys: Iterable[str], *, retry_days: float, now: str | None = None) -> set[str]:
        """The keys among `keys` of article links that answered 404/410 within `retry_days`:
        not worth fetching again yet."""
        since = (parse_utc(now or self._clock()) - timedelta(days=retry_days)).strftime(UTC_FORMAT)
        wanted = list(dict.fromkeys(keys))
        found: set[str] = set()
        with self._guard():
            for start in range(0, len(wanted), QUERY_CHUNK):
                chunk = wanted[start : start + QUERY_CHUNK]
                for key, entry in zip(
                    chunk, self._redis.hmget(self._key("gone"), chunk), strict=True
                ):
                    if entry is not None and json.loads(entry)["last_checked"] >= since:
                        found.add(key)
        return found

    def mark_gone(self, url: str, status: int) -> None:
        """Remember that the article link `url` answered `status` (404, 410) just now."""
        now = self._clock()
        key = article_key(url)
        gone = self._key("gone")
        with self._guard():
            stored = self._redis.hget(gone, key)
            first = json.loads(stored)["first_seen"] if stored else now
            entry = {"url": url, "status": status, "first_seen": first, "last_checked": now}
            self._redis.hset(gone, key, json.dumps(entry, ensure_ascii=False))

    _FIELDS = (*ARTICLE_COLUMNS.split(", ")[1:], "num")
    """The fields of an article's hash that `_state` reads: the columns after the key."""

    def _states(self, keys: list[str]) -> list[tuple[ArticleState, int] | None]:
        """What the store holds for each of `keys` (with the article's number), or None."""
        with self._guard():
            pipe = self._redis.pipeline(transaction=False)
            for key in keys:
                pipe.hmget(self._key("article", key), self._FIELDS)
            found = pipe.execute()
        return [self._state(key, values) for key, values in zip(keys, found, strict=True)]

    @staticmethod
    def _state(key: str, values: list[bytes | None]) -> tuple[ArticleState, int] | None:
        (aid, url, site, chash, fingerprint, sig, revision, dup, first, last, run, num) = values
        if aid is None:
            return None
        state = ArticleState(
            key=key,
            id=aid.decode(),
            canonical_url=str(_text(url)),
            site=str(_text(site)),
            content_hash=str(_text(chash)),
            fingerprint=fingerprint_to_hex(None if fingerprint is None else int(fingerprint)),
            signature=sig,
            revision=int(revision or 1),
            duplicate_of=_text(dup),
            first_seen=str(_text(first)),
            last_seen=str(_text(last)),
            last_run=None if run is None else int(run),
        )
        return state, int(num or 0)

    def get(self, key: str) -> ArticleState | None:
        """What the store holds for the article `key`, or None."""
        found = self._states([key])[0]
        return None if found is None else found[0]

    def find_by_content_hash(self, content_hash: str) -> ArticleState | None:
        """The first-committed article whose latest body has `content_hash`, preferring one
        that is not itself a duplicate, or None."""
        with self._guard():
            keys = [_str(k) for k in self._redis.zrange(self._key("hash", content_hash), 0, -1)]
        found = [state for state in self._states(keys) if state is not None]
        if not found:
            return None
        return min(found, key=lambda s: (s[0].duplicate_of is not None, s[0].first_seen, s[1]))[0]

    def article_count(self) -> int:
        """How many articles the store holds."""
        with self._guard():
            return int(self._redis.zcard(self._key("articles")))

    def recent_article_count(self, site: str, *, days: float = 30.0, now: str | None = None) -> int:
        """Articles of `site` first committed in the `days` days before `now` (default: the
        store's clock)."""
        since = parse_utc(now or self._clock()) - timedelta(days=days)
        with self._guard():
            return int(self._redis.zcount(self._key("site", site), since.timestamp(), "+inf"))

    def iter_signatures(self) -> Iterator[tuple[str, bytes]]:
        """(record id, MinHash signature) of every stored article that is not a duplicate,
        in commit order: what a near-duplicate index is rebuilt from."""
        start = 0
        while True:
            with self._guard():
                chunk = self._redis.zrange(self._key("articles"), start, start + QUERY_CHUNK - 1)
                pipe = self._redis.pipeline(transaction=False)
                for key in chunk:
                    pipe.hmget(self._key("article", _str(key)), "id", "signature", "duplicate_of")
                rows = pipe.execute()
            for article_id, sig, dup in rows:
                if article_id is not None and sig is not None and dup is None:
                    yield article_id.decode(), sig
            if len(chunk) < QUERY_CHUNK:
                return
            start += QUERY_CHUNK

    def near_duplicates(self, sig: bytes, threshold: float) -> list[tuple[str, float]]:
        """(record id, estimated similarity) of the stored articles that share an LSH band
        with the signature `sig` and whose similarity to it reaches `threshold`, most similar
        first. Duplicates are never found: their copies were not stored."""
        check_signature(sig)
        bands = [[str(band // BAND_BUCKET_SIZE), str(band)] for band in band_keys(sig)]
        with self._guard():
            found = self._near(args=[self.prefix, json.dumps(bands)])
        candidates = [(_str(found[i]), bytes(found[i + 1])) for i in range(0, len(found), 2)]
        return rank(sig, candidates, threshold)

    def commit_written(
        self, records: Iterable[Mapping[str, Any]], *, run_id: int | None = None
    ) -> CommitResult:
        """Remember records that have been durably written, in one step (`COMMIT_SCRIPT`)
        that no other worker's commit interleaves with: see `StateStore.commit_written`,
        whose meaning this keeps, conflicts between writers included."""
        return self._run_commit([article_row(record) for record in records], run_id=run_id)

    def _run_commit(
        self,
        rows: list[dict[str, Any]],
        *,
        run_id: int | None,
        batch: tuple[str, str] | None = None,
    ) -> CommitResult:
        now = self._clock()
        signatures: list[bytes] = []
        lua_rows = []  # every row is checked before any is written
        for row in rows:
            position = None
            if row["signature"] is not None:
                signatures.append(row["signature"])
                position = len(signatures)
            lua_rows.append(_lua_row(row, position))
        call: dict[str, Any] = {
            "bucket_size": BAND_BUCKET_SIZE,
            "now": now,
            "first_seen_score": parse_utc(now).timestamp(),
            "rows": lua_rows,
        }
        if run_id is not None:
            call["run_id"] = run_id
        if batch is not None:
            call["batch"] = batch[0]
            call["batch_value"] = batch[1]
        try:
            with self._guard():
                inserted, revised, unchanged, conflicts = self._commit(
                    args=[self.prefix, json.dumps(call, ensure_ascii=False), *signatures]
                )
        except StateError as exc:
            if batch is not None and "NOBATCH" in str(exc):
                raise ValueError(f"no batch {batch[0]} is staged in {self.where}") from None
            raise
        return CommitResult(
            inserted,
            revised,
            unchanged,
            tuple(Conflict(*(_str(part) for part in c)) for c in conflicts),
        )

    # -- output batches

    def stage_batch(self, path: str, records: Iterable[Mapping[str, Any]]) -> None:
        """Record that the output file `path` is about to be put in place holding `records`
        (as `commit_written` takes them): call it before the file gets its final name, and
        `commit_batch` after. A batch staged again replaces the earlier one."""
        rows = [stored_row(article_row(record)) for record in records]
        with self._guard():
            seq = self._redis.incr(self._key("batch_seq"))
            entry = {"rows": rows, "staged": self._clock(), "seq": seq}
            self._redis.hset(self._key("batches"), path, json.dumps(entry, ensure_ascii=False))

    def commit_batch(self, path: str, *, run_id: int | None = None) -> CommitResult:
        """Commit the records of the staged batch `path` and forget the batch, in one step:
        the file is in place. ValueError when no batch `path` is staged."""
        with self._guard():
            stored = self._redis.hget(self._key("batches"), path)
        if stored is None:
            raise ValueError(f"no batch {path} is staged in {self.where}")
        rows = [loaded_row(row) for row in json.loads(stored)["rows"]]
        return self._run_commit(rows, run_id=run_id, batch=(path, _str(stored)))

    def discard_batch(self, path: str) -> None:
        """Forget the staged batch `path`: its file never got its final name."""
        with self._guard():
            self._redis.hdel(self._key("batches"), path)

    def staged_batches(self) -> list[str]:
        """The paths of the batches staged and not yet committed or discarded, oldest first."""
        with self._guard():
            stored = self._redis.hgetall(self._key("batches"))
        order = []
        for path, entry in stored.items():
            batch = json.loads(entry)
            order.append((batch["staged"], batch["seq"], _str(path)))
        return [path for _, _, path in sorted(order)]

    # -- section walks

    @staticmethod
    def _walk(site: str, section_url: str) -> str:
        return json.dumps([site, section_url], ensure_ascii=False)

    def walk_complete(self, site: str, section_url: str) -> bool | None:
        """Whether the last walk of the section of `site` whose first list page is
        `section_url` was recorded complete; None when no walk of it was recorded."""
        with self._guard():
            stored = self._redis.hget(self._key("walks"), self._walk(site, section_url))
        return None if stored is None else bool(json.loads(stored)["complete"])

    def mark_walks(self, walks: Iterable[tuple[str, str]], *, complete: bool) -> None:
        """Record the walks of the sections `walks` ((site, section_url) pairs) as complete or
        not, in one step."""
        entry = json.dumps({"complete": complete, "updated": self._clock()})
        mapping: dict[FieldT, EncodableT] = {self._walk(site, url): entry for site, url in walks}
        if mapping:
            with self._guard():
                self._redis.hset(self._key("walks"), mapping=mapping)

    # -- site templates

    def load_templates(self) -> dict[str, Any]:
        """The stored template counts of the body cleaning, as {site: payload}: the payloads
        `update_templates` stored, which the store does not interpret."""
        with self._guard():
            stored = self._redis.hgetall(self._key("templates"))
        pairs = [(_str(site), _str(payload)) for site, payload in stored.items()]
        return template_payloads(pairs, self.bad_template)

    def bad_template(self, site: str, problem: str) -> StateError:
        """The error for stored template counts of `site` that cannot be used, saying how to
        delete them."""
        delete = f"redis-cli -u URL HDEL {self._key('templates')} {site}"
        return malformed_templates(site, self.where, problem, delete)

    def update_templates(self, change: Callable[[dict[str, Any]], Mapping[str, Any]]) -> None:
        """Store what `change` makes of the stored template counts ({site: payload}, as
        `load_templates` reads them): the sites it returns are stored, unless another worker
        changed the counts meanwhile, in which case `change` is asked again of theirs."""
        key = self._key("templates")
        with self._guard(), self._redis.pipeline() as pipe:
            while True:
                try:
                    pipe.watch(key)  # type: ignore[no-untyped-call]
                    stored = pipe.hgetall(key)
                    pairs = [(_str(site), _str(payload)) for site, payload in stored.items()]
                    sites = change(template_payloads(pairs, self.bad_template))
                    mapping: dict[FieldT, EncodableT] = {
                        site: template_json(payload) for site, payload in sites.items()
                    }
                    pipe.multi()
                    if mapping:
                        pipe.hset(key, mapping=mapping)
                    pipe.execute()
                    return
                except redis.WatchError:
                    continue

    # -- runs

    def start_run(self) -> int:
        """Log the start of a run and return its run_id. Runs still logged as running are
        marked "interrupted"."""
        with self._guard():
            return int(self._start_run(args=[self.prefix, self._clock()]))

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
        end = {
            "finished": self._clock(),
            "status": status,
            "exit_code": exit_code,
            "report": report_json(report),
        }
        with self._guard():
            done = self._finish_run(args=[self.prefix, run_id, json.dumps(end)])
        if not done:
            raise ValueError(f"no run {run_id} in {self.where}")

    def runs(self, limit: int = 20) -> list[RunInfo]:
        """The latest `limit` runs, newest first."""
        with self._guard():
            last = int(self._redis.get(self._key("run_seq")) or 0)
            ids = list(range(last, max(last - limit, 0), -1))
            stored = self._redis.hmget(self._key("runs"), ids) if ids else []
        found = []
        for run_id, entry in zip(ids, stored, strict=True):
            if entry is None:
                continue
            run = json.loads(entry)
            report = run.get("report")
            found.append(
                RunInfo(
                    run_id,
                    run["started"],
                    run.get("finished"),
                    run["status"],
                    run.get("exit_code"),
                    json.loads(report) if report else None,
                )
            )
        return found


_CHECKED: type[StateBackend] = RedisStateStore
"""mypy checks here that the Redis store has every method of the interface."""
