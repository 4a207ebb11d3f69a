"""Deterministic facts about an account's meetings: counts, the monthly timeline and the people.

Everything here is pure (data in, data out; no I/O, no clock, no model). The numbers it produces
are the summary's facts; the analysis may add roles and insights but never changes a count.

Rules, in the order they are applied:

* Meetings are de-duplicated by ``recording_id`` (the first one wins) before anything is counted.
* Dates are UTC calendar dates of :attr:`Meeting.started_at` (``YYYY-MM-DD``); months are ``YYYY-MM``.
* A person's identity (their :attr:`Person.key`) is their lower-cased e-mail address, else their
  display name normalised by :func:`normalize_name`. A transcript speaker with an e-mail is the
  invitee with that e-mail; a speaker without one is the invitee of the same meeting with the same
  normalised name (when exactly one identity has it), else a name-only identity. Last, a name-only
  identity whose name is a display name of exactly one e-mail identity anywhere in the data is
  folded into it, so an uninvited "Sarah Lopez" in March is the ``sarah.lopez@acmecorp.com`` of
  January; two people with the same name and different e-mails stay apart.
* A person's ``name`` is the spelling used in the most meetings; ties go to the spelling of the
  most recent meeting, then to the calendar's spelling over the transcript's, then alphabetically.
* ``invited`` counts meetings the person was a calendar invitee of, ``spoke_in`` meetings they
  spoke in (only meetings whose transcript was fetched can say), and ``count`` meetings they took
  part in: invited or spoke, each meeting once.
* ``side`` is decided by :func:`classify` (customer, internal, third party, personal, unknown).
"""

from __future__ import annotations

import re
import unicodedata
from collections import Counter, defaultdict
from collections.abc import Collection, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime

from pydantic import BaseModel, ConfigDict, Field

from engagement.domains import email_at_domain, registrable_domain
from engagement.models import EngagementSummary, Meeting, MeetingRef, MonthCount, Person, Side, format_utc

__all__ = [
    "PERSONAL_EMAIL_DOMAINS",
    "SIDE_ORDER",
    "Facts",
    "aggregate",
    "classify",
    "customer_people",
    "days_since",
    "dedupe_meetings",
    "fill_months",
    "meeting_months",
    "normalize_name",
    "speakers_of",
]

# Mailbox providers: an address there says nothing about the company a person works for.
# Registrable domains only (what registrable_domain() returns for an address's host).
PERSONAL_EMAIL_DOMAINS: frozenset[str] = frozenset(
    {
        # Google, Microsoft, Yahoo, Apple, AOL
        "gmail.com",
        "googlemail.com",
        "outlook.com",
        "outlook.de",
        "outlook.fr",
        "hotmail.com",
        "hotmail.co.uk",
        "hotmail.de",
        "hotmail.fr",
        "hotmail.it",
        "hotmail.es",
        "live.com",
        "live.co.uk",
        "live.de",
        "live.fr",
        "msn.com",
        "yahoo.com",
        "yahoo.co.uk",
        "yahoo.co.jp",
        "yahoo.de",
        "yahoo.fr",
        "yahoo.es",
        "yahoo.it",
        "yahoo.com.br",
        "ymail.com",
        "rocketmail.com",
        "icloud.com",
        "me.com",
        "mac.com",
        "aol.com",
        # privacy-first and independent providers
        "proton.me",
        "protonmail.com",
        "protonmail.ch",
        "pm.me",
        "tutanota.com",
        "tuta.io",
        "fastmail.com",
        "hey.com",
        "zohomail.com",
        "mail.com",
        "gmx.com",
        "gmx.de",
        "gmx.net",
        "gmx.at",
        "gmx.ch",
        # Europe
        "web.de",
        "t-online.de",
        "freenet.de",
        "orange.fr",
        "wanadoo.fr",
        "free.fr",
        "laposte.net",
        "sfr.fr",
        "libero.it",
        "virgilio.it",
        "seznam.cz",
        "wp.pl",
        "o2.pl",
        "onet.pl",
        "interia.pl",
        "btinternet.com",
        "sky.com",
        "virginmedia.com",
        "ziggo.nl",
        "telenet.be",
        "bluewin.ch",
        # Russia and Asia
        "yandex.ru",
        "yandex.com",
        "ya.ru",
        "mail.ru",
        "rambler.ru",
        "qq.com",
        "163.com",
        "126.com",
        "sina.com",
        "naver.com",
        "hanmail.net",
        "daum.net",
        "rediffmail.com",
        # Americas (ISP mailboxes)
        "comcast.net",
        "verizon.net",
        "att.net",
        "sbcglobal.net",
        "cox.net",
        "uol.com.br",
        "bol.com.br",
        "terra.com.br",
    }
)

