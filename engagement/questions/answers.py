"""Questions about an account, answered from its meetings' transcripts with verified quotes, or "not found".

``answer_question()`` is the pure-ish core (index and model passed in); ``QuestionService`` checks the
input, answers offline at once or with the model in the background, and keeps every question under
``question:{domain}:{id}`` in the store; ``ask()`` is the one-call form the CLI uses.

With a model: the best-matching turns (BM25) and the account's themes go to the model, which must
cite turn ids (``T3``) and copy a quote from each; every quote is then checked in code against the
meeting's transcript (``verify_meeting_insights``, the pipeline's own check). A quote that is not in
the turn it cites but is word for word in another retrieved turn is attributed to that turn (models
mix up turn ids); a point left with no quote is dropped. When nothing of the model's survives, or it
answered nothing, while turns mention every word of the question, the answer is those turns quoted
verbatim (as offline) with a note saying the model's answer could not be checked. Offline: the turns
that mention every term of the question, grouped by meeting and quoted verbatim, with counts and
dates. "Not found" only when no turn mentions every word; it always says how much was searched and
lists the closest turns. Every quote carries its speaker's side for the account asked about. A question
is searched as typed; when it looks like another language than the transcripts', the answer carries a
note saying which language to ask in (``engagement.questions.language``).
"""

from __future__ import annotations

import builtins
import hashlib
import logging
import re
import uuid
from collections.abc import Callable, Sequence
from concurrent.futures import Executor
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any

from pydantic import BaseModel, Field

from engagement.account.domains import Account
from engagement.analysis.verify import MIN_QUOTE_CHARS, evidence_key, fold, verify_meeting_insights, with_side
from engagement.errors import EngagementError, InvalidQuestionError, SearchUnavailableError
from engagement.models import (
    EngagementSummary,
    Evidence,
    Insight,
    JobRecord,
    JobStatus,
    Meeting,
    MeetingInsights,
    UTCDateTime,
    utcnow,
)
from engagement.questions.language import language_note
from engagement.questions.search import Hit, TranscriptSearch, parse_question, shared_words
from engagement.storage.sqlite import KVStore
from engagement.wording import how_long, nice_date, plural

if TYPE_CHECKING:
    from engagement.analysis.openai_analyzer import OpenAIAnalyzer
    from engagement.jobs.service import JobService

__all__ = [
    "Answer",
    "AnswerPoint",
    "CLI_ASKER",
    "AskOptions",
    "QuestionRecord",
    "QuestionService",
    "answer_question",
    "check_question",
]

log = logging.getLogger(__name__)

MAX_QUESTION_CHARS = 500
TOP_TURNS = 12  # turns the model reads
CLOSEST = 3  # closest turns listed with "not found"
OFFLINE_TURNS = 8  # best-matching turns an offline answer quotes
QUESTION_PREFIX = "question:"
OFFLINE = "offline"
CLI_ASKER = "cli"  # the asker of a question from the command line (or the one-call ``ask()``)


# ---------------------------------------------------------------- the answer


class AnswerPoint(BaseModel):
    """One point of an answer and the verified quotes behind it."""

    text: str
    evidence: list[Evidence] = Field(default_factory=list)


class Searched(BaseModel):
    """How much was searched: the account's meetings, the transcripts the index holds of them, their hours."""

    meetings: int = 0
    transcripts: int = 0
    hours: float = 0.0


class Mentions(BaseModel):
    """Meetings and turns that mention every term of the question; the first and last such meeting."""

    meetings: int = 0
    turns: int = 0
    first: str | None = None
    last: str | None = None


class Answer(BaseModel):
    """An answer: points with quotes when ``found``, else what was searched and the closest turns.

    Attributes:
        headline: one sentence for people ("Not found in 12 meetings (9.2 hours) searched.").
        terms: what the question was searched for.
        closest: the best-matching turns when nothing answered the question (verbatim quotes).
        dropped: quotes the model gave that were not in the transcripts.
        reattributed: quotes the model cited under the wrong turn, kept with the turn that says them.
        note: why the answer is not the model's (its quotes could not be checked), else empty.
        language_note: when the question looks like another language than the transcripts', which
            to ask in (``questions.language``), else empty.
    """

    question: str
    found: bool
    points: list[AnswerPoint] = Field(default_factory=list)
    searched: Searched = Field(default_factory=Searched)
    mentions: Mentions = Field(default_factory=Mentions)
    analyzer: str = OFFLINE
    headline: str = ""
    terms: str = ""
    closest: list[Evidence] = Field(default_factory=list)
    dropped: int = 0
    reattributed: int = 0
    note: str = ""
    language_note: str = ""
    domain: str = ""
    run_id: str = ""


