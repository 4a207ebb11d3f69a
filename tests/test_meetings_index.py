"""The workspace meeting index: an account's meetings are exact whatever company Fathom files them under.

The fake Fathom associates each meeting with one company, as the spec says; the index must find a
customer's meetings anyway, sync incrementally, resume after a kill, and re-index in full — with its
entries in SQLite and in Redis (``make_index`` / ``index_backend`` run each test on both).
"""

from __future__ import annotations

import re
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from engagement.errors import FathomUnavailableError
from engagement.fathom.client import FathomClient
from engagement.fathom.demo import FathomAPI, associated_company
from engagement.jobs.service import InlineExecutor
from engagement.meetings.index import MeetingIndex, estimate_progress
from engagement.models import JobRecord, JobStatus, Side
from engagement.runtime import create_runtime
from engagement.settings import Settings
from engagement.storage.sqlite import SqliteKV
from tests.fakes.fathom_server import ACCOUNT_START, FAKE_API_KEY, FathomServer, make_account, make_meeting

T0 = ACCOUNT_START


def at(days: int) -> datetime:
    return T0 + timedelta(days=days)


@dataclass(frozen=True)
class Case:
    name: str
    meetings: list[dict[str, Any]]
    expected_ids: set[int]
    people: dict[str, int] = field(default_factory=dict)  # customer e-mail -> meetings counted for the person


CASES = [
    Case(
        "target person in a meeting Fathom files under a partner",
        [
            make_meeting(
                1,
                at(1),
                guests=[
                    ("Pat Partner", "pat@bridgepoint.com"),
                    ("Pia Partner", "pia@bridgepoint.com"),
                    ("Kim Target", "kim@acmecorp.com"),
                ],
            ),
            make_meeting(2, at(2), guests=[("Kim Target", "kim@acmecorp.com")]),
        ],
        {1, 2},
        {"kim@acmecorp.com": 2},
    ),
    Case(
        "several target people, filed under another customer with more invitees",
        [
            make_meeting(
                3,
                at(3),
                guests=[
                    ("A", "a@globex.io"),
                    ("B", "b@globex.io"),
                    ("C", "c@globex.io"),
                    ("Kim Target", "kim@acmecorp.com"),
                    ("Lee Target", "LEE@AcmeCorp.com"),
                ],
            ),
        ],
        {3},
        {"kim@acmecorp.com": 1, "lee@acmecorp.com": 1},
    ),
    Case(
        "look-alike domains never count",
        [
            make_meeting(4, at(4), guests=[("Wile", "wile@acmecorp.co")]),
            make_meeting(5, at(5), guests=[("Eve", "eve@acmecorp.com.evil.io")]),
            make_meeting(6, at(6), guests=[("Kim Target", "kim@acmecorp.com"), ("Wile", "wile@acmecorp.co")]),
        ],
        {6},
        {"kim@acmecorp.com": 1},
    ),
    Case(
        "a subdomain e-mail counts (Fathom files it under eu.acmecorp.com)",
        [make_meeting(7, at(7), guests=[("Eu Person", "eu.person@eu.acmecorp.com")])],
        {7},
        {"eu.person@eu.acmecorp.com": 1},
    ),
    Case(
        "personal mailboxes are not the customer and are not a company",
        [
            make_meeting(8, at(8), guests=[("Kim at home", "kim.target@gmail.com")]),
            make_meeting(
                9,
                at(9),
                guests=[("G1", "g1@gmail.com"), ("G2", "g2@gmail.com"), ("Kim Target", "kim@acmecorp.com")],
            ),
        ],
        {9},
        {"kim@acmecorp.com": 1},
    ),
    Case(
        "internal meetings and rooms never count",
        [
            make_meeting(10, at(10), guests=[]),
            make_meeting(11, at(11), guests=[("Board room", None)]),
        ],
        set(),
        {},
    ),
]


