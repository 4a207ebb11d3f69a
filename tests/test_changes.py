"""What changed since the last run, from two hand-built summaries: ids and names, nothing re-analysed."""

from __future__ import annotations

from datetime import UTC, datetime

from engagement.account.changes import changes_since
from engagement.models import EngagementSummary, JobRecord, JobStatus, Person, Side, Signal, Theme
from tests.support.meeting_factory import ref

WHEN = datetime(2026, 6, 1, 9, 0, tzinfo=UTC)


def record(summary: EngagementSummary | None) -> JobRecord:
    return JobRecord(
        domain="acmecorp.com",
        run_id="run-1",
        status=JobStatus.COMPLETE,
        summary=summary,
        created_at=WHEN,
        updated_at=WHEN,
    )


def person(name: str, side: Side = Side.CUSTOMER) -> Person:
    return Person(key=name.lower(), name=name, side=side)


def test_themes_risks_and_signals_are_compared_by_wording_and_identity():
    """New themes and risks by normalised wording; signals by kind (and person): new ones and resolved ones."""
    before = EngagementSummary(
        meetings=[ref(1, "2026-05-01", ["Ana"])],
        people=[person("Ana")],
        themes=[Theme(topic="Pricing", mentions=1)],
        risks=["Budget freeze"],
        signals=[
            Signal(kind="gone_dark", severity="high", title="No meeting for 40 days"),
            Signal(kind="champion_quiet", severity="high", title="Bo has gone quiet", subject="Bo"),
        ],
    )
    now = EngagementSummary(
        meetings=[ref(2, "2026-06-10", ["Ana"]), ref(1, "2026-05-01", ["Ana"])],
        people=[person("Ana"), person("Dana Reyes", Side.INTERNAL)],
        themes=[Theme(topic="pricing", mentions=2), Theme(topic="Security review", mentions=1)],
        risks=["Budget  FREEZE", "Legal may take a quarter"],
        signals=[
            Signal(kind="champion_quiet", severity="high", title="Bo has gone quiet", subject="Bo"),
            Signal(kind="single_threaded", severity="medium", title="Only Ana"),
        ],
    )
    changes = changes_since(record(before), now)
    assert changes is not None
    assert changes.model_dump() == {
        "since_run_id": "run-1",
        "since": "2026-06-01T09:00:00.000000Z",
        "new_meetings": [2],
        "new_people": [],  # only customer people count; a new colleague is not news about the account
        "people_not_seen_since": [],
        "new_themes": ["Security review"],
        "new_risks": ["Legal may take a quarter"],
        "resolved_signals": ["gone_dark"],
        "new_signals": ["single_threaded"],
    }


def test_without_new_meetings_nobody_is_missing_and_without_a_summary_there_is_nothing():
    """No new meeting: people_not_seen_since stays empty; a previous run with no summary gives None."""
    same = EngagementSummary(meetings=[ref(1, "2026-05-01", ["Ana"])], people=[person("Ana")])
    changes = changes_since(record(same), same)
    assert changes is not None and changes.new_meetings == changes.people_not_seen_since == []
    assert changes_since(record(None), same) is None


def test_a_signal_that_can_no_longer_be_judged_is_not_resolved():
    """No senior voice raised last time and not judged now (roles unknown): not listed as resolved."""
    from engagement.models import Coverage, NotJudged

    before = EngagementSummary(signals=[Signal(kind="no_senior_voice", severity="medium", title="t")])
    unknown = EngagementSummary(
        coverage=Coverage(
            not_judged=[NotJudged(kind="no_senior_voice", why="roles unknown for 2 of 2 customer people")]
        )
    )
    changes = changes_since(record(before), unknown)
    assert changes is not None and changes.resolved_signals == []
    judged_quiet = changes_since(record(before), EngagementSummary(coverage=Coverage()))
    assert judged_quiet is not None and judged_quiet.resolved_signals == ["no_senior_voice"]


def test_a_run_of_other_domains_is_no_last_run_to_compare_with():
    """Linked since the last run (acmecorp.co added): its meeting and Liam are not 'new', so nothing is compared;
    the same domains in another order still compare."""
    before = EngagementSummary(domain="acmecorp.com", meetings=[ref(1, "2026-05-01", ["Ana"])], people=[person("Ana")])
    linked = EngagementSummary(
        domain="acmecorp.com",
        domains=["acmecorp.com", "acmecorp.co"],
        meetings=[ref(2, "2026-05-03", ["Liam"]), ref(1, "2026-05-01", ["Ana"])],
        people=[person("Ana"), person("Liam")],
    )
    assert changes_since(record(before), linked) is None
    again = linked.model_copy(update={"domains": ["acmecorp.co", "acmecorp.com"]})
    changes = changes_since(record(linked), again)
    assert changes is not None and changes.new_meetings == [] and changes.new_people == []
