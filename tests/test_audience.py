"""The allow-list of presentation mode: which parts a customer sees, the presenter's stored choice, the customer copy."""

from __future__ import annotations

import re

import pytest

from engagement.models import EngagementSummary, Evidence, Insight, Person, Side
from engagement.render.audience import (
    FACT_FIELDS,
    FIXED,
    OPT_IN,
    PART_FIELDS,
    PARTS,
    SAFE,
    Audience,
    choice_text,
    for_customer,
    hide_emails,
    parse_choice,
    presented,
)
from tests.support.summary_factory import make_summary

INTERNAL = ("signals", "changes", "coverage", "risks", "recommendations")
NEVER = ("exports", "run_details", "demo_buttons", "question_history", "emails")
EMAIL = re.compile(r"[\w.+-]+@[\w-]+\.[\w.-]+")


def test_by_default_a_presentation_shows_the_facts_themes_goals_and_challenges_and_nothing_internal() -> None:
    """The default set is the fixed and safe parts; no internal part is in it."""
    shown = presented()
    assert shown == {p.key for p in (*FIXED, *SAFE)}
    assert {"metrics", "meetings_chart", "themes", "people", "goals", "challenges", "ask"} <= shown
    assert not shown & set(INTERNAL)


@pytest.mark.parametrize("part", [*INTERNAL, *NEVER, "something_added_later"])
def test_a_part_not_on_the_allow_list_is_hidden_from_a_customer_and_shown_to_the_team(part: str) -> None:
    """Internal, never-presented and unknown parts are not drawn for a customer; the team sees every part."""
    assert not Audience(presenting=True).shows(part)
    assert Audience(presenting=False).shows(part)


def test_the_presenter_can_tick_internal_parts_and_untick_safe_ones_but_never_add_unknown_ones() -> None:
    """A choice is restricted to the allow-list; fixed parts stay whatever the choice."""
    shown = presented({"signals", "goals", "exports", "emails", "nonsense"})
    assert shown == {"heading", "no_meetings", "signals", "goals"}
    assert presented(set()) == {p.key for p in FIXED}
    audience = Audience(presenting=True, parts=shown)
    assert audience.shows("signals") and not audience.shows("challenges") and not audience.shows("exports")


@pytest.mark.parametrize(
    ("stored", "parsed"),
    [
        (None, None),
        ("", None),
        ("goals.signals", {"goals", "signals"}),
        ("-", set()),
        ("exports.emails.<script>", None),  # nothing known: no choice, the safe set (never "everything")
        ("goals.exports", {"goals"}),
        ("heading", None),  # a fixed part is not a choice
    ],
)
def test_a_stored_choice_is_read_from_the_cookie_keeping_only_known_parts(
    stored: str | None, parsed: set[str] | None
) -> None:
    """The cookie's text becomes part keys; unknown keys are dropped, and nothing usable means no choice."""
    assert parse_choice(stored) == (None if parsed is None else frozenset(parsed))


def test_a_choice_is_stored_in_page_order_and_read_back_the_same() -> None:
    """``choice_text`` writes known keys in page order ("-" for none); ``parse_choice`` reads exactly them back."""
    assert choice_text({"signals", "goals", "bogus", "heading"}) == "goals.signals"
    assert choice_text(()) == "-"
    for keys in ({"goals"}, {p.key for p in SAFE}, {p.key for p in (*SAFE, *OPT_IN)}, set()):
        assert parse_choice(choice_text(keys)) == frozenset(keys)


def test_every_part_has_one_home_and_a_label() -> None:
    """No part is both safe and internal, and each has words for the checklist."""
    keys = [p.key for p in (*FIXED, *SAFE, *OPT_IN)]
    assert len(keys) == len(set(keys)) == len(PARTS)
    assert all(p.label for p in PARTS.values())
    assert set(PART_FIELDS) <= set(PARTS)


def test_the_customer_copy_has_only_allow_listed_fields_so_a_new_field_stays_empty() -> None:
    """Every summary field outside the facts and the presented parts' fields is left at its default."""
    summary = make_summary()
    copy = for_customer(summary)
    allowed = set(FACT_FIELDS) | {name for part in ("goals", "challenges") for name in PART_FIELDS[part]}
    for name, info in EngagementSummary.model_fields.items():
        default = info.get_default(call_default_factory=True)
        if name in allowed:
            continue
        assert getattr(copy, name) == default, f"{name} reached a customer without being allow-listed"
    assert summary.signals and summary.changes and summary.recommendations_detail and summary.risks_detail
    assert copy.goals == ["Consolidate regional reporting by March", "Cut onboarding time for new reps"]
    assert copy.challenges == ["Legacy warehouse exports are manual"]  # the one with no quote is nobody's words
    assert copy.themes == summary.themes and copy.meetings_count == summary.meetings_count


