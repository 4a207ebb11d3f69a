"""Recording what people do on the pages in the audit log, as who they are (``engagement.audit``)."""

from __future__ import annotations

import logging
from collections.abc import Callable
from datetime import timedelta

import pandas as pd
import streamlit as st

from engagement.audit import ACTIONS
from engagement.errors import StoreError
from engagement.models import utcnow
from engagement.render import report
from engagement.runtime import Runtime
from ui.gate import actor
from ui.media import expiring
from ui.runtime import get_runtime, load_settings
from ui.tables import fit_columns
from ui.text import plural

SHOWN = 500  # entries on the page at most: the filters narrow it
EXPORTED = 100_000  # and in its CSV, built on click
# Widths (floor, cap) in px chosen for the content, given up down to AUDIT_BUDGET_PX (the grid's width beside the
# sidebar at 1024 px) as far as each column's text still fits in a few wrapped lines: a long detail wraps whole, and
# an e-mail address (one word) keeps its width. When that is still wider, the log scrolls with its time pinned.
AUDIT_LIMITS = {
    "When (UTC)": (140, 150),
    "Who": (90, 200),
    "Action": (80, 130),
    "On": (90, 160),
    "Detail": (110, 300),
}
AUDIT_BUDGET_PX = 540

log = logging.getLogger(__name__)


def _append(runtime: Runtime, who: str, action: str, target: str, detail: str) -> None:
    try:
        runtime.audit.record(who, action, target, detail)
    except StoreError:  # the person's action goes on; the failure is in the app's log
        log.exception("the audit log could not be written (%s %s)", action, target)


def record(action: str, target: str = "", detail: str = "") -> None:
    """Append an entry for the person on this page (call it from the page's script or its callbacks)."""
    settings = load_settings()
    _append(get_runtime(settings), actor(settings), action, target, detail)


def recorder(action: str, target: str) -> Callable[[str], None]:
    """``record`` bound now, for work done later outside the page's script (an export built on click)."""
    settings = load_settings()
    runtime, who = get_runtime(settings), actor(settings)
    return lambda detail: _append(runtime, who, action, target, detail)


# ---------------------------------------------------------------- the admin page's section


def _on_purge(days: int) -> None:
    settings = load_settings()
    removed = get_runtime(settings).audit.purge(timedelta(days=days), actor(settings))
    st.session_state.pop("admin_audit_confirm", None)
    st.session_state["admin_audit_notice"] = f"Removed {plural(removed, 'audit entry', 'audit entries')}."


def audit_admin(runtime: Runtime) -> None:
    """The audit log, newest first, with filters, a CSV download and a purge of old entries (itself recorded)."""
    st.subheader("Audit log", anchor=False)
    st.caption("Who started, viewed, exported, asked, deleted, purged or forgot what. Entries cannot be edited.")
    with st.container(horizontal=True, gap="small"):
        who = st.text_input("Who", key="admin_audit_actor", placeholder="an e-mail or part of it", width=260)
        action = st.selectbox(
            "Action", ["", *ACTIONS], format_func=lambda a: ACTIONS.get(a, "any"), key="admin_audit_action", width=240
        )
        target = st.text_input("Account or thing", key="admin_audit_target", placeholder="acmecorp.com", width=260)
    entries = runtime.audit.entries(actor=who, action=action, target=target, limit=SHOWN)
    if not entries:
        st.caption("No entries match." if who or action or target else "Nothing recorded yet.")
    else:
        frame = pd.DataFrame(
            {
                "When (UTC)": [f"{e.at:%d %b %Y %H:%M:%S}" for e in entries],
                "Who": [e.actor for e in entries],
                "Action": [ACTIONS[e.action] for e in entries],
                "On": [e.target for e in entries],
                "Detail": [e.detail for e in entries],
            }
        )
        fit = fit_columns(frame, AUDIT_LIMITS, budget=AUDIT_BUDGET_PX)
        with st.container(key="admin_audit_log"):
            st.dataframe(
                frame,
                hide_index=True,
                width="stretch",
                key="admin_audit_table",
                row_height=fit.row_height,
                column_config={
                    label: st.column_config.TextColumn(width=px, pinned=label == "When (UTC)")
                    for label, px in fit.widths.items()
                },
            )
        st.download_button(
            "Audit log CSV",
            data=expiring(
                lambda: report.audit_csv(runtime.audit.entries(actor=who, action=action, target=target, limit=EXPORTED))
            ),
            file_name=f"audit-log-{utcnow():%Y-%m-%d}.csv",
            mime="text/csv",
            icon=":material/download:",
            on_click="ignore",
            key="admin_audit_csv",
        )
    notice = st.session_state.pop("admin_audit_notice", None)
    if notice:
        st.success(notice, icon=":material/check:")
    with st.container(horizontal=True, gap="small", vertical_alignment="bottom"):
        days = st.number_input(
            "Older than (days)", min_value=1, max_value=3650, value=365, step=1, key="admin_audit_days", width=160
        )
        st.button(
            f"Purge audit entries older than {plural(int(days), 'day')}",
            key="admin_audit_purge",
            on_click=lambda: st.session_state.update(admin_audit_confirm=int(days)),
        )
    pending = st.session_state.get("admin_audit_confirm")
    if pending:
        count = runtime.audit.purgeable(timedelta(days=pending))
        st.warning(
            f"{plural(count, 'audit entry', 'audit entries')} older than {plural(pending, 'day')} will be removed; "
            "the purge itself is recorded. This cannot be undone.",
            icon=":material/warning:",
        )
        with st.container(horizontal=True, gap="small"):
            st.button("Purge", key="admin_audit_confirm_yes", type="primary", on_click=_on_purge, args=(pending,))
            st.button("Cancel", key="admin_audit_cancel", on_click=lambda: st.session_state.pop("admin_audit_confirm"))
