"""FathomClient's edge cases, with httpx.MockTransport in place of the network."""

from __future__ import annotations

import copy
import logging
from collections.abc import Callable
from datetime import UTC, date, datetime, timedelta
from email.utils import format_datetime
from typing import Any

import httpx
import pytest

from engagement.errors import (
    FathomAuthError,
    FathomError,
    FathomNotFoundError,
    FathomPayloadError,
    FathomUnavailableError,
)
from engagement.fathom.client import FathomClient, compute_backoff, parse_retry_after
from engagement.settings import Settings
from tests.fakes.fathom_server import EXAMPLE_MEETING, make_meeting
from tests.support.waits import at_once

BASE = "https://api.fathom.ai/external/v1"
KEY = "fk_live_SECRET-0123456789abcdef"
T0 = datetime(2025, 3, 1, 17, 0, tzinfo=UTC)

Answer = httpx.Response | Exception | Callable[[httpx.Request], httpx.Response]


class Script:
    """A transport handler that answers from a script (the last answer repeats) and keeps every request."""

    def __init__(self, *answers: Answer) -> None:
        self.answers = list(answers)
        self.requests: list[httpx.Request] = []

    def __call__(self, request: httpx.Request) -> httpx.Response:
        self.requests.append(request)
        answer = self.answers.pop(0) if len(self.answers) > 1 else self.answers[0]
        if isinstance(answer, Exception):
            raise answer
        if callable(answer):
            return answer(request)
        return answer

    def params(self, n: int = 0) -> list[tuple[str, str]]:
        return list(self.requests[n].url.params.multi_items())


def client_for(script: Script, *, max_retries: int = 4, **options: Any) -> tuple[FathomClient, list[float]]:
    sleeps: list[float] = []
    http = httpx.Client(transport=httpx.MockTransport(script))
    client = FathomClient(
        http, api_key=KEY, base_url=BASE, max_retries=max_retries, backoff_base=0.01, sleep=sleeps.append, **options
    )
    return client, sleeps


def page(items: list[dict[str, Any]], cursor: str | None = None) -> httpx.Response:
    return httpx.Response(200, json={"limit": 10, "next_cursor": cursor, "items": items})


def meeting(rid: int, *emails: str | None, days: int = 0) -> dict[str, Any]:
    guests = [(f"Guest {n}", email) for n, email in enumerate(emails)] or [("John Smith", "john@acmecorp.com")]
    return make_meeting(rid, T0 - timedelta(days=days), guests=guests)


def ids(meetings: list[Any]) -> list[int]:
    return [m.recording_id for m in meetings]


# ---------------------------------------------------------------- requests


def test_from_settings_sends_key_user_agent_to_base_url() -> None:
    """from_settings sends X-Api-Key and our User-Agent to FATHOM_BASE_URL/meetings."""
    script = Script(page([]))
    settings = Settings(fathom_api_key=KEY, fathom_base_url="https://fathom.example/api/v9", fathom_timeout_s=7)
    with FathomClient.from_settings(settings, transport=httpx.MockTransport(script)) as client:
        client.list_meetings("acmecorp.com")
    request = script.requests[0]
    assert str(request.url).startswith("https://fathom.example/api/v9/meetings?")
    assert request.method == "GET"
    assert request.headers["X-Api-Key"] == KEY
    assert request.headers["User-Agent"].startswith("engagement-summary/")
    assert request.extensions["timeout"]["read"] == 7


def test_key_pasted_with_newline_is_sent_stripped() -> None:
    """A key pasted with surrounding white space is sent without it."""
    script = Script(page([]))
    client = FathomClient(httpx.Client(transport=httpx.MockTransport(script)), api_key=f" {KEY}\n", base_url=BASE)
    client.list_meetings("acmecorp.com")
    assert script.requests[0].headers["X-Api-Key"] == KEY


def test_domain_filter_is_sent_once_per_variant() -> None:
    """An internationalised domain is sent in both spellings, as repeated calendar_invitees_domains[]."""
    script = Script(page([]))
    client, _ = client_for(script)
    client.list_meetings("xn--mller-kva.de")
    client.list_meetings("https://www.AcmeCorp.com/about")
    assert [v for k, v in script.params(0) if k == "calendar_invitees_domains[]"] == ["xn--mller-kva.de", "müller.de"]
    assert [v for k, v in script.params(1) if k == "calendar_invitees_domains[]"] == ["acmecorp.com"]


