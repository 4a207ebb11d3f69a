"""Who is asking: the signed-in person's e-mail when sign-in knows people, else this browser's random id (a cookie).

Questions are private to whoever asked them (``QuestionRecord.asked_by``). With single sign-on
(``st.login``, ``ui.gate.signed_in_email``) the asker is the provider's verified e-mail, on every
browser the person uses. The shared password knows no people, so there the browser is the asker: a
random 128-bit id kept in the cookie ``engagement_browser`` for a year.
"""

from __future__ import annotations

import re
import secrets

import streamlit as st

from ui.cookies import cookie_script, read_cookie, write_cookies
from ui.gate import signed_in_email

COOKIE = "engagement_browser"
MAX_AGE_S = 365 * 24 * 3600
_BROWSER_ID = re.compile(r"[0-9a-f]{32}")
_SESSION_KEY = "asker_browser"
_WRITTEN_KEY = "asker_browser_written"


def _browser_id() -> str:
    """This browser's id: from its cookie when it sent a well-formed one, else a new random one (kept in the session)."""
    known = st.session_state.get(_SESSION_KEY)
    if isinstance(known, str):
        return known
    sent = read_cookie(COOKIE)
    if sent is not None and _BROWSER_ID.fullmatch(sent):
        st.session_state[_WRITTEN_KEY] = True  # the browser has it already
        browser = sent
    else:
        browser = secrets.token_hex(16)
    st.session_state[_SESSION_KEY] = browser
    return browser


def current_asker() -> str:
    """``user:<e-mail>`` for a person signed in through the identity provider, else ``browser:<id>``."""
    email = signed_in_email()
    return f"user:{email}" if email else f"browser:{_browser_id()}"


def remember_browser() -> None:
    """Keep this browser's id in its cookie (written once a session, when the browser did not send it)."""
    browser = _browser_id()
    if st.session_state.get(_WRITTEN_KEY):
        return
    st.session_state[_WRITTEN_KEY] = True
    write_cookies(cookie_script(COOKIE, browser, MAX_AGE_S))


def asker_label(asked_by: str) -> str:
    """How the admin page names an asker: the e-mail, ``browser 3fa2c1d0``, or "unknown" for old questions."""
    kind, _, who = asked_by.partition(":")
    if kind == "user" and who:
        return who
    if kind == "browser" and who:
        return f"browser {who[:8]}"
    return asked_by or "unknown (asked before questions had owners)"
