"""Quote verification: only words found in the named meeting's transcript survive, with their moment filled in."""

from __future__ import annotations

from datetime import UTC, datetime

from engagement.analysis.verify import fold, verify_account, verify_meeting_insights
from engagement.models import (
    AccountInsights,
    Evidence,
    Insight,
    Meeting,
    MeetingInsights,
    Theme,
)
from tests.support.meeting_factory import call

START = datetime(2026, 3, 2, 15, 0, tzinfo=UTC)


def make_meeting(recording_id: int = 101, turns: list[tuple[str, str, str]] | None = None) -> Meeting:
    turns = turns or [
        ("Sam Rep", "00:00:05", "Thanks for making the time today."),
        ("Jane Doe", "00:01:10", "Our  goal is to cut forecast errors in half by Q3."),
        ("Jane Doe", "00:01:40", "Honestly the problem is the manual roll-up."),
        ("Jane Doe", "00:01:55", "It takes us two days every week."),
        ("Sam Rep", "00:02:30", "We can automate that roll-up for you."),
        ("Jane Doe", "00:03:00", "I'm worried the CFO’s budget freeze could delay this."),
    ]
    return call(recording_id, [(s, None, t, x) for s, t, x in turns], start=START, title="Forecast deep dive")


def ev(quote: str, timestamp: str = "00:01:10", recording_id: int = 101) -> Evidence:
    return Evidence(recording_id=recording_id, timestamp=timestamp, quote=quote)


def goals(*evidence: Evidence) -> MeetingInsights:
    return MeetingInsights(recording_id=101, goals=[Insight(text="A goal", evidence=list(evidence))])


def test_verbatim_quote_with_folded_case_space_and_quotes_is_kept_and_filled_in() -> None:
    """A quote that differs only in case, white space, punctuation and curly quotes is kept, with its moment filled in."""
    meeting = make_meeting()
    insights = goals(
        ev("our goal IS to cut   forecast errors in half by q3", timestamp="00:00:50"),
        ev("i'm worried the CFO's budget freeze could delay this", timestamp="00:03:00"),
    )

    cleaned, dropped = verify_meeting_insights(insights, meeting)

    assert dropped == 0
    first, second = cleaned.goals[0].evidence
    assert first.quote == "Our  goal is to cut forecast errors in half by Q3."  # the transcript's own words
    assert first.timestamp == "00:01:10"  # corrected from the turn where it was found
    assert first.speaker == "Jane Doe"
    assert first.url == "https://fathom.video/share/s101?timestamp=70"
    assert first.meeting_title == "Forecast deep dive"
    assert first.meeting_date == "2026-03-02"
    assert first.verified is True
    assert second.quote == "I'm worried the CFO’s budget freeze could delay this."


def test_invented_quote_is_dropped_and_counted() -> None:
    """A quote that is not in the transcript is dropped and counted; an insight left with no evidence goes too."""
    meeting = make_meeting()
    insights = MeetingInsights(
        recording_id=101,
        goals=[
            Insight(
                text="Real", evidence=[ev("Our goal is to cut forecast errors"), ev("We signed with a competitor.")]
            ),
            Insight(text="Made up", evidence=[ev("We will buy ten thousand seats tomorrow.")]),
        ],
        risks=[Insight(text="Paraphrased", evidence=[ev("I am worried the budget freeze delays this", "00:03:00")])],
    )

    cleaned, dropped = verify_meeting_insights(insights, meeting)

    assert dropped == 3
    assert [g.text for g in cleaned.goals] == ["Real"]
    assert len(cleaned.goals[0].evidence) == 1
    assert cleaned.risks == []


def test_evidence_naming_another_recording_is_dropped() -> None:
    """Evidence that names another recording is dropped, even when the words are in this one."""
    cleaned, dropped = verify_meeting_insights(
        goals(ev("Our goal is to cut forecast errors", recording_id=999)), make_meeting()
    )

    assert dropped == 1
    assert cleaned.goals == []


def test_time_outside_the_meeting_is_dropped() -> None:
    """Evidence whose timestamp is past the end of the meeting, or unreadable, is dropped."""
    meeting = make_meeting()  # 30 minutes long
    insights = goals(
        ev("Our goal is to cut forecast errors", timestamp="05:00:00"),
        ev("Our goal is to cut forecast errors", timestamp="soon"),
    )

    cleaned, dropped = verify_meeting_insights(insights, meeting)

    assert dropped == 2
    assert cleaned.goals == []


