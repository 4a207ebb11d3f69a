"""The job runner: start a summary in the background, run it, heart-beat it, recover what a dead process left.

Records and their index rows are read and written by ``JobRepository`` (``engagement.jobs.repository``);
this module decides when. Life cycle (``JobStatus``)::

    processing ──► complete      the body returned a summary
         └──────► error          the body raised, ran past its time limit, or its process died

``stage`` is ``queued`` until a worker picks the job up: a thread of this process's pool, or, with a
``JobQueue`` (RQ on Redis, ``engagement.jobs.rq_queue``), a worker process that calls ``run_stored``.
A queued job on the queue belongs to no process (``owner`` empty) until a worker takes it. A terminal record is final: every write of a
running job is conditional on the stored record still being ``processing``, so no heartbeat, late
report or late result — from this process or another — writes after ``complete`` or ``error``, and a
deleted job writes nothing again. ``_finish`` owns the terminal transition.
"""

from __future__ import annotations

import logging
import os
import socket
import threading
import time
import uuid
from collections.abc import Callable
from concurrent.futures import Executor, Future
from functools import partial
from typing import Any, Protocol

from engagement.deadline import Deadline
from engagement.errors import EngagementError, JobNotFoundError, JobTimeoutError, StoreError
from engagement.jobs.repository import JobRepository, record_key
from engagement.models import EngagementSummary, JobOptions, JobRecord, JobStats, JobStatus, Progress
from engagement.settings import Settings
from engagement.wording import how_long

__all__ = ["INTERRUPTED", "InlineExecutor", "JobBody", "JobContext", "JobQueue", "JobService", "queued_stage"]

STORED_ENDS_KEPT = 256  # jobs whose stored end a poll may still ask about (``wait_for_end``)
log = logging.getLogger(__name__)

_HOST = socket.gethostname()
# Identifies this process: a pid alone can be reused after a restart.
PROCESS_OWNER = f"{_HOST}:{os.getpid()}:{uuid.uuid4().hex[:8]}"

INTERRUPTED = "The job was interrupted before it finished (the app or the worker running it restarted or crashed). Start it again."


def silent_message(silent_s: float, store: str, *, shared: bool) -> str:
    """Why a job whose process may still live was ended by its silence: on a shared store (Redis) the silence
    may be the store's outage, so the store is named; ``store`` is how messages call it."""
    heard = f"The job was interrupted: nothing was heard from it for {how_long(silent_s)}"
    if shared:
        where = store[:1].lower() + store[1:]
        return (
            f"{heard}. The worker running it stopped, or it could not reach {where} (a Redis outage): check that "
            "Redis is running and answering, then start the job again."
        )
    return f"{heard}: the app or the worker running it stopped or hung. Start it again."


QUEUED = "queued"


class JobQueue(Protocol):
    """Runs stored jobs in other processes (RQ workers): ``JobService.start`` hands it the new record."""

    def enqueue(self, record: JobRecord) -> None: ...

    def waiting(self, run_id: str) -> tuple[int | None, int]:
        """A job still on the queue: how many jobs are before it (None: not on the queue) and workers alive."""
        ...


def queued_stage(ahead: int | None, workers: int | None = None) -> str:
    """The stage of a job no worker has taken yet: its place in line and, on a queue, whether a worker runs."""
    stage = QUEUED if ahead is None else f"{QUEUED} ({ahead} ahead)"
    if workers == 0:
        stage += ": no worker is running (start one with: python -m engagement worker)"
    return stage


class InlineExecutor(Executor):
    """Runs each job at once in the caller's thread: deterministic tests and the CLI."""

    def submit(self, fn: Callable[..., Any], /, *args: Any, **kwargs: Any) -> Future[Any]:
        future: Future[Any] = Future()
        try:
            future.set_result(fn(*args, **kwargs))
        except BaseException as exc:  # noqa: BLE001 - handed to the future like a pool would
            future.set_exception(exc)
        return future


class _Cancelled(Exception):
    """The record was finished or deleted by someone else; the body stops at its next report."""


