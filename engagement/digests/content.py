"""What a digest says: per account that changed in a period, its new meetings, new people and new or resolved
signals, each line with a verified quote where one exists and a link back (the meeting, the account's summary).

:func:`build_digest` reads the meeting index (the period's meetings, and each account's earlier ones for who is
new) and each account's latest complete run (its verified quotes, and its changes when it completed in the
period). Nothing is made up: a line without a verified quote from that meeting has no quote; the quote carries
its speaker's name as the transcript gives it, never a side.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import asdict, dataclass, field
from datetime import datetime
from typing import Any
from urllib.parse import urlencode

from engagement.account.domains import Account
from engagement.account.people import PERSONAL_EMAIL_DOMAINS
from engagement.account.signals import signal_id
from engagement.jobs.repository import JobRepository
from engagement.meetings.index import MeetingIndex, invitee_rows
from engagement.models import EngagementSummary, Evidence, Meeting, format_utc
from engagement.render.links import safe_url
from engagement.render.present import cite, one_line, plural, signal_line, signal_name

__all__ = ["AccountDigest", "Digest", "DigestLine", "build_digest", "summary_link"]

LINE_MAX = 300  # characters of a line's text or quote (Slack's and mail clients' readers skim)


@dataclass(frozen=True)
class DigestLine:
    """One line of a digest.

    Attributes:
        kind: ``meeting`` | ``person`` | ``signal`` | ``resolved``.
        text: the line, plain text (data already made one bounded line).
        quote / speaker: a verified quote from the meeting(s) the line is about, and who said it; None when none.
        link: where the line can be checked (the meeting at the moment, the meeting, or the summary); None if none.
        recording_id: the meeting the line is about, when it is about one.
    """

    kind: str
    text: str
    quote: str | None = None
    speaker: str | None = None
    link: str | None = None
    recording_id: int | None = None


@dataclass(frozen=True)
class AccountDigest:
    """One account's lines. Attributes: domain (a linked account's primary), summary_url (the app's page of the
    account), lines, domains (a linked account's every domain, the primary first; empty: ``domain`` alone)."""

    domain: str
    summary_url: str
    lines: list[DigestLine] = field(default_factory=list)
    domains: tuple[str, ...] = ()

    @property
    def name(self) -> str:
        """How the digest names the account: ``acmecorp.com``, or ``acmecorp.com (with acmecorp.co)``."""
        return Account.of(self.domains or self.domain).label()


@dataclass(frozen=True)
class Digest:
    """A digest of ``[start, end)`` (UTC). Attributes: start, end, accounts (most lines first, then by domain)."""

    start: datetime
    end: datetime
    accounts: list[AccountDigest] = field(default_factory=list)

    @property
    def empty(self) -> bool:
        return not self.accounts

    @property
    def title(self) -> str:
        days = f"{self.start:%d %b} – {self.end:%d %b %Y}"
        return f"Engagement digest, {days}: {plural(len(self.accounts), 'account')} changed"

    def to_json(self) -> dict[str, Any]:
        return {
            "start": format_utc(self.start),
            "end": format_utc(self.end),
            "accounts": [asdict(account) for account in self.accounts],
        }


def summary_link(base_url: str, domain: str, run_id: str | None = None) -> str:
    """The account's summary in the app (its latest complete run when there is one)."""
    query = {"domain": domain, **({"run_id": run_id} if run_id else {})}
    return f"{base_url.rstrip('/')}/?{urlencode(query)}"


def verified_quotes(summary: EngagementSummary | None) -> dict[int, list[Evidence]]:
    """Every verified quote of a summary (themes and insight lists), by the meeting it was said in."""
    if summary is None:
        return {}
    found: dict[int, list[Evidence]] = {}
    pools: list[Iterable[Evidence]] = [t.evidence for t in summary.themes]
    for detail in (summary.goals_detail, summary.challenges_detail, summary.risks_detail):
        pools += [i.evidence for i in detail]
    for pool in pools:
        for evidence in pool:
            if evidence.verified and evidence.quote.strip():
                found.setdefault(evidence.recording_id, []).append(evidence)
    return found


def _quoted(line: DigestLine, evidence: Evidence | None) -> DigestLine:
    if evidence is None:
        return line
    citation = cite(evidence)
    if citation.quote is None:
        return line
    return DigestLine(
        kind=line.kind,
        text=line.text,
        quote=one_line(citation.quote, LINE_MAX),
        speaker=citation.speaker or None,
        link=citation.url or line.link,
        recording_id=line.recording_id,
    )


def account_lines(
    domain: str | Account,
    new_meetings: list[Meeting],
    earlier: list[Meeting],
    summary: EngagementSummary | None,
    *,
    signals_changed: bool,
) -> list[DigestLine]:
    """The lines of one account (pure): its new meetings (oldest first), the people first invited in them, and —
    when its latest run completed in the period — the signals it raised and resolved. A linked account's people
    are those at any of its domains."""
    account = Account.of(domain)
    quotes = verified_quotes(summary)
    lines: list[DigestLine] = []
    for meeting in sorted(new_meetings, key=lambda m: (m.created_at, m.recording_id)):
        line = DigestLine(
            kind="meeting",
            text=one_line(f"New meeting {meeting.started_at:%d %b}: {meeting.title}", LINE_MAX),
            link=safe_url(meeting.share_url) or safe_url(meeting.url),
            recording_id=meeting.recording_id,
        )
        lines.append(_quoted(line, next(iter(quotes.get(meeting.recording_id, [])), None)))
    seen_before = {
        email for m in earlier for email, (d, external) in invitee_rows(m).items() if external and d in account.domains
    }
    first_in: dict[str, Meeting] = {}
    for meeting in sorted(new_meetings, key=lambda m: (m.created_at, m.recording_id)):
        for email, (d, external) in invitee_rows(meeting).items():
            if external and d in account.domains and email not in seen_before:
                first_in.setdefault(email, meeting)
    for email, meeting in first_in.items():
        name = next((i.name for i in meeting.invitees if (i.email or "").strip().lower() == email and i.name), None)
        who = f"{name} <{email}>" if name else email
        lines.append(
            DigestLine(
                kind="person",
                text=one_line(f"New person: {who}, first invited to {meeting.title}", LINE_MAX),
                link=safe_url(meeting.share_url) or safe_url(meeting.url),
                recording_id=meeting.recording_id,
            )
        )
    if summary is not None and summary.changes is not None and signals_changed:
        by_id = {signal_id(s): s for s in summary.signals}
        for sid in summary.changes.new_signals:
            signal = by_id.get(sid)
            if signal is None:
                continue
            evidence = next((e for rid in signal.meetings for e in quotes.get(rid, [])), None)
            lines.append(
                _quoted(
                    DigestLine(kind="signal", text=one_line(f"New signal: {signal_line(signal)}", LINE_MAX)), evidence
                )
            )
        for sid in summary.changes.resolved_signals:
            lines.append(DigestLine(kind="resolved", text=one_line(f"Resolved: {signal_name(sid)}", LINE_MAX)))
    return lines


def build_digest(
    index: MeetingIndex,
    workspace: str,
    repo: JobRepository,
    start: datetime,
    end: datetime,
    *,
    base_url: str,
    linked: Mapping[str, Sequence[str]] | None = None,
) -> Digest:
    """The digest of ``[start, end)``: every external business domain with a meeting created in the period, or whose
    latest complete run ended in it with new or resolved signals. Personal mailboxes and our own domains are not
    accounts; a linked account (``linked``: primary → its domains) is one, under its primary, its meetings each once."""
    linked = linked or {}
    primary_of = {d: primary for primary, domains in linked.items() for d in domains}
    ours = index.internal_domains(workspace)
    activity = index.domain_activity(workspace, now=end)
    candidates = {
        primary_of.get(row.domain, row.domain)
        for row in activity
        if row.last_meeting >= format_utc(start) and row.domain not in ours and row.domain not in PERSONAL_EMAIL_DOMAINS
    }
    for row in repo.rows(status="complete", limit=None):
        if row.ended_at is not None and start <= row.ended_at < end and row.domain not in ours:
            candidates.add(primary_of.get(row.domain, row.domain))
    accounts = []
    for domain in sorted(candidates):
        account = Account.of(linked.get(domain, [domain]))
        new = index.meetings_for(workspace, account, since=start, before=end)
        earlier = index.meetings_for(workspace, account, before=start)
        run = repo.latest_complete(domain)
        record = repo.load(domain, run.run_id) if run is not None else None
        summary = record.summary if record is not None else None
        in_period = run is not None and run.ended_at is not None and start <= run.ended_at < end
        lines = account_lines(account, new, earlier, summary, signals_changed=in_period)
        if lines:
            link = summary_link(base_url, domain, run.run_id if run is not None else None)
            accounts.append(
                AccountDigest(
                    domain=domain, summary_url=link, lines=lines, domains=account.domains if account.linked else ()
                )
            )
    accounts.sort(key=lambda a: (-len(a.lines), a.domain))
    return Digest(start=start, end=end, accounts=accounts)
