"""What every page shares: page config, navigation, the sign-in gate and the sidebar's controls.

Streamlit runs a file in ``pages/`` by itself, without ``streamlit_app.py``, when it meets that
folder before ``st.navigation`` was ever called: the first run after the server starts (say, a
bookmarked ``/admin``) and every ``AppTest`` run. So each page calls ``page_frame`` itself: it
declares the real navigation when the entry script did not, and checks the passwords again.
"""

from __future__ import annotations

import threading
from pathlib import Path

import streamlit as st
from streamlit.navigation.page import StreamlitPage

from engagement.settings import Settings
from ui.asker import remember_browser
from ui.cookies import begin_run
from ui.gate import remember_sign_in, require_admin, require_sign_in, show_access_note, sign_out_button
from ui.presentation import presentation_toggle, presenter_checklist, remember_checklist

TITLE = "Engagement Summary"
ICON = Path(__file__).with_name("icon.png")  # shipped: a Material icon as page icon is fetched from Google's servers

# Set by the entry script just before it runs a page, read and cleared by that page: script runs
# happen one at a time on the session's script thread, so a thread-local is per run.
_run = threading.local()


def configure_page(presenting: bool) -> None:
    """Title, icon, wide layout; the sidebar starts collapsed when presenting (calls are additive)."""
    st.set_page_config(
        page_title=TITLE,
        page_icon=str(ICON),
        layout="wide",
        initial_sidebar_state="collapsed" if presenting else "auto",
    )


def navigation(presenting: bool) -> StreamlitPage:
    """The app's pages; hidden from view when presenting."""
    return st.navigation(
        [
            st.Page("pages/summary.py", title="Summary", icon=":material/insights:", default=True),
            st.Page("pages/accounts.py", title="Accounts", icon=":material/apartment:"),
            st.Page("pages/admin.py", title="Admin", icon=":material/admin_panel_settings:"),
        ],
        position="hidden",  # drawn by ``page_links``, so the way back to the summary names its job
    )


PAGE_LINKS = (
    ("pages/summary.py", "Summary", ":material/insights:"),
    ("pages/accounts.py", "Accounts", ":material/apartment:"),
    ("pages/admin.py", "Admin", ":material/admin_panel_settings:"),
)


def page_links() -> None:
    """The sidebar's page links; Summary carries the job it last showed in its address."""
    kept = st.session_state.get("summary_kept") or {}
    job = kept.get("job")
    with st.sidebar:
        for path, label, icon in PAGE_LINKS:
            query = {"domain": job[0], "run_id": job[1]} if job and path == "pages/summary.py" else None
            st.page_link(path, label=label, icon=icon, query_params=query, width="stretch")
        st.divider()


SUMMARY_DRAWN = "summary_drawn"  # the summary page's run sets it: (run id, the state of the job in its slots)
_DRAWN_BEFORE = "summary_drawn_before"


def drawn_before() -> tuple[str, str] | None:
    """What the summary page drew in its job slots, when the run before this one was that page's; else None."""
    drawn = st.session_state.get(_DRAWN_BEFORE)
    return (str(drawn[0]), str(drawn[1])) if drawn else None


def run_page(page: StreamlitPage) -> None:
    """Run the page the navigation chose (the entry script's last line)."""
    _run.framed = True
    try:
        page.run()
    finally:
        _run.framed = False


def page_frame(settings: Settings, presenting: bool, *, admin: bool = False) -> None:
    """Page config, navigation (when the entry script did not declare it), the gate, the sidebar."""
    configure_page(presenting)
    if not getattr(_run, "framed", False):
        navigation(presenting)  # this file was run on its own: declare the real navigation
    begin_run()  # cookie scripts a run that asked for this one wrote are drawn again
    # What the summary page's last run drew, for this run only, so it is gone once another page has run.
    st.session_state[_DRAWN_BEFORE] = st.session_state.pop(SUMMARY_DRAWN, None)
    if admin:
        require_admin(settings)
    else:
        require_sign_in(settings)
    remember_sign_in()  # a reload or a shared link in this browser stays signed in
    remember_browser()  # the asker of this browser's questions
    if presenting:
        return
    page_links()
    presentation_toggle(presenting)
    presenter_checklist()
    remember_checklist()
    show_access_note(settings)
    sign_out_button(settings)
