"""Each signal rule against hand-built facts: it fires, it does not, and the boundary between."""

from __future__ import annotations

from datetime import date, timedelta

from engagement.account.signals import (
    Thresholds,
    cadence_drop,
    champion_quiet,
    gone_dark,
    no_senior_voice,
    signal_id,
    signals_of,
    silent_invitees,
    single_threaded,
    talk_share,
)
from engagement.models import EngagementSummary, MeetingRef, Person, Side
from engagement.settings import Settings
from tests.support.meeting_factory import ref

TODAY = date(2026, 6, 30)
T = Thresholds()


def summary(refs: list[MeetingRef], people: list[Person] | None = None) -> EngagementSummary:
    """A summary of ``refs`` (any order; stored newest first), people counted from the rows unless given."""
    refs = sorted(refs, key=lambda r: (r.date, r.recording_id), reverse=True)
    if people is None:
        names = dict.fromkeys(n for r in refs for n in r.customer_people)
        people = [
            Person(
                key=n,
                name=n,
                side=Side.CUSTOMER,
                count=sum(n in r.customer_people for r in refs),
                spoke_in=sum(n in r.customer_speakers for r in refs),
                last_seen=max(r.date for r in refs if n in r.customer_people),
            )
            for n in names
        ]
    return EngagementSummary(
        meetings_count=len(refs),
        meetings=refs,
        people=people,
        first_meeting=refs[-1].date if refs else None,
        last_meeting=refs[0].date if refs else None,
    )


def days_ago(n: int) -> date:
    return TODAY - timedelta(days=n)


# ---------------------------------------------------------------- gone_dark


def test_gone_dark_fires_after_the_threshold_with_the_days_and_the_last_meeting():
    """31 days after the last meeting (limit 30): gone_dark, value 31, resting on that meeting."""
    (signal,) = gone_dark(summary([ref(1, days_ago(40)), ref(2, days_ago(31))]), TODAY, T)
    assert (signal.kind, signal.value, signal.meetings, signal.severity) == ("gone_dark", 31, [2], "medium")


def test_gone_dark_is_high_after_twice_the_threshold():
    """61 days without a meeting is twice the limit: high."""
    assert gone_dark(summary([ref(1, days_ago(61))]), TODAY, T)[0].severity == "high"


def test_gone_dark_does_not_fire_at_the_threshold_or_without_meetings():
    """Exactly 30 days is not more than 30; no meetings at all is not gone dark."""
    assert gone_dark(summary([ref(1, days_ago(30))]), TODAY, T) == []
    assert gone_dark(summary([]), TODAY, T) == []


def test_gone_dark_threshold_comes_from_settings():
    """SIGNAL_GONE_DARK_DAYS moves the limit."""
    t = Thresholds.from_settings(Settings.from_env({"SIGNAL_GONE_DARK_DAYS": "10"}))
    assert gone_dark(summary([ref(1, days_ago(11))]), TODAY, t)[0].value == 11
    assert gone_dark(summary([ref(1, days_ago(10))]), TODAY, t) == []


# ---------------------------------------------------------------- single_threaded


def test_single_threaded_fires_when_one_person_took_part_in_the_last_three():
    """Only Ana in the last 3 meetings (Bo was in an older one): single_threaded, value 1, those 3 meetings."""
    s = summary([ref(1, "2026-05-01", ["Ana", "Bo"]), *(ref(i, f"2026-06-0{i}", ["Ana"]) for i in (2, 3, 4))])
    (signal,) = single_threaded(s, TODAY, T)
    assert (signal.value, signal.meetings) == (1, [4, 3, 2])
    assert "Ana" in signal.title


def test_single_threaded_does_not_fire_with_two_people_in_the_last_three():
    """Two customer people across the last 3 meetings is the boundary: not single-threaded."""
    s = summary([ref(1, "2026-06-01", ["Ana"]), ref(2, "2026-06-02", ["Ana"]), ref(3, "2026-06-03", ["Bo"])])
    assert single_threaded(s, TODAY, T) == []


