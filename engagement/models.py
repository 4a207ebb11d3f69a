"""Pydantic models: meetings in, insights and summaries out, and the stored job record."""

from __future__ import annotations

from datetime import UTC, datetime
from enum import StrEnum
from typing import Annotated, Any

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, PlainSerializer


def _utc(value: datetime) -> datetime:
    if value.tzinfo is None:
        return value.replace(tzinfo=UTC)
    return value.astimezone(UTC)


def format_utc(value: datetime) -> str:
    """Fixed-width ISO 8601 in UTC (``2026-11-26T09:12:33.123456Z``): sorts as text sorts."""
    return _utc(value).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def utcnow() -> datetime:
    return datetime.now(UTC)


UTCDateTime = Annotated[datetime, AfterValidator(_utc), PlainSerializer(format_utc, return_type=str)]


def parse_timestamp(timestamp: str) -> int:
    """Seconds from ``HH:MM:SS`` (or ``MM:SS``)."""
    seconds = 0
    for part in timestamp.split(":"):
        seconds = seconds * 60 + int(part)
    return seconds


def format_timestamp(seconds: float) -> str:
    seconds = int(seconds)
    return f"{seconds // 3600:02d}:{seconds // 60 % 60:02d}:{seconds % 60:02d}"


# ---------------------------------------------------------------- meetings (our model, not Fathom's JSON)


class Invitee(BaseModel):
    """A calendar invitee. Attributes: name, email (may be None: rooms, dial-ins), is_external."""

    model_config = ConfigDict(frozen=True)

    name: str | None = None
    email: str | None = None
    email_domain: str | None = None
    is_external: bool = False


class Recorder(BaseModel):
    """The Fathom user who recorded the meeting (always on our side)."""

    model_config = ConfigDict(frozen=True)

    name: str | None = None
    email: str | None = None
    team: str | None = None


class TranscriptTurn(BaseModel):
    """One speaker turn. Attributes: speaker (display name), email (matched invitee), timestamp, text."""

    model_config = ConfigDict(frozen=True)

    speaker: str
    email: str | None = None
    timestamp: str
    text: str

    @property
    def seconds(self) -> int:
        return parse_timestamp(self.timestamp)


class ActionItem(BaseModel):
    """A follow-up Fathom found in the meeting."""

    model_config = ConfigDict(frozen=True)

    description: str
    assignee: str | None = None
    assignee_email: str | None = None
    timestamp: str | None = None
    url: str | None = None
    completed: bool = False


class Meeting(BaseModel):
    """A recorded meeting, as the pipeline needs it.

    Attributes:
        recording_id: Fathom's id; the identity of a meeting everywhere in the app.
        title: the recording's title (the calendar title when Fathom has one).
        transcript: ``None`` when it was not fetched (the analysis was cached).
        transcript_language: Fathom's language code of the transcript (``en``, ``de``); ``None`` when
            not known (a meeting stored before it was kept, or Fathom gave none) — never taken for English.
        summary_markdown: Fathom's own summary, when fetched.
    """

    model_config = ConfigDict(frozen=True)

    recording_id: int
    title: str
    url: str
    share_url: str
    created_at: UTCDateTime
    scheduled_start_time: UTCDateTime | None = None
    scheduled_end_time: UTCDateTime | None = None
    recording_start_time: UTCDateTime | None = None
    recording_end_time: UTCDateTime | None = None
    invitees: tuple[Invitee, ...] = ()
    recorded_by: Recorder | None = None
    transcript: tuple[TranscriptTurn, ...] | None = None
    transcript_language: str | None = None
    summary_markdown: str | None = None
    action_items: tuple[ActionItem, ...] | None = None

    @property
    def started_at(self) -> datetime:
        return self.recording_start_time or self.scheduled_start_time or self.created_at

    @property
    def duration_s(self) -> int | None:
        if self.recording_start_time and self.recording_end_time:
            return int((self.recording_end_time - self.recording_start_time).total_seconds())
        return None

    def moment_url(self, timestamp: str | int) -> str:
        """Link that opens the recording at a moment (Fathom's ``?timestamp=<seconds>``)."""
        seconds = parse_timestamp(timestamp) if isinstance(timestamp, str) else int(timestamp)
        base = self.share_url or self.url
        sep = "&" if "?" in base else "?"
        return f"{base}{sep}timestamp={seconds}"


