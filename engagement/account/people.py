"""Who is who: identity by e-mail and display name, the side of the table, personal mailboxes, roles.

One module decides every question about a person, in one vocabulary (:class:`Side`):

* A person's identity (their :attr:`Person.key`) is their lower-cased e-mail address, else their
  display name normalised by :func:`normalize_name`. A transcript speaker with an e-mail is the
  invitee with that e-mail; a speaker without one is the invitee of the same meeting with the same
  normalised name (when exactly one identity has it), else a name-only identity. Last, a name-only
  identity whose name is a display name of exactly one e-mail identity anywhere in the data is
  folded into it, so an uninvited "Sarah Lopez" in March is the ``sarah.lopez@acmecorp.com`` of
  January; two people with the same name and different e-mails stay apart.
* How each person was identified is kept (:attr:`Person.matched_by`: ``email``, ``speaker_match``
  — a speaker without an e-mail joined to an invitee by name — and ``display_name`` for people
  known by name only), with every other spelling merged into them (:attr:`Person.aliases`).
* A person's ``name`` is the spelling used in the most meetings; ties go to the spelling of the
  most recent meeting, then to the calendar's spelling over the transcript's, then alphabetically.
* ``side`` is decided by :func:`classify` for people and by :class:`MeetingSides` for the speakers
  of one meeting (which uses :func:`classify` too).
* A calendar invitee with no e-mail, or with a calendar-resource address (a Google room
  ``…@resource.calendar.google.com``, a Microsoft room mailbox such as ``conf-room-2@…``), is a room
  (:func:`is_room`), not a person: it is not counted or charted. A speaker is always someone.
* Roles the analysis found are matched to people once, by e-mail, else by normalised name
  (:func:`assign_roles`); :func:`is_senior` says whether a role is a senior one.
"""

from __future__ import annotations

import re
import unicodedata
from collections import Counter, defaultdict
from collections.abc import Collection, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime

from engagement.account.domains import PERSONAL_EMAIL_DOMAINS, Account, registrable_domain
from engagement.models import Meeting, Person, PersonRole, Side, TranscriptTurn

__all__ = [
    "PERSONAL_EMAIL_DOMAINS",
    "SIDE_ORDER",
    "MeetingSides",
    "Presence",
    "assign_roles",
    "classify",
    "clean_email",
    "device_owner",
    "dedupe_roles",
    "identify",
    "is_room",
    "is_senior",
    "names_ours_as_customer",
    "normalize_name",
    "our_side",
    "speakers_of",
    "words_of",
]

SIDE_ORDER: tuple[Side, ...] = (Side.CUSTOMER, Side.INTERNAL, Side.THIRD_PARTY, Side.PERSONAL, Side.UNKNOWN)
_SIDE_RANK = {side: rank for rank, side in enumerate(SIDE_ORDER)}

# Senior roles: C-level, VP, head of, director (and the titles that outrank them).
_SENIOR = re.compile(
    r"\b(?:c[a-z]{1,2}o|chief|vp|svp|evp|vice[ -]president|head of|director|founder|co-founder|president)\b",
    re.IGNORECASE,
)
_SPACE = re.compile(r"\s+")


# ---------------------------------------------------------------- names, addresses, sides


def normalize_name(name: str | None) -> str:
    """A display name as an identity: Unicode NFKC, stripped, case-folded, inner white space collapsed."""
    if not name:
        return ""
    return _SPACE.sub(" ", unicodedata.normalize("NFKC", name)).strip().casefold()


def clean_name(name: str | None) -> str:
    """A display name as shown: stripped, inner white space collapsed, case kept."""
    if not name:
        return ""
    return _SPACE.sub(" ", unicodedata.normalize("NFKC", name)).strip()


def clean_email(email: str | None) -> str | None:
    """An address lower-cased and stripped, or ``None`` when it is not one (no local part or host)."""
    if not email:
        return None
    email = email.strip().lower()
    local, at, host = email.rpartition("@")
    return email if at and local and host else None


def email_domain(email: str) -> str | None:
    """The registrable domain of an address's host."""
    return registrable_domain(email.rpartition("@")[2])


