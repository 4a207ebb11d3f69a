"""FathomClient end to end over real loopback HTTP against the Fathom fake, and the fake against the spec."""

from __future__ import annotations

import json
import math
import threading
import time
from collections.abc import Callable, Iterator
from datetime import UTC, date, datetime, timedelta
from functools import cache
from typing import Any

import httpx
import pytest
from jsonschema import ValidationError

from engagement.demo import DEMO_ACCOUNTS, DEMO_API_KEY, demo_transport, load_demo_meetings
from engagement.errors import FathomNotFoundError, FathomPayloadError, FathomUnavailableError
from engagement.fathom.client import FathomClient
from engagement.fathom.demo import UNKNOWN_FIELDS, UNKNOWN_INVITEE_FIELDS, FathomAPI
from engagement.settings import Settings
from tests.fakes.fathom_server import (
    ACCOUNT_START,
    FAKE_API_KEY,
    FathomServer,
    make_account,
    make_meeting,
    make_noise,
)
from tests.support import spec

# ---------------------------------------------------------------- the spec as JSON Schema


@cache
def schema_validator(name: str) -> Any:
    # Strict: the fake must not invent fields beyond the few it adds on purpose (UNKNOWN_FIELDS).
    return spec.schema_validator(name, strict=True)


def without_unknown_fields(body: Any) -> Any:
    """The listing without the fields the fake adds on purpose, as a newer Fathom would (and only those)."""
    body = json.loads(json.dumps(body))
    for item in body.get("items") or []:
        for name in UNKNOWN_FIELDS:
            item.pop(name, None)
        for invitee in item.get("calendar_invitees") or []:
            for name in UNKNOWN_INVITEE_FIELDS:
                invitee.pop(name, None)
    return body


def assert_matches_spec(path: str, body: Any) -> None:
    """A 200 body of one of the read endpoints validates against the spec's response schema."""
    if path.endswith("/meetings"):
        schema_validator("MeetingListResponse").validate(without_unknown_fields(body))
    elif path.endswith("/transcript"):
        assert set(body) == {"transcript"} and isinstance(body["transcript"], list)
        for item in body["transcript"]:
            schema_validator("TranscriptItem").validate(item)
    elif path.endswith("/summary"):
        assert set(body) == {"summary"}
        schema_validator("MeetingSummary").validate(body["summary"])
    else:
        raise AssertionError(f"no schema for {path}")


# ---------------------------------------------------------------- helpers

Client = Callable[..., tuple[FathomClient, list[float]]]


@pytest.fixture
def client_of() -> Iterator[Client]:
    """Makes FathomClients for a server (tiny backoff, recorded sleeps) and closes them after the test."""
    made: list[FathomClient] = []

    def make(
        server: FathomServer, *, key: str = FAKE_API_KEY, timeout: float = 2.0, max_retries: int = 4
    ) -> tuple[FathomClient, list[float]]:
        sleeps: list[float] = []
        settings = Settings(
            fathom_api_key=key,
            fathom_base_url=server.base_url,
            fathom_timeout_s=timeout,
            fathom_max_retries=max_retries,
        )
        client = FathomClient.from_settings(settings, backoff_base=0.001, backoff_max=0.01, sleep=sleeps.append)
        made.append(client)
        return client, sleeps

    yield make
    for client in made:
        client.close()


def ids(meetings: list[Any]) -> list[int]:
    return [m.recording_id for m in meetings]


def meeting_requests(server: FathomServer) -> list[dict[str, list[str]]]:
    return [query for _, path, query in server.request_log if path.endswith("/meetings")]


# ---------------------------------------------------------------- listing


def test_lists_a_realistic_account_page_by_page(fathom_server: FathomServer, client_of: Client) -> None:
    """23 acmecorp.com meetings among others come back once each, newest first, in 3 pages of 10."""
    client, _ = client_of(fathom_server)
    progress: list[tuple[int, int]] = []
    found = client.list_meetings("https://www.acmecorp.com", on_page=lambda p, m: progress.append((p, m)))
    assert ids(found) == list(range(1022, 999, -1))
    assert progress == [(1, 10), (2, 20), (3, 23)]
    assert client.requests == 3
    assert fathom_server.api.calls["/meetings"] == 3
    queries = meeting_requests(fathom_server)
    assert [q.get("cursor") is None for q in queries] == [True, False, False]
    assert all(q["calendar_invitees_domains[]"] == ["acmecorp.com"] for q in queries)
    assert all(m.recorded_by.email == "alice.johnson@ourco.com" for m in found)
    assert fathom_server.errors == []


