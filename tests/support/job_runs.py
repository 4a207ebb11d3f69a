"""Running one job to its end, as the app does: a one-thread pool, a store file, the settings given."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

from engagement.models import JobRecord
from engagement.runtime import create_runtime
from engagement.settings import Settings
from engagement.storage.sqlite import SqliteKV
from tests.support.waits import bounded, wait_until


def run_to_the_end(tmp_path: Path, env: dict[str, str], domain: str = "acmecorp.com") -> JobRecord:
    """Start one job for ``domain`` under the settings in ``env`` (its store a file in ``tmp_path``) on a
    one-thread pool; return its record once it has ended and the pool's one worker is free again.

    Both waits are bounded: a job that never ends, or a worker it never gives back, fails the test.
    """
    settings = Settings.from_env({"ENGAGEMENT_DB": str(tmp_path / "jobs.sqlite"), **env})
    pool = ThreadPoolExecutor(1)
    runtime = create_runtime(settings, store=SqliteKV(settings.engagement_db), executor=pool)
    try:
        run_id = runtime.jobs.start(domain)

        wait_until(lambda: runtime.jobs.get(domain, run_id).status.terminal, f"the {domain} job to end")
        record = runtime.jobs.get(domain, run_id)
        bounded(lambda: pool.submit(lambda: None).result(), 30)  # the job's worker came back
    finally:
        pool.shutdown(wait=False, cancel_futures=True)
        runtime.close()
    return record
