"""A real Fathom HTTP server on 127.0.0.1 for tests and benchmarks, with faults on demand.

It wraps the in-process :class:`engagement.fathom.demo.FathomAPI` (so the fake and demo mode answer
alike) in a ``ThreadingHTTPServer`` running in a background thread, the way httpx's own tests
``serve_in_thread``. Faults are queued and applied to the next requests in order::

    with FathomServer(make_account()) as server:
        server.fail_next(429, headers={"Retry-After": "0"})
        server.hang_next(0.5)          # slower than the client's time-out
        client = FathomClient.from_settings(Settings(fathom_api_key=FAKE_API_KEY, fathom_base_url=server.base_url))

The module also builds realistic Fathom Meeting objects by copying and varying the spec's example.
"""

from __future__ import annotations

import base64
import copy
import json
import re
import secrets
import threading
import time
from collections import deque
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from types import TracebackType
from typing import Any
from urllib.parse import parse_qs, urlsplit

import httpx
from standardwebhooks import Webhook as Signer

from engagement.fathom.demo import FathomAPI
from tests.fakes.loopback import serve

FAKE_API_KEY = "test-fathom-key-0123456789"
BASE_PATH = "/external/v1"
FATHOM_RATE_LIMIT = (60, 60.0)  # "60 calls a minute per user"

# ---------------------------------------------------------------- meetings like Fathom's

# meetings[0] of docs/reference/fathom-meeting-examples.json: the docs' webhook example, completed
# from the spec's `example:` values. Every generated meeting is a varied deep copy of it.
EXAMPLE_MEETING: dict[str, Any] = {
    "title": "Quarterly Business Review",
    "meeting_title": "QBR 2025 Q1",
    "meeting_type": "Quarterly Business Review",
    "recording_id": 123456789,
    "url": "https://fathom.video/xyz123",
    "meeting_url": "https://us02web.zoom.us/j/123456789",
    "share_url": "https://fathom.video/share/xyz123",
    "created_at": "2025-03-01T17:01:30Z",
    "scheduled_start_time": "2025-03-01T16:00:00Z",
    "scheduled_end_time": "2025-03-01T17:00:00Z",
    "recording_start_time": "2025-03-01T16:01:12Z",
    "recording_end_time": "2025-03-01T17:00:55Z",
    "calendar_invitees_domains_type": "one_or_more_external",
    "shared_with": "single_team",
    "transcript_language": "en",
    "transcript": [
        {
            "speaker": {"display_name": "Jane Doe", "matched_calendar_invitee_email": "jane.doe@acme.com"},
            "text": "Let's revisit the budget allocations.",
            "timestamp": "00:05:32",
        },
        {
            "speaker": {"display_name": "John Smith", "matched_calendar_invitee_email": "john.smith@client.com"},
            "text": "I agree, we need to adjust our projections.",
            "timestamp": "00:05:40",
        },
    ],
    "default_summary": {
        "template_name": "general",
        "markdown_formatted": "## Summary\nWe reviewed Q1 OKRs, identified budget risks, and agreed to revisit "
        "projections next month.\n",
    },
    "action_items": [
        {
            "description": "Email revised proposal to client",
            "user_generated": False,
            "completed": False,
            "recording_timestamp": "00:10:45",
            "recording_playback_url": "https://fathom.video/xyz123#t=645",
            "assignee": {"name": "Jane Doe", "email": "jane.doe@acme.com", "team": "Marketing"},
        }
    ],
    "highlights": [
        {
            "type": "Objection",
            "summary": "Pushed back on price",
            "text": "They pushed back hard on the price",
            "start_time": 16,
            "end_time": 27.5,
        }
    ],
    "calendar_invitees": [
        {
            "name": "Alice Johnson",
            "matched_speaker_display_name": "Alice Johnson",
            "email": "alice.johnson@acme.com",
            "is_external": False,
            "email_domain": "acme.com",
        },
        {
            "name": "Jane Doe",
            "matched_speaker_display_name": "Jane Doe",
            "email": "jane.doe@acme.com",
            "is_external": False,
            "email_domain": "acme.com",
        },
        {
            "name": "John Smith",
            "matched_speaker_display_name": "John Smith",
            "email": "john.smith@client.com",
            "is_external": True,
            "email_domain": "client.com",
        },
    ],
    "recorded_by": {
        "name": "Alice Johnson",
        "email": "alice.johnson@acme.com",
        "team": "Customer Success",
        "email_domain": "acme.com",
    },
    "crm_matches": {
        "contacts": [
            {
                "name": "Jane Smith",
                "email": "jane.smith@client.com",
                "record_url": "https://app.hubspot.com/contacts/123",
            }
        ],
        "companies": [{"name": "Acme Corp", "record_url": "https://app.hubspot.com/companies/456"}],
        "deals": [{"name": "Q1 Renewal", "amount": 50000, "record_url": "https://app.hubspot.com/deals/789"}],
        "error": None,
    },
}