SIDE_ORDER: tuple[Side, ...] = (Side.CUSTOMER, Side.INTERNAL, Side.THIRD_PARTY, Side.PERSONAL, Side.UNKNOWN)
_SIDE_RANK = {side: rank for rank, side in enumerate(SIDE_ORDER)}

_SPACE = re.compile(r"\s+")


class Facts(BaseModel):
    """What the data says about an account's meetings, before any analysis.

    Attributes:
        domain: the customer's registrable domain, as passed in.
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
        roles = {person.key: person.role for person in summary.people if person.role}
        analysed = {ref.recording_id for ref in summary.meetings if ref.analysed}
        summary.domain = self.domain
        summary.meetings_count = self.meetings_count
        summary.first_meeting = self.first_meeting
        summary.last_meeting = self.last_meeting
        summary.meetings_by_month = [month.model_copy() for month in self.meetings_by_month]
        summary.people = [
            person.model_copy(update={"role": roles.get(person.key, person.role)}) for person in self.people
        ]
        summary.meetings = [
            ref.model_copy(update={"analysed": ref.analysed or ref.recording_id in analysed}, deep=True)
            for ref in self.meetings
        ]
        return summary


# ---------------------------------------------------------------- small pure helpers


def normalize_name(name: str | None) -> str:
    """A display name as an identity: Unicode NFKC, stripped, case-folded, inner white space collapsed."""
    if not name:
        return ""
    return _SPACE.sub(" ", unicodedata.normalize("NFKC", name)).strip().casefold()


def _clean_name(name: str | None) -> str:
    """A display name as shown: stripped, inner white space collapsed, case kept."""
    if not name:
        return ""
    return _SPACE.sub(" ", unicodedata.normalize("NFKC", name)).strip()


def _clean_email(email: str | None) -> str | None:
    if not email:
        return None
    email = email.strip().lower()
    local, at, host = email.rpartition("@")
    return email if at and local and host else None


def _email_domain(email: str) -> str | None:
    return registrable_domain(email.rpartition("@")[2])


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


def classify(
    email: str | None,
    domain: str,
    *,
    invited_as_internal: bool = False,
    our_emails: Collection[str] = (),
    our_domains: Collection[str] = (),
) -> Side:
    """Which side of the table an address sits on.

    1. No (valid) e-mail: ``UNKNOWN`` — rooms, dial-ins, uninvited speakers.
    2. At the customer's ``domain`` (case folded, subdomains included; ``acmecorp.co`` is not
       ``acmecorp.com``): ``CUSTOMER``.
    3. One of ``our_emails`` (the recorders), or a company domain in ``our_domains``, or a company
       address Fathom marked not external (``invited_as_internal``): ``INTERNAL``. A personal
       mailbox is internal only as a recorder's own address or when its domain is in
       ``our_domains`` explicitly: a recorder on gmail.com does not make every gmail.com guest ours.
    4. A personal mailbox provider (:data:`PERSONAL_EMAIL_DOMAINS`): ``PERSONAL``.
    5. Any other company: ``THIRD_PARTY``; an address whose domain cannot be read: ``UNKNOWN``.

    ``domain`` and ``our_domains`` are registrable domains (lower case).
    """
    email = _clean_email(email)
    if email is None:
        return Side.UNKNOWN
    if email_at_domain(email, domain):
        return Side.CUSTOMER
    email_domain = _email_domain(email)
    personal = email_domain in PERSONAL_EMAIL_DOMAINS
    if email in our_emails or (email_domain is not None and email_domain in our_domains):
        return Side.INTERNAL
    if invited_as_internal and not personal:
        return Side.INTERNAL
    if personal:
        return Side.PERSONAL
    return Side.THIRD_PARTY if email_domain else Side.UNKNOWN


# ---------------------------------------------------------------- people


@dataclass
class _Presence:
    """One identity in one meeting."""

    invited: bool = False
    spoke: bool = False
    internal: bool = False  # invited with is_external == False
    email: str | None = None
    calendar_names: set[str] = field(default_factory=set)
    spoken_names: set[str] = field(default_factory=set)

    def absorb(self, other: _Presence) -> None:
        self.invited |= other.invited
        self.spoke |= other.spoke
        self.internal |= other.internal
        self.email = self.email or other.email
        self.calendar_names |= other.calendar_names
        self.spoken_names |= other.spoken_names


def speakers_of(meeting: Meeting) -> list[tuple[str, str | None]]:
    """The distinct (display name, e-mail) pairs that spoke, in order of first turn."""
    return list(dict.fromkeys((turn.speaker, turn.email) for turn in meeting.transcript or ()))


def _presences(meeting: Meeting, spoken: Sequence[tuple[str, str | None]] | None = None) -> dict[str, _Presence]:
    """Who took part in one meeting, by identity (``spoken`` stands in for a transcript not fetched)."""
    found: dict[str, _Presence] = defaultdict(_Presence)
    by_name: dict[str, set[str]] = defaultdict(set)
    for invitee in meeting.invitees:
        email, name = _clean_email(invitee.email), _clean_name(invitee.name)
        key = email or normalize_name(name)
        if not key:
            continue
        presence = found[key]
        presence.invited = True
        presence.internal |= not invitee.is_external
        presence.email = presence.email or email
        if name:
            presence.calendar_names.add(name)
            by_name[normalize_name(name)].add(key)
    speakers = speakers_of(meeting) if meeting.transcript is not None else list(spoken or ())
    for speaker, speaker_email in speakers:
        email, name = _clean_email(speaker_email), _clean_name(speaker)
        if email:
            key = email
        else:
            matches = by_name.get(normalize_name(name), set())
            key = next(iter(matches)) if len(matches) == 1 else normalize_name(name)
        if not key:
            continue
        presence = found[key]
        presence.spoke = True
        presence.email = presence.email or email
        if name:
            presence.spoken_names.add(name)
    return dict(found)


def _aliases(per_meeting: Sequence[dict[str, _Presence]]) -> dict[str, str]:
    """Name-only identities that are the display name of exactly one e-mail identity → that e-mail."""
    emails_by_name: dict[str, set[str]] = defaultdict(set)
    name_only: set[str] = set()
    for presences in per_meeting:
        for key, presence in presences.items():
            if presence.email:
                for name in presence.calendar_names | presence.spoken_names:
                    emails_by_name[normalize_name(name)].add(presence.email)
            else:
                name_only.add(key)
    name_only -= {email for emails in emails_by_name.values() for email in emails}
    return {key: next(iter(emails_by_name[key])) for key in name_only if len(emails_by_name.get(key, ())) == 1}


def _pick_name(uses: dict[str, list[tuple[int, bool]]]) -> str:
    """Most meetings; then latest meeting; then the calendar's spelling; then alphabetical."""

    def rank(name: str) -> tuple[int, int, bool, str, str]:
        seen = uses[name]
        latest, calendar = max(seen)
        return (-len({position for position, _ in seen}), -latest, not calendar, name.casefold(), name)

    return min(uses, key=rank)


