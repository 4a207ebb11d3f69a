"""JobService: start, read, list, delete, purge, dedupe, failures, time limits and stale recovery."""

from __future__ import annotations

import threading
import time
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime, timedelta

import pytest

from engagement.errors import FathomAuthError, JobNotFoundError
from engagement.jobs import INTERRUPTED, JobContext, JobRow, JobService, index_key
from engagement.models import EngagementSummary, JobOptions, JobRecord, JobStatus, job_key
from engagement.store import SqliteKV


@pytest.fixture
def store(kv: SqliteKV) -> SqliteKV:
    """Every job-service test runs on both backends: the embedded file and Redis."""
    return kv


class Clock:
    """A clock the test moves by hand."""

    def __init__(self) -> None:
        self.now = datetime(2026, 11, 1, 9, 0, tzinfo=UTC)

    def __call__(self) -> datetime:
        return self.now

    def advance(self, **delta: float) -> None:
        self.now += timedelta(**delta)


def summary_of(ctx: JobContext) -> EngagementSummary:
    ctx.report("fetching meetings", source="demo", analyzer="offline")
    ctx.report("analysed 1/2 meetings", 1, 2)
    ctx.report("analysed 2/2 meetings", 2, 2)
    return EngagementSummary(meetings_count=2, domain=ctx.domain)


def test_start_writes_processing_under_the_key_scheme(store: SqliteKV) -> None:
    """start() stores status=processing under engagement:{domain}:{run_id} before the work runs."""
    seen: list[dict] = []

    def body(ctx: JobContext) -> EngagementSummary:
        seen.append(store.get(job_key(ctx.domain, ctx.run_id)))
        return EngagementSummary()

    run_id = JobService(store, body).start("acmecorp.com")
    assert seen[0]["status"] == "processing"
    assert seen[0]["run_id"] == run_id
    assert store.get(f"engagement:acmecorp.com:{run_id}")["status"] == "complete"


def test_a_completed_job_has_its_summary_progress_and_stats(store: SqliteKV) -> None:
    """The body's summary, last stage, full progress, source, analyzer and duration are recorded."""
    service = JobService(store, summary_of)
    record = service.get("acmecorp.com", service.start("acmecorp.com"))
    assert record.status is JobStatus.COMPLETE
    assert record.summary is not None and record.summary.meetings_count == 2
    assert (record.progress.done, record.progress.total) == (2, 2)
    assert (record.source, record.analyzer, record.error) == ("demo", "offline", None)
    assert record.ended_at is not None and record.stats.seconds >= 0


def test_start_returns_within_milliseconds_on_a_thread_pool(store: SqliteKV) -> None:
    """With a real pool, start() returns while the body is still running."""
    release = threading.Event()

    def slow(ctx: JobContext) -> EngagementSummary:
        release.wait(5)
        return EngagementSummary()

    with ThreadPoolExecutor(2) as pool:
        service = JobService(store, slow, pool)
        began = time.perf_counter()
        run_id = service.start("acmecorp.com")
        elapsed = time.perf_counter() - began
        assert service.get("acmecorp.com", run_id).status is JobStatus.PROCESSING
        release.set()
    assert elapsed < 0.5  # generous: the bench measures the real figure
    assert service.get("acmecorp.com", run_id).status is JobStatus.COMPLETE


def test_a_second_start_while_processing_returns_the_running_job(store: SqliteKV) -> None:
    """Same domain and options while processing: the running run id, not a second job."""
    release = threading.Event()

    def slow(ctx: JobContext) -> EngagementSummary:
        release.wait(5)
        return EngagementSummary()

    with ThreadPoolExecutor(2) as pool:
        service = JobService(store, slow, pool)
        first = service.start("acmecorp.com")
        assert service.start("acmecorp.com") == first
        other_options = service.start("acmecorp.com", JobOptions(since="2026-06-01"))
        other_domain = service.start("globex.io")
        assert len({first, other_options, other_domain}) == 3
        release.set()
        deadline = time.monotonic() + 5
        while service.get("acmecorp.com", first).status is JobStatus.PROCESSING and time.monotonic() < deadline:
            time.sleep(0.01)
        assert service.count() == 3
        # Once it is finished, a new start is new work.
        assert service.start("acmecorp.com") != first


def test_a_job_that_cannot_be_scheduled_ends_error(store: SqliteKV) -> None:
    """If the executor refuses the work, the record ends error instead of staying processing."""
    pool = ThreadPoolExecutor(1)
    pool.shutdown()
    service = JobService(store, summary_of, pool)
    record = service.get("acmecorp.com", service.start("acmecorp.com"))
    assert record.status is JobStatus.ERROR and "could not be started" in (record.error or "")


