"""Answering questions: offline counts against hand counts, the model path's quote checks, "not found", the store."""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

import engagement
from engagement.analysis.openai_analyzer import OpenAIAnalyzer
from engagement.errors import InvalidQuestionError, SearchUnavailableError
from engagement.jobs.service import InlineExecutor
from engagement.models import (
    EngagementSummary,
    Invitee,
    JobStatus,
    Meeting,
    MeetingRef,
    Recorder,
    TranscriptTurn,
    utcnow,
)
from engagement.questions.answers import (
    MAX_QUESTION_CHARS,
    AskOptions,
    QuestionRecord,
    answer_question,
    check_question,
    question_key,
)
from engagement.questions.search import TranscriptIndex
from engagement.runtime import Runtime, create_runtime
from engagement.settings import Settings
from tests.fakes.openai_server import INVENTED_QUOTE, FakeOpenAI
from tests.support.cli import run_cli
from tests.support.openai_fixtures import FAKE_OPENAI_KEY
from tests.support.waits import wait_until

DOMAIN = "acme.com"
JANE = "jane@acme.com"
DAY = datetime(2026, 3, 2, 15, 0, tzinfo=UTC)

# Three meetings, counted by hand: "pricing" (price, prices, pricing) is said in 3 turns of 2 meetings,
# first on 2026-03-02 (A) and last on 2026-03-16 (B); C never mentions it. A runs 30 min, B 60, C 30: 2.0 hours.
MEETINGS = {
    301: (
        "A: discovery",
        DAY,
        30,
        [
            ("Sam Rep", "sam@seller.io", "00:00:05", "Thanks for joining today."),
            ("Jane Doe", JANE, "00:01:10", "The price per seat is our biggest worry this year."),
            ("Jane Doe", JANE, "00:02:00", "Our board wants better forecasting by the summer."),
            ("Sam Rep", "sam@seller.io", "00:03:00", "Our prices drop with volume, so that should help."),
        ],
    ),
    302: (
        "B: commercials",
        DAY + timedelta(days=14),
        60,
        [
            ("Jane Doe", JANE, "00:00:30", "Let's talk about pricing for the second year."),
            ("Sam Rep", "sam@seller.io", "00:05:00", "I'll send the order form tomorrow."),
        ],
    ),
    303: (
        "C: onboarding",
        DAY + timedelta(days=28),
        30,
        [("Jane Doe", JANE, "00:00:20", "We need single sign-on before go-live, through Okta.")],
    ),
}


def meeting(rid: int) -> Meeting:
    title, start, minutes, turns = MEETINGS[rid]
    return Meeting(
        recording_id=rid,
        title=title,
        url=f"https://fathom.video/calls/{rid}",
        share_url=f"https://fathom.video/share/s{rid}",
        created_at=start,
        recording_start_time=start,
        recording_end_time=start + timedelta(minutes=minutes),
        invitees=(Invitee(name="Jane Doe", email=JANE, email_domain=DOMAIN, is_external=True),),
        recorded_by=Recorder(name="Sam Rep", email="sam@seller.io"),
        transcript=tuple(TranscriptTurn(speaker=s, email=e, timestamp=t, text=x) for s, e, t, x in turns),
    )


def summary() -> EngagementSummary:
    refs = []
    for rid, (title, start, minutes, _) in MEETINGS.items():
        m = meeting(rid)
        refs.append(
            MeetingRef(
                recording_id=rid,
                title=title,
                date=start.date().isoformat(),
                started_at=start.isoformat(),
                duration_min=minutes,
                url=m.url,
                share_url=m.share_url,
                analysed=True,
            )
        )
    return EngagementSummary(domain=DOMAIN, company="Acme", meetings_count=3, meetings=refs)


@pytest.fixture
def index(tmp_path: Path) -> Iterator[TranscriptIndex]:
    idx = TranscriptIndex(str(tmp_path / "index.sqlite"))
    idx.add(meeting(rid) for rid in MEETINGS)
    yield idx
    idx.close()


def transcript_text(rid: int) -> str:
    return " ".join(t[3] for t in MEETINGS[rid][3])


# ---------------------------------------------------------------- offline


