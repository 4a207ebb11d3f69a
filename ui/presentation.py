"""Presentation mode (``?present=1`` or the sidebar toggle): wide, no chrome, large type, only what a customer may see.

What a presentation shows is decided in one place, ``engagement.render.audience`` (an allow-list);
here is the presenter's checklist of its parts, remembered per browser in the cookie
``engagement_present``, and the ``Audience`` each page run draws for.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import streamlit as st

from engagement.render.audience import OPT_IN, SAFE, Audience, choice_text, parse_choice, presented
from ui.cookies import cookie_script, read_cookie, write_cookies

PARAM = "present"
COOKIE = "engagement_present"
COOKIE_MAX_AGE_S = 365 * 24 * 3600
_CHOICE_KEY = "present_parts"  # the presenter's choice in this session (not a widget's key: it outlives the sidebar)
_WRITE_KEY = "present_parts_write"

# Our own constant CSS, never built from data. Streamlit's test ids are its public hooks for styling.
_PRESENTATION_CSS = """
<style>
[data-testid="stSidebar"], [data-testid="stSidebarCollapsedControl"], [data-testid="stExpandSidebarButton"],
[data-testid="stHeader"], [data-testid="stToolbar"], [data-testid="stDecoration"],
[data-testid="stStatusWidget"] { display: none !important; }
[data-testid="stMainBlockContainer"], .block-container {
  padding-top: 2rem !important; padding-left: 3rem !important; padding-right: 3rem !important; max-width: 100% !important;
}
[data-testid="stAppViewContainer"] { font-size: 1.25rem; }
[data-testid="stMarkdownContainer"] p, [data-testid="stMarkdownContainer"] li,
[data-testid="stMarkdownContainer"] blockquote { font-size: 1.3rem; line-height: 1.5; }
[data-testid="stCaptionContainer"], [data-testid="stCaptionContainer"] p { font-size: 1.1rem; }
[data-testid="stMarkdownContainer"] blockquote, [data-testid="stMarkdownContainer"] blockquote p {
  color: #1F2933 !important; opacity: 1 !important; border-left-color: #94a3b8;
}
h1 { font-size: 3.2rem !important; }
h2 { font-size: 2.3rem !important; }
h3 { font-size: 1.8rem !important; }
[data-testid="stMetricLabel"], [data-testid="stMetricLabel"] p { font-size: 1.3rem !important; }
[data-testid="stMetricValue"] { font-size: 2.6rem !important; }
[data-testid="stMetricValue"] p { font-size: inherit !important; line-height: 1.2; }
.st-key-summary_metrics > [data-testid="stElementContainer"] { flex: 1 1 auto; }
[data-testid="stTable"] td, [data-testid="stTable"] th { font-size: 1.3rem !important; padding: 0.45rem 0.75rem !important; }
[data-testid="stTextInput"] input, [data-testid="stDateInput"] input { font-size: 1.4rem !important; min-height: 3rem; }
[data-testid="stWidgetLabel"] p { font-size: 1.2rem !important; }
</style>
"""

# Small touches for the normal view: metrics a little lighter; quotes dark enough for WCAG AA (#334155 on
# white is 10:1), on a projector too.
_SCREEN_CSS = """
<style>
[data-testid="stMainBlockContainer"] { padding-top: 3rem; }
[data-testid="stMetricValue"] { font-size: 1.75rem; }
.st-key-summary_metrics > [data-testid="stElementContainer"] { flex: 1 1 auto; }
.st-key-summary_charts > div { flex: 1 1 460px; min-width: 460px; }
[data-testid="stMarkdownContainer"] blockquote, [data-testid="stMarkdownContainer"] blockquote p {
  color: #334155 !important; opacity: 1 !important; border-left-color: #94a3b8;
}
</style>
"""


def is_presenting() -> bool:
    """Whether the URL asks for presentation mode (``?present=1``)."""
    return str(st.query_params.get(PARAM, "")).lower() in ("1", "true", "yes", "on")


def _set_presenting(on: bool) -> None:
    if on:
        st.query_params[PARAM] = "1"
    else:
        st.query_params.pop(PARAM, None)


def _toggled() -> None:
    _set_presenting(bool(st.session_state.get("present_toggle")))


def apply_style(presenting: bool) -> None:
    """Our constant CSS (st.html puts a style-only block out of the layout, so it adds no gap)."""
    st.html(_PRESENTATION_CSS if presenting else _SCREEN_CSS)


def presentation_toggle(presenting: bool) -> None:
    """The sidebar switch; the URL stays the source of truth so a link can open straight into it."""
    st.session_state["present_toggle"] = presenting
    st.sidebar.toggle(
        "Presentation mode",
        key="present_toggle",
        on_change=_toggled,
        help="Wide, large type, no sidebar: for a projector. Or open the page with ?present=1.",
    )


def exit_button() -> None:
    """The way back out of presentation mode (the sidebar is hidden there)."""
    st.button(
        "Exit presentation",
        key="present_exit",
        type="tertiary",
        icon=":material/close_fullscreen:",
        on_click=_set_presenting,
        args=(False,),
    )


# ---------------------------------------------------------------- the presenter's checklist


def _choice() -> frozenset[str] | None:
    """The presenter's choice: this session's, else the one this browser remembered; None when never made."""
    if _CHOICE_KEY in st.session_state:
        return frozenset(st.session_state[_CHOICE_KEY])
    remembered = parse_choice(read_cookie(COOKIE))
    if remembered is not None:
        st.session_state[_CHOICE_KEY] = sorted(remembered)
    return remembered


def audience(presenting: bool) -> Audience:
    """Whom this page run draws for: the team, or a customer seeing the presented parts."""
    return Audience(presenting=presenting, parts=presented(_choice()))


def _checked() -> None:
    parts = (*SAFE, *OPT_IN)
    st.session_state[_CHOICE_KEY] = sorted(p.key for p in parts if st.session_state.get(f"present_part_{p.key}"))
    st.session_state[_WRITE_KEY] = True


def _reset() -> None:
    st.session_state[_CHOICE_KEY] = sorted(p.key for p in SAFE)
    st.session_state[_WRITE_KEY] = True


def presenter_checklist() -> None:
    """The sidebar's checklist of what presentation mode shows; the safe parts are ticked until the presenter changes it."""
    shown = presented(_choice())
    with st.sidebar.expander("What presentation mode shows", icon=":material/checklist:"):
        st.caption("A presentation shows only what is ticked. This browser remembers your choice.")
        for part in SAFE:
            st.session_state[f"present_part_{part.key}"] = part.key in shown
            st.checkbox(part.label, key=f"present_part_{part.key}", on_change=_checked)
        st.caption("The team's internal view:")
        for part in OPT_IN:
            st.session_state[f"present_part_{part.key}"] = part.key in shown
            st.checkbox(part.label, key=f"present_part_{part.key}", on_change=_checked)
        st.button("Back to the safe set", key="present_parts_reset", type="tertiary", on_click=_reset)


def remember_checklist() -> None:
    """Keep a changed checklist in this browser's cookie, so the next session (and ?present=1 links) use it."""
    if st.session_state.pop(_WRITE_KEY, False):
        text = choice_text(st.session_state.get(_CHOICE_KEY, ()))
        write_cookies(cookie_script(COOKIE, text, COOKIE_MAX_AGE_S))


def draw_part(audience: Audience, key: str, draw: Callable[..., object], *args: Any, **kwargs: Any) -> None:
    """Draw one part of the summary in a container of its own (``part_<key>``), only when the audience may see it.

    Every part of a summary is drawn through here, so a part nobody allow-listed is not drawn in a presentation.
    """
    if audience.shows(key):
        with st.container(key=f"part_{key}"):
            draw(*args, **kwargs)
