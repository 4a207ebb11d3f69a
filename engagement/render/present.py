"""What the page, the exports and the command line show of a summary: text, sections, citations, rows.

Each renderer (``ui/result.py``, ``report.py``, ``cli.py``) only formats what this module decides:
which insight sections there are and in what order, what a citation says and where it links, the
rows and column labels of the people and meetings tables, and how text from a meeting or the model
becomes one bounded line (and, for Markdown, inert Markdown).
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import date, datetime

from engagement.meetings.index import IndexStatus
from engagement.models import (
    Changes,
    Coverage,
    EngagementSummary,
    Evidence,
    Insight,
    Person,
    QualificationElement,
    Side,
    Signal,
)
from engagement.render.links import safe_url

# re-exported: the pages and exports take their words from here
from engagement.wording import how_long, last_meetings, nice_date, nice_time, others, plural

__all__ = [
    "MATCHED_BY",
    "MEETING_COLUMNS",
    "PEOPLE_COLUMNS",
    "SECTIONS",
    "SEVERITY_LABELS",
    "SIDE_LABELS",
    "SIGNAL_NAMES",
    "NO_SIDE",
    "TEXT_MAX",
    "TimelineRow",
    "UNKNOWN_SPEAKER",
    "WORD_JOINER",
    "Citation",
    "Column",
    "MeetingRow",
    "PersonRow",
    "ROLE_SOURCES",
    "Section",
    "cells",
    "change_items",
    "cite",
    "columns",
    "coverage_line",
    "how_long",
    "last_meetings",
    "nice_time",
    "others",
    "insights",
    "md",
    "md_file",
    "md_link",
    "meeting_rows",
    "month_year",
    "nice_date",
    "nice_time",
    "one_line",
    "people_rows",
    "plural",
    "QUALIFICATION_STATUS",
    "qualification_status",
    "searched_line",
    "restates",
    "role_quote",
    "side_counts",
    "signal_line",
    "signal_name",
    "timeline_rows",
]

# ---------------------------------------------------------------- text from meetings and the model

TEXT_MAX = 2000  # characters of any one shown string; a longer one ends in "…" (the JSON keeps it whole)


# Control characters (a terminal's escape sequences among them) and the bidirectional overrides that
# make text read other than it is stored.
_INVISIBLE = re.compile("[\x00-\x08\x0e-\x1f\x7f-\x9f\u202a-\u202e\u2066-\u2069]")


def one_line(text: object, limit: int = TEXT_MAX) -> str:
    """Data text as one line of at most ``limit`` characters: whitespace collapsed, control characters
    dropped, the rest cut to "…"."""
    plain = " ".join(_INVISIBLE.sub("", str(text if text is not None else "")).split())
    if len(plain) > limit:
        plain = plain[: limit - 1].rstrip() + "…"
    return plain


def month_year(value: str | None) -> str:
    """``2026-05-04`` → ``May 2026``."""
    if not value:
        return "—"
    try:
        return f"{date.fromisoformat(value[:10]):%b %Y}"
    except ValueError:
        return value


def indexing_stage(meetings: int) -> str:
    """What a job or the CLI says while the meeting index fills: ``indexing Fathom: 3,400 meetings``."""
    return f"indexing Fathom: {plural(meetings, 'meeting')}"


def indexing_progress(meetings: int, total: int | None = None, seconds_left: float | None = None) -> str:
    """The index's first listing as people read it: ``indexing Fathom: 1,240 of about 3,000 meetings, about 3 minutes
    left``; without an estimate yet, ``indexing Fathom: 1,240 meetings so far``."""
    if total is None or seconds_left is None:
        return f"{indexing_stage(meetings)} so far"
    left = "less than a minute" if seconds_left < 60 else f"about {how_long(seconds_left)}"
    return f"indexing Fathom: {meetings:,} of about {plural(max(total, meetings), 'meeting')}, {left} left"


def index_progress(status: IndexStatus, now: datetime) -> str:
    """The progress line of the index's full listing under way (:func:`indexing_progress`), estimated from the
    dates it has reached and its pace (:meth:`IndexStatus.estimate`)."""
    estimate = status.estimate(now)
    if estimate is None:
        return indexing_progress(status.pass_meetings)
    return indexing_progress(status.pass_meetings, estimate.total, estimate.seconds_left)


def index_incomplete_note(held: int, covered_from: str | None) -> str:
    """What a summary made while the workspace's first listing runs may lack, for its notes: not an error."""
    since = f"; every meeting since {nice_date(covered_from)} is in it" if covered_from else ""
    return (
        f"Fathom's workspace is still being indexed ({plural(held, 'meeting')} so far{since}). This summary has "
        "the meetings Fathom files under this company and those the index holds; meetings filed under another "
        "company (with a partner, or several companies on one invite) may still be missing. It is marked for a "
        "refresh when the index is complete."
    )


