"""Full-text search of transcript turns: an SQLite FTS5 index in the store's own file.

Two plain tables and one FTS5 index, beside the store's tables::

    search_meetings(recording_id PK, meeting JSON without transcript, turns, duration_s, content_hash, indexed_at)
    search_turns(rowid PK, recording_id, turn, timestamp, seconds, speaker, email, text)
    search_fts  FTS5(text, speaker; content=search_turns; tokenize "porter unicode61 remove_diacritics 2")

The index is keyed by recording, not by account: a meeting two accounts share is indexed once,
and the side of each speaker is worked out for the account being asked about. The pipeline fills
it where transcripts are fetched; it persists, so later runs that skip cached transcripts still
search them, and it is cleared with the analysis cache. With Redis configured the transcripts are
shared there and this index is each process's cache of them (``engagement/questions/shared_search.py``); the
pipeline and Ask see either through ``TranscriptSearch``.

Stemming: Porter (English), so ``pricing`` finds ``price`` and ``prices``. A question is never FTS
syntax: it is cut into words here and every word or hyphenated phrase goes to FTS5 as a quoted
string, so ``"``, ``NEAR``, ``*``, ``-``, ``AND`` and ``:`` are searched as text (or not at all).
"""

from __future__ import annotations

import hashlib
import json
import logging
import re
import sqlite3
import threading
import unicodedata
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any, Protocol

from engagement.account.domains import Account
from engagement.account.people import MeetingSides
from engagement.analysis.cache import content_hash
from engagement.errors import SearchUnavailableError
from engagement.models import Meeting, Side, TranscriptTurn, format_utc, utcnow
from engagement.storage.sqlite import BUSY_TIMEOUT_S, store_error

__all__ = ["Hit", "Query", "TranscriptIndex", "TranscriptSearch", "fts5_available", "parse_question"]

log = logging.getLogger(__name__)

TOKENIZER = "porter unicode61 remove_diacritics 2"

# Words that say what kind of question it is, not what it is about.
STOP_WORDS = frozenset(
    """a about above after again against all am an and any are as at be because been before being below between
    both but by can could did do does doing down during each ever few for from further had has have having he her
    here hers him his how i if in into is it its itself just let me more most my no nor not of off on once only or
    other our ours out over own said same say says she should so some such talk talked tell than that the their
    theirs them then there these they this those through to too under until up us very was we were what when where
    which while who whom why will with would you your yours mention mentioned mentions discuss discussed anything
    something thing things ever anyone someone""".split()
)

# Spelled-out terms and the abbreviations people use for them: either finds both.
SYNONYMS: tuple[tuple[str, ...], ...] = (
    ("single sign on", "sso"),
    ("multi factor authentication", "mfa", "two factor", "2fa"),
    ("proof of concept", "poc"),
    ("service level agreement", "sla"),
    ("request for proposal", "rfp"),
    ("return on investment", "roi"),
    ("customer relationship management", "crm"),
    ("data processing agreement", "dpa"),
)

# Held transcripts by language ("" when not known), with their seconds: ``coverage``'s one query.
LANGUAGE_HOURS = (
    "SELECT COALESCE(json_extract(meeting, '$.transcript_language'), ''), COUNT(*), COALESCE(SUM(duration_s), 0) "
    "FROM search_meetings"
)

_WORD = re.compile(r"[^\W_]+(?:['\u2019\-][^\W_]+)*")
_PART = re.compile(r"[^\W_]+")
_MARK_OPEN, _MARK_CLOSE = "\x02", "\x03"
_SENTENCE_END = re.compile(r"(?<=[.!?])\s+")


def _fold(text: str) -> str:
    return unicodedata.normalize("NFKC", text).casefold()


@dataclass(frozen=True)
class Query:
    """A question as search terms.

    Attributes:
        concepts: each concept is a tuple of alternatives (a word, or a phrase of words); a turn
            mentions the question when it mentions every concept (any alternative of each).
        words: the words kept, for messages ("searched for: single sign-on, sso").
    """

    concepts: tuple[tuple[str, ...], ...]

    @property
    def empty(self) -> bool:
        return not self.concepts

    @staticmethod
    def _quoted(alternative: str) -> str:
        return '"' + alternative.replace('"', '""') + '"'

    def _concept(self, alternatives: tuple[str, ...]) -> str:
        inner = " OR ".join(self._quoted(a) for a in alternatives)
        return f"({inner})" if len(alternatives) > 1 else inner

    def all_terms(self) -> str:
        """FTS5 text matching turns that mention every concept."""
        return " AND ".join(self._concept(c) for c in self.concepts)

    def any_term(self) -> str:
        """FTS5 text matching turns that mention any concept (the closest mentions)."""
        return " OR ".join(self._quoted(a) for c in self.concepts for a in c)

    def describe(self) -> str:
        return ", ".join(" / ".join(c) for c in self.concepts)


