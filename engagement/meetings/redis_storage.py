"""RedisIndexStorage: the workspace meeting index in Redis, one copy and one sync for every app server and worker.

The sync algorithm is :class:`engagement.meetings.index.MeetingIndex`'s; this is its storage. Keys of
one workspace (``{ws}`` is ``FathomClient.workspace``, a hash: never the API key; the prefix is not
``index:``, which the job table's index rows use in the same database)::

    meeting_index:{ws}:state             the sync state, JSON (cursor, generation, newest, synced_at ...)
    meeting_index:{ws}:meetings          hash   recording id -> the meeting without its transcript, JSON
    meeting_index:{ws}:rows              hash   recording id -> its invitee entries [[domain, e-mail, external], ...]
    meeting_index:{ws}:generation        sorted set  recording id by the generation of the pass that last saw it
    meeting_index:{ws}:no_transcript     hash   recording id -> why Fathom has none (or when to ask again)
    meeting_index:{ws}:domains           set of every invitee domain; ``external``: those with external invitees
    meeting_index:{ws}:internal          hash   domain -> internal invitee entries (our own domains)
    meeting_index:{ws}:d:{domain}:all    sorted set  recording ids with any invitee at the domain, by created_at (µs)
    meeting_index:{ws}:d:{domain}:external   the same for external invitees only
    meeting_index:{ws}:d:{domain}:people hash   external e-mail at the domain -> meetings it was invited to
    meeting_index:{ws}:lock              the sync lock: a random token, with a time-to-live
    meeting_index:workspaces             set of the workspaces held (``clear()`` of every one)

The per-domain sets are kept by the page write and the removal (one Lua script each, so a page, its
domain entries and the sync state are written all or nothing): an account's meetings are one range
of its sorted set and a ``HMGET``; a domain's activity is a few counts of its sets, pipelined over the
domains (``MULTI``/``EXEC``), never a read of meeting JSON. Times are integer microseconds since the
epoch, exact in a sorted set's score. The scripts build the per-domain key names themselves: one
Redis (or a primary with replicas), not Redis Cluster.

The sync lock is ``SET NX PX`` with a random token, renewed by a thread every third of
:data:`LOCK_TTL_S` while the sync runs and released by a script that deletes it only if it still
holds the token; a process killed mid-sync leaves a lock that expires within :data:`LOCK_TTL_S`.
A page write checks the token too, so a sync whose lock expired (a process frozen past the TTL)
cannot overwrite the state of the sync that took over. Every call goes through the store's bounded
client (``redis_store.RedisConnection``): time-outs, and ``StoreError`` naming Redis on failure.
"""

from __future__ import annotations

import json
import logging
import threading
import time
import uuid
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from functools import partial
from typing import Any, cast

from engagement.errors import StoreError
from engagement.meetings.index import DomainActivity, MeetingIndex, SyncLock, index_entry, invitee_rows
from engagement.models import Meeting, format_utc
from engagement.registry import REGISTRY
from engagement.storage.redis import RedisConnection

log = logging.getLogger(__name__)

__all__ = ["LOCK_TTL_S", "RedisIndexStorage", "RedisSyncLock", "open_redis_index"]

ROOT = "meeting_index"
LOCK_TTL_S = 30.0  # a killed sync's lock blocks the next one at most this long; renewed every third of it
LOCK_POLL_S = 0.1  # how often a waiting process tries the lock
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_CHUNK = 500
FINISH_BATCH = 500  # meetings a full pass's finish drops per script call (each call stays short)
LOST = "the sync lock of the meeting index was taken over by another process"

# Shared by the scripts: ARGV[1] is the workspace's key prefix, ARGV[2] the lock token ('' : no check).
_COMMON = """
local base = ARGV[1]
if ARGV[2] ~= '' and redis.call('GET', base .. 'lock') ~= ARGV[2] then
  return redis.error_reply('LOST """
