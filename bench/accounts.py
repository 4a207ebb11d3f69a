"""Accounts page: its first draw on a 10,000-meeting index (400 companies, 100 of them with a summary)."""

from __future__ import annotations

import os
import tempfile
import time
import uuid
from datetime import timedelta
from pathlib import Path

from streamlit.testing.v1 import AppTest

from bench.index import workspace_meetings
from bench.measure import Result, latency, time_calls
from engagement.accounts import list_accounts
from engagement.jobs.service import InlineExecutor
from engagement.meetings.index import MeetingIndex
from engagement.models import JobRecord, JobStatus, Meeting, Signal, format_utc, utcnow
from engagement.runtime import create_runtime, fathom_client
from engagement.settings import Settings
from tests.support.summary_factory import make_summary

APP = Path(__file__).resolve().parents[1] / "streamlit_app.py"
QUICK = {"meetings": 1_000, "domains": 50, "summaries": 10, "runs": 5}


def _meetings(count: int, domains: int) -> list[Meeting]:
    """``count`` meetings over about two years up to now, with a gmail.com guest every 25th."""
    step = timedelta(minutes=100)
    return workspace_meetings(
        count, domains, seed=13, first=utcnow() - step * count, step=step, id_base=20_000_000, personal_every=25
    )


def _seed(settings: Settings, meetings: int, domains: int, summaries: int) -> None:
    """The index (as a finished sync leaves it) and one complete run, with signals, for ``summaries`` companies."""
    runtime = create_runtime(settings, executor=InlineExecutor())
    with fathom_client(settings) as fathom:
        workspace = fathom.workspace
    index: MeetingIndex = runtime.index
    stamp = format_utc(utcnow())
    # the bench seeds what a sync would have written, without 1,000 listing pages
    state = {"synced_at": stamp, "full_synced_at": stamp, "generation": 1}
    index.storage.save(workspace, state, tuple(_meetings(meetings, domains)), 1)
    summary = make_summary()
    summary.signals = [Signal(kind="champion_quiet", severity="high", title="Ana has gone quiet", subject="Ana")]
    records = []
    for n in range(summaries):
        at = utcnow() - timedelta(minutes=n)
        record = JobRecord(
            domain=f"company{n}.com",
            run_id=str(uuid.UUID(int=n)),
            status=JobStatus.COMPLETE,
            summary=summary.model_copy(update={"domain": f"company{n}.com"}),
            created_at=at,
            updated_at=at,
            ended_at=at,
            stage="complete",
        )
        records.append(record)
    runtime.repo.create(*records)
    runtime.jobs.close()


def run(meetings: int = 10_000, domains: int = 400, summaries: int = 100, runs: int = 20) -> list[Result]:
    note = f"{meetings:,} meetings, {domains} companies, {summaries} with a summary"
    with tempfile.TemporaryDirectory() as tmp:
        db = str(Path(tmp) / "bench.sqlite")
        settings = Settings.from_env({"ENGAGEMENT_DB": db})
        _seed(settings, meetings, domains, summaries)
        runtime = create_runtime(settings, executor=InlineExecutor())
        rows = time_calls(lambda i: list_accounts(runtime), runs, warmup=3)
        runtime.jobs.close()

        previous = os.environ.get("ENGAGEMENT_DB")
        os.environ["ENGAGEMENT_DB"] = db
        try:

            def draw() -> float:
                """Milliseconds of one accounts page run, after the entry script ran once (navigation, runtime)."""
                at = AppTest.from_file(str(APP), default_timeout=30).run()
                began = time.perf_counter()
                at.switch_page("pages/accounts.py").run()
                elapsed = (time.perf_counter() - began) * 1000
                assert not at.exception and at.dataframe, "the accounts page must draw its table"
                return elapsed

            draw()  # the first run builds the process's runtime (as a server's first visitor does)
            pages = [draw() for _ in range(runs)]
        finally:
            if previous is None:
                os.environ.pop("ENGAGEMENT_DB", None)
            else:
                os.environ["ENGAGEMENT_DB"] = previous
    return [
        latency("Accounts", "the rows (list_accounts)", rows, None, note + "; one index query + latest runs"),
        latency(
            "Accounts", "first draw of the page (AppTest)", pages, 300.0, note + "; the whole script, table included"
        ),
    ]
