"""The key-value store: the ``KVStore`` contract, ``SqliteKV`` (sqlitedict, the default) and ``RedisKV``.

The names in ``__all__`` are its public face, each loaded from its module on first use
(``engagement.exports``), so importing the package costs nothing.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from engagement.exports import exports_of

if TYPE_CHECKING:
    from engagement.storage.redis import RedisConnection, RedisKV, open_redis_store, raw_connection, redis_failure
    from engagement.storage.sqlite import (
        BUSY_TIMEOUT_S,
        CACHE_TABLE,
        JOBS_TABLE,
        KVStore,
        SqliteKV,
        open_store,
        store_error,
    )

__all__ = [
    "BUSY_TIMEOUT_S",
    "CACHE_TABLE",
    "JOBS_TABLE",
    "KVStore",
    "RedisConnection",
    "RedisKV",
    "SqliteKV",
    "open_redis_store",
    "open_store",
    "raw_connection",
    "redis_failure",
    "store_error",
]

__getattr__ = exports_of(
    __name__,
    {
        "redis": ["RedisConnection", "RedisKV", "open_redis_store", "raw_connection", "redis_failure"],
        "sqlite": ["BUSY_TIMEOUT_S", "CACHE_TABLE", "JOBS_TABLE", "KVStore", "SqliteKV", "open_store", "store_error"],
    },
)
