"""A completed summary on the page: headline metrics, charts, insights with evidence, tables, exports.

Everything that came from a meeting or the model goes through ``ui.text.md`` before ``st.markdown``,
or into a dataframe cell or a chart builder (which escape it themselves). Nothing here uses
``unsafe_allow_html``.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from datetime import date
from functools import partial

import pandas as pd
import streamlit as st

from engagement import charts, report
from engagement.domains import display_domain
from engagement.facts import days_since
from engagement.models import EngagementSummary, Evidence, Insight, JobRecord
from engagement.present import (
    MEETING_COLUMNS,
    PEOPLE_COLUMNS,
    SECTIONS,
    Column,
    MeetingRow,
    PersonRow,
    cite,
    columns,
    insights,
    meeting_rows,
    people_rows,
    side_counts,
)
from engagement.runtime import COMPANY_NAMES
from ui.media import expiring
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


def account_name(record: JobRecord) -> str:
    """The company's name when known, else its domain as a person reads it."""
    summary = record.summary
    demo_name = COMPANY_NAMES.get(record.domain, "") if record.source == "demo" else ""
    known = summary.company if summary and summary.company else demo_name
    return known or display_domain(record.domain)


def period_text(record: JobRecord) -> str:
    """``Nov 2025 – May 2026`` from the meetings, or the dates asked for when there were none."""
    summary = record.summary
    if summary and summary.first_meeting and summary.last_meeting:
        first, last = month_year(summary.first_meeting), month_year(summary.last_meeting)
        return first if first == last else f"{first} – {last}"
    since, until = record.options.since, record.options.until
    if since or until:
        return f"{nice_date(since) if since else 'the start'} – {nice_date(until) if until else 'today'}"
    return "no meetings yet"


def render_metrics(summary: EngagementSummary, today: date | None = None) -> None:
    """Meetings, customer people, first and last meeting, days since the last one."""
    today = today or date.today()
    since_last = days_since(summary.last_meeting, today) if summary.last_meeting else None
    columns = st.columns(5)
    columns[0].metric("Meetings", summary.meetings_count)
    columns[1].metric("Customer people", side_counts(summary)[0])
    columns[2].metric("First meeting", nice_date(summary.first_meeting))
    columns[3].metric("Last meeting", nice_date(summary.last_meeting))
    columns[4].metric("Days since last meeting", "—" if since_last is None else since_last)


def render_charts(summary: EngagementSummary, presenting: bool) -> None:
    """Meetings per month, themes by mentions, people by meetings attended.

    On screen the first two share a row; on a projector every chart gets the full width, so month
    labels and names stay legible at projector font sizes. People always get the full width: the
    side legend wraps onto the title in half a row.
    """
    config = {"displaylogo": False, "responsive": True}
    months = charts.meetings_over_time(summary, presentation=presenting)
    themes = charts.themes_by_mentions(summary, top=8 if presenting else 10, presentation=presenting)
    people = charts.people_by_meetings(summary, top=10 if presenting else 12, presentation=presenting)
    if presenting:
        for figure in (months, themes, people):
            st.plotly_chart(figure, theme=None, config=config)
        return
    left, right = st.columns(2, gap="large")
    left.plotly_chart(months, theme=None, config=config)
    right.plotly_chart(themes, theme=None, config=config)
    st.plotly_chart(people, theme=None, config=config)


def _same_words(a: str, b: str) -> bool:
    """Whether two sentences say the same words (case, punctuation and spacing aside)."""

    def words(text: str) -> str:
        return " ".join(re.sub(r"[^\w\s]", " ", text.casefold()).split())

    wa, wb = words(a), words(b)
    return bool(wa) and (wa == wb or (len(wb) > 20 and wb in wa) or (len(wa) > 20 and wa in wb))


def attribution(evidence: Evidence) -> str:
    """``Sarah Lopez, 7 May 2026 · open in Fathom ↗`` (escaped; the link only when it is http(s))."""
    citation = cite(evidence)
    when = md(nice_date(citation.date)) if citation.date else ""
    who = ", ".join(part for part in (md(citation.speaker), when) if part)
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
    if verified and _same_words(insight.text, verified[0].quote):
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


def render_insights(summary: EngagementSummary, presenting: bool) -> None:
    """Goals, challenges, risks and recommendations, two a row; the first few of each, the rest folded."""
    for row in (SECTIONS[:2], SECTIONS[2:]):
        for column, section in zip(st.columns(2, gap="large"), row, strict=True):
            with column:
                items = insights(summary, section.field)
                st.subheader(f"{ICONS[section.field]} {section.title}", anchor=section.field)
                if not items:
                    st.caption(EMPTY_SECTION[section.field])
                for insight in items[:INSIGHTS_SHOWN]:
                    render_insight(insight)
                if len(items) > INSIGHTS_SHOWN:
                    with st.expander(f"{len(items) - INSIGHTS_SHOWN} more {section.title.lower()}"):
                        for insight in items[INSIGHTS_SHOWN:]:
                            render_insight(insight)


def _dates(values: Iterable[str | None]) -> pd.Series:
    """ISO dates as real dates (so the column sorts as dates); anything unparseable becomes empty."""
    return pd.to_datetime(
        pd.Series([(v or "")[:10] for v in values], dtype="string"), errors="coerce", format="%Y-%m-%d"
    ).dt.date


