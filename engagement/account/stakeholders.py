"""The stakeholder map: who of ours has met whom of theirs, how strongly (by a stated rule), and who is single-threaded.

Pure: a summary in, rows out. Each meeting's attendees by side come from the facts (``MeetingRef``: the
customer people invited or speaking, our people, the customer people who spoke), so every number here is a
count of meetings, never a model's judgement.

The strength rule (stated on the page beside the map), per pair of a customer person and one of ours:
- **strong**: two or more meetings together in the last 90 days, in at least one of which the customer
  person spoke;
- **active**: at least one meeting together in the last 90 days;
- **lapsed**: they have met, but not in the last 90 days.
A customer person met in two or more meetings by only one of our people is single-threaded: if that person
leaves, the relationship goes with them.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta

from engagement.models import EngagementSummary, Side

RECENT = timedelta(days=90)
STRENGTHS = ("strong", "active", "lapsed")
RULE = (
    "strong: 2+ meetings together in the last 90 days, the customer person speaking in one or more; "
    "active: 1+ in the last 90 days; lapsed: met, but not in the last 90 days"
)


@dataclass(frozen=True)
class Tie:
    """One customer person and one of ours.

    Attributes:
        customer: the customer person's name.
        ours: our person's name.
        meetings: meetings both attended.
        recent: of those, in the last 90 days (counted back from ``today``).
        spoke_in: of those, meetings in which the customer person spoke.
        last_contact: the latest meeting both attended (YYYY-MM-DD).
        strength: ``strong``, ``active`` or ``lapsed`` by the rule above.
    """

    customer: str
    ours: str
    meetings: int
    recent: int
    spoke_in: int
    last_contact: str
    strength: str


@dataclass(frozen=True)
class SingleThread:
    """A customer person only one of us has met (in two or more meetings)."""

    customer: str
    role: str
    ours: str
    meetings: int


def _strength(recent: int, spoke_recently: int) -> str:
    if recent >= 2 and spoke_recently >= 1:
        return "strong"
    return "active" if recent >= 1 else "lapsed"


def ties(summary: EngagementSummary, today: date) -> list[Tie]:
    """Every pair that has met, strongest first (then most meetings, then most recent)."""
    since = (today - RECENT).isoformat()
    pairs: dict[tuple[str, str], list[tuple[str, bool]]] = {}
    for meeting in summary.meetings:
        for customer in meeting.customer_people:
            spoke = customer in meeting.customer_speakers
            for ours in meeting.internal_people:
                pairs.setdefault((customer, ours), []).append((meeting.date, spoke))
    out = []
    for (customer, ours), met in pairs.items():
        recent = [spoke for day, spoke in met if day >= since]
        out.append(
            Tie(
                customer=customer,
                ours=ours,
                meetings=len(met),
                recent=len(recent),
                spoke_in=sum(spoke for _, spoke in met),
                last_contact=max(day for day, _ in met),
                strength=_strength(len(recent), sum(recent)),
            )
        )
    out.sort(key=lambda t: t.customer)
    out.sort(key=lambda t: t.last_contact, reverse=True)  # stable sorts: the last one decides first
    out.sort(key=lambda t: (STRENGTHS.index(t.strength), -t.meetings))
    return out


def single_threaded(summary: EngagementSummary) -> list[SingleThread]:
    """Customer people met in two or more meetings, all with the same one of us."""
    roles = {p.name: p.role for p in summary.people if p.side is Side.CUSTOMER}
    met: dict[str, dict[str, int]] = {}
    for meeting in summary.meetings:
        for customer in meeting.customer_people:
            for ours in meeting.internal_people:
                met.setdefault(customer, {}).setdefault(ours, 0)
                met[customer][ours] += 1
    counts = {c: sum(1 for m in summary.meetings if c in m.customer_people and m.internal_people) for c in met}
    return [
        SingleThread(customer=c, role=roles.get(c, ""), ours=next(iter(by)), meetings=counts[c])
        for c, by in sorted(met.items())
        if len(by) == 1 and counts[c] >= 2
    ]