def test_offline_counts_match_the_hand_counts(index: TranscriptIndex) -> None:
    """'pricing': 3 turns in 2 of 3 meetings, first 2026-03-02, last 2026-03-16, every turn quoted verbatim."""
    answer = answer_question("What did they say about pricing?", summary=summary(), index=index)
    assert answer.found and answer.analyzer == "offline"
    assert (answer.mentions.meetings, answer.mentions.turns) == (2, 3)
    assert (answer.mentions.first, answer.mentions.last) == ("2026-03-02", "2026-03-16")
    assert (answer.searched.meetings, answer.searched.transcripts, answer.searched.hours) == (3, 3, 2.0)
    assert [p.text for p in answer.points] == [
        "A: discovery (2 Mar 2026): 2 turns mention it.",
        "B: commercials (16 Mar 2026): 1 turn mentions it.",
    ]
    quotes = [(e.recording_id, e.timestamp, e.quote, e.speaker) for p in answer.points for e in p.evidence]
    assert quotes == [
        (301, "00:01:10", "The price per seat is our biggest worry this year.", "Jane Doe"),
        (301, "00:03:00", "Our prices drop with volume, so that should help.", "Sam Rep"),
        (302, "00:00:30", "Let's talk about pricing for the second year.", "Jane Doe"),
    ]
    assert all(e.verified and e.url and "timestamp=" in e.url for p in answer.points for e in p.evidence)
    assert answer.headline == "Mentioned in 2 of 3 meetings (3 turns), first on 2 Mar 2026, last on 16 Mar 2026."


def test_not_found_says_how_much_was_searched_and_lists_the_closest_turns(index: TranscriptIndex) -> None:
    """A question nobody raised: not found in 3 meetings (2 hours), with the closest turns, quoted."""
    answer = answer_question("Did they mention pricing on Mars?", summary=summary(), index=index)
    assert not answer.found and answer.points == []
    assert answer.headline == "Not found in 3 meetings (2 hours) searched."
    assert (answer.mentions.meetings, answer.mentions.turns) == (0, 0)
    assert answer.closest and {e.recording_id for e in answer.closest} <= {301, 302}
    for ev in answer.closest:
        assert ev.quote in transcript_text(ev.recording_id)


def test_the_closest_turns_share_a_word_with_the_question(index: TranscriptIndex) -> None:
    """A turn found only through a stem ("price" for "pricing") is not listed as a closest mention."""
    answer = answer_question("Did they mention pricing on Mars?", summary=summary(), index=index)
    assert not answer.found
    assert [e.quote for e in answer.closest] == ["Let's talk about pricing for the second year."]


def test_not_found_without_any_close_turn_has_no_closest(index: TranscriptIndex) -> None:
    """A question whose words appear nowhere: not found, and no closest turns."""
    answer = answer_question("What about the weather on Mars?", summary=summary(), index=index)
    assert not answer.found and answer.closest == []


def test_not_found_says_when_some_transcripts_were_not_searched(tmp_path: Path) -> None:
    """With only meeting A indexed, 'not found' names the transcripts of 1 of 3 meetings."""
    idx = TranscriptIndex(str(tmp_path / "partial.sqlite"))
    idx.add([meeting(301)])
    answer = answer_question("single sign-on", summary=summary(), index=idx)
    assert answer.headline == "Not found in the transcripts of 1 of 3 meetings (0.5 hours) searched."


def test_the_answer_json_has_the_documented_fields(index: TranscriptIndex) -> None:
    """The answer serialises with question, found, points, searched, mentions and analyzer."""
    data = answer_question("pricing", summary=summary(), index=index).model_dump(mode="json")
    assert {"question", "found", "points", "searched", "mentions", "analyzer"} <= set(data)
    assert set(data["searched"]) >= {"meetings", "transcripts", "hours"}
    assert set(data["mentions"]) >= {"meetings", "turns"}
    assert {"recording_id", "timestamp", "quote", "speaker", "url"} <= set(data["points"][0]["evidence"][0])


# ---------------------------------------------------------------- with the model (the fake server)


def test_the_model_path_keeps_verified_quotes_and_drops_an_invented_one(
    index: TranscriptIndex, openai_server: FakeOpenAI, make_openai_analyzer: Callable[..., OpenAIAnalyzer]
) -> None:
    """The model cites turns; its invented quote is dropped and counted, the real quotes stay."""
    openai_server.invent_quote_next()
    answer = answer_question(
        "What did they say about pricing?", summary=summary(), index=index, model=make_openai_analyzer()
    )
    assert answer.found and answer.analyzer == "openai:gpt-4.1-mini"
    assert answer.dropped == 1
    quotes = [e.quote for p in answer.points for e in p.evidence]
    assert INVENTED_QUOTE not in quotes and "They have signed with a competitor." not in [p.text for p in answer.points]
    assert quotes and all(
        q in transcript_text(e.recording_id)
        for p in answer.points
        for q, e in zip([x.quote for x in p.evidence], p.evidence, strict=True)
    )
    request = openai_server.requests[-1]
    assert request["response_format"]["json_schema"]["name"] == "AccountAnswer"
    user = request["messages"][-1]["content"]
    assert "[T1]" in user and "Question: What did they say about pricing?" in user


