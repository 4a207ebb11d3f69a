"""Admin at scale: the admin table's first page and a purge, with 10,000 and 100,000 stored jobs."""

from __future__ import annotations

import tempfile
import time
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path

from bench.measure import Result, latency, time_calls
from engagement.models import JobRecord, JobStatus
from engagement.repository import JobRepository
from engagement.store import SqliteKV
from tests.support.summary_factory import make_summary

BASE = datetime(2026, 1, 1, tzinfo=UTC)


def seed(store: SqliteKV, count: int) -> None:
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
    """What the admin page reads to draw: totals, the filtered count and one page of 50 rows."""
    repo.totals()
    repo.count()
    repo.rows(limit=50, offset=0)


def run(sizes: tuple[int, ...] = (10_000, 100_000)) -> list[Result]:
    results = []
    for size in sizes:
        with tempfile.TemporaryDirectory() as tmp:
            store = SqliteKV(Path(tmp) / "bench.sqlite")
            seed(store, size)
            now = BASE + timedelta(minutes=size)
            service = JobRepository(store, clock=lambda now=now: now)
            samples = time_calls(lambda i, service=service: first_page(service), 50, warmup=3)
            goal = 200.0 if size == 10_000 else None
            results.append(
                latency("Admin", f"first page, {size:,} jobs", samples, goal, "totals + count + 50 newest rows")
            )
            began = time.perf_counter()
            removed = service.purge(older_than=timedelta(minutes=size - 10_000))
            seconds = time.perf_counter() - began
            results.append(
                Result(
                    group="Admin",
                    name=f"purge 10,000 old jobs of {size:,}",
                    value=seconds * 1000,
                    unit="ms",
                    goal="≤ 1000 ms",
                    met=seconds <= 1.0 and removed == 10_000,
                    note=f"removed {removed:,}",
                )
            )
            store.close()
    return results
