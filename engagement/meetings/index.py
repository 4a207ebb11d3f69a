"""MeetingIndex: every external meeting a Fathom key can see, kept so an account's meetings are a query.

Fathom files each meeting under one company (``calendar_invitees_domains[]`` "returns meetings whose
associated company matches ... meetings are only associated with one company"), so asking Fathom
for a domain misses the meetings it filed under a partner, a reseller or another customer on the
same invite. The index lists the whole workspace instead (``calendar_invitees_domains_type=
one_or_more_external``, no transcripts) and answers "every meeting any of whose invitees has an
e-mail at the domain" itself.

One sync algorithm (:class:`MeetingIndex`), two storages behind :class:`IndexStorage`: SQLite tables
in the ``ENGAGEMENT_DB`` file (:class:`SqliteIndexStorage`, the default, below) and Redis keys shared
by every process (``engagement.meetings.redis_storage``, when ``ENGAGEMENT_REDIS_URL`` is set). The tables
(beside sqlitedict's; plain SQLite on their own connection)::

    index_meetings (workspace, recording_id, created_at, started_at, title, generation, meeting JSON)
    index_invitees (workspace, recording_id, domain, email, is_external, created_at)  -- one row per invitee e-mail
    index_state    (workspace, state JSON)                                  -- sync progress and freshness
    index_no_transcript (workspace, recording_id, reason)                   -- Fathom has none (404, null) yet

``workspace`` names a key on a server (a hash, never the key), because a key sees only what its
user recorded or was shared. ``domain`` is the registrable domain of the invitee's e-mail (subdomains
folded, as :func:`engagement.account.domains.email_at_domain` folds them), so a domain's meetings and a
per-domain aggregate over every domain are single SQL queries (:meth:`MeetingIndex.meetings_for`,
:meth:`MeetingIndex.domain_activity`), never a scan in Python.

Sync (:meth:`MeetingIndex.sync`): the first run lists every page and saves the cursor after each
one, so a restart resumes where it stopped; later runs list only ``created_after`` the newest
indexed meeting minus :data:`OVERLAP` (one request when nothing new was recorded); a full
re-index lists everything again and drops meetings it no longer sees (deleted, or no longer shared).
A full listing goes newest first, in windows of creation dates (:func:`pass_window`; the spec documents no
order for ``/meetings``, only ``created_after`` and ``created_before``): after each window the state's
``covered_from`` says every meeting created since is indexed, so a job can tell which days it must still ask
Fathom about while the index fills (``engagement.pipeline``), and :meth:`IndexStatus.estimate` reads the dates
reached and the pace.

Transcripts not there yet: Fathom makes a transcript after the meeting, so one it has not got (404,
``null``) within :data:`TRANSCRIPT_WAIT` of the meeting's end is *pending*: remembered with how often it
was asked and when to ask next (:func:`next_ask`: 10 minutes, then 1 hour, then daily, and once more a
week after the meeting), shown as "transcript pending" until then. A 404 a week on is "no transcript"
for good (until a full re-index). The storage keeps either as the row's reason text
(``pending:{asked}:{next ask, UTC}`` for a pending one), so both storages hold it unchanged.

Background sync (:meth:`MeetingIndex.start_sync`): a job never lists the workspace under its own time
limit. It starts the workspace's sync in a thread of its process (or joins the one running there) and
waits for it (:meth:`SyncTask.wait`), showing its progress; at the job's limit the job ends and the
sync carries on, with a Fathom client bound per request by ``FATHOM_TIMEOUT_S`` and overall by the
listing's own bounds (``FATHOM_MAX_MEETINGS``, a repeated cursor, pages with nothing new). Its error,
if any, is raised in every job that waited for it; the next job starts a new sync from the saved cursor.
"""

from __future__ import annotations

import json
import logging
import sqlite3
import threading
import time
import uuid
from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager, contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any, Protocol

from engagement.account.domains import Account, registrable_domain
from engagement.account.people import clean_email, is_room
from engagement.deadline import NO_DEADLINE, Deadline
from engagement.errors import EngagementError, FathomError, IndexClosedError, StoreError
from engagement.fathom.client import FathomClient, Page, include_flags
from engagement.models import Meeting, format_utc, utcnow
from engagement.registry import REGISTRY

__all__ = [
    "OVERLAP",
    "DomainActivity",
    "Estimate",
    "IndexStatus",
    "IndexStorage",
    "MeetingIndex",
    "SqliteIndexStorage",
    "SqliteSyncLock",
    "SyncLock",
    "SyncResult",
    "SyncTask",
    "TRANSCRIPT_PENDING",
    "TRANSCRIPT_WAIT",
    "TranscriptWait",
    "estimate_progress",
    "next_ask",
    "pass_window",
]

log = logging.getLogger(__name__)

OVERLAP = timedelta(hours=1)  # a meeting that reaches the API late, within an hour of the newest, is still found
TRANSCRIPT_PENDING = "transcript pending"
TRANSCRIPT_WAIT = timedelta(days=7)  # Fathom has made the transcript by then, or never will
PENDING_BACKOFF = (timedelta(minutes=10), timedelta(hours=1), timedelta(days=1))  # after the 1st, 2nd, 3rd+ ask
_PENDING = "pending:"
FIRST_WINDOW = timedelta(days=7)  # a full pass lists the last week first, then windows twice as long each time
MAX_WINDOWS = 9  # the 9th window reaches 7 * (2**9 - 1) days (~10 years) back and is listed with no start
PROBE_FLOOR = datetime(2015, 1, 1, tzinfo=UTC)  # before any Fathom recording: where the search for the oldest begins
FATHOM_MEETINGS_PER_S = 10 * 60 / 60  # ten meetings a page, 60 requests a minute: the fastest a listing reads
MAX_PROBES = 12  # one-page listings to find the oldest meeting's week between the floor and now
PROBE_PRECISION = timedelta(days=7)  # enough for an estimate; the last window has no start anyway


@dataclass(frozen=True)
class TranscriptWait:
    """A transcript Fathom did not have yet. Attributes: asked (how many times), next_at (when to ask again)."""

    asked: int
    next_at: datetime

    def encode(self) -> str:
        return f"{_PENDING}{self.asked}:{format_utc(self.next_at)}"

    @staticmethod
    def decode(reason: str) -> TranscriptWait | None:
        """The wait a stored reason holds; None for a final reason ("no transcript")."""
        if not reason.startswith(_PENDING):
            return None
        asked, _, when = reason[len(_PENDING) :].partition(":")
        try:
            return TranscriptWait(int(asked), datetime.fromisoformat(when.replace("Z", "+00:00")))
        except ValueError:
            return None


def pass_clock() -> datetime:
    """When a full pass begins: now (the tests' fixtures, dated 2025, start their passes then)."""
    return utcnow()