def parse_question(question: str) -> Query:
    """The search terms of a question: known phrases and their abbreviations, then the other content words.

    Operators and punctuation are never passed on: only letters and digits reach FTS5, quoted.
    """
    groups = [[p for p in _PART.findall(g)] for g in _WORD.findall(_fold(question))]
    words = " ".join(" ".join(g) for g in groups)
    padded = f" {words} "
    concepts: list[tuple[str, ...]] = []
    for alternatives in SYNONYMS:
        if any(f" {a} " in padded for a in alternatives):
            concepts.append(alternatives)
            for a in alternatives:
                padded = padded.replace(f" {a} ", "  ")
    left = set(padded.split())
    seen = {a for c in concepts for a in c}
    for group in groups:
        if not all(p in left for p in group):
            continue  # part of a phrase taken above
        if len(group) > 1:  # a hyphenated or apostrophised word: one phrase, stop words and all
            phrase = " ".join(group)
            if phrase not in seen and any(p not in STOP_WORDS for p in group):
                seen.add(phrase)
                concepts.append((phrase,))
            continue
        word = group[0]
        if word in STOP_WORDS or word in seen:
            continue
        seen.add(word)
        concepts.append((word,))
    return Query(tuple(concepts))


def shared_words(question: str, text: str) -> set[str]:
    """The question's own content words (stop words aside) that ``text`` holds as they are: no stem, no synonym."""
    asked = {w for w in _PART.findall(_fold(question)) if w not in STOP_WORDS}
    return asked & set(_PART.findall(_fold(text)))


@dataclass(frozen=True)
class Hit:
    """One transcript turn that matched.

    Attributes:
        recording_id / turn: the meeting and the turn's position in its transcript.
        timestamp / seconds: when in the meeting.
        speaker / email / side: who said it; ``side`` is a ``Side`` value (``customer``, ``internal``,
            ``third_party``, ``personal`` or ``unknown``) for the account asked about.
        text: the whole turn; ``excerpt``: the sentence(s) of it that hold the matched words.
        score: BM25 (lower is better, as SQLite reports it).
    """

    recording_id: int
    turn: int
    timestamp: str
    seconds: int
    speaker: str
    email: str | None
    side: str
    text: str
    excerpt: str
    score: float


@dataclass(frozen=True)
class Coverage:
    """How much of an account's meetings the index holds: meetings asked about, transcripts held, hours.

    Attributes:
        languages: the held transcripts by language, ``(code, count)`` most first; ``""`` counts those
            whose language is not known (stored before it was kept, or Fathom gave none).
    """

    meetings: int
    transcripts: int
    seconds: int
    languages: tuple[tuple[str, int], ...] = ()


class TranscriptSearch(Protocol):
    """What the pipeline and Ask use of the search: ``TranscriptIndex``, or ``SharedTranscriptIndex`` over Redis."""

    def add(self, meetings: Iterable[Meeting]) -> int: ...
    def clear(self) -> int: ...
    def remove(self, recording_ids: Iterable[int]) -> int: ...
    def lacking(self, recording_ids: Iterable[int]) -> set[int]: ...
    def version(self, recording_ids: Iterable[int]) -> str: ...
    def count(self) -> int: ...
    def coverage(self, recording_ids: Sequence[int]) -> Coverage: ...
    def meeting(self, recording_id: int) -> Meeting | None: ...
    def search(
        self,
        query: Query,
        recording_ids: Sequence[int],
        domain: str | Account,
        *,
        every_term: bool,
        limit: int | None = None,
    ) -> list[Hit]: ...


def fts5_available(conn: sqlite3.Connection) -> bool:
    """Whether this SQLite library was built with FTS5 (Python's own usually is; some builds are not)."""
    try:
        conn.execute(f"CREATE VIRTUAL TABLE temp._fts5_probe USING fts5(x, tokenize='{TOKENIZER}')")
        conn.execute("DROP TABLE temp._fts5_probe")
    except sqlite3.OperationalError:
        return False
    return True


