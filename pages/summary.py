"""The summary page: type a website, watch the job run, read the account's engagement summary.

The job on show lives in the URL (``?domain=…&run_id=…``), so a reload or a shared link shows the
same job; every button below only changes the URL or starts a job, and the page renders from it.
"""

from __future__ import annotations

import re
import uuid
from datetime import date, datetime, timedelta
from typing import Any

import streamlit as st

from engagement.account.domains import Account, company_domain, display_domain, domain_variants, normalize_domain
from engagement.account.rep_roles import with_rep_roles
from engagement.account.signals import Thresholds
from engagement.accounts import refresh_due
from engagement.demo import DEMO_ACCOUNTS
from engagement.errors import EngagementError, InvalidDomainError, JobNotFoundError, StoreError
from engagement.models import JobOptions, JobRecord, JobStatus, utcnow
from engagement.render.present import index_progress
from ui import audit
from ui.ask import question_box
from ui.asker import current_asker
from ui.banner import show_notices
from ui.charts_drawn import ask_after_charts
from ui.cookies import keep_for_next_run
from ui.frame import SUMMARY_DRAWN, drawn_before, page_frame
from ui.polling import FAST_FOR, needs_full_run
from ui.preload import preload_charts
from ui.presentation import apply_style, audience, draw_part, exit_button, is_presenting
from ui.result import render_facts, render_heading, render_result, requested_range
from ui.roles import role_editor
from ui.runtime import get_runtime, load_settings
from ui.slots import Slots
from ui.text import ago, duration, md

FRESH_FOR = timedelta(hours=24)  # a completed summary younger than this is offered before a new run
RECENT_RUNS = 6
POLL_FAST, POLL_SLOW = "0.5s", "2s"  # a young job is polled fast, so a small demo run shows at once
WAIT_FOR_END_S = 0.4  # of each ½-second poll, the time it waits for the job's end, its bar drawn (``check``)
POLL_INDEX = "10s"  # how often a summary made on an incomplete index looks whether the index is complete
_WEB_ADDRESS = re.compile(r"(?:https?://|www\.)[^\s`]+")
STATUS_ICONS = {
    JobStatus.PROCESSING: ":material/progress_activity:",
    JobStatus.COMPLETE: ":material/check_circle:",
    JobStatus.ERROR: ":material/error:",
}

settings = load_settings()
presenting = is_presenting()
page_frame(settings, presenting)
# What this page's last run drew in its job slots, (run id, state); None when another page ran since, as the browser
# then holds that page's elements (ui.frame.page_frame). It decides the charts-first pass (whole_page).
last_drawn = drawn_before()
viewer = audience(presenting)  # what this run may draw: everything for the team, the allow-list for a customer
runtime = get_runtime(settings)
jobs = runtime.jobs


# ---------------------------------------------------------------- the URL holds the job on show


def show_job(domain: str, run_id: str) -> None:
    """Point the URL at a job (``present`` and other parameters stay as they are), in one step: each write of
    the URL is an entry of the browser's history, and Back must not stop at a half-written one."""
    st.query_params.update(domain=domain, run_id=run_id)
    st.session_state.pop("summary_offer", None)


def keep_for_navigation(shown: tuple[str, str] | None) -> None:
    """Remember the job on show and the form's values: Streamlit drops both on a visit to another page."""
    st.session_state["summary_kept"] = {
        "job": list(shown) if shown else None,
        "website": st.session_state.get("summary_website", ""),
        "dates": st.session_state.get("summary_dates", ()),
    }


def restore_after_navigation() -> None:
    """Back from another page (the form is gone): the values kept. The job comes back through the address the
    sidebar's Summary link carries (``ui.frame.page_links``); this page never writes the URL unasked, since
    Streamlit applies a write to whatever page the browser shows when it arrives (Back: ``/admin?run_id=…``)."""
    kept = st.session_state.get("summary_kept")
    if not kept or "summary_website" in st.session_state:
        return  # nothing kept, or the form never left
    st.session_state["summary_website"] = kept["website"]
    st.session_state["summary_dates"] = tuple(kept["dates"])


