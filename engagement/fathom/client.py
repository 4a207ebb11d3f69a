"""FathomClient: the Fathom External API over HTTP in, our ``Meeting`` models out.

Every request goes through :meth:`FathomClient._send`, the one place that counts requests, retries
and turns HTTP failures into the ``FathomError`` tree; tests replace only the ``httpx`` transport.

What comes back is checked against private pydantic models that mirror the spec's ``Meeting`` for
every field the app reads (required keys, types, nullability). Fields the app does not read are not
checked, so a change there cannot break a summary. The server-side company filter is trusted to
narrow the listing, never to decide it: a meeting is kept only when one invitee's e-mail is at the
domain.
"""

from __future__ import annotations

import logging
import math
import random
import threading
import time
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from types import TracebackType
from typing import Any, TypeVar
from urllib.parse import quote

import httpx
from pydantic import BaseModel, ConfigDict, Field, ValidationError

from engagement.account.domains import domain_variants, email_at_domain, normalize_domain
from engagement.deadline import NO_DEADLINE, Deadline
from engagement.errors import (
    FathomAuthError,
    FathomError,
    FathomNotFoundError,
    FathomPayloadError,
    FathomUnavailableError,
)
from engagement.fathom.ratelimit import InProcessRateLimiter, RateLimiter, key_id, limiter_for, parse_retry_after
from engagement.models import ActionItem, Invitee, Meeting, Recorder, TranscriptTurn
from engagement.settings import DEFAULT_FATHOM_BASE_URL as DEFAULT_BASE_URL
from engagement.settings import Settings
from engagement.wording import plural

logger = logging.getLogger(__name__)

USER_AGENT = f"engagement-summary/0.1 python-httpx/{httpx.__version__}"
__all__ = ["WEBHOOK_TRIGGERS", "FathomClient", "Page", "Webhook", "compute_backoff", "parse_retry_after", "to_meeting"]
# A listing that keeps handing out cursors stops after this many pages in a row that bring no meeting
# it has not seen (an empty page, or a page of repeats).
MAX_PAGES_WITHOUT_NEWS = 5
MAX_SKIPPED_REASONS = 20  # reasons kept for the record's notes; the count is kept in full
RETRY_STATUSES = frozenset({408, 429})  # plus every 5xx
_MAX_EXPONENT = 62  # 2**62 * base is already past any cap; keeps the float finite

# ---------------------------------------------------------------- backoff (pure)


def compute_backoff(
    attempt: int,
    base: float,
    cap: float,
    retry_after: float | None = None,
    *,
    jitter: float | None = None,
) -> float:
    """Seconds to wait before retry number ``attempt`` (1 for the first retry).

    With ``retry_after`` (the server's ``Retry-After``, in seconds) the wait is exactly that, capped at
    ``cap``. Otherwise it is exponential, ``base * 2 ** (attempt - 1)``, plus up to ``base`` of random
    jitter so that clients that failed together do not retry together, and never more than ``cap``.
    ``jitter`` fixes the random part (tests).
    """
    if retry_after is not None:
        return max(0.0, min(float(retry_after), cap))
    exponential = base * 2 ** min(max(attempt - 1, 0), _MAX_EXPONENT)
    if jitter is None:
        jitter = random.uniform(0, base)
    return max(0.0, min(exponential + jitter, cap))


# ---------------------------------------------------------------- Fathom's JSON (private mirror of the spec)


class _Spec(BaseModel):
    model_config = ConfigDict(extra="ignore", frozen=True)


class _Speaker(_Spec):
    display_name: str
    matched_calendar_invitee_email: str | None = None


class _TranscriptItem(_Spec):
    speaker: _Speaker
    text: str
    # The spec's pattern is HH:MM:SS; accept what parse_timestamp() reads, so a format drift is still usable.
    timestamp: str = Field(pattern=r"^\d+(:\d{1,2}){1,2}$")


class _MeetingSummary(_Spec):
    template_name: str | None
    markdown_formatted: str | None


