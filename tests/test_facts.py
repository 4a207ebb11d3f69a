"""Aggregation facts against hand-built meetings; every expected number was counted by hand."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta, timezone

import pytest

from engagement.account.facts import Facts, aggregate, customer_people, days_since, meeting_months
from engagement.models import EngagementSummary, Meeting, Person, Side, TranscriptTurn
from tests.support.meeting_factory import DOMAIN, REP, inv, meeting, rep


def person(facts: Facts, key: str) -> Person:
    matches = [p for p in facts.people if p.key == key]
    assert len(matches) == 1, [p.key for p in facts.people]
    return matches[0]


def row(p: Person) -> tuple[str, Side, int, int, int]:
    return (p.name, p.side, p.count, p.invited, p.spoke_in)


# ---------------------------------------------------------------- a whole account, counted by hand
#
#  101  2025-01-14  Dana, Sarah (mixed-case e-mail), Tom (silent)       spoke: Dana, Sarah
#  102  2025-02-03  Dana, Sarah, Priya (eu. subdomain), Mark (partner),  spoke: Dana, Sarah, Priya,
#                   Conference Room B (no e-mail)                              Mark (no e-mail), Ops Dial-in
#  102  (duplicate, dropped)
#  --   March: no meetings
#  103  2025-04-22  Dana, Priya, Jo (acmecorp.co look-alike), Kim (gmail) spoke: Dana, "Priya N.", Jo,
#                                                                             Sarah (uninvited, no e-mail)
#  104  2025-05-06  Dana, "S. Lopez", Tom; no transcript, no recording times


def account() -> list[Meeting]:
    sarah = "Sarah.Lopez@AcmeCorp.com"
    return [
        meeting(
            101,
            "2025-01-14",
            [rep(), inv("Sarah Lopez", sarah), inv("Tom Baker", "tom@acmecorp.com")],
            [REP, ("Sarah Lopez", "sarah.lopez@acmecorp.com"), REP],
            minutes=45,
            title="Discovery",
        ),
        meeting(
            102,
            "2025-02-03",
            [
                rep(),
                inv("Sarah Lopez", "sarah.lopez@acmecorp.com"),
                inv("Priya Nair", "priya@eu.acmecorp.com"),
                inv("Mark Webb", "mark@bridgepoint-consulting.com"),
                inv("Conference Room B", None, external=False),
            ],
            [
                REP,
                ("Sarah Lopez", sarah),
                ("Priya Nair", "priya@eu.acmecorp.com"),
                ("Mark Webb", None),
                ("Ops Dial-in", None),
            ],
            minutes=60,
            title="Technical deep dive",
        ),
        meeting(102, "2025-02-03", [inv("Someone Else", "else@acmecorp.com")], [], title="DUPLICATE"),
        meeting(
            103,
            "2025-04-22",
            [
                rep(),
                inv("Priya Nair", "priya@eu.acmecorp.com"),
                inv("Jo Park", "jo.park@acmecorp.co"),
                inv("Kim Tran", "kim.t@gmail.com"),
            ],
            [REP, ("Priya N.", "priya@eu.acmecorp.com"), ("Jo Park", "jo.park@acmecorp.co"), ("Sarah Lopez", None)],
            title="Security review",
        ),
        meeting(
            104,
            "2025-05-06",
            [rep(), inv("S. Lopez", "sarah.lopez@acmecorp.com"), inv("Tom Baker", "tom@acmecorp.com")],
            None,
            minutes=None,
            title="Pricing",
        ),
    ]


def test_account_counts():
    """A whole account yields the hand-counted meetings, dates, months and transcript count."""
    facts = aggregate(DOMAIN, account())
    assert facts.meetings_count == 4
    assert facts.first_meeting == "2025-01-14"
    assert facts.last_meeting == "2025-05-06"
    assert [(m.month, m.count) for m in facts.meetings_by_month] == [
        ("2025-01", 1),
        ("2025-02", 1),
        ("2025-03", 0),
        ("2025-04", 1),
        ("2025-05", 1),
    ]


def test_account_people():
    """A whole account yields one hand-counted person per identity, in side, count, name order."""
    facts = aggregate(DOMAIN, account())
    assert [row(p) for p in facts.people] == [
        ("Sarah Lopez", Side.CUSTOMER, 4, 3, 3),
        ("Priya Nair", Side.CUSTOMER, 2, 2, 2),
        ("Tom Baker", Side.CUSTOMER, 2, 2, 0),
        ("Dana Reyes", Side.INTERNAL, 4, 4, 3),
        ("Jo Park", Side.THIRD_PARTY, 1, 1, 1),
        ("Mark Webb", Side.THIRD_PARTY, 1, 1, 1),
        ("Kim Tran", Side.PERSONAL, 1, 1, 0),
        ("Ops Dial-in", Side.UNKNOWN, 1, 0, 1),
    ]
    assert [p.key for p in facts.people] == [
        "sarah.lopez@acmecorp.com",
        "priya@eu.acmecorp.com",
        "tom@acmecorp.com",
        "dana@ourco.com",
        "jo.park@acmecorp.co",
        "mark@bridgepoint-consulting.com",
        "kim.t@gmail.com",
        "ops dial-in",
    ]
    sarah = person(facts, "sarah.lopez@acmecorp.com")
    assert (sarah.first_seen, sarah.last_seen, sarah.email, sarah.role) == ("2025-01-14", "2025-05-06", sarah.key, "")


def test_account_meeting_rows():
    """The meeting list is newest first, with dates, minutes, links and who came from each side."""
    facts = aggregate(DOMAIN, account())
    assert [(m.recording_id, m.title, m.date, m.duration_min) for m in facts.meetings] == [
        (104, "Pricing", "2025-05-06", None),
        (103, "Security review", "2025-04-22", 30),
        (102, "Technical deep dive", "2025-02-03", 60),
        (101, "Discovery", "2025-01-14", 45),
    ]
    newest = facts.meetings[0]
    assert newest.started_at == "2025-05-06T15:00:00.000000Z"
    assert (newest.url, newest.share_url) == ("https://fathom.video/calls/104", "https://fathom.video/share/104")
    assert newest.customer_people == ["Sarah Lopez", "Tom Baker"]
    assert newest.internal_people == ["Dana Reyes"]
    assert facts.meetings[1].customer_people == ["Sarah Lopez", "Priya Nair"]
    assert facts.meetings[2].customer_people == ["Sarah Lopez", "Priya Nair"]


# ---------------------------------------------------------------- one behaviour at a time


def test_empty_input():
    """No meetings: zero meetings, no dates, no months, no people, no rows."""
    facts = aggregate(DOMAIN, [])
    assert facts == Facts(domain=DOMAIN, domains=[DOMAIN])
    assert (facts.meetings_count, facts.first_meeting, facts.last_meeting) == (0, None, None)
    assert (facts.meetings_by_month, facts.people, facts.meetings) == ([], [], [])


def test_duplicate_recording_ids_are_counted_once_and_the_first_wins():
    """A repeated recording_id is one meeting, and the first copy's data is the one used."""
    first = meeting(7, "2025-03-01", [inv("Ann Lee", "ann@acmecorp.com")], [], title="First")
    second = meeting(7, "2025-03-09", [inv("Bob Ray", "bob@acmecorp.com")], [], title="Second")
    facts = aggregate(DOMAIN, [first, second, first])
    assert facts.meetings_count == 1
    assert [m.title for m in facts.meetings] == ["First"]
    assert [p.key for p in facts.people] == ["ann@acmecorp.com"]
    assert person(facts, "ann@acmecorp.com").count == 1
    assert facts.last_meeting == "2025-03-01"


