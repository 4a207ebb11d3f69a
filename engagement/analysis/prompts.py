"""The model's instructions, the structured-output schemas, and the messages built from meetings.

The system messages are fixed text (no company, no date) so the server's prompt cache can reuse them
across every call; everything that varies goes in the user message. Change ``PROMPT_VERSION`` with
any change here that changes the output: it is part of the analyser's fingerprint, so cached
analyses made with the old prompt are not reused.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from pydantic import BaseModel, Field, ModelWrapValidatorHandler, PrivateAttr, model_validator

from engagement.account.domains import Account
from engagement.account.people import MeetingSides
from engagement.analysis.verify import evidence_key, meeting_date
from engagement.models import Evidence, Insight, Meeting, MeetingInsights, Person, Side, TranscriptTurn

__all__ = [
    "PROMPT_VERSION",
    "MAP_SYSTEM",
    "REDUCE_SYSTEM",
    "MeetingAnalysis",
    "AccountAnalysis",
    "estimate_tokens",
    "transcript_lines",
    "split_lines",
    "map_user_message",
    "EvidenceCatalogue",
    "reduce_user_message",
]

PROMPT_VERSION = "2026-12-map5-reduce3"  # map5: roles cite the words that state them; reduce3: no roles, sides kept

# ---------------------------------------------------------------- what the app reads of an answer

MAX_ITEMS = 50  # items per list of a model answer; the rest is left out (and counted)
MAX_CHARS = 1_000  # characters per text of a model answer; longer texts are cut


def _capped(value: Any, counts: dict[str, int], depth: int = 0) -> Any:
    """The raw answer with every list cut to ``MAX_ITEMS`` and every text to ``MAX_CHARS`` (counted)."""
    if depth > 6:
        return value  # deeper than any schema here: validation refuses it
    if isinstance(value, dict):
        return {key: _capped(item, counts, depth + 1) for key, item in value.items()}
    if isinstance(value, list):
        counts["items"] += max(0, len(value) - MAX_ITEMS)
        return [_capped(item, counts, depth + 1) for item in value[:MAX_ITEMS]]
    if isinstance(value, str) and len(value) > MAX_CHARS:
        counts["texts"] += 1
        return value[:MAX_CHARS]
    return value


class _Answer(BaseModel):
    """A model answer read with caps, so any answer costs bounded work.

    Attributes:
        items_dropped: list items beyond ``MAX_ITEMS`` that were left out.
        texts_cut: texts longer than ``MAX_CHARS`` that were cut.
    """

    _items_dropped: int = PrivateAttr(default=0)
    _texts_cut: int = PrivateAttr(default=0)

    @model_validator(mode="wrap")
    @classmethod
    def _cap(cls, value: Any, handler: ModelWrapValidatorHandler[Any]) -> Any:
        counts = {"items": 0, "texts": 0}
        model = handler(_capped(value, counts) if isinstance(value, dict) else value)
        model._items_dropped, model._texts_cut = counts["items"], counts["texts"]
        return model

    @property
    def items_dropped(self) -> int:
        return self._items_dropped

    @property
    def texts_cut(self) -> int:
        return self._texts_cut


# ---------------------------------------------------------------- schemas (strict: every field required, no defaults)


class QuoteOut(BaseModel):
    """A verbatim quote from one transcript line."""

    timestamp: str = Field(description="The [HH:MM:SS] of the transcript line the quote comes from, as HH:MM:SS.")
    speaker: str = Field(description="The speaker of that line, as written in the transcript.")
    quote: str = Field(description="Words copied exactly from that line: a full sentence or clause, never paraphrased.")


class ItemOut(BaseModel):
    text: str = Field(description="The point in one short sentence.")
    evidence: list[QuoteOut] = Field(description="One to three verbatim quotes that support the point.")


class RoleOut(BaseModel):
    name: str = Field(description="The person's name as written in the transcript.")
    email: str | None = Field(description="Their e-mail address if the transcript shows it, else null.")
    role: str = Field(description="Their current job title or role, as stated in the meeting.")
    evidence: list[QuoteOut] = Field(
        description="One or two verbatim quotes in which the person states the role, or another states it of them."
    )


class MeetingAnalysis(_Answer):
    """The map step's answer for one meeting (or one part of a long one)."""

    themes: list[ItemOut] = Field(description="Topics discussed; text is a short topic name (1-4 words).")
    goals: list[ItemOut] = Field(description="What the customer wants to achieve.")
    challenges: list[ItemOut] = Field(description="Problems the customer has today.")
    risks: list[ItemOut] = Field(description="Things that could stop or delay the deal or the project.")
    roles: list[RoleOut] = Field(description="Roles of the people who spoke, when stated or clearly shown.")
    next_steps: list[ItemOut] = Field(description="Follow-ups agreed in the meeting.")


class AccountItemOut(BaseModel):
    text: str = Field(description="The point in one short sentence.")
    evidence_ids: list[str] = Field(description="Ids of the evidence items that support it, such as E3.")


