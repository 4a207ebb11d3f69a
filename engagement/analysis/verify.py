"""Quote verification: a quote is shown only if it is in the transcript of the meeting it names.

Pure functions, data in and data out. Matching folds what a transcript and a model are allowed to
disagree on — case, white space, punctuation, curly quotes and dashes — and nothing else: the words
must be the transcript's words, in order, on word boundaries. A quote may run over consecutive turns
of the same speaker. A quote that is found is rewritten with the transcript's own text and gets its
moment (timestamp, speaker, link, meeting title and date) from the turn where it starts; everything
else is dropped and counted. Given the customer's domain, a found quote also gets its speaker's side
(:class:`~engagement.account.people.MeetingSides`), and :func:`customer_words` keeps the customer's
goals, challenges, risks and themes to the customer's own words.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any, TypeVar

from engagement.account.domains import Account
from engagement.account.people import MeetingSides
from engagement.models import (
    AccountInsights,
    Evidence,
    Insight,
    Meeting,
    MeetingInsights,
    PersonRole,
    Side,
    Theme,
    TranscriptTurn,
    format_timestamp,
)

__all__ = [
    "CUSTOMER_LISTS",
    "MIN_QUOTE_CHARS",
    "MIN_QUOTE_WORDS",
    "QuoteFinder",
    "customer_words",
    "evidence_at",
    "evidence_key",
    "with_side",
    "fold",
    "meeting_date",
    "verify_account",
    "verify_meeting_insights",
]

Insights = TypeVar("Insights", MeetingInsights, AccountInsights)

MIN_QUOTE_CHARS = 10  # "yes", "ok, sure", "honestly": found everywhere, prove nothing
MIN_QUOTE_WORDS = 2
TIME_SLACK_S = 60  # a timestamp this far past the last turn still counts as inside the meeting
_APOSTROPHES = {"\u2019", "\u2018", "\u02bc", "\u2032", "`"}
_CLOSING = frozenset(".!?…\"'”’)")
_TIMESTAMP = re.compile(r"^\s*(\d{1,3}(?::\d{1,2}){1,2})(?:[.,]\d+)?\s*$")


def _fold_char(ch: str) -> str:
    if ch in _APOSTROPHES:
        return "'"
    return unicodedata.normalize("NFKC", ch).casefold()


def _fold_mapped(text: str) -> tuple[str, list[int]]:
    """``text`` folded, and for each folded character the index of the original one it came from.

    Letters, digits and apostrophes are kept (case-folded); every run of anything else becomes one
    space; no leading or trailing space.
    """
    out: list[str] = []
    where: list[int] = []
    for i, ch in enumerate(text):
        for f in _fold_char(ch):
            if f.isalnum() or f == "'":
                out.append(f)
                where.append(i)
            elif out and out[-1] != " ":
                out.append(" ")
                where.append(i)
    if out and out[-1] == " ":
        out.pop()
        where.pop()
    return "".join(out), where


def fold(text: str | None) -> str:
    """The comparison form of a text: case, white space, punctuation, curly quotes and dashes folded."""
    return _fold_mapped(text or "")[0]


def evidence_key(evidence: Evidence) -> tuple[int, str]:
    """Identity of a piece of evidence: the meeting and the folded quote."""
    return evidence.recording_id, fold(evidence.quote)


# ---------------------------------------------------------------- finding a quote


@dataclass(frozen=True)
class _Block:
    """Consecutive turns of one speaker, folded and joined by single spaces."""

    text: str
    turn_of: tuple[int, ...]  # per folded character: index of its turn in the transcript
    char_of: tuple[int, ...]  # per folded character: index in that turn's text (-1: the joining space)


@dataclass(frozen=True)
class _Found:
    turn: TranscriptTurn
    quote: str  # the transcript's own words


def _blocks(turns: Sequence[TranscriptTurn]) -> list[_Block]:
    blocks: list[_Block] = []
    i = 0
    while i < len(turns):
        j = i
        while j + 1 < len(turns) and turns[j + 1].speaker == turns[i].speaker:
            j += 1
        text: list[str] = []
        turn_of: list[int] = []
        char_of: list[int] = []
        for k in range(i, j + 1):
            folded, where = _fold_mapped(turns[k].text)
            if not folded:
                continue
            if text:
                text.append(" ")
                turn_of.append(k)
                char_of.append(-1)
            text.append(folded)
            turn_of += [k] * len(folded)
            char_of += where
        blocks.append(_Block("".join(text), tuple(turn_of), tuple(char_of)))
        i = j + 1
    return blocks


def _original(turns: Sequence[TranscriptTurn], block: _Block, start: int, end: int) -> str:
    """The transcript's text behind ``block.text[start:end]`` (turns joined by a space)."""
    spans: dict[int, list[int]] = {}
    for pos in range(start, end):
        if block.char_of[pos] >= 0:
            spans.setdefault(block.turn_of[pos], []).append(block.char_of[pos])
    pieces = []
    for t, ix in spans.items():
        text = turns[t].text
        end = max(ix) + 1
        while end < len(text) and text[end] in _CLOSING:  # keep the sentence's own full stop or question mark
            end += 1
        pieces.append(text[min(ix) : end])
    return " ".join(pieces)


