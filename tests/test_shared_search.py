"""Transcripts shared through Redis: fetched on one machine, searched on any, never fetched twice; changes, clears, faults."""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
import redis

from engagement.analysis.cache import content_hash
from engagement.errors import StoreError
from engagement.fathom.demo import FathomAPI
from engagement.jobs.service import InlineExecutor
from engagement.models import JobRecord, JobStatus
from engagement.questions import shared_search
from engagement.questions.search import TranscriptIndex, parse_question
from engagement.questions.shared_search import SharedTranscriptIndex, pack, unpack
from engagement.runtime import Runtime, create_runtime
from engagement.settings import Settings
from tests.fakes.fathom_server import FAKE_API_KEY
from tests.support.meeting_factory import REP, inv, meeting, rep
from tests.support.redis_server import RedisServer

DOMAIN = "acmecorp.com"
QUESTION = "What did they say about the budget review?"  # every acmecorp.com guest says it once


class Fathom:
    """The in-process Fathom API behind a MockTransport that remembers every URL it was sent."""

    def __init__(self, api: FathomAPI) -> None:
        self.api = api
        self.urls: list[httpx.URL] = []
        self.transport = httpx.MockTransport(self._handle)

    def _handle(self, request: httpx.Request) -> httpx.Response:
        self.urls.append(request.url)
        return self.api(request)

    def transcript_requests(self) -> list[httpx.URL]:
        """Requests that return transcripts: one by id, or a listing that includes them."""
        return [u for u in self.urls if u.path.endswith("/transcript") or u.params.get("include_transcript") == "true"]


@pytest.fixture
def fathom(fathom_api: FathomAPI) -> Fathom:
    return Fathom(fathom_api)


Machine = Callable[[str], Runtime]


def machines(redis_url: str, fathom: Fathom, tmp_path: Path) -> tuple[Machine, list[Runtime]]:
    """Runtimes as on separate machines: one Redis, each its own ENGAGEMENT_DB (its meeting index and FTS5 file)."""
    made: list[Runtime] = []

    def machine(name: str) -> Runtime:
        settings = Settings(
            fathom_api_key=FAKE_API_KEY,
            fathom_max_retries=0,
            redis_url=redis_url,
            engagement_db=str(tmp_path / f"{name}.sqlite"),
        )
        rt = create_runtime(settings, executor=InlineExecutor(), fathom_transport=fathom.transport, enqueue=False)
        made.append(rt)
        return rt

    return machine, made


@pytest.fixture
def machine(redis_url: str, fathom: Fathom, tmp_path: Path) -> Iterator[Machine]:
    make, made = machines(redis_url, fathom, tmp_path)
    yield make
    for rt in made:
        rt.jobs.close()


def shared(rt: Runtime) -> SharedTranscriptIndex:
    assert isinstance(rt.search, SharedTranscriptIndex), "with Redis the search is the shared one"
    return rt.search


def run(rt: Runtime) -> JobRecord:
    record = rt.jobs.get(DOMAIN, rt.jobs.start(DOMAIN))
    assert record.status is JobStatus.COMPLETE, record.error
    return record


def with_transcripts(record: JobRecord) -> list[int]:
    assert record.summary is not None
    return [m.recording_id for m in record.summary.meetings if not m.no_transcript]


