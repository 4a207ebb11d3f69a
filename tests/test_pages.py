"""The pages under AppTest: they render, start and show jobs, gate sign-in, list and purge, and show data as text."""

from __future__ import annotations

import html
import json
import re
import threading
import time
import uuid
from collections.abc import Callable, Iterator
from datetime import date, timedelta
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest
import streamlit as st
from streamlit.testing.v1 import AppTest

from engagement.account.domains import company_domain
from engagement.errors import InvalidDomainError
from engagement.jobs.repository import JobRepository
from engagement.models import JobRecord, JobStatus, utcnow
from engagement.questions.answers import MAX_QUESTION_CHARS
from engagement.render.pdf import find_chromium
from engagement.render.present import TEXT_MAX, WORD_JOINER
from engagement.runtime import Runtime
from engagement.settings import Settings
from tests.support.summary_factory import (
    HOSTILE_BARE,
    HOSTILE_COMPANY,
    HOSTILE_IMAGE,
    HOSTILE_LINK,
    HOSTILE_MARKDOWN,
    HOSTILE_NAME,
    HOSTILE_QUOTE,
    HOSTILE_TITLE,
    UNVERIFIED_QUOTE,
    make_record,
    make_summary,
    qualified_summary,
)
from tests.support.waits import wait_until
from ui.charts_drawn import LIMIT_MS, RESULT_CHARTS
from ui.gate import SIGN_IN_FAILED, sessions, throttled_message
from ui.preload import plotly_module, preload_script
from ui.runtime import clear_runtimes, get_runtime

APP = Path(__file__).resolve().parent.parent / "streamlit_app.py"
COOKIE_SCRIPT = re.compile(
    r"(<script>document\.cookie = '[\w.-]+=[\w.-]*; Max-Age=\d+; Path=/; SameSite=Strict';</script>)+"
)
GENERATE = "FormSubmitter:summary_form-Generate Meeting Summary"
TIMEOUT = 30
CHARTS = 5  # a complete summary: meetings per month, themes, people, the meeting timeline and who knows whom


@pytest.fixture(autouse=True)
def fresh_runtime() -> Iterator[None]:
    """Each test gets its own runtime (its own tmp database); the old one is shut down after it."""
    clear_runtimes()
    yield
    clear_runtimes()


def app(**query: str) -> AppTest:
    at = AppTest.from_file(str(APP), default_timeout=TIMEOUT)
    at.query_params.update(query)
    return at


def runtime() -> Runtime:
    """The very runtime the app under test uses (same settings, same cache entry)."""
    return get_runtime(Settings.from_env())


def seed(record: JobRecord) -> JobRecord:
    """Store a finished record (and its index row) as the job service would have written it."""
    JobRepository(runtime().store).create(record)
    return record


def seeded(status: JobStatus = JobStatus.COMPLETE, age: timedelta = timedelta(0), **fields: object) -> JobRecord:
    created = utcnow() - age
    values: dict[str, object] = {"run_id": str(uuid.uuid4()), "created_at": created, "updated_at": created}
    if status is JobStatus.ERROR:
        values["error"] = "Fathom rejected the API key. Check FATHOM_API_KEY."
    values.update(fields)
    return seed(make_record(status=status, **values))


def after_charts_asks(at: AppTest) -> list[dict[str, Any]]:
    """What each ``ui.charts_drawn`` component on the page was given (how many charts it waits for, where)."""
    return [
        json.loads(node.proto.json)
        for node in at.get("bidi_component")
        if node.proto.component_name == "engagement_charts_drawn"
    ]


def run_until(at: AppTest, done: Callable[[AppTest], bool], limit: float = 30.0) -> AppTest:
    """Re-run the app (as the polling fragment would) until ``done`` or the time limit; a finished summary's charts'
    pass is run again at once, as the browser asks once it has drawn the charts (``ui/charts_drawn.py``)."""
    deadline = time.monotonic() + limit
    while True:
        at.run()
        if after_charts_asks(at):
            at.run()
        assert not at.exception, at.exception
        if done(at) or time.monotonic() > deadline:
            return at
        time.sleep(0.2)


def texts(at: AppTest) -> list[str]:
    """Every markdown-rendered text on the page: markdown, titles, headers, captions, alerts, metrics."""
    kinds = ("markdown", "title", "header", "subheader", "caption", "info", "warning", "error", "success")
    values = [str(node.value) for kind in kinds for node in at.get(kind)]
    values += [f"{m.label} {m.value}" for m in at.metric]
    values += [b.label for b in at.button]
    return values


def shown_text(markdown: str) -> str:
    """What a reader sees of escaped Markdown: escapes dropped, entities decoded, word joiners invisible."""
    return html.unescape(re.sub(r"\\(.)", r"\1", markdown)).replace(WORD_JOINER, "")


def test_every_page_renders_without_an_exception() -> None:
    """The summary page and the admin page both run to the end with no exception."""
    at = app().run()
    assert not at.exception
    assert at.title[0].value == "Engagement Summary"
    assert at.text_input(key="summary_website").placeholder == "https://www.acmecorp.com"
    at.switch_page("pages/admin.py").run()
    assert not at.exception
    assert at.title[0].value == "Admin"
    assert [m.label for m in at.metric] == ["Jobs", "Processing", "Complete", "Failed"]


def test_the_app_says_it_is_open_and_shows_the_demo_banner() -> None:
    """With no keys and no passwords: the demo and offline notices, and a caption saying the app is open."""
    at = app().run()
    infos = " ".join(i.value for i in at.info)
    assert "Demo data" in infos and "FATHOM_API_KEY" in infos
    assert "Offline analysis" in infos and "OPENAI_API_KEY" in infos
    assert any("Open access" in c.value for c in at.sidebar.get("caption"))


def unescaped(markdown: str) -> str:
    """Markdown as the reader sees it, code spans included (their ticks dropped)."""
    return shown_text(markdown).replace("`", "")


@pytest.mark.parametrize("typed", ["not a website", "acmecorp", "gmail.com", "jane@outlook.com"])
def test_invalid_input_shows_the_message_and_starts_nothing(typed: str) -> None:
    """Not a website, no ending, a personal mailbox: the message under the field, the example as code, no job stored."""
    at = app().run()
    at.text_input(key="summary_website").set_value(typed)
    at.button(key=GENERATE).click().run()
    with pytest.raises(InvalidDomainError) as expected:
        company_domain(typed)
    [shown] = [e.value for e in at.error]
    assert unescaped(shown) == str(expected.value)
    if "https://www.acmecorp.com" in str(expected.value):
        assert "`https://www.acmecorp.com`" in shown  # code, not a live link to the real site
    assert runtime().repo.count() == 0
    assert "run_id" not in at.query_params


def test_our_own_domain_is_refused_on_the_page_with_why(monkeypatch: pytest.MonkeyPatch) -> None:
    """A domain of ours (ENGAGEMENT_OUR_DOMAINS) typed as a customer: the message says it is ours and why; no job."""
    monkeypatch.setenv("ENGAGEMENT_OUR_DOMAINS", "signalpath.io")
    at = app().run()
    at.text_input(key="summary_website").set_value("https://www.signalpath.io")
    at.button(key=GENERATE).click().run()
    [shown] = [unescaped(e.value) for e in at.error]
    assert shown.startswith(
        "signalpath.io is our own domain (it is listed in ENGAGEMENT_OUR_DOMAINS), not a customer's"
    )
    assert runtime().repo.count() == 0


def test_a_demo_job_completes_and_shows_charts_lists_and_exports() -> None:
    """Generate on acmecorp.com starts a job, the URL gets its run id, and the finished summary is drawn."""
    at = app().run()
    at.text_input(key="summary_website").set_value("https://www.acmecorp.com")
    at.button(key=GENERATE).click().run()
    assert at.query_params["domain"] == "acmecorp.com"
    run_id = at.query_params["run_id"]
    assert runtime().jobs.get("acmecorp.com", run_id).domain == "acmecorp.com"

    # the facts come first (two charts), the themes chart with the finished summary
    run_until(at, lambda a: len(a.get("plotly_chart")) == CHARTS or bool(a.error))
    assert not at.error, [e.value for e in at.error]
    record = runtime().jobs.get("acmecorp.com", run_id)
    assert record.status is JobStatus.COMPLETE and record.summary is not None
    assert len(at.get("plotly_chart")) == CHARTS
    assert not at.get("progress"), "a finished job must not keep its progress bar (or its polling fragment)"
    metrics = {m.label: m.value for m in at.metric}
    assert metrics["Meetings"] == str(record.summary.meetings_count)
    headings = [s.value for s in at.subheader]
    for section in ("Goals", "Challenges", "Risks", "Recommendations"):
        assert any(h.endswith(section) for h in headings), headings
    assert record.summary.goals_detail, "the demo account must have goals to show"
    assert "open in Fathom ↗" in " ".join(texts(at))
    printable = ["PDF"] if find_chromium() is not None else []  # the PDF is offered only where Chromium can print it
    assert [b.label for b in at.get("download_button")] == [
        "Brief (text)",  # the brief for the next meeting has its own, in its section above the exports
        "Markdown",
        "JSON",
        "HTML report",
        *printable,
        "People CSV",
        "Meetings CSV",
    ]


