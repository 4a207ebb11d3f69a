"""One wording for counts, times and dates (engagement.render.present), and the messages that use it."""

from __future__ import annotations

import re
from datetime import UTC, date, datetime

import pytest

from engagement.account.signals import Thresholds, champion_quiet, gone_dark, single_threaded
from engagement.models import EngagementSummary, MeetingRef, Person, Side
from engagement.render.charts import people_by_meetings
from engagement.render.present import how_long, last_meetings, nice_date, nice_time, others, plural
from engagement.wording import joined
from tests.support.cli import run_cli
from tests.support.meeting_factory import ref

ISO_DAY = re.compile(r"\b\d{4}-\d{2}-\d{2}\b")
TODAY = date(2026, 9, 30)


@pytest.mark.parametrize(
    ("said", "expected"),
    [
        (plural(1, "meeting"), "1 meeting"),
        (plural(6120, "meeting"), "6,120 meetings"),
        (plural(2.5, "hour"), "2.5 hours"),
        (plural(1.0, "hour"), "1 hour"),
        (others(1), "1 other"),
        (others(4), "4 others"),
        (last_meetings(1), "the last meeting"),
        (last_meetings(3), "the last 3 meetings"),
        (nice_date("2026-09-17"), "17 Sep 2026"),
        (nice_time("2026-09-17T10:05:00Z"), "17 Sep 2026, 10:05 UTC"),
        (nice_time(datetime(2026, 9, 17, 10, 5, tzinfo=UTC)), "17 Sep 2026, 10:05 UTC"),
        (nice_time("2026-09-17"), "17 Sep 2026"),
        (how_long(45), "45 seconds"),
        (how_long(150), "2 minutes"),
        (how_long(3 * 3600 + 5), "3 hours"),
    ],
)
def test_one_wording_for_counts_times_and_dates(said: str, expected: str) -> None:
    """Counts agree with their nouns, dates read "17 Sep 2026", times say UTC."""
    assert said == expected


def customers(refs: list[MeetingRef]) -> EngagementSummary:
    refs = sorted(refs, key=lambda r: (r.date, r.recording_id), reverse=True)
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
        first_meeting=refs[-1].date,
        last_meeting=refs[0].date,
    )


def test_signals_say_the_last_meeting_and_dates_as_people_write_them() -> None:
    """One meeting is "the last meeting", never "the last 1 meeting"; days and dates read "17 Sep 2026"."""
    (one,) = single_threaded(customers([ref(1, "2026-09-17", ["Ana"])]), TODAY, Thresholds())
    assert one.title == "Single-threaded: only Ana in the last meeting"
    assert "took part in the last meeting;" in one.detail
    (dark,) = gone_dark(customers([ref(1, "2026-07-17", ["Ana"])]), TODAY, Thresholds())
    assert dark.title == "No meeting for 75 days"
    assert dark.detail == "The last meeting was “Meeting 1” on 17 Jul 2026; the limit is 30 days."
    refs = [ref(i, f"2026-06-0{i}", ["Ana", "Bo"] if i <= 3 else ["Bo"]) for i in range(1, 7)]
    (quiet,) = champion_quiet(customers(refs), TODAY, Thresholds())
    assert quiet.detail == "In 3 of 6 meetings, but not in the last 3 meetings; last seen on 3 Jun 2026."
    for signal in (one, dark, quiet):
        assert not ISO_DAY.search(signal.title + signal.detail)


def test_the_people_chart_says_1_other_for_one_person_left_over() -> None:
    """Thirteen people and room for twelve: the last bar is "1 other", its hover "1 other person"."""
    people = [Person(key=f"p{i}", name=f"Person {i:02d}", side=Side.CUSTOMER, count=20 - i) for i in range(13)]
    summary = EngagementSummary(meetings_count=20, people=people, meetings=[ref(1, "2026-09-17")])
    figure = people_by_meetings(summary, top=12)
    labels = [y for trace in figure.data for y in trace.y]
    assert "1 other" in labels and "1 others" not in labels
    hover = next(t.hovertext[0] for t in figure.data if t.name == "1 other")
    assert hover.startswith("<b>1 other person</b><br>8 meetings each<br>8 meetings in total")


def test_the_cli_summary_writes_no_iso_dates(capsys: pytest.CaptureFixture[str]) -> None:
    """`summarize` as text: first and last meeting, "since", notes and quotes all read "7 May 2026"."""
    code, out, err = run_cli(capsys, "summarize", "acmecorp.com")
    assert code == 0, err
    code, out, err = run_cli(capsys, "summarize", "acmecorp.com")  # a second run has a "since" line
    assert "first: 7 May 2026" in out and re.search(r"^since \d{1,2} \w{3} \d{4}:$", out, re.M)
    assert not ISO_DAY.search(re.sub(r"https?://\S+", "", out)), out


def test_a_list_of_names_reads_as_a_sentence() -> None:
    """One name alone, two joined by "and" (or "or"), more with commas before the last."""
    assert joined(["English"]) == "English"
    assert joined(["English", "French"]) == "English and French"
    assert joined(["English", "French", "German"], "or") == "English, French or German"
    assert joined([]) == ""