# ---------------------------------------------------------------- insights


class Side(StrEnum):
    """Which side of the table a person sits on."""

    CUSTOMER = "customer"  # e-mail at the customer's domain
    INTERNAL = "internal"  # our side (not external to the recording's workspace)
    THIRD_PARTY = "third_party"  # another company: a partner, a consultant
    PERSONAL = "personal"  # a personal mailbox (gmail.com, outlook.com, ...)
    UNKNOWN = "unknown"  # no e-mail: a room, a dial-in, an uninvited speaker


class Evidence(BaseModel):
    """Where a claim was said.

    Attributes:
        recording_id / timestamp: the meeting and the moment.
        quote: the words, verbatim from the transcript when ``verified``.
        speaker: who said it.
        url: the share URL opened at that moment.
        verified: False when the quote could not be found in the transcript (never shown as a quote).
        side: the speaker's side of the table, set when the quote is verified against its meeting
            (``None``: not known, shown as such). The customer's goals, challenges, risks and themes
            keep only quotes whose side is ``customer``.
    """

    recording_id: int
    timestamp: str
    quote: str
    speaker: str | None = None
    url: str | None = None
    meeting_title: str | None = None
    meeting_date: str | None = None
    verified: bool = True
    side: Side | None = None


class Insight(BaseModel):
    """A goal, challenge, risk, recommendation or theme of one meeting or of the account."""

    text: str
    evidence: list[Evidence] = Field(default_factory=list)

    @property
    def last_said(self) -> str:
        """The ISO date of the newest meeting its verified quotes come from ("" when none has a date): the key that
        puts what an account said most recently first."""
        return max((e.meeting_date or "" for e in self.evidence if e.verified), default="")


class PersonRole(BaseModel):
    """A person's role (``CFO``, ``Runs procurement``) as someone said it in a meeting, with the words that say so.

    Attributes:
        name / email: the person, as the meeting names them.
        role: the title or part in the deal.
        evidence: where it was said (the person about themselves, or another about them); a role the
            pipeline keeps always has a verified quote here.
        side: the side the words put the person on ("our CFO" said by the customer), when they say.
    """

    name: str
    email: str | None = None
    role: str
    evidence: list[Evidence] = Field(default_factory=list)
    side: Side | None = None


class MeetingInsights(BaseModel):
    """What one meeting says about the customer; cached per meeting and fingerprint."""

    recording_id: int
    themes: list[Insight] = Field(default_factory=list)
    goals: list[Insight] = Field(default_factory=list)
    challenges: list[Insight] = Field(default_factory=list)
    risks: list[Insight] = Field(default_factory=list)
    roles: list[PersonRole] = Field(default_factory=list)
    next_steps: list[Insight] = Field(default_factory=list)
    # Who spoke (display name, e-mail), kept with the cached analysis so a re-run that skips the
    # transcript still counts who spoke. Filled by the pipeline, not by the analyser.
    speakers: list[tuple[str, str | None]] = Field(default_factory=list)
    speaker_words: list[int] = Field(default_factory=list)  # words each of ``speakers`` spoke


class Theme(BaseModel):
    """An account-level theme. ``mentions`` is the number of meetings that raised it."""

    topic: str
    mentions: int
    meetings: list[int] = Field(default_factory=list)
    evidence: list[Evidence] = Field(default_factory=list)


class AccountInsights(BaseModel):
    """The reduce step's output: the account-level view across every analysed meeting."""

    themes: list[Theme] = Field(default_factory=list)
    goals: list[Insight] = Field(default_factory=list)
    challenges: list[Insight] = Field(default_factory=list)
    risks: list[Insight] = Field(default_factory=list)
    recommendations: list[Insight] = Field(default_factory=list)
    roles: list[PersonRole] = Field(default_factory=list)


