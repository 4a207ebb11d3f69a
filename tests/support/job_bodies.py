"""Job bodies for tests of the job runner: one that holds its worker until the test lets it go."""

from __future__ import annotations

import threading

from engagement.jobs.service import JobContext
from engagement.models import EngagementSummary


class HeldBody:
    """A job body that holds its worker until ``release()`` (at most ``seconds``), then returns ``summary``.

    Attributes:
        started: the domains whose bodies began, in order.
    """

    def __init__(self, summary: EngagementSummary | None = None, seconds: float = 5.0) -> None:
        self.summary = summary or EngagementSummary()
        self.seconds = seconds
        self.started: list[str] = []
        self._released = threading.Event()

    def __call__(self, ctx: JobContext) -> EngagementSummary:
        self.started.append(ctx.domain)
        self._released.wait(self.seconds)
        return self.summary.model_copy(deep=True)

    def release(self) -> None:
        """Let every held body (and every later one) return."""
        self._released.set()