def _excerpt(marked: str, short: int = 40) -> str:
    """The first sentence of a turn that holds a matched word, and the next one when it is short.

    ``marked`` is FTS5's ``highlight()`` output. The excerpt is contiguous text of the turn, so it
    is still a verbatim quote.
    """
    sentences = _SENTENCE_END.split(marked)
    first = next((i for i, s in enumerate(sentences) if _MARK_OPEN in s), 0)
    kept = sentences[first : first + 1]
    if len(kept[0]) < short and first + 1 < len(sentences):
        kept.append(sentences[first + 1])
    return " ".join(kept).replace(_MARK_OPEN, "").replace(_MARK_CLOSE, "").strip()


class TranscriptIndex:
    """The FTS5 index of transcript turns in the store's file, on its own connection (thread-safe).

    Raises ``SearchUnavailableError`` when SQLite lacks FTS5, ``StoreError`` when the file cannot be used.
    """

    def __init__(self, path: str, *, busy_timeout_s: float = BUSY_TIMEOUT_S) -> None:
        self.path = path
        self._lock = threading.Lock()
        try:
            self._conn = sqlite3.connect(path, timeout=busy_timeout_s, check_same_thread=False, isolation_level=None)
        except sqlite3.Error as exc:
            raise store_error(path, exc) from None
        if not fts5_available(self._conn):
            self._conn.close()
            raise SearchUnavailableError(
                f"Search needs SQLite's FTS5 extension, and the SQLite library here (version {sqlite3.sqlite_version}) "
                "was built without it. Use a Python whose sqlite3 has FTS5 (the python.org and Debian builds do)."
            )
        self._write(self._create)

    @staticmethod
    def _create(conn: sqlite3.Connection) -> None:
        conn.execute(
            "CREATE TABLE IF NOT EXISTS search_meetings (recording_id INTEGER PRIMARY KEY, meeting TEXT NOT NULL, "
            "turns INTEGER NOT NULL, duration_s INTEGER NOT NULL, content_hash TEXT, indexed_at TEXT NOT NULL)"
        )
        conn.execute(
            "CREATE TABLE IF NOT EXISTS search_turns (id INTEGER PRIMARY KEY, recording_id INTEGER NOT NULL, "
            "turn INTEGER NOT NULL, timestamp TEXT NOT NULL, seconds INTEGER NOT NULL, speaker TEXT NOT NULL, "
            "email TEXT, text TEXT NOT NULL)"
        )
        conn.execute("CREATE INDEX IF NOT EXISTS search_turns_recording ON search_turns (recording_id, turn)")
        conn.execute(
            "CREATE VIRTUAL TABLE IF NOT EXISTS search_fts USING fts5(text, speaker, content='search_turns', "
            f"content_rowid='id', tokenize='{TOKENIZER}')"
        )

    # -- plumbing: one lock, bounded waits, the store's error type

    def _write(self, work: Any) -> Any:
        with self._lock:
            try:
                self._conn.execute("BEGIN IMMEDIATE")
                try:
                    result = work(self._conn)
                except BaseException:
                    self._conn.execute("ROLLBACK")
                    raise
                self._conn.execute("COMMIT")
                return result
            except sqlite3.Error as exc:  # the busy timeout bounds the wait for another writer
                raise store_error(self.path, exc) from None

    def _read(self, sql: str, args: Sequence[Any] = ()) -> list[Any]:
        with self._lock:
            try:
                return self._conn.execute(sql, tuple(args)).fetchall()
            except sqlite3.Error as exc:
                raise store_error(self.path, exc) from None

    def close(self) -> None:
        with self._lock:
            self._conn.close()

    # -- filling

    def add(self, meetings: Iterable[Meeting]) -> int:
        """Index the turns of every meeting that has a transcript (a changed one is re-indexed); returns how many."""
        todo = [m for m in meetings if m.transcript is not None]
        if not todo:
            return 0
        known = dict(self._known([m.recording_id for m in todo]))
        fresh = [m for m in todo if known.get(m.recording_id, "") != content_hash(m)]
        # The same transcript whose language has come to be known since (a row indexed before it was kept).
        fresh_ids = {m.recording_id for m in fresh}
        relabel = [
            m for m in self._unlabelled([m for m in todo if m.recording_id not in fresh_ids]) if m.transcript_language
        ]
        if relabel:
            self._write(
                lambda conn: conn.executemany(
                    "UPDATE search_meetings SET meeting = ? WHERE recording_id = ?",
                    [(m.model_copy(update={"transcript": None}).model_dump_json(), m.recording_id) for m in relabel],
                )
            )
        if not fresh:
            return 0

        def work(conn: sqlite3.Connection) -> None:
            for meeting in fresh:
                self._remove(conn, meeting.recording_id)
                turns = meeting.transcript or ()
                last = max((t.seconds for t in turns), default=0)
                meta = meeting.model_copy(update={"transcript": None}).model_dump_json()
                conn.execute(
                    "INSERT INTO search_meetings VALUES (?, ?, ?, ?, ?, ?)",
                    (
                        meeting.recording_id,
                        meta,
                        len(turns),
                        meeting.duration_s or last,
                        content_hash(meeting),
                        format_utc(utcnow()),
                    ),
                )
                for n, t in enumerate(turns):
                    cur = conn.execute(
                        "INSERT INTO search_turns (recording_id, turn, timestamp, seconds, speaker, email, text) "
                        "VALUES (?, ?, ?, ?, ?, ?, ?)",
                        (meeting.recording_id, n, t.timestamp, t.seconds, t.speaker, t.email, t.text),
                    )
                    conn.execute(
                        "INSERT INTO search_fts (rowid, text, speaker) VALUES (?, ?, ?)",
                        (cur.lastrowid, t.text, t.speaker),
                    )

        self._write(work)
        return len(fresh)

    def _unlabelled(self, meetings: Sequence[Meeting]) -> list[Meeting]:
        """Those of these meetings held without a transcript language."""
        by_id = {m.recording_id: m for m in meetings}
        ids = list(by_id)
        out: list[Meeting] = []
        for start in range(0, len(ids), 500):
            chunk = ids[start : start + 500]
            marks = ",".join("?" * len(chunk))
            out += [
                by_id[row[0]]
                for row in self._read(
                    f"SELECT recording_id FROM search_meetings WHERE recording_id IN ({marks}) "  # noqa: S608 - placeholders only
                    "AND json_extract(meeting, '$.transcript_language') IS NULL",
                    chunk,
                )
            ]
        return out

    def held(self, recording_ids: Sequence[int]) -> dict[int, str]:
        """The content hash of each of these recordings the index holds."""
        return dict(self._known(recording_ids))

    def remove(self, recording_ids: Iterable[int]) -> int:
        """Forget these meetings (in one transaction); returns how many were held."""
        ids = list(dict.fromkeys(recording_ids))
        gone = list(self.held(ids))
        if not gone:
            return 0

        def work(conn: sqlite3.Connection) -> None:
            for rid in gone:
                self._remove(conn, rid)

        self._write(work)
        return len(gone)

    def _known(self, recording_ids: Sequence[int]) -> list[tuple[int, str]]:
        out: list[tuple[int, str]] = []
        for start in range(0, len(recording_ids), 500):
            chunk = list(recording_ids[start : start + 500])
            marks = ",".join("?" * len(chunk))
            out += self._read(
                f"SELECT recording_id, content_hash FROM search_meetings WHERE recording_id IN ({marks})",  # noqa: S608 - placeholders only
                chunk,
            )
        return out

    @staticmethod
    def _remove(conn: sqlite3.Connection, recording_id: int) -> None:
        rows = conn.execute(
            "SELECT id, text, speaker FROM search_turns WHERE recording_id = ?", (recording_id,)
        ).fetchall()
        conn.executemany("INSERT INTO search_fts (search_fts, rowid, text, speaker) VALUES ('delete', ?, ?, ?)", rows)
        conn.execute("DELETE FROM search_turns WHERE recording_id = ?", (recording_id,))
        conn.execute("DELETE FROM search_meetings WHERE recording_id = ?", (recording_id,))

    def clear(self) -> int:
        """Forget every indexed meeting; returns how many there were."""

        def work(conn: sqlite3.Connection) -> int:
            n = int(conn.execute("SELECT COUNT(*) FROM search_meetings").fetchone()[0])
            conn.execute("DELETE FROM search_turns")
            conn.execute("DELETE FROM search_meetings")
            conn.execute("INSERT INTO search_fts (search_fts) VALUES ('delete-all')")
            return n

        return int(self._write(work))

    # -- reading

    def lacking(self, recording_ids: Iterable[int]) -> set[int]:
        """Those of these recordings that are not indexed."""
        ids = list(dict.fromkeys(recording_ids))
        return set(ids) - {rid for rid, _ in self._known(ids)}

    def version(self, recording_ids: Iterable[int]) -> str:
        """A hash of what the index holds of these meetings: it changes when one is added, removed or changed."""
        ids = sorted(set(recording_ids))
        held = dict(self._known(ids))
        raw = json.dumps([[rid, held.get(rid)] for rid in ids], separators=(",", ":"))
        return hashlib.sha256(raw.encode()).hexdigest()[:16]

    def count(self) -> int:
        """How many meetings are indexed."""
        return int(self._read("SELECT COUNT(*) FROM search_meetings")[0][0])

    def coverage(self, recording_ids: Sequence[int]) -> Coverage:
        """Of these meetings: how many transcripts the index holds and how long they run."""
        ids = list(dict.fromkeys(recording_ids))
        held = 0
        seconds = 0
        languages: dict[str, int] = {}
        for start in range(0, len(ids), 500):
            chunk = ids[start : start + 500]
            marks = ",".join("?" * len(chunk))
            where = f"WHERE recording_id IN ({marks}) GROUP BY 1"
            rows = self._read(f"{LANGUAGE_HOURS} {where}", chunk)
            for language, count, duration in rows:
                held += int(count)
                seconds += int(duration)
                languages[str(language)] = languages.get(str(language), 0) + int(count)
        ranked = tuple(sorted(languages.items(), key=lambda kv: (-kv[1], kv[0])))
        return Coverage(meetings=len(ids), transcripts=held, seconds=seconds, languages=ranked)

    def meeting(self, recording_id: int) -> Meeting | None:
        """The indexed meeting with its whole transcript (what a quote is verified against)."""
        row = self._read("SELECT meeting FROM search_meetings WHERE recording_id = ?", (recording_id,))
        if not row:
            return None
        turns = self._read(
            "SELECT speaker, email, timestamp, text FROM search_turns WHERE recording_id = ? ORDER BY turn",
            (recording_id,),
        )
        meeting = Meeting.model_validate(json.loads(row[0][0]))
        transcript = tuple(TranscriptTurn(speaker=s, email=e, timestamp=ts, text=t) for s, e, ts, t in turns)
        return meeting.model_copy(update={"transcript": transcript})

    def search(
        self,
        query: Query,
        recording_ids: Sequence[int],
        domain: str | Account,
        *,
        every_term: bool,
        limit: int | None = None,
    ) -> list[Hit]:
        """Turns of these meetings that mention every concept (``every_term``) or any, best BM25 first."""
        if query.empty or not recording_ids:
            return []
        ids = list(dict.fromkeys(recording_ids))
        marks = ",".join("?" * len(ids))
        sql = (
            "SELECT t.recording_id, t.turn, t.timestamp, t.seconds, t.speaker, t.email, t.text, "
            "highlight(search_fts, 0, ?, ?), bm25(search_fts, 1.0, 0.3) AS score "
            "FROM search_fts JOIN search_turns t ON t.id = search_fts.rowid "
            "WHERE search_fts MATCH ? AND t.recording_id IN (" + marks + ") "
            "ORDER BY score, t.recording_id, t.turn LIMIT ?"
        )
        match = query.all_terms() if every_term else query.any_term()
        rows = self._read(sql, (_MARK_OPEN, _MARK_CLOSE, match, *ids, -1 if limit is None else limit))
        sides: dict[int, MeetingSides | None] = {}
        hits = []
        for rid, turn, ts, seconds, speaker, email, text, marked, score in rows:
            if rid not in sides:
                meeting = self._meta(rid)
                sides[rid] = MeetingSides(meeting, domain) if meeting else None
            judge = sides[rid]
            side = str(
                judge(TranscriptTurn(speaker=speaker, email=email, timestamp=ts, text=text)) if judge else Side.UNKNOWN
            )
            hits.append(Hit(rid, turn, ts, seconds, speaker, email, side, text, _excerpt(marked), float(score)))
        return hits

    def _meta(self, recording_id: int) -> Meeting | None:
        row = self._read("SELECT meeting FROM search_meetings WHERE recording_id = ?", (recording_id,))
        return Meeting.model_validate(json.loads(row[0][0])) if row else None