def test_a_linked_member_typed_on_the_summary_page_shows_the_whole_account() -> None:
    """acmecorp.co, linked to acmecorp.com, runs under the primary: 14 meetings, named with both domains."""
    runtime().links.link("acmecorp.com", ["acmecorp.co"])
    at = app().run()
    at.text_input(key="summary_website").set_value("acmecorp.co")
    at.button(key=GENERATE).click().run()
    assert at.query_params["domain"] == "acmecorp.com"
    run_until(at, lambda a: len(a.get("plotly_chart")) == CHARTS or bool(a.error))
    assert not at.error, [e.value for e in at.error]
    metrics = {m.label: m.value for m in at.metric}
    assert metrics["Meetings"] == "14"  # hand-counted in tests/test_linked_accounts.py: 13 + 1
    assert any("acmecorp.com (with acmecorp.co)" in unescaped(text) for text in texts(at)), texts(at)


def test_a_demo_account_is_one_click_away() -> None:
    """Clicking a demo account starts its summary straight away."""
    at = app().run()
    at.button(key="summary_demo_globex.io").click().run()
    assert at.query_params["domain"] == "globex.io"
    run_until(at, lambda a: bool(a.get("plotly_chart")))
    assert "Globex" in at.header[0].value


def test_a_shared_link_shows_the_same_job_and_an_unknown_one_is_not_found() -> None:
    """?domain=&run_id= of a stored job shows it; a run id that does not exist says so kindly."""
    record = seeded()
    at = app(domain=record.domain, run_id=record.run_id).run()
    assert not at.exception
    assert at.metric[0].value == str(record.summary.meetings_count)

    at = app(domain=record.domain, run_id=str(uuid.uuid4())).run()
    assert not at.exception
    assert "not found" in at.warning[0].value
    assert not at.metric


def test_a_failed_job_shows_its_message_and_try_again_starts_a_new_one() -> None:
    """An error record shows its message; "Try again" starts a fresh run and points the URL at it."""
    record = seeded(JobStatus.ERROR, domain="acmecorp.com")
    at = app(domain=record.domain, run_id=record.run_id).run()
    assert unescaped(at.error[0].value) == record.error
    at.button(key="summary_try_again").click().run()
    assert at.query_params["run_id"] != record.run_id
    assert runtime().repo.count(domain="acmecorp.com") == 2


def test_a_failure_speaks_to_the_rep_and_keeps_the_settings_for_the_admin() -> None:
    """An unreachable Fathom: the rep reads what happened; the setting to check is folded under "Details for the admin"."""
    import httpx

    from engagement.errors import FathomUnavailableError
    from engagement.fathom.client import FathomClient

    def refuse(request: httpx.Request) -> httpx.Response:
        raise httpx.ConnectError("connection refused", request=request)

    http = httpx.Client(transport=httpx.MockTransport(refuse))
    client = FathomClient(http, api_key="k", base_url="http://127.0.0.1:9/external/v1", max_retries=0)
    with pytest.raises(FathomUnavailableError) as failed:
        client.list_meetings("acmecorp.com")
    record = seeded(JobStatus.ERROR, domain="acmecorp.com", error=str(failed.value))
    at = app(domain=record.domain, run_id=record.run_id).run()
    [said] = [unescaped(e.value) for e in at.error]
    assert "Fathom" in said and "FATHOM_BASE_URL" not in said and "127.0.0.1" not in said
    [details] = [e for e in at.expander if e.label == "Details for the admin"]
    assert "FATHOM_BASE_URL" in unescaped(details.markdown[0].value)


def test_a_fresh_summary_is_offered_before_starting_another() -> None:
    """A completed summary under 24 hours old is offered; "Open it" shows it and starts nothing."""
    record = seeded(domain="acmecorp.com", age=timedelta(minutes=12))
    at = app().run()
    at.text_input(key="summary_website").set_value("acmecorp.com")
    at.button(key=GENERATE).click().run()
    assert any("from 12 minutes ago is ready" in m.value for m in at.markdown)
    assert "run_id" not in at.query_params
    at.button(key="summary_offer_open").click().run()
    assert at.query_params["run_id"] == record.run_id
    assert runtime().repo.count() == 1


def test_a_fresh_summary_of_another_set_of_domains_is_not_offered() -> None:
    """A 12-minute-old summary made while acmecorp.co was linked is not offered once it is not: a new run starts."""
    summary = make_summary().model_copy(update={"domain": "acmecorp.com", "domains": ["acmecorp.com", "acmecorp.co"]})
    record = seeded(domain="acmecorp.com", age=timedelta(minutes=12), summary=summary)
    at = app().run()
    at.text_input(key="summary_website").set_value("acmecorp.com")
    at.button(key=GENERATE).click().run()
    assert not any("is ready" in m.value for m in at.markdown)
    assert at.query_params["run_id"] != record.run_id


def test_recent_runs_of_the_domain_are_one_click_away() -> None:
    """The sidebar lists the domain's recent runs; clicking one shows it."""
    older = seeded(JobStatus.ERROR, domain="acme.com", age=timedelta(hours=3))
    newer = seeded(domain="acme.com")
    at = app(domain=newer.domain, run_id=newer.run_id).run()
    labels = [b.label for b in at.sidebar.button]
    assert any("3 hours ago" in label and "error" in label for label in labels), labels
    at.sidebar.button(key=f"summary_recent_{older.run_id}").click().run()
    assert at.query_params["run_id"] == older.run_id
    assert unescaped(at.error[0].value) == older.error


def test_meeting_and_model_text_is_shown_as_text_not_html() -> None:
    """A hostile title, name, quote and link are escaped in every markdown element; no raw HTML is allowed."""
    record = seed(make_record(make_summary(hostile=True), run_id=str(uuid.uuid4())))
    at = app(domain=record.domain, run_id=record.run_id).run()
    assert not at.exception
    shown = texts(at)
    page = "\n".join(shown)
    unescaped_tag = re.compile(r"(?<!\\)<(?=[a-zA-Z/!])")
    assert not [t for t in shown if unescaped_tag.search(t)], "data reached markdown as a tag"
    literal = shown_text(page)
    for text in (HOSTILE_TITLE, HOSTILE_NAME, HOSTILE_QUOTE):  # shown, as text
        assert text in literal, text
    assert HOSTILE_TITLE not in page and HOSTILE_NAME not in page and HOSTILE_QUOTE not in page
    assert "javascript:" not in page.replace("javascript\\:", "")
    assert UNVERIFIED_QUOTE not in page
    assert HOSTILE_COMPANY not in at.header[0].value
    assert HOSTILE_COMPANY in shown_text(at.header[0].value)
    assert all(not m.proto.allow_html for m in at.markdown), "no markdown element may allow HTML"
    for block in at.get("html"):  # only our constant stylesheet and cookie scripts go through st.html
        body = block.proto.body.lstrip()
        assert (body.startswith("<style>") or COOKIE_SCRIPT.fullmatch(body)) and "alert" not in body


# the app's own links: "open in Fathom", or a meeting's date (signals and the Since panel)
OUR_LINK = re.compile(r"\[(?:open in Fathom|\d{1,2} [A-Z][a-z]{2} \d{4}) ↗\]\(https://fathom\.video/[^)\s]*\)")


def assert_no_live_link(shown: list[str]) -> None:
    """No Markdown link, image or autolink in any text but the app's own "open in Fathom" links."""
    for text in shown:
        rest = OUR_LINK.sub("", text)
        assert not re.search(r"(?<!\\)\]\(", rest), text  # [label](url) or ![alt](url)
        assert not re.search(r"(?i)https?://|(?<![\w.])www\.|\w@\w", rest), text  # GFM autolinks
        assert len(rest) <= 3 * TEXT_MAX, "every shown string is capped"


def test_links_images_and_autolinks_from_data_are_shown_as_text() -> None:
    """Markdown links, images and bare URLs in insights, quotes and an upstream error are text, not links."""
    record = seed(make_record(make_summary(hostile=True), run_id=str(uuid.uuid4())))
    at = app(domain=record.domain, run_id=record.run_id).run()
    assert not at.exception
    shown = texts(at)
    assert_no_live_link(shown)
    literal = shown_text("\n".join(shown))
    assert HOSTILE_LINK in literal and HOSTILE_IMAGE in literal and HOSTILE_BARE in literal

    failed = seeded(JobStatus.ERROR, domain="acmecorp.com", error=f"The model refused: {HOSTILE_MARKDOWN}")
    at = app(domain=failed.domain, run_id=failed.run_id).run()
    assert_no_live_link([e.value for e in at.error])
    assert HOSTILE_LINK in shown_text(at.error[0].value)


def job_domains(at: AppTest) -> list[str]:
    """The admin table's domains (each cell links to its job's summary and shows the domain)."""
    return [parse_qs(urlsplit(link).query)["domain"][0] for link in at.dataframe[0].value["Domain"]]