def test_mixed_case_emails_are_one_person():
    """Sarah.Lopez@AcmeCorp.com and sarah.lopez@acmecorp.com are the same person, keyed in lower case."""
    meetings = [
        meeting(1, "2025-01-10", [inv("Sarah Lopez", "Sarah.Lopez@AcmeCorp.com")], []),
        meeting(2, "2025-01-20", [inv("Sarah Lopez", "sarah.lopez@acmecorp.com")], []),
        meeting(3, "2025-01-30", [], [("Sarah Lopez", " SARAH.LOPEZ@acmecorp.COM ")]),
    ]
    facts = aggregate(DOMAIN, meetings)
    assert [row(p) for p in facts.people] == [("Sarah Lopez", Side.CUSTOMER, 3, 2, 1)]
    assert facts.people[0].key == facts.people[0].email == "sarah.lopez@acmecorp.com"


def test_most_used_display_name_wins():
    """The spelling used in the most meetings is the name, even if a newer meeting spelled it otherwise."""
    email = "sarah.lopez@acmecorp.com"
    meetings = [
        meeting(1, "2025-01-10", [inv("Sarah Lopez", email)], []),
        meeting(2, "2025-02-10", [inv("Sarah Lopez", email)], []),
        meeting(3, "2025-03-10", [inv("Sarah L.", email)], []),
    ]
    assert aggregate(DOMAIN, meetings).people[0].name == "Sarah Lopez"


