"""The admin page: every job newest first, filters, delete, purge with confirmation, the analysis cache.

Only one page of rows (50) is read from the job index per run, and no summary is ever loaded, so
the page stays quick with tens of thousands of jobs.
"""

from __future__ import annotations

import math
from datetime import timedelta
from urllib.parse import urlencode

import pandas as pd
import streamlit as st

from engagement.errors import StoreError
from engagement.jobs.repository import JobRow
from engagement.models import JobStatus, utcnow
from engagement.render.present import index_progress, one_line
from engagement.webhooks.service import webhook_store
from ui import audit
from ui.ask import questions_admin
from ui.frame import page_frame
from ui.privacy import forget_admin
from ui.result import requested_range
from ui.runtime import get_runtime, load_settings
from ui.tables import fit_columns
from ui.text import md, nice_time, plural

PAGE_SIZE = 50
DETAILS_SHOWN = 5  # selected jobs shown in full under the table
# Floors and caps of the job table's columns in px (ui/tables.py fits them to the text; longer wraps). Shown
# together they fit JOB_BUDGET_PX, the grid's width beside the sidebar at 1024 px less its selection boxes,
# so the table never scrolls sideways from 1024 to 1920; the columns of JOB_HIDDEN are one click away under
# the table's "Show/hide columns", and a selected job's details say all of it.
JOB_LIMITS = {
    "Domain": (100, 200),
    "Status": (76, 200),
    "Dates": (54, 180),
    "Created": (90, 160),
}
JOB_BUDGET_PX = 520
JOB_HIDDEN = ("Meetings", "Duration (s)", "Analyser", "Source", "Error")
ERROR_CHARS = 40  # of a failure's first sentence in its status; the whole message shows when the row is selected
STATUS_LABELS = {"": "All", "processing": "Processing", "complete": "Complete", "error": "Failed"}

settings = load_settings()
page_frame(settings, presenting=False, admin=True)
runtime = get_runtime(settings)
jobs = runtime.repo  # listing, deleting and purging read and write the job index


# ---------------------------------------------------------------- actions (callbacks: they run before the page)


def reset_page() -> None:
    """A new filter starts with nothing selected (and at its first page: the pager's key names the filter)."""
    clear_selection()


def clear_selection() -> None:
    st.session_state["admin_table_generation"] = st.session_state.get("admin_table_generation", 0) + 1


def notify(text: str) -> None:
    st.session_state["admin_notice"] = text


def ask(action: str, selected: list[tuple[str, str]] | None = None) -> None:
    """Remember what is to be confirmed; the count is shown before anything is deleted.

    A purge by age reads the number of days when it is confirmed, not when it was asked for, so
    changing the number while the confirmation is open changes what it will remove (and says so).
    """
    st.session_state["admin_confirm"] = {"action": action, "selected": [list(job) for job in selected or []]}


def purge_days() -> int:
    return int(st.session_state.get("admin_purge_days", 7))


def cancel() -> None:
    st.session_state.pop("admin_confirm", None)


def still_there(domain: str, run_id: str) -> bool:
    return jobs.load(domain, run_id) is not None


def purge_filter(pending: dict) -> dict:
    if pending["action"] == "age":
        return {"older_than": timedelta(days=purge_days())}
    return {"status": JobStatus.ERROR}


def confirm() -> None:
    pending = st.session_state.pop("admin_confirm", None)
    if not pending:
        return
    if pending["action"] == "cache":
        cleared = runtime.cache.clear()
        audit.record("cleared", "analysis cache", plural(cleared, "cached analysis", "cached analyses"))
        notify(f"Cleared {plural(cleared, 'cached analysis', 'cached analyses')}.")
        return
    try:
        if pending["action"] == "selected":
            picked = [(domain, run_id) for domain, run_id in pending["selected"]]
            removed = jobs.delete_many(picked)
            audit.record("deleted", ", ".join(sorted({domain for domain, _ in picked})), plural(removed, "job"))
            clear_selection()
            notify(f"Deleted {plural(removed, 'job')}.")
            return
        removed = jobs.purge(**purge_filter(pending))
    except StoreError as exc:  # the database failed: what to do, shown on the page
        st.session_state["admin_failure"] = str(exc)
        return
    rule = f"older than {plural(purge_days(), 'day')}" if pending["action"] == "age" else "that failed"
    audit.record("purged", "jobs", f"{plural(removed, 'job')} {rule}")
    clear_selection()
    notify(f"Purged {plural(removed, 'job')}.")


# ---------------------------------------------------------------- pieces of the page