class JobContext:
    """What the job body sees: its inputs, its deadline, and ``report()`` to write stage, progress and stats.

    Attributes:
        domain, run_id, options: the job's inputs.
        stats: counters the body increments; written with every report.
        deadline: when the job's time limit runs out (counted from when it started running); every
            upstream call the body makes ends by it.
    """

    def __init__(
        self,
        record: JobRecord,
        deadline: Deadline,
        *,
        report: Callable[[str, int | None, int | None, dict[str, Any]], None],
        repo: JobRepository,
        explain: Callable[[Callable[[], str] | None], None] | None = None,
    ) -> None:
        self._write = report  # the service's conditional write of this running record
        self._explain = explain
        self._repo = repo
        self._record = record
        self.domain = record.domain
        self.run_id = record.run_id
        self.options = record.options
        self.stats: JobStats = record.stats
        self.deadline = deadline

    def report(self, stage: str, done: int | None = None, total: int | None = None, **fields: Any) -> None:
        """Record progress (``stage="analysed 7/12 meetings", done=7, total=12``); refreshes the heartbeat.

        ``fields`` may set ``source`` or ``analyzer``, and ``summary``: the facts so far (counts,
        people, months), shown while the analysis runs; the job still ends ``complete`` or ``error``.
        Raises ``JobTimeoutError`` once the job is past its time limit, so a body that reports often
        stops promptly.
        """
        self._write(stage, done, total, fields)

    def explain_timeout(self, reason: Callable[[], str] | None) -> None:
        """What the job's time-out means while it waits for work that carries on without it (``None``: the
        usual message again). ``reason()`` gives the message; whatever stops the job at its limit (its own
        wait, a report, the heartbeat) ends it with that message. It must not touch the store."""
        if self._explain is not None:
            self._explain(reason)

    def previous_complete(self) -> JobRecord | None:
        """The latest complete run of the same domain and options (this one is still processing)."""
        repo = self._repo
        row = repo.latest_complete(self.domain, self.options)
        return repo.load(row.domain, row.run_id) if row is not None else None


JobBody = Callable[[JobContext], EngagementSummary]