def settings_for(server: FathomServer, tmp_path: Path, **env: str) -> Settings:
    return Settings.from_env(
        {
            "FATHOM_API_KEY": FAKE_API_KEY,
            "FATHOM_BASE_URL": server.base_url,
            "ENGAGEMENT_DB": str(tmp_path / "index.sqlite"),
            "FATHOM_BACKOFF_S": "0.01",
            **env,
        }
    )


def run_job(tmp_path: Path, server: FathomServer, env: dict[str, str], domain: str = "acmecorp.com") -> JobRecord:
    settings = settings_for(server, tmp_path, **env)
    runtime = create_runtime(settings, store=SqliteKV(settings.engagement_db), executor=InlineExecutor(), enqueue=False)
    try:
        return runtime.jobs.get(domain, runtime.jobs.start(domain))
    finally:
        runtime.close()


@pytest.mark.parametrize("case", CASES, ids=lambda c: c.name)
def test_the_account_is_every_meeting_with_an_invitee_at_the_domain(
    case: Case, tmp_path: Path, index_backend: dict[str, str]
) -> None:
    """Meetings and per-person counts are exact against the one-company fake, whatever company it files them under."""
    with FathomServer(case.meetings) as server:
        record = run_job(tmp_path, server, index_backend)
    assert record.status is JobStatus.COMPLETE, record.error
    assert record.summary is not None
    assert {m.recording_id for m in record.summary.meetings} == case.expected_ids
    assert record.summary.meetings_count == len(case.expected_ids)
    customers = {p.email.lower(): p.count for p in record.summary.people if p.side is Side.CUSTOMER and p.email}
    assert customers == case.people


def test_fathoms_own_filter_misses_the_partner_filed_meeting(tmp_path: Path) -> None:
    """The fake follows the spec: its company filter for acmecorp.com does not return meeting 1 (filed under the
    partner), which is why the app does not rely on it."""
    meetings = CASES[0].meetings
    assert associated_company(meetings[0]) == "bridgepoint.com"
    with FathomServer(meetings) as server:
        with FathomClient.from_settings(settings_for(server, tmp_path)) as client:
            assert [m.recording_id for m in client.list_meetings("acmecorp.com")] == [2]


# ---------------------------------------------------------------- sync


def client_of(server: FathomServer, tmp_path: Path) -> FathomClient:
    return FathomClient.from_settings(settings_for(server, tmp_path))


def meeting_queries(server: FathomServer) -> list[dict[str, list[str]]]:
    return [q for _, path, q in server.request_log if path.endswith("/meetings")]


def test_first_sync_lists_the_workspace_then_incremental_syncs_cost_one_request(
    tmp_path: Path, make_index: Callable[[], MeetingIndex]
) -> None:
    """The first sync lists every external meeting page by page; the next asks only for what is new (1 request)."""
    index = make_index()
    with FathomServer(make_account(count=23) + [make_meeting(50, at(1), guests=[])]) as server:
        with client_of(server, tmp_path) as client:
            first = index.sync(client)
            # 3 pages and the look for older meetings (none); the internal meeting is not listed
            assert (first.kind, first.pages, first.listed) == ("full", 4, 23)
            assert all(q["calendar_invitees_domains_type"] == ["one_or_more_external"] for q in meeting_queries(server))
            server.request_log.clear()
            again = index.sync(client)
            assert (again.kind, again.pages) == ("incremental", 1)
            (query,) = meeting_queries(server)
            newest = max(m.created_at for m in index.meetings_for(client.workspace, "acmecorp.com"))
            assert query["created_after"] == [(newest - timedelta(hours=1)).strftime("%Y-%m-%dT%H:%M:%SZ")]
            server.api.add(make_meeting(99, newest + timedelta(days=1), guests=[("New", "new@acmecorp.com")]))
            index.sync(client)
            ids = [m.recording_id for m in index.meetings_for(client.workspace, "acmecorp.com")]
            status = index.status(client.workspace)
    assert ids[0] == 99 and len(ids) == 24
    assert status.meetings == 24 and status.synced_at and status.full_synced_at and status.in_progress is None