def totals() -> None:
    counts = jobs.totals()
    columns = st.columns(4)
    columns[0].metric("Jobs", f"{sum(counts.values()):,}")
    columns[1].metric("Processing", f"{counts.get('processing', 0):,}")
    columns[2].metric("Complete", f"{counts.get('complete', 0):,}")
    columns[3].metric("Failed", f"{counts.get('error', 0):,}")


def queue_counts() -> None:
    """With Redis and RQ workers: what waits, what runs, what RQ saw fail, and how many workers are alive."""
    if runtime.queue is None:
        return
    status = runtime.queue.status()
    columns = st.columns(4)
    columns[0].metric("Queued", f"{status.queued:,}")
    columns[1].metric("Running on workers", f"{status.started:,}")
    columns[2].metric("Failed in the queue", f"{status.failed:,}")
    columns[3].metric("Workers alive", f"{status.workers:,}")
    if status.workers == 0:
        st.warning(
            "No worker is running, so queued jobs wait. Start one with `python -m engagement worker` "
            "on any machine with the same settings.",
            icon=":material/engineering:",
        )


def summary_link(row: JobRow) -> str:
    """The summary page's address for the job (relative, so it works under any base path)."""
    return "./?" + urlencode({"domain": row.domain, "run_id": row.run_id})


def status_text(row: JobRow) -> str:
    """``Complete``, ``Failed``; a running job adds its stage (``Processing · analysed 7/12 meetings``)."""
    label = STATUS_LABELS.get(row.status.value, row.status.value)
    return f"{label} · {row.stage}" if row.status is JobStatus.PROCESSING and row.stage else label


def status_cell(row: JobRow) -> str:
    """The status in the table: a failed job adds the first words of why (``Failed · Fathom refused the…``)."""
    text = status_text(row)
    return f"{text} · {error_cell(row.error)}" if row.status is JobStatus.ERROR and row.error else text


def error_cell(error: str | None) -> str:
    """A failure's first words for the table ("…" when there is more: the row's details hold all of it)."""
    said = (error or "").partition("\n\n")[0]
    return one_line(said, ERROR_CHARS)


def jobs_frame(rows: list[JobRow]) -> pd.DataFrame:
    """One row a job; the domain links to the job's summary. Counts a failed job never reached are "–", not "None"."""
    return pd.DataFrame(
        {
            "Domain": [summary_link(row) for row in rows],
            "Status": [status_cell(row) for row in rows],
            "Dates": [requested_range(row.options) or "all" for row in rows],
            "Created": [nice_time(row.created_at) for row in rows],  # text, so a narrow column wraps it
            "Meetings": ["–" if row.meetings is None else f"{row.meetings:,}" for row in rows],
            "Error": [row.error or "" for row in rows],
            "Duration (s)": [round(row.duration_s, 1) for row in rows],
            "Analyser": [row.analyzer for row in rows],
            "Source": [row.source for row in rows],
        }
    )


def jobs_table() -> None:
    """Filters, one page of jobs newest first, selection and delete."""
    status_col, domain_col = st.columns([1, 2])
    status = status_col.selectbox(
        "Status", list(STATUS_LABELS), format_func=STATUS_LABELS.__getitem__, key="admin_status", on_change=reset_page
    )
    domain = domain_col.selectbox(
        "Domain", ["", *jobs.domains()], format_func=lambda d: d or "All", key="admin_domain", on_change=reset_page
    )
    found = jobs.count(domain=domain or None, status=status or None)
    pages = max(1, math.ceil(found / PAGE_SIZE))
    pager = f"admin_page_{status}_{domain}"  # one pager per filter, so a new filter starts at page 1
    chosen = st.session_state.get(pager, 1)
    page = min(max(1, chosen if isinstance(chosen, int) else 1), pages)  # fewer pages after a purge
    rows = jobs.rows(domain=domain or None, status=status or None, limit=PAGE_SIZE, offset=(page - 1) * PAGE_SIZE)

    if not rows:
        st.info("No jobs yet." if not (status or domain) else "No jobs match these filters.")
        return
    frame = jobs_frame(rows)
    fit = fit_columns(frame, JOB_LIMITS, shown={"Domain": [row.domain for row in rows]}, budget=JOB_BUDGET_PX)
    width = fit.widths
    event = st.dataframe(
        frame,
        hide_index=True,
        on_select="rerun",
        selection_mode="multi-row",
        key=f"admin_jobs_{st.session_state.get('admin_table_generation', 0)}_{page}",
        row_height=fit.row_height,
        column_config={
            "Domain": st.column_config.LinkColumn(
                display_text=r"\?domain=([^&]+)", help="Opens the job's summary", width=width["Domain"]
            ),
            "Status": st.column_config.TextColumn(
                width=width["Status"], help="A failure's first words: select the row to read the whole message"
            ),
            "Dates": st.column_config.TextColumn(width=width["Dates"]),
            "Created": st.column_config.TextColumn(width=width["Created"]),
            **dict.fromkeys(JOB_HIDDEN),  # None: hidden, under the table's "Show/hide columns"
        },
    )
    picked = [rows[i] for i in event.selection.rows if 0 <= i < len(rows)]
    with st.container(horizontal=True, vertical_alignment="center"):
        st.caption(
            f"Jobs {(page - 1) * PAGE_SIZE + 1:,}–{(page - 1) * PAGE_SIZE + len(rows):,} of {found:,}, newest first"
        )
        st.space("stretch")
        if pages > 1:
            st.pagination(pages, key=pager, on_change=clear_selection)
    st.button(
        f"Delete selected ({len(picked)})" if picked else "Delete selected",
        key="admin_delete",
        icon=":material/delete:",
        disabled=not picked,
        on_click=ask,
        args=("selected", [(row.domain, row.run_id) for row in picked]),
        help="Select rows in the table first.",
    )
    confirmation(selected=True)
    job_details(picked)


