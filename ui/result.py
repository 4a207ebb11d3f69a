"""A completed summary on the page: headline metrics, charts, insights with evidence, tables, exports.

Everything that came from a meeting or the model goes through ``ui.text.md`` before ``st.markdown``,
or into a dataframe cell or a chart builder (which escape it themselves). Nothing here uses
``unsafe_allow_html``.

Every part of the summary is drawn through ``draw_part`` for an ``Audience``: in presentation mode only
the allow-listed parts are drawn (``engagement.render.audience``), from the summary's customer copy.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from dataclasses import replace
from datetime import date
from functools import partial

import pandas as pd
import streamlit as st

from engagement.account.domains import display_domain
from engagement.account.facts import days_since
from engagement.models import EngagementSummary, Evidence, Insight, JobOptions, JobRecord, JobStatus
from engagement.render import charts, report
from engagement.render.audience import Audience
from engagement.render.present import (
    MEETING_COLUMNS,
    PEOPLE_COLUMNS,
    ROLE_SOURCES,
    SECTIONS,
    Column,
    MeetingRow,
    PersonRow,
    Section,
    cite,
    columns,
    insights,
    meeting_rows,
    people_rows,
    restates,
    side_counts,
)
from engagement.runtime import COMPANY_NAMES
from ui import audit
from ui.media import expiring
from ui.presentation import draw_part
from ui.signals import render_overview
from ui.text import md, month_year, nice_date, plural

ICONS = {
    "goals": ":material/flag:",
    "challenges": ":material/construction:",
    "risks": ":material/warning:",
    "recommendations": ":material/lightbulb:",
}
QUOTES_PER_INSIGHT = 2
INSIGHTS_SHOWN = 5  # per section; the rest wait in an expander (all of them are in the exports)
EMPTY_SECTION = {
    "goals": "No goals were stated in these meetings.",
    "challenges": "No challenges came up in these meetings.",
    "risks": "No risks came up in these meetings.",
    "recommendations": "No recommendations yet: there is too little to go on.",
}


def account_name(record: JobRecord, source: str = "") -> str:
    """The company's name when known, else its domain as a person reads it.

    ``source`` stands in for the record's until the job has said where its data comes from, so a
    demo run is headed "Acme Corp" from its first frame, not "acmecorp.com" and then "Acme Corp".
    """
    summary = record.summary
    demo_name = COMPANY_NAMES.get(record.domain, "") if (record.source or source) == "demo" else ""
    known = summary.company if summary and summary.company else demo_name
    return known or display_domain(record.domain)


def _dates_asked(options: JobOptions, both: str, since_only: str, until_only: str, neither: str) -> str:
    """The run's date range in one of four wordings (``{since}`` and ``{until}`` become nice dates)."""
    since = nice_date(options.since) if options.since else ""
    until = nice_date(options.until) if options.until else ""
    wording = both if since and until else since_only if since else until_only if until else neither
    return wording.format(since=since, until=until)


def requested_range(options: JobOptions) -> str:
    """The dates a run asked for (``1 Jun 2026 – 31 Aug 2026``, ``from 1 Jun 2026``); "" for every meeting."""
    return _dates_asked(options, "{since} – {until}", "from {since}", "until {until}", "")


def period_text(record: JobRecord) -> str:
    """The range the run asked for, else ``Nov 2025 – May 2026`` from the meetings."""
    asked = requested_range(record.options)
    if asked:
        return asked
    summary = record.summary
    if summary and summary.first_meeting and summary.last_meeting:
        first, last = month_year(summary.first_meeting), month_year(summary.last_meeting)
        return first if first == last else f"{first} – {last}"
    return "every meeting" if record.status is JobStatus.PROCESSING else "no meetings yet"


def render_heading(record: JobRecord, presenting: bool, source: str = "") -> None:
    """The same heading from the first frame of a run to its finished summary; a filtered run says so."""
    name = account_name(record, source)
    if presenting:
        st.title(md(name), anchor=False)
        st.caption(md(f"Engagement summary · {period_text(record)} · {display_domain(record.domain)}"))
    else:
        st.header(md(f"{name} · {period_text(record)}"), anchor="summary", divider="gray")
    if record.options.since or record.options.until:
        st.caption(
            md(f"Filtered run: only meetings {range_sentence(record.options)}.")
            + " The counts, people and dates below are for that range, not the whole account."
        )


