"""The pipeline end to end over loopback fakes: what it fetches, what it pays for, what it reports."""

from __future__ import annotations

import re
import threading
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from engagement.jobs.service import InlineExecutor, JobService
from engagement.meetings.index import TRANSCRIPT_WAIT, next_ask
from engagement.models import EngagementSummary, JobRecord, JobStatus, MeetingRef
from engagement.runtime import Runtime, create_runtime
from engagement.settings import Settings
from engagement.storage.sqlite import SqliteKV
from tests.fakes.fathom_server import (
    ACCOUNT_START,
    FAKE_API_KEY,
    FathomServer,
    make_account,
    make_meeting,
    sample_meetings,
)
from tests.fakes.openai_server import FakeOpenAI, answer_map, answer_qualification, answer_reduce

OPENAI_KEY = "sk-pipeline-test"


@pytest.fixture
def model() -> Iterator[FakeOpenAI]:
    with FakeOpenAI(api_key=OPENAI_KEY) as server:
        yield server


def make_runtime(tmp_path: Path, fathom: FathomServer, model: FakeOpenAI | None, **env: str) -> Runtime:
    values = {
        "FATHOM_API_KEY": FAKE_API_KEY,
        "FATHOM_BASE_URL": fathom.base_url,
        "ENGAGEMENT_DB": str(tmp_path / "pipeline.sqlite"),
        "OPENAI_MAX_RETRIES": "0",
        **env,
    }
    if model is not None:
        values |= {"OPENAI_API_KEY": OPENAI_KEY, "OPENAI_BASE_URL": model.base_url}
    settings = Settings.from_env(values)
    return create_runtime(settings, store=SqliteKV(settings.engagement_db), executor=InlineExecutor())


def run(jobs: JobService, domain: str = "acmecorp.com") -> JobRecord:
    record = jobs.get(domain, jobs.start(domain))
    assert record.status is JobStatus.COMPLETE, record.error
    return record


def paths(server: FathomServer) -> list[str]:
    return [path for _, path, _ in server.request_log]


def test_first_run_lists_with_transcripts_and_calls_the_model_per_meeting(tmp_path: Path, model: FakeOpenAI) -> None:
    """Cold cache: 3 pages and a look for older meetings index the workspace (29 external meetings), 3 more carry
    the account's transcripts; 23 map calls, 23 qualification calls (one a meeting) and one reduce; usage is counted."""
    with FathomServer(sample_meetings()) as fathom:
        record = run(make_runtime(tmp_path, fathom, model).jobs)
        assert paths(fathom) == ["/external/v1/meetings"] * 7
        queries = [query for _, _, query in fathom.request_log]
        assert all(q["calendar_invitees_domains_type"] == ["one_or_more_external"] for q in queries[:4])
        assert all("include_transcript" not in q for q in queries[:4])
        assert all(q.get("include_transcript") == ["true"] for q in queries[4:])
    s = record.stats
    assert (s.meetings, s.fathom_requests, s.llm_calls, s.cached_meetings) == (23, 7, 47, 0)
    assert s.index_meetings == 29
    assert s.tokens_in > 0 and s.tokens_out > 0
    assert record.analyzer == "openai:gpt-5.4-mini" and record.source == "fathom"
    assert record.summary is not None and record.summary.meetings_count == 23
    assert all(ref.analysed for ref in record.summary.meetings)
    assert record.summary.company == ""  # a real account is named by its domain, not by the demo's "Acme Corp"