# Calendar resources: Google's room, shared and imported calendars live under calendar.google.com; Microsoft
# 365 room and equipment mailboxes are ordinary addresses that their admins name after the room, or live on a
# rooms/resources subdomain.
_RESOURCE_HOST = re.compile(r"(?:^|\.)(?:resource|group|import)\.calendar\.google\.com$|^(?:rooms?|resources?)\.")
_ROOM_MAILBOX = re.compile(
    r"^(?:conf(?:erence)?[-_.]?)?(?:room|boardroom|meeting[-_.]?room)(?:[-_.\d]|$)|[-_.](?:room|boardroom)(?:[-_.]?\d+)?$"
)


def is_room(email: str | None) -> bool:
    """Whether a calendar invitee with this e-mail is a room (no e-mail, or a calendar-resource address)."""
    address = clean_email(email)
    if address is None:
        return True
    local, _, host = address.rpartition("@")
    return bool(_RESOURCE_HOST.search(host) or _ROOM_MAILBOX.search(local))


_DEVICE = re.compile(
    r"^(?P<owner>[^\W\d_][\w-]*)['’]s (?:ipad|iphone|phone|android|galaxy|pixel|macbook(?: pro| air)?|laptop|pc|"
    r"computer|desktop|tablet|surface|mac)\b",
    re.IGNORECASE,
)


def device_owner(display_name: str | None) -> str | None:
    """The first name in a device's display name ("Amir's iPad" → ``amir``, normalised), else ``None``."""
    match = _DEVICE.match(clean_name(display_name))
    return normalize_name(match.group("owner")) if match else None


def _first(name: str | None) -> str:
    parts = normalize_name(name).split()
    return parts[0] if parts else ""


def is_senior(role: str | None) -> bool:
    """Whether a role is senior: C-level, VP, head of, director, founder, president."""
    return bool(role and _SENIOR.search(role))


def classify(
    email: str | None,
    domain: str | Account,
    *,
    invited_as_internal: bool = False,
    our_emails: Collection[str] = (),
    our_domains: Collection[str] = (),
) -> Side:
    """Which side of the table an address sits on.

    1. No (valid) e-mail: ``UNKNOWN`` — rooms, dial-ins, uninvited speakers.
    2. At the customer's ``domain`` — any domain of its :class:`Account` when a rep linked several
       (case folded, subdomains included; ``acmecorp.co`` is not ``acmecorp.com`` unless linked): ``CUSTOMER``.
    3. One of ``our_emails`` (the recorders), or a company domain in ``our_domains``, or a company
       address Fathom marked not external (``invited_as_internal``): ``INTERNAL``. A personal
       mailbox is internal only as a recorder's own address or when its domain is in
       ``our_domains`` explicitly: a recorder on gmail.com does not make every gmail.com guest ours.
    4. A personal mailbox provider (:data:`PERSONAL_EMAIL_DOMAINS`): ``PERSONAL``.
    5. Any other company: ``THIRD_PARTY``; an address whose domain cannot be read: ``UNKNOWN``.

    ``domain`` and ``our_domains`` are registrable domains (lower case).
    """
    email = clean_email(email)
    if email is None:
        return Side.UNKNOWN
    if Account.of(domain).owns(email):
        return Side.CUSTOMER
    address_domain = email_domain(email)
    personal = address_domain in PERSONAL_EMAIL_DOMAINS
    if email in our_emails or (address_domain is not None and address_domain in our_domains):
        return Side.INTERNAL
    if invited_as_internal and not personal:
        return Side.INTERNAL
    if personal:
        return Side.PERSONAL
    return Side.THIRD_PARTY if address_domain else Side.UNKNOWN


def our_side(
    meetings: Iterable[Meeting], domain: str | Account, internal_domains: Collection[str] = ()
) -> tuple[set[str], set[str]]:
    """Our e-mails (the recorders') and our company domains (theirs, and ``internal_domains``).

    A recorder on a personal mailbox adds only their own address; a recorder at the customer's
    domain does not make the customer us.
    """
    our_emails = {email for m in meetings if m.recorded_by and (email := clean_email(m.recorded_by.email))}
    our_domains = {registrable_domain(d) or d.strip().lower() for d in internal_domains}
    our_domains |= {d for e in our_emails if (d := email_domain(e)) and d not in PERSONAL_EMAIL_DOMAINS}
    our_domains -= set(Account.of(domain).domains)
    return our_emails, our_domains


