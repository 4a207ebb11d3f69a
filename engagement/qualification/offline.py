"""The offline qualification of one meeting: the rubric's phrases and patterns over each sentence, deterministic.

Every quote is a sentence of the transcript, verbatim, with the side :mod:`engagement.account.people`
gives its speaker. A customer's statement that matches an element is evidence; a customer's question is
not (asking is not telling); our side's sentences are kept apart (``our_side_only`` when the customer
never spoke of it). Our side's promises and any sentence that says something was sent or received are
kept for :mod:`engagement.qualification.commitments`.
"""

from __future__ import annotations

import re

from engagement.account.domains import Account
from engagement.account.people import MeetingSides
from engagement.analysis.offline import sentences
from engagement.analysis.verify import evidence_at
from engagement.models import Meeting, MeetingQualification, QualificationEvidence, Side, TranscriptTurn
from engagement.qualification.rubric import Rubric

__all__ = ["DELIVERED", "PROMISE", "RULES_VERSION", "qualify_meeting", "quote", "transcript_seconds"]

RULES_VERSION = "qualification-offline-2"  # change with any rule here (it is in the cache key)

# Our side's promise: a first-person future of a verb of doing something for the customer.
PROMISE = re.compile(
    r"\b(?:(?:I['’]ll|I will|we['’]ll|we will)\s+(?:also\s+|personally\s+)?"
    r"(?:send|share(?! my screen)|get (?:you|that|it|the)|put together|set up|draft|add|run|book|schedule|follow up|loop|"
    r"propose|update|introduce|write up|prepare|check|review|sort out|confirm)"
    r"|let me (?:get you|check|find|send|put together|draft|follow up|set up))\b",
    re.IGNORECASE,
)
# Something was sent, shared, received or done (said in a later meeting, by either side).
DELIVERED = re.compile(
    r"\b(?:(?:thanks|thank you) for (?:\w+ )?(?:sending|sharing|turning|the|getting|putting|setting)|(?:we|I|you) (?:sent|shared)|"
    r"(?:has|have|was|were) (?:been )?(?:sent|shared|received|added|fixed|sorted|set up|updated|done)|"
    r"as promised|got the|received the|went live|is (?:now )?live|it['’]s done)\b",
    re.IGNORECASE,
)


def quote(
    meeting: Meeting, turn: TranscriptTurn, text: str, side: Side, value: str | None = None
) -> QualificationEvidence:
    """A verified quote: ``text`` (found in ``turn``) with its moment, link, meeting date and side."""
    evidence = evidence_at(meeting, turn, text, side)
    return QualificationEvidence(**evidence.model_dump(), value=value)


def qualify_meeting(meeting: Meeting, rubric: Rubric, domain: str | Account) -> MeetingQualification:
    """What one meeting says for each element of ``rubric``, its promises and deliveries (needs the transcript)."""
    if meeting.transcript is None:
        raise ValueError(f"Meeting {meeting.recording_id} has no transcript to qualify.")
    side_of = MeetingSides(meeting, domain)
    result = MeetingQualification(recording_id=meeting.recording_id, seconds=transcript_seconds(meeting))
    for turn in meeting.transcript:
        side = side_of(turn)
        if side not in (Side.CUSTOMER, Side.INTERNAL):
            continue  # a partner, a personal mailbox or an unknown voice: neither the customer's nor ours
        for text in sentences(turn.text):
            asked = text.rstrip().endswith("?")
            for element in rubric.elements:
                if (side is Side.CUSTOMER and asked) or not element.matches(text):
                    continue
                value = element.value_in(text, turn.speaker) if side is Side.CUSTOMER else None
                result.hits.setdefault(element.key, []).append(quote(meeting, turn, text, side, value))
            if asked:
                continue
            if side is Side.INTERNAL and PROMISE.search(text):
                result.promises.append(quote(meeting, turn, text, side))
            if DELIVERED.search(text):
                result.deliveries.append(quote(meeting, turn, text, side))
    return result


def transcript_seconds(meeting: Meeting) -> int:
    """How long the meeting was: the recording's length, else its last turn's time."""
    last = max((t.seconds for t in meeting.transcript or ()), default=0)
    return max(meeting.duration_s or 0, last)