class Person(BaseModel):
    """One person across the account's meetings (identity: lower-cased e-mail, else display name).

    Attributes:
        count: meetings the person took part in (invited to, or spoke in).
        invited / spoke_in: meetings they were invited to / spoke in.
        role: said in a meeting (with ``role_evidence``) or set by a rep (``role_source``); empty when unknown.
        role_source: ``meeting`` (read from what was said), ``rep`` (set by a rep on the summary page), or empty.
        role_evidence: the verified quotes the role rests on (none for a rep's).
        matched_by: how the person was identified: ``email`` (an address), ``speaker_match`` (a
            speaker without an address joined to them by display name), ``display_name`` (no address).
        aliases: the other display names merged into this person.
    """

    key: str
    name: str
    email: str | None = None
    side: Side = Side.UNKNOWN
    role: str = ""
    role_source: str = ""
    role_evidence: list[Evidence] = Field(default_factory=list)
    count: int = 0
    invited: int = 0
    spoke_in: int = 0
    first_seen: str | None = None
    last_seen: str | None = None
    matched_by: list[str] = Field(default_factory=list)  # "email", "speaker_match", "display_name"
    aliases: list[str] = Field(default_factory=list)  # other display names merged into this person


class MonthCount(BaseModel):
    month: str  # YYYY-MM
    count: int


class MeetingRef(BaseModel):
    """A row of the meetings table."""

    recording_id: int
    title: str
    date: str
    started_at: str
    duration_min: int | None = None
    url: str
    share_url: str
    customer_people: list[str] = Field(default_factory=list)
    internal_people: list[str] = Field(default_factory=list)
    analysed: bool = False
    customer_invited: list[str] = Field(default_factory=list)  # customer people on the calendar invite
    customer_speakers: list[str] = Field(default_factory=list)  # customer people who spoke
    has_transcript: bool = False  # who spoke is known (the transcript was read, now or on an earlier run)
    words: dict[str, int] = Field(default_factory=dict)  # words spoken, by side ("customer", "internal", ...)
    no_transcript: str | None = None  # why the meeting was counted but not analysed ("no transcript")


class Signal(BaseModel):
    """A warning computed by a rule from the facts (never by the model), with the meetings it rests on.

    Attributes:
        kind: the rule (``gone_dark``, ``single_threaded``, ...).
        severity: ``high`` | ``medium`` | ``low`` | ``info``.
        title / detail: one line, and the exact figures behind it.
        value: the figure the rule compared with its threshold (days, people, a percentage).
        meetings: recording ids of the meetings the signal rests on.
        subject: the person a per-person signal is about (``champion_quiet``), else empty.
    """

    kind: str
    severity: str
    title: str
    detail: str = ""
    value: float | int | None = None
    meetings: list[int] = Field(default_factory=list)
    subject: str = ""


class NotJudged(BaseModel):
    """A signal rule that could not be judged. Attributes: kind (the rule), why (the data that is missing)."""

    kind: str
    why: str


class Coverage(BaseModel):
    """How much of the account the summary saw.

    Attributes:
        meetings / with_transcript / without_transcript / analysed: meeting counts.
        unmatched_speakers: people who spoke but could not be matched to an invitee's e-mail.
        index_updated_at: when the meetings were last read from Fathom (ISO 8601, UTC).
        not_judged: signal rules whose data is missing, each with why (``no_senior_voice``: ``roles unknown
            for 6 of 6 customer people who spoke``): unknown is not absent, so they raise nothing.
        index_complete: whether a full listing of the Fathom workspace had ended when the meetings were read
            (False: meetings Fathom filed under another company may be missing; None: not recorded).
        index_meetings: how many meetings the workspace index held then.
        index_covered_from: with an incomplete index, since when it held every meeting (ISO 8601, UTC).
    """

    meetings: int = 0
    with_transcript: int = 0
    without_transcript: int = 0
    analysed: int = 0
    unmatched_speakers: int = 0
    index_updated_at: str | None = None
    not_judged: list[NotJudged] = Field(default_factory=list)
    index_complete: bool | None = None
    index_meetings: int | None = None
    index_covered_from: str | None = None