def test_a_quote_cited_under_a_wrong_turn_id_is_kept_with_the_turn_that_says_it(
    index: TranscriptIndex, openai_server: FakeOpenAI, make_openai_analyzer: Callable[..., OpenAIAnalyzer]
) -> None:
    """Right words under a turn id that was never sent (T99) are attributed to the retrieved turn that says them."""

    def wrong_ids(body: dict[str, Any]) -> dict[str, Any]:
        return {
            "points": [
                {"text": "They love the price.", "citations": [{"turn_id": "T1", "quote": INVENTED_QUOTE}]},
                {
                    "text": "Seat price is their biggest worry.",
                    "citations": [{"turn_id": "T99", "quote": "The price per seat is our biggest worry this year."}],
                },
                {
                    "text": "Second-year pricing is open.",
                    "citations": [{"turn_id": "T1", "quote": "let's talk about pricing for the second year"}],
                },
            ]
        }

    openai_server.respond_with(wrong_ids)
    answer = answer_question("pricing", summary=summary(), index=index, model=make_openai_analyzer())
    assert answer.found and answer.note == ""
    assert [p.text for p in answer.points] == ["Seat price is their biggest worry.", "Second-year pricing is open."]
    cited = [(e.recording_id, e.timestamp, e.quote, e.side) for p in answer.points for e in p.evidence]
    assert cited == [
        (301, "00:01:10", "The price per seat is our biggest worry this year.", "customer"),
        (302, "00:00:30", "Let's talk about pricing for the second year.", "customer"),
    ]
    assert (answer.dropped, answer.reattributed) == (1, 2)


def test_when_no_quote_of_the_model_checks_out_the_answer_is_the_verbatim_mentions(
    index: TranscriptIndex, openai_server: FakeOpenAI, make_openai_analyzer: Callable[..., OpenAIAnalyzer]
) -> None:
    """Wrong words under every citation: never "not found" while 3 turns say "pricing"; the note says why."""

    def wrong_words(body: dict[str, Any]) -> dict[str, Any]:
        return {
            "points": [
                {"text": "They love the price.", "citations": [{"turn_id": "T1", "quote": INVENTED_QUOTE}]},
                {
                    "text": "Pricing is fine.",
                    "citations": [{"turn_id": "T2", "quote": "pricing is totally fine by us"}],
                },
            ]
        }

    openai_server.respond_with(wrong_words)
    answer = answer_question("pricing", summary=summary(), index=index, model=make_openai_analyzer())
    assert answer.found and answer.dropped == 2
    assert "Not found" not in answer.headline
    assert answer.headline == "Mentioned in 2 of 3 meetings (3 turns), first on 2 Mar 2026, last on 16 Mar 2026."
    assert answer.note.startswith(
        "The model's answer could not be checked: 2 quotes it gave were not in the transcripts."
    )
    quotes = [(e.quote, e.side) for p in answer.points for e in p.evidence]
    assert quotes == [
        ("The price per seat is our biggest worry this year.", "customer"),
        ("Our prices drop with volume, so that should help.", "internal"),
        ("Let's talk about pricing for the second year.", "customer"),
    ]


def test_a_model_that_answers_nothing_still_shows_the_mentions(
    index: TranscriptIndex, openai_server: FakeOpenAI, make_openai_analyzer: Callable[..., OpenAIAnalyzer]
) -> None:
    """No points from the model while turns say the words: the mentions, with a note that the model gave none."""
    openai_server.respond_with(lambda body: {"points": []})
    answer = answer_question("pricing", summary=summary(), index=index, model=make_openai_analyzer())
    assert answer.found and answer.note.startswith("The model gave no answer from these turns.")


def test_wrong_words_and_no_mention_of_every_term_is_not_found_with_a_note(
    index: TranscriptIndex, openai_server: FakeOpenAI, make_openai_analyzer: Callable[..., OpenAIAnalyzer]
) -> None:
    """Only some words found (no turn says them all) and the model's quote is not there: not found, said why."""
    openai_server.respond_with(
        lambda body: {"points": [{"text": "x", "citations": [{"turn_id": "T1", "quote": INVENTED_QUOTE}]}]}
    )
    answer = answer_question("pricing on Mars", summary=summary(), index=index, model=make_openai_analyzer())
    assert not answer.found and answer.headline == "Not found in 3 meetings (2 hours) searched."
    assert answer.note.startswith("The model's answer could not be checked: 1 quote it gave was not")
    assert answer.closest and all(e.side for e in answer.closest)


