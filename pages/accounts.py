"""The accounts page: every company in the recorded meetings at a glance, its figures and open signals.

One call reads the rows (``engagement.accounts.list_accounts``: one aggregate query over the meeting
index, and each listed domain's latest complete run); the filters narrow them in memory; selecting a
row opens that account's summary (its latest complete run, or a new one started on the spot).

Below the table a rep links a customer's domains into one account (``AccountLinks``), or undoes it; the links the
app can justify are offered with their reasons and made only by the rep's click.
"""

from __future__ import annotations

import re
from typing import Any

import pandas as pd
import streamlit as st

from engagement.account.domains import Account, normalize_domain
from engagement.account.signals import signal_id
from engagement.accounts import AccountRow, link_suggestions, list_accounts, missing_choices
from engagement.errors import EngagementError, InvalidDomainError
from engagement.models import utcnow
from engagement.render.present import SEVERITY_LABELS, index_progress, signal_name
from engagement.webhooks.service import webhook_store
from engagement.wording import others
from ui import audit
from ui.frame import page_frame
from ui.presentation import exit_button, is_presenting
from ui.runtime import get_runtime, load_settings
from ui.tables import fit_columns
from ui.text import md, nice_date, plural

settings = load_settings()
page_frame(settings, presenting=False)
if is_presenting():  # every account's signals and figures are the team's view, never a customer's
    exit_button()
    st.info(
        "The accounts list is the sales team's view of every customer: it is not shown in presentation mode. "
        "Exit presentation to see it.",
        icon=":material/visibility_off:",
    )
    st.stop()
runtime = get_runtime(settings)

COLUMNS = {
    "Domain": "The company's e-mail domain (a linked account's main one, with its others)",
    "Meetings": "Meetings with anyone at the domain",
    "People": "Distinct people at the domain invited to them",
    "First meeting": None,
    "Last meeting": None,
    "Days since last": "Days since the last meeting",
    "Last 90 days": "Meetings in the last 90 days",
    "90 days before": "Meetings in the 90 days before those",
    "Signals": "Open signals, most severe first",
    "Evidenced": "Qualification elements (MEDDPICC: 8) evidenced by the customer's own words in the latest summary",
    "Summary": "Whether a complete summary exists (selecting a row without one starts it)",
}

# Floors and caps of the shown columns' widths in px (ui/tables.py fits them to the text): beside the
# 300-pixel sidebar at 1024 the table has about 560 (the row selector takes about 35), so the four
# columns shown at first fit without scrolling sideways (the meetings count, one click away, made room for
# the qualification's "n/8"); longer signals wrap.
LIMITS = {"Domain": (110, 210), "Signals": (120, 150), "Evidenced": (60, 80), "Last meeting": (95, 110)}
LIVE_EVERY_S = 5  # with webhooks, how often the page looks for a delivery that changed an account


def signals_text(row: AccountRow) -> str:
    """``High: Gone dark · Medium: Cadence drop`` (the page's words for each signal)."""
    return " · ".join(
        f"{SEVERITY_LABELS.get(s.severity, s.severity)}: {signal_name(signal_id(s))}" for s in row.signals
    )