class JobService:
    """Starts and runs jobs, keeps them heart-beating, and ends those a dead process left. One per process.

    ``executor`` runs job bodies (a bounded ``ThreadPoolExecutor`` in the app, ``InlineExecutor`` in
    tests and the CLI); with a ``queue``, ``start`` enqueues the record instead and a worker process
    runs it with ``run_stored``. The repository's clock is the service's clock (injectable for tests).
    A terminal write that fails is retried ``final_attempts`` times with backoff (``sleep``), then kept in memory
    (and shown by ``get``) and retried by the heartbeat until the store takes it.
    """

    def __init__(
        self,
        repo: JobRepository,
        body: JobBody,
        executor: Executor | None = None,
        *,
        timeout_s: float = Settings.job_timeout_s,
        stale_after_s: float = Settings.stale_after_s,
        heartbeat_s: float = Settings.heartbeat_s,
        owner: str = PROCESS_OWNER,
        final_attempts: int = 4,
        retry_backoff_s: float = 0.25,
        queue: JobQueue | None = None,
        sleep: Callable[[float], object] = time.sleep,
    ) -> None:
        self.repo = repo
        self.sleep = sleep  # the backoff between final writes (a test holds it to look at the gap)
        self.queue = queue
        self.clock = repo.clock
        self.body = body
        self.executor = executor or InlineExecutor()
        self.timeout_s = timeout_s
        self.stale_after_s = stale_after_s
        self.heartbeat_s = heartbeat_s
        self.owner = owner
        self.final_attempts = max(1, final_attempts)
        self.retry_backoff_s = retry_backoff_s
        self._lock = threading.RLock()
        self._ended = threading.Condition(self._lock)  # notified when this process stores a job's end
        self._running: dict[str, JobRecord] = {}  # this process's jobs, in the order they were queued
        self._unsaved: dict[str, JobRecord] = {}  # terminal records the store has not taken yet
        self._ending: set[str] = set()  # jobs that ended, their final write being tried (then stored or unsaved)
        self._stored_ends: dict[str, None] = {}  # the last ``STORED_ENDS_KEPT`` jobs whose end this process stored
        self._reasons: dict[str, Callable[[], str]] = {}  # what a time-out means now, set by the job's body
        self._heartbeat: threading.Thread | None = None
        self._stop = threading.Event()
        # Raises for a domain no job may be made for (one forgotten on request); the runtime sets it.
        self.admit: Callable[[str], None] = lambda domain: None

    # ------------------------------------------------------------------ start and run
    def start(self, domain: str, options: JobOptions | None = None) -> str:
        """Store a ``processing`` record and hand the work to the executor (or the queue); returns the run id.

        While a job for the same domain and options is processing, returns its run id instead. The check
        is the repository's claim, a conditional write, so two processes sharing a store cannot both
        start the same work.
        """
        options = options or JobOptions()
        self.admit(domain)
        with self._lock:
            while True:
                holder = self.repo.claimant(domain, options)
                if holder is not None:
                    running = self._claimed(domain, holder, options)
                    if running is not None:
                        return running.run_id
                now = self.clock()
                record = JobRecord(
                    domain=domain,
                    run_id=str(uuid.uuid4()),
                    created_at=now,
                    updated_at=now,
                    options=options,
                    owner="" if self.queue else self.owner,  # a job on the queue belongs to no process yet
                    stage=QUEUED,
                )
                if self.repo.claim(record, holder):
                    break  # else another process claimed the work first: read its claim again
            if self.queue is None:
                self._running[_key(record)] = record
        try:
            if self.queue is not None:
                self.queue.enqueue(record)
                return record.run_id
            self._ensure_heartbeat()  # before submitting: an inline job (the CLI) heart-beats too
            self.executor.submit(self._run, record)
        except Exception as exc:  # a shut-down or broken pool or queue: the record must not stay processing
            log.exception("could not schedule job %s", _key(record))
            self._finish(
                record,
                JobStatus.ERROR,
                error=f"The job could not be started ({type(exc).__name__}: {exc}). Restart the app and try again.",
            )
        return record.run_id

    def _claimed(self, domain: str, run_id: str, options: JobOptions) -> JobRecord | None:
        """The job a claim names, if it is still processing that work (checked for staleness)."""
        mine = self._running.get(record_key(domain, run_id))
        if mine is not None:  # this process runs it: what _checked would answer, without a read or a copy
            return mine if mine.status is JobStatus.PROCESSING and mine.options == options else None
        record = self.repo.load(domain, run_id)
        if record is None:
            return None
        record = self._checked(record)
        if record.status is JobStatus.PROCESSING and record.options == options:
            return record
        return None

    def run_stored(self, domain: str, run_id: str) -> bool:
        """Run a queued job here (an RQ worker calls this); False when it is gone, finished or taken.

        The record becomes this process's in one conditional write (only while it is processing and
        nobody's): its owner and heartbeat say which worker runs it, so a worker that dies is found
        out like an app process that dies, and a job delivered twice runs once.
        """
        record = self.repo.load(domain, run_id)
        if record is None or record.owner:
            return False
        record = self._checked(record)
        if record.status is not JobStatus.PROCESSING:
            return False  # finished, deleted, or waited on the queue past its bound
        record.owner = self.owner
        with self._lock:
            if not self.repo.save(record, owner=""):
                return False
            self._running[_key(record)] = record
        self._ensure_heartbeat()
        self._run(record)
        return True

    def _run(self, record: JobRecord) -> None:
        with self._lock:
            if _key(record) not in self._running:
                return  # deleted or ended while it was queued
            record.started_at = self.clock()
            record.stage = "starting"
            try:
                if not self._save(record):
                    return
            except StoreError as exc:  # not into the executor's future: the job ends with the reason
                log.warning("job %s could not start: %s", _key(record), exc)
                self._finish(record, JobStatus.ERROR, error=str(exc))
                return
        deadline = Deadline.after(self.timeout_s)
        try:
            ctx = JobContext(
                record,
                deadline,
                report=partial(self._report, record),
                repo=self.repo,
                explain=partial(self._explain, record),
            )
            summary = self.body(ctx)
        except _Cancelled:
            log.info("job %s stopped: finished or deleted elsewhere", _key(record))
        except Exception as exc:
            if isinstance(exc, JobTimeoutError) or self._past_limit(record) or deadline.expired:
                log.warning("job %s ran past its limit: %s", _key(record), exc)
                self._finish(record, JobStatus.ERROR, error=self._timeout_message(record))
            elif isinstance(exc, EngagementError):
                log.warning("job %s failed: %s", _key(record), exc)
                self._finish(record, JobStatus.ERROR, error=str(exc))
            else:
                log.exception("job %s failed unexpectedly", _key(record))
                self._finish(
                    record,
                    JobStatus.ERROR,
                    error=(
                        f"An unexpected error stopped the job ({type(exc).__name__}). The details are in the "
                        "app's log; try again, and report it if it happens again."
                    ),
                )
        else:
            self._finish(record, JobStatus.COMPLETE, summary=summary)
        finally:
            with self._lock:
                self._running.pop(_key(record), None)
                self._reasons.pop(_key(record), None)

    def _explain(self, record: JobRecord, reason: Callable[[], str] | None) -> None:
        with self._lock:
            if reason is None:
                self._reasons.pop(_key(record), None)
            else:
                self._reasons[_key(record)] = reason

    def _save(self, record: JobRecord) -> bool:
        """Write a running record; False (and the job forgotten here) when it ended or was deleted elsewhere."""
        with self._lock:
            if record.status.terminal:
                return False
            if self.repo.save(record):
                return True
            record.status = JobStatus.ERROR  # only in memory: stops every later write of this job
            self._running.pop(_key(record), None)
            return False

    def _report(
        self, record: JobRecord, stage: str, done: int | None, total: int | None, fields: dict[str, Any]
    ) -> None:
        with self._lock:
            if record.status.terminal:
                raise _Cancelled
            self._check_deadline(record)
            record.stage = stage
            if done is not None or total is not None:
                record.progress = Progress(
                    done=record.progress.done if done is None else done,
                    total=record.progress.total if total is None else total,
                )
            for name in ("source", "analyzer"):
                if name in fields:
                    setattr(record, name, str(fields[name]))
            if isinstance(fields.get("summary"), EngagementSummary):
                record.summary = fields["summary"]
            if not self._save(record):
                raise _Cancelled

    def _timeout_message(self, record: JobRecord | None = None) -> str:
        """Why a job stopped at its limit: what its body said its wait means (``explain_timeout``), else the usual."""
        reason = self._reasons.get(_key(record)) if record is not None else None
        if reason is not None:
            return reason()
        return (
            f"The job would have run longer than its limit of {self.timeout_s:g} s, so it was stopped. Try a "
            "shorter date range, or raise ENGAGEMENT_JOB_TIMEOUT_S."
        )

    def _queue_message(self) -> str:
        return (
            f"No worker picked the job up within {self.timeout_s + self.stale_after_s:g} s. Start one with "
            "`python -m engagement worker` (same settings as the app) and try again."
        )

    def _past_limit(self, record: JobRecord, grace_s: float = 0.0) -> bool:
        """Whether the job has run longer than its limit; the limit counts from when it started running."""
        if record.started_at is None:
            return False
        return (self.clock() - record.started_at).total_seconds() > self.timeout_s + grace_s

    def _check_deadline(self, record: JobRecord) -> None:
        if self._past_limit(record):
            message = self._timeout_message(record)
            self._finish(record, JobStatus.ERROR, error=message)
            raise JobTimeoutError(message)

    def _finish(
        self,
        record: JobRecord,
        status: JobStatus,
        *,
        summary: EngagementSummary | None = None,
        error: str | None = None,
    ) -> bool:
        """The one terminal transition: status, summary or error, and end time change together.

        Writes only while the stored record is still ``processing``; returns whether it wrote. A write
        the store refuses is retried with backoff; if the result still cannot be stored, an error that
        says so is tried; if even that fails, the record waits in memory for the heartbeat.
        """
        with self._lock:
            if record.status.terminal or not status.terminal:
                return False
            now = self.clock()
            record.status = status
            record.summary = summary if status is JobStatus.COMPLETE else None
            record.error = error if status is JobStatus.ERROR else None
            record.ended_at = now
            record.stage = "complete" if status is JobStatus.COMPLETE else "failed"
            if status is JobStatus.COMPLETE and record.progress.total is not None:
                record.progress = Progress(done=record.progress.total, total=record.progress.total)
            record.stats.seconds = round((now - (record.started_at or record.created_at)).total_seconds(), 3)
            self._running.pop(_key(record), None)
            self._ending.add(_key(record))
        failure: StoreError | None = None
        for attempt in range(self.final_attempts):
            try:
                return self._write_terminal(record)
            except StoreError as exc:
                failure = exc
                log.warning("job %s: the final write failed (attempt %d): %s", _key(record), attempt + 1, exc)
                self.sleep(self.retry_backoff_s * 2**attempt)
        assert failure is not None
        if record.status is JobStatus.COMPLETE:
            record.status, record.summary, record.stage = JobStatus.ERROR, None, "failed"
            record.error = f"The job finished but its result could not be saved: {failure}"
        log.error("job %s: could not store its end (%s); the heartbeat keeps trying", _key(record), failure)
        with self._lock:
            self._unsaved[_key(record)] = record
            self._ending.discard(_key(record))
        self._ensure_heartbeat()
        try:
            return self._write_terminal(record)
        except StoreError:
            return False

    def _write_terminal(self, record: JobRecord) -> bool:
        """Store a terminal record; the repository writes it only over a ``processing`` one."""
        with self._lock:
            wrote = self.repo.save(record)
            self._unsaved.pop(_key(record), None)
            self._ending.discard(_key(record))
            self._stored_ends[_key(record)] = None
            while len(self._stored_ends) > STORED_ENDS_KEPT:
                del self._stored_ends[next(iter(self._stored_ends))]
            self._ended.notify_all()
            return wrote

    def wait_for_end(self, domain: str, run_id: str, timeout_s: float) -> bool:
        """Wait up to ``timeout_s`` for this process to store a job's end; whether it has (at once when it had; at once
        False for a job it does not run: a worker's job is polled as before).

        A page that polls a running job calls this, so it draws the end when it is written rather than at its next
        poll. Another job's end does not cut the wait short, nor does the job's end before its record is stored (a
        final write that failed is retried first).
        """
        key = record_key(domain, run_id)
        with self._ended:
            if key in self._stored_ends:
                return True
            if key not in self._running and key not in self._ending and key not in self._unsaved:
                return False
            return self._ended.wait_for(lambda: key in self._stored_ends, timeout_s)

    # ------------------------------------------------------------------ heartbeat, timeouts, recovery
    def _ensure_heartbeat(self) -> None:
        with self._lock:
            if self._heartbeat is None or not self._heartbeat.is_alive():
                self._stop.clear()
                self._heartbeat = threading.Thread(target=self._beat, name="engagement-heartbeat", daemon=True)
                self._heartbeat.start()

    def _beat(self) -> None:
        while not self._stop.wait(self.heartbeat_s):
            with self._lock:
                if not self._running and not self._unsaved:
                    self._heartbeat = None
                    return
            self.beat()

    def beat(self) -> None:
        """One heartbeat: store the job ends the store refused, end running jobs past their limit, and refresh
        the rest's ``updated_at``. The heartbeat thread calls it every ``heartbeat_s``; a test with a
        hand-moved clock calls it itself, so no test waits on the wall clock."""
        with self._lock:
            running = list(self._running.values())
            unsaved = list(self._unsaved.values())
        for record in unsaved:
            try:
                self._write_terminal(record)
            except StoreError as exc:
                log.warning("job %s: its end is still not stored: %s", _key(record), exc)
        for record in running:
            try:
                with self._lock:
                    if record.status.terminal:
                        continue
                    self._check_deadline(record)
                    self._save(record)
            except JobTimeoutError:
                pass
            except Exception:
                log.exception("heartbeat of %s failed", _key(record))

    def close(self) -> None:
        """Stop the heartbeat thread (the executor belongs to the caller)."""
        self._stop.set()

    def is_abandoned(self, owner: str, silent_s: float, stale_after_s: float | None = None) -> bool:
        """Whether running work written by ``owner`` (``host:pid:nonce``), silent for ``silent_s`` seconds,
        will never be finished: its process on this machine is gone, or it has been silent longer than
        the stale window (this service's, or ``stale_after_s`` for work that may be silent longer, such as
        a question waiting on the model). The one liveness rule for jobs and questions; work of another
        machine's process is judged by its silence alone.
        """
        window = self.stale_after_s if stale_after_s is None else stale_after_s
        return self._owner_is_dead(owner) or silent_s > window

    def owner_is_dead(self, owner: str) -> bool:
        """Whether ``owner``'s process (on this machine) is gone; work of another machine is never known dead."""
        return self._owner_is_dead(owner)

    def _owner_is_dead(self, owner: str) -> bool:
        if not owner or owner == self.owner:
            return False
        host, _, rest = owner.partition(":")
        pid = rest.partition(":")[0]
        if host != _HOST or not pid.isdigit():
            return False  # another machine: only the heartbeat can tell
        try:
            os.kill(int(pid), 0)
        except ProcessLookupError:
            return True
        except PermissionError:
            return False
        return False

    def _checked(self, record: JobRecord) -> JobRecord:
        """Mark a ``processing`` record ``error`` if its process died, its heartbeat is stale, or it
        ran past its time limit; returns the record as it now is."""
        if record.status is not JobStatus.PROCESSING:
            return record
        with self._lock:
            key = _key(record)
            if key in self._running:
                return self._queued(self._running[key])
            if key in self._unsaved:
                return self._unsaved[key]
        now = self.clock()
        silent = (now - record.updated_at).total_seconds()
        error = None
        if record.started_at is None and not record.owner:  # waiting on the queue: nobody beats for it
            if (now - record.created_at).total_seconds() > self.timeout_s + self.stale_after_s:
                error = self._queue_message()  # RQ dropped it (its ttl is the limit): no worker will run it
        elif self._owner_is_dead(record.owner):
            error = INTERRUPTED
        elif self.is_abandoned(record.owner, silent):
            store = self.repo.store
            error = silent_message(silent, str(getattr(store, "path", "")), shared=getattr(store, "shared", False))
        elif self._past_limit(record, grace_s=self.stale_after_s):
            error = self._timeout_message()
        if error:
            self._finish(record, JobStatus.ERROR, error=error)
        return record

    def _queued(self, record: JobRecord) -> JobRecord:
        """A copy of one of this process's records; a queued one says how many wait before it."""
        copy = record.model_copy(deep=True)
        if record.started_at is None and not record.status.terminal:
            ahead = 0
            for other in self._running.values():
                if other is record:
                    break
                ahead += other.started_at is None
            copy.stage = queued_stage(ahead)
        return copy

    def recover_stale(self) -> int:
        """At start-up: end every ``processing`` job whose process is gone or silent. Returns how many."""
        count = 0
        for record in self.repo.processing():
            count += self._checked(record).status is JobStatus.ERROR
        if count:
            log.warning("marked %d interrupted job(s) as error", count)
        return count

    # ------------------------------------------------------------------ read
    def get(self, domain: str, run_id: str) -> JobRecord:
        """The record, checked for staleness; ``JobNotFoundError`` when there is none."""
        with self._lock:  # read and check at one instant: this process's own writes cannot land in between
            record = self.repo.load(domain, run_id)
            if record is None:
                raise JobNotFoundError()
            record = self._checked(record)
        if (
            self.queue is not None
            and record.status is JobStatus.PROCESSING
            and record.started_at is None
            and not record.owner
        ):
            # Shown to the reader, never stored: its place on the queue and whether a worker runs.
            record.stage = queued_stage(*self.queue.waiting(record.run_id))
        return record


def _key(record: JobRecord) -> str:
    return record_key(record.domain, record.run_id)