def still_indexing(meetings: int) -> str:
    """Why a job that waited for the meeting index's listing stopped at its limit, and what to do; ``meetings``
    is what the index holds (not only what this pass listed)."""
    return (
        f"Fathom's workspace is still being indexed: {plural(meetings, 'meeting')} so far. It carries on in the "
        "background; run this again in a few minutes."
    )


# Markdown (CommonMark + GFM, as Streamlit and GitHub render it). Escaped wherever they stand: emphasis,
# code, links, images, tables, strikethrough, entities and LaTeX; angle brackets become entities, so not
# even the characters of a tag reach the Markdown.
_ALWAYS = re.compile(r"[\\`*_\[\]<>|~$&]")
_REPLACE = {"<": "&lt;", ">": "&gt;"}
# Autolinks (``https://…``, ``www.…``, ``eve@evil.example``), emoji shortcodes and Streamlit's ``:icons:``
# are found in the text after escapes are resolved, so a backslash cannot stop them: an invisible word
# joiner after the colon (unless it sits between digits, as in ``10:30``), after "@" and after "www"
# breaks each pattern while the reader sees the same characters.
WORD_JOINER = "\u2060"
_BREAK = re.compile(r"(?<!\d):|:(?!\d)|@|(?i:(?<![\w.])www(?=\.))")
# What only means something at the start of a line: a heading, a list item, a rule.
_LEADING = re.compile(r"^(#|[-+=]|\d+(?=[.)]))")


def md(text: object, limit: int = TEXT_MAX) -> str:
    """Data text (a title, a name, a quote, a model's sentence, an error) as inert Markdown on one line.

    ``<img src=x onerror=alert(1)>`` becomes ``&lt;img src=x onerror=alert(1)&gt;``, ``[a](b)`` becomes
    ``\\[a\\](b)`` and a bare ``https://evil.example`` gets a word joiner after its colon: shown as the
    words they are, never as a tag, a link or an image. Newlines collapse to spaces, so no data can open
    a heading, a list or a table row.
    """
    escaped = _ALWAYS.sub(lambda m: _REPLACE.get(m[0]) or "\\" + m[0], one_line(text, limit))
    escaped = _BREAK.sub(lambda m: m[0] + WORD_JOINER, escaped)
    match = _LEADING.match(escaped)
    if match:
        lead = match.group(1)
        escaped = "\\" + escaped if not lead[0].isdigit() else lead + "\\" + escaped[len(lead) :]
    return escaped


def md_link(label: str, url: str | None, escape: Callable[[object], str] | None = None) -> str:
    """``[label](url)`` with ``label`` escaped (by ``md``, or ``escape``); just the label when the URL is
    not a safe http(s) link."""
    text = (escape or md)(label)
    target = safe_url(url)
    if not target:
        return text
    # inside link text a backslash escape reads better than an entity (``\<`` shows "<", as "&lt;" does)
    return f"[{text.replace('&lt;', chr(92) + '<').replace('&gt;', chr(92) + '>')}]({target})"


# A Markdown file is read and copied as text, so it gets no invisible character and only the escapes
# that change how it renders: the marks of emphasis, code, links, tags, tables and strikethrough; "_"
# only where it can open or close emphasis (not inside snake_case); "&" only where it would start an
# entity. A web or e-mail address a reader would turn into a link is set in a code span instead, which
# no Markdown reader links.
_AUTOLINK = re.compile(r"(?i)(?:\b[a-z][a-z0-9+.-]*://|(?<![\w.])www\.)\S+|[\w.+-]+@[\w-]+(?:\.[\w-]+)+")
_FILE_ESCAPE = re.compile(r"[\\`*\[\]<>|~]|(?<![^\W_])_|_(?![^\W_])|&(?=#?\w+;)")


