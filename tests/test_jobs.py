"""JobService: start, read, list, delete, purge, dedupe, failures, time limits and stale recovery."""

from __future__ import annotations

import threading
import time
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from engagement.errors import FathomAuthError, JobNotFoundError
from engagement.jobs.repository import JobRepository, index_key
from engagement.jobs.repository import record_key as job_key
from engagement.jobs.service import INTERRUPTED, JobContext, JobService
from engagement.models import EngagementSummary, JobOptions, JobRecord, JobStatus, utcnow
from engagement.storage.sqlite import SqliteKV
from tests.support.job_bodies import HeldBody
from tests.support.waits import wait_until


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


class SharedClock(Clock):
    """A hand-moved clock that several worker threads may advance."""

    def __init__(self) -> None:
        super().__init__()
        self._lock = threading.Lock()

    def advance(self, **delta: float) -> None:
        with self._lock:
            super().advance(**delta)


def service_for(store: SqliteKV, body: Any, executor: Any = None, *, clock: Any = utcnow, **options: Any) -> JobService:
    """A job service over ``store`` whose repository and runner share ``clock``."""
    return JobService(JobRepository(store, clock), body, executor, **options)


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

    run_id = service_for(store, body).start("acmecorp.com")
    assert seen[0]["status"] == "processing"
    assert seen[0]["run_id"] == run_id
    assert store.get(f"engagement:acmecorp.com:{run_id}")["status"] == "complete"


def test_a_completed_job_has_its_summary_progress_and_stats(store: SqliteKV) -> None:
    """The body's summary, last stage, full progress, source, analyzer and duration are recorded."""
    service = service_for(store, summary_of)
    record = service.get("acmecorp.com", service.start("acmecorp.com"))
    assert record.status is JobStatus.COMPLETE
    assert record.summary is not None and record.summary.meetings_count == 2
    assert (record.progress.done, record.progress.total) == (2, 2)
    assert (record.source, record.analyzer, record.error) == ("demo", "offline", None)
    assert record.ended_at is not None and record.stats.seconds >= 0


def test_start_returns_within_milliseconds_on_a_thread_pool(store: SqliteKV) -> None:
    """With a real pool, start() returns while the body is still running."""
    held = HeldBody()
    with ThreadPoolExecutor(2) as pool:
        service = service_for(store, held, pool)
        began = time.perf_counter()
        run_id = service.start("acmecorp.com")
        elapsed = time.perf_counter() - began
        assert service.get("acmecorp.com", run_id).status is JobStatus.PROCESSING
        held.release()
    assert elapsed < 0.5  # generous: the bench measures the real figure
    assert service.get("acmecorp.com", run_id).status is JobStatus.COMPLETE


def test_a_second_start_while_processing_returns_the_running_job(store: SqliteKV) -> None:
    """Same domain and options while processing: the running run id, not a second job."""
    held = HeldBody()
    with ThreadPoolExecutor(2) as pool:
        service = service_for(store, held, pool)
        first = service.start("acmecorp.com")
        assert service.start("acmecorp.com") == first
        other_options = service.start("acmecorp.com", JobOptions(since="2026-06-01"))
        other_domain = service.start("globex.io")
        assert len({first, other_options, other_domain}) == 3
        held.release()
        wait_until(lambda: service.get("acmecorp.com", first).status.terminal, "the first job to end")
        assert service.repo.count() == 3
        # Once it is finished, a new start is new work.
        assert service.start("acmecorp.com") != first


