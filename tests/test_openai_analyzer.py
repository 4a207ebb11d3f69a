"""The OpenAI analyser against the fake OpenAI-compatible server: requests, usage, verification and failures."""

from __future__ import annotations

import time
from datetime import UTC, datetime

import pytest

from engagement.analysis.base import Analyzer
from engagement.analysis.openai_analyzer import OpenAIAnalyzer
from engagement.analysis.prompts import MAP_SYSTEM, REDUCE_SYSTEM
from engagement.analysis.verify import verify_account, verify_meeting_insights
from engagement.errors import (
    AnalysisAuthError,
    AnalysisError,
    AnalysisOutputError,
    AnalysisRefusalError,
    AnalysisTruncatedError,
    AnalysisUnavailableError,
    SettingsError,
)
from engagement.models import AccountInsights, Meeting, MeetingInsights, Person, Side
from engagement.settings import Settings
from tests.fakes.openai_server import INVENTED_QUOTE
from tests.support.meeting_factory import ACME_INVITEES, call
from tests.support.openai_fixtures import FAKE_OPENAI_KEY
from tests.support.waits import at_once

DOMAIN = "acme.com"
TURNS = [
    ("Sam Rep", "sam@ourco.io", "00:00:05", "Thanks for joining. Our goal is to close by March."),
    ("Jane Doe", "jane@acme.com", "00:00:30", "I'm the VP of Sales, and forecasting is my problem."),
    ("Jane Doe", "jane@acme.com", "00:01:05", "Our goal is to cut forecast errors in half this year."),
    ("Ravi Patel", None, "00:02:10", "The problem is our reps update the forecast manually."),
    ("Jane Doe", "jane@acme.com", "00:04:15", "I'm worried the budget freeze could delay the rollout."),
    ("Ravi Patel", None, "00:05:20", "Our security review is strict and SSO is a must."),
    ("Sam Rep", "sam@ourco.io", "00:06:00", "Next steps: I'll send the security pack on Friday."),
]


def meeting(recording_id: int = 1, turns=TURNS, *, day: int = 5) -> Meeting:
    start = datetime(2026, 1, day, 15, 0, tzinfo=UTC)
    return call(recording_id, turns, start=start, minutes=40, invitees=ACME_INVITEES)


def analyse_counted(analyzer: OpenAIAnalyzer, m: Meeting | None = None) -> tuple[MeetingInsights, int]:
    """The analyser's answer as the pipeline keeps it (verified against the transcript), and the quotes dropped."""
    m = m or meeting()
    return verify_meeting_insights(analyzer.analyse_meeting(m, domain=DOMAIN, company="Acme"), m)


def analyse(analyzer: OpenAIAnalyzer, m: Meeting | None = None) -> MeetingInsights:
    return analyse_counted(analyzer, m)[0]


def merge(
    analyzer: OpenAIAnalyzer, meetings: list[Meeting], insights: list[MeetingInsights], **kwargs
) -> tuple[AccountInsights, int]:
    """The account view as the pipeline keeps it (checked against the meetings' evidence), and the quotes dropped."""
    kwargs.setdefault("people", [])
    return verify_account(
        analyzer.merge(domain=DOMAIN, company="Acme", meetings=meetings, insights=insights, **kwargs), insights
    )


def all_quotes(insights) -> list[str]:
    return [
        e.quote for i in (*insights.themes, *insights.goals, *insights.challenges, *insights.risks) for e in i.evidence
    ]


# ---------------------------------------------------------------- the happy path


