"""Checking a stored summary's quotes against the transcripts they claim to come from, without the app's code."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

INSIGHT_LISTS = ("goals_detail", "challenges_detail", "risks_detail", "recommendations_detail")


def folded(text: str) -> str:
    """Lower case, runs of white space as one space: how a quote is compared with what was said."""
    return " ".join(text.split()).lower()


def transcripts_of(meetings: Iterable[dict[str, Any]]) -> dict[int, str]:
    """Each Fathom-format meeting's transcript as one folded text, by recording id (those with one)."""
    return {
        m["recording_id"]: " ".join(folded(turn["text"]) for turn in m["transcript"])
        for m in meetings
        if m["transcript"] is not None
    }


def evidence_of(summary: dict[str, Any]) -> list[dict[str, Any]]:
    """Every piece of evidence a stored summary (its JSON) shows: the insight lists' and the themes'."""
    listed = [ev for name in INSIGHT_LISTS for item in summary[name] for ev in item["evidence"]]
    return listed + [ev for theme in summary["themes"] for ev in theme["evidence"]]


def assert_quotes_were_said(summary: dict[str, Any], transcripts: dict[int, str]) -> None:
    """The summary shows evidence, all of it verified and found word for word in its own meeting's transcript."""
    evidence = evidence_of(summary)
    assert evidence, "the summary shows no evidence at all"
    for ev in evidence:
        assert ev["verified"] is True, ev
        assert folded(ev["quote"]) in transcripts[ev["recording_id"]], ev["quote"]