def test_a_poll_waiting_for_a_running_job_wakes_when_its_end_is_stored(store: SqliteKV) -> None:
    """wait_for_end returns True once this process has stored the job's end (not at its time limit), whatever other
    job ends first; False at once for a job another process runs, and False when the time is up."""
    held = {"acmecorp.com": HeldBody(seconds=60), "globex.io": HeldBody(seconds=60)}
    with ThreadPoolExecutor(2) as pool:
        service = service_for(store, lambda ctx: held[ctx.domain](ctx), pool)
        run_id, other_id = service.start("acmecorp.com"), service.start("globex.io")
        wait_until(lambda: all(body.started for body in held.values()), "both jobs to start")
        assert service.wait_for_end("acmecorp.com", run_id, 0.01) is False, "still running when the time is up"
        seen: list[tuple[bool, JobStatus]] = []
        woke = threading.Event()

        def poll() -> None:
            ended = service.wait_for_end("acmecorp.com", run_id, 60)
            seen.append((ended, service.get("acmecorp.com", run_id).status))
            woke.set()

        threading.Thread(target=poll, daemon=True).start()
        elsewhere = service_for(store, held["acmecorp.com"])  # another process's service: it does not run the job
        returned: list[bool] = []
        threading.Thread(
            target=lambda: returned.append(elsewhere.wait_for_end("acmecorp.com", run_id, 60)), daemon=True
        ).start()
        wait_until(lambda: returned, "a job another process runs is not waited for")
        assert returned == [False]
        held["globex.io"].release()  # another job's end wakes the waiters; the poll goes on waiting for its own
        wait_until(lambda: service.get("globex.io", other_id).status.terminal, "the other job to end")
        assert not seen, "the poll must wait while its job runs"
        held["acmecorp.com"].release()
        assert woke.wait(30), "the poll must wake when the end is stored, not at its 60 s limit"
        assert seen == [(True, JobStatus.COMPLETE)]


def test_a_job_that_cannot_be_scheduled_ends_error(store: SqliteKV) -> None:
    """If the executor refuses the work, the record ends error instead of staying processing."""
    pool = ThreadPoolExecutor(1)
    pool.shutdown()
    service = service_for(store, summary_of, pool)
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

    service_for(store, body, clock=clock).start("acmecorp.com")
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

    service = service_for(store, body)
    record = service.get("acmecorp.com", service.start("acmecorp.com"))
    assert record.status is JobStatus.ERROR
    assert record.error is not None and record.error.startswith("Fathom rejected the API key")
    assert record.summary is None and record.ended_at is not None


def test_an_unexpected_exception_is_logged_not_stored(store: SqliteKV, caplog: pytest.LogCaptureFixture) -> None:
    """A bug ends the job error with a generic message; the traceback and its text go to the log only."""

    def body(ctx: JobContext) -> EngagementSummary:
        raise KeyError("sk-secret-token")

    service = service_for(store, body)
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

    service = service_for(store, body, clock=clock, timeout_s=60)
    record = service.get("acmecorp.com", service.start("acmecorp.com"))
    assert record.status is JobStatus.ERROR
    assert "limit of 60 s" in (record.error or "")


def test_a_blocked_job_is_timed_out_by_the_heartbeat(store: SqliteKV) -> None:
    """A body stuck in one call past the limit is marked error by the heartbeat without waiting for it to return."""
    clock = Clock()
    stuck = HeldBody(EngagementSummary(meetings_count=9))
    with ThreadPoolExecutor(1) as pool:
        service = service_for(store, stuck, pool, clock=clock, timeout_s=60, heartbeat_s=3600)
        run_id = service.start("acmecorp.com")
        wait_until(lambda: stuck.started == ["acmecorp.com"], "the body to start")
        clock.advance(seconds=60)
        service.beat()
        assert service.get("acmecorp.com", run_id).status is JobStatus.PROCESSING  # at the limit, not past it
        clock.advance(seconds=1)
        service.beat()
        record = service.get("acmecorp.com", run_id)
        stuck.release()
    assert record.status is JobStatus.ERROR and "limit" in (record.error or "")
    # The late result does not overwrite the terminal record.
    assert service.get("acmecorp.com", run_id).summary is None


def test_the_heartbeat_keeps_a_long_running_job_fresh(store: SqliteKV) -> None:
    """A job that reports nothing for a while still heart-beats, so it is not mistaken for stale."""
    clock = Clock()
    quiet = HeldBody()
    reader = service_for(store, summary_of, clock=clock, owner="other-host:1:reader", stale_after_s=120)
    with ThreadPoolExecutor(1) as pool:
        service = service_for(store, quiet, pool, clock=clock, heartbeat_s=3600, stale_after_s=120)
        run_id = service.start("acmecorp.com")
        wait_until(lambda: quiet.started == ["acmecorp.com"], "the body to start")
        for _ in range(5):  # ten minutes of silence from the body, a beat every two
            clock.advance(seconds=119)
            service.beat()
            assert reader.get("acmecorp.com", run_id).status is JobStatus.PROCESSING
        quiet.release()
    assert service.repo.load("acmecorp.com", run_id).updated_at == clock.now  # type: ignore[union-attr]


