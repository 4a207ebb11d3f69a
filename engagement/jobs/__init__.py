"""Background jobs: the service that runs and watches them, the repository that stores them, the RQ queue.

The names in ``__all__`` are its public face, each loaded from its module on first use
(``engagement.exports``), so importing the package costs nothing.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from engagement.exports import exports_of

if TYPE_CHECKING:
    from engagement.jobs.repository import JobRepository, JobRow
    from engagement.jobs.rq_queue import JOB_MONITORING_S, QUEUE_NAME, WORKER_TTL_S, RQJobQueue
    from engagement.jobs.service import InlineExecutor, JobBody, JobContext, JobService

__all__ = [
    "InlineExecutor",
    "JOB_MONITORING_S",
    "JobBody",
    "JobContext",
    "JobRepository",
    "JobRow",
    "JobService",
    "QUEUE_NAME",
    "RQJobQueue",
    "WORKER_TTL_S",
]

__getattr__ = exports_of(
    __name__,
    {
        "repository": ["JobRepository", "JobRow"],
        "rq_queue": ["JOB_MONITORING_S", "QUEUE_NAME", "RQJobQueue", "WORKER_TTL_S"],
        "service": ["InlineExecutor", "JobBody", "JobContext", "JobService"],
    },
)
