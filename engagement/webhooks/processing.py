"""What a delivery changes, done in the background: the meeting into the index, its transcript into search,
the accounts it touches marked changed. Bounded: a few threads and a fixed number of deliveries waiting."""

from __future__ import annotations

import logging
import threading
import time
from concurrent.futures import ThreadPoolExecutor

from engagement.errors import EngagementError
from engagement.meetings.index import MeetingIndex, invitee_rows
from engagement.models import Meeting
from engagement.questions.search import TranscriptSearch
from engagement.webhooks.store import WebhookStore

__all__ = ["MAX_PENDING", "DeliveryProcessor", "touched_domains"]

log = logging.getLogger(__name__)
PRUNE_EVERY_S = 86_400.0  # old deliveries and changes are forgotten once a day
MAX_PENDING = 64  # deliveries accepted and not yet applied; past it the receiver answers 503 and Fathom retries
WORKERS = 2


def touched_domains(meeting: Meeting) -> set[str]:
    """The accounts a meeting touches: the registrable domains of its external invitees' e-mails."""
    return {domain for domain, external in invitee_rows(meeting).values() if external}


class DeliveryProcessor:
    """Applies accepted deliveries on a small thread pool; :meth:`submit` refuses when ``max_pending`` wait.

    Attributes:
        workspace: the meeting index's workspace the meetings go into (``workspace_of(settings)``).
        applied: deliveries applied by this processor (tests and the log).
    """

    def __init__(
        self,
        *,
        index: MeetingIndex,
        workspace: str,
        search: TranscriptSearch | None,
        store: WebhookStore,
        workers: int = WORKERS,
        max_pending: int = MAX_PENDING,
    ) -> None:
        self.index = index
        self.workspace = workspace
        self.search = search
        self.store = store
        self.applied = 0
        self._slots = threading.BoundedSemaphore(max_pending)
        self._pool = ThreadPoolExecutor(max_workers=workers, thread_name_prefix="webhook-delivery")
        self._idle = threading.Condition()
        self._pending = 0
        self._pruned_at: float | None = None

    def submit(self, webhook_id: str, meeting: Meeting) -> bool:
        """Queue a claimed delivery; False (nothing queued) when ``max_pending`` are already waiting."""
        if not self._slots.acquire(blocking=False):
            return False
        with self._idle:
            self._pending += 1
        self._pool.submit(self._run, webhook_id, meeting)
        return True

    def _run(self, webhook_id: str, meeting: Meeting) -> None:
        try:
            self.apply(webhook_id, meeting)
        finally:
            self._slots.release()
            with self._idle:
                self._pending -= 1
                self._idle.notify_all()

    def apply(self, webhook_id: str, meeting: Meeting) -> None:
        """Put the meeting in the index (and its transcript in search), mark its accounts, end the delivery."""
        try:
            # A meeting of a customer or person forgotten on request is dropped whole: no index, search or change.
            if self.index.add(self.workspace, [meeting]):
                if meeting.transcript is not None and self.search is not None:
                    self.search.add([meeting])
                self.store.mark_changed(touched_domains(meeting), meeting.recording_id)
        except Exception as exc:  # noqa: BLE001 - recorded on the delivery for the admin page
            message = str(exc) if isinstance(exc, EngagementError) else f"unexpected error ({type(exc).__name__})"
            log.log(
                logging.WARNING if isinstance(exc, EngagementError) else logging.ERROR,
                "webhook delivery %s (recording %s) was not applied: %s",
                webhook_id,
                meeting.recording_id,
                message,
                exc_info=not isinstance(exc, EngagementError),
            )
            try:
                self.store.finish(webhook_id, error=message)
            except EngagementError as again:
                log.warning("webhook delivery %s: its failure was not recorded: %s", webhook_id, again)
            return
        try:
            self.store.finish(webhook_id)
        except EngagementError as exc:
            log.warning("webhook delivery %s was applied, but not marked done: %s", webhook_id, exc)
        with self._idle:
            self.applied += 1
        self._prune()

    def _prune(self) -> None:
        now = time.monotonic()
        with self._idle:
            if self._pruned_at is not None and now - self._pruned_at < PRUNE_EVERY_S:
                return
            self._pruned_at = now
        try:
            gone = self.store.prune()
        except EngagementError as exc:
            log.warning("old webhook deliveries were not pruned: %s", exc)
            return
        if gone:
            log.info("forgot %d old webhook deliveries and account changes", gone)

    def wait_idle(self, timeout: float) -> bool:
        """Wait until nothing is queued or running (tests, shutdown); False at ``timeout``."""
        with self._idle:
            return self._idle.wait_for(lambda: self._pending == 0, timeout)

    def close(self, timeout: float = 30.0) -> None:
        """Finish what was accepted (bounded by ``timeout``), then stop the threads."""
        self.wait_idle(timeout)
        self._pool.shutdown(wait=False, cancel_futures=True)
