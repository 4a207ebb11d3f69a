"""The sign-in gate: single sign-on through an identity provider, or ``APP_PASSWORD`` for every page and
``ADMIN_PASSWORD`` on top for the admin page.

Single sign-on is Streamlit's own ``st.login`` (OpenID Connect, any provider), on when ``.streamlit/secrets.toml``
has an ``[auth]`` section as Streamlit documents. People are then known by the provider's verified e-mail;
``ALLOWED_EMAILS`` decides who may use the app and ``ADMIN_EMAILS`` who may open the admin page (no password).
The passwords below are for laptops and demos, when there is no ``[auth]``.

A passed gate leaves a signed, expiring token in the session and in a cookie, so a reload or a new tab stays
signed in until the token expires: 12 hours for the app, 30 minutes for the admin page. Tokens are made and
checked by ``engagement.identity.SessionBook``: the same on every app process (the key is ``SESSION_SECRET`` or
one kept in the store), revoked everywhere on sign-out, never revealing the password; anything that is not a
token of ours is simply "signed out". Wrong passwords are throttled per client (``SignInThrottle``). Passwords
are compared with ``hmac.compare_digest`` and are never shown, stored in the session or a cookie, or logged.

Streamlit reads cookies but cannot set them: ``ui/cookies.py`` reads them and writes them with our own
constant JavaScript.
"""

from __future__ import annotations

import hmac
import logging
import math
import time

import streamlit as st

from engagement.errors import SettingsError
from engagement.identity import LIFETIMES, SESSIONS_TABLE, AllowList, SessionBook, SignInThrottle, refusal
from engagement.render.present import md, plural
from engagement.settings import Settings
from ui.cookies import cookie_script, read_cookie, write_cookies
from ui.runtime import get_runtime

log = logging.getLogger(__name__)

OPEN_NOTE = (
    "Open access: no APP_PASSWORD is set, so anyone who can reach this address can use the app. "
    "It listens on 127.0.0.1 (this computer only) unless started with another --server.address."
)
SIGN_IN_FAILED = "That password is not right. Try again."
SCOPES = tuple(LIFETIMES)


def cookie_name(scope: str) -> str:
    return f"engagement_{scope}"


def sessions(settings: Settings) -> SessionBook:
    """The tokens of this app, kept in the store every app process shares."""
    return SessionBook(get_runtime(settings).store.table(SESSIONS_TABLE), settings.session_secret)


def _throttle(settings: Settings) -> SignInThrottle:
    return SignInThrottle(get_runtime(settings).store.table(SESSIONS_TABLE))


def _client() -> str:
    """Who is typing, as far as the connection tells (no address: a browser on this computer)."""
    address = st.context.ip_address
    return address if isinstance(address, str) and address else "this computer"


def throttled_message(wait_s: float) -> str:
    return f"Too many wrong passwords from here. Try again in {plural(math.ceil(wait_s), 'second')}."


def signed_in(settings: Settings, scope: str, password: str) -> bool:
    """Whether this session (or the browser's cookie, unless the session signed out) passed the gate of ``scope``."""
    if not password:
        return True
    book = sessions(settings)
    if book.valid(st.session_state.get(f"gate_{scope}"), scope, password):
        return True
    st.session_state.pop(f"gate_{scope}", None)  # expired or revoked elsewhere: this session is signed out too
    if st.session_state.get("gate_signed_out"):
        return False
    cookie = read_cookie(cookie_name(scope))
    if book.valid(cookie, scope, password):
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
            max_age = int(token.partition(".")[0]) - int(time.time())  # a token we issued: digits first
            scripts.append(cookie_script(cookie_name(scope), token, max_age))  # digits, dots and hex
        elif st.session_state.get("gate_signed_out") and not token:
            scripts.append(cookie_script(cookie_name(scope), "", 0))
    write_cookies(*scripts)


def _require(settings: Settings, scope: str, password: str, title: str, prompt: str) -> None:
    if signed_in(settings, scope, password):
        return
    remember_sign_in()  # a signed-out session clears its cookies here, before the form stops the page
    st.title(title)
    st.write(prompt)
    with st.form(f"gate_{scope}_form", clear_on_submit=True, width=420):
        entered = st.text_input("Password", type="password", key=f"gate_{scope}_password")
        submitted = st.form_submit_button("Sign in", type="primary")
    if submitted:
        throttle, client = _throttle(settings), _client()
        wait_s = throttle.wait_s(client)
        if wait_s > 0:  # not even compared: a guess made now tells nothing
            st.error(throttled_message(wait_s))
            st.stop()
        if hmac.compare_digest(entered.encode(), password.encode()):
            throttle.succeeded(client)
            st.session_state[f"gate_{scope}"] = sessions(settings).issue(scope, password)
            st.session_state.pop("gate_signed_out", None)
            st.rerun()
        throttle.failed(client)
        log.warning("failed %s sign-in", scope)  # never the password that was typed
        st.error(SIGN_IN_FAILED)
    st.stop()


