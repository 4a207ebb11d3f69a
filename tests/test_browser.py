"""The real thing: the app served by ``streamlit run`` on demo data, driven in Debian's Chromium with Playwright.

One server (with both passwords set and a fake OpenAI on loopback) and one browser serve most tests in
this module; the browser signs in once, and its cookie keeps each new page signed in. The tests at the
end need a server of their own (seeded records, a fresh server's first request).

Under ``make test`` (pytest-xdist) the tests run in three groups of about equal time, each on one worker with its
own browser: two share the module's server (one per worker), the third holds the tests with servers of their own.

Set ``SCREENSHOT_DIR=docs`` to refresh the README's screenshots (``make screenshots``); by default they go
to pytest's tmp dir so the working tree stays clean.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import threading
import time
import uuid
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import TYPE_CHECKING, Any

import httpx
import pytest

from engagement.audit.log import AUDIT_TABLE, AuditLog
from engagement.jobs.repository import JobRepository
from engagement.models import JobRecord, JobStatus
from engagement.storage.sqlite import SqliteKV
from tests.fakes.openai_server import FakeOpenAI
from tests.support.streamlit_server import (
    CHROMIUM,
    CHROMIUM_ARGS,
    StreamlitError,
    served_app,
    start_streamlit,
    stop_streamlit,
)
from tests.support.summary_factory import HOSTILE_MARKDOWN, make_record, make_summary
from ui.charts_drawn import IS_DRAWN_JS
from ui.media import EXPORT_TTL_S

if TYPE_CHECKING:
    from playwright.sync_api import Page

pytestmark = pytest.mark.browser
# Three parts of the module for xdist's --dist loadgroup, each on one worker, of about equal time: two share the
# module's server (each worker starts its own), the third starts only servers of its own (the offline server, the
# seeded one, the fresh ones), never the shared one.
SHARED_A = pytest.mark.xdist_group("browser-a")
SHARED_B = pytest.mark.xdist_group("browser-b")
OWN_SERVERS = pytest.mark.xdist_group("browser-own")

ROOT = Path(__file__).resolve().parent.parent
DEMO_DOMAIN = "acmecorp.com"
APP_PASSWORD = "browser-test-app"
ADMIN_PASSWORD = "browser-test-admin"
OPENAI_KEY = "sk-browser-test"
VIEWPORT = {"width": 1440, "height": 900}
SIZES = [(1024, 768), (1280, 720), (1920, 1080)]
POLL_WINDOW_MS = 4500  # more than two 2-second polls
CHARTS = 5  # a complete summary: meetings per month, themes, people, the meeting timeline and who knows whom
PRESENTED_CHARTS = 4  # presented: all but the team's own map of who knows whom
TIMEOUT_MS = 60_000  # a bound against hanging (as tests/support/waits.WAIT_S), not a speed claim

# Every label, button and metric value that is cut off: its text is wider than its box. Inputs are
# measured with their own font (their value, or their placeholder when empty). Data grids count
# when they scroll sideways, if ``grids`` is set.
TRUNCATED_JS = """
(grids) => {
  const visible = el => {  // on screen, and not a one-pixel helper kept for screen readers or forms
    const r = el.getBoundingClientRect();
    return r.width > 2 && r.height > 2 && getComputedStyle(el).visibility !== 'hidden';
  };
  const found = [];
  const boxes = ['[data-testid="stWidgetLabel"]', '[data-testid="stMetricLabel"]', '[data-testid="stMetricValue"]',
                 '[data-testid="stDateInputFieldsScroller"]', 'button', 'h1', 'h2', 'h3'];
  for (const box of document.querySelectorAll(boxes.join(','))) {
    for (const el of [box, ...box.querySelectorAll('*')]) {
      if (visible(el) && el.scrollWidth > el.clientWidth + 1 && getComputedStyle(el).overflowX !== 'visible') {
        found.push(`${(box.innerText || box.getAttribute('aria-label') || '').trim()} (${el.scrollWidth} > ${el.clientWidth})`);
        break;
      }
    }
  }
  const ruler = document.createElement('canvas').getContext('2d');
  for (const el of document.querySelectorAll('input[type="text"], input:not([type])')) {
    if (!visible(el)) continue;
    const style = getComputedStyle(el);
    ruler.font = `${style.fontWeight} ${style.fontSize} ${style.fontFamily}`;
    const text = el.value || el.placeholder || '';
    const room = el.clientWidth - parseFloat(style.paddingLeft) - parseFloat(style.paddingRight);
    const need = ruler.measureText(text).width + text.length * (parseFloat(style.letterSpacing) || 0);
    if (need > room + 1) found.push(`input "${text}" (${Math.round(need)} > ${Math.round(room)})`);
  }
  if (grids) {
    for (const el of document.querySelectorAll('[data-testid="stDataFrame"] .dvn-scroller')) {
      if (visible(el) && el.scrollWidth > el.clientWidth + 1) found.push(`table scrolls (${el.scrollWidth} > ${el.clientWidth})`);
    }
  }
  return found;
}
"""

# Streamlit's data grid draws its cells on a canvas and clips each at its edge: installed before the
# page loads, this records every text drawn wider than the clip it is drawn in (a cut cell) in
# ``window.__cutText``. Only the clips' left and right edges count; wrapped text is drawn line by line.
GRID_TEXT_JS = """
(() => {
  const P = CanvasRenderingContext2D.prototype;
  const state = new WeakMap();
  const get = c => { let s = state.get(c); if (!s) { s = {stack: [], clip: null, rect: null}; state.set(c, s); } return s; };
  const dev = (c, x, y) => { const m = c.getTransform(); return {x: m.a * x + m.c * y + m.e, y: m.b * x + m.d * y + m.f}; };
  const wrap = (name, fn) => { const orig = P[name]; P[name] = function (...a) { fn(this, a); return orig.apply(this, a); }; };
  wrap('save', c => { const s = get(c); s.stack.push(s.clip); });
  wrap('restore', c => { const s = get(c); s.clip = s.stack.length ? s.stack.pop() : null; });
  wrap('beginPath', c => { get(c).rect = null; });
  wrap('rect', (c, [x, y, w, h]) => {
    const a = dev(c, x, y), b = dev(c, x + w, y + h);
    const r = {l: Math.min(a.x, b.x), r: Math.max(a.x, b.x)};
    const s = get(c); s.rect = s.rect ? {l: Math.min(s.rect.l, r.l), r: Math.max(s.rect.r, r.r)} : r;
  });
  wrap('clip', c => { const s = get(c); if (s.rect) s.clip = s.clip ? {l: Math.max(s.clip.l, s.rect.l), r: Math.min(s.clip.r, s.rect.r)} : s.rect; });
  window.__cutText = new Set();
  wrap('fillText', (c, [text, x, y]) => {
    const s = get(c); const t = String(text); if (!t.trim()) return;
    if (!s.clip) return;
    const w = c.measureText(t).width;
    const align = c.textAlign;
    const left = align === 'right' || align === 'end' ? x - w : align === 'center' ? x - w / 2 : x;
    const a = dev(c, left, y), b = dev(c, left + w, y);
    if (b.x > s.clip.r + 1 || a.x < s.clip.l - 1) window.__cutText.add(t);
  });
})();
"""

# Every text of every Plotly chart (titles, ticks, axis titles, legends, bar labels) inside the chart,
# and no axis title on top of a tick label.
CHART_CUT_JS = """
() => {
  const found = [];
  const hit = (a, b) => a.left < b.right - 1 && b.left < a.right - 1 && a.top < b.bottom - 1 && b.top < a.bottom - 1;
  for (const plot of document.querySelectorAll('.js-plotly-plot')) {
    const svg = plot.querySelector('.main-svg');
    if (!svg) continue;
    const box = svg.getBoundingClientRect();
    const name = (plot.querySelector('.gtitle') || {}).textContent || 'a chart';
    for (const t of plot.querySelectorAll('svg text')) {
      const r = t.getBoundingClientRect();
      if (!t.textContent.trim() || r.width === 0 || t.closest('.hoverlayer')) continue;
      if (r.left < box.left - 1 || r.right > box.right + 1 || r.top < box.top - 1 || r.bottom > box.bottom + 1)
        found.push(`${name}: "${t.textContent}" runs out of the chart`);
    }
    for (const title of plot.querySelectorAll('.g-xtitle text, .g-ytitle text')) {
      for (const tick of plot.querySelectorAll('.xtick text, .ytick text')) {
        if (hit(title.getBoundingClientRect(), tick.getBoundingClientRect()))
          found.push(`${name}: axis title "${title.textContent}" overlaps "${tick.textContent}"`);
      }
    }
  }
  return found;
}
"""


# True once the page has finished laying out after a resize or a new draw: every Plotly chart redrawn at its box's
# width, every visible data grid's canvas at its box's width (the grid redraws up to a second after a resize on a
# loaded machine), and the boxes of charts, plot areas, grids, metrics and the sidebar the same as at the last poll.
SETTLED_JS = """
() => {
  const width = el => el.getBoundingClientRect().width;
  const near = (a, b) => Math.abs(a - b) <= 3;
  const charts = [...document.querySelectorAll('.js-plotly-plot')].every(plot => {
    const svg = plot.querySelector('.main-svg');
    return svg !== null && near(width(svg), width(plot));
  });
  const grids = [...document.querySelectorAll('[data-testid="stDataFrame"]')].every(grid => {
    const canvas = grid.querySelector('canvas');
    return width(grid) === 0 || (canvas !== null && near(width(canvas), width(grid)));
  });
  const parts = '.js-plotly-plot, .js-plotly-plot .draglayer, [data-testid="stDataFrame"] canvas, '
    + '[data-testid="stMetric"], [data-testid="stSidebar"], h1, h2, h3';
  const layout = [...document.querySelectorAll(parts)].map(el => {
    const r = el.getBoundingClientRect();
    return [r.x, r.y, r.width, r.height].map(Math.round).join(',');
  }).join('|') + `@${innerWidth}x${innerHeight}`;
  const still = window.__lastLayout === layout;
  window.__lastLayout = layout;
  return charts && grids && still;
}
"""


def settle(page: Any) -> None:
    """Wait (a condition, not a time) until the charts and grids are drawn at their size and nothing moves."""
    page.evaluate("window.__lastLayout = null")
    page.wait_for_function(SETTLED_JS, polling=100)


def cut_cells(page: Any) -> list[str]:
    """Texts drawn past their cell's edge in the data grids on screen, since the last call."""
    for grid in page.locator('[data-testid="stDataFrame"]').all():
        grid.scroll_into_view_if_needed()
        settle(page)  # the grid draws the rows it shows
    found = page.evaluate("[...window.__cutText]")
    page.evaluate("window.__cutText = new Set()")
    return list(found)