def test_display_name_tie_goes_to_the_most_recent_meeting_whatever_the_input_order():
    """Two spellings used equally often: the most recent meeting's spelling wins, in any input order."""
    email = "sarah.lopez@acmecorp.com"
    meetings = [
        meeting(1, "2025-01-10", [inv("Sarah Lopez", email)], []),
        meeting(2, "2025-02-10", [inv("Sarah Lopez-Grant", email)], []),
    ]
    assert aggregate(DOMAIN, meetings).people[0].name == "Sarah Lopez-Grant"
    assert aggregate(DOMAIN, meetings[::-1]).people[0].name == "Sarah Lopez-Grant"


def test_display_name_tie_in_one_meeting_prefers_the_calendar_spelling():
    """Calendar and transcript spell one person differently in one meeting: the calendar's spelling wins."""
    email = "robert.chen@acmecorp.com"
    facts = aggregate(DOMAIN, [meeting(1, "2025-01-10", [inv("Robert Chen", email)], [("Bob Chen", email)])])
    assert [row(p) for p in facts.people] == [("Robert Chen", Side.CUSTOMER, 1, 1, 1)]


def test_person_without_any_display_name_is_named_by_email():
    """An invitee with an e-mail but no name is shown by the e-mail address."""
    facts = aggregate(DOMAIN, [meeting(1, "2025-01-10", [inv(None, "ops@acmecorp.com"), inv(None, None)], [])])
    assert [(p.name, p.key) for p in facts.people] == [("ops@acmecorp.com", "ops@acmecorp.com")]


def test_invitees_without_email_are_rooms_not_people():
    """An invitee without an e-mail is a room: not a person, even when Fathom says not external."""
    meetings = [
        meeting(1, "2025-01-10", [inv("Board Room 4", None, external=False), inv("Ann Lee", "ann@acmecorp.com")], []),
        meeting(2, "2025-01-11", [inv("board  room 4 ", None)], []),
    ]
    facts = aggregate(DOMAIN, meetings)
    assert [p.key for p in facts.people] == ["ann@acmecorp.com"]
    assert facts.meetings_count == 2, "the meeting with only a room still counts as a meeting"


@pytest.mark.parametrize(
    "email",
    [
        "c_1889c0ffee4a@resource.calendar.google.com",
        "acme.com_3231@resource.calendar.google.com",
        "conf-room-2@acmecorp.com",
        "boardroom@acmecorp.com",
        "london-boardroom@acmecorp.com",
        "meetingroom3@acmecorp.com",
        "atlas@rooms.acmecorp.com",
    ],
)
def test_calendar_resource_invitees_are_rooms(email: str) -> None:
    """A Google resource calendar or a Microsoft room mailbox on the invite is not counted as a person."""
    facts = aggregate(DOMAIN, [meeting(1, "2025-01-10", [inv("Room", email), inv("Ann Lee", "ann@acmecorp.com")], [])])
    assert [p.key for p in facts.people] == ["ann@acmecorp.com"]


@pytest.mark.parametrize("email", ["rosemary@acmecorp.com", "broom@acmecorp.com", "roomba.owner@acmecorp.com"])
def test_people_whose_address_mentions_a_room_are_still_people(email: str) -> None:
    """Only room-shaped addresses are rooms: Rosemary and the broom seller are people."""
    facts = aggregate(DOMAIN, [meeting(1, "2025-01-10", [inv("Someone", email)], [])])
    assert [p.key for p in facts.people] == [email]


