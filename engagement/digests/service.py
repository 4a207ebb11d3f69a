"""Digests built from a ``Runtime`` and sent once per period and channel, by hand (``digest``) or on schedule.

Each send is claimed in the store's ``digests`` table (``sent:{end}:{start}:{channel}``, a conditional write), so
two processes, or a second run on the same day, never send the same period to the same channel twice. A channel
that failed after its retries is kept as ``failed`` with its error (the admin page lists it) and tried again at
the scheduler's next look, up to :data:`MAX_ROUNDS` times.
"""

from __future__ import annotations

import hashlib
import logging
import ssl
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, Protocol

import httpx

from engagement.account.linking import AccountLinks
from engagement.digests.content import Digest, build_digest
from engagement.digests.delivery import DeliveryError, Mailer, SlackSender
from engagement.digests.render import as_html, as_slack, as_text
from engagement.digests.schedule import Schedule, parse_schedule
from engagement.errors import EngagementError
from engagement.fathom.workspace import workspace_of
from engagement.jobs.repository import JobRepository
from engagement.meetings.index import MeetingIndex
from engagement.models import format_utc, utcnow
from engagement.settings import Settings
from engagement.storage.redis import RedisKV
from engagement.storage.sqlite import SqliteKV

__all__ = ["DIGESTS_TABLE", "MAX_ROUNDS", "DigestScheduler", "DigestService", "Outcome", "recipients"]

log = logging.getLogger(__name__)


class Runtime(Protocol):
    """What a digest reads: ``engagement.runtime.Runtime`` is one (a protocol, so this package imports nothing above
    it: ``tests/test_layout.py``)."""

    @property
    def settings(self) -> Settings: ...
    @property
    def store(self) -> SqliteKV | RedisKV: ...
    @property
    def index(self) -> MeetingIndex: ...
    @property
    def repo(self) -> JobRepository: ...
    @property
    def links(self) -> AccountLinks | None: ...


DIGESTS_TABLE = "digests"
MAX_ROUNDS = 3  # scheduler rounds a failed channel is tried again (each with its own retries)
STUCK_AFTER = timedelta(minutes=10)  # a "sending" claim this old belongs to a process that died mid-send


@dataclass(frozen=True)
class Outcome:
    """What happened to one channel. Attributes: channel (``slack`` / ``email``), status (``sent`` | ``skipped``:
    already sent for the period | ``failed``), detail."""

    channel: str
    status: str
    detail: str = ""


def recipients(text: str | Sequence[str]) -> list[str]:
    """Addresses from ``a@x.com, b@y.org`` (or a list), de-duplicated; one without an ``@`` is a ``DeliveryError``."""
    items = text.split(",") if isinstance(text, str) else list(text)
    out = list(dict.fromkeys(a.strip() for a in items if a.strip()))
    bad = [a for a in out if "@" not in a or any(c.isspace() for c in a)]
    if bad:
        raise DeliveryError(f"{bad[0]!r} is not an e-mail address (DIGEST_EMAILS, --email).")
    return out


def _channel_key(kind: str, target: str) -> str:
    return f"{kind}-{hashlib.sha256(target.encode()).hexdigest()[:12]}"