def _z(when: datetime) -> str:
    """A time as Fathom's filters take it: ``2025-01-01T00:00:00Z``."""
    return when.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def pass_window(state: dict[str, Any]) -> tuple[datetime | None, datetime | None]:
    """The creation dates ``[after, before)`` the full pass of ``state`` lists now (``None``: no bound).

    Window 0 is the last :data:`FIRST_WINDOW` before the pass began, with no end (meetings recorded while it runs
    are in it); each next window reaches back twice as far as the one before; the last one (past the workspace's
    oldest meeting, or the :data:`MAX_WINDOWS`-th) has no start. Windows overlap by a second: whether Fathom's
    bounds are inclusive is not documented, and a meeting listed twice is kept once.
    """
    started = datetime.fromisoformat(str(state["pass_started_at"]))
    k = int(state.get("window") or 0)
    before = None if k == 0 else started - FIRST_WINDOW * (2**k - 1) + timedelta(seconds=1)
    after: datetime | None = started - FIRST_WINDOW * (2 ** (k + 1) - 1)
    oldest = state.get("oldest_at")
    if k >= MAX_WINDOWS - 1 or (oldest and after is not None and after <= datetime.fromisoformat(str(oldest))):
        after = None
    return after, before


def next_ask(ended_at: datetime, asked: int, now: datetime) -> datetime | None:
    """When to ask again for a transcript Fathom did not have at the ``asked``-th ask, made ``now``.

    10 minutes after the first ask, an hour after the second, a day after each later one, never past a
    week after the meeting (``ended_at``), when it is asked once more; None when that week is over: the
    meeting has no transcript.
    """
    last = ended_at + TRANSCRIPT_WAIT
    if now >= last:
        return None
    return min(now + PENDING_BACKOFF[min(max(asked, 1), len(PENDING_BACKOFF)) - 1], last)


BUSY_TIMEOUT_S = 10.0  # another process (the CLI) may be writing: wait this long, then StoreError
LOCK_TTL_S = 30.0  # a sync's lock in the file outlives a killed holder at most this long; renewed every third of it
LOCK_POLL_S = 0.1  # how often a process waiting for another's sync tries the lock
CLOSE_WAIT_S = 5.0  # how long close() waits for a stopped sync's thread (a request under way ends by FATHOM_TIMEOUT_S)
LOST = "the sync lock of the meeting index was taken over by another process"
_SCHEMA = """
CREATE TABLE IF NOT EXISTS index_meetings (
    workspace TEXT NOT NULL, recording_id INTEGER NOT NULL, created_at TEXT NOT NULL, started_at TEXT NOT NULL,
    title TEXT NOT NULL, generation INTEGER NOT NULL, meeting TEXT NOT NULL,
    PRIMARY KEY (workspace, recording_id));
CREATE INDEX IF NOT EXISTS index_meetings_created ON index_meetings (workspace, created_at);
CREATE TABLE IF NOT EXISTS index_invitees (
    workspace TEXT NOT NULL, recording_id INTEGER NOT NULL, domain TEXT NOT NULL, email TEXT NOT NULL,
    is_external INTEGER NOT NULL, created_at TEXT NOT NULL, PRIMARY KEY (workspace, recording_id, email));
CREATE INDEX IF NOT EXISTS index_invitees_domain ON index_invitees (workspace, domain, recording_id);
CREATE INDEX IF NOT EXISTS index_invitees_activity
    ON index_invitees (workspace, is_external, domain, recording_id, created_at, email);
CREATE TABLE IF NOT EXISTS index_state (workspace TEXT PRIMARY KEY, state TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS index_lock (workspace TEXT PRIMARY KEY, token TEXT NOT NULL, expires_at REAL NOT NULL);
CREATE TABLE IF NOT EXISTS index_no_transcript (
    workspace TEXT NOT NULL, recording_id INTEGER NOT NULL, reason TEXT NOT NULL,
    PRIMARY KEY (workspace, recording_id));
"""


@dataclass(frozen=True)
class IndexStatus:
    """How complete and how fresh a workspace's index is.

    Attributes:
        meetings: entries in the index.
        synced_at: when the last sync (full or incremental) finished; ``None`` before the first.
        full_synced_at: when the last full listing finished.
        in_progress: ``"full"`` while a first or full listing is under way (it resumes after a restart).
        pass_meetings: meetings read so far by the listing under way.
        pass_started_at: when the full listing under way began.
        covered_from: the full listing under way has read every meeting created since then (newest first).
        reached_at: the oldest creation date that listing has read so far.
        oldest_at: the day the workspace's oldest meeting was created (found once, for estimates).
    """

    meetings: int
    synced_at: str | None
    full_synced_at: str | None
    in_progress: str | None
    pass_meetings: int
    pass_started_at: str | None = None
    covered_from: str | None = None
    reached_at: str | None = None
    oldest_at: str | None = None

    @property
    def complete(self) -> bool:
        """Whether a full listing of the workspace has ever ended: every meeting the key saw then is indexed."""
        return self.full_synced_at is not None

    def estimate(self, now: datetime) -> Estimate | None:
        """How many meetings the listing under way will read in all and how long it has left, from the dates it
        has reached and its pace so far (:func:`estimate_progress`); None when it cannot say yet."""
        if self.in_progress is None or not self.pass_started_at or not self.reached_at or not self.oldest_at:
            return None
        return estimate_progress(
            read=self.pass_meetings,
            started=datetime.fromisoformat(self.pass_started_at),
            reached=datetime.fromisoformat(self.reached_at),
            oldest=datetime.fromisoformat(self.oldest_at),
            now=now,
        )


@dataclass(frozen=True)
class Estimate:
    """A full listing's expected size and time left. Attributes: total (meetings, at least those read), seconds_left."""

    total: int
    seconds_left: float


def estimate_progress(
    *, read: int, started: datetime, reached: datetime, oldest: datetime, now: datetime
) -> Estimate | None:
    """The size and time left of a newest-first listing that began at ``started`` and has read ``read`` meetings
    back to ``reached`` by ``now``, in a workspace whose oldest meeting is from ``oldest``.

    The meetings per day of the span read so far, carried over the span still to read, give the total; the
    meetings read per second so far give the time left, never less than Fathom's documented pace allows (60
    requests a minute, ten meetings a page). None until a day of meetings has been read.
    """
    span_read = (started - reached).total_seconds()
    if read <= 0 or span_read < 86400:
        return None
    span_left = max((reached - oldest).total_seconds(), 0.0)
    total = read + round(read * span_left / span_read)
    elapsed = (now - started).total_seconds()
    fastest = (total - read) / FATHOM_MEETINGS_PER_S
    measured = (total - read) / (read / elapsed) if elapsed >= 1 else 0.0
    return Estimate(total=total, seconds_left=max(fastest, measured))


@dataclass(frozen=True)
class SyncResult:
    """What one sync did. Attributes: kind (``full``/``incremental``), pages, listed, deleted."""

    kind: str
    pages: int
    listed: int
    deleted: int


