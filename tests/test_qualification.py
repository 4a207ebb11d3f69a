"""Qualification with proof: rubric files and their errors, the four states, commitments, the model's quotes checked
in code, and the pipeline step, record and command that carry them."""

from __future__ import annotations

import json
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path

import pytest

from engagement.analysis.openai_analyzer import OpenAIAnalyzer
from engagement.models import Qualification, QualificationElement
from engagement.qualification import (
    RubricError,
    commitments_of,
    load_rubric,
    parse_rubric,
    qualify_account,
    qualify_meeting,
)
from engagement.qualification.commitments import answering
from engagement.qualification.qualifier import (
    CitedQuote,
    ElementQuote,
    ModelQualifier,
    QualificationAnswer,
    verify_answer,
)
from tests.fakes.openai_server import INVENTED_QUOTE, FakeOpenAI
from tests.support.cli import run_cli
from tests.support.job_runs import run_to_the_end
from tests.support.meeting_factory import call, inv

DOMAIN = "acmecorp.com"
SARAH = ("Sarah Lopez", "sarah@acmecorp.com")
GREG = ("Greg Thompson", "greg@acmecorp.com")
MAYA = ("Maya Chen", "maya@ourco.com")
MARCUS = ("Marcus Reid", "marcus@partner-consulting.com")
INVITEES = [
    inv(*SARAH),
    inv(*GREG),
    inv(*MAYA, external=False),
    inv(*MARCUS),
]
RUBRIC = load_rubric("meddpicc")


def meeting(recording_id: int, day: str, turns: list[tuple[tuple[str, str], str, str]]):  # type: ignore[no-untyped-def]
    """A call on ``day`` with (person, timestamp, text) turns among the invitees above."""
    return call(
        recording_id,
        [(who[0], who[1], ts, text) for who, ts, text in turns],
        start=datetime.fromisoformat(f"{day}T15:00:00+00:00"),
        invitees=INVITEES,
    )


def account(*meetings):  # type: ignore[no-untyped-def]
    per = {m.recording_id: qualify_meeting(m, RUBRIC, DOMAIN) for m in meetings if m.transcript is not None}
    return qualify_account(RUBRIC, list(meetings), per), commitments_of(list(meetings), per)


def element(q: Qualification, key: str) -> QualificationElement:
    return next(e for e in q.elements if e.key == key)


# ---------------------------------------------------------------- rubric files


def test_every_built_in_rubric_loads_with_its_elements() -> None:
    """MEDDPICC has its eight elements in order; BANT and SPICED load too."""
    assert [e.key for e in RUBRIC.elements] == [
        "metrics",
        "economic_buyer",
        "decision_criteria",
        "decision_process",
        "paper_process",
        "identify_pain",
        "champion",
        "competition",
    ]
    assert [e.key for e in load_rubric("bant").elements] == ["budget", "authority", "need", "timeline"]
    assert len(load_rubric("SPICED").elements) == 5


GOOD = """[methodology]
key = "ours"
name = "Our way"

[[elements]]
key = "budget"
name = "Budget"
definition = "Money set aside."
evidence = "The customer names a budget."
phrases = ["our budget"]

[[elements]]
key = "timing"
name = "Timing"
definition = "When they buy."
evidence = "A date."
phrases = ["go live"]
patterns = ['by (?:May']
"""


def test_a_rubric_with_a_bad_pattern_names_its_line() -> None:
    """A pattern that is not a regular expression is reported with the file and the line it is on."""
    with pytest.raises(RubricError, match=r"team\.toml, line 18: pattern 'by \(\?:May' of element 'timing'"):
        parse_rubric(GOOD, source="team.toml")


def test_a_rubric_that_is_not_toml_names_its_line() -> None:
    """TOML's own error keeps its line number in the message."""
    with pytest.raises(RubricError, match=r"team\.toml: not valid TOML: .*line 3"):
        parse_rubric('[methodology]\nkey = "x"\nname = \n', source="team.toml")