def test_the_same_quote_cited_twice_is_shown_once(
    index: TranscriptIndex, openai_server: FakeOpenAI, make_openai_analyzer: Callable[..., OpenAIAnalyzer]
) -> None:
    """Two citations of the same words (under two turn ids) make one quote."""
    quote = "The price per seat is our biggest worry this year."
    openai_server.respond_with(
        lambda body: {
            "points": [
                {
                    "text": "Seat price worries them.",
                    "citations": [{"turn_id": "T1", "quote": quote}, {"turn_id": "T2", "quote": quote.lower()}],
                }
            ]
        }
    )
    answer = answer_question("price per seat", summary=summary(), index=index, model=make_openai_analyzer())
    assert [e.quote for e in answer.points[0].evidence] == [quote]


def test_the_model_is_not_called_when_no_turn_matches(
    index: TranscriptIndex, openai_server: FakeOpenAI, make_openai_analyzer: Callable[..., OpenAIAnalyzer]
) -> None:
    """Nothing to read: no model call, and "not found"."""
    answer = answer_question("weather on Mars", summary=summary(), index=index, model=make_openai_analyzer())
    assert not answer.found and openai_server.requests == []


def test_the_model_quote_from_another_turn_of_the_meeting_gets_that_turns_moment(
    index: TranscriptIndex, openai_server: FakeOpenAI, make_openai_analyzer: Callable[..., OpenAIAnalyzer]
) -> None:
    """A verbatim quote cited under the wrong turn of the right meeting is kept with the moment it was really said."""
    openai_server.respond_with(
        lambda body: {
            "points": [
                {
                    "text": "The board wants forecasting.",
                    "citations": [{"turn_id": "T1", "quote": "our board wants better forecasting by the summer"}],
                }
            ]
        }
    )
    answer = answer_question("price per seat", summary=summary(), index=index, model=make_openai_analyzer())
    [ev] = answer.points[0].evidence
    assert (ev.recording_id, ev.timestamp, ev.quote) == (
        301,
        "00:02:00",
        "Our board wants better forecasting by the summer.",
    )


# ---------------------------------------------------------------- input


@pytest.mark.parametrize(
    ("question", "message"),
    [
        ("", "Type a question"),
        ("   \n ", "Type a question"),
        (
            "x" * (MAX_QUESTION_CHARS + 1),
            f"limited to {MAX_QUESTION_CHARS} characters and this one has {MAX_QUESTION_CHARS + 1}",
        ),
        ("What did they say about it?", "no words to search for"),
        ('" * - AND OR (', "no words to search for"),
    ],
)
def test_bad_questions_get_a_message_that_says_what_to_do(question: str, message: str) -> None:
    """Empty, over 500 characters, or only question words and operators: InvalidQuestionError with a clear message."""
    with pytest.raises(InvalidQuestionError, match=message):
        check_question(question)


def test_a_question_of_exactly_the_limit_is_accepted() -> None:
    """500 characters is allowed (white space tidied first)."""
    text = ("pricing " * 100)[:MAX_QUESTION_CHARS]
    assert check_question(f"  {text}  ") == text.strip()


# ---------------------------------------------------------------- the store, the service, the CLI


@pytest.fixture
def runtime(tmp_path: Path) -> Iterator[Runtime]:
    rt = create_runtime(Settings(engagement_db=str(tmp_path / "engagement.sqlite")), executor=InlineExecutor())
    yield rt
    rt.store.close()


def questions(rt: Runtime) -> list[str]:
    return [key for key in rt.store.keys("question:")]


def test_a_question_on_an_account_with_no_summary_is_refused_and_nothing_is_stored(runtime: Runtime) -> None:
    """No summary of acmecorp.com yet: a message to generate one first, and no question record."""
    with pytest.raises(InvalidQuestionError, match="Generate one first"):
        runtime.questions.ask("acmecorp.com", "What about SSO?")
    with pytest.raises(InvalidQuestionError, match="Type a question"):
        runtime.questions.ask("acmecorp.com", "")
    assert questions(runtime) == []


