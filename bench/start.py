"""Start: ``JobService.start()`` until the run id is returned (the job runs on a thread pool)."""

from __future__ import annotations

import tempfile
import threading
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

from bench.measure import Result, latency, time_calls
from engagement.jobs.repository import JobRepository
from engagement.jobs.service import JobContext, JobService
from engagement.models import EngagementSummary
from engagement.storage.sqlite import SqliteKV


def run(runs: int = 1000) -> list[Result]:
    gate = threading.Event()

    def body(ctx: JobContext) -> EngagementSummary:
        gate.wait(30)  # keep the workers busy elsewhere: only start() is timed
        return EngagementSummary()

    with tempfile.TemporaryDirectory() as tmp, ThreadPoolExecutor(4) as pool:
        store = SqliteKV(Path(tmp) / "bench.sqlite")
        service = JobService(JobRepository(store), body, pool, heartbeat_s=3600)
        # 20 domains with jobs already stored, as on a used install; each start is a new domain+options.
        samples = time_calls(lambda i: service.start(f"customer{i % 20}.com", _options(i)), runs)
        gate.set()
    return [latency("Start", "JobService.start() → run id", samples, 5.0, "seed's goal: < 100 ms")]


def _options(i: int):  # noqa: ANN202
    from engagement.models import JobOptions

    return JobOptions(since=f"{2000 + i // 365:04d}-01-01", until=None)