def _find(turns: Sequence[TranscriptTurn], blocks: Sequence[_Block], quote: str, near_s: int) -> _Found | None:
    """The occurrence of the folded ``quote`` nearest to ``near_s`` seconds, on word boundaries."""
    best: tuple[int, _Found] | None = None
    needle = f" {quote} "
    for block in blocks:
        hay = f" {block.text} "
        pos = hay.find(needle)
        while pos >= 0:
            start, end = pos, pos + len(quote)  # hay is block.text padded by one space: same offsets
            turn = turns[block.turn_of[start]]
            distance = abs(turn.seconds - near_s)
            if best is None or distance < best[0]:
                best = (distance, _Found(turn, _original(turns, block, start, end)))
            pos = hay.find(needle, pos + 1)
    return best[1] if best else None


def _claimed_seconds(timestamp: str) -> int | None:
    match = _TIMESTAMP.match(timestamp or "")
    if not match:
        return None
    seconds = 0
    for part in match.group(1).split(":"):
        seconds = seconds * 60 + int(part)
    return seconds


def _meeting_end_s(meeting: Meeting) -> int:
    last = max((t.seconds for t in meeting.transcript or ()), default=0)
    return max(last, meeting.duration_s or 0) + TIME_SLACK_S


def meeting_date(meeting: Meeting) -> str:
    """The day a meeting took place (``YYYY-MM-DD``, UTC)."""
    return meeting.started_at.date().isoformat()


def evidence_at(meeting: Meeting, turn: TranscriptTurn, quote: str, side: Side | None = None) -> Evidence:
    """Evidence for words found in ``turn``: its moment, speaker (and their side) and link, the meeting's title and day."""
    seconds = turn.seconds
    return Evidence(
        recording_id=meeting.recording_id,
        timestamp=format_timestamp(seconds),
        quote=quote,
        speaker=turn.speaker,
        url=meeting.moment_url(seconds),
        meeting_title=meeting.title,
        meeting_date=meeting_date(meeting),
        verified=True,
        side=side,
    )


class QuoteFinder:
    """Finds quotes in one meeting's transcript: the turn that holds each, and the transcript's own words."""

    def __init__(self, meeting: Meeting) -> None:
        self.turns = meeting.transcript or ()
        self.blocks = _blocks(self.turns)

    def find(self, quote: str, near_s: int = 0) -> tuple[TranscriptTurn, str] | None:
        """The turn where ``quote`` starts (the occurrence nearest ``near_s``) and its verbatim words, or None."""
        folded = fold(quote)
        if len(folded) < MIN_QUOTE_CHARS or folded.count(" ") + 1 < MIN_QUOTE_WORDS:
            return None
        found = _find(self.turns, self.blocks, folded, near_s)
        return (found.turn, found.quote) if found else None


