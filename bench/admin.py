"""Admin at scale: the admin table's first page and a purge, with 10,000 and 100,000 stored jobs in the
embedded file, and with 10,000 in Redis."""

from __future__ import annotations

import tempfile
import time
import uuid
from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager, contextmanager
from datetime import UTC, datetime, timedelta
from pathlib import Path

from bench.measure import Result, latency, time_calls
from engagement.jobs.repository import JobRepository
from engagement.models import JobRecord, JobStatus
from engagement.storage.sqlite import KVStore, SqliteKV
from tests.support.summary_factory import make_summary

BASE = datetime(2026, 1, 1, tzinfo=UTC)
QUICK = {"sizes": (1_000,), "redis_sizes": (1_000,)}


def seed(store: KVStore, count: int) -> None:
    """``count`` complete and failed jobs, one a minute, each with a realistic summary."""
    summary = make_summary()
    repo = JobRepository(store)
    batch: list[JobRecord] = []
    for i in range(count):
        at = BASE + timedelta(minutes=i)
        failed = i % 7 == 0
        record = JobRecord(
            domain=f"customer{i % 250}.com",
            run_id=str(uuid.UUID(int=i)),
            status=JobStatus.ERROR if failed else JobStatus.COMPLETE,
            summary=None if failed else summary,
            error="Fathom rejected the API key." if failed else None,
            created_at=at,
            updated_at=at + timedelta(seconds=20),
            ended_at=at + timedelta(seconds=20),
            stage="failed" if failed else "complete",
        )
        batch.append(record)
        if len(batch) >= 2000:
            repo.create(*batch)
            batch = []
    repo.create(*batch)


def first_page(repo: JobRepository) -> None:
    """What the admin page reads to draw: totals, the domain filter's choices, the count and 50 rows."""
    repo.totals()
    repo.domains()
    repo.count()
    repo.rows(limit=50, offset=0)


@contextmanager
def sqlite_store() -> Iterator[KVStore]:
    with tempfile.TemporaryDirectory() as tmp:
        store = SqliteKV(Path(tmp) / "bench.sqlite")
        yield store
        store.close()


@contextmanager
def redis_store() -> Iterator[KVStore]:
    """A throw-away redis-server (the tests' own launcher) and the job table in it."""
    from engagement.storage.redis import RedisKV
    from tests.support.redis_server import RedisServer

    with RedisServer() as server:
        store = RedisKV(server.url)
        yield store
        store.close()


def measure(where: str, size: int, open_store: Callable[[], AbstractContextManager[KVStore]]) -> list[Result]:
    """The first page (p50 of 50 draws) and one purge of the 10,000 oldest jobs, ``size`` jobs stored."""
    on = "" if where == "sqlite" else " on Redis"
    with open_store() as store:
        seed(store, size)
        now = BASE + timedelta(minutes=size)
        repo = JobRepository(store, clock=lambda: now)
        samples = time_calls(lambda i: first_page(repo), 50, warmup=3)
        goal = 200.0 if size == 10_000 else None
        page = latency(
            "Admin", f"first page{on}, {size:,} jobs", samples, goal, "totals + domains + count + 50 newest rows"
        )
        began = time.perf_counter()
        purged = min(size, 10_000)
        removed = repo.purge(older_than=timedelta(minutes=size - purged))
        seconds = time.perf_counter() - began
    purge = Result(
        group="Admin",
        name=f"purge {purged:,} old jobs of {size:,}{on}",
        value=seconds * 1000,
        unit="ms",
        goal="≤ 1000 ms",
        met=seconds <= 1.0 and removed == purged,
        note=f"removed {removed:,}: the index keys below the cut-off, then one delete",
    )
    return [page, purge]


def run(sizes: tuple[int, ...] = (10_000, 100_000), redis_sizes: tuple[int, ...] = (10_000,)) -> list[Result]:
    results = []
    for size in sizes:
        results += measure("sqlite", size, sqlite_store)
    for size in redis_sizes:
        results += measure("redis", size, redis_store)
    return results
