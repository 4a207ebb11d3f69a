"""Wiring: settings in, a ready ``Runtime`` out — store, jobs, analysis cache, meeting index, search, questions.

The UI holds one ``Runtime`` in ``st.cache_resource``; the CLI builds one with an inline executor so
``summarize`` runs the same job body and stores the record the same way. Two shapes: by default the
sqlitedict file and a thread pool; with ``ENGAGEMENT_REDIS_URL`` the store is Redis and jobs go on
the RQ queue for ``python -m engagement worker`` (Redis and RQ are imported only then).
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from concurrent.futures import Executor, ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import datetime
from typing import TYPE_CHECKING, cast

import httpx
import httpx2
import openai

from engagement import pipeline
from engagement.account.domains import Account, our_domains, setting_domains
from engagement.account.linking import LINKS_TABLE, AccountLinks
from engagement.account.rep_roles import ROLES_TABLE, RepRoles
from engagement.account.signals import Thresholds
from engagement.analysis import Analyzer, InsightCache, OfflineAnalyzer, OpenAIAnalyzer
from engagement.audit import AUDIT_TABLE, AuditLog
from engagement.deadline import NO_DEADLINE, Deadline, DeadlineTransport
from engagement.demo import DEMO_ACCOUNTS, demo_transport
from engagement.errors import EngagementError, StoreError
from engagement.fathom.client import FathomClient
from engagement.fathom.ratelimit import use_limiter
from engagement.fathom.workspace import fathom_settings, workspace_of
from engagement.jobs.repository import JobRepository
from engagement.jobs.service import JobBody, JobContext, JobService
from engagement.meetings.freshness import PeriodicSync
from engagement.meetings.index import IndexStatus, MeetingIndex, SyncResult, SyncTask, open_index
from engagement.models import EngagementSummary, utcnow
from engagement.privacy import TOMBSTONES_TABLE, Tombstones
from engagement.qualification import load_rubric
from engagement.qualification.qualifier import OfflineQualifier, Qualifier
from engagement.questions.answers import QuestionService
from engagement.questions.search import TranscriptIndex, TranscriptSearch
from engagement.registry import REGISTRY
from engagement.settings import Settings
from engagement.storage.sqlite import CACHE_TABLE, SqliteKV, open_store

if TYPE_CHECKING:
    from engagement.jobs.rq_queue import RQJobQueue
    from engagement.storage.redis import RedisKV

log = logging.getLogger(__name__)
COMPANY_NAMES = dict(DEMO_ACCOUNTS)  # the demo accounts' names; real accounts are shown by domain


def fathom_client(
    settings: Settings, transport: httpx.BaseTransport | None = None, deadline: Deadline = NO_DEADLINE
) -> FathomClient:
    """The real client: over the network with a key, over the bundled demo API without one.

    Every request ends by ``FATHOM_TIMEOUT_S`` (all of it, not each read) or the job's deadline, and no
    wait for the rate limit or a back-off runs past that deadline.
    """
    if settings.source == "demo":
        transport = transport or demo_transport()
    bounded = DeadlineTransport(
        transport or httpx.HTTPTransport(), total_s=settings.fathom_timeout_s, deadline=deadline
    )
    return FathomClient.from_settings(
        fathom_settings(settings), transport=cast(httpx.BaseTransport, bounded), deadline=deadline
    )


def analyzer_for(settings: Settings, deadline: Deadline = NO_DEADLINE) -> Analyzer:
    """OpenAI with a key, the offline analyser without one.

    Every model call ends by ``OPENAI_TIMEOUT_S`` (all of it) or the job's deadline.
    """
    if settings.analyzer == "offline":
        return OfflineAnalyzer()
    bounded = DeadlineTransport(
        httpx2.HTTPTransport(), total_s=settings.openai_timeout_s, deadline=deadline, http=httpx2
    )
    return OpenAIAnalyzer.from_settings(
        settings, http_client=openai.DefaultHttpxClient(transport=cast(httpx2.BaseTransport, bounded))
    )


def qualifier_for(settings: Settings, analyzer: Analyzer, company: str = "") -> Qualifier:
    """The rubric ``QUALIFICATION_RUBRIC`` names, evaluated by the model when the analyser is one, else offline.

    A rubric with a mistake raises ``RubricError`` naming the file and the line (the job ends with it).
    """
    rubric = load_rubric(settings.qualification_rubric)
    if isinstance(analyzer, OfflineAnalyzer):
        return OfflineQualifier(rubric)
    from engagement.qualification.qualifier import ModelQualifier

    return ModelQualifier(cast(OpenAIAnalyzer, analyzer), rubric, company=company)


def make_body(
    settings: Settings,
    cache: InsightCache,
    index: MeetingIndex,
    *,
    fathom_transport: httpx.BaseTransport | None = None,
    search: TranscriptSearch | None = None,
    clock: Callable[[], datetime] = utcnow,
    roles: RepRoles | None = None,
    links: AccountLinks | None = None,
) -> JobBody:
    """The job body ``JobService`` runs: a fresh client and analyser per job; one cache, index and rate limit.

    The job's account (its domain, or every domain a rep linked to it: ``links``) is read once, as the job starts.
    """

    def listing() -> FathomClient:  # the index's sync: bound per request, by no job's deadline
        return fathom_client(settings, fathom_transport)

    def body(ctx: JobContext) -> EngagementSummary:
        analyzer = analyzer_for(settings, ctx.deadline)
        company = COMPANY_NAMES.get(ctx.domain, "") if settings.source == "demo" else ""
        account = Account.of(links.members(ctx.domain)) if links is not None else Account.of(ctx.domain)
        with fathom_client(settings, fathom_transport, ctx.deadline) as fathom:
            return pipeline.run(
                ctx,
                fathom=fathom,
                index=index,
                analyzer=analyzer,
                cache=cache,
                source=settings.source,
                company=company,
                concurrency=settings.openai_concurrency,
                search=search,
                thresholds=Thresholds.from_settings(settings),
                listing=listing,
                index_grace_s=settings.index_grace_s,
                our_domains=setting_domains(settings.our_domains),
                clock=clock,
                rep_roles=roles,
                qualifier=qualifier_for(settings, analyzer, company),
                account=account,
            )

    return body


@dataclass
class Runtime:
    """The long-lived objects of a process.

    Attributes:
        settings: what it was built from.
        store: the job table (of the sqlitedict file, or of Redis).
        cache: the per-meeting analysis cache (another table of the same store).
        repo: the job records and their index rows (listing, purging, the fresh-summary check).
        jobs: the job runner (start, run, heartbeat, recovery).
        index: the workspace meeting index (in the same file, its own tables; in Redis when Redis is configured).
        questions: questions about accounts, answered from the search index.
        search: the FTS5 index of transcript turns (None when SQLite here lacks FTS5; ``search_error`` says so);
            with Redis, the transcripts shared there with this machine's index as their cache.
        fathom_transport: what the Fathom client sends through (tests; ``None``: the network or the demo API).
        queue: the RQ queue jobs go on, when Redis is configured and this process enqueues.
        roles: the roles reps set on the summary page (another table of the same store).
        audit: who did what, appended beside the jobs (the store's ``audit`` table).
        links: the linked accounts (the store's ``account_links`` table): several domains one account.
    """

    settings: Settings
    store: SqliteKV | RedisKV
    cache: InsightCache
    repo: JobRepository
    jobs: JobService
    index: MeetingIndex
    questions: QuestionService
    audit: AuditLog
    search: TranscriptSearch | None = None
    search_error: str = ""
    fathom_transport: httpx.BaseTransport | None = None
    queue: RQJobQueue | None = None
    roles: RepRoles | None = None
    links: AccountLinks | None = None
    _reindexing: SyncTask | None = field(default=None, repr=False)
    on_close: list[Callable[[], None]] = field(default_factory=list, repr=False)  # background tasks' stops
    freshness: PeriodicSync | None = field(default=None, repr=False)

    def account(self, domain: str) -> Account:
        """The account ``domain`` (a registrable domain) belongs to: its every domain, the primary first. A linked
        account's jobs, questions and roles are kept under the primary, so a rep may type any member."""
        return Account.of(self.links.members(domain)) if self.links is not None else Account.of(domain)

    def start_periodic_sync(self) -> PeriodicSync | None:
        """Keep the index fresh in one background thread (``ENGAGEMENT_SYNC_EVERY_S``); None in demo mode or when
        it is 0. Stopped by :meth:`close`."""
        if self.freshness is None and self.settings.sync_every_s > 0 and self.settings.source != "demo":
            self.freshness = PeriodicSync(
                self.index,
                workspace_of(self.settings),
                lambda: fathom_client(self.settings, self.fathom_transport),
                self.settings.sync_every_s,
            )
            self.freshness.start()
        return self.freshness

    def sync_index(self, *, full: bool = False) -> tuple[SyncTask, bool]:
        """Start the configured workspace's index sync in its background thread, or join the one running there;
        returns the task and whether this call started it."""
        return self.index.start_sync(
            workspace_of(self.settings), lambda: fathom_client(self.settings, self.fathom_transport), full=full
        )

    def reindex(self, *, full: bool = True, on_progress: Callable[[int], None] | None = None) -> SyncResult:
        """Bring the meeting index up to date and wait for it; ``full`` lists the whole workspace again (the CLI)."""
        task, _ = self.sync_index(full=full)
        return task.wait(on_progress=on_progress)

    def start_reindex(self) -> bool:
        """Start a full re-index in the background (the admin page); False when one is already running.

        It is the same background sync jobs wait for (:meth:`MeetingIndex.start_sync`). Its progress is
        the index's own (``index_status().pass_meetings``); its failure, if any, is ``reindex_error``.
        """
        self._reindexing, started = self.sync_index(full=True)
        return started

    @property
    def reindexing(self) -> bool:
        """Whether a re-index started by :meth:`start_reindex` is still running."""
        return self._reindexing is not None and not self._reindexing.done

    @property
    def reindex_error(self) -> str | None:
        """Why the last re-index started by :meth:`start_reindex` stopped, for the page; None if it did not."""
        error = self._reindexing.error if self._reindexing is not None else None
        if error is None:
            return None
        if isinstance(error, EngagementError):
            return str(error)
        return f"The re-index stopped: unexpected error ({type(error).__name__})."  # the traceback is in the log

    def our_domains(self) -> dict[str, str]:
        """Our own domains (never a customer), each with why: what the meeting index knows and the setting's.

        The index not answering leaves the setting's (a job checks again once its index is up to date).
        """
        try:
            fathom = self.index.internal_domains(workspace_of(self.settings))
        except EngagementError as exc:
            log.warning("our own domains could not be read from the meeting index: %s", exc)
            fathom = set()
        return our_domains(fathom, setting_domains(self.settings.our_domains))

    def index_status(self) -> IndexStatus:
        """How many meetings the index holds for the configured key, and how fresh it is."""
        return self.index.status(workspace_of(self.settings))

    def close(self) -> None:
        """Stop taking jobs, end the heartbeat, wait for running jobs (bounded by their limit), close the
        queue's connection, the Redis index's and the store."""
        for stop in self.on_close:
            stop()
        if self.freshness is not None:
            self.freshness.stop()
        self.jobs.close()
        shutdown = getattr(self.jobs.executor, "shutdown", None)
        if shutdown is not None:
            shutdown(wait=True, cancel_futures=True)
        if self.queue is not None:
            self.queue.close()
        if self.settings.redis_url:  # the Redis index holds a connection pool; the SQLite one is the process's
            self.index.close()
        self.store.close()


def open_settings_store(settings: Settings) -> SqliteKV | RedisKV:
    """The job table the settings name: Redis when ``ENGAGEMENT_REDIS_URL`` is set, else the file."""
    if settings.redis_url:
        from engagement.storage.redis import open_redis_store

        return open_redis_store(settings.redis_url)
    return open_store(settings.engagement_db)


def create_runtime(
    settings: Settings,
    *,
    store: SqliteKV | RedisKV | None = None,
    executor: Executor | None = None,
    fathom_transport: httpx.BaseTransport | None = None,
    enqueue: bool = True,
    clock: Callable[[], datetime] = utcnow,
) -> Runtime:
    """Open the store and build the job service (``clock``: when jobs think it is, for the transcript back-off).

    With Redis configured and ``enqueue``, ``start`` puts jobs on the RQ queue; otherwise they run
    on ``executor`` (default: a bounded thread pool) in this process.
    """
    setting_domains(settings.our_domains)  # a bad ENGAGEMENT_OUR_DOMAINS fails at start, naming the entry
    store = store or open_settings_store(settings)
    queue = None
    if settings.redis_url and enqueue:
        from engagement.jobs.rq_queue import RQJobQueue

        queue = RQJobQueue(settings)
    if settings.redis_url:  # one Fathom budget per key for every process on this Redis
        from engagement.fathom.redis_ratelimit import redis_limiter_for

        use_limiter(redis_limiter_for(settings.redis_url))
    # With Redis the meeting index is in Redis too: one copy, and one sync at a time, for every process.
    # The transcripts are in Redis; the search runs on an SQLite file on each machine (ENGAGEMENT_DB), their cache.
    local = settings.engagement_db if settings.redis_url else store.path
    index = open_meeting_index(settings, local)
    search: TranscriptSearch | None
    search, search_error = open_search(local)
    if search is not None and settings.redis_url:  # the transcripts are shared in Redis; this file caches them
        from engagement.questions.shared_search import TRANSCRIPTS_TABLE, SharedTranscriptIndex
        from engagement.storage.redis import RedisKV, open_redis_store

        shared = store if isinstance(store, RedisKV) else open_redis_store(settings.redis_url)
        search = SharedTranscriptIndex(search, shared.table(TRANSCRIPTS_TABLE))
    cache = InsightCache(store.table(CACHE_TABLE), on_clear=search.clear if search else None)
    repo = JobRepository(store)
    roles = RepRoles(store.table(ROLES_TABLE))
    links = AccountLinks(store.table(LINKS_TABLE))
    executor = executor or ThreadPoolExecutor(max_workers=settings.workers, thread_name_prefix="engagement-job")
    jobs = JobService(
        repo,
        make_body(
            settings,
            cache,
            index,
            fathom_transport=fathom_transport,
            search=search,
            clock=clock,
            roles=roles,
            links=links,
        ),
        executor,  # with a queue, jobs go to RQ workers; the pool still answers questions with the model
        timeout_s=settings.job_timeout_s,
        stale_after_s=settings.stale_after_s,
        heartbeat_s=settings.heartbeat_s,
        queue=queue,
    )
    questions = QuestionService(
        store,
        jobs,
        search,
        executor,
        model_factory=(lambda: cast(OpenAIAnalyzer, analyzer_for(settings)))
        if settings.analyzer != "offline"
        else None,
        analyzer=settings.analyzer,
        stale_after_s=settings.openai_timeout_s * (settings.openai_max_retries + 1) + 60,
        index_error=search_error,
    )
    tombstones = Tombstones(store.table(TOMBSTONES_TABLE))  # what was forgotten on request stays out
    jobs.admit = tombstones.check
    index.excluded = tombstones.covers
    return Runtime(
        settings=settings,
        store=store,
        cache=cache,
        repo=repo,
        jobs=jobs,
        index=index,
        questions=questions,
        search=search,
        search_error=search_error,
        fathom_transport=fathom_transport,
        queue=queue,
        roles=roles,
        links=links,
        audit=AuditLog(store.table(AUDIT_TABLE)),
    )


def open_meeting_index(settings: Settings, path: str) -> MeetingIndex:
    """The process's meeting index: in Redis when ``ENGAGEMENT_REDIS_URL`` is set, else in the SQLite file."""
    if settings.redis_url:
        from engagement.meetings.redis_storage import open_redis_index

        return open_redis_index(settings.redis_url)
    return open_index(path)


SEARCH_KIND = "search index"


def open_search(path: str) -> tuple[TranscriptIndex | None, str]:
    """The process's one search index for the store's file, or None and why (no FTS5, unusable file)."""
    try:
        if path == ":memory:":
            return TranscriptIndex(path), ""
        return REGISTRY.get(SEARCH_KIND, path, lambda: TranscriptIndex(path)), ""
    except StoreError as exc:
        log.warning("search is off: %s", exc)
        return None, str(exc)