def test_second_run_of_an_unchanged_account_costs_no_model_call(tmp_path: Path, model: FakeOpenAI) -> None:
    """Warm cache: one request (the index's incremental listing), no model call, the same summary and speakers."""
    with FathomServer(sample_meetings()) as fathom:
        runtime = make_runtime(tmp_path, fathom, model)
        first = run(runtime.jobs)
        calls = len(model.requests)
        fathom.request_log.clear()
        second = run(runtime.jobs)
        assert paths(fathom) == ["/external/v1/meetings"]
        ((_, _, query),) = fathom.request_log
        assert "include_transcript" not in query and "created_after" in query
    assert second.stats.fathom_requests == 1
    assert len(model.requests) == calls
    assert (second.stats.llm_calls, second.stats.cached_meetings) == (0, 23)
    assert first.summary is not None and second.summary is not None
    per_run = {"meetings", "changes", "coverage", "qualification"}  # coverage says when the meetings were read

    def same(summary: EngagementSummary) -> dict[str, object]:  # and a note says when the index was brought up to date
        dumped = summary.model_dump(exclude=per_run)
        dumped["notes"] = [re.sub(r"\d{1,2} \w{3} \d{4}, \d{2}:\d{2} UTC", "<when>", n) for n in dumped["notes"]]
        return dumped

    assert same(second.summary) == same(first.summary)
    assert first.summary.qualification is not None and second.summary.qualification is not None
    unchanged = [e.model_copy(update={"change": "unchanged"}) for e in first.summary.qualification.elements]
    assert second.summary.qualification.elements == unchanged  # from the cache, each element marked unchanged
    assert first.summary.changes is None
    assert second.summary.changes is not None and second.summary.changes.since_run_id == first.run_id
    assert second.summary.changes.new_meetings == second.summary.changes.new_people == []
    assert [p.spoke_in for p in second.summary.people] == [p.spoke_in for p in first.summary.people]


def test_a_new_meeting_costs_one_transcript_one_map_one_qualification_and_one_reduce(
    tmp_path: Path, model: FakeOpenAI
) -> None:
    """Only the new meeting is analysed: one incremental listing, its transcript from /recordings/{id}/transcript."""
    meetings = make_account(count=12)
    with FathomServer(meetings) as fathom:
        runtime = make_runtime(tmp_path, fathom, model)
        run(runtime.jobs)
        before = len(model.requests)
        fathom.api.add(make_meeting(5000, _after(meetings), guests=[("New Person", "new.person@acmecorp.com")]))
        fathom.request_log.clear()
        record = run(runtime.jobs)
        assert paths(fathom) == ["/external/v1/meetings", "/external/v1/recordings/5000/transcript"]
    assert len(model.requests) - before == 3  # one map, one qualification, one reduce
    assert (record.stats.meetings, record.stats.cached_meetings, record.stats.llm_calls) == (13, 12, 3)
    assert record.summary is not None and "new.person@acmecorp.com" in {p.email for p in record.summary.people}


def test_changes_since_the_last_run_name_the_new_meeting_and_the_new_person(tmp_path: Path) -> None:
    """A second run that sees one new meeting with one new person says so in summary.changes, by id and name."""
    meetings = make_account(count=6)
    with FathomServer(meetings) as fathom:
        runtime = make_runtime(tmp_path, fathom, None)
        first = run(runtime.jobs)
        fathom.api.add(make_meeting(5000, _after(meetings), guests=[("New Person", "new.person@acmecorp.com")]))
        second = run(runtime.jobs)
    assert first.summary is not None and first.summary.changes is None
    assert second.summary is not None and second.summary.changes is not None
    changes = second.summary.changes
    assert (changes.since_run_id, changes.since) == (first.run_id, first.to_json()["created_at"])
    assert changes.new_meetings == [5000]
    assert changes.new_people == ["New Person"]
    # the previous run's latest meeting had Maria Garcia (meetings alternate John, Maria), absent since
    assert changes.people_not_seen_since == ["Maria Garcia"]
    assert second.summary.coverage is not None
    assert (second.summary.coverage.meetings, second.summary.coverage.analysed) == (7, 7)


