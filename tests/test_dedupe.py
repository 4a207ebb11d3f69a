"""De-duplication of insights: the same answers as pairwise comparison, in near-linear work."""

from __future__ import annotations

import itertools

import pytest

from engagement.analysis import base
from engagement.analysis.base import dedupe_insights, jaccard
from engagement.models import Evidence, Insight


def insight(text: str, recording_id: int = 1, timestamp: str = "00:00:01") -> Insight:
    return Insight(text=text, evidence=[Evidence(recording_id=recording_id, timestamp=timestamp, quote=text)])


def pairwise(items: list[Insight], threshold: float = 0.6) -> list[str]:
    """The definition: the first kept insight with equal folded text or Jaccard ≥ threshold absorbs a new one."""
    kept: list[str] = []
    for item in items:
        if not any(k.casefold() == item.text.casefold() or jaccard(k, item.text) >= threshold for k in kept):
            kept.append(item.text)
    return kept


TEXTS = [
    "Cut forecast errors in half",
    "cut forecast errors in half",
    "Cut the forecast errors in half this year",
    "SSO is a must for the security review",
    "The security review needs SSO",
    "Budget freeze could delay the rollout",
    "a budget freeze may delay rollout",
    "Reps update the forecast manually",
    "",
    "   ",
    "Roll out to the EMEA team first",
]


@pytest.mark.parametrize("threshold", [0.6, 1.0])
def test_the_same_insights_are_kept_as_comparing_every_pair(threshold: float) -> None:
    """For every order of a tricky list, the kept wordings equal the pairwise definition's."""
    for order in itertools.islice(itertools.permutations(TEXTS), 0, 2000, 7):
        items = [insight(t) for t in order]
        assert [i.text for i in dedupe_insights(items, threshold=threshold)] == pairwise(items, threshold)


def test_merged_insights_keep_every_distinct_piece_of_evidence_once() -> None:
    """Duplicates pool their evidence; the same evidence twice is kept once."""
    out = dedupe_insights(
        [
            insight("Cut forecast errors in half", 1),
            insight("cut forecast errors in half", 2),
            insight("Cut forecast errors in half", 1),
        ]
    )
    assert len(out) == 1 and [e.recording_id for e in out[0].evidence] == [1, 2]


def test_a_flood_of_insights_costs_near_linear_comparisons(monkeypatch: pytest.MonkeyPatch) -> None:
    """20,000 insights sharing words are compared a bounded number of times each, not with every kept one."""
    calls = {"n": 0}
    limit = 20_000 * (base.MAX_CANDIDATES + 5)

    def counted(*args: object) -> bool | float:
        calls["n"] += 1
        if calls["n"] > limit:
            raise AssertionError("quadratic: more comparisons than the near-linear bound")
        return original_similar(*args) if len(args) == 3 else original_jaccard(*args)  # type: ignore[arg-type]

    original_similar, original_jaccard = base._similar, base.jaccard
    monkeypatch.setattr(base, "_similar", counted, raising=False)
    monkeypatch.setattr(base, "jaccard", counted)
    items = [insight(f"security w{i} x{i} y{i}", i) for i in range(20_000)]  # all share "security", none alike
    out = dedupe_insights(items)
    assert calls["n"] <= limit and len(out) == 20_000


def test_what_the_caps_left_out_is_said_in_the_notes() -> None:
    """Items dropped and texts cut when reading answers become notes with their counts."""
    from engagement.analysis.base import Usage
    from engagement.pipeline import capped_notes

    usage = Usage()
    assert capped_notes(usage) == []
    usage.add(items_dropped=199_950, texts_cut=2)
    notes = capped_notes(usage)
    assert "199,950 were left out" in notes[0] and "2 texts" in notes[1]
