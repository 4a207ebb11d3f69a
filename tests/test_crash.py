"""Crash: a process killed with SIGKILL in the middle of a job leaves a file that recovers cleanly."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap
from pathlib import Path

from engagement.jobs.repository import JobRepository
from engagement.jobs.service import INTERRUPTED, JobService
from engagement.models import EngagementSummary, JobStatus
from engagement.storage.sqlite import SqliteKV

CHILD = textwrap.dedent(
    """
    import sys, time
    from engagement.jobs.service import JobService
    from engagement.jobs.repository import JobRepository
    from engagement.models import EngagementSummary, JobOptions
    from engagement.storage.sqlite import SqliteKV
    from concurrent.futures import ThreadPoolExecutor

    store = SqliteKV(sys.argv[1])

    def body(ctx):
        if ctx.domain != "victim.com":
            return EngagementSummary(meetings_count=3, domain=ctx.domain)
        for i in range(10**6):  # writes as fast as it can until it is killed
            ctx.report(f"analysed {i}/1000000 meetings", i, 10**6)
            if i == 200:
                print("writing", flush=True)  # the parent kills it now: mid-write, a few hundred updates in

    service = JobService(JobRepository(store), body, ThreadPoolExecutor(2), heartbeat_s=0.05)
    for n in range(5):
        service.start(f"done{n}.com")
    while any(r.status.value == "processing" for r in service.repo.rows()):
        time.sleep(0.01)
    service.start("victim.com")
    print("running", flush=True)
    time.sleep(60)  # killed long before
    """
)


def test_a_job_killed_mid_write_is_interrupted_and_the_rest_is_intact(tmp_path: Path) -> None:
    """kill -9 mid-job: on the next start the job is error (interrupted), other records intact, file healthy."""
    path = tmp_path / "crash.sqlite"
    env = {**os.environ, "PYTHONPATH": str(Path(__file__).resolve().parents[1])}
    child = subprocess.Popen([sys.executable, "-c", CHILD, str(path)], stdout=subprocess.PIPE, env=env)
    try:
        assert child.stdout is not None
        assert child.stdout.readline().strip() == b"running"
        assert child.stdout.readline().strip() == b"writing"  # it is mid-job, writing as fast as it can
    finally:
        os.kill(child.pid, signal.SIGKILL)
        child.wait(10)

    store = SqliteKV(path)
    assert store.integrity_check() == "ok"
    service = JobService(JobRepository(store), lambda ctx: EngagementSummary())
    assert service.recover_stale() == 1
    victim = service.repo.rows(domain="victim.com")[0]
    record = service.get("victim.com", victim.run_id)
    assert record.status is JobStatus.ERROR and record.error == INTERRUPTED
    assert record.progress.done > 0
    done = [service.get(r.domain, r.run_id) for r in service.repo.rows() if r.domain != "victim.com"]
    assert len(done) == 5
    assert all(r.status is JobStatus.COMPLETE and r.summary and r.summary.meetings_count == 3 for r in done)
    assert store.count("engagement:") == store.count("index:") == 6
    store.close()