def test_the_admin_page_lists_deletes_and_purges() -> None:
    """Jobs are listed newest first; a selected one is deleted; purges remove what they announced."""
    old = [seeded(age=timedelta(days=30 + i), domain="acmecorp.com") for i in range(3)]
    failed = [seeded(JobStatus.ERROR, age=timedelta(hours=i + 1), domain="globex.io") for i in range(2)]
    newest = seeded(domain="acmecorp.com")
    jobs = runtime().repo

    at = app().run().switch_page("pages/admin.py").run()
    assert {m.label: m.value for m in at.metric} == {"Jobs": "6", "Processing": "0", "Complete": "4", "Failed": "2"}
    table = at.dataframe[0].value
    assert job_domains(at)[:3] == ["acmecorp.com", "globex.io", "globex.io"]
    assert list(table.columns) == [
        "Domain",
        "Status",
        "Dates",
        "Created",
        "Meetings",
        "Error",
        "Duration (s)",
        "Analyser",
        "Source",
    ]
    assert list(table["Meetings"])[1] == "–"  # a failed job reached no count: a dash, not "None"
    assert list(table["Domain"])[0] == f"./?domain=acmecorp.com&run_id={newest.run_id}"
    # a failure's first words ride on its status; the whole message shows when the row is selected (below)
    assert list(table["Status"])[:2] == ["Complete", "Failed · Fathom rejected the API key. Check FATH…"]

    # select the newest row: it is shown in full; delete asks first, with the count
    at.session_state[at.dataframe[0].key] = {"selection": {"rows": [0, 1], "columns": [], "cells": []}}
    at.run()
    assert any(failed[0].error in unescaped(e.value) for e in at.error)  # the whole error, under the table
    at.button(key="admin_delete").click().run()
    assert "2 selected jobs will be deleted" in at.warning[0].value
    assert jobs.count() == 6, "nothing may go before the confirmation"
    at.button(key="admin_confirm_yes").click().run()
    assert jobs.count() == 4
    assert not {newest.run_id, failed[0].run_id} & {row.run_id for row in jobs.rows()}
    assert "Deleted 2 jobs" in at.success[0].value

    # purge older than 7 days: asks first with the count; changing the number changes what it removes
    at.button(key="admin_purge_old").click().run()
    assert "3 finished jobs older than 7 days will be removed" in at.warning[0].value
    at.number_input(key="admin_purge_days").set_value(31).run()
    assert "2 finished jobs older than 31 days will be removed" in at.warning[0].value
    assert jobs.count() == 4, "nothing may go before the confirmation"
    at.button(key="admin_confirm_yes").click().run()
    assert jobs.count() == 2
    at.number_input(key="admin_purge_days").set_value(7).run()
    at.button(key="admin_purge_old").click().run()
    at.button(key="admin_confirm_yes").click().run()
    assert {row.run_id for row in jobs.rows()} == {failed[1].run_id}
    assert not {r.run_id for r in old} & {row.run_id for row in jobs.rows()}

    # purge failed
    at.button(key="admin_purge_failed").click().run()
    assert "1 finished job that failed will be removed" in at.warning[0].value
    at.button(key="admin_confirm_yes").click().run()
    assert jobs.count() == 0
    assert "No jobs yet." in at.info[0].value


def test_a_purge_can_be_cancelled() -> None:
    """Cancel on the confirmation removes nothing."""
    seeded(JobStatus.ERROR)
    at = app().run().switch_page("pages/admin.py").run()
    at.button(key="admin_purge_failed").click().run()
    at.button(key="admin_confirm_cancel").click().run()
    assert runtime().repo.count() == 1 and not at.warning


def test_the_admin_table_reads_one_page_at_a_time() -> None:
    """With more jobs than a page, the table shows 50 rows and the pager reaches the rest."""
    for i in range(55):
        seeded(age=timedelta(minutes=i), domain=f"company{i}.com")
    at = app().run().switch_page("pages/admin.py").run()
    assert len(at.dataframe[0].value) == 50
    assert job_domains(at)[0] == "company0.com"
    at.get("pagination")[0].set_value(2).run()
    assert job_domains(at) == [f"company{i}.com" for i in range(50, 55)]


def test_the_admin_filters_by_status_and_domain() -> None:
    """The status and domain filters narrow the table."""
    seeded(JobStatus.ERROR, domain="globex.io")
    seeded(domain="acmecorp.com")
    at = app().run().switch_page("pages/admin.py").run()
    at.selectbox(key="admin_status").set_value("error").run()
    assert job_domains(at) == ["globex.io"]
    at.selectbox(key="admin_status").set_value("").run()
    at.selectbox(key="admin_domain").set_value("acmecorp.com").run()
    assert job_domains(at) == ["acmecorp.com"]


def test_the_analysis_cache_is_cleared_after_confirmation() -> None:
    """ "Clear analysis cache" shows the count and empties the cache on the second click."""
    at = completed_demo(app().run())  # the job has ended: the cache is final
    cached = runtime().cache.count()
    assert cached > 0
    at.switch_page("pages/admin.py").run()
    assert at.button(key="admin_clear_cache").label == f"Clear analysis cache ({cached})"
    at.button(key="admin_clear_cache").click().run()
    assert runtime().cache.count() == cached
    at.button(key="admin_confirm_yes").click().run()
    assert runtime().cache.count() == 0


def test_the_app_password_keeps_a_wrong_password_out(monkeypatch: pytest.MonkeyPatch) -> None:
    """With APP_PASSWORD set, every page asks for it; a wrong one is refused, the right one lets you in."""
    monkeypatch.setenv("APP_PASSWORD", "correct horse")
    at = app().run()
    assert [t.key for t in at.text_input] == ["gate_app_password"]
    assert not [b for b in at.button if b.label == "Generate Meeting Summary"]
    at.text_input(key="gate_app_password").set_value("wrong").run()
    at.button(key="FormSubmitter:gate_app_form-Sign in").click().run()
    assert [e.value for e in at.error] == [SIGN_IN_FAILED]
    assert not [b for b in at.button if b.label == "Generate Meeting Summary"]

    at.switch_page("pages/admin.py").run()
    assert not at.metric, "the admin page must be behind the app password too"

    at.text_input(key="gate_app_password").set_value("correct horse")
    at.button(key="FormSubmitter:gate_app_form-Sign in").click().run()
    assert not at.exception
    assert [m.label for m in at.metric] == ["Jobs", "Processing", "Complete", "Failed"]
    assert all("correct horse" not in text for text in texts(at))


def test_signing_in_keeps_a_token_in_a_cookie_and_signing_out_clears_it(monkeypatch: pytest.MonkeyPatch) -> None:
    """The right password leaves a token (never the password) in the session and a cookie; Sign out clears both."""
    monkeypatch.setenv("APP_PASSWORD", "correct horse")
    at = app().run()
    at.text_input(key="gate_app_password").set_value("correct horse")
    at.button(key="FormSubmitter:gate_app_form-Sign in").click().run()
    token = at.session_state["gate_app"]
    book = sessions(Settings.from_env())
    assert book.valid(token, "app", "correct horse")
    scripts = " ".join(h.proto.body for h in at.sidebar.get("html"))
    assert f"engagement_app={token}" in scripts and "correct horse" not in scripts
    at.sidebar.button(key="gate_sign_out").click().run()
    assert [t.key for t in at.text_input] == ["gate_app_password"]
    scripts = " ".join(h.proto.body for h in at.get("html"))
    assert "engagement_app=; Max-Age=0" in scripts
    assert not book.valid(token, "app", "correct horse"), "a copied cookie must not outlive the sign-out"


def test_wrong_passwords_are_throttled_and_even_the_right_one_waits(monkeypatch: pytest.MonkeyPatch) -> None:
    """After a few wrong passwords the gate refuses every try, the right one included, with how long to wait."""
    monkeypatch.setenv("APP_PASSWORD", "correct horse")
    at = app().run()
    errors = []
    for _ in range(4):
        at.text_input(key="gate_app_password").set_value("wrong")
        at.button(key="FormSubmitter:gate_app_form-Sign in").click().run()
        errors.append([e.value for e in at.error])
    assert errors[:3] == [[SIGN_IN_FAILED]] * 3
    assert errors[3] == [throttled_message(1)]
    at.text_input(key="gate_app_password").set_value("correct horse")
    at.button(key="FormSubmitter:gate_app_form-Sign in").click().run()
    assert [e.value for e in at.error][0].startswith("Too many wrong passwords from here. Try again in ")
    assert "gate_app" not in at.session_state


def test_the_admin_password_guards_the_admin_page(monkeypatch: pytest.MonkeyPatch) -> None:
    """With ADMIN_PASSWORD set, the summary page is open but the admin page asks for it."""
    monkeypatch.setenv("ADMIN_PASSWORD", "admin-only")
    at = app().run()
    assert at.text_input(key="summary_website").placeholder == "https://www.acmecorp.com"
    at.switch_page("pages/admin.py").run()
    assert not at.metric
    at.text_input(key="gate_admin_password").set_value("not it")
    at.button(key="FormSubmitter:gate_admin_form-Sign in").click().run()
    assert [e.value for e in at.error] == [SIGN_IN_FAILED] and not at.metric
    at.text_input(key="gate_admin_password").set_value("admin-only")
    at.button(key="FormSubmitter:gate_admin_form-Sign in").click().run()
    assert [m.label for m in at.metric] == ["Jobs", "Processing", "Complete", "Failed"]
    assert all("admin-only" not in text for text in texts(at))


def test_presentation_mode_renders_a_clean_summary() -> None:
    """?present=1: the company's name as the title, projector charts, no sidebar toggle, a way back out."""
    record = seeded()
    at = app(domain=record.domain, run_id=record.run_id, present="1").run()
    assert not at.exception
    assert at.title[0].value == record.summary.company
    assert len(at.get("plotly_chart")) == CHARTS - 1  # all but the team's own map of who knows whom
    assert not at.sidebar.get("toggle")
    assert any('[data-testid="stSidebar"]' in h.proto.body for h in at.get("html"))
    assert not [b.key for b in at.button if b.key and b.key.startswith("summary_demo_")], "no demo buttons"
    at.button(key="present_exit").click().run()
    assert "present" not in at.query_params
    assert at.sidebar.get("toggle")


def test_a_running_job_shows_its_facts_with_the_analysis_sections_waiting() -> None:
    """A processing record with facts: metrics, charts and tables now, each insight section says how far the analysis is."""
    facts = make_summary().model_copy(update={"themes": [], "goals": [], "goals_detail": []})
    record = seeded(
        JobStatus.PROCESSING, summary=facts, stage="analysed 3/12 meetings", progress={"done": 3, "total": 12}
    )
    at = app(domain=record.domain, run_id=record.run_id).run()
    assert not at.exception
    assert at.header[0].value.startswith("Acme ·")  # the heading the finished summary will have
    assert {m.label: m.value for m in at.metric}["Meetings"] == str(facts.meetings_count)
    assert len(at.get("plotly_chart")) == 2  # months and people; themes wait for the analysis
    waiting = [c.value for c in at.caption if "Analysing meetings: 3 of 12 done" in unescaped(c.value)]
    assert len(waiting) == 5  # the themes' place and the four insight sections
    assert len(at.dataframe) == 2