def expected_meetings(domain: str = DEMO_DOMAIN) -> int:
    """Meetings in the demo file with an invitee e-mail at the domain, counted here without the app's code."""
    data = json.loads((ROOT / "engagement" / "demo" / "data" / f"{domain}.json").read_text(encoding="utf-8"))

    def at_domain(email: str | None) -> bool:
        host = (email or "").lower().rpartition("@")[2]
        return host == domain or host.endswith("." + domain)

    return sum(any(at_domain(i.get("email")) for i in m.get("calendar_invitees") or []) for m in data["meetings"])


@pytest.fixture(scope="module")
def chromium() -> Path:
    """Debian's Chromium: skipped locally when missing, but CI must have it."""
    if not CHROMIUM.exists():
        if os.environ.get("CI"):
            pytest.fail(f"{CHROMIUM} is missing on CI: install Debian's chromium (make chromium)")
        pytest.skip(f"{CHROMIUM} is not installed (apt-get install chromium)")
    return CHROMIUM


@pytest.fixture(scope="module")
def model() -> Iterator[FakeOpenAI]:
    """The OpenAI-compatible fake the app analyses with; a test may slow it down (``latency_s``)."""
    with FakeOpenAI(api_key=OPENAI_KEY) as server:
        yield server


def serve(folder: Path, **env: str) -> Iterator[str]:
    """``streamlit run`` on a free loopback port: demo data, both passwords, a database in ``folder``, and ``env``."""
    base = {k: v for k, v in os.environ.items() if not k.startswith("OPENAI_")}
    env = {
        **base,
        "ENGAGEMENT_DB": str(folder / "engagement.sqlite"),
        "PYTHONUNBUFFERED": "1",
        "APP_PASSWORD": APP_PASSWORD,
        "ADMIN_PASSWORD": ADMIN_PASSWORD,
        **env,
    }
    with served_app(folder, env) as url:
        yield url


