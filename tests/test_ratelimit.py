"""Fathom's rate limit: one budget per API key for the process, paced from RateLimit-* headers, waited out in jobs."""

from __future__ import annotations

import re
import threading
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import httpx
import pytest

from engagement.deadline import Deadline
from engagement.errors import FathomUnavailableError, IndexClosedError, JobTimeoutError
from engagement.fathom.client import FathomClient
from engagement.fathom.ratelimit import (
    FOREGROUND_GRACE,
    InProcessRateLimiter,
    RateLimiter,
    key_id,
    limiter_for,
    reset_seconds,
    use_limiter,
)
from engagement.fathom.workspace import workspace_of
from engagement.jobs.service import InlineExecutor
from engagement.meetings.index import MeetingIndex
from engagement.models import JobStatus
from engagement.runtime import create_runtime, fathom_client
from engagement.settings import Settings
from engagement.storage.sqlite import SqliteKV
from tests.fakes.fathom_server import FAKE_API_KEY, FathomServer, make_account
from tests.support.fathom_fixtures import settings_for
from tests.support.stages import stages_of
from tests.support.waits import bounded, wait_until


class FakeClock:
    """Virtual time: ``now()`` moves only when ``sleep()`` is called."""

    def __init__(self) -> None:
        self.t = 1000.0
        self.slept: list[float] = []
        self._lock = threading.Lock()

    def now(self) -> float:
        with self._lock:
            return self.t

    def sleep(self, seconds: float) -> None:
        with self._lock:
            self.t += seconds
            self.slept.append(seconds)


# ---------------------------------------------------------------- the limiter alone


def test_a_window_holds_at_most_the_limit_then_says_how_long_to_wait() -> None:
    """With 3 a second, the 4th acquire waits until the first send leaves the window (plus a small margin)."""
    clock = FakeClock()
    limiter = InProcessRateLimiter(3, 1.0, clock=clock.now)
    assert [limiter.acquire("k") for _ in range(3)] == [0.0, 0.0, 0.0]
    wait = limiter.acquire("k")
    assert 1.0 <= wait <= 1.05
    clock.sleep(wait)
    assert limiter.acquire("k") == 0.0
    assert limiter.acquire("other key") == 0.0  # budgets are per key


def test_a_429_with_ratelimit_reset_closes_the_window_for_that_long() -> None:
    """RateLimit-Reset: 15 on a 429 (no Retry-After) makes the next acquire wait 15 s."""
    clock = FakeClock()
    limiter = InProcessRateLimiter(clock=clock.now)
    limiter.observe("k", 429, {"RateLimit-Limit": "60", "RateLimit-Remaining": "0", "RateLimit-Reset": "15"})
    assert limiter.acquire("k") == 15.0
    clock.sleep(15)
    assert limiter.acquire("k") == 0.0


def test_remaining_zero_paces_before_a_429() -> None:
    """A 200 that says RateLimit-Remaining: 0 closes the window until its reset, so no request earns a 429."""
    clock = FakeClock()
    limiter = InProcessRateLimiter(clock=clock.now)
    limiter.observe("k", 200, {"RateLimit-Limit": "60", "RateLimit-Remaining": "0", "RateLimit-Reset": "7"})
    assert limiter.acquire("k") == 7.0


def test_the_limit_is_learned_from_ratelimit_limit() -> None:
    """RateLimit-Limit: 2 shrinks the budget from the default 60 to 2 a window."""
    limiter = InProcessRateLimiter(clock=FakeClock().now)
    limiter.observe("k", 200, {"RateLimit-Limit": "2", "RateLimit-Remaining": "0", "RateLimit-Reset": "0"})
    assert [limiter.acquire("k") > 0 for _ in range(3)] == [False, False, True]


def test_the_window_is_learned_from_the_first_answer_of_a_fresh_window() -> None:
    """Remaining = limit - 1 means the window just opened, so its Reset is the window's length (1 s here)."""
    clock = FakeClock()
    limiter = InProcessRateLimiter(clock=clock.now)
    limiter.observe("k", 200, {"RateLimit-Limit": "2", "RateLimit-Remaining": "1", "RateLimit-Reset": "1"})
    assert [limiter.acquire("k") > 0 for _ in range(3)] == [False, False, True]
    clock.sleep(1.05)
    assert limiter.acquire("k") == 0.0