class MeetingSides:
    """The side of each speaker of one meeting (built once per meeting: cheap per turn).

    A speaker with an e-mail is classified by :func:`classify`, with the meeting's recorder as ours
    and the invitees Fathom marked not external as internal. A speaker without one takes the side
    of the invitee with the same normalised name (the recorder's name is ours); a device named for
    its owner ("Amir's iPad") the side of the invitees with that first name, when they share one;
    else ``UNKNOWN``.
    """

    def __init__(
        self,
        meeting: Meeting,
        domain: str | Account,
        *,
        our_emails: Collection[str] = (),
        our_domains: Collection[str] = (),
    ) -> None:
        self.account = Account.of(domain)
        self.domain = self.account.primary
        self.our_emails = set(our_emails)
        self.our_domains = set(our_domains)
        recorder = meeting.recorded_by
        if recorder and (email := clean_email(recorder.email)) and not self.account.owns(email):
            self.our_emails.add(email)
        self._internal = {e for i in meeting.invitees if not i.is_external and (e := clean_email(i.email))}
        self._by_email: dict[str, Side] = {}
        self._by_name: dict[str, Side] = {}
        self._by_first: dict[str, set[Side]] = defaultdict(set)
        for invitee in meeting.invitees:
            name = normalize_name(invitee.name)
            side = self.of_email(invitee.email, invited_as_internal=not invitee.is_external)
            if name and name not in self._by_name:
                self._by_name[name] = side
            if invitee.email and (first := _first(invitee.name)):
                self._by_first[first].add(side)
        if recorder and (name := normalize_name(recorder.name)):
            self._by_name.setdefault(name, Side.INTERNAL)

    def of_email(self, email: str | None, *, invited_as_internal: bool = False) -> Side:
        """The side of an address seen in this meeting."""
        address = clean_email(email)
        if address is None:
            return Side.UNKNOWN
        if address not in self._by_email:
            self._by_email[address] = classify(
                address,
                self.account,
                invited_as_internal=invited_as_internal or address in self._internal,
                our_emails=self.our_emails,
                our_domains=self.our_domains,
            )
        return self._by_email[address]

    def __call__(self, turn: TranscriptTurn) -> Side:
        if turn.email:
            return self.of_email(turn.email)
        side = self._by_name.get(normalize_name(turn.speaker))
        if side is None and (owner := device_owner(turn.speaker)):  # "Amir's iPad": the one invitee Amir's side
            sides = self._by_first.get(owner, set())
            side = next(iter(sides)) if len(sides) == 1 else None
        return side or Side.UNKNOWN


_THEIRS = (
    r"(?:concerns?|worr(?:y|ies)|problems?|challenges?|goals?|risks?|objections?|pain(?: points?)?|priorit(?:y|ies))"
)


def names_ours_as_customer(text: str, people: Iterable[Person]) -> bool:
    """Whether a sentence presents one of our people as the customer: "the concern Daniel Okafor raised",
    "Daniel's goal". Our people are matched by full name, and by first name when no one else has it."""
    ours = [p for p in people if p.side is Side.INTERNAL]
    others = {normalize_name(p.name).split()[0] for p in people if p.side is not Side.INTERNAL and p.name.strip()}
    names = {clean_name(p.name) for p in ours if p.name.strip()}
    names |= {first for p in ours if (first := clean_name(p.name).split()[0]) and first.casefold() not in others}
    for name in names:
        who = re.escape(name)
        if re.search(rf"\b{_THEIRS} (?:that |which )?{who}\b", text, re.IGNORECASE) or re.search(
            rf"\b{who}['’]s {_THEIRS}\b", text, re.IGNORECASE
        ):
            return True
    return False


# ---------------------------------------------------------------- roles


def _role_keys(role: PersonRole) -> set[str]:
    return {normalize_name(role.name)} | ({email} if (email := clean_email(role.email)) else set())


def dedupe_roles(roles: Iterable[PersonRole]) -> list[PersonRole]:
    """One role per person (by e-mail, else normalised name); the first one wins."""
    out: list[PersonRole] = []
    seen: set[str] = set()
    for role in roles:
        keys = _role_keys(role)
        if keys & seen:
            continue
        seen |= keys
        out.append(role)
    return out