class ThemeOut(BaseModel):
    topic: str = Field(description="A short topic name (1-4 words).")
    meeting_ids: list[int] = Field(description="Recording ids of every meeting that raised the topic.")
    evidence_ids: list[str] = Field(description="Ids of evidence items about the topic, at least one.")


class AccountAnalysis(_Answer):
    """The reduce step's answer for the account."""

    themes: list[ThemeOut]
    goals: list[AccountItemOut]
    challenges: list[AccountItemOut]
    risks: list[AccountItemOut]
    recommendations: list[AccountItemOut] = Field(description="3 to 7 concrete next actions for our team.")


# ---------------------------------------------------------------- instructions (fixed text: cacheable prefix)

MAP_SYSTEM = """\
You analyse the transcript of one recorded sales or customer-success meeting for an account team.
Extract what the CUSTOMER cares about. Extract, do not invent.

Rules:
- Use only what is said in the transcript. Do not guess, infer beyond the words, or use outside knowledge.
- Return empty lists rather than guess. A short meeting may have nothing to report.
- Themes, goals, challenges and risks are the CUSTOMER's: quote only lines marked customer. A line marked
  internal is our team speaking: "our goal", "the risk on our end", "the challenge for us" said by our team
  is ours, not the customer's, and our team repeating the customer's pain in our words is not evidence.
  Our team's lines may support a next step only.
- Every item needs evidence: a quote copied verbatim, word for word, from ONE transcript line, with that
  line's timestamp (HH:MM:SS) and speaker. Do not fix grammar, shorten words or join lines.
  Prefer a full sentence of 6 to 40 words.
- themes: the topics discussed (pricing, security review, SSO, integration, timeline, ...), 1-4 words each.
- goals: outcomes the customer wants. challenges: problems they have today. risks: what could delay,
  shrink or kill the deal or project (budget, competitors, blockers, people leaving, deadlines).
- roles: a person's current job title, only when the meeting states it: the person about themselves ("I'm the
  CFO here", "I run procurement") or another naming them ("our VP of Finance, Ingrid"). Not from what someone
  was ("when I was CFO at my last company"), whom they report to or ask ("I report to the CFO", "ask our CTO"),
  or a title with no name. Quote the words that state it; no quote, no role.
- next_steps: follow-ups agreed in the meeting.
- Write each text as one short sentence in English. No duplicates.
"""

REDUCE_SYSTEM = """\
You write the account-level summary of a customer from the analyses of their meetings.
You are given each meeting's themes, goals, challenges, risks, roles and next steps, and a numbered list
of evidence items (verbatim quotes, such as E12, each with its speaker's side). Combine them; do not invent.

Rules:
- themes: merge topics that mean the same; for each list every meeting (by recording id) that raised it
  and cite at least one evidence id.
- goals, challenges, risks: merge duplicates across meetings into one clear sentence each, keep the
  distinct ones, most important first. Cite the evidence ids that support each one.
- themes, goals, challenges, risks: cite only evidence said by the customer's side.
- recommendations: 3 to 7 concrete next actions for our team, each grounded in the risks, challenges,
  goals, themes and open follow-ups, each citing the evidence ids behind it. Specific, not generic.
  The people list gives each person's side: never present one of our team (internal) as the customer, or a
  concern our team raised as the customer's.
- Cite only evidence ids from the list. Never write new quotes. Return empty lists rather than guess.
"""

# ---------------------------------------------------------------- the map message

_SPACE = re.compile(r"\s+")


def estimate_tokens(text: str) -> int:
    """A tokenizer-free estimate: about four characters a token."""
    return len(text) // 4 + 1


def _side_label(side: Side) -> str:
    return side.value.replace("_", " ")


def _line(turn: TranscriptTurn, side: Side) -> str:
    who = f"{turn.email}, {_side_label(side)}" if turn.email else _side_label(side)
    return f"[{turn.timestamp}] {turn.speaker} ({who}): {_SPACE.sub(' ', turn.text).strip()}"


def transcript_lines(meeting: Meeting, domain: str | Account) -> list[str]:
    """``[HH:MM:SS] Speaker (email, side): text``, one line per turn."""
    side = MeetingSides(meeting, domain)
    return [_line(turn, side(turn)) for turn in meeting.transcript or ()]


def split_lines(lines: Sequence[str], budget_tokens: int) -> list[list[str]]:
    """Lines packed into parts of at most ``budget_tokens`` (estimated), split only between lines.

    A single line longer than the budget gets a part of its own.
    """
    parts: list[list[str]] = []
    current: list[str] = []
    used = 0
    for line in lines:
        cost = estimate_tokens(line)
        if current and used + cost > budget_tokens:
            parts.append(current)
            current, used = [], 0
        current.append(line)
        used += cost
    if current or not parts:
        parts.append(current)
    return parts


def _invitees(meeting: Meeting, domain: str | Account) -> str:
    out = []
    sides = MeetingSides(meeting, domain)
    for inv in meeting.invitees:
        side = _side_label(sides.of_email(inv.email, invited_as_internal=not inv.is_external))
        out.append(f"{inv.name or inv.email or '?'} <{inv.email or 'no e-mail'}> ({side})")
    return "; ".join(out) or "not known"