def test_every_update_refreshes_updated_at(store: SqliteKV) -> None:
    """Each report writes stage and progress and moves updated_at forward."""
    clock = Clock()
    stamps: list[tuple[str, str, int]] = []

    def body(ctx: JobContext) -> EngagementSummary:
        for i in range(1, 4):
            clock.advance(seconds=1)
            ctx.report(f"analysed {i}/3 meetings", i, 3)
            rec = store.get(job_key(ctx.domain, ctx.run_id))
            stamps.append((rec["updated_at"], rec["stage"], rec["progress"]["done"]))
        return EngagementSummary()

    JobService(store, body, clock=clock).start("acmecorp.com")
    assert [s[1:] for s in stamps] == [
        ("analysed 1/3 meetings", 1),
        ("analysed 2/3 meetings", 2),
        ("analysed 3/3 meetings", 3),
    ]
    assert stamps[0][0] < stamps[1][0] < stamps[2][0]


def test_an_engagement_error_ends_the_job_with_its_message(store: SqliteKV) -> None:
    """A failure the body explains becomes status=error with that message, and no summary."""

    def body(ctx: JobContext) -> EngagementSummary:
        raise FathomAuthError()

    service = JobService(store, body)
    record = service.get("acmecorp.com", service.start("acmecorp.com"))
    assert record.status is JobStatus.ERROR
    assert record.error is not None and record.error.startswith("Fathom rejected the API key")
    assert record.summary is None and record.ended_at is not None


def test_an_unexpected_exception_is_logged_not_stored(store: SqliteKV, caplog: pytest.LogCaptureFixture) -> None:
    """A bug ends the job error with a generic message; the traceback and its text go to the log only."""

    def body(ctx: JobContext) -> EngagementSummary:
        raise KeyError("sk-secret-token")

    service = JobService(store, body)
    record = service.get("acmecorp.com", service.start("acmecorp.com"))
    assert record.status is JobStatus.ERROR
    assert "KeyError" in (record.error or "") and "sk-secret-token" not in (record.error or "")
    assert "Traceback" not in (record.error or "")
    assert any(r.exc_info for r in caplog.records)


def test_a_job_past_its_time_limit_ends_error(store: SqliteKV) -> None:
    """A body still reporting after timeout_s is stopped and the job ends error."""
    clock = Clock()

    def body(ctx: JobContext) -> EngagementSummary:
        ctx.report("fetching")
        clock.advance(seconds=61)
        ctx.report("analysing")
        raise AssertionError("should have been stopped")

    service = JobService(store, body, clock=clock, timeout_s=60)
    record = service.get("acmecorp.com", service.start("acmecorp.com"))
    assert record.status is JobStatus.ERROR
    assert "limit of 60 s" in (record.error or "")


def test_a_blocked_job_is_timed_out_by_the_heartbeat(store: SqliteKV) -> None:
    """A body stuck in one call past the limit is marked error without waiting for it to return."""
    release = threading.Event()

    def stuck(ctx: JobContext) -> EngagementSummary:
        release.wait(5)
        return EngagementSummary(meetings_count=9)

    with ThreadPoolExecutor(1) as pool:
        service = JobService(store, stuck, pool, timeout_s=0.2, heartbeat_s=0.05)
        run_id = service.start("acmecorp.com")
        deadline = time.monotonic() + 3
        while service.get("acmecorp.com", run_id).status is JobStatus.PROCESSING and time.monotonic() < deadline:
            time.sleep(0.02)
        record = service.get("acmecorp.com", run_id)
        release.set()
    assert record.status is JobStatus.ERROR and "limit" in (record.error or "")
    # The late result does not overwrite the terminal record.
    assert service.get("acmecorp.com", run_id).summary is None


def test_the_heartbeat_keeps_a_long_running_job_fresh(store: SqliteKV) -> None:
    """A job that reports nothing for a while still heart-beats, so it is not mistaken for stale."""
    release = threading.Event()

    def quiet(ctx: JobContext) -> EngagementSummary:
        release.wait(5)
        return EngagementSummary()

    with ThreadPoolExecutor(1) as pool:
        service = JobService(store, quiet, pool, heartbeat_s=0.05)
        run_id = service.start("acmecorp.com")
        first = store.get(job_key("acmecorp.com", run_id))["updated_at"]
        time.sleep(0.3)
        later = store.get(job_key("acmecorp.com", run_id))["updated_at"]
        release.set()
    assert later > first


