"""The offline qualification of one meeting: the rubric's phrases and patterns over each sentence, deterministic.

Every quote is a sentence of the transcript, verbatim, with the side :mod:`engagement.account.people`
gives its speaker. A customer's statement that matches an element is evidence; a customer's question is
not (asking is not telling); our side's sentences are kept apart (``our_side_only`` when the customer
never spoke of it). Our side's promises (only in a meeting where someone of the customer's spoke; each
", and I'll…" clause its own; a bare "Will do." with the turn it answers), any sentence — a partner's too —
that says something was sent, received, read or used, and the meeting's first sentence are kept for
:mod:`engagement.qualification.commitments`.
"""

from __future__ import annotations

import re

from engagement.account.domains import Account
from engagement.account.people import MeetingSides
from engagement.analysis.offline import sentences
from engagement.analysis.verify import evidence_at
from engagement.models import Meeting, MeetingQualification, QualificationEvidence, Side, TranscriptTurn
from engagement.qualification.rubric import Rubric

__all__ = [
    "DELIVERED",
    "PROMISE",
    "RULES_VERSION",
    "BARE_YES",
    "customer_spoke",
    "opening_of",
    "promise_at",
    "promises_in",
    "qualify_meeting",
    "quote",
    "transcript_seconds",
]

RULES_VERSION = "qualification-offline-7"  # change with any rule here (it is in the cache key)

# Our side's promise: "I'll / we'll / I will / we will" and a verb of doing something for the customer, after a
# meeting ("send", "set up", "get … to you"), not of the meeting itself ("I'll share my screen", "I'll walk through
# the proposal", "we'll keep it to forty minutes") nor a description of the product ("we'll treat it as…", "we'll
# never go above it"); "let me get you…", "let's get you…"; and a bare yes to a request ("Will do.", "Happy to.").
_FUTURE = r"(?:I['’]ll|I will|we['’]ll|we will)\s+(?:also\s+|personally\s+|then\s+|just\s+|definitely\s+)?"
_ACTION = (
    r"(?:send|share(?! (?:my|the|our) screen)|get (?:you|that|it|this|them|everything|the\b[^.]*\bto you|(?-i:[A-Z][a-z]+),? )|"
    r"put (?:together|a note|the\b[^.]*\btogether)|set (?:up|that up|it up|them up)|draft|book|schedule|follow up|"
    r"add(?! (?:one|a|another) (?:thing|point|comment|question))|loop|propose|update|introduce|write up|prepare|check|"
    r"review|sort|confirm|cover it|make sure|pre-populate|ask (?:her|him|them|(?-i:[A-Z][a-z]+))\b|"
    r"do (?:a|an|the|some|check-ins)\b(?! (?:quick |short )?(?:recap|round|demo|intro))|talk to|express|"
    r"hold(?! off)|build|split|come (?:down|over|in)|respond|match on|connect|"
    r"reconnect|email|call you|arrange|be available|have someone|deliver|provide|fix|go through (?:it|that|this)\b[^.]*\bwith)"
)
_YES = r"^(?:will do|happy to)\b(?!\s+be\b)"
PROMISE = re.compile(
    rf"\b{_FUTURE}{_ACTION}\b|\blet me (?:get you|check|find|send|put together|draft|follow up|set up)\b|"
    rf"\blet['’]s get you\b|{_YES}",
    re.IGNORECASE,
)
BARE_YES = re.compile(rf"{_YES}[.!]?$", re.IGNORECASE)
ANSWERED_CHARS = 200  # a longer turn before "Will do." is cut to its question (or last sentence)
# One sentence, two promises ("I'll send you the list, and I'll review the mapping"): each clause is its own.
_AND_THEN = re.compile(rf",\s+and\s+(?={_FUTURE})", re.IGNORECASE)
# Something was sent, shared, received, read or done (said in a later meeting, by anyone in it).
DELIVERED = re.compile(
    r"\b(?:(?:thanks|thank you) for (?:\w+ )?(?:sending|sharing|turning|the|getting|putting|setting)|(?:we|I|you) (?:sent|shared)|"
    r"(?:has|have|was|were) (?:been )?(?:sent|shared|received|added|fixed|sorted|set up|updated|done|connected)|"
    r"(?:I|we)(?:['’]ve| have)? (?:read|seen) (?:the|your|through)|I saw your|as per the|is done|as promised|got the|received the|went live|"
    r"is (?:now )?live|it['’]s done)\b",
    re.IGNORECASE,
)


def promises_in(sentence: str) -> list[str]:
    """The promises a sentence of ours holds: each ", and I'll…" clause on its own when every clause is one, else
    the whole sentence when it is one (so "Sign by the 15th, and we'll connect HubSpot" keeps its condition)."""
    if sentence.rstrip().endswith("?") or not PROMISE.search(sentence):
        return []
    clauses = [c.strip() for c in _AND_THEN.split(sentence)]
    if len(clauses) > 1 and all(PROMISE.search(c) for c in clauses):
        return clauses
    return [sentence]


def promise_at(meeting: Meeting, turn: TranscriptTurn, text: str, side_of: MeetingSides) -> QualificationEvidence:
    """Our promise ``text`` in ``turn``, verified; a bare "Will do." carries what it answers: the turn before it,
    another speaker's, whole when short, else their question if they asked one, else their last sentence."""
    promise = quote(meeting, turn, text, Side.INTERNAL)
    turns = list(meeting.transcript or ())
    at = next((n for n, t in enumerate(turns) if t is turn), 0)
    if not BARE_YES.match(text.strip()) or at == 0 or turns[at - 1].speaker == turn.speaker:
        return promise
    before = turns[at - 1]
    said = sentences(before.text)
    if not said:
        return promise
    asked = before.text.strip()
    if len(asked) > ANSWERED_CHARS:
        asked = next((s for s in reversed(said) if s.rstrip().endswith("?")), said[-1])
    return promise.model_copy(update={"answers": evidence_at(meeting, before, asked, side_of(before))})


def opening_of(meeting: Meeting, side_of: MeetingSides) -> QualificationEvidence | None:
    """The meeting's first sentence, verified (what shows the meeting took place)."""
    for turn in meeting.transcript or ():
        said = sentences(turn.text)
        if said:
            return quote(meeting, turn, said[0], side_of(turn))
    return None


def customer_spoke(meeting: Meeting, side_of: MeetingSides) -> bool:
    """Whether anyone of the customer's said a word: with no one of theirs there, what we promise is said to each other."""
    return any(side_of(turn) is Side.CUSTOMER for turn in meeting.transcript or ())


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
    to_them = customer_spoke(meeting, side_of)
    result.opening = opening_of(meeting, side_of)
    for turn in meeting.transcript:
        side = side_of(turn)
        if side is Side.THIRD_PARTY:  # a partner's words are no one's evidence, but can show a thing exists
            result.deliveries.extend(quote(meeting, turn, t, side) for t in sentences(turn.text) if _delivered(t))
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
            if side is Side.INTERNAL and to_them:
                result.promises.extend(promise_at(meeting, turn, clause, side_of) for clause in promises_in(text))
            if _delivered(text):
                result.deliveries.append(quote(meeting, turn, text, side))
    return result


def _delivered(sentence: str) -> bool:
    return not sentence.rstrip().endswith("?") and DELIVERED.search(sentence) is not None


def transcript_seconds(meeting: Meeting) -> int:
    """How long the meeting was: the recording's length, else its last turn's time."""
    last = max((t.seconds for t in meeting.transcript or ()), default=0)
    return max(meeting.duration_s or 0, last)
