"""Our commitments: what our side promised in the meetings, and whether a later meeting shows it done.

A commitment is a verified quote of our side's (no quote, no commitment). It is ``done`` when a
sentence of a later meeting says something was sent, shared, received or done and shares at least
two of the promise's content words ("the security questionnaire answers" … "thanks for the
questionnaire answers"); otherwise it is ``open``: no later meeting shows it done.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence

from engagement.models import Commitment, Meeting, MeetingQualification, QualificationEvidence

__all__ = ["MIN_SHARED_WORDS", "commitments_of", "content_words"]

MIN_SHARED_WORDS = 2
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
        words.add(word[:-1] if word.endswith("s") and not word.endswith("ss") else word)
    return words


def commitments_of(meetings: Sequence[Meeting], per_meeting: Mapping[int, MeetingQualification]) -> list[Commitment]:
    """Every promise of ours, in meeting order, each ``done`` (with the later quote) or ``open``."""
    order = sorted(meetings, key=lambda m: (m.started_at, m.recording_id))
    position = {m.recording_id: n for n, m in enumerate(order)}
    deliveries: list[tuple[int, QualificationEvidence, set[str]]] = []
    for rid, said in per_meeting.items():
        for ev in said.deliveries:
            deliveries.append((position.get(rid, -1), ev, content_words(ev.quote)))
    deliveries.sort(key=lambda d: (d[0], d[1].timestamp))
    out = []
    for meeting in order:
        found = per_meeting.get(meeting.recording_id)
        for promise in found.promises if found else []:
            words = content_words(promise.quote)
            done = next(
                (
                    ev
                    for at, ev, said in deliveries
                    if at > position[meeting.recording_id] and len(words & said) >= MIN_SHARED_WORDS
                ),
                None,
            )
            out.append(
                Commitment(text=promise.quote, status="done" if done else "open", evidence=promise, done_evidence=done)
            )
    return out
