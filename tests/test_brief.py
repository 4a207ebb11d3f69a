"""The brief for the next meeting: every line a verified quote or a rule's suggestion, nothing invented."""

from __future__ import annotations

import json
from datetime import date

import pytest

from engagement.brief import build_brief
from engagement.demo import load_demo_meetings
from engagement.jobs.service import InlineExecutor
from engagement.models import EngagementSummary, Meeting, Side
from engagement.runtime import create_runtime
from engagement.settings import Settings
from tests.support.cli import run_cli
from tests.support.quotes import folded, transcripts_of

TODAY = date(2026, 12, 7)  # 25 days after Acme's last demo meeting


def acme(capsys: pytest.CaptureFixture[str]) -> tuple[EngagementSummary, Meeting | None]:
    """Acme's demo summary and its latest meeting with a transcript, as the command line stores them."""
    code, out, err = run_cli(capsys, "summarize", "acmecorp.com", "--json")
    assert code == 0, err
    summary = EngagementSummary.model_validate(json.loads(out)["summary"])
    last = next(m for m in summary.meetings if m.has_transcript)
    runtime = create_runtime(Settings.from_env(), executor=InlineExecutor())
    try:
        assert runtime.search is not None
        return summary, runtime.search.meeting(last.recording_id)
    finally:
        runtime.close()


def test_every_line_is_a_verified_quote_or_a_rules_suggestion(capsys: pytest.CaptureFixture[str]) -> None:
    """On Acme: every quote is verbatim in its own meeting; a line without one names the rule that made it."""
    summary, last = acme(capsys)
    brief = build_brief(summary, TODAY, last)
    transcripts = transcripts_of(load_demo_meetings())
    sections = [brief.attendees, brief.risks, brief.challenges, brief.asked_last_time, brief.commitments, brief.gaps]
    assert all(sections[:5]), "Acme has people, risks, challenges, questions and promises to brief on"
    for line in (line for section in sections for line in section):
        assert line.evidence or line.rule, line
        for evidence in line.evidence:
            assert evidence.verified and folded(evidence.quote) in transcripts[evidence.recording_id], evidence.quote
    for line in brief.risks + brief.challenges + brief.asked_last_time:
        assert all(e.side is Side.CUSTOMER for e in line.evidence), "their worries and questions are theirs"
    assert all(e.side is Side.INTERNAL for line in brief.commitments for e in line.evidence)
    customers = {p.name for p in summary.people if p.side is Side.CUSTOMER}
    assert {line.text.split(",")[0].split(" (")[0] for line in brief.attendees} <= customers
    greg = next(line for line in brief.attendees if line.text.startswith("Greg Thompson"))
    assert "CRO" in greg.text and greg.evidence  # his role, with the words it rests on


def test_an_account_with_nothing_recent_says_so() -> None:
    """No meeting in the last 90 days: the brief says when the last was, and lists no one as likely to attend."""
    summary = EngagementSummary(domain="quiet.example", company="Quiet", meetings_count=0, last_meeting="2026-01-05")
    brief = build_brief(summary, TODAY)
    assert brief.note == "No meetings in the last 90 days: the last was on 5 Jan 2026."
    assert brief.attendees == [] and brief.asked_last_time == [] and brief.commitments == []


def test_the_command_line_prints_the_brief_or_says_to_summarise_first(capsys: pytest.CaptureFixture[str]) -> None:
    """brief before any summary exits 2 saying what to run; after one, it prints the sections (and JSON)."""
    code, _, err = run_cli(capsys, "brief", "acmecorp.com")
    assert code == 2 and "summarize acmecorp.com" in err
    assert run_cli(capsys, "summarize", "acmecorp.com")[0] == 0
    code, out, _ = run_cli(capsys, "brief", "https://www.acmecorp.com")
    assert code == 0 and out.startswith("Brief for the next meeting with Acme Corp (acmecorp.com)")
    for heading in (
        "Likely to attend",
        "Risks they raised, in their words",
        "Our commitments not seen done",
        "Gaps to close",
    ):
        assert heading in out
    code, out, _ = run_cli(capsys, "brief", "acmecorp.com", "--json")
    assert code == 0 and json.loads(out)["domain"] == "acmecorp.com"