def test_map_request_is_structured_deterministic_and_cache_friendly(openai_server, make_openai_analyzer) -> None:
    """The map call: temperature 0, the fixed system prompt first, transcript lines, a strict json_schema."""
    analyse(make_openai_analyzer(model="gpt-4.1-mini"))

    [body] = openai_server.requests
    assert body["model"] == "gpt-4.1-mini"
    assert body["temperature"] == 0
    system, user = body["messages"]
    assert system == {"role": "system", "content": MAP_SYSTEM}  # fixed text: the server's prompt cache can reuse it
    assert "Acme" not in system["content"]
    assert user["role"] == "user"
    assert (
        "[00:01:05] Jane Doe (jane@acme.com, customer): Our goal is to cut forecast errors in half this year."
        in (user["content"])
    )
    assert "[00:02:10] Ravi Patel (customer): The problem" in user["content"]
    assert "[00:00:05] Sam Rep (sam@ourco.io, internal):" in user["content"]
    fmt = body["response_format"]
    assert fmt["type"] == "json_schema"
    assert fmt["json_schema"]["name"] == "MeetingAnalysis"
    assert fmt["json_schema"]["strict"] is True
    schema = fmt["json_schema"]["schema"]
    assert schema["additionalProperties"] is False
    assert set(schema["required"]) == set(schema["properties"])


def test_map_result_is_verified_customer_evidence(make_openai_analyzer) -> None:
    """The map result carries the model's points with verified quotes, moments and links filled in."""
    insights = analyse(make_openai_analyzer())

    assert [g.text for g in insights.goals] == ["Our goal is to cut forecast errors in half this year."]
    assert [r.text for r in insights.risks] == ["I'm worried the budget freeze could delay the rollout."]
    risk = insights.risks[0].evidence[0]
    assert (risk.timestamp, risk.speaker, risk.verified) == ("00:04:15", "Jane Doe", True)
    assert risk.url == "https://fathom.video/share/s1?timestamp=255"
    assert {(r.name, r.role) for r in insights.roles} == {("Jane Doe", "VP of Sales")}


def test_usage_counts_calls_and_the_servers_tokens(openai_server, make_openai_analyzer) -> None:
    """Each call is counted, and tokens are the server's usage.prompt_tokens / completion_tokens summed."""
    analyzer = make_openai_analyzer()
    analyse(analyzer)
    analyse(analyzer, meeting(2))

    usage = analyzer.usage.snapshot()
    assert usage["llm_calls"] == 2
    assert usage["tokens_in"] == sum(r["usage"]["prompt_tokens"] for r in openai_server.responses) > 0
    assert usage["tokens_out"] == sum(r["usage"]["completion_tokens"] for r in openai_server.responses) > 0


def test_made_up_quote_is_rejected(openai_server, make_openai_analyzer) -> None:
    """A quote the model invented is not in the transcript: verification (once, after the analyser) drops and counts it."""
    analyzer = make_openai_analyzer()
    openai_server.invent_quote_next()

    raw = analyzer.analyse_meeting(meeting(), domain=DOMAIN, company="Acme")
    insights, dropped = verify_meeting_insights(raw, meeting())

    assert INVENTED_QUOTE in all_quotes(raw), "the analyser returns what the model said; the pipeline verifies"
    assert INVENTED_QUOTE not in all_quotes(insights)
    assert all("competitor" not in g.text for g in insights.goals)
    assert "Our goal is to cut forecast errors in half this year." in all_quotes(insights)
    assert dropped == 1


def test_long_transcript_is_split_into_parts_and_merged(openai_server, make_openai_analyzer) -> None:
    """A transcript longer than context_tokens is sent in several calls, split between turns, and merged."""
    analyzer = make_openai_analyzer(context_tokens=60)  # about two lines a call

    insights = analyse(analyzer)

    assert len(openai_server.requests) >= 2
    users = [r["messages"][1]["content"] for r in openai_server.requests]
    assert all(f"of {len(users)} of the transcript" in u for u in users)
    sent = [line for u in users for line in u.splitlines() if line.startswith("[")]
    assert len(sent) == len(TURNS)  # every turn sent once, none cut
    assert [g.text for g in insights.goals] == ["Our goal is to cut forecast errors in half this year."]  # part 1
    assert [r.text for r in insights.risks] == ["I'm worried the budget freeze could delay the rollout."]  # later
    assert analyzer.usage.llm_calls == len(openai_server.requests)