def _left_processing(store: SqliteKV, clock: Clock, owner: str, domain: str = "acmecorp.com") -> JobRecord:
    """Plant a record (and its index row, written with it) as a killed process would leave it."""
    record = JobRecord(domain=domain, run_id=f"dead-{owner[-5:]}", created_at=clock(), updated_at=clock(), owner=owner)
    JobRepository(store, clock).create(record)
    return record


def test_a_record_left_by_a_dead_process_is_interrupted_at_start_up(store: SqliteKV) -> None:
    """recover_stale() marks processing records whose process is gone as error at once."""
    import socket

    clock = Clock()
    dead = _left_processing(store, clock, f"{socket.gethostname()}:99999999:abcd1234")
    service = service_for(store, summary_of, clock=clock)
    assert service.recover_stale() == 1
    record = service.get(dead.domain, dead.run_id)
    assert record.status is JobStatus.ERROR and record.error == INTERRUPTED


def test_a_silent_record_is_interrupted_when_read(store: SqliteKV) -> None:
    """A processing record from another machine whose heartbeat is older than stale_after_s ends error on read."""
    clock = Clock()
    record = _left_processing(store, clock, "other-host:123:abcd1234")
    service = service_for(store, summary_of, clock=clock, stale_after_s=120)
    clock.advance(seconds=100)
    assert service.get(record.domain, record.run_id).status is JobStatus.PROCESSING
    clock.advance(seconds=30)
    after = service.get(record.domain, record.run_id)
    assert after.status is JobStatus.ERROR
    assert (after.error or "").startswith("The job was interrupted: nothing was heard from it for 2 minutes")
    if not getattr(store, "shared", False):  # on Redis the message names Redis too (test_redis_store)
        assert after.error.endswith(": the app or the worker running it stopped or hung. Start it again.")


def test_the_liveness_rule_judges_the_owner_then_the_silence(store: SqliteKV) -> None:
    """is_abandoned: a dead process of this machine at once; a live one, or another machine's, only after the
    stale window (the service's, or a longer one the caller names)."""
    import os
    import socket

    service = service_for(store, summary_of, stale_after_s=120)
    dead, alive = f"{socket.gethostname()}:99999999:abcd1234", f"{socket.gethostname()}:{os.getpid()}:abcd1234"
    assert service.is_abandoned(dead, 0) is True
    assert service.is_abandoned(alive, 100) is False and service.is_abandoned(alive, 130) is True
    assert service.is_abandoned("other-host:123:abcd1234", 130) is True
    assert service.is_abandoned("other-host:123:abcd1234", 130, stale_after_s=600) is False
    assert service.is_abandoned(service.owner, 0) is False


def test_get_of_an_unknown_job_raises_not_found(store: SqliteKV) -> None:
    """A purged or mistyped run id gives JobNotFoundError with a message to act on."""
    with pytest.raises(JobNotFoundError, match="Generate it again"):
        service_for(store, summary_of).get("acmecorp.com", "nope")


def _service_with_jobs(
    store: SqliteKV, clock: Clock, n: int, domain: str = "acmecorp.com", fail: bool = False
) -> JobService:
    def body(ctx: JobContext) -> EngagementSummary:
        if fail:
            raise FathomAuthError()
        return EngagementSummary(meetings_count=1)

    service = service_for(store, body, clock=clock)
    for _ in range(n):
        service.start(domain)
        clock.advance(hours=1)
    return service