# Fields the app only passes along (an action item's assignee and playback URL, an invitee's
# email_domain, the recorder's team) are optional here: a change in them must not cost a meeting.


class _Assignee(_Spec):
    name: str | None = None
    email: str | None = None
    team: str | None = None


class _ActionItem(_Spec):
    description: str
    completed: bool = False
    recording_timestamp: str | None = None
    recording_playback_url: str | None = None
    assignee: _Assignee | None = None


class _Invitee(_Spec):
    name: str | None
    email: str | None
    email_domain: str | None = None
    is_external: bool


class _FathomUser(_Spec):
    name: str
    email: str
    team: str | None = None


class _Meeting(_Spec):
    recording_id: int
    title: str
    meeting_title: str | None
    url: str
    share_url: str
    created_at: datetime
    # Required by the spec; tolerated as null for recordings that had no calendar event.
    scheduled_start_time: datetime | None
    scheduled_end_time: datetime | None
    recording_start_time: datetime | None
    recording_end_time: datetime | None
    calendar_invitees: list[_Invitee]
    recorded_by: _FathomUser
    # Present only when the matching include_* flag was sent; null otherwise.
    transcript: list[_TranscriptItem] | None = None
    # Required by the spec, but a meeting without it is kept: its language is then unknown, not English.
    transcript_language: str | None = None
    default_summary: _MeetingSummary | None = None
    action_items: list[_ActionItem] | None = None


class _MeetingList(_Spec):
    limit: int | None = None
    next_cursor: str | None
    items: list[Any]


class _TranscriptResponse(_Spec):
    transcript: list[_TranscriptItem]


# The spec's ``triggered_for`` values, in its order: which recordings fire a webhook.
WEBHOOK_TRIGGERS = (
    "my_recordings",
    "shared_external_recordings",
    "my_shared_with_team_recordings",
    "shared_team_recordings",
)


class Webhook(_Spec):
    """The spec's ``Webhook`` object (``POST /webhooks`` answers with it).

    Attributes:
        id: Fathom's id of the webhook (``DELETE /webhooks/{id}``).
        url: where Fathom sends each new meeting.
        secret: ``whsec_…``, the key its deliveries are signed with.
        created_at: when it was created (ISO 8601).
        include_transcript / include_summary / include_action_items / include_crm_matches: what a delivery holds.
        triggered_for: which recordings fire it.
    """

    id: str
    url: str
    secret: str
    created_at: str
    include_transcript: bool
    include_crm_matches: bool
    include_summary: bool
    include_action_items: bool
    triggered_for: list[str]


_M = TypeVar("_M", bound=BaseModel)


def _where(loc: Iterable[int | str]) -> str:
    out = ""
    for part in loc:
        out += f"[{part}]" if isinstance(part, int) else (f".{part}" if out else str(part))
    return out


def _problem(exc: ValidationError, what: str, context: str = "") -> FathomPayloadError:
    """The first schema problem, as a sentence naming the field."""
    first = exc.errors()[0]
    field = _where(first["loc"])
    suffix = f" ({context})" if context else ""
    if not field:
        return FathomPayloadError(f"Fathom sent {what} that is not a JSON object{suffix}.")
    if first["type"] == "missing":
        return FathomPayloadError(f"Fathom sent {what} without {field}{suffix}.")
    return FathomPayloadError(f"Fathom sent {what} with an invalid {field}{suffix}: {first['msg']}.")


def _parse(model: type[_M], data: Any, what: str, context: str = "") -> _M:
    try:
        return model.model_validate(data)
    except ValidationError as exc:
        raise _problem(exc, what, context) from None
    except RecursionError:
        suffix = f" ({context})" if context else ""
        raise FathomPayloadError(f"Fathom sent a malformed response: {what} nested too deeply{suffix}.") from None