def _people(
    meetings: Sequence[Meeting],
    per_meeting: Sequence[dict[str, _Presence]],
    domain: str,
    our_emails: Collection[str],
    our_domains: Collection[str],
) -> list[Person]:
    """One :class:`Person` per identity; ``meetings`` are in chronological order."""
    days: dict[str, list[str]] = defaultdict(list)
    invited: Counter[str] = Counter()
    spoke: Counter[str] = Counter()
    internal: set[str] = set()
    emails: dict[str, str] = {}
    # spelling → [(meeting position, spelled by the calendar)], for picking the display name
    names: dict[str, dict[str, list[tuple[int, bool]]]] = defaultdict(lambda: defaultdict(list))
    for position, (meeting, presences) in enumerate(zip(meetings, per_meeting, strict=True)):
        for key, presence in presences.items():
            days[key].append(_day(meeting.started_at))
            invited[key] += presence.invited
            spoke[key] += presence.spoke
            if presence.internal:
                internal.add(key)
            if presence.email:
                emails[key] = presence.email
            for name in presence.calendar_names:
                names[key][name].append((position, True))
            for name in presence.spoken_names - presence.calendar_names:
                names[key][name].append((position, False))
    people = []
    for key, seen in days.items():
        email = emails.get(key)
        people.append(
            Person(
                key=key,
                name=_pick_name(names[key]) if names[key] else (email or key),
                email=email,
                side=classify(
                    email,
                    domain,
                    invited_as_internal=key in internal,
                    our_emails=our_emails,
                    our_domains=our_domains,
                ),
                count=len(seen),
                invited=invited[key],
                spoke_in=spoke[key],
                first_seen=min(seen),
                last_seen=max(seen),
            )
        )
    people.sort(key=lambda p: (_SIDE_RANK[p.side], -p.count, p.name.casefold(), p.name, p.key))
    return people