def test_quote_spanning_turns_of_one_speaker_is_kept() -> None:
    """A quote that runs over consecutive turns of the same speaker is found and starts at the first turn."""
    quote = "the problem is the manual roll-up. It takes us two days"
    cleaned, dropped = verify_meeting_insights(goals(ev(quote, "00:01:55")), make_meeting())

    assert dropped == 0
    found = cleaned.goals[0].evidence[0]
    assert found.timestamp == "00:01:40"
    assert found.quote == "the problem is the manual roll-up. It takes us two days"


def test_quote_across_two_speakers_or_inside_words_is_dropped() -> None:
    """Words joined across different speakers, cut mid-word, or too short to mean anything are not evidence."""
    insights = goals(
        ev("two days every week. We can automate", "00:01:55"),
        ev("ur goal is to cut forecast erro"),
        ev("Honestly", "00:01:40"),
    )
    cleaned, dropped = verify_meeting_insights(insights, make_meeting())

    assert dropped == 3
    assert cleaned.goals == []


def test_meeting_without_transcript_is_returned_as_is() -> None:
    """Insights of a meeting whose transcript was not fetched (a cache hit) are not re-checked."""
    meeting = make_meeting().model_copy(update={"transcript": None})
    insights = goals(ev("anything at all here"))

    assert verify_meeting_insights(insights, meeting) == (insights, 0)


def test_fold_treats_curly_quotes_dashes_and_spacing_alike() -> None:
    """Folding makes curly and straight apostrophes, dashes and runs of spaces compare equal."""
    assert fold("We’re  at the “pilot” stage — mostly") == fold('we\'re at the "pilot" stage - mostly')


# ---------------------------------------------------------------- account level


def pool() -> list[MeetingInsights]:
    a, b = make_meeting(101), make_meeting(102)
    out = []
    for meeting in (a, b):
        raw = MeetingInsights(
            recording_id=meeting.recording_id,
            themes=[
                Insight(
                    text="Forecast accuracy",
                    evidence=[ev("cut forecast errors in half", recording_id=meeting.recording_id)],
                )
            ],
        )
        out.append(verify_meeting_insights(raw, meeting)[0])
    return out


def test_account_evidence_must_come_from_the_meetings() -> None:
    """Account-level evidence that is not one of the meetings' verified evidence items is dropped and counted."""
    account = AccountInsights(
        goals=[
            Insight(text="Better forecasts", evidence=[ev("CUT forecast errors in half", recording_id=102)]),
            Insight(text="Invented", evidence=[ev("We will double the budget.", recording_id=101)]),
        ]
    )

    cleaned, dropped = verify_account(account, pool())

    assert dropped == 1
    assert [g.text for g in cleaned.goals] == ["Better forecasts"]
    assert cleaned.goals[0].evidence[0].quote == "cut forecast errors in half"
    assert cleaned.goals[0].evidence[0].url == "https://fathom.video/share/s102?timestamp=70"


def test_theme_mentions_are_counted_from_the_meetings_not_taken_from_the_model() -> None:
    """A theme's mentions is the number of known meetings behind it, whatever number the model gave."""
    account = AccountInsights(
        themes=[
            Theme(
                topic="forecast accuracy",
                mentions=9,
                meetings=[101, 555],
                evidence=[ev("cut forecast errors in half", recording_id=101)],
            ),
            Theme(topic="Pricing", mentions=4, meetings=[101], evidence=[]),
        ]
    )

    cleaned, _ = verify_account(account, pool())

    assert len(cleaned.themes) == 1  # a theme with no evidence is dropped
    theme = cleaned.themes[0]
    assert theme.meetings == [101, 102]  # 555 is not a meeting of the pool; 102 raised the same theme
    assert theme.mentions == 2


def test_fields_verification_does_not_check_are_kept() -> None:
    """Roles and the speakers the pipeline keeps with a cached analysis come through verification unchanged."""
    insights = goals(ev("Our goal is to cut forecast errors")).model_copy(
        update={"speakers": [("Jane Doe", "jane@acme.com")]}
    )

    cleaned, _ = verify_meeting_insights(insights, make_meeting())

    assert cleaned.speakers == [("Jane Doe", "jane@acme.com")]
