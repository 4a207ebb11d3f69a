"""The periodic incremental sync: one background thread per process keeps the meeting index fresh without webhooks.

Every ``ENGAGEMENT_SYNC_EVERY_S`` the thread looks at the index's ``synced_at``; when no process brought the
workspace up to date within the interval it starts (or joins) the workspace's background sync
(:meth:`MeetingIndex.start_sync`, incremental) and waits for it. The sync's own lock (in the file, or in Redis)
keeps two processes from listing at once, and the look at ``synced_at`` keeps N processes from asking Fathom N
times an interval: one request or two when nothing is new.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from contextlib import AbstractContextManager
from datetime import datetime, timedelta

from engagement.fathom.client import FathomClient
from engagement.meetings.index import MeetingIndex, SyncResult
from engagement.models import utcnow

__all__ = ["PeriodicSync"]

log = logging.getLogger(__name__)


class PeriodicSync:
    """One thread that syncs ``workspace`` every ``every_s`` seconds, unless a sync (of any process) ended sooner.

    Attributes:
        every_s: the interval.
        rounds: syncs this thread ran (tests, the admin page).
        last_error: why the last round failed, else None (the next round tries again).
    """

    def __init__(
        self,
        index: MeetingIndex,
        workspace: str,
        connect: Callable[[], AbstractContextManager[FathomClient]],
        every_s: float,
        *,
        now: Callable[[], datetime] = utcnow,
    ) -> None:
        self.index = index
        self.workspace = workspace
        self.connect = connect
        self.every_s = every_s
        self.rounds = 0
        self.last_error: str | None = None
        self._now = now
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def due(self) -> bool:
        """Whether no sync ended within the interval (and none is under way)."""
        status = self.index.status(self.workspace)
        if status.synced_at is None:
            return True
        return self._now() - datetime.fromisoformat(status.synced_at) >= timedelta(seconds=self.every_s)

    def tick(self) -> SyncResult | None:
        """One round: the sync's result when one was due and ran, else None. Never raises: a failure is logged and
        kept in ``last_error``."""
        try:
            if not self.due():
                return None
            task, _ = self.index.start_sync(self.workspace, self.connect, full=False)
            result = task.wait()
        except Exception as exc:  # noqa: BLE001 - a round that failed is retried at the next one
            self.last_error = str(exc) or type(exc).__name__
            log.warning("the periodic sync of the meeting index failed: %s", self.last_error)
            return None
        self.rounds += 1
        self.last_error = None
        return result

    def start(self) -> None:
        """Start the thread (once); its first round runs at once."""
        if self._thread is not None:
            return
        self._thread = threading.Thread(target=self._run, name="meeting-index-freshness", daemon=True)
        self._thread.start()

    def _run(self) -> None:
        while not self._stop.is_set():
            self.tick()
            self._stop.wait(self.every_s)

    def stop(self, timeout: float = 5.0) -> None:
        """Stop after the round under way (a sync already running carries on in its own thread)."""
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout)
