"""The sign-in gate: ``APP_PASSWORD`` for every page, ``ADMIN_PASSWORD`` on top for the admin page.

A passed gate leaves a token in the session (a hash of the password, never the password), so
changing the password signs everyone out. Passwords are compared with ``hmac.compare_digest`` and
are never shown, stored in the session, or logged.
"""

from __future__ import annotations

import hashlib
import hmac
import logging

import streamlit as st

from engagement.settings import Settings

log = logging.getLogger(__name__)

OPEN_NOTE = (
    "Open access: no APP_PASSWORD is set, so anyone who can reach this address can use the app. "
    "It listens on 127.0.0.1 (this computer only) unless started with another --server.address."
)
SIGN_IN_FAILED = "That password is not right. Try again."


def _token(scope: str, password: str) -> str:
    return hashlib.sha256(f"engagement-summary:{scope}:{password}".encode()).hexdigest()


def signed_in(scope: str, password: str) -> bool:
    """Whether this session passed the gate of ``scope`` for the current ``password``."""
    if not password:
        return True
    held = st.session_state.get(f"gate_{scope}", "")
    return isinstance(held, str) and hmac.compare_digest(held, _token(scope, password))


def _require(scope: str, password: str, title: str, prompt: str) -> None:
    if signed_in(scope, password):
        return
    st.title(title)
    st.write(prompt)
    with st.form(f"gate_{scope}_form", clear_on_submit=True, width=420):
        entered = st.text_input("Password", type="password", key=f"gate_{scope}_password")
        submitted = st.form_submit_button("Sign in", type="primary")
    if submitted:
        if hmac.compare_digest(entered.encode(), password.encode()):
            st.session_state[f"gate_{scope}"] = _token(scope, password)
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


def sign_out_button(settings: Settings) -> None:
    """A sign-out button in the sidebar, when there is something to sign out of."""
    if settings.app_password or settings.admin_password:
        if st.sidebar.button("Sign out", key="gate_sign_out", type="tertiary"):
            for key in ("gate_app", "gate_admin"):
                st.session_state.pop(key, None)
            st.rerun()
