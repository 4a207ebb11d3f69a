"""The job service: start a summary in the background, read it while it runs, list and purge jobs.

A job is one record under ``engagement:{domain}:{run_id}`` plus one small index row under
``index:{created_at}:{domain}:{run_id}`` (written in the same transaction) so the admin table and
purges read a key range instead of every summary.

Life cycle (``JobStatus``)::

    processing ──► complete      the body returned a summary
         └──────► error          the body raised, ran past its time limit, or its process died

A terminal record never changes status again; ``_finish`` owns that transition.
"""

from __future__ import annotations

import builtins
import logging
import os
import socket
import threading
import uuid
from collections.abc import Callable
from concurrent.futures import Executor, Future
from datetime import datetime, timedelta
from typing import Any

from pydantic import BaseModel, Field

from engagement.errors import (
    EngagementError,
    JobNotFoundError,
    JobTimeoutError,
)
from engagement.models import (
    EngagementSummary,
    JobOptions,
    JobRecord,
    JobStats,
    JobStatus,
    Progress,
    Signal,
    format_utc,
    job_key,
    utcnow,
)
from engagement.store import KVStore

__all__ = ["JobContext", "JobRow", "JobService", "JobStatus", "JobRecord", "InlineExecutor"]

log = logging.getLogger(__name__)

INDEX_PREFIX = "index:"
RECORD_PREFIX = "engagement:"
_HOST = socket.gethostname()
# Identifies this process: a pid alone can be reused after a restart.
PROCESS_OWNER = f"{_HOST}:{os.getpid()}:{uuid.uuid4().hex[:8]}"

INTERRUPTED = "The job was interrupted before it finished (the app restarted or crashed). Start it again."


class JobRow(BaseModel):
    """One row of the admin table: what the index holds, without the summary."""

    domain: str
    run_id: str
    status: JobStatus
    stage: str = ""
    created_at: str
    updated_at: str
    ended_at: str | None = None
    duration_s: float = 0.0
    meetings: int | None = None
    source: str = ""
    analyzer: str = ""
    error: str | None = None
    options: JobOptions = Field(default_factory=JobOptions)  # the dates asked for, shown beside the run
    signals: list[Signal] = Field(default_factory=list)  # the summary's, so the accounts list reads no summary

    @classmethod
    def of(cls, rec: JobRecord) -> JobRow:
        return cls(
            domain=rec.domain,
            run_id=rec.run_id,
            status=rec.status,
            stage=rec.stage,
            created_at=format_utc(rec.created_at),
            updated_at=format_utc(rec.updated_at),
            ended_at=format_utc(rec.ended_at) if rec.ended_at else None,
            duration_s=round(rec.duration_s, 3),
            meetings=rec.summary.meetings_count if rec.summary else None,
            source=rec.source,
            analyzer=rec.analyzer,
            error=rec.error,
            options=rec.options,
            signals=list(rec.summary.signals) if rec.summary else [],
        )


def index_key(created_at: datetime | str, domain: str, run_id: str) -> str:
    stamp = created_at if isinstance(created_at, str) else format_utc(created_at)
    return f"{INDEX_PREFIX}{stamp}:{domain}:{run_id}"


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
    """What the job body sees: its inputs, and ``report()`` to write stage, progress and stats.

    Attributes:
        domain, run_id, options: the job's inputs.
        stats: counters the body increments; written with every report.
    """

    def __init__(self, service: JobService, record: JobRecord) -> None:
        self._service = service
        self._record = record
        self.domain = record.domain
        self.run_id = record.run_id
        self.options = record.options
        self.stats: JobStats = record.stats

    def report(self, stage: str, done: int | None = None, total: int | None = None, **fields: Any) -> None:
        """Record progress (``stage="analysed 7/12 meetings", done=7, total=12``); refreshes the heartbeat.

        ``fields`` may set ``source`` or ``analyzer``, and ``summary``: the facts so far (counts,
        people, months), shown while the analysis runs; the job still ends ``complete`` or ``error``. Raises ``JobTimeoutError`` once the job is past
        its time limit, so a body that reports often stops promptly.
        """
        self._service._report(self._record, stage, done, total, fields)

    def previous_complete(self) -> JobRecord | None:
        """The latest complete run of the same domain and options (this one is still processing)."""
        return self._service.latest_complete(self.domain, self.options)


JobBody = Callable[[JobContext], EngagementSummary]


