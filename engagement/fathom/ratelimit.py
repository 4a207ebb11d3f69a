"""RateLimiter: one budget of requests per API key for the whole process, paced from Fathom's RateLimit-* headers.

Fathom allows 60 calls a minute per user and says where a key stands with ``RateLimit-Limit``,
``RateLimit-Remaining`` and ``RateLimit-Reset`` (seconds left in the window); it documents no
``Retry-After``. The limiter is shared by every job and the index sync of a process
(:func:`limiter_for`), so four workers on one key share one budget instead of each spending it.

The interface is two calls, so another implementation (one backed by Redis, for several
processes) can slot in::

    wait = limiter.acquire(key)          # 0.0: a request slot was taken, send now
                                         # > 0: sleep that long (in slices, reporting) and ask again
    limiter.observe(key, status, headers)  # after every answer: learn the limit, the window, a 429

``InProcessRateLimiter`` keeps, per key, the send times of the last window (a sliding window: at
most ``limit`` sends in any ``window_s``, which also keeps every fixed window of the server's under
the limit) and a "closed until" time learned from a 429, ``RateLimit-Remaining: 0`` or
``Retry-After``. ``limit`` comes from ``RateLimit-Limit``; ``window_s`` is Fathom's documented
minute until an answer with ``RateLimit-Remaining = limit - 1`` (the first request of a fresh
window) shows the whole window in its ``RateLimit-Reset``.

A job's own requests go first: the meeting index's background sync asks with ``background=True``, and while a
job's request waits for a slot (it said so within its wait and :data:`FOREGROUND_GRACE` after), a background
request is told to wait too, so the slot that opens is the job's.
"""

from __future__ import annotations

import hashlib
import math
import threading
import time
from collections import deque
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime
from typing import Protocol, cast

from engagement.registry import REGISTRY

DEFAULT_LIMIT = 60  # Fathom: 60 calls a minute per user
DEFAULT_WINDOW_S = 60.0
# Send times are ours and arrival times the server's; a small margin keeps latency jitter from
# squeezing one window's worth of requests into less than a window at the server.
WINDOW_MARGIN = 0.02
FOREGROUND_GRACE = 1.0  # seconds past a waiting job request's slot that the background sync still leaves it


class RateLimiter(Protocol):
    """What the Fathom client needs from a limiter (one per process, shared by every client of a key)."""

    def acquire(self, key: str, *, background: bool = False) -> float:
        """Take a request slot for ``key`` and return 0.0, or return the seconds to wait before asking again.

        A ``background`` request (the index's sync) waits while a foreground one (a job's) waits for a slot.
        """
        ...

    def observe(self, key: str, status: int, headers: Mapping[str, str], fallback_s: float | None = None) -> None:
        """Learn from one answer: its ``RateLimit-*`` / ``Retry-After`` headers; a 429 closes the window.

        ``fallback_s`` is how long a 429 closes the window when the answer says nothing about it.
        """
        ...


def header_number(headers: Mapping[str, str], name: str) -> float | None:
    """A ``RateLimit-*`` header as a finite number of at least 0 (its first item); None if absent or unusable."""
    raw = headers.get(name)
    if raw is None:
        return None
    try:
        value = float(str(raw).split(",")[0].strip())
    except ValueError:
        return None
    return value if math.isfinite(value) and value >= 0 else None


def parse_retry_after(value: str | None, *, now: datetime | None = None) -> float | None:
    """Seconds to wait from a ``Retry-After`` header: delay-seconds or an HTTP-date; ``None`` if unusable."""
    if value is None or not value.strip():
        return None
    value = value.strip()
    try:
        seconds = float(value)
    except ValueError:
        pass
    else:
        return max(0.0, seconds) if math.isfinite(seconds) else None  # NaN and inf are unusable
    try:
        when = parsedate_to_datetime(value)
    except (TypeError, ValueError, IndexError):
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    now = now or datetime.now(UTC)
    return max(0.0, (when - now).total_seconds())