def test_the_demo_account_answers_single_sign_on_and_stores_the_question(runtime: Runtime) -> None:
    """On acmecorp.com, 'single sign-on' is found with verified quotes; the record sits under question:{domain}:{id}."""
    run_id = runtime.jobs.start("acmecorp.com")
    record = runtime.questions.ask("acmecorp.com", "What did they say about single sign-on?")
    assert record.status is JobStatus.COMPLETE and record.run_id == run_id
    assert questions(runtime) == [question_key("acmecorp.com", record.id)]
    answer = record.answer
    assert answer is not None and answer.found and answer.searched.meetings == 13
    job = runtime.jobs.get("acmecorp.com", run_id)
    assert job.summary is not None
    for point in answer.points:
        for ev in point.evidence:
            assert "sso" in ev.quote.lower() and ev.verified
    not_found = runtime.questions.ask("acmecorp.com", "What did they say about the weather on Mars?")
    assert not_found.answer is not None and not not_found.answer.found
    assert not_found.answer.headline.startswith("Not found in 13 meetings (")


def test_an_identical_question_on_an_unchanged_account_is_answered_from_the_store(runtime: Runtime) -> None:
    """The same words (case and punctuation aside) about the same transcripts reuse the stored answer; a changed transcript does not."""
    runtime.jobs.start("acmecorp.com")
    first = runtime.questions.ask("acmecorp.com", "What about SSO?")
    again = runtime.questions.ask("acmecorp.com", "what about sso")
    assert again.id == first.id and len(questions(runtime)) == 1
    assert again.asked_at > first.created_at
    runtime.jobs.start("acmecorp.com")  # a new run over the same meetings: still the same account
    assert runtime.questions.ask("acmecorp.com", "What about SSO?").id == first.id
    assert runtime.search is not None
    changed = runtime.search.meeting(131770660)
    assert changed is not None and changed.transcript
    turn = changed.transcript[0].model_copy(update={"text": "A new sentence about SSO rollout dates."})
    runtime.search.add([changed.model_copy(update={"transcript": (turn, *changed.transcript[1:])})])
    fresh = runtime.questions.ask("acmecorp.com", "What about SSO?")
    assert fresh.id != first.id and len(questions(runtime)) == 2
    assert [r.id for r in runtime.questions.list("acmecorp.com")] == [fresh.id, first.id]


def test_a_question_is_kept_with_its_asker_and_listed_only_to_them(runtime: Runtime) -> None:
    """Each record carries who asked it; an asker's list holds their own questions only; the admin's holds all."""
    runtime.jobs.start("acmecorp.com")
    ana = runtime.questions.ask("acmecorp.com", "pricing", asked_by="browser:" + "a" * 32)
    ben = runtime.questions.ask("acmecorp.com", "security review", asked_by="user:ben@ourco.io")
    assert runtime.store.get(ana.key)["asked_by"] == "browser:" + "a" * 32
    assert [r.id for r in runtime.questions.list("acmecorp.com", asked_by="browser:" + "a" * 32)] == [ana.id]
    assert [r.id for r in runtime.questions.list("acmecorp.com", asked_by="user:ben@ourco.io")] == [ben.id]
    assert runtime.questions.list("acmecorp.com", asked_by="browser:" + "b" * 32) == []
    assert {r.id for r in runtime.questions.list("acmecorp.com")} == {ana.id, ben.id}
    with pytest.raises(ValueError, match="nobody"):
        runtime.questions.list("acmecorp.com", asked_by="")


def test_the_same_question_from_another_asker_gets_a_record_of_their_own_with_the_stored_answer(
    runtime: Runtime,
) -> None:
    """Asking what someone else asked reuses their answer (no new work) in the second asker's own record."""
    runtime.jobs.start("acmecorp.com")
    first = runtime.questions.ask("acmecorp.com", "What about SSO?", asked_by="browser:" + "a" * 32)
    second = runtime.questions.ask("acmecorp.com", "what about sso", asked_by="browser:" + "b" * 32)
    assert second.id != first.id and second.asked_by == "browser:" + "b" * 32
    assert second.status is JobStatus.COMPLETE and second.answer == first.answer
    again = runtime.questions.ask("acmecorp.com", "What about SSO?", asked_by="browser:" + "b" * 32)
    assert again.id == second.id and len(questions(runtime)) == 2


def test_a_question_stored_before_questions_had_owners_is_listed_to_nobody_but_the_admin(runtime: Runtime) -> None:
    """A record without ``asked_by`` (written by an older version) is in no asker's list, but in the admin's."""
    runtime.jobs.start("acmecorp.com")
    legacy = runtime.questions.ask("acmecorp.com", "Who is the decision maker?", asked_by="browser:" + "a" * 32)
    value = runtime.store.get(legacy.key)
    del value["asked_by"]
    runtime.store.set(legacy.key, value)
    assert runtime.questions.list("acmecorp.com", asked_by="browser:" + "a" * 32) == []
    [listed] = runtime.questions.list()
    assert listed.id == legacy.id and listed.asked_by == ""
    assert runtime.questions.purge() == 1