def fill_form_from(record: JobRecord | None) -> None:
    """A job opened from a link or the recent runs fills the form with its website and dates (once per job)."""
    if record is None or st.session_state.get("summary_filled_for") == record.run_id:
        return
    st.session_state["summary_filled_for"] = record.run_id
    try:
        typed_same = company_domain(st.session_state.get("summary_website", "")) == record.domain
    except InvalidDomainError:
        typed_same = False
    if not typed_same:  # what the rep typed stays when it names the same company
        st.session_state["summary_website"] = domain_variants(record.domain)[-1]  # typeable: no "(xn--…)"
    st.session_state["summary_dates"] = tuple(
        date.fromisoformat(day) for day in (record.options.since, record.options.until) if day
    )


def job_in_url() -> tuple[str, str] | None:
    """The ``(domain, run_id)`` the URL asks for; None when it asks for none, ``("", "")`` when it cannot exist."""
    domain, run_id = st.query_params.get("domain"), st.query_params.get("run_id")
    if not domain or not run_id:
        return None
    try:
        return normalize_domain(domain), str(uuid.UUID(run_id))
    except (InvalidDomainError, ValueError):
        return ("", "")  # asked for, but it cannot exist: shown as "not found"


def options_from(dates: Any) -> JobOptions:
    """The date range widget's value as job options (either end may be open)."""
    picked = [d for d in (dates or ()) if isinstance(d, date)]
    since = picked[0].isoformat() if picked else None
    until = picked[1].isoformat() if len(picked) > 1 else None
    return JobOptions(since=since, until=until)


# ---------------------------------------------------------------- actions (callbacks: they run before the page)


def start(domain: str, options: JobOptions) -> None:
    """Start a job (or join the one already running for the same work) and show it."""
    try:
        run_id = jobs.start(domain, options)
    except EngagementError as exc:
        st.session_state["summary_error"] = str(exc)
        return
    audit.record("started", domain, f"run {run_id}")
    show_job(domain, run_id)


def covers(record: JobRecord | None, account: Account) -> bool:
    """Whether a stored run summarised exactly this account's domains (a run from before links: its own domain)."""
    if record is None:
        return False
    domains = record.summary.domains if record.summary is not None else []
    return tuple(domains or [record.domain]) == account.domains


def request_summary(text: str, dates: Any, *, offer: bool = True) -> None:
    """Check the website; offer a fresh completed summary if there is one; else start a job."""
    st.session_state.pop("summary_offer", None)
    try:
        domain = company_domain(text, runtime.our_domains())
    except InvalidDomainError as exc:
        st.session_state["summary_error"] = str(exc)
        return
    st.session_state.pop("summary_error", None)
    options = options_from(dates)
    try:
        account = runtime.account(domain)  # any member a rep types is its linked account, kept under the primary
        domain = account.primary
        recent = runtime.repo.latest_complete(domain, options, max_age=FRESH_FOR)
        if recent is not None and not covers(runtime.repo.load(domain, recent.run_id), account):
            recent = None  # made before a link or an unlink: not this account's summary
    except StoreError as exc:
        st.session_state["summary_error"] = str(exc)
        return
    if recent is not None and offer:
        st.session_state["summary_offer"] = {
            "domain": domain,
            "run_id": recent.run_id,
            "since": options.since,
            "until": options.until,
            "created_at": recent.created_at.isoformat(),
        }
        return
    if recent is not None:
        show_job(domain, recent.run_id)
        return
    start(domain, options)


def on_generate() -> None:
    request_summary(st.session_state.get("summary_website", ""), st.session_state.get("summary_dates"))


def on_demo(domain: str) -> None:
    """A demo account: open its fresh summary straight away, or start one (one click either way)."""
    st.session_state["summary_website"] = domain
    request_summary(domain, st.session_state.get("summary_dates"), offer=False)


def on_open_offer() -> None:
    offer = st.session_state.pop("summary_offer", None)
    if offer:
        show_job(offer["domain"], offer["run_id"])


def on_fresh_offer() -> None:
    offer = st.session_state.pop("summary_offer", None)
    if offer:
        start(offer["domain"], JobOptions(since=offer["since"], until=offer["until"]))


