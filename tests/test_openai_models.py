"""Today's OpenAI models: no sampling parameters for reasoning models, a retry without temperature, and the
"Done when" run — python -m engagement summarize against a Fathom that follows its documentation and a model
server that refuses temperature."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

import httpx
import pytest

from engagement.__main__ import main
from engagement.analysis.openai_analyzer import OpenAIAnalyzer, sampling_params
from engagement.errors import AnalysisError
from engagement.jobs.service import InlineExecutor
from engagement.models import JobStatus
from engagement.runtime import create_runtime
from engagement.settings import DEFAULT_OPENAI_MODEL, Settings
from engagement.storage.sqlite import SqliteKV
from tests.fakes.fathom_server import FAKE_API_KEY, FathomServer, make_account, make_meeting, make_noise
from tests.fakes.openai_server import FakeOpenAI
from tests.support.openai_fixtures import FAKE_OPENAI_KEY
from tests.support.quotes import assert_quotes_were_said, transcripts_of
from tests.test_openai_analyzer import analyse

# ---------------------------------------------------------------- the fake refuses what OpenAI refuses


@pytest.mark.parametrize(
    ("extra", "param", "code"),
    [
        ({"temperature": 0}, "temperature", "unsupported_value"),
        ({"max_tokens": 500}, "max_tokens", "unsupported_parameter"),
    ],
)
def test_the_fake_refuses_sampling_parameters_for_reasoning_models_with_openais_error_body(
    openai_server: FakeOpenAI, extra: dict, param: str, code: str
) -> None:
    """gpt-5-mini with temperature 0 or max_tokens gets 400 with error.type, error.param and error.code set."""
    body = {"model": "gpt-5-mini", "messages": [{"role": "user", "content": "hi"}], **extra}
    headers = {"Authorization": f"Bearer {FAKE_OPENAI_KEY}"}
    answer = httpx.post(f"{openai_server.base_url}/chat/completions", json=body, headers=headers)
    assert answer.status_code == 400
    error = answer.json()["error"]
    assert (error["type"], error["param"], error["code"]) == ("invalid_request_error", param, code)
    assert param in error["message"]
    older = {**body, "model": "gpt-4.1-mini"}
    openai_server.respond_with(lambda request: "ok")
    assert httpx.post(f"{openai_server.base_url}/chat/completions", json=older, headers=headers).status_code == 200


# ---------------------------------------------------------------- what the analyser sends


def test_reasoning_models_get_no_sampling_parameters() -> None:
    """gpt-5*, gpt-6* and o-series names get no temperature; older chat models get temperature 0."""
    for name in ("gpt-5-mini", "gpt-5.4-mini", "gpt-6-sol", "o3", "o4-mini"):
        assert sampling_params(name) == {}, name
    assert sampling_params("gpt-4.1-mini") == {"temperature": 0}


def test_gpt_5_mini_analyses_a_meeting_without_temperature(
    make_openai_analyzer: Callable[..., OpenAIAnalyzer], openai_server: FakeOpenAI
) -> None:
    """OPENAI_MODEL=gpt-5-mini: the call carries no temperature, the fake answers, quotes are verified."""
    insights = analyse(make_openai_analyzer(model="gpt-5-mini"))
    assert openai_server.refused == []
    assert all("temperature" not in r and "max_tokens" not in r for r in openai_server.requests)
    assert insights.goals and all(e.verified for g in insights.goals for e in g.evidence)


def test_a_400_naming_temperature_is_retried_once_without_it_and_remembered(
    make_openai_analyzer: Callable[..., OpenAIAnalyzer], openai_server: FakeOpenAI
) -> None:
    """A model the app does not know refuses temperature: one retry without it, then never sent again for it."""
    refusal = {
        "error": {
            "message": "Unsupported value: 'temperature' does not support 0 with this model.",
            "type": "invalid_request_error",
            "param": "temperature",
            "code": "unsupported_value",
        }
    }
    openai_server.fail_next(400, body=refusal)
    analyzer = make_openai_analyzer(model="local-reasoner-2")
    analyse(analyzer)
    analyse(analyzer)
    sent = [("temperature" in r) for r in openai_server.requests]
    assert sent == [True, False, False]
    assert analyzer.usage.llm_calls == 2


def test_a_model_without_structured_outputs_gets_a_message_that_names_one_that_has_them(
    make_openai_analyzer: Callable[..., OpenAIAnalyzer], openai_server: FakeOpenAI
) -> None:
    """A 400 about response_format says the model cannot answer with a JSON schema and what to set instead."""
    body = {
        "error": {
            "message": "Invalid parameter: 'response_format' of type 'json_schema' is not supported with this model.",
            "type": "invalid_request_error",
            "param": "response_format",
            "code": None,
        }
    }
    openai_server.fail_next(400, body=body)
    with pytest.raises(AnalysisError, match="does not support structured outputs") as info:
        analyse(make_openai_analyzer(model="gpt-3.5-turbo"))
    assert "OPENAI_MODEL" in str(info.value) and DEFAULT_OPENAI_MODEL in str(info.value)


def test_the_default_model_has_no_announced_shutdown_in_the_pinned_sdk() -> None:
    """DEFAULT_OPENAI_MODEL is a chat model the installed SDK lists and is not in its deprecated list."""
    from typing import get_args

    import openai.types.shared.chat_model as chat_model

    assert DEFAULT_OPENAI_MODEL in get_args(chat_model.ChatModel)
    notes = (chat_model.__doc__ or "") + Path(chat_model.__file__).read_text(encoding="utf-8")
    deprecated = notes.split('"""Deprecated values:', 1)[-1]
    assert f'"{DEFAULT_OPENAI_MODEL}"' not in deprecated