def test_questions_are_listed_and_purged(runtime: Runtime) -> None:
    """Purge by age keeps newer questions; purge of a domain removes all of its questions."""
    runtime.jobs.start("acmecorp.com")
    runtime.jobs.start("globex.io")
    old = runtime.questions.ask("acmecorp.com", "pricing")
    value = runtime.store.get(old.key)
    value["asked_at"] = value["created_at"] = (utcnow() - timedelta(days=30)).strftime("%Y-%m-%dT%H:%M:%S.%fZ")
    runtime.store.set(old.key, value)
    new = runtime.questions.ask("acmecorp.com", "security review")
    other = runtime.questions.ask("globex.io", "budget")
    assert [r.id for r in runtime.questions.list()][-1] == old.id and runtime.questions.count() == 3
    assert runtime.questions.purge(older_than=timedelta(days=7)) == 1
    assert {r.id for r in runtime.questions.list()} == {new.id, other.id}
    assert runtime.questions.purge(domain="globex.io") == 1
    assert [r.id for r in runtime.questions.list()] == [new.id]
    assert runtime.questions.purge() == 1 and runtime.questions.count() == 0


def test_a_model_answer_runs_in_the_background_and_ends_complete(tmp_path: Path) -> None:
    """With a key the question is stored processing at once and a worker thread completes it."""
    with FakeOpenAI(api_key=FAKE_OPENAI_KEY, latency_s=0.2) as model, ThreadPoolExecutor(2) as pool:
        settings = Settings(
            engagement_db=str(tmp_path / "e.sqlite"),
            openai_api_key=FAKE_OPENAI_KEY,
            openai_base_url=model.base_url,
            openai_max_retries=0,
            openai_timeout_s=10,
        )
        rt = create_runtime(settings, executor=pool)
        run_id = rt.jobs.start("acmecorp.com")
        wait_until(lambda: rt.jobs.get("acmecorp.com", run_id).status.terminal, "the summary")
        calls = len(model.requests)
        record = rt.questions.ask("acmecorp.com", "What did they say about single sign-on?")
        assert record.status is JobStatus.PROCESSING and record.answer is None
        wait_until(lambda: rt.questions.get("acmecorp.com", record.id).status.terminal, "the answer")  # type: ignore[union-attr]
        got = rt.questions.get("acmecorp.com", record.id)
        assert got is not None and got.status is JobStatus.COMPLETE and got.answer is not None
        assert got.answer.found and got.answer.analyzer == f"openai:{settings.openai_model}"
        assert len(model.requests) == calls + 1
        again = rt.questions.ask("acmecorp.com", "What did they say about single sign-on?")
        assert again.status is JobStatus.COMPLETE and len(model.requests) == calls + 1, "answered from the store"
        assert model.errors == []
        rt.store.close()


def test_a_failing_model_ends_the_question_in_error_with_its_message(tmp_path: Path) -> None:
    """A 401 from the model server ends the question ``error`` with the analyser's message, never processing."""
    with FakeOpenAI(api_key="sk-the-right-one") as model:
        settings = Settings(
            engagement_db=str(tmp_path / "e.sqlite"),
            openai_api_key="sk-wrong-key-1234",
            openai_base_url=model.base_url,
            openai_max_retries=0,
        )
        rt = create_runtime(settings, executor=InlineExecutor())
        rt.jobs.start("acmecorp.com")  # the summary fails too (bad key): seed a complete one offline instead
        offline = create_runtime(Settings(engagement_db=settings.engagement_db), executor=InlineExecutor())
        offline.jobs.start("acmecorp.com")
        record = rt.questions.ask("acmecorp.com", "single sign-on")
        got = rt.questions.get("acmecorp.com", record.id)
        assert got is not None and got.status is JobStatus.ERROR and "rejected the API key" in (got.error or "")
        assert "sk-wrong-key-1234" not in (got.error or "")


def test_clearing_the_analysis_cache_clears_the_index_and_the_next_run_fills_it_again(runtime: Runtime) -> None:
    """cache clear empties the search index too; the next summary indexes every transcript again."""
    runtime.jobs.start("acmecorp.com")
    assert runtime.search is not None and runtime.search.count() == 13
    runtime.cache.clear()
    assert runtime.search.count() == 0
    runtime.jobs.start("acmecorp.com")
    assert runtime.search.count() == 13


