"""A linked account is one account everywhere: the summary of any member covers every domain, each meeting once.

The expected figures were counted by hand from the demo JSON (``engagement/demo/data/``), never by the code:

* ``acmecorp.com.json`` holds 13 meetings (A1–A13, recording ids 131277465 … 133182763), each with at least one
  ``@acmecorp.com`` invitee (A13 is filed by Fathom under bridgepoint-consulting.com but has Kevin Walsh). The first
  starts 2026-05-07 (A1, "Acme Corp <> SignalPath - Discovery"), the last 2026-11-12 (A12, the Q4 business review).
  Its distinct ``@acmecorp.com`` invitees: sarah.lopez, kevin.walsh, greg.thompson, anil.mehta, rachel.nguyen,
  olivia.grant — 6 (Sarah's ``Sarah.Lopez@AcmeCorp.com`` in A8 is the same address lower-cased).
* ``other.json`` holds one meeting with anyone at ``acmecorp.co``: O4, recording 132334571, "Acme Components <>
  SignalPath - Intro Call", 2026-08-20, whose one external invitee is Liam O'Connor ``liam.oconnor@acmecorp.co``.
  No other file has an ``@acmecorp.co`` address, and no meeting has invitees at both domains.
* Linked: 13 + 1 = 14 meetings, 6 + 1 = 7 customer people, first 2026-05-07, last 2026-11-12.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Any

import pytest

from engagement.account.domains import Account
from engagement.account.facts import aggregate
from engagement.accounts import linked_activity
from engagement.digests.content import build_digest
from engagement.jobs.repository import JobRepository
from engagement.jobs.service import InlineExecutor
from engagement.meetings.index import DomainActivity, MeetingIndex
from engagement.models import JobRecord, Side
from engagement.render.report import to_markdown
from engagement.runtime import create_runtime
from engagement.storage.sqlite import SqliteKV
from tests.fakes.fathom_server import FathomServer, make_meeting
from tests.support.cli import run_cli
from tests.support.fathom_fixtures import settings_for
from tests.support.meeting_factory import inv, meeting, rep

ACME_PEOPLE = {
    "sarah.lopez@acmecorp.com",
    "kevin.walsh@acmecorp.com",
    "greg.thompson@acmecorp.com",
    "anil.mehta@acmecorp.com",
    "rachel.nguyen@acmecorp.com",
    "olivia.grant@acmecorp.com",
}
COMPONENTS_PEOPLE = {"liam.oconnor@acmecorp.co"}
ACME_MEETINGS = 13
COMPONENTS_MEETINGS = 1
COMPONENTS_MEETING = 132334571


def summarize(capsys: pytest.CaptureFixture[str], website: str) -> dict[str, Any]:
    """``summarize WEBSITE --json`` on the demo data: the stored record."""
    code, out, err = run_cli(capsys, "summarize", website, "--json")
    assert code == 0, err
    record: dict[str, Any] = json.loads(out)
    return record


def customers(summary: dict[str, Any]) -> set[str]:
    return {p["email"] for p in summary["people"] if p["side"] == Side.CUSTOMER.value}


def test_a_summary_of_either_member_covers_both_domains_with_the_hand_counted_figures(
    capsys: pytest.CaptureFixture[str],
) -> None:
    """Linked, acmecorp.co and acmecorp.com each give 14 meetings and 7 customer people, stored under the primary."""
    assert run_cli(capsys, "accounts", "link", "acmecorp.com", "acmecorp.co")[0] == 0
    first = summarize(capsys, "acmecorp.co")  # the member a rep types: the account's summary, under its primary
    assert first["domain"] == "acmecorp.com"
    summary = first["summary"]
    assert summary["domains"] == ["acmecorp.com", "acmecorp.co"]
    assert summary["meetings_count"] == len(summary["meetings"]) == ACME_MEETINGS + COMPONENTS_MEETINGS == 14
    assert len({m["recording_id"] for m in summary["meetings"]}) == 14
    assert COMPONENTS_MEETING in {m["recording_id"] for m in summary["meetings"]}
    assert customers(summary) == ACME_PEOPLE | COMPONENTS_PEOPLE
    assert (summary["first_meeting"], summary["last_meeting"]) == ("2026-05-07", "2026-11-12")
    # Liam's words are the customer's: his meeting's rows name him as the customer
    row = next(m for m in summary["meetings"] if m["recording_id"] == COMPONENTS_MEETING)
    assert row["customer_people"] == ["Liam O'Connor"]
    # and the analysis and the qualification read his words as the customer's ("I'm worried about adding a tool");
    # the account's list keeps its most repeated and latest risks, so his day alone shows his
    code, out, err = run_cli(
        capsys, "summarize", "acmecorp.co", "--since", "2026-08-20", "--until", "2026-08-20", "--json"
    )
    assert code == 0, err
    his_day = json.loads(out)["summary"]
    risks = [ev for i in his_day["risks_detail"] for ev in i["evidence"] if ev["recording_id"] == COMPONENTS_MEETING]
    assert risks and all((ev["speaker"], ev["side"]) == ("Liam O'Connor", "customer") for ev in risks)
    qualified = [
        ev
        for element in summary["qualification"]["elements"]
        for ev in element["evidence"]
        if ev["recording_id"] == COMPONENTS_MEETING
    ]
    assert qualified and all(ev["side"] == "customer" for ev in qualified)

    second = summarize(capsys, "https://www.acmecorp.com")
    assert second["domain"] == "acmecorp.com"
    assert second["summary"]["meetings_count"] == 14
    assert customers(second["summary"]) == ACME_PEOPLE | COMPONENTS_PEOPLE
    assert second["summary"]["changes"] is not None  # "since last run": the run made from the other member


def test_the_command_line_names_the_account_with_its_other_domains(capsys: pytest.CaptureFixture[str]) -> None:
    """The text report's first line says ``acmecorp.com (with acmecorp.co)``."""
    run_cli(capsys, "accounts", "link", "acmecorp.com", "acmecorp.co")
    code, out, err = run_cli(capsys, "summarize", "acmecorp.co")
    assert code == 0, err
    assert out.splitlines()[0].startswith("acmecorp.com (with acmecorp.co)  run ")


