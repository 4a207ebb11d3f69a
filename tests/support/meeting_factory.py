"""Hand-built meetings and meeting rows: for the facts, people, signals and changes tests, and recorded calls
with transcripts for the analysers, quote verification and search."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date, datetime, timedelta
from typing import Any

from engagement.models import Invitee, Meeting, MeetingRef, Recorder, TranscriptTurn

__all__ = ["ACME_INVITEES", "DOMAIN", "REP", "call", "inv", "meeting", "ref", "rep"]

DOMAIN = "acmecorp.com"
REP = ("Dana Reyes", "dana@ourco.com")


def inv(name: str | None, email: str | None = None, *, external: bool = True) -> Invitee:
    return Invitee(name=name, email=email, is_external=external)


def rep() -> Invitee:
    return inv(REP[0], REP[1], external=False)


def meeting(
    recording_id: int,
    day: str,
    invitees: list[Invitee],
    speakers: list[tuple[str, str | None]] | None = None,
    *,
    minutes: int | None = 30,
    title: str | None = None,
    recorder: str = REP[1],
    at: str = "15:00",
) -> Meeting:
    """A meeting on ``day`` at ``at`` UTC; ``speakers`` None means the transcript was not fetched."""
    start = datetime.fromisoformat(f"{day}T{at}:00+00:00")
    transcript = None
    if speakers is not None:
        transcript = tuple(
            TranscriptTurn(speaker=name, email=email, timestamp=f"00:00:{i:02d}", text="Hello.")
            for i, (name, email) in enumerate(speakers)
        )
    return Meeting(
        recording_id=recording_id,
        title=title or f"Meeting {recording_id}",
        url=f"https://fathom.video/calls/{recording_id}",
        share_url=f"https://fathom.video/share/{recording_id}",
        created_at=start,
        scheduled_start_time=start,
        recording_start_time=start if minutes is not None else None,
        recording_end_time=start + timedelta(minutes=minutes) if minutes is not None else None,
        invitees=tuple(invitees),
        recorded_by=Recorder(name="Dana Reyes", email=recorder),
        transcript=transcript,
    )


def ref(
    rid: int,
    day: date | str,
    people: list[str] = (),  # type: ignore[assignment]
    *,
    spoke: list[str] | None = None,
    transcript: bool = True,
    words: dict[str, int] | None = None,
) -> MeetingRef:
    """A meeting row; the people took part as invitees and, unless ``spoke`` says otherwise, spoke."""
    day = day if isinstance(day, str) else day.isoformat()
    return MeetingRef(
        recording_id=rid,
        title=f"Meeting {rid}",
        date=day,
        started_at=f"{day}T15:00:00.000000Z",
        url="",
        share_url="",
        customer_people=list(people),
        customer_invited=list(people),
        customer_speakers=list(people if spoke is None else spoke) if transcript else [],
        has_transcript=transcript,
        words=words or {},
    )


# Two people at acme.com and our rep: who the analyser, search and verification tests' calls invite.
ACME_INVITEES = (
    Invitee(name="Jane Doe", email="jane@acme.com", is_external=True),
    Invitee(name="Ravi Patel", email="ravi@acme.com", is_external=True),
    Invitee(name="Sam Rep", email="sam@ourco.io"),
)


def call(
    recording_id: int,
    turns: Sequence[tuple[str, str | None, str, str]],
    *,
    start: datetime,
    minutes: int = 30,
    title: str | None = None,
    invitees: Sequence[Invitee] = (),
    **fields: Any,
) -> Meeting:
    """A recorded call with its transcript: ``turns`` are (speaker, e-mail or None, timestamp, text);
    ``fields`` set (or replace) any other field of the meeting."""
    values: dict[str, Any] = {
        "recording_id": recording_id,
        "title": title or f"Call {recording_id}",
        "url": f"https://fathom.video/calls/{recording_id}",
        "share_url": f"https://fathom.video/share/s{recording_id}",
        "created_at": start,
        "recording_start_time": start,
        "recording_end_time": start + timedelta(minutes=minutes),
        "invitees": tuple(invitees),
        "transcript": tuple(TranscriptTurn(speaker=s, email=e, timestamp=t, text=x) for s, e, t, x in turns),
    }
    return Meeting(**{**values, **fields})