@pytest.mark.parametrize("count", [1, 9, 10, 11, 20, 21])
def test_page_boundaries_count_each_meeting_once(count: int, client_of: Client) -> None:
    """Accounts of exactly 10 or 20 meetings (and their neighbours) list every meeting once, no extra page."""
    with FathomServer(make_account(count=count) + make_noise()) as server:
        client, _ = client_of(server)
        found = client.list_meetings("acmecorp.com")
    assert len(found) == len(set(ids(found))) == count
    assert client.requests == math.ceil(count / 10)


def test_no_meetings_is_one_empty_page(fathom_server: FathomServer, client_of: Client) -> None:
    """A domain nobody from was invited lists nothing after one request."""
    client, _ = client_of(fathom_server)
    assert client.list_meetings("initech.com") == []
    assert client.requests == 1


def test_created_after_and_before_filter(fathom_server: FathomServer, client_of: Client) -> None:
    """since..until keep the meetings created on those days, inclusive, and the server filters them."""
    client, _ = client_of(fathom_server)
    since, until = date(2025, 2, 3), date(2025, 3, 3)  # five Mondays: meetings 1004..1008
    found = client.list_meetings("acmecorp.com", since=since, until=until)
    assert ids(found) == [1008, 1007, 1006, 1005, 1004]
    assert all(since <= m.created_at.date() <= until for m in found)
    (query,) = meeting_requests(fathom_server)
    assert query["created_after"] == ["2025-02-03T00:00:00Z"]
    assert query["created_before"] == ["2025-03-04T00:00:00Z"]


def test_include_flags_over_http(fathom_server: FathomServer, client_of: Client) -> None:
    """Without include flags the heavy fields are null; with them they are filled."""
    client, _ = client_of(fathom_server)
    bare = client.list_meetings("acmecorp.com", since=date(2025, 1, 6), until=date(2025, 1, 6))
    full = client.list_meetings(
        "acmecorp.com",
        since=date(2025, 1, 6),
        until=date(2025, 1, 6),
        include_transcript=True,
        include_summary=True,
        include_action_items=True,
    )
    assert ids(bare) == ids(full) == [1000]
    assert (bare[0].transcript, bare[0].summary_markdown, bare[0].action_items) == (None, None, None)
    assert full[0].transcript[0].speaker == "Alice Johnson"
    assert full[0].summary_markdown.startswith("## Summary")
    assert full[0].action_items[0].assignee_email == "jane.doe@ourco.com"
    bare_body = json.loads(fathom_server.response_log[0][2])
    assert bare_body["items"][0]["highlights"] is None and bare_body["items"][0]["crm_matches"] is None
    assert all(i["matched_speaker_display_name"] is None for i in bare_body["items"][0]["calendar_invitees"])


def test_transcript_over_http(fathom_server: FathomServer, client_of: Client) -> None:
    """The transcript endpoint returns one meeting's transcript; an unknown recording is 404."""
    client, _ = client_of(fathom_server)
    turns = client.get_transcript(1003)
    assert [t.speaker for t in turns] == ["Alice Johnson", "Jane Doe", "Maria Garcia"]
    assert turns[2].email == "Maria.Garcia@ACMECORP.COM" and turns[2].text.endswith("(meeting 1003)")
    with pytest.raises(FathomNotFoundError, match="no transcript of recording 5"):
        client.get_transcript(5)


# ---------------------------------------------------------------- failures over the wire


def test_slow_answer_times_out_and_is_retried(fathom_server: FathomServer, client_of: Client) -> None:
    """An answer slower than the time-out is abandoned and the request is sent again."""
    client, sleeps = client_of(fathom_server, timeout=0.15)
    fathom_server.hang_next(2.0)
    started = time.monotonic()
    assert client.get_transcript(1000)
    assert time.monotonic() - started < 1.5
    assert client.requests == 2 and len(sleeps) == 1


def test_unreachable_server_is_unavailable(client_of: Client) -> None:
    """A stopped server (connection refused) ends in FathomUnavailableError naming the host."""
    server = FathomServer().start()
    client, _ = client_of(server, max_retries=1)
    server.stop()
    with pytest.raises(
        FathomUnavailableError, match="(?s)Could not reach Fathom after 2 attempts.*no connection to 127.0.0.1"
    ):
        client.list_meetings("acmecorp.com")


