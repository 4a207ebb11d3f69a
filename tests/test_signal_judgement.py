"""Each signal rule fires, does not fire, or cannot be judged (and says why); a filtered run reads the whole history."""

from __future__ import annotations

from datetime import date, timedelta

import pytest

from engagement.account.signals import RULES, judge, role_rules_refreshed
from engagement.models import Coverage, EngagementSummary, MeetingRef, Person, Side
from engagement.render.present import coverage_line
from tests.support.meeting_factory import ref

TODAY = date(2026, 12, 6)


def ago(n: int) -> date:
    return TODAY - timedelta(days=n)


def person(name: str, role: str = "", *, spoke: int = 1, count: int = 1) -> Person:
    return Person(key=name, name=name, role=role, side=Side.CUSTOMER, count=count, spoke_in=spoke)


def account(refs: list[MeetingRef], people: list[Person] | None = None) -> EngagementSummary:
    """A summary of ``refs`` (stored newest first); people from the rows, with no role, unless given."""
    refs = sorted(refs, key=lambda r: (r.date, r.recording_id), reverse=True)
    if people is None:
        names = dict.fromkeys(n for r in refs for n in r.customer_people)
        people = [
            person(
                n, spoke=sum(n in r.customer_speakers for r in refs), count=sum(n in r.customer_people for r in refs)
            )
            for n in names
        ]
    return EngagementSummary(
        meetings_count=len(refs),
        meetings=refs,
        people=people,
        first_meeting=refs[-1].date if refs else None,
        last_meeting=refs[0].date if refs else None,
        coverage=Coverage(meetings=len(refs)),
    )


def busy(
    n: int = 6, *, start: int = 5, every: int = 7, people: tuple[str, ...] = ("Ana", "Bo"), first_id: int = 100
) -> list[MeetingRef]:
    """``n`` meetings, the latest ``start`` days ago, one every ``every`` days, everyone speaking."""
    return [ref(first_id + i, ago(start + i * every), list(people)) for i in range(n)]


# (rule, summary, history or None, filtered, expected: "fires" | "quiet" | the start of why it cannot be judged)
CASES = [
    ("gone_dark", account(busy(start=40)), None, False, "fires"),
    ("gone_dark", account(busy(start=10)), None, False, "quiet"),
    ("gone_dark", account(busy(start=100)), None, True, "the run is filtered by dates"),
    (
        "cadence_drop",
        account([ref(1, ago(10), ["Ana"])] + [ref(i, ago(100 + i), ["Ana"]) for i in range(2, 6)]),
        None,
        False,
        "fires",
    ),
    ("cadence_drop", account(busy(n=10)), None, False, "quiet"),
    ("cadence_drop", account(busy()), None, True, "the run is filtered by dates"),
    ("single_threaded", account(busy(people=("Ana",))), None, False, "fires"),
    ("single_threaded", account(busy()), None, False, "quiet"),
    (
        "single_threaded",
        account(busy(start=100, people=("Ana",))),
        busy(start=5, first_id=200) + busy(start=100, people=("Ana",)),
        True,
        "the dates asked for end before",
    ),
    (
        "champion_quiet",
        account([ref(i, ago(i), ["Bo"]) for i in range(1, 4)] + [ref(i, ago(i), ["Ana", "Bo"]) for i in range(4, 9)]),
        None,
        False,
        "fires",
    ),
    ("champion_quiet", account(busy(n=8)), None, False, "quiet"),
    ("champion_quiet", account(busy(n=8, start=100)), None, True, "the run is filtered by dates"),
    (
        "no_senior_voice",
        account(busy(), [person("Ana", "Analyst"), person("Bo", "Sales ops manager")]),
        None,
        False,
        "fires",
    ),
    (
        "no_senior_voice",
        account(busy(), [person("Ana", "Analyst"), person("Bo", "VP of Finance")]),
        None,
        False,
        "quiet",
    ),
    (
        "no_senior_voice",
        account(busy(), [person("Ana", "Analyst"), person("Bo", "")]),
        None,
        False,
        "roles unknown for 1 of 2 customer people who spoke",
    ),
    ("no_senior_voice", account(busy()), None, False, "roles unknown for 2 of 2 customer people who spoke"),
    (
        "no_senior_voice",
        account([ref(1, ago(3), ["Ana"], transcript=False)], [person("Ana", "Analyst", spoke=0)]),
        None,
        False,
        "no transcript says who spoke",
    ),
    (
        "silent_invitees",
        account([ref(1, ago(3), ["Ana", "Bo"], spoke=["Ana"]), ref(2, ago(9), ["Ana", "Bo"], spoke=["Ana"])]),
        None,
        False,
        "fires",
    ),
    ("silent_invitees", account(busy()), None, False, "quiet"),
    (
        "silent_invitees",
        account([ref(1, ago(3), ["Bo"], transcript=False), ref(2, ago(9), ["Bo"], transcript=False)]),
        None,
        False,
        "no transcript says who spoke",
    ),
    ("talk_share", account([ref(1, ago(3), ["Ana"], words={"internal": 80, "customer": 20})]), None, False, "fires"),
    ("talk_share", account([ref(1, ago(3), ["Ana"])]), None, False, "quiet"),
    ("talk_share", account([ref(1, ago(3), ["Ana"], transcript=False)]), None, False, "no transcript says who spoke"),
]


