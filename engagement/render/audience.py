"""Who a summary is shown to: the parts presentation mode may show a customer (an allow-list), the presenter's choice.

Presentation mode (``?present=1``) is for the customer's eyes, so it shows only what is named here,
and the rest of the page, whatever is added to it later, stays with the sales team:

* ``FIXED`` parts are always shown: the heading (the company, the period) and the "no meetings" notice.
* ``SAFE`` parts are the facts, the themes and the customer's own goals and challenges (those a
  customer person said, with their quotes only): shown unless the presenter unticks them.
* ``OPT_IN`` parts are the team's internal view (signals, talk share among them, what changed since
  the last run, coverage notes, risks, recommendations): hidden unless the presenter ticks them.
* Anything else is never presented: exports, run details, demo buttons, e-mail addresses and the
  questions asked outside this presentation.

The page asks ``Audience.shows(part)`` before drawing each part, and draws a presentation from
``for_customer()``: a copy of the summary built field by field from the allow-list, so a field added
to ``EngagementSummary`` later is empty there until someone allow-lists it, and no e-mail address is
in it at all.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass, field

from engagement.models import EngagementSummary, Evidence, Insight, MeetingRef, Person, Side

__all__ = [
    "FIXED",
    "OPT_IN",
    "PARTS",
    "SAFE",
    "Audience",
    "Part",
    "choice_text",
    "for_customer",
    "hide_emails",
    "parse_choice",
    "presented",
]


@dataclass(frozen=True)
class Part:
    """A part of the summary page. Attributes: key (``signals``), label (what the presenter's checklist says)."""

    key: str
    label: str


FIXED: tuple[Part, ...] = (
    Part("heading", "Heading: the company and the period"),
    Part("no_meetings", "The notice that no meetings were found"),
)
SAFE: tuple[Part, ...] = (
    Part("metrics", "Headline figures: meetings, customer people, dates"),
    Part("overview", "Overview: the top themes (and the risks they raised, when risks are shown)"),
    Part("meetings_chart", "Meetings over time"),
    Part("themes", "Themes"),
    Part("people_chart", "People by meetings attended"),
    Part("goals", "Goals, in the customer's words"),
    Part("challenges", "Challenges, in the customer's words"),
    Part("timeline", "Meeting timeline: dates, titles, who came, the themes raised"),
    Part("people", "People: names and roles (never e-mail addresses)"),
    Part("meetings", "Meetings: dates and titles"),
    Part("ask", "Ask (only the questions asked in the presentation)"),
)
OPT_IN: tuple[Part, ...] = (
    Part("signals", "Signals (talk share among them)"),
    Part("changes", "What changed since the last run"),
    Part("coverage", "Coverage notes"),
    Part("risks", "Risks"),
    Part("recommendations", "Recommendations"),
    Part("qualification", "Qualification and our commitments"),
)
PARTS: dict[str, Part] = {part.key: part for part in (*FIXED, *SAFE, *OPT_IN)}
_CHOOSABLE = frozenset(part.key for part in (*SAFE, *OPT_IN))
_ALWAYS = frozenset(part.key for part in FIXED)
_NOTHING = "-"  # the stored choice when the presenter unticked everything (not the same as no choice)


def presented(chosen: Iterable[str] | None = None) -> frozenset[str]:
    """The parts a presentation shows: the fixed ones and the presenter's choice (the safe set when none was made).

    A choice can only name parts of the allow-list: anything else in it is ignored.
    """
    picked = frozenset(part.key for part in SAFE) if chosen is None else frozenset(chosen) & _CHOOSABLE
    return _ALWAYS | picked


def parse_choice(text: str | None) -> frozenset[str] | None:
    """A stored checklist (``goals.challenges.signals``) as part keys; None when nothing usable was stored.

    The text comes from the browser (a cookie), so unknown keys are dropped and an empty or unreadable
    value means "no choice" (the safe set), never "everything".
    """
    if not text:
        return None
    if text == _NOTHING:
        return frozenset()
    keys = frozenset(text.split(".")) & _CHOOSABLE
    return keys or None


def choice_text(keys: Iterable[str]) -> str:
    """The checklist as stored: known part keys in page order, joined by dots (``-`` for none)."""
    picked = set(keys)
    return ".".join(key for key in PARTS if key in picked and key in _CHOOSABLE) or _NOTHING


@dataclass(frozen=True)
class Audience:
    """Whom the page is drawn for: the sales team (everything) or a customer (presented parts only).

    Attributes:
        presenting: presentation mode is on.
        parts: the parts a presentation shows (``presented()``); ignored when not presenting.
    """

    presenting: bool = False
    parts: frozenset[str] = field(default_factory=presented)

    def shows(self, part: str) -> bool:
        """Whether the page draws ``part``: always for the team; for a customer only when it is presented."""
        return not self.presenting or part in self.parts

    def summary(self, summary: EngagementSummary) -> EngagementSummary:
        """The summary as this audience may see it: whole for the team, ``for_customer()`` when presenting."""
        return for_customer(summary, self.parts) if self.presenting else summary


# ---------------------------------------------------------------- the customer's copy of a summary

# The facts every presented part is drawn from (heading, metrics, charts, tables): copied always.
FACT_FIELDS = (
    "meetings_count",
    "people",
    "themes",
    "domain",
    "company",
    "first_meeting",
    "last_meeting",
    "meetings_by_month",
    "meetings",
)
# The fields behind each part that is not always shown: copied only when the part is presented.
PART_FIELDS: dict[str, tuple[str, ...]] = {
    "goals": ("goals", "goals_detail"),
    "challenges": ("challenges", "challenges_detail"),
    "risks": ("risks", "risks_detail"),
    "recommendations": ("recommendations", "recommendations_detail"),
    "signals": ("signals",),
    "changes": ("changes",),
    "coverage": ("coverage",),
    "qualification": ("qualification", "commitments"),
}

_EMAIL = re.compile(r"[^\s@<>()\[\],;:\"']+@[^\s@<>()\[\],;:\"']+\.[^\s@<>()\[\],;:\"']+")


def hide_emails(text: str) -> str:
    """Text with every e-mail address replaced by its name part (``sarah.lopez@acme.com`` → ``sarah.lopez``)."""
    return _EMAIL.sub(lambda found: found.group(0).partition("@")[0], text)


def _person(person: Person, number: int) -> Person:
    aliases = list(dict.fromkeys(hide_emails(alias) for alias in person.aliases))
    return person.model_copy(
        update={"key": f"person-{number}", "name": hide_emails(person.name), "email": None, "aliases": aliases}
    )


def _meeting(meeting: MeetingRef) -> MeetingRef:
    def names(values: list[str]) -> list[str]:
        return [hide_emails(value) for value in values]

    return meeting.model_copy(
        update={
            "title": hide_emails(meeting.title),
            "customer_people": names(meeting.customer_people),
            "internal_people": names(meeting.internal_people),
            "customer_invited": names(meeting.customer_invited),
            "customer_speakers": names(meeting.customer_speakers),
            "words": {},  # who spoke how much is the talk share: a signal's business
        }
    )


def _customer_names(summary: EngagementSummary) -> frozenset[str]:
    """Every name (and alias) a customer person goes by, case-folded."""
    customers = [p for p in summary.people if p.side is Side.CUSTOMER]
    return frozenset(name.casefold() for p in customers for name in (p.name, *p.aliases) if name)


def _in_their_words(insights: list[Insight], customers: frozenset[str]) -> list[Insight]:
    """The insights a customer person said, with only their quotes: one resting on nobody of theirs is left out."""

    def theirs(evidence: Evidence) -> bool:
        return evidence.verified and (evidence.speaker or "").casefold() in customers

    kept = []
    for insight in insights:
        quotes = [evidence for evidence in insight.evidence if theirs(evidence)]
        if quotes:
            kept.append(insight.model_copy(update={"evidence": quotes}))
    return kept


def for_customer(summary: EngagementSummary, parts: Iterable[str] | None = None) -> EngagementSummary:
    """A copy of ``summary`` with only the fields of the presented ``parts`` (default: the safe set), and no e-mails.

    Built from the allow-list up, not by removing what is known to be internal: every other field keeps
    its empty default. Goals and challenges are the customer's in their own words: only those with a
    verified quote from a customer person, with those quotes only (a quote by our side, by someone
    whose side is unknown, or by no one named is not theirs to be shown as theirs).
    """
    shown = presented() if parts is None else frozenset(parts)
    names = [*FACT_FIELDS, *(name for part, fields in PART_FIELDS.items() if part in shown for name in fields)]
    values = {name: getattr(summary, name) for name in names}
    customers = _customer_names(summary)
    for section in ("goals", "challenges"):
        if section in shown:
            kept = _in_their_words(getattr(summary, f"{section}_detail"), customers)
            values[f"{section}_detail"], values[section] = kept, [insight.text for insight in kept]
    values["people"] = [_person(person, n) for n, person in enumerate(summary.people, start=1)]
    values["meetings"] = [_meeting(meeting) for meeting in summary.meetings]
    return EngagementSummary.model_validate(values)