def test_dates_are_inclusive_days_in_utc() -> None:
    """since is sent as created_after at 00:00Z, until as created_before at 00:00Z the next day."""
    script = Script(page([]))
    client, _ = client_for(script)
    client.list_meetings("acmecorp.com", since=date(2025, 1, 1), until=date(2025, 1, 31))
    client.list_meetings("acmecorp.com")
    params = dict(script.params(0))
    assert params["created_after"] == "2025-01-01T00:00:00Z"
    assert params["created_before"] == "2025-02-01T00:00:00Z"
    assert not {"created_after", "created_before"} & dict(script.params(1)).keys()


def test_meetings_outside_the_dates_are_dropped_even_if_sent() -> None:
    """A meeting the server returns outside since..until is not kept (the day of until is kept)."""
    inside = make_meeting(1, datetime(2025, 1, 31, 23, 59, 59, tzinfo=UTC))
    before = make_meeting(2, datetime(2024, 12, 31, 23, 59, tzinfo=UTC))
    after = make_meeting(3, datetime(2025, 2, 1, 0, 0, tzinfo=UTC))
    script = Script(page([after, inside, before]))
    client, _ = client_for(script)
    found = client.list_meetings("acmecorp.com", since=date(2025, 1, 1), until=date(2025, 1, 31))
    assert ids(found) == [1]


def test_include_flags_are_sent_only_when_asked() -> None:
    """include_* parameters are absent by default and "true" when asked."""
    script = Script(page([]))
    client, _ = client_for(script)
    client.list_meetings("acmecorp.com")
    client.list_meetings("acmecorp.com", include_transcript=True, include_summary=True, include_action_items=True)
    client.list_meetings("acmecorp.com", include_summary=True)
    assert not [k for k, _ in script.params(0) if k.startswith("include_")]
    assert {k: v for k, v in script.params(1) if k.startswith("include_")} == {
        "include_transcript": "true",
        "include_summary": "true",
        "include_action_items": "true",
    }
    assert [k for k, _ in script.params(2) if k.startswith("include_")] == ["include_summary"]


# ---------------------------------------------------------------- pagination and the client-side filter


def test_follows_cursor_to_the_end_and_drops_overlap() -> None:
    """Every page is read until next_cursor is null; a meeting repeated across pages is returned once."""
    first = [meeting(100 - n, days=n) for n in range(10)]
    second = [first[-1], *[meeting(90 - n, days=10 + n) for n in range(9)]]  # overlaps by one
    third = [second[-1], meeting(50, days=40)]
    script = Script(page(first, "c2"), page(second, "c3"), page(third))
    client, _ = client_for(script)
    progress: list[tuple[int, int]] = []
    found = client.list_meetings("acmecorp.com", on_page=lambda p, m: progress.append((p, m)))
    assert ids(found) == [*range(100, 90, -1), *range(90, 81, -1), 50]
    assert len(set(ids(found))) == len(found) == 20
    assert progress == [(1, 10), (2, 19), (3, 20)]
    assert client.requests == 3
    assert [dict(script.params(n)).get("cursor") for n in range(3)] == [None, "c2", "c3"]
    assert all(dict(script.params(n))["calendar_invitees_domains[]"] == "acmecorp.com" for n in range(3))


def test_an_empty_last_page_ends_the_listing() -> None:
    """A cursor that leads to an empty page with a null cursor ends the listing."""
    script = Script(page([meeting(n) for n in range(1, 11)], "more"), page([]))
    client, _ = client_for(script)
    assert len(client.list_meetings("acmecorp.com")) == 10
    assert client.requests == 2


def test_a_cursor_seen_twice_stops_the_listing() -> None:
    """A server that hands back a cursor it already gave stops the listing instead of looping."""
    script = Script(page([meeting(1)], "same"), page([meeting(2)], "same"))
    client, _ = client_for(script)
    with pytest.raises(FathomPayloadError, match="same page cursor twice"):
        client.list_meetings("acmecorp.com")
    assert client.requests == 2


