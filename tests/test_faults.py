"""Faults: each Fathom and OpenAI failure ends the job as the table says, with bounded retries.

Every row runs the whole job (JobService → pipeline → client → loopback fake) and checks the
record's status, the user-facing message, and how many requests reached the server.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import pytest

from engagement.jobs.service import InlineExecutor
from engagement.models import JobRecord, JobStatus
from engagement.runtime import create_runtime
from engagement.settings import Settings
from engagement.storage.sqlite import SqliteKV
from tests.fakes.fathom_server import FAKE_API_KEY, FathomServer, make_account
from tests.fakes.openai_server import FakeOpenAI

OPENAI_KEY = "sk-faults-0123456789abcdef"
FATHOM_RETRIES = 2
OPENAI_RETRIES = 1


@dataclass(frozen=True)
class Row:
    name: str
    fault: Callable[[FathomServer | FakeOpenAI], None]
    status: JobStatus
    message: str  # a fragment of the user-facing message ("" for complete)
    requests: int  # requests the server received for the failing step
    # The client's time-out for that server: short only where the fault is a hang (which lasts longer, so it
    # times out however loaded the machine); a generous one elsewhere, so a slow answer is never a time-out.
    timeout_s: float = 10.0


def job(
    tmp_path: Path,
    fathom: FathomServer,
    model: FakeOpenAI | None,
    fathom_key: str = FAKE_API_KEY,
    *,
    fathom_timeout_s: float = 10.0,
    openai_timeout_s: float = 10.0,
) -> JobRecord:
    env = {
        "FATHOM_API_KEY": fathom_key,
        "FATHOM_BASE_URL": fathom.base_url,
        "FATHOM_MAX_RETRIES": str(FATHOM_RETRIES),
        "FATHOM_BACKOFF_S": "0.01",
        "FATHOM_TIMEOUT_S": str(fathom_timeout_s),
        "ENGAGEMENT_DB": str(tmp_path / "faults.sqlite"),
        "OPENAI_MAX_RETRIES": str(OPENAI_RETRIES),
        "OPENAI_TIMEOUT_S": str(openai_timeout_s),
        "OPENAI_CONCURRENCY": "1",
    }
    if model is not None:
        env |= {"OPENAI_API_KEY": OPENAI_KEY, "OPENAI_BASE_URL": model.base_url}
    settings = Settings.from_env(env)
    runtime = create_runtime(settings, store=SqliteKV(settings.engagement_db), executor=InlineExecutor())
    return runtime.jobs.get("acmecorp.com", runtime.jobs.start("acmecorp.com"))


FATHOM_ROWS = [
    Row("401", lambda s: s.fail_next(401), JobStatus.ERROR, "Fathom rejected the API key", 1),
    Row("403", lambda s: s.fail_next(403), JobStatus.ERROR, "Fathom rejected the API key", 1),
    Row("404", lambda s: s.fail_next(404), JobStatus.ERROR, "Check FATHOM_BASE_URL", 1),
    # Complete: the failed try, one page of the index, its look for older meetings, the 3 transcripts one by one.
    Row("429 then success", lambda s: s.fail_next(429, headers={"Retry-After": "0"}), JobStatus.COMPLETE, "", 6),
    Row(
        "429 with RateLimit-* only",
        lambda s: s.fail_next(429, headers={"RateLimit-Reset": "0"}),
        JobStatus.COMPLETE,
        "",
        6,
    ),
    Row("500 then success", lambda s: s.fail_next(500), JobStatus.COMPLETE, "", 6),
    Row(
        "500 forever",
        lambda s: s.fail_next(500, times=99),
        JobStatus.ERROR,
        "did not answer after 3 attempts (HTTP 500)",
        3,
    ),
    Row(
        "429 forever",
        lambda s: s.fail_next(429, times=99, headers={"Retry-After": "0"}),
        JobStatus.ERROR,
        "too many",
        3,
    ),
    Row("timeout", lambda s: s.hang_next(0.6, times=99), JobStatus.ERROR, "Try again in a few minutes", 3, 0.3),
    Row("malformed JSON", lambda s: s.malformed_next(), JobStatus.ERROR, "not JSON", 1),
    Row("100,000-deep JSON", lambda s: s.nested_next(100_000), JobStatus.ERROR, "Fathom sent a malformed response", 1),
]


@pytest.mark.parametrize("row", FATHOM_ROWS, ids=lambda r: r.name)
def test_fathom_faults(row: Row, tmp_path: Path) -> None:
    """A Fathom fault on the first page ends the job as the table says after a bounded number of requests."""
    with FathomServer(make_account(count=3)) as fathom:
        row.fault(fathom)
        record = job(tmp_path, fathom, None, fathom_timeout_s=row.timeout_s)
        received = len(fathom.request_log)
    assert record.status is row.status, record.error
    if row.status is JobStatus.ERROR:
        assert row.message in (record.error or "")
        assert record.summary is None  # no partial counts shown as if complete
        assert FAKE_API_KEY not in (record.error or "")
        assert received == row.requests
    else:
        assert record.summary is not None and record.summary.meetings_count == 3
        assert received == row.requests


def test_a_meeting_that_breaks_the_schema_is_skipped_and_counted_not_fatal(tmp_path: Path) -> None:
    """A listing item without recording_id is skipped: the job completes with the rest and says so in its notes."""
    with FathomServer(make_account(count=3)) as fathom:
        fathom.schema_break_next()
        record = job(tmp_path, fathom, None)
    assert record.status is JobStatus.COMPLETE, record.error
    assert record.summary is not None and record.summary.meetings_count == 2
    assert record.stats.meetings_skipped == 1
    assert any("could not be read and was skipped" in n and "recording_id" in n for n in record.summary.notes)


def test_deeply_nested_json_names_fathom_not_recursion(tmp_path: Path) -> None:
    """A 100,000-level JSON body ends the job naming Fathom and "malformed response", never RecursionError."""
    with FathomServer(make_account(count=3)) as fathom:
        fathom.nested_next(100_000)
        record = job(tmp_path, fathom, None)
    assert record.status is JobStatus.ERROR
    assert "Fathom" in (record.error or "") and "malformed response" in (record.error or "")
    assert "Recursion" not in (record.error or "")


OPENAI_ROWS = [
    Row("401", lambda s: s.fail_next(401), JobStatus.ERROR, "rejected the API key", 1),
    Row("429", lambda s: s.fail_next(429, times=99), JobStatus.ERROR, "too many requests", 1 + OPENAI_RETRIES),
    Row("500", lambda s: s.fail_next(500, times=99), JobStatus.ERROR, "kept failing (500)", 1 + OPENAI_RETRIES),
    Row("429 then success", lambda s: s.fail_next(429), JobStatus.COMPLETE, "", 0),
    Row(
        "timeout",
        lambda s: [s.hang_next(2.0) for _ in range(1 + OPENAI_RETRIES)],
        JobStatus.ERROR,
        "did not answer within",
        1 + OPENAI_RETRIES,
        0.5,
    ),
    Row("refusal", lambda s: s.refuse_next(), JobStatus.ERROR, "refused", 1),
    Row("cut by length", lambda s: s.truncate_next(), JobStatus.ERROR, "cut off", 1),
    Row("invalid JSON", lambda s: s.invalid_json_next(), JobStatus.ERROR, "not valid JSON", 1),
]


@pytest.mark.parametrize("row", OPENAI_ROWS, ids=lambda r: r.name)
def test_openai_faults(row: Row, tmp_path: Path) -> None:
    """A model fault on the first map call ends the job as the table says, after bounded retries."""
    with FathomServer(make_account(count=2)) as fathom, FakeOpenAI(api_key=OPENAI_KEY) as model:
        row.fault(model)
        record = job(tmp_path, fathom, model, openai_timeout_s=row.timeout_s)
        received = len(model.requests)
    assert record.status is row.status, record.error
    if row.status is JobStatus.ERROR:
        assert row.message in (record.error or ""), record.error
        assert OPENAI_KEY not in (record.error or "")
        assert record.summary is None
        assert received == row.requests
    else:
        assert record.summary is not None and record.summary.meetings_count == 2
        assert received == 2 + 2 + 1 + 1  # two maps, two qualifications, one reduce, and the retried 429
