"""Deterministic facts about an account's meetings: counts, the monthly timeline, the people, coverage.

Everything here is pure (data in, data out; no I/O, no clock, no model). The numbers it produces
are the summary's facts; the analysis may add roles and insights but never changes a count.

Rules, in the order they are applied:

* Meetings are de-duplicated by ``recording_id`` (the first one wins) before anything is counted: a meeting
  with invitees at two domains of one linked account counts once.
* Dates are UTC calendar dates of :attr:`Meeting.started_at` (``YYYY-MM-DD``); months are ``YYYY-MM``.
* Who each person is, and which side they are on, is :mod:`engagement.account.people`'s decision.
* ``invited`` counts meetings the person was a calendar invitee of, ``spoke_in`` meetings they
  spoke in (only meetings whose transcript was fetched can say), and ``count`` meetings they took
  part in: invited or spoke, each meeting once.
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Collection, Iterable, Mapping, Sequence
from datetime import UTC, date, datetime

from pydantic import BaseModel, ConfigDict, Field

from engagement.account.domains import Account, registrable_domain
from engagement.account.people import Presence, identify, our_side
from engagement.models import Coverage, EngagementSummary, Meeting, MeetingRef, MonthCount, Person, Side, format_utc

__all__ = [
    "Facts",
    "aggregate",
    "coverage_of",
    "customer_people",
    "days_since",
    "dedupe_meetings",
    "fill_months",
    "meeting_months",
]


class Facts(BaseModel):
    """What the data says about an account's meetings, before any analysis.

    Attributes:
        domain: the customer's registrable domain, as passed in (a linked account's primary).
        domains: every domain of the account, the primary first (just ``[domain]`` when it is not linked).
        meetings_count: distinct meetings (by ``recording_id``).
        first_meeting / last_meeting: UTC dates (``YYYY-MM-DD``) of the first and last meeting,
            ``None`` when there are none.
        meetings_by_month: every month from the first meeting's to the last's, months without a
            meeting included with ``count=0``.
        people: one per identity, customer first, then internal, third party, personal, unknown;
            within a side by ``count`` (descending), then name.
        meetings: one row per meeting, newest first.
    """

    model_config = ConfigDict(frozen=True)

    domain: str
    domains: list[str] = Field(default_factory=list)
    meetings_count: int = 0
    first_meeting: str | None = None
    last_meeting: str | None = None
    meetings_by_month: list[MonthCount] = Field(default_factory=list)
    people: list[Person] = Field(default_factory=list)
    meetings: list[MeetingRef] = Field(default_factory=list)

    def apply(self, summary: EngagementSummary) -> EngagementSummary:
        """Fill ``summary``'s fact fields in place with copies of these facts, and return it.

        Roles the analysis already gave people (matched by ``key``) and meetings' ``analysed``
        flags (matched by ``recording_id``) are kept; every count comes from the facts, so a
        count the model wrote is overwritten. Insight fields are left alone. The facts
        themselves never change: the summary gets copies it may edit.
        """
        roles = {person.key: person for person in summary.people if person.role}
        analysed = {ref.recording_id for ref in summary.meetings if ref.analysed}
        summary.domain = self.domain
        summary.domains = list(self.domains or [self.domain])
        summary.meetings_count = self.meetings_count
        summary.first_meeting = self.first_meeting
        summary.last_meeting = self.last_meeting
        summary.meetings_by_month = [month.model_copy() for month in self.meetings_by_month]
        summary.people = [
            person.model_copy(
                update={"role": had.role, "role_source": had.role_source, "role_evidence": had.role_evidence}
                if (had := roles.get(person.key))
                else {},
                deep=True,
            )
            for person in self.people
        ]
        summary.meetings = [
            ref.model_copy(update={"analysed": ref.analysed or ref.recording_id in analysed}, deep=True)
            for ref in self.meetings
        ]
        summary.coverage = coverage_of(summary.meetings, summary.people)
        return summary


# ---------------------------------------------------------------- small pure helpers


def _utc_date(moment: date | datetime) -> date:
    """The UTC calendar date of a moment (a naive datetime is taken to be UTC already)."""
    if isinstance(moment, datetime):
        if moment.tzinfo is not None:
            moment = moment.astimezone(UTC)
        return moment.date()
    return moment


def _day(moment: datetime) -> str:
    return _utc_date(moment).isoformat()


def _meeting_order(meeting: Meeting) -> tuple[datetime, int]:
    """Chronological order; equal start times are ordered by id so every result is deterministic."""
    return (meeting.started_at, meeting.recording_id)


def dedupe_meetings(meetings: Iterable[Meeting]) -> list[Meeting]:
    """The meetings with repeated ``recording_id`` dropped (the first one wins), input order kept."""
    seen: set[int] = set()
    unique: list[Meeting] = []
    for meeting in meetings:
        if meeting.recording_id not in seen:
            seen.add(meeting.recording_id)
            unique.append(meeting)
    return unique


def meeting_months(days: Iterable[date | datetime | str]) -> list[MonthCount]:
    """Meetings per month from the first month to the last, zero months included.

    ``days`` are dates, datetimes (their UTC date is used) or ISO strings (``YYYY-MM-DD...``, the
    date as written); one entry is one meeting. No days, no months.
    """
    counts: Counter[str] = Counter()
    for day in days:
        day = date.fromisoformat(day[:10]) if isinstance(day, str) else _utc_date(day)
        counts[f"{day.year:04d}-{day.month:02d}"] += 1
    return fill_months(counts)


def fill_months(counts: Mapping[str, int]) -> list[MonthCount]:
    """``{"YYYY-MM": count}`` as every month from the first to the last, months without a count as zero.

    Raises ``ValueError`` when a key is not a ``YYYY-MM`` month.
    """
    keys = sorted(counts)
    for key in keys:
        if not re.fullmatch(r"\d{4}-(0[1-9]|1[0-2])", key):
            raise ValueError(f"not a month: {key!r}")
    if not keys:
        return []
    (year, month), last = (int(keys[0][:4]), int(keys[0][5:])), (int(keys[-1][:4]), int(keys[-1][5:]))
    months: list[MonthCount] = []
    while (year, month) <= last:
        key = f"{year:04d}-{month:02d}"
        months.append(MonthCount(month=key, count=counts.get(key, 0)))
        year, month = (year + 1, 1) if month == 12 else (year, month + 1)
    return months


def days_since(last_meeting: str, today: date) -> int:
    """Whole days from ``last_meeting`` (``YYYY-MM-DD`` or a full ISO timestamp) to ``today``.

    Never negative: a meeting dated "tomorrow" is a time-zone difference (dates here are UTC,
    ``today`` is the viewer's), not a meeting in the future, so it counts as today.
    """
    return max(0, (today - date.fromisoformat(last_meeting[:10])).days)


def customer_people(people: Iterable[Person]) -> list[Person]:
    """The people on the customer's side, in the order given."""
    return [person for person in people if person.side is Side.CUSTOMER]


# ---------------------------------------------------------------- the whole account


def _minutes(seconds: int | None) -> int | None:
    return None if seconds is None else (seconds + 30) // 60


def coverage_of(
    meetings: Sequence[MeetingRef], people: Sequence[Person], *, index_updated_at: str | None = None
) -> Coverage:
    """How many meetings had a transcript and were analysed, and how many speakers matched no invitee."""
    with_transcript = sum(ref.has_transcript for ref in meetings)
    return Coverage(
        meetings=len(meetings),
        with_transcript=with_transcript,
        without_transcript=len(meetings) - with_transcript,
        analysed=sum(ref.analysed for ref in meetings),
        unmatched_speakers=sum(1 for p in people if p.spoke_in and "display_name" in p.matched_by),
        index_updated_at=index_updated_at,
    )


def aggregate(
    domain: str | Account,
    meetings: Sequence[Meeting],
    *,
    internal_domains: Collection[str] = (),
    speakers: Mapping[int, Sequence[tuple[str, str | None]]] | None = None,
    words: Mapping[int, Sequence[int]] | None = None,
) -> Facts:
    """The facts of a customer's meetings: counts, timeline, people, the meeting list and coverage.

    ``domain`` is the customer's registrable domain (``normalize_domain()``'s output), or its :class:`Account`
    when a rep linked several: people at any of them are the customer's;
    ``internal_domains`` are more of our own domains, besides the recorders'. ``speakers`` gives,
    by recording id, who spoke in meetings whose transcript was not fetched this time (the
    pipeline keeps them with the cached analysis), and ``words`` how many words each of them
    spoke. See the module docstring for the counting rules.
    """
    speakers = speakers or {}
    account = Account.of(registrable_domain(d) or d for d in Account.of(domain).domains)
    chronological = sorted(dedupe_meetings(meetings), key=_meeting_order)
    our_emails, our_domains = our_side(chronological, account, internal_domains)
    people, per_meeting = identify(
        chronological, account, our_emails=our_emails, our_domains=our_domains, speakers=speakers, words=words
    )
    by_key = {person.key: person for person in people}
    rank = {person.key: position for position, person in enumerate(people)}

    def names(presences: dict[str, Presence], side: Side, *, invited: bool = False, spoke: bool = False) -> list[str]:
        keys = [
            key
            for key, presence in presences.items()
            if by_key[key].side is side and (presence.invited or not invited) and (presence.spoke or not spoke)
        ]
        return [by_key[key].name for key in sorted(keys, key=rank.__getitem__)]

    def words_by_side(presences: dict[str, Presence]) -> dict[str, int]:
        spoken: Counter[str] = Counter()
        for key, presence in presences.items():
            spoken[by_key[key].side.value] += presence.words
        return {side: count for side, count in spoken.items() if count}

    refs = [
        MeetingRef(
            recording_id=meeting.recording_id,
            title=meeting.title,
            date=_day(meeting.started_at),
            started_at=format_utc(meeting.started_at),
            duration_min=_minutes(meeting.duration_s),
            url=meeting.url,
            share_url=meeting.share_url,
            customer_people=names(presences, Side.CUSTOMER),
            internal_people=names(presences, Side.INTERNAL),
            customer_invited=names(presences, Side.CUSTOMER, invited=True),
            customer_speakers=names(presences, Side.CUSTOMER, spoke=True),
            has_transcript=bool(meeting.transcript) or bool(speakers.get(meeting.recording_id)),
            words=words_by_side(presences),
        )
        for meeting, presences in zip(chronological, per_meeting, strict=True)
    ]
    refs.reverse()  # newest first

    return Facts(
        domain=account.primary,
        domains=list(account.domains),
        meetings_count=len(chronological),
        first_meeting=_day(chronological[0].started_at) if chronological else None,
        last_meeting=_day(chronological[-1].started_at) if chronological else None,
        meetings_by_month=meeting_months(meeting.started_at for meeting in chronological),
        people=people,
        meetings=refs,
    )