def on_try_again(domain: str, since: str | None, until: str | None) -> None:
    start(domain, JobOptions(since=since, until=until))


def on_start_over() -> None:
    for name in ("domain", "run_id"):
        st.query_params.pop(name, None)
    st.session_state.pop("summary_kept", None)


def message_markdown(message: str) -> str:
    """The website check's message as literal text, with the web addresses it suggests shown as code."""

    def text(chunk: str) -> str:  # md() trims; the spaces around an address must stay
        return (
            (" " if chunk[:1].isspace() else "") + md(chunk) + (" " if chunk[-1:].isspace() and chunk.strip() else "")
        )

    parts, last = [], 0
    for found in _WEB_ADDRESS.finditer(message):
        address = found.group(0).rstrip(".,;:!?)'\"")
        parts += [text(message[last : found.start()]), f"`{address}`"]
        last = found.start() + len(address)
    parts.append(text(message[last:]))
    return "".join(parts)


# ---------------------------------------------------------------- pieces of the page


def request_form() -> None:
    """Website and optional dates side by side, the button under them; the message under the field.

    The button has a row of its own so its label is never cut, however narrow the screen.
    """
    st.session_state.setdefault("summary_dates", ())
    with st.form("summary_form", border=False, enter_to_submit=True):
        spec = [1, 1]  # room for the whole "yyyy-mm-dd – yyyy-mm-dd" beside a 300-pixel sidebar at 1024
        website, dates = st.columns(spec, vertical_alignment="bottom")
        website.text_input(
            "Company website",
            placeholder="https://www.acmecorp.com",
            key="summary_website",
            help="A website, a domain or someone's e-mail address at the company.",
        )
        dates.date_input(
            "Meetings between (optional)",
            key="summary_dates",
            format="YYYY-MM-DD",
            help="Leave empty for every meeting. Pick a start and an end to narrow it down.",
        )
        error = st.session_state.pop("summary_error", None)
        if error:
            st.columns(spec)[0].error(message_markdown(error), icon=":material/error:")
        st.form_submit_button("Generate Meeting Summary", type="primary", on_click=on_generate)


def request_line(domain: str, record: JobRecord | None, run_id: str | None) -> None:
    """The request folded to one line once a job is on show (website, dates, "change"): the answer starts at the top.

    The form stays inside the folded line (an expander), so its values are kept; each job gets a line
    of its own, folded when the job is first shown.
    """
    asked = requested_range(record.options) if record is not None else ""
    account = Account.of_summary(record.summary) if record is not None and record.summary else Account.of(domain)
    label = f"**{md(account.label(display_domain))}** · {md(asked or 'every meeting')} · change"
    with st.expander(label, icon=":material/language:", key=f"summary_request_{run_id}"):
        request_form()
        with st.container(horizontal=True, vertical_alignment="center", gap="small"):
            demo_buttons()


def demo_buttons() -> None:
    """ "Try a demo account:" and one button a demo account (only when the source is the demo data)."""
    if settings.source != "demo":
        return
    st.markdown("Try a demo account:", width="content")
    for domain, name in DEMO_ACCOUNTS:
        st.button(name, key=f"summary_demo_{domain}", on_click=on_demo, args=(domain,), help=domain)


def offer_fresh(shown_run: str | None) -> None:
    """ "A summary from 12 minutes ago is ready — Open it / Generate a fresh one"."""
    offer = st.session_state.get("summary_offer")
    if not offer:
        return
    made = ago(datetime.fromisoformat(offer["created_at"])).replace("just now", "a moment ago")
    with st.container(border=True):
        if offer["run_id"] == shown_run:
            st.markdown(f"The summary below for **{md(display_domain(offer['domain']))}** is from {made}.")
        else:
            st.markdown(f"A summary of **{md(display_domain(offer['domain']))}** from {made} is ready.")
        with st.container(horizontal=True, gap="small"):
            if offer["run_id"] != shown_run:
                st.button("Open it", key="summary_offer_open", type="primary", on_click=on_open_offer)
            st.button("Generate a fresh one", key="summary_offer_fresh", on_click=on_fresh_offer)