def test_a_missing_field_or_an_unknown_one_names_the_elements_line() -> None:
    """An element without a definition, or with a misspelt field, is reported at that element's line."""
    text = GOOD.replace('definition = "When they buy."\n', "").replace("['by (?:May']", "['by May']")
    with pytest.raises(RubricError, match=r"line 13: element 'timing' needs definition"):
        parse_rubric(text, source="team.toml")
    with pytest.raises(RubricError, match=r"line 10: unknown field 'phrase'"):
        parse_rubric(GOOD.replace('phrases = ["our budget"]', 'phrase = ["our budget"]'), source="team.toml")


def test_a_team_file_is_used_and_a_missing_one_says_what_to_give(tmp_path: Path) -> None:
    """QUALIFICATION_RUBRIC may be a path; a path that is not a file is refused with the built-in names."""
    path = tmp_path / "team.toml"
    path.write_text(GOOD.replace("['by (?:May']", "['by May']"), encoding="utf-8")
    assert [e.key for e in load_rubric(str(path)).elements] == ["budget", "timing"]
    with pytest.raises(RubricError, match="meddpicc, bant, spiced"):
        load_rubric(str(tmp_path / "nope.toml"))


# ---------------------------------------------------------------- states


def test_a_customer_statement_is_evidence_and_a_customer_question_is_not() -> None:
    """The customer's statement evidences the element with its moment and link; their question does not."""
    q, _ = account(
        meeting(
            1,
            "2026-05-07",
            [
                (SARAH, "00:01:00", "Who signs off on anything in this range?"),
                (SARAH, "00:02:00", "Greg signs off on anything in this range."),
            ],
        )
    )
    eb = element(q, "economic_buyer")
    assert eb.status == "evidenced" and [e.quote for e in eb.evidence] == ["Greg signs off on anything in this range."]
    ev = eb.evidence[0]
    assert (ev.speaker, ev.side, ev.meeting_date, ev.timestamp) == ("Sarah Lopez", "customer", "2026-05-07", "00:02:00")
    assert ev.url == "https://fathom.video/share/s1?timestamp=120" and eb.first_evidenced == "2026-05-07"


def test_only_our_side_speaking_of_an_element_is_a_gap_not_evidence() -> None:
    """Our question about the paper process leaves it our_side_only, with our words kept apart from the evidence."""
    q, _ = account(
        meeting(
            1,
            "2026-05-07",
            [
                (MAYA, "00:01:00", "Who needs to countersign the order form on your side?"),
                (SARAH, "00:02:00", "Let me come back to you on that one."),
            ],
        )
    )
    paper = element(q, "paper_process")
    assert paper.status == "our_side_only" and paper.evidence == []
    assert [e.speaker for e in paper.our_side] == ["Maya Chen"] and paper.our_side[0].side == "internal"


def test_a_partners_words_are_neither_the_customers_nor_ours() -> None:
    """A partner describing the customer's legal review does not evidence it: the element is not found."""
    q, _ = account(meeting(1, "2026-05-07", [(MARCUS, "00:01:00", "Their legal team redlines everything in Word.")]))
    assert element(q, "paper_process").status == "not_found"


def test_not_found_says_what_was_searched() -> None:
    """An element nobody spoke of carries the meetings, transcripts, hours and terms searched."""
    without = call(3, [], start=datetime(2026, 6, 1, 15, tzinfo=UTC), invitees=INVITEES, transcript=None)
    q, _ = account(
        meeting(1, "2026-05-07", [(SARAH, "00:01:00", "Thanks for having us.")]),
        meeting(2, "2026-05-21", [(SARAH, "00:01:00", "Good to see you again.")]),
        without,
    )
    comp = element(q, "competition")
    assert comp.status == "not_found" and comp.evidence == [] and comp.our_side == []
    assert comp.searched.model_dump() == {"meetings": 3, "transcripts": 2, "hours": 1.0}
    assert "also evaluating" in comp.terms


def test_customer_quotes_naming_two_sign_off_owners_conflict() -> None:
    """Two customers naming different sign-off owners make economic buyer conflicting, with both quotes."""
    q, _ = account(
        meeting(1, "2026-05-07", [(SARAH, "00:01:00", "Greg signs off on anything in this range.")]),
        meeting(2, "2026-06-07", [(GREG, "00:01:00", "Since the reorg, the CFO signs off on anything over a year.")]),
    )
    eb = element(q, "economic_buyer")
    assert eb.status == "conflicting" and {e.value for e in eb.evidence} == {"greg", "the cfo"}