@dataclass(frozen=True)
class DomainActivity:
    """One external e-mail domain across the index (the Accounts page's row).

    Attributes:
        domain: registrable domain of invitees' e-mails.
        meetings: meetings with at least one invitee at the domain.
        people: distinct invitee e-mails at the domain.
        first_meeting / last_meeting: ``created_at`` of the oldest and newest of those meetings.
        last_90_days / previous_90_days: meetings in the 90 days before ``now``, and in the 90 before those.
    """

    domain: str
    meetings: int
    people: int
    first_meeting: str
    last_meeting: str
    last_90_days: int
    previous_90_days: int


class SyncTask:
    """One sync of a workspace in its own thread of this process: started once, waited for by every job that needs it.

    Attributes:
        workspace: the workspace it brings up to date.
        full: whether it lists the whole workspace again.
        meetings: meetings read so far by the listing (the other process's, while that one holds the lock).
        requests: Fathom requests its client has sent.
        skipped / skipped_count: reasons for listing items that could not be read (the first few), and how many.
        rate_wait: seconds left of its wait for Fathom's rate limit while it waits, else None.
        result: what the sync did, once it ended well.
        error: what stopped it, once it failed (a ``FathomError``, a ``StoreError`` ...).
    """

    def __init__(self, workspace: str, *, full: bool) -> None:
        self.workspace = workspace
        self.full = full
        self.asked_at = utcnow()  # a full listing that ends after this makes this one's full listing needless
        self.meetings = 0
        self.requests = 0
        self.skipped: list[str] = []
        self.skipped_count = 0
        self.rate_wait: float | None = None
        self.result: SyncResult | None = None
        self.error: BaseException | None = None
        self._done = False
        self._stopping = threading.Event()  # set by the index's close(): the sync ends before its storage closes
        self._thread: threading.Thread | None = None
        self._changed = threading.Condition()  # notified on every page read and at the end
        self._version = 0
        self._last_wait: tuple[int, float] | None = None  # (version, seconds) of the latest wait for the rate limit

    @property
    def done(self) -> bool:
        return self._done

    def stop(self) -> None:
        """Ask the sync to end now: a wait for Fathom's rate limit ends at once, and no page is written after the one
        being read (the cursor saved with the last page lets the next sync resume)."""
        self._stopping.set()

    def join(self, timeout: float) -> bool:
        """Wait up to ``timeout`` seconds for the sync's thread to end; whether it has."""
        if self._thread is not None:
            self._thread.join(timeout)
        return self._done

    def _update(
        self,
        client: FathomClient | None,
        *,
        meetings: int | None = None,
        rate_wait: float | None = None,
        done: bool = False,
    ) -> None:
        """Copy the sync's progress (a page read, or a wait for the rate limit) and its client's counts; wake
        every waiter."""
        with self._changed:
            self.meetings = self.meetings if meetings is None else meetings
            self.rate_wait = rate_wait
            if client is not None:
                self.requests, self.skipped_count = client.requests, client.skipped_count
                self.skipped = list(client.skipped)
            self._done = self._done or done
            self._version += 1
            if rate_wait is not None:
                self._last_wait = (self._version, rate_wait)
            self._changed.notify_all()

    def wait(
        self,
        deadline: Deadline = NO_DEADLINE,
        *,
        on_progress: Callable[[int], None] | None = None,
        on_wait: Callable[[float], None] | None = None,
        poll_s: float = 1.0,
    ) -> SyncResult:
        """Wait for the sync to end; returns its result, or raises the error that stopped it.

        ``on_progress(meetings read)`` is called after every page and at least every ``poll_s`` meanwhile (a
        job's progress and heartbeat; a job past its limit raises from there), ``on_wait(seconds left)``
        instead while the sync waits for Fathom's rate limit. At ``deadline`` raises ``JobTimeoutError``: the
        waiter stops, the sync carries on.
        """
        seen = -1
        while True:
            with self._changed:
                if not self._done and self._version == seen:
                    left = deadline.remaining()
                    self._changed.wait(poll_s if left is None else min(poll_s, left))
                before = seen
                seen, meetings, rate_wait, done = self._version, self.meetings, self.rate_wait, self._done
                last_wait = self._last_wait
            if done:
                break
            if rate_wait is None and last_wait is not None and last_wait[0] > before:
                rate_wait = last_wait[1]  # a wait that began and ended between two looks is still shown, once
            if rate_wait is not None and on_wait is not None:
                on_wait(rate_wait)
            elif on_progress is not None:
                on_progress(meetings)
            if deadline.expired:
                raise deadline.reached("ran out while Fathom's workspace was being indexed")
        if self.error is not None:
            raise self.error
        assert self.result is not None
        return self.result

    def _run(self, index: MeetingIndex, connect: Callable[[], AbstractContextManager[FathomClient]]) -> None:
        try:
            with connect() as client:

                def progress(meetings: int) -> None:
                    self._stopped()
                    self._update(client, meetings=meetings)

                def waiting(seconds: float) -> None:
                    self._stopped()
                    self._update(client, rate_wait=seconds)

                # The client may be a job's own (the pipeline lends it): what the sync sets on it is put back after.
                kept = (client.on_wait, client.stop, client.background)
                client.on_wait = waiting
                client.stop = self._stopping  # its waits end at once when the index closes
                client.background = True  # a job's own requests go first
                try:
                    self.result = index.sync(client, full=self.full, on_progress=progress, asked_at=self.asked_at)
                finally:
                    client.on_wait, client.stop, client.background = kept
                    self._update(client)
        except BaseException as exc:  # noqa: BLE001 - handed to every waiter
            if not isinstance(exc, EngagementError):
                log.exception("the meeting index's sync of %s failed unexpectedly", self.workspace)
            else:
                log.warning("the meeting index's sync of %s failed: %s", self.workspace, exc)
            self.error = exc
        finally:
            self._update(None, done=True)

    def _stopped(self) -> None:
        """Raise when the index is closing: the sync writes nothing more to a storage about to close."""
        if self._stopping.is_set():
            raise IndexClosedError(
                f"The meeting index's sync of {self.workspace} stopped: the app is shutting down. The next sync "
                "resumes where it left off."
            )


class SyncLock(Protocol):
    """One sync per workspace: a ``threading.Lock`` in one process, a lock in Redis across processes."""

    def acquire(self, *, timeout: float) -> bool: ...

    def release(self) -> None: ...


