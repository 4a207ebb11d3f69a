"""The analysis cache: a re-run pays only for new or changed meetings."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime

import pytest
from openai import OpenAI

import engagement.analysis.openai_analyzer as openai_analyzer
from engagement.analysis.cache import InsightCache
from engagement.analysis.offline import OfflineAnalyzer
from engagement.analysis.openai_analyzer import OpenAIAnalyzer
from engagement.models import Evidence, Insight, Meeting, MeetingInsights, TranscriptTurn
from engagement.storage.sqlite import SqliteKV

START = datetime(2026, 2, 10, 9, 0, tzinfo=UTC)


def make_meeting(text: str = "Our goal is to cut forecast errors in half.", *, transcript: bool = True) -> Meeting:
    return Meeting(
        recording_id=7,
        title="Kick-off",
        url="https://fathom.video/calls/7",
        share_url="https://fathom.video/share/7",
        created_at=START,
        recording_start_time=START,
        recording_end_time=START.replace(minute=45),
        transcript=(TranscriptTurn(speaker="Jane", email="jane@acme.com", timestamp="00:00:10", text=text),)
        if transcript
        else None,
    )


INSIGHTS = MeetingInsights(
    recording_id=7,
    goals=[
        Insight(
            text="Halve forecast errors",
            evidence=[Evidence(recording_id=7, timestamp="00:00:10", quote="Our goal is to cut forecast errors")],
        )
    ],
)


@pytest.fixture
def store(tmp_path) -> Iterator[SqliteKV]:
    kv = SqliteKV(tmp_path / "engagement.sqlite")
    yield kv.table("cache")
    kv.close()


@pytest.fixture
def client() -> Iterator[OpenAI]:
    c = OpenAI(api_key="sk-unused", base_url="http://127.0.0.1:9/v1", max_retries=0)  # never called
    yield c
    c.close()


def test_second_lookup_hits_even_without_the_transcript(store) -> None:
    """After put, get returns the same insights — also for the same meeting listed without its transcript."""
    cache = InsightCache(store)
    fingerprint = OfflineAnalyzer().fingerprint
    assert cache.get(make_meeting(), fingerprint) is None

    cache.put(make_meeting(), fingerprint, INSIGHTS)

    assert cache.get(make_meeting(), fingerprint) == INSIGHTS
    assert cache.get(make_meeting(transcript=False), fingerprint) == INSIGHTS
    assert cache.count() == 1


def test_stored_value_is_json_under_the_documented_key(store) -> None:
    """The value is plain JSON under ``insights:{recording_id}:<hash>`` and keeps the transcript's content hash."""
    cache = InsightCache(store)
    cache.put(make_meeting(), "fp", INSIGHTS)

    [key] = store.keys("insights:")
    assert key.startswith("insights:7:") and len(key.split(":")[2]) == 16
    value = store.get(key)
    assert value["insights"] == INSIGHTS.model_dump(mode="json")
    assert len(value["content_hash"]) == 64


def test_changed_model_or_prompt_version_is_a_miss(store, client, monkeypatch) -> None:
    """Another model or another PROMPT_VERSION gives another fingerprint, so the cached analysis is not reused."""
    cache = InsightCache(store)
    mini = OpenAIAnalyzer(client, model="gpt-4.1-mini")
    cache.put(make_meeting(), mini.fingerprint, INSIGHTS)

    other_model = OpenAIAnalyzer(client, model="gpt-4.1")
    monkeypatch.setattr(openai_analyzer, "PROMPT_VERSION", "next-version")
    new_prompt = OpenAIAnalyzer(client, model="gpt-4.1-mini")

    assert cache.get(make_meeting(), mini.fingerprint) == INSIGHTS
    assert cache.get(make_meeting(), other_model.fingerprint) is None
    assert cache.get(make_meeting(), new_prompt.fingerprint) is None
    assert cache.get(make_meeting(), OfflineAnalyzer().fingerprint) is None


def test_changed_transcript_is_a_miss(store) -> None:
    """When the transcript at hand differs from the one analysed, the entry is a miss."""
    cache = InsightCache(store)
    cache.put(make_meeting(), "fp", INSIGHTS)

    assert cache.get(make_meeting("Our goal is something else entirely."), "fp") is None


def test_changed_recording_is_a_miss(store) -> None:
    """A recording whose end time changed is another version of the meeting."""
    cache = InsightCache(store)
    cache.put(make_meeting(), "fp", INSIGHTS)
    longer = make_meeting().model_copy(update={"recording_end_time": START.replace(minute=50)})

    assert cache.get(longer, "fp") is None


def test_clear_forgets_analyses_and_domains(store) -> None:
    """clear() removes every analysis and domain marker and says how many analyses went."""
    cache = InsightCache(store)
    cache.put(make_meeting(), "fp-a", INSIGHTS)
    cache.put(make_meeting(), "fp-b", INSIGHTS)
    cache.remember_domain("acme.com", [7])

    assert cache.clear() == 2
    assert cache.count() == 0
    assert cache.get(make_meeting(), "fp-a") is None
    assert not cache.knows_domain("acme.com")


def test_remember_domain_tells_a_warm_cache_from_a_cold_one(store) -> None:
    """knows_domain is false until the domain's meetings were remembered; the ids accumulate."""
    cache = InsightCache(store)
    assert not cache.knows_domain("acme.com")

    cache.remember_domain("acme.com", [7, 3])
    cache.remember_domain("acme.com", [9])

    assert cache.knows_domain("acme.com")
    assert not cache.knows_domain("globex.io")
    assert store.get("domain:acme.com")["recording_ids"] == [3, 7, 9]