_COMMON += LOST
_COMMON += """')
end
local function dkey(domain, kind) return base .. 'd:' .. domain .. ':' .. kind end
local function unlink(rid)
  local raw = redis.call('HGET', base .. 'rows', rid)
  if not raw then return end
  for _, row in ipairs(cjson.decode(raw)) do
    local domain, email, external = row[1], row[2], row[3]
    local all = dkey(domain, 'all')
    redis.call('ZREM', all, rid)
    if external == 1 then
      local ext, people = dkey(domain, 'external'), dkey(domain, 'people')
      redis.call('ZREM', ext, rid)
      if redis.call('HINCRBY', people, email, -1) <= 0 then redis.call('HDEL', people, email) end
      if redis.call('ZCARD', ext) == 0 then redis.call('SREM', base .. 'external', domain) end
    else
      if redis.call('HINCRBY', base .. 'internal', domain, -1) <= 0 then redis.call('HDEL', base .. 'internal', domain) end
    end
    if redis.call('ZCARD', all) == 0 then redis.call('SREM', base .. 'domains', domain) end
  end
  redis.call('HDEL', base .. 'rows', rid)
end
local function link(rid, created, raw)
  for _, row in ipairs(cjson.decode(raw)) do
    local domain, email, external = row[1], row[2], row[3]
    redis.call('ZADD', dkey(domain, 'all'), created, rid)
    redis.call('SADD', base .. 'domains', domain)
    if external == 1 then
      redis.call('ZADD', dkey(domain, 'external'), created, rid)
      redis.call('HINCRBY', dkey(domain, 'people'), email, 1)
      redis.call('SADD', base .. 'external', domain)
    else
      redis.call('HINCRBY', base .. 'internal', domain, 1)
    end
  end
  redis.call('HSET', base .. 'rows', rid, raw)
end
"""

# ARGV: prefix, token, workspace registry, workspace, state JSON, generation, then per meeting:
# recording id, created_at (µs), meeting JSON, invitee rows JSON.
_SAVE = (
    _COMMON
    + """
redis.call('SADD', ARGV[3], ARGV[4])
for i = 7, #ARGV, 4 do
  local rid = ARGV[i]
  unlink(rid)
  redis.call('HSET', base .. 'meetings', rid, ARGV[i + 2])
  redis.call('ZADD', base .. 'generation', ARGV[6], rid)
  link(rid, ARGV[i + 1], ARGV[i + 3])
end
redis.call('SET', base .. 'state', ARGV[5])
return 1
"""
)

# ARGV: prefix, '' (no lock check), workspace registry, workspace, then per meeting as _SAVE. The sync state is
# only read (its generation stamps the meetings), never written: a pushed meeting does not move the cursor.
_PUT = (
    _COMMON
    + """
redis.call('SADD', ARGV[3], ARGV[4])
local generation = 1
local raw = redis.call('GET', base .. 'state')
if raw then
  local ok, state = pcall(cjson.decode, raw)
  if ok and type(state) == 'table' and tonumber(state['generation']) then generation = tonumber(state['generation']) end
end
for i = 5, #ARGV, 4 do
  local rid = ARGV[i]
  unlink(rid)
  redis.call('HSET', base .. 'meetings', rid, ARGV[i + 2])
  redis.call('ZADD', base .. 'generation', generation, rid)
  link(rid, ARGV[i + 1], ARGV[i + 3])
end
return 1
"""
)

# ARGV: prefix, token, state JSON, the generation below which meetings go ('' : none go), how many to drop
# a call. Drops at most that many; returns {dropped, 1 when finished}: only the call that finds no more
# writes the state, so no one call holds Redis for long however many meetings a full pass drops.
_FINISH = (
    _COMMON
    + """
local gone = 0
if ARGV[4] ~= '' then
  local stale = redis.call('ZRANGEBYSCORE', base .. 'generation', '-inf', '(' .. ARGV[4], 'LIMIT', 0, tonumber(ARGV[5]))
  for _, rid in ipairs(stale) do
    unlink(rid)
    redis.call('HDEL', base .. 'meetings', rid)
    redis.call('ZREM', base .. 'generation', rid)
  end
  gone = #stale
  if gone >= tonumber(ARGV[5]) then return {gone, 0} end
  redis.call('UNLINK', base .. 'no_transcript')
end
redis.call('SET', base .. 'state', ARGV[3])
return {gone, 1}
"""
)