def test_list_is_newest_first_with_filters_and_pages(store: SqliteKV) -> None:
    """list() pages newest first and filters by domain and status; totals count each status."""
    clock = Clock()
    _service_with_jobs(store, clock, 3, "acmecorp.com")
    _service_with_jobs(store, clock, 2, "globex.io", fail=True)
    service = service_for(store, summary_of, clock=clock)
    rows = service.repo.rows(limit=None)
    assert [r.domain for r in rows] == ["globex.io"] * 2 + ["acmecorp.com"] * 3
    assert [r.created_at for r in rows] == sorted((r.created_at for r in rows), reverse=True)
    assert [r.run_id for r in service.repo.rows(limit=2, offset=1)] == [r.run_id for r in rows[1:3]]
    assert {r.domain for r in service.repo.rows(domain="acmecorp.com")} == {"acmecorp.com"}
    assert [r.status for r in service.repo.rows(status="error")] == [JobStatus.ERROR] * 2
    assert service.repo.totals() == {"processing": 0, "complete": 3, "error": 2}
    assert service.repo.count(domain="globex.io") == 2
    assert rows[0].error is not None and rows[-1].meetings == 1


def test_delete_removes_the_record_and_its_index_row(store: SqliteKV) -> None:
    """delete() returns True once, and the job leaves get(), list() and the file."""
    clock = Clock()
    service = _service_with_jobs(store, clock, 2)
    victim = service.repo.rows()[0]
    assert service.repo.delete(victim.domain, victim.run_id) is True
    assert service.repo.delete(victim.domain, victim.run_id) is False
    with pytest.raises(JobNotFoundError):
        service.get(victim.domain, victim.run_id)
    assert [r.run_id for r in service.repo.rows()] != [victim.run_id] and service.repo.count() == 1
    assert store.get(index_key(victim.created_at, victim.domain, victim.run_id)) is None


def test_purge_removes_old_and_failed_jobs_and_returns_the_count(store: SqliteKV) -> None:
    """purge(older_than) and purge(status) remove exactly the matching finished jobs."""
    clock = Clock()
    _service_with_jobs(store, clock, 4)  # at 09:00, 10:00, 11:00, 12:00
    _service_with_jobs(store, clock, 2, "globex.io", fail=True)  # 13:00, 14:00
    clock.now = datetime(2026, 11, 1, 15, 30, tzinfo=UTC)
    service = service_for(store, summary_of, clock=clock)
    assert service.repo.purgeable(older_than=timedelta(hours=5)) == 2
    assert service.repo.purge(older_than=timedelta(hours=5)) == 2  # 09:00 and 10:00
    assert service.repo.purge(status="error") == 2
    assert service.repo.count() == 2
    assert sorted(r.created_at.hour for r in service.repo.rows()) == [11, 12]
    assert store.count("engagement:") == 2


def test_purge_never_removes_a_running_job(store: SqliteKV) -> None:
    """A processing job survives any purge."""
    clock = Clock()
    record = _left_processing(store, clock, service_for(store, summary_of).owner)
    clock.advance(days=30)
    service = service_for(store, summary_of, clock=clock, stale_after_s=10**9, timeout_s=10**9)
    assert service.repo.purge(older_than=timedelta(days=7)) == 0
    assert store.get(job_key(record.domain, record.run_id)) is not None


def test_purge_needs_a_rule(store: SqliteKV) -> None:
    """purge() with neither age nor status refuses to delete everything."""
    with pytest.raises(ValueError):
        JobRepository(store).purgeable()


def test_deleting_a_running_job_stops_it_without_resurrecting_it(store: SqliteKV) -> None:
    """A job deleted while it runs stops at its next report and leaves no record behind."""
    service_box: list[JobService] = []

    def body(ctx: JobContext) -> EngagementSummary:
        service_box[0].repo.delete(ctx.domain, ctx.run_id)
        ctx.report("after delete")
        return EngagementSummary()

    service = service_for(store, body)
    service_box.append(service)
    run_id = service.start("acmecorp.com")
    assert store.get(job_key("acmecorp.com", run_id)) is None
    assert service.repo.count() == 0


