"""Retention: jobs, questions and audit entries past their settings' age are purged by the app, and that is audited."""

from __future__ import annotations

import threading
from datetime import UTC, datetime, timedelta
from pathlib import Path

from engagement.jobs.service import InlineExecutor
from engagement.models import JobStatus
from engagement.questions.answers import QuestionRecord
from engagement.retention import RETENTION_ACTOR, Purged, RetentionTask, purge_expired
from engagement.runtime import Runtime, create_runtime
from engagement.settings import Settings
from tests.support.summary_factory import make_record

NOW = datetime(2026, 12, 7, 12, 0, tzinfo=UTC)


def runtime_at(tmp_path: Path, now: datetime, **settings: int) -> Runtime:
    """A runtime whose every "older than" counts from ``now`` (the injectable clocks of repo, questions, audit)."""
    rt = create_runtime(
        Settings(engagement_db=str(tmp_path / "engagement.sqlite"), **settings),  # type: ignore[arg-type]
        executor=InlineExecutor(),
    )
    rt.repo.clock = rt.questions.clock = rt.audit.clock = lambda: now
    return rt


def question(domain: str, qid: str, asked: datetime) -> QuestionRecord:
    return QuestionRecord(
        domain=domain,
        id=qid,
        question="What about pricing?",
        run_id="r",
        analyzer="offline",
        status=JobStatus.COMPLETE,
        reuse_key=qid,
        created_at=asked,
        asked_at=asked,
        updated_at=asked,
    )


def seed(rt: Runtime) -> None:
    rt.repo.create(
        make_record(run_id="old", created_at=NOW - timedelta(days=40), updated_at=NOW - timedelta(days=40)),
        make_record(run_id="new", created_at=NOW - timedelta(days=2), updated_at=NOW - timedelta(days=2)),
    )
    for q in (question("acmecorp.com", "q-old", NOW - timedelta(days=100)), question("acmecorp.com", "q-new", NOW)):
        rt.store.set(q.key, q.model_dump(mode="json"))
    rt.audit.clock = lambda: NOW - timedelta(days=400)
    rt.audit.record("ann", "viewed", "acmecorp.com")
    rt.audit.clock = lambda: NOW


def test_items_past_their_age_are_purged_and_the_purges_audited(tmp_path: Path) -> None:
    """With 30/90/365 days, the 40-day job, the 100-day question and the 400-day audit entry go; the rest stay."""
    rt = runtime_at(tmp_path, NOW, jobs_keep_days=30, questions_keep_days=90, audit_keep_days=365)
    seed(rt)
    try:
        assert purge_expired(rt) == Purged(jobs=1, questions=1, audit=1)
        assert [row.run_id for row in rt.repo.rows()] == ["new"]
        assert [q.id for q in rt.questions.list()] == ["q-new"]
        entries = rt.audit.entries()
        assert {(e.actor, e.target) for e in entries} == {
            (RETENTION_ACTOR, "jobs"),
            (RETENTION_ACTOR, "questions"),
            (RETENTION_ACTOR, "audit log"),
        }
        assert all(e.actor != "ann" for e in entries)
        assert purge_expired(rt) == Purged()  # nothing left to expire: nothing purged, nothing more recorded
        assert len(rt.audit.entries()) == 3
    finally:
        rt.close()


def test_zero_keeps_everything(tmp_path: Path) -> None:
    """The default (0 days) never purges: nothing is lost because a setting was left unset."""
    rt = runtime_at(tmp_path, NOW + timedelta(days=10_000))
    seed(rt)
    try:
        assert purge_expired(rt) == Purged()
        assert len(rt.repo.rows()) == 2 and len(rt.questions.list()) == 2 and len(rt.audit.entries()) == 1
    finally:
        rt.close()


def test_the_background_task_purges_at_once_and_stops_with_the_runtime(tmp_path: Path) -> None:
    """The app's retention thread runs a pass when it starts, and closing the runtime ends it."""
    rt = runtime_at(tmp_path, NOW, jobs_keep_days=30)
    seed(rt)
    task = RetentionTask(rt, every_s=3600)
    rt.on_close.append(task.start().stop)
    for _ in range(200):  # bounded: the first pass is immediate
        if len(rt.repo.rows()) == 1:
            break
        threading.Event().wait(0.05)
    assert [row.run_id for row in rt.repo.rows()] == ["new"]
    rt.close()
    assert not any(t.name == "engagement-retention" and t.is_alive() for t in threading.enumerate())