# ARGV: prefix, '' (no lock check), workspace registry, workspace. Everything of the workspace but its lock.
_CLEAR = (
    _COMMON
    + """
local n = redis.call('HLEN', base .. 'meetings')
for _, domain in ipairs(redis.call('SMEMBERS', base .. 'domains')) do
  redis.call('UNLINK', dkey(domain, 'all'), dkey(domain, 'external'), dkey(domain, 'people'))
end
-- UNLINK: Redis frees the big hashes in the background, so the clear does not hold every client meanwhile
redis.call('UNLINK', base .. 'state', base .. 'meetings', base .. 'rows', base .. 'generation',
  base .. 'no_transcript', base .. 'domains', base .. 'external', base .. 'internal')
redis.call('SREM', ARGV[3], ARGV[4])
return n
"""
)

# ARGV: prefix, token (''), then recording ids (a bounded batch): each unlinked from its domains and removed.
_FORGET = (
    _COMMON
    + """
local gone = 0
for i = 3, #ARGV do
  local rid = ARGV[i]
  unlink(rid)
  gone = gone + redis.call('HDEL', base .. 'meetings', rid)
  redis.call('ZREM', base .. 'generation', rid)
  redis.call('HDEL', base .. 'no_transcript', rid)
end
return gone
"""
)

# KEYS: the domain's sorted set, the meetings hash. ARGV: min, max score. The meetings' JSON, 500 ids a HMGET.
_MEETINGS_FOR = """
local ids = redis.call('ZRANGEBYSCORE', KEYS[1], ARGV[1], ARGV[2])
local out = {}
for first = 1, #ids, 500 do
  local chunk = {}
  for i = first, math.min(first + 499, #ids) do chunk[#chunk + 1] = ids[i] end
  for _, raw in ipairs(redis.call('HMGET', KEYS[2], unpack(chunk))) do
    if raw then out[#out + 1] = raw end
  end
end
return out
"""

# KEYS: the lock. ARGV: token, TTL in ms. Renew (or release, with no TTL) only while the token is ours.
_RENEW = """
if redis.call('GET', KEYS[1]) ~= ARGV[1] then return 0 end
if ARGV[2] == '' then return redis.call('DEL', KEYS[1]) end
return redis.call('PEXPIRE', KEYS[1], ARGV[2])
"""


def micros(at: datetime) -> int:
    """A moment as integer microseconds since the epoch: exact as a sorted set's score, ordered as time."""
    delta = (at if at.tzinfo is not None else at.replace(tzinfo=UTC)) - _EPOCH  # naive is UTC, as format_utc
    return (delta.days * 86_400 + delta.seconds) * 1_000_000 + delta.microseconds


def from_micros(value: float) -> str:
    return format_utc(_EPOCH + timedelta(microseconds=int(value)))