def test_latest_complete_offers_a_fresh_summary(store: SqliteKV) -> None:
    """latest_complete returns the newest completed job within max_age, else None."""
    clock = Clock()
    service = _service_with_jobs(store, clock, 2)
    newest = service.repo.rows()[0]
    found = service.repo.latest_complete("acmecorp.com", JobOptions(), max_age=timedelta(hours=2))
    assert found is not None and found.run_id == newest.run_id
    clock.advance(days=2)
    assert service.repo.latest_complete("acmecorp.com", JobOptions(), max_age=timedelta(hours=2)) is None
    assert service.repo.latest_complete("globex.io") is None


def test_an_inline_job_heart_beats_so_another_process_never_marks_it_interrupted(store: SqliteKV) -> None:
    """A CLI (inline) job that reports nothing for longer than stale_after_s is still processing to another reader."""
    clock = SharedClock()
    other = service_for(store, summary_of, clock=clock, owner="other-host:1:reader", stale_after_s=120)
    seen: list[JobStatus] = []

    def quiet(ctx: JobContext) -> EngagementSummary:
        clock.advance(seconds=600)  # silent far longer than the reader's stale window
        # Only the CLI's own heartbeat thread can write while this body runs in the CLI's thread.
        wait_until(lambda: cli.repo.load(ctx.domain, ctx.run_id).updated_at == clock.now, "a heartbeat")  # type: ignore[union-attr]
        seen.append(other.get(ctx.domain, ctx.run_id).status)
        return EngagementSummary(meetings_count=1)

    cli = service_for(store, quiet, clock=clock, heartbeat_s=0.01)
    run_id = cli.start("acmecorp.com")
    assert seen == [JobStatus.PROCESSING]
    assert other.get("acmecorp.com", run_id).status is JobStatus.COMPLETE


def test_a_terminal_record_is_final_for_late_reports_heartbeats_and_results(store: SqliteKV) -> None:
    """Once another process marks a job interrupted, the job's later report and its result write nothing."""
    clock = Clock()
    other = service_for(store, summary_of, clock=clock, owner="other-host:1:reader", stale_after_s=120)

    def body(ctx: JobContext) -> EngagementSummary:
        clock.advance(seconds=121)  # silent past the reader's stale window
        assert other.get(ctx.domain, ctx.run_id).status is JobStatus.ERROR  # interrupted by the reader
        ctx.report("a late stage update")
        return EngagementSummary(meetings_count=42)

    service = service_for(store, body, clock=clock, heartbeat_s=3600)
    run_id = service.start("acmecorp.com")
    record = other.get("acmecorp.com", run_id)
    assert record.status is JobStatus.ERROR and record.summary is None
    assert (record.error or "").startswith("The job was interrupted: nothing was heard from it")
    assert service.repo.rows()[0].status is JobStatus.ERROR and service.repo.rows()[0].meetings is None


def test_a_late_result_after_a_reader_ended_the_job_is_not_written(store: SqliteKV) -> None:
    """A body that returns after its record was ended elsewhere leaves the record as it was ended."""
    clock = Clock()
    other = service_for(store, summary_of, clock=clock, owner="other-host:1:reader", stale_after_s=120)

    def body(ctx: JobContext) -> EngagementSummary:
        clock.advance(seconds=121)
        other.get(ctx.domain, ctx.run_id)
        return EngagementSummary(meetings_count=42)

    run_id = service_for(store, body, clock=clock, heartbeat_s=3600).start("acmecorp.com")
    record = other.get("acmecorp.com", run_id)
    assert (record.status, record.summary) == (JobStatus.ERROR, None)


def test_deleting_a_queued_job_sticks(store: SqliteKV) -> None:
    """A job deleted while it waits for a worker never runs and never comes back."""
    held = HeldBody()
    with ThreadPoolExecutor(1) as pool:
        service = service_for(store, held, pool, heartbeat_s=3600)
        first = service.start("acmecorp.com")
        queued = service.start("globex.io")
        wait_until(lambda: held.started == ["acmecorp.com"], "the first job to start")
        assert service.repo.delete("globex.io", queued) is True
        for _ in range(3):  # heartbeats while it is deleted and still queued
            service.beat()
        held.release()
    assert held.started == ["acmecorp.com"]
    assert service.repo.load("globex.io", queued) is None and service.repo.count() == 1
    assert service.get("acmecorp.com", first).status is JobStatus.COMPLETE


