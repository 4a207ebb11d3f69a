"""How long things are kept: finished jobs, questions and audit entries past their settings' age are purged by the
app itself, in a background thread of each app process (no cron on a laptop; with Redis every app process runs it
against the shared store, and a purge that finds nothing purges nothing)."""

from __future__ import annotations

import logging
import threading
from dataclasses import dataclass
from datetime import timedelta

from engagement.errors import EngagementError
from engagement.runtime import Runtime

log = logging.getLogger(__name__)

RETENTION_ACTOR = "retention (the app's own purge)"
EVERY_S = 3600.0  # how often a process looks for expired items


@dataclass(frozen=True)
class Purged:
    """What one pass removed.

    Attributes:
        jobs: finished job records (and their index rows).
        questions: answered questions.
        audit: audit entries (the purge records itself as a new entry).
    """

    jobs: int = 0
    questions: int = 0
    audit: int = 0


def purge_expired(runtime: Runtime) -> Purged:
    """Remove what is older than the settings keep (each 0 keeps forever); each kind that lost items is audited."""
    settings = runtime.settings
    jobs = questions = audit = 0
    if settings.jobs_keep_days:
        jobs = runtime.repo.purge(older_than=timedelta(days=settings.jobs_keep_days))
        if jobs:
            runtime.audit.record(RETENTION_ACTOR, "purged", "jobs", f"{jobs} older than {settings.jobs_keep_days} days")
    if settings.questions_keep_days:
        questions = runtime.questions.purge(older_than=timedelta(days=settings.questions_keep_days))
        if questions:
            detail = f"{questions} older than {settings.questions_keep_days} days"
            runtime.audit.record(RETENTION_ACTOR, "purged", "questions", detail)
    if settings.audit_keep_days and runtime.audit.purgeable(timedelta(days=settings.audit_keep_days)):
        audit = runtime.audit.purge(timedelta(days=settings.audit_keep_days), RETENTION_ACTOR)
    return Purged(jobs, questions, audit)


class RetentionTask:
    """``purge_expired`` now and then every ``every_s`` in a daemon thread, until ``stop``."""

    def __init__(self, runtime: Runtime, every_s: float = EVERY_S) -> None:
        self.runtime = runtime
        self.every_s = every_s
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="engagement-retention", daemon=True)

    def start(self) -> RetentionTask:
        self._thread.start()
        return self

    def _run(self) -> None:
        while True:
            try:
                purge_expired(self.runtime)
            except EngagementError as exc:  # a store that is down now may be up at the next pass
                log.warning("retention: %s", exc)
            except Exception:  # the thread must outlive one bad pass
                log.exception("retention pass failed")
            if self._stop.wait(self.every_s):
                return

    def stop(self, timeout: float = 5.0) -> None:
        self._stop.set()
        self._thread.join(timeout)


def keeps_anything_limited(runtime: Runtime) -> bool:
    """Whether any retention setting is on (else no thread is started)."""
    s = runtime.settings
    return bool(s.jobs_keep_days or s.questions_keep_days or s.audit_keep_days)