def assign_roles(people: Sequence[Person], roles: Iterable[PersonRole]) -> None:
    """Give each person without a role the first role found for them (by e-mail, else by name), in place.

    The role's quotes go with it (``role_evidence``, ``role_source="meeting"``). A name matches a
    person's display name or one of their aliases; a first name said alone ("our CFO, Ingrid") matches
    the one person of the account (of the side the words give, if they give one) whose name starts
    with it, and no one when several do. A role that matches no one is dropped.
    """
    by_email = {p.email.lower(): p for p in people if p.email}
    by_name: dict[str, Person] = {}
    for p in people:
        for name in (p.name, *p.aliases):
            by_name.setdefault(normalize_name(name), p)
    for role in roles:
        email = clean_email(role.email)
        person = (by_email.get(email) if email else None) or by_name.get(normalize_name(role.name))
        if person is None and email is None:
            person = _by_first_name(people, role.name, role.side)
        if person is not None and not person.role and role.role.strip():
            person.role = role.role.strip()
            person.role_source = "meeting"
            person.role_evidence = [ev.model_copy() for ev in role.evidence]


def _by_first_name(people: Sequence[Person], name: str, side: Side | None) -> Person | None:
    said = normalize_name(name).split()
    if len(said) != 1:
        return None
    found = {
        p.key
        for p in people
        if (side is None or p.side is side) and any(normalize_name(n).split()[:1] == said for n in (p.name, *p.aliases))
    }
    return next(p for p in people if p.key in found) if len(found) == 1 else None


# ---------------------------------------------------------------- identity across meetings


@dataclass
class Presence:
    """One identity in one meeting.

    Attributes:
        invited / spoke: a calendar invitee of / a speaker in the meeting.
        internal: invited with ``is_external == False``.
        matched: a speaker without an e-mail was joined to this identity by display name.
        words: words this identity spoke in the meeting (when the transcript was read).
    """

    invited: bool = False
    spoke: bool = False
    internal: bool = False
    matched: bool = False
    email: str | None = None
    words: int = 0
    calendar_names: set[str] = field(default_factory=set)
    spoken_names: set[str] = field(default_factory=set)

    def absorb(self, other: Presence, *, matched: bool = False) -> None:
        self.invited |= other.invited
        self.spoke |= other.spoke
        self.internal |= other.internal
        self.matched |= other.matched or matched
        self.email = self.email or other.email
        self.words += other.words
        self.calendar_names |= other.calendar_names
        self.spoken_names |= other.spoken_names


def speakers_of(meeting: Meeting) -> list[tuple[str, str | None]]:
    """The distinct (display name, e-mail) pairs that spoke, in order of first turn."""
    return list(dict.fromkeys((turn.speaker, turn.email) for turn in meeting.transcript or ()))


def words_of(meeting: Meeting) -> list[int]:
    """Words spoken by each of :func:`speakers_of`'s pairs, in the same order."""
    words: Counter[tuple[str, str | None]] = Counter()
    for turn in meeting.transcript or ():
        words[(turn.speaker, turn.email)] += len(turn.text.split())
    return [words[pair] for pair in speakers_of(meeting)]


def _presences(
    meeting: Meeting,
    spoken: Sequence[tuple[str, str | None]] | None = None,
    spoken_words: Sequence[int] = (),
) -> dict[str, Presence]:
    """Who took part in one meeting, by identity (``spoken`` stands in for a transcript not fetched)."""
    found: dict[str, Presence] = defaultdict(Presence)
    by_name: dict[str, set[str]] = defaultdict(set)
    by_first: dict[str, set[str]] = defaultdict(set)  # invitees with an e-mail, by first name
    for invitee in meeting.invitees:
        if is_room(invitee.email):
            continue  # a room is not a person (a speaker with its name still is someone)
        email, name = clean_email(invitee.email), clean_name(invitee.name)
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
            if email and (first := _first(name)):
                by_first[first].add(key)
    if meeting.transcript is not None:
        speakers, spoken_words = speakers_of(meeting), words_of(meeting)
    else:
        speakers = list(spoken or ())
    counts = list(spoken_words) if len(spoken_words) == len(speakers) else [0] * len(speakers)
    for (speaker, speaker_email), words in zip(speakers, counts, strict=True):
        email, name = clean_email(speaker_email), clean_name(speaker)
        matched = False
        if email:
            key = email
        else:
            matches = by_name.get(normalize_name(name), set())
            if not matches and (owner := device_owner(name)):  # "Amir's iPad" is the one invitee Amir
                matches = by_first.get(owner, set())
            matched = len(matches) == 1 and found[next(iter(matches))].email is not None
            key = next(iter(matches)) if len(matches) == 1 else normalize_name(name)
        if not key:
            continue
        presence = found[key]
        presence.spoke = True
        presence.matched |= matched
        presence.words += words
        presence.email = presence.email or email
        if name:
            presence.spoken_names.add(name)
    return dict(found)