def slot_of_metric(at: AppTest, label: str) -> int:
    """The place in the page's main column of the top-level block that holds the metric ``label``."""
    from streamlit.testing.v1.element_tree import Block

    def holds(node: object) -> bool:
        if isinstance(node, Block):
            return any(holds(child) for child in node.children.values())
        return getattr(node, "type", None) == "metric" and getattr(node, "label", None) == label

    (place,) = [place for place, node in at.main.children.items() if holds(node)]
    return place


def test_the_finished_summary_is_drawn_in_another_place_than_the_running_jobs_facts() -> None:
    """The running job's facts and the finished summary are never children of one container at one place.

    The browser keeps the children of a container that comes again at the same place (of the same kind) and
    removes the left-overs only in a clean-up a polling tick can cancel (Streamlit issue #16708): under load the
    running job's "Meetings" figure stayed beside the finished summary's. In its own place, the running job's
    container is replaced by an empty element when the job ends, and everything in it goes at once.
    """
    running = seeded(JobStatus.PROCESSING, summary=make_summary(), stage="analysed 3/12 meetings")
    at = app(domain=running.domain, run_id=running.run_id).run()
    facts_at = slot_of_metric(at, "Meetings")
    JobRepository(runtime().store).save(running.model_copy(update={"status": JobStatus.COMPLETE}))
    at.run()
    assert not at.exception
    summary_at = slot_of_metric(at, "Meetings")
    assert summary_at != facts_at
    assert at.main.children[facts_at].type == "empty"


def laid_out(node: object, at: tuple[int, ...] = ()) -> Iterator[tuple[tuple[int, ...], object]]:
    """Every element under ``node`` with its place (the indices from the main column down), in reading order."""
    from streamlit.testing.v1.element_tree import Block

    if isinstance(node, Block):
        for place, child in sorted(node.children.items()):
            yield from laid_out(child, (*at, place))
    else:
        yield at, node


def test_a_finished_summary_sends_its_charts_first_and_its_sections_in_a_second_run() -> None:
    """The run after one that drew the job running draws the top and the five charts and has the browser ask for a second
    run once it has drawn them, which draws every section in its place: the same page as a summary opened from its link
    gets in one run, in the same order, each once, the charts where they were."""
    record = seeded(summary=qualified_summary())
    whole = app(domain=record.domain, run_id=record.run_id).run()  # opened from its link: whole, in one run
    assert not whole.exception and not after_charts_asks(whole)

    first = app(domain=record.domain, run_id=record.run_id)
    first.session_state["summary_drawn"] = (record.run_id, "processing")  # the page's last run drew it running
    first.run()
    assert not first.exception
    assert after_charts_asks(first) == [{"count": CHARTS, "selector": RESULT_CHARTS, "limit_ms": LIMIT_MS}]
    drawn = block_with_key(first.main, "summary_result")
    charts_first = [place for place, node in laid_out(drawn) if getattr(node, "type", "") == "plotly_chart"]
    assert len(charts_first) == CHARTS
    first_headings = [h.value for h in first.subheader]
    assert not any(h.endswith(("Goals", "Risks")) or "Qualification" in h for h in first_headings), first_headings
    assert not first.get("download_button") and not first.dataframe

    first.run()  # the run the browser asks for: the whole page
    assert not first.exception and not after_charts_asks(first)
    summary, expected = (block_with_key(at.main, "summary_result") for at in (first, whole))
    shown = [(place, getattr(node, "type", ""), str(getattr(node, "value", ""))) for place, node in laid_out(summary)]
    assert shown == [
        (place, getattr(node, "type", ""), str(getattr(node, "value", ""))) for place, node in laid_out(expected)
    ]
    charts_then = [place for place, kind, _ in shown if kind == "plotly_chart"]
    assert charts_then == charts_first  # in the same places: the browser keeps the charts it has drawn
    headings = [h.value for h in first.subheader]
    sections = ["Goals", "Challenges", "Risks", "Recommendations", "Qualification", "Our commitments"]
    sections += ["Meeting timeline", "People", "Meetings", "Who knows whom", "Export"]
    found = [next(i for i, h in enumerate(headings) if section in h) for section in sections]
    assert found == sorted(found), headings
    assert all(sum(section in h for h in headings) == 1 for section in sections), headings


def end_stored(running: JobRecord) -> None:
    """Store a running job's end, as the job service does when it completes (a qualified summary)."""
    finished = running.model_copy(
        update={"status": JobStatus.COMPLETE, "summary": qualified_summary(), "ended_at": utcnow()}
    )
    JobRepository(runtime().store).save(finished)