OUR_DOMAIN = "ourco.com"
_RECORDER = ("Alice Johnson", "alice.johnson@ourco.com")
_COLLEAGUE = ("Jane Doe", "jane.doe@ourco.com")


def _z(when: datetime) -> str:
    return when.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def _hms(seconds: int) -> str:
    return f"{seconds // 3600:02d}:{seconds // 60 % 60:02d}:{seconds % 60:02d}"


def make_meeting(
    recording_id: int,
    created_at: datetime,
    *,
    guests: Iterable[tuple[str | None, str | None]] = (("John Smith", "john.smith@acmecorp.com"),),
    title: str = "Quarterly Business Review",
    meeting_title: str | None = "QBR",
    transcript: bool = True,
) -> dict[str, Any]:
    """A complete Fathom Meeting (every include field filled) for ``guests`` meeting two of our people.

    ``guests`` are ``(name, email)``; an e-mail of ``None`` is a room or dial-in. Speakers, action
    items and links follow the invitees, so the result is internally consistent. ``transcript=False``
    gives a recording Fathom has no transcript for (``null``; the transcript endpoint answers 404).
    """
    m = copy.deepcopy(EXAMPLE_MEETING)
    slug = f"rec{recording_id}"
    start = created_at - timedelta(minutes=61)
    m.update(
        recording_id=recording_id,
        title=title,
        meeting_title=meeting_title,
        url=f"https://fathom.video/calls/{slug}",
        share_url=f"https://fathom.video/share/{slug}",
        meeting_url=f"https://us02web.zoom.us/j/{recording_id}",
        created_at=_z(created_at),
        scheduled_start_time=_z(start - timedelta(minutes=1)),
        scheduled_end_time=_z(start + timedelta(minutes=59)),
        recording_start_time=_z(start),
        recording_end_time=_z(created_at - timedelta(seconds=35)),
    )
    invitees = []
    for name, email in [_RECORDER, _COLLEAGUE, *guests]:
        domain = email.rpartition("@")[2].lower() if email else None
        invitees.append(
            {
                "name": name,
                "matched_speaker_display_name": name,
                "email": email,
                "is_external": domain != OUR_DOMAIN,
                "email_domain": domain,
            }
        )
    m["calendar_invitees"] = invitees
    external = any(i["is_external"] for i in invitees)
    m["calendar_invitees_domains_type"] = "one_or_more_external" if external else "only_internal"
    m["recorded_by"] = {"name": _RECORDER[0], "email": _RECORDER[1], "team": "Sales", "email_domain": OUR_DOMAIN}
    lines = [
        "Thanks for making the time today.",
        "Our main goal this quarter is to cut onboarding time in half.",
        "The budget review could delay our rollout by a quarter, which is our biggest risk right now.",
        "Let's schedule a follow-up with the security team.",
    ]
    m["transcript"] = [
        {
            "speaker": {"display_name": i["name"] or "Unknown speaker", "matched_calendar_invitee_email": i["email"]},
            "text": f"{lines[n % len(lines)]} (meeting {recording_id})",
            "timestamp": _hms(30 + 47 * n),
        }
        for n, i in enumerate(invitees)
    ]
    if not transcript:
        m["transcript"] = None
    m["default_summary"] = {
        "template_name": "general",
        "markdown_formatted": f"## Summary\nMeeting {recording_id}: goals, risks and next steps.\n",
    }
    m["action_items"][0].update(
        recording_playback_url=f"https://fathom.video/calls/{slug}?timestamp=645",
        assignee={"name": _COLLEAGUE[0], "email": _COLLEAGUE[1], "team": "Sales"},
    )
    return m


ACCOUNT_START = datetime(2025, 1, 6, 16, 30, tzinfo=UTC)


