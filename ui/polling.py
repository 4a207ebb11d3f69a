"""What one poll of a running job does: rerun the whole page, or redraw only its progress (pure, so it is tested).

A full run of the summary page costs the browser far more than the progress bar does (a complete summary is
five Plotly charts, tables and every section), so a poll asks for one only when there is more to draw: the
job ended, its facts arrived, or a young job's fast poll hands over to the slow one. A job's facts wait until
it has run ``FACTS_AFTER``: a small run (the demo's take 0.3–1.9 s) is then drawn once, finished, instead of
twice within a second, its facts and then its summary.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from engagement.models import JobRecord

FAST_FOR = timedelta(seconds=5)  # a young job is polled every ½ s, so a small demo run shows at once
FACTS_AFTER = timedelta(seconds=2)  # a running job's facts are drawn once it has run this long


def needs_full_run(record: JobRecord, *, facts_drawn: bool, fast: bool, now: datetime) -> bool:
    """Whether this poll reruns the page: the job is over, its facts are new (and it has run ``FACTS_AFTER``), or
    the fast poll (``fast``) outlived ``FAST_FOR``; otherwise it only redraws the progress bar."""
    if record.status.terminal:
        return True
    running_for = now - (record.started_at or record.created_at)
    if record.summary is not None and not facts_drawn and running_for >= FACTS_AFTER:
        return True
    return fast and now - record.created_at >= FAST_FOR
