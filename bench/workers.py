"""Workers: 40 jobs on Redis and RQ with 1 and with 4 worker processes, and two app processes polling one job.

Each job is a 12-meeting account in a 480-meeting workspace (Fathom answers in 150 ms; the map
calls and the reduce on the fake OpenAI server, 0.75 s a call, 4 at once). The workspace meeting
index (in Redis, shared by every worker) is synced once before the timed runs by
``python -m engagement index``, as a deployment's index is warm, so a job costs what any job
costs: its incremental index sync (one request: the accounts' newest meetings are hours apart),
two pages of transcripts, the model calls. Each run starts from an empty job store and analysis
cache and with Fathom's budget free for it: the bench waits until the requests before it have left the
limiter's one-minute window (or leave room for all of the run's).

The floor of a run is the larger of (a) the model and Fathom waiting of one job (three requests,
⌈12 ÷ 4⌉ map calls one after another, the reduce) times the jobs, spread over the workers, and (b)
Fathom's limit: 60 calls a minute per key, shared by every worker through Redis, so the run's n-th
Fathom request cannot go before ⌊(n-1)/60⌋ minutes after its first. With 40 jobs the 1-worker run
is bound by (a) and the 4-worker run by (b): the throughput ratio shows what 4 workers buy until
Fathom's budget is the limit.
"""

from __future__ import annotations

import copy
import json
import math
import os
import statistics
import subprocess
import sys
import tempfile
import textwrap
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from bench.measure import Result, percentile
from engagement.models import JobStatus
from engagement.runtime import create_runtime
from engagement.settings import Settings
from tests.fakes.fathom_server import FAKE_API_KEY, FathomServer, make_account
from tests.fakes.openai_server import FakeOpenAI
from tests.support.redis_server import RedisServer

ROOT = Path(__file__).resolve().parents[1]
QUICK = {"jobs": 8, "meetings": 12, "fathom_latency": 0.05, "openai_latency": 0.1, "counts": (1, 2)}
FATHOM_LIMIT = 60  # calls a minute per key
FATHOM_WINDOW_S = 60.0 * 1.02 + 1.0  # the limiter's window with its margin, and a second for the fake's own clock
PAGE = 10

POLLER = textwrap.dedent(
    """
    import json, sys, time
    from engagement.runtime import create_runtime
    from engagement.settings import Settings

    runtime = create_runtime(Settings.from_env())
    domain, run_id = sys.argv[1], sys.argv[2]
    samples, stages = [], []
    while True:
        began = time.perf_counter()
        record = runtime.jobs.get(domain, run_id)
        samples.append((time.perf_counter() - began) * 1000)
        if not stages or stages[-1] != record.stage:
            stages.append(record.stage)
        if record.status.terminal:
            break
        time.sleep(0.1)
    runtime.close()
    print(json.dumps({"samples": samples, "stages": stages, "status": record.status.value, "seen": record.updated_at.isoformat()}))
    """
)


def workspace(jobs: int, meetings: int) -> list[dict[str, Any]]:
    """``jobs`` weekly accounts, each starting two hours after the previous one (so the newest hour, which an
    incremental index sync asks for again, holds one meeting)."""
    out: list[dict[str, Any]] = []
    start = datetime(2025, 1, 6, 15, tzinfo=UTC)
    for n in range(jobs):
        account = make_account(
            f"customer{n:02d}.com", meetings, first_id=100_000 + n * 1000, start=start + timedelta(hours=2 * n)
        )
        out += [copy.deepcopy(m) for m in account]
    return out


def _wait_for_fathom_budget(url: str, need: int) -> None:
    """Until the requests sent through the shared limiter in the last minute leave room for the ``need`` requests
    of the next run (or are none), so no request of the run waits for an earlier one's budget."""
    import redis as redis_py

    client = redis_py.Redis.from_url(url)
    try:
        while True:
            seconds, micros = client.time()
            since = seconds + micros / 1e6 - FATHOM_WINDOW_S
            recent = [
                score
                for key in client.scan_iter(match=b"ratelimit:fathom:*:sent")
                for _, score in client.zrangebyscore(key, since, "+inf", withscores=True)
            ]
            if not recent or len(recent) + need <= FATHOM_LIMIT:
                return
            time.sleep(min(min(recent) - since, 1.0) + 0.05)
    finally:
        client.close()