def to_meeting(item: Any, *, index: int | None = None) -> Meeting:
    """Our ``Meeting`` from one Fathom Meeting object; ``FathomPayloadError`` names what breaks the schema."""
    context = f"items[{index}]" if index is not None else ""
    if isinstance(item, dict) and isinstance(item.get("recording_id"), int):
        context = ", ".join(filter(None, [context, f"recording {item['recording_id']}"]))
    raw = _parse(_Meeting, item, "a meeting", context)
    return Meeting(
        recording_id=raw.recording_id,
        title=raw.meeting_title or raw.title,
        url=raw.url,
        share_url=raw.share_url,
        created_at=raw.created_at,
        scheduled_start_time=raw.scheduled_start_time,
        scheduled_end_time=raw.scheduled_end_time,
        recording_start_time=raw.recording_start_time,
        recording_end_time=raw.recording_end_time,
        invitees=tuple(
            Invitee(name=i.name, email=i.email, email_domain=i.email_domain, is_external=i.is_external)
            for i in raw.calendar_invitees
        ),
        recorded_by=Recorder(name=raw.recorded_by.name, email=raw.recorded_by.email, team=raw.recorded_by.team),
        transcript=None if raw.transcript is None else _turns(raw.transcript),
        transcript_language=(raw.transcript_language or "").strip() or None,
        summary_markdown=raw.default_summary.markdown_formatted if raw.default_summary else None,
        action_items=None
        if raw.action_items is None
        else tuple(
            ActionItem(
                description=a.description,
                assignee=a.assignee.name if a.assignee else None,
                assignee_email=a.assignee.email if a.assignee else None,
                timestamp=a.recording_timestamp,
                url=a.recording_playback_url,
                completed=a.completed,
            )
            for a in raw.action_items
        ),
    )


def _turns(items: list[_TranscriptItem]) -> tuple[TranscriptTurn, ...]:
    return tuple(
        TranscriptTurn(
            speaker=t.speaker.display_name,
            email=t.speaker.matched_calendar_invitee_email,
            timestamp=t.timestamp,
            text=t.text,
        )
        for t in items
    )


def include_flags(
    *, transcript: bool = False, summary: bool = False, action_items: bool = False
) -> list[tuple[str, str]]:
    """The ``include_*`` query parameters for what is wanted (only the true ones are sent)."""
    flags = (("include_transcript", transcript), ("include_summary", summary), ("include_action_items", action_items))
    return [(name, "true") for name, wanted in flags if wanted]


def _utc_midnight(day: date) -> str:
    return f"{day.isoformat()}T00:00:00Z"


# ---------------------------------------------------------------- the client


@dataclass(frozen=True)
class Page:
    """One page of ``GET /meetings``.

    Attributes:
        meetings: the page's meetings that could be read, in Fathom's order.
        skipped: reasons for the items that could not be read (skipped, not fatal).
        next_cursor: the cursor of the next page; ``None`` on the last one.
        number: 1 for the first page of a listing.
    """

    meetings: tuple[Meeting, ...]
    skipped: tuple[str, ...]
    next_cursor: str | None
    number: int


