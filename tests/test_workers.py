"""RQ workers on Redis: jobs the app enqueues run in real worker processes, survive kill -9, never run twice."""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import textwrap
import threading
from collections import Counter
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from engagement.jobs.service import INTERRUPTED
from engagement.models import JobStatus
from engagement.runtime import Runtime, create_runtime, workspace_of
from engagement.settings import Settings
from tests.fakes.fathom_server import FAKE_API_KEY, FathomServer, make_account
from tests.support.cli import run_command
from tests.support.waits import wait_until

ROOT = Path(__file__).resolve().parents[1]
WAIT_S = 60  # a bound for waits on other processes (never a speed claim)


@pytest.fixture
def fathom() -> Iterator[FathomServer]:
    """A loopback Fathom with one account (acmecorp.com) and a little latency per request."""
    with FathomServer(make_account("acmecorp.com", 12), latency_s=0.05) as server:
        yield server


@pytest.fixture
def env(redis_url: str, fathom: FathomServer, tmp_path: Path) -> dict[str, str]:
    """The settings every process of this 'cluster' shares (the app, the CLI and the workers)."""
    out = {k: v for k, v in os.environ.items() if not k.startswith(("FATHOM_", "OPENAI_", "ENGAGEMENT_"))}
    out.update(
        ENGAGEMENT_REDIS_URL=redis_url,
        ENGAGEMENT_DB=str(tmp_path / "unused.sqlite"),
        FATHOM_API_KEY=FAKE_API_KEY,
        FATHOM_BASE_URL=fathom.base_url,
        FATHOM_MAX_RETRIES="0",
        FATHOM_TIMEOUT_S="30",
        ENGAGEMENT_HEARTBEAT_S="0.2",
        ENGAGEMENT_STALE_AFTER_S="3",
        PYTHONPATH=str(ROOT),
        PYTHONUNBUFFERED="1",  # the workers' logs are read while they run
    )
    return out


class Workers:
    """Worker processes started with ``python -m engagement worker``; all stopped after the test."""

    def __init__(self, env: dict[str, str], logs: Path) -> None:
        self.env, self.logs, self.procs = env, logs, []  # type: ignore[var-annotated]

    def start(self, *args: str) -> subprocess.Popen[bytes]:
        log = (self.logs / f"worker-{len(self.procs)}.log").open("wb")
        proc = subprocess.Popen(
            [sys.executable, "-m", "engagement", "worker", *args],
            cwd=ROOT,
            env=self.env,
            stdout=log,
            stderr=subprocess.STDOUT,
        )
        self.procs.append(proc)
        return proc

    def stop(self) -> None:
        """Kill every worker still running: the test is over, and a warm shutdown (seconds for one stuck in a
        hung request) would only slow the suite; each test's Redis is emptied before the next."""
        for proc in self.procs:
            if proc.poll() is None:
                proc.kill()
        for proc in self.procs:
            proc.wait(10)


@pytest.fixture
def workers(env: dict[str, str], tmp_path: Path) -> Iterator[Workers]:
    pool = Workers(env, tmp_path)
    yield pool
    pool.stop()


@pytest.fixture
def app(env: dict[str, str]) -> Iterator[Runtime]:
    """The app's runtime as the Streamlit process builds it with Redis configured."""
    runtime = create_runtime(Settings.from_env(env))
    yield runtime
    runtime.close()


def test_the_app_enqueues_and_a_worker_process_runs_the_job(app: Runtime, workers: Workers) -> None:
    """start() returns a queued record at once; a separate worker process completes it."""
    assert app.queue is not None
    run_id = app.jobs.start("acmecorp.com")
    queued = app.jobs.get("acmecorp.com", run_id)
    assert queued.status is JobStatus.PROCESSING and queued.started_at is None and queued.owner == ""
    worker = workers.start("--burst")
    assert worker.wait(WAIT_S) == 0
    record = app.jobs.get("acmecorp.com", run_id)
    assert record.status is JobStatus.COMPLETE, record.error
    assert record.summary is not None and record.summary.meetings_count == 12
    assert record.owner.split(":")[:2] == [socket.gethostname(), str(worker.pid)]


def test_summarize_enqueues_waits_for_the_worker_and_prints_the_record(env: dict[str, str], workers: Workers) -> None:
    """`python -m engagement summarize` with Redis: the worker runs it, the CLI prints what it stored."""
    workers.start()
    done = run_command("summarize", "acmecorp.com", "--json", env=env, timeout_s=WAIT_S * 2)
    assert done.returncode == 0, done.stderr
    record = json.loads(done.stdout)
    assert record["status"] == "complete" and record["summary"]["meetings_count"] == 12
    assert not record["owner"].startswith(f"{socket.gethostname()}:{os.getpid()}:")