def test_keeps_only_meetings_with_an_invitee_at_the_domain() -> None:
    """The server's company filter is re-checked: look-alikes and e-mail-less invitees do not count."""
    items = [
        meeting(1, "wile@acmecorp.co"),  # look-alike
        meeting(2, "John.Smith@AcmeCorp.COM"),  # mixed case
        meeting(3, None),  # a room with no e-mail
        meeting(4, "ana@eu.acmecorp.com"),  # a subdomain of the company
        meeting(5, "eve@acmecorp.com.evil.io"),  # the domain inside another one
        meeting(6, None, "mia@acmecorp.com"),  # one invitee is enough
        meeting(7, "hank@globex.io"),
    ]
    script = Script(page(items))
    client, _ = client_for(script)
    assert ids(client.list_meetings("acmecorp.com")) == [2, 4, 6]


def test_requests_are_counted_across_threads() -> None:
    """requests counts every request sent, from any number of threads."""
    script = Script(page([meeting(1)], "next"), page([meeting(2)]))
    script.answers = [lambda r: page([meeting(1)], None if "cursor" in r.url.params else "next")]
    client, _ = client_for(script)
    at_once(8, lambda n: client.list_meetings("acmecorp.com"))
    assert client.requests == len(script.requests) == 16


# ---------------------------------------------------------------- mapping


def test_maps_a_fathom_meeting_to_our_model() -> None:
    """Title, invitees, recorder, transcript, summary and action items come across field by field."""
    script = Script(page([copy.deepcopy(EXAMPLE_MEETING)]))
    client, _ = client_for(script)
    (m,) = client.list_meetings("client.com", include_transcript=True, include_summary=True, include_action_items=True)
    assert m.recording_id == 123456789
    assert m.title == "QBR 2025 Q1"  # the calendar title wins
    assert m.url == "https://fathom.video/xyz123" and m.share_url == "https://fathom.video/share/xyz123"
    assert m.created_at == datetime(2025, 3, 1, 17, 1, 30, tzinfo=UTC)
    assert m.duration_s == 59 * 60 + 43  # 16:01:12 to 17:00:55
    assert [(i.name, i.email, i.email_domain, i.is_external) for i in m.invitees][2] == (
        "John Smith",
        "john.smith@client.com",
        "client.com",
        True,
    )
    assert (m.recorded_by.name, m.recorded_by.email, m.recorded_by.team) == (
        "Alice Johnson",
        "alice.johnson@acme.com",
        "Customer Success",
    )
    assert m.transcript[1].speaker == "John Smith"
    assert m.transcript[1].email == "john.smith@client.com"
    assert (m.transcript[1].timestamp, m.transcript[1].seconds) == ("00:05:40", 340)
    assert m.transcript[1].text == "I agree, we need to adjust our projections."
    assert m.summary_markdown.startswith("## Summary\nWe reviewed Q1 OKRs")
    (item,) = m.action_items
    assert (item.description, item.assignee, item.assignee_email, item.timestamp, item.url, item.completed) == (
        "Email revised proposal to client",
        "Jane Doe",
        "jane.doe@acme.com",
        "00:10:45",
        "https://fathom.video/xyz123#t=645",
        False,
    )


def test_fields_not_included_are_none_and_title_falls_back() -> None:
    """Without include flags transcript, summary and action items are None; no calendar title uses title."""
    raw = copy.deepcopy(EXAMPLE_MEETING)
    raw.update(meeting_title=None, transcript=None, default_summary=None, action_items=None, highlights=None)
    raw["crm_matches"] = None
    client, _ = client_for(Script(page([raw])))
    (m,) = client.list_meetings("client.com")
    assert m.title == "Quarterly Business Review"
    assert (m.transcript, m.summary_markdown, m.action_items) == (None, None, None)


def test_transcript_endpoint() -> None:
    """get_transcript reads /recordings/{id}/transcript into turns."""
    body = {"transcript": EXAMPLE_MEETING["transcript"]}
    script = Script(httpx.Response(200, json=body))
    client, _ = client_for(script)
    turns = client.get_transcript(123456789)
    assert script.requests[0].url == f"{BASE}/recordings/123456789/transcript"
    assert [(t.speaker, t.email, t.timestamp) for t in turns] == [
        ("Jane Doe", "jane.doe@acme.com", "00:05:32"),
        ("John Smith", "john.smith@client.com", "00:05:40"),
    ]