def _left_processing(store: SqliteKV, clock: Clock, owner: str, domain: str = "acmecorp.com") -> JobRecord:
    """Plant a record (and its index row, written with it) as a killed process would leave it."""
    record = JobRecord(domain=domain, run_id=f"dead-{owner[-5:]}", created_at=clock(), updated_at=clock(), owner=owner)
    row = JobRow.of(record).model_dump(mode="json")
    store.set_many({record.key: record.to_json(), index_key(record.created_at, domain, record.run_id): row})
    return record


def test_a_record_left_by_a_dead_process_is_interrupted_at_start_up(store: SqliteKV) -> None:
    """recover_stale() marks processing records whose process is gone as error at once."""
    import socket

    clock = Clock()
    dead = _left_processing(store, clock, f"{socket.gethostname()}:99999999:abcd1234")
    service = JobService(store, summary_of, clock=clock)
    assert service.recover_stale() == 1
    record = service.get(dead.domain, dead.run_id)
    assert record.status is JobStatus.ERROR and record.error == INTERRUPTED


def test_a_silent_record_is_interrupted_when_read(store: SqliteKV) -> None:
    """A processing record from another machine whose heartbeat is older than stale_after_s ends error on read."""
    clock = Clock()
    record = _left_processing(store, clock, "other-host:123:abcd1234")
    service = JobService(store, summary_of, clock=clock, stale_after_s=120)
    clock.advance(seconds=100)
    assert service.get(record.domain, record.run_id).status is JobStatus.PROCESSING
    clock.advance(seconds=30)
    after = service.get(record.domain, record.run_id)
    assert after.status is JobStatus.ERROR and "interrupted" in (after.error or "")


def test_get_of_an_unknown_job_raises_not_found(store: SqliteKV) -> None:
    """A purged or mistyped run id gives JobNotFoundError with a message to act on."""
    with pytest.raises(JobNotFoundError, match="Generate it again"):
        JobService(store, summary_of).get("acmecorp.com", "nope")


def _service_with_jobs(
    store: SqliteKV, clock: Clock, n: int, domain: str = "acmecorp.com", fail: bool = False
) -> JobService:
    def body(ctx: JobContext) -> EngagementSummary:
        if fail:
            raise FathomAuthError()
        return EngagementSummary(meetings_count=1)

    service = JobService(store, body, clock=clock)
    for _ in range(n):
        service.start(domain)
        clock.advance(hours=1)
    return service


def test_list_is_newest_first_with_filters_and_pages(store: SqliteKV) -> None:
    """list() pages newest first and filters by domain and status; totals count each status."""
    clock = Clock()
    _service_with_jobs(store, clock, 3, "acmecorp.com")
    _service_with_jobs(store, clock, 2, "globex.io", fail=True)
    service = JobService(store, summary_of, clock=clock)
    rows = service.list(limit=None)
    assert [r.domain for r in rows] == ["globex.io"] * 2 + ["acmecorp.com"] * 3
    assert [r.created_at for r in rows] == sorted((r.created_at for r in rows), reverse=True)
    assert [r.run_id for r in service.list(limit=2, offset=1)] == [r.run_id for r in rows[1:3]]
    assert {r.domain for r in service.list(domain="acmecorp.com")} == {"acmecorp.com"}
    assert [r.status for r in service.list(status="error")] == [JobStatus.ERROR] * 2
    assert service.totals() == {"processing": 0, "complete": 3, "error": 2}
    assert service.count(domain="globex.io") == 2
    assert rows[0].error is not None and rows[-1].meetings == 1


def test_delete_removes_the_record_and_its_index_row(store: SqliteKV) -> None:
    """delete() returns True once, and the job leaves get(), list() and the file."""
    clock = Clock()
    service = _service_with_jobs(store, clock, 2)
    victim = service.list()[0]
    assert service.delete(victim.domain, victim.run_id) is True
    assert service.delete(victim.domain, victim.run_id) is False
    with pytest.raises(JobNotFoundError):
        service.get(victim.domain, victim.run_id)
    assert [r.run_id for r in service.list()] != [victim.run_id] and service.count() == 1
    assert store.get(index_key(victim.created_at, victim.domain, victim.run_id)) is None


