"""Roles a rep sets on the summary page: kept per account and person, shown as "set by a rep", read by the signals."""

from __future__ import annotations

import uuid
from datetime import date
from pathlib import Path

import pytest
from streamlit.testing.v1 import AppTest

from engagement.account.rep_roles import ROLES_TABLE, RepRoles, apply_rep_roles, with_rep_roles
from engagement.account.signals import judge
from engagement.errors import InvalidRoleError
from engagement.models import Coverage, EngagementSummary, Person, Side
from engagement.render import report
from engagement.render.present import people_rows
from engagement.storage.sqlite import SqliteKV
from tests.support.meeting_factory import ref
from tests.support.summary_factory import make_record
from tests.test_pages import app, fresh_runtime, runtime, seed  # noqa: F401 - fresh_runtime: each test its own runtime

TODAY = date(2026, 12, 6)


@pytest.fixture
def book(tmp_path: Path) -> RepRoles:
    return RepRoles(SqliteKV(str(tmp_path / "roles.sqlite")).table(ROLES_TABLE))


def account() -> EngagementSummary:
    """Two customer people who spoke, roles unknown: no_senior_voice cannot be judged."""
    people = [
        Person(key="ana@acmecorp.com", name="Ana Ruiz", email="ana@acmecorp.com", side=Side.CUSTOMER, spoke_in=1),
        Person(key="bo@acmecorp.com", name="Bo Lind", email="bo@acmecorp.com", side=Side.CUSTOMER, spoke_in=1),
    ]
    meetings = [ref(1, "2026-12-01", ["Ana Ruiz"])]
    summary = EngagementSummary(domain="acmecorp.com", meetings_count=1, people=people, meetings=meetings)
    judged = judge(summary, today=TODAY)
    summary.signals, summary.coverage = judged.signals, Coverage(meetings=1, not_judged=judged.not_judged)
    return summary


def test_a_role_set_by_a_rep_is_shown_as_such_and_judged_by_the_signals(book: RepRoles) -> None:
    """Both people set as analysts by a rep: 'set by a rep' in the table, and no_senior_voice can now fire."""
    summary = account()
    assert [note.kind for note in summary.coverage.not_judged] == ["no_senior_voice"]  # type: ignore[union-attr]
    book.set(summary, "ana@acmecorp.com", "Analyst")
    book.set(summary, "bo@acmecorp.com", "  Sales   ops ")
    shown = apply_rep_roles(summary, book.for_account("acmecorp.com"), today=TODAY)
    rows = {row.name: row for row in people_rows(shown)}
    assert (rows["Ana Ruiz"].role, rows["Ana Ruiz"].role_from) == ("Analyst", "set by a rep")
    assert rows["Bo Lind"].role == "Sales ops"
    assert "no_senior_voice" in [signal.kind for signal in shown.signals]
    assert shown.coverage is not None and not shown.coverage.not_judged
    assert summary.people[0].role == "", "the stored summary is not changed"


def test_a_rep_role_is_per_account_and_an_empty_one_clears_it(book: RepRoles) -> None:
    """Another account's roles are its own; saving an empty role removes the rep's."""
    summary = account()
    other = account().model_copy(update={"domain": "globex.io"})
    book.set(summary, "ana@acmecorp.com", "CFO")
    assert book.for_account("globex.io") == {}
    book.set(other, "ana@acmecorp.com", "Intern")
    assert book.for_account("acmecorp.com")["ana@acmecorp.com"].role == "CFO"
    assert book.set(summary, "ana@acmecorp.com", "") is None
    assert book.for_account("acmecorp.com") == {}


@pytest.mark.parametrize(
    ("key", "role", "message"),
    [("nobody@x.com", "CFO", "not in this summary"), ("ana@acmecorp.com", "x" * 81, "at most 80")],
)
def test_a_role_that_cannot_be_kept_says_why_and_stores_nothing(
    book: RepRoles, key: str, role: str, message: str
) -> None:
    """An unknown person or an over-long role is refused with what to do; nothing is stored."""
    with pytest.raises(InvalidRoleError, match=message):
        book.set(account(), key, role)
    assert book.for_account("acmecorp.com") == {}


def test_the_exports_show_the_rep_role(book: RepRoles) -> None:
    """The Markdown export of the record with the reps' roles says the role and where it came from."""
    summary = account()
    record = make_record(summary, run_id=str(uuid.uuid4()))
    book.set(summary, "ana@acmecorp.com", "Chief Financial Officer")
    shown = with_rep_roles(record, book)
    markdown = report.to_markdown(shown)
    assert "Chief Financial Officer" in markdown and "set by a rep" in markdown
    assert "set by a rep" in report.people_csv(shown.summary)  # type: ignore[arg-type]


def test_the_summary_page_sets_a_role_and_shows_it_set_by_a_rep() -> None:
    """On the page a rep picks a person, types a role and saves: the people table shows it, set by a rep."""
    summary = account()
    record = seed(make_record(summary, run_id=str(uuid.uuid4())))
    at: AppTest = app(domain=record.domain, run_id=record.run_id).run().run()  # the second run settles the page
    assert not at.exception
    at.selectbox(key="summary_role_person").set_value("bo@acmecorp.com")
    at.text_input(key="summary_role_text").set_value("VP of Finance")
    at.button(key="FormSubmitter:summary_role_form-Save role").click().run()
    assert not at.exception and not at.error
    assert (
        runtime().roles is not None
        and runtime().roles.for_account("acmecorp.com")["bo@acmecorp.com"].role == "VP of Finance"
    )  # type: ignore[union-attr]
    [table] = [frame.value for frame in at.dataframe if "Role from" in frame.value.columns]
    row = table[table["Name"] == "Bo Lind"].iloc[0]
    assert (row["Role"], row["Role from"]) == ("VP of Finance (set by a rep)", "set by a rep")


def test_forgetting_a_customer_forgets_the_roles_reps_set_for_its_people(capsys: pytest.CaptureFixture[str]) -> None:
    """A rep's role names a person of the account: forget the account and it is gone with the rest."""
    from engagement.jobs.service import InlineExecutor
    from engagement.runtime import create_runtime
    from engagement.settings import Settings
    from tests.support.cli import run_cli

    assert run_cli(capsys, "summarize", "acmecorp.com")[0] == 0
    runtime = create_runtime(Settings.from_env(), executor=InlineExecutor())
    try:
        row = runtime.repo.latest_complete("acmecorp.com")
        assert row is not None
        record = runtime.jobs.get("acmecorp.com", row.run_id)
        assert record.summary is not None and runtime.roles is not None
        runtime.roles.set(record.summary, "kevin.walsh@acmecorp.com", "Salesforce administrator")
        assert runtime.roles.for_account("acmecorp.com")
    finally:
        runtime.close()
    assert run_cli(capsys, "forget", "acmecorp.com")[0] == 0
    runtime = create_runtime(Settings.from_env(), executor=InlineExecutor())
    try:
        assert runtime.roles is not None and runtime.roles.for_account("acmecorp.com") == {}
    finally:
        runtime.close()
