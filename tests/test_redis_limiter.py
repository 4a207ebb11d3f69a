"""The Fathom rate limit on Redis: one budget per key, shared by every process that uses the same Redis."""

from __future__ import annotations

import subprocess
import sys
import textwrap
from pathlib import Path

from engagement.redis_limiter import RedisRateLimiter

ROOT = Path(__file__).resolve().parents[1]

TAKE = textwrap.dedent(
    """
    import sys
    from engagement.redis_limiter import RedisRateLimiter

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