def range_sentence(options: JobOptions) -> str:
    """``between 1 Jun 2026 and 31 Aug 2026``, ``from 1 Jun 2026 on``, ``up to 31 Aug 2026``."""
    return _dates_asked(options, "between {since} and {until}", "from {since} on", "up to {until}", "of every date")


def render_metrics(summary: EngagementSummary, today: date | None = None, *, in_range: bool = False) -> None:
    """Meetings, customer people, first and last meeting, days since the last one.

    Each metric is as wide as its label or value and the row wraps, so nothing is cut off on a narrow
    screen. In a filtered run the last meeting is the last one in the range, and the label says so.
    """
    today = today or date.today()
    since_last = days_since(summary.last_meeting, today) if summary.last_meeting else None
    scope = " in range" if in_range else ""
    metrics: list[tuple[str, int | str, str | None]] = [
        ("Meetings", summary.meetings_count, None),
        ("Customer people", side_counts(summary)[0], None),
        (f"First meeting{scope}", nice_date(summary.first_meeting), None),
        (f"Last meeting{scope}", nice_date(summary.last_meeting), None),
        (
            f"Days since last{scope}",
            "—" if since_last is None else since_last,
            "Days from the last meeting in the dates asked for to today: the account may have met since."
            if in_range
            else "Days from the account's last recorded meeting to today.",
        ),
    ]
    with st.container(horizontal=True, gap="small", key="summary_metrics"):
        for label, value, help_text in metrics:
            st.metric(label, value, help=help_text, border=True, width="content")


def render_charts(summary: EngagementSummary, audience: Audience, *, waiting: str = "") -> None:
    """Meetings per month, themes by mentions, people by meetings attended.

    On screen the first two share a row; on a projector every chart gets the full width, so month
    labels and names stay legible at projector font sizes. People always get the full width: the
    side legend wraps onto the title in half a row. While the analysis runs (``waiting`` says how far
    it is) the themes' place holds that line instead.
    """
    presenting = audience.presenting
    config = {"displaylogo": False, "responsive": True}

    def months() -> None:
        st.plotly_chart(charts.meetings_over_time(summary, presentation=presenting), theme=None, config=config)

    def themes() -> None:
        if waiting:
            st.subheader("Themes by mentions", anchor=False)
            st.caption(waiting)  # our own words and numbers, no data
            return
        figure = charts.themes_by_mentions(summary, top=8 if presenting else 10, presentation=presenting)
        st.plotly_chart(figure, theme=None, config=config)

    def people() -> None:
        figure = charts.people_by_meetings(summary, top=10 if presenting else 12, presentation=presenting)
        st.plotly_chart(figure, theme=None, config=config)

    if presenting:
        draw_part(audience, "meetings_chart", months)
        if not waiting:
            draw_part(audience, "themes", themes)
    else:
        left, right = st.columns(2, gap="large")
        with left:
            draw_part(audience, "meetings_chart", months)
        with right:
            draw_part(audience, "themes", themes)
    draw_part(audience, "people_chart", people)


def attribution(evidence: Evidence) -> str:
    """``Sarah Lopez (Customer), 7 May 2026 · open in Fathom ↗`` (escaped; the link only when it is http(s))."""
    citation = cite(evidence)
    when = md(nice_date(citation.date)) if citation.date else ""
    who = ", ".join(part for part in (md(citation.who), when) if part)
    link = f"[open in Fathom ↗]({citation.url})" if citation.url else ""
    return " · ".join(part for part in (who, link) if part)


def evidence_line(evidence: Evidence) -> str | None:
    """``> “quote” — speaker, 4 May 2026 · open in Fathom ↗``; None for a quote that was not verified."""
    quote = cite(evidence).quote
    if quote is None:
        return None
    tail = attribution(evidence)
    return f"> “{md(quote)}”" + (f"  \n> — {tail}" if tail else "")


def render_insight(insight: Insight) -> None:
    """One insight in bold, then its verified quotes (an unverified quote is never shown as one).

    When the insight is its first quote word for word (the offline analyser's way), the quote is the
    heading and only its attribution follows, instead of the same sentence twice.
    """
    verified = [e for e in insight.evidence if e.verified and e.quote.strip()]
    if restates(insight):
        first, rest = verified[0], verified[1:]
        tail = attribution(first)
        parts = [f"**“{md(first.quote)}”**" + (f"  \n— {tail}" if tail else "")]
    else:
        rest = verified
        parts = [f"**{md(insight.text)}**"]
    lines = [line for line in (evidence_line(e) for e in rest) if line]
    room = QUOTES_PER_INSIGHT - (len(verified) - len(rest))
    parts += lines[:room]
    if len(lines) > room:
        parts.append(f"*and {plural(len(lines) - room, 'more quote')} in the exports*")
    st.markdown("\n\n".join(parts))


