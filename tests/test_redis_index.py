"""The meeting index in Redis: the same answers as SQLite, one listing for every process, a lock that outlives no one."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap
import time
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
import redis
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from engagement.errors import StoreError
from engagement.fathom.client import FathomClient
from engagement.meetings.index import MeetingIndex, SqliteIndexStorage, TranscriptWait
from engagement.meetings.redis_storage import RedisIndexStorage
from engagement.models import Invitee, Meeting
from engagement.runtime import create_runtime
from engagement.settings import Settings
from engagement.storage import redis as redis_store
from engagement.storage.sqlite import SqliteKV
from tests.fakes.fathom_server import FAKE_API_KEY, FathomServer, make_account
from tests.support.redis_server import RedisServer
from tests.support.waits import bounded, wait_until

ROOT = Path(__file__).resolve().parents[1]
T0 = datetime(2025, 1, 1, tzinfo=UTC)


def fathom_env(server: FathomServer, tmp_path: Path, redis_url: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("FATHOM_", "OPENAI_", "ENGAGEMENT_"))}
    env.update(
        FATHOM_API_KEY=FAKE_API_KEY,
        FATHOM_BASE_URL=server.base_url,
        FATHOM_BACKOFF_S="0.01",
        ENGAGEMENT_REDIS_URL=redis_url,
        ENGAGEMENT_DB=str(tmp_path / "engagement.sqlite"),
        PYTHONPATH=str(ROOT),
    )
    return env


def listings(server: FathomServer) -> list[dict[str, list[str]]]:
    return [q for _, path, q in server.request_log if path.endswith("/meetings")]


def client_for(server: FathomServer, **extra: object) -> FathomClient:
    return FathomClient.from_settings(
        Settings(fathom_api_key=FAKE_API_KEY, fathom_base_url=server.base_url, fathom_backoff_s=0.01, **extra)  # type: ignore[arg-type]
    )


# ---------------------------------------------------------------- the same answers as SQLite

DOMAINS = ["acmecorp.com", "eu.acmecorp.com", "globex.io", "partner.co.uk", "ourco.com", "gmail.com"]
invitee = st.builds(
    lambda local, domain, external, room: Invitee(
        name=local, email=None if room else f"{local}@{domain}", is_external=external
    ),
    st.sampled_from(["kim", "lee", "pat", "Kim"]),
    st.sampled_from(DOMAINS),
    st.booleans(),
    st.sampled_from([False, False, False, True]),  # now and then a room: no e-mail
)
meeting = st.builds(
    lambda rid, micros, invitees: Meeting(
        recording_id=rid,
        title=f"m{rid}",
        url=f"https://fathom.video/calls/{rid}",
        share_url=f"https://fathom.video/share/{rid}",
        created_at=T0 + timedelta(microseconds=micros),
        invitees=tuple(invitees),
    ),
    st.integers(1, 25),
    st.integers(0, 400 * 86_400 * 1_000_000),
    st.lists(invitee, max_size=5),
)
# A sync is pages of meetings; a full one drops what it did not see. Several syncs upsert the same ids.
passes = st.lists(st.tuples(st.lists(st.lists(meeting, max_size=4), max_size=3), st.booleans()), min_size=1, max_size=4)


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(syncs=passes, now_days=st.integers(0, 420), window=st.tuples(st.integers(0, 400), st.integers(0, 400)))
def test_redis_answers_every_read_as_sqlite_does(
    redis_url: str,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    syncs: list[tuple[list[list[Meeting]], bool]],
    now_days: int,
    window: tuple[int, int],
) -> None:
    """After the same page writes, upserts and full passes, Redis's domain activity, meetings, internal domains and
    counts equal SQLite's, and no domain is left behind once its last meeting went (a full pass's drop two a call)."""
    from engagement.meetings import redis_storage

    monkeypatch.setattr(redis_storage, "FINISH_BATCH", 2)  # a full pass drops in several bounded calls
    workspace = uuid.uuid4().hex[:16]
    sqlite = MeetingIndex(SqliteIndexStorage(tmp_path / "i.sqlite"))
    on_redis = MeetingIndex(RedisIndexStorage(redis_url))
    try:
        for generation, (pages, full) in enumerate(syncs, start=1):
            for index in (sqlite, on_redis):
                lock = index.storage.sync_lock(workspace)
                assert lock.acquire(timeout=5)
                try:
                    for page in pages:
                        index.storage.save(workspace, {"generation": generation}, tuple(page), generation, lock=lock)
                    deleted = index.storage.finish(workspace, {}, generation if full else None, lock=lock)
                finally:
                    lock.release()
                if index is sqlite:
                    expected_deleted = deleted
                else:
                    assert deleted == expected_deleted
        now = T0 + timedelta(days=now_days)
        assert on_redis.domain_activity(workspace, now=now) == sqlite.domain_activity(workspace, now=now)
        since, before = (T0 + timedelta(days=d) for d in sorted(window))
        for domain in DOMAINS:
            assert on_redis.domain_activity(workspace, now=now, domain=domain) == sqlite.domain_activity(
                workspace, now=now, domain=domain
            )
            for bounds in ({}, {"since": since}, {"before": before}, {"since": since, "before": before}):
                assert [m.recording_id for m in on_redis.meetings_for(workspace, domain, **bounds)] == [
                    m.recording_id for m in sqlite.meetings_for(workspace, domain, **bounds)
                ]
        assert on_redis.internal_domains(workspace) == sqlite.internal_domains(workspace)
        assert on_redis.status(workspace).meetings == sqlite.status(workspace).meetings
        raw = redis.Redis.from_url(redis_url, decode_responses=True)
        sql = "SELECT DISTINCT domain FROM index_invitees WHERE workspace = ?"
        held = {row[0] for row in sqlite.storage._select(sql, (workspace,))}  # type: ignore[attr-defined]
        assert raw.smembers(f"meeting_index:{{{workspace}}}:domains") == held
        raw.close()
    finally:
        sqlite.close()
        on_redis.close()


def test_clearing_a_workspace_leaves_none_of_its_keys(redis_url: str) -> None:
    """clear() removes the workspace's meetings, per-domain sets and state from Redis, and says how many meetings."""
    index = MeetingIndex(RedisIndexStorage(redis_url))
    m = Meeting(
        recording_id=1,
        title="t",
        url="u",
        share_url="s",
        created_at=T0,
        invitees=(Invitee(email="kim@acmecorp.com", is_external=True), Invitee(email="me@ourco.com")),
    )
    index.storage.save("ws1", {"generation": 1}, (m,), 1)
    index.storage.save("ws2", {"generation": 1}, (m,), 1)
    index.remember_no_transcript("ws1", {1: "no transcript"})
    raw = redis.Redis.from_url(redis_url, decode_responses=True)
    assert index.clear("ws1") == 1
    assert not [k for k in raw.scan_iter("meeting_index:{ws1}:*")]
    assert index.meetings_for("ws2", "acmecorp.com")  # the other workspace stays
    assert index.clear() == 1
    assert not [k for k in raw.scan_iter("meeting_index:*")]
    raw.close()
    index.close()


