"""Roles read from what people say about themselves and each other, and not from words that only sound like it."""

from __future__ import annotations

import pytest

from engagement.account.people import assign_roles
from engagement.analysis.roles import resolve_in, roles_in
from engagement.models import Person, PersonRole, Side

C, US = Side.CUSTOMER, Side.INTERNAL

SAID = [
    # (sentence, the speaker's side, [(who, role)] — "self" for the speaker)
    ("I'm the CFO here, and the budget for this sits with me.", C, [("self", "CFO")]),
    (
        "Quick intro from me: I'm the account executive covering the Nordics and the UK.",
        US,
        [("self", "Account executive")],
    ),
    ("And I'm Marcus, I'm a solutions engineer on Dana's team.", US, [("self", "Solutions engineer")]),
    ("I look after finance here — I've been CFO since March.", C, [("self", "CFO")]),
    ("I'm Head of Commercial Services at Brightwater.", C, [("self", "Head of Commercial Services")]),
    ("I'm Dana, I'll be your account executive.", US, [("self", "Account executive")]),
    (
        "I run procurement, so once you and Laura have agreed on scope, the contract comes to me.",
        C,
        [("self", "Head of procurement")],
    ),
    (
        "Quick context on me: I head up nursing operations across our three campuses.",
        C,
        [("self", "Head of nursing operations")],
    ),
    (
        "So, Tomas — I run the planning desk in Bergen, eleven planners across two shifts.",
        C,
        [("self", "Runs the planning desk")],
    ),
    (
        "I'm on the infrastructure team, so the integration questions land with me.",
        C,
        [("self", "Infrastructure team")],
    ),
    ("As the CFO, I sign off on anything over fifty thousand.", C, [("self", "CFO")]),
    ("One more thing — our VP of Finance, Ingrid, will want to see this first.", C, [("Ingrid", "VP of Finance")]),
    (
        "Amir, our Chief Nursing Officer, will want to weigh in before it gets that far.",
        C,
        [("Amir", "Chief Nursing Officer")],
    ),
    ("Every Monday I build the roll-up for Greg, our CRO.", C, [("Greg", "CRO")]),
    ("And Marcus here is our solutions engineer.", US, [("Marcus", "Solutions engineer")]),
    # not roles
    ("I should say up front that I report to the CFO, on paper at least.", C, []),
    ("You'd have to ask our CTO about the specifics.", C, []),
    ("Honestly, when I was CFO at my last company we got burned by a vendor.", C, []),
    ("We're hiring a new head of IT at the moment.", C, []),
    ("The new head of IT starts in October, and she may want to re-review it.", C, []),
    ("I'm meeting the CFO tomorrow to walk her through it.", C, []),
    ("I'm not the CFO, so I can't promise the budget.", C, []),
    ("Are you the CFO, or should we talk to someone else?", US, []),
    ("I'm the CFO's chief of staff.", C, []),
    ("He's going to be CRO somewhere bigger, good for him.", C, []),
    ("I run the numbers every Friday before the forecast call.", C, []),
]


@pytest.mark.parametrize(("sentence", "side", "expected"), SAID)
def test_roles_are_read_from_what_is_said_and_not_from_traps(
    sentence: str, side: Side, expected: list[tuple[str, str]]
) -> None:
    """A title stated now, of the speaker or of a named person, is a role; a past, a boss, a question or no name is not."""
    found = [("self" if r.about_speaker else r.name, r.role) for r in roles_in(sentence, "Speaker", side)]
    assert found == expected


def test_our_and_your_put_the_named_person_on_a_side() -> None:
    """ "Our CFO" from the customer is the customer's; "your CFO" from us is too; "our" from us is ours."""
    assert [r.side for r in roles_in("Our CFO, Ingrid, signs it.", "Erik", C)] == [C]
    assert [r.side for r in roles_in("Your CFO, Ingrid, signs it.", "Dana", US)] == [C]
    assert [r.side for r in roles_in("I've brought Tom Becker, our VP of Sales.", "Dana", US)] == [US]


def test_a_first_name_resolves_to_the_one_person_who_has_it_on_that_side() -> None:
    """ "Ingrid" is the one customer Ingrid; two Ingrids, or none, give no one the role."""
    resolve = resolve_in(
        [("Ingrid Dahl", "ingrid@fj.no", C), ("Ingrid Berg", "ib@ours.com", US), ("Tomas Berg", None, C)]
    )
    assert resolve("Ingrid", C) == ("Ingrid Dahl", "ingrid@fj.no")
    assert resolve("Ingrid", None) is None
    assert resolve("Michael", C) is None


def test_a_role_said_of_a_first_name_goes_to_the_one_account_person_with_it() -> None:
    """assign_roles gives "Amir" the role when one customer is an Amir; a "Michael" no one is stays unassigned."""
    people = [
        Person(key="amir@h.com", name="Amir Haddad", email="amir@h.com", side=C),
        Person(key="laura@h.com", name="Laura Chen", email="laura@h.com", side=C),
    ]
    assign_roles(
        people,
        [
            PersonRole(name="Michael", role="COO", side=C),
            PersonRole(name="Amir", role="Chief Nursing Officer", side=C),
        ],
    )
    assert [(p.name, p.role, p.role_source) for p in people] == [
        ("Amir Haddad", "Chief Nursing Officer", "meeting"),
        ("Laura Chen", "", ""),
    ]
