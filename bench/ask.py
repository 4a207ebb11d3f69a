"""Ask: answering a question offline on a 100-meeting account, from an index of 1,000 meetings (p50/p99).

Then the same with the transcripts shared in Redis: on a machine whose cache holds them, and on a
fresh machine that pulls the account's transcripts first.
"""

from __future__ import annotations

import tempfile
from pathlib import Path

from bench.measure import Result, latency, time_calls
from engagement.demo import load_demo_meetings
from engagement.fathom.client import to_meeting
from engagement.models import EngagementSummary, Meeting, MeetingRef
from engagement.questions.answers import answer_question
from engagement.questions.search import TranscriptIndex, parse_question
from engagement.questions.shared_search import TRANSCRIPTS_TABLE, SharedTranscriptIndex
from engagement.storage.redis import RedisKV
from tests.support.redis_server import RedisServer

QUICK = {"indexed": 100, "account": 20, "runs": 50, "fresh": 5}
QUESTIONS = ("What did they say about single sign-on?", "pricing for the second year", "weather on Mars")


def meetings(count: int) -> list[Meeting]:
    """``count`` demo meetings (their real transcripts) under new recording ids."""
    demo = [to_meeting(m) for m in load_demo_meetings()]
    return [demo[n % len(demo)].model_copy(update={"recording_id": 800_000_000 + n}) for n in range(count)]


def run(indexed: int = 1000, account: int = 100, runs: int = 300, fresh: int = 30) -> list[Result]:
    every = meetings(indexed)
    mine = every[:account]
    summary = EngagementSummary(
        domain="acmecorp.com",
        meetings_count=account,
        meetings=[
            MeetingRef(
                recording_id=m.recording_id,
                title=m.title,
                date=m.started_at.date().isoformat(),
                started_at=m.started_at.isoformat(),
                url=m.url,
                share_url=m.share_url,
            )
            for m in mine
        ],
    )
    turns = sum(len(m.transcript or ()) for m in every)
    with tempfile.TemporaryDirectory() as tmp:
        index = TranscriptIndex(str(Path(tmp) / "bench.sqlite"))
        filled = time_calls(lambda i: index.add(every[i * 10 : i * 10 + 10]), indexed // 10, warmup=0)
        query = parse_question(QUESTIONS[0])
        ids = [m.recording_id for m in mine]
        searches = time_calls(lambda i: index.search(query, ids, "acmecorp.com", every_term=True), runs)
        answers = time_calls(
            lambda i: answer_question(QUESTIONS[i % len(QUESTIONS)], summary=summary, index=index), runs
        )
        index.close()
        warm, cold = shared(Path(tmp), every, summary, runs, fresh)
    note = f"{indexed:,} meetings ({turns:,} turns) indexed; the account has {account}"
    return [
        latency("Ask", "index 10 meetings' transcripts", filled, 50.0, note),
        latency("Ask", "search an account's turns (BM25)", searches, 20.0, note),
        latency("Ask", "answer a question offline (found or not found)", answers, 200.0, note),
        latency("Ask", "answer offline, transcripts shared in Redis, this machine's cache warm", warm, 200.0, note),
        latency(
            "Ask",
            f"first answer on a fresh machine: pull the account's {account} transcripts from Redis, index, answer",
            cold,
            2000.0,
            note + "; Redis on loopback",
        ),
    ]


def shared(
    tmp: Path, every: list[Meeting], summary: EngagementSummary, runs: int, fresh: int
) -> tuple[list[float], list[float]]:
    """Milliseconds per answer with the transcripts in Redis: a machine whose cache holds them, then fresh machines."""
    with RedisServer() as server:
        kv = RedisKV(server.url).table(TRANSCRIPTS_TABLE)
        writer = SharedTranscriptIndex(TranscriptIndex(str(tmp / "writer.sqlite")), kv)
        for start in range(0, len(every), 100):
            writer.add(every[start : start + 100])
        cached = SharedTranscriptIndex(TranscriptIndex(str(tmp / "cached.sqlite")), kv)
        warm = time_calls(lambda i: answer_question(QUESTIONS[i % len(QUESTIONS)], summary=summary, index=cached), runs)

        def first(i: int) -> None:
            machine = SharedTranscriptIndex(TranscriptIndex(str(tmp / f"fresh-{i}.sqlite")), kv)
            answer_question(QUESTIONS[0], summary=summary, index=machine)
            machine.close()

        cold = time_calls(first, fresh, warmup=1)
        for index in (writer, cached):
            index.close()
        kv.close()
    return warm, cold