def _aliases(per_meeting: Sequence[dict[str, Presence]]) -> dict[str, str]:
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


def _utc_day(moment: datetime) -> str:
    if moment.tzinfo is not None:
        moment = moment.astimezone(UTC)
    return moment.date().isoformat()


def identify(
    meetings: Sequence[Meeting],
    domain: str | Account,
    *,
    our_emails: Collection[str] = (),
    our_domains: Collection[str] = (),
    speakers: Mapping[int, Sequence[tuple[str, str | None]]] | None = None,
    words: Mapping[int, Sequence[int]] | None = None,
) -> tuple[list[Person], list[dict[str, Presence]]]:
    """Every person across ``meetings`` (chronological, de-duplicated), and who was in each meeting.

    ``speakers`` (and ``words``, in the same order) stand in, by recording id, for transcripts not
    fetched this time. People come customer first, then internal, third party, personal, unknown;
    within a side by ``count`` (descending), then name. See the module docstring for the rules.
    """
    speakers, words = speakers or {}, words or {}
    per_meeting = [_presences(m, speakers.get(m.recording_id), words.get(m.recording_id, ())) for m in meetings]
    folded_into = _aliases(per_meeting)
    if folded_into:
        merged: list[dict[str, Presence]] = []
        for presences in per_meeting:
            folded: dict[str, Presence] = {}
            for key, presence in presences.items():
                target = folded_into.get(key, key)
                folded.setdefault(target, Presence()).absorb(presence, matched=target != key)
            merged.append(folded)
        per_meeting = merged
    return _people(meetings, per_meeting, domain, our_emails, our_domains), per_meeting


def _people(
    meetings: Sequence[Meeting],
    per_meeting: Sequence[dict[str, Presence]],
    domain: str | Account,
    our_emails: Collection[str],
    our_domains: Collection[str],
) -> list[Person]:
    """One :class:`Person` per identity; ``meetings`` are in chronological order."""
    days: dict[str, list[str]] = defaultdict(list)
    invited: Counter[str] = Counter()
    spoke: Counter[str] = Counter()
    internal: set[str] = set()
    matched: set[str] = set()
    emails: dict[str, str] = {}
    # spelling → [(meeting position, spelled by the calendar)], for picking the display name
    names: dict[str, dict[str, list[tuple[int, bool]]]] = defaultdict(lambda: defaultdict(list))
    for position, (meeting, presences) in enumerate(zip(meetings, per_meeting, strict=True)):
        for key, presence in presences.items():
            days[key].append(_utc_day(meeting.started_at))
            invited[key] += presence.invited
            spoke[key] += presence.spoke
            if presence.internal:
                internal.add(key)
            if presence.matched:
                matched.add(key)
            if presence.email:
                emails[key] = presence.email
            for name in presence.calendar_names:
                names[key][name].append((position, True))
            for name in presence.spoken_names - presence.calendar_names:
                names[key][name].append((position, False))
    people = []
    for key, seen in days.items():
        email = emails.get(key)
        name = _pick_name(names[key]) if names[key] else (email or key)
        how = ["email", "speaker_match"] if key in matched else ["email"]
        people.append(
            Person(
                key=key,
                name=name,
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
                matched_by=how if email else ["display_name"],
                aliases=sorted((n for n in names[key] if n != name), key=lambda n: (n.casefold(), n)),
            )
        )
    people.sort(key=lambda p: (_SIDE_RANK[p.side], -p.count, p.name.casefold(), p.name, p.key))
    return people
