"""RQ workers: the job queue on Redis, the function a worker runs, the worker loop, and the queue's counts.

With ``ENGAGEMENT_REDIS_URL`` set, ``JobService.start`` stores the record and enqueues
``run_job(domain, run_id)`` on the ``engagement`` queue (the RQ job id is the run id);
``python -m engagement worker`` runs on any machine with the same settings and executes it through
the same ``JobService`` (heartbeat, time limit, the one terminal transition). Imported only when
Redis is configured: the embedded default never loads ``rq``.

Time limits agree: our limit (``ENGAGEMENT_JOB_TIMEOUT_S``) counts from when the worker starts the
job, and ends the record in ``error``; RQ's job timeout is that limit plus the stale window, a
backstop that stops a body which never reports; and a job still queued when its limit has passed is
dropped by RQ (``ttl``), its record ending in error once it has waited the limit plus the stale window.

A worker killed with ``kill -9`` mid-job is not retried: the record names the worker as its owner,
its heartbeat stops, and the next read (the page, another worker's sweep) marks it interrupted
within ``ENGAGEMENT_STALE_AFTER_S`` — at once when the reader is on the same machine.
"""

from __future__ import annotations

import logging
import math
import threading
from dataclasses import dataclass
from typing import TYPE_CHECKING

import redis
from rq import Queue, SimpleWorker
from rq.job import Job
from rq.registry import FailedJobRegistry, StartedJobRegistry
from rq.worker.base import BaseWorker, WorkerStatus

from engagement.models import JobRecord
from engagement.settings import Settings
from engagement.storage.redis import raw_connection, redis_failure

if TYPE_CHECKING:
    from engagement.runtime import Runtime

log = logging.getLogger(__name__)

QUEUE_NAME = "engagement"
WORKER_TTL_S = 60  # an idle worker that stops heart-beating leaves the count of workers alive within this
JOB_MONITORING_S = 15  # a busy one beats this often and is gone from the count 60 s after its last beat
RESULT_TTL_S = 3600  # the record is the result; RQ keeps its own entry this long


@dataclass(frozen=True)
class QueueStatus:
    """What the admin page shows of the queue.

    Attributes:
        queued: jobs waiting for a worker.
        started: jobs a worker is running.
        failed: jobs RQ itself recorded as failed (a worker died, RQ's own time-out).
        workers: workers registered on the queue and heart-beating.
    """

    queued: int
    started: int
    failed: int
    workers: int


class RQJobQueue:
    """``JobQueue`` on RQ: enqueues ``run_job`` for a stored record."""

    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self.connection = raw_connection(settings.redis_url)
        self.queue = Queue(QUEUE_NAME, connection=self.connection)

    def enqueue(self, record: JobRecord) -> None:
        limit = self.settings.job_timeout_s
        self.queue.enqueue(
            run_job,
            record.domain,
            record.run_id,
            job_id=record.run_id,
            job_timeout=math.ceil(limit + self.settings.stale_after_s),
            ttl=math.ceil(limit),
            result_ttl=RESULT_TTL_S,
            failure_ttl=RESULT_TTL_S * 24,
            description=f"engagement summary of {record.domain}",
        )

    def waiting(self, run_id: str) -> tuple[int | None, int]:
        """A queued job's place in line (``LPOS``; None once a worker has taken it) and the workers alive.

        Alive: registered and heart-beating (``Worker.all`` drops a worker whose key expired; ``Worker.count``
        would still count one killed with ``kill -9``)."""
        try:
            return self.queue.get_job_position(run_id), len(EngagementWorker.all(queue=self.queue))
        except redis.exceptions.RedisError as exc:
            raise redis_failure(self.settings.redis_url, "queue", exc) from None

    def status(self) -> QueueStatus:
        """The queue's counts, read from Redis (a few small reads); ``StoreError`` if it cannot be reached."""
        try:
            return QueueStatus(
                queued=self.queue.count,
                started=StartedJobRegistry(queue=self.queue).count,
                failed=FailedJobRegistry(queue=self.queue).count,
                workers=len(EngagementWorker.all(queue=self.queue)),
            )
        except redis.exceptions.RedisError as exc:
            raise redis_failure(self.settings.redis_url, "queue", exc) from None

    def close(self) -> None:
        self.connection.close()


_WORKER_RUNTIME: Runtime | None = None


def _runtime() -> Runtime:
    """This worker process's runtime (built once, from the same settings as the app)."""
    global _WORKER_RUNTIME
    if _WORKER_RUNTIME is None:
        from engagement.jobs.service import InlineExecutor
        from engagement.runtime import create_runtime

        _WORKER_RUNTIME = create_runtime(Settings.from_env(), executor=InlineExecutor(), enqueue=False)
    return _WORKER_RUNTIME


def run_job(domain: str, run_id: str) -> bool:
    """What an RQ worker executes: run the stored job here. False when it was gone or finished."""
    return _runtime().jobs.run_stored(domain, run_id)


class EngagementWorker(SimpleWorker):
    """RQ's in-process worker (no fork per job: the runtime and its connections stay warm) that
    also sweeps the store for jobs left by dead workers, once per stale window.

    RQ's ``SimpleWorker`` does not heart-beat while a job runs (its worker entry lives as long as the
    job's time-out), so a worker killed mid-job would look alive for many minutes. This one beats
    from a thread every ``job_monitoring_interval``, as RQ's forking worker does from its parent.
    """

    def get_heartbeat_ttl(self, job: Job, working_time: float = 0.0) -> int:
        return BaseWorker.get_heartbeat_ttl(self, job, working_time)

    def execute_job(self, job: Job, queue: Queue) -> None:
        execution = self.prepare_execution(job)
        stop = threading.Event()

        def beat() -> None:
            while not stop.wait(self.job_monitoring_interval):
                try:
                    self.maintain_heartbeats(job, execution)
                except redis.exceptions.RedisError as exc:  # the job goes on; RQ judges a worker that stops beating
                    log.warning("worker heartbeat failed: %s", exc)

        beating = threading.Thread(target=beat, name="rq-heartbeat", daemon=True)
        beating.start()
        try:
            self.perform_job(job, queue, execution)
        finally:
            stop.set()
            beating.join(5)
        self.set_state(WorkerStatus.IDLE)

    def run_maintenance_tasks(self) -> None:
        super().run_maintenance_tasks()
        try:
            _runtime().jobs.recover_stale()
        except Exception:
            log.exception("the sweep for interrupted jobs failed")


def run_worker(settings: Settings, *, burst: bool = False, name: str | None = None) -> bool:
    """Work the queue until stopped (``burst``: until it is empty). Returns whether any job ran."""
    global _WORKER_RUNTIME
    from engagement.jobs.service import InlineExecutor
    from engagement.runtime import create_runtime

    _WORKER_RUNTIME = create_runtime(settings, executor=InlineExecutor(), enqueue=False)
    _WORKER_RUNTIME.jobs.recover_stale()
    connection = raw_connection(settings.redis_url)
    worker = EngagementWorker(
        [Queue(QUEUE_NAME, connection=connection)],
        connection=connection,
        name=name,
        worker_ttl=WORKER_TTL_S,
        job_monitoring_interval=JOB_MONITORING_S,
        maintenance_interval=max(1, int(settings.stale_after_s)),
    )
    return worker.work(burst=burst, logging_level="INFO", with_scheduler=False)