# ---------------------------------------------------------------- one sync across processes


def test_two_processes_indexing_one_workspace_list_it_once(redis_url: str, tmp_path: Path) -> None:
    """Two `python -m engagement index` started together on one Redis: one lists the workspace, the other waits for
    it and then asks only for what is new; an app runtime in a third process sees the whole index."""
    with FathomServer(make_account(count=60), latency_s=0.4) as server:  # 6 pages: about 2.5 s of listing
        env = fathom_env(server, tmp_path, redis_url)
        procs = [
            subprocess.Popen(
                [sys.executable, "-m", "engagement", "index"], cwd=ROOT, env=env, stdout=subprocess.PIPE, text=True
            )
            for _ in range(2)
        ]
        outputs = [p.communicate(timeout=120)[0] for p in procs]
        queries = listings(server)
        settings_ = Settings.from_env(env)
        runtime = create_runtime(settings_, store=SqliteKV(tmp_path / "kv.sqlite"), enqueue=False)
        held = runtime.index_status().meetings
        runtime.close()
    assert [p.returncode for p in procs] == [0, 0], outputs
    kinds = sorted(out.split(" index:")[0] for out in outputs)
    assert kinds == ["full", "incremental"], outputs
    # a full pass's newest window and an incremental sync are the listings from a date on: one of each
    starts = [q for q in queries if "created_after" in q and "created_before" not in q and "cursor" not in q]
    assert len(starts) == 2  # the workspace listed once between the two, then what is new
    assert held == 60


