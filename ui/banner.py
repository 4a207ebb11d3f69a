"""The banner that says when the data is demo data or the analysis is offline, and how to switch."""

from __future__ import annotations

import streamlit as st

from engagement.settings import Settings


def show_notices(settings: Settings, presenting: bool = False) -> None:
    """One ``st.info`` with every notice from the settings; a single quiet caption when presenting."""
    notices = settings.notices
    if not notices:
        return
    if presenting:
        modes = [
            m
            for m, on in (
                ("demo data", settings.source == "demo"),
                ("offline analysis", settings.analyzer == "offline"),
            )
            if on
        ]
        st.caption(f"Showing {' and '.join(modes)}." if modes else " ".join(notices))
        return
    st.info("\n\n".join(notices), icon=":material/info:")