class IndexStorage(Protocol):
    """Where a workspace index keeps its entries and its sync state: SQLite tables, or Redis keys.

    Each write is one transaction (all or nothing) together with the sync state, so a sync stopped
    anywhere resumes from the state last written. ``lock`` is the lock the writing sync holds (the
    Redis storage refuses a write whose lock another process has taken over).
    """

    def sync_lock(self, workspace: str) -> SyncLock: ...

    def state(self, workspace: str) -> dict[str, Any]: ...

    def save(
        self,
        workspace: str,
        state: dict[str, Any],
        meetings: tuple[Meeting, ...] = (),
        generation: int = 0,
        *,
        lock: SyncLock | None = None,
    ) -> None:
        """Upsert ``meetings`` (stamped with ``generation``) and write ``state``, in one transaction."""

    def put(self, workspace: str, meetings: tuple[Meeting, ...]) -> None:
        """Upsert ``meetings`` (stamped with the stored state's generation) without touching the sync state, in
        one transaction: a meeting Fathom pushed (a webhook), whatever sync runs meanwhile."""

    def finish(self, workspace: str, state: dict[str, Any], drop_below: int | None, *, lock: SyncLock) -> int:
        """Write ``state``; with ``drop_below``, first drop meetings of older generations (and their invitee
        entries) and every remembered "no transcript". One transaction; returns how many meetings went."""

    def count(self, workspace: str) -> int: ...

    def meetings_for(
        self, workspace: str, domain: str, since: datetime | None, before: datetime | None
    ) -> list[Meeting]: ...

    def domain_activity(
        self, workspace: str, recent: datetime, earlier: datetime, domain: str | None
    ) -> list[DomainActivity]: ...

    def internal_domains(self, workspace: str) -> set[str]: ...

    def emails_by_domain(self, workspace: str) -> dict[str, set[str]]: ...

    def remember_no_transcript(self, workspace: str, reasons: dict[int, str]) -> None: ...

    def without_transcript(self, workspace: str, recording_ids: list[int]) -> dict[int, str]: ...

    def forget_no_transcript(self, workspace: str, recording_ids: list[int]) -> None: ...

    def clear(self, workspace: str | None) -> int: ...

    def recordings_with(self, *, domain: str = "", email: str = "") -> dict[str, list[int]]: ...

    def forget(self, workspace: str, recording_ids: list[int]) -> int: ...

    def close(self) -> None: ...


# When a recording Fathom had no transcript for is asked about again: a transcript may still be processing. After
# the last one it is not asked again until a full re-index.
def invitee_rows(meeting: Meeting) -> dict[str, tuple[str, bool]]:
    """A meeting's invitee entries: e-mail (lower case) -> (registrable domain, external).

    Rooms (no e-mail, or a calendar-resource address: ``is_room``) have none. The recorder is one of ours
    (Fathom's ``recorded_by``), so their address is an internal entry too: it is how our own domains are
    known (``internal_domains``) even when no colleague was on the invite.
    """
    rows: dict[str, tuple[str, bool]] = {}
    for invitee in meeting.invitees:
        if is_room(invitee.email):
            continue
        email = (invitee.email or "").strip().lower()
        domain = registrable_domain(email.rpartition("@")[2]) if "@" in email else None
        if domain:
            rows[email] = (domain, bool(invitee.is_external))
    recorder = clean_email(meeting.recorded_by.email) if meeting.recorded_by else None
    if recorder and recorder not in rows and (domain := registrable_domain(recorder.rpartition("@")[2])):
        rows[recorder] = (domain, False)
    return rows


def index_entry(meeting: Meeting) -> str:
    """What the index keeps of a meeting: all of it but the transcript, as JSON."""
    return meeting.model_copy(update={"transcript": None}).model_dump_json()


