"""Signals: warnings computed by rules from an account's facts, each with its exact figure and meetings.

Pure functions of a summary's fact fields (people, their roles, the meeting rows) and ``today``;
never the model's words. Thresholds come from :class:`Thresholds` (two of them from settings).
Every rule returns the signals it raises, or none; :func:`signals_of` runs them all, most severe
first. A signal's identity across runs is :func:`signal_id` (its kind, and the person it is about).

Unknown is not absent. Each rule declares the data it needs (:data:`RULES`: ``roles``, ``speech``,
``history``, ``latest``); when that data is missing the rule is not run, and :func:`judge` says why
in words for the coverage line ("roles unknown for 6 of 6 customer people who spoke"). In a run
filtered by dates, rules about time (``gone_dark``, ``cadence_drop``) read the account's whole
history (every meeting in the meeting index, whatever the dates asked for), never the window's
edge; rules about the latest meetings are judged only when the window reaches the account's latest
meeting.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import date

from engagement.account.facts import customer_people, days_since
from engagement.account.people import is_senior
from engagement.models import EngagementSummary, MeetingRef, NotJudged, Side, Signal
from engagement.settings import Settings
from engagement.wording import last_meetings, nice_date, plural

__all__ = [
    "RULES",
    "SEVERITIES",
    "Judgement",
    "Rule",
    "judge",
    "role_rules_refreshed",
    "Thresholds",
    "cadence_drop",
    "cadence_drop_signal",
    "cadence_dropped",
    "champion_quiet",
    "gone_dark",
    "gone_dark_severity",
    "gone_dark_signal",
    "no_senior_voice",
    "signal_id",
    "signals_of",
    "silent_invitees",
    "single_threaded",
    "talk_share",
]

SEVERITIES = ("high", "medium", "low", "info")


@dataclass(frozen=True)
class Thresholds:
    """The numbers the rules compare with.

    Attributes:
        gone_dark_days: no meeting for more than this many days is ``gone_dark`` (twice as long: high).
        recent_meetings: how many of the latest meetings ``single_threaded`` and ``champion_quiet`` read.
        cadence_window_days: the window ``cadence_drop`` compares with the one before it.
        talk_share_high_pct: our share of the words above this percentage makes ``talk_share`` high.
        silent_invites: invited to this many meetings with a transcript, silent in all: ``silent_invitees``.
    """

    gone_dark_days: int = 30
    recent_meetings: int = 3
    cadence_window_days: int = 90
    talk_share_high_pct: float = 65.0
    silent_invites: int = 2

    @classmethod
    def from_settings(cls, settings: Settings) -> Thresholds:
        return cls(gone_dark_days=settings.gone_dark_days, talk_share_high_pct=settings.talk_share_high_pct)


def gone_dark_severity(days: int, t: Thresholds) -> str | None:
    """``medium`` past ``gone_dark_days`` days without a meeting, ``high`` past twice that, else ``None``."""
    if days <= t.gone_dark_days:
        return None
    return "high" if days > 2 * t.gone_dark_days else "medium"


def gone_dark_signal(days: int, last: str, t: Thresholds, meetings: Sequence[int] = ()) -> Signal | None:
    """The ``gone_dark`` signal for ``days`` since the last meeting (``last`` says which), or ``None``."""
    severity = gone_dark_severity(days, t)
    if severity is None:
        return None
    return Signal(
        kind="gone_dark",
        severity=severity,
        title=f"No meeting for {plural(days, 'day')}",
        detail=f"The last meeting was {last}; the limit is {plural(t.gone_dark_days, 'day')}.",
        value=days,
        meetings=list(meetings),
    )


def cadence_drop_signal(recent: int, before: int, window: int, meetings: Sequence[int] = ()) -> Signal | None:
    """The ``cadence_drop`` signal for ``recent`` meetings in the last ``window`` days against ``before``, or ``None``."""
    if not cadence_dropped(recent, before):
        return None
    return Signal(
        kind="cadence_drop",
        severity="medium",
        title=f"Meetings dropped from {before} to {recent}",
        detail=f"{plural(recent, 'meeting')} in the last {window} days against {before} in the {window} days before.",
        value=recent,
        meetings=list(meetings),
    )


def cadence_dropped(recent: int, before: int) -> bool:
    """Fewer meetings in the latest window than half those of the window before it."""
    return before > 0 and recent * 2 < before


def signal_id(signal: Signal) -> str:
    """What makes two runs' signals the same signal: the kind, and the person for per-person ones."""
    return f"{signal.kind}:{signal.subject}" if signal.subject else signal.kind