def test_a_first_person_sign_off_is_the_speaker() -> None:
    """ "I sign off" from Greg and "Greg signs off" from Sarah agree: evidenced, not conflicting."""
    q, _ = account(
        meeting(1, "2026-05-07", [(SARAH, "00:01:00", "Greg signs off on anything in this range.")]),
        meeting(2, "2026-06-07", [(GREG, "00:01:00", "To be clear, I sign off on the budget for this.")]),
    )
    assert element(q, "economic_buyer").status == "evidenced"


def test_change_against_the_previous_run() -> None:
    """Evidence that is new, kept or gone since the previous complete run is marked new, unchanged or lost."""
    first, _ = account(meeting(1, "2026-05-07", [(SARAH, "00:01:00", "Greg signs off on anything in this range.")]))
    previous = first.model_copy(deep=True)
    element(previous, "competition").status = "evidenced"
    again, _ = account(
        meeting(1, "2026-05-07", [(SARAH, "00:01:00", "Greg signs off on anything in this range.")]),
        meeting(2, "2026-06-07", [(SARAH, "00:01:00", "The problem is the forecast is never right.")]),
    )
    rubric_meetings = [
        meeting(1, "2026-05-07", [(SARAH, "00:01:00", "Greg signs off on anything in this range.")]),
        meeting(2, "2026-06-07", [(SARAH, "00:01:00", "The problem is the forecast is never right.")]),
    ]
    found = {m.recording_id: qualify_meeting(m, RUBRIC, DOMAIN) for m in rubric_meetings}
    now = qualify_account(RUBRIC, rubric_meetings, found, previous=previous)
    assert element(now, "economic_buyer").change == "unchanged"
    assert element(now, "identify_pain").change == "new"
    assert element(now, "competition").change == "lost"
    assert element(again, "identify_pain").change is None  # no previous run: no change to speak of


# ---------------------------------------------------------------- commitments


def test_a_promise_is_done_only_when_a_later_meeting_says_so() -> None:
    """Our promise is done when a later meeting thanks us for it; the same meeting, or an unrelated thank-you, is not."""
    _, commitments = account(
        meeting(
            1,
            "2026-05-07",
            [
                (MAYA, "00:01:00", "I'll send over the security questionnaire answers by Monday."),
                (MAYA, "00:02:00", "I'll share the pricing sheet with Greg."),
                (SARAH, "00:03:00", "Thanks for the security questionnaire answers, by the way."),
            ],
        ),
        meeting(
            2,
            "2026-05-21",
            [(SARAH, "00:01:00", "Thanks for turning the security questionnaire answers around so quickly.")],
        ),
    )
    assert [(c.text, c.status) for c in commitments] == [
        ("I'll send over the security questionnaire answers by Monday.", "done"),
        ("I'll share the pricing sheet with Greg.", "open"),
    ]
    done = commitments[0].done_evidence
    assert done is not None and done.recording_id == 2 and done.meeting_date == "2026-05-21"
    assert commitments[0].evidence.speaker == "Maya Chen" and commitments[0].evidence.side == "internal"


def test_a_yes_to_their_request_is_a_promise_but_a_suggestion_a_screen_share_or_a_description_is_not() -> None:
    """ "Will do." after Sarah's request is ours to keep; suggesting, offering a call, sharing a screen or
    saying how the product behaves promises nothing."""
    _, commitments = account(
        meeting(
            1,
            "2026-05-07",
            [
                (SARAH, "00:01:00", "Could you send me the slides from today? I want to show them to Greg."),
                (MAYA, "00:01:20", "Will do."),
                (MAYA, "00:02:00", "Let me share my screen for a second."),
                (MAYA, "00:03:00", "I'd suggest we bring Greg in for the next one."),
                (MAYA, "00:04:00", "Would it help if I set up a call with your security team?"),
                (MAYA, "00:05:00", "If a manager overrides a number, we'll treat it as the manager's call."),
            ],
        )
    )
    assert [c.text for c in commitments] == ["Will do."]
    asked = commitments[0].evidence.answers
    assert asked is not None and asked.speaker == "Sarah Lopez" and asked.verified
    assert answering(commitments[0]) == (
        "in answer to Sarah Lopez: “Could you send me the slides from today? I want to show them to Greg.”"
    )


