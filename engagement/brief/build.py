"""The brief for the next meeting, built from a stored summary (and the last meeting's transcript), nothing invented.

Every line is one of two kinds: it carries verified quotes (``evidence``), or it is a suggestion made by a stated
rule (``rule``). Likely attendees are the customer people in the meetings of the last 90 days; their roles keep the
quote they rest on (or "set by a rep"); risks and challenges are the customer's own words; what they asked last time
are the customer's questions, verbatim, in the latest meeting with a transcript; our commitments not seen done are
those no later meeting shows done (a bare "Will do." with what it answers); the gaps come from the qualification's
states.
"""

from __future__ import annotations

from collections import Counter
from datetime import date, timedelta

from pydantic import BaseModel, Field

from engagement.account.domains import Account
from engagement.models import EngagementSummary, Evidence, Meeting, Side
from engagement.qualification.commitments import answering
from engagement.wording import nice_date, plural

RECENT = timedelta(days=90)
QUESTIONS_SHOWN = 6
COMMITMENTS_SHOWN = 6
ATTENDED = "counted in the meetings of the last 90 days"
WORRIES_SHOWN = 5  # risks and challenges each: the newest, so the brief stays one page
GAP_RULES = {
    "our_side_only": "Only our side has spoken of {name}: ask them to describe it in their words.",
    "not_found": "Nothing on {name} in {searched}: ask about it.",
    "conflicting": "They disagree on {name}: confirm which holds.",
}


class BriefLine(BaseModel):
    """One line of the brief: backed by verified quotes (``evidence``), or by a stated rule (``rule`` says which: a
    count from the meetings, or a suggestion the qualification's state makes)."""

    text: str
    evidence: list[Evidence] = Field(default_factory=list)
    rule: str | None = None


class Brief(BaseModel):
    """The brief for the next meeting with ``domain`` (a linked account's primary; ``domains``: all of them), as of
    ``today``."""

    domain: str
    domains: list[str] = Field(default_factory=list)
    company: str = ""
    today: str
    last_meeting: str | None = None
    note: str | None = None  # e.g. "No meetings in the last 90 days."
    attendees: list[BriefLine] = Field(default_factory=list)
    risks: list[BriefLine] = Field(default_factory=list)
    challenges: list[BriefLine] = Field(default_factory=list)
    asked_last_time: list[BriefLine] = Field(default_factory=list)
    commitments: list[BriefLine] = Field(default_factory=list)
    gaps: list[BriefLine] = Field(default_factory=list)
    changes: list[BriefLine] = Field(default_factory=list)


def questions_asked(meeting: Meeting, customer_names: set[str]) -> list[Evidence]:
    """The customer's questions in a meeting: each turn by a customer person that asks one, verbatim."""
    out = []
    for turn in meeting.transcript or ():
        if turn.speaker not in customer_names:
            continue
        asked = [s.strip() for s in turn.text.replace("?", "?\n").split("\n") if s.strip().endswith("?")]
        for question in asked:
            out.append(
                Evidence(
                    recording_id=meeting.recording_id,
                    timestamp=turn.timestamp,
                    quote=question,
                    speaker=turn.speaker,
                    url=meeting.moment_url(turn.timestamp),
                    meeting_title=meeting.title,
                    meeting_date=meeting.started_at.date().isoformat(),
                    side=Side.CUSTOMER,
                )
            )
    return out[:QUESTIONS_SHOWN]


def build_brief(summary: EngagementSummary, today: date, last_transcript: Meeting | None = None) -> Brief:
    """The brief for ``summary``'s account; ``last_transcript`` is the latest meeting with a transcript, if any."""
    brief = Brief(
        domain=summary.domain,
        domains=list(Account.of_summary(summary).domains),
        company=summary.company,
        today=today.isoformat(),
    )
    brief.last_meeting = summary.last_meeting
    since = (today - RECENT).isoformat()
    recent = [m for m in summary.meetings if m.date >= since]
    if not recent:
        brief.note = "No meetings in the last 90 days" + (
            f": the last was on {nice_date(date.fromisoformat(summary.last_meeting))}." if summary.last_meeting else "."
        )
    seen = Counter(name for m in recent for name in m.customer_people)
    people = {p.name: p for p in summary.people if p.side is Side.CUSTOMER}
    for name, count in seen.most_common():
        person = people.get(name)
        role = person.role if person else ""
        if person and role and person.role_source == "rep":
            brief.attendees.append(
                BriefLine(text=f"{name}, {role} (set by a rep), in {plural(count, 'recent meeting')}")
            )
        elif person and role and person.role_evidence:
            brief.attendees.append(
                BriefLine(
                    text=f"{name}, {role}, in {plural(count, 'recent meeting')}", evidence=person.role_evidence[:1]
                )
            )
        else:
            brief.attendees.append(
                BriefLine(text=f"{name} (role unknown), in {plural(count, 'recent meeting')}", rule=ATTENDED)
            )
    for insights, out in ((summary.risks_detail, brief.risks), (summary.challenges_detail, brief.challenges)):
        quoted = []
        for insight in sorted(insights, key=lambda i: i.last_said, reverse=True):
            said = [e for e in insight.evidence if e.verified and e.side is Side.CUSTOMER]
            if said:
                quoted.append(BriefLine(text=insight.text, evidence=said[:2]))
        out.extend(quoted[:WORRIES_SHOWN])
    if last_transcript is not None:
        for asked in questions_asked(last_transcript, set(people)):
            brief.asked_last_time.append(BriefLine(text=asked.quote, evidence=[asked]))
    promised = [p for p in summary.commitments if p.status != "done"]
    promised.sort(key=lambda p: p.evidence.meeting_date or "", reverse=True)
    for promise in promised[:COMMITMENTS_SHOWN]:
        agreed = answering(promise)
        text = f"{promise.text} ({agreed})" if agreed else promise.text
        brief.commitments.append(BriefLine(text=text, evidence=[promise.evidence]))
    if len(promised) > COMMITMENTS_SHOWN:
        older = len(promised) - COMMITMENTS_SHOWN
        brief.commitments.append(
            BriefLine(
                text=f"and {plural(older, 'older commitment')} not seen done: the summary lists them",
                rule="the newest first",
            )
        )
    if summary.qualification is not None:
        for element in summary.qualification.elements:
            template = GAP_RULES.get(element.status)
            if template is None:
                continue
            searched = plural(summary.qualification.searched.meetings, "meeting")
            text = template.format(name=element.name, searched=searched)
            status = element.status.replace("_", " ")
            brief.gaps.append(BriefLine(text=text, rule=f"a suggestion by rule: the qualification says {status}"))
    if summary.changes is not None:
        c = summary.changes
        for label, items in (
            ("New people", c.new_people),
            ("New themes", c.new_themes),
            ("New risks", c.new_risks),
            ("New signals", c.new_signals),
        ):
            if items:
                brief.changes.append(BriefLine(text=f"{label}: {', '.join(items)}", rule="since the last run"))
        if c.new_meetings:
            brief.changes.append(
                BriefLine(text=f"{plural(len(c.new_meetings), 'new meeting')}", rule="since the last run")
            )
    return brief
