"""Identity, sides and roles: who is who across an account's meetings, decided in one module."""

from __future__ import annotations

from engagement.account.facts import aggregate
from engagement.account.people import (
    PERSONAL_EMAIL_DOMAINS,
    MeetingSides,
    assign_roles,
    classify,
    dedupe_roles,
    is_senior,
    normalize_name,
)
from engagement.models import Meeting, Person, PersonRole, Recorder, Side, TranscriptTurn
from tests.support.meeting_factory import DOMAIN, inv, meeting, rep


def test_normalize_name_folds_case_and_white_space():
    """Names compare stripped, case-folded, with inner white space (also non-breaking) collapsed."""
    assert normalize_name("  Sarah\u00a0 LOPEZ\t") == "sarah lopez"
    assert normalize_name("STRASSE") == normalize_name("straße")
    assert normalize_name(None) == ""


def test_classify_without_a_readable_email_is_unknown():
    """No e-mail, or one without a domain, is UNKNOWN; a personal mailbox is PERSONAL."""
    assert classify(None, DOMAIN) is Side.UNKNOWN
    assert classify("not-an-email", DOMAIN) is Side.UNKNOWN
    assert classify("x@localhost", DOMAIN) is Side.UNKNOWN
    assert classify("kim@Proton.me", DOMAIN) is Side.PERSONAL


def test_personal_domains_are_registrable_domains():
    """Every personal mailbox domain is in the form registrable_domain() produces, so lookups can match."""
    from engagement.account.domains import registrable_domain

    assert {d for d in PERSONAL_EMAIL_DOMAINS if registrable_domain(d) != d} == set()
    assert {"gmail.com", "outlook.com", "qq.com", "163.com", "proton.me", "gmx.de", "mail.ru"} <= PERSONAL_EMAIL_DOMAINS


def _turn(speaker: str, email: str | None = None) -> TranscriptTurn:
    return TranscriptTurn(speaker=speaker, email=email, timestamp="00:00:01", text="Hello there.")


def _sides_meeting() -> Meeting:
    return meeting(
        1,
        "2026-05-04",
        [
            inv("Sarah Lopez", "sarah@acmecorp.com"),
            rep(),
            inv("Kim Guest", "kim@gmail.com", external=False),
            inv("Pat Partner", "pat@partner.io"),
        ],
    ).model_copy(update={"recorded_by": Recorder(name="Rae Corder", email="rae@ourco.com")})


def test_meeting_sides_classify_speakers_with_an_email_as_classify_does():
    """A speaker's e-mail decides their side with the same rules as a person's: one vocabulary, Side."""
    sides = MeetingSides(_sides_meeting(), DOMAIN)
    assert sides(_turn("Sarah", "Sarah@AcmeCorp.com")) is Side.CUSTOMER
    assert sides(_turn("Dana", "dana@ourco.com")) is Side.INTERNAL
    assert sides(_turn("Rae", "rae@ourco.com")) is Side.INTERNAL
    assert sides(_turn("Pat", "pat@partner.io")) is Side.THIRD_PARTY
    assert sides(_turn("Kim", "kim@gmail.com")) is Side.PERSONAL  # a personal mailbox, even invited as internal


def test_meeting_sides_match_speakers_without_an_email_by_invitee_name():
    """A speaker without an e-mail takes the side of the invitee (or recorder) with that name, else UNKNOWN."""
    sides = MeetingSides(_sides_meeting(), DOMAIN)
    assert sides(_turn("  sarah   LOPEZ ")) is Side.CUSTOMER
    assert sides(_turn("Dana Reyes")) is Side.INTERNAL
    assert sides(_turn("Rae Corder")) is Side.INTERNAL
    assert sides(_turn("Pat Partner")) is Side.THIRD_PARTY
    assert sides(_turn("Someone Else")) is Side.UNKNOWN


def test_a_person_side_and_the_speaker_side_agree():
    """The same address gets the same side from classify (people) and MeetingSides (speakers)."""
    m = _sides_meeting()
    facts = aggregate(DOMAIN, [m])
    sides = MeetingSides(m, DOMAIN)
    for person in facts.people:
        assert sides.of_email(person.email) is person.side, person.email


def test_is_senior_knows_c_level_vp_head_of_and_director():
    """C-level, VP, head of and director titles are senior; a manager or an engineer is not."""
    for role in ("CFO", "Chief Revenue Officer", "VP Sales", "Vice President, Ops", "Head of Data", "IT Director"):
        assert is_senior(role), role
    for role in ("", "Data engineer", "Sales manager", "Procurement lead", "Coordinator", "Owner of this pilot"):
        assert not is_senior(role), role


def test_roles_are_assigned_by_email_then_by_name_and_the_first_one_wins():
    """assign_roles matches by e-mail first, then by normalised name, and never overwrites a role."""
    people = [
        Person(key="sarah@acmecorp.com", name="Sarah Lopez", email="sarah@acmecorp.com"),
        Person(key="tom baker", name="Tom Baker"),
        Person(key="ana@acmecorp.com", name="Ana Ruiz", email="ana@acmecorp.com", role="CFO"),
    ]
    assign_roles(
        people,
        [
            PersonRole(name="S. Lopez", email="SARAH@acmecorp.com", role="VP Finance"),
            PersonRole(name="Sarah Lopez", role="Intern"),
            PersonRole(name="tom  BAKER", role=" Head of IT "),
            PersonRole(name="Ana Ruiz", email="ana@acmecorp.com", role="Analyst"),
        ],
    )
    assert [p.role for p in people] == ["VP Finance", "Head of IT", "CFO"]