def test_retry_after_wins_over_ratelimit_reset_and_junk_is_ignored() -> None:
    """Retry-After when sent, else RateLimit-Reset; values that are not numbers are None."""
    assert reset_seconds({"Retry-After": "3", "RateLimit-Reset": "15"}) == 3
    assert reset_seconds({"RateLimit-Reset": "15"}) == 15
    assert reset_seconds({"RateLimit-Reset": "soon"}) is None and reset_seconds({}) is None


def test_one_limiter_per_process_is_shared_by_every_client_of_a_key() -> None:
    """Clients built from settings share the process's limiter; use_limiter() swaps it (a Redis one, later)."""
    assert limiter_for("fathom") is limiter_for("fathom")
    mine = InProcessRateLimiter(5, 1.0)
    use_limiter(mine)
    settings = Settings(fathom_api_key="k", fathom_base_url="http://127.0.0.1:9/external/v1")
    with FathomClient.from_settings(settings) as a, FathomClient.from_settings(settings) as b:
        assert a._limiter is b._limiter is mine


# ---------------------------------------------------------------- jobs


def test_a_429_with_only_ratelimit_reset_15_is_waited_out_and_the_job_completes(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The key's window is spent (by someone else) for 15 s: the fake answers 429 with RateLimit-Reset: 15 and no
    Retry-After until then; the job waits 15 s (virtual time), shows it in its stage, and completes."""
    clock = FakeClock()
    use_limiter(InProcessRateLimiter(clock=clock.now))
    monkeypatch.setattr(FathomClient, "_pause", lambda self, seconds: clock.sleep(seconds))
    with FathomServer(make_account(count=3), rate_limit=(60, 60.0), clock=clock.now) as server:
        server.api.close_window(15)
        settings = settings_for(server, tmp_path)
        runtime = create_runtime(settings, store=SqliteKV(settings.engagement_db), executor=InlineExecutor())
        stages = stages_of(runtime.repo)["acmecorp.com"]
        record = runtime.jobs.get("acmecorp.com", runtime.jobs.start("acmecorp.com"))
        statuses = [status for _, status, _ in server.response_log]
    assert record.status is JobStatus.COMPLETE, record.error
    assert record.summary is not None and record.summary.meetings_count == 3
    assert statuses[0] == 429 and statuses.count(429) == 1 and set(statuses[1:]) == {200}
    assert sum(clock.slept) >= 15
    # the index's sync waits in its own thread; the job shows the wait as it finds it (in virtual time it may see
    # only the last second of it)
    assert any(re.fullmatch(r"waiting for Fathom's rate limit \((1[0-5]|[1-9]) s\)", stage) for stage in stages), stages


def test_a_429_response_carries_ratelimit_headers_and_no_retry_after(tmp_path: Path) -> None:
    """The fake throttles the way Fathom documents: RateLimit-Limit/Remaining/Reset, never Retry-After."""
    with FathomServer(make_account(count=3), rate_limit=(2, 60.0)) as server:
        with httpx.Client(headers={"X-Api-Key": FAKE_API_KEY}) as http:
            answers = [http.get(f"{server.base_url}/meetings") for _ in range(3)]
    assert [a.status_code for a in answers] == [200, 200, 429]
    assert answers[1].headers["RateLimit-Remaining"] == "0"
    assert answers[2].headers["RateLimit-Limit"] == "2" and 1 <= int(answers[2].headers["RateLimit-Reset"]) <= 60
    assert "Retry-After" not in answers[2].headers


def test_two_jobs_at_once_share_one_limiter_and_never_exceed_the_window(tmp_path: Path) -> None:
    """Two jobs on two accounts, one key, a fake that allows 5 requests a second: together they never earn a 429."""
    use_limiter(InProcessRateLimiter(5, 1.0))
    workspace = make_account("acmecorp.com", count=8) + make_account("globex.io", count=8, first_id=3000)
    with FathomServer(workspace, rate_limit=(5, 1.0)) as server:
        settings = settings_for(server, tmp_path, ENGAGEMENT_WORKERS="2")
        pool = ThreadPoolExecutor(max_workers=2)
        runtime = create_runtime(settings, store=SqliteKV(settings.engagement_db), executor=pool)
        runs = [("acmecorp.com", runtime.jobs.start("acmecorp.com")), ("globex.io", runtime.jobs.start("globex.io"))]
        pool.shutdown(wait=True)
        records = [runtime.jobs.get(domain, run_id) for domain, run_id in runs]
        throttled = server.api.throttled
        sent = len(server.request_log)
    assert [r.status for r in records] == [JobStatus.COMPLETE, JobStatus.COMPLETE], [r.error for r in records]
    assert [r.summary.meetings_count for r in records if r.summary] == [8, 8]
    assert sent > 5 * 2  # enough requests that unshared budgets would have overrun a window
    assert throttled == 0


# ---------------------------------------------------------------- the job's deadline bounds every wait


@pytest.fixture(params=["in-process", "redis"])
def any_limiter(request: pytest.FixtureRequest) -> Iterator[RateLimiter]:
    """The process's limiter, once in-process and once on the tests' own redis-server."""
    if request.param == "in-process":
        yield InProcessRateLimiter()
        return
    from engagement.fathom.redis_ratelimit import RedisRateLimiter

    limiter = RedisRateLimiter(request.getfixturevalue("redis_url"))
    yield limiter
    limiter.close()


def _client(limiter: RateLimiter, deadline: Deadline, handler: Any, **options: Any) -> FathomClient:
    http = httpx.Client(transport=httpx.MockTransport(handler))
    return FathomClient(
        http, api_key=FAKE_API_KEY, base_url="https://fathom.test", limiter=limiter, deadline=deadline, **options
    )


def _close_window(limiter: RateLimiter, seconds: int) -> None:
    """Someone else's 429 closed the key's window for ``seconds``."""
    limiter.observe(key_id(FAKE_API_KEY, "https://fathom.test"), 429, {"RateLimit-Reset": str(seconds)})


def test_a_rate_limit_wait_past_the_jobs_deadline_ends_the_request_at_once(any_limiter: RateLimiter) -> None:
    """The window is closed for 60 s and the job has 5 s left: no sleep, no request, the job's time-out."""
    sent: list[httpx.Request] = []
    client = _client(any_limiter, Deadline.after(5), lambda r: sent.append(r) or httpx.Response(200, json={}))
    _close_window(any_limiter, 60)
    with pytest.raises(JobTimeoutError, match="time limit would run out before Fathom.s rate limit"):
        bounded(lambda: client.get_transcript(1), 10)
    assert sent == []


def test_a_rate_limit_wait_that_fits_the_deadline_is_waited_out(any_limiter: RateLimiter) -> None:
    """The window is closed for 1 s and the job has minutes left: the client waits, then sends."""
    body = {"transcript": [{"speaker": {"display_name": "Ann"}, "text": "Hello", "timestamp": "00:00:01"}]}
    sent: list[httpx.Request] = []
    client = _client(any_limiter, Deadline.after(300), lambda r: sent.append(r) or httpx.Response(200, json=body))
    _close_window(any_limiter, 1)
    turns = bounded(lambda: client.get_transcript(1), 30)
    assert len(sent) == 1 and [t.text for t in turns] == ["Hello"]


def test_a_longer_wait_than_fathom_max_wait_s_still_names_the_setting(any_limiter: RateLimiter) -> None:
    """With the deadline far away, a wait past FATHOM_MAX_WAIT_S gives that setting's message, as before."""
    client = _client(any_limiter, Deadline.after(3600), lambda r: httpx.Response(200, json={}), max_wait_s=30)
    _close_window(any_limiter, 60)
    with pytest.raises(FathomUnavailableError, match="FATHOM_MAX_WAIT_S"):
        bounded(lambda: client.get_transcript(1), 10)


def test_a_back_off_past_the_jobs_deadline_ends_the_request_at_once() -> None:
    """Fathom answers 503; the next try would come after the job's deadline, so the job's time-out comes now."""
    sent: list[httpx.Request] = []
    client = _client(
        InProcessRateLimiter(), Deadline.after(5), lambda r: sent.append(r) or httpx.Response(503), backoff_base=20
    )
    with pytest.raises(JobTimeoutError, match="the next try"):
        bounded(lambda: client.get_transcript(1), 10)
    assert len(sent) == 1


def test_a_job_whose_rate_limit_wait_outlasts_it_ends_with_the_time_out(
    any_limiter: RateLimiter, tmp_path: Path
) -> None:
    """A job with a 2 s limit on a key whose window is closed for 60 s (FATHOM_MAX_WAIT_S 120): the index's sync,
    bound by no job, waits for the window in the background; the job shows that wait and ends at its limit saying
    the indexing carries on, and Fathom is not asked while the window is closed."""
    use_limiter(any_limiter)
    with FathomServer(make_account(count=3)) as server:
        settings = settings_for(server, tmp_path, ENGAGEMENT_JOB_TIMEOUT_S="2")
        any_limiter.observe(key_id(FAKE_API_KEY, server.base_url), 429, {"RateLimit-Reset": "60"})
        runtime = create_runtime(settings, store=SqliteKV(settings.engagement_db), executor=InlineExecutor())
        stages = stages_of(runtime.repo)["acmecorp.com"]
        record = bounded(lambda: runtime.jobs.get("acmecorp.com", runtime.jobs.start("acmecorp.com")), 30)
        runtime.close()
        sent = len(server.request_log)
    assert record.status is JobStatus.ERROR
    assert "still being indexed" in (record.error or "") and "carries on in the background" in (record.error or "")
    assert sent == 0
    assert any(stage.startswith("waiting for Fathom's rate limit") for stage in stages), stages


def test_closing_the_index_ends_its_sync_waiting_for_the_rate_limit_before_its_storage_closes(
    tmp_path: Path,
) -> None:
    """A sync waiting out a closed 60 s window when its index closes: close() returns within seconds, the sync's
    thread and its lock's renewal have ended, nothing was sent, and the index's file was not left locked."""
    limiter = InProcessRateLimiter()
    use_limiter(limiter)
    with FathomServer(make_account(count=3)) as server:
        limiter.observe(key_id(FAKE_API_KEY, server.base_url), 429, {"RateLimit-Reset": "60"})
        settings = settings_for(server, tmp_path)
        index = MeetingIndex(tmp_path / "index.sqlite")
        task, _ = index.start_sync(workspace_of(settings), lambda: fathom_client(settings))
        wait_until(lambda: task.rate_wait is not None, "the sync to wait for the rate limit")
        began = time.monotonic()
        bounded(index.close, 30)
        took = time.monotonic() - began
        sent = len(server.request_log)
    assert task.done and task._thread is not None and not task._thread.is_alive()
    assert [t.name for t in threading.enumerate() if t.name.startswith("meeting-index")] == []
    assert isinstance(task.error, (IndexClosedError, FathomUnavailableError)), task.error  # stopped, not failed
    assert "closing" in str(task.error) or "shutting down" in str(task.error)
    assert sent == 0
    assert took < 10  # a bound (the window had 60 s left), not a speed claim
    assert MeetingIndex(tmp_path / "index.sqlite").storage.sync_lock(task.workspace).acquire(timeout=0)


def test_the_index_sync_leaves_the_next_slot_to_a_job_waiting_for_one(any_limiter: RateLimiter) -> None:
    """While a job's request waits for a closed window, the index's background request is told to wait until after
    the job's slot; on another key, with no job waiting, a background request waits for nothing but the window."""
    any_limiter.observe("key-busy", 429, {"RateLimit-Reset": "30"})
    job = any_limiter.acquire("key-busy")
    sync = any_limiter.acquire("key-busy", background=True)
    assert 25 < job <= 30
    assert sync >= job + FOREGROUND_GRACE / 2  # the job's slot and a grace after it
    assert any_limiter.acquire("key-free", background=True) == 0.0


def test_the_job_goes_first_when_the_window_reopens_then_the_sync_carries_on() -> None:
    """On a clock that moves only when told: the window is spent, a job's request and the sync's both wait; when it
    reopens the job's request is sent, the sync's is held for the grace, then it is sent too."""
    now = [0.0]
    limiter = InProcessRateLimiter(limit=2, window_s=60, clock=lambda: now[0])
    assert [limiter.acquire("k", background=True) for _ in range(2)] == [0.0, 0.0]  # the sync spent the window
    job_wait = limiter.acquire("k")
    assert job_wait > 0 and limiter.acquire("k", background=True) >= job_wait
    now[0] += job_wait
    assert limiter.acquire("k", background=True) > 0  # the slot that opened is the job's
    assert limiter.acquire("k") == 0.0
    now[0] += FOREGROUND_GRACE
    assert limiter.acquire("k", background=True) == 0.0  # the second slot (the window's oldest aged out too)