class FathomClient:
    """Fathom's read endpoints, with retries and the key's shared rate limit, for one API key.

    Attributes:
        requests: HTTP requests actually sent by this client, every retry included (thread-safe).
        max_retries: retries of one request after 429, 5xx, a time-out or a connection error.
        max_wait_s: the longest one request waits for the rate limit before the client gives up.
        max_meetings: the most meetings one listing reads before it stops (what a workspace can hold).
        skipped: reasons for listing items that could not be read, across this client's listings.
        on_wait: called with the seconds left while the client waits for the rate limit (the job's stage).
        deadline: the job's; a wait for the rate limit or a back-off that would reach it ends the job at
            once (``JobTimeoutError``) instead of sleeping past it. ``NO_DEADLINE`` outside a job.
        background: the meeting index's sync sets it: its requests leave the rate limit's next slot to a job's
            request waiting for one.
        stop: the meeting index's sync sets it: once set, a wait for the rate limit or a back-off ends at once
            and no further request is sent (``FathomUnavailableError``), so the sync ends before its index closes.

    The client owns ``http`` and closes it in :meth:`close`. It is safe to share between threads.
    Without a ``limiter`` it keeps a private one; with an injected ``sleep`` (tests) that private
    limiter's clock moves only by what was slept, so a test never really waits.
    """

    def __init__(
        self,
        http: httpx.Client,
        *,
        api_key: str,
        base_url: str,
        max_retries: int = 4,
        backoff_base: float = 0.5,
        backoff_max: float = 30.0,
        max_wait_s: float = 120.0,
        max_meetings: int = 100_000,
        sleep: Callable[[float], None] = time.sleep,
        limiter: RateLimiter | None = None,
        deadline: Deadline = NO_DEADLINE,
    ) -> None:
        if max_retries < 0:
            raise ValueError("max_retries must be 0 or more")
        self._http = http
        # A key pasted with a trailing newline would otherwise fail inside h11 with the key in the message.
        self._api_key = (api_key or "").strip()
        self._base_url = base_url.rstrip("/")
        self.max_retries = max_retries
        self.backoff_base = backoff_base
        self.backoff_max = backoff_max
        self.max_wait_s = max_wait_s
        self.max_meetings = max_meetings
        self.deadline = deadline
        self._sleep = sleep
        self._slept = 0.0
        self._limiter: RateLimiter = limiter or InProcessRateLimiter(clock=self._clock)
        self._budget = key_id(self._api_key, self._base_url)
        self._lock = threading.Lock()
        self._requests = 0
        self.skipped: list[str] = []
        self.skipped_count = 0
        self.on_wait: Callable[[float], None] | None = None
        self.background = False
        self.stop: threading.Event | None = None

    def _clock(self) -> float:
        # The private limiter's clock: real time, or with an injected sleep only what it pretended to sleep.
        return time.monotonic() if self._sleep is time.sleep else self._slept

    @classmethod
    def from_settings(
        cls,
        settings: Settings,
        transport: httpx.BaseTransport | None = None,
        **options: Any,
    ) -> FathomClient:
        """A client for ``settings`` (key, base URL, time-out, retries); ``transport`` replaces the network.

        It shares the process's rate limiter for its key with every other client (unless the caller
        injects ``sleep`` or ``limiter``).
        """
        key = settings.fathom_api_key.strip()
        http = httpx.Client(
            transport=transport,
            timeout=httpx.Timeout(settings.fathom_timeout_s),
            headers={"X-Api-Key": key, "User-Agent": USER_AGENT, "Accept": "application/json"},
        )
        options.setdefault("max_retries", settings.fathom_max_retries)
        options.setdefault("backoff_base", settings.fathom_backoff_s)
        options.setdefault("max_wait_s", settings.fathom_max_wait_s)
        options.setdefault("max_meetings", settings.fathom_max_meetings)
        if "sleep" not in options:
            options.setdefault("limiter", limiter_for("fathom"))
        return cls(http, api_key=key, base_url=settings.fathom_base_url, **options)

    @property
    def requests(self) -> int:
        with self._lock:
            return self._requests

    @property
    def base_url(self) -> str:
        return self._base_url

    @property
    def workspace(self) -> str:
        """Names what this key sees on this server, without the key (the meeting index is kept per workspace)."""
        return self._budget

    def close(self) -> None:
        self._http.close()

    def __enter__(self) -> FathomClient:
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.close()

    # ------------------------------------------------------------ endpoints

    def pages(self, params: list[tuple[str, str]], *, cursor: str | None = None) -> Iterator[Page]:
        """``GET /meetings`` page by page from ``cursor`` (the first page without one), bounded.

        A malformed item is skipped and counted (``skipped``), never fatal. The listing stops with a
        ``FathomPayloadError`` naming the cause when Fathom repeats a cursor, keeps sending pages
        that bring no new meeting, sends more meetings than ``max_meetings`` (a workspace holds), or,
        having gone back in time (a page older than every one before it), sends a page with meetings
        newer than every one listed: an endless cursor handing out new meetings. That page is not
        yielded. Pages that keep going forward (an oldest-first order) are not stopped by this.
        Only one page is held at a time: callers keep what they need from each.
        """
        cursors: set[str] = set()
        seen: set[int] = set()
        number = 0
        quiet = 0
        span: tuple[datetime, datetime] | None = None  # the oldest and newest created_at listed so far
        went_back = False  # a page brought meetings older than every one before it: the listing runs back in time
        while True:
            page_params = params + ([("cursor", cursor)] if cursor else [])
            response = self._send("/meetings", page_params, not_found=self._no_endpoint("/meetings"))
            number += 1
            body = _parse(_MeetingList, self._json(response, "/meetings"), "a meeting list")
            meetings: list[Meeting] = []
            skipped: list[str] = []
            news = 0
            fresh: list[datetime] = []
            for index, item in enumerate(body.items):
                try:
                    meeting = to_meeting(item, index=index)
                except FathomPayloadError as exc:
                    skipped.append(str(exc))
                    continue
                if meeting.recording_id not in seen:
                    news += 1
                    seen.add(meeting.recording_id)
                    fresh.append(meeting.created_at)
                meetings.append(meeting)
            if fresh and span is not None:
                if went_back and max(fresh) > span[1]:
                    raise FathomPayloadError(
                        f"Fathom's listing of meetings went back in time and then jumped forward: page {number:,} "
                        f"brought meetings newer than all {len(seen) - news:,} listed before it, which a listing "
                        "cannot do; it was stopped at that page (an endless cursor). Try again later; if it keeps "
                        "happening, tell Fathom's support."
                    )
                went_back = went_back or min(fresh) < span[0]
            if fresh:
                low, high = min(fresh), max(fresh)
                span = (min(low, span[0]), max(high, span[1])) if span else (low, high)
            self._skip(skipped)
            cursor = body.next_cursor or None
            yield Page(tuple(meetings), tuple(skipped), cursor, number)
            if cursor is None:
                return
            quiet = 0 if news else quiet + 1
            if quiet >= MAX_PAGES_WITHOUT_NEWS:
                raise FathomPayloadError(
                    f"Fathom kept sending more pages of meetings with nothing new ({quiet} in a row after "
                    f"{len(seen):,} meetings); the listing was stopped to avoid an endless loop. Try again later."
                )
            if len(seen) >= self.max_meetings or number >= self._max_pages(body.limit):
                raise FathomPayloadError(
                    f"Fathom kept sending more pages of meetings after {number:,} pages and {len(seen):,} meetings, "
                    f"more than FATHOM_MAX_MEETINGS ({self.max_meetings:,}) allows a workspace to hold; the listing "
                    "was stopped. Raise FATHOM_MAX_MEETINGS if the workspace really is that large, or try again later."
                )
            if cursor in cursors:
                raise FathomPayloadError(
                    "Fathom sent the same page cursor twice; the listing was stopped to avoid an endless loop. "
                    "Try again later."
                )
            cursors.add(cursor)

    def _max_pages(self, limit: int | None) -> int:
        per_page = limit if limit and limit > 0 else 10
        return math.ceil(self.max_meetings / per_page) + 1

    def count_skipped(self, reasons: Sequence[str], count: int) -> None:
        """Count ``count`` skipped items (``reasons``: theirs, or the first of them) as this client's own: what
        the meeting index's background sync skipped, for the job that waited for it. Logs nothing."""
        with self._lock:
            self.skipped_count += count
            room = MAX_SKIPPED_REASONS - len(self.skipped)
            self.skipped.extend(list(reasons)[: max(room, 0)])

    def _skip(self, reasons: list[str]) -> None:
        if not reasons:
            return
        self.count_skipped(reasons, len(reasons))
        for reason in reasons:
            logger.warning("Skipped a meeting Fathom sent: %s", reason)

    def list_meetings(
        self,
        domain: str,
        *,
        since: date | None = None,
        until: date | None = None,
        include_transcript: bool = False,
        include_summary: bool = False,
        include_action_items: bool = False,
        on_page: Callable[[int, int], None] | None = None,
        keep: Callable[[Meeting], Meeting | None] | None = None,
    ) -> list[Meeting]:
        """The meetings Fathom associates with ``domain``'s company, newest first as Fathom orders them.

        Fathom files each meeting under one company, so this is not every meeting a person at
        ``domain`` attended (the workspace meeting index answers that); of what it lists, a meeting is
        kept only when one invitee's e-mail is at the domain. ``since`` and ``until`` are inclusive
        days in UTC. ``on_page(pages, meetings)`` is called after each page with the pages read and
        the meetings kept so far. ``keep(meeting)`` may return a slimmer meeting (or ``None`` to drop
        it) so that no more than one page of transcripts is held beyond what the caller keeps.
        """
        domain = normalize_domain(domain)
        params: list[tuple[str, str]] = [("calendar_invitees_domains[]", v) for v in domain_variants(domain)]
        after = _utc_midnight(since) if since else None
        before = _utc_midnight(until + timedelta(days=1)) if until else None
        if after:
            params.append(("created_after", after))
        if before:
            params.append(("created_before", before))
        params += include_flags(
            transcript=include_transcript, summary=include_summary, action_items=include_action_items
        )
        lower = datetime.fromisoformat(after) if after else None
        upper = datetime.fromisoformat(before) if before else None

        meetings: list[Meeting] = []
        seen: set[int] = set()
        for page in self.pages(params):
            for meeting in page.meetings:
                if meeting.recording_id in seen:
                    continue  # cursor pages can overlap when meetings are added while we read
                if not any(email_at_domain(i.email, domain) for i in meeting.invitees):
                    continue
                if (lower and meeting.created_at < lower) or (upper and meeting.created_at >= upper):
                    continue
                seen.add(meeting.recording_id)
                kept = keep(meeting) if keep is not None else meeting
                if kept is not None:
                    meetings.append(kept)
            if on_page is not None:
                on_page(page.number, len(meetings))
        return meetings

    def get_transcript(self, recording_id: int) -> tuple[TranscriptTurn, ...]:
        """The transcript of one recording, turn by turn (``FathomNotFoundError`` when it has none)."""
        path = f"/recordings/{int(recording_id)}/transcript"
        response = self._send(path, [], not_found=self._no_transcript(recording_id))
        body = _parse(_TranscriptResponse, self._json(response, path), "a transcript", f"recording {recording_id}")
        return _turns(body.transcript)

    def create_webhook(
        self,
        destination_url: str,
        *,
        triggered_for: Sequence[str] = WEBHOOK_TRIGGERS,
        include_transcript: bool = True,
        include_summary: bool = True,
        include_action_items: bool = True,
        include_crm_matches: bool = False,
    ) -> Webhook:
        """``POST /webhooks``: Fathom sends each new meeting of ``triggered_for`` to ``destination_url``.

        Not retried once the request may have reached Fathom (a time-out, a 5xx): a second try could create a
        second webhook. Only a 429 or a connection that never opened is tried again.
        """
        body = {
            "destination_url": destination_url,
            "triggered_for": list(triggered_for),
            "include_transcript": include_transcript,
            "include_summary": include_summary,
            "include_action_items": include_action_items,
            "include_crm_matches": include_crm_matches,
        }
        response = self._send("/webhooks", [], not_found=self._no_endpoint("/webhooks"), method="POST", json=body)
        return _parse(Webhook, self._json(response, "/webhooks", "POST"), "a webhook")

    def delete_webhook(self, webhook_id: str) -> None:
        """``DELETE /webhooks/{id}``; ``FathomNotFoundError`` when Fathom has no such webhook."""
        path = f"/webhooks/{quote(webhook_id, safe='')}"
        self._send(path, [], not_found=f"Fathom has no webhook {webhook_id!r} (deleted already?).", method="DELETE")

    # ------------------------------------------------------------ the one place that sends and waits

    def _take_slot(self) -> None:
        """Wait until the key's rate limit has room for one request, reporting the wait; bounded by max_wait_s
        and by the job's deadline (the limiter's answer is the least wait, so a longer one is not begun)."""
        waited = 0.0
        while True:
            delay = self._limiter.acquire(self._budget, background=self.background)
            if delay <= 0:
                return
            if waited + delay > self.max_wait_s:
                raise FathomUnavailableError(
                    f"Fathom's rate limit for this API key needs a wait of {math.ceil(waited + delay)} s, longer than "
                    f"FATHOM_MAX_WAIT_S ({self.max_wait_s:g} s). Wait a few minutes and try again; another app may "
                    "be using the same key."
                )
            self.deadline.check_wait(delay, "Fathom's rate limit lets the next request go")
            step = min(delay, 1.0) if self.on_wait is not None else delay
            if self.on_wait is not None:
                self.on_wait(delay)
            self._pause(step)
            waited += step

    def _pause(self, seconds: float) -> None:
        stop = self.stop
        if stop is not None and self._sleep is time.sleep:
            stop.wait(seconds)  # the same wait, ended at once when the sync is stopped
        else:
            self._sleep(seconds)
        with self._lock:
            self._slept += seconds
        if stop is not None and stop.is_set():
            raise FathomUnavailableError("The request to Fathom was not sent: the meeting index is closing.")

    def _send(
        self,
        path: str,
        params: list[tuple[str, str]],
        *,
        not_found: str,
        method: str = "GET",
        json: Any = None,
    ) -> httpx.Response:
        """``method`` ``path`` within the key's rate limit; retry what may pass (429, 5xx, time-outs); raise the rest.

        A POST is retried only when it cannot have reached Fathom (a 429, a connection that never opened).
        """
        url = self._base_url + path
        headers = {"X-Api-Key": self._api_key, "Accept": "application/json"}
        attempts = self.max_retries + 1
        problem = ""
        kind = "unavailable"
        retry_unsent_only = method == "POST"
        what = f"{method} {path}"
        for attempt in range(1, attempts + 1):
            try:
                request = self._http.build_request(method, url, params=tuple(params), headers=headers, json=json)
            except httpx.InvalidURL:
                raise FathomError(self._bad_base_url()) from None
            self._take_slot()
            with self._lock:
                self._requests += 1
            try:
                response = self._http.send(request)
            except httpx.UnsupportedProtocol:
                raise FathomError(self._bad_base_url()) from None
            except httpx.LocalProtocolError:
                # Our request could not be written (a control character in the key, say): retrying cannot help.
                raise FathomError(
                    "The request to Fathom could not be sent: FATHOM_API_KEY or FATHOM_BASE_URL holds characters "
                    "that cannot go in a request. Copy the key again from Fathom → Settings → API Access."
                ) from None
            except httpx.TimeoutException as exc:
                problem, kind = "timed out", "unavailable"
                if retry_unsent_only and not isinstance(exc, httpx.ConnectTimeout):
                    raise FathomUnavailableError(self._unconfirmed(what, problem)) from None
            except httpx.TransportError as exc:
                # Only the type name: an exception's text can carry a header value.
                problem, kind = f"connection failed: {type(exc).__name__}", "unreachable"
                if retry_unsent_only and not isinstance(exc, httpx.ConnectError):
                    raise FathomUnavailableError(self._unconfirmed(what, problem)) from None
            else:
                status = response.status_code
                # A 429 that names no wait closes the window for an exponential backoff.
                fallback = compute_backoff(attempt, self.backoff_base, self.backoff_max) if status == 429 else None
                self._limiter.observe(self._budget, status, response.headers, fallback)
                if status < 300:
                    return response
                if status in (401, 403):
                    raise FathomAuthError()
                if status == 404:
                    raise FathomNotFoundError(not_found)
                if status == 429:
                    problem, kind = "HTTP 429", "rate_limited"
                elif status >= 500 or status in RETRY_STATUSES:
                    problem, kind = f"HTTP {status}", "unavailable"
                    if retry_unsent_only:
                        raise FathomUnavailableError(self._unconfirmed(what, problem))
                else:
                    raise FathomError(self._refused(status, what, response))
            if attempt == attempts:
                break
            if kind == "rate_limited":
                logger.warning(
                    "Fathom %s: %s; retry %d of %d when the window opens", what, problem, attempt, self.max_retries
                )
                continue  # the limiter now holds the next attempt until the window opens
            delay = compute_backoff(attempt, self.backoff_base, self.backoff_max)
            self.deadline.check_wait(delay, f"the next try of {what}")
            logger.warning("Fathom %s: %s; retry %d of %d in %.2f s", what, problem, attempt, self.max_retries, delay)
            self._pause(delay)
        tried = plural(attempts, "attempt")
        if kind == "rate_limited":
            message = (
                f"Fathom kept refusing requests as too many after {tried} ({problem}). Wait a minute and try again."
            )
        elif kind == "unreachable":
            # what happened for the person who asked; after a blank line, what the admin checks
            message = (
                f"Could not reach Fathom after {tried}. Check your network connection and try again in a few "
                "minutes; if it keeps happening, tell whoever runs this app.\n\n"
                f"For the admin: no connection to {self._host()} ({problem}). Check FATHOM_BASE_URL and that this "
                "machine can reach it."
            )
        else:
            message = f"Fathom did not answer after {tried} ({problem}). Try again in a few minutes."
        raise FathomUnavailableError(message)

    # ------------------------------------------------------------ messages

    def _json(self, response: httpx.Response, path: str, method: str = "GET") -> Any:
        try:
            return response.json()
        except RecursionError:
            raise FathomPayloadError(
                f"Fathom sent a malformed response ({method} {path}, HTTP {response.status_code}): JSON nested too "
                "deeply to read. Try again later."
            ) from None
        except ValueError:
            kind = response.headers.get("Content-Type", "no content type").split(";")[0]
            raise FathomPayloadError(
                f"Fathom answered with something that is not JSON, a malformed response ({method} {path}, "
                f"HTTP {response.status_code}, {kind}). Check FATHOM_BASE_URL, or try again later."
            ) from None

    def _refused(self, status: int, what: str, response: httpx.Response) -> str:
        # Redact before cutting, so a key cut in half by the limit cannot slip through.
        detail = self._redact(response.text).strip().replace("\n", " ")[:200]
        detail = f": {detail}" if detail else ""
        if 300 <= status < 400:
            where = response.headers.get("Location", "another address")
            return f"Fathom redirected {what} to {where}. Check FATHOM_BASE_URL."
        if status == 400 and what.startswith("POST /webhooks"):
            return (
                f"Fathom refused to create the webhook (HTTP 400{detail}). Check the URL (https, reachable from "
                "Fathom) and the triggers: the team ones need a Team Plan."
            )
        if status == 400:
            return (
                f"Fathom refused the request as invalid ({what}, HTTP 400{detail}). "
                "This is a bug in the app; please report it."
            )
        return f"Fathom refused the request ({what}, HTTP {status}{detail})."

    def _unconfirmed(self, what: str, problem: str) -> str:
        return (
            f"Fathom did not confirm {what} ({problem}); it was not sent again, as it may have been done. "
            "Look at Fathom's API settings before trying again."
        )

    def _bad_base_url(self) -> str:
        return f"FATHOM_BASE_URL is not a web address ({self._base_url!r}); it should look like {DEFAULT_BASE_URL}."

    def _redact(self, text: str) -> str:
        return text.replace(self._api_key, "***") if self._api_key else text

    def _host(self) -> str:
        try:
            return httpx.URL(self._base_url).host or self._base_url
        except httpx.InvalidURL:
            return self._base_url

    def _no_endpoint(self, path: str) -> str:
        return f"Fathom has no {path} endpoint at {self._base_url}. Check FATHOM_BASE_URL."

    def _no_transcript(self, recording_id: int) -> str:
        return (
            f"Fathom has no transcript of recording {recording_id} (too short, no speech, or processing failed), "
            "or this API key cannot see it."
        )
