"""A summary made while Fathom's workspace was first indexed, left open in a real browser, is made again by itself.

The app runs under ``streamlit run`` against the fake Fathom on loopback, whose workspace listing (the meeting
index's) is held back while the company filter answers at once: the first summary completes from the company
filter with the note that the index is incomplete. Once the listing is let through, the page's ``watch_index``
fragment (a timed rerun, which AppTest does not run) starts the new run on its own, and that run holds the meeting
Fathom files under a partner.
"""

from __future__ import annotations

import os
import re
import threading
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest

from tests.fakes.fathom_server import ACCOUNT_START, FAKE_API_KEY, FathomServer, make_account, make_meeting, make_noise
from tests.support.streamlit_server import (
    CHROMIUM,
    CHROMIUM_ARGS,
    served_app,
)

pytestmark = [pytest.mark.browser, pytest.mark.xdist_group("browser-index-refresh")]

ACCOUNT_MEETINGS = 23  # make_account's weekly acmecorp.com meetings, all filed under acmecorp.com
PARTNER_TITLE = "Rollout with Northwind"
INCOMPLETE = "still being indexed"  # the summary's note while the index is incomplete (index_incomplete_note)
WATCHING = "This summary is made again when it is complete"  # the progress caption of watch_index
TIMEOUT_MS = 60_000  # a bound against hanging, not a speed claim
REFRESH_MS = 30_000  # the listing's last pages, one POLL_INDEX (10 s) and the new run, with room on a loaded machine


def partner_meeting() -> dict[str, Any]:
    """A rollout call with two people from a partner and one from the customer: Fathom files it under the partner."""
    guests = [
        ("Priya Natarajan", "priya@northwind-partners.com"),
        ("Tom Becker", "tom.becker@northwind-partners.com"),
        ("John Smith", "john.smith@acmecorp.com"),
    ]
    return make_meeting(77_777, ACCOUNT_START + timedelta(days=60), guests=guests, meeting_title=PARTNER_TITLE)


@pytest.fixture
def fathom() -> Iterator[FathomServer]:
    """The fake Fathom with the account, other companies' meetings and the partner-filed one; its workspace listing
    is held until the test sets ``listing_gate`` (set again at the end, so nothing waits on it)."""
    gate = threading.Event()
    with FathomServer([*make_account(), *make_noise(), partner_meeting()]) as server:
        server.listing_gate = gate
        try:
            yield server
        finally:
            gate.set()


@pytest.fixture
def app(fathom: FathomServer, tmp_path: Path) -> Iterator[str]:
    """The app on the fake Fathom (no password, the offline analyser), a short wait for the index's first listing."""
    if not CHROMIUM.exists():
        if os.environ.get("CI"):
            pytest.fail(f"{CHROMIUM} is missing on CI: install Debian's chromium (make chromium)")
        pytest.skip(f"{CHROMIUM} is not installed (apt-get install chromium)")
    base = {k: v for k, v in os.environ.items() if not k.startswith(("OPENAI_", "FATHOM_", "ENGAGEMENT_"))}
    base = {k: v for k, v in base.items() if k not in {"APP_PASSWORD", "ADMIN_PASSWORD"}}
    env = {
        **base,
        "ENGAGEMENT_DB": str(tmp_path / "engagement.sqlite"),
        "PYTHONUNBUFFERED": "1",
        "FATHOM_API_KEY": FAKE_API_KEY,
        "FATHOM_BASE_URL": fathom.base_url,
        "ENGAGEMENT_INDEX_GRACE_S": "1",
    }
    with served_app(tmp_path, env) as url:
        yield url


@pytest.fixture
def page(app: str, tmp_path: Path) -> Iterator[Any]:
    """A headless Chromium tab; what it showed is saved in the test's tmp dir at the end."""
    from playwright.sync_api import expect, sync_playwright

    expect.set_options(timeout=TIMEOUT_MS)
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        page = browser.new_page(viewport={"width": 1440, "height": 900})
        page.set_default_timeout(TIMEOUT_MS)
        try:
            yield page
        finally:
            page.screenshot(path=str(tmp_path / "last.png"))
            browser.close()


def run_id_of(url: str) -> str:
    return parse_qs(urlsplit(url).query).get("run_id", [""])[0]


def meetings_metric(page: Any) -> Any:
    metric = page.locator('[data-testid="stMetric"]').filter(has=page.get_by_text("Meetings", exact=True))
    return metric.locator('[data-testid="stMetricValue"]')


def test_a_summary_on_screen_is_made_again_by_itself_when_the_first_index_completes(
    page: Any, app: str, fathom: FathomServer
) -> None:
    """Made while the workspace listing is held, the summary says the index is incomplete and shows its progress;
    once the listing completes, the open page starts a new run by itself, which holds the partner-filed meeting."""
    from playwright.sync_api import expect

    page.goto(app)
    page.get_by_placeholder("https://www.acmecorp.com").fill("https://www.acmecorp.com")
    page.get_by_role("button", name="Generate Meeting Summary").click()
    page.wait_for_url("**run_id=*")
    first = run_id_of(page.url)
    expect(meetings_metric(page)).to_have_text(str(ACCOUNT_MEETINGS))  # the company filter's meetings only
    expect(page.get_by_text(INCOMPLETE).first).to_be_attached()  # in "About this run", folded
    expect(page.get_by_text(re.compile(rf"^Indexing Fathom\W+0 meetings so far\. {WATCHING}"))).to_be_visible()
    expect(page.get_by_text(PARTNER_TITLE)).to_have_count(0)
    assert page.locator('[data-testid="stException"]').count() == 0

    assert fathom.listing_gate is not None
    fathom.listing_gate.set()  # the index's listing runs to its end

    page.wait_for_url(lambda url: run_id_of(url) not in ("", first), timeout=REFRESH_MS)
    expect(meetings_metric(page)).to_have_text(str(ACCOUNT_MEETINGS + 1))
    expect(page.get_by_text(re.compile(PARTNER_TITLE)).first).to_be_visible()  # in "Since …": the meeting added
    expect(page.get_by_text(INCOMPLETE)).to_have_count(0)
    expect(page.get_by_text(WATCHING)).to_have_count(0)
    assert page.locator('[data-testid="stException"]').count() == 0