def test_partner_and_gmail_at_the_same_meeting():
    """Customer, our rep, a partner firm and a gmail address at one meeting land on four sides, in side order."""
    invitees = [
        inv("Kim Tran", "kim.t@gmail.com"),
        inv("Mark Webb", "mark@bridgepoint-consulting.com"),
        rep(),
        inv("Ann Lee", "ann@acmecorp.com"),
    ]
    facts = aggregate(DOMAIN, [meeting(1, "2025-01-10", invitees, [])])
    assert [(p.name, p.side) for p in facts.people] == [
        ("Ann Lee", Side.CUSTOMER),
        ("Dana Reyes", Side.INTERNAL),
        ("Mark Webb", Side.THIRD_PARTY),
        ("Kim Tran", Side.PERSONAL),
    ]


def test_lookalike_domains_are_not_the_customer():
    """acmecorp.co, notacmecorp.com and acmecorp.com.evil.io are other companies, not acmecorp.com."""
    invitees = [
        inv("Jo Park", "jo@acmecorp.co"),
        inv("Lee Fox", "lee@notacmecorp.com"),
        inv("Max Roe", "max@acmecorp.com.evil.io"),
    ]
    facts = aggregate(DOMAIN, [meeting(1, "2025-01-10", invitees, [])])
    assert {p.key: p.side for p in facts.people} == {
        "jo@acmecorp.co": Side.THIRD_PARTY,
        "lee@notacmecorp.com": Side.THIRD_PARTY,
        "max@acmecorp.com.evil.io": Side.THIRD_PARTY,
    }
    assert customer_people(facts.people) == []


def test_subdomain_email_is_the_customer():
    """An address at eu.acmecorp.com belongs to acmecorp.com."""
    facts = aggregate(DOMAIN, [meeting(1, "2025-01-10", [inv("Priya Nair", "Priya@EU.AcmeCorp.com")], [])])
    assert [(p.key, p.side) for p in facts.people] == [("priya@eu.acmecorp.com", Side.CUSTOMER)]


def test_customer_domain_is_normalised():
    """The domain may be given as a website; it is reduced to the registrable domain."""
    facts = aggregate(
        "https://www.AcmeCorp.com/about", [meeting(1, "2025-01-10", [inv("Ann", "ann@acmecorp.com")], [])]
    )
    assert facts.domain == DOMAIN
    assert facts.people[0].side is Side.CUSTOMER


def test_invited_but_silent_people_count_as_invited_only():
    """An invitee who never spoke has invited=1, spoke_in=0, count=1."""
    facts = aggregate(DOMAIN, [meeting(1, "2025-01-10", [inv("Tom Baker", "tom@acmecorp.com")], [REP])])
    assert row(person(facts, "tom@acmecorp.com")) == ("Tom Baker", Side.CUSTOMER, 1, 1, 0)


def test_uninvited_speaker_without_email_is_a_name_only_unknown_person():
    """A speaker nobody invited and with no e-mail is a name-only UNKNOWN person who spoke once."""
    facts = aggregate(DOMAIN, [meeting(1, "2025-01-10", [rep()], [REP, ("Guest  Caller", None)])])
    guest = person(facts, "guest caller")
    assert (guest.name, guest.side, guest.count, guest.invited, guest.spoke_in) == (
        "Guest Caller",
        Side.UNKNOWN,
        1,
        0,
        1,
    )


def test_uninvited_speaker_with_email_is_classified_by_email():
    """A speaker with an e-mail who was not on the invite is still that e-mail's person and side."""
    facts = aggregate(DOMAIN, [meeting(1, "2025-01-10", [rep()], [("Lena Ortiz", "lena@acmecorp.com")])])
    assert row(person(facts, "lena@acmecorp.com")) == ("Lena Ortiz", Side.CUSTOMER, 1, 0, 1)