class Changes(BaseModel):
    """What is new against the latest complete run of the same domain and options (ids and names)."""

    since_run_id: str
    since: str
    new_meetings: list[int] = Field(default_factory=list)
    new_people: list[str] = Field(default_factory=list)
    people_not_seen_since: list[str] = Field(default_factory=list)
    new_themes: list[str] = Field(default_factory=list)
    new_risks: list[str] = Field(default_factory=list)
    resolved_signals: list[str] = Field(default_factory=list)
    new_signals: list[str] = Field(default_factory=list)


class Searched(BaseModel):
    """What a search for an element covered: the account's meetings, those with a transcript, their hours."""

    meetings: int = 0
    transcripts: int = 0
    hours: float = 0.0


class QualificationEvidence(Evidence):
    """A verified quote for a qualification element; its ``side`` is ``customer`` for evidence and ``internal``
    for what our side said (a gap, never evidence).

    Attributes:
        value: what the rubric's ``conflict`` pattern read in the quote (a date, a sign-off owner), if any.
        answers: for a promise that is a bare yes ("Will do."), the sentence of the turn before it that it
            answers (another speaker's, verified), so the promise can be read; None otherwise.
    """

    value: str | None = None
    answers: Evidence | None = None


class QualificationElement(BaseModel):
    """One element of the methodology (``economic_buyer``) for the account, in one of four states.

    Attributes:
        status: ``evidenced`` | ``our_side_only`` | ``not_found`` | ``conflicting`` (computed in code).
        evidence: the customer's verified quotes (for ``evidenced`` and ``conflicting``).
        our_side: what our side said of it (for ``our_side_only``: shown as a gap, never as evidence).
        searched / terms: what was searched and for which phrases (every state carries them).
        first_evidenced: the date of the first meeting with customer evidence.
        change: against the previous complete run: ``new`` | ``unchanged`` | ``lost``; None without one.
    """

    key: str
    name: str
    status: str
    evidence: list[QualificationEvidence] = Field(default_factory=list)
    our_side: list[QualificationEvidence] = Field(default_factory=list)
    searched: Searched = Field(default_factory=Searched)
    terms: list[str] = Field(default_factory=list)
    first_evidenced: str | None = None
    change: str | None = None


class ElementState(BaseModel):
    """An element's key, name and state, without its quotes: what the job index and the accounts list carry."""

    key: str
    name: str
    status: str


class Qualification(BaseModel):
    """The account qualified by a methodology (MEDDPICC, BANT, SPICED or a team's own rubric)."""

    methodology: str
    name: str = ""
    analyzer: str = ""
    elements: list[QualificationElement] = Field(default_factory=list)
    searched: Searched = Field(default_factory=Searched)

    @property
    def evidenced(self) -> int:
        return sum(e.status == "evidenced" for e in self.elements)

    def states(self) -> list[ElementState]:
        return [ElementState(key=e.key, name=e.name, status=e.status) for e in self.elements]


class Commitment(BaseModel):
    """A promise our side made in a meeting, quoted, and whether a later meeting shows it done.

    Attributes:
        text: the promise as said (the verified quote).
        status: ``open`` | ``done``.
        evidence: the promise's quote, speaker, meeting and date (always our side).
        done_evidence: the later quote that shows it done (None while open).
    """

    text: str
    status: str = "open"
    evidence: QualificationEvidence
    done_evidence: QualificationEvidence | None = None


class MeetingQualification(BaseModel):
    """What one meeting says for the rubric; cached per meeting, analyser fingerprint and rubric.

    Attributes:
        hits: verified quotes by element key (customer and our side; the account step sorts them).
        promises: our side's verified promises.
        deliveries: verified sentences that say something was sent, shared or received.
        opening: the meeting's first sentence, verified: a promise to hold this meeting points at it having
            taken place (None in records cached before it was kept).
    """

    recording_id: int
    hits: dict[str, list[QualificationEvidence]] = Field(default_factory=dict)
    promises: list[QualificationEvidence] = Field(default_factory=list)
    deliveries: list[QualificationEvidence] = Field(default_factory=list)
    opening: QualificationEvidence | None = None
    seconds: int = 0  # the transcript's length, for "hours searched"