class RedisSyncLock:
    """The sync lock of one workspace in Redis: ``SET NX PX`` with a random token, renewed while held.

    Attributes:
        key: the lock's Redis key.
        ttl_s: how long a holder that stops renewing (killed, frozen) keeps it.
        token: this holder's token while it holds the lock, else ``None``.
    """

    def __init__(self, client: RedisConnection, key: str, ttl_s: float = LOCK_TTL_S) -> None:
        self._c = client
        self.key = key
        self.ttl_s = ttl_s
        self.token: str | None = None
        self._renew = client.redis.register_script(_RENEW)
        self._stop = threading.Event()
        self._renewing: threading.Thread | None = None

    def acquire(self, *, timeout: float) -> bool:
        """Take the lock, trying every :data:`LOCK_POLL_S` for up to ``timeout`` seconds; False if another holds it."""
        token = uuid.uuid4().hex
        ttl_ms = max(1, int(self.ttl_s * 1000))
        deadline = time.monotonic() + timeout
        while True:
            taken = self._c.call("sync lock", lambda: self._c.redis.set(self.key, token, nx=True, px=ttl_ms))
            if taken:
                self.token = token
                self._stop = threading.Event()
                self._renewing = threading.Thread(
                    target=self._keep, args=(token, ttl_ms, self._stop), name="meeting-index-lock", daemon=True
                )
                self._renewing.start()
                return True
            left = deadline - time.monotonic()
            if left <= 0:
                return False
            time.sleep(min(LOCK_POLL_S, left))

    def _keep(self, token: str, ttl_ms: int, stop: threading.Event) -> None:
        """Renew the lock every third of its TTL until released or lost (then the page writes refuse)."""
        while not stop.wait(self.ttl_s / 3):
            try:
                if not self._c.call("sync lock", lambda: self._renew(keys=[self.key], args=[token, ttl_ms])):
                    log.warning("%s: %s", self._c.name, LOST)
                    return
            except StoreError as exc:  # the lock expires on its own; the sync's next write says what failed
                log.warning("the meeting index's sync lock was not renewed: %s", exc)

    def release(self) -> None:
        """Stop renewing and delete the lock if it is still ours; if Redis does not answer, it expires by itself."""
        token, self.token = self.token, None
        self._stop.set()
        if self._renewing is not None:
            self._renewing.join(5)
            self._renewing = None
        if token is None:
            return
        try:
            self._c.call("sync lock", lambda: self._renew(keys=[self.key], args=[token, ""]))
        except StoreError as exc:
            log.warning("the meeting index's sync lock was not released (it expires in %.0f s): %s", self.ttl_s, exc)


