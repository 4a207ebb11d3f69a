"""RedisRateLimiter: one Fathom budget per API key shared by every process on every machine that uses one Redis.

The same two calls as the in-process limiter (``acquire`` a slot or learn how long to wait;
``observe`` each answer's ``RateLimit-*`` / ``Retry-After``), with the state in Redis so N workers
on M machines together stay under Fathom's 60 calls a minute per key::

    ratelimit:{scope}:{key}:sent     sorted set of send times (a sliding window, as in-process)
    ratelimit:{scope}:{key}:closed   until when a 429 or ``RateLimit-Remaining: 0`` closed the window
    ratelimit:{scope}:{key}:limit    the limit the server announced (``RateLimit-Limit``)
    ratelimit:{scope}:{key}:fg       until when a job's request waits for a slot (the background sync waits too)

Each call is one Lua script, so taking a slot is atomic across processes, and the clock is Redis's
own (``TIME``), so machines whose clocks differ still share one window. Keys expire after a window
of no use. ``key`` is already a hash of the API key (``ratelimit.key_id``): no secret reaches Redis.
"""

from __future__ import annotations

import uuid
from collections.abc import Mapping

import redis

from engagement.fathom.ratelimit import (  # the header rules live with the in-process limiter
    FOREGROUND_GRACE,
    header_number,
    reset_seconds,
)
from engagement.registry import REGISTRY
from engagement.storage.redis import raw_connection, redis_failure

DEFAULT_LIMIT = 60  # Fathom: 60 calls a minute per user
DEFAULT_WINDOW_S = 60.0
WINDOW_MARGIN = 0.02  # as in-process: latency jitter must not squeeze a window's requests into less than one

_NOW = """
local t = redis.call('TIME')
local now = tonumber(t[1]) + tonumber(t[2]) / 1000000
"""

# KEYS: sent, closed, limit, fg. ARGV: default limit, window seconds, margin, a unique member, '1' for a background
# request, the foreground grace in seconds.
_ACQUIRE = (
    _NOW
    + """
local wait = 0
local closed = tonumber(redis.call('GET', KEYS[2]) or '0')
local limit = tonumber(redis.call('GET', KEYS[3]) or ARGV[1])
local span = tonumber(ARGV[2]) * (1 + tonumber(ARGV[3]))
if closed > now then
  wait = closed - now
else
  redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', now - span)
  if redis.call('ZCARD', KEYS[1]) >= limit then
    local first = redis.call('ZRANGE', KEYS[1], 0, 0, 'WITHSCORES')
    wait = math.max(tonumber(first[2]) + span - now, 0.001)
  end
end
local fg = tonumber(redis.call('GET', KEYS[4]) or '0')
if ARGV[5] == '1' and fg > now then return tostring(math.max(wait, fg - now)) end
if wait > 0 then
  if ARGV[5] ~= '1' then
    local until_ = now + wait + tonumber(ARGV[6])
    if until_ > fg then redis.call('SET', KEYS[4], tostring(until_), 'PX', math.ceil((wait + tonumber(ARGV[6])) * 1000) + 1000) end
  end
  return tostring(wait)
end
redis.call('ZADD', KEYS[1], now, ARGV[4])
redis.call('PEXPIRE', KEYS[1], math.ceil(span * 1000))
return '0'
"""
)

# KEYS: closed, limit. ARGV: limit ('' if unknown), wait seconds ('' if none), window seconds.
_OBSERVE = (
    _NOW
    + """
local ttl = math.ceil(tonumber(ARGV[3]) * 2000)
if ARGV[1] ~= '' then redis.call('SET', KEYS[2], ARGV[1], 'PX', ttl) end
if ARGV[2] ~= '' then
  local wait = tonumber(ARGV[2])
  local until_ = now + wait
  local closed = tonumber(redis.call('GET', KEYS[1]) or '0')
  if until_ > closed then
    redis.call('SET', KEYS[1], tostring(until_), 'PX', math.ceil(wait * 1000) + 1000)
  end
end
return 1
"""
)


class RedisRateLimiter:
    """A ``RateLimiter`` whose budgets live in Redis: shared by every process that names the same Redis.

    Attributes:
        limit / window_s: the budget before a ``RateLimit-Limit`` header says otherwise.
        scope: which upstream the budgets are for (``fathom``).
    """

    def __init__(
        self, url: str, *, scope: str = "fathom", limit: int = DEFAULT_LIMIT, window_s: float = DEFAULT_WINDOW_S
    ) -> None:
        if limit < 1 or window_s <= 0:
            raise ValueError("a rate limit needs at least one request per positive window")
        self.url = url
        self.scope = scope
        self.limit = limit
        self.window_s = window_s
        self._redis = raw_connection(url)
        self._acquire = self._redis.register_script(_ACQUIRE)
        self._observe = self._redis.register_script(_OBSERVE)

    def _keys(self, key: str) -> tuple[str, str, str]:
        base = f"ratelimit:{self.scope}:{key}"
        return f"{base}:sent", f"{base}:closed", f"{base}:limit"

    def acquire(self, key: str, *, background: bool = False) -> float:
        """Take a request slot for ``key`` and return 0.0, or return the seconds to wait before asking again; a
        ``background`` request waits while a foreground one waits for a slot."""
        sent, closed, limit = self._keys(key)
        fg = f"ratelimit:{self.scope}:{key}:fg"
        args: list[str | int | float] = [self.limit, self.window_s, WINDOW_MARGIN, uuid.uuid4().hex]
        args += ["1" if background else "0", FOREGROUND_GRACE]
        try:
            wait = self._acquire(keys=[sent, closed, limit, fg], args=args)
        except redis.exceptions.RedisError as exc:
            raise redis_failure(self.url, "rate limit", exc) from None
        return float(wait)

    def observe(self, key: str, status: int, headers: Mapping[str, str], fallback_s: float | None = None) -> None:
        """Learn from one answer: the announced limit; a 429 or ``RateLimit-Remaining: 0`` closes the window."""
        announced = header_number(headers, "RateLimit-Limit")
        remaining = header_number(headers, "RateLimit-Remaining")
        wait: float | None = None
        if status == 429 or (remaining is not None and remaining < 1):
            reset = reset_seconds(headers)
            wait = reset if reset is not None else fallback_s
        if announced is None and wait is None:
            return
        _, closed, limit = self._keys(key)
        args = ["" if announced is None or announced < 1 else int(announced), "" if wait is None else wait]
        try:
            self._observe(keys=[closed, limit], args=[*args, self.window_s])
        except redis.exceptions.RedisError as exc:
            raise redis_failure(self.url, "rate limit", exc) from None

    def close(self) -> None:
        self._redis.close()


LIMITER_KIND = "redis rate limiter"


def redis_limiter_for(url: str, scope: str = "fathom") -> RedisRateLimiter:
    """The process's limiter on the Redis at ``url`` (one connection per URL and upstream)."""
    return REGISTRY.get(LIMITER_KIND, f"{scope} {url}", lambda: RedisRateLimiter(url, scope=scope))
