"""The transcript search index: phrases, stemming, sides, operators typed as text, persistence, FTS5 missing."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import pytest

from engagement.errors import SearchUnavailableError
from engagement.models import Invitee, Meeting
from engagement.questions import search as search_module
from engagement.questions.search import TranscriptIndex, parse_question
from tests.support.meeting_factory import call

START = datetime(2026, 3, 2, 15, 0, tzinfo=UTC)
DOMAIN = "acme.com"
JANE = "jane@acme.com"

TURNS = [
    ("Sam Rep", "sam@seller.io", "00:00:05", "Thanks for making the time today."),
    ("Jane Doe", JANE, "00:01:10", "We need single sign-on through Okta before anyone logs in."),
    ("Jane Doe", JANE, "00:02:00", "Honestly the price per seat is our biggest worry."),
    ("Sam Rep", "sam@seller.io", "00:02:40", "SSO is included on every plan."),
    ("Jane Doe", JANE, "00:03:30", "Please sign the order form on Friday."),
    ("Jane Doe", JANE, "00:04:00", 'He said "near" the end of the quarter, not before.'),
    ("Jane Doe", JANE, "00:05:00", "Our budget is approved for next year."),
]


def make_meeting(recording_id: int = 201, turns: list[tuple[str, str | None, str, str]] | None = None) -> Meeting:
    return call(
        recording_id,
        turns or TURNS,
        start=START,
        title="Security and pricing",
        invitees=(
            Invitee(name="Jane Doe", email=JANE, is_external=True),
            Invitee(name="Sam Rep", email="sam@seller.io", is_external=False),
        ),
    )


@pytest.fixture
def index(tmp_path: Path) -> TranscriptIndex:
    idx = TranscriptIndex(str(tmp_path / "engagement.sqlite"))
    idx.add([make_meeting()])
    return idx


def texts(index: TranscriptIndex, question: str, *, every_term: bool = True, ids: list[int] | None = None) -> list[str]:
    hits = index.search(parse_question(question), ids or [201], DOMAIN, every_term=every_term)
    return [h.text for h in hits]


def test_a_phrase_and_its_abbreviation_find_each_other() -> None:
    """'single sign-on' finds the phrase and 'SSO'; a turn with only 'sign' (the order form) is not a match."""
    idx = TranscriptIndex(":memory:")
    idx.add([make_meeting()])
    found = texts(idx, "What did they say about single sign-on?")
    assert sorted(found) == sorted([TURNS[1][3], TURNS[3][3]])
    assert texts(idx, "SSO?") == texts(idx, "single sign on")


def test_stemming_finds_other_forms_of_a_word(index: TranscriptIndex) -> None:
    """Porter stemming: 'pricing' and 'prices' find the turn that says 'price'."""
    assert texts(index, "What about pricing?") == [TURNS[2][3]]
    assert texts(index, "prices") == [TURNS[2][3]]


@pytest.mark.parametrize(
    "question",
    [
        '"price',
        'price"',
        "price*",
        "pri*",
        "-price",
        "NEAR(price seat)",
        "price NEAR seat",
        "price AND",
        "OR price",
        "NOT price",
        "price:seat",
        "^price",
        "{text}: price",
        "price + seat",
        "(price",
    ],
)
def test_fts_syntax_in_a_question_is_text_never_an_operator_or_an_error(index: TranscriptIndex, question: str) -> None:
    """Quotes, NEAR, *, -, AND/OR/NOT, ^, : and brackets are neither syntax nor errors: only the words are searched."""
    query = parse_question(question)
    words = {w for c in query.concepts for w in c}
    assert words <= {"price", "pri", "seat", "near", "text"}, words
    found = index.search(query, [201], DOMAIN, every_term=True)
    if words == {"pri"}:
        assert found == [], "a trailing * must not become a prefix search"
    elif words <= {"price", "seat"}:
        assert [h.text for h in found] == [TURNS[2][3]]


def test_near_in_a_question_is_a_word_to_find(index: TranscriptIndex) -> None:
    """The word 'near' in a question finds the turn that says "near", quotes and all."""
    assert texts(index, 'who said "near"?') == [TURNS[5][3]]


def test_a_question_of_only_question_words_has_nothing_to_search() -> None:
    """'What did they say about it?' has no content words (the caller turns that into a message)."""
    assert parse_question("What did they say about it?").empty
    assert parse_question("   ").empty


def test_each_hit_knows_its_meeting_turn_time_speaker_and_side(index: TranscriptIndex) -> None:
    """A hit carries the recording, turn number, timestamp, seconds, speaker and the side for the account asked about."""
    hits = index.search(parse_question("single sign-on"), [201], DOMAIN, every_term=True)
    by_turn = {h.turn: h for h in hits}
    jane, sam = by_turn[1], by_turn[3]
    assert (jane.recording_id, jane.timestamp, jane.seconds, jane.speaker, jane.side) == (
        201,
        "00:01:10",
        70,
        "Jane Doe",
        "customer",
    )
    assert (sam.speaker, sam.side, sam.timestamp) == ("Sam Rep", "internal", "00:02:40")
    other = index.search(parse_question("single sign-on"), [201], "seller.io", every_term=True)
    assert {h.speaker: h.side for h in other}["Sam Rep"] == "customer", "the side is worked out per account"


def test_every_term_needs_all_concepts_and_any_term_needs_one(index: TranscriptIndex) -> None:
    """'budget and pricing': no turn says both; any-term finds each turn that says either."""
    assert texts(index, "budget and pricing") == []
    assert sorted(texts(index, "budget and pricing", every_term=False)) == sorted([TURNS[2][3], TURNS[6][3]])


def test_search_is_scoped_to_the_meetings_asked_about(index: TranscriptIndex) -> None:
    """Turns of a meeting outside the account's recording ids are never returned."""
    index.add([make_meeting(202, [("Jane Doe", JANE, "00:00:10", "Our budget doubled.")])])
    assert texts(index, "budget", ids=[202]) == ["Our budget doubled."]
    assert texts(index, "budget", ids=[201]) == [TURNS[6][3]]