@pytest.mark.parametrize(("kind", "summary", "history", "filtered", "expected"), CASES)
def test_each_rule_fires_stays_quiet_or_says_why_it_cannot_judge(
    kind: str, summary: EngagementSummary, history: list[MeetingRef] | None, filtered: bool, expected: str
) -> None:
    """A rule raises its signal, raises nothing, or is not judged with the reason; never a signal on missing data."""
    judged = judge(summary, today=TODAY, history=history, filtered=filtered)
    kinds = [signal.kind for signal in judged.signals]
    why = [note.why for note in judged.not_judged if note.kind == kind]
    if expected == "fires":
        assert kind in kinds and not why
    elif expected == "quiet":
        assert kind not in kinds and not why
    else:
        assert kind not in kinds
        assert len(why) == 1 and why[0].startswith(expected), why


def test_every_rule_has_a_case_of_each_outcome() -> None:
    """The table covers firing, not firing and not judged for every rule."""
    outcomes: dict[str, set[str]] = {}
    for kind, *_, expected in CASES:
        outcomes.setdefault(kind, set()).add(expected if expected in ("fires", "quiet") else "unknown")
    assert outcomes == {rule.kind: {"fires", "quiet", "unknown"} for rule in RULES}


def test_the_coverage_line_says_what_could_not_be_judged() -> None:
    """Six customer people who spoke with no role: the coverage line says so, and no senior-voice warning shows."""
    names = ("Ana", "Bo", "Cy", "Di", "Ed", "Fay")
    summary = account(busy(people=names))
    judged = judge(summary, today=TODAY)
    assert "no_senior_voice" not in [signal.kind for signal in judged.signals]
    coverage = Coverage(meetings=6, analysed=6, with_transcript=6, not_judged=judged.not_judged)
    assert "“No senior voice” not judged: roles unknown for 6 of 6 customer people who spoke" in coverage_line(coverage)


def test_a_filtered_run_judges_time_on_the_whole_history() -> None:
    """Jun–Sep of an account that met 24 days ago: no "gone dark" for 80 days, no cadence drop from the window's edge."""
    window = [ref(i, ago(80 + 7 * i), ["Ana", "Bo"]) for i in range(8)]
    later = [ref(50 + i, ago(24 + 7 * i), ["Ana", "Bo"]) for i in range(8)]
    summary = account(window)
    unfiltered_view = judge(summary, today=TODAY)
    assert {"gone_dark", "cadence_drop"} <= {signal.kind for signal in unfiltered_view.signals}  # the window's edge
    judged = judge(summary, today=TODAY, history=later + window, filtered=True)
    assert not {"gone_dark", "cadence_drop"} & {signal.kind for signal in judged.signals}
    assert {note.kind for note in judged.not_judged} >= {"single_threaded", "champion_quiet"}


def test_a_filtered_run_that_reaches_the_latest_meeting_reads_gone_dark_from_history() -> None:
    """The account's last meeting 107 days ago: gone dark says 107, whatever the window's first meeting."""
    window = [ref(1, ago(107), ["Ana"]), ref(2, ago(437), ["Ana"])]
    judged = judge(account(window), today=TODAY, history=window + [ref(3, ago(500), ["Ana"])], filtered=True)
    (dark,) = [signal for signal in judged.signals if signal.kind == "gone_dark"]
    assert dark.value == 107
    assert "single_threaded" in {signal.kind for signal in judged.signals}  # the window holds the latest meetings


def test_a_role_set_later_is_judged_again_without_touching_the_other_signals() -> None:
    """Roles filled in after the run: no_senior_voice is judged again, the time signals stay as computed."""
    summary = account(busy(start=50))
    judged = judge(summary, today=TODAY)
    summary.signals, summary.coverage.not_judged = judged.signals, judged.not_judged  # type: ignore[union-attr]
    assert "gone_dark" in [signal.kind for signal in summary.signals]
    for p in summary.people:
        p.role = "Analyst"
    role_rules_refreshed(summary, today=TODAY + timedelta(days=1000))
    kinds = [signal.kind for signal in summary.signals]
    assert "no_senior_voice" in kinds and "gone_dark" in kinds
    assert summary.coverage is not None and not summary.coverage.not_judged


def test_a_meeting_with_an_unidentified_speaker_proves_no_one_silent() -> None:
    """Bo invited twice, never matched as a speaker, but someone unidentified spoke each time: not a silent invitee."""
    refs = [
        ref(1, ago(3), ["Ana", "Bo"], spoke=["Ana"], words={"customer": 50, "unknown": 40}),
        ref(2, ago(9), ["Ana", "Bo"], spoke=["Ana"], words={"customer": 50, "unknown": 30}),
    ]
    assert "silent_invitees" not in [s.kind for s in judge(account(refs), today=TODAY).signals]
    known = [r.model_copy(update={"words": {"customer": 50}}) for r in refs]
    assert "silent_invitees" in [s.kind for s in judge(account(known), today=TODAY).signals]
