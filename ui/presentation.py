"""Presentation mode (``?present=1`` or the sidebar toggle): wide, no chrome, large type for a projector."""

from __future__ import annotations

import streamlit as st

PARAM = "present"

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