def test_malformed_and_schema_breaking_answers(fathom_server: FathomServer, client_of: Client) -> None:
    """A body that is not JSON raises FathomPayloadError; a meeting without recording_id is skipped and counted."""
    client, _ = client_of(fathom_server)
    fathom_server.malformed_next()
    with pytest.raises(FathomPayloadError, match="not JSON"):
        client.list_meetings("acmecorp.com")
    fathom_server.schema_break_next()
    assert len(client.list_meetings("acmecorp.com")) == 22  # 23, less the one whose recording_id went
    assert client.skipped_count == 1
    assert "meeting without recording_id (items[0])" in client.skipped[0]
    fathom_server.schema_break_next()
    with pytest.raises(FathomPayloadError, match=r"transcript without transcript\[0\]\.text"):
        client.get_transcript(1000)
    assert client.requests == 1 + 3 + 1


def test_latency_is_added_to_every_request(client_of: Client) -> None:
    """latency_s delays every answer, so a 3-page listing takes at least three times it."""
    with FathomServer(make_account(), latency_s=0.05) as server:
        client, _ = client_of(server)
        started = time.monotonic()
        client.list_meetings("acmecorp.com")
        elapsed = time.monotonic() - started
    assert client.requests == 3 and elapsed >= 0.15


def test_the_listing_gate_holds_the_workspace_listing_and_not_the_company_filter() -> None:
    """With ``listing_gate`` unset, the company filter answers at once; the workspace listing answers once it is set."""
    gate = threading.Event()
    with FathomServer(make_account()) as server, httpx.Client(headers={"X-Api-Key": FAKE_API_KEY}) as http:
        server.listing_gate = gate
        url = f"{server.base_url}/meetings"
        company = http.get(url, params={"calendar_invitees_domains[]": "acmecorp.com"}, timeout=5)
        assert company.status_code == 200 and len(company.json()["items"]) == 10
        with pytest.raises(httpx.ReadTimeout):  # held: no answer while the gate is shut
            http.get(url, params={"calendar_invitees_domains_type": "all"}, timeout=0.3)
        gate.set()
        assert http.get(url, timeout=5).status_code == 200


# ---------------------------------------------------------------- the fake itself


def test_every_answer_of_the_fake_matches_the_spec(fathom_server: FathomServer, client_of: Client) -> None:
    """Every 200 body the fake serves, whatever the flags and filters, validates against the spec."""
    client, _ = client_of(fathom_server)
    client.list_meetings("acmecorp.com")
    client.list_meetings("acmecorp.com", include_transcript=True, include_summary=True, include_action_items=True)
    client.list_meetings("globex.io", since=date(2025, 1, 1))
    with httpx.Client(headers={"X-Api-Key": FAKE_API_KEY}) as http:
        params = {"include_highlights": "true", "include_crm_matches": "true"}
        assert http.get(f"{fathom_server.base_url}/meetings", params=params).status_code == 200
        assert http.get(f"{fathom_server.base_url}/recordings/9002/summary").status_code == 200
    client.get_transcript(1001)
    served = [(path, json.loads(body)) for path, status, body in fathom_server.response_log if status == 200]
    assert len(served) == len(fathom_server.response_log) == 3 + 3 + 1 + 1 + 2
    for path, body in served:
        assert_matches_spec(path, body)


def test_the_spec_check_catches_a_broken_meeting(fathom_api: FathomAPI) -> None:
    """The spec check used above fails on a listing whose meeting lacks recording_id or has an extra field."""
    request = httpx.Request("GET", "https://x/external/v1/meetings", headers={"X-Api-Key": FAKE_API_KEY})
    body = fathom_api.handle(request).json()
    assert_matches_spec("/meetings", body)
    missing = json.loads(json.dumps(body))
    del missing["items"][0]["recording_id"]
    invented = json.loads(json.dumps(body))
    invented["items"][0]["calendar_invitees"][0]["phone"] = "555"
    for broken in (missing, invented):
        with pytest.raises(ValidationError):
            assert_matches_spec("/meetings", broken)


def test_fake_refuses_bad_requests(fathom_server: FathomServer) -> None:
    """The fake answers 401 without a key, 400 for unknown parameters and foreign cursors, 404 for unknown paths."""
    base = fathom_server.base_url
    with httpx.Client() as http:
        assert http.get(f"{base}/meetings").status_code == 401
        assert http.get(f"{base}/meetings", headers={"Authorization": f"Bearer {FAKE_API_KEY}"}).status_code == 200
        http.headers["X-Api-Key"] = FAKE_API_KEY
        assert http.get(f"{base}/meetings", params={"calendar_invitees_domains": "acmecorp.com"}).status_code == 400
        assert http.get(f"{base}/meetings", params={"include_transcript": "yes"}).status_code == 400
        assert http.get(f"{base}/meetings", params={"created_after": "last week"}).status_code == 400
        assert http.get(f"{base}/meetings", params={"cursor": "not-a-cursor"}).status_code == 400
        cursor = http.get(f"{base}/meetings").json()["next_cursor"]
        other = {"cursor": cursor, "calendar_invitees_domains[]": "acmecorp.com"}
        assert http.get(f"{base}/meetings", params=other).status_code == 400
        assert http.get(f"{base}/meetings", params={"cursor": cursor}).status_code == 200
        assert http.get(f"{base}/recordings/abc/transcript").status_code == 400
        assert http.get(f"{base}/teams").status_code == 404
        assert http.get(f"{fathom_server.base_url.replace('/v1', '/v2')}/meetings").status_code == 404


