"""One poll of a running job: the whole page is drawn again only when there is more to draw than its progress."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from engagement.models import JobRecord, JobStatus
from tests.support.summary_factory import make_record, make_summary
from ui.polling import FACTS_AFTER, FAST_FOR, needs_full_run

STARTED = datetime(2026, 5, 4, 9, 30, tzinfo=UTC)


def running(*, facts: bool, queued_for: timedelta = timedelta(0)) -> JobRecord:
    """A processing job created at STARTED that began to run ``queued_for`` later, with its facts or not yet."""
    return make_record(
        make_summary() if facts else None,
        status=JobStatus.PROCESSING,
        created_at=STARTED,
        updated_at=STARTED,
        started_at=STARTED + queued_for,
    )


def at(seconds: float) -> datetime:
    return STARTED + timedelta(seconds=seconds)


@pytest.mark.parametrize("status", [JobStatus.COMPLETE, JobStatus.ERROR])
def test_a_finished_job_is_drawn_at_the_next_poll(status: JobStatus) -> None:
    """Complete or failed, the poll that sees it reruns the page, however young the job (a demo run shows at once)."""
    record = make_record(status=status, created_at=STARTED, updated_at=STARTED, started_at=STARTED)
    assert needs_full_run(record, facts_drawn=False, fast=True, now=at(0.4))
    assert needs_full_run(record, facts_drawn=True, fast=False, now=at(60))


def test_a_young_jobs_facts_wait_so_a_small_run_is_drawn_once() -> None:
    """Facts that arrive in the first seconds of a run only update the bar; after FACTS_AFTER the page draws them."""
    record = running(facts=True)
    assert not needs_full_run(record, facts_drawn=False, fast=True, now=at(0.5))
    assert needs_full_run(record, facts_drawn=False, fast=True, now=at(FACTS_AFTER.total_seconds()))


def test_facts_already_drawn_are_not_drawn_again() -> None:
    """Once the page shows a job's facts, its slow poll only redraws the progress bar until the job ends."""
    assert not needs_full_run(running(facts=True), facts_drawn=True, fast=False, now=at(30))


def test_the_wait_for_facts_counts_from_when_the_job_began_to_run() -> None:
    """A job that waited in the queue is young when it starts: its facts still wait FACTS_AFTER from its start."""
    record = running(facts=True, queued_for=timedelta(seconds=30))
    assert not needs_full_run(record, facts_drawn=False, fast=False, now=at(30.5))
    assert needs_full_run(record, facts_drawn=False, fast=False, now=at(33))


def test_the_fast_poll_hands_over_to_the_slow_one_when_the_job_is_no_longer_young() -> None:
    """The ½-second poll reruns the page once the job is FAST_FOR old (the 2-second poll takes over); the slow one never."""
    record = running(facts=False)
    assert not needs_full_run(record, facts_drawn=False, fast=True, now=at(1))
    assert needs_full_run(record, facts_drawn=False, fast=True, now=at(FAST_FOR.total_seconds()))
    assert not needs_full_run(record, facts_drawn=False, fast=False, now=at(600))
