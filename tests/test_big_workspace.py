"""Day one on a big workspace: the first summary arrives while the meeting index fills, and the full one follows.

A workspace of thousands of meetings behind Fathom's documented pacing (60 requests a minute, pages of ten), on a
fake clock: every wait for the rate limit moves the clock instead of the test, so a listing Fathom would take
minutes over runs here in a second or two.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest

from engagement import pipeline
from engagement.account.domains import Account
from engagement.analysis import InsightCache, OfflineAnalyzer
from engagement.errors import FathomAuthError
from engagement.fathom.client import FathomClient
from engagement.fathom.demo import FathomAPI
from engagement.fathom.ratelimit import InProcessRateLimiter, key_id
from engagement.jobs.repository import JobRepository
from engagement.jobs.service import InlineExecutor, JobContext, JobService
from engagement.meetings.index import MeetingIndex
from engagement.meetings.redis_storage import RedisIndexStorage
from engagement.models import EngagementSummary, JobOptions, JobRecord, JobStatus
from engagement.render.present import indexing_progress
from engagement.storage.sqlite import SqliteKV
from tests.fakes.fathom_server import BASE_PATH, FAKE_API_KEY, make_meeting
from tests.support.waits import bounded, wait_until

BASE_URL = f"http://fathom.test{BASE_PATH}"
WORKSPACE_SIZE = 3_000
ACME_EVERY = timedelta(days=7)
PARTNER_FILED_ID = 77_777
EU_IDS = (88_001, 88_002, 88_003)
EXTRA = 40 + 1 + len(EU_IDS)  # besides the 3,000: acmecorp.com's weekly meetings, the partner's, acme-europe.de's
GATE_S = 30.0
WORKSPACE = key_id(FAKE_API_KEY, BASE_URL)  # the index's name for what this key sees


class FakeClock:
    """Seconds that pass only when someone sleeps: each sleep moves the clock on by its length. The limiter and the
    fake Fathom's windows both read it, so they agree on what a minute is."""

    def __init__(self) -> None:
        self._now = 1_000.0
        self._lock = threading.Lock()

    def now(self) -> float:
        with self._lock:
            return self._now

    def sleep(self, seconds: float) -> None:
        with self._lock:
            self._now += max(seconds, 0.0)


@dataclass
class Workspace:
    """The fake Fathom over a big workspace, with the workspace's listing held back after ``allowed`` requests.

    Attributes:
        api: Fathom's API as documented (pages of ten, 60 requests a minute on ``clock``).
        sent: ``(clock time, kind)`` of every request: ``workspace`` (the index's listing), ``account`` (the
            company filter without transcripts: the job's direct request), ``transcripts`` (the rest).
        allowed: workspace-listing requests served before the next waits for the test (None: all).
    """

    api: FathomAPI
    clock: FakeClock
    sent: list[tuple[float, str]] = field(default_factory=list)
    asked: list[tuple[float, str]] = field(default_factory=list)  # the domains the direct requests named
    allowed: int | None = None
    served: int = 0
    closed: bool = False
    _changed: threading.Condition = field(default_factory=threading.Condition)

    def allow(self, requests: int | None) -> None:
        with self._changed:
            self.allowed = requests
            self._changed.notify_all()

    def close(self) -> None:
        """Refuse the key from now on (a 401), so a listing still under way ends at once."""
        with self._changed:
            self.closed = True
            self._changed.notify_all()

    def __call__(self, request: httpx.Request) -> httpx.Response:
        params = request.url.params
        if not request.url.path.endswith("/meetings"):
            kind = "transcripts"
        elif "calendar_invitees_domains[]" not in params:
            kind = "workspace"
        else:
            kind = "transcripts" if params.get("include_transcript") == "true" else "account"
        if self.closed:
            return httpx.Response(401, json={"error": "Unauthorized"})
        if kind == "workspace":
            with self._changed:
                if not self._changed.wait_for(
                    lambda: self.closed or self.allowed is None or self.served < self.allowed, GATE_S
                ):
                    return httpx.Response(503, json={"error": "the test never opened the gate"})
                self.served += 1
        with self._changed:
            self.sent.append((self.clock.now(), kind))
            if kind == "account":
                self.asked += [(self.clock.now(), d) for d in params.get_list("calendar_invitees_domains[]")]
        return self.api(request)

    def count(self, kind: str) -> int:
        with self._changed:
            return sum(1 for _, k in self.sent if k == kind)

    def busiest_minute(self) -> int:
        """The most requests that reached Fathom within any 60 s of the clock."""
        with self._changed:
            times = sorted(t for t, _ in self.sent)
        most, first = 0, 0
        for last, t in enumerate(times):
            while times[first] <= t - 60.0:
                first += 1
            most = max(most, last - first + 1)
        return most


