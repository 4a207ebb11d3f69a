"""RedisKV: the ``KVStore`` contract on Redis, for several app servers and workers sharing one store.

Layout (one Redis database)::

    engagement:{domain}:{run_id}     the job record, JSON text (the job table keeps its keys as they are)
    index:{created_at}:{domain}:...  the job's index row, JSON text
    {table}:{key}                    any other table's values (``cache:insights:...``), JSON text
    kv:{table}:keys                  a sorted set of the table's keys, all at score 0, so in key order
    kv:{table}:counted               the kept counts: a set of ``{field}:{prefix}``
    kv:{table}:counted:{field}:{prefix}   a hash, group (``s:complete``) → how many values have it

Every range read (``items``, ``keys``, ``count``) walks the table's sorted set with ``ZRANGEBYLEX``;
nothing ever runs ``KEYS`` or ``SCAN``. The job index's keys start with their creation time, so the
sorted set is the time-ordered job index: the admin page reads one page of it and purges read the
range below a cut-off. ``where`` filters run inside Redis (a Lua script decoding each value with
cjson), as SQLite's ``json_extract`` does for ``SqliteKV``.

Counts are kept, not recounted: the first ``count_by(field, prefix)`` (or ``count`` with one text or
boolean ``where`` field) registers the pair in Redis and counts the range once; from then on every
write and delete — all of them scripts, so every process keeps the counts, whoever registered them —
moves the counts of the groups a value leaves and enters, in the same atomic step. A count hash that
is missing its ``#`` marker (lost, or never finished) is counted again on its next read. At most
``MAX_KEPT_COUNTS`` pairs a table are kept; past that, counts are taken by a scan. A first count (and a
scan) goes ``SCAN_BATCH`` keys a call: while one is under way its hash holds ``~``, the last key counted,
and writes move the counts of keys up to it only.

Every write is one script, all or nothing: ``set_many`` whole, ``delete_many`` ``DELETE_BATCH`` keys at a
time. No script call reads or deletes more than ``SCAN_BATCH``/``DELETE_BATCH`` keys, so none holds Redis
(and every other client) for long; a filtered read walks its range window by window.

Every call has a bound (connect and socket time-outs, two quick retries); a Redis that cannot be
reached raises ``StoreError`` naming the store, never a bare ``redis`` exception.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Callable, Iterable, Mapping
from functools import partial
from typing import Any, TypeVar

import redis
from redis.backoff import ExponentialBackoff
from redis.retry import Retry

from engagement.errors import CorruptRecordError, StoreError, StoreOpenError
from engagement.registry import REGISTRY
from engagement.settings import redact_url
from engagement.storage.sqlite import JOBS_TABLE, decode_value, encode_value, prefix_end

log = logging.getLogger(__name__)

_TABLE_NAME = re.compile(r"[a-z_][a-z0-9_]{0,62}")
_FIELD = re.compile(r"[a-z_][a-z0-9_]{0,62}")
CONNECT_TIMEOUT_S = 3.0
SOCKET_TIMEOUT_S = 5.0
_CHUNK = 500  # keys per MGET
# No one script call holds Redis for long: a filtered read looks at this many keys a call, a delete removes
# this many (each call some milliseconds at most: Redis runs one script at a time and every client waits).
SCAN_BATCH = 2_000
DELETE_BATCH = 1_000
MAX_KEPT_COUNTS = 8  # (field, prefix) pairs whose counts a table keeps; past that, counts scan

T = TypeVar("T")

# Lua helpers shared by the filtering scripts. ARGV from 1: min, max, reverse, then the ``where``
# pairs as field, tagged value ("s:text", "n:1.5", "b:1").
_MATCH = """
local function matches(doc, argv, first)
  if type(doc) ~= 'table' then return false end
  for i = first, #argv, 2 do
    local want = argv[i + 1]
    local tag, text = string.sub(want, 1, 1), string.sub(want, 3)
    local have = doc[argv[i]]
    if tag == 's' then
      if have ~= text then return false end
    elseif tag == 'n' then
      if type(have) ~= 'number' or have ~= tonumber(text) then return false end
    elseif tag == 'b' then
      if type(have) ~= 'boolean' or have ~= (text == '1') then return false end
    else
      return false
    end
  end
  return true