class JobService:
    """Starts, reads, lists and purges jobs. Thread-safe; one per process.

    ``executor`` runs job bodies (a bounded ``ThreadPoolExecutor`` in the app, ``InlineExecutor`` in
    tests and the CLI). ``clock`` is injectable for tests of ageing and staleness.
    """

    def __init__(
        self,
        store: KVStore,
        body: JobBody,
        executor: Executor | None = None,
        *,
        timeout_s: float = 900.0,
        stale_after_s: float = 120.0,
        heartbeat_s: float = 10.0,
        clock: Callable[[], datetime] = utcnow,
        owner: str = PROCESS_OWNER,
    ) -> None:
        self.store = store
        self.body = body
        self.executor = executor or InlineExecutor()
        self.timeout_s = timeout_s
        self.stale_after_s = stale_after_s
        self.heartbeat_s = heartbeat_s
        self.clock = clock
        self.owner = owner
        self._lock = threading.RLock()
        self._running: dict[str, JobRecord] = {}
        self._heartbeat: threading.Thread | None = None
        self._stop = threading.Event()

    # ------------------------------------------------------------------ start and run
    def start(self, domain: str, options: JobOptions | None = None) -> str:
        """Store a ``processing`` record and hand the work to the executor; returns the run id.

        While a job for the same domain and options is processing, returns its run id instead.
        """
        options = options or JobOptions()
        with self._lock:
            running = self.find_running(domain, options)
            if running is not None:
                return running.run_id
            now = self.clock()
            record = JobRecord(
                domain=domain,
                run_id=str(uuid.uuid4()),
                created_at=now,
                updated_at=now,
                options=options,
                owner=self.owner,
            )
            self._write(record)
            self._running[record.key] = record
        try:
            self.executor.submit(self._run, record)
        except Exception as exc:  # a shut-down or broken pool: the record must not stay processing
            log.exception("could not schedule job %s", record.key)
            self._finish(
                record,
                JobStatus.ERROR,
                error=f"The job could not be started ({type(exc).__name__}). Restart the app and try again.",
            )
            with self._lock:
                self._running.pop(record.key, None)
            return record.run_id
        self._ensure_heartbeat()
        return record.run_id

    def find_running(self, domain: str, options: JobOptions) -> JobRecord | None:
        for _, value in self.store.items(f"{RECORD_PREFIX}{domain}:", where={"status": JobStatus.PROCESSING.value}):
            record = self._checked(JobRecord.model_validate(value))
            if record.status is JobStatus.PROCESSING and record.options == options:
                return record
        return None

    def _run(self, record: JobRecord) -> None:
        ctx = JobContext(self, record)
        started = self.clock()
        with self._lock:
            record.started_at = started
            record.stage = "starting"
            self._write(record)
        try:
            summary = self.body(ctx)
        except _Cancelled:
            log.info("job %s stopped: finished or deleted elsewhere", record.key)
        except EngagementError as exc:
            log.warning("job %s failed: %s", record.key, exc)
            self._finish(record, JobStatus.ERROR, error=str(exc))
        except Exception as exc:
            log.exception("job %s failed unexpectedly", record.key)
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
                self._running.pop(record.key, None)

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
            self._write(record)

    def _timeout_error(self) -> JobTimeoutError:
        return JobTimeoutError(
            f"The job ran longer than its limit of {self.timeout_s:g} s and was stopped. Try a "
            "shorter date range, or raise ENGAGEMENT_JOB_TIMEOUT_S."
        )

    def _check_deadline(self, record: JobRecord) -> None:
        if (self.clock() - record.created_at).total_seconds() > self.timeout_s:
            error = self._timeout_error()
            self._finish(record, JobStatus.ERROR, error=str(error))
            raise error

    def _finish(
        self,
        record: JobRecord,
        status: JobStatus,
        *,
        summary: EngagementSummary | None = None,
        error: str | None = None,
    ) -> bool:
        """The one terminal transition: status, summary or error, and end time change together.

        Returns False (and writes nothing) when the record is already terminal or was deleted.
        """
        with self._lock:
            if record.status.terminal or not status.terminal:
                return False
            if self.store.get(record.key) is None:
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
            self._write(record, check_exists=False)
            return True

    def _write(self, record: JobRecord, check_exists: bool = True) -> None:
        """Write the record and its index row in one transaction, refreshing ``updated_at``."""
        if check_exists and record.started_at is not None and self.store.get(record.key) is None:
            record.status = JobStatus.ERROR  # deleted while running: stop without resurrecting it
            raise _Cancelled
        record.updated_at = self.clock()
        self.store.set_many(
            {
                record.key: record.to_json(),
                index_key(record.created_at, record.domain, record.run_id): JobRow.of(record).model_dump(mode="json"),
            }
        )

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
                running = list(self._running.values())
                if not running:
                    self._heartbeat = None
                    return
                for record in running:
                    if record.status.terminal:
                        continue
                    try:
                        self._check_deadline(record)
                        self._write(record)
                    except (JobTimeoutError, _Cancelled):
                        pass
                    except Exception:
                        log.exception("heartbeat of %s failed", record.key)

    def close(self) -> None:
        """Stop the heartbeat thread (the executor belongs to the caller)."""
        self._stop.set()

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
            if record.key in self._running:
                return self._running[record.key]
        now = self.clock()
        silent = (now - record.updated_at).total_seconds()
        error = None
        if self._owner_is_dead(record.owner) or silent > self.stale_after_s:
            error = INTERRUPTED
        elif (now - record.created_at).total_seconds() > self.timeout_s + self.stale_after_s:
            error = str(self._timeout_error())
        if error:
            self._finish(record, JobStatus.ERROR, error=error)
        return record

    def recover_stale(self) -> int:
        """At start-up: end every ``processing`` job whose process is gone or silent. Returns how many."""
        count = 0
        for _, value in self.store.items(RECORD_PREFIX, where={"status": JobStatus.PROCESSING.value}):
            record = self._checked(JobRecord.model_validate(value))
            count += record.status is JobStatus.ERROR
        if count:
            log.warning("marked %d interrupted job(s) as error", count)
        return count

    # ------------------------------------------------------------------ read
    def get(self, domain: str, run_id: str) -> JobRecord:
        """The record, checked for staleness; ``JobNotFoundError`` when there is none."""
        value = self.store.get(job_key(domain, run_id))
        if value is None:
            raise JobNotFoundError()
        return self._checked(JobRecord.model_validate(value))

    def list(
        self,
        *,
        domain: str | None = None,
        status: JobStatus | str | None = None,
        limit: int | None = 50,
        offset: int = 0,
    ) -> builtins.list[JobRow]:
        """Jobs newest first, a page at a time, from the index (no summary is read)."""
        items = self.store.items(
            INDEX_PREFIX, where=self._where(domain, status), reverse=True, limit=limit, offset=offset
        )
        return [JobRow.model_validate(v) for _, v in items]

    def count(self, *, domain: str | None = None, status: JobStatus | str | None = None) -> int:
        return self.store.count(INDEX_PREFIX, where=self._where(domain, status))

    def totals(self) -> dict[str, int]:
        """Jobs per status (every status present, zero included)."""
        counted = self.store.count_by("status", INDEX_PREFIX)
        return {s.value: counted.get(s.value, 0) for s in JobStatus}

    def domains(self) -> builtins.list[str]:
        return sorted(str(d) for d in self.store.count_by("domain", INDEX_PREFIX))

    def latest_complete(
        self, domain: str, options: JobOptions | None = None, max_age: timedelta | None = None
    ) -> JobRecord | None:
        """The newest completed job for the domain (and options), if younger than ``max_age``."""
        best: JobRecord | None = None
        for _, value in self.store.items(f"{RECORD_PREFIX}{domain}:", where={"status": JobStatus.COMPLETE.value}):
            record = JobRecord.model_validate(value)
            if options is not None and record.options != options:
                continue
            if best is None or record.created_at > best.created_at:
                best = record
        if best and max_age is not None and self.clock() - best.created_at > max_age:
            return None
        return best

    @staticmethod
    def _where(domain: str | None, status: JobStatus | str | None) -> dict[str, str]:
        where = {}
        if domain is not None:
            where["domain"] = domain
        if status is not None:
            where["status"] = JobStatus(status).value
        return where

    # ------------------------------------------------------------------ delete and purge
    def delete(self, domain: str, run_id: str) -> bool:
        """Delete one job (a running one stops at its next report). Returns whether it existed."""
        value = self.store.get(job_key(domain, run_id))
        if value is None:
            return False
        record = JobRecord.model_validate(value)
        index = index_key(record.created_at, domain, run_id)
        return self.store.delete_many([record.key, index]) > 0

    def delete_many(self, jobs: builtins.list[tuple[str, str]]) -> int:
        return sum(self.delete(domain, run_id) for domain, run_id in jobs)

    def _purge_rows(
        self, older_than: timedelta | None, status: JobStatus | str | None
    ) -> builtins.list[tuple[str, Any]]:
        """Index items of finished jobs created before ``now - older_than`` and/or with ``status``."""
        if older_than is None and status is None:
            raise ValueError("purge needs older_than, status or both")
        stop = index_key(self.clock() - older_than, "", "") if older_than is not None else None
        items = self.store.items(INDEX_PREFIX, stop=stop, where=self._where(None, status))
        return [(key, row) for key, row in items if row.get("status") != JobStatus.PROCESSING.value]

    def purgeable(
        self, *, older_than: timedelta | None = None, status: JobStatus | str | None = None
    ) -> builtins.list[JobRow]:
        """The jobs ``purge`` would remove: finished ones, older than the age and/or of the status."""
        return [JobRow.model_validate(row) for _, row in self._purge_rows(older_than, status)]

    def purge(self, *, older_than: timedelta | None = None, status: JobStatus | str | None = None) -> int:
        """Delete finished jobs older than ``older_than`` and/or with ``status``; returns how many.

        Running jobs are never purged. The analysis cache is not touched.
        """
        keys = []
        for key, row in self._purge_rows(older_than, status):
            keys += [key, job_key(row["domain"], row["run_id"])]
        self.store.delete_many(keys)
        return len(keys) // 2