def _code_span(text: str) -> str:
    """``text`` as an inline code span, fenced by more backticks than it holds in a row."""
    fence = "`" * (max((len(run) for run in re.findall(r"`+", text)), default=0) + 1)
    pad = " " if text.startswith("`") or text.endswith("`") else ""
    return f"{fence}{pad}{text}{pad}{fence}"


def md_file(text: object, limit: int = TEXT_MAX) -> str:
    """Data text as inert Markdown for an exported file: like ``md`` (one line, no tag, link, image or
    autolink), but with no invisible character and no needless escape, so a copy reads as it was said."""
    plain = one_line(text, limit)
    parts, last = [], 0
    for found in _AUTOLINK.finditer(plain):
        parts += [_FILE_ESCAPE.sub(lambda m: "\\" + m[0], plain[last : found.start()]), _code_span(found[0])]
        last = found.end()
    parts.append(_FILE_ESCAPE.sub(lambda m: "\\" + m[0], plain[last:]))
    escaped = "".join(parts)
    match = _LEADING.match(escaped)
    if match:
        lead = match.group(1)
        escaped = "\\" + escaped if not lead[0].isdigit() else lead + "\\" + escaped[len(lead) :]
    return escaped


# ---------------------------------------------------------------- sections and insights


@dataclass(frozen=True)
class Section:
    """An insight list of the summary. Attributes: title (``Goals``), field (``goals``)."""

    title: str
    field: str


SECTIONS: tuple[Section, ...] = (
    Section("Goals", "goals"),
    Section("Challenges", "challenges"),
    Section("Risks", "risks"),
    Section("Recommendations", "recommendations"),
)


def insights(summary: EngagementSummary, field: str) -> list[Insight]:
    """A section's insights with their evidence (the pipeline fills ``goals`` and ``goals_detail`` together)."""
    detail: list[Insight] = getattr(summary, f"{field}_detail")
    return detail


def _words(text: str) -> str:
    return " ".join(re.sub(r"[^\w\s]", " ", text.casefold()).split())


def restates(insight: Insight) -> bool:
    """Whether the insight says its first verified quote's words (the offline analyser's way).

    Then a renderer shows the quote once, as the insight, instead of the same sentence twice.
    """
    verified = [e for e in insight.evidence if e.verified and e.quote.strip()]
    if not verified:
        return False
    a, b = _words(insight.text), _words(verified[0].quote)
    return bool(a) and (a == b or (len(b) > 20 and b in a) or (len(a) > 20 and a in b))


UNKNOWN_SPEAKER = "Unknown speaker"
NO_SIDE = "Side not known"


@dataclass(frozen=True)
class Citation:
    """One piece of evidence, ready to show.

    Attributes:
        quote: the verified words on one line; ``None`` when the quote was not found in its transcript
            (it is never shown as a quote).
        speaker / date / title / timestamp: one line each; ``speaker`` and ``date`` may be empty.
        url: the link to the moment in the meeting, only when it is an http(s) link.
        side: the speaker's side as every renderer names it (``Customer``, ``Our team``, ``Side not known``).
    """

    quote: str | None
    speaker: str
    date: str
    title: str
    timestamp: str
    url: str | None
    side: str = NO_SIDE

    @property
    def who(self) -> str:
        """``Sarah Lopez (Customer)``, ``Daniel Okafor (Our team)``: every quote shown says whose side said it."""
        return f"{self.speaker or UNKNOWN_SPEAKER} ({self.side})"


def cite(evidence: Evidence) -> Citation:
    """What a renderer shows of ``evidence``."""
    return Citation(
        side=SIDE_LABELS[evidence.side] if evidence.side else NO_SIDE,
        quote=one_line(evidence.quote) if evidence.verified and evidence.quote.strip() else None,
        speaker=one_line(evidence.speaker),
        date=one_line(evidence.meeting_date),
        title=one_line(evidence.meeting_title) or f"Recording {evidence.recording_id}",
        timestamp=one_line(evidence.timestamp),
        url=safe_url(evidence.url),
    )