end
local function range(zset, lo, hi, reverse, n)
  -- the keys between lo and hi in key order (or reversed); at most n when n is given
  if n then
    if reverse == '1' then return redis.call('ZREVRANGEBYLEX', zset, hi, lo, 'LIMIT', 0, n) end
    return redis.call('ZRANGEBYLEX', zset, lo, hi, 'LIMIT', 0, n)
  end
  if reverse == '1' then return redis.call('ZREVRANGEBYLEX', zset, hi, lo) end
  return redis.call('ZRANGEBYLEX', zset, lo, hi)
end
local function batches(keys, prefix, each)
  -- calls each(key, raw) for every key, reading values 500 at a time; stops when it returns true
  for first = 1, #keys, 500 do
    local names = {}
    for i = first, math.min(first + 499, #keys) do names[#names + 1] = prefix .. keys[i] end
    local raws = redis.call('MGET', unpack(names))
    for i = 1, #names do
      if each(keys[first + i - 1], raws[i]) then return end
    end
  end
end
local function decoded(raw)
  if not raw then return nil end
  local ok, doc = pcall(cjson.decode, raw)
  if ok then return doc end
  return nil
end
local function group_in(doc, field)
  -- the count_by group of a decoded value's field (as json_extract sees it); nil for no value
  if doc == nil then return nil end
  local v = nil
  if type(doc) == 'table' then v = doc[field] end
  if type(v) == 'string' then return 's:' .. v end
  if type(v) == 'number' then return 'n:' .. tostring(v) end
  if type(v) == 'boolean' then return v and 'b:1' or 'b:0' end
  return 'z:'
end
local function kept_counts(registry)
  -- the counts kept for this table: {field, prefix, hash, cursor} for each ``field:prefix`` in the registry;
  -- cursor: while a first count is under way, the last key it has counted ('' : none yet), else false
  local out = {}
  for _, pair in ipairs(redis.call('SMEMBERS', registry)) do
    local colon = string.find(pair, ':', 1, true)
    local hash = registry .. ':' .. pair
    out[#out + 1] = {string.sub(pair, 1, colon - 1), string.sub(pair, colon + 1), hash, redis.call('HGET', hash, '~')}
  end
  return out
end
local function at_or_before(a, b)
  -- whether key a sorts at or before key b in byte order, as ZRANGEBYLEX sorts (Lua's own < follows the locale)
  for i = 1, math.min(#a, #b) do
    local x, y = string.byte(a, i), string.byte(b, i)
    if x ~= y then return x < y end
  end
  return #a <= #b
end
local function counted(kept, key)
  for _, k in ipairs(kept) do
    if string.sub(key, 1, #k[2]) == k[2] then return true end
  end
  return false
end
local function move(moves, hash, group, by)
  if group == nil then return end
  local groups = moves[hash]
  if groups == nil then groups = {}; moves[hash] = groups end
  groups[group] = (groups[group] or 0) + by
end
local function recount(moves, kept, key, before, after)
  -- the raw value of ``key`` goes from ``before`` to ``after`` (nil: absent): note its move between groups
  local old_doc, new_doc = decoded(before), decoded(after)
  for _, k in ipairs(kept) do
    -- a key a first count has not reached yet is left to it: it counts the value it finds there
    if string.sub(key, 1, #k[2]) == k[2] and (not k[4] or at_or_before(key, k[4])) then
      local old, new = group_in(old_doc, k[1]), group_in(new_doc, k[1])
      if old ~= new then
        move(moves, k[3], old, -1)
        move(moves, k[3], new, 1)
      end
    end
  end
end
local function settle(moves)
  -- apply the noted moves, one HINCRBY a group; a group that reaches zero is removed
  for hash, groups in pairs(moves) do
    for group, by in pairs(groups) do
      if by ~= 0 and redis.call('HINCRBY', hash, group, by) <= 0 then redis.call('HDEL', hash, group) end
    end
  end
end
"""

# KEYS[1]: the table's sorted set. ARGV: min, max, reverse, value prefix, how many keys to look at (one
# window of the range: no call reads more), keys only ('1': no values), where pairs... Returns how many
# keys it looked at, the last of them, then the matching keys (each with its raw value unless keys only).
_ITEMS = (
    _MATCH
    + """
local keys = range(KEYS[1], ARGV[1], ARGV[2], ARGV[3], tonumber(ARGV[5]))
local bare = ARGV[6] == '1'
local out = {#keys, keys[#keys] or ''}
batches(keys, ARGV[4], function(key, raw)
  if raw and matches(decoded(raw), ARGV, 7) then
    out[#out + 1] = key
    if not bare then out[#out + 1] = raw end
  end
  return false
end)
return out
"""
)

# KEYS[1]: the table's sorted set. ARGV: min, max, value prefix, how many keys to look at, where pairs...
# Returns how many keys it looked at, the last of them, and how many matched.
_COUNT = (
    _MATCH
    + """
local keys = range(KEYS[1], ARGV[1], ARGV[2], '0', tonumber(ARGV[4]))
local n = 0
batches(keys, ARGV[3], function(key, raw)
  if raw and matches(decoded(raw), ARGV, 5) then n = n + 1 end
  return false
end)
return {#keys, keys[#keys] or '', n}
"""
)

# KEYS[1]: the table's sorted set, KEYS[2]: its registry of kept counts. ARGV: field, prefix, min, max, value
# prefix, how many pairs a table may keep, how many keys a call may count. Registers the pair when there is
# room. A kept pair whose counts are whole answers them (HGETALL: '#' and the groups, flat). Else it counts
# the next window of keys after the cursor '~' into the hash and answers {'more'}, or, at the end of the
# range, marks the counts whole ('#') and answers them. No room to keep the pair: {'scan'}.
_KEPT = (
    _MATCH
    + """
local field, prefix = ARGV[1], ARGV[2]
local pair = field .. ':' .. prefix
local hash = KEYS[2] .. ':' .. pair
local kept = redis.call('SISMEMBER', KEYS[2], pair) == 1
if not kept and redis.call('SCARD', KEYS[2]) < tonumber(ARGV[6]) then
  redis.call('SADD', KEYS[2], pair)
  redis.call('DEL', hash)  -- whatever an earlier registration left was not kept up to date since: count anew
  kept = true
end
if not kept then return {'scan'} end
if redis.call('HEXISTS', hash, '#') == 1 then return redis.call('HGETALL', hash) end
local cursor = redis.call('HGET', hash, '~')
if not cursor then  -- no count under way (a lost or unfinished one): count anew from the start
  redis.call('DEL', hash)
  cursor = ''
end
local lo = ARGV[3]
if cursor ~= '' then lo = '(' .. cursor end
local n = tonumber(ARGV[7])
local keys = range(KEYS[1], lo, ARGV[4], '0', n)
batches(keys, ARGV[5], function(key, raw)
  local group = group_in(decoded(raw), field)
  if group ~= nil then redis.call('HINCRBY', hash, group, 1) end
  return false
end)
if #keys >= n then
  redis.call('HSET', hash, '~', keys[#keys])
  return {'more'}
end
redis.call('HDEL', hash, '~')
redis.call('HSET', hash, '#', 1)
return redis.call('HGETALL', hash)
"""
)

# KEYS[1]: the table's sorted set. ARGV: field, min, max, value prefix, how many keys to look at. Counts one
# window by group, kept nowhere (a pair with no room to be kept). Returns how many keys it looked at, the
# last of them, then the groups and their counts, flat.
_GROUPS = (
    _MATCH
    + """
local keys = range(KEYS[1], ARGV[2], ARGV[3], '0', tonumber(ARGV[5]))
local counts, order = {}, {}
batches(keys, ARGV[4], function(key, raw)
  local group = group_in(decoded(raw), ARGV[1])
  if group ~= nil then
    if counts[group] == nil then counts[group] = 0; order[#order + 1] = group end
    counts[group] = counts[group] + 1
  end
  return false
end)
local out = {#keys, keys[#keys] or ''}
for _, group in ipairs(order) do
  out[#out + 1] = group
  out[#out + 1] = counts[group]
end
return out
"""
)

# KEYS: the sorted set, its registry of kept counts, then the required keys, then the keys to write, then
# the keys to delete. ARGV: n required, n writes, n deletes, value prefix, then per required key its number
# of field pairs (-1: must be absent) and those pairs, then the values.
_WRITE = (
    _MATCH
    + """
local n_req, n_set, n_del = tonumber(ARGV[1]), tonumber(ARGV[2]), tonumber(ARGV[3])
local plen = #ARGV[4]
local at = 5
for i = 1, n_req do
  local n = tonumber(ARGV[at])
  local have = redis.call('GET', KEYS[2 + i])
  if n == -1 then
    if have then return 0 end
    at = at + 1
  else
    local doc = decoded(have)
    local pairs_ = {}
    for j = 1, 2 * n do pairs_[j] = ARGV[at + j] end
    if doc == nil or not matches(doc, pairs_, 1) then return 0 end
    at = at + 1 + 2 * n
  end
end
local kept, moves = kept_counts(KEYS[2]), {}
for i = 1, n_set do
  local key, value = KEYS[2 + n_req + i], ARGV[at + i - 1]
  local name = string.sub(key, plen + 1)
  if #kept > 0 and counted(kept, name) then recount(moves, kept, name, redis.call('GET', key), value) end
  redis.call('SET', key, value)
  redis.call('ZADD', KEYS[1], 0, name)
end
for i = 1, n_del do
  local key = KEYS[2 + n_req + n_set + i]
  local name = string.sub(key, plen + 1)
  if #kept > 0 and counted(kept, name) then recount(moves, kept, name, redis.call('GET', key), nil) end
  redis.call('DEL', key)
  redis.call('ZREM', KEYS[1], name)
end
settle(moves)
return 1
"""
)

# KEYS: the sorted set, its registry of kept counts, then the keys to delete. ARGV: value prefix.
# Returns how many of the keys existed.
_DELETE = (
    _MATCH
    + """
local plen = #ARGV[1]
local kept, moves = kept_counts(KEYS[2]), {}
local existed, names = 0, {}
for i = 3, #KEYS do
  local name = string.sub(KEYS[i], plen + 1)
  if #kept > 0 and counted(kept, name) then recount(moves, kept, name, redis.call('GET', KEYS[i]), nil) end
  existed = existed + redis.call('DEL', KEYS[i])
  names[#names + 1] = name
  if #names == 500 then redis.call('ZREM', KEYS[1], unpack(names)); names = {} end
end
if #names > 0 then redis.call('ZREM', KEYS[1], unpack(names)) end
settle(moves)
return existed
"""
)


def _tag(value: Any) -> str:
    if isinstance(value, bool):
        return "b:1" if value else "b:0"
    if isinstance(value, str):
        return "s:" + value
    if isinstance(value, int | float):
        return "n:" + repr(value)
    raise ValueError(f"where values are text, numbers or booleans, not {type(value).__name__}")


def _untag(group: str) -> Any:
    tag, text = group[:1], group[2:]
    if tag == "s":
        return text
    if tag == "n":
        number = float(text)
        return int(number) if number.is_integer() else number
    if tag == "b":
        return text == "1"
    return None


def redis_name(url: str) -> str:
    """How messages name a Redis server: its URL without the password."""
    return f"The Redis store at {redact_url(url)}"


def redis_failure(url: str, what: str, exc: redis.exceptions.RedisError) -> StoreError:
    """The ``StoreError`` for a failed Redis call (``what``: the store, the rate limit, the queue ...): it names
    the server (without its password) and says what to check. Every Redis user in the app raises this."""
    name = redis_name(url)
    if isinstance(exc, redis.exceptions.AuthenticationError):
        return StoreOpenError(f"{name} refused the password: check ENGAGEMENT_REDIS_URL.")
    if isinstance(exc, redis.exceptions.ConnectionError | redis.exceptions.TimeoutError):
        return StoreError(
            f"{name} did not answer ({what}: {exc}). Check that Redis is running and that "
            "ENGAGEMENT_REDIS_URL points at it, then try again."
        )
    return StoreError(f"{name} failed ({what}: {exc}).")


class RedisConnection:
    """One Redis connection pool shared by the tables of one URL, and the scripts they run."""

    def __init__(self, url: str) -> None:
        self.url = url
        self.name = redis_name(url)
        try:
            self.redis = redis.Redis.from_url(
                url,
                decode_responses=True,
                encoding_errors="replace",  # bytes that are not UTF-8 fail as JSON, not inside redis-py
                socket_connect_timeout=CONNECT_TIMEOUT_S,
                socket_timeout=SOCKET_TIMEOUT_S,
                retry=Retry(ExponentialBackoff(cap=0.5, base=0.05), 2),
                health_check_interval=30,
            )
        except ValueError as exc:
            raise StoreOpenError(
                f"ENGAGEMENT_REDIS_URL cannot be used ({exc}); it looks like redis://host:6379/0."
            ) from None
        self.items = self.redis.register_script(_ITEMS)
        self.count = self.redis.register_script(_COUNT)
        self.kept = self.redis.register_script(_KEPT)
        self.groups = self.redis.register_script(_GROUPS)
        self.write = self.redis.register_script(_WRITE)
        self.delete = self.redis.register_script(_DELETE)

    def call(self, what: str, fn: Callable[[], T]) -> T:
        """Run one Redis operation, turning its failures into ``StoreError`` that names the store."""
        try:
            return fn()
        except redis.exceptions.RedisError as exc:
            raise redis_failure(self.url, what, exc) from None

    def close(self) -> None:
        self.redis.close()


class RedisKV:
    """One table of a Redis database, as a ``KVStore``. Thread-safe; cheap to create per table."""

    shared = True  # several machines write it: a job's silence may be the store's outage, not its worker's end

    def __init__(self, url: str, table: str = JOBS_TABLE, *, _client: RedisConnection | None = None) -> None:
        if not _TABLE_NAME.fullmatch(table):
            raise ValueError(f"table names are lower-case identifiers, not {table!r}")
        self.url = url
        self.name = table
        self._c = _client or RedisConnection(url)
        self.path = self._c.name  # what messages call the store, like SqliteKV.path
        # The job table keeps the documented keys (``engagement:{domain}:{run_id}``) as they are.
        self._prefix = "" if table == JOBS_TABLE else f"{table}:"
        self._zset = f"kv:{table}:keys"
        self._kept = f"kv:{table}:counted"

    def table(self, name: str) -> RedisKV:
        """Another table of the same database, sharing this connection pool."""
        return RedisKV(self.url, name, _client=self._c)

    def ping(self) -> None:
        """Raise ``StoreError`` unless Redis answers."""
        self._c.call("ping", self._c.redis.ping)

    # -- key ranges of the sorted set
    @staticmethod
    def _bounds(prefix: str, stop: str | None) -> tuple[str, str]:
        low = f"[{prefix}" if prefix else "-"
        high = f"({prefix_end(prefix)}" if prefix else "+"
        if stop is not None and (not prefix or stop < prefix_end(prefix)):
            high = f"({stop}"
        return low, high

    @staticmethod
    def _where(where: Mapping[str, Any] | None) -> list[str]:
        out: list[str] = []
        for field, value in (where or {}).items():
            if not _FIELD.fullmatch(field):
                raise ValueError(f"field names are lower-case identifiers, not {field!r}")
            out += [field, _tag(value)]
        return out

    def _decoded(self, pairs: Iterable[tuple[str, Any]]) -> list[tuple[str, Any]]:
        out = []
        for key, raw in pairs:
            if raw is None:
                continue  # deleted between the range read and the value read
            try:
                out.append((key, decode_value(raw, key)))
            except CorruptRecordError as exc:
                log.warning("%s", exc)
        return out

    # -- reads
    def get(self, key: str) -> Any | None:
        raw = self._c.call("get", lambda: self._c.redis.get(self._prefix + key))
        return None if raw is None else decode_value(raw, key)

    def items(
        self,
        prefix: str = "",
        *,
        stop: str | None = None,
        where: Mapping[str, Any] | None = None,
        reverse: bool = False,
        limit: int | None = None,
        offset: int = 0,
    ) -> list[tuple[str, Any]]:
        """Items whose key starts with ``prefix`` (and is below ``stop``), in key order.

        Without ``where``: one page of the sorted set and one round trip of ``MGET`` s. With it: a script
        filters inside Redis and returns only the page asked for.
        """
        if limit == 0:
            return []
        low, high = self._bounds(prefix, stop)
        if where:
            flat = self._filtered(low, high, where, reverse=reverse, offset=offset, limit=limit, bare=False)
            return self._decoded(zip(flat[::2], flat[1::2], strict=True))
        keys = self._range(low, high, reverse, offset, limit)
        return self._decoded(zip(keys, self._values(keys), strict=True))

    def _filtered(
        self,
        low: str,
        high: str,
        where: Mapping[str, Any],
        *,
        reverse: bool = False,
        offset: int = 0,
        limit: int | None = None,
        bare: bool,
    ) -> list[str]:
        """The keys (and, unless ``bare``, their raw values, flat) of the range whose values match ``where``.

        The range is read ``SCAN_BATCH`` keys a script call, each window after the last key of the one
        before, until the page asked for is full or the range ends.
        """
        pairs, width = self._where(where), 1 if bare else 2
        out: list[str] = []
        skip = offset
        while True:
            args: list[str | int] = [
                low,
                high,
                "1" if reverse else "0",
                self._prefix,
                SCAN_BATCH,
                "1" if bare else "0",
                *pairs,
            ]
            reply = self._c.call("items", partial(self._c.items, keys=[self._zset], args=args))
            looked, last, found = int(reply[0]), str(reply[1]), [str(x) for x in reply[2:]]
            if skip:
                dropped = min(skip, len(found) // width)
                found, skip = found[dropped * width :], skip - dropped
            out += found
            if limit is not None and len(out) >= limit * width:
                return out[: limit * width]
            if looked < SCAN_BATCH:
                return out
            if reverse:
                high = "(" + last
            else:
                low = "(" + last

    def _range(self, low: str, high: str, reverse: bool, offset: int = 0, limit: int | None = None) -> list[str]:
        r = self._c.redis
        start, num = (offset, -1 if limit is None else limit) if (offset or limit is not None) else (None, None)

        def read() -> list[str]:
            if reverse:
                return [str(k) for k in r.zrevrangebylex(self._zset, high, low, start=start, num=num)]
            return [str(k) for k in r.zrangebylex(self._zset, low, high, start=start, num=num)]

        return self._c.call("range", read)

    def _values(self, keys: list[str]) -> list[Any]:
        """The raw values of ``keys`` (None where one is gone), ``_CHUNK`` a ``MGET``, all in one round trip."""
        if not keys:
            return []

        def read() -> list[Any]:
            pipe = self._c.redis.pipeline(transaction=False)
            for start in range(0, len(keys), _CHUNK):
                pipe.mget([self._prefix + k for k in keys[start : start + _CHUNK]])
            return [value for chunk in pipe.execute() for value in chunk]

        return self._c.call("mget", read)

    def get_many(self, keys: Iterable[str]) -> list[Any | None]:
        """The values of these keys in their order (None where absent or not JSON), ``_CHUNK`` a ``MGET``."""
        keys = list(keys)
        found = dict(self._decoded(zip(keys, self._values(keys), strict=True)))
        return [found.get(k) for k in keys]

    def keys(self, prefix: str = "", *, stop: str | None = None, where: Mapping[str, Any] | None = None) -> list[str]:
        """Keys under ``prefix`` (and below ``stop``) in key order; with ``where``, filtered inside Redis."""
        low, high = self._bounds(prefix, stop)
        if where:
            return self._filtered(low, high, where, bare=True)
        return self._range(low, high, False)

    def count(self, prefix: str = "", *, where: Mapping[str, Any] | None = None) -> int:
        """How many keys are under ``prefix`` (and match ``where``).

        No ``where``: the sorted set's own count. One text or boolean field: the kept count of its group.
        Otherwise a script counts inside Redis.
        """
        low, high = self._bounds(prefix, None)
        if not where:
            return int(self._c.call("count", lambda: self._c.redis.zlexcount(self._zset, low, high)))
        args = self._where(where)
        if len(where) == 1 and not args[1].startswith("n:"):  # numbers: Lua and Python spell them apart
            return self._kept_counts(args[0], prefix).get(args[1], 0)
        total = 0
        while True:  # SCAN_BATCH keys a script call, each window after the last key of the one before
            argv: list[str | int] = [low, high, self._prefix, SCAN_BATCH, *args]
            looked, last, n = self._c.call("count", partial(self._c.count, keys=[self._zset], args=argv))
            total += int(n)
            if int(looked) < SCAN_BATCH:
                return total
            low = "(" + str(last)

    def count_by(self, field: str, prefix: str = "") -> dict[Any, int]:
        """How many values under ``prefix`` have each value of a top-level field: a kept count, see the module."""
        if not _FIELD.fullmatch(field):
            raise ValueError(f"field names are lower-case identifiers, not {field!r}")
        return {_untag(group): n for group, n in self._kept_counts(field, prefix).items()}

    def _kept_counts(self, field: str, prefix: str) -> dict[str, int]:
        """Group tag → count for ``field`` under ``prefix``: kept in Redis from the first call on.

        A first count goes ``SCAN_BATCH`` keys a script call (writes meanwhile move the counts of the keys
        it has passed and leave the rest to it), so no call holds Redis for long on a big table.
        """
        low, high = self._bounds(prefix, None)
        args: list[str | int] = [field, prefix, low, high, self._prefix, MAX_KEPT_COUNTS, SCAN_BATCH]
        while True:
            flat = self._c.call("count", partial(self._c.kept, keys=[self._zset, self._kept], args=args))
            if flat == ["scan"]:
                return self._scanned_counts(field, low, high)
            if flat != ["more"]:
                break
        counts = {str(group): int(n) for group, n in zip(flat[::2], flat[1::2], strict=True)}
        counts.pop("#", None)
        return counts

    def _scanned_counts(self, field: str, low: str, high: str) -> dict[str, int]:
        """Group tag → count for ``field`` in the range, counted window by window and kept nowhere."""
        counts: dict[str, int] = {}
        while True:
            args: list[str | int] = [field, low, high, self._prefix, SCAN_BATCH]
            reply = self._c.call("count", partial(self._c.groups, keys=[self._zset], args=args))
            looked, last, flat = int(reply[0]), str(reply[1]), reply[2:]
            for group, n in zip(flat[::2], flat[1::2], strict=True):
                counts[str(group)] = counts.get(str(group), 0) + int(n)
            if looked < SCAN_BATCH:
                return counts
            low = "(" + last

    # -- writes (each is one script: all or nothing)
    def set(self, key: str, value: Any) -> None:
        self.set_many({key: value})

    def set_many(
        self,
        items: Mapping[str, Any],
        delete: Iterable[str] = (),
        *,
        require: Mapping[str, Mapping[str, Any] | None] | None = None,
    ) -> bool:
        """Write several keys (and delete others) in one atomic script, moving the kept counts with them.

        With ``require``, it writes only if each required key exists and its value's top-level fields
        equal the given ones (``None``: the key must be absent); returns whether it wrote.
        """
        rows = {key: encode_value(value) for key, value in items.items()}
        gone = list(dict.fromkeys(key for key in delete if key not in rows))
        required = [(k, None if v is None else self._where(v)) for k, v in (require or {}).items()]
        if not rows and not gone and not required:
            return True
        keys = [
            self._zset,
            self._kept,
            *[self._prefix + k for k, _ in required],
            *[self._prefix + k for k in rows],
            *[self._prefix + k for k in gone],
        ]
        args: list[Any] = [len(required), len(rows), len(gone), self._prefix]
        for _, want in required:
            if want is None:
                args.append(-1)
            else:
                args += [len(want) // 2, *want]
        args += list(rows.values())
        return bool(self._c.call("write", lambda: self._c.write(keys=keys, args=args)))

    def delete(self, key: str) -> bool:
        return self.delete_many([key]) == 1

    def delete_many(self, keys: Iterable[str]) -> int:
        """Delete keys, ``DELETE_BATCH`` an atomic script (kept counts move with them); returns how many existed.

        Each batch is all or nothing, and no one call blocks Redis for long; a failure part way leaves the
        batches before it deleted (a caller keeps what belongs together next to each other: a purge passes
        each index row beside its record).
        """
        keys = list(dict.fromkeys(keys))
        existed = 0
        for start in range(0, len(keys), DELETE_BATCH):
            chunk = keys[start : start + DELETE_BATCH]
            names = [self._zset, self._kept, *[self._prefix + k for k in chunk]]
            existed += int(self._c.call("delete", partial(self._c.delete, keys=names, args=[self._prefix])))
        return existed

    def close(self) -> None:
        REGISTRY.forget(CONNECTION_KIND, self.url, self._c)
        self._c.close()


CONNECTION_KIND = "redis connection"


def open_redis_store(url: str) -> RedisKV:
    """The process's job table on the Redis at ``url`` (one connection pool per URL); checks it answers."""
    client = REGISTRY.get(CONNECTION_KIND, url, lambda: RedisConnection(url))
    store = RedisKV(url, _client=client)
    store.ping()
    return store


def raw_connection(url: str) -> redis.Redis:
    """A bytes-mode client for RQ (which stores pickles of its own), with the same bounds."""
    return redis.Redis.from_url(
        url,
        socket_connect_timeout=CONNECT_TIMEOUT_S,
        socket_timeout=SOCKET_TIMEOUT_S,
        retry=Retry(ExponentialBackoff(cap=0.5, base=0.05), 2),
        health_check_interval=30,
    )


__all__ = ["RedisConnection", "RedisKV", "open_redis_store", "raw_connection", "redis_failure"]
