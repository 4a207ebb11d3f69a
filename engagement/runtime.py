"""Wiring: settings in, a ready ``Runtime`` out — store, job service, analysis cache — per process.

The UI holds one ``Runtime`` in ``st.cache_resource``; the CLI builds one with an inline executor so
``summarize`` runs the same job body and stores the record the same way. Two shapes: by default the
sqlitedict file and a thread pool; with ``ENGAGEMENT_REDIS_URL`` the store is Redis and jobs go on
the RQ queue for ``python -m engagement worker`` (Redis and RQ are imported only then).
"""

from __future__ import annotations

import dataclasses
from concurrent.futures import Executor, ThreadPoolExecutor
from dataclasses import dataclass
from typing import TYPE_CHECKING

import httpx

from engagement import pipeline
from engagement.analysis import Analyzer, InsightCache, OfflineAnalyzer, OpenAIAnalyzer
from engagement.demo import DEMO_ACCOUNTS, DEMO_API_KEY, demo_transport
from engagement.fathom import FathomClient
from engagement.jobs import InlineExecutor, JobBody, JobContext, JobService
from engagement.models import EngagementSummary
from engagement.settings import Settings
from engagement.store import CACHE_TABLE, SqliteKV, open_store

if TYPE_CHECKING:
    from engagement.redis_store import RedisKV
    from engagement.workers import RQJobQueue

COMPANY_NAMES = dict(DEMO_ACCOUNTS)  # the demo accounts' names; real accounts are shown by domain
DEMO_BASE_URL = "https://fathom.demo.invalid/external/v1"  # never resolved: the transport is in-process


def fathom_client(settings: Settings, transport: httpx.BaseTransport | None = None) -> FathomClient:
    """The real client: over the network with a key, over the bundled demo API without one."""
    if settings.source == "demo":
        demo = dataclasses.replace(settings, fathom_api_key=DEMO_API_KEY, fathom_base_url=DEMO_BASE_URL)
        return FathomClient.from_settings(demo, transport=transport or demo_transport())
    return FathomClient.from_settings(settings, transport=transport)


def analyzer_for(settings: Settings) -> Analyzer:
    """OpenAI with a key, the offline analyser without one."""
    if settings.analyzer == "offline":
        return OfflineAnalyzer()
    return OpenAIAnalyzer.from_settings(settings)


def make_body(
    settings: Settings, cache: InsightCache, *, fathom_transport: httpx.BaseTransport | None = None
) -> JobBody:
    """The job body ``JobService`` runs: a fresh client and analyser per job, one shared cache."""

    def body(ctx: JobContext) -> EngagementSummary:
        analyzer = analyzer_for(settings)
        with fathom_client(settings, fathom_transport) as fathom:
            return pipeline.run(
                ctx,
                fathom=fathom,
                analyzer=analyzer,
                cache=cache,
                source=settings.source,
                company=COMPANY_NAMES.get(ctx.domain, "") if settings.source == "demo" else "",
                concurrency=settings.openai_concurrency,
            )

    return body


@dataclass
class Runtime:
    """The long-lived objects of a process.

    Attributes:
        settings: what it was built from.
        store: the job table (of the sqlitedict file, or of Redis).
        cache: the per-meeting analysis cache (another table of the same store).
        jobs: the job service.
        queue: the RQ queue jobs go on, when Redis is configured and this process enqueues.
    """

    settings: Settings
    store: SqliteKV | RedisKV
    cache: InsightCache
    jobs: JobService
    queue: RQJobQueue | None = None

    def close(self) -> None:
        """Stop the heartbeat, the thread pool and the queue's connection; close the store."""
        self.jobs.close()
        shutdown = getattr(self.jobs.executor, "shutdown", None)
        if shutdown is not None:
            shutdown(wait=True, cancel_futures=True)
        if self.queue is not None:
            self.queue.close()
        self.store.close()


def open_settings_store(settings: Settings) -> SqliteKV | RedisKV:
    """The job table the settings name: Redis when ``ENGAGEMENT_REDIS_URL`` is set, else the file."""
    if settings.redis_url:
        from engagement.redis_store import open_redis_store

        return open_redis_store(settings.redis_url)
    return open_store(settings.engagement_db)


def create_runtime(
    settings: Settings,
    *,
    store: SqliteKV | RedisKV | None = None,
    executor: Executor | None = None,
    fathom_transport: httpx.BaseTransport | None = None,
    enqueue: bool = True,
) -> Runtime:
    """Open the store and build the job service.

    With Redis configured and ``enqueue``, ``start`` puts jobs on the RQ queue; otherwise they run
    on ``executor`` (default: a bounded thread pool) in this process.
    """
    store = store or open_settings_store(settings)
    cache = InsightCache(store.table(CACHE_TABLE))
    queue = None
    if settings.redis_url and enqueue:
        from engagement.workers import RQJobQueue

        queue = RQJobQueue(settings)
    jobs = JobService(
        store,
        make_body(settings, cache, fathom_transport=fathom_transport),
        executor
        or (InlineExecutor() if queue else None)
        or ThreadPoolExecutor(max_workers=settings.workers, thread_name_prefix="engagement-job"),
        timeout_s=settings.job_timeout_s,
        stale_after_s=settings.stale_after_s,
        heartbeat_s=settings.heartbeat_s,
        queue=queue,
    )
    return Runtime(settings=settings, store=store, cache=cache, jobs=jobs, queue=queue)
