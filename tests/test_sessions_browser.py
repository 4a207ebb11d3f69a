"""Password sign-in across two app processes behind one store, in Chromium: a token made by one is accepted by the
other, and a sign-out on one revokes it on both (a copied cookie stops working everywhere)."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.support.streamlit_server import CHROMIUM, CHROMIUM_ARGS, StreamlitError, start_streamlit, stop_streamlit

pytestmark = [pytest.mark.browser, pytest.mark.xdist_group("sessions-browser")]  # one worker: one server for the module
PASSWORD = "two-servers-one-store"
TIMEOUT_MS = 60_000


@pytest.fixture(scope="module")
def servers(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[str, str]]:
    """Two ``streamlit run`` processes on one SQLite file, as two app servers behind a load balancer share a store."""
    if not CHROMIUM.exists():
        if os.environ.get("CI"):
            pytest.fail(f"{CHROMIUM} is missing on CI (make chromium)")
        pytest.skip(f"{CHROMIUM} is not installed")
    folder = tmp_path_factory.mktemp("two-apps")
    env = {**os.environ, "ENGAGEMENT_DB": str(folder / "engagement.sqlite"), "APP_PASSWORD": PASSWORD}
    started: list[Any] = []
    urls: list[str] = []
    try:
        for n in range(2):
            log = (folder / f"app-{n}.log").open("wb")
            try:
                proc, url = start_streamlit("streamlit_app.py", env, output=log)
            except StreamlitError as exc:
                pytest.fail(f"{exc}:\n{(folder / f'app-{n}.log').read_text()}")
            started.append(proc)
            urls.append(url)
        yield urls[0], urls[1]
    finally:
        for proc in started:
            stop_streamlit(proc)


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    from playwright.sync_api import expect, sync_playwright

    expect.set_options(timeout=TIMEOUT_MS)
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        yield browser
        browser.close()


def _cookie_for(url: str, value: str) -> dict[str, Any]:
    return {"name": "engagement_app", "value": value, "url": url}


def test_a_sign_in_holds_on_the_other_server_and_a_sign_out_ends_it_on_both(
    browser: Any, servers: tuple[str, str], tmp_path: Path
) -> None:
    """Signed in on server A, a copy of the cookie opens server B; after Sign out on A it opens neither."""
    from playwright.sync_api import expect

    a, b = servers
    first = browser.new_context()
    first.set_default_timeout(TIMEOUT_MS)
    page = first.new_page()
    page.goto(a)
    page.get_by_label("Password", exact=True).fill(PASSWORD)
    page.get_by_role("button", name="Sign in").click()
    expect(page.get_by_placeholder("https://www.acmecorp.com")).to_be_visible()
    page.wait_for_function("() => document.cookie.includes('engagement_app=')")
    (token,) = [c["value"] for c in first.cookies() if c["name"] == "engagement_app"]

    thief = browser.new_context()  # another browser holding a copy of the cookie, on the other server
    thief.set_default_timeout(TIMEOUT_MS)
    thief.add_cookies([_cookie_for(b, token)])
    other = thief.new_page()
    other.goto(b)
    expect(other.get_by_placeholder("https://www.acmecorp.com")).to_be_visible()

    page.get_by_role("button", name="Sign out").click()
    expect(page.get_by_label("Password", exact=True)).to_be_visible()
    late = thief.new_page()
    late.goto(b)
    expect(late.get_by_label("Password", exact=True)).to_be_visible()
    assert late.get_by_placeholder("https://www.acmecorp.com").count() == 0
    again = thief.new_page()
    again.goto(a)
    expect(again.get_by_label("Password", exact=True)).to_be_visible()
    first.close()
    thief.close()