class _Verifier:
    """Checks evidence against one meeting's transcript, remembering what it dropped."""

    def __init__(self, meeting: Meeting, domain: str | Account | None = None) -> None:
        self.meeting = meeting
        self.sides = MeetingSides(meeting, domain) if domain else None
        self.turns = meeting.transcript or ()
        self.blocks = _blocks(self.turns)
        self.end_s = _meeting_end_s(meeting)
        self.dropped = 0

    def check(self, evidence: Evidence) -> Evidence | None:
        meeting = self.meeting
        claimed = _claimed_seconds(evidence.timestamp)
        quote = fold(evidence.quote)
        if (
            evidence.recording_id != meeting.recording_id
            or claimed is None
            or claimed > self.end_s
            or len(quote) < MIN_QUOTE_CHARS
            or quote.count(" ") + 1 < MIN_QUOTE_WORDS
        ):
            self.dropped += 1
            return None
        found = _find(self.turns, self.blocks, quote, claimed)
        if found is None:
            self.dropped += 1
            return None
        return evidence_at(meeting, found.turn, found.quote, self.sides(found.turn) if self.sides else None)

    def insights(self, items: Iterable[Insight], *, keep_unsupported: bool = False) -> list[Insight]:
        """Insights with their evidence checked; one left with none is dropped.

        ``keep_unsupported`` keeps an insight that cited nothing in the first place (a next step taken
        from Fathom's action items); one whose every citation failed is dropped all the same.
        """
        out = []
        for item in items:
            kept = _unique(e for e in (self.check(ev) for ev in item.evidence) if e is not None)
            if kept or (keep_unsupported and not item.evidence):
                out.append(Insight(text=item.text, evidence=kept))
        return out

    def roles(self, roles: Iterable[PersonRole]) -> list[PersonRole]:
        """Roles whose evidence is found in the transcript (what the person or another said); the rest dropped."""
        out = []
        for role in roles:
            kept = _unique(e for e in (self.check(ev) for ev in role.evidence) if e is not None)
            if kept:
                out.append(role.model_copy(update={"evidence": kept}))
            elif not role.evidence:
                self.dropped += 1  # a role must cite what was said: one without a quote is a guess
        return out


def _unique(evidence: Iterable[Evidence]) -> list[Evidence]:
    out: list[Evidence] = []
    seen: set[tuple[int, str]] = set()
    for ev in evidence:
        key = evidence_key(ev)
        if key not in seen:
            seen.add(key)
            out.append(ev)
    return out


def verify_meeting_insights(
    insights: MeetingInsights, meeting: Meeting, *, domain: str | Account | None = None
) -> tuple[MeetingInsights, int]:
    """Keep only evidence found verbatim in ``meeting``'s transcript; return the result and how many were dropped.

    Evidence naming another recording, a time past the end of the meeting, or a quote that is not
    in the transcript is dropped. A theme, goal, challenge or risk left without evidence is dropped.
    With the customer's ``domain`` every kept quote carries its speaker's side. A role keeps only
    evidence found the same way; a role left with none is dropped. A meeting without a transcript
    (its insights came from the cache, verified when they were stored) is returned as it is.
    """
    if meeting.transcript is None:
        return insights, 0
    v = _Verifier(meeting, domain)
    cleaned = insights.model_copy(  # a copy keeps every other field (roles, speakers) as it was
        update={
            "themes": v.insights(insights.themes),
            "goals": v.insights(insights.goals),
            "challenges": v.insights(insights.challenges),
            "risks": v.insights(insights.risks),
            "next_steps": v.insights(insights.next_steps, keep_unsupported=True),
            "roles": v.roles(insights.roles),
        }
    )
    return cleaned, v.dropped


