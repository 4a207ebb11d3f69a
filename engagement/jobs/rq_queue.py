"""The job queue on Redis (RQ): enqueue a stored job for a worker, and the queue's counts for the admin page.

Jobs are enqueued by the dotted path of the function a worker runs (``RUN_JOB``), so this adapter never
imports the worker; RQ jobs already queued name the same path.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import redis
from rq import Queue, Worker
from rq.registry import FailedJobRegistry, StartedJobRegistry

from engagement.models import JobRecord
from engagement.settings import Settings
from engagement.storage.redis import raw_connection, redis_failure

QUEUE_NAME = "engagement"
RUN_JOB = "engagement.workers.run_job"  # what a worker runs; queued jobs name it, so it stays here
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
            RUN_JOB,
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
            return self.queue.get_job_position(run_id), len(Worker.all(queue=self.queue))
        except redis.exceptions.RedisError as exc:
            raise redis_failure(self.settings.redis_url, "queue", exc) from None

    def status(self) -> QueueStatus:
        """The queue's counts, read from Redis (a few small reads); ``StoreError`` if it cannot be reached."""
        try:
            return QueueStatus(
                queued=self.queue.count,
                started=StartedJobRegistry(queue=self.queue).count,
                failed=FailedJobRegistry(queue=self.queue).count,
                workers=len(Worker.all(queue=self.queue)),
            )
        except redis.exceptions.RedisError as exc:
            raise redis_failure(self.settings.redis_url, "queue", exc) from None

    def close(self) -> None:
        self.connection.close()