def test_speaker_without_email_is_matched_to_an_invitee_of_the_same_meeting_by_name():
    """A speaker with no e-mail whose normalised name is an invitee's is that invitee."""
    invitees = [inv("Sarah  Lopez", "sarah.lopez@acmecorp.com")]
    facts = aggregate(DOMAIN, [meeting(1, "2025-01-10", invitees, [(" SARAH lopez", None)])])
    assert [row(p) for p in facts.people] == [("Sarah Lopez", Side.CUSTOMER, 1, 1, 1)]


def test_speaker_is_matched_within_the_meeting_even_when_the_name_recurs_elsewhere():
    """The same-meeting invitee match holds when another meeting has a different person of that name."""
    meetings = [
        meeting(1, "2025-01-10", [inv("Alex Kim", "alex@acmecorp.com")], [("Alex Kim", None)]),
        meeting(2, "2025-01-11", [inv("Alex Kim", "akim@bridgepoint-consulting.com")], []),
    ]
    facts = aggregate(DOMAIN, meetings)
    assert [(p.key, p.invited, p.spoke_in) for p in facts.people] == [
        ("alex@acmecorp.com", 1, 1),
        ("akim@bridgepoint-consulting.com", 1, 0),
    ]


def test_speaker_name_shared_by_two_invitees_is_not_guessed():
    """Two invitees with the same name: a speaker of that name without e-mail is not given either identity."""
    invitees = [inv("Alex Kim", "alex@acmecorp.com"), inv("Alex Kim", "alex@bridgepoint-consulting.com")]
    facts = aggregate(DOMAIN, [meeting(1, "2025-01-10", invitees, [("Alex Kim", None)])])
    assert [(p.key, p.spoke_in) for p in facts.people] == [
        ("alex@acmecorp.com", 0),
        ("alex@bridgepoint-consulting.com", 0),
        ("alex kim", 1),
    ]


def test_name_only_speaker_joins_the_one_email_identity_with_that_name():
    """An uninvited "Sarah Lopez" without e-mail is the sarah.lopez@ seen in another meeting."""
    meetings = [
        meeting(1, "2025-01-10", [inv("Sarah Lopez", "sarah.lopez@acmecorp.com")], []),
        meeting(2, "2025-03-10", [rep()], [REP, ("Sarah Lopez", None)]),
    ]
    facts = aggregate(DOMAIN, meetings)
    assert row(person(facts, "sarah.lopez@acmecorp.com")) == ("Sarah Lopez", Side.CUSTOMER, 2, 1, 1)
    assert [p.key for p in facts.people] == ["sarah.lopez@acmecorp.com", "dana@ourco.com"]
    assert facts.meetings[0].customer_people == ["Sarah Lopez"]


def test_name_only_speaker_stays_apart_when_two_email_identities_share_the_name():
    """A name-only "Alex Kim" is not merged when two different e-mails are both called Alex Kim."""
    meetings = [
        meeting(1, "2025-01-10", [inv("Alex Kim", "alex@acmecorp.com")], []),
        meeting(2, "2025-01-11", [inv("Alex Kim", "akim@bridgepoint-consulting.com")], []),
        meeting(3, "2025-01-12", [], [("Alex Kim", None)]),
    ]
    facts = aggregate(DOMAIN, meetings)
    assert [(p.key, p.side, p.count) for p in facts.people] == [
        ("alex@acmecorp.com", Side.CUSTOMER, 1),
        ("akim@bridgepoint-consulting.com", Side.THIRD_PARTY, 1),
        ("alex kim", Side.UNKNOWN, 1),
    ]


def test_count_is_meetings_invited_to_or_spoken_in():
    """count is the union of invited and spoke: invited-only, spoke-only and both make three meetings."""
    email = "ann@acmecorp.com"
    meetings = [
        meeting(1, "2025-01-10", [inv("Ann Lee", email)], []),
        meeting(2, "2025-02-10", [], [("Ann Lee", email)]),
        meeting(3, "2025-03-10", [inv("Ann Lee", email)], [("Ann Lee", email), ("Ann Lee", email)]),
    ]
    ann = aggregate(DOMAIN, meetings).people[0]
    assert (ann.count, ann.invited, ann.spoke_in) == (3, 2, 2)
    assert (ann.first_seen, ann.last_seen) == ("2025-01-10", "2025-03-10")