def test_single_threaded_counts_no_customer_person_as_at_most_one():
    """Meetings without any customer person are single-threaded too (value 0); no meetings, no signal."""
    assert single_threaded(summary([ref(1, "2026-06-01")]), TODAY, T)[0].value == 0
    assert single_threaded(summary([]), TODAY, T) == []


# ---------------------------------------------------------------- champion_quiet


def test_champion_quiet_fires_for_half_the_meetings_but_none_of_the_last_three():
    """Ana was in 3 of 6 meetings, none of the last 3: champion_quiet about Ana, resting on her last meeting."""
    refs = [ref(i, f"2026-06-0{i}", ["Ana", "Bo"] if i <= 3 else ["Bo"]) for i in range(1, 7)]
    (signal,) = champion_quiet(summary(refs), TODAY, T)
    assert (signal.subject, signal.value, signal.meetings, signal.severity) == ("Ana", 3, [3], "high")
    assert signal_id(signal) == "champion_quiet:Ana"


def test_champion_quiet_does_not_fire_below_half_or_when_seen_lately():
    """2 of 6 meetings is under half; a person in one of the last 3 is not quiet; 3 meetings are all recent."""
    below = [ref(i, f"2026-06-0{i}", ["Ana", "Bo"] if i <= 2 else ["Bo"]) for i in range(1, 7)]
    assert champion_quiet(summary(below), TODAY, T) == []
    seen = [ref(i, f"2026-06-0{i}", ["Ana", "Bo"] if i in (1, 2, 3, 6) else ["Bo"]) for i in range(1, 7)]
    assert champion_quiet(summary(seen), TODAY, T) == []
    assert champion_quiet(summary([ref(i, f"2026-06-0{i}", ["Ana"]) for i in (1, 2, 3)]), TODAY, T) == []


# ---------------------------------------------------------------- no_senior_voice


def _people(*specs: tuple[str, str, int]) -> list[Person]:
    return [Person(key=n, name=n, role=role, side=Side.CUSTOMER, count=1, spoke_in=spoke) for n, role, spoke in specs]


def test_no_senior_voice_fires_when_no_senior_customer_spoke():
    """Only an analyst spoke and the VP never did: no_senior_voice, value 1 speaker, naming the silent VP."""
    s = summary(
        [ref(1, "2026-06-01", ["Ana", "Vic"], spoke=["Ana"])], _people(("Ana", "Analyst", 1), ("Vic", "VP Sales", 0))
    )
    (signal,) = no_senior_voice(s, TODAY, T)
    assert (signal.value, signal.meetings) == (1, [1])
    assert "Vic" in signal.detail


def test_no_senior_voice_does_not_fire_when_a_director_spoke():
    """A director who spoke once is a senior voice."""
    s = summary([ref(1, "2026-06-01", ["Ana", "Dee"])], _people(("Ana", "Analyst", 1), ("Dee", "IT Director", 1)))
    assert no_senior_voice(s, TODAY, T) == []


def test_no_senior_voice_needs_a_transcript_and_a_customer():
    """Without any transcript, or without customer people, nothing can be said."""
    s = summary([ref(1, "2026-06-01", ["Ana"], transcript=False)], _people(("Ana", "Analyst", 0)))
    assert no_senior_voice(s, TODAY, T) == []
    assert no_senior_voice(summary([ref(1, "2026-06-01")], []), TODAY, T) == []


# ---------------------------------------------------------------- silent_invitees


def test_silent_invitees_fires_for_two_invites_with_transcripts_and_no_word():
    """Bo was invited to 2 transcribed meetings and never spoke: one signal, value 1, those meetings."""
    refs = [ref(1, "2026-06-01", ["Ana", "Bo"], spoke=["Ana"]), ref(2, "2026-06-02", ["Ana", "Bo"], spoke=["Ana"])]
    (signal,) = silent_invitees(summary(refs), TODAY, T)
    assert (signal.value, signal.meetings, signal.severity) == (1, [2, 1], "low")
    assert "Bo (2 meetings)" in signal.detail