# ---------------------------------------------------------------- errors and retries


@pytest.mark.parametrize("status", [401, 403])
def test_rejected_key_fails_at_once(status: int) -> None:
    """401 and 403 raise FathomAuthError after one request, without waiting."""
    script = Script(httpx.Response(status, json={"error": "nope"}))
    client, sleeps = client_for(script)
    with pytest.raises(FathomAuthError, match="Fathom rejected the API key"):
        client.list_meetings("acmecorp.com")
    assert client.requests == 1 and sleeps == []


def test_unknown_recording_is_not_found() -> None:
    """404 on a recording raises FathomNotFoundError naming the recording, without retrying."""
    client, sleeps = client_for(Script(httpx.Response(404)))
    with pytest.raises(FathomNotFoundError, match="no transcript of recording 42"):
        client.get_transcript(42)
    assert client.requests == 1 and sleeps == []


def test_bad_request_is_not_retried() -> None:
    """400 raises a FathomError that says the request was refused as invalid, after one request."""
    client, sleeps = client_for(Script(httpx.Response(400, json={"error": "bad cursor"})))
    with pytest.raises(FathomError, match="HTTP 400") as info:
        client.list_meetings("acmecorp.com")
    assert "bad cursor" in str(info.value)
    assert client.requests == 1 and sleeps == []


def test_429_waits_for_retry_after_then_succeeds() -> None:
    """A 429 waits for Retry-After seconds and tries again."""
    script = Script(httpx.Response(429, headers={"Retry-After": "7"}), page([meeting(1)]))
    client, sleeps = client_for(script, backoff_max=30)
    assert ids(client.list_meetings("acmecorp.com")) == [1]
    assert sleeps == [7.0]
    assert client.requests == 2


def test_429_with_http_date_retry_after() -> None:
    """Retry-After as an HTTP-date waits until that moment."""
    when = format_datetime(datetime.now(UTC) + timedelta(seconds=20), usegmt=True)
    script = Script(httpx.Response(429, headers={"Retry-After": when}), page([meeting(1)]))
    client, sleeps = client_for(script)
    assert ids(client.list_meetings("acmecorp.com")) == [1]
    assert len(sleeps) == 1 and 17 <= sleeps[0] <= 20


def test_a_wait_longer_than_max_wait_fails_at_once_naming_the_setting() -> None:
    """A Retry-After longer than max_wait_s fails without waiting, naming FATHOM_MAX_WAIT_S."""
    script = Script(httpx.Response(429, headers={"Retry-After": "3600"}), page([]))
    client, sleeps = client_for(script, max_wait_s=120)
    with pytest.raises(FathomUnavailableError, match=r"wait of 3600 s, longer than FATHOM_MAX_WAIT_S \(120 s\)"):
        client.list_meetings("acmecorp.com")
    assert sleeps == [] and client.requests == 1


def test_a_wait_within_max_wait_is_waited_in_full() -> None:
    """A Retry-After of 90 s (above the old 30 s backoff cap, within max_wait_s) is waited in full."""
    script = Script(httpx.Response(429, headers={"Retry-After": "90"}), page([]))
    client, sleeps = client_for(script, backoff_max=12.5, max_wait_s=120)
    client.list_meetings("acmecorp.com")
    assert sleeps == [90.0]


def test_429_without_retry_after_backs_off() -> None:
    """A 429 with no usable Retry-After waits an exponential backoff."""
    script = Script(httpx.Response(429, headers={"Retry-After": "soon"}), httpx.Response(429), page([]))
    client, sleeps = client_for(script, backoff_max=30)
    client.list_meetings("acmecorp.com")
    assert len(sleeps) == 2
    assert 0.01 <= sleeps[0] <= 0.02 and 0.02 <= sleeps[1] <= 0.03


def test_500_then_success() -> None:
    """A 500 is retried after a backoff, and the next answer is used."""
    script = Script(httpx.Response(500), page([meeting(1)]))
    client, sleeps = client_for(script)
    assert ids(client.list_meetings("acmecorp.com")) == [1]
    assert client.requests == 2 and len(sleeps) == 1