def test_fake_api_filters_like_the_spec() -> None:
    """The in-process API filters by domains type, recorder and meeting type, and orders newest first."""
    internal = make_meeting(1, ACCOUNT_START, guests=[])
    external = make_meeting(2, ACCOUNT_START, guests=[("Hank", "hank@globex.io")])
    later = make_meeting(3, datetime(2025, 2, 1, tzinfo=UTC))
    later["meeting_type"] = "Demo"
    api = FathomAPI([internal, external, later], api_key="k")

    def listed(**params: str) -> list[int]:
        request = httpx.Request("GET", "https://x/external/v1/meetings", params=params, headers={"X-Api-Key": "k"})
        return [m["recording_id"] for m in api.handle(request).json()["items"]]

    assert listed() == [3, 2, 1]
    assert listed(calendar_invitees_domains_type="only_internal") == [1]
    assert listed(calendar_invitees_domains_type="one_or_more_external") == [3, 2]
    assert listed(meeting_type="Demo") == [3]
    assert listed(**{"recorded_by[]": "ALICE.johnson@ourco.com"}) == [3, 2, 1]
    assert listed(**{"recorded_by[]": "bob@ourco.com"}) == []
    assert listed(**{"calendar_invitees_domains[]": "GLOBEX.io"}) == [2]
    assert api.calls["/meetings"] == 7
    with pytest.raises(ValueError, match="two meetings have recording_id 1"):
        FathomAPI([internal, internal])


def test_fathom_api_fixture_serves_the_client_in_process(fathom_api: FathomAPI) -> None:
    """The in-process API behind httpx.MockTransport answers the real client like the server does."""
    settings = Settings(fathom_api_key=FAKE_API_KEY)
    with FathomClient.from_settings(settings, transport=httpx.MockTransport(fathom_api)) as client:
        found = client.list_meetings("acmecorp.com")
        assert client.get_transcript(found[0].recording_id)
    assert len(found) == 23
    assert (
        fathom_api.calls["/meetings"] == 3 and fathom_api.calls[f"/recordings/{found[0].recording_id}/transcript"] == 1
    )


# ---------------------------------------------------------------- demo mode


def test_demo_mode_lists_acmecorp_through_the_real_client() -> None:
    """FathomClient over demo_transport() lists acmecorp.com meetings, each with an acmecorp.com invitee."""
    if not load_demo_meetings():
        pytest.skip("no demo data in engagement/demo/data/*.json yet")
    transport = demo_transport()
    settings = Settings(fathom_api_key=DEMO_API_KEY)
    with FathomClient.from_settings(settings, transport=transport) as client:
        found = client.list_meetings(DEMO_ACCOUNTS[0][0], include_transcript=True)
    assert found, "the demo data has no acmecorp.com meeting"
    assert len(set(ids(found))) == len(found)
    assert all(any((i.email or "").lower().endswith("@acmecorp.com") for i in m.invitees) for m in found)
    assert all(m.transcript for m in found)
    assert transport.handler.calls["/meetings"] == client.requests


def test_demo_data_is_served_as_the_spec_says() -> None:
    """Every page the demo API serves for the demo accounts validates against the spec."""
    meetings = load_demo_meetings()
    if not meetings:
        pytest.skip("no demo data in engagement/demo/data/*.json yet")
    api = FathomAPI(meetings, api_key=None)
    pages = 0
    for domain, _ in DEMO_ACCOUNTS:
        params: dict[str, str] = {"calendar_invitees_domains[]": domain, "include_transcript": "true"}
        while True:
            request = httpx.Request(
                "GET", "https://demo/external/v1/meetings", params=params, headers={"X-Api-Key": "x"}
            )
            body = api.handle(request).json()
            assert_matches_spec("/meetings", body)
            pages += 1
            if body["next_cursor"] is None:
                break
            params["cursor"] = body["next_cursor"]
    assert pages >= len(DEMO_ACCOUNTS)


# ---------------------------------------------------------------- bounded listings