def test_deleting_a_running_job_sticks_through_heartbeats(store: SqliteKV) -> None:
    """A running job deleted between heart-beats is not written back by them, nor by its result."""
    held = HeldBody()
    with ThreadPoolExecutor(1) as pool:
        service = service_for(store, held, pool, heartbeat_s=3600)
        run_id = service.start("acmecorp.com")
        wait_until(lambda: held.started == ["acmecorp.com"], "the job to start")
        service.repo.delete("acmecorp.com", run_id)
        for _ in range(3):
            service.beat()
        held.release()
    assert service.repo.load("acmecorp.com", run_id) is None and service.repo.count() == 0


def test_a_queued_job_says_how_many_wait_before_it(store: SqliteKV) -> None:
    """With every worker busy, a queued job's stage is 'queued (N ahead)'."""
    held = HeldBody()
    with ThreadPoolExecutor(1) as pool:
        service = service_for(store, held, pool, heartbeat_s=3600)
        service.start("a.com")
        domains = ("b.com", "c.com", "d.com", "e.com")
        ids = [service.start(domain) for domain in domains]
        stages = [service.get(domain, run_id).stage for domain, run_id in zip(domains, ids, strict=True)]
        held.release()
    assert stages == ["queued (0 ahead)", "queued (1 ahead)", "queued (2 ahead)", "queued (3 ahead)"]


def test_the_time_limit_counts_from_when_a_job_starts_running(store: SqliteKV) -> None:
    """100 jobs on 4 workers, each taking 1 s of a 30 s limit: every one completes, none times out in the queue."""
    clock = SharedClock()

    def body(ctx: JobContext) -> EngagementSummary:
        clock.advance(seconds=1)
        ctx.report("working")
        return EngagementSummary(meetings_count=1)

    with ThreadPoolExecutor(4) as pool:
        service = service_for(store, body, pool, clock=clock, timeout_s=30, heartbeat_s=3600, stale_after_s=10**6)
        for i in range(100):
            service.start(f"customer{i}.com")
    assert service.repo.totals() == {"processing": 0, "complete": 100, "error": 0}


class FailingWrites:
    """A store whose terminal writes fail the first ``failures`` times (then it behaves)."""

    def __init__(self, store: SqliteKV, failures: int) -> None:
        self._store = store
        self.failures = failures

    def set_many(self, items: Any, delete: Any = (), *, require: Any = None) -> bool:
        terminal = any(isinstance(v, dict) and v.get("status") in ("complete", "error") for v in items.values())
        if terminal and self.failures > 0:
            self.failures -= 1
            from engagement.errors import StoreError

            raise StoreError("The disk holding kv.sqlite is full: free space and try again.")
        return self._store.set_many(items, delete, require=require)

    def __getattr__(self, name: str) -> Any:
        return getattr(self._store, name)


def test_a_final_write_that_fails_is_retried_with_backoff(store: SqliteKV) -> None:
    """Two failed attempts at the final write, then it lands: the job ends complete, record and index agree."""
    service = JobService(JobRepository(FailingWrites(store, 2)), summary_of, retry_backoff_s=0.001)  # type: ignore[arg-type]
    run_id = service.start("acmecorp.com")
    record = service.get("acmecorp.com", run_id)
    assert record.status is JobStatus.COMPLETE and record.summary is not None
    assert service.repo.rows()[0].status is JobStatus.COMPLETE


def test_a_final_write_that_keeps_failing_ends_error_with_the_reason_and_lands_later(store: SqliteKV) -> None:
    """When the result cannot be stored the job reads as error saying why, and the heartbeat stores that once it can."""
    flaky = FailingWrites(store, 5)
    service = JobService(JobRepository(flaky), summary_of, retry_backoff_s=0.001, heartbeat_s=3600)  # type: ignore[arg-type]
    run_id = service.start("acmecorp.com")
    record = service.get("acmecorp.com", run_id)
    assert record.status is JobStatus.ERROR
    assert "could not be saved" in (record.error or "") and "free space" in (record.error or "")
    assert store.get(job_key("acmecorp.com", run_id))["status"] == "processing"  # the store took nothing yet
    service.beat()  # the store takes writes again by now
    assert store.get(job_key("acmecorp.com", run_id))["status"] == "error"
    assert service.repo.rows()[0].status is JobStatus.ERROR