def test_unlinking_gives_each_domain_back_its_own_summary(capsys: pytest.CaptureFixture[str]) -> None:
    """After unlinking, acmecorp.co is its 1 meeting and 1 person again, acmecorp.com its 13 and 6."""
    run_cli(capsys, "accounts", "link", "acmecorp.com", "acmecorp.co")
    assert summarize(capsys, "acmecorp.co")["summary"]["meetings_count"] == 14
    assert run_cli(capsys, "accounts", "unlink", "acmecorp.co")[0] == 0

    components = summarize(capsys, "acmecorp.co")
    assert components["domain"] == "acmecorp.co"
    assert components["summary"]["domains"] == ["acmecorp.co"]
    assert components["summary"]["meetings_count"] == COMPONENTS_MEETINGS
    assert customers(components["summary"]) == COMPONENTS_PEOPLE
    assert (components["summary"]["first_meeting"], components["summary"]["last_meeting"]) == (
        "2026-08-20",
        "2026-08-20",
    )

    acme = summarize(capsys, "acmecorp.com")
    assert acme["summary"]["domains"] == ["acmecorp.com"]
    assert acme["summary"]["meetings_count"] == ACME_MEETINGS
    assert customers(acme["summary"]) == ACME_PEOPLE
    assert COMPONENTS_MEETING not in {m["recording_id"] for m in acme["summary"]["meetings"]}


def shared_meeting() -> Any:
    """One call with a buyer at each of the company's two domains (and one of us)."""
    return meeting(
        900001,
        "2026-09-01",
        [rep(), inv("Sarah Lopez", "sarah.lopez@acmecorp.com"), inv("Liam O'Connor", "liam.oconnor@acmecorp.co")],
        [("Dana Reyes", "dana@ourco.com"), ("Sarah Lopez", None), ("Liam O'Connor", None)],
    )


