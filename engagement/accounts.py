"""The accounts list: every external business domain in the meeting index, its figures and open signals.

:func:`list_accounts` reads the index (one aggregate query, never a meeting's JSON) and the job
index rows of each listed domain's latest complete run; :func:`account_rows` is the pure part:
activity rows (one per invitee domain, counted in SQL by the meeting index) and those runs in,
:class:`AccountRow` out. Personal mailbox providers and our own domains (the recorders' and the
internal invitees') are not accounts. ``gone_dark`` and ``cadence_drop`` are recomputed from the
index's figures (they change with every new meeting and every day); the other warnings (not the
"info" figures) are those of the domain's latest complete run.

A linked account (``engagement.account.linking``) is one row, under its primary with its other domains: its figures
are the union of its domains' (:func:`linked_activity`, counted from the account's meetings, each once), and the
rows of its other domains are not listed.
"""

from __future__ import annotations

from collections.abc import Collection, Iterable, Mapping, Sequence
from datetime import date, datetime, timedelta
from typing import Protocol

from pydantic import BaseModel, Field

from engagement.account.domains import PERSONAL_EMAIL_DOMAINS, Account
from engagement.account.facts import days_since
from engagement.account.linking import Suggestion, suggest_links
from engagement.account.signals import SEVERITIES, Thresholds, cadence_drop_signal, gone_dark_signal
from engagement.jobs.repository import JobRepository, JobRow
from engagement.meetings.index import DomainActivity, invitee_rows
from engagement.models import ElementState, JobStatus, Meeting, Signal, format_utc, utcnow
from engagement.runtime import Runtime, workspace_of
from engagement.wording import nice_date

__all__ = [
    "AccountRow",
    "Activity",
    "account_rows",
    "latest_complete_runs",
    "link_suggestions",
    "linked_activity",
    "list_accounts",
    "missing_choices",
    "refresh_due",
]

FROM_THE_INDEX = frozenset({"gone_dark", "cadence_drop"})


class Activity(Protocol):
    """One domain's figures as the meeting index counts them."""

    @property
    def domain(self) -> str: ...
    @property
    def meetings(self) -> int: ...
    @property
    def people(self) -> int: ...
    @property
    def first_meeting(self) -> str: ...
    @property
    def last_meeting(self) -> str: ...
    @property
    def last_90_days(self) -> int: ...
    @property
    def previous_90_days(self) -> int: ...


class AccountRow(BaseModel):
    """One account of the list.

    Attributes:
        domain: the registrable domain of the customer's e-mails.
        meetings / people: meetings with anyone at the domain; distinct e-mails at the domain.
        first_meeting / last_meeting: UTC dates (``YYYY-MM-DD``).
        days_since_last: whole days from the last meeting to ``today``.
        last_90_days / previous_90_days: meetings in the last 90 days, and in the 90 before.
        signals: open signals, most severe first.
        run_id: the domain's latest complete run (its summary), ``None`` when there is none.
        qualification: that run's qualification elements and their states (empty without one).
        domains: every domain of the account, ``domain`` first (a linked account's others after it).
        refresh_due: that run was made while Fathom's workspace was first indexed, which has ended since.
    """

    domain: str
    domains: list[str] = Field(default_factory=list)
    meetings: int
    people: int
    first_meeting: str
    last_meeting: str
    days_since_last: int
    last_90_days: int
    previous_90_days: int
    signals: list[Signal] = Field(default_factory=list)
    run_id: str | None = None
    qualification: list[ElementState] = Field(default_factory=list)
    refresh_due: bool = False

    @property
    def evidenced(self) -> str:
        """``5/8 evidenced``, or empty without a qualified run."""
        if not self.qualification:
            return ""
        done = sum(e.status == "evidenced" for e in self.qualification)
        return f"{done}/{len(self.qualification)} evidenced"

    @property
    def name(self) -> str:
        """``acmecorp.com``, or ``acmecorp.com (with acmecorp.co)`` for a linked account."""
        return Account.of(self.domains or self.domain).label()

    def matches(self, needle: str) -> bool:
        """Whether ``needle`` is part of any of the account's domains."""
        return any(needle in d for d in self.domains or [self.domain])

    def lacks(self, name: str) -> bool:
        """Whether the element called ``name`` is qualified and not evidenced (an unqualified account lacks nothing known)."""
        return any(e.name == name and e.status != "evidenced" for e in self.qualification)


def refresh_due(made_on_complete_index: bool | None, complete_now: bool) -> bool:
    """Whether a summary made while the workspace's first listing ran (its ``coverage.index_complete`` false) is
    due a refresh: that listing has ended since, so meetings Fathom filed under another company may add to it.
    Derived, so no mark is written anywhere; a summary that does not say (older runs) is not due."""
    return made_on_complete_index is False and complete_now


def missing_choices(rows: Iterable[AccountRow]) -> list[str]:
    """The element names a "missing element" filter offers: every qualified row's, in rubric order."""
    return list(dict.fromkeys(e.name for r in rows for e in r.qualification))