def test_an_endless_cursor_of_repeated_pages_stops_naming_the_cause(
    fathom_server: FathomServer, client_of: Client
) -> None:
    """A Fathom that hands out a new cursor forever with the same meetings stops after 5 pages with nothing new."""
    client, _ = client_of(fathom_server)
    fathom_server.endless = "repeat"
    with pytest.raises(FathomPayloadError, match=r"nothing new \(5 in a row after 10 meetings\)"):
        client.list_meetings("acmecorp.com")
    assert client.requests == 6


def test_an_endless_cursor_of_new_meetings_stops_at_what_a_workspace_holds(tmp_path: Any) -> None:
    """New meetings on every page forever: the listing stops at FATHOM_MAX_MEETINGS, naming the setting, and the
    index holds no more than was read (never a page of transcripts beyond it)."""
    from engagement.meetings.index import MeetingIndex

    with FathomServer(make_account(count=3), rate_limit=None) as server:
        server.endless = "new"
        settings = Settings(fathom_api_key=FAKE_API_KEY, fathom_base_url=server.base_url, fathom_max_meetings=50)
        index = MeetingIndex(tmp_path / "i.sqlite")
        with FathomClient.from_settings(settings) as client:
            with pytest.raises(FathomPayloadError, match=r"more than FATHOM_MAX_MEETINGS \(50\)") as info:
                index.sync(client)
            held = index.status(client.workspace).meetings
    assert "after 5 pages and 50 meetings" in str(info.value)
    assert len(server.request_log) == 5 and held == 50


def test_a_listing_that_goes_back_in_time_then_jumps_forward_stops_at_the_first_impossible_page(tmp_path: Any) -> None:
    """Three pages newest first, then a page of new meetings newer than all of them (an endless cursor handing out new
    meetings): the listing stops at that fourth page with a message, and the index holds the 30 meetings before it."""
    from engagement.meetings.index import MeetingIndex

    with FathomServer(make_account(count=3), rate_limit=None) as server:
        server.endless = "rewind"
        settings = Settings(fathom_api_key=FAKE_API_KEY, fathom_base_url=server.base_url)
        index = MeetingIndex(tmp_path / "i.sqlite")
        with FathomClient.from_settings(settings) as client:
            with pytest.raises(FathomPayloadError, match="went back in time and then jumped forward: page 4") as info:
                index.sync(client)
            held = index.status(client.workspace).meetings
    assert "newer than all 30 listed before it" in str(info.value)
    assert len(server.request_log) == 4 and held == 30


def test_a_listing_oldest_first_is_not_taken_for_an_endless_cursor(client_of: Client) -> None:
    """Pages that each go forward in time (an oldest-first order) are read to the end: only going back and then
    forward is impossible."""
    oldest_first = [make_meeting(100 + n, datetime(2025, 1, 6, tzinfo=UTC) + timedelta(days=n)) for n in range(25)]
    api = FathomAPI(oldest_first, api_key=FAKE_API_KEY, base_path="/external/v1", rate_limit=None)
    api._meetings.reverse()  # oldest first
    with FathomServer(api=api) as server:
        client, _ = client_of(server)
        found = client.list_meetings("acmecorp.com")
    assert len(found) == 25


def test_a_100000_deep_json_body_is_a_malformed_response(fathom_server: FathomServer, client_of: Client) -> None:
    """JSON nested 100,000 levels deep is "Fathom sent a malformed response", not a RecursionError."""
    client, _ = client_of(fathom_server)
    fathom_server.nested_next(100_000)
    with pytest.raises(FathomPayloadError, match="Fathom sent a malformed response"):
        client.list_meetings("acmecorp.com")


def test_unknown_fields_and_sparse_action_items_never_fail_a_listing(client_of: Client) -> None:
    """Fields the spec does not list, anywhere, and action items without assignee or playback URL are read fine."""
    m = make_meeting(1, datetime(2025, 1, 6, tzinfo=UTC))
    m["brand_new_field"] = {"nested": [1, 2, 3]}
    m["calendar_invitees"][2]["crm_contact_id"] = "003X"
    m["recorded_by"].pop("team")
    m["calendar_invitees"][0].pop("email_domain")
    m["action_items"][0].pop("assignee")
    m["action_items"][0].pop("recording_playback_url")
    m["action_items"][0]["assignee_v2"] = {"id": 7}
    with FathomServer([m]) as server:
        client, _ = client_of(server)
        (found,) = client.list_meetings("acmecorp.com", include_action_items=True)
    assert found.recording_id == 1 and client.skipped_count == 0
    assert found.action_items and found.action_items[0].assignee is None
