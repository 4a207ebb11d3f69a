"""Wiring: settings in, a ready ``Runtime`` out — store, job service, analysis cache — per process.

The UI holds one ``Runtime`` in ``st.cache_resource``; the CLI builds one with an inline executor so
``summarize`` runs the same job body and stores the record the same way.
"""

from __future__ import annotations

import dataclasses
from concurrent.futures import Executor, ThreadPoolExecutor
from dataclasses import dataclass

import httpx

from engagement import pipeline
from engagement.analysis import Analyzer, InsightCache, OfflineAnalyzer, OpenAIAnalyzer
from engagement.demo import DEMO_ACCOUNTS, DEMO_API_KEY, demo_transport
from engagement.fathom import FathomClient
from engagement.jobs import JobBody, JobContext, JobService
from engagement.models import EngagementSummary
from engagement.settings import Settings
from engagement.signals import Thresholds
from engagement.store import CACHE_TABLE, SqliteKV, open_store

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
                thresholds=Thresholds.from_settings(settings),
            )

    return body


@dataclass
class Runtime:
    """The long-lived objects of a process.

    Attributes:
        settings: what it was built from.
        store: the job table of the sqlitedict file.
        cache: the per-meeting analysis cache (another table of the same file).
        jobs: the job service.
    """

    settings: Settings
    store: SqliteKV
    cache: InsightCache
    jobs: JobService


def create_runtime(
    settings: Settings,
    *,
    store: SqliteKV | None = None,
    executor: Executor | None = None,
    fathom_transport: httpx.BaseTransport | None = None,
) -> Runtime:
    """Open the store and build the job service. Without an executor: a bounded thread pool."""
    store = store or open_store(settings.engagement_db)
    cache = InsightCache(store.table(CACHE_TABLE))
    jobs = JobService(
        store,
        make_body(settings, cache, fathom_transport=fathom_transport),
        executor or ThreadPoolExecutor(max_workers=settings.workers, thread_name_prefix="engagement-job"),
        timeout_s=settings.job_timeout_s,
        stale_after_s=settings.stale_after_s,
        heartbeat_s=settings.heartbeat_s,
    )
    return Runtime(settings=settings, store=store, cache=cache, jobs=jobs)