def test_a_sync_killed_mid_listing_resumes_from_its_last_page(
    tmp_path: Path, make_index: Callable[[], MeetingIndex]
) -> None:
    """A process that dies after page 2 of 5 leaves its cursor behind; a new process lists pages 3-5 only."""
    with FathomServer(make_account(count=45)) as server:
        with client_of(server, tmp_path) as client:

            class Killed(BaseException):
                pass

            def die_after_two_pages(meetings: int) -> None:
                if meetings >= 20:
                    raise Killed

            with pytest.raises(Killed):
                make_index().sync(client, on_progress=die_after_two_pages)
            assert len(meeting_queries(server)) == 2
            reopened = make_index()  # a new process
            assert reopened.status(client.workspace).in_progress == "full"
            server.request_log.clear()
            result = reopened.sync(client)
            queries = meeting_queries(server)
            meetings = reopened.meetings_for(client.workspace, "acmecorp.com")
    assert result.pages == 3 + 1 and len(queries) == 3 + 1  # and the look for older meetings (none)
    assert "cursor" in queries[0]  # resumed, not started over
    assert len(meetings) == len({m.recording_id for m in meetings}) == 45


def test_a_sync_that_fails_resumes_where_it_stopped(tmp_path: Path, make_index: Callable[[], MeetingIndex]) -> None:
    """A listing that fails on page 3 raises; the next sync starts from page 3's cursor."""
    index = make_index()
    with FathomServer(make_account(count=45)) as server:
        with FathomClient.from_settings(settings_for(server, tmp_path, FATHOM_MAX_RETRIES="0")) as client:
            pages = 0

            def fail_third(meetings: int) -> None:
                nonlocal pages
                pages += 1
                if pages == 2:
                    server.fail_next(503)

            with pytest.raises(FathomUnavailableError):
                index.sync(client, on_progress=fail_third)
            server.request_log.clear()
            index.sync(client)
            assert len(meeting_queries(server)) == 3 + 1 and "cursor" in meeting_queries(server)[0]
            assert len(index.meetings_for(client.workspace, "acmecorp.com")) == 45


def test_full_reindex_picks_up_meetings_shared_later_and_drops_deleted_ones(
    tmp_path: Path, make_index: Callable[[], MeetingIndex]
) -> None:
    """A meeting that appears with an old date (shared with the key later) and one deleted in Fathom are
    only seen by a full re-index; incremental syncs cannot know."""
    index = make_index()
    with FathomServer(make_account(count=12)) as server:
        with client_of(server, tmp_path) as client:
            index.sync(client)
            server.api.add(make_meeting(777, at(3), guests=[("Shared", "shared.later@acmecorp.com")]))
            server.api.remove(1005)
            index.sync(client)
            after_incremental = {m.recording_id for m in index.meetings_for(client.workspace, "acmecorp.com")}
            result = index.sync(client, full=True)
            after_full = {m.recording_id for m in index.meetings_for(client.workspace, "acmecorp.com")}
    assert 777 not in after_incremental and 1005 in after_incremental
    assert 777 in after_full and 1005 not in after_full
    assert (result.kind, result.deleted) == ("full", 1)


def test_a_job_reports_indexing_progress_and_the_index_freshness(tmp_path: Path, index_backend: dict[str, str]) -> None:
    """The first job's stage shows "indexing Fathom: N meetings"; the summary's notes say what the key sees and
    when the index was brought up to date."""
    stages: list[str] = []
    with FathomServer(make_account(count=23)) as server:
        settings = settings_for(server, tmp_path, **index_backend)
        runtime = create_runtime(
            settings, store=SqliteKV(settings.engagement_db), executor=InlineExecutor(), enqueue=False
        )
        original = runtime.repo.save
        server.page_gate = threading.Event()  # the listing's later pages wait until the first page's count was shown

        def spy(record: JobRecord) -> bool:
            stages.append(record.stage)
            if record.stage == "indexing Fathom: 10 meetings":
                server.page_gate.set()  # type: ignore[union-attr]
            return original(record)

        runtime.repo.save = spy  # type: ignore[method-assign]
        record = runtime.jobs.get("acmecorp.com", runtime.jobs.start("acmecorp.com"))
    # progress shows as the pages come: the first page's ten, shown while the next pages wait
    assert "indexing Fathom: 10 meetings" in stages
    assert record.summary is not None
    notes = " ".join(record.summary.notes)
    assert "Counts cover the meetings this Fathom key can see" in notes
    assert "index of the Fathom workspace (23 external meetings)" in notes
    assert record.stats.index_meetings == 23 and record.stats.index_synced_at


