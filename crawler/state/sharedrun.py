"""One crawl shared by several workers through Redis: who takes part, when the crawl is over,
and which worker closes it.

A worker joins the namespace's current run, or starts one when there is none (`join`). Runs
do not overlap: a worker that arrives more than PARKNEWS_REDIS_JOIN_SECONDS after the current
run started, while one of its workers is still alive, is refused (`RunInProgress`, exit 75);
a run whose workers all died is abandoned (logged "interrupted") and a new one starts. Each
worker keeps a heartbeat key alive while it runs; a worker whose heartbeat expired counts as
dead wherever liveness matters.

The crawl is over when the shared frontier is empty and every live worker is idle (`idle`).
The last worker to leave (`leave`) closes the run: it alone records the section walks that
the run completed, and only when every worker ended cleanly (a worker that died may have
taken articles with it, which the next run must find again by walking those sections whole).

Keys, after the namespace's prefix (`crawler.state.redisstore.key_prefix`):

- `run` (hash): the current run: `id` (its number in the run log), `name` (of its output
  files), `started` (Unix time).
- `run:workers` (hash): worker → "busy", "idle", "done" (left cleanly) or "failed".
- `run:reports` (hash): worker → JSON of its run report, for the closer to merge.
- `run:walks` (hash): JSON [site, section_url] → "ended" or "failed", from every worker.
- `worker:<worker>` (string with a TTL): the worker's heartbeat.
- `run:claims` (hash): article key → "<worker>\t<record id>" of each new article a worker
  claimed before writing it; `run:claimhash` (content hash → key), `run:claimsig` (key →
  MinHash signature) and `run:claimbands` (LSH band → keys) find copies among the claims;
  `run:bodies` (record id → body) keeps the articles that a crawled mirror copies.
- `frontier:queue`, `frontier:seen:<run id>`: the shared frontier (crawler.frontier).
"""

from __future__ import annotations

import json
import os
import re
import socket
import time
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

try:
    import redis
except ImportError:  # without the "redis" extra; RedisStateStore says what to install
    redis = None  # type: ignore[assignment]

from scrapy.settings import BaseSettings

from crawler.default_settings import parknews_settings, redis_url
from crawler.state.errors import StateError
from crawler.state.redisstore import connect
from crawler.text.minhash import band_keys

SHARED_RUN_SETTING = "_PARKNEWS_SHARED_RUN"
"""The run this process joined (`SharedRun.as_dict`), set when it joins."""

HEARTBEATS_PER_TTL = 6
"""How many times a worker renews its heartbeat while one lasts
(PARKNEWS_REDIS_HEARTBEAT_SECONDS)."""

_LIVE = """
local function live(P, worker)
  return redis.call('EXISTS', P .. 'worker:' .. worker) == 1
end
"""

JOIN_SCRIPT = (
    _LIVE
    + """
-- ARGV: prefix, now, worker, join window (s), heartbeat TTL (ms), name for a new run, the
-- run log entry of a new run (JSON), JSON of the run's keys (RUN_KEYS). Returns
-- {'joined'|'started', id, name, started} or {'busy', id, name, started}.
local P, now, worker = ARGV[1], tonumber(ARGV[2]), ARGV[3]
local window, ttl = tonumber(ARGV[4]), tonumber(ARGV[5])
local run = redis.call('HMGET', P .. 'run', 'id', 'name', 'started')
if run[1] then
  local alive = false
  local states = redis.call('HGETALL', P .. 'run:workers')
  for i = 1, #states, 2 do
    if states[i + 1] ~= 'done' and states[i + 1] ~= 'failed' and live(P, states[i]) then
      alive = true
    end
  end
  if alive then
    if now - tonumber(run[3]) <= window then
      redis.call('HSET', P .. 'run:workers', worker, 'busy')
      redis.call('SET', P .. 'worker:' .. worker, '1', 'PX', ttl)
      return {'joined', run[1], run[2], run[3]}
    end
    return {'busy', run[1], run[2], run[3]}
  end
  -- Every worker of the current run died or left without closing it: abandon it.
  local logged = redis.call('HGET', P .. 'runs', run[1])
  if logged then
    local entry = cjson.decode(logged)
    if entry.status == 'running' then
      entry.status = 'interrupted'
      redis.call('HSET', P .. 'runs', run[1], cjson.encode(entry))
    end
  end
  redis.call('SREM', P .. 'runs:running', run[1])
  for _, name in ipairs(cjson.decode(ARGV[8])) do redis.call('DEL', P .. name) end
  redis.call('DEL', P .. 'frontier:seen:' .. run[1])
end
local id = redis.call('INCR', P .. 'run_seq')
redis.call('HSET', P .. 'runs', id, ARGV[7])
redis.call('SADD', P .. 'runs:running', id)
redis.call('HSET', P .. 'run', 'id', id, 'name', ARGV[6], 'started', ARGV[2])
redis.call('HSET', P .. 'run:workers', worker, 'busy')
redis.call('SET', P .. 'worker:' .. worker, '1', 'PX', ttl)
return {'started', tostring(id), ARGV[6], ARGV[2]}
"""
)
"""`SharedRun.join`, whole."""