def _people_in(refs: Sequence[MeetingRef]) -> list[str]:
    return list(dict.fromkeys(name for ref in refs for name in ref.customer_people))


# ---------------------------------------------------------------- the rules


def gone_dark(summary: EngagementSummary, today: date, t: Thresholds) -> list[Signal]:
    """No meeting for more than ``gone_dark_days`` days; ``value`` is the days, ``meetings`` the last one."""
    if not summary.last_meeting or not summary.meetings:
        return []
    last = summary.meetings[0]
    days = days_since(summary.last_meeting, today)
    signal = gone_dark_signal(days, f"“{last.title}” on {nice_date(last.date)}", t, [last.recording_id])
    return [signal] if signal else []


def single_threaded(summary: EngagementSummary, today: date, t: Thresholds) -> list[Signal]:
    """At most one customer person took part in the latest ``recent_meetings`` meetings."""
    recent = summary.meetings[: t.recent_meetings]
    if not recent:
        return []
    people = _people_in(recent)
    if len(people) > 1:
        return []
    who = people[0] if people else "no one from the customer"
    return [
        Signal(
            kind="single_threaded",
            severity="medium",
            title=f"Single-threaded: only {who} in {last_meetings(len(recent))}",
            detail=f"{plural(len(people), 'customer person', 'customer people')} took part in "
            f"{last_meetings(len(recent))}; a deal resting on one person stalls when they do.",
            value=len(people),
            meetings=[ref.recording_id for ref in recent],
        )
    ]


def champion_quiet(summary: EngagementSummary, today: date, t: Thresholds) -> list[Signal]:
    """A customer person in at least half the meetings but in none of the latest ``recent_meetings``."""
    total = len(summary.meetings)
    if total <= t.recent_meetings:
        return []
    recent = set(_people_in(summary.meetings[: t.recent_meetings]))
    out = []
    for person in customer_people(summary.people):
        if person.count * 2 < total or person.name in recent:
            continue
        last = next((ref for ref in summary.meetings if person.name in ref.customer_people), None)
        out.append(
            Signal(
                kind="champion_quiet",
                severity="high",
                title=f"{person.name} has gone quiet",
                detail=f"In {person.count} of {plural(total, 'meeting')}, but not in "
                f"{last_meetings(t.recent_meetings)}; last seen on {nice_date(person.last_seen)}.",
                value=person.count,
                meetings=[last.recording_id] if last else [],
                subject=person.name,
            )
        )
    return out


def no_senior_voice(summary: EngagementSummary, today: date, t: Thresholds) -> list[Signal]:
    """No customer person with a senior role (C-level, VP, head of, director) ever spoke."""
    heard = [ref for ref in summary.meetings if ref.has_transcript]
    customers = customer_people(summary.people)
    if not heard or not customers:
        return []
    speakers = [person for person in customers if person.spoke_in]
    if any(is_senior(person.role) for person in speakers):
        return []
    senior_silent = [person.name for person in customers if is_senior(person.role)]
    detail = (
        f"None of the {plural(len(speakers), 'customer person', 'customer people')} who spoke in "
        f"{plural(len(heard), 'meeting')} has a C-level, VP, head-of or director role"
    )
    detail += f"; invited but silent: {', '.join(senior_silent)}." if senior_silent else "."
    return [
        Signal(
            kind="no_senior_voice",
            severity="medium",
            title="No senior voice from the customer",
            detail=detail,
            value=len(speakers),
            meetings=[ref.recording_id for ref in heard],
        )
    ]


