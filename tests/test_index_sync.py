"""The meeting index's sync runs in its own background task: a job waits for it up to its own limit, never longer."""

from __future__ import annotations

import threading
import uuid
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import httpx
import pytest

from engagement.errors import FathomAuthError
from engagement.fathom.demo import FathomAPI
from engagement.jobs.service import InlineExecutor
from engagement.models import JobRecord, JobStatus
from engagement.render.present import still_indexing
from engagement.runtime import Runtime, create_runtime, workspace_of
from engagement.settings import Settings
from engagement.storage.sqlite import SqliteKV
from tests.fakes.fathom_server import BASE_PATH, FAKE_API_KEY, FathomServer, make_account
from tests.support.fathom_fixtures import settings_for
from tests.support.waits import bounded, wait_until

GATE_S = 30.0  # the longest a held page waits for the test to let it through
FULL_PASS = 4  # requests of a full pass of the fixture: the newest window's 3 pages and the look for older meetings


class GatedFathom:
    """The in-process Fathom API, whose listing of the whole workspace the test holds back request by request.

    Attributes:
        allowed: how many requests of the workspace's listing may be served before the next one waits (None: all).
        unauthorised_at: the request of the workspace's listing answered once with a 401 instead.
        served: requests of the workspace's listing served (the 401 not counted): full passes and incremental ones.
        held: set while a request waits at the gate.
    """

    def __init__(self, meetings: list[dict[str, object]]) -> None:
        self.api = FathomAPI(meetings, api_key=FAKE_API_KEY, base_path=BASE_PATH)
        self.allowed: int | None = None
        self.unauthorised_at: int | None = None
        self.served = 0
        self.held = threading.Event()
        self._changed = threading.Condition()

    def allow(self, requests: int | None) -> None:
        with self._changed:
            self.allowed = requests
            self._changed.notify_all()

    def __call__(self, request: httpx.Request) -> httpx.Response:
        if not request.url.path.endswith("/meetings") or "calendar_invitees_domains[]" in request.url.params:
            return self.api(request)  # a transcript, or an account's meetings: not the workspace's listing
        with self._changed:
            number = self.served + 1
            if self.unauthorised_at == number:
                self.unauthorised_at = None
                return httpx.Response(401, json={"error": "Unauthorized"})
            if self.allowed is not None and number > self.allowed:
                self.held.set()
                if not self._changed.wait_for(lambda: self.allowed is None or number <= self.allowed, GATE_S):
                    return httpx.Response(503, json={"error": "the test never opened the gate"})
            self.held.clear()
            self.served += 1
        return self.api(request)


@pytest.fixture
def fathom() -> GatedFathom:
    """A workspace of 25 acmecorp.com and 5 globex.io meetings: a full listing of 3 pages."""
    return GatedFathom(make_account("acmecorp.com", 25) + make_account("globex.io", 5, first_id=3000))


@pytest.fixture
def runtime_for(fathom: GatedFathom, tmp_path: Path, index_backend: dict[str, str]) -> Iterator[Runtime]:
    """A runtime over the gated Fathom (its own address: its own rate-limit budget), jobs limited to 1 s."""
    settings = Settings.from_env(
        {
            "FATHOM_API_KEY": FAKE_API_KEY,
            "FATHOM_BASE_URL": f"http://fathom-{uuid.uuid4().hex[:8]}.test{BASE_PATH}",
            "ENGAGEMENT_DB": str(tmp_path / "engagement.sqlite"),
            "ENGAGEMENT_JOB_TIMEOUT_S": "1",
            "ENGAGEMENT_INDEX_GRACE_S": "2",
            "FATHOM_BACKOFF_S": "0.01",
            **index_backend,
        }
    )
    runtime = create_runtime(
        settings,
        store=SqliteKV(settings.engagement_db),
        executor=InlineExecutor(),
        fathom_transport=httpx.MockTransport(fathom),
        enqueue=False,
    )
    yield runtime
    fathom.allow(None)  # whatever the test left held goes on, and the sync ends before the index is closed
    settle(runtime)
    runtime.close()


def settle(runtime: Runtime) -> None:
    """Wait (bounded) for the runtime's background sync to end, however it ends."""
    task = runtime.index.running_sync(workspace_of(runtime.settings))
    if task is None:
        return

    def wait() -> None:
        try:
            task.wait()
        except Exception:  # noqa: BLE001, S110 - how it ended is the test's business, not the clean-up's
            pass

    bounded(wait, 60)


