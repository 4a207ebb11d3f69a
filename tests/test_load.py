"""Load: 20 jobs for 10 domains at once while 5 threads poll — all complete, nothing lost or mixed up."""

from __future__ import annotations

import threading
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest

from engagement.jobs.service import InlineExecutor
from engagement.models import JobOptions, JobStatus
from engagement.runtime import create_runtime
from engagement.settings import Settings
from engagement.storage.sqlite import SqliteKV
from tests.support.waits import wait_until

DOMAINS = [
    "acmecorp.com",
    "brightwater.co.uk",
    "globex.io",
    "initech.com",
    "acmecorp.co",
    "example.com",
    "nobody.org",
    "umbrella.io",
    "hooli.com",
    "piedpiper.com",
]
OPTIONS = [JobOptions(), JobOptions(since="2026-07-01")]


def test_twenty_jobs_and_five_pollers(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    """Every job ends complete with its own domain's counts; no record is lost, mixed or locked."""
    settings = Settings.from_env({"ENGAGEMENT_DB": str(tmp_path / "load.sqlite"), "ENGAGEMENT_WORKERS": "6"})

    # What each (domain, options) must count, from one job at a time in a separate file.
    expected: dict[tuple[str, JobOptions], int] = {}
    baseline = create_runtime(settings, store=SqliteKV(tmp_path / "baseline.sqlite"), executor=InlineExecutor())
    for domain in DOMAINS:
        for options in OPTIONS:
            record = baseline.jobs.get(domain, baseline.jobs.start(domain, options))
            assert record.summary is not None
            expected[(domain, options)] = record.summary.meetings_count
    assert expected[("acmecorp.com", JobOptions())] == 13 and expected[("nobody.org", JobOptions())] == 0

    store = SqliteKV(settings.engagement_db)
    with ThreadPoolExecutor(6) as pool:
        runtime = create_runtime(settings, store=store, executor=pool)
        jobs: dict[str, tuple[str, JobOptions]] = {}
        barrier = threading.Barrier(20)
        lock = threading.Lock()

        def start(domain: str, options: JobOptions) -> None:
            barrier.wait(5)
            run_id = runtime.jobs.start(domain, options)
            with lock:
                jobs[run_id] = (domain, options)

        starters = [threading.Thread(target=start, args=(d, o)) for d in DOMAINS for o in OPTIONS]
        stop = threading.Event()
        polled: list[int] = []
        failures: list[BaseException] = []

        def poll() -> None:
            n = 0
            while not stop.is_set():
                try:
                    for run_id, (domain, _) in list(jobs.items()):
                        assert runtime.jobs.get(domain, run_id).domain == domain
                    runtime.repo.rows(limit=50)
                    runtime.repo.totals()
                    n += 1
                except BaseException as exc:  # noqa: BLE001 - reported below
                    failures.append(exc)
                    return
            polled.append(n)

        pollers = [threading.Thread(target=poll) for _ in range(5)]
        for t in pollers + starters:
            t.start()
        for t in starters:
            t.join()
        wait_until(lambda: not runtime.repo.totals()["processing"], "every job to end")
        stop.set()
        for t in pollers:
            t.join()

    assert failures == []
    assert len(jobs) == 20 and all(n > 0 for n in polled)
    assert runtime.repo.totals() == {"processing": 0, "complete": 20, "error": 0}
    for run_id, (domain, options) in jobs.items():
        record = runtime.jobs.get(domain, run_id)
        assert record.status is JobStatus.COMPLETE
        assert (record.domain, record.run_id, record.options) == (domain, run_id, options)
        assert record.summary is not None and record.summary.domain == domain
        assert record.summary.meetings_count == expected[(domain, options)]
    assert store.count("engagement:") == store.count("index:") == 20
    assert not [r for r in caplog.records if "locked" in r.getMessage()]
    assert store.integrity_check() == "ok"
