"""Fathom's External API: the client, the rate limiters (in process and in Redis) and the demo API.

The names in ``__all__`` are its public face, each loaded from its module on first use
(``engagement.exports``), so importing the package costs nothing.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from engagement.exports import exports_of

if TYPE_CHECKING:
    from engagement.fathom.client import FathomClient, include_flags
    from engagement.fathom.demo import FathomAPI
    from engagement.fathom.ratelimit import InProcessRateLimiter, RateLimiter, key_id, use_limiter
    from engagement.fathom.redis_ratelimit import RedisRateLimiter, redis_limiter_for

__all__ = [
    "FathomAPI",
    "FathomClient",
    "InProcessRateLimiter",
    "RateLimiter",
    "RedisRateLimiter",
    "include_flags",
    "key_id",
    "redis_limiter_for",
    "use_limiter",
]

__getattr__ = exports_of(
    __name__,
    {
        "client": ["FathomClient", "include_flags"],
        "demo": ["FathomAPI"],
        "ratelimit": ["InProcessRateLimiter", "RateLimiter", "key_id", "use_limiter"],
        "redis_ratelimit": ["RedisRateLimiter", "redis_limiter_for"],
    },
)