IDLE_SCRIPT = (
    _LIVE
    + """
-- ARGV: prefix, worker, run id. Marks the worker idle; returns 'work' when the frontier
-- holds requests, 'wait' while another live worker is busy, else 'done', or 'lost' when a
-- worker died before it left.
local P, worker = ARGV[1], ARGV[2]
if redis.call('HGET', P .. 'run', 'id') ~= ARGV[3] then return 'lost' end
redis.call('HSET', P .. 'run:workers', worker, 'idle')
if redis.call('ZCARD', P .. 'frontier:queue') > 0 then return 'work' end
local states = redis.call('HGETALL', P .. 'run:workers')
local lost = false
for i = 1, #states, 2 do
  local state = states[i + 1]
  if state == 'busy' or state == 'idle' then
    if not live(P, states[i]) then
      lost = true
    elseif state == 'busy' then
      return 'wait'
    end
  end
end
if lost then return 'lost' end
return 'done'
"""
)
"""`SharedRun.idle`, whole."""

LEAVE_SCRIPT = (
    _LIVE
    + """
-- ARGV: prefix, worker, run id, 'done' or 'failed', JSON report, JSON {walk: state},
-- JSON of the run's keys (RUN_KEYS).
-- Returns {} while other workers live on, else {'close', all clean (0/1), reports...,
-- walks...} and forgets the run: the caller is its closer.
local P, worker = ARGV[1], ARGV[2]
if redis.call('HGET', P .. 'run', 'id') ~= ARGV[3] then return {} end
redis.call('HSET', P .. 'run:workers', worker, ARGV[4])
redis.call('HSET', P .. 'run:reports', worker, ARGV[5])
for walk, state in pairs(cjson.decode(ARGV[6])) do
  if state == 'failed' or redis.call('HGET', P .. 'run:walks', walk) ~= 'failed' then
    redis.call('HSET', P .. 'run:walks', walk, state)
  end
end
redis.call('DEL', P .. 'worker:' .. worker)
local clean = 1
local states = redis.call('HGETALL', P .. 'run:workers')
for i = 1, #states, 2 do
  local state = states[i + 1]
  if state ~= 'done' and state ~= 'failed' and live(P, states[i]) then return {} end
  if state ~= 'done' then clean = 0 end
end
local reports = redis.call('HVALS', P .. 'run:reports')
local walks = redis.call('HGETALL', P .. 'run:walks')
for _, name in ipairs(cjson.decode(ARGV[7])) do redis.call('DEL', P .. name) end
redis.call('DEL', P .. 'frontier:seen:' .. ARGV[3])
return {'close', clean, cjson.encode(reports), cjson.encode(walks)}
"""
)
"""`SharedRun.leave`, whole."""