def test_silent_invitees_does_not_fire_for_one_invite_or_without_transcripts():
    """One transcribed invitation is under the threshold; invitations to meetings without a transcript prove nothing."""
    one = [ref(1, "2026-06-01", ["Ana", "Bo"], spoke=["Ana"]), ref(2, "2026-06-02", ["Ana"])]
    assert silent_invitees(summary(one), TODAY, T) == []
    unheard = [ref(1, "2026-06-01", ["Bo"], transcript=False), ref(2, "2026-06-02", ["Bo"], transcript=False)]
    assert silent_invitees(summary(unheard), TODAY, T) == []


# ---------------------------------------------------------------- cadence_drop


def test_cadence_drop_fires_when_the_last_90_days_have_under_half_the_90_before():
    """1 meeting lately against 3 before: cadence_drop, value 1, resting on all 4."""
    refs = [ref(1, days_ago(100)), ref(2, days_ago(120)), ref(3, days_ago(179)), ref(4, days_ago(10))]
    (signal,) = cadence_drop(summary(refs), TODAY, T)
    assert (signal.value, sorted(signal.meetings)) == (1, [1, 2, 3, 4])


def test_cadence_drop_does_not_fire_at_exactly_half():
    """2 lately against 4 before is exactly half: no signal; and nothing before means nothing dropped."""
    refs = [ref(i, days_ago(90 + i)) for i in range(1, 5)] + [ref(10, days_ago(89)), ref(11, days_ago(0))]
    assert cadence_drop(summary(refs), TODAY, T) == []
    assert cadence_drop(summary([ref(1, days_ago(5))]), TODAY, T) == []


def test_cadence_drop_windows_end_at_180_days():
    """A meeting 180 days ago is outside both windows."""
    assert cadence_drop(summary([ref(1, days_ago(180))]), TODAY, T) == []


# ---------------------------------------------------------------- talk_share


def test_talk_share_is_info_at_the_threshold_and_high_above_it():
    """65% of the words is info; 66% is high; the value is the percentage."""
    at = summary([ref(1, "2026-06-01", words={"internal": 65, "customer": 35})])
    above = summary([ref(1, "2026-06-01", words={"internal": 66, "customer": 34})])
    assert [(s.severity, s.value) for s in talk_share(at, TODAY, T)] == [("info", 65.0)]
    assert [(s.severity, s.value) for s in talk_share(above, TODAY, T)] == [("high", 66.0)]


def test_talk_share_adds_words_across_meetings_and_skips_meetings_without_words():
    """Shares are over the whole account's words; a meeting with no words is not in it; no words, no signal."""
    refs = [ref(1, "2026-06-01", words={"internal": 30, "customer": 70}), ref(2, "2026-06-02", words={"internal": 50})]
    (signal,) = talk_share(summary(refs + [ref(3, "2026-06-03")]), TODAY, T)
    assert (signal.value, signal.meetings) == (round(100 * 80 / 150, 1), [2, 1])
    assert talk_share(summary([ref(1, "2026-06-01")]), TODAY, T) == []


# ---------------------------------------------------------------- all of them


def test_signals_of_runs_every_rule_most_severe_first():
    """A dark, single-threaded account with no senior voice gets all three, the high one first; today is injected."""
    s = summary([ref(1, days_ago(70), ["Ana"], words={"internal": 10, "customer": 90})], _people(("Ana", "Analyst", 1)))
    kinds = [(sig.kind, sig.severity) for sig in signals_of(s, today=TODAY)]
    assert kinds == [
        ("gone_dark", "high"),
        ("single_threaded", "medium"),
        ("no_senior_voice", "medium"),
        ("talk_share", "info"),
    ]
    assert "gone_dark" not in [sig.kind for sig in signals_of(s, today=days_ago(70))]
