"""RedisKV beyond the shared contract: the documented keys, the sorted-set index, bad values, an absent Redis."""

from __future__ import annotations

import time
from collections import Counter

import pytest
import redis

from engagement.errors import CorruptRecordError, StoreError
from engagement.jobs.service import InlineExecutor
from engagement.settings import redact_url
from engagement.storage import redis as redis_store
from engagement.storage.redis import RedisKV, open_redis_store
from tests.support.redis_server import RedisServer, free_port
from tests.support.waits import at_once, wait_until


def test_job_records_keep_their_documented_keys_and_tables_their_own(redis_url: str) -> None:
    """engagement:{domain}:{run_id} is that very Redis key, JSON text; other tables are prefixed by name."""
    kv = RedisKV(redis_url)
    kv.set("engagement:acmecorp.com:1", {"status": "processing"})
    kv.table("cache").set("insights:7:abc", {"x": 1})
    raw = redis.Redis.from_url(redis_url, decode_responses=True)
    assert raw.get("engagement:acmecorp.com:1") == '{"status":"processing"}'
    assert raw.get("cache:insights:7:abc") == '{"x":1}'
    assert raw.zrange("kv:jobs:keys", 0, -1) == ["engagement:acmecorp.com:1"]
    assert raw.zrange("kv:cache:keys", 0, -1) == ["insights:7:abc"]


def test_the_job_index_is_a_sorted_set_read_a_page_at_a_time(redis_url: str) -> None:
    """Index rows are paged newest first straight from the sorted set, without reading other rows."""
    kv = RedisKV(redis_url)
    kv.set_many({f"index:2026-11-{day:02d}T00:00:00.000000Z:a.com:{day}": {"day": day} for day in range(1, 29)})
    page = kv.items("index:", reverse=True, limit=5, offset=5)
    assert [v["day"] for _, v in page] == [23, 22, 21, 20, 19]
    older = kv.items("index:", stop="index:2026-11-04")
    assert [v["day"] for _, v in older] == [1, 2, 3]


def test_a_value_that_is_not_json_is_refused_and_skipped(redis_url: str) -> None:
    """A planted non-JSON value raises CorruptRecordError on get and is skipped by scans."""
    kv = RedisKV(redis_url)
    kv.set_many({"engagement:ok.com:1": {"ok": 1}, "engagement:evil.com:1": {"ok": 2}})
    redis.Redis.from_url(redis_url).set("engagement:evil.com:1", b"\x80\x04\x95 pickle")
    with pytest.raises(CorruptRecordError):
        kv.get("engagement:evil.com:1")
    assert [k for k, _ in kv.items("engagement:")] == ["engagement:ok.com:1"]
    assert [k for k, _ in kv.items("engagement:", where={"ok": 1})] == ["engagement:ok.com:1"]


def test_an_absent_redis_raises_a_store_error_that_names_it() -> None:
    """Nothing listening on the port: opening the store fails at once with a message naming Redis."""
    url = f"redis://127.0.0.1:{free_port()}/0"
    with pytest.raises(StoreError) as info:
        open_redis_store(url)
    assert f"Redis store at {url}" in str(info.value)
    assert "ENGAGEMENT_REDIS_URL" in str(info.value)


def test_a_hung_redis_fails_within_the_socket_bound(monkeypatch: pytest.MonkeyPatch) -> None:
    """A frozen Redis (SIGSTOP) makes a read fail with StoreError after the bounded wait, not hang."""
    monkeypatch.setattr(redis_store, "SOCKET_TIMEOUT_S", 0.3)
    with RedisServer() as server:
        kv = RedisKV(server.url)
        kv.set("k", 1)
        server.pause()
        try:
            began = time.monotonic()
            with pytest.raises(StoreError, match="did not answer"):
                kv.get("k")
            assert time.monotonic() - began < 30  # a bound, not a speed claim
        finally:
            server.resume()
        kv.close()


def test_a_password_never_appears_in_messages() -> None:
    """The store's name in messages hides the password of the URL."""
    assert redact_url("redis://user:s3cret@db.internal:6380/2") == "redis://user:***@db.internal:6380/2"
    assert "s3cret" not in RedisKV("redis://:s3cret@127.0.0.1:1/0").path