def test_what_we_do_in_the_meeting_itself_is_no_promise() -> None:
    """Walking through the agenda, adding a point, recapping or holding off on a topic happens in the call; asking
    Greg afterwards is a promise."""
    _, commitments = account(
        meeting(
            1,
            "2026-05-07",
            [
                (SARAH, "00:00:30", "Greg couldn't make it today, sorry."),
                (MAYA, "00:01:00", "No problem. I'll walk through the agenda first, then we'll dig into pricing."),
                (MAYA, "00:02:00", "I'll add one thing before we move on: the pilot is free."),
                (MAYA, "00:03:00", "We'll hold off on the contract terms until Greg can join."),
                (MAYA, "00:04:00", "Let me do a quick recap of where we are."),
                (MAYA, "00:05:00", "I'll do a quick recap at the end too."),
                (MAYA, "00:06:00", "I'll ask Greg for fifteen minutes next week."),
            ],
        )
    )
    assert [c.text for c in commitments] == ["I'll ask Greg for fifteen minutes next week."]


def test_two_promises_in_one_sentence_are_two_commitments_each_with_its_own_outcome() -> None:
    """ "I'll send the list, and I'll review the mapping" is two promises; only the list is later seen; a
    condition before "and we'll…" stays with its promise."""
    _, commitments = account(
        meeting(
            1,
            "2026-06-09",
            [
                (SARAH, "00:00:30", "We're moving off HubSpot in August."),
                (
                    MAYA,
                    "00:01:00",
                    "I'll send you the list of legacy deals to close, and I'll review your partner's field mapping "
                    "by Friday.",
                ),
                (MAYA, "00:02:00", "Sign by the 15th, and we'll connect HubSpot the same week."),
            ],
        ),
        meeting(2, "2026-07-29", [(SARAH, "00:01:00", "The legacy pipeline close-out is done, 281 deals closed.")]),
    )
    assert [(c.text, c.status) for c in commitments] == [
        ("I'll send you the list of legacy deals to close", "done"),
        ("I'll review your partner's field mapping by Friday.", "open"),
        ("Sign by the 15th, and we'll connect HubSpot the same week.", "open"),
    ]


def test_a_later_mention_that_says_it_is_missing_does_not_show_it_done() -> None:
    """ "We still haven't had the data dictionary" names the thing to say it is missing; "as per the data
    dictionary" later on shows it arrived."""
    promised = meeting(
        1,
        "2026-06-11",
        [(SARAH, "00:00:30", "Kevin will need the field list."), (MAYA, "00:01:00", "I'll send the data dictionary.")],
    )
    chased = meeting(2, "2026-06-25", [(SARAH, "00:01:00", "We still haven't had the data dictionary, by the way.")])
    used = meeting(3, "2026-07-23", [(SARAH, "00:01:00", "Five tables, as per the data dictionary.")])
    _, commitments = account(promised, chased)
    assert [c.status for c in commitments] == ["open"]
    _, commitments = account(promised, chased, used)
    done = commitments[0].done_evidence
    assert commitments[0].status == "done" and done is not None and done.meeting_date == "2026-07-23"


def test_one_shared_word_shows_it_done_only_when_the_customer_says_they_have_that_thing() -> None:
    """Sarah's "I've read the proposal" keeps "let's get you a written proposal"; "I've read the pilot readout"
    does not keep a promise about the pilot credit, and our own thanks for their comments keeps nothing."""
    _, commitments = account(
        meeting(
            1,
            "2026-05-19",
            [
                (SARAH, "00:00:30", "We need to compare you with the other vendor like for like."),
                (MAYA, "00:01:00", "Let's get you a written proposal with the growth plan."),
                (MAYA, "00:02:00", "I'll add the pilot credit to the order form."),
                (MAYA, "00:03:00", "I'll send the security comments by Friday."),
            ],
        ),
        meeting(
            2,
            "2026-07-01",
            [
                (SARAH, "00:01:00", "I've read the proposal."),
                (SARAH, "00:02:00", "I've read the pilot readout too."),
                (MAYA, "00:03:00", "Thanks for sending your comments ahead of time."),
            ],
        ),
    )
    assert [c.status for c in commitments] == ["done", "open", "open"]