def test_meetings_without_transcript_do_not_count_as_spoken_in():
    """A meeting whose transcript was not fetched adds to invited, not to spoke_in."""
    email = "ann@acmecorp.com"
    meetings = [
        meeting(1, "2025-01-10", [inv("Ann Lee", email)], [("Ann Lee", email)]),
        meeting(2, "2025-02-10", [inv("Ann Lee", email)], None),
    ]
    facts = aggregate(DOMAIN, meetings)
    assert row(facts.people[0]) == ("Ann Lee", Side.CUSTOMER, 2, 2, 1)


def test_internal_side_rules():
    """Ours: not external, the recorder's company domain, an internal_domains entry, the recorder's own address."""
    invitees = [
        inv("Not External", "ne@partnerco.com", external=False),
        inv("Same Domain", "colleague@ourco.com", external=True),
        inv("Labs", "x@ourco-labs.io", external=True),
        inv("Elsewhere", "y@otherco.com", external=True),
    ]
    facts = aggregate(DOMAIN, [meeting(1, "2025-01-10", invitees, [])], internal_domains=["www.OurCo-Labs.io"])
    assert {p.key: p.side for p in facts.people} == {
        "ne@partnerco.com": Side.INTERNAL,
        "colleague@ourco.com": Side.INTERNAL,
        "x@ourco-labs.io": Side.INTERNAL,
        "y@otherco.com": Side.THIRD_PARTY,
    }
    assert [p.name for p in facts.people if p.side is Side.INTERNAL] == ["Labs", "Not External", "Same Domain"]


def test_a_recorder_on_a_personal_mailbox_does_not_make_every_such_guest_internal():
    """Recorder dana@gmail.com is internal; another gmail.com guest is PERSONAL even if marked not external."""
    invitees = [inv("Dana Reyes", "dana@gmail.com", external=False), inv("Kim Tran", "kim@gmail.com", external=False)]
    facts = aggregate(DOMAIN, [meeting(1, "2025-01-10", invitees, [], recorder="Dana@Gmail.com")])
    assert {p.key: p.side for p in facts.people} == {"dana@gmail.com": Side.INTERNAL, "kim@gmail.com": Side.PERSONAL}


def test_the_customer_side_wins_over_internal_markers():
    """An address at the customer's domain is CUSTOMER even when Fathom marks it not external."""
    facts = aggregate(DOMAIN, [meeting(1, "2025-01-10", [inv("Ann Lee", "ann@acmecorp.com", external=False)], [])])
    assert facts.people[0].side is Side.CUSTOMER


def test_people_within_a_side_are_ordered_by_count_then_name():
    """Within a side, more meetings come first and equal counts go alphabetically (case-insensitively)."""
    meetings = [
        meeting(
            1,
            "2025-01-10",
            [inv("zoe", "z@acmecorp.com"), inv("Bea", "b@acmecorp.com"), inv("Al", "a@acmecorp.com")],
            [],
        ),
        meeting(2, "2025-01-11", [inv("zoe", "z@acmecorp.com")], []),
    ]
    assert [p.name for p in aggregate(DOMAIN, meetings).people] == ["zoe", "Al", "Bea"]


def test_months_without_meetings_are_included_across_a_year_end():
    """Months run from the first meeting to the last with zero months filled in, across December."""
    meetings = [
        meeting(1, "2024-11-28", [], []),
        meeting(2, "2025-02-01", [], []),
        meeting(3, "2025-02-27", [], []),
    ]
    assert [(m.month, m.count) for m in aggregate(DOMAIN, meetings).meetings_by_month] == [
        ("2024-11", 1),
        ("2024-12", 0),
        ("2025-01", 0),
        ("2025-02", 2),
    ]


