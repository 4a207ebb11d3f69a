"""The fetch stage: a meeting without a transcript (or whose transcript fails) is counted, not analysed, never fatal."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

import pytest

from engagement.jobs.service import InlineExecutor
from engagement.models import JobRecord, JobStatus
from engagement.runtime import create_runtime
from engagement.storage.sqlite import SqliteKV
from tests.fakes.fathom_server import ACCOUNT_START, FathomServer, make_account, make_meeting
from tests.support.fathom_fixtures import settings_for


def run_job(tmp_path: Path, server: FathomServer) -> JobRecord:
    settings = settings_for(server, tmp_path, FATHOM_MAX_RETRIES="1")
    runtime = create_runtime(settings, store=SqliteKV(settings.engagement_db), executor=InlineExecutor())
    return runtime.jobs.get("acmecorp.com", runtime.jobs.start("acmecorp.com"))


def silent(recording_id: int, days: int) -> dict:
    return make_meeting(
        recording_id,
        ACCOUNT_START + timedelta(days=days),
        guests=[("Quiet Person", "quiet.person@acmecorp.com")],
        transcript=False,
    )


@pytest.mark.parametrize(
    ("count", "path"),
    [(3, "404 from /recordings/{id}/transcript"), (14, "null in a listing that included transcripts")],
)
def test_a_job_with_one_transcript_less_meeting_completes(tmp_path: Path, count: int, path: str) -> None:
    """The meeting and its invitees are counted, it is marked "no transcript", the others are analysed."""
    with FathomServer([*make_account(count=count), silent(777, days=400)]) as server:
        record = run_job(tmp_path, server)
    assert record.status is JobStatus.COMPLETE, record.error
    summary = record.summary
    assert summary is not None and summary.meetings_count == count + 1
    (ref,) = [m for m in summary.meetings if m.recording_id == 777]
    assert ref.no_transcript == "no transcript" and not ref.analysed
    assert all(m.analysed for m in summary.meetings if m.recording_id != 777)
    quiet = next(p for p in summary.people if p.email == "quiet.person@acmecorp.com")
    assert (quiet.count, quiet.invited, quiet.spoke_in) == (1, 1, 0)
    assert record.stats.meetings_without_transcript == 1
    assert any("without a transcript" in note for note in summary.notes), path


@pytest.mark.parametrize(
    ("fault", "reason"),
    [
        (lambda s: s.fail_next(403), "Fathom refused it to this API key (403)"),
        (lambda s: s.schema_break_next(), "transcript without transcript[0].text"),
    ],
    ids=["403", "malformed transcript"],
)
def test_one_meetings_transcript_failing_is_that_meetings_problem_only(tmp_path: Path, fault, reason: str) -> None:
    """A 403 or a malformed transcript for one meeting: the job completes and that meeting says why."""
    with FathomServer(make_account(count=2)) as server:
        original = server._answer

        def answer(method: str, target: str, headers: list, body: bytes):
            if target.endswith("/recordings/1000/transcript"):
                fault(server)
            return original(method, target, headers, body)

        server._answer = answer  # type: ignore[method-assign]
        record = run_job(tmp_path, server)
    assert record.status is JobStatus.COMPLETE, record.error
    assert record.summary is not None and record.summary.meetings_count == 2
    (ref,) = [m for m in record.summary.meetings if m.recording_id == 1000]
    assert ref.no_transcript is not None and reason in ref.no_transcript and not ref.analysed


def test_a_re_run_of_an_unchanged_account_costs_at_most_two_requests(tmp_path: Path) -> None:
    """After a first run, the next run asks Fathom only whether anything is new: one request, then the cache —
    transcript-less meetings included (Fathom's "no transcript" is remembered until a full re-index)."""
    quiet = [silent(777 + n, days=400 + n) for n in range(3)]
    with FathomServer([*make_account(count=14), *quiet]) as server:
        first = run_job(tmp_path, server)
        server.request_log.clear()
        second = run_job(tmp_path, server)
        sent = len(server.request_log)
    assert first.status is second.status is JobStatus.COMPLETE
    assert sent <= 2 and second.stats.fathom_requests == sent
    assert second.summary is not None and second.summary.meetings_count == 17
    assert second.stats.meetings_without_transcript == 3
    assert sum(1 for m in second.summary.meetings if m.no_transcript == "no transcript") == 3