def test_a_job_whose_redis_goes_away_ends_in_error_naming_the_store(monkeypatch: pytest.MonkeyPatch) -> None:
    """Redis freezes mid-job: the job's next report fails, and once Redis is back the record says which store failed."""
    import threading
    from concurrent.futures import ThreadPoolExecutor

    from engagement.jobs.repository import JobRepository
    from engagement.jobs.service import JobContext, JobService
    from engagement.models import EngagementSummary, JobStatus

    monkeypatch.setattr(redis_store, "SOCKET_TIMEOUT_S", 0.3)
    running, reporting, failed = threading.Event(), threading.Event(), threading.Event()

    def body(ctx: JobContext) -> EngagementSummary:
        running.set()
        reporting.wait(10)
        try:
            ctx.report("analysed 1/2 meetings", 1, 2)
        finally:
            failed.set()
        return EngagementSummary()

    with RedisServer() as server, ThreadPoolExecutor(1) as pool:
        kv = RedisKV(server.url)
        service = JobService(JobRepository(kv), body, pool, heartbeat_s=30, stale_after_s=30)
        run_id = service.start("acmecorp.com")
        assert running.wait(10)  # the job is under way (its start is stored) before Redis freezes
        server.pause()
        reporting.set()
        assert failed.wait(30)
        server.resume()
        wait_until(lambda: service.get("acmecorp.com", run_id).status.terminal, "the job to end")
        record = service.get("acmecorp.com", run_id)
        service.close()
        kv.close()
    assert record.status is JobStatus.ERROR
    assert f"Redis store at {server.url} did not answer" in (record.error or "")


def test_get_many_reads_values_in_the_order_asked_none_where_absent_or_not_json(redis_url: str) -> None:
    """get_many answers key by key in order across chunks; a missing key or a planted non-JSON value reads as None."""
    kv = RedisKV(redis_url).table("cache")
    kv.set_many({f"k{n}": {"n": n} for n in range(1200)})
    redis.Redis.from_url(redis_url).set("cache:k7", b"\x80 pickle")
    got = kv.get_many(["k1199", "missing", "k7", *[f"k{n}" for n in range(1100)]])
    assert got[:3] == [{"n": 1199}, None, None]
    assert got[3:] == [None if n == 7 else {"n": n} for n in range(1100)]
    assert kv.get_many([]) == []


# ---------------------------------------------------------------- kept counts


def test_a_kept_count_is_read_from_redis_not_recounted(redis_url: str) -> None:
    """After the first count_by, the figure comes from the count hash: a value changed behind the store's
    back (not through RedisKV) is not seen, which shows no scan ran."""
    kv = RedisKV(redis_url)
    kv.set_many({f"index:{i}": {"status": "complete"} for i in range(5)})
    assert kv.count_by("status", "index:") == {"complete": 5}
    raw = redis.Redis.from_url(redis_url, decode_responses=True)
    assert raw.smembers("kv:jobs:counted") == {"status:index:"}
    raw.set("index:0", '{"status":"error"}')  # behind the store's back
    assert kv.count_by("status", "index:") == {"complete": 5}
    assert kv.count("index:", where={"status": "complete"}) == 5


def test_a_lost_count_is_counted_again(redis_url: str) -> None:
    """A count hash that is gone, or lost its marker, or was left by a registration that is gone, is rebuilt
    from the values on its next read."""
    kv = RedisKV(redis_url)
    kv.set_many({f"index:{i}": {"status": "error" if i % 2 else "complete"} for i in range(6)})
    assert kv.count_by("status", "index:") == {"complete": 3, "error": 3}
    raw = redis.Redis.from_url(redis_url, decode_responses=True)
    raw.delete("kv:jobs:counted:status:index:")
    kv.set("index:9", {"status": "error"})  # a write while the hash is gone
    assert kv.count_by("status", "index:") == {"complete": 3, "error": 4}
    raw.hdel("kv:jobs:counted:status:index:", "#")
    raw.hset("kv:jobs:counted:status:index:", "s:error", 99)
    assert kv.count_by("status", "index:") == {"complete": 3, "error": 4}
    raw.delete("kv:jobs:counted")  # the registry lost: writes stop keeping the hash, which is left behind
    kv.set("index:10", {"status": "complete"})
    assert kv.count_by("status", "index:") == {"complete": 4, "error": 4}


def test_counts_stay_right_when_threads_and_clients_race_to_end_the_same_jobs(redis_url: str) -> None:
    """Eight threads on two clients end the same 40 running jobs with compare-and-set writes: each job
    ends once, and the kept counts equal a recount."""
    first, second = RedisKV(redis_url), RedisKV(redis_url)  # two connection pools, as two processes have
    first.set_many({f"index:{i:02d}": {"status": "processing", "domain": f"d{i % 4}.com"} for i in range(40)})
    assert first.count_by("status", "index:") == {"processing": 40}
    won: list[str] = []

    def end(n: int) -> None:
        kv = first if n % 2 else second
        for i in range(40):
            key = f"index:{i:02d}"
            ended = {"status": "error" if n % 2 else "complete", "domain": f"d{i % 4}.com"}
            if kv.set_many({key: ended}, require={key: {"status": "processing"}}):
                won.append(key)

    at_once(8, end)
    assert sorted(won) == [f"index:{i:02d}" for i in range(40)]
    ends = Counter(v["status"] for _, v in first.items("index:"))
    assert second.count_by("status", "index:") == dict(ends)
    assert first.count("index:", where={"status": "processing"}) == 0
    assert first.count_by("domain", "index:") == {f"d{k}.com": 10 for k in range(4)}