def map_user_message(
    meeting: Meeting, *, domain: str | Account, company: str, lines: Sequence[str], part: int = 1, parts: int = 1
) -> str:
    """The user message of one map call: a header, then the transcript lines."""
    header = [
        f"Customer: {company} ({Account.of(domain).label()})",
        f"Meeting: {meeting.title}",
        f"Recording id: {meeting.recording_id}",
        f"Date: {meeting_date(meeting)}",
        f"Invitees: {_invitees(meeting, domain)}",
    ]
    if parts > 1:
        header.append(f"Part {part} of {parts} of the transcript (analyse this part only).")
    return "\n".join(header) + "\n\nTranscript:\n" + "\n".join(lines)


# ---------------------------------------------------------------- the reduce message


@dataclass
class EvidenceCatalogue:
    """Every meeting-level evidence item, numbered ``E1``, ``E2``, ... (one id per recording and quote)."""

    items: dict[str, Evidence]
    ids: dict[tuple[int, str], str]

    @classmethod
    def build(cls, insights: Sequence[MeetingInsights]) -> EvidenceCatalogue:
        cat = cls({}, {})
        for mi in insights:
            for item in (*mi.themes, *mi.goals, *mi.challenges, *mi.risks, *mi.next_steps):
                for ev in item.evidence:
                    cat.add(ev)
        return cat

    def add(self, evidence: Evidence) -> str:
        key = evidence_key(evidence)
        if key not in self.ids:
            ident = f"E{len(self.items) + 1}"
            self.ids[key] = ident
            self.items[ident] = evidence
        return self.ids[key]

    def id_of(self, evidence: Evidence) -> str:
        return self.ids[evidence_key(evidence)]

    def resolve(self, ids: Sequence[str]) -> tuple[list[Evidence], int]:
        """The evidence behind ``ids``, and how many ids were not in the catalogue."""
        found, unknown = [], 0
        for raw in ids:
            ev = self.items.get(raw.strip().upper())
            if ev is None:
                unknown += 1
            elif ev not in found:
                found.append(ev)
        return found, unknown


def _cited(cat: EvidenceCatalogue, item: Insight, per_item: int) -> str:
    ids = [cat.id_of(ev) for ev in item.evidence[:per_item]]
    return f" [{', '.join(ids)}]" if ids else ""


def _section(title: str, items: Sequence[Insight], cat: EvidenceCatalogue, per_item: int) -> list[str]:
    if not items:
        return [f"{title}: (none)"]
    return [f"{title}:"] + [f"- {_SPACE.sub(' ', i.text).strip()}{_cited(cat, i, per_item)}" for i in items]


def reduce_user_message(
    *,
    domain: str | Account,
    company: str,
    meetings: Sequence[Meeting],
    insights: Sequence[MeetingInsights],
    people: Sequence[Person],
    catalogue: EvidenceCatalogue,
    per_item: int = 3,
    with_extras: bool = True,
) -> str:
    """The user message of the reduce call: people, each meeting's insights citing ids, then the evidence list.

    ``per_item`` caps the ids shown per insight and ``with_extras`` adds open action items and Fathom's
    summaries; the analyser lowers both when the message would not fit the context budget.
    """
    by_id = {m.recording_id: m for m in meetings}
    out = [f"Customer: {company} ({Account.of(domain).label()})", "", "People:"]
    for p in people:
        out.append(f"- {p.name} <{p.email or 'no e-mail'}> ({p.side.value}; {p.count} meetings)")
    if not people:
        out.append("(none)")
    out += ["", "Meetings:"]
    for mi in insights:
        m = by_id.get(mi.recording_id)
        title = m.title if m else "?"
        date = meeting_date(m) if m else "?"
        out.append(f"## Meeting {mi.recording_id} | {date} | {title}")
        out += _section("Themes", mi.themes, catalogue, per_item)
        out += _section("Goals", mi.goals, catalogue, per_item)
        out += _section("Challenges", mi.challenges, catalogue, per_item)
        out += _section("Risks", mi.risks, catalogue, per_item)
        out += _section("Next steps", mi.next_steps, catalogue, per_item)
        out.append("Roles:" if mi.roles else "Roles: (none)")
        out += [f"- {r.name} <{r.email or 'no e-mail'}>: {r.role}" for r in mi.roles]
        if with_extras and m is not None:
            open_items = [a for a in m.action_items or () if not a.completed]
            if open_items:
                out.append("Open action items:")
                out += [f"- {a.description} ({a.assignee or 'unassigned'})" for a in open_items]
            if m.summary_markdown:
                summary = _SPACE.sub(" ", m.summary_markdown).strip()
                out.append(f"Fathom summary: {summary[:800]}")
        out.append("")
    out.append("Evidence:")
    for ident, ev in catalogue.items.items():
        quote = _SPACE.sub(" ", ev.quote).strip()
        side = _side_label(ev.side) if ev.side else "side not known"
        out.append(f'{ident}: [rec {ev.recording_id} @{ev.timestamp}] {ev.speaker or "?"} ({side}): "{quote}"')
    return "\n".join(out)
