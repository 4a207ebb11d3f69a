"""The real thing: the app served by ``streamlit run`` on demo data, driven in Debian's Chromium with Playwright.

Set ``SCREENSHOT_DIR=docs`` to refresh the README's screenshots (``make screenshots``); by default they go
to pytest's tmp dir so the working tree stays clean.
"""

from __future__ import annotations

import json
import os
import time
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING

import httpx
import pytest

from engagement.jobs import JobRow, index_key
from engagement.models import JobRecord, JobStatus
from engagement.store import SqliteKV
from tests.support.streamlit_server import CHROMIUM, CHROMIUM_ARGS, StreamlitError, start_streamlit, stop_streamlit
from tests.support.summary_factory import HOSTILE_MARKDOWN, make_record, make_summary
from ui.media import EXPORT_TTL_S

if TYPE_CHECKING:
    from playwright.sync_api import Page

pytestmark = pytest.mark.browser

ROOT = Path(__file__).resolve().parent.parent
DEMO_DOMAIN = "acmecorp.com"
VIEWPORT = {"width": 1440, "height": 900}
SUMMARY_SHOT = {"width": 1440, "height": 1500}
POLL_WINDOW_MS = 4500  # more than two 2-second polls


def expected_meetings(domain: str = DEMO_DOMAIN) -> int:
    """Meetings in the demo file with an invitee e-mail at the domain, counted here without the app's code."""
    data = json.loads((ROOT / "engagement" / "demo" / "data" / f"{domain}.json").read_text(encoding="utf-8"))

    def at_domain(email: str | None) -> bool:
        host = (email or "").lower().rpartition("@")[2]
        return host == domain or host.endswith("." + domain)

    return sum(any(at_domain(i.get("email")) for i in m.get("calendar_invitees") or []) for m in data["meetings"])


@pytest.fixture
def chromium() -> Path:
    """Debian's Chromium: skipped locally when missing, but CI must have it."""
    if not CHROMIUM.exists():
        if os.environ.get("CI"):
            pytest.fail(f"{CHROMIUM} is missing on CI: install Debian's chromium (make chromium)")
        pytest.skip(f"{CHROMIUM} is not installed (apt-get install chromium)")
    return CHROMIUM


@pytest.fixture
def server(tmp_path: Path, request: pytest.FixtureRequest) -> Iterator[str]:
    """``streamlit run`` on a free loopback port, in demo mode, with its database in tmp_path."""
    log = (tmp_path / "streamlit.log").open("wb")
    env = {**os.environ, "ENGAGEMENT_DB": str(tmp_path / "engagement.sqlite"), "PYTHONUNBUFFERED": "1"}
    try:
        proc, url = start_streamlit("streamlit_app.py", env, output=log)
    except StreamlitError as exc:
        log.close()
        pytest.fail(f"{exc}:\n{(tmp_path / 'streamlit.log').read_text()}")

    def stop() -> None:
        stop_streamlit(proc)
        log.close()

    request.addfinalizer(stop)
    yield url


@pytest.fixture
def screenshots(tmp_path: Path) -> Path:
    folder = Path(os.environ.get("SCREENSHOT_DIR") or tmp_path)
    if not folder.is_absolute():
        folder = ROOT / folder
    folder.mkdir(parents=True, exist_ok=True)
    return folder