def test_a_warm_cache_without_the_index_fetches_the_transcripts_and_fills_it(runtime: Runtime) -> None:
    """Analyses cached before the index held them: the run fetches their transcripts as if uncached, and indexes them."""
    runtime.jobs.start("acmecorp.com")
    assert runtime.search is not None
    warm = runtime.jobs.get("acmecorp.com", runtime.jobs.start("acmecorp.com")).stats.fathom_requests
    runtime.search.clear()  # as a file from before search existed: cached analyses, empty index
    refill = runtime.jobs.get("acmecorp.com", runtime.jobs.start("acmecorp.com"))
    assert refill.stats.llm_calls == 0 and refill.stats.cached_meetings == 13
    assert runtime.search.count() == 13
    runtime.cache.clear()  # no analyses, no index, the meeting index kept: every transcript is fetched
    uncached = runtime.jobs.get("acmecorp.com", runtime.jobs.start("acmecorp.com")).stats.fathom_requests
    assert warm < refill.stats.fathom_requests == uncached


def test_only_the_transcripts_the_index_lacks_are_fetched_again(runtime: Runtime) -> None:
    """One meeting missing from the index (an add that failed): the next run fetches that transcript alone."""
    first = runtime.jobs.get("acmecorp.com", runtime.jobs.start("acmecorp.com"))
    assert runtime.search is not None and first.summary is not None
    held = [runtime.search.meeting(ref.recording_id) for ref in first.summary.meetings]
    assert all(m is not None and m.transcript for m in held)
    warm = runtime.jobs.get("acmecorp.com", runtime.jobs.start("acmecorp.com")).stats.fathom_requests
    runtime.search.clear()
    runtime.search.add([m for m in held[1:] if m is not None])
    assert runtime.search.count() == 12
    again = runtime.jobs.get("acmecorp.com", runtime.jobs.start("acmecorp.com"))
    assert again.stats.llm_calls == 0 and again.stats.fathom_requests == warm + 1  # its transcript, by id
    assert runtime.search.count() == 13