def test_the_index_persists_skips_unchanged_meetings_and_reindexes_changed_ones(tmp_path: Path) -> None:
    """A second connection to the file sees the turns; an unchanged meeting is not re-indexed, a changed one is."""
    path = str(tmp_path / "engagement.sqlite")
    first = TranscriptIndex(path)
    assert first.add([make_meeting()]) == 1
    first.close()
    again = TranscriptIndex(path)
    assert texts(again, "budget") == [TURNS[6][3]]
    assert again.add([make_meeting()]) == 0
    changed = make_meeting(turns=[("Jane Doe", JANE, "00:00:10", "Our budget was cut in half.")])
    assert again.add([changed]) == 1
    assert texts(again, "budget") == ["Our budget was cut in half."]
    assert texts(again, "single sign-on") == []
    assert again.count() == 1


def test_coverage_counts_held_transcripts_and_their_hours(index: TranscriptIndex) -> None:
    """Coverage of [201, 999]: two meetings asked about, one transcript held, 30 minutes long."""
    coverage = index.coverage([201, 999])
    assert (coverage.meetings, coverage.transcripts, coverage.seconds) == (2, 1, 1800)


def test_clear_forgets_every_meeting(index: TranscriptIndex) -> None:
    """clear() empties the index and says how many meetings went."""
    assert index.clear() == 1
    assert index.count() == 0 and texts(index, "budget") == []


def test_a_meeting_comes_back_whole_for_verification(index: TranscriptIndex) -> None:
    """meeting() rebuilds the meeting with every turn in order (what quotes are checked against)."""
    meeting = index.meeting(201)
    assert meeting is not None and meeting.transcript is not None
    assert [t.text for t in meeting.transcript] == [t[3] for t in TURNS]
    assert meeting.share_url == "https://fathom.video/share/s201" and index.meeting(999) is None


def test_sqlite_without_fts5_fails_with_a_clear_message(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """When SQLite lacks FTS5, opening the index raises SearchUnavailableError that says what to do."""
    monkeypatch.setattr(search_module, "fts5_available", lambda conn: False)
    with pytest.raises(SearchUnavailableError, match="FTS5") as raised:
        TranscriptIndex(str(tmp_path / "x.sqlite"))
    assert "Python" in str(raised.value)