def workspace_meetings(now: datetime) -> list[dict[str, Any]]:
    """3,000 meetings over the last 300 days, ten a day with 30 other companies; every week one with acmecorp.com
    (filed under it); and, 200 days ago, one with a partner's two people and one of acmecorp.com's, which Fathom
    files under the partner."""
    meetings = []
    for n in range(WORKSPACE_SIZE):
        when = now - timedelta(hours=1) - timedelta(minutes=144 * n)  # ten a day, newest first
        company = f"customer{n % 30}.example"
        meetings.append(make_meeting(100_000 + n, when, guests=[("Sam Lee", f"sam.lee@{company}")], transcript=False))
    for week in range(40):
        when = now - timedelta(hours=3) - week * ACME_EVERY
        person = (
            ("John Smith", "john.smith@acmecorp.com") if week % 2 else ("Maria Garcia", "maria.garcia@acmecorp.com")
        )
        meetings.append(make_meeting(1_000 + week, when, guests=[person], meeting_title=f"Acme weekly #{40 - week}"))
    partner = [
        ("Priya Natarajan", "priya@northwind-partners.com"),
        ("Tom Becker", "tom.becker@northwind-partners.com"),
        ("John Smith", "john.smith@acmecorp.com"),
    ]
    meetings.append(
        make_meeting(
            PARTNER_FILED_ID, now - timedelta(days=200), guests=partner, meeting_title="Rollout with Northwind"
        )
    )
    for n in range(3):  # the European subsidiary, which a rep may link to acmecorp.com as one account
        when = now - timedelta(days=100 + 30 * n)
        guests = [("Lena Vogel", "lena.vogel@acme-europe.de")]
        meetings.append(make_meeting(EU_IDS[n], when, guests=guests, meeting_title="Acme Europe roll-out"))
    return meetings


@dataclass
class Day:
    """Everything of one test's day: the fake Fathom, the clock both clients wait on, the index and the jobs."""

    fathom: Workspace
    clock: FakeClock
    index: MeetingIndex
    jobs: JobService
    limiter: InProcessRateLimiter
    grace_s: float = 0.2
    account: Account | None = None  # a linked account the jobs summarise (None: the domain alone)

    def client(self) -> FathomClient:
        http = httpx.Client(transport=httpx.MockTransport(self.fathom))
        return FathomClient(
            http, api_key=FAKE_API_KEY, base_url=BASE_URL, sleep=self.clock.sleep, limiter=self.limiter, max_wait_s=600
        )

    def run(self, domain: str = "acmecorp.com", options: JobOptions | None = None) -> JobRecord:
        return bounded(lambda: self.jobs.get(domain, self.jobs.start(domain, options)), 60)

    @contextmanager
    def listing(self) -> Iterator[FathomClient]:
        """The index sync's own client (what the app gives it: no job's deadline)."""
        with self.client() as client:
            yield client

    def start_sync(self) -> None:
        """Start the workspace's first listing, as the app's periodic sync does."""
        self.index.start_sync(WORKSPACE, self.listing)

    def sync_done(self) -> None:
        """Wait (bounded) for the index's listing to end, however it ends."""
        task = self.index.running_sync(WORKSPACE)
        if task is None:
            return

        def wait() -> None:
            try:
                task.wait()
            except FathomAuthError:  # the test closed the key: the listing's business, not the clean-up's
                pass

        bounded(wait, 60)