def test_a_promise_to_hold_a_meeting_on_a_named_day_is_done_when_the_meeting_took_place() -> None:
    """ "I'll propose November 12th" is kept by a meeting on 12 November (its first sentence is the proof), not by
    one on the 13th."""
    asked = meeting(
        1,
        "2026-10-22",
        [
            (SARAH, "00:01:00", "Greg wants to go through the rollout with you before the holidays."),
            (MAYA, "00:01:30", "I'll propose November 12th."),
        ],
    )
    held = meeting(2, "2026-11-12", [(GREG, "00:00:05", "Thanks for making the time. Where are we?")])
    _, commitments = account(asked, held)
    done = commitments[0].done_evidence
    assert commitments[0].status == "done" and done is not None
    assert (done.recording_id, done.quote, done.speaker) == (2, "Thanks for making the time.", "Greg Thompson")
    _, commitments = account(asked, meeting(3, "2026-11-13", [(GREG, "00:00:05", "Thanks for making the time.")]))
    assert commitments[0].status == "open"


def test_a_promise_to_set_up_a_meeting_is_done_only_by_one_in_its_window_with_someone_it_names() -> None:
    """ "A pricing session with Greg in the next two weeks" is kept by a meeting ten days on that Greg was invited
    to; "a prep call with her" names no day and no one, and "a review with Olivia in November" no one invited."""
    _, commitments = account(
        meeting(
            1,
            "2026-09-03",
            [
                (SARAH, "00:01:00", "Greg will want to talk about price before he signs anything."),
                (MAYA, "00:02:00", "I'll set up a pricing session with Greg in the next two weeks."),
                (MAYA, "00:03:00", "I'll set up a prep call with her."),
                (MAYA, "00:04:00", "I'll set up a review with Olivia in November."),
            ],
        ),
        meeting(2, "2026-09-13", [(SARAH, "00:00:05", "Morning, everyone.")]),
        meeting(3, "2026-11-05", [(SARAH, "00:00:05", "Hello again.")]),
    )
    assert [c.status for c in commitments] == ["done", "open", "open"]
    assert commitments[0].done_evidence is not None and commitments[0].done_evidence.quote == "Morning, everyone."


def test_no_promise_is_read_from_a_call_where_no_one_of_the_customers_spoke() -> None:
    """Sarah was invited but never joined: what Maya says she will do is said to her colleagues, not promised to Sarah."""
    _, commitments = account(meeting(1, "2026-10-01", [(MAYA, "00:01:00", "I'll send her a note and offer a slot.")]))
    assert commitments == []


def test_a_customers_promise_is_not_ours() -> None:
    """ "I'll send the org details" said by the customer is no commitment of ours."""
    _, commitments = account(meeting(1, "2026-05-07", [(SARAH, "00:01:00", "I'll send the org details tomorrow.")]))
    assert commitments == []


# ---------------------------------------------------------------- the model's quotes


CALL = meeting(
    7,
    "2026-05-07",
    [
        (MAYA, "00:00:10", "Who signs off on a purchase like this?"),
        (SARAH, "00:00:40", "Greg signs off on anything in this range."),
        (MAYA, "00:01:10", "Great. I'll send the security package today."),
        (MARCUS, "00:01:40", "From the partner side, their legal team is slow."),
    ],
)


def test_a_model_quote_cited_on_the_wrong_turn_is_moved_to_the_turn_that_holds_it() -> None:
    """The model cites T1 for Sarah's words: the evidence is Sarah's turn, with her name, side and moment."""
    answer = QualificationAnswer(
        evidence=[ElementQuote(element="economic_buyer", turn="T1", quote="greg signs off on anything in this range")]
    )
    found, moved, dropped = verify_answer(answer, CALL, RUBRIC, domain=DOMAIN)
    (ev,) = found.hits["economic_buyer"]
    assert (ev.speaker, ev.side, ev.timestamp, ev.value) == ("Sarah Lopez", "customer", "00:00:40", "greg")
    assert ev.quote == "Greg signs off on anything in this range."  # the transcript's own words
    assert (moved, dropped) == (1, 0)