def _hours(seconds: int) -> float:
    return round(seconds / 3600, 1)


def _searched_text(searched: Searched) -> str:
    hours = plural(searched.hours, "hour")
    meetings = plural(searched.meetings, "meeting")
    if searched.transcripts < searched.meetings:
        return f"the transcripts of {searched.transcripts} of {meetings} ({hours})"
    return f"{meetings} ({hours})"


def not_found_headline(searched: Searched) -> str:
    return f"Not found in {_searched_text(searched)} searched."


# ---------------------------------------------------------------- the model's side

ASK_SYSTEM = """\
You answer a sales team's question about one customer account from excerpts of the account's recorded
meetings. Each excerpt is one transcript turn with an id such as T3, its meeting, time, speaker and side.

Rules:
- Use only the excerpts. Do not guess or use outside knowledge.
- Each point is one short sentence that answers the question, and cites one to three excerpts by id,
  each with a quote copied word for word from that excerpt (a full sentence or clause).
- If the excerpts do not answer the question, return no points. An empty answer is better than a guess.
- Prefer what the customer said over what our team said.
"""


class CitationOut(BaseModel):
    turn_id: str = Field(description="The id of the excerpt, such as T3.")
    quote: str = Field(description="Words copied exactly from that excerpt, never paraphrased.")


class PointOut(BaseModel):
    text: str = Field(description="One short sentence that answers the question.")
    citations: list[CitationOut] = Field(description="One to three excerpts that say it.")


class AccountAnswer(BaseModel):
    """The model's answer to a question about an account."""

    points: list[PointOut] = Field(description="The answer's points; empty when the excerpts do not answer it.")


def ask_user_message(question: str, summary: EngagementSummary, hits: Sequence[Hit]) -> str:
    """The question, the account's themes as context, and the numbered excerpts."""
    refs = {m.recording_id: m for m in summary.meetings}
    label = Account.of_summary(summary).label()
    name = f"{summary.company} ({label})" if summary.company else label
    themes = ", ".join(f"{t.topic} ({plural(t.mentions, 'meeting')})" for t in summary.themes)
    lines = [
        f"Account: {name}",
        f"Themes of the account: {themes or 'none recorded'}",
        f"Question: {question}",
        "",
        "Excerpts, best matches first:",
    ]
    for n, hit in enumerate(hits, start=1):
        ref = refs.get(hit.recording_id)
        title = ref.title if ref else f"meeting {hit.recording_id}"
        day = ref.date if ref else ""
        text = " ".join(hit.text.split())
        lines.append(f"[T{n}] {day} {hit.timestamp} · {title} · {hit.speaker} ({hit.side}): {text}")
    return "\n".join(lines)


# ---------------------------------------------------------------- answering


class _Quotes:
    """Checks quotes against the meetings the index holds (the pipeline's check) and gives each its speaker's side."""

    def __init__(self, index: TranscriptSearch, domain: str | Account) -> None:
        self.index = index
        self.domain = domain
        self._meetings: dict[int, Meeting | None] = {}

    def _meeting(self, rid: int) -> Meeting | None:
        if rid not in self._meetings:
            self._meetings[rid] = self.index.meeting(rid)
        return self._meetings[rid]

    def check(self, evidence: Evidence) -> Evidence | None:
        """The evidence as the transcript has it (moment, speaker, link, side), or None when it is not there."""
        meeting = self._meeting(evidence.recording_id)
        if meeting is None or meeting.transcript is None:
            return None
        checked, _ = verify_meeting_insights(
            MeetingInsights(recording_id=meeting.recording_id, goals=[Insight(text="", evidence=[evidence])]), meeting
        )
        if not checked.goals:
            return None
        return with_side(checked.goals[0].evidence[0], meeting, self.domain)


def _quote_hits(quotes: _Quotes, hits: Sequence[Hit]) -> list[Evidence]:
    """Each hit's excerpt as a verified quote (the whole turn when the excerpt is too short to prove anything)."""
    out = []
    for hit in hits:
        for quote in (hit.excerpt, hit.text):
            found = quotes.check(Evidence(recording_id=hit.recording_id, timestamp=hit.timestamp, quote=quote))
            if found is not None:
                out.append(found)
                break
    return out