KILLABLE = textwrap.dedent(
    """
    import sys
    from engagement.fathom.client import FathomClient
    from engagement.meetings.index import MeetingIndex
    from engagement.meetings.redis_storage import RedisIndexStorage
    from engagement.settings import Settings

    index = MeetingIndex(RedisIndexStorage(sys.argv[1], lock_ttl_s=float(sys.argv[2])))
    with FathomClient.from_settings(Settings.from_env()) as client:
        index.sync(client)
    """
)


def test_a_sync_killed_with_kill_9_holds_the_lock_no_longer_than_its_ttl(redis_url: str, tmp_path: Path) -> None:
    """A process killed mid-sync leaves a lock that expires within its TTL: the next sync waits for it (reporting
    the dead sync's progress), then resumes from the saved cursor instead of listing again."""
    ttl_s = 2.0
    with FathomServer(make_account(count=45), latency_s=0.6) as server:
        env = fathom_env(server, tmp_path, redis_url)
        holder = subprocess.Popen([sys.executable, "-c", KILLABLE, redis_url, str(ttl_s)], cwd=ROOT, env=env)
        index = MeetingIndex(RedisIndexStorage(redis_url))
        with client_for(server) as client:
            wait_until(
                lambda: index.status(client.workspace).pass_meetings >= 20 or holder.poll() is not None,
                "the holder to write two pages",
            )
            os.kill(holder.pid, signal.SIGKILL)
            holder.wait(10)
            raw = redis.Redis.from_url(redis_url)
            left_ms = raw.pttl(f"meeting_index:{{{client.workspace}}}:lock")
            raw.close()
            assert 0 < left_ms <= ttl_s * 1000  # held by no one alive, and gone within the TTL
            server.request_log.clear()
            progress: list[int] = []
            began = time.monotonic()
            result = bounded(lambda: index.sync(client, on_progress=progress.append, poll_s=0.2), 60)
            waited = time.monotonic() - began
            queries = listings(server)
            held = index.status(client.workspace).meetings
    index.close()
    assert progress and progress[0] >= 20  # while it waited it showed the dead sync's progress
    assert result.kind == "full" and "cursor" in queries[0]  # resumed from the saved cursor
    assert held == 45
    assert waited < ttl_s + 30  # a bound (the TTL), not a speed claim


