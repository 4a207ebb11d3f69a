"""Each element's state for the account, computed in code from the meetings' verified quotes.

    evidenced       one or more of the customer's quotes, all stating the same thing
    conflicting     customer quotes that state different values (two sign-off owners, two months)
    our_side_only   only our side spoke of it: a gap, never evidence
    not_found       nothing in the transcripts; ``searched`` and ``terms`` say what was looked at

Each element also carries the date it was first evidenced and, against the previous complete run,
whether its evidence is ``new``, ``unchanged`` or ``lost``.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from enum import StrEnum

from engagement.models import (
    Meeting,
    MeetingQualification,
    Qualification,
    QualificationElement,
    QualificationEvidence,
    Searched,
    Side,
)
from engagement.qualification.rubric import Rubric

__all__ = ["ElementStatus", "disagree", "qualify_account", "searched_of"]

MAX_OUR_SIDE = 3  # of our side's words on an element only the first few are shown: they prove a gap, not a fact


class ElementStatus(StrEnum):
    """The four states of an element."""

    EVIDENCED = "evidenced"
    CONFLICTING = "conflicting"
    OUR_SIDE_ONLY = "our_side_only"
    NOT_FOUND = "not_found"

    @property
    def has_evidence(self) -> bool:
        return self in (ElementStatus.EVIDENCED, ElementStatus.CONFLICTING)


def disagree(values: set[str]) -> bool:
    """Whether the stated values name different things: ``greg`` and ``greg thompson`` agree, ``greg`` and ``the cfo`` do not."""
    words = [set(v.split()) for v in values]
    return any(not (a <= b or b <= a) for i, a in enumerate(words) for b in words[i + 1 :])


def searched_of(meetings: Sequence[Meeting], per_meeting: Mapping[int, MeetingQualification]) -> Searched:
    """The account's meetings, how many transcripts were searched, and their hours (to the tenth)."""
    seconds = sum(q.seconds for rid, q in per_meeting.items())
    return Searched(meetings=len(meetings), transcripts=len(per_meeting), hours=round(seconds / 3600, 1))


def qualify_account(
    rubric: Rubric,
    meetings: Sequence[Meeting],
    per_meeting: Mapping[int, MeetingQualification],
    *,
    analyzer: str = "",
    previous: Qualification | None = None,
) -> Qualification:
    """The account's qualification: each of ``rubric``'s elements in one of four states (pure).

    ``meetings`` are the account's meetings (with or without a transcript); ``per_meeting`` what each
    searched one said, by recording id. ``previous`` is the last complete run's qualification, if any.
    """
    order = sorted(meetings, key=lambda m: (m.started_at, m.recording_id))
    searched = searched_of(meetings, per_meeting)
    before = {e.key: ElementStatus(e.status).has_evidence for e in previous.elements} if previous else None
    elements = []
    for element in rubric.elements:
        customer: list[QualificationEvidence] = []
        ours: list[QualificationEvidence] = []
        for meeting in order:
            found = per_meeting.get(meeting.recording_id)
            for ev in found.hits.get(element.key, []) if found else []:
                (customer if ev.side is Side.CUSTOMER else ours if ev.side is Side.INTERNAL else []).append(ev)
        if disagree({ev.value for ev in customer if ev.value}):
            status = ElementStatus.CONFLICTING
        elif customer:
            status = ElementStatus.EVIDENCED
        elif ours:
            status = ElementStatus.OUR_SIDE_ONLY
        else:
            status = ElementStatus.NOT_FOUND
        change = None
        if before is not None:
            was, now = before.get(element.key, False), status.has_evidence
            change = "new" if now and not was else "lost" if was and not now else "unchanged"
        elements.append(
            QualificationElement(
                key=element.key,
                name=element.name,
                status=status.value,
                evidence=customer,
                our_side=ours[:MAX_OUR_SIDE] if not customer else [],
                searched=searched,
                terms=element.terms,
                first_evidenced=customer[0].meeting_date if customer else None,
                change=change,
            )
        )
    return Qualification(
        methodology=rubric.key, name=rubric.name, analyzer=analyzer, elements=elements, searched=searched
    )
