"""Deadlines: every upstream request ends by its total limit or the job's, however slowly a server drips."""

from __future__ import annotations

from pathlib import Path

import httpx
import pytest

from engagement.deadline import Deadline, DeadlineTransport
from engagement.errors import JobTimeoutError
from engagement.models import JobStatus
from tests.fakes.drip_server import DripServer
from tests.fakes.fathom_server import FAKE_API_KEY, FathomServer, make_account
from tests.support.job_runs import run_to_the_end
from tests.support.waits import bounded


@pytest.mark.parametrize("part", ["headers", "body"])
def test_a_dripping_server_cannot_outlast_the_total_limit(part: str) -> None:
    """A request whose bytes keep coming (each within the read timeout) ends with ReadTimeout at total_s."""
    with DripServer(every_s=0.1, part=part) as drip:  # type: ignore[arg-type]
        transport = DeadlineTransport(httpx.HTTPTransport(), total_s=0.5)
        with httpx.Client(transport=transport, timeout=5) as client:  # type: ignore[arg-type]
            with pytest.raises(httpx.ReadTimeout):
                bounded(lambda: client.get(drip.base_url + "/meetings"))


def test_the_job_deadline_wins_over_a_longer_total_limit_and_is_not_retryable() -> None:
    """When the job's deadline is the nearer one, the request ends with JobTimeoutError (no retry helps)."""
    with DripServer(every_s=0.1) as drip:
        transport = DeadlineTransport(httpx.HTTPTransport(), total_s=30, deadline=Deadline.after(0.4))
        with httpx.Client(transport=transport) as client:  # type: ignore[arg-type]
            with pytest.raises(JobTimeoutError):
                bounded(lambda: client.get(drip.base_url + "/meetings"))
            with pytest.raises(JobTimeoutError):  # past the deadline: nothing is even sent
                client.get(drip.base_url + "/meetings")


def test_an_answer_inside_the_limit_passes_through_untouched() -> None:
    """A normal answer (status, headers, body) comes back as the inner transport gave it."""
    inner = httpx.MockTransport(lambda request: httpx.Response(201, json={"ok": True}, headers={"X-Test": "1"}))
    with httpx.Client(transport=DeadlineTransport(inner, total_s=5)) as client:  # type: ignore[arg-type]
        response = client.get("https://fathom.test/meetings")
    assert (response.status_code, response.json(), response.headers["X-Test"]) == (201, {"ok": True}, "1")


def test_a_job_against_a_dripping_fathom_ends_at_its_limit_and_frees_its_worker(tmp_path: Path) -> None:
    """Fathom drips a byte every 0.2 s: the job (1 s limit) ends in error at its limit — its listing is the index's,
    so it says the indexing carries on (its requests bound by FATHOM_TIMEOUT_S) — and the worker is free."""
    with DripServer(every_s=0.2) as drip:
        env = {
            "FATHOM_API_KEY": FAKE_API_KEY,
            "FATHOM_BASE_URL": drip.base_url,
            "FATHOM_TIMEOUT_S": "30",
            "ENGAGEMENT_JOB_TIMEOUT_S": "1",
            "ENGAGEMENT_HEARTBEAT_S": "0.1",
        }
        record = run_to_the_end(tmp_path, env)
    assert record.status is JobStatus.ERROR and "still being indexed" in (record.error or "")


def test_a_job_against_a_dripping_openai_ends_at_its_limit_and_frees_its_worker(tmp_path: Path) -> None:
    """The model server drips: the job ends error at its limit and the worker is free again (a 3 s limit: Fathom's
    part, the index's listing included, ends well inside it even on a loaded machine, so the model's drip is what
    the limit stops)."""
    with FathomServer(make_account()) as fathom, DripServer(every_s=0.2) as drip:
        env = {
            "FATHOM_API_KEY": FAKE_API_KEY,
            "FATHOM_BASE_URL": fathom.base_url,
            "OPENAI_API_KEY": "sk-drip-0123456789",
            "OPENAI_BASE_URL": drip.base_url,
            "OPENAI_TIMEOUT_S": "120",
            "OPENAI_MAX_RETRIES": "1",
            "ENGAGEMENT_JOB_TIMEOUT_S": "3",
            "ENGAGEMENT_HEARTBEAT_S": "0.1",
        }
        record = run_to_the_end(tmp_path, env)
    assert record.status is JobStatus.ERROR and "longer than its limit of 3 s" in (record.error or "")