def test_reduce_cites_evidence_by_id_and_counts_mentions(openai_server, make_openai_analyzer) -> None:
    """The reduce call lists numbered evidence; the account view maps the ids back and counts meetings itself."""
    analyzer = make_openai_analyzer()
    meetings = [meeting(1), meeting(2, TURNS[4:], day=20)]
    insights = [analyse(analyzer, m) for m in meetings]
    people = [Person(key="jane@acme.com", name="Jane Doe", email="jane@acme.com", side=Side.CUSTOMER)]

    account, _ = merge(analyzer, meetings, insights, people=people)

    body = openai_server.requests[-1]
    assert body["messages"][0] == {"role": "system", "content": REDUCE_SYSTEM}
    assert body["response_format"]["json_schema"]["name"] == "AccountAnalysis"
    assert "E1: [rec 1 @" in body["messages"][1]["content"]
    themes = {t.topic: t for t in account.themes}
    assert themes["Budget"].meetings == [1, 2] and themes["Budget"].mentions == 2
    assert 3 <= len(account.recommendations) <= 7
    pool = {
        (e.recording_id, e.quote)
        for mi in insights
        for i in (*mi.themes, *mi.goals, *mi.challenges, *mi.risks, *mi.next_steps)
        for e in i.evidence
    }
    cited = [e for i in (*account.goals, *account.risks, *account.recommendations, *account.themes) for e in i.evidence]
    assert cited and all((e.recording_id, e.quote) in pool for e in cited)
    assert [(r.name, r.role) for r in account.roles] == [("Jane Doe", "VP of Sales")]


def test_reduce_ignores_unknown_ids_and_the_models_counts(openai_server, make_openai_analyzer) -> None:
    """Evidence ids not in the list are dropped and themes' meetings outside the account are not counted."""
    analyzer = make_openai_analyzer()
    insights = [analyse(analyzer)]
    openai_server.respond_with(
        lambda body: {
            "themes": [{"topic": "Budget", "meeting_ids": [1, 77, 78], "evidence_ids": ["E1", "E404"]}],
            "goals": [{"text": "Invented goal", "evidence_ids": ["E999"]}],
            "challenges": [],
            "risks": [],
            "roles": [],
            "recommendations": [{"text": f"Do thing {n}", "evidence_ids": ["E1"]} for n in range(9)],
        }
    )

    account, dropped = merge(analyzer, [meeting()], insights)

    assert [(t.topic, t.meetings, t.mentions) for t in account.themes] == [("Budget", [1], 1)]
    assert account.goals == []
    assert len(account.recommendations) == 7
    assert dropped == 2


def test_is_an_analyzer_with_a_model_fingerprint(make_openai_analyzer) -> None:
    """The analyser satisfies the protocol, is named after its model, and its fingerprint depends on the model."""
    a, b = make_openai_analyzer(model="gpt-4.1-mini"), make_openai_analyzer(model="gpt-4.1")

    assert isinstance(a, Analyzer)
    assert a.name == "openai:gpt-4.1-mini"
    assert a.fingerprint != b.fingerprint
    assert a.fingerprint == make_openai_analyzer(model="gpt-4.1-mini").fingerprint


def test_concurrency_bounds_calls_in_flight(openai_server, make_openai_analyzer) -> None:
    """With concurrency 1, calls from several threads reach the server one at a time."""
    analyzer = make_openai_analyzer(concurrency=1)
    openai_server.latency_s = 0.05
    at_once(3, lambda n: analyse(analyzer, meeting(n)))

    assert len(openai_server.requests) == 3
    assert openai_server.max_in_flight == 1


