"""RQ workers: the function a worker runs, the worker loop, and its sweep for interrupted jobs (the queue is ``engagement.jobs.rq_queue``).

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
import threading
from typing import TYPE_CHECKING

import redis
from rq import Queue, SimpleWorker
from rq.job import Job
from rq.worker.base import BaseWorker, WorkerStatus

from engagement.jobs.rq_queue import JOB_MONITORING_S, QUEUE_NAME, WORKER_TTL_S
from engagement.settings import Settings
from engagement.storage.redis import raw_connection

if TYPE_CHECKING:
    from engagement.runtime import Runtime

log = logging.getLogger(__name__)

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
    if not burst:  # a long-lived worker keeps the meeting index fresh too (skipped when another process just did)
        _WORKER_RUNTIME.start_periodic_sync()
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
