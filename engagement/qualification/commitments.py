"""Our commitments: what our side promised in the meetings, and whether a later meeting shows it done.

A commitment is a verified quote of our side's (no quote, no commitment). It is ``done`` when a
sentence of a later meeting says something was sent, shared, received, read or done, is not negated
("we still haven't had the list"), and shares at least two of the promise's content words ("I'll send the
data dictionary" … "five tables, as per the data dictionary"), or one when the customer (or a partner)
says they received, read or used it ("let's get you a written proposal" … "I've read the proposal").
Otherwise it keeps the stored value ``open``, which is shown as "not seen done": the app cannot know a
promise is still open, only that no later meeting shows it done. A later meeting simply taking place is
not taken as proof (it cannot tell which promise it keeps), so "I'll propose November 12th" stays not seen
done even when a meeting happened that day.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence

from engagement.models import Commitment, Meeting, MeetingQualification, QualificationEvidence, Side
from engagement.wording import plural

__all__ = [
    "MIN_SHARED_WORDS",
    "NOT_SEEN_DONE",
    "RECEIPT",
    "answering",
    "commitments_of",
    "content_words",
    "done_by",
    "status_label",
    "tally",
]

MIN_SHARED_WORDS = 2
NOT_SEEN_DONE = "not seen done"  # what the stored ``open`` is called wherever it is shown
# The customer has it: they thank us for it, read it, saw it, or work from it.
RECEIPT = re.compile(
    r"\b(?:(?:thanks|thank you) for (?:\w+ )?(?:sending|sharing)|(?:I|we)(?:['’]ve| have)? (?:read|seen) (?:the|your|through)|"
    r"I saw your|as per the|you sent)\b(?P<thing>[^,.;:!?]*)",
    re.IGNORECASE,
)
_THING_ENDS = re.compile(
    r"\s(?:so|and|with|for|from|to|in|on|at|because|before|after|ahead|which|that)\b", re.IGNORECASE
)
# "We still haven't had the list", "it's not done yet": a sentence that names the thing to say it is missing.
_NEGATED = re.compile(r"\b(?:not|never|no|still|yet|waiting|chasing)\b|n['’]t\b", re.IGNORECASE)
_SUFFIX = re.compile(r"(?:ing|ed|es|s|e)$")
_WORD = re.compile(r"[a-z][a-z'’-]+")
_STOP = frozenset(
    """
    about after again also because been before being both call could does doing done from have here into just
    know like make more next okay only other over please really right send sent share shared some that their
    them then there these they thing things this those through today together tomorrow very want week weeks
    well were what when where which while will with within would your yours you'll we'll i'll let's thanks
    thank sure great good time times week's monday tuesday wednesday thursday friday send over sending sharing
    """.split()
)


def content_words(text: str) -> set[str]:
    """The words of a sentence that say what it is about (four letters or more, no common words, no plural s)."""
    words = set()
    for word in _WORD.findall(text.casefold()):
        word = word.replace("’", "'")
        if len(word) < 4 or word in _STOP or "'" in word:
            continue
        words.add(_stem(word))
    return words


def _stem(word: str) -> str:
    """Treat "connect", "connected", "connecting" and "connects" as one word ("close" and "closed" too); short words kept."""
    if word.endswith("ss"):
        return word
    stem = _SUFFIX.sub("", word)
    return stem if len(stem) >= 4 else word


def done_by(promise: QualificationEvidence, later: QualificationEvidence) -> bool:
    """Whether a later sentence shows the promise done: it says the thing exists and names it (see the module)."""
    if _NEGATED.search(later.quote):
        return False
    shared = content_words(promise.quote) & content_words(later.quote)
    if len(shared) >= MIN_SHARED_WORDS:
        return True
    receipt = RECEIPT.search(later.quote) if later.side in (Side.CUSTOMER, Side.THIRD_PARTY) else None
    if receipt is None:
        return False
    # "I've read the proposal": the thing they have is the noun the phrase ends on, and it must be the promise's
    # ("I've read the pilot readout" does not keep "we'll include the pilot credit").
    thing = content_words(_THING_ENDS.split(receipt.group("thing"), maxsplit=1)[0].split(" ")[-1])
    return bool(thing) and thing <= shared


def status_label(status: str) -> str:
    """A stored status as people read it: ``done``, else "not seen done" (nothing shows a promise still open)."""
    return "done" if status == "done" else NOT_SEEN_DONE


def answering(commitment: Commitment) -> str | None:
    """What a bare "Will do." agreed to, in words: ``in answer to Sarah Lopez: “Could you send the slides?”``."""
    asked = commitment.evidence.answers
    if asked is None:
        return None
    return f"in answer to {asked.speaker or 'someone'}: “{asked.quote}”"


def tally(commitments: Sequence[Commitment]) -> str:
    """``48 commitments: 26 seen done, 22 not seen done`` (``no commitments`` when there are none)."""
    if not commitments:
        return "no commitments"
    done = sum(c.status == "done" for c in commitments)
    return f"{plural(len(commitments), 'commitment')}: {done} seen done, {len(commitments) - done} {NOT_SEEN_DONE}"


def commitments_of(meetings: Sequence[Meeting], per_meeting: Mapping[int, MeetingQualification]) -> list[Commitment]:
    """Every promise of ours, in meeting order, each ``done`` (with the later quote) or ``open``."""
    order = sorted(meetings, key=lambda m: (m.started_at, m.recording_id))
    position = {m.recording_id: n for n, m in enumerate(order)}
    deliveries: list[tuple[int, QualificationEvidence]] = []
    for rid, said in per_meeting.items():
        deliveries.extend((position.get(rid, -1), ev) for ev in said.deliveries)
    deliveries.sort(key=lambda d: (d[0], d[1].timestamp))
    out = []
    for meeting in order:
        found = per_meeting.get(meeting.recording_id)
        for promise in found.promises if found else []:
            after = position[meeting.recording_id]
            done = next((ev for at, ev in deliveries if at > after and done_by(promise, ev)), None)
            out.append(
                Commitment(text=promise.quote, status="done" if done else "open", evidence=promise, done_evidence=done)
            )
    return out