def test_a_meeting_with_invitees_at_both_domains_counts_once(tmp_path: Any) -> None:
    """The index gives the shared meeting once for the account, and both buyers are the customer's."""
    index = MeetingIndex(tmp_path / "i.sqlite")
    try:
        index.add("ws", [shared_meeting()])
        account = Account.of(["acmecorp.com", "acmecorp.co"])
        found = index.meetings_for("ws", account)
    finally:
        index.close()
    assert [m.recording_id for m in found] == [900001]
    facts = aggregate(account, [shared_meeting(), *found])  # handed twice (the index keeps no transcript): once
    assert facts.meetings_count == 1
    assert facts.domains == ["acmecorp.com", "acmecorp.co"]
    sides = {p.email: p.side for p in facts.people}
    assert sides["sarah.lopez@acmecorp.com"] is Side.CUSTOMER
    assert sides["liam.oconnor@acmecorp.co"] is Side.CUSTOMER
    assert facts.meetings[0].customer_speakers == ["Liam O'Connor", "Sarah Lopez"]


def test_an_unlinked_domain_is_someone_else() -> None:
    """Without the link, acmecorp.co's buyer in the same meeting is a third party to acmecorp.com."""
    facts = aggregate("acmecorp.com", [shared_meeting()])
    sides = {p.email: p.side for p in facts.people}
    assert sides["liam.oconnor@acmecorp.co"] is Side.THIRD_PARTY
    assert facts.domains == ["acmecorp.com"]


def test_the_account_is_named_with_its_other_domains() -> None:
    """One domain is its name; linked ones read "acmecorp.com (with acmecorp.co and acmecorp.de)"."""
    assert Account.of("acmecorp.com").label() == "acmecorp.com"
    assert Account.of(["acmecorp.com", "acmecorp.co"]).label() == "acmecorp.com (with acmecorp.co)"
    assert (
        Account.of(["acmecorp.com", "acmecorp.co", "acmecorp.de"]).label()
        == "acmecorp.com (with acmecorp.co and acmecorp.de)"
    )
    assert Account.of(["acmecorp.com", "acmecorp.co"]).owns("Liam.OConnor@AcmeCorp.co")
    assert not Account.of("acmecorp.com").owns("liam.oconnor@acmecorp.co")


def account_list(capsys: pytest.CaptureFixture[str]) -> dict[str, dict[str, Any]]:
    """``accounts --json`` on the demo data, by domain."""
    code, out, err = run_cli(capsys, "accounts", "--json")
    assert code == 0, err
    return {row["domain"]: row for row in json.loads(out)}


def test_the_accounts_list_shows_a_linked_account_as_one_row_with_the_union_of_its_figures(
    capsys: pytest.CaptureFixture[str],
) -> None:
    """Linked: one acmecorp.com row naming acmecorp.co, 14 meetings and 7 people; unlinked: 13/6 and 1/1 again."""
    run_cli(capsys, "accounts", "link", "acmecorp.com", "acmecorp.co")
    rows = account_list(capsys)
    assert "acmecorp.co" not in rows
    acme = rows["acmecorp.com"]
    assert acme["domains"] == ["acmecorp.com", "acmecorp.co"]
    assert (acme["meetings"], acme["people"]) == (ACME_MEETINGS + COMPONENTS_MEETINGS, 7)
    assert (acme["first_meeting"], acme["last_meeting"]) == ("2026-05-07", "2026-11-12")

    run_cli(capsys, "accounts", "unlink", "acmecorp.com")
    rows = account_list(capsys)
    assert (rows["acmecorp.com"]["meetings"], rows["acmecorp.com"]["people"]) == (13, 6)
    assert (rows["acmecorp.co"]["meetings"], rows["acmecorp.co"]["people"]) == (1, 1)
    assert rows["acmecorp.com"]["domains"] == ["acmecorp.com"]