# ---------------------------------------------------------------- people and meetings tables

SIDE_LABELS: dict[Side, str] = {
    Side.CUSTOMER: "Customer",
    Side.INTERNAL: "Our team",
    Side.THIRD_PARTY: "Third party",
    Side.PERSONAL: "Personal e-mail",
    Side.UNKNOWN: "Unknown",
}


@dataclass(frozen=True)
class Column:
    """A table column. Attributes: key (of a row), label (the heading every renderer shows), numeric."""

    key: str
    label: str
    numeric: bool = False


# How a person was identified (engagement.account.people), as every renderer says it.
MATCHED_BY = {"email": "e-mail", "speaker_match": "speaker name", "display_name": "display name only"}

PEOPLE_COLUMNS: tuple[Column, ...] = (
    Column("name", "Name"),
    Column("email", "E-mail"),
    Column("side", "Side"),
    Column("role", "Role"),
    Column("role_from", "Role from"),
    Column("role_quote", "Role said in"),
    Column("meetings", "Meetings", numeric=True),
    Column("invited", "Invited", numeric=True),
    Column("spoke_in", "Spoke in", numeric=True),
    Column("first_seen", "First seen"),
    Column("last_seen", "Last seen"),
    Column("aliases", "Also shown as"),
    Column("matched_by", "Matched by"),
)
MEETING_COLUMNS: tuple[Column, ...] = (
    Column("recording_id", "Recording id", numeric=True),
    Column("date", "Date"),
    Column("started_at", "Started at"),
    Column("title", "Title"),
    Column("minutes", "Minutes", numeric=True),
    Column("customer_people", "Customer people"),
    Column("internal_people", "Our team"),
    Column("analysed", "Analysed"),
    Column("transcript", "Transcript"),
    Column("recording", "Recording"),
)


@dataclass(frozen=True)
class PersonRow:
    """A row of the people table (attribute names are ``PEOPLE_COLUMNS`` keys); the side as the page names it."""

    name: str
    email: str
    side: str
    role: str
    meetings: int
    invited: int
    spoke_in: int
    first_seen: str
    last_seen: str
    aliases: tuple[str, ...] = ()
    matched_by: tuple[str, ...] = ()
    role_from: str = ""  # "set by a rep", "said in a meeting", or empty (unknown)
    role_quote: str = ""  # the words the role rests on, and who said them with their side


# Where a person's role comes from (Person.role_source), as every renderer says it.
ROLE_SOURCES = {"rep": "set by a rep", "meeting": "said in a meeting"}


def role_quote(person: Person) -> str:
    """``“I run procurement.” — Rachel Okafor (Customer), 4 May 2026``: the first verified quote a role rests on."""
    for evidence in person.role_evidence:
        c = cite(evidence)
        if c.quote is not None:
            return f"“{c.quote}” — {c.who}" + (f", {nice_date(c.date)}" if c.date else "")
    return ""


@dataclass(frozen=True)
class MeetingRow:
    """A row of the meetings table (attribute names are ``MEETING_COLUMNS`` keys); ``recording`` only when http(s)."""

    recording_id: int
    date: str
    started_at: str
    title: str
    minutes: int | None
    customer_people: tuple[str, ...]
    internal_people: tuple[str, ...]
    analysed: bool
    transcript: str  # "no transcript" (or why) when Fathom has none (counted, not analysed); "yes" otherwise
    recording: str | None


def people_rows(summary: EngagementSummary) -> list[PersonRow]:
    """One row a person, most meetings first; every text one bounded line."""
    people = sorted(summary.people, key=lambda p: (-p.count, one_line(p.name).casefold()))
    return [
        PersonRow(
            name=one_line(p.name),
            email=one_line(p.email),
            side=SIDE_LABELS[p.side],
            role=one_line(p.role),
            meetings=p.count,
            invited=p.invited,
            spoke_in=p.spoke_in,
            first_seen=p.first_seen or "",
            last_seen=p.last_seen or "",
            aliases=tuple(p.aliases),
            matched_by=tuple(MATCHED_BY.get(how, how) for how in p.matched_by),
            role_from=ROLE_SOURCES.get(p.role_source, "") if p.role else "",
            role_quote=role_quote(p) if p.role else "",
        )
        for p in people
    ]


