"""The Fathom rate limit on Redis: one budget per key, shared by every process that uses the same Redis."""

from __future__ import annotations

import subprocess
import sys
import textwrap
from pathlib import Path

from engagement.fathom.redis_ratelimit import RedisRateLimiter

ROOT = Path(__file__).resolve().parents[1]

TAKE = textwrap.dedent(
    """
    import sys
    from engagement.fathom.redis_ratelimit import RedisRateLimiter

    limiter = RedisRateLimiter(sys.argv[1], limit=10, window_s=3600)
    print(sum(limiter.acquire("key-a") == 0.0 for _ in range(10)))
    """
)


def test_two_processes_share_one_budget_per_key(redis_url: str) -> None:
    """Two processes each asking for 10 slots of a 10-a-window key get 10 between them, not 20."""
    procs = [
        subprocess.Popen([sys.executable, "-c", TAKE, redis_url], cwd=ROOT, stdout=subprocess.PIPE, text=True)
        for _ in range(2)
    ]
    granted = [int(proc.communicate(timeout=60)[0]) for proc in procs]
    assert sum(granted) == 10
    here = RedisRateLimiter(redis_url, limit=10, window_s=3600)
    wait = here.acquire("key-a")
    assert 0 < wait <= 3600 * 1.02  # the window's budget is spent: wait for its oldest slot to age out
    assert here.acquire("key-b") == 0.0  # another key has its own budget
    here.close()


def test_a_429_seen_by_one_process_closes_the_window_for_all(redis_url: str) -> None:
    """One limiter learns Retry-After from a 429; another (another process's) waits that long too."""
    first = RedisRateLimiter(redis_url)
    other = RedisRateLimiter(redis_url)
    assert other.acquire("key-a") == 0.0
    first.observe("key-a", 429, {"Retry-After": "30"})
    assert 25 < other.acquire("key-a") <= 30
    assert other.acquire("key-b") == 0.0


def test_the_announced_limit_and_an_empty_budget_are_shared(redis_url: str) -> None:
    """RateLimit-Limit lowers everyone's budget; RateLimit-Remaining: 0 closes the window until RateLimit-Reset."""
    first = RedisRateLimiter(redis_url, limit=60, window_s=60)
    other = RedisRateLimiter(redis_url, limit=60, window_s=60)
    first.observe("key-a", 200, {"RateLimit-Limit": "2", "RateLimit-Remaining": "1"})
    assert [other.acquire("key-a") == 0.0 for _ in range(3)] == [True, True, False]
    first.observe("key-c", 200, {"RateLimit-Remaining": "0", "RateLimit-Reset": "12"})
    assert 8 < other.acquire("key-c") <= 12