@pytest.fixture
def day(tmp_path: Path, index_backend: dict[str, str]) -> Iterator[Day]:
    """A first day: nothing indexed, a job's limit of 10 minutes, and the workspace listing held after 40 requests;
    the index in SQLite, and again in Redis. (The limit is real time while the rate limit's waits are on the fake
    clock: a job's request may wait up to a whole 60 s window for its slot, which the client weighs against the
    real time the job has left, so a 60 s limit made that race the wall clock; the runs take a second or two.)"""
    start = datetime.now(UTC)
    clock = FakeClock()
    api = FathomAPI(workspace_meetings(start), api_key=FAKE_API_KEY, base_path=BASE_PATH, clock=clock.now)
    api.rate_limit = (60, 60.0)
    fathom = Workspace(api, clock, allowed=40)
    limiter = InProcessRateLimiter(clock=clock.now)
    if "ENGAGEMENT_REDIS_URL" in index_backend:
        index = MeetingIndex(RedisIndexStorage(index_backend["ENGAGEMENT_REDIS_URL"]))
    else:
        index = MeetingIndex(tmp_path / "index.sqlite")
    index.now = lambda: start + timedelta(seconds=clock.now() - 1_000.0)
    store = SqliteKV(tmp_path / "kv.sqlite")
    cache = InsightCache(store)
    holder: list[Day] = []

    def body(ctx: JobContext) -> EngagementSummary:
        today = holder[0]
        with today.client() as fathom_client:
            fathom_client.deadline = ctx.deadline
            return pipeline.run(
                ctx,
                fathom=fathom_client,
                index=index,
                analyzer=OfflineAnalyzer(),
                cache=cache,
                source="fathom",
                listing=today.listing,
                index_grace_s=today.grace_s,
                account=today.account,
            )

    jobs = JobService(JobRepository(store), body, InlineExecutor(), timeout_s=600)
    holder.append(Day(fathom, clock, index, jobs, limiter))
    yield holder[0]
    fathom.close()
    holder[0].sync_done()
    index.close()
    store.close()


def acme_ids(record: JobRecord) -> set[int]:
    assert record.summary is not None
    return {ref.recording_id for ref in record.summary.meetings}


def test_the_first_summary_completes_from_the_company_filter_and_says_the_index_is_incomplete(day: Day) -> None:
    """While the index holds only the newest weeks, the first summary completes with every meeting Fathom files under
    the account, says in a note (not an error) that meetings filed under another company may be missing, and
    records ``index_complete: false`` with how many meetings the index held; the partner-filed one is not in it."""
    first = day.run()
    assert first.status is JobStatus.COMPLETE, first.error
    assert first.summary is not None and first.summary.coverage is not None
    coverage = first.summary.coverage
    assert coverage.index_complete is False
    assert coverage.index_meetings is not None and 0 < coverage.index_meetings < WORKSPACE_SIZE
    assert acme_ids(first) == set(range(1_000, 1_040))  # all 40 weekly meetings; not the partner-filed one
    assert any("still being indexed" in note and "another company" in note for note in first.summary.notes)
    assert day.fathom.count("account") >= 1  # the direct request
    assert first.stats.direct_requests == day.fathom.count("account")


def test_after_the_index_completes_the_refresh_finds_the_partner_filed_meeting(day: Day) -> None:
    """Once the index's listing ends, the account's next summary holds the meeting Fathom filed under the partner,
    says the index is complete, asks Fathom nothing directly, and its "since last run" lists that meeting."""
    first = day.run()
    assert first.status is JobStatus.COMPLETE and first.summary is not None
    assert first.summary.coverage is not None and first.summary.coverage.index_complete is False
    day.fathom.allow(None)
    day.sync_done()
    assert day.index.status(WORKSPACE).complete
    asked = day.fathom.count("account")
    refreshed = day.run()
    assert refreshed.status is JobStatus.COMPLETE, refreshed.error
    assert refreshed.summary is not None and refreshed.summary.coverage is not None
    assert refreshed.summary.coverage.index_complete is True
    assert PARTNER_FILED_ID in acme_ids(refreshed)
    assert refreshed.summary.changes is not None and refreshed.summary.changes.new_meetings == [PARTNER_FILED_ID]
    assert day.fathom.count("account") == asked  # no direct request once the index is complete
    assert not any("still being indexed" in note for note in refreshed.summary.notes)