class EngagementSummary(BaseModel):
    """The account-level summary. The seed's fields first, with their names and types.

    Counts (meetings, people, months) are facts from the data; themes and the insight lists come
    from the analysis and every one of them carries evidence in the ``*_detail`` lists.
    """

    meetings_count: int = 0
    people: list[Person] = Field(default_factory=list)
    themes: list[Theme] = Field(default_factory=list)
    goals: list[str] = Field(default_factory=list)
    challenges: list[str] = Field(default_factory=list)
    risks: list[str] = Field(default_factory=list)
    recommendations: list[str] = Field(default_factory=list)

    domain: str = ""
    domains: list[str] = Field(default_factory=list)  # a linked account's every domain, the primary (domain) first
    company: str = ""
    first_meeting: str | None = None
    last_meeting: str | None = None
    meetings_by_month: list[MonthCount] = Field(default_factory=list)
    meetings: list[MeetingRef] = Field(default_factory=list)
    goals_detail: list[Insight] = Field(default_factory=list)
    challenges_detail: list[Insight] = Field(default_factory=list)
    risks_detail: list[Insight] = Field(default_factory=list)
    recommendations_detail: list[Insight] = Field(default_factory=list)
    notes: list[str] = Field(default_factory=list)
    signals: list[Signal] = Field(default_factory=list)
    coverage: Coverage | None = None
    changes: Changes | None = None
    qualification: Qualification | None = None
    commitments: list[Commitment] = Field(default_factory=list)


# ---------------------------------------------------------------- jobs


class JobStatus(StrEnum):
    """A job's state; it moves ``processing`` → ``complete`` | ``error`` and never back."""

    PROCESSING = "processing"
    COMPLETE = "complete"
    ERROR = "error"

    @property
    def terminal(self) -> bool:
        return self is not JobStatus.PROCESSING


class Progress(BaseModel):
    done: int = 0
    total: int | None = None


class JobOptions(BaseModel):
    """What the user asked for besides the domain; two jobs with equal options are the same work."""

    model_config = ConfigDict(frozen=True)

    since: str | None = None  # YYYY-MM-DD, inclusive
    until: str | None = None  # YYYY-MM-DD, inclusive


class JobStats(BaseModel):
    """Counters of the work a job did (more may be added by the pipeline)."""

    model_config = ConfigDict(extra="allow")

    fathom_requests: int = 0
    index_requests: int = 0  # of those, the meeting index's sync that the job waited for (its own client)
    meetings: int = 0
    llm_calls: int = 0
    cached_meetings: int = 0
    tokens_in: int = 0
    tokens_out: int = 0
    evidence_dropped: int = 0
    seconds: float = 0.0
    meetings_without_transcript: int = 0  # counted, not analysed
    meetings_skipped: int = 0  # listing items Fathom sent that could not be read
    index_meetings: int = 0  # external meetings in the workspace index when the job read it
    index_synced_at: str | None = None  # when that index was last brought up to date
    index_complete: bool | None = None  # whether a full listing of the workspace had ended (None: not known)
    index_covered_from: str | None = None  # with an incomplete index: since when it held every meeting
    direct_requests: int = 0  # requests asking Fathom for the account itself while the index was incomplete
    qualification_quotes_moved: int = 0  # model quotes re-attributed to the turn that holds them
    qualification_quotes_dropped: int = 0  # model quotes not in the transcript, not the customer's, or no element


class JobRecord(BaseModel):
    """A job as stored (``engagement.jobs.repository`` owns where); the seed's fields keep their names."""

    domain: str
    run_id: str
    status: JobStatus = JobStatus.PROCESSING
    summary: EngagementSummary | None = None
    error: str | None = None
    created_at: UTCDateTime
    updated_at: UTCDateTime
    started_at: UTCDateTime | None = None
    ended_at: UTCDateTime | None = None
    stage: str = "queued"
    progress: Progress = Field(default_factory=Progress)
    options: JobOptions = Field(default_factory=JobOptions)
    source: str = ""
    analyzer: str = ""
    stats: JobStats = Field(default_factory=JobStats)
    owner: str = ""

    @property
    def duration_s(self) -> float:
        end = self.ended_at or self.updated_at
        return max(0.0, (end - self.created_at).total_seconds())

    def to_json(self) -> dict[str, Any]:
        return self.model_dump(mode="json")
