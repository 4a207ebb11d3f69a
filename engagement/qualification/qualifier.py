"""The two qualifiers behind one interface: offline (the rubric's phrases) and a model (one structured call a meeting).

Both return a :class:`MeetingQualification` whose every quote is the transcript's own words, with the
side :mod:`engagement.account.people` gives its speaker. The model's quotes are never trusted: each is
looked up in the transcript (:class:`engagement.analysis.verify.QuoteFinder`), re-attributed to the
turn that holds it when the model cited another, and dropped when it is not there verbatim; a quote
given as the customer's evidence that another side said is kept only as that side's words (ours: a
gap; a partner's or an unknown voice's: dropped), and a promise that is not ours, or made in a meeting where no
one of the customer's spoke, is dropped.
"""

from __future__ import annotations

import threading
from typing import TYPE_CHECKING, Protocol

from pydantic import BaseModel, Field

from engagement.account.domains import Account
from engagement.account.people import MeetingSides
from engagement.analysis.base import make_fingerprint
from engagement.analysis.prompts import estimate_tokens
from engagement.analysis.verify import QuoteFinder
from engagement.models import Meeting, MeetingQualification, QualificationEvidence, Side, TranscriptTurn
from engagement.qualification.offline import (
    RULES_VERSION,
    customer_spoke,
    opening_of,
    promise_at,
    qualify_meeting,
    quote,
    transcript_seconds,
)
from engagement.qualification.rubric import Rubric

if TYPE_CHECKING:
    from engagement.analysis.openai_analyzer import OpenAIAnalyzer

__all__ = [
    "PROMPT_VERSION",
    "ModelQualifier",
    "OfflineQualifier",
    "QualificationAnswer",
    "Qualifier",
    "qualification_message",
    "verify_answer",
]

PROMPT_VERSION = "qualification-2026-12-2"


class Qualifier(Protocol):
    """Qualifies one meeting against a rubric. ``fingerprint`` names the qualifier and the rubric (the cache key)."""

    name: str
    fingerprint: str
    rubric: Rubric

    def qualify(self, meeting: Meeting, *, domain: str | Account) -> MeetingQualification: ...


class OfflineQualifier:
    """The rubric's phrases and patterns over each sentence: deterministic, no network."""

    name = "offline"

    def __init__(self, rubric: Rubric) -> None:
        self.rubric = rubric
        self.fingerprint = make_fingerprint(kind="offline-qualification", rules=RULES_VERSION, rubric=rubric.digest)

    def qualify(self, meeting: Meeting, *, domain: str | Account) -> MeetingQualification:
        return qualify_meeting(meeting, self.rubric, domain)


# ---------------------------------------------------------------- the model's answer


class CitedQuote(BaseModel):
    """A quote the model copied from the transcript, with the turn id (``T12``) it says holds it."""

    turn: str
    quote: str


class ElementQuote(CitedQuote):
    """A quote the model says speaks to an element (``key``) of the rubric."""

    element: str


class QualificationAnswer(BaseModel):
    """One meeting's answer: evidence for the rubric's elements, our side's promises, things said to be done."""

    evidence: list[ElementQuote] = Field(default_factory=list)
    promises: list[CitedQuote] = Field(default_factory=list)
    deliveries: list[CitedQuote] = Field(default_factory=list)


SYSTEM = """You qualify a sales opportunity from one meeting transcript, element by element, for the methodology below.

Rules:
- Copy every quote verbatim from ONE transcript line (a sentence or a clause of it) and give that line's id (T1, T2, ...).
- evidence: statements that speak to an element (give its key). Prefer what the customer's people said; a question is not evidence.
- promises: sentences in which OUR side (side "internal") promises to do something for the customer after this
  meeting ("I'll send…", "we'll set up…", a "Will do." that answers their request). Not a suggestion, a question, a
  description of the product, an acceptance of their terms, or what happens in this meeting ("I'll share my screen").
- deliveries: sentences saying something promised exists: sent, received, read, used or referred to as existing
  ("I've read the proposal", "as per the data dictionary").
- Never paraphrase, never invent; leave a list empty when nothing fits.

Elements:
"""


def qualification_message(meeting: Meeting, *, domain: str | Account, company: str) -> str:
    """The user message: the meeting's header and its transcript, one numbered line a turn with the speaker's side."""
    sides = MeetingSides(meeting, domain)
    lines = [
        f"T{n} [{turn.timestamp}] {turn.speaker} ({sides(turn).value}): {turn.text}"
        for n, turn in enumerate(meeting.transcript or (), start=1)
    ]
    named = Account.of(domain).label()
    header = f"Customer: {company or named} ({named})\nMeeting: {meeting.title}\nRecording id: {meeting.recording_id}"
    return header + "\n\nTranscript:\n" + "\n".join(lines)