def test_dedupe_roles_keeps_the_first_role_of_each_person():
    """Two roles for one person (same e-mail, or same normalised name) become the first of them."""
    roles = dedupe_roles(
        [
            PersonRole(name="Sarah Lopez", email="sarah@acmecorp.com", role="VP"),
            PersonRole(name="S. L.", email="Sarah@AcmeCorp.com", role="CFO"),
            PersonRole(name="sarah lopez", role="Intern"),
            PersonRole(name="Tom Baker", role="Head of IT"),
        ]
    )
    assert [(r.name, r.role) for r in roles] == [("Sarah Lopez", "VP"), ("Tom Baker", "Head of IT")]


def test_a_person_carries_how_they_were_identified_and_their_other_names():
    """matched_by says e-mail, speaker match or display name; aliases list the other spellings merged."""
    meetings = [
        meeting(
            1, "2026-05-04", [inv("Priya Raman", "priya@acmecorp.com"), rep()], [("Priya R.", "priya@acmecorp.com")]
        ),
        meeting(2, "2026-05-11", [inv("Priya Raman", "priya@acmecorp.com"), rep()], [("Priya Raman", None)]),
        meeting(3, "2026-05-18", [inv("Tom Baker", "tom@acmecorp.com"), rep()], [("Tom Baker", "tom@acmecorp.com")]),
        meeting(4, "2026-05-25", [rep()], [("Walk In", None), ("Dana Reyes", "dana@ourco.com")]),
    ]
    people = {p.name: p for p in aggregate(DOMAIN, meetings).people}
    assert people["Priya Raman"].matched_by == ["email", "speaker_match"]
    assert people["Priya Raman"].aliases == ["Priya R."]
    assert people["Tom Baker"].matched_by == ["email"]
    assert people["Tom Baker"].aliases == []
    assert people["Walk In"].matched_by == ["display_name"]


def test_a_name_only_speaker_folded_into_an_email_identity_is_a_speaker_match():
    """An uninvited speaker whose name is one e-mail identity's elsewhere is that person, matched by speaker."""
    meetings = [
        meeting(1, "2026-05-04", [inv("Sarah Lopez", "sarah@acmecorp.com"), rep()]),
        meeting(2, "2026-05-11", [rep()], [("Sarah Lopez", None)]),
    ]
    (sarah,) = [p for p in aggregate(DOMAIN, meetings).people if p.side is Side.CUSTOMER]
    assert (sarah.count, sarah.spoke_in, sarah.matched_by) == (2, 1, ["email", "speaker_match"])


def test_a_sentence_that_names_one_of_ours_as_the_customer_is_caught():
    """ "The concern Daniel Okafor raised" names ours as the customer; "Daniel to send the pack" does not."""
    from engagement.account.people import names_ours_as_customer

    people = [
        Person(key="d@ourco.com", name="Daniel Okafor", side=Side.INTERNAL),
        Person(key="s@acme.com", name="Sarah Lopez", side=Side.CUSTOMER),
        Person(key="s2@ourco.com", name="Sarah Kim", side=Side.INTERNAL),
    ]
    assert names_ours_as_customer("De-risk the concern Daniel Okafor raised on 3 May.", people)
    assert names_ours_as_customer("Tie the proposal to Daniel's goal.", people)
    assert not names_ours_as_customer("Daniel to send the security pack by Friday.", people)
    assert not names_ours_as_customer("De-risk the concern Sarah raised.", people), "Sarah is also a customer's name"
    assert not names_ours_as_customer("De-risk the concern Sarah Lopez raised.", people)


def test_a_device_named_for_its_owner_is_the_one_invitee_with_that_first_name():
    """ "Amir's iPad" (no e-mail) speaks for the one invitee Amir: same identity, same side; two Amirs, no one."""
    from engagement.account.people import MeetingSides, device_owner, identify
    from engagement.models import TranscriptTurn
    from tests.support.meeting_factory import DOMAIN, inv, meeting, rep

    assert device_owner("Amir's iPad") == "amir" and device_owner("Amir Haddad") is None
    one = meeting(1, "2026-06-23", [inv("Amir Haddad", "amir@acmecorp.com"), rep()], [("Amir's iPad", None)])
    people, _ = identify([one], DOMAIN)
    amir = next(p for p in people if p.email == "amir@acmecorp.com")
    assert (amir.spoke_in, amir.aliases, amir.side) == (1, ["Amir's iPad"], Side.CUSTOMER)
    turn = TranscriptTurn(speaker="Amir's iPad", timestamp="00:00:01", text="Hello.")
    assert MeetingSides(one, DOMAIN)(turn) is Side.CUSTOMER
    two = meeting(
        2,
        "2026-06-23",
        [inv("Amir Haddad", "amir@acmecorp.com"), inv("Amir Khan", "amir.k@ourco.com", external=False), rep()],
        [("Amir's iPad", None)],
    )
    assert MeetingSides(two, DOMAIN)(turn) is Side.UNKNOWN