def silent_invitees(summary: EngagementSummary, today: date, t: Thresholds) -> list[Signal]:
    """Customer people invited to ``silent_invites``+ meetings with a transcript who never spoke.

    A meeting where someone no one could identify spoke (words by the ``unknown`` side) does not count:
    the invitee may have been that speaker, so their silence there is not known.
    """
    heard = [ref for ref in summary.meetings if ref.has_transcript and not ref.words.get(Side.UNKNOWN.value)]
    silent: list[tuple[str, int]] = []
    for person in customer_people(summary.people):
        if person.spoke_in:
            continue
        invited = sum(person.name in ref.customer_invited for ref in heard)
        if invited >= t.silent_invites:
            silent.append((person.name, invited))
    if not silent:
        return []
    names = {name for name, _ in silent}
    return [
        Signal(
            kind="silent_invitees",
            severity="low",
            title=f"{plural(len(silent), 'invitee')} never spoke",
            detail="Invited, silent every time: " + ", ".join(f"{name} ({n} meetings)" for name, n in silent) + ".",
            value=len(silent),
            meetings=[ref.recording_id for ref in heard if names & set(ref.customer_invited)],
        )
    ]


def cadence_drop(summary: EngagementSummary, today: date, t: Thresholds) -> list[Signal]:
    """Meetings in the last ``cadence_window_days`` fewer than half those of the window before."""
    window = t.cadence_window_days
    recent = [ref for ref in summary.meetings if days_since(ref.date, today) < window]
    before = [ref for ref in summary.meetings if window <= days_since(ref.date, today) < 2 * window]
    signal = cadence_drop_signal(len(recent), len(before), window, [ref.recording_id for ref in recent + before])
    return [signal] if signal else []


def talk_share(summary: EngagementSummary, today: date, t: Thresholds) -> list[Signal]:
    """Our side's share of the words spoken across the account: info, high above ``talk_share_high_pct``."""
    heard = [ref for ref in summary.meetings if ref.words]
    total = sum(sum(ref.words.values()) for ref in heard)
    if not total:
        return []
    ours = sum(ref.words.get(Side.INTERNAL.value, 0) for ref in heard)
    share = 100 * ours / total
    high = share > t.talk_share_high_pct
    return [
        Signal(
            kind="talk_share",
            severity="high" if high else "info",
            title=f"Our side spoke {share:.0f}% of the words",
            detail=f"{ours:,} of {total:,} words in {plural(len(heard), 'meeting')}"
            + (f"; above {t.talk_share_high_pct:g}% the customer is listening more than talking." if high else "."),
            value=round(share, 1),
            meetings=[ref.recording_id for ref in heard],
        )
    ]


# ---------------------------------------------------------------- what each rule needs


@dataclass(frozen=True)
class Rule:
    """A signal rule and the data it cannot judge without.

    Attributes:
        kind: the signal it raises.
        judge: the rule itself.
        needs: ``roles`` (the roles of the customer people who spoke), ``speech`` (at least one meeting
            whose transcript says who spoke), ``history`` (every meeting of the account, not only those
            of the dates asked for) and ``latest`` (the account's latest meetings are in the run).
    """

    kind: str
    judge: Callable[[EngagementSummary, date, Thresholds], list[Signal]]
    needs: frozenset[str] = frozenset()


RULES: tuple[Rule, ...] = (
    Rule("gone_dark", gone_dark, frozenset({"history"})),
    Rule("single_threaded", single_threaded, frozenset({"latest"})),
    Rule("champion_quiet", champion_quiet, frozenset({"latest"})),
    Rule("no_senior_voice", no_senior_voice, frozenset({"speech", "roles"})),
    Rule("silent_invitees", silent_invitees, frozenset({"speech"})),
    Rule("cadence_drop", cadence_drop, frozenset({"history"})),
    Rule("talk_share", talk_share, frozenset({"speech"})),
)
ROLE_KINDS = frozenset(rule.kind for rule in RULES if "roles" in rule.needs)
NO_HISTORY = "the run is filtered by dates and the account's other meetings could not be read"


@dataclass(frozen=True)
class Judgement:
    """The signals raised, and the rules that could not be judged with why (one line each, for the coverage line).

    Attributes:
        signals: most severe first.
        not_judged: the rules whose data is missing and why, in rule order.
    """

    signals: list[Signal]
    not_judged: list[NotJudged]