def test_summarize_inline_runs_the_job_in_the_cli_itself(env: dict[str, str], redis_url: str) -> None:
    """--inline needs no worker: the CLI's own process runs the job and stores it in Redis."""
    done = run_command("summarize", "acmecorp.com", "--inline", "--json", env=env, timeout_s=WAIT_S)
    assert done.returncode == 0, done.stderr
    run_id = json.loads(done.stdout)["run_id"]
    runtime = create_runtime(Settings.from_env(env), enqueue=False)
    assert runtime.jobs.get("acmecorp.com", run_id).status is JobStatus.COMPLETE
    runtime.close()


def taken_while_fathom_hangs(
    app: Runtime, workers: Workers, fathom: FathomServer
) -> tuple[subprocess.Popen[bytes], str]:
    """A worker, and the acmecorp.com job it has taken and is running while Fathom's next answer hangs 25 s."""
    fathom.hang_next(25)
    worker = workers.start()
    run_id = app.jobs.start("acmecorp.com")
    wait_until(lambda: app.jobs.get("acmecorp.com", run_id).started_at is not None, "the worker to take the job")
    return worker, run_id


def test_a_worker_killed_mid_job_leaves_an_interrupted_job_not_a_stuck_one(
    app: Runtime, workers: Workers, fathom: FathomServer
) -> None:
    """kill -9 of the worker while Fathom hangs: the record ends 'interrupted', and the work can start again."""
    worker, run_id = taken_while_fathom_hangs(app, workers, fathom)
    os.kill(worker.pid, signal.SIGKILL)
    worker.wait(10)
    wait_until(lambda: app.jobs.get("acmecorp.com", run_id).status.terminal, "the job to end", timeout_s=15)
    record = app.jobs.get("acmecorp.com", run_id)
    assert record.status is JobStatus.ERROR and record.error == INTERRUPTED
    again = app.jobs.start("acmecorp.com")
    assert again != run_id


def test_a_silent_worker_on_another_machine_is_found_out_by_its_heartbeat(
    app: Runtime, workers: Workers, fathom: FathomServer, env: dict[str, str]
) -> None:
    """A frozen worker (SIGSTOP, as a lost machine looks) is marked interrupted once its heartbeat is stale."""
    worker, run_id = taken_while_fathom_hangs(app, workers, fathom)
    os.kill(worker.pid, signal.SIGSTOP)
    try:
        wait_until(lambda: app.jobs.get("acmecorp.com", run_id).status.terminal, "the stale window", timeout_s=30)
    finally:
        os.kill(worker.pid, signal.SIGCONT)
    error = app.jobs.get("acmecorp.com", run_id).error or ""
    assert error.startswith("The job was interrupted: nothing was heard from it for ")
    assert "The worker running it stopped, or it could not reach the Redis store at" in error  # both are possible


APP = textwrap.dedent(
    """
    import json, sys
    from engagement.runtime import create_runtime
    from engagement.settings import Settings

    runtime = create_runtime(Settings.from_env())
    ids = {domain: runtime.jobs.start(domain) for domain in sys.argv[1:]}
    runtime.close()
    print(json.dumps(ids))
    """
)


def test_two_apps_and_two_workers_lose_and_duplicate_nothing(
    env: dict[str, str], workers: Workers, fathom: FathomServer, app: Runtime
) -> None:
    """Two app processes start overlapping work on one Redis; two workers run each job exactly once."""
    from rq import Worker
    from rq.suspension import resume, suspend

    from engagement.storage.redis import raw_connection

    connection = raw_connection(env["ENGAGEMENT_REDIS_URL"])
    workers.start()
    workers.start()
    wait_until(lambda: Worker.count(connection=connection) == 2, "two workers to register")
    suspend(connection)  # both apps enqueue before any job can finish, so every overlap must be joined
    fathom.latency_s = 0.2  # long enough that both workers get a share
    first = [f"company{n}.com" for n in range(0, 10)]
    second = [f"company{n}.com" for n in range(5, 15)]
    apps = [
        subprocess.Popen([sys.executable, "-c", APP, *domains], cwd=ROOT, env=env, stdout=subprocess.PIPE, text=True)
        for domains in (first, second)
    ]
    outputs = [json.loads(proc.communicate(timeout=WAIT_S)[0]) for proc in apps]
    resume(connection)
    connection.close()
    domains = sorted(set(first) | set(second))

    def all_done() -> bool:
        return all(app.jobs.get(domain, run_id).status.terminal for out in outputs for domain, run_id in out.items())

    wait_until(all_done, "every job to finish")
    rows = app.repo.rows(limit=None)
    assert sorted(row.domain for row in rows) == domains  # one job per domain: overlapping starts joined
    assert all(row.status is JobStatus.COMPLETE for row in rows)
    for domain in set(first) & set(second):
        assert outputs[0][domain] == outputs[1][domain], f"{domain} was started twice"

    def ran() -> Counter[str]:  # what the workers' logs say they completed, by run id
        return Counter(
            line.rsplit("(", 1)[1].rstrip(")")
            for log in workers.logs.glob("worker-*.log")
            for line in log.read_text().splitlines()
            if "Job OK (" in line
        )

    # RQ logs "Job OK" after our job body has stored the record: wait for every line, then count them
    wait_until(lambda: sum(ran().values()) >= len(rows), "the workers to log every job they finished")
    assert ran() == {row.run_id: 1 for row in rows}  # each job ran exactly once
    owners = {app.jobs.get(row.domain, row.run_id).owner for row in rows}
    assert len(owners) == 2  # both workers took a share