CLAIM_SCRIPT = """
-- ARGV: prefix, worker, threshold, key, id, content_hash, whether the body may be a copy
-- ('1'/'0'), JSON of its band keys, signature ('' for none), body to keep for a mirror
-- ('' for none). Returns {'claimed'}, or what another worker claimed first:
-- {'article', id} for the same article, {'exact', id} or {'near', id, similarity} for its
-- content.
local P, worker, threshold = ARGV[1], ARGV[2], tonumber(ARGV[3])
local key, id, chash, copyable, sig = ARGV[4], ARGV[5], ARGV[6], ARGV[7] == '1', ARGV[9]
local function owner(entry)
  if not entry then return nil end
  local w, i = entry:match('^([^\t]*)\t(.*)$')
  if w ~= worker then return i end
  return nil
end
local mine = owner(redis.call('HGET', P .. 'run:claims', key))
if mine then return {'article', mine} end
local bands = cjson.decode(ARGV[8])
if copyable then
  local other = redis.call('HGET', P .. 'run:claimhash', chash)
  local theirs = other and owner(redis.call('HGET', P .. 'run:claims', other))
  if theirs then return {'exact', theirs} end
  local best, best_id = -1, nil
  for _, band in ipairs(bands) do
    local listed = redis.call('HGET', P .. 'run:claimbands', band) or ''
    for other_key in string.gmatch(listed, '[^,]+') do
      local other_id = owner(redis.call('HGET', P .. 'run:claims', other_key))
      local other_sig = other_id and redis.call('HGET', P .. 'run:claimsig', other_key)
      if other_sig and #other_sig == #sig then
        local same = 0
        for i = 2, #sig - 1, 2 do
          if sig:sub(i, i + 1) == other_sig:sub(i, i + 1) then same = same + 1 end
        end
        local score = same / ((#sig - 1) / 2)
        if score > best or (score == best and other_id < best_id) then
          best, best_id = score, other_id
        end
      end
    end
  end
  if best_id and best >= threshold then return {'near', best_id, tostring(best)} end
end
redis.call('HSET', P .. 'run:claims', key, worker .. '\t' .. id)
if ARGV[10] ~= '' then redis.call('HSET', P .. 'run:bodies', id, ARGV[10]) end
if copyable then
  redis.call('HSET', P .. 'run:claimhash', chash, key)
  if sig ~= '' then
    redis.call('HSET', P .. 'run:claimsig', key, sig)
    for _, band in ipairs(bands) do
      local listed = redis.call('HGET', P .. 'run:claimbands', band)
      redis.call('HSET', P .. 'run:claimbands', band, listed and (listed .. ',' .. key) or key)
    end
  end
end
return {'claimed'}
"""
"""`SharedRun.claim`, whole."""

RUN_KEYS = (
    "run",
    "run:workers",
    "run:reports",
    "run:walks",
    "run:claims",
    "run:claimhash",
    "run:claimsig",
    "run:claimbands",
    "run:bodies",
    "frontier:queue",
)
"""The keys of the current run, dropped when it closes or is abandoned (with the request
filter, `frontier:seen:<run id>`)."""


@dataclass(frozen=True)
class Claim:
    """What another worker claimed first: the same `article`, an `exact` copy of its content
    or a `near` one (at `similarity`)."""

    kind: Literal["article", "exact", "near"]
    id: str
    similarity: float = 1.0


class RunInProgress(StateError):
    """Another run of the namespace is still going and too old to join."""


@dataclass(frozen=True)
class Closing:
    """What the last worker to leave learns: whether every worker ended cleanly, the run
    reports of all of them and the walks that reached their section's end with no failure."""

    clean: bool
    reports: list[dict[str, Any]]
    walks_complete: list[tuple[str, str]]


def worker_name() -> str:
    """This worker's name: host and process id, unique among the workers of a crawl."""
    host = socket.gethostname().split(".")[0] or "host"
    return f"{''.join(c if c.isalnum() or c in '-_' else '_' for c in host)}-{os.getpid()}"


def walk_field(walk: tuple[str, str]) -> str:
    return json.dumps(list(walk), ensure_ascii=False)