def accounts_frame(rows: list[AccountRow]) -> pd.DataFrame:
    """The table: one row an account, dates as dates so the columns sort as dates."""
    return pd.DataFrame(
        {
            "Domain": [r.name for r in rows],
            "Signals": [signals_text(r) for r in rows],
            "Evidenced": [r.evidenced.removesuffix(" evidenced") for r in rows],
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


def table_columns(frame: pd.DataFrame) -> tuple[dict[str, Any], int | None]:
    """What the table shows at first: the domain, its signals, how much is evidenced, when we last met — narrow
    enough to sit beside the sidebar at 1024 pixels. The signals already say what the other figures
    mean (gone dark, cadence drop, single-threaded); those figures are hidden, one click away under the
    table's "Show/hide columns" button. Returns the column config and the row height (tall when a
    cell wraps)."""
    fit = fit_columns(frame, LIMITS, shown={"Last meeting": [nice_date(d) for d in frame["Last meeting"]]})
    width = fit.widths
    shown = {
        "Domain": st.column_config.TextColumn(help=COLUMNS["Domain"], pinned=True, width=width["Domain"]),
        "Signals": st.column_config.TextColumn(help=COLUMNS["Signals"], width=width["Signals"]),
        "Evidenced": st.column_config.TextColumn(help=COLUMNS["Evidenced"], width=width["Evidenced"]),
        "Last meeting": st.column_config.DateColumn(format="D MMM YYYY", width=width["Last meeting"]),
    }
    return {**dict.fromkeys(COLUMNS), **shown}, fit.row_height  # None: hidden, under Show/hide columns


def search_needle(text: str) -> str:
    """What the filter looks for: the domain of a pasted website, URL or e-mail (as the summary's form reads
    it), else the typed letters as they are (``acme``)."""
    try:
        return normalize_domain(text)
    except InvalidDomainError:
        return text.strip().lower()


def last_delivery_change() -> str | None:
    """When a webhook delivery last changed an account; None without webhooks (or when the store fails)."""
    hooks = webhook_store(runtime)
    try:
        if not settings.fathom_webhook_secret and not hooks.hooks():
            return None
        return hooks.last_change() or ""
    except EngagementError:
        return None


@st.fragment(run_every=LIVE_EVERY_S)
def follow_deliveries(drawn: str) -> None:
    """Draw the page again as soon as a delivery has changed an account since the table was drawn."""
    latest = last_delivery_change()
    if latest is not None and latest != drawn:
        st.rerun()


LINK_NOTE = "accounts_link_note"  # (kind, text, the links it describes): shown while the links are still those


def note(kind: str, text: str) -> None:
    """What the last link or unlink did, kept with the links as they are now, so every rerun (the table's own
    too) shows it until the links change again."""
    try:
        now = runtime.links.accounts() if runtime.links is not None else {}
    except EngagementError:
        now = {}
    st.session_state[LINK_NOTE] = (kind, text, now)


def split_domains(text: str) -> list[str]:
    """The domains typed in one box, separated by commas, semicolons or spaces."""
    return [part for part in re.split(r"[\s,;]+", text.strip()) if part]


def link(primary: str, others: list[str]) -> None:
    """Link ``others`` to ``primary``'s account, or say why not (nothing is stored then)."""
    if runtime.links is None:
        return
    try:
        domains = runtime.links.link(primary, others, runtime.our_domains())
    except EngagementError as exc:
        note("error", str(exc))
        return
    audit.record("linked", domains[0], ", ".join(domains[1:]))
    note("success", f"{Account.of(domains).label()} is now one account: its next summary covers every domain.")


def link_typed() -> None:
    """The link form's callback: the boxes as typed."""
    link(
        st.session_state.get("accounts_link_primary", ""),
        split_domains(st.session_state.get("accounts_link_others", "")),
    )


def unlink(domain: str) -> None:
    """Take ``domain`` out of its account (the main domain: the whole account)."""
    if runtime.links is None:
        return
    try:
        freed = runtime.links.unlink(domain)
    except EngagementError as exc:
        note("error", str(exc))
        return
    audit.record("unlinked", domain, ", ".join(freed))
    note("success", f"Unlinked: {', '.join(freed)}. Each is its own account again.")


def linking(rows: list[AccountRow]) -> None:
    """Several domains, one account: what is linked (with unlink buttons), the app's suggestions with their
    reasons (linked only on a click), and a form to link any domains."""
    st.subheader("One company, several domains", anchor=False)
    st.caption(
        "Link a customer's domains (acmecorp.com and acmecorp.de) into one account: its summary, signals, Ask and "
        "this list then cover them all, each meeting once. The app suggests links it can justify; it never links "
        "on its own."
    )
    try:
        linked = runtime.links.accounts() if runtime.links is not None else {}
        suggestions = link_suggestions(runtime, rows)
    except EngagementError as exc:
        st.error(md(str(exc)), icon=":material/error:")
        return
    kind, text, described = st.session_state.get(LINK_NOTE, (None, "", None))
    if described != linked:  # the links changed since (another rep, another tab): the note is stale
        kind = None
    if kind == "error":
        st.error(md(text), icon=":material/error:")
    elif kind == "success":
        st.success(md(text), icon=":material/link:")
    for primary, domains in linked.items():
        with st.container(horizontal=True, gap="small", vertical_alignment="center", key=f"accounts_linked_{primary}"):
            st.markdown("Linked: " + md(Account.of(domains).label()))
            for domain in domains[1:]:
                st.button(
                    f"Unlink {domain}",
                    key=f"accounts_unlink_{domain}",
                    icon=":material/link_off:",
                    on_click=unlink,
                    args=(domain,),
                )
            st.button("Unlink all", key=f"accounts_unlink_all_{primary}", on_click=unlink, args=(primary,))
    for n, suggestion in enumerate(suggestions):
        main, other = suggestion.domains
        with st.container(border=True, key=f"accounts_suggestion_{n}"):
            st.markdown(f"Suggested: **{md(main)}** and **{md(other)}** may be one company")
            for reason in suggestion.reasons:
                st.markdown("- " + md(reason[:1].upper() + reason[1:]))
            st.button(
                f"Link {other} to {main}",
                key=f"accounts_suggest_{n}",
                icon=":material/add_link:",
                on_click=link,
                args=(main, [other]),
            )
    with st.form("accounts_link_form", border=False):
        with st.container(horizontal=True, gap="small", vertical_alignment="bottom"):
            st.text_input("Main domain", key="accounts_link_primary", placeholder="acmecorp.com")
            st.text_input(
                "Domains to link to it", key="accounts_link_others", placeholder="acmecorp.de, acmecorp.co.uk"
            )
        st.form_submit_button("Link", icon=":material/link:", on_click=link_typed)


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
elif not status.complete and status.in_progress:
    progress = index_progress(status, utcnow())
    st.info(
        f"{progress[0].upper()}{progress[1:]}. The accounts below are those of the meetings indexed so far, newest "
        "first; more appear as it goes, and summaries made meanwhile are refreshed when it is complete.",
        icon=":material/hourglass_top:",
    )
elif status.synced_at is None:
    st.info(
        "No Fathom meetings are indexed yet. The first summary you generate builds the index, or build it now "
        "on the admin page (or with `python -m engagement index`).",
        icon=":material/info:",
    )

drawn = last_delivery_change()
rows = list_accounts(runtime)
if drawn is not None:
    st.caption("Live: meetings Fathom sends appear here within seconds.")
    follow_deliveries(drawn)
with st.container(horizontal=True, gap="medium", vertical_alignment="bottom"):
    search = st.text_input(
        "Domain contains",
        key="accounts_search",
        placeholder="acme",
        help="Part of a domain, or a website, URL or e-mail address at the company.",
    )
    quiet = st.number_input("No meeting for at least (days)", min_value=0, step=15, key="accounts_quiet_days")
    flagged = st.toggle("Only accounts with signals", key="accounts_flagged")
    missing = st.selectbox(
        "No customer evidence for",
        missing_choices(rows),
        index=None,
        placeholder="any",
        key="accounts_missing",
        help="Only accounts whose latest summary has no customer evidence for this element (e.g. no economic buyer)",
    )

needle = search_needle(search)
shown = [
    r
    for r in rows
    if r.matches(needle)
    and r.days_since_last >= quiet
    and (r.signals or not flagged)
    and (missing is None or r.lacks(missing))
]
due = [r.domain for r in rows if r.refresh_due]
if due:
    named = ", ".join(due[:5]) + (f" and {others(len(due) - 5)}" if len(due) > 5 else "")
    st.info(
        md(
            f"Summarised while Fathom was being indexed, now complete: {named}. Open one to refresh its summary "
            "with the meetings Fathom filed under another company."
        ),
        icon=":material/sync:",
    )
st.caption(
    f"{plural(len(shown), 'account')} of {len(rows)}. People, days since the last meeting, the last 90 days and "
    "more: the table's Show/hide columns button (the eye, top right)."
)
if not shown:
    st.caption("No account matches these filters." if rows else "No meeting with another company is indexed yet.")
else:
    frame = accounts_frame(shown)
    config, row_height = table_columns(frame)
    event = st.dataframe(
        frame,
        hide_index=True,
        on_select="rerun",
        selection_mode="single-row",
        key="accounts_table",
        column_config=config,
        row_height=row_height,
    )
    picked = event.selection.rows if event is not None else []
    if picked:
        open_account(shown[picked[0]])
    with st.container(horizontal=True, gap="small", vertical_alignment="bottom"):
        by_domain = {r.domain: r for r in shown}
        choice = st.selectbox(
            "Or pick an account", list(by_domain), key="accounts_pick", format_func=lambda d: by_domain[d].name
        )
        if st.button("Open summary", key="accounts_open", icon=":material/insights:") and choice:
            open_account(by_domain[choice])

linking(rows)