def job_details(picked: list[JobRow]) -> None:
    """The selected jobs in full: what they asked for, where they are, the whole error message (wrapped)."""
    for row in picked[:DETAILS_SHOWN]:
        with st.container(border=True):
            st.markdown(f"**{md(row.domain)}** · {md(status_text(row))} · [open the summary ↗]({summary_link(row)})")
            meetings = "no meeting count" if row.meetings is None else plural(row.meetings, "meeting")
            st.caption(
                md(
                    f"Dates: {requested_range(row.options) or 'every meeting'} · run {row.run_id} · created "
                    f"{nice_time(row.created_at)} · took {row.duration_s:.1f} s · {meetings} · "
                    f"analyser {row.analyzer} · source {row.source}"
                )
            )
            if row.error:
                said, _, details = row.error.partition("\n\n")
                st.error(md(said), icon=":material/error:")
                if details:
                    st.markdown(md(details))
    if len(picked) > DETAILS_SHOWN:
        st.caption(f"The first {DETAILS_SHOWN} of {len(picked)} selected jobs are shown in full.")


def purge_controls() -> None:
    st.subheader("Purge", anchor=False)
    st.caption("Removes finished jobs (complete or failed). Running jobs and the analysis cache are kept.")
    with st.container(horizontal=True, vertical_alignment="bottom", gap="small"):
        st.number_input(
            "Older than (days)", min_value=1, max_value=3650, value=7, step=1, key="admin_purge_days", width=160
        )
        days = purge_days()
        st.button(f"Purge older than {plural(days, 'day')}", key="admin_purge_old", on_click=ask, args=("age",))
        st.button("Purge failed", key="admin_purge_failed", on_click=ask, args=("failed",))


def cache_controls() -> None:
    st.subheader("Analysis cache", anchor=False)
    cached = runtime.cache.count()
    st.caption(
        f"{plural(cached, 'meeting analysis', 'meeting analyses')} cached. A re-run analyses only new or changed "
        "meetings; clearing the cache makes the next runs analyse every meeting again."
    )
    st.button(
        f"Clear analysis cache ({cached:,})",
        key="admin_clear_cache",
        icon=":material/mop:",
        disabled=cached == 0,
        on_click=ask,
        args=("cache",),
    )


def index_controls() -> None:
    """The Fathom meeting index: how complete and fresh it is, and a full re-index."""
    st.subheader("Fathom meeting index", anchor=False)
    status = runtime.index_status()
    if runtime.reindexing or status.in_progress:
        progress = index_progress(status, utcnow())
        st.caption(f"{progress[0].upper()}{progress[1:]}. Summaries keep working meanwhile.")
    else:
        synced, full = nice_time(status.synced_at), nice_time(status.full_synced_at)
        st.caption(
            f"{status.meetings:,} external meetings indexed; brought up to date {synced}, fully re-indexed "
            f"{full}. A full re-index picks up meetings shared with the key later and drops deleted ones."
        )
    if runtime.reindex_error:
        st.error(md(runtime.reindex_error), icon=":material/error:")  # upstream text: shown as text
    st.button(
        "Re-index Fathom meetings",
        key="admin_reindex",
        icon=":material/sync:",
        disabled=runtime.reindexing,
        on_click=lambda: notify("Re-index started.") if runtime.start_reindex() else None,
    )