def single_sign_on() -> bool:
    """Whether ``.streamlit/secrets.toml`` configures an identity provider (an ``[auth]`` section)."""
    try:
        return "auth" in st.secrets
    except (FileNotFoundError, OSError, ValueError, KeyError):  # no secrets file, or bad TOML
        return False


def _allow_list(settings: Settings, setting: str) -> AllowList:
    try:
        return AllowList.parse(getattr(settings, setting.lower()), setting)
    except SettingsError as exc:
        st.error(f"The app's settings cannot be used: {exc}")
        st.stop()
        raise


def signed_in_email() -> str | None:
    """The verified e-mail of the person signed in through the identity provider (None without single sign-on)."""
    if not single_sign_on() or not st.user.is_logged_in:
        return None
    email = st.user.get("email")
    return email.lower() if isinstance(email, str) and st.user.get("email_verified") is True else None


def actor(settings: Settings) -> str:
    """Who is on this page, for the audit log: the verified e-mail with single sign-on, else how they got in."""
    if single_sign_on():
        return signed_in_email() or "someone not signed in"
    if settings.app_password:
        return "signed in with the app password"
    return "open access (no sign-in)"


def _refuse(message: str, title: str = "Engagement Summary") -> None:
    st.title(title)
    st.error(md(message))  # it holds the provider's e-mail: text, never a link
    st.button("Sign out", key="gate_sso_refused_sign_out", on_click=st.logout)
    st.stop()


def _require_identity(settings: Settings) -> None:
    if not st.user.is_logged_in:
        st.title("Engagement Summary")
        st.write("Sign in with your company account to see engagement summaries.")
        st.button("Sign in", key="gate_sso_sign_in", type="primary", on_click=st.login)
        st.stop()
    email = st.user.get("email")
    why = refusal(
        email if isinstance(email, str) else None,
        st.user.get("email_verified"),
        _allow_list(settings, "ALLOWED_EMAILS"),
    )
    if why:
        log.warning("a person signed in through the identity provider was refused")  # no address in the log
        _refuse(why)


def require_sign_in(settings: Settings) -> None:
    """Stop the page until the person is signed in and allowed (nothing to do without SSO and ``APP_PASSWORD``)."""
    if single_sign_on():
        _require_identity(settings)
        return
    _require(settings, "app", settings.app_password, "Engagement Summary", "Sign in to see engagement summaries.")


def require_admin(settings: Settings) -> None:
    """Stop the page unless this is an admin: on ``ADMIN_EMAILS`` with SSO, else the admin password was entered."""
    require_sign_in(settings)
    if single_sign_on():
        email = signed_in_email()
        if email is None or not _allow_list(settings, "ADMIN_EMAILS").admits(email):
            who = f"; you are signed in as {email}" if email else ""
            _refuse(f"The admin page is for the addresses and domains in ADMIN_EMAILS{who}.", "Admin")
        return
    _require(settings, "admin", settings.admin_password, "Admin", "The admin page needs the admin password.")


def show_access_note(settings: Settings) -> None:
    """A small caption in the sidebar: who is signed in, or that the app is open to anyone who can reach it."""
    if single_sign_on():
        if email := signed_in_email():
            st.sidebar.caption(f"Signed in as {md(email)}")
    elif not settings.app_password:
        st.sidebar.caption(OPEN_NOTE)


def sign_out(settings: Settings) -> None:
    """End the session's sign-in everywhere (its tokens are revoked in the store); the next run clears the cookies."""
    book = sessions(settings)
    for scope in SCOPES:
        book.revoke(st.session_state.get(f"gate_{scope}"))
        book.revoke(st.context.cookies.get(cookie_name(scope)))  # the same token, or an older one this browser holds
        st.session_state.pop(f"gate_{scope}", None)
        st.session_state.pop(f"gate_{scope}_cookie", None)
    st.session_state["gate_signed_out"] = True


def sign_out_button(settings: Settings) -> None:
    """A sign-out button in the sidebar, when there is something to sign out of."""
    if single_sign_on():
        st.sidebar.button("Sign out", key="gate_sign_out", type="tertiary", on_click=st.logout)
    elif settings.app_password or settings.admin_password:
        st.sidebar.button("Sign out", key="gate_sign_out", type="tertiary", on_click=sign_out, args=(settings,))
