"""The browser's cookies: read as the browser sent them when the session began, written by our own constant script.

Streamlit reads cookies (``st.context.cookies``) but cannot set them, so a cookie is written by a
line of JavaScript in ``st.html(unsafe_allow_javascript=True)``. Every value written here is made
by the app from a small alphabet (``SAFE_VALUE``), never taken from data, so it is safe inside the
script's quotes. The cookies are therefore not ``HttpOnly``; they are ``SameSite=Strict``.
"""

from __future__ import annotations

import re

import streamlit as st

SAFE_VALUE = re.compile(r"[A-Za-z0-9._-]*")


def read_cookie(name: str) -> str | None:
    """The cookie ``name`` as the browser sent it when this session began (None when it sent none)."""
    value = st.context.cookies.get(name)
    return value if isinstance(value, str) else None


def cookie_script(name: str, value: str, max_age: int) -> str:
    """A ``<script>`` that sets (or, with ``max_age`` 0, clears) a cookie; refuses a value outside ``SAFE_VALUE``."""
    if not SAFE_VALUE.fullmatch(value) or not SAFE_VALUE.fullmatch(name):
        raise ValueError("a cookie the app writes holds only letters, digits, '.', '_' and '-'")
    text = f"{name}={value}; Max-Age={max(0, int(max_age))}; Path=/; SameSite=Strict"
    return f"<script>document.cookie = {text!r};</script>"


_WRITTEN_KEY = "cookies_written"  # the scripts this run drew
_KEPT_KEY = "cookies_kept"  # the scripts the next run draws again


def write_cookies(*scripts: str) -> None:
    """Run cookie scripts in the sidebar, which takes no room from the page (and runs even when hidden)."""
    if scripts:
        st.session_state.setdefault(_WRITTEN_KEY, []).extend(scripts)
        st.sidebar.html("".join(scripts), unsafe_allow_javascript=True)


def begin_run() -> None:
    """At the top of a page run: nothing written yet, and the scripts a run that asked for this one wrote, again."""
    st.session_state[_WRITTEN_KEY] = []
    write_cookies(*st.session_state.pop(_KEPT_KEY, ()))


def keep_for_next_run() -> None:
    """A run that asks for another at once (``st.rerun``): its cookie scripts are drawn again by the next run. The
    browser may not have run them yet when the next run's page replaces this one's, and each is written once a
    session."""
    st.session_state[_KEPT_KEY] = list(st.session_state.get(_WRITTEN_KEY, ()))