@pytest.fixture(scope="module")
def server_folder(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Where the module's server keeps its database (``engagement.sqlite``) and its log."""
    return tmp_path_factory.mktemp("streamlit")


@pytest.fixture(scope="module")
def server(chromium: Path, model: FakeOpenAI, server_folder: Path) -> Iterator[str]:
    """The app with the fake model (``OPENAI_BASE_URL``)."""
    yield from serve(server_folder, OPENAI_API_KEY=OPENAI_KEY, OPENAI_BASE_URL=model.base_url)


@pytest.fixture(scope="module")
def offline_server(chromium: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """The app as a presenter runs it on the demo accounts: no OpenAI key, so the offline analyser."""
    yield from serve(tmp_path_factory.mktemp("offline"))


@pytest.fixture(scope="module")
def screenshots(tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = Path(os.environ.get("SCREENSHOT_DIR") or tmp_path_factory.mktemp("shots"))
    if not folder.is_absolute():
        folder = ROOT / folder
    folder.mkdir(parents=True, exist_ok=True)
    return folder


@pytest.fixture(scope="module")
def browser(chromium: Path) -> Iterator[Any]:
    from playwright.sync_api import expect, sync_playwright

    expect.set_options(timeout=TIMEOUT_MS)  # assertions wait as long as actions do (the default is 5 s)
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=str(chromium), args=CHROMIUM_ARGS)
        yield browser
        browser.close()


def sign_in(page: Any, password: str) -> None:
    page.get_by_label("Password", exact=True).fill(password)
    page.get_by_role("button", name="Sign in").click()


def past_admin_password(page: Any, shown: Any) -> None:
    """Wait for ``shown`` (what the page draws once open) or the admin password's field, and sign in when asked (the
    admin's own sign-in, kept in its own cookie once given)."""
    from playwright.sync_api import expect

    password = page.get_by_label("Password", exact=True)
    expect(shown.or_(password)).to_be_visible()
    if password.is_visible():
        sign_in(page, ADMIN_PASSWORD)


@pytest.fixture(scope="module")
def context(browser: Any, server: str) -> Iterator[Any]:
    """One browser profile, signed in once: its cookie signs in every page opened in it."""
    context = browser.new_context(viewport=VIEWPORT)
    context.set_default_timeout(TIMEOUT_MS)
    context.add_init_script(script=GRID_TEXT_JS)
    page = context.new_page()
    page.goto(server)
    sign_in(page, APP_PASSWORD)
    page.get_by_placeholder("https://www.acmecorp.com").wait_for()
    page.wait_for_function("() => document.cookie.includes('engagement_app=')")
    page.close()
    yield context
    context.close()


@pytest.fixture
def page(context: Any, tmp_path: Path, request: pytest.FixtureRequest) -> Iterator[Any]:
    """A new tab in the signed-in profile; what it showed is saved (in the test's tmp dir) when the test fails."""
    page = context.new_page()
    failed_before = request.session.testsfailed
    yield page
    if request.session.testsfailed > failed_before:
        page.screenshot(path=str(tmp_path / "failure.png"))
    page.close()


def open_demo(page: Any, server: str, company: str) -> str:
    """Click a demo account's button and wait for its finished summary; returns the job's URL."""
    from playwright.sync_api import expect

    page.goto(server)
    page.get_by_role("button", name=company, exact=True).click()
    page.wait_for_url("**run_id=*")
    expect(page.locator(".js-plotly-plot")).to_have_count(CHARTS)
    return str(page.url)


def no_exception(page: Any) -> None:
    assert page.locator('[data-testid="stException"]').count() == 0


@SHARED_A
def test_a_summary_runs_in_a_real_browser_and_the_admin_page_lists_it(
    page: Any, server: str, screenshots: Path
) -> None:
    """Type the website, click Generate, see the charts and the right meeting count, then find the job in admin.

    Nothing is fetched from outside the app (the page icon is shipped), and the job and the website
    are still there after a visit to admin through the sidebar.
    """
    from playwright.sync_api import expect

    expected = expected_meetings()
    assert expected > 0
    sent: list[float] = []  # messages from the browser to the app: reruns, fragment polls
    page.on("websocket", lambda ws: ws.on("framesent", lambda _: sent.append(time.monotonic())))
    asked: list[str] = []  # every address the page fetches: the page icon and fonts included
    page.on("request", lambda request: asked.append(request.url))
    page.goto(server)
    icon = page.locator("link[rel~='icon']").first
    expect(icon).to_have_attribute("href", re.compile(r"^(?!https?://(?!127\.0\.0\.1)).*"))

    page.get_by_placeholder("https://www.acmecorp.com").fill("https://www.acmecorp.com")
    page.get_by_role("button", name="Generate Meeting Summary").click()
    page.wait_for_url("**run_id=*")
    expect(page.locator(".js-plotly-plot")).to_have_count(CHARTS)

    meetings = page.locator('[data-testid="stMetric"]').filter(has=page.get_by_text("Meetings", exact=True))
    expect(meetings.locator('[data-testid="stMetricValue"]')).to_have_text(str(expected))
    expect(page.get_by_role("heading", name="Goals")).to_be_visible()
    expect(page.get_by_role("link", name="open in Fathom ↗").first).to_be_attached()
    no_exception(page)
    quiet_from = time.monotonic()
    page.wait_for_timeout(POLL_WINDOW_MS)
    assert not [t for t in sent if t > quiet_from], "the page kept polling after the job finished"

    # Summary → Admin → Summary through the sidebar keeps the job on show and the website typed
    job = page.url
    page.get_by_role("link", name="Admin").click()
    sign_in(page, ADMIN_PASSWORD)
    expect(page.get_by_role("heading", name="Admin")).to_be_visible()
    cell = page.locator('[data-testid="stDataFrame"] td[role="gridcell"]', has_text=DEMO_DOMAIN)
    expect(cell.first).to_be_attached()
    jobs = page.locator('[data-testid="stMetric"]').filter(has=page.get_by_text("Complete", exact=True))
    expect(jobs.locator('[data-testid="stMetricValue"]')).not_to_have_text("0")
    no_exception(page)

    outside = [url for url in asked if not url.startswith((server, "data:", "blob:"))]
    assert outside == [], f"fetched from outside the app: {outside}"

    page.get_by_role("link", name="Summary").click()
    page.wait_for_url(job)
    expect(page.locator(".js-plotly-plot")).to_have_count(CHARTS)
    page.get_by_text("every meeting · change").click()  # the form, folded to one line over the summary
    expect(page.get_by_placeholder("https://www.acmecorp.com")).to_have_value("https://www.acmecorp.com")


@SHARED_A
def test_the_accounts_page_lists_the_demo_companies_and_opens_a_summary(page: Any, server: str) -> None:
    """Accounts: the demo customers and the partner are listed; Open summary shows (or starts) one's summary."""
    from playwright.sync_api import expect

    page.goto(server)
    page.get_by_role("link", name="Accounts").click()
    expect(page.get_by_role("heading", name="Accounts")).to_be_visible()
    for domain in (DEMO_DOMAIN, "globex.io", "bridgepoint-consulting.com"):
        cell = page.locator('[data-testid="stDataFrame"] td[role="gridcell"]', has_text=domain)
        expect(cell.first).to_be_attached()
    no_exception(page)
    page.get_by_role("button", name="Open summary").click()  # the most recently met account
    page.wait_for_url("**run_id=*")
    expect(page.locator('[data-testid="stMetric"]').first).to_be_visible()
    no_exception(page)


@SHARED_A
def test_linking_a_suggested_pair_from_the_accounts_page_in_a_real_browser(page: Any, server: str) -> None:
    """The suggestion shows its reason; a click makes one row naming both domains; Unlink all gives two rows back."""
    from playwright.sync_api import expect

    page.goto(server)
    page.get_by_role("link", name="Accounts").click()
    expect(page.get_by_role("heading", name="Accounts")).to_be_visible()
    expect(page.get_by_text("The same name under another ending").first).to_be_visible()
    cells = page.locator('[data-testid="stDataFrame"] td[role="gridcell"]')
    expect(cells.filter(has_text=re.compile(r"^acmecorp\.co$")).first).to_be_attached()  # not linked on its own
    page.get_by_role("button", name="Link acmecorp.co to acmecorp.com").click()
    unlink = page.get_by_role("button", name="Unlink all")
    try:
        expect(page.get_by_text("is now one account").first).to_be_visible()
        expect(cells.filter(has_text="acmecorp.com (with acmecorp.co)").first).to_be_attached()
        expect(cells.filter(has_text=re.compile(r"^acmecorp\.co$"))).to_have_count(0)
        no_exception(page)
    finally:  # the module's other tests share this server: the demo accounts go back as they were
        if unlink.count():
            unlink.click()
    expect(page.get_by_text("Each is its own account again").first).to_be_visible()
    expect(cells.filter(has_text=re.compile(r"^acmecorp\.co$")).first).to_be_attached()
    no_exception(page)


# The admin page's job table: it scrolls sideways when its columns are wider than the page gives it.
JOBS_GRID_SCROLLS_JS = """
() => [...document.querySelectorAll('[class*="st-key-admin_jobs_"] .dvn-scroller')]
  .filter(el => el.scrollWidth > el.clientWidth + 1).map(el => `${el.scrollWidth} > ${el.clientWidth}`)
"""


@SHARED_A
def test_nothing_is_cut_off_at_common_sizes(page: Any, server: str, server_folder: Path, screenshots: Path) -> None:
    """From 1024 to 1920 wide, normal and presenting, no label, button, metric, field, chart text or table cell is cut.

    No table scrolls sideways either, except beside the 300-pixel sidebar at 1024, where the summary's
    grids may (their names stay pinned). The Accounts table never does, sidebar open or not, nor the admin
    page's job table, with a long domain, a date range and a failure among its rows; the audit log's cells (a long
    address and detail among them) wrap whole, its time pinned.
    """
    from playwright.sync_api import expect

    failed = make_record(
        None,
        status=JobStatus.ERROR,
        domain="bridgepoint-consulting.com",
        run_id=str(uuid.uuid4()),
        options={"since": "2026-06-01", "until": "2026-06-30"},
        analyzer="openai:gpt-5.4-mini",
        source="fathom",
        error="Fathom refused the API key (401 Unauthorized). Check FATHOM_API_KEY in the settings and try "
        "again.\n\nFathom said: the key was revoked by a workspace admin.",
    )
    seed_records(server_folder / "engagement.sqlite", failed)  # the server reads the same file
    store = SqliteKV(server_folder / "engagement.sqlite")
    try:  # and an audit entry with a long address and detail for the admin page's log
        AuditLog(store.table(AUDIT_TABLE)).record(
            "alexandra.fitzgerald@bridgepoint-consulting.com",
            "forgot",
            "bridgepoint-consulting.com",
            "forgot every meeting, job, question and cached analysis naming bridgepoint-consulting.com (14 meetings)",
        )
    finally:
        store.close()

    for company in ("Acme Corp", "Brightwater Utilities"):
        job = open_demo(page, server, company)
        for presenting in (False, True):
            if presenting:
                page.goto(job + "&present=1")
                expect(page.locator(".js-plotly-plot")).to_have_count(PRESENTED_CHARTS)
            for width, height in SIZES:
                page.set_viewport_size({"width": width, "height": height})
                expect(page.locator('[data-testid="stMetricValue"]')).to_have_count(5)
                settle(page)  # the layout settles after a resize
                where = f"{company} at {width}×{height}{' presenting' if presenting else ''}"
                cut = page.evaluate(TRUNCATED_JS, width >= 1280 or presenting)
                assert cut == [], f"cut off, {where}: {cut}"
                assert page.evaluate(CHART_CUT_JS) == [], f"chart text cut, {where}"
                assert cut_cells(page) == [], f"table cells cut, {where}"
    page.goto(server)
    page.get_by_role("link", name="Accounts").click()
    expect(page.locator('[data-testid="stDataFrame"] td[role="gridcell"]', has_text=DEMO_DOMAIN).first).to_be_attached()
    for width, height in SIZES:
        page.set_viewport_size({"width": width, "height": height})
        settle(page)
        expect(page.locator('[data-testid="stSidebar"]')).to_be_visible()  # the sidebar open beside it
        cut = page.evaluate(TRUNCATED_JS, True)
        assert cut == [], f"Accounts cut off at {width}×{height}: {cut}"
        assert cut_cells(page) == [], f"Accounts cells cut at {width}×{height}"
    no_exception(page)
    page.get_by_role("link", name="Admin").click()
    grid = page.locator('[class*="st-key-admin_jobs_"] [data-testid="stDataFrame"]')
    past_admin_password(page, grid)
    expect(grid.locator('td[role="gridcell"]', has_text="bridgepoint-consulting.com").first).to_be_attached()
    for width, height in SIZES:
        page.set_viewport_size({"width": width, "height": height})
        page.wait_for_timeout(700)
        expect(page.locator('[data-testid="stSidebar"]')).to_be_visible()
        grid.scroll_into_view_if_needed()
        assert page.evaluate(JOBS_GRID_SCROLLS_JS) == [], f"the admin's job table scrolls at {width}×{height}"
        cut = page.evaluate(TRUNCATED_JS, False)
        assert cut == [], f"Admin cut off at {width}×{height}: {cut}"
        assert cut_cells(page) == [], f"Admin cells cut at {width}×{height} (the job table and the audit log)"
    page.set_viewport_size(VIEWPORT)
    no_exception(page)


def montage(shots: list[Path], target: Path, width: int = 1280) -> None:
    """Screenshots one under another, each scaled to ``width`` and separated by a grey rule, in one PNG."""
    from PIL import Image

    images = [Image.open(shot) for shot in shots]
    scaled = [im.resize((width, round(im.height * width / im.width))) for im in images]
    sheet = Image.new("RGB", (width, sum(im.height for im in scaled) + 12 * (len(scaled) - 1)), "#9aa5b1")
    top = 0
    for im in scaled:
        sheet.paste(im, (0, top))
        top += im.height + 12
    sheet.save(target, optimize=True)


def pdf_sheet(pages: list[Path], target: Path) -> None:
    """Printed pages side by side on a grey ground, as a reader would lay them out."""
    from PIL import Image

    images = [Image.open(page) for page in pages]
    gap = 16
    sheet = Image.new(
        "RGB",
        (sum(im.width for im in images) + gap * (len(images) + 1), max(im.height for im in images) + 2 * gap),
        "#9aa5b1",
    )
    left = gap
    for im in images:
        sheet.paste(im, (left, gap))
        left += im.width + gap
    sheet.save(target, optimize=True)


@OWN_SERVERS
def test_the_answer_is_above_the_fold_and_the_readme_pictures(
    browser: Any, offline_server: str, screenshots: Path, tmp_path: Path
) -> None:
    """At 1280×720, normal and presenting, the metrics and the overview (top themes; the risks raised, for the team
    only) are on the first screen under a one-line request; the README's pictures are taken at 1024, 1280 and 1920 on the way,
    from the offline analyser a presenter with no OpenAI key shows."""
    from playwright.sync_api import expect

    server = offline_server
    context = signed_in_context(browser, server)
    context.add_init_script(script=GRID_TEXT_JS)
    page = context.new_page()
    job = open_demo(page, server, "Acme Corp")
    shots: dict[str, list[Path]] = {"summary": [], "present": []}
    for presenting in (False, True):
        if presenting:
            page.goto(job + "&present=1")
            expect(page.locator(".js-plotly-plot")).to_have_count(PRESENTED_CHARTS)
        else:
            expect(page.get_by_text("acmecorp.com · every meeting · change")).to_be_visible()  # the form, folded
            expect(page.get_by_role("button", name="Generate Meeting Summary")).to_be_hidden()
        for width, height in SIZES:
            page.set_viewport_size({"width": width, "height": height})
            settle(page)
            if (width, height) == (1280, 720):
                glance = page.locator(".st-key-summary_glance")
                expect(glance).to_contain_text("Top themes")
                if presenting:  # risks are not on a presentation's allow-list unless the presenter chose them
                    expect(glance).not_to_contain_text("Risks raised")
                else:
                    expect(glance).to_contain_text("Risks raised")
                for part in (page.locator('[data-testid="stMetric"]').first, glance):
                    box = part.bounding_box()
                    assert box is not None and box["y"] + box["height"] <= height, f"below the fold: {box}"
            shot = tmp_path / f"{'present' if presenting else 'summary'}-{width}.png"
            page.mouse.move(width - 5, height - 5)
            page.screenshot(path=str(shot))
            shots["present" if presenting else "summary"].append(shot)
    (tmp_path / "summary-1280.png").replace(screenshots / "screenshot-summary.png")
    montage([shots["summary"][0], shots["summary"][2]], screenshots / "screenshot-summary-sizes.png")
    montage(shots["present"], screenshots / "screenshot-present.png")

    page.goto(job)
    page.set_viewport_size({"width": 1280, "height": 900})
    page.get_by_role("heading", name="Meeting timeline").scroll_into_view_if_needed()
    page.get_by_text("and their quotes").click()
    settle(page)
    page.get_by_role("heading", name="Meeting timeline").evaluate("h => h.scrollIntoView()")
    settle(page)
    page.screenshot(path=str(screenshots / "screenshot-timeline.png"))

    with page.expect_download() as download:  # the one-click PDF, printed by Chromium on the server
        page.get_by_role("button", name="PDF").click()
    printed = tmp_path / "report.pdf"
    download.value.save_as(printed)
    assert download.value.suggested_filename.startswith(f"engagement-{DEMO_DOMAIN}-all-meetings-made-")
    assert printed.read_bytes().startswith(b"%PDF")
    if shutil.which("pdftoppm"):
        subprocess.run(
            ["pdftoppm", "-png", "-r", "60", "-f", "1", "-l", "4", str(printed), str(tmp_path / "page")], check=True
        )
        pages = sorted(tmp_path.glob("page-*.png"))
        assert len(pages) == 4, "the report prints on several pages"
        pdf_sheet(pages, screenshots / "screenshot-pdf.png")

    for name, path in (("accounts", "/accounts"), ("admin", "/admin")):
        page.goto(server + path)
        grid = page.locator('[data-testid="stDataFrame"]').first
        past_admin_password(page, grid)
        expect(grid).to_be_visible()
        sized = []
        for width, height in SIZES:
            page.set_viewport_size({"width": width, "height": height})
            page.mouse.move(width - 5, height - 5)  # away from the sidebar, whose collapse button shows on hover
            settle(page)
            sized.append(tmp_path / f"{name}-{width}.png")
            page.screenshot(path=str(sized[-1]))
        sized[1].replace(screenshots / f"screenshot-{name}.png")
        montage([sized[0], sized[2]], screenshots / f"screenshot-{name}-sizes.png")  # 1024 and 1920, in docs/
    page.set_viewport_size(VIEWPORT)
    no_exception(page)
    context.close()


@SHARED_B
def test_a_date_range_run_reopened_from_its_link_shows_its_range(page: Any, server: str, context: Any) -> None:
    """A run for 1 Jun – 31 Aug 2026: its link shows the range in the heading, the date field and the metrics."""
    from playwright.sync_api import expect

    page.goto(server)
    page.get_by_placeholder("https://www.acmecorp.com").fill("acmecorp.com")
    page.get_by_role("spinbutton", name="year, Meetings between (optional) start date").click()
    page.keyboard.type("20260601")  # the field moves from year to month to day by itself
    page.get_by_role("spinbutton", name="year, Meetings between (optional) end date").click()
    page.keyboard.type("20260831")
    page.keyboard.press("Tab")
    page.get_by_role("button", name="Generate Meeting Summary").click()
    page.wait_for_url("**run_id=*")
    expect(page.locator(".js-plotly-plot")).to_have_count(CHARTS)

    again = context.new_page()  # the shared link, in a new tab
    try:
        again.goto(page.url)
        expect(again.get_by_role("heading", name=re.compile("1 Jun 2026 – 31 Aug 2026"))).to_be_visible()
        again.get_by_text("1 Jun 2026 – 31 Aug 2026 · change").click()  # the request, folded to one line
        field = again.locator('[data-testid="stDateInputField"]')
        expect(field).to_have_text(re.compile("2026\\s*-\\s*06\\s*-\\s*01\\s*–\\s*2026\\s*-\\s*08\\s*-\\s*31"))
        expect(again.get_by_text("Days since last in range")).to_be_visible()
        expect(again.get_by_text(re.compile("only meetings between 1 Jun 2026 and 31 Aug 2026"))).to_be_visible()
        no_exception(again)
    finally:
        again.close()


@SHARED_A
def test_a_personal_mailbox_domain_is_refused_before_any_job(page: Any, server: str) -> None:
    """gmail.com gets the message under the field and no job starts."""
    from playwright.sync_api import expect

    page.goto(server)
    page.get_by_placeholder("https://www.acmecorp.com").fill("gmail.com")
    page.get_by_role("button", name="Generate Meeting Summary").click()
    expect(page.get_by_text(re.compile("personal e-mail provider, not a company"))).to_be_visible()
    assert "run_id" not in page.url


@SHARED_B
def test_delete_selected_asks_first(page: Any, server: str) -> None:
    """Selecting a job and pressing Delete selected shows the count and deletes nothing until confirmed."""
    from playwright.sync_api import TimeoutError as PlaywrightTimeoutError
    from playwright.sync_api import expect

    open_demo(page, server, "Acme Corp")
    page.goto(f"{server}/admin")
    grid = page.locator('[data-testid="stDataFrame"]').first
    past_admin_password(page, grid)
    expect(grid).to_be_visible()
    before = page.locator('[data-testid="stMetric"]').first.locator('[data-testid="stMetricValue"]').inner_text()
    box = grid.bounding_box()
    assert box is not None
    delete = page.get_by_role("button", name="Delete selected (1)")
    for _ in range(3):  # the grid is a canvas: a click before it is ready to take one selects nothing
        if page.get_by_role("button", name="Delete selected", exact=True).is_visible():
            page.mouse.click(box["x"] + 20, box["y"] + 35 + 17)  # the first row's selection box, below the header
        try:
            delete.wait_for(timeout=10_000)
            break
        except PlaywrightTimeoutError:
            continue
    delete.click()
    expect(page.get_by_text("1 selected job will be deleted. This cannot be undone.")).to_be_visible()
    jobs = page.locator('[data-testid="stMetric"]').first.locator('[data-testid="stMetricValue"]')
    expect(jobs).to_have_text(before)
    page.get_by_role("button", name="Cancel").click()
    expect(page.get_by_text("will be deleted")).to_have_count(0)
    expect(jobs).to_have_text(before)


@SHARED_B
def test_back_returns_each_page_as_it_was(page: Any, server: str) -> None:
    """Admin → Summary through the sidebar and Back is the admin page at /admin, however soon after the summary's
    address Back is pressed (the job rides on the sidebar's link, so nothing writes it into the address later); Summary →
    Admin and Back is the summary with its job, and Forward is admin again — never /admin?domain=…&run_id=…."""
    from playwright.sync_api import expect

    job = open_demo(page, server, "Acme Corp")
    page.get_by_role("link", name="Admin").click()  # through the sidebar: the same session keeps the job
    grid = page.locator('[data-testid="stDataFrame"]').first
    past_admin_password(page, grid)
    expect(grid).to_be_visible()
    admin_url = f"{server}/admin"
    for wait_ms in (0, 50, 300, 1500):
        page.get_by_role("link", name="Summary").click()
        page.wait_for_url(lambda url: "/admin" not in url)  # the summary is in the history: its run is under way
        page.wait_for_timeout(wait_ms)
        page.go_back()
        page.wait_for_timeout(1500)  # anything the summary's run still sends has arrived
        assert page.url == admin_url, f"Back {wait_ms} ms after leaving admin: {page.url}"
        expect(page.get_by_role("heading", name="Admin")).to_be_visible()
    page.get_by_role("link", name="Summary").click()
    page.wait_for_url(job)  # the sidebar's link names the job: it is in the address from the start
    expect(page.locator(".js-plotly-plot")).to_have_count(CHARTS)
    page.get_by_role("link", name="Admin").click()
    expect(page.get_by_role("heading", name="Admin")).to_be_visible()
    assert page.url == admin_url
    page.go_back()
    page.wait_for_url(job)
    expect(page.locator(".js-plotly-plot")).to_have_count(CHARTS)
    page.go_forward()
    expect(page.get_by_role("heading", name="Admin")).to_be_visible()
    page.wait_for_timeout(1500)
    assert page.url == admin_url
    no_exception(page)


@SHARED_B
def test_generating_a_summary_is_one_step_back(page: Any, server: str) -> None:
    """A demo button shows its job with one entry of history: Back is the page before, not a half-written URL."""
    from playwright.sync_api import expect

    page.goto(f"{server}/accounts")
    expect(page.get_by_role("heading", name="Accounts")).to_be_visible()
    page.get_by_role("link", name="Summary").click()
    expect(page.get_by_role("button", name="Acme Corp", exact=True)).to_be_visible()
    before = page.url
    open_demo_here = page.get_by_role("button", name="Acme Corp", exact=True)
    open_demo_here.click()
    page.wait_for_url("**run_id=*")
    expect(page.locator(".js-plotly-plot")).to_have_count(CHARTS)
    page.go_back()
    page.wait_for_timeout(1000)
    assert page.url == before, f"Back from a new summary went to {page.url}"


@SHARED_B
def test_the_facts_are_on_screen_before_the_analysis_ends(page: Any, server: str, model: FakeOpenAI) -> None:
    """While the model has not answered, the meeting count, people and months show and the sections wait for it."""
    from playwright.sync_api import expect

    held = model.gate = threading.Event()  # every model call waits until the facts were seen (a slow model, at will)
    try:
        page.goto(server)
        page.get_by_role("button", name="Globex", exact=True).click()
        page.wait_for_url("**run_id=*")
        meetings = page.locator('[data-testid="stMetric"]').filter(has=page.get_by_text("Meetings", exact=True))
        expect(meetings.locator('[data-testid="stMetricValue"]')).to_have_text(str(expected_meetings("globex.io")))
        expect(page.get_by_text(re.compile("Analysing meetings: \\d+ of \\d+ done")).first).to_be_visible()
        expect(page.locator(".js-plotly-plot")).to_have_count(2)  # months and people; themes wait
        expect(page.get_by_role("heading", name=re.compile("^Globex"))).to_be_visible()
    finally:
        held.set()
        model.gate = None
    expect(page.locator(".js-plotly-plot")).to_have_count(CHARTS)
    expect(page.get_by_text(re.compile("Analysing meetings"))).to_have_count(0)
    no_exception(page)


# When the finished summary's five charts were drawn, and when its first section below them (the goals) came.
SECTIONS_WATCH_JS = """
(() => {
  window.__at = {};
  new MutationObserver(() => {
    const result = document.querySelector('.st-key-summary_result');
    if (!result) return;
    const drawn = [...result.querySelectorAll('.js-plotly-plot')].filter(IS_DRAWN).length;
    if (drawn >= CHARTS && !window.__at.charts) window.__at.charts = performance.now();
    if (result.querySelector('.st-key-part_goals') && !window.__at.sections) window.__at.sections = performance.now();
  }).observe(document, {childList: true, subtree: true});
})();
""".replace("CHARTS", str(CHARTS)).replace("IS_DRAWN", IS_DRAWN_JS)


@SHARED_B
def test_a_finished_summarys_sections_come_once_its_charts_are_drawn(page: Any, server: str) -> None:
    """The browser asks for the sections below the charts once it has drawn them: while the chart library is held
    back, the finished summary's top is on screen and its sections wait; let through, the charts come first."""
    from playwright.sync_api import TimeoutError as PlaywrightTimeout
    from playwright.sync_api import expect

    held: list[Any] = []
    page.route("**/PlotlyChart.*.js", lambda route: held.append(route))  # Plotly's module: it waits for the test
    page.add_init_script(script=SECTIONS_WATCH_JS)
    page.goto(server)
    page.get_by_placeholder("https://www.acmecorp.com").fill("brightwater.co.uk")
    page.get_by_role("button", name="Generate Meeting Summary").click()
    fresh = page.get_by_role("button", name="Generate a fresh one")
    page.wait_for_function("location.search.includes('run_id') || document.body.innerText.includes('Generate a fresh')")
    if "run_id" not in page.url:  # a recent summary is offered: a new job, drawn running first
        fresh.click()
        page.wait_for_url("**run_id=*")
    expect(page.locator('.st-key-summary_result [data-testid="stMetric"]').first).to_be_visible()
    try:  # the server made the sections at once before; now they wait for the charts
        page.wait_for_function("window.__at.sections", timeout=1000)
    except PlaywrightTimeout:
        pass
    assert held, "the chart library was requested"
    for request in held:
        request.continue_()
    page.unroute("**/PlotlyChart.*.js")
    page.wait_for_function("window.__at.charts && window.__at.sections")
    at = page.evaluate("window.__at")
    assert at["charts"] <= at["sections"], f"the sections came {at['charts'] - at['sections']:.0f} ms before the charts"
    no_exception(page)


@SHARED_B
def test_sign_in_survives_a_reload_and_sign_out_ends_it(browser: Any, server: str) -> None:
    """After the password a reload stays signed in (a cookie with a signed token); after Sign out it asks again."""
    from playwright.sync_api import expect

    context = browser.new_context(viewport=VIEWPORT)
    try:
        page = context.new_page()
        page.goto(server)
        sign_in(page, APP_PASSWORD)
        expect(page.get_by_placeholder("https://www.acmecorp.com")).to_be_visible()
        page.wait_for_function("() => document.cookie.includes('engagement_app=')")
        assert all(APP_PASSWORD not in c["value"] for c in context.cookies())
        page.reload()
        expect(page.get_by_placeholder("https://www.acmecorp.com")).to_be_visible()
        page.get_by_role("button", name="Sign out").click()
        expect(page.get_by_label("Password", exact=True)).to_be_visible()
        page.wait_for_function("() => !document.cookie.includes('engagement_app=')")
        page.reload()
        expect(page.get_by_label("Password", exact=True)).to_be_visible()
    finally:
        context.close()


@SHARED_B
def test_the_question_box_answers_in_a_real_browser(page: Any, server: str) -> None:
    """Under the demo summary: the model's answer about single sign-on arrives with its quotes; Mars is "not found"."""
    from playwright.sync_api import expect

    meetings = expected_meetings()
    open_demo(page, server, "Acme Corp")
    box = page.get_by_placeholder("What did they say about single sign-on?")
    box.fill("What did they say about single sign-on?")
    page.get_by_role("button", name="Ask", exact=True).click()
    expect(page.get_by_text(f"Mentioned in 5 of {meetings} meetings", exact=False).first).to_be_visible()
    expect(page.get_by_text("They said:", exact=False).first).to_be_visible()  # the fake model's points
    box.fill("What did they say about the weather on Mars?")
    box.press("Enter")
    expect(page.get_by_text(f"Not found in {meetings} meetings", exact=False).first).to_be_visible()
    no_exception(page)


INTERNAL_PARTS = ("signals", "changes", "coverage", "risks", "recommendations")
EMAIL_ADDRESS = re.compile(r"[\w.+-]+@[\w-]+(?:\.[\w-]+)+")
PROBE = "<script>alert(1)</script> What did they say about single sign-on?"
DECISION = "Who is the decision maker?"


@SHARED_B
def test_presentation_mode_of_a_second_run_shows_nothing_internal(
    page: Any, server: str, screenshots: Path, tmp_path: Path
) -> None:
    """A second run of Acme with two stored questions (a script probe among them), opened with ?present=1 in the
    same browser: no signal, talk share, Since panel, recommendation, risk, demo button, stored question or e-mail."""
    from playwright.sync_api import expect

    from engagement.render.present import SIGNAL_NAMES

    first = open_demo(page, server, "Acme Corp")
    page.get_by_text("every meeting · change").click()  # the form, folded to one line over the summary
    page.get_by_placeholder("https://www.acmecorp.com").fill(DEMO_DOMAIN)
    page.get_by_role("button", name="Generate Meeting Summary").click()
    page.get_by_role("button", name="Generate a fresh one").click()  # a summary from moments ago is offered
    page.wait_for_url(lambda url: "run_id=" in url and url.split("run_id=")[1] != first.split("run_id=")[1])
    expect(page.locator(".js-plotly-plot")).to_have_count(CHARTS)
    expect(page.locator(".st-key-part_changes")).to_contain_text("Since")  # a second run: what changed
    box = page.get_by_placeholder("What did they say about single sign-on?")
    for question in (PROBE, DECISION):
        box.fill(question)
        page.get_by_role("button", name="Ask", exact=True).click()
        expect(page.get_by_text(question, exact=True)).to_be_visible()
    expect(page.get_by_text("Answering…")).to_have_count(0)
    internal = {key: page.locator(f".st-key-part_{key}") for key in INTERNAL_PARTS}
    lines = {
        line.strip()
        for part in internal.values()
        for n in range(part.count())
        for line in part.nth(n).inner_text().splitlines()
        # sentences: not a lone date, count or icon name, nor a quote's "— speaker, date" that a goal's may share
        if len(line.strip()) > 12 and not line.strip().startswith("—") and not re.fullmatch(r"[a-z_]+", line.strip())
    }
    assert lines, "the normal view shows the internal parts"
    job = page.url
    page.set_viewport_size({"width": 1280, "height": 720})
    page.goto(job)  # at the top of the page
    expect(page.locator(".js-plotly-plot")).to_have_count(CHARTS)
    settle(page)
    page.screenshot(path=str(tmp_path / "second-run.png"))  # the team's view, to compare with the one below

    page.goto(job + "&present=1")
    expect(page.locator(".js-plotly-plot")).to_have_count(PRESENTED_CHARTS)
    expect(page.get_by_role("heading", name="Goals")).to_be_visible()
    expect(page.get_by_role("button", name="Exit presentation")).to_be_visible()
    settle(page)
    page.screenshot(path=str(screenshots / "screenshot-presenting.png"))
    shown = page.locator("body").inner_text()
    words = [*SIGNAL_NAMES.values(), "spoke", "Signals", "Recommendations", "Risks", "Since", "Try a demo"]
    words += ["<script>", "alert(1)", DECISION, "single sign-on?", "Acme Corp\nBrightwater"]
    assert [word for word in words if word in shown] == []
    leaked = [line for line in lines if line in shown]
    assert leaked == [], "\n".join(leaked)
    assert EMAIL_ADDRESS.findall(shown) == [] and EMAIL_ADDRESS.findall(page.content()) == []
    for key in (*INTERNAL_PARTS, "exports", "run_details"):
        assert page.locator(f".st-key-part_{key}").count() == 0, key
    assert page.locator('[data-testid="stSidebar"]').is_hidden()
    page.set_viewport_size(VIEWPORT)
    no_exception(page)


def signed_in_context(browser: Any, server: str) -> Any:
    """A browser profile of its own (its own cookies), signed in."""
    context = browser.new_context(viewport=VIEWPORT)
    context.set_default_timeout(TIMEOUT_MS)
    page = context.new_page()
    page.goto(server)
    sign_in(page, APP_PASSWORD)
    page.get_by_placeholder("https://www.acmecorp.com").wait_for()
    page.wait_for_function("() => document.cookie.includes('engagement_app=')")
    page.close()
    return context


@SHARED_A
def test_the_presenters_checklist_and_the_questions_stay_with_their_browser(browser: Any, server: str) -> None:
    """One browser ticks "Coverage notes" and asks a question: its next tab presents the coverage line and lists the
    question; another browser sees neither."""
    from playwright.sync_api import expect

    mine, theirs = signed_in_context(browser, server), signed_in_context(browser, server)
    try:
        page = mine.new_page()
        job = open_demo(page, server, "Brightwater Utilities")
        page.get_by_placeholder("What did they say about single sign-on?").fill("What did they say about pricing?")
        page.get_by_role("button", name="Ask", exact=True).click()
        expect(page.get_by_text("What did they say about pricing?", exact=True)).to_be_visible()
        page.get_by_text("What presentation mode shows").click()
        page.get_by_text("Coverage notes", exact=True).click()
        page.wait_for_function("() => /engagement_present=[^;]*coverage/.test(document.cookie)")
        assert re.search(r"engagement_browser=[0-9a-f]{32}", page.evaluate("document.cookie"))

        again = mine.new_page()
        again.goto(job + "&present=1")
        expect(again.locator(".js-plotly-plot")).to_have_count(PRESENTED_CHARTS)
        expect(again.locator(".st-key-part_coverage")).to_contain_text("meetings analysed")
        again.goto(job)
        expect(again.get_by_text("What did they say about pricing?", exact=True)).to_be_visible()

        other = theirs.new_page()
        other.goto(job + "&present=1")
        expect(other.locator(".js-plotly-plot")).to_have_count(PRESENTED_CHARTS)
        assert other.locator(".st-key-part_coverage").count() == 0
        other.goto(job)
        expect(other.locator(".js-plotly-plot")).to_have_count(CHARTS)
        expect(other.get_by_role("heading", name="Ask about this account")).to_be_visible()
        assert other.get_by_text("What did they say about pricing?", exact=True).count() == 0
        no_exception(other)
    finally:
        mine.close()
        theirs.close()


# ---------------------------------------------------------------- servers of their own

PASSWORD = "browser-test-password"


def seed_records(db: Path, *records: JobRecord) -> None:
    """Store finished records (and their index rows) in the database the server will open."""
    store = SqliteKV(db)
    try:
        JobRepository(store).create(*records)
    finally:
        store.close()


@pytest.fixture
def signed_server(tmp_path: Path) -> Iterator[tuple[str, JobRecord, JobRecord]]:
    """A fresh server with APP_PASSWORD set and two hostile records: a summary and a failure."""
    db = tmp_path / "engagement.sqlite"
    complete = make_record(make_summary(hostile=True), run_id=str(uuid.uuid4()))
    failed = make_record(
        None, status=JobStatus.ERROR, run_id=str(uuid.uuid4()), error=f"The model refused: {HOSTILE_MARKDOWN}"
    )
    seed_records(db, complete, failed)
    env = {**os.environ, "ENGAGEMENT_DB": str(db), "APP_PASSWORD": PASSWORD, "PYTHONUNBUFFERED": "1"}
    with served_app(tmp_path, env) as url:
        yield url, complete, failed


def sign_in_at(page: Page, url: str) -> None:
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


@OWN_SERVERS
def test_data_is_text_and_exports_expire_without_a_session(
    browser: Any, signed_server: tuple[str, JobRecord, JobRecord], tmp_path: Path
) -> None:
    """Links, images and URLs from data are text, long words wrap, and an export's URL dies with its session."""
    from playwright.sync_api import expect

    url, complete, failed = signed_server
    context = browser.new_context(viewport=VIEWPORT, accept_downloads=True)
    context.set_default_timeout(TIMEOUT_MS)
    page = context.new_page()
    try:
        sign_in_at(page, f"{url}/?domain={complete.domain}&run_id={complete.run_id}")
        expect(page.get_by_role("heading", name="Risks")).to_be_visible()
        expect(page.get_by_text("[Click here to sign in again](https").first).to_be_visible()
        expect(page.get_by_text("evil.example/bare", exact=False).first).to_be_attached()
        assert_shown_as_text(page)
        page.get_by_role("heading", name="Risks").scroll_into_view_if_needed()
        page.screenshot(path=str(tmp_path / "hostile-summary.png"))  # to look at when it fails, not the README's

        with page.expect_download() as download:
            page.get_by_role("button", name="Markdown").click()
        export_url = download.value.url
        assert "/media/" in export_url
        assert "evil" in Path(download.value.path()).read_text(encoding="utf-8")

        page.goto(f"{url}/?domain={failed.domain}&run_id={failed.run_id}")  # still signed in: the cookie
        alert = page.locator('[data-testid="stAlertContentError"]').first
        expect(alert).to_contain_text("[Click here to sign in again](https")
        assert_shown_as_text(page)
    except Exception:
        page.screenshot(path=str(tmp_path / "failure.png"))
        raise
    finally:
        context.close()  # the session ends

    deadline = time.monotonic() + EXPORT_TTL_S + 20
    status = httpx.get(export_url).status_code
    while status != 404 and time.monotonic() < deadline:
        time.sleep(0.5)
        status = httpx.get(export_url).status_code
    assert status == 404, "an export must not outlive its session's use of it"


FRESH_PATHS = ["/", "/summary", "/admin", "/accounts"]


@pytest.fixture(scope="module")
def fresh_servers(chromium: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, str]]:
    """A server for each page in ``FRESH_PATHS``, all started at once, none asked for a page yet: each test below asks
    its own for its one page, so every page is a fresh server's first request."""
    folders = {path: tmp_path_factory.mktemp("fresh") for path in FRESH_PATHS}
    logs = {path: (folder / "streamlit.log").open("wb") for path, folder in folders.items()}

    def start(path: str) -> tuple[subprocess.Popen[bytes], str]:
        env = {**os.environ, "ENGAGEMENT_DB": str(folders[path] / "engagement.sqlite"), "APP_PASSWORD": PASSWORD}
        return start_streamlit("streamlit_app.py", env, output=logs[path])

    with ThreadPoolExecutor(len(FRESH_PATHS)) as pool:
        starting = {path: pool.submit(start, path) for path in FRESH_PATHS}
    started: dict[str, tuple[subprocess.Popen[bytes], str]] = {}
    failures: list[str] = []
    for path, future in starting.items():
        try:
            started[path] = future.result()
        except StreamlitError as exc:
            failures.append(f"{path}: {exc}:\n{(folders[path] / 'streamlit.log').read_text()}")
    try:
        if failures:
            pytest.fail("\n".join(failures))
        yield {path: url for path, (_, url) in started.items()}
    finally:
        with ThreadPoolExecutor(len(FRESH_PATHS)) as pool:
            list(pool.map(stop_streamlit, [proc for proc, _ in started.values()]))
        for log in logs.values():
            log.close()


@OWN_SERVERS
@pytest.mark.parametrize("path", FRESH_PATHS)
def test_a_fresh_server_asks_for_the_password_on_every_page(
    browser: Any, fresh_servers: dict[str, str], path: str
) -> None:
    """The first request to a fresh server, whichever page it names, gets the sign-in form and nothing else."""
    from playwright.sync_api import expect

    url = fresh_servers[path]
    context = browser.new_context(viewport=VIEWPORT)
    try:
        page = context.new_page()
        page.goto(url + path)
        expect(page.get_by_label("Password", exact=True)).to_be_visible(timeout=30_000)
        expect(page.get_by_role("button", name="Sign in")).to_be_visible()
        page.wait_for_timeout(500)  # nothing else arrives after the form
        assert page.get_by_placeholder("https://www.acmecorp.com").count() == 0
        assert page.locator('[data-testid="stMetric"], [data-testid="stDataFrame"]').count() == 0
        assert page.locator('[data-testid="stException"]').count() == 0
    finally:
        context.close()