def test_without_fts5_summaries_still_run_and_questions_say_why(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """No FTS5: the summary completes, and asking raises SearchUnavailableError that names FTS5."""
    from engagement.questions import search as search_module

    monkeypatch.setattr(search_module, "fts5_available", lambda conn: False)
    rt = create_runtime(Settings(engagement_db=str(tmp_path / "nofts.sqlite")), executor=InlineExecutor())
    assert rt.search is None and "FTS5" in rt.search_error
    run_id = rt.jobs.start("acmecorp.com")
    assert rt.jobs.get("acmecorp.com", run_id).status is JobStatus.COMPLETE
    with pytest.raises(SearchUnavailableError, match="FTS5"):
        rt.questions.ask("acmecorp.com", "pricing")
    assert rt.store.keys("question:") == []
    rt.store.close()


def test_engagement_ask_answers_with_a_run_id(runtime: Runtime) -> None:
    """engagement.ask(domain, question, options) answers from the summary the options name."""
    run_id = runtime.jobs.start("acmecorp.com")
    answer = engagement.ask("https://www.acmecorp.com", "SSO", AskOptions(run_id=run_id), runtime=runtime)
    assert answer.found and answer.run_id == run_id and answer.domain == "acmecorp.com"
    stored = [QuestionRecord.model_validate(v) for _, v in runtime.store.items("question:")]
    assert [r.answer.question for r in stored if r.answer] == ["SSO"]


def test_the_cli_answers_and_says_not_found(capsys: pytest.CaptureFixture[str]) -> None:
    """`ask` after `summarize`: SSO quotes in JSON, "not found" with the searched figures in text, bad input exits 2."""
    code, _, err = run_cli(capsys, "ask", "acmecorp.com", "What about SSO?")
    assert code == 2 and "Generate one first" in err
    assert run_cli(capsys, "summarize", "acmecorp.com")[0] == 0
    code, out, err = run_cli(capsys, "ask", "acmecorp.com", "What did they say about single sign-on?", "--json")
    assert code == 0, err
    data = json.loads(out)
    assert data["found"] and data["searched"]["meetings"] == 13 and data["analyzer"] == "offline"
    assert all("sso" in e["quote"].lower() for p in data["points"] for e in p["evidence"])
    assert {e["side"] for p in data["points"] for e in p["evidence"]} <= {"customer", "internal"}
    assert all(e["side"] for p in data["points"] for e in p["evidence"])
    code, out, _ = run_cli(capsys, "ask", "acmecorp.com", "What did they say about single sign-on?")
    quoted = [line for line in out.splitlines() if line.startswith('      "')]
    assert quoted and all("(Customer)," in line or "(Our team)," in line for line in quoted)
    assert not re.search(r"\d{4}-\d{2}-\d{2}", out), "dates read 17 Sep 2026, never ISO"
    code, out, _ = run_cli(capsys, "ask", "acmecorp.com", 'the weather "on" Mars NEAR -x*')
    assert code == 0 and "Not found in 13 meetings (" in out
    code, _, err = run_cli(capsys, "ask", "acmecorp.com", "x" * 501)
    assert code == 2 and "limited to 500 characters" in err


def test_the_cli_uses_the_model_when_a_key_is_set(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    """With OPENAI_API_KEY the CLI's answer comes from the model, quotes verified, and says which model."""
    with FakeOpenAI(api_key="sk-cli-ask") as model:
        monkeypatch.setenv("OPENAI_API_KEY", "sk-cli-ask")
        monkeypatch.setenv("OPENAI_BASE_URL", model.base_url)
        assert run_cli(capsys, "summarize", "acmecorp.com")[0] == 0
        code, out, err = run_cli(capsys, "ask", "acmecorp.com", "What did they say about single sign-on?", "--json")
        assert code == 0, err
        data = json.loads(out)
        assert data["found"] and data["analyzer"] == f"openai:{Settings.from_env().openai_model}"
        assert data["points"] and all(e["verified"] for p in data["points"] for e in p["evidence"])
        assert model.errors == []


def test_a_search_index_that_cannot_be_written_does_not_fail_the_summary(
    runtime: Runtime, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A StoreError while indexing is logged; the summary completes, and the next run fills the index."""
    from engagement.errors import StoreError

    assert runtime.search is not None
    real_add = runtime.search.add

    def locked(meetings: Any) -> int:
        raise StoreError("database is locked")

    monkeypatch.setattr(runtime.search, "add", locked)
    run_id = runtime.jobs.start("acmecorp.com")
    assert runtime.jobs.get("acmecorp.com", run_id).status is JobStatus.COMPLETE
    assert runtime.search.count() == 0
    monkeypatch.setattr(runtime.search, "add", real_add)
    runtime.jobs.start("acmecorp.com")
    assert runtime.search.count() == 13


def test_a_search_index_that_cannot_be_read_does_not_fail_the_summary(
    runtime: Runtime, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A StoreError asking the index what it lacks is logged; the summary completes from the cache."""
    from engagement.errors import StoreError

    runtime.jobs.start("acmecorp.com")
    assert runtime.search is not None

    def locked(recording_ids: Any) -> set[int]:
        raise StoreError("database is locked")

    monkeypatch.setattr(runtime.search, "lacking", locked)
    record = runtime.jobs.get("acmecorp.com", runtime.jobs.start("acmecorp.com"))
    assert record.status is JobStatus.COMPLETE and record.stats.cached_meetings == 13


@pytest.mark.parametrize("dead", ["owner", "silence"])
def test_a_question_left_pending_by_a_dead_process_ends_in_error(runtime: Runtime, dead: str) -> None:
    """A processing question whose process is gone, or silent past every model time-out, reads as interrupted."""
    import socket

    runtime.jobs.start("acmecorp.com")
    record = runtime.questions.ask("acmecorp.com", "pricing")
    value = runtime.store.get(record.key)
    value.update(status="processing", answer=None)
    if dead == "owner":
        value["owner"] = f"{socket.gethostname()}:999999999:gone"  # this host, a pid that cannot exist
    else:
        value["updated_at"] = (utcnow() - timedelta(hours=2)).strftime("%Y-%m-%dT%H:%M:%S.%fZ")
    runtime.store.set(record.key, value)
    got = runtime.questions.get("acmecorp.com", record.id)
    assert got is not None and got.status is JobStatus.ERROR
    assert got.error == (
        "The answer was interrupted (the app answering it restarted or crashed). Ask again."
        if dead == "owner"
        else "The answer was interrupted (nothing was heard from it for 2 hours, past every model time-out). Ask again."
    )
    assert runtime.store.get(record.key)["status"] == "error"


def test_every_quote_of_an_answer_says_whose_side_said_it(index: TranscriptIndex) -> None:
    """Jane (at the customer's domain) is the customer; Sam, who recorded the meetings, is ours, never the customer."""
    from engagement.models import Side

    answer = answer_question("What did they say about pricing?", summary=summary(), index=index)
    sides = {(e.speaker, e.side) for p in answer.points for e in p.evidence}
    assert sides == {("Jane Doe", Side.CUSTOMER), ("Sam Rep", Side.INTERNAL)}
    missing = answer_question("What about the weather on Mars?", summary=summary(), index=index)
    assert all(e.side is not None for e in missing.closest)