def make_account(
    domain: str = "acmecorp.com",
    count: int = 23,
    *,
    first_id: int = 1000,
    start: datetime = ACCOUNT_START,
    every: timedelta = timedelta(days=7),
) -> list[dict[str, Any]]:
    """``count`` weekly meetings with people at ``domain``, oldest first, ids ``first_id``, ``first_id + 1``, ..."""
    people = [("John Smith", f"john.smith@{domain}"), ("Maria Garcia", f"Maria.Garcia@{domain.upper()}")]
    return [
        make_meeting(first_id + n, start + n * every, guests=[people[n % 2]], meeting_title=f"{domain} sync #{n + 1}")
        for n in range(count)
    ]


def make_noise(first_id: int = 9000, start: datetime = ACCOUNT_START) -> list[dict[str, Any]]:
    """Meetings that must never count for acmecorp.com: another company, a look-alike domain, internal only,
    and a room with no e-mail."""
    return [
        make_meeting(first_id, start + timedelta(days=2), guests=[("Hank Scorpio", "hank@globex.io")]),
        make_meeting(first_id + 1, start + timedelta(days=9), guests=[("Wile Coyote", "wile@acmecorp.co")]),
        make_meeting(first_id + 2, start + timedelta(days=16), guests=[]),
        make_meeting(first_id + 3, start + timedelta(days=23), guests=[("Board room", None)]),
        make_meeting(first_id + 4, start + timedelta(days=30), guests=[("Hank Scorpio", "hank@globex.io")]),
        make_meeting(first_id + 5, start + timedelta(days=37), guests=[("Eve", "eve@sub.acmecorp.com.evil.io")]),
        make_meeting(first_id + 6, start + timedelta(days=44), guests=[("Lisa", "lisa@globex.io")]),
    ]


def sample_meetings() -> list[dict[str, Any]]:
    """A realistic workspace: 23 acmecorp.com meetings mixed with 7 that are not theirs."""
    return make_account() + make_noise()


# ---------------------------------------------------------------- webhooks (POST /webhooks, DELETE /webhooks/{id})

WEBHOOK_TRIGGERS = {
    "my_recordings",
    "shared_external_recordings",
    "my_shared_with_team_recordings",
    "shared_team_recordings",
}
_WEBHOOK_FIELDS = {
    "destination_url",
    "include_action_items",
    "include_crm_matches",
    "include_summary",
    "include_transcript",
    "triggered_for",
}
_INCLUDES = ("include_transcript", "include_crm_matches", "include_summary", "include_action_items")
_WEBHOOK_PATH = re.compile(r"^/webhooks(?:/(?P<id>[^/]+))?$")


def _json_response(status: int, body: Any) -> tuple[int, dict, bytes]:
    return status, {"Content-Type": "application/json"}, json.dumps(body).encode()


class FakeWebhooks:
    """Fathom's webhooks as the spec writes them: ``POST /webhooks`` (201 and the ``Webhook``, its secret
    ``whsec_`` + base64 of 24 random bytes; 400 for a body the schema refuses: ``additionalProperties: false``,
    ``destination_url`` and ``triggered_for`` required, triggers from the enum, at least one ``include_*`` true)
    and ``DELETE /webhooks/{id}`` (204, 404). The spec has no listing. :meth:`FathomServer.deliver` sends a
    meeting to one of them, signed as the Standard Webhooks scheme says."""

    def __init__(self) -> None:
        self.created: dict[str, dict[str, Any]] = {}
        self._n = 0

    def answer(self, method: str, webhook_id: str | None, body: bytes) -> tuple[int, dict, bytes]:
        if webhook_id is None and method == "POST":
            return self._create(body)
        if webhook_id is not None and method == "DELETE":
            if self.created.pop(webhook_id, None) is None:
                return _json_response(404, {"error": "Not found - the resource was not found."})
            return 204, {}, b""
        return _json_response(405, {"error": f"{method} is not supported here"})

    def _create(self, body: bytes) -> tuple[int, dict, bytes]:
        try:
            data = json.loads(body)
        except ValueError:
            return _json_response(400, {"error": "Bad request - the body is not JSON"})
        problem = None
        if not isinstance(data, dict):
            problem = "the body must be an object"
        elif set(data) - _WEBHOOK_FIELDS:
            problem = f"unknown field {sorted(set(data) - _WEBHOOK_FIELDS)[0]!r}"
        elif not isinstance(data.get("destination_url"), str) or not urlsplit(data["destination_url"]).scheme:
            problem = "destination_url must be a URI"
        elif not isinstance(data.get("triggered_for"), list) or not data["triggered_for"]:
            problem = "triggered_for must list at least one type of recording"
        elif set(data["triggered_for"]) - WEBHOOK_TRIGGERS:
            problem = (
                f"triggered_for holds an unknown value {sorted(set(data['triggered_for']) - WEBHOOK_TRIGGERS)[0]!r}"
            )
        elif any(not isinstance(data.get(name, False), bool) for name in _INCLUDES):
            problem = "include_* must be booleans"
        elif not any(data.get(name, False) for name in _INCLUDES):
            problem = "at least one of include_transcript, include_crm_matches, include_summary, include_action_items must be true"
        if problem is not None:
            return _json_response(400, {"error": f"Bad request - {problem}"})
        self._n += 1
        webhook = {
            "id": f"wh{self._n:04d}{secrets.token_hex(4)}",
            "url": data["destination_url"],
            "secret": "whsec_" + base64.b64encode(secrets.token_bytes(24)).decode(),
            "created_at": _z(datetime.now(UTC)),
            **{name: bool(data.get(name, False)) for name in _INCLUDES},
            "triggered_for": list(data["triggered_for"]),
        }
        self.created[webhook["id"]] = webhook
        return _json_response(201, webhook)


