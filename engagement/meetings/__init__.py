"""The workspace meeting index: its sync from Fathom and its reads, stored in SQLite or in Redis.

The names in ``__all__`` are its public face, each loaded from its module on first use
(``engagement.exports``), so importing the package costs nothing.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from engagement.exports import exports_of

if TYPE_CHECKING:
    from engagement.meetings.index import (
        IndexStatus,
        MeetingIndex,
        SqliteIndexStorage,
        SyncResult,
        SyncTask,
        open_index,
    )
    from engagement.meetings.redis_storage import RedisIndexStorage, open_redis_index

__all__ = [
    "IndexStatus",
    "MeetingIndex",
    "RedisIndexStorage",
    "SqliteIndexStorage",
    "SyncResult",
    "SyncTask",
    "open_index",
    "open_redis_index",
]

__getattr__ = exports_of(
    __name__,
    {
        "index": ["IndexStatus", "MeetingIndex", "SqliteIndexStorage", "SyncResult", "SyncTask", "open_index"],
        "redis_storage": ["RedisIndexStorage", "open_redis_index"],
    },
)