def test_job_totals_and_domains_follow_saves_deletes_and_purges_on_redis(redis_url: str) -> None:
    """The repository's totals and domains on Redis equal a recount of its rows after jobs end, one is
    deleted and two purges run."""
    from datetime import UTC, datetime, timedelta

    from engagement.jobs.repository import JobRepository
    from engagement.models import JobRecord, JobStatus

    now = datetime(2026, 11, 1, 12, tzinfo=UTC)
    repo = JobRepository(RedisKV(redis_url), clock=lambda: now)
    records = [
        JobRecord(
            domain=f"c{i % 3}.com",
            run_id=f"run{i}",
            status=JobStatus.PROCESSING,
            created_at=now - timedelta(hours=20 - i),
            updated_at=now - timedelta(hours=20 - i),
        )
        for i in range(20)
    ]
    repo.create(*records)
    assert repo.totals() == {"processing": 20, "complete": 0, "error": 0}

    def recount() -> dict[str, int]:
        statuses = Counter(row.status.value for row in repo.rows(limit=None))
        return {s.value: statuses.get(s.value, 0) for s in JobStatus}

    for record in records[:15]:
        record.status = JobStatus.ERROR if int(record.run_id[3:]) % 4 == 0 else JobStatus.COMPLETE
        assert repo.save(record)
    assert repo.totals() == recount() == {"processing": 5, "complete": 11, "error": 4}
    assert repo.delete("c0.com", "run3")
    assert repo.totals() == recount()
    assert repo.purge(status="error") == 4
    assert repo.totals() == recount()
    assert repo.purge(older_than=timedelta(hours=10)) == 6  # run0..run9 less the 4 that failed; run3 is gone
    assert repo.totals() == recount() == {"processing": 5, "complete": 4, "error": 0}
    assert repo.domains() == sorted({row.domain for row in repo.rows(limit=None)})


def test_past_the_limit_of_kept_counts_counts_are_scanned(redis_url: str) -> None:
    """Counting by more field-and-prefix pairs than a table keeps still gives right figures (by a scan)."""
    kv = RedisKV(redis_url)
    kv.set_many({f"p{i}:{j}": {"status": "error" if j % 2 else "complete"} for i in range(12) for j in range(4)})
    for i in range(12):
        assert kv.count_by("status", f"p{i}:") == {"complete": 2, "error": 2}
    kv.set_many({f"p{i}:9": {"status": "error"} for i in range(12)})
    assert [kv.count(f"p{i}:", where={"status": "error"}) for i in range(12)] == [3] * 12
    raw = redis.Redis.from_url(redis_url, decode_responses=True)
    assert raw.scard("kv:jobs:counted") == redis_store.MAX_KEPT_COUNTS


