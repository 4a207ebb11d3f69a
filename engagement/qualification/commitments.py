"""Our commitments: what our side promised in the meetings, and whether a later meeting shows it done.

A commitment is a verified quote of our side's (no quote, no commitment). It is ``done`` when a
sentence of a later meeting says something was sent, shared, received, read or done, is not negated
("we still haven't had the list"), and shares at least two of the promise's content words ("I'll send the
data dictionary" … "five tables, as per the data dictionary"), or one when the customer (or a partner)
says they received, read or used it ("let's get you a written proposal" … "I've read the proposal").
A promise to arrange a meeting is done when that meeting took place, and only when the promise pins it
down (:func:`meeting_kept`): "I'll propose November 12th" and a meeting of the account on 12 November;
"I'll set up a planning session with Raj and Owen in November" and a November meeting Raj or Owen was
invited to; its proof is that meeting's first sentence. A later meeting merely taking place proves nothing
("I'll set up a prep call with her" names no day and no one), nor does a related result ("the security
review is signed off" for "we'll get everything to you by Friday"): the app cannot tell which promise it keeps.
Otherwise a commitment keeps the stored value ``open``, which is shown as "not seen done": the app cannot
know a promise is still open, only that no later meeting shows it done.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from datetime import date, timedelta

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
    "meeting_kept",
    "window_of",
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


# A promise to arrange a meeting: the verb, and what is arranged (a named day needs no noun: "I'll propose the 12th").
_ARRANGE = re.compile(r"\b(?:set up|propose|schedule|book|arrange|organi[sz]e)\b", re.IGNORECASE)
_GATHERING = re.compile(r"\b(?:session|call|meeting|review|workshop|check-in)s?\b", re.IGNORECASE)
_MONTHS = "january february march april may june july august september october november december".split()
_MONTH = "(?:" + "|".join(_MONTHS) + ")"
_DAY = re.compile(
    rf"\b(?P<month>{_MONTH})\s+(?P<day>\d{{1,2}})(?:st|nd|rd|th)?\b|\b(?P<day2>\d{{1,2}})(?:st|nd|rd|th)?\s+(?:of\s+)?"
    rf"(?P<month2>{_MONTH})\b",
    re.IGNORECASE,
)
_IN_MONTH = re.compile(rf"\b(?:in|during|for)\s+(?:early\s+|mid-?\s*|late\s+)?(?P<month>{_MONTH})\b", re.IGNORECASE)
_WEEKS = re.compile(
    r"\b(?:in|within) the next (?P<n>two|three|four|2|3|4) weeks\b|\b(?P<which>this|next) week\b", re.IGNORECASE
)
_COUNT = {"two": 2, "three": 3, "four": 4, "2": 2, "3": 3, "4": 4}
_NAME = re.compile(r"(?<!^)(?<![.!?]\s)\b(?-i:[A-Z][a-z]+)\b")


def window_of(text: str, said_on: date) -> tuple[date, date] | None:
    """The days a promise pins a meeting to: a named day, a month, "this week", "next week", "in the next two
    weeks" (a day or month already past is next year's); None when it names none."""
    if day := _DAY.search(text):
        month = _MONTHS.index((day["month"] or day["month2"]).casefold()) + 1
        number = int(day["day"] or day["day2"])
        try:
            named = date(said_on.year, month, number)
            if named < said_on:
                named = date(said_on.year + 1, month, number)
        except ValueError:
            return None
        return named, named
    if month_named := _IN_MONTH.search(text):
        month = _MONTHS.index(month_named["month"].casefold()) + 1
        year = said_on.year + (month < said_on.month)
        last = (date(year + (month == 12), month % 12 + 1, 1)) - timedelta(days=1)
        return max(date(year, month, 1), said_on + timedelta(days=1)), last
    if weeks := _WEEKS.search(text):
        if weeks["n"]:
            return said_on + timedelta(days=1), said_on + timedelta(weeks=_COUNT[weeks["n"]])
        if weeks["which"].casefold() == "this":
            return said_on + timedelta(days=1), said_on + timedelta(days=6 - said_on.weekday())
        start = said_on + timedelta(days=7 - said_on.weekday())
        return start, start + timedelta(days=6)
    return None


def meeting_kept(promise: QualificationEvidence, said_on: date, later: Sequence[Meeting]) -> Meeting | None:
    """The later meeting a promise to arrange one pins down, if it took place (see the module): on the day it
    names, or within the days it names with someone it names invited."""
    text = promise.quote
    if not _ARRANGE.search(text):
        return None
    window = window_of(text, said_on)
    if window is None:
        return None
    start, end = window
    named_day = start == end and _DAY.search(text) is not None
    if not named_day and not _GATHERING.search(text):
        return None
    names = {n.casefold() for n in _NAME.findall(text)} - set(_MONTHS)
    for meeting in later:
        if not start <= meeting.started_at.date() <= end:
            continue
        invited = {(i.name or "").split(" ")[0].casefold() for i in meeting.invitees if i.is_external}
        if named_day or names & invited:
            return meeting
    return None


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
            if done is None:
                held = meeting_kept(promise, meeting.started_at.date(), order[after + 1 :])
                opening = per_meeting[held.recording_id].opening if held and held.recording_id in per_meeting else None
                done = opening
            out.append(
                Commitment(text=promise.quote, status="done" if done else "open", evidence=promise, done_evidence=done)
            )
    return out