def render_section(summary: EngagementSummary, section: Section, waiting: str = "") -> None:
    """One insight section: its first few insights, the rest folded; while the analysis runs, how far it is."""
    st.subheader(f"{ICONS[section.field]} {section.title}", anchor=section.field)
    if waiting:
        st.caption(waiting)  # our own words and numbers, no data
        return
    items = insights(summary, section.field)
    if not items:
        st.caption(EMPTY_SECTION[section.field])
    for insight in items[:INSIGHTS_SHOWN]:
        render_insight(insight)
    if len(items) > INSIGHTS_SHOWN:
        with st.expander(f"{len(items) - INSIGHTS_SHOWN} more {section.title.lower()}"):
            for insight in items[INSIGHTS_SHOWN:]:
                render_insight(insight)


def render_insights(summary: EngagementSummary, audience: Audience, *, waiting: str = "") -> None:
    """Goals, challenges, risks and recommendations (those the audience sees), two a row.

    While the analysis runs each section shows ``waiting`` (how far it is) in its place.
    """
    shown = [section for section in SECTIONS if audience.shows(section.field)]
    for start in range(0, len(shown), 2):
        row = shown[start : start + 2]
        for column, section in zip(st.columns(2, gap="large"), row, strict=False):
            with column:
                draw_part(audience, section.field, render_section, summary, section, waiting)


def _dates(values: Iterable[str | None]) -> pd.Series:
    """ISO dates as real dates (so the column sorts as dates); anything unparseable becomes empty."""
    return pd.to_datetime(
        pd.Series([(v or "")[:10] for v in values], dtype="string"), errors="coerce", format="%Y-%m-%d"
    ).dt.date


# The page's tables: which columns, in what order (labels and rows come from engagement.render.present).
PEOPLE_SHOWN = (
    "name",
    "role",
    "role_from",
    "role_quote",
    "side",
    "meetings",
    "invited",
    "spoke_in",
    "first_seen",
    "last_seen",
    "email",
    "aliases",
    "matched_by",
)
MEETINGS_SHOWN = (
    "date",
    "title",
    "minutes",
    "transcript",
    "customer_people",
    "internal_people",
    "analysed",
    "recording",
)
DATE_COLUMNS = frozenset({"date", "first_seen", "last_seen"})


def _frame(rows: Sequence[PersonRow | MeetingRow], table: Sequence[Column], shown: Sequence[str]) -> pd.DataFrame:
    """A dataframe of ``rows`` with the ``shown`` columns: dates as dates, lists joined, minutes as integers."""
    data: dict[str, object] = {}
    for column in columns(table, *shown):
        values = [getattr(row, column.key) for row in rows]
        if column.key in DATE_COLUMNS:
            data[column.label] = _dates(values)
        elif column.key == "minutes":
            data[column.label] = pd.array(values, dtype="Int64")
        else:
            data[column.label] = [", ".join(v) if isinstance(v, tuple) else v for v in values]
    return pd.DataFrame(data)


def people_frame(summary: EngagementSummary, *, mark_rep_roles: bool = True) -> pd.DataFrame:
    """The people table: most meetings first; a role a rep set says so in its cell ("CFO (set by a rep)"),
    except on a projector in front of the customer (``mark_rep_roles=False``)."""
    rows = [
        replace(row, role=f"{row.role} ({row.role_from})")
        if mark_rep_roles and row.role_from == ROLE_SOURCES["rep"]
        else row
        for row in people_rows(summary)
    ]
    return _frame(rows, PEOPLE_COLUMNS, PEOPLE_SHOWN)


def meetings_frame(summary: EngagementSummary) -> pd.DataFrame:
    """The meetings table, newest first; links only when they are http(s)."""
    return _frame(meeting_rows(summary)[::-1], MEETING_COLUMNS, MEETINGS_SHOWN)


PEOPLE_ON_SCREEN = ["Name", "Role", "Side", "Meetings", "Last seen", "E-mail"]  # where roles were said: ui/roles.py
MEETINGS_ON_SCREEN = ["Date", "Title", "Customer people", "Minutes", "Transcript", "Recording"]
PRESENTED_PEOPLE = ["Name", "Role", "Side", "Meetings", "Last seen"]  # no e-mail addresses on a projector
PRESENTED_MEETINGS = ["Date", "Title", "Customer people", "Minutes"]
PRESENTED_MEETINGS_MAX = 15