# ---------------------------------------------------------------- the whole account


def _minutes(seconds: int | None) -> int | None:
    return None if seconds is None else (seconds + 30) // 60


def aggregate(
    domain: str,
    meetings: Sequence[Meeting],
    *,
    internal_domains: Collection[str] = (),
    speakers: Mapping[int, Sequence[tuple[str, str | None]]] | None = None,
) -> Facts:
    """The facts of a customer's meetings: counts, timeline, people and the meeting list.

    ``domain`` is the customer's registrable domain (``normalize_domain()``'s output);
    ``internal_domains`` are more of our own domains, besides the recorders'. ``speakers`` gives,
    by recording id, who spoke in meetings whose transcript was not fetched this time (the
    pipeline keeps them with the cached analysis). See the module docstring for the identity,
    naming and counting rules.
    """
    speakers = speakers or {}
    domain = registrable_domain(domain) or domain.strip().lower()
    chronological = sorted(dedupe_meetings(meetings), key=_meeting_order)

    our_emails = {email for m in chronological if m.recorded_by and (email := _clean_email(m.recorded_by.email))}
    our_domains = {registrable_domain(d) or d.strip().lower() for d in internal_domains}
    our_domains |= {d for e in our_emails if (d := _email_domain(e)) and d not in PERSONAL_EMAIL_DOMAINS}
    our_domains.discard(domain)  # a recorder at the customer's domain does not make the customer us

    per_meeting = [_presences(meeting, speakers.get(meeting.recording_id)) for meeting in chronological]
    aliases = _aliases(per_meeting)
    if aliases:
        merged: list[dict[str, _Presence]] = []
        for presences in per_meeting:
            folded: dict[str, _Presence] = {}
            for key, presence in presences.items():
                folded.setdefault(aliases.get(key, key), _Presence()).absorb(presence)
            merged.append(folded)
        per_meeting = merged

    people = _people(chronological, per_meeting, domain, our_emails, our_domains)
    by_key = {person.key: person for person in people}
    rank = {person.key: position for position, person in enumerate(people)}

    def names_on(presences: dict[str, _Presence], side: Side) -> list[str]:
        keys = sorted((key for key in presences if by_key[key].side is side), key=rank.__getitem__)
        return [by_key[key].name for key in keys]

    refs = [
        MeetingRef(
            recording_id=meeting.recording_id,
            title=meeting.title,
            date=_day(meeting.started_at),
            started_at=format_utc(meeting.started_at),
            duration_min=_minutes(meeting.duration_s),
            url=meeting.url,
            share_url=meeting.share_url,
            customer_people=names_on(presences, Side.CUSTOMER),
            internal_people=names_on(presences, Side.INTERNAL),
        )
        for meeting, presences in zip(chronological, per_meeting, strict=True)
    ]
    refs.reverse()  # newest first

    return Facts(
        domain=domain,
        meetings_count=len(chronological),
        first_meeting=_day(chronological[0].started_at) if chronological else None,
        last_meeting=_day(chronological[-1].started_at) if chronological else None,
        meetings_by_month=meeting_months(meeting.started_at for meeting in chronological),
        people=people,
        meetings=refs,
    )