@dataclass
class SharedRun:
    """A worker's place in the namespace's current run (see the module docstring)."""

    client: Any
    prefix: str
    run_id: int
    name: str
    worker: str
    where: str
    heartbeat_seconds: float
    """How long a heartbeat lasts (PARKNEWS_REDIS_HEARTBEAT_SECONDS)."""
    scripts: dict[str, Any] = field(init=False, repr=False)
    """The run's Lua scripts, registered once: `idle` runs four times a second while the
    worker waits, `claim` once per new article."""

    def __post_init__(self) -> None:
        self.scripts = {
            name: self.client.register_script(text)
            for name, text in (
                ("idle", IDLE_SCRIPT),
                ("claim", CLAIM_SCRIPT),
                ("leave", LEAVE_SCRIPT),
            )
        }

    @classmethod
    def join(
        cls,
        url: str,
        *,
        namespace: str,
        name: str,
        join_seconds: float,
        heartbeat_seconds: float,
        worker: str | None = None,
        now: float | None = None,
    ) -> SharedRun:
        """Join the namespace's current run, or start one named `name`. RunInProgress when a
        live run started more than `join_seconds` ago; StateError when Redis fails."""
        client, prefix, where = connect(url, namespace)
        worker = worker or worker_name()
        moment = time.time() if now is None else now
        entry = json.dumps(
            {
                "started": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(moment)),
                "status": "running",
            }
        )
        try:
            answer = client.register_script(JOIN_SCRIPT)(
                args=[
                    *(prefix, moment, worker, join_seconds, _ttl(heartbeat_seconds), name, entry),
                    json.dumps(RUN_KEYS),
                ]
            )
        except redis.RedisError as exc:
            raise StateError(f"cannot join the crawl in {where}: {exc}") from None
        kind, run_id, run_name, started = (_str(part) for part in answer)
        if kind == "busy":
            began = time.strftime("%Y-%m-%d %H:%M:%S UTC", time.gmtime(float(started)))
            raise RunInProgress(
                f"run {run_name} of {where} started at {began} and is still going; a worker "
                f"joins a run within {join_seconds:g} s of its start "
                f"(PARKNEWS_REDIS_JOIN_SECONDS). Try again when it is over"
            )
        return cls(client, prefix, int(run_id), run_name, worker, where, heartbeat_seconds)

    @classmethod
    def attach(
        cls, url: str, *, namespace: str, run: dict[str, Any], heartbeat_seconds: float
    ) -> SharedRun:
        """A handle on a run this process joined already (`as_dict`)."""
        client, prefix, where = connect(url, namespace)
        name, worker = str(run["name"]), str(run["worker"])
        return cls(client, prefix, int(run["id"]), name, worker, where, heartbeat_seconds)

    def as_dict(self) -> dict[str, Any]:
        return {"id": self.run_id, "name": self.name, "worker": self.worker}

    @property
    def output_name(self) -> str:
        """The name of this worker's output files and report: run name and worker."""
        return f"{self.name}-{self.worker}"

    @property
    def queue_key(self) -> str:
        return self.prefix + "frontier:queue"

    @property
    def seen_key(self) -> str:
        return f"{self.prefix}frontier:seen:{self.run_id}"

    def _call(self, what: str, operation: Any) -> Any:
        try:
            return operation()
        except redis.RedisError as exc:
            raise StateError(f"cannot {what} in {self.where}: {exc}") from None

    def heartbeat(self) -> None:
        """Tell the other workers this one is alive."""
        key = f"{self.prefix}worker:{self.worker}"
        ttl = _ttl(self.heartbeat_seconds)
        self._call("renew the heartbeat", lambda: self.client.set(key, "1", px=ttl))

    def busy(self) -> None:
        """This worker is taking work from the frontier."""
        workers = self.prefix + "run:workers"
        self._call("mark the worker busy", lambda: self.client.hset(workers, self.worker, "busy"))

    def idle(self) -> str:
        """This worker has nothing to do: "work" when the frontier holds requests, "wait"
        while another live worker is busy (it may add requests), "done" when the crawl is
        over, "lost" when it is over for want of a worker that died (the requests it had
        taken are left to the next run)."""
        script = self.scripts["idle"]
        answer = self._call(
            "check the crawl", lambda: script(args=[self.prefix, self.worker, self.run_id])
        )
        return _str(answer)

    def alive(self, worker: str) -> bool:
        """Whether `worker` has a live heartbeat."""
        key = f"{self.prefix}worker:{worker}"
        return bool(self._call("check a worker", lambda: self.client.exists(key)))

    def claim(
        self,
        *,
        key: str,
        record_id: str,
        content_hash: str,
        copyable: bool,
        signature: bytes | None,
        threshold: float,
        body: str = "",
    ) -> Claim | None:
        """Claim a new article for this worker before it is written: None when it is this
        worker's to write, else what another worker claimed first (the same article, or an
        article its content copies, exactly or at `threshold` similarity or more). `body` is
        kept for a mirror of this article (`claimed_body`).

        A claim holds for the whole run, even when its worker dies before writing the
        article: the next run, which walks every section again, writes it under the same id,
        so the copies this run met keep pointing at the original, as on one host."""
        bands = [str(band) for band in band_keys(signature)] if signature else []
        script = self.scripts["claim"]
        args = [
            *(self.prefix, self.worker, threshold, key, record_id, content_hash),
            "1" if copyable else "0",
            json.dumps(bands),
            signature or b"",
            body,
        ]
        answer = self._call("claim an article", lambda: script(args=args))
        kind = _str(answer[0])
        if kind == "article":
            return Claim("article", _str(answer[1]))
        if kind == "exact":
            return Claim("exact", _str(answer[1]))
        if kind == "near":
            return Claim("near", _str(answer[1]), float(_str(answer[2])))
        return None

    def claimed_body(self, record_id: str) -> str | None:
        """The body kept with a claim (`claim`'s `body`), if any."""
        found = self._call(
            "read a claimed body", lambda: self.client.hget(self.prefix + "run:bodies", record_id)
        )
        return None if found is None else _str(found)

    def left_behind(self, path: str | Path) -> bool:
        """Whether an output file (a batch, a report, or one's unfinished `.part`) was left by
        a worker of this host that is no longer alive: only then may this worker settle or
        remove it. Files of other hosts are theirs to settle."""
        host = re.escape(worker_name().rsplit("-", 1)[0])
        match = re.search(rf"-({host}-\d+)(?:-\d+)?\.json", Path(path).name)
        if match is None or match.group(1) == self.worker:
            return False
        return not self.alive(match.group(1))

    def leave(
        self,
        *,
        clean: bool,
        report: dict[str, Any],
        walks_ended: Iterable[tuple[str, str]],
        walks_failed: Iterable[tuple[str, str]],
    ) -> Closing | None:
        """Leave the run with this worker's report and walks; the Closing when this worker
        is the last one and so closes the run, else None."""
        walks = {walk_field(walk): "ended" for walk in walks_ended}
        walks.update((walk_field(walk), "failed") for walk in walks_failed)
        script = self.scripts["leave"]
        args = [
            self.prefix,
            self.worker,
            self.run_id,
            "done" if clean else "failed",
            json.dumps(report, ensure_ascii=False, default=str),
            json.dumps(walks, ensure_ascii=False) if walks else "{}",
            json.dumps(RUN_KEYS),
        ]
        answer = self._call("leave the run", lambda: script(args=args))
        if not answer:
            return None
        reports = json.loads(_str(answer[2]))
        pairs = json.loads(_str(answer[3]))
        states = dict(zip(pairs[::2], pairs[1::2], strict=True)) if pairs else {}
        complete = sorted(
            (str(site), str(section))
            for field, state in states.items()
            if state == "ended"
            for site, section in [json.loads(field)]
        )
        return Closing(
            bool(int(answer[1])),
            [json.loads(report) for report in reports] if isinstance(reports, list) else [],
            complete,
        )

    def close(self) -> None:
        self.client.close()