def signed_headers(
    secret: str, body: bytes, *, msg_id: str | None = None, at: datetime | None = None
) -> dict[str, str]:
    """The three headers of a delivery of ``body`` signed with ``secret`` (Standard Webhooks, as Fathom sends them)."""
    when = at or datetime.now(UTC)
    msg_id = msg_id or f"msg_{secrets.token_urlsafe(18)}"
    return {
        "webhook-id": msg_id,
        "webhook-timestamp": str(int(when.timestamp())),
        "webhook-signature": Signer(secret).sign(msg_id, when, body),
        "Content-Type": "application/json",
    }


# ---------------------------------------------------------------- the server


@dataclass
class _Fault:
    kind: str  # "status" | "malformed" | "schema_break" | "hang" | "nested"
    status: int = 200
    headers: Mapping[str, str] = field(default_factory=dict)
    body: bytes | None = None
    seconds: float = 0.0


def _break_schema(body: Any) -> Any:
    """The body with one required field removed."""
    if isinstance(body, dict) and body.get("items"):
        body["items"][0].pop("recording_id", None)
    elif isinstance(body, dict) and body.get("transcript"):
        body["transcript"][0].pop("text", None)
    elif isinstance(body, dict) and "items" in body:
        body.pop("next_cursor", None)
    elif isinstance(body, dict):
        body.pop(next(iter(body), ""), None)
    return body