def recent_runs(domain: str | None, shown_run: str | None) -> None:
    """The latest runs (of the domain on show, else of every domain) in the sidebar, one click each."""
    try:
        rows = runtime.repo.rows(domain=domain or None, limit=RECENT_RUNS)
    except StoreError:
        rows = []  # the page says what failed where it matters; the sidebar stays empty
    with st.sidebar:
        st.subheader(f"Recent runs · {display_domain(domain)}" if domain else "Recent runs", anchor=False)
        if not rows:
            st.caption("No runs yet.")
        for row in rows:
            created = row.created_at
            when = ago(created)
            # one line each in a narrow sidebar: across domains the icon alone says the status
            label = f"{when} · {row.status.value}" if domain else f"{display_domain(row.domain)} · {when}"
            asked = requested_range(row.options)
            label += f" · {asked}" if asked else ""
            st.button(
                md(label),
                key=f"summary_recent_{row.run_id}",
                icon=STATUS_ICONS.get(row.status),
                help=f"{display_domain(row.domain)}: {row.status.value}, {row.stage}",
                type="tertiary",
                disabled=row.run_id == shown_run,
                on_click=show_job,
                args=(row.domain, row.run_id),
            )


def progress_view(record: JobRecord) -> None:
    """Stage, a progress bar (``analysed 7/12 meetings``) and the time so far."""
    total, done = record.progress.total, record.progress.done
    fraction = min(1.0, done / total) if total else 0.0
    stage = (
        record.stage.capitalize() if record.stage and record.stage != "queued" else "Queued: waiting for a free worker"
    )
    st.progress(fraction, text=md(stage))
    young = utcnow() - record.created_at < FAST_FOR
    st.caption(f"{duration(utcnow() - record.created_at)} so far · updates every {'½' if young else '2'} s")


def check(domain: str, run_id: str) -> None:
    """One poll: rerun the whole page when there is more to draw than a progress bar, else draw the bar.

    A full run is needed when the job ends, when its facts first arrive (they are drawn outside the
    fragment, once; ``ui/polling.py`` says when), and when it stops being young (the slower fragment takes over).
    A young job may end any moment: with its bar drawn, the poll waits up to ``WAIT_FOR_END_S`` for this process
    to store the end, so the end is drawn when it is stored rather than at the next tick. The page's own run waits
    too: a demo job often ends in the half second before the fragment's first tick.
    """
    try:
        record = jobs.get(domain, run_id)
    except JobNotFoundError:
        st.rerun()
    except StoreError as exc:  # the database failed: say what to do, keep polling (it may recover)
        st.error(md(str(exc)), icon=":material/error:")
        return
    fast = st.session_state.get("summary_poll") == "fast"
    facts_drawn = st.session_state.get("summary_facts_for") == run_id
    if needs_full_run(record, facts_drawn=facts_drawn, fast=fast, now=utcnow()):
        run_again()  # the full run draws what is new; once the job is over it no longer calls this fragment
    progress_view(record)
    if fast and jobs.wait_for_end(domain, run_id, WAIT_FOR_END_S):
        run_again()


def run_again() -> None:
    """From a poll (the job ended, or there is more to draw): run the whole page again now. The poll may be the page's
    own run, so the cookie scripts it wrote are drawn again by the next, which may replace this one's page before the
    browser ran them (``ui/cookies.py``).

    Keeping them reads and writes the session state, which is where Streamlit makes a run the user asked for meanwhile
    (a page link clicked while the poll waited): asked for after it, ours would take its place (the newer request's
    page wins)."""
    keep_for_next_run()
    st.rerun()


@st.fragment(run_every=POLL_FAST)
def poll_fast(domain: str, run_id: str) -> None:
    """Re-read the record every ½ s while the job is young."""
    check(domain, run_id)


@st.fragment(run_every=POLL_SLOW)
def poll_slow(domain: str, run_id: str) -> None:
    """Re-read the record every 2 s; once it is terminal, rerun the page (which then stops polling)."""
    check(domain, run_id)


def shown_record(shown: tuple[str, str] | None) -> JobRecord | None:
    """The record the URL points at, or None when there is none (or it cannot exist)."""
    if not shown or not shown[0]:
        return None
    try:
        return jobs.get(*shown)
    except JobNotFoundError:
        return None
    except StoreError as exc:  # the database failed: say what to do instead of a traceback
        st.error(md(str(exc)), icon=":material/error:")
        return None


