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

Only RQ's documented surface is used, so an RQ upgrade is a version bump: RQ's own ``SimpleWorker``
(no fork per job: the runtime and its connections stay warm), unchanged; ``Worker.heartbeat`` and its
``state``. What ``SimpleWorker`` does not do (its docs: no periodic heartbeat while a job runs, so a
worker killed mid-job would count as alive for the job's whole time-out) and our sweep run beside it
in one thread of our own (:class:`WorkerCompanion`).
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from typing import TYPE_CHECKING

import redis
from rq import Queue, SimpleWorker
from rq.worker import WorkerStatus

from engagement.jobs.rq_queue import JOB_MONITORING_S, QUEUE_NAME, WORKER_TTL_S
from engagement.registry import REGISTRY
from engagement.settings import Settings
from engagement.storage.redis import raw_connection

if TYPE_CHECKING:
    from engagement.runtime import Runtime

log = logging.getLogger(__name__)

RUNTIME_KIND = "worker runtime"  # in the registry: this worker process's one runtime
TICK_S = 1.0  # how often the companion looks: a job's first beat comes within this of its start


def _build_runtime(settings: Settings) -> Runtime:
    from engagement.jobs.service import InlineExecutor
    from engagement.runtime import create_runtime

    return create_runtime(settings, executor=InlineExecutor(), enqueue=False)


def _runtime() -> Runtime:
    """This worker process's runtime (built once, from the same settings as the app)."""
    return REGISTRY.get(RUNTIME_KIND, "", lambda: _build_runtime(Settings.from_env()))


def run_job(domain: str, run_id: str) -> bool:
    """What an RQ worker executes: run the stored job here. False when it was gone or finished."""
    return _runtime().jobs.run_stored(domain, run_id)


class WorkerCompanion:
    """A thread beside RQ's worker loop: the worker's heartbeat while a job runs, and the sweep.

    * While the worker is ``busy``, ``Worker.heartbeat(JOB_MONITORING_S + 60)`` every ``JOB_MONITORING_S``
      (the first within ``TICK_S`` of the job's start), as RQ's forking worker beats from its parent, so
      ``Worker.all`` drops a worker killed mid-job within ``JOB_MONITORING_S + 60`` s. Idle, RQ's loop beats.
    * Every ``sweep_s`` (the stale window), ``sweep()``: jobs left by dead workers are marked interrupted.

    ``clock`` is the companion's time (tests drive :meth:`tick` with a fake clock; the thread looks every ``TICK_S``).
    """

    def __init__(
        self,
        worker: SimpleWorker,
        sweep: Callable[[], object],
        *,
        sweep_s: float,
        beat_s: float = JOB_MONITORING_S,
        clock: Callable[[], float] | None = None,
    ) -> None:
        self.worker, self.sweep, self.sweep_s, self.beat_s = worker, sweep, sweep_s, beat_s
        self.clock = clock or time.monotonic
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._last_beat: float | None = None
        self._last_sweep = self.clock()

    def tick(self) -> None:
        """One look: beat if a job runs and the last beat is ``beat_s`` old; sweep if the window has passed."""
        now = self.clock()
        if self.worker.get_state() == WorkerStatus.BUSY:
            if self._last_beat is None or now - self._last_beat >= self.beat_s:
                try:
                    self.worker.heartbeat(int(self.beat_s) + 60)
                    self._last_beat = now
                except redis.exceptions.RedisError as exc:  # the job goes on; RQ judges a worker that stops beating
                    log.warning("worker heartbeat failed: %s", exc)
        else:
            self._last_beat = None  # the next job beats at once
        if now - self._last_sweep >= self.sweep_s:
            self._last_sweep = now
            try:
                self.sweep()
            except Exception:
                log.exception("the sweep for interrupted jobs failed")

    def start(self) -> WorkerCompanion:
        self._thread = threading.Thread(target=self._run, name="rq-companion", daemon=True)
        self._thread.start()
        return self

    def _run(self) -> None:
        while not self._stop.wait(TICK_S):
            self.tick()

    def stop(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(5)


def run_worker(settings: Settings, *, burst: bool = False, name: str | None = None) -> bool:
    """Work the queue until stopped (``burst``: until it is empty). Returns whether any job ran."""
    runtime = _build_runtime(settings)
    REGISTRY.put(RUNTIME_KIND, "", runtime)
    runtime.jobs.recover_stale()
    if not burst:  # a long-lived worker keeps the meeting index fresh too (skipped when another process just did)
        runtime.start_periodic_sync()
    connection = raw_connection(settings.redis_url)
    worker = SimpleWorker(
        [Queue(QUEUE_NAME, connection=connection)],
        connection=connection,
        name=name,
        worker_ttl=WORKER_TTL_S,
        job_monitoring_interval=JOB_MONITORING_S,
        maintenance_interval=max(1, int(settings.stale_after_s)),  # RQ's own registry clean-up, as often as our sweep
    )
    companion = WorkerCompanion(worker, runtime.jobs.recover_stale, sweep_s=max(1.0, settings.stale_after_s)).start()
    try:
        return worker.work(burst=burst, logging_level="INFO", with_scheduler=False)
    finally:
        companion.stop()
