"""The sign-in gate: ``APP_PASSWORD`` for every page, ``ADMIN_PASSWORD`` on top for the admin page.

A passed gate leaves a signed, expiring token (``{expiry}.{hmac}``) in the session and in a cookie,
so a reload or a new tab stays signed in until the token expires: 12 hours for the app, 30 minutes
for the admin page. The HMAC key is derived from a random per-process secret and the password, so a
token never reveals the password, changing the password or restarting the app signs everyone out,
and a token cannot be forged without the server. Passwords are compared with
``hmac.compare_digest`` and are never shown, stored in the session or a cookie, or logged.

Streamlit reads cookies but cannot set them: ``ui/cookies.py`` reads them and writes them with our own
constant JavaScript.
"""

from __future__ import annotations

import hashlib
import hmac
import logging
import secrets
import time
from datetime import timedelta

import streamlit as st

from engagement.settings import Settings
from ui.cookies import cookie_script, read_cookie, write_cookies

log = logging.getLogger(__name__)

OPEN_NOTE = (
    "Open access: no APP_PASSWORD is set, so anyone who can reach this address can use the app. "
    "It listens on 127.0.0.1 (this computer only) unless started with another --server.address."
)
SIGN_IN_FAILED = "That password is not right. Try again."
LIFETIMES = {"app": timedelta(hours=12), "admin": timedelta(minutes=30)}  # the admin's is shorter
SCOPES = tuple(LIFETIMES)
_SECRET = secrets.token_bytes(32)  # this process's: a restart signs everyone out


def cookie_name(scope: str) -> str:
    return f"engagement_{scope}"


def _mac(scope: str, password: str, expiry: int, secret: bytes) -> str:
    key = hmac.new(secret, f"engagement-summary:{scope}:{password}".encode(), hashlib.sha256).digest()
    return hmac.new(key, f"{scope}:{expiry}".encode(), hashlib.sha256).hexdigest()


def issue_token(scope: str, password: str, *, now: float | None = None, secret: bytes = _SECRET) -> str:
    """``{expiry}.{hmac}``: proof the password of ``scope`` was entered, valid for the scope's lifetime."""
    expiry = int((time.time() if now is None else now) + LIFETIMES[scope].total_seconds())
    return f"{expiry}.{_mac(scope, password, expiry, secret)}"


def token_valid(token: object, scope: str, password: str, *, now: float | None = None, secret: bytes = _SECRET) -> bool:
    """Whether ``token`` was issued by this process for ``scope`` and the current password, and has not expired."""
    if not isinstance(token, str):
        return False
    expiry, _, mac = token.partition(".")
    if not expiry.isdigit() or int(expiry) <= (time.time() if now is None else now):
        return False
    return hmac.compare_digest(mac, _mac(scope, password, int(expiry), secret))


def signed_in(scope: str, password: str) -> bool:
    """Whether this session (or the browser's cookie, unless the session signed out) passed the gate of ``scope``."""
    if not password:
        return True
    if token_valid(st.session_state.get(f"gate_{scope}"), scope, password):
        return True
    if st.session_state.get("gate_signed_out"):
        return False
    cookie = read_cookie(cookie_name(scope))
    if token_valid(cookie, scope, password):
        st.session_state[f"gate_{scope}"] = cookie
        st.session_state[f"gate_{scope}_cookie"] = cookie  # the browser has it already
        return True
    return False


def remember_sign_in() -> None:
    """Write (or, after a sign-out, clear) the cookies that keep this browser signed in across reloads."""
    scripts = []
    for scope in SCOPES:
        token = st.session_state.get(f"gate_{scope}")
        if isinstance(token, str) and st.session_state.get(f"gate_{scope}_cookie") != token:
            max_age = int(token.partition(".")[0]) - int(time.time())
            scripts.append(cookie_script(cookie_name(scope), token, max_age))
        elif st.session_state.get("gate_signed_out") and not token:
            scripts.append(cookie_script(cookie_name(scope), "", 0))
    write_cookies(*scripts)


def _require(scope: str, password: str, title: str, prompt: str) -> None:
    if signed_in(scope, password):
        return
    remember_sign_in()  # a signed-out session clears its cookies here, before the form stops the page
    st.title(title)
    st.write(prompt)
    with st.form(f"gate_{scope}_form", clear_on_submit=True, width=420):
        entered = st.text_input("Password", type="password", key=f"gate_{scope}_password")
        submitted = st.form_submit_button("Sign in", type="primary")
    if submitted:
        if hmac.compare_digest(entered.encode(), password.encode()):
            st.session_state[f"gate_{scope}"] = issue_token(scope, password)
            st.session_state.pop("gate_signed_out", None)
            st.rerun()
        log.warning("failed %s sign-in", scope)  # never the password that was typed
        st.error(SIGN_IN_FAILED)
    st.stop()


def require_sign_in(settings: Settings) -> None:
    """Stop the page until the app password is entered (nothing to do when ``APP_PASSWORD`` is unset)."""
    _require("app", settings.app_password, "Engagement Summary", "Sign in to see engagement summaries.")


def require_admin(settings: Settings) -> None:
    """Stop the page until the admin password is entered (after the app password, if both are set)."""
    require_sign_in(settings)
    _require("admin", settings.admin_password, "Admin", "The admin page needs the admin password.")


def show_access_note(settings: Settings) -> None:
    """A small caption in the sidebar when the app is open to anyone who can reach it."""
    if not settings.app_password:
        st.sidebar.caption(OPEN_NOTE)


def sign_out() -> None:
    """End the session's sign-in; the next run clears the browser's cookies too."""
    for scope in SCOPES:
        st.session_state.pop(f"gate_{scope}", None)
        st.session_state.pop(f"gate_{scope}_cookie", None)
    st.session_state["gate_signed_out"] = True


def sign_out_button(settings: Settings) -> None:
    """A sign-out button in the sidebar, when there is something to sign out of."""
    if settings.app_password or settings.admin_password:
        st.sidebar.button("Sign out", key="gate_sign_out", type="tertiary", on_click=sign_out)