def test_domain_activity_is_one_aggregate_over_every_domain(
    tmp_path: Path, make_index: Callable[[], MeetingIndex]
) -> None:
    """Per external domain: meetings, distinct people, first/last meeting, last 90 days vs the 90 before."""
    now = datetime(2025, 7, 1, tzinfo=UTC)
    meetings = [
        make_meeting(1, now - timedelta(days=10), guests=[("K", "kim@acmecorp.com"), ("P", "pat@partner.com")]),
        make_meeting(2, now - timedelta(days=100), guests=[("K", "kim@acmecorp.com"), ("L", "lee@acmecorp.com")]),
        make_meeting(3, now - timedelta(days=200), guests=[("L", "lee@acmecorp.com")]),
    ]
    index = make_index()
    with FathomServer(meetings) as server, client_of(server, tmp_path) as client:
        index.sync(client)
        rows = {r.domain: r for r in index.domain_activity(client.workspace, now=now)}
        (one,) = index.domain_activity(client.workspace, now=now, domain="partner.com")
    acme = rows["acmecorp.com"]
    assert (acme.meetings, acme.people, acme.last_90_days, acme.previous_90_days) == (3, 2, 1, 1)
    assert acme.first_meeting < acme.last_meeting
    assert (one.meetings, one.people, one.last_90_days) == (1, 1, 1)
    assert "ourco.com" not in rows  # our own people are not external


def test_two_workspaces_never_mix(tmp_path: Path, make_index: Callable[[], MeetingIndex]) -> None:
    """Two keys on two servers keep separate entries: one key's meetings never count for the other."""
    index = make_index()
    with FathomServer(make_account(count=3)) as a, FathomServer(make_account(count=5, first_id=2000)) as b:
        with client_of(a, tmp_path) as ca, client_of(b, tmp_path) as cb:
            index.sync(ca)
            index.sync(cb)
            assert len(index.meetings_for(ca.workspace, "acmecorp.com")) == 3
            assert len(index.meetings_for(cb.workspace, "acmecorp.com")) == 5


def test_the_demo_api_files_each_meeting_under_one_company() -> None:
    """associated_company: most external business invitees wins, ties go to the first listed, gmail is no company."""
    m = make_meeting(1, T0, guests=[("A", "a@one.com"), ("B", "b@two.com"), ("C", "c@two.com")])
    assert associated_company(m) == "two.com"
    tie = make_meeting(2, T0, guests=[("A", "a@one.com"), ("B", "b@two.com")])
    assert associated_company(tie) == "one.com"
    personal = make_meeting(3, T0, guests=[("G", "g@gmail.com"), ("H", "h@gmail.com"), ("A", "a@one.com")])
    assert associated_company(personal) == "one.com"
    assert associated_company(make_meeting(4, T0, guests=[])) is None
    api = FathomAPI([m, tie, personal])
    assert api.meetings  # the API accepts them