def _mentions(hits: Sequence[Hit], summary: EngagementSummary) -> Mentions:
    days = {m.recording_id: m.date for m in summary.meetings}
    meetings = sorted({h.recording_id for h in hits}, key=lambda rid: days.get(rid, ""))
    dated = [days[rid] for rid in meetings if days.get(rid)]
    return Mentions(
        meetings=len(meetings), turns=len(hits), first=dated[0] if dated else None, last=dated[-1] if dated else None
    )


def _offline_points(quotes: _Quotes, hits: Sequence[Hit], summary: EngagementSummary) -> list[AnswerPoint]:
    """The best-matching turns grouped by meeting (in date order), each quoted verbatim."""
    refs = {m.recording_id: m for m in summary.meetings}
    best = hits[:OFFLINE_TURNS]
    per_meeting: dict[int, list[Hit]] = {}
    for hit in best:
        per_meeting.setdefault(hit.recording_id, []).append(hit)
    total = {rid: sum(h.recording_id == rid for h in hits) for rid in per_meeting}
    points = []
    for rid in sorted(per_meeting, key=lambda r: (refs[r].date if r in refs else "", r)):
        ref = refs.get(rid)
        title = ref.title if ref else f"Meeting {rid}"
        day = f" ({nice_date(ref.date)})" if ref else ""
        turns = sorted(per_meeting[rid], key=lambda h: h.turn)
        evidence = _quote_hits(quotes, turns)
        if evidence:
            said = f"{plural(total[rid], 'turn')} mention{'s' if total[rid] == 1 else ''} it"
            points.append(AnswerPoint(text=f"{title}{day}: {said}.", evidence=evidence))
    return points


def _said_in(quote: str, hits: Sequence[Hit]) -> Hit | None:
    """The first retrieved turn that holds these words verbatim (folded as the verifier folds them)."""
    words = fold(quote)
    if len(words) < MIN_QUOTE_CHARS:
        return None
    return next((hit for hit in hits if f" {words} " in f" {fold(hit.text)} "), None)


@dataclass
class _ModelPoints:
    """What was kept of the model's answer. Attributes: points, dropped (quotes not in the transcripts),
    reattributed (quotes kept with the turn that says them), cited (quotes the model gave)."""

    points: list[AnswerPoint]
    dropped: int = 0
    reattributed: int = 0
    cited: int = 0


def _model_points(
    model: OpenAIAnalyzer, quotes: _Quotes, question: str, summary: EngagementSummary, hits: Sequence[Hit]
) -> _ModelPoints:
    """Ask the model; keep only points with at least one quote found in the transcripts.

    A quote is checked in the meeting of the turn it cites; one that is not there (or cites a turn that
    was never sent) but is word for word in another retrieved turn is checked there instead.
    """
    reply = model.structured(ASK_SYSTEM, ask_user_message(question, summary, hits), AccountAnswer, what="the question")
    by_id = {f"T{n}": hit for n, hit in enumerate(hits, start=1)}
    kept = _ModelPoints(points=[])
    for out in reply.points:
        text = out.text.strip()
        if not text:
            continue
        unique: dict[tuple[int, str], Evidence] = {}
        for citation in out.citations:
            kept.cited += 1
            cited = by_id.get(citation.turn_id.strip().upper())
            found = None
            if cited is not None:
                found = quotes.check(
                    Evidence(recording_id=cited.recording_id, timestamp=cited.timestamp, quote=citation.quote)
                )
            if found is None:
                other = _said_in(citation.quote, hits)
                if other is not None:
                    found = quotes.check(
                        Evidence(recording_id=other.recording_id, timestamp=other.timestamp, quote=citation.quote)
                    )
                    kept.reattributed += found is not None
            if found is None:
                kept.dropped += 1
                continue
            unique.setdefault(evidence_key(found), found)  # the same words cited twice are one quote
        if unique:
            kept.points.append(AnswerPoint(text=text, evidence=list(unique.values())))
    return kept


def unchecked_note(dropped: int) -> str:
    """Why an answer shows the meetings' own words instead of the model's."""
    if dropped:
        return (
            f"The model's answer could not be checked: {plural(dropped, 'quote')} it gave "
            f"{'was' if dropped == 1 else 'were'} not in the transcripts. These are the turns that mention "
            "the question's words, word for word."
        )
    return "The model gave no answer from these turns. These are the turns that mention the question's words, word for word."