def failure_view(record: JobRecord) -> None:
    """What went wrong in the rep's words; what an admin needs (settings, hosts) folded under it, never presented."""
    draw_part(viewer, "heading", render_heading, record, presenting, settings.source)
    message = record.error or "The job failed without a message."
    said, _, details = message.partition("\n\n")
    st.error(md(said), icon=":material/error:")
    if details and not presenting:
        with st.expander("Details for the admin"):
            st.markdown(md(details))
    st.button(
        "Try again",
        key="summary_try_again",
        type="primary",
        on_click=on_try_again,
        args=(record.domain, record.options.since, record.options.until),
    )


JOB_STATES = ("missing", *(status.value for status in JobStatus))


def job_state(record: JobRecord | None) -> str:
    """Which of the page's job slots (``JOB_STATES``) draws ``record``."""
    return "missing" if record is None else record.status.value


def job_view(record: JobRecord | None) -> None:
    """The job the URL points at: its progress (and its facts as soon as it has them), its failure, or its summary."""
    if record is None:
        st.warning(
            "That summary was not found: the link may be mistyped, or the job was purged. Generate it again above.",
            icon=":material/search_off:",
        )
        st.button("Start over", key="summary_start_over", on_click=on_start_over)
        return
    if record.status is JobStatus.PROCESSING:
        draw_part(viewer, "heading", render_heading, record, presenting, settings.source)
        young = utcnow() - record.created_at < FAST_FOR
        st.session_state["summary_poll"] = "fast" if young else "slow"
        st.session_state["summary_facts_for"] = record.run_id if record.summary is not None else None
        (poll_fast if young else poll_slow)(record.domain, record.run_id)
        render_facts(record, viewer)
    elif record.status is JobStatus.ERROR:
        failure_view(record)
    else:
        if st.session_state.get("summary_viewed") != record.run_id:  # once a visit, not at every rerun
            st.session_state["summary_viewed"] = record.run_id
            audit.record("viewed", record.domain, f"run {record.run_id}")
        if not presenting:
            index_refresh(record)
        shown = with_roles(record)
        slots = Slots()
        with st.container(key="summary_result"):  # in a presentation, everything in here is an allow-listed part
            render_result(shown, viewer, slots, settings.source)
            if not whole_page(record.run_id):  # the charts' pass: the browser asks for the rest once it drew them
                ask_after_charts(slots.charts, key=f"summary_after_charts_{record.run_id}")
                return
            slots.fill()
            if not presenting and shown.summary is not None and runtime.roles is not None:
                role_editor(shown.summary, runtime.roles)
            draw_part(viewer, "ask", question_box, record, runtime.questions, current_asker(), presenting)


def whole_page(run_id: str) -> bool:
    """Whether this run draws the whole summary of ``run_id``: not when this page's last run drew the same job still
    running (the charts' pass), which draws everything above the sections and the charts in their places and then
    has the browser ask for the whole once it has drawn them (``ui/charts_drawn.py``); drawn in one run, the last chart
    waited for the browser to take in every section above it.

    Only then: the finished summary's slot held nothing but an empty element before it (the running job was in its
    own slot). A summary opened from a link, a recent run, a demo button or another page comes whole in one run,
    since its slot may still hold another summary's sections (or another page's elements), which the browser would
    keep under the new charts until a second run (in a presentation too).
    """
    return last_drawn != (run_id, JobStatus.PROCESSING.value)


