"""FathomAPI: Fathom's read endpoints, in process, over a list of Fathom Meeting objects.

It answers ``httpx.Request`` with ``httpx.Response`` the way ``docs/reference/fathom-openapi.yaml``
documents: ``GET /meetings`` (filters, opaque cursors, pages of ten, newest first — an order the spec does
not document, so the app relies on none —, the include flags) and ``GET /recordings/{id}/transcript`` and ``/summary``. Demo mode serves the bundled
accounts through it with ``httpx.MockTransport``; the tests' loopback server wraps the same object.
Where the real API is vaguer than a fake can be, the choice is written down:

* **One company per meeting**, as the spec's ``calendar_invitees_domains[]`` says ("Returns meetings
  whose associated company matches one of the specified domains. (Note that meetings are only
  associated with one company.)"). The rule (:func:`associated_company`): the external business
  domain (``email_domain`` of an ``is_external`` invitee, lower-cased, personal mailboxes such as
  gmail.com excluded) with the most invitees; a tie goes to the domain whose first invitee comes
  first in ``calendar_invitees``; a meeting with no external business invitee has no company and
  matches no domain. So a customer invited to a meeting with two people from a partner is listed
  only under the partner: the app must not rely on this filter to find an account's meetings.
* A meeting whose ``transcript`` is ``null`` in the data has none (too short, no speech, processing
  failed): the listing gives ``null`` even with ``include_transcript=true`` and the transcript
  endpoint answers 404.
* With ``rate_limit=(limit, window_s)`` every answer carries ``RateLimit-Limit``,
  ``RateLimit-Remaining`` and ``RateLimit-Reset`` (whole seconds left in the window, rounded up);
  past the limit the answer is 429 with those headers and no ``Retry-After`` (Fathom documents none).
  Windows are fixed and start with the first request after the previous one closed.
* Every meeting carries fields the spec does not list (:data:`UNKNOWN_FIELDS`), as a newer Fathom would.
* ``created_after`` is inclusive and ``created_before`` exclusive: ``[after, before)``.
* A query parameter the spec does not list is refused with 400, so a client typo shows up in tests.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import json
import math
import re
import threading
import time
from collections import Counter
from collections.abc import Callable, Iterable, Mapping
from datetime import UTC, datetime
from typing import Any

import httpx

from engagement.account.domains import PERSONAL_EMAIL_DOMAINS

PAGE_SIZE = 10
# Fields a newer Fathom might add: the client must ignore them (top level, and on every invitee).
UNKNOWN_FIELDS: dict[str, Any] = {"recording_duration_seconds": 3565, "ai_notes": {"version": 2, "language": "en"}}
UNKNOWN_INVITEE_FIELDS: dict[str, Any] = {"rsvp_status": "accepted"}
INCLUDE_FIELDS = {
    "include_transcript": "transcript",
    "include_summary": "default_summary",
    "include_action_items": "action_items",
    "include_highlights": "highlights",
    "include_crm_matches": "crm_matches",
}
_LIST_PARAMS = {
    "calendar_invitees_domains[]",
    "calendar_invitees_domains_type",
    "created_after",
    "created_before",
    "cursor",
    "meeting_type",
    "recorded_by[]",
    "teams[]",
    *INCLUDE_FIELDS,
}
_DOMAINS_TYPES = {"all", "only_internal", "one_or_more_external"}
_ROUTE = re.compile(
    r"^(?P<prefix>.*?)/(?:(?P<meetings>meetings)|recordings/(?P<id>[^/]+)/(?P<kind>transcript|summary))/?$"
)


class _BadRequest(Exception):
    """A query the endpoint refuses with 400."""


def associated_company(meeting: Mapping[str, Any]) -> str | None:
    """The one company domain Fathom files ``meeting`` under, by the rule in the module docstring."""
    counts: Counter[str] = Counter()
    first: dict[str, int] = {}
    for position, invitee in enumerate(meeting.get("calendar_invitees") or []):
        domain = (invitee.get("email_domain") or "").strip().lower()
        if not domain or not invitee.get("is_external") or domain in PERSONAL_EMAIL_DOMAINS:
            continue
        counts[domain] += 1
        first.setdefault(domain, position)
    if not counts:
        return None
    return min(counts, key=lambda d: (-counts[d], first[d]))


def _parse_time(name: str, value: str) -> datetime:
    try:
        when = datetime.fromisoformat(value.replace("Z", "+00:00").replace("z", "+00:00"))
    except ValueError:
        raise _BadRequest(f"{name} must be an ISO 8601 timestamp such as 2025-01-01T00:00:00Z, not {value!r}") from None
    return when if when.tzinfo else when.replace(tzinfo=UTC)


def _flag(name: str, values: list[str]) -> bool:
    value = values[-1].lower()
    if value not in ("true", "false"):
        raise _BadRequest(f"{name} must be true or false, not {values[-1]!r}")
    return value == "true"


class FathomAPI:
    """An in-process Fathom External API over ``meetings`` (full Meeting objects, every field filled).

    Attributes:
        calls: requests received per route below the base path (``/meetings``, ``/recordings/1/transcript``;
            the full path when it matches no route), whatever the answer.
        api_key: the only key accepted; ``None`` accepts any non-empty key.
        latency_s: time every request takes, to make benchmarks honest.
        rate_limit: ``(limit, window_s)``: requests allowed per fixed window (``None``: no limit, no headers).
        throttled: requests answered 429 because the window was spent.
    """

    def __init__(
        self,
        meetings: Iterable[Mapping[str, Any]],
        *,
        api_key: str | None = None,
        base_path: str | None = "/external/v1",
        page_size: int = PAGE_SIZE,
        latency_s: float = 0.0,
        rate_limit: tuple[int, float] | None = None,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.api_key = api_key
        self.rate_limit = rate_limit
        self.throttled = 0  # requests answered 429
        self._clock = clock
        self._window_start: float | None = None
        self._window_used = 0
        self.base_path = base_path.rstrip("/") if base_path is not None else None
        self.page_size = page_size
        self.latency_s = latency_s
        self.calls: Counter[str] = Counter()
        self._lock = threading.Lock()
        items = [dict(m) for m in meetings]
        by_id: dict[int, dict[str, Any]] = {}
        for meeting in items:
            rid = meeting["recording_id"]
            if rid in by_id:
                raise ValueError(f"two meetings have recording_id {rid}")
            by_id[rid] = meeting
        # Newest first, ties broken by id so pages are stable.
        self._meetings = sorted(
            items, key=lambda m: (_parse_time("created_at", m["created_at"]), m["recording_id"]), reverse=True
        )
        self._by_id = by_id
        # the last listing's matches, by its filters and the list they were read from (replaced on add and remove)
        self._matched: tuple[str, list[dict[str, Any]], list[dict[str, Any]]] | None = None

    @property
    def meetings(self) -> list[dict[str, Any]]:
        """The stored meetings, newest first (the API's own order)."""
        return list(self._meetings)

    def add(self, meeting: Mapping[str, Any]) -> None:
        """Record a new meeting, as Fathom does when a call ends."""
        item = dict(meeting)
        with self._lock:
            if item["recording_id"] in self._by_id:
                raise ValueError(f"two meetings have recording_id {item['recording_id']}")
            self._by_id[item["recording_id"]] = item
            self._meetings = sorted(
                [*self._meetings, item],
                key=lambda m: (_parse_time("created_at", m["created_at"]), m["recording_id"]),
                reverse=True,
            )

    def set_transcript(self, recording_id: int, transcript: list[dict[str, Any]] | None) -> None:
        """Give a meeting its transcript (Fathom makes it after the meeting), or take it away (``None``)."""
        with self._lock:
            self._by_id[recording_id]["transcript"] = transcript

    def remove(self, recording_id: int) -> None:
        """Delete a meeting, as a user deleting a recording in Fathom (or un-sharing it) does."""
        with self._lock:
            self._by_id.pop(recording_id, None)
            self._meetings = [m for m in self._meetings if m["recording_id"] != recording_id]

    def close_window(self, seconds: float) -> None:
        """Spend the rate limit's window now, so it reopens ``seconds`` from now (another client used the key)."""
        if self.rate_limit is None:
            raise ValueError("this API has no rate limit")
        limit, window = self.rate_limit
        with self._lock:
            self._window_start = self._clock() - window + seconds
            self._window_used = limit

    def __call__(self, request: httpx.Request) -> httpx.Response:
        return self.handle(request)

    def handle(self, request: httpx.Request) -> httpx.Response:
        """Answer one request as the Fathom External API would (within its rate limit, when it has one)."""
        if self.latency_s > 0:
            time.sleep(self.latency_s)
        headers, allowed = self._spend()
        response = self._handle(request) if allowed else _error(429, "Rate limited - too many requests.")
        response.headers.update(headers)
        return response

    def _spend(self) -> tuple[dict[str, str], bool]:
        """Count one request against the window; the RateLimit-* headers, and whether it is allowed."""
        if self.rate_limit is None:
            return {}, True
        limit, window = self.rate_limit
        with self._lock:
            now = self._clock()
            if self._window_start is None or now >= self._window_start + window:
                self._window_start, self._window_used = now, 0
            allowed = self._window_used < limit
            if allowed:
                self._window_used += 1
            else:
                self.throttled += 1
            left = self._window_start + window - now
            headers = {
                "RateLimit-Limit": str(limit),
                "RateLimit-Remaining": str(limit - self._window_used),
                "RateLimit-Reset": str(max(1, math.ceil(left))),
            }
        return headers, allowed

    def _handle(self, request: httpx.Request) -> httpx.Response:
        path = request.url.path
        match = _ROUTE.match(path)
        known = match is not None and (self.base_path is None or match["prefix"] == self.base_path)
        route = path[len(match["prefix"]) :] if match is not None and known else path
        with self._lock:
            self.calls[route] += 1
        if not self._authorised(request):
            return _error(401, "Unauthorized - missing or invalid API key (X-Api-Key header or Bearer token).")
        if match is None or not known:
            return _error(404, f"Not found: {path}")
        if request.method != "GET":
            return _error(405, f"{request.method} is not supported on {path}", headers={"Allow": "GET"})
        query: dict[str, list[str]] = {}
        for key, value in request.url.params.multi_items():
            query.setdefault(key, []).append(value)
        try:
            if match["meetings"]:
                return _ok(self._list(query))
            try:
                recording_id = int(match["id"])
            except ValueError:
                raise _BadRequest(f"recording_id must be an integer, not {match['id']!r}") from None
            meeting = self._by_id.get(recording_id)
            unknown = set(query) - {"destination_url"}
            if unknown:
                raise _BadRequest(f"unknown query parameter {sorted(unknown)[0]!r}")
            if meeting is None:
                return _error(404, f"Not found: recording {recording_id}")
            if "destination_url" in query:
                return _ok({"destination_url": query["destination_url"][-1]})
            if match["kind"] == "transcript":
                if meeting.get("transcript") is None:
                    return _error(404, f"Not found: recording {recording_id} has no transcript")
                return _ok({"transcript": meeting["transcript"]})
            summary = meeting.get("default_summary") or {"template_name": None, "markdown_formatted": None}
            return _ok({"summary": summary})
        except _BadRequest as exc:
            return _error(400, f"Bad request - {exc}")

    # ------------------------------------------------------------ auth

    def _authorised(self, request: httpx.Request) -> bool:
        key = request.headers.get("X-Api-Key", "").strip()
        if not key:
            scheme, _, token = request.headers.get("Authorization", "").partition(" ")
            key = token.strip() if scheme.lower() == "bearer" else ""
        if not key:
            return False
        if self.api_key is None:
            return True
        return hmac.compare_digest(key.encode(), self.api_key.encode())

    # ------------------------------------------------------------ GET /meetings

    def _list(self, query: dict[str, list[str]]) -> dict[str, Any]:
        unknown = set(query) - _LIST_PARAMS
        if unknown:
            raise _BadRequest(f"unknown query parameter {sorted(unknown)[0]!r}")
        domains = {d.strip().lower() for d in query.get("calendar_invitees_domains[]", []) if d.strip()}
        domains_type = query.get("calendar_invitees_domains_type", ["all"])[-1]
        if domains_type not in _DOMAINS_TYPES:
            raise _BadRequest(f"calendar_invitees_domains_type must be one of {sorted(_DOMAINS_TYPES)}")
        after = _parse_time("created_after", query["created_after"][-1]) if "created_after" in query else None
        before = _parse_time("created_before", query["created_before"][-1]) if "created_before" in query else None
        recorded_by = {e.lower() for e in query.get("recorded_by[]", [])}
        teams = set(query.get("teams[]", []))
        meeting_type = query.get("meeting_type", [None])[-1]
        flags = {name: _flag(name, query[name]) if name in query else False for name in INCLUDE_FIELDS}

        filters = {k: sorted(v) for k, v in query.items() if k != "cursor" and k not in INCLUDE_FIELDS}
        fingerprint = hashlib.sha256(json.dumps(filters, sort_keys=True).encode()).hexdigest()[:12]
        offset = self._offset(query["cursor"][-1], fingerprint) if "cursor" in query else 0

        def wanted(m: Mapping[str, Any]) -> bool:
            if domains and associated_company(m) not in domains:
                return False
            if domains_type != "all" and m.get("calendar_invitees_domains_type") != domains_type:
                return False
            created = _parse_time("created_at", m["created_at"])
            if (after and created < after) or (before and created >= before):
                return False
            recorder = m.get("recorded_by") or {}
            if recorded_by and (recorder.get("email") or "").lower() not in recorded_by:
                return False
            if teams and recorder.get("team") not in teams:
                return False
            return meeting_type is None or m.get("meeting_type") == meeting_type

        meetings = self._meetings
        cached = self._matched
        if cached is not None and cached[0] == fingerprint and cached[1] is meetings:
            matches = cached[2]  # the next page of the same listing: the filter was run on its first page
        else:
            matches = [m for m in meetings if wanted(m)]
            self._matched = (fingerprint, meetings, matches)
        page = matches[offset : offset + self.page_size]
        end = offset + len(page)
        next_cursor = self._cursor(end, fingerprint) if end < len(matches) else None
        return {
            "limit": self.page_size,
            "next_cursor": next_cursor,
            "items": [_shape(m, flags) for m in page],
        }

    @staticmethod
    def _cursor(offset: int, fingerprint: str) -> str:
        raw = json.dumps({"offset": offset, "filters": fingerprint}, separators=(",", ":")).encode()
        return base64.urlsafe_b64encode(raw).decode()

    @staticmethod
    def _offset(cursor: str, fingerprint: str) -> int:
        try:
            data = json.loads(base64.urlsafe_b64decode(cursor.encode()))
            offset = data["offset"]
            owner = data["filters"]
        except (binascii.Error, ValueError, KeyError, TypeError):
            raise _BadRequest("cursor is not one this API issued") from None
        if not isinstance(offset, int) or offset < 0:
            raise _BadRequest("cursor is not one this API issued")
        if owner != fingerprint:
            raise _BadRequest("cursor belongs to a listing with other filters; send the same filters with it")
        return offset


def _shape(meeting: Mapping[str, Any], flags: Mapping[str, bool]) -> dict[str, Any]:
    """A meeting as the listing returns it: fields of include flags not sent are null; unknown fields added."""
    out = {**UNKNOWN_FIELDS, **meeting}
    for flag, field in INCLUDE_FIELDS.items():
        if not flags[flag]:
            out[field] = None
        elif out.get(field) is None and field in ("action_items", "highlights"):
            out[field] = []
        else:
            out.setdefault(field, None)  # a transcript that is null stays null: the meeting has none
    # Fathom matches invitees to speakers only when there is an included transcript.
    matched = flags["include_transcript"] and meeting.get("transcript") is not None
    out["calendar_invitees"] = [
        {**UNKNOWN_INVITEE_FIELDS, **i, **({} if matched else {"matched_speaker_display_name": None})}
        for i in meeting.get("calendar_invitees") or []
    ]
    return out


def _ok(body: Any) -> httpx.Response:
    return httpx.Response(200, json=body)


def _error(status: int, message: str, headers: Mapping[str, str] | None = None) -> httpx.Response:
    # The spec defines no error body; a short JSON message is what a person debugging would want.
    return httpx.Response(status, json={"error": message}, headers=headers)
