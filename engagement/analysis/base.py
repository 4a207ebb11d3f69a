"""What every analyser shares: the ``Analyzer`` protocol, its usage counters and fingerprint, de-duplication."""

from __future__ import annotations

import hashlib
import json
import math
import re
import threading
from collections.abc import Iterable, Sequence
from typing import Protocol, runtime_checkable

from engagement.account.domains import Account
from engagement.account.people import dedupe_roles
from engagement.analysis.verify import evidence_key, fold
from engagement.models import (
    AccountInsights,
    Evidence,
    Insight,
    Meeting,
    MeetingInsights,
    Person,
)

__all__ = [
    "Analyzer",
    "Usage",
    "make_fingerprint",
    "dedupe_insights",
    "jaccard",
    "merge_meeting_insights",
]


class Usage:
    """Thread-safe counters of the work an analyser did (the job's ``stats`` read them).

    Attributes:
        llm_calls: model calls made (each part of a split transcript counts; the SDK's retries do not).
        tokens_in / tokens_out: ``usage.prompt_tokens`` / ``usage.completion_tokens`` as the server reported.
        prompts_cut: calls whose reported prompt size was far below what was sent (a small context cut it).
        items_dropped / texts_cut: what the caps on reading an answer left out or shortened.
    """

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self.llm_calls = 0
        self.tokens_in = 0
        self.tokens_out = 0
        self.prompts_cut = 0
        self.items_dropped = 0
        self.texts_cut = 0

    def add(
        self,
        *,
        llm_calls: int = 0,
        tokens_in: int = 0,
        tokens_out: int = 0,
        prompts_cut: int = 0,
        items_dropped: int = 0,
        texts_cut: int = 0,
    ) -> None:
        with self._lock:
            self.llm_calls += llm_calls
            self.tokens_in += tokens_in
            self.tokens_out += tokens_out
            self.prompts_cut += prompts_cut
            self.items_dropped += items_dropped
            self.texts_cut += texts_cut

    def snapshot(self) -> dict[str, int]:
        """The counters at one instant (consistent with each other)."""
        with self._lock:
            return {
                "llm_calls": self.llm_calls,
                "tokens_in": self.tokens_in,
                "tokens_out": self.tokens_out,
            }

    def __repr__(self) -> str:
        return f"Usage({self.snapshot()})"


@runtime_checkable
class Analyzer(Protocol):
    """Map (one meeting) and reduce (the account). Implementations are safe to call from several threads.

    Attributes:
        name: ``"offline"`` or ``"openai:<model>"``; stored in the job record.
        fingerprint: stable hash of everything that changes the output (kind, model, prompt version);
            part of the cache key, so a new prompt or model re-analyses every meeting.
        usage: counters of calls and tokens.
    """

    name: str
    fingerprint: str
    usage: Usage

    def analyse_meeting(self, meeting: Meeting, *, domain: str | Account, company: str) -> MeetingInsights:
        """Insights of one meeting whose ``transcript`` is present, as found: the pipeline verifies every quote."""
        ...

    def merge(
        self,
        *,
        domain: str | Account,
        company: str,
        meetings: Sequence[Meeting],
        insights: Sequence[MeetingInsights],
        people: Sequence[Person],
    ) -> AccountInsights:
        """The account-level view from every meeting's (verified) insights; transcripts may be absent.

        Evidence is cited from ``insights``; the pipeline checks it against them and counts the mentions.
        """
        ...


def make_fingerprint(**parts: object) -> str:
    """A short stable hash of the things that change an analyser's output."""
    raw = json.dumps(parts, sort_keys=True, separators=(",", ":"), default=str)
    return hashlib.sha256(raw.encode()).hexdigest()[:16]


# ---------------------------------------------------------------- de-duplication

_WORD = re.compile(r"[a-z0-9]+(?:'[a-z]+)?")
_STOP = frozenset(
    "a an the and or but of to in on for with at by from is are was were be been it its this that these those "
    "we our us i my me you your they their them he she his her so as if then than there here do does did "
    "have has had will would can could should just really very also about into over".split()
)