def _presented(frame: pd.DataFrame, columns: list[str]) -> pd.DataFrame:
    """A plain table for a projector: chosen columns, dates as people write them, blanks for nothing."""
    shown = frame[columns].copy()
    for name in ("Date", "Last seen"):
        if name in shown:
            shown[name] = [nice_date(v) if v is not None and not pd.isna(v) else "—" for v in shown[name]]
    return shown.astype(object).where(shown.notna(), "—")


def render_tables(summary: EngagementSummary, audience: Audience) -> None:
    """People and meetings: sortable grids on screen, large plain tables (no e-mail) on a projector.

    On screen the grids show the columns that fit a laptop without scrolling sideways; the exports
    have every column.
    """
    draw_part(audience, "people", render_people, summary, audience.presenting)
    draw_part(audience, "meetings", render_meetings, summary, audience.presenting)


def render_people(summary: EngagementSummary, presenting: bool) -> None:
    """The people table: a grid on screen, a plain table without e-mail addresses on a projector."""
    st.subheader("People", anchor="people")
    if not summary.people:
        st.caption("Nobody from these meetings yet.")
    elif presenting:
        people = people_frame(summary, mark_rep_roles=False)  # who set a role is the team's business
        st.table(_presented(people, PRESENTED_PEOPLE), hide_index=True, border="horizontal")
    else:
        st.dataframe(
            people_frame(summary),
            hide_index=True,
            column_order=PEOPLE_ON_SCREEN,
            column_config={
                "Name": st.column_config.TextColumn(width=150, pinned=True),
                "Role": st.column_config.TextColumn(
                    width=130, help="Said in a meeting (the words are under 'Roles' below), or set by a rep"
                ),
                "Side": st.column_config.TextColumn(width=95),
                "Meetings": st.column_config.NumberColumn(
                    width=80, help="Meetings the person was invited to or spoke in"
                ),
                "Last seen": st.column_config.DateColumn(format="D MMM YYYY", width=100),
                "E-mail": st.column_config.TextColumn(width=180),
            },
            key="summary_people_table",
        )


def render_meetings(summary: EngagementSummary, presenting: bool) -> None:
    """The meetings table, newest first: a grid with links on screen, the latest few as a plain table on a projector."""
    st.subheader("Meetings", anchor="meetings")
    if not summary.meetings:
        st.caption("No meetings in this period.")
    elif presenting:
        frame = meetings_frame(summary)
        st.table(
            _presented(frame.head(PRESENTED_MEETINGS_MAX), PRESENTED_MEETINGS), hide_index=True, border="horizontal"
        )
        if len(frame) > PRESENTED_MEETINGS_MAX:
            st.caption(f"The {PRESENTED_MEETINGS_MAX} most recent of {len(frame)} meetings.")
    else:
        st.dataframe(
            meetings_frame(summary),
            hide_index=True,
            column_order=MEETINGS_ON_SCREEN,
            column_config={
                "Date": st.column_config.DateColumn(format="D MMM YYYY", width=95),
                "Title": st.column_config.TextColumn(width=175),
                "Customer people": st.column_config.TextColumn(width=140),
                "Minutes": st.column_config.NumberColumn(width=65),
                "Transcript": st.column_config.TextColumn(
                    width=95,
                    help="'no transcript': Fathom recorded the meeting but has no transcript; it is counted, not analysed",
                ),
                "Recording": st.column_config.LinkColumn(display_text="open ↗", width=80),
            },
            key="summary_meetings_table",
        )


def _file_stem(record: JobRecord) -> str:
    return f"engagement-{record.domain}-{record.created_at:%Y%m%d-%H%M}"


def _audited(build: Callable[[], str], exported: Callable[[str], None], detail: str) -> Callable[[], str]:
    """``build``, recording the export in the audit log when a click builds it."""

    def built() -> str:
        data = build()
        exported(detail)
        return data

    return built


