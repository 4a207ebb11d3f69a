"""A careful reader's goals, challenges and risks of the demo accounts, and the offline analyser scored against them.

``tests/data/insights/insights.json`` (see its ``_about`` and ``README.md``) labels, per demo file, every customer
sentence a careful account manager would file as a goal, challenge or risk (``useful: false`` when it is true but
too vague to act on; ``also`` for a second category) and lists sentences with cue words that are none of them
(``not``). ``score()`` runs the offline analyser on each demo file's meetings and sorts every quote it gives
under a goal, challenge or risk into right or wrong (with the reason), and every useful label into found or missed.
Shared by ``tests/test_insight_labels.py`` (precision) and ``bench/insights.py`` (recall).
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path
from typing import Any

from engagement.analysis.offline import OfflineAnalyzer
from engagement.analysis.verify import fold
from engagement.fathom.client import to_meeting
from engagement.models import Meeting

LABELS = Path(__file__).resolve().parents[1] / "data" / "insights" / "insights.json"
DEMO_DATA = Path(__file__).resolve().parents[2] / "engagement" / "demo" / "data"
KINDS = ("goal", "challenge", "risk")
FILES = {
    "acmecorp.com": "acmecorp.com.json",
    "brightwater.co.uk": "brightwater.co.uk.json",
    "globex.io": "globex.io.json",
}


@cache
def labels() -> dict[str, Any]:
    data: dict[str, Any] = json.loads(LABELS.read_text(encoding="utf-8"))
    return data


@cache
def demo_meetings(domain: str) -> tuple[Meeting, ...]:
    raw = json.loads((DEMO_DATA / FILES[domain]).read_text(encoding="utf-8"))["meetings"]
    return tuple(to_meeting(m) for m in raw)


def _same(quote: str, sentence: str) -> bool:
    """The quote and the labelled sentence share it (one holds the other)."""
    q, s = fold(quote), fold(sentence)
    return bool(q) and bool(s) and (q in s or s in q)


@dataclass(frozen=True)
class Output:
    """One quote the analyser gave under ``kind``, and the reader's verdict on it.

    Attributes:
        verdict: ``right``; or why it is wrong: ``vague`` (labelled but too vague to act on), ``not`` (the reader
            says it is no goal/challenge/risk), ``other:<category>`` (labelled in another category), ``unlabelled``.
    """

    domain: str
    kind: str
    recording_id: int
    speaker: str
    quote: str
    verdict: str


@dataclass
class Score:
    """Every output quote with its verdict, and per category the reader's useful labels found and missed."""

    outputs: list[Output] = field(default_factory=list)
    found: dict[str, list[dict[str, Any]]] = field(default_factory=lambda: {k: [] for k in KINDS})
    missed: dict[str, list[dict[str, Any]]] = field(default_factory=lambda: {k: [] for k in KINDS})

    def wrong(self) -> list[Output]:
        return [o for o in self.outputs if o.verdict != "right"]


def _verdict(kind: str, recording_id: int, quote: str, file_labels: dict[str, Any]) -> str:
    mine = [
        lab for lab in file_labels["labels"] if lab["recording_id"] == recording_id and _same(quote, lab["sentence"])
    ]
    nots = [n for n in file_labels["not"] if n["recording_id"] == recording_id and _same(quote, n["sentence"])]
    if any(lab["useful"] and kind in (lab["category"], lab["also"]) for lab in mine):
        return "right"
    if nots:
        return "not"
    if any(kind in (lab["category"], lab["also"]) for lab in mine):
        return "vague"
    if mine:
        return f"other:{mine[0]['category']}"
    return "unlabelled"


def score(domains: tuple[str, ...] = tuple(FILES)) -> Score:
    """The offline analyser's goals, challenges and risks on the demo meetings, meeting by meeting, judged."""
    out = Score()
    analyzer = OfflineAnalyzer()
    for domain in domains:
        file_labels = labels()[FILES[domain]]
        got: dict[str, list[tuple[int, str]]] = {k: [] for k in KINDS}
        for meeting in demo_meetings(domain):
            if meeting.transcript is None:
                continue
            mi = analyzer.analyse_meeting(meeting, domain=domain, company=domain)
            for kind, items in (("goal", mi.goals), ("challenge", mi.challenges), ("risk", mi.risks)):
                for item in items:
                    for ev in item.evidence:
                        got[kind].append((meeting.recording_id, ev.quote))
                        verdict = _verdict(kind, meeting.recording_id, ev.quote, file_labels)
                        out.outputs.append(
                            Output(domain, kind, meeting.recording_id, ev.speaker or "", ev.quote, verdict)
                        )
        for lab in file_labels["labels"]:
            if not lab["useful"]:
                continue
            kinds = {lab["category"], lab["also"]} & set(KINDS)
            hit = any(rid == lab["recording_id"] and _same(q, lab["sentence"]) for k in kinds for rid, q in got[k])
            (out.found if hit else out.missed)[lab["category"]].append(lab)
    return out
