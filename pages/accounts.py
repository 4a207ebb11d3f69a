"""The accounts page: every company in the recorded meetings at a glance, its figures and open signals.

One call reads the rows (``engagement.accounts.list_accounts``: one aggregate query over the meeting
index, and each listed domain's latest complete run); the filters narrow them in memory; selecting a
row opens that account's summary (its latest complete run, or a new one started on the spot).
"""

from __future__ import annotations

import pandas as pd
import streamlit as st

from engagement.accounts import AccountRow, list_accounts
from engagement.errors import EngagementError
from engagement.present import SEVERITY_LABELS, signal_name
from engagement.signals import signal_id
from ui.frame import page_frame
from ui.runtime import get_runtime, load_settings
from ui.text import md, plural

settings = load_settings()
page_frame(settings, presenting=False)
runtime = get_runtime(settings)

COLUMNS = {
    "Domain": "The company's e-mail domain",
    "Meetings": "Meetings with anyone at the domain",
    "People": "Distinct people at the domain invited to them",
    "First meeting": None,
    "Last meeting": None,
    "Days since last": "Days since the last meeting",
    "Last 90 days": "Meetings in the last 90 days",
    "90 days before": "Meetings in the 90 days before those",
    "Signals": "Open signals, most severe first",
    "Summary": "Whether a complete summary exists (selecting a row without one starts it)",
}


def signals_text(row: AccountRow) -> str:
    """``High: Gone dark · Medium: Cadence drop`` (the page's words for each signal)."""
    return " · ".join(
        f"{SEVERITY_LABELS.get(s.severity, s.severity)}: {signal_name(signal_id(s))}" for s in row.signals
    )


def accounts_frame(rows: list[AccountRow]) -> pd.DataFrame:
    """The table: one row an account, dates as dates so the columns sort as dates."""
    return pd.DataFrame(
        {
            "Domain": [r.domain for r in rows],
            "Signals": [signals_text(r) for r in rows],
            "Last meeting": pd.to_datetime([r.last_meeting for r in rows], format="%Y-%m-%d").date,
            "Days since last": [r.days_since_last for r in rows],
            "Meetings": [r.meetings for r in rows],
            "People": [r.people for r in rows],
            "Last 90 days": [r.last_90_days for r in rows],
            "90 days before": [r.previous_90_days for r in rows],
            "First meeting": pd.to_datetime([r.first_meeting for r in rows], format="%Y-%m-%d").date,
            "Summary": [r.run_id is not None for r in rows],
        }
    )


def open_account(row: AccountRow) -> None:
    """Show the account's latest complete summary, or start one and show it while it runs."""
    run_id = row.run_id
    if run_id is None:
        try:
            run_id = runtime.jobs.start(row.domain)
        except EngagementError as exc:
            st.error(md(str(exc)), icon=":material/error:")
            return
    st.switch_page("pages/summary.py", query_params={"domain": row.domain, "run_id": run_id})


st.title("Accounts", anchor=False)
st.caption("Every company in your recorded meetings, most recently met first. Select a row to open its summary.")

status = runtime.index_status()
if status.synced_at is None and settings.source == "demo":
    runtime.reindex(full=False)  # the demo workspace is in-process: indexing it takes a moment
elif status.synced_at is None:
    st.info(
        "No Fathom meetings are indexed yet. The first summary you generate builds the index, or build it now "
        "on the admin page (or with `python -m engagement index`).",
        icon=":material/info:",
    )

rows = list_accounts(runtime)
with st.container(horizontal=True, gap="medium", vertical_alignment="bottom"):
    search = st.text_input("Domain contains", key="accounts_search", placeholder="acme")
    quiet = st.number_input("No meeting for at least (days)", min_value=0, step=15, key="accounts_quiet_days")
    flagged = st.toggle("Only accounts with signals", key="accounts_flagged")

needle = search.strip().lower()
shown = [r for r in rows if needle in r.domain and r.days_since_last >= quiet and (r.signals or not flagged)]
st.caption(f"{plural(len(shown), 'account')} of {len(rows)}")
if not shown:
    st.caption("No account matches these filters." if rows else "No meeting with another company is indexed yet.")
else:
    event = st.dataframe(
        accounts_frame(shown),
        hide_index=True,
        on_select="rerun",
        selection_mode="single-row",
        key="accounts_table",
        column_config={
            "Domain": st.column_config.TextColumn(help=COLUMNS["Domain"], pinned=True),
            "Meetings": st.column_config.NumberColumn(help=COLUMNS["Meetings"]),
            "People": st.column_config.NumberColumn(help=COLUMNS["People"]),
            "First meeting": st.column_config.DateColumn(format="D MMM YYYY"),
            "Last meeting": st.column_config.DateColumn(format="D MMM YYYY"),
            "Days since last": st.column_config.NumberColumn(help=COLUMNS["Days since last"]),
            "Last 90 days": st.column_config.NumberColumn(help=COLUMNS["Last 90 days"]),
            "90 days before": st.column_config.NumberColumn(help=COLUMNS["90 days before"]),
            "Signals": st.column_config.TextColumn(help=COLUMNS["Signals"], width="medium"),
            "Summary": st.column_config.CheckboxColumn(help=COLUMNS["Summary"]),
        },
    )
    picked = event.selection.rows if event is not None else []
    if picked:
        open_account(shown[picked[0]])
    with st.container(horizontal=True, gap="small", vertical_alignment="bottom"):
        by_domain = {r.domain: r for r in shown}
        choice = st.selectbox("Or pick an account", list(by_domain), key="accounts_pick")
        if st.button("Open summary", key="accounts_open", icon=":material/insights:") and choice:
            open_account(by_domain[choice])