def test_model_quotes_not_verbatim_or_not_the_customers_are_dropped() -> None:
    """An invented quote, a partner's words, a customer's promise and an unknown element are dropped and counted;
    our side's words on an element are kept as ours (a gap), never as evidence."""
    answer = QualificationAnswer(
        evidence=[
            ElementQuote(element="economic_buyer", turn="T2", quote=INVENTED_QUOTE),
            ElementQuote(element="paper_process", turn="T4", quote="their legal team is slow"),
            ElementQuote(element="economic_buyer", turn="T1", quote="Who signs off on a purchase like this?"),
            ElementQuote(element="budget_vibes", turn="T2", quote="Greg signs off on anything in this range."),
        ],
        promises=[
            CitedQuote(turn="T3", quote="I'll send the security package today."),
            CitedQuote(turn="T2", quote="Greg signs off on anything in this range."),
        ],
    )
    found, _, dropped = verify_answer(answer, CALL, RUBRIC, domain=DOMAIN)
    assert [(e.side, e.speaker) for e in found.hits["economic_buyer"]] == [("internal", "Maya Chen")]
    assert "paper_process" not in found.hits
    assert [p.quote for p in found.promises] == ["I'll send the security package today."]
    assert dropped == 4
    q = qualify_account(RUBRIC, [CALL], {7: found})
    assert element(q, "economic_buyer").status == "our_side_only"


def test_the_model_qualifier_makes_one_call_a_meeting_and_verifies_it(
    make_openai_analyzer: Callable[..., OpenAIAnalyzer], openai_server: FakeOpenAI
) -> None:
    """One structured call for the meeting; the fake's wrong line ids are re-attributed and its invention dropped."""
    openai_server.invent_quote_next()
    qualifier = ModelQualifier(make_openai_analyzer(), RUBRIC)
    found = qualifier.qualify(CALL, domain=DOMAIN)
    assert len(openai_server.requests) == 1
    assert openai_server.requests[0]["response_format"]["json_schema"]["name"] == "QualificationAnswer"
    assert [e.quote for e in found.hits["economic_buyer"] if e.side == "customer"] == [
        "Greg signs off on anything in this range."
    ]
    assert qualifier.dropped >= 1 and INVENTED_QUOTE not in json.dumps(found.model_dump())


# ---------------------------------------------------------------- the job, the record, the command


def test_a_demo_run_qualifies_the_account_and_a_rerun_marks_it_unchanged(tmp_path: Path) -> None:
    """The record carries all eight elements, our commitments with their quotes, and the second run's changes."""
    first = run_to_the_end(tmp_path, {}, "brightwater.co.uk")
    q = first.summary.qualification if first.summary else None
    assert q is not None and q.methodology == "meddpicc" and len(q.elements) == 8
    assert {e.key: e.status for e in q.elements}["economic_buyer"] == "conflicting"
    assert all(e.change is None for e in q.elements)
    assert all(ev.side == "customer" for e in q.elements for ev in e.evidence)
    assert first.summary is not None and any(c.status == "open" for c in first.summary.commitments)
    second = run_to_the_end(tmp_path, {}, "brightwater.co.uk")
    assert second.summary is not None and second.summary.qualification is not None
    assert {e.change for e in second.summary.qualification.elements} == {"unchanged"}
    assert second.summary.qualification == q.model_copy(
        update={"elements": [e.model_copy(update={"change": "unchanged"}) for e in q.elements]}
    )


def test_a_rubric_with_a_mistake_ends_the_job_with_its_line(tmp_path: Path) -> None:
    """A team's broken rubric fails the job with a message naming the file and line; nothing else is claimed."""
    path = tmp_path / "team.toml"
    path.write_text(GOOD, encoding="utf-8")
    record = run_to_the_end(tmp_path, {"QUALIFICATION_RUBRIC": str(path)}, "globex.io")
    assert record.status == "error" and record.error is not None and "team.toml, line 18" in record.error