def test_from_settings_uses_base_url_timeout_and_retries(openai_server) -> None:
    """from_settings points the SDK at OPENAI_BASE_URL with the configured time-out and retries."""
    settings = Settings(
        openai_api_key=FAKE_OPENAI_KEY,
        openai_base_url=openai_server.base_url,
        openai_model="m-1",
        openai_timeout_s=3,
        openai_max_retries=1,
        openai_concurrency=2,
        openai_context_tokens=900,
    )
    analyzer = OpenAIAnalyzer.from_settings(settings)

    assert (analyzer.client.max_retries, analyzer.client.timeout) == (1, 3)
    assert (analyzer.name, analyzer.concurrency, analyzer.context_tokens) == ("openai:m-1", 2, 900)
    analyse(analyzer)
    assert openai_server.headers[0]["authorization"] == f"Bearer {FAKE_OPENAI_KEY}"
    with pytest.raises(SettingsError):
        OpenAIAnalyzer.from_settings(Settings())


# ---------------------------------------------------------------- failures


def test_rejected_key_is_an_auth_error(make_openai_analyzer) -> None:
    """401 becomes AnalysisAuthError, naming the server and the setting, never the key."""
    with pytest.raises(AnalysisAuthError) as err:
        analyse(make_openai_analyzer(api_key="sk-wrong-key-123456"))

    assert "rejected the API key" in str(err.value) and "OPENAI_API_KEY" in str(err.value)
    assert "sk-wrong-key-123456" not in str(err.value)


def test_rate_limit_is_retried_by_the_sdk(openai_server, make_openai_analyzer) -> None:
    """A 429 with Retry-After is retried by the SDK and the call then succeeds."""
    openai_server.fail_next(429, headers={"retry-after": "0.01"})

    insights = analyse(make_openai_analyzer(max_retries=1))

    assert len(openai_server.requests) == 2
    assert insights.goals


@pytest.mark.parametrize("status", [429, 500, 503])
def test_persistent_429_or_5xx_is_unavailable(openai_server, make_openai_analyzer, status) -> None:
    """429 or 5xx after every SDK retry becomes AnalysisUnavailableError naming the server."""
    openai_server.fail_next(status, times=2)

    with pytest.raises(AnalysisUnavailableError) as err:
        analyse(make_openai_analyzer(max_retries=1))

    assert len(openai_server.requests) == 2  # the first try and one retry
    assert f"127.0.0.1:{openai_server.port}" in str(err.value)
    assert "after 1 retry" in str(err.value)


def test_timeout_is_unavailable(openai_server, make_openai_analyzer) -> None:
    """A server that does not answer in time gives AnalysisUnavailableError quickly, saying what to change."""
    openai_server.hang_next(3)
    started = time.monotonic()

    with pytest.raises(AnalysisUnavailableError) as err:
        analyse(make_openai_analyzer(timeout=0.2))

    assert time.monotonic() - started < 2
    assert "did not answer within" in str(err.value) and "OPENAI_TIMEOUT_S" in str(err.value)


def test_unreachable_server_is_unavailable(openai_server, make_openai_analyzer) -> None:
    """A server that refuses connections gives AnalysisUnavailableError naming it."""
    analyzer = make_openai_analyzer()
    port = openai_server.port
    openai_server.close()

    with pytest.raises(AnalysisUnavailableError) as err:
        analyse(analyzer)

    assert f"127.0.0.1:{port} could not be reached" in str(err.value)


def test_refusal_is_a_refusal_error(openai_server, make_openai_analyzer) -> None:
    """A refusal in the answer becomes AnalysisRefusalError with the model's words."""
    openai_server.refuse_next("I can't help with that.")

    with pytest.raises(AnalysisRefusalError, match="I can't help with that"):
        analyse(make_openai_analyzer())


def test_length_cut_is_a_truncated_error(openai_server, make_openai_analyzer) -> None:
    """finish_reason "length" becomes AnalysisTruncatedError; the tokens spent are still counted."""
    analyzer = make_openai_analyzer()
    openai_server.truncate_next()

    with pytest.raises(AnalysisTruncatedError, match="OPENAI_CONTEXT_TOKENS"):
        analyse(analyzer)
    assert analyzer.usage.tokens_out > 0