def test_a_young_jobs_end_stored_while_the_page_draws_it_running_is_drawn_at_once(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """The page's own run of a young running job waits for its end with the progress bar drawn (a demo job often ends
    before the poll's first tick); an end stored meanwhile asks for a new run, which draws the charts first."""
    running = seeded(JobStatus.PROCESSING, summary=None, stage="fetching meetings")
    waits: list[float] = []

    def ends_meanwhile(domain: str, run_id: str, timeout_s: float) -> bool:
        waits.append(timeout_s)
        end_stored(running)
        return True

    monkeypatch.setattr(runtime().jobs, "wait_for_end", ends_meanwhile)
    asked: list[object] = []
    monkeypatch.setattr(st, "rerun", lambda *args, **kwargs: asked.append(args or kwargs))
    at = app(domain=running.domain, run_id=running.run_id).run()
    assert not at.exception
    assert len(waits) == 1 and waits[0] > 0, "the page's own run must wait for the end"
    assert [p.text for p in at.get("progress")] and len(asked) == 1  # the bar drawn, then a new run asked for
    at.run()  # the new run: the summary, charts first (the page last drew the job running)
    assert not at.exception and len(asked) == 1
    assert len(at.get("plotly_chart")) == CHARTS and not at.get("download_button")
    assert [ask["count"] for ask in after_charts_asks(at)] == [CHARTS]


def test_a_page_link_clicked_while_the_poll_waits_for_the_end_is_not_lost() -> None:
    """The user clicks a page link while the page's own run waits for the job's end, and the end is stored then: the
    page asked for is shown (the poll's own new run, asked for later, must not take the click's place)."""
    from streamlit.runtime.scriptrunner_utils.script_requests import RerunData
    from streamlit.runtime.scriptrunner_utils.script_run_context import get_script_run_ctx

    running = seeded(JobStatus.PROCESSING, summary=None, stage="fetching meetings")

    def clicked_then_ended(domain: str, run_id: str, timeout_s: float) -> bool:
        ctx = get_script_run_ctx()
        assert ctx is not None and ctx.script_requests is not None
        (accounts,) = [h for h, page in ctx.pages_manager.get_pages().items() if page["page_name"] == "Accounts"]
        ctx.script_requests.request_rerun(RerunData(query_string="", page_script_hash=accounts))  # the click
        end_stored(running)
        return True

    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(runtime().jobs, "wait_for_end", clicked_then_ended)
        at = app(domain=running.domain, run_id=running.run_id).run()
    assert not at.exception
    assert [t.value for t in at.title] == ["Accounts"], texts(at)[:5]


def test_a_summary_opened_after_a_visit_to_another_page_comes_whole_in_one_run() -> None:
    """The summary page's last run drew the job running, then another page ran: the browser holds that page's elements
    where the summary goes, so the summary comes whole in one run, not charts first (which would leave them under it)."""
    record = seeded(summary=qualified_summary())
    at = app(domain=record.domain, run_id=record.run_id)
    at.session_state["summary_drawn"] = (record.run_id, "processing")
    at.switch_page("pages/admin.py").run()
    assert not at.exception
    at.switch_page("pages/summary.py").run()
    assert not at.exception and not after_charts_asks(at)
    assert len(at.get("plotly_chart")) == CHARTS and at.get("download_button")  # the whole page, at once


def test_the_chart_library_is_preloaded_while_charts_are_still_to_come() -> None:
    """The empty page and a running job's page ask the browser for Plotly's chunk; a finished summary needs no such ask."""
    module = plotly_module()
    assert module is not None, "Streamlit's Plotly chunk is not where ui/preload.py looks for it"

    def preloads(at: AppTest) -> bool:
        return any(h.proto.body == preload_script(module) for h in at.sidebar.get("html"))

    assert preloads(app().run())
    running = seeded(JobStatus.PROCESSING, summary=None, stage="meetings found: 12")
    assert preloads(app(domain=running.domain, run_id=running.run_id).run())
    done = seeded()
    at = app(domain=done.domain, run_id=done.run_id).run()
    assert len(at.get("plotly_chart")) == CHARTS and not preloads(at)


def test_the_preload_script_takes_only_a_plotly_chunk_name() -> None:
    """A name that is not Streamlit's PlotlyChart chunk (a path, a quote) never reaches the script."""
    for name in ("../evil.js", "PlotlyChart.x');alert(1);('.js", "index.DormvYxC.js"):
        with pytest.raises(ValueError):
            preload_script(name)


def test_a_filtered_run_says_so_and_refills_the_dates_from_its_link() -> None:
    """A run for 1 Jun – 31 Aug reopened from its link: the range in the heading, the caption, the form and the metrics."""
    record = seeded(domain="acme.com", options={"since": "2026-06-01", "until": "2026-08-31"})
    at = app(domain=record.domain, run_id=record.run_id).run()
    assert "1 Jun 2026 – 31 Aug 2026" in at.header[0].value
    assert any("only meetings between 1 Jun 2026 and 31 Aug 2026" in c.value for c in at.caption)
    assert at.expander[0].label.endswith("1 Jun 2026 – 31 Aug 2026 · change")  # the form, folded to one line
    assert at.date_input(key="summary_dates").value == (date(2026, 6, 1), date(2026, 8, 31))
    assert at.text_input(key="summary_website").value == "acme.com"
    assert "Days since last in range" in [m.label for m in at.metric]
    assert any("1 Jun 2026 – 31 Aug 2026" in b.label for b in at.sidebar.button)


def sidebar_link(at: AppTest, label: str) -> Any:
    """The sidebar's page link of that label (its ``query_string`` is the address it opens with)."""
    return next(e.proto for e in at.get("page_link") if e.proto.label == label)


def test_the_job_on_show_and_the_typed_website_survive_a_visit_to_admin() -> None:
    """Summary → Admin → Summary through the sidebar keeps job and field: the Summary link carries the job, and the
    summary page itself never writes the address (a late write would land on the page Back reached)."""
    record = seeded(domain="acme.com")
    at = app().run()
    assert sidebar_link(at, "Summary").query_string == ""  # no job shown yet: the link names none
    at.text_input(key="summary_website").set_value("acme.com")
    at.button(key=GENERATE).click().run()  # a fresh summary of acme.com is offered
    at.button(key="summary_offer_open").click().run()
    at.query_params.clear()  # what a page link does to the address
    at.switch_page("pages/admin.py").run()
    assert at.title[0].value == "Admin"
    link = sidebar_link(at, "Summary")
    assert parse_qs(link.query_string) == {"domain": [record.domain], "run_id": [record.run_id]}
    at.switch_page("pages/summary.py").run()
    assert not at.exception
    assert dict(at.query_params) == {}, "the summary page wrote the address unasked"
    at.query_params.update({k: v[0] for k, v in parse_qs(link.query_string).items()})  # what the link opens
    at.switch_page("pages/summary.py").run()
    assert not at.exception
    assert at.header[0].value.startswith("Acme ·")
    assert at.text_input(key="summary_website").value == "acme.com"


def test_the_summary_shows_coverage_signals_and_what_changed() -> None:
    """Coverage is one line under the metrics; signals carry their meetings' links; a Since panel lists changes."""
    record = seed(make_record(make_summary(), run_id=str(uuid.uuid4())))
    at = app(domain=record.domain, run_id=record.run_id).run()
    assert not at.exception
    assert "11 of 12 meetings analysed · 1 without a transcript · 2 speakers unmatched" in [c.value for c in at.caption]
    page = "\n".join(texts(at))
    assert "No meeting for 64 days" in page and "has gone quiet" in page
    assert record.summary is not None
    last = record.summary.meetings[0]
    assert f"[open in Fathom ↗]({last.share_url})" in page, "a signal's meeting is one click away"
    assert "1 more in the meetings table" in page
    assert "**Since 20 Apr 2026**" in page
    assert "Resolved signals**: Cadence drop" in page


def test_the_accounts_page_lists_the_demo_workspace_filters_and_opens_a_summary() -> None:
    """Accounts: customers and partners with exact counts; a 30+ day filter; opening one starts or shows its summary."""
    at = app().run().switch_page("pages/accounts.py").run()
    assert not at.exception, [e.value for e in at.exception]
    assert at.title[0].value == "Accounts"
    table = at.dataframe[0].value
    rows = {
        d: dict(zip(table.columns, values, strict=True))
        for d, values in zip(table["Domain"], table.values, strict=True)
    }
    assert {"acmecorp.com", "brightwater.co.uk", "globex.io", "bridgepoint-consulting.com"} <= set(rows)
    assert "signalpath.io" not in rows and "gmail.com" not in rows
    assert (rows["acmecorp.com"]["Meetings"], rows["acmecorp.com"]["People"]) == (13, 6)
    at.number_input(key="accounts_quiet_days").set_value(30).run()
    quiet = at.dataframe[0].value
    assert set(quiet["Domain"]) == {d for d, row in rows.items() if row["Days since last"] >= 30}
    dark = [text for text, days in zip(quiet["Signals"], quiet["Days since last"], strict=True) if days > 30]
    assert dark and all("Gone dark" in text for text in dark)
    at.selectbox(key="accounts_pick").set_value("globex.io")
    at.button(key="accounts_open").click().run()
    assert at.query_params["domain"] == "globex.io"
    run_id = at.query_params["run_id"]
    assert runtime().jobs.get("globex.io", run_id).domain == "globex.io"


def accounts_table(at: AppTest) -> dict[str, dict[str, object]]:
    """The accounts page's table, by its Domain column."""
    table = at.dataframe[0].value
    return {
        d: dict(zip(table.columns, values, strict=True))
        for d, values in zip(table["Domain"], table.values, strict=True)
    }


def test_the_accounts_page_links_a_suggested_pair_only_on_a_click_and_unlinks_it() -> None:
    """acmecorp.co is offered with its reason but not linked; a click makes one 14-meeting row; unlinking undoes it."""
    at = app().run().switch_page("pages/accounts.py").run()
    assert not at.exception, [e.value for e in at.exception]
    assert runtime().links.accounts() == {}  # suggested, never linked on its own
    suggestion = at.button(key="accounts_suggest_0")
    assert suggestion.label == "Link acmecorp.co to acmecorp.com"
    page = " ".join(m.value for m in at.markdown)
    assert "The same name under another ending" in page
    assert {"acmecorp.com", "acmecorp.co"} <= set(accounts_table(at))

    suggestion.click().run()
    assert not at.exception, [e.value for e in at.exception]
    assert runtime().links.accounts() == {"acmecorp.com": ["acmecorp.com", "acmecorp.co"]}
    rows = accounts_table(at)
    assert "acmecorp.co" not in rows and "acmecorp.com" not in rows
    # hand-counted in tests/test_linked_accounts.py: 13 + 1 meetings, 6 + 1 people
    linked = rows["acmecorp.com (with acmecorp.co)"]
    assert (linked["Meetings"], linked["People"]) == (14, 7)
    assert "is now one account" in at.success[0].value

    at.button(key="accounts_unlink_acmecorp.co").click().run()
    assert runtime().links.accounts() == {}
    rows = accounts_table(at)
    assert (rows["acmecorp.com"]["Meetings"], rows["acmecorp.com"]["People"]) == (13, 6)
    assert (rows["acmecorp.co"]["Meetings"], rows["acmecorp.co"]["People"]) == (1, 1)


@pytest.mark.parametrize(
    ("primary", "others", "message"),
    [
        ("acmecorp.com", "gmail.com", "personal e-mail provider"),
        ("acmecorp.com", "", "Name at least one other domain"),
        ("acmecorp.com", "signalpath.io", "signalpath.io"),
        ("", "acmecorp.co", "The website is empty"),
    ],
)
def test_a_link_the_accounts_page_cannot_make_says_what_to_do_and_stores_nothing(
    primary: str, others: str, message: str
) -> None:
    """A personal mailbox, nothing to link, our own domain or an empty main domain: a message, and no link stored."""
    at = app().run().switch_page("pages/accounts.py").run()
    at.text_input(key="accounts_link_primary").set_value(primary)
    at.text_input(key="accounts_link_others").set_value(others)
    at.button(key="FormSubmitter:accounts_link_form-Link").click().run()
    assert not at.exception, [e.value for e in at.exception]
    assert message in at.error[0].value
    assert runtime().links.accounts() == {}


@pytest.mark.parametrize("typed", ["https://www.globex.io/pricing", "anna.schmidt@globex.io", "GLOBEX"])
def test_the_accounts_filter_takes_a_website_an_e_mail_or_part_of_a_domain(typed: str) -> None:
    """A pasted URL or e-mail address finds its company, as the summary's form would; letters find domains holding them."""
    at = app().run().switch_page("pages/accounts.py").run()
    at.text_input(key="accounts_search").set_value(typed).run()
    assert list(at.dataframe[0].value["Domain"]) == ["globex.io"]


def test_a_failing_database_shows_what_to_do_not_a_traceback(monkeypatch: pytest.MonkeyPatch) -> None:
    """A StoreError (full disk, read-only or damaged file) is shown as its message on both pages, never an exception."""
    from engagement.errors import StoreError

    full = StoreError("The disk holding data/engagement.sqlite is full: free space and try again.")

    def fail(*args: object, **kwargs: object) -> None:
        raise full

    at = app().run()
    repo = runtime().repo
    for name in ("latest_complete", "rows", "count", "totals", "domains"):
        monkeypatch.setattr(repo, name, fail)
    at.text_input(key="summary_website").set_value("acmecorp.com")
    at.button(key=GENERATE).click().run()
    assert not at.exception and str(full) in [unescaped(e.value) for e in at.error]
    admin = at.switch_page("pages/admin.py").run()
    assert not admin.exception and str(full) in [unescaped(e.value) for e in admin.error]


# ---------------------------------------------------------------- the question box (ui/ask.py)


def asker_of(at: AppTest) -> str:
    """The asker the app under test asks as: this AppTest session's browser (it sends no cookie, so a new id)."""
    return f"browser:{at.session_state['asker_browser']}"


def completed_demo(at: AppTest, domain: str = "acmecorp.com") -> AppTest:
    """Click a demo account and wait for its finished summary (all three charts: the facts' two come first)."""
    at.button(key=f"summary_demo_{domain}").click().run()
    run_id = at.query_params.get("run_id")
    if run_id:  # the job ends in the store: polled there, the page runs again once, not every 0.2 s meanwhile
        ran = run_id[0] if isinstance(run_id, list) else run_id
        wait_until(lambda: runtime().jobs.get(domain, ran).status.terminal, "the demo job to end", timeout_s=TIMEOUT)
    return run_until(at, lambda a: len(a.get("plotly_chart")) == CHARTS)


def test_the_question_box_answers_under_a_complete_summary_and_says_not_found() -> None:
    """Asking about single sign-on lists verified quotes; a question nobody raised says "not found" with what was searched."""
    at = completed_demo(app().run())
    at.text_input(key="ask_question").set_value("What did they say about single sign-on?")
    at.button(key="FormSubmitter:ask_form-Ask").click().run()
    assert not at.exception and not at.error
    page = html.unescape(re.sub(r"\\(.)", r"\1", "\n".join(texts(at))))
    assert "Mentioned in 5 of 13 meetings (8 turns)" in page
    assert "We need SAML SSO through Okta for every user" in page and "open in Fathom ↗" in page
    attributions = re.findall(r"^> — (.+)$", page[page.index("Mentioned in 5 of 13") :], re.M)
    assert attributions and all(re.search(r"\((Customer|Our team)\), ", a) for a in attributions), attributions
    assert at.text_input(key="ask_question").value == "", "the box is emptied for the next question"
    [stored] = runtime().questions.list("acmecorp.com")
    assert stored.answer is not None and stored.answer.found

    at.text_input(key="ask_question").set_value("What about the weather on Mars?")
    at.button(key="FormSubmitter:ask_form-Ask").click().run()
    assert any(re.sub(r"\\(.)", r"\1", w.value).startswith("Not found in 13 meetings (") for w in at.warning)
    questions = [t.value for t in at.text if t.value.startswith("What")]  # plain text, as typed
    assert questions[:2] == ["What about the weather on Mars?", "What did they say about single sign-on?"]


def test_a_question_in_another_language_gets_a_note_to_ask_in_the_transcripts_language() -> None:
    """A German question on the demo account (English transcripts): "not found", and a note to ask in English."""
    at = completed_demo(app().run())
    at.text_input(key="ask_question").set_value("Was haben sie über die Einführung von SSO gesagt?")
    at.button(key="FormSubmitter:ask_form-Ask").click().run()
    assert not at.exception and not at.error
    notes = [re.sub(r"\\(.)", r"\1", i.value) for i in at.info]
    assert "The transcripts are in English; your question looks like German — try asking in English." in notes
    assert any(re.sub(r"\\(.)", r"\1", w.value).startswith("Not found in 13 meetings (") for w in at.warning)


@pytest.mark.parametrize(
    ("question", "message"),
    [("", "Type a question"), ("What did they say?", "no words to search")],
)
def test_a_bad_question_shows_a_message_and_stores_nothing(question: str, message: str) -> None:
    """An empty, over-long or wordless question gets its message under the box; nothing is stored."""
    record = seeded(domain="acmecorp.com")
    at = app(domain=record.domain, run_id=record.run_id).run()
    at.text_input(key="ask_question").set_value(question)
    at.button(key="FormSubmitter:ask_form-Ask").click().run()
    assert not at.exception
    assert any(message in e.value for e in at.error), [e.value for e in at.error]
    assert runtime().questions.count() == 0


def test_the_question_field_stops_where_the_check_does() -> None:
    """The field takes at most the characters the check allows, so a long question is never typed in vain."""
    record = seeded(domain="acmecorp.com")
    at = app(domain=record.domain, run_id=record.run_id).run()
    assert at.text_input(key="ask_question").max_chars == MAX_QUESTION_CHARS


def test_a_hostile_question_is_shown_as_text() -> None:
    """Markup in a question is shown as typed (plain text, never Markdown): no tag, and "--" stays two hyphens."""
    at = completed_demo(app().run())
    at.text_input(key="ask_question").set_value("<img src=x onerror=alert(1)> SSO -- **now**")
    at.button(key="FormSubmitter:ask_form-Ask").click().run()
    shown = texts(at)
    assert not [t for t in shown if re.search(r"(?<!\\)<img", t)]
    assert "<img src=x onerror=alert(1)> SSO -- **now**" in [t.value for t in at.text]


def test_the_question_box_is_in_presentation_mode_too() -> None:
    """?present=1 shows the question box under the summary."""
    at = completed_demo(app().run())
    at.query_params["present"] = "1"
    at.run()
    assert at.text_input(key="ask_question")
    assert any("Ask about this account" in s.value for s in at.subheader)


def test_a_pending_model_answer_shows_a_spinner_and_the_page_keeps_working() -> None:
    """A question still being answered shows a running status; the rest of the page is drawn."""
    at = completed_demo(app().run())
    rt = runtime()
    record = rt.questions.ask("acmecorp.com", "pricing", asked_by=asker_of(at))
    value = rt.store.get(record.key)
    value.update(status="processing", answer=None)  # as a model answer looks while the worker is on it
    rt.store.set(record.key, value)
    at.run()
    assert not at.exception
    assert [s.label for s in at.status] == ["Answering… the model is reading the best-matching turns."]
    assert at.status[0].proto.icon == "spinner"
    assert len(at.get("plotly_chart")) == CHARTS


def test_the_admin_page_lists_and_purges_questions() -> None:
    """Questions are listed on the admin page; purging all asks first, with the count, then removes them."""
    at = completed_demo(app().run())
    rt = runtime()
    rt.questions.ask("acmecorp.com", "pricing")
    rt.questions.ask("acmecorp.com", "security review")
    at.switch_page("pages/admin.py").run()
    assert not at.exception
    table = next(d for d in at.dataframe if "Question" in d.value.columns).value
    assert list(table["Question"]) == ["security review", "pricing"]
    at.button(key="admin_questions_purge_all").click().run()
    assert any("2 questions will be removed" in w.value for w in at.warning)
    assert rt.questions.count() == 2
    at.button(key="admin_questions_yes").click().run()
    assert rt.questions.count() == 0
    assert any("Removed 2 questions" in s.value for s in at.success)


def test_with_an_openai_key_the_answer_arrives_in_the_background(monkeypatch: pytest.MonkeyPatch) -> None:
    """With a key, asking returns at once (the answer pending), and a later run shows the model's verified quotes."""
    from tests.fakes.openai_server import FakeOpenAI

    with FakeOpenAI(api_key="sk-page-ask") as model:
        monkeypatch.setenv("OPENAI_API_KEY", "sk-page-ask")
        monkeypatch.setenv("OPENAI_BASE_URL", model.base_url)
        at = completed_demo(app().run())
        model.gate = threading.Event()  # the answer waits until the test lets it go: the page must not wait for it
        try:
            at.text_input(key="ask_question").set_value("What did they say about single sign-on?")
            at.button(key="FormSubmitter:ask_form-Ask").click().run()
            assert not at.exception and not at.error
            assert [s.label for s in at.status] == ["Answering… the model is reading the best-matching turns."]
            [record] = runtime().questions.list("acmecorp.com")
            assert record.analyzer == f"openai:{Settings.from_env().openai_model}"
        finally:
            model.gate.set()
        run_until(at, lambda a: not a.status)
        page = html.unescape(re.sub(r"\\(.)", r"\1", "\n".join(texts(at))))
        assert "They said:" in page and "open in Fathom ↗" in page
        answer = runtime().questions.list("acmecorp.com")[0].answer
        assert answer is not None and answer.found and answer.analyzer == record.analyzer
        assert model.errors == []


def test_the_accounts_page_says_how_far_the_first_index_got_while_it_runs(monkeypatch: pytest.MonkeyPatch) -> None:
    """While the workspace's first listing runs in the background, Accounts and the admin page say how many meetings
    it has read, of about how many, and how long it has left (from the dates reached and the pace), not that
    nothing is indexed; before the listing can estimate, how many so far."""
    from engagement.models import format_utc
    from engagement.runtime import workspace_of

    monkeypatch.setenv("FATHOM_API_KEY", "k-accounts-page")
    monkeypatch.setenv("FATHOM_BASE_URL", "http://127.0.0.1:9/external/v1")  # never asked: the page only reads
    rt = runtime()
    workspace = workspace_of(rt.settings)
    rt.index.storage.save(workspace, {"pass": "full", "pass_meetings": 6120, "generation": 1})
    at = app().run().switch_page("pages/accounts.py").run()
    assert not at.exception, [e.value for e in at.exception]
    shown = [shown_text(t) for t in texts(at)]
    assert any("Indexing Fathom: 6,120 meetings so far" in t for t in shown), shown
    assert not any("No Fathom meetings are indexed yet" in t for t in shown)

    # 1,240 read in 141 s back over 62 days, 88 days left to the oldest: about 3,000, 1,760 to go at that pace
    started = utcnow() - timedelta(seconds=141)
    reached = started - timedelta(days=62)
    state = {"pass": "full", "pass_meetings": 1240, "generation": 1, "pass_started_at": format_utc(started)}
    state |= {"reached_at": format_utc(reached), "oldest_at": format_utc(reached - timedelta(days=88))}
    rt.index.storage.save(workspace, state)
    expected = "Indexing Fathom: 1,240 of about 3,000 meetings, about 3 minutes left"
    at = app().run().switch_page("pages/accounts.py").run()
    assert any(expected in shown_text(t) for t in texts(at)), texts(at)
    at.switch_page("pages/admin.py").run()
    assert any(expected in shown_text(t) for t in texts(at)), texts(at)


def test_the_qualification_section_shows_states_quotes_and_commitments_but_not_when_presenting() -> None:
    """The summary shows each element's state with the customer's quote or what was searched, and our commitments;
    presentation mode leaves the whole section out (it is the sales team's)."""
    record = seeded(summary=qualified_summary())
    at = app(domain=record.domain, run_id=record.run_id).run()
    assert not at.exception
    headings = [h.value for h in at.subheader]
    assert any("Qualification: MEDDPICC — 6/8 evidenced" in h for h in headings)
    assert any("Our commitments (" in h and " seen done, " in h and "open" not in h for h in headings)
    shown = " ".join(shown_text(m.value) for m in at.markdown)
    assert "Conflicting: the customer's quotes disagree (helen, the cfo)" in shown
    assert "Since the restructure, the CFO signs off on anything with a three-year term, not me." in shown
    assert "No customer statement in" in shown and "hours searched" in shown
    assert "thanks for sending the service definition and the pricing document" in shown
    assert "Not seen done" in shown and "Open**" not in shown and "in answer to " in shown
    presented = app(domain=record.domain, run_id=record.run_id, present="1").run()
    assert not presented.exception
    assert not any("Qualification" in h.value or "commitments" in h.value for h in presented.subheader)
    assert "signs off on anything with a three-year term" not in " ".join(texts(presented))


def test_the_accounts_page_shows_what_is_evidenced_and_filters_by_a_missing_element() -> None:
    """After Brightwater's summary, its row says 6/8; "Missing element: Economic buyer" keeps only accounts whose
    latest summary has no customer evidence for it (conflicting is not evidence), never unqualified ones."""
    seed(make_record(qualified_summary(), domain="brightwater.co.uk"))
    at = app().run().switch_page("pages/accounts.py").run()
    assert not at.exception, [e.value for e in at.exception]
    table = at.dataframe[0].value
    evidenced = dict(zip(table["Domain"], table["Evidenced"], strict=True))
    assert evidenced["brightwater.co.uk"] == "6/8" and evidenced["acmecorp.com"] == ""
    assert at.selectbox(key="accounts_missing").options[:2] == ["Metrics", "Economic buyer"]
    at.selectbox(key="accounts_missing").set_value("Economic buyer").run()
    assert list(at.dataframe[0].value["Domain"]) == ["brightwater.co.uk"]
    at.selectbox(key="accounts_missing").set_value("Metrics").run()
    assert not at.dataframe and any("No account matches these filters." in c.value for c in at.caption)


# ---------------------------------------------------------------- presentation mode's allow-list, private questions

EMAIL = re.compile(r"[\w.+-]+@[\w-]+(?:\.[\w-]+)+")
STRANGER = "browser:" + "f" * 32  # another browser's questions


def everything_shown(at: AppTest) -> str:
    """All text on the page as a reader sees it: markdown, metrics, buttons, tables' cells, checkboxes, inputs."""
    values = texts(at)
    values += [t.value.to_csv() for t in at.table]
    values += [d.value.to_csv() for d in at.dataframe]
    values += [c.label for c in at.checkbox] + [e.label for e in at.expander] + [s.label for s in at.status]
    return shown_text("\n".join(values)) + "\n" + "\n".join(t.value for t in at.text)  # st.text: plain, as typed


def leaves_by_part(node: object, part: str | None = None) -> Iterator[tuple[object, str | None]]:
    """Every element under ``node`` with the part (``part_<key>`` container) it is drawn in, or None."""
    from streamlit.testing.v1.element_tree import Block

    if isinstance(node, Block):
        key = node.key or ""
        part = key.removeprefix("part_") if key.startswith("part_") else part
        for child in node.children.values():
            yield from leaves_by_part(child, part)
    else:
        yield node, part


def block_with_key(node: object, key: str) -> object | None:
    from streamlit.testing.v1.element_tree import Block

    if not isinstance(node, Block):
        return None
    if node.key == key:
        return node
    return next((found for c in node.children.values() if (found := block_with_key(c, key)) is not None), None)


def test_presentation_mode_shows_the_facts_goals_and_challenges_and_nothing_internal() -> None:
    """?present=1 on a summary with signals, changes, risks, recommendations, e-mails and others' questions:
    names, roles, goals and challenges are shown; none of the internal view, no e-mail, no stored question."""
    from engagement.render.audience import presented

    record = seeded(domain="acme.com")
    summary = record.summary
    assert summary is not None and summary.signals and summary.changes and summary.recommendations_detail
    rt = runtime()
    rt.questions.ask("acme.com", "<script>alert(1)</script> budget", asked_by=STRANGER)
    rt.questions.ask("acme.com", "Who is the decision maker?", asked_by=STRANGER)
    at = app(domain=record.domain, run_id=record.run_id, present="1").run()
    assert not at.exception
    page = everything_shown(at)
    for person in summary.people[:5]:
        assert person.name in page and (not person.role or person.role in page)
    assert "Consolidate regional reporting by March" in page and "Legacy warehouse exports are manual" in page
    internal = [s.title for s in summary.signals] + [i.text for i in summary.recommendations_detail]
    internal += [i.text for i in summary.risks_detail] + ["Signals", "Since", "Recommendations", "Risks"]
    internal += [
        "spoke",
        "meetings analysed",
        "Try a demo",
        "HTML report",
        "About this run",
        "<script>",
        "decision maker",
    ]
    assert [word for word in internal if word in page] == []
    assert EMAIL.findall(page) == []
    assert len(at.get("plotly_chart")) == CHARTS - 1 and at.text_input(key="ask_question")

    result = block_with_key(at.main, "summary_result")
    assert result is not None
    stray = [(getattr(leaf, "type", "?"), part) for leaf, part in leaves_by_part(result) if part not in presented()]
    assert stray == [], "everything in a presented summary is an allow-listed part"


def test_the_presenters_checklist_opts_signals_in_and_this_browser_remembers_it(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Ticking Signals in the sidebar shows them when presenting and writes the choice to a cookie; a new
    session whose browser sends that cookie presents the same parts."""
    import ui.presentation

    record = seeded(domain="acme.com")
    assert record.summary is not None
    title = record.summary.signals[0].title
    at = app(domain=record.domain, run_id=record.run_id).run()
    assert (
        at.sidebar.checkbox(key="present_part_goals").value
        and not at.sidebar.checkbox(key="present_part_signals").value
    )
    at.sidebar.checkbox(key="present_part_signals").check().run()
    at.sidebar.checkbox(key="present_part_challenges").uncheck().run()
    scripts = " ".join(h.proto.body for h in at.sidebar.get("html"))
    assert "engagement_present=" in scripts
    stored = re.search(r"engagement_present=([\w.-]+);", scripts)
    assert stored is not None and "signals" in stored.group(1).split(".")
    at.query_params["present"] = "1"
    at.run()
    page = everything_shown(at)
    assert title in page and "Legacy warehouse exports are manual" not in page

    monkeypatch.setattr(
        ui.presentation, "read_cookie", lambda name: stored.group(1) if name == "engagement_present" else None
    )
    fresh = app(domain=record.domain, run_id=record.run_id, present="1").run()
    page = everything_shown(fresh)
    assert title in page and "Legacy warehouse exports are manual" not in page
    assert "Consolidate regional reporting by March" in page


def test_ask_in_presentation_mode_lists_only_the_questions_asked_in_that_presentation() -> None:
    """A question the rep asked before presenting is not listed when presenting; one asked while presenting is."""
    at = completed_demo(app().run())
    at.text_input(key="ask_question").set_value("What did they say about pricing?")
    at.button(key="FormSubmitter:ask_form-Ask").click().run()
    assert "What did they say about pricing?" in everything_shown(at)
    at.query_params["present"] = "1"
    at.run()
    assert "pricing" not in everything_shown(at)
    at.text_input(key="ask_question").set_value("What did they say about single sign-on?")
    at.button(key="FormSubmitter:ask_form-Ask").click().run()
    page = everything_shown(at)
    assert "What did they say about single sign-on?" in page and "pricing" not in page
    at.query_params.pop("present")
    at.run()
    page = everything_shown(at)
    assert "What did they say about single sign-on?" in page and "What did they say about pricing?" in page


def test_questions_are_private_to_the_browser_that_asked_them(monkeypatch: pytest.MonkeyPatch) -> None:
    """Another browser does not see a question; the same browser (its cookie) and the admin page do; an old
    question without an asker is shown to nobody but the admin; a person signed in with single sign-on asks as
    their verified e-mail."""
    import ui.asker
    import ui.gate

    record = seeded(domain="acme.com")
    first = app(domain=record.domain, run_id=record.run_id).run()
    scripts = " ".join(h.proto.body for h in first.sidebar.get("html"))
    browser = first.session_state["asker_browser"]
    assert f"engagement_browser={browser};" in scripts and re.fullmatch(r"[0-9a-f]{32}", browser)
    first.text_input(key="ask_question").set_value("What about the budget?")
    first.button(key="FormSubmitter:ask_form-Ask").click().run()
    assert "What about the budget?" in everything_shown(first)

    rt = runtime()
    legacy = rt.questions.ask("acme.com", "Who is the decision maker?", asked_by=f"browser:{browser}")
    value = rt.store.get(legacy.key)
    del value["asked_by"]
    rt.store.set(legacy.key, value)

    other = app(domain=record.domain, run_id=record.run_id).run()
    assert "budget" not in everything_shown(other) and "decision maker" not in everything_shown(other)

    monkeypatch.setattr(ui.asker, "read_cookie", lambda name: browser if name == "engagement_browser" else None)
    again = app(domain=record.domain, run_id=record.run_id).run()
    page = everything_shown(again)
    assert "What about the budget?" in page and "decision maker" not in page
    assert not [h for h in again.sidebar.get("html") if "engagement_browser" in h.proto.body], "already set"

    monkeypatch.setattr(ui.gate, "single_sign_on", lambda: True)
    monkeypatch.setenv("ALLOWED_EMAILS", "ourco.io")
    signed = app(domain=record.domain, run_id=record.run_id)
    signed.user = {"is_logged_in": True, "email": "Rep@OurCo.io", "email_verified": True}
    signed.run()
    assert not signed.exception and signed.text_input(key="ask_question")
    assert "budget" not in everything_shown(signed)
    signed.text_input(key="ask_question").set_value("What about the budget?")
    signed.button(key="FormSubmitter:ask_form-Ask").click().run()
    assert "What about the budget?" in everything_shown(signed)
    assert {r.asked_by for r in rt.questions.list("acme.com")} == {f"browser:{browser}", "user:rep@ourco.io", ""}

    monkeypatch.setattr(ui.gate, "single_sign_on", lambda: False)
    admin = first.switch_page("pages/admin.py").run()
    table = next(d for d in admin.dataframe if "Question" in d.value.columns).value
    assert sorted(table["Question"]) == [
        "What about the budget?",
        "What about the budget?",
        "Who is the decision maker?",
    ]
    assert set(table["Asked by"]) == {
        f"browser {browser[:8]}",
        "rep@ourco.io",
        "unknown (asked before questions had owners)",
    }


def test_an_asker_can_share_a_question_with_the_team_and_take_it_back() -> None:
    """A shared question shows under "Shared by the team" in another browser, with its asker; not when presenting;
    unshared, it is private again; no one but its asker can share it."""
    record = seeded(domain="acme.com")
    first = app(domain=record.domain, run_id=record.run_id).run()
    first.text_input(key="ask_question").set_value("What about the budget?")
    first.button(key="FormSubmitter:ask_form-Ask").click().run()
    (asked,) = runtime().questions.list("acme.com")
    first.button(key=f"ask_share_{asked.id}").click().run()
    assert runtime().questions.get("acme.com", asked.id).shared  # type: ignore[union-attr]

    other = app(domain=record.domain, run_id=record.run_id).run()
    page = everything_shown(other)
    assert "Shared by the team" in page and "What about the budget?" in page
    assert f"ask_share_{asked.id}" not in [b.key for b in other.button], "only the asker can unshare"
    assert not runtime().questions.share("acme.com", asked.id, "browser:someone-else", shared=False)

    presenting = app(domain=record.domain, run_id=record.run_id, present="1").run()
    assert "budget" not in everything_shown(presenting)

    first.button(key=f"ask_share_{asked.id}").click().run()
    assert "budget" not in everything_shown(app(domain=record.domain, run_id=record.run_id).run())
    assert [e.action for e in runtime().audit.entries(action="shared")] == ["shared"]


def test_a_pushed_meeting_is_on_the_accounts_page_and_failed_deliveries_on_the_admin_page(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """With a webhook secret set, Accounts says it is live and lists the company a delivery brought; a webhook
    delivery that could not be applied and a digest that could not be sent are on the admin page, errors as text."""
    from datetime import UTC, datetime

    from engagement.fathom.client import to_meeting
    from engagement.runtime import workspace_of
    from engagement.webhooks.processing import DeliveryProcessor
    from engagement.webhooks.service import webhook_store
    from tests.fakes.fathom_server import make_meeting

    monkeypatch.setenv("FATHOM_WEBHOOK_SECRET", "whsec_" + "QUJD" * 8)
    rt = runtime()
    rt.reindex(full=False)  # the demo workspace
    hooks = webhook_store(rt)
    processor = DeliveryProcessor(index=rt.index, workspace=workspace_of(rt.settings), search=rt.search, store=hooks)
    meeting = to_meeting(
        make_meeting(4242, datetime.now(UTC), guests=[("Priya Raman", "priya@freshfield-robotics.com")])
    )
    assert hooks.claim("msg_live", meeting.recording_id)
    processor.apply("msg_live", meeting)
    assert hooks.claim("msg_failed", 99)
    hooks.finish("msg_failed", error="The store said **no** <b>twice</b>")
    processor.close()
    rt.store.table("digests").set(
        "sent:2026-12-07T08:00:00.000000Z:2026-12-06T08:00:00.000000Z:slack-1",
        {
            "status": "failed",
            "channel": "slack",
            "start": "2026-12-06T08:00Z",
            "end": "2026-12-07T08:00Z",
            "error": "Slack refused the digest (HTTP 400: invalid_blocks).",
        },
    )

    at = app().run().switch_page("pages/accounts.py").run()
    assert not at.exception, [e.value for e in at.exception]
    assert any("Live: meetings Fathom sends appear here" in t for t in texts(at))
    assert "freshfield-robotics.com" in list(at.dataframe[0].value["Domain"])
    at.switch_page("pages/admin.py").run()
    assert not at.exception, [e.value for e in at.exception]
    failed = [t for t in map(shown_text, texts(at)) if "msg_failed" in t]
    assert failed and "The store said **no** <b>twice</b>" in failed[0]
    assert any(
        "The slack digest for 2026-12-06 to 2026-12-07 was not sent: Slack refused" in t
        for t in map(shown_text, texts(at))
    )


def test_the_brief_for_the_next_meeting_is_on_the_summary_for_the_team_only() -> None:
    """A completed summary has the brief (likely attendees first, quotes under each line); a presentation has not."""
    at = completed_demo(app().run())
    (brief,) = [e for e in at.expander if e.label == "Brief for the next meeting"]
    shown = " ".join(m.value for m in brief.markdown)
    assert "Likely to attend" in shown and "Greg Thompson, CRO" in shown and "Our commitments not seen done" in shown
    assert at.download_button(key="summary_export_brief")
    record = runtime().repo.latest_complete("acmecorp.com")
    assert record is not None
    presented = app(domain="acmecorp.com", run_id=record.run_id, present="1").run()
    assert not [e for e in presented.expander if e.label == "Brief for the next meeting"]


def test_the_accounts_page_is_never_shown_in_presentation_mode() -> None:
    """/accounts?present=1 shows no account, figure or signal of the team's list, only why and the way out."""
    at = app(present="1")
    at.switch_page("pages/accounts.py").run()
    assert not at.exception and not at.dataframe
    assert [i.value for i in at.info][0].startswith("The accounts list is the sales team's view")
    assert at.button(key="present_exit")
    shown = everything_shown(at)
    assert "acmecorp.com" not in shown and "Gone dark" not in shown


def test_a_summary_made_while_the_index_filled_says_how_far_it_got_then_offers_its_refresh() -> None:
    """A summary made on an incomplete index shows how far the indexing has got and that it will be made again;
    once the index is complete it offers "Refresh the summary", which starts the account's next run; presented,
    neither is shown."""
    summary = make_summary()
    assert summary.coverage is not None
    summary.coverage.index_complete = False
    record = seeded(domain=summary.domain, summary=summary)
    at = app(domain=record.domain, run_id=record.run_id).run()
    assert not at.exception, at.exception
    assert any("This summary is made again when it is complete" in text for text in texts(at)), texts(at)
    assert not [b for b in at.button if b.key == "summary_refresh"]

    runtime().reindex(full=False)  # the (demo) workspace's first listing ends
    at = app(domain=record.domain, run_id=record.run_id).run()
    assert any("fully indexed now" in text for text in texts(at)), texts(at)
    at.button(key="summary_refresh").click().run()
    assert at.query_params["run_id"] != record.run_id and runtime().repo.count() == 2

    presented = app(domain=record.domain, run_id=record.run_id, present="1").run()
    assert not [b for b in presented.button if b.key == "summary_refresh"]
    assert not any("fully indexed now" in text for text in texts(presented))


def test_the_overview_lists_the_risks_raised_newest_first() -> None:
    """The overview says risks were raised (nothing says which were resolved) and shows the newest two first."""
    from engagement.models import Evidence, Insight

    def risk(text: str, day: str) -> Insight:
        said = Evidence(
            recording_id=1, timestamp="00:01:00", quote=text, speaker="Sam", meeting_date=day, verified=True
        )
        return Insight(text=text, evidence=[said])

    summary = make_summary()
    summary.risks_detail = [
        risk("Oldest worry about legal.", "2026-01-05"),
        risk("Newest worry about the budget.", "2026-06-20"),
        risk("Middle worry about adoption.", "2026-03-11"),
    ]
    record = seed(make_record(summary, run_id=str(uuid.uuid4())))
    at = app(domain=record.domain, run_id=record.run_id).run()
    glance = [t for t in texts(at) if "worry about" in t or "Risks raised" in t]
    assert glance[0] == "**:material/warning: Risks raised · 3**"
    assert glance[1].splitlines() == ["- Newest worry about the budget.", "- Middle worry about adoption."]


def test_the_accounts_page_names_the_accounts_due_a_refresh_once_the_index_is_complete() -> None:
    """An account whose latest summary was made while the index filled is named on the Accounts page as due a
    refresh once the (demo) workspace is fully indexed; one made on a complete index is not."""
    partial = make_summary()
    assert partial.coverage is not None
    partial.coverage.index_complete = False
    seeded(domain="acmecorp.com", summary=partial.model_copy(update={"domain": "acmecorp.com"}))
    full = make_summary()
    assert full.coverage is not None
    full.coverage.index_complete = True
    seeded(domain="globex.io", summary=full.model_copy(update={"domain": "globex.io"}))
    at = app().run().switch_page("pages/accounts.py").run()
    assert not at.exception, [e.value for e in at.exception]
    (due,) = [i.value for i in at.info if "Summarised while Fathom was being indexed" in i.value]
    assert "acmecorp.com" in shown_text(due) and "globex.io" not in shown_text(due)