def answer_question(
    question: str,
    *,
    summary: EngagementSummary,
    index: TranscriptSearch,
    model: OpenAIAnalyzer | None = None,
    run_id: str = "",
) -> Answer:
    """Answer a checked question from the summary's meetings (the model when given, else extractively)."""
    query = parse_question(question)
    ids = [m.recording_id for m in summary.meetings]
    coverage = index.coverage(ids)
    searched = Searched(meetings=coverage.meetings, transcripts=coverage.transcripts, hours=_hours(coverage.seconds))
    account = Account.of_summary(summary)  # a linked account's people at every one of its domains are the customer
    strict = index.search(query, ids, account, every_term=True)
    mentions = _mentions(strict, summary)
    quotes = _Quotes(index, account)
    answer = Answer(
        question=question,
        found=False,
        searched=searched,
        mentions=mentions,
        analyzer=model.name if model else OFFLINE,
        terms=query.describe(),
        language_note=language_note(question, coverage.languages),
        domain=summary.domain,
        run_id=run_id,
    )
    if model is not None:
        loose = index.search(query, ids, account, every_term=False, limit=TOP_TURNS)
        retrieved = list({(h.recording_id, h.turn): h for h in [*strict[:TOP_TURNS], *loose]}.values())[:TOP_TURNS]
        if retrieved:
            kept = _model_points(model, quotes, question, summary, retrieved)
            answer.points, answer.dropped, answer.reattributed = kept.points, kept.dropped, kept.reattributed
            if not answer.points and (strict or kept.cited):
                # Nothing of the model's stands: never "not found" while turns say the words.
                answer.note = unchecked_note(kept.dropped)
                answer.points = _offline_points(quotes, strict, summary)
    else:
        answer.points = _offline_points(quotes, strict, summary)
    answer.found = bool(answer.points)
    if answer.found:
        span = ""
        if mentions.first and mentions.last:
            span = f", first on {nice_date(mentions.first)}" + (
                f", last on {nice_date(mentions.last)}" if mentions.last != mentions.first else ""
            )
        answer.headline = (
            f"Mentioned in {mentions.meetings} of {plural(searched.meetings, 'meeting')} "
            f"({plural(mentions.turns, 'turn')}){span}."
            if mentions.turns
            else f"Answered from {plural(len({e.recording_id for p in answer.points for e in p.evidence}), 'meeting')} "
            f"of {searched.meetings} searched."
        )
    else:
        answer.headline = not_found_headline(searched)
        closest = index.search(query, ids, account, every_term=False, limit=CLOSEST)
        # a turn found only through a stem or a synonym reads as unrelated: only those sharing a word are listed
        answer.closest = [e for e in _quote_hits(quotes, closest) if shared_words(question, e.quote)]
    return answer


def check_question(question: str) -> str:
    """The question with its white space tidied; ``InvalidQuestionError`` with what to do when it cannot be asked."""
    text = " ".join((question or "").split())
    if not text:
        raise InvalidQuestionError("Type a question about the account, such as “What did they say about pricing?”.")
    if len(text) > MAX_QUESTION_CHARS:
        raise InvalidQuestionError(
            f"Questions are limited to {MAX_QUESTION_CHARS} characters and this one has {len(text)}. Shorten it."
        )
    if parse_question(text).empty:
        raise InvalidQuestionError(
            "The question has no words to search for. Name what you want to know about, such as pricing or SSO."
        )
    return text


# ---------------------------------------------------------------- stored questions


class QuestionRecord(BaseModel):
    """The value stored under ``question:{domain}:{id}``; moves ``processing`` → ``complete`` | ``error``.

    ``asked_by`` is whoever asked it (``browser:<random id>``, ``user:<e-mail>``, ``cli``): a summary's
    question history lists only the asker's own. A record stored before questions had owners has ""
    and is listed to nobody but the admin page (it cannot be told whose it was).
    """

    domain: str
    id: str
    question: str
    run_id: str
    analyzer: str
    status: JobStatus = JobStatus.PROCESSING
    answer: Answer | None = None
    error: str | None = None
    reuse_key: str
    owner: str = ""  # the process answering it (host:pid:nonce), so a dead one's question is not left pending
    asked_by: str = ""  # who asked it; "" for a question stored before questions had owners
    shared: bool = False  # its asker shared it with the team: listed under the account for everyone
    created_at: UTCDateTime
    asked_at: UTCDateTime
    updated_at: UTCDateTime

    @property
    def key(self) -> str:
        return question_key(self.domain, self.id)