def test_invented_quotes_are_dropped_and_counted(tmp_path: Path, model: FakeOpenAI) -> None:
    """A quote the model made up never reaches the summary and is counted in stats.evidence_dropped."""
    model.invent_quote_next()
    with FathomServer(make_account(count=3)) as fathom:
        record = run(make_runtime(tmp_path, fathom, model, OPENAI_CONCURRENCY="1").jobs)
    assert record.stats.evidence_dropped >= 1
    assert record.summary is not None
    quotes = [
        ev.quote
        for items in (record.summary.goals_detail, record.summary.challenges_detail, record.summary.risks_detail)
        for item in items
        for ev in item.evidence
    ]
    assert quotes and all("invented" not in q.lower() for q in quotes)
    assert all(ev.verified for t in record.summary.themes for ev in t.evidence)


def test_progress_is_reported_stage_by_stage(tmp_path: Path) -> None:
    """The record passes through indexing, counting and analysing stages with done/total progress."""
    seen: list[tuple[str, int, int | None]] = []
    with FathomServer(sample_meetings()) as fathom:
        runtime = make_runtime(tmp_path, fathom, None)
        original = runtime.repo.save

        def spy(record: JobRecord) -> bool:
            seen.append((record.stage, record.progress.done, record.progress.total))
            return original(record)

        runtime.repo.save = spy  # type: ignore[method-assign]
        run(runtime.jobs)
    stages = [stage for stage, _, _ in seen]
    assert "checking Fathom for new meetings" in stages
    assert "indexing Fathom: 10 meetings" in stages and "indexing Fathom: 29 meetings" in stages
    assert "meetings found: 23" in stages
    assert ("analysed 23/23 meetings", 23, 23) in seen
    assert stages[-1] == "complete"


def test_an_account_without_meetings_completes_without_a_model_call(tmp_path: Path, model: FakeOpenAI) -> None:
    """No meetings: complete with meetings_count 0, a note, empty insight lists and no model call."""
    with FathomServer(sample_meetings()) as fathom:
        record = run(make_runtime(tmp_path, fathom, model).jobs, "nobody-here.com")
    assert model.requests == []
    assert record.summary is not None and record.summary.meetings_count == 0
    assert record.summary.themes == [] and record.summary.recommendations == []
    assert record.summary.notes and "No recorded Fathom meetings" in record.summary.notes[0]


def _after(meetings: list[dict]) -> object:
    from datetime import datetime, timedelta

    last = max(datetime.fromisoformat(m["created_at"]) for m in meetings)
    return last + timedelta(days=3)


def test_the_record_carries_the_facts_while_the_analysis_runs(tmp_path: Path, model: FakeOpenAI) -> None:
    """At the first model call the stored record is still processing but already has counts, people and months."""
    seen: list[JobRecord] = []
    first = threading.Lock()  # the map calls run four at a time
    with FathomServer(sample_meetings()) as fathom:
        runtime = make_runtime(tmp_path, fathom, model)

        def answer(body: dict[str, Any]) -> Any:
            with first:
                if not seen:
                    seen.extend(JobRecord.model_validate(v) for _, v in runtime.store.items("engagement:acmecorp.com:"))
            user = "\n".join(str(m.get("content", "")) for m in body["messages"] if m.get("role") == "user")
            return (
                answer_reduce(user)
                if body["response_format"]["json_schema"]["name"] == "AccountAnalysis"
                else (answer_map(user))
            )

        model.respond_with(answer)
        final = run(runtime.jobs)
    [during] = seen
    assert during.status is JobStatus.PROCESSING and during.summary is not None
    assert during.summary.meetings_count == final.summary.meetings_count == 23  # type: ignore[union-attr]
    assert during.summary.people == final.summary.people  # type: ignore[union-attr]
    assert during.summary.meetings_by_month == final.summary.meetings_by_month  # type: ignore[union-attr]
    assert not during.summary.goals and not during.summary.themes


# ---------------------------------------------------------------- transcripts Fathom has not made yet