def test_a_transcript_fetched_on_one_machine_is_asked_about_on_another_and_never_fetched_again(
    machine: Machine, fathom: Fathom, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A's job fetches; B (its own empty file) answers with verified quotes from them; C's job asks Fathom for none."""
    monkeypatch.setattr(shared_search, "PULL_CHUNK", 5)  # several round trips for the account's transcripts
    a, b, c = machine("a"), machine("b"), machine("c")
    first = run(a)
    ids = with_transcripts(first)
    assert ids and fathom.transcript_requests(), "machine A fetched the transcripts"
    assert shared(a).count() == len(ids)
    assert shared(b).local.count() == 0

    record = b.questions.ask(DOMAIN, QUESTION)
    answer = record.answer
    assert answer is not None and answer.found, record.error
    assert answer.searched.transcripts == len(ids) == answer.mentions.meetings
    quotes = [ev for point in answer.points for ev in point.evidence]
    assert quotes and all(ev.verified and "budget review" in ev.quote.lower() for ev in quotes)
    assert sorted(shared(b).local.held(ids)) == sorted(ids), "B's local index now caches them"

    fathom.urls.clear()
    again = run(c)
    assert again.stats.cached_meetings == len(ids) and again.stats.llm_calls == 0
    assert fathom.urls, "C still brought its own meeting index up to date"
    assert fathom.transcript_requests() == []
    assert sorted(shared(c).local.held(ids)) == sorted(ids)


def test_a_changed_transcript_replaces_the_local_copy_on_every_machine(machine: Machine) -> None:
    """A re-fetched transcript with another content hash, shared by A, replaces what B's index held."""
    a, b = machine("a"), machine("b")
    rid = with_transcripts(run(a))[0]
    before = shared(b).meeting(rid)
    assert before is not None and before.transcript
    turn = before.transcript[0].model_copy(update={"text": "We signed off the rollout plan for Lisbon."})
    changed = before.model_copy(update={"transcript": (turn, *before.transcript[1:])})
    version = shared(b).version([rid])

    shared(a).add([changed])
    assert shared(b).version([rid]) != version
    assert shared(b).local.held([rid]) == {rid: content_hash(changed)}
    after = shared(b).meeting(rid)
    assert after is not None and after.transcript == changed.transcript
    hits = shared(b).search(parse_question("rollout plan Lisbon"), [rid], DOMAIN, every_term=True)
    assert [(h.recording_id, h.turn) for h in hits] == [(rid, 0)]


def test_clearing_the_analysis_cache_empties_redis_and_every_local_index(machine: Machine, redis_url: str) -> None:
    """cache clear removes the shared transcripts and A's copy; B drops its copy the next time it looks."""
    a, b = machine("a"), machine("b")
    ids = with_transcripts(run(a))
    assert shared(b).lacking(ids) == set() and shared(b).local.count() == len(ids)
    raw = redis.Redis.from_url(redis_url, decode_responses=True)
    assert raw.exists(f"transcripts:hash:{ids[0]}", f"transcripts:data:{ids[0]}") == 2

    a.cache.clear()
    assert [k for k in raw.scan_iter("transcripts:*")] == [] and raw.zcard("kv:transcripts:keys") == 0
    assert shared(a).count() == 0 and shared(a).local.count() == 0
    assert shared(b).lacking(ids) == set(ids)
    assert shared(b).local.count() == 0
    raw.close()


def test_redis_stopped_mid_ask_raises_the_store_error_and_leaves_the_local_index_whole(
    fathom: Fathom, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Redis going away while B pulls transcripts: StoreError naming the store; what B holds is whole meetings."""
    monkeypatch.setattr(shared_search, "PULL_CHUNK", 4)
    with RedisServer() as server:
        make, made = machines(server.url, fathom, tmp_path)
        try:
            a, b = make("a"), make("b")
            ids = with_transcripts(run(a))
            local = shared(b).local
            real_add = local.add

            def add_then_stop(meetings: Any) -> int:
                added = real_add(meetings)
                server.stop()  # after the first chunk is in: the next pull finds no Redis
                return added

            monkeypatch.setattr(local, "add", add_then_stop)
            with pytest.raises(StoreError, match=f"Redis store at {server.url} did not answer"):
                b.questions.ask(DOMAIN, QUESTION)
            monkeypatch.setattr(local, "add", real_add)
            held = local.held(ids)
            assert len(held) == 4
            expected = {m.recording_id: m for m in _meetings(a, held)}
            for rid in held:
                meeting = local.meeting(rid)
                assert meeting is not None and meeting.transcript == expected[rid].transcript
            with sqlite3.connect(local.path) as conn:
                assert conn.execute("PRAGMA integrity_check").fetchone() == ("ok",)
        finally:
            for rt in made:
                rt.jobs.close()
                rt.store.close()


def _meetings(rt: Runtime, ids: Any) -> list[Any]:
    """The meetings A's own index holds (A fetched them, so its local copy is the original)."""
    return [m for m in (shared(rt).local.meeting(rid) for rid in ids) if m is not None]


def test_a_damaged_shared_value_is_skipped_and_fetched_again(machine: Machine, fathom: Fathom, redis_url: str) -> None:
    """A stored transcript that cannot be read is not indexed: it counts as lacking, and the next job fetches it alone."""
    a, b = machine("a"), machine("b")
    rid = with_transcripts(run(a))[0]
    raw = redis.Redis.from_url(redis_url, decode_responses=True)
    raw.set(f"transcripts:data:{rid}", '{"zlib":"bm90IHpsaWI="}')  # base64 of "not zlib"
    assert shared(b).lacking([rid]) == {rid}
    assert shared(b).meeting(rid) is None
    fathom.urls.clear()
    run(b)
    assert [u.path for u in fathom.transcript_requests()] == [f"/external/v1/recordings/{rid}/transcript"]
    assert unpack(rid, json.loads(raw.get(f"transcripts:data:{rid}") or "null")) is not None, "the share is repaired"
    assert shared(b).local.held([rid]) == shared(a).local.held([rid])
    raw.close()


def test_the_stored_form_comes_back_equal_and_a_wrong_one_is_refused(tmp_path: Path) -> None:
    """pack/unpack round-trips a meeting with its transcript; another recording's value or a damaged one reads as None."""
    original = meeting(
        301, "2026-03-02", [rep(), inv("Jane", "jane@acmecorp.com")], [REP, ("Jane", "jane@acmecorp.com")]
    )
    stored = pack(original)
    assert unpack(301, stored) == original
    assert unpack(302, stored) is None, "a value under another recording's key is refused"
    assert unpack(301, {"zlib": "%%%"}) is None and unpack(301, None) is None
    index = TranscriptIndex(str(tmp_path / "x.sqlite"))
    index.add([original])
    assert index.held([301]) == {301: content_hash(original)}
    assert index.remove([301, 999]) == 1 and index.count() == 0
    index.close()


def test_without_redis_the_search_is_the_local_index(tmp_path: Path) -> None:
    """No ENGAGEMENT_REDIS_URL: the runtime's search is the plain FTS5 index, as before."""
    rt = create_runtime(Settings(engagement_db=str(tmp_path / "e.sqlite")), executor=InlineExecutor())
    assert type(rt.search) is TranscriptIndex
    rt.close()


def test_with_a_redis_url_the_transcripts_are_shared_even_beside_a_file_store(redis_url: str, tmp_path: Path) -> None:
    """ENGAGEMENT_REDIS_URL set and a SQLite job store handed in: the transcripts still go to that Redis."""
    from engagement.storage.sqlite import SqliteKV

    settings = Settings(redis_url=redis_url, engagement_db=str(tmp_path / "e.sqlite"))
    rt = create_runtime(settings, store=SqliteKV(tmp_path / "jobs.sqlite"), executor=InlineExecutor(), enqueue=False)
    run(rt)
    assert shared(rt).count() > 0 and shared(rt).shared.url == redis_url
    rt.close()


def test_a_share_that_fails_does_not_fail_the_summary_and_the_next_run_shares_them(
    machine: Machine, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Redis refusing the transcripts' write: the job completes, nothing is cached here without Redis, the next run shares them."""
    a = machine("a")
    table = shared(a).shared

    def refused(*args: Any, **kwargs: Any) -> bool:
        raise StoreError("The Redis store did not answer (write).")

    with monkeypatch.context() as patch:
        patch.setattr(table, "set_many", refused)
        ids = with_transcripts(run(a))
    assert shared(a).count() == 0 and shared(a).local.count() == 0, "Redis first: no local copy Redis lacks"
    again = run(a)
    assert again.stats.llm_calls == 0 and shared(a).count() == len(ids) == shared(a).local.count()