class SayingFailingWrites(FailingWrites):
    """A store whose first terminal write fails, and which says when it has (``failed``)."""

    def __init__(self, store: SqliteKV) -> None:
        super().__init__(store, 1)
        self.failed = threading.Event()

    def set_many(self, items: Any, delete: Any = (), *, require: Any = None) -> bool:
        try:
            return super().set_many(items, delete, require=require)
        except Exception:
            self.failed.set()
            raise


def test_a_poll_waits_for_an_end_that_is_stored_not_for_the_job_to_stop(store: SqliteKV) -> None:
    """Between a job's end and its record's (a final write failed; the retry waits out its backoff), wait_for_end says
    no end is stored (a poll that heard otherwise would draw the job still running, and one that asks then does not
    give up at once); once the retry lands, it says so."""
    held = HeldBody(seconds=60)
    flaky = SayingFailingWrites(store)
    backoff = threading.Event()
    with ThreadPoolExecutor(1) as pool:
        service = JobService(
            JobRepository(flaky),  # type: ignore[arg-type]
            held,
            pool,
            sleep=lambda seconds: backoff.wait(30),
        )
        run_id = service.start("acmecorp.com")
        wait_until(lambda: held.started, "the job to start")
        held.release()
        assert flaky.failed.wait(30), "the first final write must fail"
        assert service.wait_for_end("acmecorp.com", run_id, 0.01) is False  # in the backoff
        assert service.get("acmecorp.com", run_id).status is JobStatus.PROCESSING
        ended: list[bool] = []
        waiting = threading.Thread(target=lambda: ended.append(service.wait_for_end("acmecorp.com", run_id, 30)))
        waiting.start()
        backoff.set()  # the retry now
        waiting.join(30)
        assert ended == [True]
        assert service.get("acmecorp.com", run_id).status is JobStatus.COMPLETE
        assert service.wait_for_end("acmecorp.com", run_id, 30) is True  # asked again: at once


class CountingReads:
    """A store that remembers every value it hands out."""

    def __init__(self, store: SqliteKV) -> None:
        self._store = store
        self.values: list[Any] = []

    def items(self, *args: Any, **kwargs: Any) -> list[tuple[str, Any]]:
        found = self._store.items(*args, **kwargs)
        self.values += [v for _, v in found]
        return found

    def get(self, key: str) -> Any:
        value = self._store.get(key)
        self.values.append(value)
        return value

    def __getattr__(self, name: str) -> Any:
        return getattr(self._store, name)


def test_the_fresh_summary_check_reads_index_rows_only(store: SqliteKV) -> None:
    """latest_complete answers from the index (options included) without loading a single summary."""
    clock = Clock()
    _service_with_jobs(store, clock, 5)
    since = JobOptions(since="2026-06-01")
    with_options = service_for(store, summary_of, clock=clock)
    clock.advance(minutes=1)
    with_options.start("acmecorp.com", since)
    counting = CountingReads(store)
    repo = JobRepository(counting, clock)  # type: ignore[arg-type]
    found = repo.latest_complete("acmecorp.com", JobOptions(), max_age=timedelta(days=1))
    assert found is not None and found.options == JobOptions() and found.meetings == 1
    assert repo.latest_complete("acmecorp.com", since).options == since  # type: ignore[union-attr]
    assert not any("summary" in value for value in counting.values if isinstance(value, dict))
    assert isinstance(found.created_at, datetime)


class RecordingQueue:
    """A JobQueue that only remembers what was enqueued (the worker side is tests/test_workers.py)."""

    def __init__(self) -> None:
        self.records: list[JobRecord] = []

    def enqueue(self, record: JobRecord) -> None:
        self.records.append(record)

    def waiting(self, run_id: str) -> tuple[int | None, int]:
        ids = [r.run_id for r in self.records]
        return (ids.index(run_id) if run_id in ids else None), 1