def meeting_rows(summary: EngagementSummary) -> list[MeetingRow]:
    """One row a meeting, oldest first; every text one bounded line."""
    meetings = sorted(summary.meetings, key=lambda m: m.started_at or m.date)
    return [
        MeetingRow(
            recording_id=m.recording_id,
            date=m.date,
            started_at=m.started_at,
            title=one_line(m.title),
            minutes=m.duration_min,
            customer_people=tuple(one_line(name) for name in m.customer_people),
            internal_people=tuple(one_line(name) for name in m.internal_people),
            analysed=m.analysed,
            transcript=m.no_transcript or "yes",
            recording=safe_url(m.share_url or m.url),
        )
        for m in meetings
    ]


@dataclass(frozen=True)
class TimelineRow:
    """A meeting on the timeline.

    Attributes:
        recording_id / date / title: the meeting (one line each).
        customer / ours: who attended from each side.
        themes: the account's themes this meeting raised.
        transcript: whether Fathom had a transcript of it.
        url: the recording, only when it is an http(s) link.
        quotes: the verified quotes from this meeting, each with its link to the moment.
    """

    recording_id: int
    date: str
    title: str
    customer: tuple[str, ...]
    ours: tuple[str, ...]
    themes: tuple[str, ...]
    transcript: bool
    url: str | None
    quotes: tuple[Citation, ...]


def timeline_rows(summary: EngagementSummary, person: str = "", theme: str = "") -> list[TimelineRow]:
    """One row a meeting, oldest first, with its themes and quotes; only those ``person`` attended and
    that raised ``theme`` when given (an empty filter keeps every meeting)."""
    themes_of: dict[int, list[str]] = {}
    for t in summary.themes:
        for rid in dict.fromkeys(t.meetings):
            themes_of.setdefault(rid, []).append(one_line(t.topic))
    quotes_of: dict[int, dict[str, Citation]] = {}
    evidence = [e for t in summary.themes for e in t.evidence]
    evidence += [e for section in SECTIONS for i in insights(summary, section.field) for e in i.evidence]
    for e in evidence:
        citation = cite(e)
        if citation.quote is not None:
            quotes_of.setdefault(e.recording_id, {}).setdefault(citation.quote, citation)
    rows = []
    for m in sorted(summary.meetings, key=lambda m: m.started_at or m.date):
        customer = tuple(one_line(name) for name in m.customer_people)
        ours = tuple(one_line(name) for name in m.internal_people)
        raised = tuple(themes_of.get(m.recording_id, ()))
        if person and person not in customer + ours:
            continue
        if theme and theme not in raised:
            continue
        rows.append(
            TimelineRow(
                recording_id=m.recording_id,
                date=m.date,
                title=one_line(m.title) or f"Recording {m.recording_id}",
                customer=customer,
                ours=ours,
                themes=raised,
                transcript=not m.no_transcript,
                url=safe_url(m.share_url or m.url),
                quotes=tuple(quotes_of.get(m.recording_id, {}).values()),
            )
        )
    return rows


def cells(row: PersonRow | MeetingRow, table: Sequence[Column]) -> list[object]:
    """The row's values for ``table``'s columns, in their order."""
    return [getattr(row, column.key) for column in table]


def columns(table: Sequence[Column], *keys: str) -> list[Column]:
    """The columns of ``table`` named by ``keys``, in that order."""
    by_key = {column.key: column for column in table}
    return [by_key[key] for key in keys]


def side_counts(summary: EngagementSummary) -> tuple[int, int, int]:
    """(customer, our team, everyone else) among the summary's people."""
    customer = sum(p.side is Side.CUSTOMER for p in summary.people)
    ours = sum(p.side is Side.INTERNAL for p in summary.people)
    return customer, ours, len(summary.people) - customer - ours


# ---------------------------------------------------------------- coverage, signals, changes

SEVERITY_LABELS = {"high": "High", "medium": "Medium", "low": "Low", "info": "Info"}
SIGNAL_NAMES = {
    "gone_dark": "Gone dark",
    "single_threaded": "Single-threaded",
    "champion_quiet": "Champion quiet",
    "no_senior_voice": "No senior voice",
    "silent_invitees": "Silent invitees",
    "cadence_drop": "Cadence drop",
    "talk_share": "Talk share",
}