class FathomServer:
    """A Fathom External API on ``127.0.0.1:<free port>``, served from a background thread.

    Attributes:
        api: the in-process API it serves (its ``calls`` count what reached it past the faults).
        request_log: ``(method, path, query)`` of every request received, ``query`` as ``{name: [values]}``.
        response_log: ``(path, status, body)`` of every answer sent.
        errors: exceptions raised while answering (a test should expect none).
        latency_s: time every request takes.
        rate_limit: ``(limit, window_s)`` of the API (Fathom's 60 a minute unless a test says otherwise;
            ``None`` for none). Throttling speaks RateLimit-* headers only, never Retry-After.
        endless: when set, ``/meetings`` hands out a new cursor forever ("repeat": the same page again;
            "new": a page of meetings never seen before each time, each newer than the last; "rewind": new
            meetings, newest first for three pages, then a page newer than all of them, and so on).
        gate: when set to an ``Event``, every ``/meetings`` answer waits until it is set (at most a minute).
        listing_gate: the same for the workspace's listing only (a ``/meetings`` request without
            ``calendar_invitees_domains[]``, as the meeting index sends): the company filter is answered at once.
        page_gate: the same for a listing's later pages only (a ``/meetings`` request with a ``cursor``): a
            listing's first page is answered at once. Every gate lets go when the server stops.
    """

    def __init__(
        self,
        meetings: Iterable[Mapping[str, Any]] = (),
        *,
        api_key: str | None = FAKE_API_KEY,
        latency_s: float = 0.0,
        api: FathomAPI | None = None,
        rate_limit: tuple[int, float] | None = FATHOM_RATE_LIMIT,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.api = (
            api
            if api is not None
            else FathomAPI(meetings, api_key=api_key, base_path=BASE_PATH, rate_limit=rate_limit, clock=clock)
        )
        self.endless: str | None = None
        self._endless_pages = 0
        self.webhooks = FakeWebhooks()
        self.gate: threading.Event | None = None
        self.listing_gate: threading.Event | None = None
        self.page_gate: threading.Event | None = None
        self.latency_s = latency_s
        self.request_log: list[tuple[str, str, dict[str, list[str]]]] = []
        self.response_log: list[tuple[str, int, bytes]] = []
        self.errors: list[BaseException] = []
        self._faults: deque[_Fault] = deque()
        self._lock = threading.Lock()
        self._stopping = threading.Event()
        self._httpd: ThreadingHTTPServer | None = None
        self._thread: threading.Thread | None = None

    # ------------------------------------------------------------ faults

    def fail_next(
        self, status: int, times: int = 1, headers: Mapping[str, str] | None = None, body: bytes | str | None = None
    ) -> None:
        """Answer the next ``times`` requests with ``status`` (e.g. 429 with Retry-After, 500, 503)."""
        raw = body.encode() if isinstance(body, str) else body
        self._queue(times, _Fault("status", status=status, headers=dict(headers or {}), body=raw))

    def malformed_next(self, times: int = 1) -> None:
        """Answer the next requests with 200 and a body that is not JSON."""
        self._queue(times, _Fault("malformed"))

    def schema_break_next(self, times: int = 1) -> None:
        """Answer the next requests with 200 and JSON that lacks a required field (a meeting's recording_id)."""
        self._queue(times, _Fault("schema_break"))

    def nested_next(self, depth: int = 100_000, times: int = 1) -> None:
        """Answer the next requests with 200 and JSON nested ``depth`` levels deep (valid, absurd)."""
        self._queue(times, _Fault("nested", seconds=depth))

    def hang_next(self, seconds: float, times: int = 1) -> None:
        """Answer the next requests only after ``seconds`` (to trigger client time-outs)."""
        self._queue(times, _Fault("hang", seconds=seconds))

    def _queue(self, times: int, fault: _Fault) -> None:
        with self._lock:
            self._faults.extend(copy.copy(fault) for _ in range(times))

    def _next_fault(self) -> _Fault | None:
        with self._lock:
            return self._faults.popleft() if self._faults else None

    @property
    def pending_faults(self) -> int:
        with self._lock:
            return len(self._faults)

    # ------------------------------------------------------------ life cycle

    @property
    def base_url(self) -> str:
        if self._httpd is None:
            raise RuntimeError("the server is not running; use it as a context manager or call start()")
        host, port = self._httpd.server_address[:2]
        return f"http://{host}:{port}{BASE_PATH}"

    def start(self) -> FathomServer:
        if self._httpd is not None:
            raise RuntimeError("the server is already running")
        self._stopping.clear()
        self._httpd, self._thread = serve(_handler_for(self), "fathom-fake")
        return self

    def stop(self) -> None:
        if self._httpd is None:
            return
        self._stopping.set()  # wakes hanging and slow answers
        self._httpd.shutdown()
        self._httpd.server_close()
        if self._thread is not None:
            self._thread.join(timeout=5)
        self._httpd = None
        self._thread = None

    def __enter__(self) -> FathomServer:
        return self.start()

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.stop()

    # ------------------------------------------------------------ one exchange

    def _hold(self, gate: threading.Event | None, limit_s: float = 60.0) -> None:
        """Wait until ``gate`` is open (None: it is), the server stops, or ``limit_s`` has passed."""
        deadline = time.monotonic() + limit_s
        while gate is not None and not gate.wait(0.05):
            if self._stopping.is_set() or time.monotonic() >= deadline:
                return

    def _answer(self, method: str, target: str, headers: list[tuple[str, str]], body: bytes) -> tuple[int, dict, bytes]:
        parts = urlsplit(target)
        with self._lock:
            self.request_log.append((method, parts.path, parse_qs(parts.query, keep_blank_values=True)))
        if self.latency_s > 0:
            self._stopping.wait(self.latency_s)
        if parts.path.endswith("/meetings"):
            query = parse_qs(parts.query)
            self._hold(self.gate)
            if "calendar_invitees_domains[]" not in query:
                self._hold(self.listing_gate)
            if "cursor" in query:
                self._hold(self.page_gate)
        fault = self._next_fault()
        if fault is not None and fault.kind == "hang":
            self._stopping.wait(fault.seconds)
        if fault is not None and fault.kind == "status":
            payload = fault.body if fault.body is not None else json.dumps({"error": f"HTTP {fault.status}"}).encode()
            return fault.status, {"Content-Type": "application/json", **fault.headers}, payload
        if fault is not None and fault.kind == "malformed":
            return 200, {"Content-Type": "application/json"}, b'{"limit": 10, "next_cursor": null, "items": [{"tit'
        if fault is not None and fault.kind == "nested":
            depth = int(fault.seconds)
            return 200, {"Content-Type": "application/json"}, b"[" * depth + b"]" * depth
        if self.endless and parts.path.endswith("/meetings"):
            return self._endless_page()
        hook = _WEBHOOK_PATH.match(parts.path.removeprefix(BASE_PATH))
        if hook is not None and parts.path.startswith(BASE_PATH):
            request = httpx.Request(method, f"http://127.0.0.1{target}", headers=headers, content=body)
            if not self.api._authorised(request):
                return _json_response(401, {"error": "Unauthorized - missing or invalid API key."})
            with self._lock:
                return self.webhooks.answer(method, hook["id"], body)
        request = httpx.Request(method, f"http://127.0.0.1{target}", headers=headers, content=body)
        response = self.api.handle(request)
        content = response.read()
        if fault is not None and fault.kind == "schema_break" and response.status_code == 200:
            content = json.dumps(_break_schema(json.loads(content))).encode()
        out_headers = {k: v for k, v in response.headers.items() if k.lower() not in _HOP_HEADERS}
        return response.status_code, out_headers, content

    def deliver(
        self,
        webhook_id: str,
        meeting: Mapping[str, Any],
        *,
        msg_id: str | None = None,
        at: datetime | None = None,
        timeout_s: float = 10.0,
    ) -> httpx.Response:
        """Send ``meeting`` to a created webhook as Fathom does: the Meeting object with the fields its
        ``include_*`` chose, signed with its secret (``msg_id``: the same id again is a re-delivery)."""
        hook = self.webhooks.created[webhook_id]
        item = dict(meeting)
        fields = {"include_transcript": "transcript", "include_summary": "default_summary"}
        fields |= {"include_action_items": "action_items", "include_crm_matches": "crm_matches"}
        for flag, name in fields.items():
            if not hook[flag]:
                item[name] = None
        body = json.dumps(item).encode()
        headers = signed_headers(hook["secret"], body, msg_id=msg_id, at=at)
        return httpx.post(hook["url"], content=body, headers=headers, timeout=timeout_s)

    def _endless_page(self) -> tuple[int, dict, bytes]:
        """A page of /meetings with a cursor that was never sent before (a broken or hostile Fathom)."""
        with self._lock:
            self._endless_pages += 1
            n = self._endless_pages
        if self.endless == "new":
            start = ACCOUNT_START + timedelta(minutes=10 * n)
            items = [make_meeting(5_000_000 + n * 10 + k, start + timedelta(seconds=k)) for k in range(10)]
        elif self.endless == "rewind":  # three pages back in time, then a jump forward to newer ones, for ever
            cycle, step = divmod(n - 1, 3)
            start = ACCOUNT_START + timedelta(days=30 * cycle - step)
            items = [make_meeting(6_000_000 + n * 10 + k, start - timedelta(minutes=k)) for k in range(10)]
        else:
            items = self.api.meetings[:10]
        body = {"limit": 10, "next_cursor": f"endless-{n}", "items": items}
        return 200, {"Content-Type": "application/json"}, json.dumps(body).encode()


_HOP_HEADERS = {"content-length", "transfer-encoding", "connection", "content-encoding"}


def _handler_for(server: FathomServer) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"
        # Headers and body in one buffered write, no Nagle: otherwise delayed ACKs add ~40 ms per request.
        disable_nagle_algorithm = True
        wbufsize = 1 << 16

        def _serve(self) -> None:
            length = int(self.headers.get("Content-Length") or 0)
            body = self.rfile.read(length) if length else b""
            try:
                status, headers, content = server._answer(self.command, self.path, list(self.headers.items()), body)
            except Exception as exc:
                server.errors.append(exc)
                status, headers, content = 500, {"Content-Type": "text/plain"}, repr(exc).encode()
            with server._lock:
                server.response_log.append((urlsplit(self.path).path, status, content))
            try:
                self.send_response(status)
                for name, value in headers.items():
                    self.send_header(name, value)
                self.send_header("Content-Length", str(len(content)))
                self.end_headers()
                self.wfile.write(content)
                self.wfile.flush()
            except (BrokenPipeError, ConnectionResetError):
                self.close_connection = True  # the client gave up (a hang fault): nothing to tell it

        do_GET = do_POST = do_PUT = do_PATCH = do_DELETE = _serve

        def log_message(self, format: str, *args: Any) -> None:  # noqa: A002 - the base class's name
            pass

    return Handler