def with_side(evidence: Evidence, meeting: Meeting, domain: str | Account) -> Evidence:
    """``evidence`` (verified against ``meeting``) with its speaker's side: the side of the turn it starts in."""
    if evidence.side is not None:
        return evidence
    sides = MeetingSides(meeting, domain)
    turn = next(
        (t for t in meeting.transcript or () if t.timestamp == evidence.timestamp and t.speaker == evidence.speaker),
        None,
    )
    return evidence.model_copy(update={"side": sides(turn)}) if turn is not None else evidence


CUSTOMER_LISTS = ("themes", "goals", "challenges", "risks")  # evidenced by the customer's own words only


def _theirs(evidence: Iterable[Evidence]) -> list[Evidence]:
    return [ev for ev in evidence if ev.side is Side.CUSTOMER]


def customer_words(insights: Insights) -> tuple[Insights, int]:
    """The customer's themes, goals, challenges and risks with only the customer's quotes; how many quotes went.

    Our side's sentences never become the customer's: a quote whose speaker is not on the customer's side
    (ours, a third party, a personal mailbox, or a side not known) is dropped, and an item left with none is
    dropped. Next steps, recommendations and roles keep every side's quotes (each carries its side).
    """
    dropped = 0
    update: dict[str, list[Any]] = {}
    for name in CUSTOMER_LISTS:
        kept_items: list[Any] = []
        for item in getattr(insights, name):
            kept = _theirs(item.evidence)
            dropped += len(item.evidence) - len(kept)
            if kept:
                kept_items.append(item.model_copy(update={"evidence": kept}))
        update[name] = kept_items
    return insights.model_copy(update=update), dropped


# ---------------------------------------------------------------- the account


def _pool_index(pool: Sequence[MeetingInsights]) -> dict[tuple[int, str], Evidence]:
    index: dict[tuple[int, str], Evidence] = {}
    for mi in pool:
        for item in (*mi.themes, *mi.goals, *mi.challenges, *mi.risks, *mi.next_steps):
            for ev in item.evidence:
                if ev.verified and ev.recording_id == mi.recording_id:
                    index.setdefault(evidence_key(ev), ev)
    return index


def verify_account(account: AccountInsights, pool: Sequence[MeetingInsights]) -> tuple[AccountInsights, int]:
    """Keep only account-level evidence that is one of the (verified) meeting-level evidence items.

    Insights and themes left without evidence are dropped. A theme's ``meetings`` are the meetings
    of the pool it names, its evidence comes from, or that raised a theme of the same name; its
    ``mentions`` is their number — a count from the data, never the model's — and themes come out
    most mentioned first.
    """
    index = _pool_index(pool)
    order = {mi.recording_id: n for n, mi in enumerate(pool)}
    dropped = 0

    def check(evidence: Iterable[Evidence]) -> list[Evidence]:
        nonlocal dropped
        kept = []
        for ev in evidence:
            known = index.get(evidence_key(ev))
            if known is None:
                dropped += 1
            else:
                kept.append(known.model_copy())
        return _unique(kept)

    def insights(items: Iterable[Insight]) -> list[Insight]:
        out = []
        for item in items:
            kept = check(item.evidence)
            if kept:
                out.append(Insight(text=item.text, evidence=kept))
        return out

    themes = []
    for theme in account.themes:
        evidence = check(theme.evidence)
        if not evidence:
            continue
        topic = fold(theme.topic)
        raised = [mi.recording_id for mi in pool if any(fold(t.text) == topic for t in mi.themes)]
        named = [*theme.meetings, *(e.recording_id for e in evidence), *raised]
        meetings = sorted({m for m in named if m in order}, key=order.__getitem__)
        themes.append(Theme(topic=theme.topic, mentions=len(meetings), meetings=meetings, evidence=evidence))
    themes.sort(key=lambda t: (-t.mentions, t.topic))  # by the counted mentions, which only this step knows

    cleaned = account.model_copy(
        update={
            "themes": themes,
            "goals": insights(account.goals),
            "challenges": insights(account.challenges),
            "risks": insights(account.risks),
            "recommendations": insights(account.recommendations),
        }
    )
    return cleaned, dropped