def coverage_line(coverage: Coverage) -> str:
    """``12 of 13 meetings analysed · 1 without a transcript · 2 speakers unmatched`` (gaps only when there are some),
    then each signal that could not be judged and why (``“No senior voice” not judged: roles unknown for …``: the
    signal's name in quotes, so it does not read as a finding)."""
    parts = [f"{coverage.analysed} of {plural(coverage.meetings, 'meeting')} analysed"]
    if coverage.without_transcript:
        parts.append(f"{coverage.without_transcript} without a transcript")
    if coverage.unmatched_speakers:
        parts.append(f"{plural(coverage.unmatched_speakers, 'speaker')} unmatched")
    parts += [f"“{signal_name(note.kind)}” not judged: {one_line(note.why)}" for note in coverage.not_judged]
    return " · ".join(parts)


def signal_name(signal_id: str) -> str:
    """``champion_quiet:Sarah Lopez`` → ``Champion quiet (Sarah Lopez)``; an unknown kind still reads as words."""
    kind, _, subject = signal_id.partition(":")
    name = SIGNAL_NAMES.get(kind, kind.replace("_", " ").capitalize())
    return f"{name} ({one_line(subject)})" if subject else name


def signal_line(signal: Signal) -> str:
    """``High · No meeting for 59 days — The last meeting was …`` as one plain line."""
    text = f"{SEVERITY_LABELS.get(signal.severity, one_line(signal.severity))} · {one_line(signal.title)}"
    return text + (f" — {one_line(signal.detail)}" if signal.detail else "")


def change_items(changes: Changes) -> list[tuple[str, list[str]]]:
    """The non-empty lists of a "Since <date>" panel, labelled; new meetings are recording ids as text."""
    named = (
        ("New meetings", [str(rid) for rid in changes.new_meetings]),
        ("New people", [one_line(name) for name in changes.new_people]),
        ("Not seen since", [one_line(name) for name in changes.people_not_seen_since]),
        ("New themes", [one_line(topic) for topic in changes.new_themes]),
        ("New risks", [one_line(risk) for risk in changes.new_risks]),
        ("New signals", [signal_name(s) for s in changes.new_signals]),
        ("Resolved signals", [signal_name(s) for s in changes.resolved_signals]),
    )
    return [(label, items) for label, items in named if items]


# ---------------------------------------------------------------- qualification

QUALIFICATION_STATUS = {
    "evidenced": "Evidenced",
    "conflicting": "Conflicting",
    "our_side_only": "Our side only",
    "not_found": "Not found",
}
_CHANGE = {"new": "new since the last run", "lost": "lost since the last run", "unchanged": "unchanged"}
TERMS_SHOWN = 8


def qualification_status(element: QualificationElement) -> str:
    """``Evidenced since 7 May 2026 (new since the last run)``, ``Our side only: only we spoke of it``, ..."""
    label = QUALIFICATION_STATUS.get(element.status, element.status)
    if element.status == "evidenced" and element.first_evidenced:
        label += f" since {nice_date(element.first_evidenced)}"
    elif element.status == "conflicting":
        values = sorted({ev.value for ev in element.evidence if ev.value})
        label += f": the customer's quotes disagree ({', '.join(one_line(v, 60) for v in values)})"
    elif element.status == "our_side_only":
        label += ": only we spoke of it; the customer never did (a gap, not evidence)"
    if element.change and element.change != "unchanged":
        label += f" ({_CHANGE[element.change]})"
    return label


def searched_line(element: QualificationElement) -> str:
    """What was searched for an element the customer never spoke of: meetings, transcripts, hours and terms."""
    s = element.searched
    terms = ", ".join(f'"{one_line(t, 80)}"' for t in element.terms[:TERMS_SHOWN])
    more = f" and {len(element.terms) - TERMS_SHOWN} more" if len(element.terms) > TERMS_SHOWN else ""
    return (
        f"No customer statement in {plural(s.meetings, 'meeting')} ({plural(s.transcripts, 'transcript')}, "
        f"{s.hours:g} hours searched) for {terms}{more}."
    )