def test_purge_removes_old_and_failed_jobs_and_returns_the_count(store: SqliteKV) -> None:
    """purge(older_than) and purge(status) remove exactly the matching finished jobs."""
    clock = Clock()
    _service_with_jobs(store, clock, 4)  # at 09:00, 10:00, 11:00, 12:00
    _service_with_jobs(store, clock, 2, "globex.io", fail=True)  # 13:00, 14:00
    clock.now = datetime(2026, 11, 1, 15, 30, tzinfo=UTC)
    service = JobService(store, summary_of, clock=clock)
    assert len(service.purgeable(older_than=timedelta(hours=5))) == 2
    assert service.purge(older_than=timedelta(hours=5)) == 2  # 09:00 and 10:00
    assert service.purge(status="error") == 2
    assert service.count() == 2
    assert sorted(r.created_at[11:13] for r in service.list()) == ["11", "12"]
    assert store.count("engagement:") == 2


def test_purge_never_removes_a_running_job(store: SqliteKV) -> None:
    """A processing job survives any purge."""
    clock = Clock()
    record = _left_processing(store, clock, JobService(store, summary_of).owner)
    clock.advance(days=30)
    service = JobService(store, summary_of, clock=clock, stale_after_s=10**9, timeout_s=10**9)
    assert service.purge(older_than=timedelta(days=7)) == 0
    assert store.get(record.key) is not None


def test_purge_needs_a_rule() -> None:
    """purge() with neither age nor status refuses to delete everything."""
    service = JobService.__new__(JobService)
    with pytest.raises(ValueError):
        service.purgeable()


def test_deleting_a_running_job_stops_it_without_resurrecting_it(store: SqliteKV) -> None:
    """A job deleted while it runs stops at its next report and leaves no record behind."""
    service_box: list[JobService] = []

    def body(ctx: JobContext) -> EngagementSummary:
        service_box[0].delete(ctx.domain, ctx.run_id)
        ctx.report("after delete")
        return EngagementSummary()

    service = JobService(store, body)
    service_box.append(service)
    run_id = service.start("acmecorp.com")
    assert store.get(job_key("acmecorp.com", run_id)) is None
    assert service.count() == 0


def test_latest_complete_offers_a_fresh_summary(store: SqliteKV) -> None:
    """latest_complete returns the newest completed job within max_age, else None."""
    clock = Clock()
    service = _service_with_jobs(store, clock, 2)
    newest = service.list()[0]
    found = service.latest_complete("acmecorp.com", JobOptions(), max_age=timedelta(hours=2))
    assert found is not None and found.run_id == newest.run_id
    clock.advance(days=2)
    assert service.latest_complete("acmecorp.com", JobOptions(), max_age=timedelta(hours=2)) is None
    assert service.latest_complete("globex.io") is None


class RecordingQueue:
    """A JobQueue that only remembers what was enqueued (the worker side is tests/test_workers.py)."""

    def __init__(self) -> None:
        self.records: list[JobRecord] = []

    def enqueue(self, record: JobRecord) -> None:
        self.records.append(record)


def test_a_queued_job_waits_for_a_worker_without_a_heartbeat_until_its_time_limit(store: SqliteKV) -> None:
    """A job on the queue belongs to no process: it is not 'interrupted' by silence, only timed out past its limit."""
    clock = Clock()
    queue = RecordingQueue()
    service = JobService(store, summary_of, clock=clock, queue=queue, timeout_s=600, stale_after_s=120)
    run_id = service.start("acmecorp.com")
    assert [r.run_id for r in queue.records] == [run_id]
    assert service.start("acmecorp.com") == run_id  # the queued job is the running work
    clock.advance(seconds=500)
    waiting = service.get("acmecorp.com", run_id)
    assert waiting.status is JobStatus.PROCESSING and waiting.owner == "" and waiting.stage == "queued"
    clock.advance(seconds=300)
    ended = service.get("acmecorp.com", run_id)
    assert ended.status is JobStatus.ERROR and "limit of 600 s" in (ended.error or "")
    assert service.run_stored("acmecorp.com", run_id) is False  # a worker that gets to it late runs nothing


def test_a_worker_runs_a_queued_job_through_the_same_life_cycle(store: SqliteKV) -> None:
    """run_stored() takes the queued record over (owner, start) and ends it complete, as a pool thread would."""
    queue = RecordingQueue()
    app = JobService(store, summary_of, queue=queue, owner="app-host:1:aaaa")
    run_id = app.start("acmecorp.com")
    worker = JobService(store, summary_of, owner="worker-host:2:bbbb")
    assert worker.run_stored("acmecorp.com", run_id) is True
    record = app.get("acmecorp.com", run_id)
    assert record.status is JobStatus.COMPLETE and record.owner == "worker-host:2:bbbb"
    assert record.started_at is not None and record.progress.done == 2
    assert worker.run_stored("acmecorp.com", run_id) is False  # delivered twice: runs once
    assert app.start("acmecorp.com") != run_id  # the claim was released with the end