def test_invalid_json_is_an_output_error(openai_server, make_openai_analyzer) -> None:
    """Content that is not JSON becomes AnalysisOutputError."""
    openai_server.invalid_json_next()

    with pytest.raises(AnalysisOutputError):
        analyse(make_openai_analyzer())


def test_json_breaking_the_schema_is_an_output_error(openai_server, make_openai_analyzer) -> None:
    """JSON that does not match the schema becomes AnalysisOutputError."""
    openai_server.respond_with(lambda body: {"themes": "none"})

    with pytest.raises(AnalysisOutputError):
        analyse(make_openai_analyzer())


@pytest.mark.parametrize(
    "scenario",
    ["wrong-key", "bad-request", "server-error", "refusal", "timeout"],
)
def test_no_error_message_contains_the_key(openai_server, make_openai_analyzer, scenario) -> None:
    """Whatever fails, and whatever the server echoes back, the message never contains the API key."""
    key = FAKE_OPENAI_KEY
    kwargs = {}
    if scenario == "wrong-key":
        key = kwargs["api_key"] = "sk-echoed-by-the-server-0042"  # the fake's 401 body repeats the token
    elif scenario == "bad-request":
        openai_server.fail_next(400, body={"error": {"message": f"Bad key {key} for model", "type": "invalid"}})
    elif scenario == "server-error":
        openai_server.fail_next(500, body={"error": {"message": f"crashed with {key}"}})
    elif scenario == "refusal":
        openai_server.refuse_next(f"I won't repeat {key}.")
    else:
        openai_server.hang_next(2)
        kwargs["timeout"] = 0.2

    with pytest.raises(AnalysisError) as err:
        analyse(make_openai_analyzer(**kwargs))

    assert key not in str(err.value)
    assert str(err.value)


def test_a_deeply_nested_body_is_a_malformed_response_of_openai() -> None:
    """A 100,000-deep nested JSON body becomes AnalysisOutputError naming OpenAI and 'malformed response'."""
    import httpx2
    from openai import OpenAI

    deep = "[" * 100_000 + "]" * 100_000
    transport = httpx2.MockTransport(
        lambda request: httpx2.Response(200, text=deep, headers={"content-type": "application/json"})
    )
    client = OpenAI(
        api_key=FAKE_OPENAI_KEY,
        base_url="http://openai.test/v1",
        max_retries=0,
        http_client=httpx2.Client(transport=transport),
    )
    with pytest.raises(AnalysisOutputError) as info:
        analyse(OpenAIAnalyzer(client, model="gpt-4.1-mini"))
    assert "OpenAI" in str(info.value) and "malformed response" in str(info.value)


def test_an_oversized_answer_is_capped_when_read_and_counted(openai_server, make_openai_analyzer) -> None:
    """20,000 goals and a 1 MB text: at most MAX_ITEMS goals are kept, texts are cut, and the rest is counted."""
    from engagement.analysis.prompts import MAX_CHARS, MAX_ITEMS

    quote = {"timestamp": "00:00:05", "speaker": "Sarah Lopez", "quote": "We need SSO before the security review."}
    goals = [{"text": f"Goal number {i} about single sign-on", "evidence": [quote]} for i in range(20_000)]
    goals[0]["text"] = "x" * 1_000_000
    openai_server.respond_with(
        lambda body: {"themes": [], "goals": goals, "challenges": [], "risks": [], "roles": [], "next_steps": []}
    )
    analyzer = make_openai_analyzer()
    result = analyzer.analyse_meeting(meeting(), domain=DOMAIN, company="Acme")
    assert len(result.goals) <= MAX_ITEMS and max(len(g.text) for g in result.goals) <= MAX_CHARS
    assert analyzer.usage.items_dropped == 20_000 - MAX_ITEMS and analyzer.usage.texts_cut == 1