def _tokens(text: str) -> set[str]:
    return {w for w in _WORD.findall(fold(text)) if w not in _STOP}


def jaccard(a: str, b: str) -> float:
    """Token Jaccard similarity of two texts (stop words left out)."""
    ta, tb = _tokens(a), _tokens(b)
    if not ta or not tb:
        return 1.0 if fold(a) == fold(b) else 0.0
    return len(ta & tb) / len(ta | tb)


class _Kept:
    """An insight kept by ``dedupe_insights``, with what matching needs computed once."""

    __slots__ = ("insight", "tokens", "evidence")

    def __init__(self, insight: Insight, tokens: frozenset[str]) -> None:
        self.insight = insight
        self.tokens = tokens
        self.evidence = {evidence_key(e) for e in insight.evidence}

    def absorb(self, more: Iterable[Evidence]) -> None:
        for ev in more:
            key = evidence_key(ev)
            if key not in self.evidence:
                self.evidence.add(key)
                self.insight.evidence.append(ev)


def _prefix(tokens: frozenset[str], threshold: float) -> list[str]:
    """The tokens two sets must share one of to reach ``threshold`` (the prefix filter of set-similarity joins).

    In one fixed order (sorted), sets with Jaccard ≥ t share a token among the first
    ``|A| - ceil(t·|A|) + 1`` tokens of each.
    """
    ordered = sorted(tokens)
    need = math.ceil(threshold * len(ordered) - 1e-9)
    return ordered[: max(1, len(ordered) - need + 1)]


def dedupe_insights(items: Iterable[Insight], *, threshold: float = 0.6) -> list[Insight]:
    """Insights with equal (folded) text or token Jaccard ≥ ``threshold`` become one, keeping all evidence.

    The first wording wins; order is first appearance. Near-linear: equal texts meet in a dict, and
    each insight is compared only with kept ones that share a prefix token (at most
    ``MAX_CANDIDATES`` per token), never with every kept insight.
    """
    kept: list[_Kept] = []
    by_text: dict[str, int] = {}
    by_token: dict[str, list[int]] = {}
    for item in items:
        text = fold(item.text)
        match = by_text.get(text)
        tokens = frozenset(_tokens(item.text))
        prefix = _prefix(tokens, threshold) if tokens else []
        if match is None and prefix:
            candidates = sorted({i for token in prefix for i in by_token.get(token, ())[:MAX_CANDIDATES]})
            match = next((i for i in candidates if _similar(kept[i].tokens, tokens, threshold)), None)
        if match is not None:
            kept[match].absorb(item.evidence)
            continue
        by_text[text] = len(kept)
        for token in prefix:
            by_token.setdefault(token, []).append(len(kept))
        kept.append(_Kept(Insight(text=item.text, evidence=[]), tokens))
        kept[-1].absorb(item.evidence)
    return [k.insight for k in kept]


MAX_CANDIDATES = 64  # kept insights compared per shared token: a flood of near-identical items stays linear


def _similar(a: frozenset[str], b: frozenset[str], threshold: float) -> bool:
    return len(a & b) >= threshold * len(a | b)


def merge_meeting_insights(recording_id: int, parts: Sequence[MeetingInsights]) -> MeetingInsights:
    """One meeting's insights from the insights of its parts (a long transcript split in several calls)."""
    return MeetingInsights(
        recording_id=recording_id,
        themes=dedupe_insights((t for p in parts for t in p.themes), threshold=1.0),
        goals=dedupe_insights(g for p in parts for g in p.goals),
        challenges=dedupe_insights(c for p in parts for c in p.challenges),
        risks=dedupe_insights(r for p in parts for r in p.risks),
        roles=dedupe_roles(r for p in parts for r in p.roles),
        next_steps=dedupe_insights(n for p in parts for n in p.next_steps),
    )