def test_a_job_waiting_for_another_jobs_indexing_keeps_showing_its_progress(
    tmp_path: Path, index_backend: dict[str, str]
) -> None:
    """Two jobs start on a workspace not yet indexed: the one that waits for the other's sync reports
    "indexing Fathom: N meetings" meanwhile (its progress display and heartbeat go on), then completes."""
    from concurrent.futures import ThreadPoolExecutor

    workspace = make_account("acmecorp.com", count=21) + make_account("globex.io", count=3, first_id=3000)
    stages: dict[str, list[str]] = {"acmecorp.com": [], "globex.io": []}
    with FathomServer(workspace, latency_s=0.5, rate_limit=None) as server:  # 3 index pages: 1.5 s
        settings = settings_for(server, tmp_path, ENGAGEMENT_WORKERS="2", **index_backend)
        pool = ThreadPoolExecutor(max_workers=2)
        runtime = create_runtime(settings, store=SqliteKV(settings.engagement_db), executor=pool, enqueue=False)
        original = runtime.repo.save

        def spy(record: JobRecord) -> bool:
            stages[record.domain].append(record.stage)
            return original(record)

        runtime.repo.save = spy  # type: ignore[method-assign]
        runs = [(d, runtime.jobs.start(d)) for d in ("acmecorp.com", "globex.io")]
        pool.shutdown(wait=True)
        records = [runtime.jobs.get(d, r) for d, r in runs]
        listings = [q for _, path, q in server.request_log if path.endswith("/meetings") and "cursor" not in q]
    assert [r.status for r in records] == [JobStatus.COMPLETE, JobStatus.COMPLETE]
    for domain in stages:
        assert any(s.startswith("indexing Fathom: ") for s in stages[domain]), (domain, stages[domain])
    newest = [q for q in listings if "created_before" not in q and "calendar_invitees_domains[]" not in q]
    assert len(newest) == 1  # one first listing of the workspace (its newest window), not one per job


def test_the_runtime_names_the_workspace_as_the_client_does(tmp_path: Path) -> None:
    """workspace_of(settings) equals FathomClient.workspace, for a real key and for demo mode."""
    from engagement.runtime import fathom_client, workspace_of

    for settings in (Settings(fathom_api_key=" k-1 ", fathom_base_url="http://127.0.0.1:9/external/v1/"), Settings()):
        with fathom_client(settings) as client:
            assert workspace_of(settings) == client.workspace


def test_the_index_command_reindexes_the_workspace(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str], index_backend: dict[str, str]
) -> None:
    """`python -m engagement index --full` lists the workspace again and says what the index holds."""
    from engagement.__main__ import main

    for name, value in index_backend.items():
        monkeypatch.setenv(name, value)
    with FathomServer(make_account(count=12)) as server:
        monkeypatch.setenv("FATHOM_API_KEY", FAKE_API_KEY)
        monkeypatch.setenv("FATHOM_BASE_URL", server.base_url)
        assert main(["index"]) == 0
        server.api.remove(1003)
        assert main(["index", "--full"]) == 0
    out = capsys.readouterr().out.splitlines()
    assert re.match(r"full index: 12 meetings listed in \d+ pages, 0 removed", out[0]), out
    assert re.match(
        r"full index: 11 meetings listed in \d+ pages, 1 removed; the index holds 11 external meetings", out[1]
    ), out


def test_a_first_listing_fills_newest_first_window_by_window_and_says_since_when_it_holds_everything(
    tmp_path: Path, make_index: Callable[[], MeetingIndex]
) -> None:
    """A first listing of 120 daily meetings begins with the last seven days (no end, for meetings recorded
    meanwhile), then windows twice as long reaching further back; after each, the status says every meeting since
    its start is held; the last has no start, and the index is complete with all 120."""
    index = make_index()
    begun = at(120)
    index.now = lambda: begun
    meetings = [
        make_meeting(500 + n, at(n) + timedelta(hours=3), guests=[("Ana", "ana@acmecorp.com")]) for n in range(120)
    ]
    covered: list[str | None] = []
    with FathomServer(meetings, rate_limit=None) as server:
        with client_of(server, tmp_path) as client:

            def look(_: int) -> None:
                covered.append(index.status(client.workspace).covered_from)

            result = index.sync(client, on_progress=look)
            windows = [q for q in meeting_queries(server) if "cursor" not in q and "include_summary" in q]
            status = index.status(client.workspace)
    z = "%Y-%m-%dT%H:%M:%SZ"
    first, *rest = windows
    assert first["created_after"] == [(begun - timedelta(days=7)).strftime(z)] and "created_before" not in first
    assert rest[0]["created_before"] == [(begun - timedelta(days=7) + timedelta(seconds=1)).strftime(z)]  # the rest?
    bounded = [q for q in rest if "created_after" in q]
    assert bounded[0]["created_after"] == [(begun - timedelta(days=21)).strftime(z)]
    assert bounded[0]["created_before"] == rest[0]["created_before"]
    starts = [q["created_after"][0] for q in bounded]
    assert starts == sorted(starts, reverse=True)
    assert "created_after" not in windows[-1]  # the last window has no start
    steps = [c for n, c in enumerate(covered) if c is not None and (n == 0 or c != covered[n - 1])]
    assert steps == sorted(steps, reverse=True) and len(steps) >= 3  # further back after each window
    assert covered[0] is None  # nothing is known to be complete until the newest window is listed
    assert (result.kind, result.listed, status.meetings, status.complete, status.covered_from) == (
        "full",
        120,
        120,
        True,
        None,
    )


