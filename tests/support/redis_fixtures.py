"""Redis fixtures: a redis-server per test session on a free loopback port; the store and meeting index on each backend.

``tests/conftest.py`` loads this module as a plugin (``pytest_plugins``). Without a ``redis-server`` binary the Redis
tests are skipped on a developer's machine and fail under CI (``make test`` installs it).
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from engagement.meetings.index import MeetingIndex
from engagement.storage.sqlite import SqliteKV
from tests.support.redis_server import REDIS_SERVER, RedisServer


@pytest.fixture(scope="session")
def redis_server() -> Iterator[RedisServer]:
    """The session's redis-server (127.0.0.1, a free port, a temporary folder), stopped at the end."""
    if not Path(REDIS_SERVER).exists():
        if os.environ.get("CI"):
            pytest.fail("redis-server is missing: `make test` installs Debian's redis-server")
        pytest.skip("redis-server is not installed (`make test` installs it)")
    server = RedisServer().start()
    yield server
    server.stop()


@pytest.fixture
def redis_url(redis_server: RedisServer) -> Iterator[str]:
    """The URL of an empty Redis database for this test."""
    import redis

    client = redis.Redis.from_url(redis_server.url)
    client.flushall()
    client.close()
    yield redis_server.url  # the connections opened on it are closed by the registry's reset (tests/conftest.py)


@pytest.fixture(params=["sqlite", "redis"])
def kv(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[SqliteKV]:
    """The store, once on each backend: the ``KVStore`` contract holds for both."""
    if request.param == "sqlite":
        store = SqliteKV(tmp_path / "kv.sqlite")
        yield store
        store.close()
        return
    from engagement.storage.redis import RedisKV

    store_r = RedisKV(request.getfixturevalue("redis_url"))
    yield store_r  # type: ignore[misc]
    store_r.close()


@pytest.fixture(params=["sqlite", "redis"])
def index_backend(request: pytest.FixtureRequest) -> Iterator[dict[str, str]]:
    """The meeting index's storage, once in SQLite and once in Redis: the settings that select it."""
    if request.param == "sqlite":
        yield {}
        return
    yield {"ENGAGEMENT_REDIS_URL": request.getfixturevalue("redis_url")}


@pytest.fixture
def make_index(index_backend: dict[str, str], tmp_path: Path) -> Iterator[Callable[[], MeetingIndex]]:
    """Opens the meeting index on this test's storage (a new object each call: another process's view)."""
    opened: list[MeetingIndex] = []

    def make() -> MeetingIndex:
        if "ENGAGEMENT_REDIS_URL" in index_backend:
            from engagement.meetings.redis_storage import RedisIndexStorage

            index = MeetingIndex(RedisIndexStorage(index_backend["ENGAGEMENT_REDIS_URL"]))
        else:
            index = MeetingIndex(tmp_path / "i.sqlite")
        opened.append(index)
        return index

    yield make
    for index in opened:
        index.close()