def test_a_queued_job_waits_for_a_worker_without_a_heartbeat_until_its_time_limit(store: SqliteKV) -> None:
    """A job on the queue belongs to no process: it is not 'interrupted' by silence, only ended once it waited past its limit and the stale window."""
    clock = Clock()
    queue = RecordingQueue()
    service = service_for(store, summary_of, clock=clock, queue=queue, timeout_s=600, stale_after_s=120)
    run_id = service.start("acmecorp.com")
    assert [r.run_id for r in queue.records] == [run_id]
    assert service.start("acmecorp.com") == run_id  # the queued job is the running work
    clock.advance(seconds=500)
    waiting = service.get("acmecorp.com", run_id)
    assert waiting.status is JobStatus.PROCESSING and waiting.owner == "" and waiting.stage == "queued (0 ahead)"
    clock.advance(seconds=300)
    ended = service.get("acmecorp.com", run_id)
    assert ended.status is JobStatus.ERROR and "No worker picked the job up" in (ended.error or "")
    assert service.run_stored("acmecorp.com", run_id) is False  # a worker that gets to it late runs nothing


def test_a_worker_runs_a_queued_job_through_the_same_life_cycle(store: SqliteKV) -> None:
    """run_stored() takes the queued record over (owner, start) and ends it complete, as a pool thread would."""
    queue = RecordingQueue()
    app = service_for(store, summary_of, queue=queue, owner="app-host:1:aaaa")
    run_id = app.start("acmecorp.com")
    worker = service_for(store, summary_of, owner="worker-host:2:bbbb")
    assert worker.run_stored("acmecorp.com", run_id) is True
    record = app.get("acmecorp.com", run_id)
    assert record.status is JobStatus.COMPLETE and record.owner == "worker-host:2:bbbb"
    assert record.started_at is not None and record.progress.done == 2
    assert worker.run_stored("acmecorp.com", run_id) is False  # delivered twice: runs once
    assert app.start("acmecorp.com") != run_id  # the claim was released with the end


def test_a_queued_job_another_worker_took_is_not_run_again(store: SqliteKV) -> None:
    """run_stored() takes a record only while it is unowned: a second worker gets False and the body runs once."""
    ran: list[str] = []

    def body(ctx: JobContext) -> EngagementSummary:
        ran.append(ctx.run_id)
        assert second.run_stored(ctx.domain, ctx.run_id) is False  # delivered again while the first runs it
        return summary_of(ctx)

    run_id = service_for(store, body, queue=RecordingQueue()).start("acmecorp.com")
    first = service_for(store, body, owner="worker-host:2:first")
    second = service_for(store, body, owner="worker-host:3:second")
    assert first.run_stored("acmecorp.com", run_id) is True
    assert ran == [run_id] and first.get("acmecorp.com", run_id).owner == "worker-host:2:first"


class FailingStart:
    """A store whose write of a job's start ("starting") fails once (then it behaves)."""

    def __init__(self, store: SqliteKV) -> None:
        self._store = store
        self.failed = False

    def set_many(self, items: Any, delete: Any = (), *, require: Any = None) -> bool:
        starting = any(isinstance(v, dict) and v.get("stage") == "starting" for v in items.values())
        if starting and not self.failed:
            self.failed = True
            from engagement.errors import StoreError

            raise StoreError("The Redis store at redis://db:6379/0 did not answer (write: timeout).")
        return self._store.set_many(items, delete, require=require)

    def __getattr__(self, name: str) -> Any:
        return getattr(self._store, name)


def test_a_store_that_fails_as_the_job_starts_ends_it_in_error_with_the_reason(store: SqliteKV) -> None:
    """The start's write failing (a worker taking a job while Redis blinks) ends the job, not a lost exception."""
    service = JobService(JobRepository(FailingStart(store)), summary_of, retry_backoff_s=0.001)  # type: ignore[arg-type]
    run_id = service.start("acmecorp.com")
    record = service.get("acmecorp.com", run_id)
    assert record.status is JobStatus.ERROR and "did not answer" in (record.error or "")
    assert service.repo.rows()[0].status is JobStatus.ERROR