def render_exports(record: JobRecord) -> None:
    """Markdown, JSON, the self-contained HTML report, and the two tables as CSV (built on click, short-lived)."""
    summary = record.summary
    assert summary is not None
    st.subheader("Export", anchor="export")
    stem = _file_stem(record)
    downloads = (
        ("Markdown", partial(report.to_markdown, record), f"{stem}.md", "text/markdown", ":material/description:"),
        ("JSON", partial(report.to_json, record), f"{stem}.json", "application/json", ":material/data_object:"),
        ("HTML report", partial(report.to_html, record), f"{stem}.html", "text/html", ":material/web:"),
        ("People CSV", partial(report.people_csv, summary), f"{stem}-people.csv", "text/csv", ":material/group:"),
        ("Meetings CSV", partial(report.meetings_csv, summary), f"{stem}-meetings.csv", "text/csv", ":material/table:"),
    )  # built on click, each file gone from the media store within EXPORT_TTL_S (ui/media.py)
    exported = audit.recorder("exported", record.domain)
    with st.container(horizontal=True, gap="small"):
        for label, build, name, mime, icon in downloads:
            st.download_button(
                label,
                data=expiring(_audited(build, exported, f"{label} of run {record.run_id}")),
                file_name=name,
                mime=mime,
                icon=icon,
                on_click="ignore",
                key=f"summary_export_{label}",
            )


def render_run_details(record: JobRecord) -> None:
    """Where the data came from and what the run cost, folded away."""
    stats = record.stats
    with st.expander("About this run"):
        st.markdown(
            "\n".join(
                [
                    f"- Meetings {md(range_sentence(record.options))} only (a filtered run)"
                    if record.options.since or record.options.until
                    else "- Every recorded meeting (no date range)",
                    f"- Source: **{md(record.source or '—')}**, analysis: **{md(record.analyzer or '—')}**",
                    f"- Started {md(record.created_at.strftime('%Y-%m-%d %H:%M UTC'))}, took {stats.seconds:.1f} s",
                    f"- Fathom requests: {stats.fathom_requests}; model calls: {stats.llm_calls}; "
                    f"meetings from the analysis cache: {stats.cached_meetings}",
                    f"- Tokens in/out: {stats.tokens_in:,} / {stats.tokens_out:,}; "
                    f"quotes dropped because they were not in the transcript: {stats.evidence_dropped}",
                    f"- Meetings analysed: {sum(m.analysed for m in record.summary.meetings) if record.summary else 0} "
                    f"of {record.summary.meetings_count if record.summary else 0}",
                    f"- Run id: {md(record.run_id)}",
                ]
            )
        )
        for note in record.summary.notes if record.summary else []:
            st.caption(md(note))


def analysis_progress(record: JobRecord) -> str:
    """How far the analysis is, for the places its sections will fill: ``Analysing meetings: 7 of 12 done.``"""
    total, done = record.progress.total, record.progress.done
    if record.stage == "merging insights":
        return "Putting the account's summary together…"
    if total:
        return f"Analysing meetings: {done} of {total} done."
    return "Waiting for the meetings to be analysed."


def render_facts(record: JobRecord, audience: Audience) -> None:
    """A running job's facts (counts, people, months: from the data, not the model) while the analysis runs."""
    if record.summary is None:
        return
    summary = audience.summary(record.summary)
    waiting = analysis_progress(record)
    draw_part(audience, "metrics", render_metrics, summary, in_range=bool(record.options.since or record.options.until))
    render_charts(summary, audience, waiting=waiting)
    render_insights(summary, audience, waiting=waiting)
    render_tables(summary, audience)


def render_result(record: JobRecord, audience: Audience, source: str = "") -> None:
    """The whole summary of a completed job, as the audience may see it (every part through ``draw_part``)."""
    draw_part(audience, "heading", render_heading, record, audience.presenting, source)
    if record.summary is None:
        draw_part(audience, "no_meetings", st.warning, "This job finished without a summary. Generate it again.")
        return
    summary = audience.summary(record.summary)
    draw_part(audience, "metrics", render_metrics, summary, in_range=bool(record.options.since or record.options.until))
    render_overview(summary, audience)
    if summary.meetings_count == 0:
        draw_part(
            audience,
            "no_meetings",
            st.info,
            f"No recorded meetings with anyone at {display_domain(record.domain)} were found"
            + (f" {range_sentence(record.options)}." if record.options.since or record.options.until else ".")
            + " Check the spelling of the website, or widen the dates.",
        )
        return
    render_charts(summary, audience)
    render_insights(summary, audience)
    render_tables(summary, audience)
    draw_part(audience, "exports", render_exports, record)  # never presented: on no allow-list
    draw_part(audience, "run_details", render_run_details, record)
