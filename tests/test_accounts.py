"""The accounts list from index activity rows: who is listed, the exact figures, and the open signals."""

from __future__ import annotations

import json
from datetime import UTC, date, datetime
from pathlib import Path

import pytest

from engagement.account.domains import PERSONAL_EMAIL_DOMAINS
from engagement.accounts import account_rows, latest_complete_runs, missing_choices, refresh_due
from engagement.jobs.repository import JobRepository, JobRow
from engagement.meetings.index import DomainActivity
from engagement.models import (
    EngagementSummary,
    JobRecord,
    JobStatus,
    Qualification,
    QualificationElement,
    Signal,
)
from engagement.storage.sqlite import SqliteKV

TODAY = date(2026, 6, 30)


def run(domain: str, *signals: Signal) -> JobRow:
    """The job index row of a complete run whose summary raised ``signals``."""
    when = datetime(2026, 6, 1, tzinfo=UTC)
    record = JobRecord(
        domain=domain,
        run_id=f"run-{domain}",
        status=JobStatus.COMPLETE,
        summary=EngagementSummary(domain=domain, signals=list(signals)),
        created_at=when,
        updated_at=when,
    )
    return JobRow.of(record)


ACTIVITY = [
    DomainActivity("acmecorp.com", 12, 6, "2026-01-05T10:00:00.000000Z", "2026-06-20T10:00:00.000000Z", 6, 6),
    DomainActivity("globex.io", 7, 4, "2026-01-10T10:00:00.000000Z", "2026-04-01T10:00:00.000000Z", 1, 6),
    DomainActivity("gmail.com", 3, 2, "2026-02-01T10:00:00.000000Z", "2026-06-01T10:00:00.000000Z", 3, 0),
    DomainActivity("signalpath.io", 25, 5, "2026-01-05T10:00:00.000000Z", "2026-06-28T10:00:00.000000Z", 15, 10),
    DomainActivity(
        "bridgepoint-consulting.com", 1, 1, "2026-03-01T10:00:00.000000Z", "2026-03-01T10:00:00.000000Z", 0, 1
    ),
]


def test_personal_mailboxes_and_our_own_domains_are_not_accounts():
    """gmail.com and our signalpath.io are left out; a partner company is listed."""
    rows = account_rows(ACTIVITY, today=TODAY, our_domains={"signalpath.io"})
    assert [r.domain for r in rows] == ["acmecorp.com", "globex.io", "bridgepoint-consulting.com"]


def test_figures_are_exact_and_days_since_last_counts_from_today():
    """Each row keeps the index's counts; dates are days; days since the last meeting are from today."""
    acme = account_rows(ACTIVITY, today=TODAY)[1]
    assert acme.model_dump(exclude={"signals"}) == {
        "domain": "acmecorp.com",
        "domains": ["acmecorp.com"],
        "meetings": 12,
        "people": 6,
        "first_meeting": "2026-01-05",
        "last_meeting": "2026-06-20",
        "days_since_last": 10,
        "last_90_days": 6,
        "previous_90_days": 6,
        "run_id": None,
        "qualification": [],
        "refresh_due": False,
    }


def test_gone_dark_and_cadence_drop_come_from_the_index_and_the_rest_from_the_latest_run():
    """Globex: 90 days dark, 1 meeting against 6; the run's stale gone_dark replaced, champion_quiet kept, info left out."""
    latest = {
        "globex.io": run(
            "globex.io",
            Signal(kind="gone_dark", severity="medium", title="No meeting for 31 days"),
            Signal(kind="champion_quiet", severity="high", title="Nina has gone quiet", subject="Nina"),
            Signal(kind="talk_share", severity="info", title="Our side spoke 40% of the words"),
        )
    }
    globex = next(r for r in account_rows(ACTIVITY, today=TODAY, latest=latest) if r.domain == "globex.io")
    assert [(s.kind, s.severity, s.value) for s in globex.signals] == [
        ("gone_dark", "high", 90),
        ("champion_quiet", "high", None),
        ("cadence_drop", "medium", 1),
    ]
    assert globex.run_id == "run-globex.io"
    acme = next(r for r in account_rows(ACTIVITY, today=TODAY) if r.domain == "acmecorp.com")
    assert acme.signals == []  # 10 days, 6 against 6: nothing to say