def index_refresh(record: JobRecord) -> None:
    """A summary made while Fathom's workspace was first indexed: once the index is complete, offer the refreshed
    summary (the one on screen when it completes is refreshed at once); meanwhile, how far the index has got."""
    if record.summary is None or record.summary.coverage is None or record.summary.coverage.index_complete is not False:
        return
    try:
        status = runtime.index_status()
        newer = runtime.repo.latest_complete(record.domain, record.options)
    except StoreError:
        return  # the note in the summary still says what may be missing
    if newer is not None and newer.run_id != record.run_id:
        return  # refreshed already: the newer run is in the recent runs
    if refresh_due(record.summary.coverage.index_complete, status.complete):
        with st.container(horizontal=True, vertical_alignment="center"):
            st.info(
                "Fathom's workspace is fully indexed now: meetings filed under another company may add to this "
                "summary.",
                icon=":material/sync:",
            )
            st.button(
                "Refresh the summary",
                key="summary_refresh",
                type="primary",
                on_click=on_try_again,
                args=(record.domain, record.options.since, record.options.until),
            )
        return
    watch_index(record.domain, record.options.since, record.options.until)


@st.fragment(run_every=POLL_INDEX)
def watch_index(domain: str, since: str | None, until: str | None) -> None:
    """While the workspace's first listing runs: its progress; when it ends, the summary on screen is made again."""
    try:
        status = runtime.index_status()
    except StoreError:
        return
    if status.complete:
        start(domain, JobOptions(since=since, until=until))
        st.rerun(scope="app")
    progress = index_progress(status, utcnow())
    st.caption(md(f"{progress[0].upper()}{progress[1:]}. This summary is made again when it is complete."))


def with_roles(record: JobRecord) -> JobRecord:
    """The record with the roles reps set laid over it (signals that read roles judged again)."""
    if runtime.roles is None:
        return record
    try:
        return with_rep_roles(record, runtime.roles, Thresholds.from_settings(settings))
    except StoreError as exc:
        st.warning(md(f"The roles set by reps could not be read, so the meetings' roles are shown: {exc}"))
        return record


def empty_state() -> None:
    st.markdown(
        "Type a customer's website. The app finds every recorded meeting with people from that company "
        "and shows who you met, what they care about and what to do next, each point backed by a quote "
        "from a meeting."
    )


# ---------------------------------------------------------------- the page

apply_style(presenting)
restore_after_navigation()
shown = job_in_url()
record = shown_record(shown)
if record is None or record.status is JobStatus.PROCESSING:
    preload_charts()  # charts are coming: the browser starts Plotly now, not when they arrive (ui/preload.py)
fill_form_from(record)
if "summary_website" not in st.session_state and st.query_params.get("domain"):
    st.session_state["summary_website"] = st.query_params["domain"]  # a shared link fills the field
shown_run = shown[1] if shown else None

if presenting:  # no demo buttons, no recent runs, no banner: the customer sees their summary and a way out
    with st.container(horizontal=True, vertical_alignment="center", gap="small"):
        st.space("stretch")
        exit_button()
    if shown:
        with st.expander("Summarise another website"):
            request_form()
    else:
        st.title("Engagement Summary", anchor=False)
        request_form()
elif shown and shown[0]:
    request_line(shown[0], record, shown_run)  # the answer first: the form waits in the folded line
    recent_runs(shown[0], shown_run)
else:
    st.title("Engagement Summary", anchor=False)
    st.caption(
        "Every recorded meeting with a customer, summarised: who you met, what they care about, what to do next."
    )
    show_notices(settings)
    request_form()
    with st.container(horizontal=True, vertical_alignment="center", gap="small"):
        demo_buttons()
    recent_runs(shown[0] if shown else None, shown_run)

offer_fresh(shown_run)
keep_for_navigation(shown if record is not None else None)
# Said before the job is drawn: a running job's poll may wait for its end there and rerun the page from it.
st.session_state[SUMMARY_DRAWN] = (record.run_id, job_state(record)) if record is not None else None
if shown or st.query_params.get("run_id"):
    # A slot of its own for each state of the job, side by side, the others drawn empty. The browser keeps a
    # container's old children when a container comes again at the same place, leaving them to a clean-up that a
    # polling fragment's tick can cancel (Streamlit issue #16708): the running job's facts then stayed beside the
    # finished summary. An empty element in the running job's slot removes them, with all it held, at once.
    job_slots = {state: st.empty() for state in JOB_STATES}
    with job_slots[job_state(record)].container():
        job_view(record)  # a run id without a domain is a broken link: "not found"
else:
    empty_state()
if presenting or (shown and shown[0]):
    show_notices(settings, presenting=True)  # a footnote: the answer stays at the top of the screen