@pytest.mark.parametrize("max_retries", [0, 2, 4])
def test_5xx_forever_gives_up_after_max_retries(max_retries: int) -> None:
    """A server that keeps answering 503 is tried max_retries + 1 times, then FathomUnavailableError."""
    script = Script(httpx.Response(503))
    client, sleeps = client_for(script, max_retries=max_retries)
    attempts = max_retries + 1
    word = "attempt" if attempts == 1 else "attempts"
    with pytest.raises(FathomUnavailableError, match=rf"after {attempts} {word} \(HTTP 503\)\. Try again"):
        client.list_meetings("acmecorp.com")
    assert client.requests == len(script.requests) == attempts
    assert len(sleeps) == max_retries


def test_429_forever_says_rate_limited() -> None:
    """A server that keeps answering 429 ends in FathomUnavailableError that says so."""
    client, _ = client_for(Script(httpx.Response(429, headers={"Retry-After": "0"})), max_retries=2)
    with pytest.raises(FathomUnavailableError, match="too many after 3 attempts"):
        client.list_meetings("acmecorp.com")
    assert client.requests == 3


def test_timeout_then_success() -> None:
    """A time-out is retried."""
    script = Script(httpx.ReadTimeout("slow"), page([meeting(1)]))
    client, sleeps = client_for(script)
    assert ids(client.list_meetings("acmecorp.com")) == [1]
    assert client.requests == 2 and len(sleeps) == 1


def test_timeouts_forever() -> None:
    """Time-outs on every attempt end in FathomUnavailableError that says it timed out."""
    client, _ = client_for(Script(httpx.ConnectTimeout("slow")), max_retries=1)
    with pytest.raises(FathomUnavailableError, match=r"did not answer after 2 attempts \(timed out\)"):
        client.get_transcript(1)
    assert client.requests == 2


def test_connection_error_is_retried_then_reported() -> None:
    """A refused connection is retried, then reported with what to check."""
    script = Script(httpx.ConnectError("[Errno 111] Connection refused"))
    client, sleeps = client_for(script, max_retries=3)
    with pytest.raises(
        FathomUnavailableError, match="(?s)Could not reach Fathom after 4 attempts.*no connection to api.fathom.ai"
    ) as info:
        client.list_meetings("acmecorp.com")
    assert "FATHOM_BASE_URL" in str(info.value)
    assert client.requests == 4 and len(sleeps) == 3


def test_base_url_without_scheme_fails_at_once() -> None:
    """A FATHOM_BASE_URL that is not a web address fails at once, without retries."""
    client = FathomClient(httpx.Client(), api_key=KEY, base_url="api.fathom.ai/external/v1", sleep=pytest.fail)
    with pytest.raises(FathomError, match="FATHOM_BASE_URL is not a web address"):
        client.list_meetings("acmecorp.com")


def test_malformed_json_is_a_payload_error() -> None:
    """A body that is not JSON raises FathomPayloadError saying so."""
    script = Script(httpx.Response(200, content=b"<html>Bad gateway</html>", headers={"Content-Type": "text/html"}))
    client, _ = client_for(script)
    with pytest.raises(FathomPayloadError, match="Fathom answered with something that is not JSON") as info:
        client.list_meetings("acmecorp.com")
    assert "text/html" in str(info.value)


@pytest.mark.parametrize(
    ("breakage", "expected"),
    [
        (lambda m: m.pop("recording_id"), "Fathom sent a meeting without recording_id (items[3])"),
        (lambda m: m.pop("created_at"), "without created_at (items[3], recording 4)"),
        (lambda m: m["calendar_invitees"][1].pop("is_external"), "without calendar_invitees[1].is_external"),
        (lambda m: m.update(share_url=None), "invalid share_url (items[3], recording 4)"),
        (lambda m: m["recorded_by"].pop("email"), "without recorded_by.email"),
    ],
)
def test_schema_break_names_the_field(breakage: Callable[[dict[str, Any]], Any], expected: str) -> None:
    """A meeting that breaks the schema is skipped and counted, its reason naming the field and the item."""
    items = [meeting(n) for n in range(1, 6)]
    breakage(items[3])
    client, _ = client_for(Script(page(items)))
    assert ids(client.list_meetings("acmecorp.com")) == [1, 2, 3, 5]
    assert client.skipped_count == 1
    assert expected in client.skipped[0]