def test_filtered_reads_walk_the_range_in_windows_and_answer_as_one_read_would(
    redis_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """With windows of 7 keys, where-filtered pages, offsets, reverse order and counts equal a whole-range read."""
    kv = RedisKV(redis_url)
    rows = {f"index:{i:04d}": {"n": i, "odd": i % 2 == 1, "kind": "a" if i % 3 else "b"} for i in range(100)}
    kv.set_many(rows)
    whole = {
        "odd": kv.keys("index:", where={"odd": True}),
        "page": kv.items("index:", where={"kind": "b"}, reverse=True, offset=4, limit=6),
        "stop": kv.keys("index:", stop="index:0050", where={"odd": False}),
        "count": kv.count("index:", where={"odd": True, "kind": "a"}),
    }
    monkeypatch.setattr(redis_store, "SCAN_BATCH", 7)
    windowed = {
        "odd": kv.keys("index:", where={"odd": True}),
        "page": kv.items("index:", where={"kind": "b"}, reverse=True, offset=4, limit=6),
        "stop": kv.keys("index:", stop="index:0050", where={"odd": False}),
        "count": kv.count("index:", where={"odd": True, "kind": "a"}),
    }
    assert windowed == whole
    assert whole["odd"] == [f"index:{i:04d}" for i in range(1, 100, 2)]
    assert [v["n"] for _, v in whole["page"]] == [i for i in range(99, -1, -1) if i % 3 == 0][4:10]
    assert whole["count"] == len([i for i in range(100) if i % 2 and i % 3])


def test_a_purge_of_many_keys_deletes_in_bounded_batches_and_keeps_the_counts(redis_url: str) -> None:
    """Deleting 5,000 of 6,000 keys takes one script call per DELETE_BATCH keys, each bounded; counts follow."""
    kv = RedisKV(redis_url)
    kv.set_many({f"index:{i:05d}": {"status": "complete" if i < 5000 else "processing"} for i in range(6000)})
    assert kv.count_by("status", "index:") == {"complete": 5000, "processing": 1000}
    calls: Counter[str] = Counter()
    real = kv._c.call

    def counted(what: str, fn):  # type: ignore[no-untyped-def]
        calls[what] += 1
        return real(what, fn)

    kv._c.call = counted  # type: ignore[method-assign]
    doomed = kv.keys("index:", where={"status": "complete"})
    assert len(doomed) == 5000 and calls["items"] == 6000 // redis_store.SCAN_BATCH + 1
    assert kv.delete_many(doomed) == 5000
    assert calls["delete"] == 5000 // redis_store.DELETE_BATCH
    assert kv.count("index:") == 1000 and kv.count_by("status", "index:") == {"processing": 1000}


def test_a_first_count_goes_a_window_a_call_and_writes_meanwhile_are_counted_once(
    redis_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """count_by's first count walks 10 keys a call; writes before and after its cursor meanwhile are each counted once."""
    monkeypatch.setattr(redis_store, "SCAN_BATCH", 10)
    kv = RedisKV(redis_url)
    kv.set_many({f"index:{i:03d}": {"status": "complete" if i % 2 else "error"} for i in range(100)})
    low, high = kv._bounds("index:", None)
    args = ["status", "index:", low, high, kv._prefix, redis_store.MAX_KEPT_COUNTS, 10]
    assert kv._c.kept(keys=[kv._zset, kv._kept], args=args) == ["more"]  # keys 000-009 counted, then stopped
    assert kv._c.kept(keys=[kv._zset, kv._kept], args=args) == ["more"]  # and 010-019
    kv.set("index:005", {"status": "processing"})  # behind the cursor: the write moves the count
    kv.set("index:050", {"status": "processing"})  # ahead of it: the count finds it as it is then
    kv.delete("index:003")  # behind (it was complete)
    kv.delete("index:097")  # ahead
    kv.set("index:0105", {"status": "complete"})  # a new key behind the cursor ('0105' < '019')
    kv.set("index:150", {"status": "error"})  # a new key ahead of it
    truth = Counter(v["status"] for _, v in kv.items("index:"))
    assert kv.count_by("status", "index:") == dict(truth)
    kv.set("index:000", {"status": "complete"})  # once whole, every write moves the counts
    assert kv.count_by("status", "index:") == dict(Counter(v["status"] for _, v in kv.items("index:")))


def test_counts_with_no_room_to_be_kept_are_scanned_a_window_a_call(
    redis_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Past MAX_KEPT_COUNTS pairs, count_by scans the range in windows and still answers exactly."""
    monkeypatch.setattr(redis_store, "SCAN_BATCH", 7)
    monkeypatch.setattr(redis_store, "MAX_KEPT_COUNTS", 0)
    kv = RedisKV(redis_url)
    kv.set_many({f"index:{i:03d}": {"kind": "abc"[i % 3]} for i in range(50)})
    assert kv.count_by("kind", "index:") == {"a": 17, "b": 17, "c": 16}
    assert kv.count("index:", where={"kind": "b"}) == 17


def test_a_job_silent_on_a_redis_store_is_ended_with_a_message_that_names_redis(redis_url: str) -> None:
    """Another machine's job, silent past the stale window on Redis: the message names the Redis store as a cause,
    never only "the app or the worker restarted or crashed"."""
    from datetime import timedelta

    from engagement.jobs.repository import JobRepository
    from engagement.jobs.service import JobService
    from engagement.models import EngagementSummary, JobRecord, JobStatus, utcnow

    kv = RedisKV(redis_url)
    start = utcnow() - timedelta(minutes=5)
    record = JobRecord(
        domain="acmecorp.com", run_id="silent-1", created_at=start, updated_at=start, owner="other-host:123:abcd1234"
    )
    JobRepository(kv).create(record)
    service = JobService(JobRepository(kv), lambda ctx: EngagementSummary(), InlineExecutor(), stale_after_s=120)
    after = service.get("acmecorp.com", "silent-1")
    service.close()
    kv.close()
    assert after.status is JobStatus.ERROR
    assert after.error == (
        "The job was interrupted: nothing was heard from it for 5 minutes. The worker running it stopped, or it "
        f"could not reach the Redis store at {redis_url} (a Redis outage): check that Redis is running and "
        "answering, then start the job again."
    )