def test_a_linked_accounts_figures_count_a_shared_meeting_once_and_window_by_creation() -> None:
    """Union figures: the shared meeting once, both buyers, and each meeting in its 90-day window."""
    account = Account.of(["acmecorp.com", "acmecorp.co"])
    older = meeting(900002, "2026-07-01", [rep(), inv("Liam O'Connor", "liam.oconnor@acmecorp.co")])
    unrelated = meeting(900003, "2026-09-20", [rep(), inv("Ryan Holt", "ryan.holt@globex.io")])
    now = datetime(2026, 10, 1, tzinfo=UTC)  # last 90 days: from 3 Jul; the 90 before: from 4 Apr
    figures = linked_activity(account, [shared_meeting(), shared_meeting(), older, unrelated], now)
    assert figures == DomainActivity(
        domain="acmecorp.com",
        meetings=2,
        people=2,
        first_meeting="2026-07-01T15:00:00.000000Z",
        last_meeting="2026-09-01T15:00:00.000000Z",
        last_90_days=1,
        previous_90_days=1,
    )
    assert linked_activity(account, [unrelated], now) is None


def test_ask_brief_and_exports_of_a_member_are_the_linked_accounts(capsys: pytest.CaptureFixture[str]) -> None:
    """Asked through acmecorp.co, Ask searches the account's 14 meetings and Liam's words are the customer's; the
    brief and the Markdown report name the account with its other domain."""
    run_cli(capsys, "accounts", "link", "acmecorp.com", "acmecorp.co")
    record = summarize(capsys, "acmecorp.co")
    code, out, err = run_cli(capsys, "ask", "acmecorp.co", "Pipedrive", "--json")
    assert code == 0, err
    answer = json.loads(out)
    assert answer["domain"] == "acmecorp.com" and answer["searched"]["meetings"] == 14
    quotes = [ev for point in answer["points"] for ev in point["evidence"]]
    liam = [ev for ev in quotes if ev["speaker"] == "Liam O'Connor"]
    assert liam and all(ev["side"] == Side.CUSTOMER.value for ev in liam)

    code, out, err = run_cli(capsys, "brief", "acmecorp.co")
    assert code == 0, err
    assert out.splitlines()[0].startswith("Brief for the next meeting with Acme Corp (acmecorp.com, acmecorp.co), ")
    stored = JobRecord.model_validate(record)
    assert "acmecorp.com (with acmecorp.co)" in to_markdown(stored)


def test_a_digest_names_a_linked_account_once_with_new_people_at_either_domain(tmp_path: Any) -> None:
    """Linked, the period's shared meeting is one account's line and Liam (acmecorp.co) its new person; unlinked,
    each domain is an account of its own."""
    index = MeetingIndex(tmp_path / "i.sqlite")
    repo = JobRepository(SqliteKV(str(tmp_path / "jobs.sqlite")))
    before = meeting(900004, "2026-08-01", [rep(), inv("Sarah Lopez", "sarah.lopez@acmecorp.com")])
    start, end = datetime(2026, 9, 1, tzinfo=UTC), datetime(2026, 9, 2, tzinfo=UTC)
    try:
        index.add("ws", [before, shared_meeting()])
        linked = build_digest(
            index, "ws", repo, start, end, base_url="", linked={"acmecorp.com": ["acmecorp.com", "acmecorp.co"]}
        )
        apart = build_digest(index, "ws", repo, start, end, base_url="")
    finally:
        index.close()
    assert [a.name for a in linked.accounts] == ["acmecorp.com (with acmecorp.co)"]
    lines = linked.accounts[0].lines
    assert [line.kind for line in lines] == ["meeting", "person"]  # the meeting once; Sarah was met before
    assert "liam.oconnor@acmecorp.co" in lines[1].text
    assert sorted(a.name for a in apart.accounts) == ["acmecorp.co", "acmecorp.com"]