def test_a_summary_runs_in_a_real_browser_and_the_admin_page_lists_it(
    chromium: Path, server: str, screenshots: Path
) -> None:
    """Type the website, click Generate, see the charts and the meeting count, find the job in admin and the account."""
    from playwright.sync_api import expect, sync_playwright

    expected = expected_meetings()
    assert expected > 0
    expect.set_options(timeout=30_000)  # assertions wait as long as actions do (the default is 5 s)
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=str(chromium), args=CHROMIUM_ARGS)
        try:
            page = browser.new_page(viewport=VIEWPORT)
            page.set_default_timeout(30_000)
            sent: list[float] = []  # messages from the browser to the app: reruns, fragment polls
            page.on("websocket", lambda ws: ws.on("framesent", lambda _: sent.append(time.monotonic())))
            page.goto(server)

            page.get_by_placeholder("https://www.acmecorp.com").fill("https://www.acmecorp.com")
            page.get_by_role("button", name="Generate Meeting Summary").click()
            page.wait_for_url("**run_id=*")
            expect(page.locator(".js-plotly-plot")).to_have_count(3)

            meetings = page.locator('[data-testid="stMetric"]').filter(has=page.get_by_text("Meetings", exact=True))
            expect(meetings.locator('[data-testid="stMetricValue"]')).to_have_text(str(expected))
            expect(page.get_by_role("heading", name="Goals")).to_be_visible()
            expect(page.get_by_role("link", name="open in Fathom ↗").first).to_be_attached()
            assert page.locator('[data-testid="stException"]').count() == 0
            quiet_from = time.monotonic()
            page.wait_for_timeout(POLL_WINDOW_MS)
            assert not [t for t in sent if t > quiet_from], "the page kept polling after the job finished"
            page.set_viewport_size(SUMMARY_SHOT)  # tall enough for the form, the metrics and the charts
            page.wait_for_timeout(1000)  # let Plotly re-lay itself out for the screenshot
            page.screenshot(path=str(screenshots / "screenshot-summary.png"))
            page.set_viewport_size(VIEWPORT)

            page.get_by_role("link", name="Admin").click()
            expect(page.get_by_role("heading", name="Admin")).to_be_visible()
            cell = page.locator('[data-testid="stDataFrame"] td[role="gridcell"]', has_text=DEMO_DOMAIN)
            expect(cell.first).to_be_attached()
            jobs = page.locator('[data-testid="stMetric"]').filter(has=page.get_by_text("Complete", exact=True))
            expect(jobs.locator('[data-testid="stMetricValue"]')).to_have_text("1")
            assert page.locator('[data-testid="stException"]').count() == 0
            page.mouse.move(900, 600)  # away from the sidebar, whose collapse button shows on hover
            page.wait_for_timeout(500)
            page.screenshot(path=str(screenshots / "screenshot-admin.png"))

            page.get_by_role("link", name="Accounts").click()
            expect(page.get_by_role("heading", name="Accounts")).to_be_visible()
            for domain in (DEMO_DOMAIN, "globex.io", "bridgepoint-consulting.com"):
                cell = page.locator('[data-testid="stDataFrame"] td[role="gridcell"]', has_text=domain)
                expect(cell.first).to_be_attached()
            page.get_by_role("button", name="Open summary").click()  # the most recently met account
            page.wait_for_url("**run_id=*")
            expect(
                page.get_by_role("heading", name="Signals").or_(page.locator(".js-plotly-plot").first)
            ).to_be_visible()
            assert page.locator('[data-testid="stException"]').count() == 0
        except Exception:
            page.screenshot(path=str(screenshots / "failure.png"))  # what the browser showed, for the log
            raise
        finally:
            browser.close()


# ---------------------------------------------------------------- data as text, and exports behind the password

PASSWORD = "browser-test-password"


def seed_records(db: Path, *records: JobRecord) -> None:
    """Store finished records (and their index rows) in the database the server will open."""
    store = SqliteKV(db)
    try:
        for record in records:
            store.set_many(
                {
                    record.key: record.to_json(),
                    index_key(record.created_at, record.domain, record.run_id): JobRow.of(record).model_dump(
                        mode="json"
                    ),
                }
            )
    finally:
        store.close()


@pytest.fixture
def signed_server(tmp_path: Path, request: pytest.FixtureRequest) -> Iterator[tuple[str, JobRecord, JobRecord]]:
    """A fresh server with APP_PASSWORD set and two hostile records: a summary and a failure."""
    db = tmp_path / "engagement.sqlite"
    complete = make_record(make_summary(hostile=True), run_id=str(uuid.uuid4()))
    failed = make_record(
        None, status=JobStatus.ERROR, run_id=str(uuid.uuid4()), error=f"The model refused: {HOSTILE_MARKDOWN}"
    )
    seed_records(db, complete, failed)
    log = (tmp_path / "streamlit.log").open("wb")
    env = {**os.environ, "ENGAGEMENT_DB": str(db), "APP_PASSWORD": PASSWORD, "PYTHONUNBUFFERED": "1"}
    try:
        proc, url = start_streamlit("streamlit_app.py", env, output=log)
    except StreamlitError as exc:
        log.close()
        pytest.fail(f"{exc}:\n{(tmp_path / 'streamlit.log').read_text()}")

    def stop() -> None:
        stop_streamlit(proc)
        log.close()

    request.addfinalizer(stop)
    yield url, complete, failed