class MeetingIndex:
    """The workspace meeting index: the sync algorithm, over a storage (an SQLite file, or Redis).

    ``MeetingIndex(path)`` opens the SQLite storage in that file (thread-safe; cheap in a ``tmp_path``);
    ``MeetingIndex(storage)`` uses any other ``IndexStorage`` (``engagement.meetings.redis_storage``).
    """

    def __init__(self, storage: str | Path | IndexStorage) -> None:
        self.excluded: Callable[[Meeting], bool] = lambda meeting: False  # the runtime sets it: forgotten meetings
        self.now: Callable[[], datetime] = pass_clock  # when a full pass begins (its windows, its pace)
        self.storage: IndexStorage = SqliteIndexStorage(storage) if isinstance(storage, str | Path) else storage
        self._tasks: dict[str, SyncTask] = {}
        self._tasks_lock = threading.Lock()

    def close(self) -> None:
        """Stop this process's syncs and wait for their threads (each at most ``CLOSE_WAIT_S``), then close the
        storage: no sync thread, nor its lock's renewal, writes to a closed storage. A sync still in a request to
        Fathom after that wait (it ends by ``FATHOM_TIMEOUT_S``, then stops) keeps the storage open: it is left to
        the process's end rather than closed under the thread."""
        with self._tasks_lock:
            running = [task for task in self._tasks.values() if not task.done]
        for task in running:
            task.stop()
        stuck = [task.workspace for task in running if not task.join(CLOSE_WAIT_S)]
        if stuck:
            log.warning(
                "the meeting index's sync of %s did not stop within %g s: its storage is left open",
                ", ".join(stuck),
                CLOSE_WAIT_S,
            )
            return
        self.storage.close()

    def start_sync(
        self, workspace: str, connect: Callable[[], AbstractContextManager[FathomClient]], *, full: bool = False
    ) -> tuple[SyncTask, bool]:
        """The workspace's sync in a background thread of this process: the one running, or a new one.

        Returns the task and whether this call started it. ``connect()`` gives the sync its Fathom client
        (bound per request, not by any job's deadline). A full re-index asked for while a sync that is not
        full runs starts a new task, which runs after it (the sync lock orders them); any other call joins
        the running task. A task that ended (well or not) is never joined: the next call starts afresh, and
        a failed sync resumes from the cursor it saved.
        """
        with self._tasks_lock:
            task = self._tasks.get(workspace)
            if task is not None and not task.done and (task.full or not full):
                return task, False
            task = self._tasks[workspace] = SyncTask(workspace, full=full)
        task._thread = threading.Thread(target=task._run, args=(self, connect), name="meeting-index-sync", daemon=True)
        task._thread.start()
        return task, True

    def running_sync(self, workspace: str) -> SyncTask | None:
        """This process's sync of ``workspace`` while it runs, else None."""
        with self._tasks_lock:
            task = self._tasks.get(workspace)
        return task if task is not None and not task.done else None

    # ------------------------------------------------------------ sync

    def sync(
        self,
        client: FathomClient,
        *,
        full: bool = False,
        on_progress: Callable[[int], None] | None = None,
        poll_s: float = 1.0,
        asked_at: datetime | None = None,
    ) -> SyncResult:
        """Bring the index of ``client``'s workspace up to date; ``full`` lists everything again.

        Runs in the caller's thread; jobs run it through :meth:`start_sync` instead. One sync per workspace
        runs at a time, across every process on the file or the Redis (a lock in the store): a caller that
        finds one running waits for it, reporting that sync's progress through ``on_progress(meetings read)``
        every ``poll_s``, then runs its own, incremental, sync — a full one only if no full listing ended
        since ``asked_at`` (when the sync was asked for; default now). The wait is bounded by the other sync's
        bounds, or by its lock's expiry when its process died. Raises what the client raises; the cursor saved
        with the last page lets the next sync resume.
        """
        workspace = client.workspace
        asked = format_utc(asked_at or utcnow())
        lock = self.storage.sync_lock(workspace)
        while not lock.acquire(timeout=poll_s):
            if on_progress is not None:  # another job is indexing: show its progress, keep heart-beating
                on_progress(self.status(workspace).pass_meetings)
        try:
            if full and str(self.storage.state(workspace).get("full_synced_at") or "") >= asked:
                full = False  # a full listing (the one waited for) ended after this one was asked for
            return self._sync(client, workspace, full, on_progress, lock)
        finally:
            lock.release()

    def _sync(
        self,
        client: FathomClient,
        workspace: str,
        full: bool,
        on_progress: Callable[[int], None] | None,
        lock: SyncLock,
    ) -> SyncResult:
        state = self.storage.state(workspace)
        if state.get("pass") != "full" and (full or not state.get("full_synced_at")):
            state.update(
                {"pass": "full", "cursor": None, "pass_meetings": 0, "generation": int(state.get("generation", 0)) + 1}
            )
        elif state.get("pass") is None:
            newest = state.get("newest_created_at")
            after = format_utc(datetime.fromisoformat(newest) - OVERLAP) if newest else None
            state.update({"pass": "incremental", "cursor": None, "pass_meetings": 0, "after": after})
        kind = str(state["pass"])
        if kind == "full" and not state.get("pass_started_at"):  # a new pass (or one begun before windows)
            state.update({"pass_started_at": format_utc(self.now()), "window": 0, "cursor": None})
            state.update({"covered_from": None, "reached_at": None})
        generation = int(state.get("generation", 1))
        state.setdefault("generation", generation)
        self.storage.save(workspace, state, lock=lock)

        counts = {"pages": 0, "listed": 0}

        def take(page: Page) -> None:
            """Keep one page of the listing with the state it leaves (its cursor, how far back it reached)."""
            counts["pages"] += 1
            counts["listed"] += len(page.meetings)
            newest = max((format_utc(m.created_at) for m in page.meetings), default=None)
            oldest = min((format_utc(m.created_at) for m in page.meetings), default=None)
            state["cursor"] = page.next_cursor
            state["pass_meetings"] = int(state.get("pass_meetings", 0)) + len(page.meetings)
            if newest and newest > str(state.get("newest_created_at") or ""):
                state["newest_created_at"] = newest
            if kind == "full" and oldest and oldest < str(state.get("reached_at") or "~"):
                state["reached_at"] = oldest
            kept = tuple(m for m in page.meetings if not self.excluded(m))  # forgotten on request: never stored again
            self.storage.save(workspace, state, kept, generation, lock=lock)
            if on_progress is not None:
                on_progress(int(state["pass_meetings"]))

        # A full pass lists the workspace newest first, one window of creation dates after another (the spec
        # documents no order for /meetings, only created_after/created_before): each window ended moves
        # covered_from back, and every meeting created since is in the index, whatever company Fathom filed it under.
        while True:
            params = [("calendar_invitees_domains_type", "one_or_more_external")]
            if kind == "incremental" and state.get("after"):
                since = datetime.fromisoformat(str(state["after"]))
                params.append(("created_after", since.strftime("%Y-%m-%dT%H:%M:%SZ")))
            last = True
            if kind == "full":
                start, end = pass_window(state)
                last = start is None
                if start is not None:
                    params.append(("created_after", _z(start)))
                if end is not None:
                    params.append(("created_before", _z(end)))
            params += include_flags(summary=True, action_items=True)
            # The cursor is saved with each page, so a sync stopped by an error or a restart resumes there.
            for page in self._pages(client, params, state.get("cursor"), state):
                take(page)
            if last:
                break
            assert start is not None  # only the last window has no start
            # the window is listed: everything created since its start is indexed; then the next, older, window
            state.update({"covered_from": format_utc(start), "window": int(state.get("window") or 0) + 1})
            state["cursor"] = None
            if not state.get("oldest_at"):  # after the newest window, so recent meetings come first
                older = [p for p in params if p[0] != "created_after" and p[0] != "created_before"]
                older.append(("created_before", _z(start + timedelta(seconds=1))))
                first = next(client.pages(older), None)  # the first page of everything older
                if first is not None and first.next_cursor is None:  # it is all of it: the last window, listed
                    take(first)
                    dates = [format_utc(m.created_at) for m in first.meetings]
                    state["oldest_at"] = min(dates, default=format_utc(start))
                    break
                state["oldest_at"] = self._probe_oldest(client, start, first)
            self.storage.save(workspace, state, lock=lock)
        now = format_utc(utcnow())
        if kind == "full":
            state["full_synced_at"] = now  # and a full re-index asks again about every transcript Fathom lacked
        state.update({"pass": None, "cursor": None, "synced_at": now, "after": None})
        state.update({"pass_started_at": None, "window": None, "covered_from": None, "reached_at": None})
        deleted = self.storage.finish(workspace, state, generation if kind == "full" else None, lock=lock)
        return SyncResult(kind=kind, pages=counts["pages"], listed=counts["listed"], deleted=max(deleted, 0))

    @staticmethod
    def _probe_oldest(client: FathomClient, below: datetime, first: Page | None) -> str:
        """When the workspace's oldest meeting was created (to the week), found with a few one-page listings of
        ``created_before`` halfway: what the progress estimate reads and where the windows end. ``first`` is the
        first page of everything before ``below``; each answer's meetings are older than where it was asked, so
        its oldest one narrows the search too."""
        found = [m.created_at for m in first.meetings] if first is not None else []
        if not found:
            return format_utc(below)
        low, high = PROBE_FLOOR, min(found)
        for _ in range(MAX_PROBES):
            if high - low <= PROBE_PRECISION:
                break
            middle = low + (high - low) / 2
            params = [("calendar_invitees_domains_type", "one_or_more_external"), ("created_before", _z(middle))]
            page = next(client.pages(params), None)  # one page is enough: the rest is never asked for
            found = [m.created_at for m in page.meetings] if page is not None else []
            if found:
                high = min(min(found), middle)
            else:
                low = middle
        return format_utc(high)

    @staticmethod
    def _pages(client: FathomClient, params: list[tuple[str, str]], cursor: str | None, state: dict[str, Any]) -> Any:
        """The listing's pages from a saved cursor; a cursor Fathom no longer accepts restarts the listing (the
        window's, in a full pass: the windows before it stay listed)."""
        if not cursor:
            yield from client.pages(params)
            return
        pages = client.pages(params, cursor=cursor)
        try:
            first = next(pages)
        except StopIteration:
            return
        except FathomError as exc:
            if type(exc) is not FathomError:  # only a refused request (400): a stale cursor
                raise
            yield from client.pages(params)  # the window's pages read before count twice: an estimate, no more
            return
        yield first
        yield from pages

    def add(self, workspace: str, meetings: list[Meeting]) -> list[Meeting]:
        """Put meetings Fathom pushed (a webhook) into the index, without their transcripts and without moving the
        sync's state: the next incremental sync still lists from where the last one ended, so a meeting no
        webhook announced is not skipped, and a full pass under way keeps them (they carry its generation).
        Returns those kept: one forgotten on request (``excluded``) is never stored again."""
        kept = [m for m in meetings if not self.excluded(m)]
        if kept:
            self.storage.put(workspace, tuple(kept))
        return kept

    # ------------------------------------------------------------ reads

    def status(self, workspace: str) -> IndexStatus:
        """How many meetings the index holds for ``workspace`` and when it was last brought up to date."""
        state = self.storage.state(workspace)
        return IndexStatus(
            meetings=self.storage.count(workspace),
            synced_at=state.get("synced_at"),
            full_synced_at=state.get("full_synced_at"),
            in_progress="full" if state.get("pass") == "full" else None,
            pass_meetings=int(state.get("pass_meetings") or 0),
            pass_started_at=state.get("pass_started_at"),
            covered_from=state.get("covered_from"),
            reached_at=state.get("reached_at"),
            oldest_at=state.get("oldest_at"),
        )

    def meetings_for(
        self, workspace: str, domain: str | Account, *, since: datetime | None = None, before: datetime | None = None
    ) -> list[Meeting]:
        """Every indexed meeting with an invitee at ``domain`` (created in ``[since, before)``), newest first.

        For a linked :class:`Account`, with an invitee at any of its domains: a meeting with people at two of them
        comes once.
        """
        domains = Account.of(domain).domains
        if len(domains) == 1:
            return self.storage.meetings_for(workspace, domains[0], since, before)
        found = {m.recording_id: m for d in domains for m in self.storage.meetings_for(workspace, d, since, before)}
        return sorted(found.values(), key=lambda m: (m.created_at, m.recording_id), reverse=True)

    def domain_activity(
        self, workspace: str, *, now: datetime | None = None, domain: str | None = None
    ) -> list[DomainActivity]:
        """Per external e-mail domain: meetings, people, first/last meeting, last 90 days vs the 90 before.

        Counted from the external invitee entries (never the meetings' JSON), busiest domains first;
        ``domain`` narrows it to one. Personal mailboxes are rows like any other: callers filter them.
        """
        now = now or utcnow()
        return self.storage.domain_activity(workspace, now - timedelta(days=90), now - timedelta(days=180), domain)

    def internal_domains(self, workspace: str) -> set[str]:
        """Domains of invitees Fathom marked internal: our own (the recorders' and their colleagues')."""
        return self.storage.internal_domains(workspace)

    def emails_by_domain(self, workspace: str) -> dict[str, set[str]]:
        """Every external invitee e-mail, by its domain (what link suggestions compare)."""
        return self.storage.emails_by_domain(workspace)

    def remember_no_transcript(self, workspace: str, reasons: dict[int, str]) -> None:
        """Record recordings Fathom has no transcript for, for good (until a full re-index): a week after the meeting,
        or a reason that is not Fathom's "none" (those still being made are pending: :meth:`remember_pending`)."""
        if reasons:
            self.storage.remember_no_transcript(workspace, reasons)

    def remember_pending(self, workspace: str, waits: dict[int, TranscriptWait]) -> None:
        """Record transcripts Fathom has not made yet, with when to ask again (:func:`next_ask`)."""
        if waits:
            self.storage.remember_no_transcript(workspace, {rid: wait.encode() for rid, wait in waits.items()})

    def forget_no_transcript(self, workspace: str, recording_ids: list[int]) -> None:
        """Forget what was remembered of these recordings' transcripts (one that was pending has come)."""
        if recording_ids:
            self.storage.forget_no_transcript(workspace, recording_ids)

    def transcript_waits(
        self, workspace: str, recording_ids: list[int]
    ) -> tuple[dict[int, str], dict[int, TranscriptWait]]:
        """Of ``recording_ids``: those Fathom has no transcript for (with the reason), and those pending."""
        final: dict[int, str] = {}
        waits: dict[int, TranscriptWait] = {}
        for rid, reason in self.storage.without_transcript(workspace, recording_ids).items():
            wait = TranscriptWait.decode(reason)
            if wait is not None:
                waits[rid] = wait
            else:
                final[rid] = reason
        return final, waits

    def without_transcript(
        self, workspace: str, recording_ids: list[int], *, now: datetime | None = None
    ) -> dict[int, str]:
        """Which of ``recording_ids`` not to ask Fathom for now, with the reason: those it has no transcript for,
        and those pending whose next ask is still to come (``transcript pending``)."""
        final, waits = self.transcript_waits(workspace, recording_ids)
        now = now or utcnow()
        return final | {rid: TRANSCRIPT_PENDING for rid, wait in waits.items() if wait.next_at > now}

    def clear(self, workspace: str | None = None) -> int:
        """Forget the index (of one workspace, or all); returns how many meetings went."""
        return self.storage.clear(workspace)

    def recordings_with(self, *, domain: str = "", email: str = "") -> dict[str, list[int]]:
        """Per workspace, the meetings with an invitee at ``domain`` or with the address ``email``."""
        return self.storage.recordings_with(domain=domain.lower(), email=email.lower())

    def forget(self, workspace: str, recording_ids: list[int]) -> int:
        """Remove these meetings, their invitees and transcript notes from the index; returns how many it held."""
        return self.storage.forget(workspace, recording_ids) if recording_ids else 0