# ---------------------------------------------------------------- jobs


def test_a_prompt_cut_by_a_small_context_is_noted_in_the_summary(tmp_path: Path) -> None:
    """A compatible server whose usage reports far fewer prompt tokens than were sent: the summary says so."""
    with FathomServer(make_account(count=2)) as fathom, FakeOpenAI(api_key="sk-ctx", context_tokens=50) as model:
        settings = Settings.from_env(
            {
                "FATHOM_API_KEY": FAKE_API_KEY,
                "FATHOM_BASE_URL": fathom.base_url,
                "OPENAI_API_KEY": "sk-ctx",
                "OPENAI_BASE_URL": model.base_url,
                "ENGAGEMENT_DB": str(tmp_path / "ctx.sqlite"),
            }
        )
        runtime = create_runtime(settings, store=SqliteKV(settings.engagement_db), executor=InlineExecutor())
        record = runtime.jobs.get("acmecorp.com", runtime.jobs.start("acmecorp.com"))
    assert record.status is JobStatus.COMPLETE, record.error
    assert record.summary is not None
    assert any("OPENAI_CONTEXT_TOKENS" in note and "context window" in note for note in record.summary.notes)


def spec_following_workspace() -> list[dict]:
    """A workspace as Fathom's documentation describes it: one company per meeting (a partner-filed meeting and one
    filed under another customer), a meeting without a transcript, and other companies' meetings."""
    account = make_account("acmecorp.com", count=14)
    partner = make_meeting(
        4001,
        _after(account, days=1),
        guests=[
            ("Pat", "pat@bridgepoint.com"),
            ("Pia", "pia@bridgepoint.com"),
            ("John Smith", "john.smith@acmecorp.com"),
        ],
    )
    other_customer = make_meeting(
        4002,
        _after(account, days=2),
        guests=[("A", "a@globex.io"), ("B", "b@globex.io"), ("C", "c@globex.io"), ("Nia New", "nia.new@acmecorp.com")],
    )
    silent = make_meeting(
        4003, _after(account, days=3), guests=[("Maria Garcia", "maria.garcia@acmecorp.com")], transcript=False
    )
    return [*account, partner, other_customer, silent, *make_noise()]


def _after(meetings: list[dict], *, days: int):
    from datetime import datetime, timedelta

    return max(datetime.fromisoformat(m["created_at"]) for m in meetings) + timedelta(days=days)


def test_done_when_summarize_counts_exactly_and_gpt_5_mini_completes_with_verified_quotes(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    """python -m engagement summarize acmecorp.com --json against a Fathom that follows its docs (one company per
    meeting, RateLimit-* throttling only, a transcript-less meeting) and OPENAI_MODEL=gpt-5-mini against a server
    that refuses temperature: every meeting and person counted exactly, every quote verified."""
    workspace = spec_following_workspace()
    transcripts = transcripts_of(workspace)
    # 14 + partner-filed + other-customer-filed + transcript-less; John 7+1, Maria 7+1, Nia 1.
    with FathomServer(workspace, rate_limit=(3, 1.0)) as fathom, FakeOpenAI(api_key="sk-done") as model:
        fathom.api.close_window(1)  # the key's window is spent: the first answer is a 429 with RateLimit-* only
        for name, value in {
            "FATHOM_API_KEY": FAKE_API_KEY,
            "FATHOM_BASE_URL": fathom.base_url,
            "OPENAI_API_KEY": "sk-done",
            "OPENAI_BASE_URL": model.base_url,
            "OPENAI_MODEL": "gpt-5-mini",
        }.items():
            monkeypatch.setenv(name, value)
        code = main(["summarize", "acmecorp.com", "--json"])
        out, err = capsys.readouterr()
        throttled = fathom.api.throttled
        refused = list(model.refused)
    assert code == 0, err
    record = json.loads(out)
    summary = record["summary"]
    assert record["analyzer"] == "openai:gpt-5-mini"
    assert summary["meetings_count"] == 17
    assert {m["recording_id"] for m in summary["meetings"]} == {m["recording_id"] for m in workspace[:14]} | {
        4001,
        4002,
        4003,
    }
    customers = {p["email"].lower(): p["count"] for p in summary["people"] if p["side"] == "customer"}
    assert customers == {"john.smith@acmecorp.com": 8, "maria.garcia@acmecorp.com": 8, "nia.new@acmecorp.com": 1}
    (silent,) = [m for m in summary["meetings"] if m["recording_id"] == 4003]
    assert silent["no_transcript"] == "no transcript" and not silent["analysed"]
    assert record["stats"]["meetings_without_transcript"] == 1
    # per meeting with a transcript a map and a qualification call, then one reduce
    assert record["stats"]["llm_calls"] == 16 * 2 + 1
    assert refused == []  # no request carried temperature
    assert_quotes_were_said(summary, transcripts)
    assert throttled == 1  # the forced 429 was waited out; pacing from RateLimit-* avoided every other one