def test_the_rq_job_carries_our_limits(env: dict[str, str]) -> None:
    """RQ's job timeout is our limit plus the stale window, and a job not started within our limit is dropped."""
    from rq.job import Job

    from engagement.storage.redis import raw_connection

    env = {**env, "ENGAGEMENT_JOB_TIMEOUT_S": "300", "ENGAGEMENT_STALE_AFTER_S": "45"}
    runtime = create_runtime(Settings.from_env(env))
    run_id = runtime.jobs.start("acmecorp.com")
    connection = raw_connection(env["ENGAGEMENT_REDIS_URL"])
    job = Job.fetch(run_id, connection=connection)
    assert (job.timeout, job.ttl) == (345, 300)
    assert job.args == ("acmecorp.com", run_id) and job.func_name == "engagement.workers.run_job"
    connection.close()
    runtime.close()


def test_a_workers_job_that_times_out_leaves_the_index_sync_running_in_that_worker(
    env: dict[str, str], workers: Workers
) -> None:
    """The first listing (4 pages and a look for older meetings) outlasts the job's limit, and so does asking Fathom
    for the account meanwhile (the fake holds both until the job has ended): the worker ends the job in error saying
    the indexing carries on; the worker's sync lists the rest after the job ended and finishes the index; the next
    job, in the same worker, completes without listing the workspace again."""

    def full_listings(server: FathomServer) -> int:
        return sum(
            1
            for _, path, q in server.request_log
            if path.endswith("/meetings") and "calendar_invitees_domains[]" not in q and "cursor" not in q
        )

    # this week's meetings (the worker's index begins its first listing with the last seven days)
    recent = make_account("acmecorp.com", 40, start=datetime.now(UTC) - timedelta(days=3), every=timedelta(hours=1))
    with FathomServer(recent) as slow:
        # the listing waits for the gate, not for a latency the limit must outrun: the limit only has to be long
        # enough for the second job (one incremental request and the transcripts) on a loaded machine
        slow.gate = threading.Event()
        env = {**env, "FATHOM_BASE_URL": slow.base_url, "ENGAGEMENT_JOB_TIMEOUT_S": "8"}
        app = create_runtime(Settings.from_env(env))
        workers.env = env
        try:
            worker = workers.start()
            assert app.queue is not None
            queue = app.queue
            wait_until(lambda: queue.status().workers == 1, "the worker to listen")  # RQ drops a job queued 2 s
            run_id = app.jobs.start("acmecorp.com")
            wait_until(lambda: app.jobs.get("acmecorp.com", run_id).status is JobStatus.ERROR, "the job to end")
            listed_when_the_job_ended = full_listings(slow)
            slow.gate.set()  # the listing goes on, in the worker's sync
            first = app.jobs.get("acmecorp.com", run_id)
            wait_until(lambda: app.index_status().full_synced_at is not None, "the worker's sync to finish")
            assert worker.poll() is None  # the worker lives on, and so did its sync
            assert app.index_status().meetings == 40
            assert app.index.running_sync(workspace_of(app.settings)) is None  # the app only enqueues
            second_id = app.jobs.start("acmecorp.com")
            wait_until(lambda: app.jobs.get("acmecorp.com", second_id).status is not JobStatus.PROCESSING, "job 2")
            second = app.jobs.get("acmecorp.com", second_id)
        finally:
            app.close()
        assert first.error is not None and "still being indexed" in first.error, first.error
        assert "carries on in the background" in first.error
        # the newest window and the look for older meetings, begun before the job ended and done after it; then the
        # next job's one incremental request
        assert listed_when_the_job_ended < 2 and full_listings(slow) == 3
        assert second.status is JobStatus.COMPLETE, second.error
        assert second.summary is not None and second.summary.meetings_count == 40