def run(runtime: Runtime, domain: str = "acmecorp.com") -> JobRecord:
    return bounded(lambda: runtime.jobs.get(domain, runtime.jobs.start(domain)), 60)


def test_a_job_shorter_than_the_first_listing_completes_from_the_company_filter_and_the_listing_carries_on(
    runtime_for: Runtime, fathom: GatedFathom
) -> None:
    """The first listing outlasts the 2 s a job waits for it: the job asks Fathom for the account's own meetings and
    completes, saying the index is incomplete; the listing goes on to its end after the job; the next job
    completes from the index, complete now, without listing the workspace again (one incremental request)."""
    runtime_for.jobs.timeout_s = 30  # room for the 2 s wait and the answer
    fathom.allow(1)  # the first page, then the listing waits at the gate until the job is over
    first = run(runtime_for)
    assert first.status is JobStatus.COMPLETE, first.error
    assert first.summary is not None and first.summary.meetings_count == 25
    assert first.summary.coverage is not None and first.summary.coverage.index_complete is False
    assert fathom.served <= 1

    task = runtime_for.index.running_sync(workspace_of(runtime_for.settings))
    assert task is not None  # the job is over; its sync is not
    fathom.allow(None)
    result = bounded(task.wait, 60)
    assert (result.kind, result.listed, fathom.served) == ("full", 30, FULL_PASS)

    runtime_for.jobs.timeout_s = 60  # the next job's limit is no part of what is tested
    second = run(runtime_for)
    assert second.status is JobStatus.COMPLETE, second.error
    assert second.summary is not None and second.summary.meetings_count == 25
    assert second.summary.coverage is not None and second.summary.coverage.index_complete is True
    assert fathom.served == FULL_PASS + 1  # no second full listing: one request for what is new


def test_a_401_during_the_background_sync_ends_the_waiting_job_with_its_message(
    runtime_for: Runtime, fathom: GatedFathom
) -> None:
    """Fathom refuses the key on the listing's second page: the job that waited ends with the 401's message (not
    a time-out); the next job starts the sync again from the saved cursor and completes."""
    runtime_for.jobs.timeout_s = 60  # long enough that only the 401 can end the job
    fathom.unauthorised_at = 2
    first = run(runtime_for)
    assert first.status is JobStatus.ERROR
    assert first.error == str(FathomAuthError())
    assert fathom.served == 1

    second = run(runtime_for)
    assert second.status is JobStatus.COMPLETE, second.error
    assert fathom.served == FULL_PASS  # resumed at page 2: page 1 was not listed again


def test_two_jobs_on_one_workspace_wait_for_one_listing(fathom: GatedFathom, tmp_path: Path) -> None:
    """Jobs for two accounts start while the first listing is held: both show "indexing Fathom" and wait for the
    same sync; once it ends both complete, and the workspace was listed once."""
    settings = Settings.from_env(
        {
            "FATHOM_API_KEY": FAKE_API_KEY,
            "FATHOM_BASE_URL": f"http://fathom-{uuid.uuid4().hex[:8]}.test{BASE_PATH}",
            "ENGAGEMENT_DB": str(tmp_path / "engagement.sqlite"),
            "ENGAGEMENT_WORKERS": "2",
        }
    )
    pool = ThreadPoolExecutor(max_workers=2)
    runtime = create_runtime(
        settings,
        store=SqliteKV(settings.engagement_db),
        executor=pool,
        fathom_transport=httpx.MockTransport(fathom),
        enqueue=False,
    )
    try:
        fathom.allow(1)
        runs = [(d, runtime.jobs.start(d)) for d in ("acmecorp.com", "globex.io")]

        def both_indexing() -> bool:
            return all(runtime.jobs.get(d, r).stage.startswith("indexing Fathom: ") for d, r in runs)

        wait_until(both_indexing, "both jobs to wait for the index")
        assert fathom.served <= 1  # both are waiting, the listing is held
        fathom.allow(None)
        pool.shutdown(wait=True)
        records = [runtime.jobs.get(d, r) for d, r in runs]
    finally:
        fathom.allow(None)
        settle(runtime)
        runtime.close()
    assert [r.status for r in records] == [JobStatus.COMPLETE, JobStatus.COMPLETE], [r.error for r in records]
    assert [r.summary.meetings_count for r in records if r.summary] == [25, 5]
    assert fathom.served == FULL_PASS  # one listing of the workspace for both
    assert sum(r.stats.index_requests for r in records) >= FULL_PASS  # each counts the listing it waited for