def sign_in(page: Page, url: str) -> None:
    page.goto(url)
    page.get_by_label("Password", exact=True).fill(PASSWORD)
    page.get_by_role("button", name="Sign in").click()


def assert_shown_as_text(page: Page) -> None:
    """Nothing from the data became a link or an image, and nothing is wider than the window."""
    links = page.locator('a[href*="evil"]')
    assert links.count() == 0, [links.nth(i).evaluate("a => a.outerHTML") for i in range(links.count())]
    assert page.locator('img[src*="evil"]').count() == 0
    assert page.locator('[data-testid="stException"]').count() == 0
    assert page.evaluate("document.documentElement.scrollWidth <= window.innerWidth + 1")


def test_data_is_text_and_exports_expire_without_a_session(
    chromium: Path, signed_server: tuple[str, JobRecord, JobRecord], screenshots: Path
) -> None:
    """Links, images and URLs from data are text, long words wrap, and an export's URL dies with its session."""
    from playwright.sync_api import expect, sync_playwright

    url, complete, failed = signed_server
    expect.set_options(timeout=30_000)
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=str(chromium), args=CHROMIUM_ARGS)
        page = browser.new_page(viewport=VIEWPORT, accept_downloads=True)
        page.set_default_timeout(30_000)
        try:
            sign_in(page, f"{url}/?domain={complete.domain}&run_id={complete.run_id}")
            expect(page.get_by_role("heading", name="Risks")).to_be_visible()
            expect(page.get_by_text("[Click here to sign in again](https").first).to_be_visible()
            expect(page.get_by_text("evil.example/bare", exact=False).first).to_be_attached()
            assert_shown_as_text(page)
            page.get_by_role("heading", name="Risks").scroll_into_view_if_needed()
            page.screenshot(path=str(screenshots / "hostile-summary.png"))

            with page.expect_download() as download:
                page.get_by_role("button", name="Markdown").click()
            export_url = download.value.url
            assert "/media/" in export_url
            assert "evil" in Path(download.value.path()).read_text(encoding="utf-8")

            page.goto(f"{url}/?domain={failed.domain}&run_id={failed.run_id}")
            sign_in(page, f"{url}/?domain={failed.domain}&run_id={failed.run_id}")
            alert = page.locator('[data-testid="stAlertContentError"]').first
            expect(alert).to_contain_text("[Click here to sign in again](https")
            assert_shown_as_text(page)
        except Exception:
            page.screenshot(path=str(screenshots / "failure.png"))
            raise
        finally:
            browser.close()  # the session ends

    deadline = time.monotonic() + EXPORT_TTL_S + 20
    status = httpx.get(export_url).status_code
    while status != 404 and time.monotonic() < deadline:
        time.sleep(0.5)
        status = httpx.get(export_url).status_code
    assert status == 404, "an export must not outlive its session's use of it"


@pytest.mark.parametrize("path", ["/", "/summary", "/admin", "/accounts"])
def test_a_fresh_server_asks_for_the_password_on_every_page(chromium: Path, tmp_path: Path, path: str) -> None:
    """The first request to a fresh server, whichever page it names, gets the sign-in form and nothing else."""
    from playwright.sync_api import expect, sync_playwright

    log = (tmp_path / "streamlit.log").open("wb")
    env = {**os.environ, "ENGAGEMENT_DB": str(tmp_path / "engagement.sqlite"), "APP_PASSWORD": PASSWORD}
    proc, url = start_streamlit("streamlit_app.py", env, output=log)
    try:
        with sync_playwright() as playwright:
            browser = playwright.chromium.launch(executable_path=str(chromium), args=CHROMIUM_ARGS)
            try:
                page = browser.new_page(viewport=VIEWPORT)
                page.goto(url + path)
                expect(page.get_by_label("Password", exact=True)).to_be_visible(timeout=30_000)
                expect(page.get_by_role("button", name="Sign in")).to_be_visible()
                page.wait_for_timeout(500)  # nothing else arrives after the form
                assert page.get_by_placeholder("https://www.acmecorp.com").count() == 0
                assert page.locator('[data-testid="stMetric"], [data-testid="stDataFrame"]').count() == 0
                assert page.locator('[data-testid="stException"]').count() == 0
            finally:
                browser.close()
    finally:
        stop_streamlit(proc)
        log.close()