def reset_seconds(headers: Mapping[str, str]) -> float | None:
    """Seconds until the window reopens: ``Retry-After`` when sent, else ``RateLimit-Reset``; None if neither."""
    retry_after = parse_retry_after(headers.get("Retry-After"))
    if retry_after is not None:
        return retry_after
    return header_number(headers, "RateLimit-Reset")


@dataclass
class _Budget:
    limit: int
    window_s: float
    sent: deque[float] = field(default_factory=deque)
    closed_until: float = 0.0
    foreground_until: float = 0.0  # a job's request waits for a slot until about then: background ones wait too


class InProcessRateLimiter:
    """A ``RateLimiter`` for one process: thread-safe, clock injectable (tests).

    Attributes:
        limit / window_s: the budget before a ``RateLimit-Limit`` header says otherwise.
    """

    def __init__(
        self,
        limit: int = DEFAULT_LIMIT,
        window_s: float = DEFAULT_WINDOW_S,
        *,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        if limit < 1 or window_s <= 0:
            raise ValueError("a rate limit needs at least one request per positive window")
        self.limit = limit
        self.window_s = window_s
        self._clock = clock
        self._lock = threading.Lock()
        self._budgets: dict[str, _Budget] = {}

    def _budget(self, key: str) -> _Budget:
        budget = self._budgets.get(key)
        if budget is None:
            budget = self._budgets[key] = _Budget(self.limit, self.window_s)
        return budget

    def acquire(self, key: str, *, background: bool = False) -> float:
        with self._lock:
            now = self._clock()
            budget = self._budget(key)
            wait = self._wait(budget, now)
            if background and budget.foreground_until > now:
                return max(wait, budget.foreground_until - now)
            if wait > 0:
                if not background:
                    budget.foreground_until = max(budget.foreground_until, now + wait + FOREGROUND_GRACE)
                return wait
            budget.sent.append(now)
            return 0.0

    @staticmethod
    def _wait(budget: _Budget, now: float) -> float:
        """Seconds until ``budget`` has a slot (0.0: one is free now)."""
        if budget.closed_until > now:
            return budget.closed_until - now
        span = budget.window_s * (1 + WINDOW_MARGIN)
        while budget.sent and budget.sent[0] <= now - span:
            budget.sent.popleft()
        if len(budget.sent) >= budget.limit:
            return max(budget.sent[0] + span - now, 0.001)
        return 0.0

    def observe(self, key: str, status: int, headers: Mapping[str, str], fallback_s: float | None = None) -> None:
        limit = header_number(headers, "RateLimit-Limit")
        remaining = header_number(headers, "RateLimit-Remaining")
        reset = reset_seconds(headers)
        with self._lock:
            now = self._clock()
            budget = self._budget(key)
            if limit is not None and limit >= 1:
                budget.limit = int(limit)
                # The first request of a fresh window is told the whole window: learn its length.
                if remaining is not None and reset and remaining == limit - 1 and status != 429:
                    budget.window_s = float(math.ceil(reset))
            closes = status == 429 or (remaining is not None and remaining < 1)
            if not closes:
                return
            # Another process may be spending the same key: trust the server over our own count.
            wait = reset if reset is not None else fallback_s
            if wait is None:
                return
            until = now + wait
            budget.closed_until = max(budget.closed_until, until)


LIMITER_KIND = "rate limiter"


def key_id(api_key: str, base_url: str = "") -> str:
    """A name for a key's budget that does not hold the key (a hash of it and the server)."""
    return hashlib.sha256(f"{base_url}\n{api_key}".encode()).hexdigest()[:16]


def limiter_for(scope: str = "fathom") -> RateLimiter:
    """The process's limiter (one per upstream service); budgets inside it are per API key."""
    return REGISTRY.get(LIMITER_KIND, scope, lambda: cast(RateLimiter, InProcessRateLimiter()))


def use_limiter(limiter: RateLimiter, scope: str = "fathom") -> None:
    """Make ``limiter`` the process's limiter for ``scope`` (a shared, e.g. Redis-backed, one; or a test's)."""
    REGISTRY.put(LIMITER_KIND, scope, limiter)