class Clock:
    """A settable clock for the jobs' idea of now (the transcript back-off reads it)."""

    def __init__(self, now: datetime) -> None:
        self.now = now

    def __call__(self) -> datetime:
        return self.now


def clocked_runtime(tmp_path: Path, fathom: FathomServer, clock: Clock) -> Runtime:
    settings = Settings.from_env(
        {
            "FATHOM_API_KEY": FAKE_API_KEY,
            "FATHOM_BASE_URL": fathom.base_url,
            "ENGAGEMENT_DB": str(tmp_path / "pending.sqlite"),
        }
    )
    return create_runtime(settings, store=SqliteKV(settings.engagement_db), executor=InlineExecutor(), clock=clock)


FRESH = 5000
FRESH_AT = ACCOUNT_START + timedelta(days=30)  # created_at; the recording ended 35 s before


def fresh_meeting() -> dict[str, Any]:
    return make_meeting(FRESH, FRESH_AT, guests=[("John Smith", "john.smith@acmecorp.com")], transcript=False)


def transcript_asks(fathom: FathomServer) -> int:
    return paths(fathom).count(f"/external/v1/recordings/{FRESH}/transcript")


def fresh_ref(record: JobRecord) -> MeetingRef:
    assert record.summary is not None
    return next(ref for ref in record.summary.meetings if ref.recording_id == FRESH)


def test_a_pending_transcript_is_asked_for_again_and_analysed_when_it_appears_on_the_third_ask(tmp_path: Path) -> None:
    """No transcript 5 min after the meeting: "transcript pending", asked again after 10 min and 1 h (not before),
    and analysed on the third ask, when Fathom has made it; then never asked for again."""
    clock = Clock(FRESH_AT + timedelta(minutes=5))
    with FathomServer([*make_account(count=3), fresh_meeting()]) as fathom:
        runtime = clocked_runtime(tmp_path, fathom, clock)
        first = run(runtime.jobs)
        assert transcript_asks(fathom) == 1
        assert (fresh_ref(first).no_transcript, fresh_ref(first).analysed) == ("transcript pending", False)
        assert first.summary is not None
        assert any("Fathom has not made yet (transcript pending)" in n for n in first.summary.notes)

        clock.now = FRESH_AT + timedelta(minutes=12)  # 7 min after the first ask: not yet
        assert fresh_ref(run(runtime.jobs)).no_transcript == "transcript pending"
        assert transcript_asks(fathom) == 1

        clock.now = FRESH_AT + timedelta(minutes=20)  # 15 min after: the second ask, still none
        assert fresh_ref(run(runtime.jobs)).no_transcript == "transcript pending"
        assert transcript_asks(fathom) == 2

        fathom.api.set_transcript(FRESH, make_meeting(FRESH, FRESH_AT)["transcript"])
        clock.now = FRESH_AT + timedelta(minutes=50)  # 30 min after the second ask: the hour is not up
        run(runtime.jobs)
        assert transcript_asks(fathom) == 2

        clock.now = FRESH_AT + timedelta(minutes=90)  # the third ask: there it is
        third = run(runtime.jobs)
        assert transcript_asks(fathom) == 3
        assert (fresh_ref(third).no_transcript, fresh_ref(third).analysed) == (None, True)

        clock.now = FRESH_AT + timedelta(days=3)
        again = run(runtime.jobs)
        assert transcript_asks(fathom) == 3, "an analysed meeting is not asked for again"
        assert fresh_ref(again).analysed and fresh_ref(again).no_transcript is None


def test_a_transcript_still_missing_a_week_after_the_meeting_is_no_transcript_for_good(tmp_path: Path) -> None:
    """Pending for a week; the 404 of the ask a week on makes it "no transcript", never asked for again."""
    clock = Clock(FRESH_AT + timedelta(days=6, hours=23))
    with FathomServer([*make_account(count=3), fresh_meeting()]) as fathom:
        runtime = clocked_runtime(tmp_path, fathom, clock)
        assert fresh_ref(run(runtime.jobs)).no_transcript == "transcript pending"
        clock.now = FRESH_AT + timedelta(days=8)
        assert fresh_ref(run(runtime.jobs)).no_transcript == "no transcript"
        clock.now = FRESH_AT + timedelta(days=30)
        assert fresh_ref(run(runtime.jobs)).no_transcript == "no transcript"
        assert transcript_asks(fathom) == 2