def webhook_controls() -> None:
    """Fathom webhooks: the ones created here and the deliveries that could not be applied (their error as text)."""
    hooks = webhook_store(runtime)
    registered = hooks.hooks()
    failed = hooks.failed(limit=5)
    if not registered and not settings.fathom_webhook_secret and not failed:
        return
    st.subheader("Fathom webhooks", anchor=False)
    st.caption(
        f"{plural(len(registered), 'webhook')} created here"
        + ("; FATHOM_WEBHOOK_SECRET is set." if settings.fathom_webhook_secret else ".")
        + " Deliveries are received by `python -m engagement webhooks serve`."
    )
    for delivery in failed:
        st.error(
            md(
                f"Delivery {delivery.webhook_id} (recording {delivery.recording_id}, {nice_time(delivery.received_at)}) "
                f"was not applied: {delivery.error}. The next sync of the index picks the meeting up."
            ),
            icon=":material/error:",
        )


def digest_controls() -> None:
    """Scheduled digests: the schedule (or what is wrong with it) and the sends that failed, their error as text."""
    from engagement.digests.service import DigestService
    from engagement.errors import SettingsError

    service = DigestService(runtime)
    failures = service.failures(limit=5)
    if not settings.digest_schedule and not failures:
        return
    st.subheader("Digests", anchor=False)
    try:
        schedule = service.schedule()
    except SettingsError as exc:
        st.error(md(exc), icon=":material/error:")
        schedule = None
    if schedule is not None:
        where = ", ".join(
            name for name, on in (("Slack", settings.digest_slack_url), ("e-mail", settings.digest_emails)) if on
        )
        st.caption(
            f"Sent {schedule.kind} at {schedule.at:%H:%M} ({schedule.zone.key}) to {where or 'no channel: set DIGEST_SLACK_URL or DIGEST_EMAILS'}."
        )
    for failure in failures:
        st.error(
            md(
                f"The {failure.get('channel')} digest for {str(failure.get('start'))[:10]} to "
                f"{str(failure.get('end'))[:10]} was not sent: {failure.get('error')}"
            ),
            icon=":material/error:",
        )


def confirmation(*, selected: bool) -> None:
    """The pending delete, purge or clear, with how many will go, and the second click that does it.

    A delete of selected rows is confirmed under the table (``selected=True``); purges and the cache
    under their buttons.
    """
    pending = st.session_state.get("admin_confirm")
    if not pending or (pending["action"] == "selected") != selected:
        return
    if pending["action"] == "cache":
        count = runtime.cache.count()
        what = f"{plural(count, 'cached meeting analysis', 'cached meeting analyses')} will be removed."
        nothing = "the analysis cache is empty."
        verb = f"Clear {count:,}"
    elif pending["action"] == "selected":
        count = sum(still_there(domain, run_id) for domain, run_id in pending["selected"])
        what = f"{plural(count, 'selected job')} will be deleted."
        nothing = "the selected jobs are gone already."
        verb = f"Delete {plural(count, 'job')}"
    else:
        count = jobs.purgeable(**purge_filter(pending))
        rule = f"older than {plural(purge_days(), 'day')}" if pending["action"] == "age" else "that failed"
        what = f"{plural(count, 'finished job')} {rule} will be removed."
        nothing = f"no finished job is {rule}." if pending["action"] == "age" else "no job failed."
        verb = f"Delete {plural(count, 'job')}"
    with st.container(border=True, key="admin_confirm_box"):
        if count == 0:
            st.info(f"Nothing to remove: {nothing}")
            st.button("OK", key="admin_confirm_cancel", on_click=cancel)
            return
        st.warning(what + " This cannot be undone.", icon=":material/warning:")
        with st.container(horizontal=True, gap="small"):
            st.button(verb, key="admin_confirm_yes", type="primary", on_click=confirm)
            st.button("Cancel", key="admin_confirm_cancel", on_click=cancel)


# ---------------------------------------------------------------- the page

st.title("Admin", anchor=False)
if settings.app_password and not settings.admin_password:
    st.caption("Everyone signed in can use this page: set ADMIN_PASSWORD to keep it to admins.")
notice = st.session_state.pop("admin_notice", None)
if notice:
    st.success(notice, icon=":material/check:")
failure = st.session_state.pop("admin_failure", None)
if failure:
    st.error(md(failure), icon=":material/error:")
try:
    totals()
    queue_counts()
    jobs_table()
    st.divider()
    left, right = st.columns(2, gap="large")
    with left:
        purge_controls()
    with right:
        cache_controls()
        index_controls()
        webhook_controls()
        digest_controls()
    confirmation(selected=False)
    st.divider()
    questions_admin(runtime.questions)
    st.divider()
    audit.audit_admin(runtime)
    st.divider()
    forget_admin(runtime)
except StoreError as exc:  # the database failed: what to do, not a traceback
    st.error(md(str(exc)), icon=":material/error:")