def test_redis_going_away_mid_sync_names_it_and_the_next_sync_resumes(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Redis freezes after page 2: the sync fails with a StoreError naming Redis; once it is back the next sync
    lists from the cursor saved with page 2, not from the start."""
    monkeypatch.setattr(redis_store, "SOCKET_TIMEOUT_S", 0.3)
    with RedisServer() as server, FathomServer(make_account(count=45)) as fathom:
        index = MeetingIndex(RedisIndexStorage(server.url, lock_ttl_s=1.0))
        paused = False

        def freeze_after_two_pages(meetings: int) -> None:
            nonlocal paused
            if meetings >= 20 and not paused:
                paused = True
                server.pause()

        with client_for(fathom, fathom_max_retries=0) as client:
            try:
                with pytest.raises(StoreError) as info:
                    bounded(lambda: index.sync(client, on_progress=freeze_after_two_pages), 60)
            finally:
                server.resume()
            fathom.request_log.clear()
            result = bounded(lambda: index.sync(client), 60)
            queries = listings(fathom)
            held = index.status(client.workspace).meetings
        index.close()
    assert f"Redis store at {server.url} did not answer" in str(info.value)
    assert "cursor" in queries[0] and result.pages == 3 + 1  # and the look for older meetings (none)
    assert held == 45


def test_a_sync_whose_lock_was_taken_over_cannot_write(redis_url: str) -> None:
    """A holder whose lock expired and was taken by another sync gets a StoreError on its next write, and its
    release leaves the new holder's lock alone."""
    storage = RedisIndexStorage(redis_url, lock_ttl_s=30)
    first, second = storage.sync_lock("ws"), storage.sync_lock("ws")
    assert first.acquire(timeout=1)
    assert not second.acquire(timeout=0.2)
    raw = redis.Redis.from_url(redis_url, decode_responses=True)
    raw.delete("meeting_index:{ws}:lock")  # as if it had expired while its holder was frozen
    assert second.acquire(timeout=1)
    with pytest.raises(StoreError, match="taken over by another process"):
        storage.save("ws", {"pass": "full"}, lock=first)
    first.release()
    assert raw.get("meeting_index:{ws}:lock") is not None  # still the second holder's
    storage.save("ws", {"pass": "full"}, lock=second)
    second.release()
    assert raw.get("meeting_index:{ws}:lock") is None
    raw.close()
    storage.close()


def test_with_redis_every_runtime_of_a_process_shares_one_index_in_redis(redis_url: str, tmp_path: Path) -> None:
    """create_runtime with ENGAGEMENT_REDIS_URL puts the index in Redis, one object for the process; without it, the
    SQLite file as before."""
    with_redis = Settings(redis_url=redis_url, engagement_db=str(tmp_path / "e.sqlite"))
    a = create_runtime(with_redis, store=SqliteKV(tmp_path / "a.sqlite"), enqueue=False)
    b = create_runtime(with_redis, store=SqliteKV(tmp_path / "b.sqlite"), enqueue=False)
    plain = create_runtime(Settings(engagement_db=str(tmp_path / "e.sqlite")), store=SqliteKV(tmp_path / "c.sqlite"))
    try:
        assert isinstance(a.index.storage, RedisIndexStorage) and a.index is b.index
        assert isinstance(plain.index.storage, SqliteIndexStorage)
    finally:
        for runtime in (a, b, plain):
            runtime.close()


def test_a_job_while_another_process_indexes_answers_from_the_company_filter(redis_url: str, tmp_path: Path) -> None:
    """A job whose workspace another process is indexing for the first time (the lock held, renewed) waits half its
    time limit at most, then completes from Fathom's company filter saying the index is incomplete; it never
    lists the workspace behind the other's back, and its process's sync lists it once the other's lock is free."""
    from engagement.jobs.service import InlineExecutor
    from engagement.models import JobStatus
    from engagement.runtime import workspace_of

    with FathomServer(make_account(count=3)) as server:
        env = fathom_env(server, tmp_path, redis_url)
        settings_ = Settings.from_env({**env, "ENGAGEMENT_JOB_TIMEOUT_S": "2"})
        other = RedisIndexStorage(redis_url).sync_lock(workspace_of(settings_))
        assert other.acquire(timeout=1)  # the other process's sync, renewed all along
        runtime = create_runtime(
            settings_, store=SqliteKV(tmp_path / "kv.sqlite"), executor=InlineExecutor(), enqueue=False
        )
        try:
            run_id = bounded(lambda: runtime.jobs.start("acmecorp.com"), 60)
            record = runtime.jobs.get("acmecorp.com", run_id)
            requests = [q for q in listings(server) if "calendar_invitees_domains[]" not in q]
            task = runtime.index.running_sync(workspace_of(settings_))
            other.release()
            assert task is not None  # the job ended; its process's sync still waits for the lock
            result = bounded(lambda: task.wait(), 60)
        finally:
            other.release()
            runtime.close()
    assert record.status is JobStatus.COMPLETE, record.error
    assert record.summary is not None and record.summary.meetings_count == 3
    assert record.summary.coverage is not None and record.summary.coverage.index_complete is False
    assert requests == []  # it never listed the workspace behind the other sync's back
    assert (result.kind, result.listed) == ("full", 3)


@pytest.mark.parametrize("backend", ["sqlite", "redis"])
def test_a_pending_transcript_is_remembered_with_its_next_ask_and_forgotten_when_it_comes(
    backend: str, redis_url: str, tmp_path: Path
) -> None:
    """Both storages keep a pending transcript's next ask (skipped until then) and forget it on request."""
    storage = RedisIndexStorage(redis_url) if backend == "redis" else None
    index = MeetingIndex(storage) if storage is not None else MeetingIndex(str(tmp_path / "index.sqlite"))
    index.remember_pending("ws1", {1: TranscriptWait(2, T0 + timedelta(hours=1))})
    index.remember_no_transcript("ws1", {2: "no transcript"})
    assert index.without_transcript("ws1", [1, 2, 3], now=T0) == {1: "transcript pending", 2: "no transcript"}
    assert index.without_transcript("ws1", [1, 2, 3], now=T0 + timedelta(hours=2)) == {2: "no transcript"}
    final, waits = index.transcript_waits("ws1", [1, 2])
    assert (final, waits) == ({2: "no transcript"}, {1: TranscriptWait(2, T0 + timedelta(hours=1))})
    index.forget_no_transcript("ws1", [1])
    assert index.transcript_waits("ws1", [1, 2]) == ({2: "no transcript"}, {})
    index.clear()
    index.close()