def run(
    jobs: int = 40,
    meetings: int = 12,
    fathom_latency: float = 0.150,
    openai_latency: float = 0.75,
    counts: tuple[int, ...] = (1, 4),
) -> list[Result]:
    requests_per_job = 1 + (math.ceil(meetings / PAGE) if meetings > PAGE else meetings)  # index sync + transcripts
    per_job = requests_per_job * fathom_latency + math.ceil(meetings / 4) * openai_latency + openai_latency
    walls: dict[int, float] = {}
    requests: dict[int, int] = {}
    too_many: dict[int, int] = {}
    polls: dict[str, Any] = {}
    with (
        RedisServer() as redis,
        FathomServer(workspace(jobs, meetings), latency_s=fathom_latency) as fathom,
        FakeOpenAI(api_key="sk-bench", latency_s=openai_latency) as model,
        tempfile.TemporaryDirectory() as tmp,
    ):
        env = {k: v for k, v in os.environ.items() if not k.startswith(("FATHOM_", "OPENAI_", "ENGAGEMENT_"))}
        env.update(
            ENGAGEMENT_REDIS_URL=redis.url,
            FATHOM_API_KEY=FAKE_API_KEY,
            FATHOM_BASE_URL=fathom.base_url,
            OPENAI_API_KEY="sk-bench",
            OPENAI_BASE_URL=model.base_url,
            OPENAI_CONCURRENCY="4",
            PYTHONPATH=str(ROOT),
        )
        # The meeting index, once, before the timed runs: every worker reads it from Redis.
        subprocess.run(
            [sys.executable, "-m", "engagement", "index"], cwd=ROOT, env=env, check=True, capture_output=True
        )
        indexed = len(fathom.request_log)
        for count in counts:
            import redis as redis_py

            client = redis_py.Redis.from_url(redis.url)
            for key in client.scan_iter():  # jobs, caches and queue go; Fathom's budget and the meeting index stay
                if not key.startswith((b"ratelimit:", b"meeting_index:")):
                    client.delete(key)
            client.close()
            env["ENGAGEMENT_DB"] = str(Path(tmp) / f"search-{count}.sqlite")  # each machine's transcript search
            app = create_runtime(Settings.from_env(env))
            workers = [
                subprocess.Popen(
                    [sys.executable, "-m", "engagement", "worker"],
                    cwd=ROOT,
                    env=env,
                    stdout=(Path(tmp) / f"worker-{count}-{i}.log").open("wb"),
                    stderr=subprocess.STDOUT,
                )
                for i in range(count)
            ]
            _wait(lambda count=count, app=app: app.queue is not None and app.queue.status().workers == count)
            _wait_for_fathom_budget(redis.url, jobs * requests_per_job)
            before = sum(1 for _, status, _ in fathom.response_log if status == 429)
            sent = len(fathom.request_log)
            began = time.perf_counter()
            ids = [(f"customer{n:02d}.com", app.jobs.start(f"customer{n:02d}.com")) for n in range(jobs)]
            if count == max(counts):  # two app processes poll the last job (it starts last) while all of them run
                pollers = [
                    subprocess.Popen(
                        [sys.executable, "-c", POLLER, *ids[-1]], cwd=ROOT, env=env, stdout=subprocess.PIPE, text=True
                    )
                    for _ in range(2)
                ]
            _wait(lambda app=app, ids=ids: all(app.jobs.get(d, r).status.terminal for d, r in ids), limit=1800)
            walls[count] = time.perf_counter() - began
            too_many[count] = sum(1 for _, status, _ in fathom.response_log if status == 429) - before
            requests[count] = len(fathom.request_log) - sent
            failed = [app.jobs.get(d, r).error for d, r in ids if app.jobs.get(d, r).status is not JobStatus.COMPLETE]
            if failed:
                raise RuntimeError(f"{len(failed)} benchmark jobs failed, e.g. {failed[0]}")
            if count == max(counts):
                polls = {"outputs": [json.loads(p.communicate(timeout=600)[0]) for p in pollers]}
            for worker in workers:
                worker.terminate()
            for worker in workers:
                worker.wait(30)
            app.close()

    few, many = min(counts), max(counts)

    def floor(count: int) -> tuple[float, float]:
        """The run's floor and Fathom's part of it: the n-th request may go ⌊(n-1)/60⌋ minutes after the first."""
        fathom_s = 60.0 * ((requests[count] - 1) // FATHOM_LIMIT)
        return max(jobs * per_job / count, fathom_s), fathom_s

    samples = [s for out in polls["outputs"] for s in out["samples"]]
    same_end = len({(out["status"], out["seen"]) for out in polls["outputs"]}) == 1
    rows = []
    for count in counts:
        bound, fathom_s = floor(count)
        rows.append(
            Result(
                "Workers",
                f"{jobs} jobs, {count} worker process{'es' if count > 1 else ''} (wall ÷ floor)",
                walls[count] / bound,
                "×",
                runs=1,
                note=(
                    f"{walls[count]:.1f} s; floor {bound:.0f} s = max({jobs} × ≈ {per_job:.2f} s of model and Fathom "
                    f"waiting ÷ {count}, Fathom's limit: {requests[count]} requests at {FATHOM_LIMIT} a minute per key → "
                    f"{fathom_s:.0f} s); {too_many[count]} Fathom 429s"
                    + (f"; the index was synced before, in {indexed} requests" if count == few else "")
                ),
            )
        )
    return [
        *rows,
        Result(
            "Workers",
            f"throughput, {many} workers ÷ {few}",
            walls[few] / walls[many],
            "×",
            note=(
                f"the floors allow {floor(few)[0] / floor(many)[0]:.2f}×: past that the shared Fathom budget is the limit; "
                f"Fathom requests {requests[few]} and {requests[many]}"
            ),
        ),
        Result(
            "Workers",
            "two app processes polling one job: get()",
            statistics.median(samples),
            "ms",
            p99=percentile(samples, 0.99),
            runs=len(samples),
            note=(
                f"both saw the same end: {same_end}; stages seen: "
                f"{', '.join(str(len(out['stages'])) for out in polls['outputs'])}"
            ),
        ),
    ]


def _wait(condition: Any, limit: float = 120) -> None:
    deadline = time.monotonic() + limit
    while not condition():
        if time.monotonic() > deadline:
            raise RuntimeError("the benchmark gave up waiting")
        time.sleep(0.1)