def test_the_still_indexing_message_counts_with_separators() -> None:
    """The time-out message while indexing says how far the listing got (6,120 meetings) and what to do."""
    assert still_indexing(6120) == (
        "Fathom's workspace is still being indexed: 6,120 meetings so far. It carries on in the background; "
        "run this again in a few minutes."
    )
    assert "1 meeting so far" in still_indexing(1)


@pytest.mark.parametrize(
    ("endless", "env", "named"),
    [
        ("repeat", {}, "nothing new"),
        ("new", {"FATHOM_MAX_MEETINGS": "50"}, "FATHOM_MAX_MEETINGS"),
        ("rewind", {}, "went back in time and then jumped forward"),
    ],
)
def test_a_listing_that_never_ends_is_stopped_by_its_own_bounds_not_a_jobs(
    tmp_path: Path, endless: str, env: dict[str, str], named: str
) -> None:
    """With no job deadline on the background sync, a Fathom that hands out cursors for ever (pages of repeats, or
    of meetings without end) is still stopped by the listing's bounds; the waiting job ends with that message."""
    with FathomServer(make_account(count=3), rate_limit=None) as server:
        server.endless = endless
        settings = settings_for(server, tmp_path, ENGAGEMENT_JOB_TIMEOUT_S="120", **env)
        runtime = create_runtime(
            settings, store=SqliteKV(settings.engagement_db), executor=InlineExecutor(), enqueue=False
        )
        try:
            record = run(runtime)
        finally:
            settle(runtime)
            runtime.close()
    assert record.status is JobStatus.ERROR
    error = record.error or ""
    assert named in error and "still being indexed" not in error and "its limit" not in error, error


def test_the_admin_re_index_is_the_same_background_sync_and_keeps_its_failure_for_the_page(
    runtime_for: Runtime, fathom: GatedFathom
) -> None:
    """start_reindex() starts the workspace's background sync (full); a second click while it runs starts nothing,
    and a job started meanwhile waits for that very listing; a 401 of a later re-index is kept in reindex_error."""
    runtime_for.jobs.timeout_s = 60
    fathom.allow(1)
    assert runtime_for.start_reindex() is True
    assert runtime_for.start_reindex() is False and runtime_for.reindexing
    pool = ThreadPoolExecutor(max_workers=1)
    job = pool.submit(run, runtime_for)
    wait_until(fathom.held.is_set, "the listing to wait at the gate")
    fathom.allow(None)
    record = job.result(timeout=60)
    pool.shutdown()
    assert record.status is JobStatus.COMPLETE, record.error
    assert fathom.served == FULL_PASS and not runtime_for.reindexing and runtime_for.reindex_error is None

    fathom.unauthorised_at = FULL_PASS + 1  # the next full listing's first page
    assert runtime_for.start_reindex() is True
    wait_until(lambda: not runtime_for.reindexing, "the re-index to end")
    assert runtime_for.reindex_error == str(FathomAuthError())


def test_a_job_timed_out_by_a_full_re_index_counts_what_the_index_holds(
    runtime_for: Runtime, fathom: GatedFathom
) -> None:
    """The index holds 30 meetings when a full re-index is held at its first page: the job that waits for it and
    times out says 30 meetings so far, not the 0 the re-index's pass has listed."""
    fathom.allow(None)
    runtime_for.reindex(full=True)  # the index holds all 30
    fathom.allow(fathom.served)  # the next full listing waits at its first page
    assert runtime_for.start_reindex()
    wait_until(fathom.held.is_set, "the re-index to wait at the gate")
    record = run(runtime_for)
    assert record.status is JobStatus.ERROR
    assert record.error == still_indexing(30), record.error


def test_a_rate_limit_wait_that_ends_between_two_looks_is_still_reported_once() -> None:
    """A sync that waits for Fathom's rate limit and reads its next page before the job looks: the job still reports
    the wait (once), then the meetings; a look with nothing new reports progress, not the old wait again."""
    from engagement.meetings.index import SyncResult, SyncTask

    task = SyncTask("w", full=True)
    task._update(None, rate_wait=15.0)
    task._update(None, meetings=3)  # the wait is over before anyone looked
    waits: list[float] = []
    progress: list[int] = []

    def on_progress(meetings: int) -> None:
        progress.append(meetings)
        if len(progress) == 1:  # the second look (nothing new since the first): the wait is not reported again
            task.result = SyncResult(kind="full", pages=1, listed=3, deleted=0)
            task._update(None, done=True)

    task.wait(on_progress=on_progress, on_wait=waits.append, poll_s=0.01)
    assert waits == [15.0]
    assert progress == [3]
