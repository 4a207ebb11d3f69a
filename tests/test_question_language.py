"""A question in another language than the transcripts gets a note saying which language to ask in, never a guess."""

from __future__ import annotations

from pathlib import Path

import pytest

from engagement.cli import render_answer
from engagement.fathom.client import to_meeting
from engagement.questions.answers import answer_question
from engagement.questions.language import language_name, language_note, question_language
from engagement.questions.search import TranscriptIndex
from tests.fakes.fathom_server import EXAMPLE_MEETING
from tests.test_answers import MEETINGS, meeting, summary

ENGLISH = (("en", 3),)

# What a colleague in each country typed into the box, as they would ask it.
QUESTIONS = [
    ("Was haben sie über die Preise gesagt?", "de"),
    ("Wer ist bei denen für die Beschaffung zuständig?", "de"),
    ("Wann läuft der Vertrag aus, und wollen sie verlängern?", "de"),
    ("Qu'ont-ils dit à propos du prix ?", "fr"),
    ("Quelles sont leurs priorités pour le trimestre ?", "fr"),
    ("¿Qué dijeron sobre la seguridad de los datos?", "es"),
    ("Hanno parlato del rinnovo del contratto?", "it"),
    ("Wat zeiden ze over de implementatie?", "nl"),
    ("O que disseram sobre o orçamento?", "pt"),
    ("Vad sa de om priset och avtalet?", "sv"),
    ("Czy mówili coś o cenie?", "pl"),
    ("Что они сказали о цене лицензий?", "ru"),
    ("価格について何と言っていましたか？", "ja"),
]


@pytest.mark.parametrize(("question", "code"), QUESTIONS)
def test_a_question_in_another_language_is_recognised(question: str, code: str) -> None:
    """Questions written in German, French, Spanish, Italian, Dutch, Portuguese, Swedish, Polish, Russian and
    Japanese are told apart."""
    assert question_language(question) == code


@pytest.mark.parametrize(
    "question",
    [
        "What did they say about pricing?",
        "Who signs off on the budget?",
        "Did they bring up Gong or Chorus?",
        "Any concerns about the timeline?",
        "What did Greg say about the security review?",
    ],
)
def test_an_english_question_is_english(question: str) -> None:
    """Ordinary English questions, names and product words included, are English."""
    assert question_language(question) == "en"


@pytest.mark.parametrize("question", ["SSO?", "pricing", "Kubernetes", "Okta", "GDPR", "procurement process", "Preise"])
def test_a_word_or_two_is_no_language(question: str) -> None:
    """A keyword, an acronym or a product name is not claimed for any language: no note can rest on it."""
    assert question_language(question) is None


def test_the_note_names_both_languages_and_what_to_do() -> None:
    """A German question about English transcripts: the note says so and to ask in English."""
    assert language_note("Was haben sie über die Preise gesagt?", ENGLISH) == (
        "The transcripts are in English; your question looks like German — try asking in English."
    )


def test_no_note_when_the_question_is_in_the_transcripts_language() -> None:
    """English about English, and German about German and English transcripts, need no note."""
    assert language_note("What did they say about pricing?", ENGLISH) == ""
    assert language_note("Was haben sie über die Preise gesagt?", (("en", 2), ("de", 1))) == ""


def test_no_note_when_no_transcript_says_its_language() -> None:
    """Transcripts stored before their language was kept are unknown, not English: nothing to compare with."""
    assert language_note("Was haben sie über die Preise gesagt?", (("", 3),)) == ""
    assert language_note("Was haben sie über die Preise gesagt?", ()) == ""


def test_the_note_says_how_many_transcripts_do_not_say_their_language() -> None:
    """Some transcripts of unknown language: the note says how many, and names the languages known."""
    note = language_note("Qu'ont-ils dit à propos du prix ?", (("en", 2), ("de", 1), ("", 1)))
    assert note == (
        "The transcripts are in English and German (1 of 4 do not say which); your question looks like French — "
        "try asking in English or German."
    )


def test_a_regional_tag_is_its_language() -> None:
    """Fathom's "en-US" is English; a code outside the table is named as Fathom wrote it."""
    assert language_note("What did they say about pricing?", (("en-US", 2),)) == ""
    assert language_name("en-GB") == "English"
    assert language_name("sw") == "the language Fathom calls “sw”"


def test_the_fathom_client_keeps_the_transcript_language() -> None:
    """The meeting Fathom sends keeps its transcript_language; one without it is unknown, never English."""
    assert to_meeting({**EXAMPLE_MEETING, "transcript_language": "de"}).transcript_language == "de"
    bare = {k: v for k, v in EXAMPLE_MEETING.items() if k != "transcript_language"}
    assert to_meeting(bare).transcript_language is None
    assert to_meeting({**EXAMPLE_MEETING, "transcript_language": ""}).transcript_language is None


# ---------------------------------------------------------------- in an answer


@pytest.fixture
def english(tmp_path: Path) -> TranscriptIndex:
    idx = TranscriptIndex(str(tmp_path / "index.sqlite"))
    idx.add(meeting(rid).model_copy(update={"transcript_language": "en"}) for rid in MEETINGS)
    return idx


def test_a_german_question_is_searched_as_typed_and_gets_the_note(english: TranscriptIndex) -> None:
    """A German question ("Was haben sie über die Preise gesagt?") on English transcripts: not found, with what was searched and
    the note to ask in English — never a bare "Not found"."""
    answer = answer_question("Was haben sie über die Preise gesagt?", summary=summary(), index=english)
    assert not answer.found
    assert "preise" in answer.terms and "gesagt" in answer.terms  # searched as it was typed
    assert answer.headline == "Not found in 3 meetings (2 hours) searched."
    assert answer.language_note == (
        "The transcripts are in English; your question looks like German — try asking in English."
    )
    assert answer.language_note in render_answer(answer)


def test_an_english_question_on_english_transcripts_has_no_note(english: TranscriptIndex) -> None:
    """The same question in English is answered, with no note."""
    answer = answer_question("What did they say about pricing?", summary=summary(), index=english)
    assert answer.found and answer.language_note == ""


def test_transcripts_of_unknown_language_get_no_note(tmp_path: Path) -> None:
    """Transcripts indexed without a language: a German question is not found, and no note claims English."""
    idx = TranscriptIndex(str(tmp_path / "index.sqlite"))
    idx.add(meeting(rid) for rid in MEETINGS)
    answer = answer_question("Was haben sie über die Preise gesagt?", summary=summary(), index=idx)
    assert not answer.found and answer.language_note == ""


def test_a_transcript_indexed_before_its_language_was_kept_learns_it(tmp_path: Path) -> None:
    """Adding the same transcript again with its language labels the held one (its turns are not rewritten)."""
    idx = TranscriptIndex(str(tmp_path / "index.sqlite"))
    idx.add(meeting(rid) for rid in MEETINGS)
    assert idx.coverage(list(MEETINGS)).languages == (("", 3),)
    assert idx.add([meeting(301).model_copy(update={"transcript_language": "en"})]) == 0
    assert idx.coverage(list(MEETINGS)).languages == (("", 2), ("en", 1))