def test_the_job_and_the_index_sharing_the_key_never_exceed_fathoms_rate_limit(day: Day) -> None:
    """A job and the whole workspace's listing run on one key: Fathom never answers 429, and no 60 s of the clock
    holds more than 60 requests."""
    day.fathom.allow(None)
    first = day.run()
    day.sync_done()
    assert first.status is JobStatus.COMPLETE, first.error
    assert day.index.status(WORKSPACE).meetings == WORKSPACE_SIZE + EXTRA
    assert day.fathom.api.throttled == 0
    assert day.fathom.busiest_minute() <= 60
    assert day.fathom.count("workspace") >= WORKSPACE_SIZE // 10  # the listing did run through it all


def test_a_job_whose_dates_the_index_already_covers_sends_no_direct_request(day: Day) -> None:
    """The index fills newest first: a summary of the last few days, all after the oldest date indexed, is
    answered from the index alone, with no request for the account."""
    day.start_sync()
    wait_until(lambda: day.index.status(WORKSPACE).covered_from is not None, "the newest window listed", 30)
    since = (datetime.now(UTC) - timedelta(days=5)).date()
    record = day.run(options=JobOptions(since=since.isoformat()))
    assert record.status is JobStatus.COMPLETE, record.error
    assert day.fathom.count("account") == 0
    assert acme_ids(record) == {1_000}  # the one weekly meeting of the last five days
    assert record.summary is not None and record.summary.coverage is not None
    assert record.summary.coverage.index_complete is False


def test_the_progress_estimate_reads_the_dates_reached_and_the_pace(day: Day) -> None:
    """Part-way through, the index's estimate of the workspace is about its real size and the time left is what
    Fathom's pace allows (ten meetings a request, 60 requests a minute)."""
    day.start_sync()
    wait_until(lambda: day.fathom.served >= 40, "40 requests of the listing", 30)
    status = day.index.status(WORKSPACE)
    estimate = status.estimate(day.index.now())
    assert estimate is not None, status
    assert 0.75 * WORKSPACE_SIZE <= estimate.total <= 1.25 * WORKSPACE_SIZE
    left_minutes = estimate.seconds_left / 60
    assert 2 <= left_minutes <= 8  # ~2,700 meetings at up to 600 a minute, and the search for the oldest
    text = indexing_progress(status.pass_meetings, estimate.total, estimate.seconds_left)
    assert text.startswith(f"indexing Fathom: {status.pass_meetings:,} of about ")


def test_the_progress_line_says_how_many_of_about_how_many_and_how_long() -> None:
    """The progress line reads as people say it, with separators and a rounded time; without an estimate, the count."""
    assert (
        indexing_progress(1_240, 3_000, 200) == "indexing Fathom: 1,240 of about 3,000 meetings, about 3 minutes left"
    )
    assert (
        indexing_progress(2_990, 3_000, 20) == "indexing Fathom: 2,990 of about 3,000 meetings, less than a minute left"
    )
    assert indexing_progress(40) == "indexing Fathom: 40 meetings so far"


def test_a_linked_accounts_first_summary_asks_fathom_for_each_of_its_domains(day: Day) -> None:
    """acmecorp.com linked with acme-europe.de: while the index holds only the newest weeks, the first summary asks
    Fathom's company filter once for each domain and holds the meetings filed under either."""
    day.account = Account.of(["acmecorp.com", "acme-europe.de"])
    first = day.run()
    assert first.status is JobStatus.COMPLETE, first.error
    assert acme_ids(first) == set(range(1_000, 1_040)) | set(EU_IDS)
    assert first.summary is not None and first.summary.coverage is not None
    assert first.summary.coverage.index_complete is False
    assert {domain for _, domain in day.fathom.asked} == {"acmecorp.com", "acme-europe.de"}