def db_path(db: sqlite3.Connection) -> str:
    row = db.execute("PRAGMA database_list").fetchone()
    return str(row[2]) if row and row[2] else ":memory:"


class SqliteSyncLock:
    """The sync lock of one workspace in the SQLite file: a row with a random token and an expiry, renewed by a
    thread every third of :data:`LOCK_TTL_S` while held, deleted on release only while the token is still ours.
    A process killed mid-sync blocks the next sync at most the TTL; a page write checks the token (a holder that
    froze past the TTL and lost the lock writes nothing).

    Attributes:
        token: this holder's token while it holds the lock, else ``None``.
    """

    def __init__(
        self, storage: SqliteIndexStorage, workspace: str, local: threading.Lock, ttl_s: float = LOCK_TTL_S
    ) -> None:
        self._storage = storage
        self._workspace = workspace
        self._local = local
        self.ttl_s = ttl_s
        self.token: str | None = None
        self._stop = threading.Event()
        self._renewing: threading.Thread | None = None

    def acquire(self, *, timeout: float) -> bool:
        """Take the lock, trying every :data:`LOCK_POLL_S` for up to ``timeout`` seconds; False if another holds it."""
        deadline = time.monotonic() + timeout
        if not self._local.acquire(timeout=max(timeout, 0)):
            return False
        token = uuid.uuid4().hex
        try:
            while not self._storage.take_lock(self._workspace, token, self.ttl_s):
                left = deadline - time.monotonic()
                if left <= 0:
                    self._local.release()
                    return False
                time.sleep(min(LOCK_POLL_S, left))
        except BaseException:
            self._local.release()
            raise
        self.token = token
        self._stop = threading.Event()
        self._renewing = threading.Thread(
            target=self._keep, args=(token, self._stop), name="meeting-index-lock", daemon=True
        )
        self._renewing.start()
        return True

    def _keep(self, token: str, stop: threading.Event) -> None:
        while not stop.wait(self.ttl_s / 3):
            try:
                if not self._storage.renew_lock(self._workspace, token, self.ttl_s):
                    log.warning("%s: %s", self._storage.path, LOST)
                    return
            except StoreError as exc:  # the lock expires on its own; the sync's next write says what failed
                log.warning("the meeting index's sync lock was not renewed: %s", exc)

    def release(self) -> None:
        """Stop renewing, delete the lock row if it is still ours, and let this process's next thread in."""
        token, self.token = self.token, None
        self._stop.set()
        if self._renewing is not None:
            self._renewing.join(5)
            self._renewing = None
        try:
            if token is not None:
                self._storage.renew_lock(self._workspace, token, None)
        except StoreError as exc:
            log.warning("the meeting index's sync lock was not released (it expires in %.0f s): %s", self.ttl_s, exc)
        finally:
            if token is not None:
                self._local.release()