def test_list_envelope_without_cursor_is_a_payload_error() -> None:
    """A meeting list without next_cursor raises FathomPayloadError naming it."""
    client, _ = client_for(Script(httpx.Response(200, json={"limit": 10, "items": []})))
    with pytest.raises(FathomPayloadError, match="meeting list without next_cursor"):
        client.list_meetings("acmecorp.com")


def test_transcript_with_a_bad_timestamp_is_a_payload_error() -> None:
    """A transcript turn whose timestamp is not HH:MM:SS raises FathomPayloadError naming it."""
    turn = {"speaker": {"display_name": "A"}, "text": "hi", "timestamp": "soon"}
    client, _ = client_for(Script(httpx.Response(200, json={"transcript": [turn]})))
    with pytest.raises(FathomPayloadError, match=r"transcript\[0\]\.timestamp"):
        client.get_transcript(5)


def test_the_api_key_is_never_in_a_message_or_log(caplog: pytest.LogCaptureFixture) -> None:
    """No error message or log line carries the API key, whatever the failure."""
    caplog.set_level(logging.DEBUG)
    broken = meeting(1)
    broken.pop("recording_id")
    failures: list[Answer] = [
        httpx.Response(401, text=f"bad key {KEY}"),
        httpx.Response(403),
        httpx.Response(400, text=f"you sent X-Api-Key: {KEY}"),
        httpx.Response(422, text="x" * 195 + KEY),  # the key across the length limit of the quoted body
        httpx.Response(404, text=KEY),
        httpx.Response(503, text=KEY),
        httpx.Response(429, text=KEY),
        httpx.ConnectError(f"refused for {KEY}"),
        httpx.ReadTimeout(f"timeout for {KEY}"),
        httpx.LocalProtocolError(f"Illegal header value {KEY}"),
        httpx.Response(200, text=f"not json {KEY}"),
    ]
    messages = []
    for failure in failures:
        client, _ = client_for(Script(failure), max_retries=1)
        with pytest.raises(FathomError) as info:
            client.list_meetings("acmecorp.com")
        messages.append(str(info.value))
    skipping, _ = client_for(Script(page([broken])))
    skipping.list_meetings("acmecorp.com")
    messages += skipping.skipped
    assert len(messages) == len(failures) + 1
    assert all(KEY not in message and KEY[:6] not in message for message in messages), messages
    assert KEY not in caplog.text
    assert "***" in messages[2]  # the server's echo was redacted, not dropped


# ---------------------------------------------------------------- backoff maths


def test_compute_backoff_grows_exponentially_within_jitter_and_cap() -> None:
    """Backoff is base * 2**(attempt-1) plus at most base of jitter, never above the cap."""
    for attempt in range(1, 12):
        low = min(30.0, 0.5 * 2 ** (attempt - 1))
        high = min(30.0, low + 0.5)
        for _ in range(50):
            assert low <= compute_backoff(attempt, 0.5, 30.0) <= high
    assert compute_backoff(3, 0.5, 30.0, jitter=0) == 2.0
    assert compute_backoff(10_000, 0.5, 30.0) == 30.0  # no overflow for absurd attempts


def test_compute_backoff_uses_retry_after_capped() -> None:
    """A Retry-After value is used as it is, capped at the maximum and never negative."""
    assert compute_backoff(1, 0.5, 30.0, retry_after=7) == 7
    assert compute_backoff(5, 0.5, 30.0, retry_after=0) == 0
    assert compute_backoff(1, 0.5, 30.0, retry_after=120) == 30.0
    assert compute_backoff(1, 0.5, 30.0, retry_after=-4) == 0


def test_parse_retry_after() -> None:
    """Retry-After is read as seconds or as an HTTP-date; anything else is None."""
    now = datetime(2025, 3, 1, 12, 0, tzinfo=UTC)
    assert parse_retry_after("5", now=now) == 5
    assert parse_retry_after(" 1.5 ", now=now) == 1.5
    assert parse_retry_after("-3", now=now) == 0
    assert parse_retry_after("Sat, 01 Mar 2025 12:00:30 GMT", now=now) == 30
    assert parse_retry_after("Sat, 01 Mar 2025 11:00:00 GMT", now=now) == 0
    assert parse_retry_after("later", now=now) is None
    assert parse_retry_after("nan", now=now) is None
    assert parse_retry_after(None) is None and parse_retry_after("") is None