# The page's tables: which columns, in what order (labels and rows come from engagement.present).
PEOPLE_SHOWN = (
    "name",
    "role",
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


PEOPLE_CONFIG = {
    "Name": st.column_config.TextColumn(width="medium", pinned=True),
    "Role": st.column_config.TextColumn(width="medium"),
    "Meetings": st.column_config.NumberColumn(help="Meetings the person was invited to or spoke in"),
    "Spoke in": st.column_config.NumberColumn(help="Meetings in which the person spoke"),
    "First seen": st.column_config.DateColumn(format="D MMM YYYY"),
    "Last seen": st.column_config.DateColumn(format="D MMM YYYY"),
}
MEETINGS_CONFIG = {
    "Date": st.column_config.DateColumn(format="D MMM YYYY"),
    "Title": st.column_config.TextColumn(width="large"),
    "Analysed": st.column_config.CheckboxColumn(help="Whether the meeting's transcript was analysed"),
    "Transcript": st.column_config.TextColumn(
        help="'no transcript': Fathom recorded the meeting but has no transcript; it is counted, not analysed",
    ),
    "Recording": st.column_config.LinkColumn(display_text="open in Fathom ↗"),
}


def people_frame(summary: EngagementSummary) -> pd.DataFrame:
    """The people table: most meetings first."""
    return _frame(people_rows(summary), PEOPLE_COLUMNS, PEOPLE_SHOWN)


def meetings_frame(summary: EngagementSummary) -> pd.DataFrame:
    """The meetings table, newest first; links only when they are http(s)."""
    return _frame(meeting_rows(summary)[::-1], MEETING_COLUMNS, MEETINGS_SHOWN)


def render_tables(summary: EngagementSummary) -> None:
    """People and meetings, both sortable by any column."""
    tables = (
        ("People", people_frame, bool(summary.people), "Nobody from these meetings yet.", PEOPLE_CONFIG),
        ("Meetings", meetings_frame, bool(summary.meetings), "No meetings in this period.", MEETINGS_CONFIG),
    )
    for title, frame, has_rows, empty, config in tables:
        st.subheader(title, anchor=title.lower())
        if has_rows:
            st.dataframe(frame(summary), hide_index=True, column_config=config, key=f"summary_{title.lower()}_table")
        else:
            st.caption(empty)


def _file_stem(record: JobRecord) -> str:
    return f"engagement-{record.domain}-{record.created_at:%Y%m%d-%H%M}"


def render_exports(record: JobRecord) -> None:
    """Markdown, JSON, the self-contained HTML report, and the two tables as CSV (built on click, short-lived)."""
    summary = record.summary
    assert summary is not None
    stem = _file_stem(record)
    downloads = (
        ("Markdown", partial(report.to_markdown, record), f"{stem}.md", "text/markdown", ":material/description:"),
        ("JSON", partial(report.to_json, record), f"{stem}.json", "application/json", ":material/data_object:"),
        ("HTML report", partial(report.to_html, record), f"{stem}.html", "text/html", ":material/web:"),
        ("People CSV", partial(report.people_csv, summary), f"{stem}-people.csv", "text/csv", ":material/group:"),
        ("Meetings CSV", partial(report.meetings_csv, summary), f"{stem}-meetings.csv", "text/csv", ":material/table:"),
    )  # built on click, each file gone from the media store within EXPORT_TTL_S (ui/media.py)
    with st.container(horizontal=True, gap="small"):
        for label, build, name, mime, icon in downloads:
            st.download_button(
                label,
                data=expiring(build),
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
                    f"- Source: **{md(record.source or '—')}**, analysis: **{md(record.analyzer or '—')}**",
                    f"- Started {md(record.created_at.strftime('%Y-%m-%d %H:%M UTC'))}, took {stats.seconds:.1f} s",
                    f"- Fathom requests: {stats.fathom_requests}; model calls: {stats.llm_calls}; "
                    f"meetings from the analysis cache: {stats.cached_meetings}",
                    f"- Tokens in/out: {stats.tokens_in:,} / {stats.tokens_out:,}; "
                    f"quotes dropped because they were not in the transcript: {stats.evidence_dropped}",
                    f"- Run id: {md(record.run_id)}",
                ]
            )
        )
        for note in record.summary.notes if record.summary else []:
            st.caption(md(note))


def render_result(record: JobRecord, presenting: bool) -> None:
    """The whole summary of a completed job."""
    summary = record.summary
    if summary is None:
        st.warning("This job finished without a summary. Generate it again.")
        return
    if presenting:
        st.title(md(account_name(record)), anchor=False)
        st.caption(md(f"Engagement summary · {period_text(record)} · {display_domain(record.domain)}"))
    else:
        st.header(md(f"{account_name(record)} · {period_text(record)}"), anchor="summary", divider="gray")
    render_metrics(summary)
    render_overview(summary)
    if summary.meetings_count == 0:
        st.info(
            f"No recorded meetings with anyone at {display_domain(record.domain)} were found"
            + (" in that period." if record.options.since or record.options.until else ".")
            + " Check the spelling of the website, or widen the dates."
        )
        return
    render_charts(summary, presenting)
    render_insights(summary, presenting)
    if not presenting:
        render_tables(summary)
        st.subheader("Export", anchor="export")
        render_exports(record)
        render_run_details(record)
    else:
        render_tables(summary)