class RedisIndexStorage:
    """The meeting index's entries and sync state in Redis (an ``IndexStorage``). Thread-safe.

    Attributes:
        url: the Redis URL (``ENGAGEMENT_REDIS_URL``).
        name: how messages name it (the URL without its password).
        lock_ttl_s: the sync lock's time-to-live.
    """

    def __init__(self, url: str, *, lock_ttl_s: float = LOCK_TTL_S) -> None:
        self.url = url
        self._c = RedisConnection(url)
        self.name = self._c.name
        self.lock_ttl_s = lock_ttl_s
        r = self._c.redis
        self._save = r.register_script(_SAVE)
        self._put = r.register_script(_PUT)
        self._finish = r.register_script(_FINISH)
        self._clear = r.register_script(_CLEAR)
        self._forget = r.register_script(_FORGET)
        self._meetings_for = r.register_script(_MEETINGS_FOR)

    @staticmethod
    def prefix(workspace: str) -> str:
        return f"{ROOT}:{{{workspace}}}:"

    def close(self) -> None:
        index = REGISTRY.find(INDEX_KIND, self.url)
        if isinstance(index, MeetingIndex) and index.storage is self:
            REGISTRY.forget(INDEX_KIND, self.url, index)
        self._c.close()

    # ------------------------------------------------------------ sync state and writes

    def sync_lock(self, workspace: str) -> SyncLock:
        """A lock shared by every process on this Redis (one object per sync: its token is its own)."""
        return RedisSyncLock(self._c, self.prefix(workspace) + "lock", self.lock_ttl_s)

    def state(self, workspace: str) -> dict[str, Any]:
        raw = self._c.call("index state", lambda: self._c.redis.get(self.prefix(workspace) + "state"))
        if not raw:
            return {}
        try:
            state = json.loads(raw)
        except ValueError:
            return {}
        return state if isinstance(state, dict) else {}

    @staticmethod
    def _token(lock: SyncLock | None) -> str:
        return (lock.token or "") if isinstance(lock, RedisSyncLock) else ""

    def save(
        self,
        workspace: str,
        state: dict[str, Any],
        meetings: tuple[Meeting, ...] = (),
        generation: int = 0,
        *,
        lock: SyncLock | None = None,
    ) -> None:
        args: list[Any] = [
            self.prefix(workspace),
            self._token(lock),
            f"{ROOT}:workspaces",
            workspace,
            json.dumps(state),
            generation,
        ]
        args += self._meeting_args(meetings)
        self._c.call("index write", lambda: self._save(args=args))

    def put(self, workspace: str, meetings: tuple[Meeting, ...]) -> None:
        args = [self.prefix(workspace), "", f"{ROOT}:workspaces", workspace, *self._meeting_args(meetings)]
        self._c.call("index write", lambda: self._put(args=args))

    @staticmethod
    def _meeting_args(meetings: tuple[Meeting, ...]) -> list[Any]:
        args: list[Any] = []
        for m in meetings:
            rows = [[domain, email, int(external)] for email, (domain, external) in invitee_rows(m).items()]
            args += [m.recording_id, micros(m.created_at), index_entry(m), json.dumps(rows)]
        return args

    def finish(self, workspace: str, state: dict[str, Any], drop_below: int | None, *, lock: SyncLock) -> int:
        """Drop the meetings of older passes, ``FINISH_BATCH`` a script call (each checks the lock), then
        write the state; returns how many were dropped."""
        below = "" if drop_below is None else drop_below
        args = [self.prefix(workspace), self._token(lock), json.dumps(state), below, FINISH_BATCH]
        dropped = 0
        while True:
            gone, done = self._c.call("index write", lambda: self._finish(args=args))
            dropped += int(gone)
            if int(done):
                return dropped

    # ------------------------------------------------------------ reads

    def count(self, workspace: str) -> int:
        return int(self._c.call("index read", lambda: self._c.redis.hlen(self.prefix(workspace) + "meetings")))

    def meetings_for(
        self, workspace: str, domain: str, since: datetime | None, before: datetime | None
    ) -> list[Meeting]:
        base = self.prefix(workspace)
        low = "-inf" if since is None else str(micros(since))
        high = "+inf" if before is None else f"({micros(before)}"
        raws = self._c.call(
            "index read",
            lambda: self._meetings_for(keys=[f"{base}d:{domain}:all", base + "meetings"], args=[low, high]),
        )
        meetings = [Meeting.model_validate_json(raw) for raw in raws]
        # As SQLite orders them: created_at, then recording id, newest first.
        return sorted(meetings, key=lambda m: (format_utc(m.created_at), m.recording_id), reverse=True)

    def domain_activity(
        self, workspace: str, recent: datetime, earlier: datetime, domain: str | None
    ) -> list[DomainActivity]:
        base = self.prefix(workspace)
        r = self._c.redis
        domains = (
            [domain]
            if domain is not None
            else sorted(str(d) for d in self._c.call("index read", lambda: r.smembers(base + "external")))
        )
        if not domains:
            return []
        at_recent, at_earlier = micros(recent), micros(earlier)

        def read() -> list[Any]:
            pipe = r.pipeline(transaction=True)  # one consistent snapshot of every domain's counts
            for d in domains:
                ext = f"{base}d:{d}:external"
                pipe.zcard(ext)
                pipe.hlen(f"{base}d:{d}:people")
                pipe.zrange(ext, 0, 0, withscores=True)
                pipe.zrange(ext, -1, -1, withscores=True)
                pipe.zcount(ext, at_recent, "+inf")
                pipe.zcount(ext, at_earlier, f"({at_recent}")
            return list(pipe.execute())

        flat = self._c.call("index read", read)
        rows = []
        for n, d in enumerate(domains):
            meetings, people, first, last, recent_n, earlier_n = flat[6 * n : 6 * n + 6]
            if meetings:
                rows.append(
                    DomainActivity(
                        d,
                        int(meetings),
                        int(people),
                        from_micros(first[0][1]),
                        from_micros(last[0][1]),
                        int(recent_n),
                        int(earlier_n),
                    )
                )
        return sorted(rows, key=lambda row: (-row.meetings, row.domain))

    def internal_domains(self, workspace: str) -> set[str]:
        keys = self._c.call("index read", lambda: self._c.redis.hkeys(self.prefix(workspace) + "internal"))
        return {str(k) for k in keys}

    def emails_by_domain(self, workspace: str) -> dict[str, set[str]]:
        base = self.prefix(workspace)
        domains = sorted(str(d) for d in self._read_all(partial(self._c.redis.smembers, base + "external")))

        def read() -> list[Any]:
            pipe = self._c.redis.pipeline(transaction=False)
            for domain in domains:
                pipe.hkeys(f"{base}d:{domain}:people")
            return list(pipe.execute())

        emails = self._c.call("index read", read) if domains else []
        return {d: {str(e) for e in keys} for d, keys in zip(domains, emails, strict=True) if keys}

    def remember_no_transcript(self, workspace: str, reasons: dict[int, str]) -> None:
        key = self.prefix(workspace) + "no_transcript"
        self._c.call("index write", lambda: self._c.redis.hset(key, mapping={str(k): v for k, v in reasons.items()}))

    def without_transcript(self, workspace: str, recording_ids: list[int]) -> dict[int, str]:
        key = self.prefix(workspace) + "no_transcript"
        out: dict[int, str] = {}
        for start in range(0, len(recording_ids), _CHUNK):
            chunk = recording_ids[start : start + _CHUNK]

            def read(chunk: list[int] = chunk) -> list[Any]:
                return list(self._c.redis.hmget(key, [str(c) for c in chunk]))

            reasons = self._c.call("index read", read)
            out.update({rid: str(reason) for rid, reason in zip(chunk, reasons, strict=True) if reason is not None})
        return out

    def forget_no_transcript(self, workspace: str, recording_ids: list[int]) -> None:
        key = self.prefix(workspace) + "no_transcript"
        self._c.call("index write", lambda: self._c.redis.hdel(key, *[str(r) for r in recording_ids]))

    def clear(self, workspace: str | None) -> int:
        registry = f"{ROOT}:workspaces"
        if workspace is None:
            workspaces = sorted(str(w) for w in self._c.call("index read", lambda: self._c.redis.smembers(registry)))
        else:
            workspaces = [workspace]
        return sum(self._clear_one(w) for w in workspaces)

    def _workspaces(self) -> list[str]:
        registry = f"{ROOT}:workspaces"
        return sorted(str(w) for w in self._c.call("index read", lambda: self._c.redis.smembers(registry)))

    def recordings_with(self, *, domain: str = "", email: str = "") -> dict[str, list[int]]:
        """A domain's meetings from its sorted set; an address's by reading the invitee rows (a rare request)."""
        out: dict[str, list[int]] = {}
        for workspace in self._workspaces():
            base = self.prefix(workspace)
            ids: set[int] = set()
            if domain:
                ids |= {int(r) for r in self._read_all(partial(self._c.redis.zrange, f"{base}d:{domain}:all", 0, -1))}
            if email:
                rows: dict[Any, Any] = self._c.call("index read", partial(self._c.redis.hgetall, f"{base}rows"))
                ids |= {int(rid) for rid, raw in rows.items() if any(row[1] == email for row in json.loads(raw))}
            if ids:
                out[workspace] = sorted(ids)
        return out

    def forget(self, workspace: str, recording_ids: list[int]) -> int:
        gone = 0
        for start in range(0, len(recording_ids), _CHUNK):  # bounded batches: no script holds Redis for long
            args: list[Any] = [self.prefix(workspace), "", *recording_ids[start : start + _CHUNK]]
            gone += int(cast(Any, self._c.call("index write", partial(self._forget, args=args))))
        return gone

    def _read_all(self, read: Callable[[], Any]) -> list[Any]:
        return list(self._c.call("index read", read))

    def _clear_one(self, workspace: str) -> int:
        args = [self.prefix(workspace), "", f"{ROOT}:workspaces", workspace]
        return int(self._c.call("index clear", lambda: self._clear(args=args)))


INDEX_KIND = "redis meeting index"


def open_redis_index(url: str) -> MeetingIndex:
    """The process's one meeting index on the Redis at ``url`` (one connection pool, shared by every job)."""
    return REGISTRY.get(INDEX_KIND, url, lambda: MeetingIndex(RedisIndexStorage(url)))
