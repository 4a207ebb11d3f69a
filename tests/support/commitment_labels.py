"""Our commitments scored against a colleague's blind reading of the four demo files (shared by tests and bench).

The labels (``tests/data/qualification/commitments.json``) list, per demo file, every promise of ours a careful
reader found, with their confidence that it is a promise and their verdict (done / open / unclear). A commitment
the app reports is *listed* when an entry has its meeting date and speaker and one quote holds the other (the
reader sometimes quotes a clause, the app a sentence, or the reverse). Each file is qualified the way the app
would see it: the three accounts under their domain; ``other.json`` meeting by meeting under the one company
invited (a meeting with only our people or a personal mailbox belongs to no account the app can be asked for, so
its promises are out of reach and counted as missed).
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path
from typing import Any

from engagement.account.domains import PERSONAL_EMAIL_DOMAINS
from engagement.analysis.verify import fold
from engagement.fathom.client import to_meeting
from engagement.models import Commitment, Meeting, MeetingQualification

LABELS = Path(__file__).resolve().parents[1] / "data" / "qualification" / "commitments.json"
DEMO_DATA = Path(__file__).resolve().parents[2] / "engagement" / "demo" / "data"
ACCOUNT_FILES = {
    "acmecorp.com.json": "acmecorp.com",
    "brightwater.co.uk.json": "brightwater.co.uk",
    "globex.io.json": "globex.io",
}

Qualify = Callable[[Meeting, str], MeetingQualification]


@cache
def labels() -> dict[str, list[dict[str, Any]]]:
    """Per demo file, the reader's entries (``_about`` left out)."""
    raw = json.loads(LABELS.read_text(encoding="utf-8"))
    return {name: entries for name, entries in raw.items() if not name.startswith("_")}


@cache
def meetings_of_file(name: str) -> tuple[Meeting, ...]:
    return tuple(to_meeting(m) for m in json.loads((DEMO_DATA / name).read_text(encoding="utf-8"))["meetings"])


def accounts_of_file(name: str) -> dict[str, list[Meeting]]:
    """The file's meetings by the account the app would show them under (see the module)."""
    if name in ACCOUNT_FILES:
        return {ACCOUNT_FILES[name]: list(meetings_of_file(name))}
    out: dict[str, list[Meeting]] = {}
    for meeting in meetings_of_file(name):
        companies = [
            email.rsplit("@", 1)[1].lower()
            for i in meeting.invitees
            if i.is_external and (email := i.email or "") and "@" in email
        ]
        companies = [d for d in companies if d not in PERSONAL_EMAIL_DOMAINS]
        if companies:
            out.setdefault(companies[0], []).append(meeting)
    return out


def listed_as(commitment: Commitment, entries: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """The reader's entries this commitment is: same meeting date and speaker, one quote holding the other."""
    said = fold(commitment.text)
    return [
        e
        for e in entries
        if e["date"] == commitment.evidence.meeting_date
        and e["speaker"] == commitment.evidence.speaker
        and (fold(e["quote"]) in said or said in fold(e["quote"]))
    ]


@dataclass
class FileScore:
    """One file's commitments against the reader's.

    Attributes:
        reported: the app's commitments (with their domain).
        unlisted: reported commitments the reader did not list (precision failures).
        done_not_done: reported ``done`` the reader did not call done (with the reader's verdicts).
        found: the reader's entries some reported commitment is, by index.
        seen_done: the reader's ``done`` entries the app also reports done, by index.
    """

    name: str
    reported: list[tuple[str, Commitment]] = field(default_factory=list)
    unlisted: list[Commitment] = field(default_factory=list)
    done_not_done: list[tuple[Commitment, list[str]]] = field(default_factory=list)
    found: set[int] = field(default_factory=set)
    seen_done: set[int] = field(default_factory=set)

    @property
    def entries(self) -> list[dict[str, Any]]:
        return labels()[self.name]


def score_file(name: str, qualify: Qualify) -> FileScore:
    """Qualify one demo file with ``qualify`` and compare its commitments with the reader's entries."""
    from engagement.qualification import commitments_of

    score = FileScore(name)
    entries = labels()[name]
    for domain, meetings in accounts_of_file(name).items():
        per = {m.recording_id: qualify(m, domain) for m in meetings if m.transcript}
        for c in commitments_of(meetings, per):
            score.reported.append((domain, c))
            matched = listed_as(c, entries)
            if not matched:
                score.unlisted.append(c)
                continue
            score.found |= {entries.index(e) for e in matched}
            if c.status == "done":
                verdicts = [e["status"] for e in matched]
                if "done" not in verdicts:
                    score.done_not_done.append((c, verdicts))
                score.seen_done |= {entries.index(e) for e in matched if e["status"] == "done"}
    return score


def score_all(qualify: Qualify) -> dict[str, FileScore]:
    return {name: score_file(name, qualify) for name in labels()}