def test_dates_and_months_are_utc():
    """A meeting at 23:30 on 31 January in California is on 1 February (UTC)."""
    start = datetime(2025, 1, 31, 23, 30, tzinfo=timezone(timedelta(hours=-8)))
    validated = meeting(1, "2025-01-01", [], []).model_dump() | {"recording_start_time": start}
    unvalidated = meeting(2, "2025-01-01", [], []).model_copy(update={"recording_start_time": start})
    facts = aggregate(DOMAIN, [Meeting.model_validate(validated), unvalidated])
    assert (facts.first_meeting, facts.last_meeting) == ("2025-02-01", "2025-02-01")
    assert [r.date for r in facts.meetings] == ["2025-02-01", "2025-02-01"]
    assert [(x.month, x.count) for x in facts.meetings_by_month] == [("2025-02", 2)]


def test_meetings_at_the_same_time_are_ordered_by_recording_id():
    """Rows are newest first; meetings that started together are ordered by recording_id, whatever the input order."""
    meetings = [meeting(5, "2025-01-10", [], []), meeting(9, "2025-01-10", [], []), meeting(1, "2025-01-09", [], [])]
    assert [m.recording_id for m in aggregate(DOMAIN, meetings).meetings] == [9, 5, 1]
    assert [m.recording_id for m in aggregate(DOMAIN, meetings[::-1]).meetings] == [9, 5, 1]


def test_duration_is_rounded_to_whole_minutes():
    """A 44 min 30 s recording is 45 minutes; one without recording times has no duration."""
    m = meeting(1, "2025-01-10", [], [], minutes=44)
    m = m.model_copy(update={"recording_end_time": m.recording_end_time + timedelta(seconds=30)})
    facts = aggregate(DOMAIN, [m, meeting(2, "2025-01-09", [], [], minutes=None)])
    assert [(r.recording_id, r.duration_min) for r in facts.meetings] == [(1, 45), (2, None)]


# ---------------------------------------------------------------- into the summary


def test_facts_fill_a_summary_and_overwrite_model_counts_but_keep_roles():
    """apply() fills the summary in place with the data's counts, keeps analysis roles and flags, leaves insights alone."""
    facts = aggregate(DOMAIN, account())
    before = EngagementSummary(
        meetings_count=99,
        people=[Person(key="sarah.lopez@acmecorp.com", name="Sarah", role="VP Operations", count=42)],
        goals=["Cut onboarding time"],
        company="Acme Corp",
    )
    before.meetings = [r.model_copy(update={"analysed": r.recording_id == 103}) for r in facts.meetings]
    after = facts.apply(before)
    assert after is before
    assert after.meetings_count == 4
    assert (after.domain, after.company, after.goals) == (DOMAIN, "Acme Corp", ["Cut onboarding time"])
    assert (after.first_meeting, after.last_meeting) == ("2025-01-14", "2025-05-06")
    assert len(after.meetings_by_month) == 5
    sarah = after.people[0]
    assert (sarah.name, sarah.role, sarah.count) == ("Sarah Lopez", "VP Operations", 4)
    assert [p.role for p in after.people[1:]] == [""] * 7
    assert [(r.recording_id, r.analysed) for r in after.meetings] == [
        (104, False),
        (103, True),
        (102, False),
        (101, False),
    ]
    after.people[0].role = "Champion"
    assert facts.people[0].role == ""  # the summary holds copies: the facts do not change


# ---------------------------------------------------------------- helpers


def test_days_since_counts_whole_days_and_never_goes_negative():
    """days_since is today minus the date, from a date or a timestamp, and 0 for a date after today."""
    assert days_since("2025-05-06", date(2025, 5, 20)) == 14
    assert days_since("2025-05-06T23:59:00.000000Z", date(2025, 5, 7)) == 1
    assert days_since("2025-05-06", date(2025, 5, 6)) == 0
    assert days_since("2025-05-07", date(2025, 5, 6)) == 0


def test_meeting_months_accepts_dates_datetimes_and_strings():
    """meeting_months counts one per entry by calendar month and fills the gaps; nothing gives nothing."""
    months = meeting_months([date(2025, 1, 5), "2025-03-02T10:00:00Z", datetime(2025, 1, 20, tzinfo=UTC)])
    assert [(m.month, m.count) for m in months] == [("2025-01", 2), ("2025-02", 0), ("2025-03", 1)]
    assert meeting_months([]) == []