def test_an_opted_in_part_brings_its_fields_into_the_customer_copy() -> None:
    """Ticking signals and recommendations copies those fields; risks stay out."""
    summary = make_summary()
    copy = for_customer(summary, presented({"signals", "recommendations"}))
    assert copy.signals == summary.signals and copy.recommendations_detail == summary.recommendations_detail
    assert copy.goals == [] and copy.challenges == []
    assert copy.risks_detail == [] and copy.goals_detail == [] and copy.changes is None


def test_the_customer_copy_holds_no_email_address_and_no_talk_share() -> None:
    """People keep names and roles, lose e-mails (also where an address stands in for a name); no words by side."""
    summary = make_summary()
    nameless = Person(key="kim@acme.com", name="kim@acme.com", email="kim@acme.com", side=Side.CUSTOMER, role="CFO")
    summary.people.append(nameless)
    summary.meetings[0].customer_people.append("kim@acme.com")
    summary.meetings[0].words = {"customer": 900, "internal": 1100}
    copy = for_customer(summary)
    assert not EMAIL.search(copy.model_dump_json()), EMAIL.findall(copy.model_dump_json())
    assert [p.name for p in copy.people][:3] == [p.name for p in summary.people][:3]
    assert [p.role for p in copy.people] == [p.role for p in summary.people]
    assert copy.people[-1].name == "kim" and copy.people[-1].email is None
    assert all(m.words == {} for m in copy.meetings)
    assert summary.people[-1].email == "kim@acme.com", "the stored summary is not changed"


@pytest.mark.parametrize(
    ("text", "shown"),
    [
        ("Sarah Lopez", "Sarah Lopez"),
        ("sarah.lopez@acme.com", "sarah.lopez"),
        ("Write to eve@evil.example today", "Write to eve today"),
        ("Q&A @ 3pm", "Q&A @ 3pm"),
    ],
)
def test_an_email_address_in_a_name_or_title_is_cut_to_its_name_part(text: str, shown: str) -> None:
    """``hide_emails`` keeps text that is not an address as it is."""
    assert hide_emails(text) == shown


def test_the_team_sees_the_whole_summary() -> None:
    """Not presenting, the summary is drawn as stored."""
    summary = make_summary()
    assert Audience(presenting=False).summary(summary) is summary
    assert Audience(presenting=True).summary(summary) != summary


def test_a_goal_said_by_our_side_is_not_presented_as_the_customers_and_only_their_quotes_are_kept() -> None:
    """Goals and challenges keep only verified quotes of customer people (by name or alias); an insight with
    none left is not presented, whatever our side or an unknown speaker said."""
    summary = make_summary()
    ours = next(p for p in summary.people if p.side is Side.INTERNAL)
    customer = next(p for p in summary.people if p.side is Side.CUSTOMER)
    customer.aliases.append("Dana R.")
    meeting = summary.meetings[0]

    def said(quote: str, speaker: str | None) -> Evidence:
        return Evidence(recording_id=meeting.recording_id, timestamp="00:01:00", quote=quote, speaker=speaker)

    summary.goals_detail = [
        Insight(text="Go live before the audit", evidence=[said("We want this live before our audit.", "Dana R.")]),
        Insight(
            text="Make onboarding faster",
            evidence=[
                said("On our end we'd love to get your onboarding under two weeks.", ours.name),
                said("Onboarding has to get faster for us.", customer.name),
            ],
        ),
        Insight(text="Expand to EMEA", evidence=[said("The goal for us is to expand you into EMEA.", ours.name)]),
        Insight(text="Cut costs", evidence=[said("We need to cut costs this year.", "Unknown Caller")]),
        Insight(text="Standardise reports", evidence=[said("Standard reports, please.", None)]),
    ]
    copy = for_customer(summary)
    assert copy.goals == ["Go live before the audit", "Make onboarding faster"]
    assert [[e.quote for e in g.evidence] for g in copy.goals_detail] == [
        ["We want this live before our audit."],
        ["Onboarding has to get faster for us."],
    ]
    assert len(summary.goals_detail[1].evidence) == 2, "the stored summary is not changed"


def test_qualification_is_presented_only_when_the_presenter_opts_in() -> None:
    """By default a presentation carries no qualification nor our commitments; ticked, it carries both whole."""
    from engagement.models import Commitment, Qualification, QualificationElement, QualificationEvidence

    summary = make_summary()
    summary.qualification = Qualification(
        methodology="meddpicc", elements=[QualificationElement(key="metrics", name="Metrics", status="not_found")]
    )
    summary.commitments = [
        Commitment(
            text="I'll send the questionnaire.",
            evidence=QualificationEvidence(recording_id=1, timestamp="00:01:00", quote="I'll send the questionnaire."),
        )
    ]
    plain = for_customer(summary)
    assert plain.qualification is None and plain.commitments == []
    chosen = for_customer(summary, presented({"qualification"}))
    assert chosen.qualification == summary.qualification and chosen.commitments == summary.commitments