def linked_activity(account: Account, meetings: Sequence[Meeting], now: datetime) -> DomainActivity | None:
    """A linked account's figures, counted like the index's row of one domain, from its meetings (each once): those with an external invitee at any of its domains,
    the distinct such invitees, the first and last ``created_at``, and the last 90 days against the 90 before
    (as the index counts one domain). ``None`` when none of the meetings has one."""
    seen: dict[int, str] = {}
    people: set[str] = set()
    for meeting in meetings:
        ours = [
            email
            for email, (domain, external) in invitee_rows(meeting).items()
            if external and domain in account.domains
        ]
        if ours:
            seen[meeting.recording_id] = format_utc(meeting.created_at)
            people.update(ours)
    if not seen:
        return None
    recent, earlier = format_utc(now - timedelta(days=90)), format_utc(now - timedelta(days=180))
    return DomainActivity(
        domain=account.primary,
        meetings=len(seen),
        people=len(people),
        first_meeting=min(seen.values()),
        last_meeting=max(seen.values()),
        last_90_days=sum(at >= recent for at in seen.values()),
        previous_90_days=sum(earlier <= at < recent for at in seen.values()),
    )


def _index_signals(row: Activity, days: int, t: Thresholds) -> list[Signal]:
    signals = (
        gone_dark_signal(days, f"on {nice_date(row.last_meeting)}", t),
        cadence_drop_signal(row.last_90_days, row.previous_90_days, 90),  # the index's windows are 90 days
    )
    return [s for s in signals if s is not None]


def account_rows(
    activity: Iterable[Activity],
    *,
    today: date,
    our_domains: Collection[str] = (),
    latest: Mapping[str, JobRow] | None = None,
    thresholds: Thresholds | None = None,
    linked: Mapping[str, Sequence[str]] | None = None,
    index_complete: bool = True,
) -> list[AccountRow]:
    """The accounts, most recently met first (then by domain); ``latest``: each domain's latest complete run's row.

    ``linked`` (primary → its domains, the primary first): a linked account's row is its primary's, which
    ``activity`` gives with the whole account's figures; its other domains' rows are left out.
    ``index_complete``: whether a full listing of the workspace has ended (runs made before are due a refresh).
    """
    t = thresholds or Thresholds()
    latest = latest or {}
    linked = linked or {}
    members = {d for primary, domains in linked.items() for d in domains if d != primary}
    rows = []
    for row in activity:
        if row.domain in PERSONAL_EMAIL_DOMAINS or row.domain in our_domains or row.domain in members:
            continue
        days = days_since(row.last_meeting, today)
        run = latest.get(row.domain)
        # the run's warnings (an "info" figure such as the talk share is no warning to list)
        kept = [s for s in run.signals if s.kind not in FROM_THE_INDEX and s.severity != "info"] if run else []
        signals = sorted(_index_signals(row, days, t) + kept, key=lambda s: SEVERITIES.index(s.severity))
        rows.append(
            AccountRow(
                domain=row.domain,
                domains=list(linked.get(row.domain, [row.domain])),
                meetings=row.meetings,
                people=row.people,
                first_meeting=row.first_meeting[:10],
                last_meeting=row.last_meeting[:10],
                days_since_last=days,
                last_90_days=row.last_90_days,
                previous_90_days=row.previous_90_days,
                signals=signals,
                run_id=run.run_id if run else None,
                qualification=list(run.qualification) if run else [],
                refresh_due=run is not None and refresh_due(run.index_complete, index_complete),
            )
        )
    rows.sort(key=lambda r: (r.days_since_last, r.domain))
    return rows


def latest_complete_runs(repo: JobRepository, domains: Collection[str]) -> dict[str, JobRow]:
    """Each of ``domains``' newest complete run, from the job index alone (its rows carry the signals)."""
    newest: dict[str, JobRow] = {}
    for row in repo.rows(status=JobStatus.COMPLETE, limit=None):
        if row.domain in domains and row.domain not in newest:
            newest[row.domain] = row
    return newest


def list_accounts(runtime: Runtime, *, today: date | None = None) -> list[AccountRow]:
    """The accounts of the configured Fathom workspace as the index knows them now (``today``: for tests)."""
    now = utcnow()
    workspace = workspace_of(runtime.settings)
    activity: list[Activity] = list(runtime.index.domain_activity(workspace, now=now))
    ours = runtime.index.internal_domains(workspace)
    linked = runtime.links.accounts() if runtime.links is not None else {}
    if linked:  # a linked account's row: its meetings (each once) counted across its domains, under its primary
        active = {row.domain for row in activity}
        activity = [row for row in activity if row.domain not in linked]
        for domains in linked.values():
            if active & set(domains):
                account = Account.of(domains)
                union = linked_activity(account, runtime.index.meetings_for(workspace, account), now)
                activity += [union] if union is not None else []
    listed = {row.domain for row in activity} - ours - PERSONAL_EMAIL_DOMAINS
    return account_rows(
        activity,
        today=today or now.date(),
        our_domains=ours,
        latest=latest_complete_runs(runtime.repo, listed),
        thresholds=Thresholds.from_settings(runtime.settings),
        linked=linked,
        index_complete=runtime.index.status(workspace).complete,
    )


def link_suggestions(runtime: Runtime, rows: Sequence[AccountRow]) -> list[Suggestion]:
    """The links the app can justify offering between the listed accounts not linked yet, each with its reasons
    (the rep decides: nothing is linked here)."""
    linked = [
        d for domains in (runtime.links.accounts() if runtime.links is not None else {}).values() for d in domains
    ]
    emails = runtime.index.emails_by_domain(workspace_of(runtime.settings))
    return suggest_links({r.domain: r.meetings for r in rows}, emails, linked)