class DigestService:
    """Builds and sends digests for a runtime. ``slack_transport``, ``tls_context``, ``sleep`` and ``now`` are the
    tests' seams."""

    def __init__(
        self,
        runtime: Runtime,
        *,
        slack_transport: httpx.BaseTransport | None = None,
        tls_context: ssl.SSLContext | None = None,
        sleep: Callable[[float], None] = time.sleep,
        now: Callable[[], datetime] = utcnow,
    ) -> None:
        self.runtime = runtime
        self.settings = runtime.settings
        self.table = runtime.store.table(DIGESTS_TABLE)
        self._slack_transport = slack_transport
        self._tls_context = tls_context
        self._sleep = sleep
        self._now = now

    # ------------------------------------------------------------ building

    def build(self, start: datetime, end: datetime) -> Digest:
        rt = self.runtime
        return build_digest(
            rt.index,
            workspace_of(self.settings),
            rt.repo,
            start,
            end,
            base_url=self.settings.app_base_url,
            linked=rt.links.accounts() if rt.links is not None else None,
        )

    def last_days(self, days: int) -> tuple[datetime, datetime]:
        """The ``days`` whole days ending at the latest ``DIGEST_TIME`` (so a second run the same day is the same
        period, and is not sent again)."""
        daily = parse_schedule("daily", self.settings.digest_time, self.settings.digest_timezone)
        assert daily is not None
        _, end = daily.latest_period(self._now())
        return end - timedelta(days=days), end

    # ------------------------------------------------------------ sending

    def send(
        self, digest: Digest, *, slack_url: str = "", emails: Sequence[str] = (), send_empty: bool = True
    ) -> list[Outcome]:
        """Send ``digest`` to each channel given, once per period and channel."""
        outcomes = []
        if slack_url:
            outcomes.append(
                self._once(
                    digest,
                    "slack",
                    _channel_key("slack", slack_url),
                    lambda: self._slack(digest, slack_url),
                    send_empty,
                )
            )
        if emails:
            targets = recipients(emails)
            key = _channel_key("email", ",".join(sorted(targets)))
            outcomes.append(self._once(digest, "email", key, lambda: self._email(digest, targets), send_empty))
        return outcomes

    def _slack(self, digest: Digest, url: str) -> None:
        sender = SlackSender(url, transport=self._slack_transport, sleep=self._sleep)
        try:
            sender.send(as_slack(digest))
        finally:
            sender.close()

    def _email(self, digest: Digest, targets: list[str]) -> None:
        s = self.settings
        mailer = Mailer(
            host=s.smtp_host,
            port=s.smtp_port,
            user=s.smtp_user,
            password=s.smtp_password,
            sender=s.smtp_from or s.smtp_user,
            tls_context=self._tls_context,
            sleep=self._sleep,
        )
        mailer.send(targets, digest.title, as_text(digest), as_html(digest))

    def _once(
        self, digest: Digest, channel: str, key_part: str, deliver: Callable[[], None], send_empty: bool
    ) -> Outcome:
        key = f"sent:{format_utc(digest.end)}:{format_utc(digest.start)}:{key_part}"
        now = format_utc(self._now())
        held = self.table.get(key)
        rounds = int(held.get("rounds", 0)) if isinstance(held, dict) else 0
        claim = {"status": "sending", "at": now, "channel": channel, "rounds": rounds + 1}
        claim |= {"start": format_utc(digest.start), "end": format_utc(digest.end)}
        if held is None:
            taken = self.table.set_many({key: claim}, require={key: None})
        elif held.get("status") == "failed" and rounds < MAX_ROUNDS:
            taken = self.table.set_many({key: claim}, require={key: {"status": "failed", "rounds": rounds}})
        elif held.get("status") == "sending" and str(held.get("at")) < format_utc(self._now() - STUCK_AFTER):
            taken = self.table.set_many({key: claim}, require={key: {"status": "sending", "at": held.get("at")}})
        else:
            taken = False
        if not taken:
            status = held.get("status") if isinstance(held, dict) else "sending"
            return Outcome(channel, "skipped", f"already {status} for this period")
        if digest.empty and not send_empty:
            self.table.set(key, claim | {"status": "empty"})
            return Outcome(channel, "skipped", "nothing changed in this period")
        try:
            deliver()
        except EngagementError as exc:
            log.warning("the %s digest for %s was not sent: %s", channel, format_utc(digest.end), exc)
            self.table.set(key, claim | {"status": "failed", "error": str(exc)})
            return Outcome(channel, "failed", str(exc))
        self.table.set(key, claim | {"status": "sent", "sent_at": format_utc(self._now())})
        return Outcome(channel, "sent")

    def failures(self, limit: int = 10) -> list[dict[str, Any]]:
        """The latest digest sends that failed (the admin page), newest period first."""
        rows = [value for _, value in self.table.items("sent:", where={"status": "failed"}, reverse=True)]
        return rows[:limit]

    # ------------------------------------------------------------ the schedule

    def schedule(self) -> Schedule | None:
        s = self.settings
        return parse_schedule(s.digest_schedule, s.digest_time, s.digest_timezone)

    def run_scheduled(self) -> list[Outcome]:
        """Send the schedule's latest period to the configured channels unless it was sent (empty ones are not)."""
        schedule = self.schedule()
        s = self.settings
        if schedule is None or not (s.digest_slack_url or s.digest_emails):
            return []
        start, end = schedule.latest_period(self._now())
        pending = self._pending(start, end)
        if not pending:
            return []
        digest = self.build(start, end)
        return self.send(
            digest,
            slack_url=s.digest_slack_url,
            emails=recipients(s.digest_emails) if s.digest_emails else (),
            send_empty=False,
        )

    def _pending(self, start: datetime, end: datetime) -> bool:
        """Whether any configured channel still has the period to send (so a sent period builds nothing)."""
        s = self.settings
        keys = []
        if s.digest_slack_url:
            keys.append(_channel_key("slack", s.digest_slack_url))
        if s.digest_emails:
            keys.append(_channel_key("email", ",".join(sorted(recipients(s.digest_emails)))))
        for part in keys:
            held = self.table.get(f"sent:{format_utc(end)}:{format_utc(start)}:{part}")
            if not isinstance(held, dict) or (
                held.get("status") == "failed" and int(held.get("rounds", 0)) < MAX_ROUNDS
            ):
                return True
            if held.get("status") == "sending" and str(held.get("at")) < format_utc(self._now() - STUCK_AFTER):
                return True
        return False


class DigestScheduler:
    """One thread per process that looks every ``check_every_s`` whether the scheduled digest is due and sends it
    (the claims in the store make it once across processes)."""

    def __init__(self, service: DigestService, *, check_every_s: float = 60.0) -> None:
        self.service = service
        self.check_every_s = check_every_s
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def start(self) -> None:
        if self._thread is None:
            self._thread = threading.Thread(target=self._run, name="digest-scheduler", daemon=True)
            self._thread.start()

    def _run(self) -> None:
        while not self._stop.is_set():
            try:
                self.service.run_scheduled()
            except Exception:  # noqa: BLE001 - the next look tries again
                log.exception("the scheduled digest could not be sent")
            self._stop.wait(self.check_every_s)

    def stop(self, timeout: float = 5.0) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout)