def join_shared_run(settings: BaseSettings, name: str) -> SharedRun:
    """Join the current run of the namespace the settings name, or start one called `name`,
    and note it in the settings for this process's components (`shared_run`)."""
    configured = parknews_settings(settings)
    run = SharedRun.join(
        redis_url(settings),
        namespace=configured.get("PARKNEWS_REDIS_NAMESPACE"),
        name=name,
        join_seconds=configured.getfloat("PARKNEWS_REDIS_JOIN_SECONDS"),
        heartbeat_seconds=configured.getfloat("PARKNEWS_REDIS_HEARTBEAT_SECONDS"),
    )
    settings.set(SHARED_RUN_SETTING, run.as_dict(), priority="cmdline")
    return run


def shares_run(settings: BaseSettings) -> bool:
    """Whether this process joined a run shared with other workers."""
    return bool(settings.getdict(SHARED_RUN_SETTING))


def shared_run(settings: BaseSettings) -> SharedRun | None:
    """A handle on the run this crawl's process joined, or None when it shares no crawl."""
    joined = settings.getdict(SHARED_RUN_SETTING)
    url = redis_url(settings)
    if not joined or not url:
        return None
    configured = parknews_settings(settings)
    return SharedRun.attach(
        url,
        namespace=configured.get("PARKNEWS_REDIS_NAMESPACE"),
        run=joined,
        heartbeat_seconds=configured.getfloat("PARKNEWS_REDIS_HEARTBEAT_SECONDS"),
    )


def _ttl(seconds: float) -> int:
    """A heartbeat's lifetime in milliseconds, as Redis takes it."""
    return max(1, round(seconds * 1000))


def _str(value: Any) -> str:
    return value.decode("utf-8") if isinstance(value, bytes) else str(value)