def test_the_progress_estimate_carries_the_pace_over_the_dates_left() -> None:
    """Read 1,000 meetings over the newest 100 days in 100 s, with 200 days left to the oldest: about 3,000 in all,
    and the 2,000 left at no more than Fathom's ten meetings a second."""
    started = datetime(2026, 12, 1, tzinfo=UTC)
    estimate = estimate_progress(
        read=1_000,
        started=started,
        reached=started - timedelta(days=100),
        oldest=started - timedelta(days=300),
        now=started + timedelta(seconds=100),
    )
    assert estimate is not None and estimate.total == 3_000
    assert estimate.seconds_left == 200  # 2,000 at the 10 a second read so far (Fathom allows no faster)
    slow = estimate_progress(
        read=1_000,
        started=started,
        reached=started - timedelta(days=100),
        oldest=started,
        now=started + timedelta(seconds=400),
    )
    assert slow is not None and (slow.total, slow.seconds_left) == (1_000, 0)
    assert (
        estimate_progress(read=5, started=started, reached=started - timedelta(hours=2), oldest=started, now=started)
        is None
    )


def _forget_language_in_storage(index: MeetingIndex, workspace: str, recording_id: int) -> None:
    """Rewrite a stored meeting as a version before ``transcript_language`` was kept wrote it: no such key."""
    storage: Any = index.storage
    if hasattr(storage, "_select"):  # SQLite
        import sqlite3

        with sqlite3.connect(storage.path) as db:
            db.execute(
                "UPDATE index_meetings SET meeting = json_remove(meeting, '$.transcript_language') "
                "WHERE workspace = ? AND recording_id = ?",
                (workspace, recording_id),
            )
        return
    import json

    raw = storage._c.redis
    key = storage.prefix(workspace) + "meetings"
    old = json.loads(raw.hget(key, str(recording_id)))
    del old["transcript_language"]
    raw.hset(key, str(recording_id), json.dumps(old))


def test_the_index_keeps_each_meetings_transcript_language(
    tmp_path: Path, make_index: Callable[[], MeetingIndex]
) -> None:
    """Fathom's transcript_language rides on the index entry ("de" stays "de"), and a row stored before the field
    was kept still loads, its language unknown (None), never taken for English."""
    index = make_index()
    meetings = make_account(count=3)
    meetings[1]["transcript_language"] = "de"
    with FathomServer(meetings) as server, client_of(server, tmp_path) as client:
        index.sync(client)
        by_id = {m.recording_id: m.transcript_language for m in index.meetings_for(client.workspace, "acmecorp.com")}
        assert by_id == {1000: "en", 1001: "de", 1002: "en"}
        _forget_language_in_storage(index, client.workspace, 1002)
        reopened = make_index()
        by_id = {m.recording_id: m.transcript_language for m in reopened.meetings_for(client.workspace, "acmecorp.com")}
        assert by_id == {1000: "en", 1001: "de", 1002: None}
