"""Fathom's rate limit: one budget per API key for the process, paced from RateLimit-* headers, waited out in jobs."""

from __future__ import annotations

import threading
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import httpx
import pytest

from engagement.fathom import FathomClient
from engagement.jobs import InlineExecutor
from engagement.models import JobRecord, JobStatus
from engagement.ratelimit import InProcessRateLimiter, limiter_for, reset_seconds, use_limiter
from engagement.runtime import create_runtime
from engagement.settings import Settings
from engagement.store import SqliteKV
from tests.fakes.fathom_server import FAKE_API_KEY, FathomServer, make_account


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


def settings_for(server: FathomServer, tmp_path: Path, **env: str) -> Settings:
    return Settings.from_env(
        {
            "FATHOM_API_KEY": FAKE_API_KEY,
            "FATHOM_BASE_URL": server.base_url,
            "ENGAGEMENT_DB": str(tmp_path / "rl.sqlite"),
            "FATHOM_BACKOFF_S": "0.01",
            **env,
        }
    )


def test_a_429_with_only_ratelimit_reset_15_is_waited_out_and_the_job_completes(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The key's window is spent (by someone else) for 15 s: the fake answers 429 with RateLimit-Reset: 15 and no
    Retry-After until then; the job waits 15 s (virtual time), shows it in its stage, and completes."""
    clock = FakeClock()
    use_limiter(InProcessRateLimiter(clock=clock.now))
    monkeypatch.setattr(FathomClient, "_pause", lambda self, seconds: clock.sleep(seconds))
    stages: list[str] = []
    with FathomServer(make_account(count=3), rate_limit=(60, 60.0), clock=clock.now) as server:
        server.api.close_window(15)
        settings = settings_for(server, tmp_path)
        runtime = create_runtime(settings, store=SqliteKV(settings.engagement_db), executor=InlineExecutor())
        original = runtime.repo.save

        def spy(record: JobRecord) -> bool:
            stages.append(record.stage)
            return original(record)

        runtime.repo.save = spy  # type: ignore[method-assign]
        record = runtime.jobs.get("acmecorp.com", runtime.jobs.start("acmecorp.com"))
        statuses = [status for _, status, _ in server.response_log]
    assert record.status is JobStatus.COMPLETE, record.error
    assert record.summary is not None and record.summary.meetings_count == 3
    assert statuses[0] == 429 and statuses.count(429) == 1 and set(statuses[1:]) == {200}
    assert sum(clock.slept) >= 15
    assert "waiting for Fathom's rate limit (15 s)" in stages


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
