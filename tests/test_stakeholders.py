"""The stakeholder map: meetings together per pair, the strength rule, and single-threaded customer people."""

from __future__ import annotations

from datetime import date

from engagement.account.stakeholders import SingleThread, Tie, single_threaded, ties
from engagement.models import EngagementSummary, MeetingRef, Person, Side
from engagement.render.charts import stakeholder_map

TODAY = date(2026, 12, 1)


def meeting(rid: int, day: str, theirs: list[str], ours: list[str], spoke: list[str]) -> MeetingRef:
    return MeetingRef(
        recording_id=rid,
        title=f"Meeting {rid}",
        date=day,
        started_at=f"{day}T15:00:00Z",
        url=f"https://fathom.video/calls/{rid}",
        share_url=f"https://fathom.video/share/{rid}",
        customer_people=theirs,
        internal_people=ours,
        customer_speakers=spoke,
    )


# Hand-counted: Ingrid met Dana three times (two in the last 90 days, speaking in one of those), Marcus once
# long ago; Erik met only Dana, twice, the last in July (more than 90 days before 1 Dec); Tomas was in one
# meeting without anyone of ours (a dial-in before we joined): no tie.
SUMMARY = EngagementSummary(
    domain="fjordline-logistics.no",
    meetings_count=5,
    people=[
        Person(key="i", name="Ingrid", side=Side.CUSTOMER, role="VP of Operations"),
        Person(key="e", name="Erik", side=Side.CUSTOMER, role="CFO"),
        Person(key="t", name="Tomas", side=Side.CUSTOMER),
        Person(key="d", name="Dana", side=Side.INTERNAL),
        Person(key="m", name="Marcus", side=Side.INTERNAL),
    ],
    meetings=[
        meeting(5, "2026-11-12", ["Ingrid"], ["Dana"], []),
        meeting(4, "2026-09-08", ["Ingrid"], ["Dana"], ["Ingrid"]),
        meeting(3, "2026-07-01", ["Erik"], ["Dana"], ["Erik"]),
        meeting(2, "2026-03-10", ["Ingrid", "Erik"], ["Dana", "Marcus"], ["Erik"]),
        meeting(1, "2026-01-20", ["Tomas"], [], ["Tomas"]),
    ],
)


def test_each_pair_counts_the_meetings_both_attended_and_takes_its_strength_from_the_rule() -> None:
    """Meetings together, those in the last 90 days, the customer speaking, last contact and strength per pair."""
    assert ties(SUMMARY, TODAY) == [
        Tie("Ingrid", "Dana", meetings=3, recent=2, spoke_in=1, last_contact="2026-11-12", strength="strong"),
        Tie("Erik", "Dana", meetings=2, recent=0, spoke_in=2, last_contact="2026-07-01", strength="lapsed"),
        Tie("Erik", "Marcus", meetings=1, recent=0, spoke_in=1, last_contact="2026-03-10", strength="lapsed"),
        Tie("Ingrid", "Marcus", meetings=1, recent=0, spoke_in=0, last_contact="2026-03-10", strength="lapsed"),
    ]


def test_recent_meetings_where_the_customer_never_spoke_are_active_not_strong() -> None:
    """Two recent meetings in which the customer person only listened make the tie active, not strong."""
    quiet = SUMMARY.model_copy(
        update={"meetings": [meeting(7, "2026-11-20", ["Ingrid"], ["Dana"], []), *SUMMARY.meetings[:1]]}
    )
    assert [t.strength for t in ties(quiet, TODAY)] == ["active"]


def test_a_customer_person_met_twice_by_only_one_of_us_is_single_threaded() -> None:
    """Ingrid and Erik were each met by Dana and Marcus: not single-threaded; Tomas met none of us; with only the
    last three meetings, Ingrid is Dana's alone."""
    assert single_threaded(SUMMARY) == []
    only_dana = SUMMARY.model_copy(update={"meetings": SUMMARY.meetings[:3]})
    # Ingrid met only Dana, twice; Erik met only Dana too, but once: not enough to call it a thread
    assert single_threaded(only_dana) == [
        SingleThread(customer="Ingrid", role="VP of Operations", ours="Dana", meetings=2)
    ]


def test_the_map_draws_the_same_numbers_as_the_table() -> None:
    """The heatmap's cells are the meetings together, customer people most met first, with nothing invented."""
    fig = stakeholder_map(SUMMARY, TODAY)
    heat = fig.data[0]
    assert list(heat.y) == ["Ingrid", "Erik"] and list(heat.x) == ["Dana", "Marcus"]
    assert [list(row) for row in heat.z] == [[3, 1], [2, 1]]
    assert "lapsed" in heat.hovertext[1][0] and "strong" in heat.hovertext[0][0]


def test_with_no_meeting_of_both_sides_the_map_says_so() -> None:
    """A summary whose meetings had only one side draws an empty map with the reason."""
    alone = SUMMARY.model_copy(update={"meetings": SUMMARY.meetings[-1:]})
    fig = stakeholder_map(alone, TODAY)
    assert not fig.data and "No meeting had people from both sides" in fig.layout.annotations[0].text