class SqliteIndexStorage:
    """The index's tables in one SQLite file, on their own connection. Thread-safe."""

    def __init__(self, path: str | Path) -> None:
        self.path = str(path)
        try:
            if self.path != ":memory:":
                Path(self.path).parent.mkdir(parents=True, exist_ok=True)
            self._db = sqlite3.connect(self.path, timeout=BUSY_TIMEOUT_S, check_same_thread=False, isolation_level=None)
            if self.path != ":memory:":
                self._db.execute("PRAGMA journal_mode=WAL")
            self._db.executescript(_SCHEMA)
        except (sqlite3.Error, OSError) as exc:
            raise StoreError(
                f"The meeting index in {self.path} cannot be opened ({exc}). Check ENGAGEMENT_DB and the disk."
            ) from None
        self._lock = threading.RLock()
        self._sync_locks: dict[str, threading.Lock] = {}

    def close(self) -> None:
        with self._lock:
            self._db.close()

    @contextmanager
    def _tx(self) -> Iterator[sqlite3.Connection]:
        with self._lock:
            try:
                self._db.execute("BEGIN IMMEDIATE")
                try:
                    yield self._db
                except BaseException:
                    self._db.execute("ROLLBACK")
                    raise
                self._db.execute("COMMIT")
            except sqlite3.Error as exc:
                raise StoreError(f"The meeting index in {self.path} could not be written ({exc}). Try again.") from None

    def _select(self, sql: str, args: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
        with self._lock:
            try:
                return self._db.execute(sql, args).fetchall()
            except sqlite3.Error as exc:
                raise StoreError(f"The meeting index in {self.path} could not be read ({exc}). Try again.") from None

    # ------------------------------------------------------------ sync state and writes

    def sync_lock(self, workspace: str) -> SyncLock:
        """A lock shared by every process on this file (one object per sync: its token is its own); this process's
        threads queue on a ``threading.Lock`` first."""
        with self._lock:
            local = self._sync_locks.setdefault(workspace, threading.Lock())
        return SqliteSyncLock(self, workspace, local)

    def take_lock(self, workspace: str, token: str, ttl_s: float) -> bool:
        """Hold the workspace's lock row with ``token`` unless another unexpired token holds it."""
        now = time.time()
        with self._tx() as db:
            row = db.execute("SELECT token, expires_at FROM index_lock WHERE workspace = ?", (workspace,)).fetchone()
            if row is not None and row[0] != token and float(row[1]) > now:
                return False
            db.execute("REPLACE INTO index_lock VALUES (?, ?, ?)", (workspace, token, now + ttl_s))
        return True

    def renew_lock(self, workspace: str, token: str, ttl_s: float | None) -> bool:
        """Extend the lock while ``token`` holds it (``ttl_s`` None: release it); False when it is no longer held."""
        with self._tx() as db:
            if ttl_s is None:
                args: tuple[Any, ...] = (workspace, token)
                return db.execute("DELETE FROM index_lock WHERE workspace = ? AND token = ?", args).rowcount > 0
            args = (time.time() + ttl_s, workspace, token)
            return (
                db.execute("UPDATE index_lock SET expires_at = ? WHERE workspace = ? AND token = ?", args).rowcount > 0
            )

    @staticmethod
    def _check_lock(db: sqlite3.Connection, workspace: str, lock: SyncLock | None) -> None:
        """Refuse a sync's write once its lock was taken over (its process froze past the TTL)."""
        token = getattr(lock, "token", None) if isinstance(lock, SqliteSyncLock) else None
        if token is None:
            return
        row = db.execute("SELECT token FROM index_lock WHERE workspace = ?", (workspace,)).fetchone()
        if row is None or row[0] != token:
            raise StoreError(f"The meeting index in {db_path(db)} was not written: {LOST}. Try again.")

    def state(self, workspace: str) -> dict[str, Any]:
        rows = self._select("SELECT state FROM index_state WHERE workspace = ?", (workspace,))
        if not rows:
            return {}
        try:
            state = json.loads(rows[0][0])
        except ValueError:
            return {}
        return state if isinstance(state, dict) else {}

    @staticmethod
    def _put_state(db: sqlite3.Connection, workspace: str, state: dict[str, Any]) -> None:
        db.execute("REPLACE INTO index_state (workspace, state) VALUES (?, ?)", (workspace, json.dumps(state)))

    def save(
        self,
        workspace: str,
        state: dict[str, Any],
        meetings: tuple[Meeting, ...] = (),
        generation: int = 0,
        *,
        lock: SyncLock | None = None,
    ) -> None:
        with self._tx() as db:
            self._check_lock(db, workspace, lock)
            self._upsert(db, workspace, meetings, generation)
            self._put_state(db, workspace, state)

    def put(self, workspace: str, meetings: tuple[Meeting, ...]) -> None:
        with self._tx() as db:
            row = db.execute("SELECT state FROM index_state WHERE workspace = ?", (workspace,)).fetchone()
            try:
                generation = int(json.loads(row[0]).get("generation", 1)) if row else 1
            except (ValueError, TypeError, AttributeError):
                generation = 1
            self._upsert(db, workspace, meetings, generation)

    @staticmethod
    def _upsert(db: sqlite3.Connection, workspace: str, meetings: tuple[Meeting, ...], generation: int) -> None:
        for m in meetings:
            created = format_utc(m.created_at)
            db.execute(
                "REPLACE INTO index_meetings VALUES (?, ?, ?, ?, ?, ?, ?)",
                (workspace, m.recording_id, created, format_utc(m.started_at), m.title, generation, index_entry(m)),
            )
            db.execute(
                "DELETE FROM index_invitees WHERE workspace = ? AND recording_id = ?", (workspace, m.recording_id)
            )
            db.executemany(
                "INSERT INTO index_invitees VALUES (?, ?, ?, ?, ?, ?)",
                [
                    (workspace, m.recording_id, domain, email, int(external), created)
                    for email, (domain, external) in invitee_rows(m).items()
                ],
            )

    def finish(self, workspace: str, state: dict[str, Any], drop_below: int | None, *, lock: SyncLock) -> int:
        deleted = 0
        with self._tx() as db:
            self._check_lock(db, workspace, lock)
            if drop_below is not None:
                deleted = db.execute(
                    "DELETE FROM index_meetings WHERE workspace = ? AND generation < ?", (workspace, drop_below)
                ).rowcount
                db.execute(
                    "DELETE FROM index_invitees WHERE workspace = ? AND recording_id NOT IN "
                    "(SELECT recording_id FROM index_meetings WHERE workspace = ?)",
                    (workspace, workspace),
                )
                db.execute("DELETE FROM index_no_transcript WHERE workspace = ?", (workspace,))
            self._put_state(db, workspace, state)
        return deleted

    # ------------------------------------------------------------ reads

    def count(self, workspace: str) -> int:
        rows = self._select("SELECT COUNT(*) FROM index_meetings WHERE workspace = ?", (workspace,))
        return int(rows[0][0]) if rows else 0

    def meetings_for(
        self, workspace: str, domain: str, since: datetime | None, before: datetime | None
    ) -> list[Meeting]:
        sql = (
            "SELECT meeting FROM index_meetings WHERE workspace = ? AND recording_id IN "
            "(SELECT recording_id FROM index_invitees WHERE workspace = ? AND domain = ?)"
        )
        args: list[Any] = [workspace, workspace, domain]
        if since is not None:
            sql += " AND created_at >= ?"
            args.append(format_utc(since))
        if before is not None:
            sql += " AND created_at < ?"
            args.append(format_utc(before))
        sql += " ORDER BY created_at DESC, recording_id DESC"
        return [Meeting.model_validate_json(row[0]) for row in self._select(sql, tuple(args))]

    def domain_activity(
        self, workspace: str, recent: datetime, earlier: datetime, domain: str | None
    ) -> list[DomainActivity]:
        # Both passes read only the covering index on index_invitees (created_at is kept on each row), never
        # the meetings' JSON: one row per (domain, meeting), then the counts per domain.
        sql = (
            "WITH per AS (SELECT domain, recording_id, MIN(created_at) AS created_at FROM index_invitees "
            "WHERE workspace = ? AND is_external = 1 AND (domain = ? OR ? IS NULL) GROUP BY domain, recording_id), "
            "people AS (SELECT domain, COUNT(DISTINCT email) AS people FROM index_invitees "
            "WHERE workspace = ? AND is_external = 1 AND (domain = ? OR ? IS NULL) GROUP BY domain) "
            "SELECT per.domain, COUNT(*), people.people, MIN(per.created_at), MAX(per.created_at), "
            "SUM(per.created_at >= ?), SUM(per.created_at >= ? AND per.created_at < ?) "
            "FROM per JOIN people ON people.domain = per.domain GROUP BY per.domain ORDER BY 2 DESC, 1"
        )
        recent_at, earlier_at = format_utc(recent), format_utc(earlier)
        args = (workspace, domain, domain, workspace, domain, domain, recent_at, earlier_at, recent_at)
        return [DomainActivity(*row) for row in self._select(sql, args)]

    def internal_domains(self, workspace: str) -> set[str]:
        rows = self._select(
            "SELECT DISTINCT domain FROM index_invitees WHERE workspace = ? AND is_external = 0", (workspace,)
        )
        return {str(row[0]) for row in rows}

    def emails_by_domain(self, workspace: str) -> dict[str, set[str]]:
        out: dict[str, set[str]] = {}
        for domain, email in self._select(
            "SELECT DISTINCT domain, email FROM index_invitees WHERE workspace = ? AND is_external = 1", (workspace,)
        ):
            out.setdefault(str(domain), set()).add(str(email))
        return out

    def remember_no_transcript(self, workspace: str, reasons: dict[int, str]) -> None:
        with self._tx() as db:
            db.executemany(
                "REPLACE INTO index_no_transcript VALUES (?, ?, ?)",
                [(workspace, rid, reason) for rid, reason in reasons.items()],
            )

    def without_transcript(self, workspace: str, recording_ids: list[int]) -> dict[int, str]:
        out: dict[int, str] = {}
        for start in range(0, len(recording_ids), 500):
            chunk = recording_ids[start : start + 500]
            marks = ",".join("?" * len(chunk))
            rows = self._select(
                "SELECT recording_id, reason FROM index_no_transcript WHERE workspace = ? AND recording_id IN ("  # noqa: S608 - only "?" marks
                + marks
                + ")",
                (workspace, *chunk),
            )
            out.update({int(rid): str(reason) for rid, reason in rows})
        return out

    def forget_no_transcript(self, workspace: str, recording_ids: list[int]) -> None:
        with self._tx() as db:
            db.executemany(
                "DELETE FROM index_no_transcript WHERE workspace = ? AND recording_id = ?",
                [(workspace, rid) for rid in recording_ids],
            )

    def clear(self, workspace: str | None) -> int:
        args = (workspace, workspace)  # "workspace = ? OR ? IS NULL": one workspace, or every one
        with self._tx() as db:
            n = db.execute("DELETE FROM index_meetings WHERE workspace = ? OR ? IS NULL", args).rowcount
            db.execute("DELETE FROM index_invitees WHERE workspace = ? OR ? IS NULL", args)
            db.execute("DELETE FROM index_state WHERE workspace = ? OR ? IS NULL", args)
            db.execute("DELETE FROM index_no_transcript WHERE workspace = ? OR ? IS NULL", args)
        return max(n, 0)

    def recordings_with(self, *, domain: str = "", email: str = "") -> dict[str, list[int]]:
        rows = self._select(
            "SELECT DISTINCT workspace, recording_id FROM index_invitees WHERE domain = ? OR email = ?",
            (domain or None, email or None),
        )
        out: dict[str, list[int]] = {}
        for workspace, rid in rows:
            out.setdefault(str(workspace), []).append(int(rid))
        return out

    def forget(self, workspace: str, recording_ids: list[int]) -> int:
        gone = 0
        with self._tx() as db:
            for start in range(0, len(recording_ids), 500):
                chunk = recording_ids[start : start + 500]
                where = f"workspace = ? AND recording_id IN ({','.join('?' * len(chunk))})"
                gone += max(db.execute(f"DELETE FROM index_meetings WHERE {where}", (workspace, *chunk)).rowcount, 0)  # noqa: S608 - placeholders only
                db.execute(f"DELETE FROM index_invitees WHERE {where}", (workspace, *chunk))  # noqa: S608
                db.execute(f"DELETE FROM index_no_transcript WHERE {where}", (workspace, *chunk))  # noqa: S608
        return gone


INDEX_KIND = "meeting index"


def open_index(path: str | Path) -> MeetingIndex:
    """The process's one ``MeetingIndex`` for a file; opened on first use."""
    key = str(Path(path).resolve()) if str(path) != ":memory:" else ":memory:"
    return REGISTRY.get(INDEX_KIND, key, lambda: MeetingIndex(key))