def test_qualify_prints_every_element_with_quotes_or_what_was_searched(capsys: pytest.CaptureFixture[str]) -> None:
    """`qualify acmecorp.com --json` prints the methodology, eight elements in the documented shape, and commitments."""
    code, out, err = run_cli(capsys, "qualify", "acmecorp.com", "--json")
    assert code == 0, err
    data = json.loads(out)
    assert data["methodology"] == "MEDDPICC" and len(data["elements"]) == 8
    for e in data["elements"]:
        assert {"key", "name", "status", "evidence", "searched", "first_evidenced", "change"} <= set(e)
        assert e["status"] in {"evidenced", "our_side_only", "not_found", "conflicting"}
        assert set(e["searched"]) == {"meetings", "transcripts", "hours"} and e["searched"]["meetings"] == 13
        for ev in e["evidence"]:
            assert set(ev) == {"recording_id", "timestamp", "quote", "speaker", "side", "url", "meeting_date"}
            assert ev["side"] == "customer"
    assert data["commitments"] and all(c["quote"] and c["speaker"] and c["date"] for c in data["commitments"])
    assert all(c["shown_as"] in {"done", "not seen done"} for c in data["commitments"])
    assert all(c["done"] is None for c in data["commitments"] if c["status"] == "open")
    code, out, _ = run_cli(capsys, "qualify", "acmecorp.com")
    tally = next(line for line in out.splitlines() if line.startswith("our ") and " commitments: " in line)
    assert code == 0 and "MEDDPICC: " in out and " seen done, " in tally
    assert "[not seen done]" in out and "[open]" not in out and "open" not in tally


def test_a_meeting_whose_qualification_is_not_cached_has_its_transcript_fetched_again(tmp_path: Path) -> None:
    """Meetings analysed before qualification existed (insights cached, no qualification) are qualified on the
    next run: their transcripts are fetched even though their analysis is cached."""
    from engagement.storage.sqlite import CACHE_TABLE, SqliteKV

    first = run_to_the_end(tmp_path, {}, "globex.io")
    kv = SqliteKV(str(tmp_path / "jobs.sqlite"))
    cache = kv.table(CACHE_TABLE)
    forgotten = cache.keys("qualification:")
    assert len(forgotten) == 7  # every Globex meeting has a transcript (G7 only our side spoke): each was qualified
    cache.delete_many(forgotten)
    kv.close()
    second = run_to_the_end(tmp_path, {}, "globex.io")
    assert second.stats.cached_meetings == 7  # the analysis came from the cache ...
    assert first.summary is not None and second.summary is not None and second.summary.qualification is not None
    assert first.summary.qualification is not None
    assert [e.status for e in second.summary.qualification.elements] == [
        e.status for e in first.summary.qualification.elements
    ]  # ... and the qualification from the transcripts, fetched again


def test_an_edited_rubric_is_another_cache_key() -> None:
    """The offline qualifier's fingerprint holds the rubric's digest, so an edited rubric is evaluated again."""
    from engagement.qualification.qualifier import OfflineQualifier

    edited = parse_rubric(GOOD.replace("['by (?:May']", "['by May']"), source="a")
    again = parse_rubric(GOOD.replace("['by (?:May']", "['by June']"), source="a")
    assert OfflineQualifier(edited).fingerprint != OfflineQualifier(again).fingerprint
    assert (
        OfflineQualifier(edited).fingerprint
        == OfflineQualifier(parse_rubric(GOOD.replace("['by (?:May']", "['by May']"))).fingerprint
    )


def test_a_methodology_mistake_names_its_line_not_a_comment() -> None:
    """A bad [methodology] key is reported at the line that sets it, not at a comment that mentions "key"."""
    text = '# every element has a key\n[methodology]\nname = "Ours"\nkey = "Not OK"\n' + GOOD.split("\n", 3)[3]
    with pytest.raises(RubricError, match=r"team\.toml, line 4: \[methodology\] needs key"):
        parse_rubric(text, source="team.toml")