def test_latest_complete_runs_read_the_signals_from_index_rows_without_loading_a_record(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Each listed domain's newest complete run comes from the job index, its signals with it; no record is read."""
    repo = JobRepository(SqliteKV(str(tmp_path / "jobs.sqlite")))
    quiet = Signal(kind="champion_quiet", severity="high", title="Ana has gone quiet", subject="Ana")

    def complete(domain: str, run_id: str, month: int, *signals: Signal) -> JobRecord:
        when = datetime(2026, month, 1, tzinfo=UTC)
        summary = EngagementSummary(domain=domain, signals=list(signals))
        return JobRecord(
            domain=domain, run_id=run_id, status=JobStatus.COMPLETE, summary=summary, created_at=when, updated_at=when
        )

    repo.create(
        complete("acmecorp.com", "a", 5), complete("acmecorp.com", "b", 6, quiet), complete("globex.io", "c", 6)
    )

    def no_record(*args: object, **kwargs: object) -> None:
        raise AssertionError("the accounts list must not load a record")

    monkeypatch.setattr(repo, "load", no_record)
    monkeypatch.setattr(repo.store, "get", no_record)
    latest = latest_complete_runs(repo, {"acmecorp.com"})
    assert list(latest) == ["acmecorp.com"]
    assert (latest["acmecorp.com"].run_id, latest["acmecorp.com"].signals) == ("b", [quiet])


def test_the_accounts_command_lists_the_demo_workspace_with_exact_figures(capsys: pytest.CaptureFixture[str]) -> None:
    """accounts --json: customers and partners, not personal mailboxes or our signalpath.io; counts from the raw JSON."""
    from collections import defaultdict

    from engagement.__main__ import main
    from engagement.account.domains import registrable_domain
    from engagement.demo import load_demo_meetings

    meetings: dict[str, set[int]] = defaultdict(set)
    people: dict[str, set[str]] = defaultdict(set)
    days: dict[str, list[str]] = defaultdict(list)
    for m in load_demo_meetings():
        for invitee in m["calendar_invitees"]:
            if invitee.get("is_external") and invitee.get("email"):
                domain = registrable_domain(invitee["email"].rpartition("@")[2])
                assert domain is not None
                if m["recording_id"] not in meetings[domain]:
                    days[domain].append(m["created_at"][:10])
                meetings[domain].add(m["recording_id"])
                people[domain].add(invitee["email"].lower())
    assert main(["summarize", "globex.io"]) == 0
    capsys.readouterr()
    assert main(["accounts", "--json"]) == 0
    rows = {row["domain"]: row for row in json.loads(capsys.readouterr().out)}
    assert {"acmecorp.com", "brightwater.co.uk", "globex.io", "bridgepoint-consulting.com"} <= set(rows)
    assert "signalpath.io" not in rows and "gmail.com" not in rows
    assert not set(rows) & PERSONAL_EMAIL_DOMAINS
    for domain, row in rows.items():
        expected = (len(meetings[domain]), len(people[domain]), min(days[domain]), max(days[domain]))
        assert (row["meetings"], row["people"], row["first_meeting"], row["last_meeting"]) == expected, domain
        assert row["days_since_last"] == max(0, (date.today() - date.fromisoformat(row["last_meeting"])).days)
    globex = rows["globex.io"]
    assert globex["run_id"] is not None and rows["acmecorp.com"]["run_id"] is None
    assert ("gone_dark" in [s["kind"] for s in globex["signals"]]) == (globex["days_since_last"] > 30)
    states = {e["key"]: e["status"] for e in globex["qualification"]}
    assert len(states) == 8 and states["paper_process"] == "our_side_only"  # the latest run's, from its index row
    assert rows["acmecorp.com"]["qualification"] == []


def test_a_rows_qualification_says_what_is_evidenced_and_what_is_missing():
    """The latest run's element states ride on its index row: "6/8 evidenced", and a missing element is one not
    evidenced (conflicting included); an account with no qualified run lacks nothing we know of."""
    record = JobRecord(
        domain="globex.io",
        run_id="q",
        status=JobStatus.COMPLETE,
        summary=EngagementSummary(
            domain="globex.io",
            qualification=Qualification(
                methodology="meddpicc",
                elements=[
                    QualificationElement(key="metrics", name="Metrics", status="evidenced"),
                    QualificationElement(key="economic_buyer", name="Economic buyer", status="conflicting"),
                ],
            ),
        ),
        created_at=datetime(2026, 6, 1, tzinfo=UTC),
        updated_at=datetime(2026, 6, 1, tzinfo=UTC),
    )
    rows = {r.domain: r for r in account_rows(ACTIVITY, today=TODAY, latest={"globex.io": JobRow.of(record)})}
    globex, acme = rows["globex.io"], rows["acmecorp.com"]
    assert globex.evidenced == "1/2 evidenced" and acme.evidenced == ""
    assert globex.lacks("Economic buyer") and not globex.lacks("Metrics") and not acme.lacks("Economic buyer")
    assert missing_choices(rows.values()) == ["Metrics", "Economic buyer"]


def test_an_account_summarised_while_the_index_filled_is_due_a_refresh_once_it_is_complete():
    """A latest run made on an incomplete index is marked due a refresh when the index is complete, not before; a
    run made on a complete index, or one that does not say (older records), never is."""
    partial = run("globex.io")
    partial = partial.model_copy(update={"index_complete": False})
    older = run("acmecorp.com")  # index_complete not recorded
    latest = {"globex.io": partial, "acmecorp.com": older}
    due = {r.domain for r in account_rows(ACTIVITY, today=TODAY, latest=latest, index_complete=True) if r.refresh_due}
    assert due == {"globex.io"}
    assert not [r for r in account_rows(ACTIVITY, today=TODAY, latest=latest, index_complete=False) if r.refresh_due]
    assert refresh_due(True, True) is False and refresh_due(None, True) is False and refresh_due(False, True) is True