def test_customer_people_keeps_the_order_given():
    """customer_people returns only CUSTOMER people, in the order given."""
    people = [
        Person(key="b", name="B", side=Side.CUSTOMER),
        Person(key="i", name="I", side=Side.INTERNAL),
        Person(key="a", name="A", side=Side.CUSTOMER),
    ]
    assert [p.key for p in customer_people(people)] == ["b", "a"]


def test_speakers_kept_with_a_cached_analysis_count_as_spoken() -> None:
    """A meeting listed without its transcript still counts who spoke, from the speakers passed in."""
    bare = meeting(1, "2026-05-04", [inv("Ana Ruiz", "ana@acmecorp.com"), inv("Bo Li", "bo@acmecorp.com")])
    without = aggregate("acmecorp.com", [bare])
    with_speakers = aggregate("acmecorp.com", [bare], speakers={1: [("Ana Ruiz", "ana@acmecorp.com")]})
    assert [p.spoke_in for p in without.people if p.side is Side.CUSTOMER] == [0, 0]
    spoke = {p.email: p.spoke_in for p in with_speakers.people}
    assert (spoke["ana@acmecorp.com"], spoke["bo@acmecorp.com"]) == (1, 0)
    assert with_speakers.meetings[0].has_transcript


def test_coverage_counts_meetings_without_a_transcript_and_unmatched_speakers() -> None:
    """Coverage: one meeting of three has no transcript, one speaker matches no invitee; analysed comes from refs."""
    meetings = [
        meeting(1, "2026-05-04", [inv("Ana Ruiz", "ana@acmecorp.com"), rep()], [("Ana Ruiz", "ana@acmecorp.com")]),
        meeting(2, "2026-05-11", [inv("Ana Ruiz", "ana@acmecorp.com"), rep()], []),
        meeting(3, "2026-05-18", [inv("Ana Ruiz", "ana@acmecorp.com"), rep()], [("Dial In", None)]),
    ]
    summary = aggregate(DOMAIN, meetings).apply(EngagementSummary())
    assert summary.coverage is not None
    assert summary.coverage.model_dump() == {
        "meetings": 3,
        "with_transcript": 2,
        "without_transcript": 1,
        "analysed": 0,
        "unmatched_speakers": 1,
        "index_updated_at": None,
        "not_judged": [],
        # the facts alone do not know how complete the workspace's index was: unknown, not "complete"
        "index_complete": None,
        "index_meetings": None,
        "index_covered_from": None,
    }
    assert [ref.has_transcript for ref in summary.meetings] == [True, False, True]


def test_words_are_counted_by_side_per_meeting() -> None:
    """Each meeting row carries the words spoken by each side, from the transcript or the cached counts."""
    m = meeting(1, "2026-05-04", [inv("Ana Ruiz", "ana@acmecorp.com"), rep()], [("Ana Ruiz", "ana@acmecorp.com")])
    m = m.model_copy(
        update={
            "transcript": (
                TranscriptTurn(speaker="Ana Ruiz", email="ana@acmecorp.com", timestamp="00:00:01", text="We need it."),
                TranscriptTurn(speaker="Dana Reyes", email=REP[1], timestamp="00:00:05", text="Sure."),
            )
        }
    )
    assert aggregate(DOMAIN, [m]).meetings[0].words == {"customer": 3, "internal": 1}
    bare = m.model_copy(update={"transcript": None})
    cached = aggregate(DOMAIN, [bare], speakers={1: [("Ana Ruiz", "ana@acmecorp.com")]}, words={1: [7]})
    assert cached.meetings[0].words == {"customer": 7}
    assert cached.meetings[0].customer_speakers == ["Ana Ruiz"]


def test_the_demo_boardroom_is_not_a_person() -> None:
    """On the Acme demo data, "Acme HQ Boardroom" (an invitee with no e-mail) is neither counted nor charted."""
    import json
    from pathlib import Path

    from engagement.fathom.client import to_meeting

    raw = json.loads((Path(__file__).parents[1] / "engagement/demo/data/acmecorp.com.json").read_text())
    items = raw["meetings"]
    facts = aggregate("acmecorp.com", [to_meeting(item) for item in items])
    assert facts.people and "Acme HQ Boardroom" not in [p.name for p in facts.people]