def test_a_meeting_analysed_for_one_domain_is_analysed_again_for_the_linked_account(tmp_path: Any) -> None:
    """The cached analysis of a shared meeting holds acmecorp.com's sides (acmecorp.co a third party); once linked,
    the meeting is read again and the acmecorp.co buyer's risk is the customer's."""
    shared = make_meeting(
        4242,
        datetime(2026, 9, 1, 16, 0, tzinfo=UTC),
        guests=[("Wile Coyote", "wile@acmecorp.co"), ("John Smith", "john.smith@acmecorp.com")],
    )  # the fake's transcript gives the third invitee (Wile) "The budget review could delay our rollout…"

    def risks(record: JobRecord) -> list[tuple[str, str | None]]:
        assert record.summary is not None
        return [(ev.speaker, ev.side) for i in record.summary.risks_detail for ev in i.evidence]

    with FathomServer([shared]) as fathom:
        settings = settings_for(fathom, tmp_path)
        runtime = create_runtime(settings, store=SqliteKV(settings.engagement_db), executor=InlineExecutor())
        try:
            alone = runtime.jobs.get("acmecorp.com", runtime.jobs.start("acmecorp.com"))
            assert ("Wile Coyote", "customer") not in risks(alone)
            assert runtime.links is not None
            runtime.links.link("acmecorp.com", ["acmecorp.co"])
            linked = runtime.jobs.get("acmecorp.com", runtime.jobs.start("acmecorp.com"))
        finally:
            runtime.close()
    assert linked.summary is not None and linked.summary.meetings_count == 1
    assert ("Wile Coyote", "customer") in risks(linked)
    assert linked.stats.cached_meetings == 0  # not the single domain's analysis


def test_a_meeting_shared_by_two_unlinked_customers_is_read_for_each_in_its_own_right(tmp_path: Any) -> None:
    """One meeting with buyers at globex.io and acmecorp.com: summarised for globex.io first, then for acmecorp.com,
    the second summary never shows the globex.io buyer's words as its customer's (the cached reading is per account)."""
    shared = make_meeting(
        4343,
        datetime(2026, 9, 2, 16, 0, tzinfo=UTC),
        guests=[("Wile Coyote", "wile@globex.io"), ("John Smith", "john.smith@acmecorp.com")],
    )  # the fake's transcript gives the third invitee (Wile, at globex.io) the risk sentence

    def customer_speakers(record: JobRecord) -> set[str]:
        assert record.summary is not None
        return {
            ev.speaker or ""
            for field in ("goals_detail", "challenges_detail", "risks_detail")
            for insight in getattr(record.summary, field)
            for ev in insight.evidence
            if ev.side == Side.CUSTOMER
        }

    with FathomServer([shared]) as fathom:
        settings = settings_for(fathom, tmp_path)
        runtime = create_runtime(settings, store=SqliteKV(settings.engagement_db), executor=InlineExecutor())
        try:
            globex = runtime.jobs.get("globex.io", runtime.jobs.start("globex.io"))
            acme = runtime.jobs.get("acmecorp.com", runtime.jobs.start("acmecorp.com"))
        finally:
            runtime.close()
    assert "Wile Coyote" in customer_speakers(globex)  # the globex.io reading: Wile is the customer
    assert acme.summary is not None and acme.summary.meetings_count == 1
    assert "Wile Coyote" not in customer_speakers(acme)
    assert customer_speakers(acme) <= {"John Smith"}


def test_jobs_list_of_a_member_lists_the_accounts_runs_and_says_where_they_are(
    capsys: pytest.CaptureFixture[str],
) -> None:
    """``jobs list --domain acmecorp.co`` of a linked account lists the runs kept under acmecorp.com and says so."""
    run_cli(capsys, "accounts", "link", "acmecorp.com", "acmecorp.co")
    run_id = summarize(capsys, "acmecorp.co")["run_id"]
    code, out, err = run_cli(capsys, "jobs", "list", "--domain", "acmecorp.co", "--json")
    assert code == 0
    assert [row["run_id"] for row in json.loads(out)] == [run_id]
    assert "acmecorp.co is part of acmecorp.com's account" in err