def test_a_queued_job_shows_its_place_in_line_and_that_no_worker_is_running(
    app: Runtime, workers: Workers, fathom: FathomServer
) -> None:
    """While no worker runs, a job on the queue says how many are before it and how to start a worker."""
    first = app.jobs.start("acmecorp.com")
    second = app.jobs.start("globex.io")
    assert app.jobs.get("acmecorp.com", first).stage.startswith("queued (0 ahead): no worker is running")
    waiting = app.jobs.get("globex.io", second).stage
    assert waiting.startswith("queued (1 ahead): no worker is running") and "python -m engagement worker" in waiting
    workers.start("--burst")
    wait_until(lambda: app.jobs.get("globex.io", second).status.terminal, "the worker to run both jobs")
    assert app.jobs.get("acmecorp.com", first).status is JobStatus.COMPLETE


def test_a_worker_killed_and_expired_no_longer_counts_as_running(app: Runtime, workers: Workers) -> None:
    """Once a killed worker's registration expires, a queued job says no worker is running (RQ's set still names it)."""
    from engagement.storage.redis import raw_connection

    proc = workers.start()
    assert app.queue is not None
    wait_until(lambda: app.queue.status().workers == 1, "the worker to register")
    proc.send_signal(signal.SIGKILL)
    proc.wait(10)
    connection = raw_connection(app.settings.redis_url)
    names = [key for key in connection.keys("rq:worker:*") if b"rq:workers" not in key]
    connection.delete(*names)  # what the key's time-to-live does a minute after a kill -9
    assert connection.scard("rq:workers:engagement") == 1  # still registered: Worker.count would say one runs
    run_id = app.jobs.start("acmecorp.com")
    assert "no worker is running" in app.jobs.get("acmecorp.com", run_id).stage
    connection.close()


def test_a_busy_workers_registration_lives_a_beat_not_the_jobs_time_out(
    app: Runtime, workers: Workers, fathom: FathomServer
) -> None:
    """While a job runs, the worker beats: killed then, it leaves Worker.all within a beat + 60 s, not 6 minutes."""
    from engagement.jobs.rq_queue import JOB_MONITORING_S
    from engagement.storage.redis import raw_connection

    taken_while_fathom_hangs(app, workers, fathom)
    connection = raw_connection(app.settings.redis_url)
    try:
        from rq import Worker

        (name,) = [worker.key for worker in Worker.all(connection=connection)]
        assert app.settings.job_timeout_s + 60 > JOB_MONITORING_S + 60  # what RQ's SimpleWorker alone would set
        wait_until(lambda: 0 < connection.ttl(name) <= JOB_MONITORING_S + 60, "the worker's first beat")
    finally:
        connection.close()


class FakeWorker:
    """What the companion reads of RQ's worker: its state, and the heartbeats it sends."""

    def __init__(self) -> None:
        self.state, self.beats = "idle", []  # type: ignore[var-annotated]

    def get_state(self) -> str:
        return self.state

    def heartbeat(self, timeout: int | None = None) -> None:
        self.beats.append(timeout)


def test_the_companion_beats_at_once_when_a_job_starts_then_every_interval_and_never_idle() -> None:
    """Busy: a beat at the first look, then one per beat interval (TTL interval + 60); idle: none."""
    from engagement.workers import WorkerCompanion

    now = [0.0]
    worker = FakeWorker()
    companion = WorkerCompanion(worker, lambda: None, sweep_s=1000, beat_s=15, clock=lambda: now[0])  # type: ignore[arg-type]
    companion.tick()
    assert worker.beats == []
    worker.state = "busy"
    for t in (1, 2, 15, 16, 17):
        now[0] = float(t)
        companion.tick()
    assert worker.beats == [75, 75]  # at 1 s and at 16 s
    worker.state = "idle"
    now[0] = 40.0
    companion.tick()
    worker.state = "busy"
    now[0] = 41.0
    companion.tick()
    assert len(worker.beats) == 3  # the next job beats at its first look


def test_the_companion_sweeps_once_per_stale_window_and_survives_a_failing_sweep() -> None:
    """The sweep for interrupted jobs runs every stale window; one that raises is logged, the next still runs."""
    from engagement.workers import WorkerCompanion

    now, calls = [0.0], []

    def sweep() -> None:
        calls.append(now[0])
        raise RuntimeError("the store is away")

    companion = WorkerCompanion(FakeWorker(), sweep, sweep_s=3, clock=lambda: now[0])  # type: ignore[arg-type]
    for t in range(10):
        now[0] = float(t)
        companion.tick()
    assert calls == [3.0, 6.0, 9.0]
