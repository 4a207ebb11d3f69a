"""Single sign-on through a real OpenID Connect provider on loopback, in Chromium: Streamlit's ``st.login``, the
allow-list and the admin list (``ALLOWED_EMAILS``, ``ADMIN_EMAILS``)."""

from __future__ import annotations

import os
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.support.oidc_provider import Provider, missing, oidc_provider
from tests.support.streamlit_server import (
    CHROMIUM,
    CHROMIUM_ARGS,
    StreamlitError,
    free_port,
    start_streamlit,
    stop_streamlit,
)

pytestmark = [pytest.mark.browser, pytest.mark.xdist_group("sso")]  # one worker: one server for the module
TIMEOUT_MS = 60_000


@pytest.fixture(scope="module")
def app(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """The app behind single sign-on: the provider, a secrets file with Streamlit's ``[auth]``, the allow-lists."""
    why = missing() or (None if CHROMIUM.exists() else f"{CHROMIUM} is not installed")
    if why:
        if os.environ.get("CI"):
            pytest.fail(why)
        pytest.skip(why)
    folder = tmp_path_factory.mktemp("sso")
    port = free_port()
    with oidc_provider(f"http://127.0.0.1:{port}/oauth2callback") as provider:
        secrets = folder / "secrets.toml"
        secrets.write_text(_auth_section(provider, port))
        env = {
            **os.environ,
            "ENGAGEMENT_DB": str(folder / "engagement.sqlite"),
            "ALLOWED_EMAILS": "acme-sales.com, contractor@freelance.io",
            "ADMIN_EMAILS": "boss@acme-sales.com",
            "APP_PASSWORD": "not used with single sign-on",
        }
        log = (folder / "streamlit.log").open("wb")
        try:
            proc, url = start_streamlit(
                "streamlit_app.py", env, output=log, port=port, args=["--secrets.files", str(secrets)]
            )
        except StreamlitError as exc:
            log.close()
            pytest.fail(f"{exc}:\n{(folder / 'streamlit.log').read_text()}")
        try:
            yield url
        finally:
            stop_streamlit(proc)
            log.close()


def _auth_section(provider: Provider, port: int) -> str:
    return f"""[auth]
redirect_uri = "http://127.0.0.1:{port}/oauth2callback"
cookie_secret = "a-long-random-test-cookie-secret-0123456789"
client_id = "{provider.client_id}"
client_secret = "{provider.client_secret}"
server_metadata_url = "{provider.metadata_url}"
client_kwargs = {{ prompt = "login" }}
"""


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    from playwright.sync_api import expect, sync_playwright

    expect.set_options(timeout=TIMEOUT_MS)
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        yield browser
        browser.close()


@pytest.fixture
def page(browser: Any, tmp_path: Path, request: pytest.FixtureRequest) -> Iterator[Any]:
    """A fresh browser profile (no one signed in); a screenshot is kept in the test's tmp dir when it fails."""
    context = browser.new_context(viewport={"width": 1280, "height": 720})
    context.set_default_timeout(TIMEOUT_MS)
    page = context.new_page()
    failed_before = request.session.testsfailed
    yield page
    if request.session.testsfailed > failed_before:
        page.screenshot(path=str(tmp_path / "failure.png"))
    context.close()


def shown(text: str) -> re.Pattern[str]:
    """``text`` as the page shows an address: a word joiner after "@" keeps it from becoming a link."""
    return re.compile(re.escape(text).replace("@", "@\u2060?"))


def sign_in_as(page: Any, app: str, email: str) -> None:
    """Open the app, press Sign in, and sign in at the provider's own login form as ``email``."""
    page.goto(app)
    page.get_by_role("button", name="Sign in").click()
    page.locator("input[name=login]").fill(email)
    page.locator("input[name=password]").fill("any password: the provider's development form checks none")
    page.locator("button[type=submit]").click()
    page.get_by_role("button", name="Continue").click()  # the provider's consent screen
    page.wait_for_url(f"{app}/**")


def test_a_person_on_the_allow_list_signs_in_with_the_provider_and_uses_the_app(page: Any, app: str) -> None:
    """An allowed address signs in at the provider, sees the app and its own address, not the password form."""
    from playwright.sync_api import expect

    sign_in_as(page, app, "ann@acme-sales.com")
    expect(page.get_by_placeholder("https://www.acmecorp.com")).to_be_visible()
    expect(page.get_by_text(shown("Signed in as ann@acme-sales.com"))).to_be_visible()
    assert page.get_by_label("Password", exact=True).count() == 0


def test_a_person_off_the_allow_list_is_refused_with_a_reason(page: Any, app: str) -> None:
    """A verified address whose domain is not listed sees why, and nothing of the app."""
    from playwright.sync_api import expect

    sign_in_as(page, app, "eve@elsewhere.example")
    expect(page.get_by_text(shown("eve@elsewhere.example may not use this app"))).to_be_visible()
    assert page.get_by_placeholder("https://www.acmecorp.com").count() == 0


def test_an_unverified_address_is_refused_even_on_an_allowed_domain(page: Any, app: str) -> None:
    """The provider's e-mail counts only when it says it verified it."""
    from playwright.sync_api import expect

    sign_in_as(page, app, "unverified.bob@acme-sales.com")
    expect(page.get_by_text(shown("has not verified unverified.bob@acme-sales.com"))).to_be_visible()
    assert page.get_by_placeholder("https://www.acmecorp.com").count() == 0


def test_the_admin_page_is_for_admin_emails_only_and_asks_no_password(page: Any, app: str) -> None:
    """An allowed non-admin is refused on the admin page; an admin on ADMIN_EMAILS opens it with no second password."""
    from playwright.sync_api import expect

    sign_in_as(page, app, "contractor@freelance.io")
    page.goto(f"{app}/admin")
    expect(page.get_by_text("The admin page is for the addresses and domains in ADMIN_EMAILS")).to_be_visible()

    page.get_by_role("button", name="Sign out").click()
    page.get_by_role("button", name="Yes, sign me out").click()  # the provider ends its own session too
    page.get_by_role("button", name="Sign in").wait_for()
    sign_in_as(page, app, "boss@acme-sales.com")
    page.goto(f"{app}/admin")
    expect(page.get_by_text("Processing", exact=True).first).to_be_visible()
    assert page.get_by_label("Password", exact=True).count() == 0