def _system(rubric: Rubric) -> str:
    return SYSTEM + "\n".join(f"- {e.key} ({e.name}): {e.definition} Evidence: {e.evidence}" for e in rubric.elements)


def verify_answer(
    answer: QualificationAnswer, meeting: Meeting, rubric: Rubric, *, domain: str | Account
) -> tuple[MeetingQualification, int, int]:
    """The answer's quotes found in the transcript; returns the result, how many were re-attributed, and dropped."""
    finder = QuoteFinder(meeting)
    turns = meeting.transcript or ()
    side_of = MeetingSides(meeting, domain)
    moved = dropped = 0

    def locate(cited: CitedQuote) -> tuple[QualificationEvidence, Side, TranscriptTurn] | None:
        nonlocal moved, dropped
        number = cited.turn.strip().upper().lstrip("T")
        claimed = turns[int(number) - 1] if number.isdigit() and 0 < int(number) <= len(turns) else None
        found = finder.find(cited.quote, claimed.seconds if claimed else 0)
        if found is None:
            dropped += 1
            return None
        turn, words = found
        if turn is not claimed:
            moved += 1
        side = side_of(turn)
        return quote(meeting, turn, words, side), side, turn

    result = MeetingQualification(recording_id=meeting.recording_id, seconds=transcript_seconds(meeting))
    result.opening = opening_of(meeting, side_of)  # the transcript's, not the model's
    seen: set[tuple[str, str, str]] = set()
    for cited in answer.evidence:
        element = rubric.element(cited.element.strip().lower())
        located = locate(cited) if element is not None else None
        if element is None or located is None:
            dropped += element is None
            continue
        ev, side, _ = located
        if side not in (Side.CUSTOMER, Side.INTERNAL) or (side is Side.CUSTOMER and ev.quote.rstrip().endswith("?")):
            dropped += 1
            continue
        if (element.key, ev.timestamp, ev.quote) in seen:
            continue
        seen.add((element.key, ev.timestamp, ev.quote))
        if side is Side.CUSTOMER:
            ev = ev.model_copy(update={"value": element.value_in(ev.quote, ev.speaker or "")})
        result.hits.setdefault(element.key, []).append(ev)
    to_them = customer_spoke(meeting, side_of)  # with no one of theirs there, a promise is to a colleague
    for promise in answer.promises:
        located = locate(promise)
        if located is not None and located[1] is Side.INTERNAL and to_them:
            result.promises.append(promise_at(meeting, located[2], located[0].quote, side_of))
        elif located is not None:
            dropped += 1
    for delivery in answer.deliveries:
        located = locate(delivery)
        if located is not None:
            result.deliveries.append(located[0])
    for hits in result.hits.values():
        hits.sort(key=lambda e: e.timestamp)
    return result, moved, dropped


class ModelQualifier:
    """One structured-output call a meeting through the analyser's :meth:`OpenAIAnalyzer.structured`.

    Attributes:
        reattributed / dropped: quotes moved to the turn that holds them, and quotes dropped, so far.
    """

    def __init__(self, analyzer: OpenAIAnalyzer, rubric: Rubric, *, company: str = "") -> None:
        self.analyzer = analyzer
        self.rubric = rubric
        self.company = company
        self.name = analyzer.name
        self.fingerprint = make_fingerprint(
            kind="model-qualification", model=analyzer.model, prompt=PROMPT_VERSION, rubric=rubric.digest
        )
        self.reattributed = 0
        self.dropped = 0
        self._counting = threading.Lock()  # the pipeline qualifies several meetings at once

    def qualify(self, meeting: Meeting, *, domain: str | Account) -> MeetingQualification:
        if meeting.transcript is None:
            raise ValueError(f"Meeting {meeting.recording_id} has no transcript to qualify.")
        user = qualification_message(meeting, domain=domain, company=self.company)
        if estimate_tokens(user) > self.analyzer.context_tokens:  # one call a meeting: the longest are cut at a turn
            keep = self.analyzer.context_tokens * 4
            user = user[:keep].rsplit("\nT", 1)[0]
        what = f"the qualification of meeting {meeting.recording_id} ({meeting.title!r})"
        answer = self.analyzer.structured(_system(self.rubric), user, QualificationAnswer, what=what)
        result, moved, dropped = verify_answer(answer, meeting, self.rubric, domain=domain)
        with self._counting:
            self.reattributed += moved
            self.dropped += dropped
        return result