def question_key(domain: str, question_id: str) -> str:
    return f"{QUESTION_PREFIX}{domain}:{question_id}"


def _reuse_key(question: str, account: str, analyzer: str) -> str:
    """Same words (case and punctuation aside), same transcripts, same analyser: the same answer."""
    words = " ".join(re.findall(r"[^\W_]+", question.casefold()))
    return hashlib.sha256(f"{account}|{analyzer}|{words}".encode()).hexdigest()[:16]


@dataclass(frozen=True)
class AskOptions:
    """What to answer from: ``run_id`` names the summary (default: the newest complete one of the domain)."""

    run_id: str | None = None


class QuestionService:
    """Checks, answers and keeps questions; model answers run on ``executor`` and end in bounded time."""

    def __init__(
        self,
        store: KVStore,
        jobs: JobService,
        index: TranscriptSearch | None,
        executor: Executor,
        *,
        model_factory: Any = None,
        analyzer: str = OFFLINE,
        stale_after_s: float = 600.0,
        index_error: str = "",
    ) -> None:
        self.store = store
        self.jobs = jobs
        self.index = index
        self.executor = executor
        self.model_factory = model_factory  # () -> OpenAIAnalyzer, or None for offline answers
        self.analyzer = analyzer
        self.stale_after_s = stale_after_s
        self.index_error = index_error
        self.clock: Callable[[], datetime] = utcnow  # what "older than" counts from (tests set it)

    def _summary(self, domain: str, run_id: str | None) -> JobRecord:
        record = None
        try:
            if not run_id:
                latest = self.jobs.repo.latest_complete(domain)
                run_id = latest.run_id if latest else None
            record = self.jobs.get(domain, run_id) if run_id else None
        except EngagementError:
            record = None
        if record is None or record.status is not JobStatus.COMPLETE or record.summary is None:
            raise InvalidQuestionError(
                f"There is no finished summary of {domain} yet. Generate one first, then ask about its meetings."
            )
        if not record.summary.meetings:
            raise InvalidQuestionError(f"The summary of {domain} has no meetings to search. Widen its dates first.")
        return record

    def ask(
        self, domain: str, question: str, options: AskOptions | None = None, *, asked_by: str = CLI_ASKER
    ) -> QuestionRecord:
        """Store ``asked_by``'s question and answer it: offline at once, with the model in the background.

        An identical question about the same transcripts with the same analyser is answered from the store:
        the asker's own record is asked again, another asker's answer is copied into a record of this asker's.
        """
        if not asked_by:
            raise ValueError("a question needs an asker (asked_by)")
        text = check_question(question)
        if self.index is None:
            raise SearchUnavailableError(self.index_error or "Search is not available here.")
        job = self._summary(domain, (options or AskOptions()).run_id)
        assert job.summary is not None
        account = self.index.version(m.recording_id for m in job.summary.meetings)
        reuse = _reuse_key(text, account, self.analyzer)
        now = utcnow()
        answered = [
            QuestionRecord.model_validate(value)
            for _, value in self.store.items(f"{QUESTION_PREFIX}{domain}:", where={"reuse_key": reuse})
        ]
        answered = [old for old in answered if old.status is JobStatus.COMPLETE]
        for old in answered:
            if old.asked_by == asked_by:
                old.asked_at = old.updated_at = now
                self.store.set(old.key, old.model_dump(mode="json"))
                return old
        record = QuestionRecord(
            domain=domain,
            id=f"{now:%Y%m%d%H%M%S%f}-{uuid.uuid4().hex[:8]}",
            question=text,
            run_id=job.run_id,
            analyzer=self.analyzer,
            reuse_key=reuse,
            owner=self.jobs.owner,
            asked_by=asked_by,
            created_at=now,
            asked_at=now,
            updated_at=now,
        )
        if answered:  # someone else asked it: their answer, in a record of this asker's own
            record.status, record.answer = JobStatus.COMPLETE, answered[0].answer
        self._save(record)
        if answered:
            return record
        if self.model_factory is None:
            self._answer(record, job.summary)
            return record
        try:
            self.executor.submit(self._answer, record, job.summary)
        except RuntimeError as exc:  # a shut-down pool: the record must not stay processing
            self._finish(record, error=f"The question could not be started ({type(exc).__name__}). Try again.")
        return record

    def _answer(self, record: QuestionRecord, summary: EngagementSummary) -> None:
        try:
            assert self.index is not None
            model = self.model_factory() if self.model_factory else None
            answer = answer_question(
                record.question, summary=summary, index=self.index, model=model, run_id=record.run_id
            )
        except EngagementError as exc:
            self._finish(record, error=str(exc))
        except Exception as exc:
            log.exception("question %s failed", record.key)
            self._finish(record, error=f"An unexpected error stopped the answer ({type(exc).__name__}). Try again.")
        else:
            self._finish(record, answer=answer)

    def _finish(self, record: QuestionRecord, *, answer: Answer | None = None, error: str | None = None) -> None:
        if self.store.get(record.key) is None:
            return  # deleted (purged) while it was being answered: do not bring it back
        record.status = JobStatus.COMPLETE if answer is not None else JobStatus.ERROR
        record.answer, record.error = answer, error
        self._save(record)

    def _save(self, record: QuestionRecord) -> None:
        record.updated_at = utcnow()
        self.store.set(record.key, record.model_dump(mode="json"))

    def _checked(self, record: QuestionRecord) -> QuestionRecord:
        """A pending question whose process died, or that has waited past every model time-out, ends in error."""
        if record.status is not JobStatus.PROCESSING:
            return record
        silent = (utcnow() - record.updated_at).total_seconds()
        if self.jobs.is_abandoned(record.owner, silent, self.stale_after_s):
            if self.jobs.owner_is_dead(record.owner):
                why = "the app answering it restarted or crashed"
            else:
                why = f"nothing was heard from it for {how_long(silent)}, past every model time-out"
            record.status, record.error = JobStatus.ERROR, f"The answer was interrupted ({why}). Ask again."
            self._save(record)
        return record

    # -- reading, deleting

    def get(self, domain: str, question_id: str) -> QuestionRecord | None:
        value = self.store.get(question_key(domain, question_id))
        return self._checked(QuestionRecord.model_validate(value)) if value is not None else None

    def list(
        self, domain: str | None = None, limit: int | None = None, *, asked_by: str | None = None
    ) -> builtins.list[QuestionRecord]:
        """Questions (of one account, or all; of one asker, or everyone's) most recently asked first.

        ``asked_by=None`` is everyone's (the admin page); an asker's list never holds a record without an asker.
        """
        if asked_by == "":
            raise ValueError("list(asked_by='') would be the questions of nobody: pass an asker, or None for all")
        prefix = f"{QUESTION_PREFIX}{domain}:" if domain else QUESTION_PREFIX
        where = {"asked_by": asked_by} if asked_by is not None else None
        records = [self._checked(QuestionRecord.model_validate(v)) for _, v in self.store.items(prefix, where=where)]
        records.sort(key=lambda r: r.asked_at, reverse=True)
        return records[:limit] if limit is not None else records

    def shared_list(self, domain: str, limit: int | None = None) -> builtins.list[QuestionRecord]:
        """The questions about ``domain`` their askers shared with the team, most recently asked first."""
        records = [
            self._checked(QuestionRecord.model_validate(v))
            for _, v in self.store.items(f"{QUESTION_PREFIX}{domain}:", where={"shared": True})
        ]
        records.sort(key=lambda r: r.asked_at, reverse=True)
        return records[:limit] if limit is not None else records

    def share(self, domain: str, question_id: str, asked_by: str, *, shared: bool = True) -> bool:
        """Share a question with the team (or stop); only its asker can. False when it is not theirs or gone."""
        record = self.get(domain, question_id)
        if record is None or not asked_by or record.asked_by != asked_by:
            return False
        record.shared = shared
        self.store.set(record.key, record.model_dump(mode="json"))
        return True

    def count(self) -> int:
        return self.store.count(QUESTION_PREFIX)

    def _purgeable(self, older_than: timedelta | None, domain: str | None) -> builtins.list[str]:
        cutoff = self.clock() - older_than if older_than is not None else None
        return [
            r.key
            for r in self.list(domain)
            if r.status is not JobStatus.PROCESSING and (cutoff is None or r.asked_at < cutoff)
        ]

    def purgeable(self, *, older_than: timedelta | None = None, domain: str | None = None) -> int:
        """How many questions ``purge`` would remove (those still being answered are kept)."""
        return len(self._purgeable(older_than, domain))

    def purge(self, *, older_than: timedelta | None = None, domain: str | None = None) -> int:
        """Delete answered questions last asked before ``now - older_than`` (all when None), of one domain or all."""
        return self.store.delete_many(self._purgeable(older_than, domain))

    def delete(self, domain: str, question_id: str) -> bool:
        return self.store.delete(question_key(domain, question_id))
