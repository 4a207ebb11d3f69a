"""The pages with Redis configured: the admin page shows the queue, and a Redis that goes away is a message."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from streamlit.testing.v1 import AppTest

from engagement.models import JobStatus
from engagement.settings import Settings
from tests.support.redis_server import RedisServer
from tests.test_pages import unescaped
from ui.runtime import clear_runtimes, get_runtime

APP = Path(__file__).resolve().parent.parent / "streamlit_app.py"


@pytest.fixture(autouse=True)
def fresh_runtime() -> Iterator[None]:
    clear_runtimes()
    yield
    clear_runtimes()


def test_the_admin_page_shows_the_queue_and_that_no_worker_is_running(
    redis_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Queued, running, failed counts and workers alive; with none alive, the command that starts one."""
    monkeypatch.setenv("ENGAGEMENT_REDIS_URL", redis_url)
    runtime = get_runtime(Settings.from_env())
    runtime.jobs.start("acmecorp.com")
    at = AppTest.from_file(str(APP), default_timeout=30).run()
    at.switch_page("pages/admin.py").run()
    assert not at.exception
    metrics = {m.label: m.value for m in at.metric}
    assert metrics["Queued"] == "1" and metrics["Workers alive"] == "0"
    assert metrics["Processing"] == "1"
    assert "python -m engagement worker" in at.warning[0].value


def test_a_redis_that_goes_away_is_a_clear_error_not_a_traceback(monkeypatch: pytest.MonkeyPatch) -> None:
    """With Redis stopped, the job link and the admin page say which store failed and what to do."""
    with RedisServer() as server:
        monkeypatch.setenv("ENGAGEMENT_REDIS_URL", server.url)
        runtime = get_runtime(Settings.from_env())
        run_id = runtime.jobs.start("acmecorp.com")
        assert runtime.jobs.get("acmecorp.com", run_id).status is JobStatus.PROCESSING
    at = AppTest.from_file(str(APP), default_timeout=30)
    at.query_params.update(domain="acmecorp.com", run_id=run_id)
    at.run()
    assert not at.exception
    assert f"Redis store at {server.url}" in unescaped(at.error[0].value)  # shown as text (escaped Markdown)
    at.switch_page("pages/admin.py").run()
    assert not at.exception
    assert "ENGAGEMENT_REDIS_URL" in unescaped(at.error[0].value)


def test_redis_going_away_while_ask_pulls_transcripts_is_a_clear_error_not_a_traceback(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A worker machine ran the summary; the app's Ask pulls its transcripts from Redis, which stops: the store's error."""
    from engagement.jobs.service import InlineExecutor
    from engagement.questions import shared_search
    from engagement.runtime import create_runtime

    monkeypatch.setattr(shared_search, "PULL_CHUNK", 4)
    with RedisServer() as server:
        monkeypatch.setenv("ENGAGEMENT_REDIS_URL", server.url)
        worker = create_runtime(
            Settings.from_env({"ENGAGEMENT_REDIS_URL": server.url, "ENGAGEMENT_DB": str(tmp_path / "worker.sqlite")}),
            executor=InlineExecutor(),
            enqueue=False,
        )
        run_id = worker.jobs.start("acmecorp.com")
        assert worker.jobs.get("acmecorp.com", run_id).status is JobStatus.COMPLETE
        app = get_runtime(Settings.from_env())  # its own ENGAGEMENT_DB: no transcript held here yet
        assert isinstance(app.search, shared_search.SharedTranscriptIndex)
        local = app.search.local
        real_add = local.add

        def add_then_stop(meetings: object) -> int:
            added = real_add(meetings)  # type: ignore[arg-type]
            server.stop()
            return added

        at = AppTest.from_file(str(APP), default_timeout=30)
        at.query_params.update(domain="acmecorp.com", run_id=run_id)
        at.run()
        assert not at.exception and not at.error
        monkeypatch.setattr(local, "add", add_then_stop)
        at.text_input(key="ask_question").set_value("What did they say about single sign-on?")
        at.button(key="FormSubmitter:ask_form-Ask").click().run()
        assert not at.exception
        assert any(f"Redis store at {server.url} did not answer" in unescaped(e.value) for e in at.error)
        worker.jobs.close()