def _roles_missing(summary: EngagementSummary) -> str | None:
    """Why roles cannot settle ``no_senior_voice``: some customer speakers' roles unknown and none known senior."""
    speakers = [person for person in customer_people(summary.people) if person.spoke_in]
    if not speakers or any(is_senior(person.role) for person in speakers):
        return None  # nobody to judge (the rule says nothing), or a senior voice is known: judged
    unknown = sum(not person.role.strip() for person in speakers)
    if not unknown:
        return None
    return f"roles unknown for {unknown} of {plural(len(speakers), 'customer person', 'customer people')} who spoke"


def _speech_missing(summary: EngagementSummary) -> str | None:
    if summary.meetings and not any(ref.has_transcript for ref in summary.meetings):
        return "no transcript says who spoke"
    return None


def _latest_missing(summary: EngagementSummary, history: Sequence[MeetingRef] | None, filtered: bool) -> str | None:
    if not filtered or not summary.meetings:
        return None
    if history is None:
        return NO_HISTORY
    newest = history[0] if history else None
    if newest is not None and newest.recording_id not in {ref.recording_id for ref in summary.meetings}:
        return f"the dates asked for end before the account's latest meeting ({nice_date(newest.date)})"
    return None


def _newest_first(refs: Sequence[MeetingRef]) -> list[MeetingRef]:
    return sorted(refs, key=lambda ref: (ref.started_at or ref.date, ref.recording_id), reverse=True)


def judge(
    summary: EngagementSummary,
    *,
    today: date,
    thresholds: Thresholds | None = None,
    history: Sequence[MeetingRef] | None = None,
    filtered: bool = False,
) -> Judgement:
    """Every rule whose data is there, and why the others could not be judged.

    ``filtered``: the run was asked for a date range, so ``summary.meetings`` are not all the account's;
    ``history`` is then every meeting of the account (rows with an id, title and date are enough), from
    which ``gone_dark`` and ``cadence_drop`` are computed. Unfiltered, the summary's meetings are the history.
    """
    t = thresholds or Thresholds()
    past = _newest_first(history) if history is not None else None
    if not filtered:
        past = list(summary.meetings)
    signals: list[Signal] = []
    not_judged: list[NotJudged] = []
    for rule in RULES:
        why = None
        target = summary
        if "history" in rule.needs:
            if past is None:
                why = NO_HISTORY
            elif filtered:
                target = summary.model_copy(update={"meetings": past, "last_meeting": past[0].date if past else None})
        if why is None and "latest" in rule.needs:
            why = _latest_missing(summary, past, filtered)
        if why is None and "speech" in rule.needs:
            why = _speech_missing(summary)
        if why is None and "roles" in rule.needs:
            why = _roles_missing(summary)
        if why is not None:
            not_judged.append(NotJudged(kind=rule.kind, why=why))
            continue
        signals.extend(rule.judge(target, today, t))
    signals.sort(key=lambda signal: SEVERITIES.index(signal.severity))
    return Judgement(signals=signals, not_judged=not_judged)


def signals_of(summary: EngagementSummary, *, today: date, thresholds: Thresholds | None = None) -> list[Signal]:
    """Every judged rule's signals for an unfiltered run, most severe first (rules in their order within a severity)."""
    return judge(summary, today=today, thresholds=thresholds).signals


def role_rules_refreshed(summary: EngagementSummary, *, today: date, thresholds: Thresholds | None = None) -> None:
    """Judge again, in place, the rules that read roles (after a rep set one): their signals and coverage notes.

    The other signals stay as the run computed them (a stored record says what was true that day, and a
    filtered run's time rules read history the summary does not hold).
    """
    t = thresholds or Thresholds()
    kept = [signal for signal in summary.signals if signal.kind not in ROLE_KINDS]
    coverage = summary.coverage
    notes = [note for note in (coverage.not_judged if coverage else []) if note.kind not in ROLE_KINDS]
    fresh = judge(summary, today=today, thresholds=t)
    kept += [signal for signal in fresh.signals if signal.kind in ROLE_KINDS]
    kept.sort(key=lambda signal: SEVERITIES.index(signal.severity))
    summary.signals = kept
    if coverage is not None:
        notes += [note for note in fresh.not_judged if note.kind in ROLE_KINDS]
        coverage.not_judged = notes