def test_the_back_off_is_bounded_by_a_week_after_the_meeting() -> None:
    """10 min, 1 h, then daily; never past a week after the meeting; None once the week is over."""
    ended = datetime(2026, 9, 17, 10, 0, tzinfo=UTC)
    at = ended + timedelta(minutes=1)
    assert next_ask(ended, 1, at) == at + timedelta(minutes=10)
    assert next_ask(ended, 2, at) == at + timedelta(hours=1)
    assert next_ask(ended, 3, at) == next_ask(ended, 9, at) == at + timedelta(days=1)
    late = ended + timedelta(days=6, hours=20)
    assert next_ask(ended, 5, late) == ended + TRANSCRIPT_WAIT
    assert next_ask(ended, 6, ended + TRANSCRIPT_WAIT) is None


def test_a_filtered_run_judges_time_signals_on_the_accounts_whole_history(tmp_path: Path) -> None:
    """A run for dates that end 90 days ago, on an account that met 5 days ago: no "gone dark", no cadence drop."""
    from datetime import UTC, datetime, timedelta

    from engagement.models import JobOptions

    now = datetime.now(UTC)
    meetings = make_account(count=30, start=now - timedelta(days=5 + 7 * 29))  # weekly, the last one 5 days ago
    until = (now - timedelta(days=90)).date()
    with FathomServer(meetings) as fathom:
        runtime = make_runtime(tmp_path, fathom, None)
        options = JobOptions(since=(now - timedelta(days=300)).date().isoformat(), until=until.isoformat())
        record = runtime.jobs.get("acmecorp.com", runtime.jobs.start("acmecorp.com", options))
        runtime.close()
    assert record.status is JobStatus.COMPLETE, record.error
    summary = record.summary
    assert summary is not None and summary.last_meeting is not None and summary.last_meeting <= until.isoformat()
    kinds = {signal.kind for signal in summary.signals}
    assert not kinds & {"gone_dark", "cadence_drop"}, summary.signals
    assert summary.coverage is not None
    why = {note.kind: note.why for note in summary.coverage.not_judged}
    assert why["single_threaded"].startswith("the dates asked for end before the account's latest meeting")


def test_a_recommendation_that_names_one_of_ours_as_the_customer_is_dropped(tmp_path: Path, model: FakeOpenAI) -> None:
    """The model recommends "De-risk the concern Jane Doe raised" (Jane is ours): dropped; the rest stays."""
    import json as _json

    def answer(body: dict[str, Any]) -> dict[str, Any]:
        user = body["messages"][-1]["content"]
        if body["response_format"]["json_schema"]["name"] == "MeetingAnalysis":
            return answer_map(user)
        if body["response_format"]["json_schema"]["name"] == "QualificationAnswer":
            return answer_qualification(body["messages"][0]["content"], user)
        out = answer_reduce(user)
        cited = next(i for item in out["risks"] + out["goals"] for i in item["evidence_ids"])
        out["recommendations"] = [
            {"text": "De-risk the concern Jane Doe raised about the budget.", "evidence_ids": [cited]},
            {"text": "Send the security pack before the review.", "evidence_ids": [cited]},
        ]
        return _json.loads(_json.dumps(out))

    model.respond_with(answer)
    with FathomServer(make_account(count=2)) as fathom:
        runtime = make_runtime(tmp_path, fathom, model)
        record = run(runtime.jobs)
        runtime.close()
    assert record.summary is not None
    assert record.summary.recommendations == ["Send the security pack before the review."]
