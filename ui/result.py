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

from engagement.account.domains import Account, display_domain
from engagement.account.facts import days_since
from engagement.account.stakeholders import RULE, single_threaded, ties
from engagement.models import EngagementSummary, Evidence, Insight, JobOptions, JobRecord, JobStatus, utcnow
from engagement.render import charts, report
from engagement.render.audience import Audience
from engagement.render.pdf import find_chromium, html_to_pdf
from engagement.render.present import (
    MEETING_COLUMNS,
    PEOPLE_COLUMNS,
    ROLE_SOURCES,
    SECTIONS,
    Column,
    MeetingRow,
    PersonRow,
    Section,
    TimelineRow,
    cite,
    columns,
    insights,
    md_link,
    meeting_rows,
    one_line,
    people_rows,
    restates,
    side_counts,
    timeline_rows,
)
from engagement.runtime import COMPANY_NAMES
from ui import audit
from ui.media import expiring
from ui.presentation import draw_part
from ui.signals import render_overview
from ui.slots import Slots
from ui.tables import fit_columns
from ui.text import md, month_year, nice_date, nice_time, plural

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
    return known or account_of(record).label(display_domain)


def account_of(record: JobRecord) -> Account:
    """The account a run covers: its summary's domains (a linked account's every one), else the run's domain."""
    return Account.of_summary(record.summary) if record.summary else Account.of(record.domain)


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
        st.caption(md(f"Engagement summary · {period_text(record)} · {account_of(record).label(display_domain)}"))
    else:
        st.header(md(f"{name} · {period_text(record)}"), anchor="summary", divider="gray")
        if account_of(record).linked and name != account_of(record).label(display_domain):
            st.caption(md(f"One account of several domains: {account_of(record).label(display_domain)}"))
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


GLANCE_THEMES = 3
GLANCE_RISKS = 2
GLANCE_CHARS = 140  # a risk in the overview is one short line; the Risks section has it whole


def _glance_themes(summary: EngagementSummary) -> None:
    themes = summary.themes[:GLANCE_THEMES]
    st.markdown("**:material/topic: Top themes**")
    if themes:
        st.markdown("\n".join(f"- {md(t.topic)} · {plural(t.mentions, 'meeting')}" for t in themes))
    else:
        st.caption("No themes yet.")


def _glance_risks(summary: EngagementSummary) -> None:
    # "Raised", not "open": nothing in the meetings says which risks were since resolved. The newest first: the
    # overview answers "what worries them now".
    risks = sorted(insights(summary, "risks"), key=lambda r: r.last_said, reverse=True)
    st.markdown(f"**:material/warning: Risks raised · {len(risks)}**")
    if risks:
        st.markdown("\n".join(f"- {md(r.text, GLANCE_CHARS)}" for r in risks[:GLANCE_RISKS]))
        if len(risks) > GLANCE_RISKS:
            st.caption(f"{len(risks) - GLANCE_RISKS} more under Risks below.")
    else:
        st.caption(EMPTY_SECTION["risks"])


def render_glance(summary: EngagementSummary, audience: Audience) -> None:
    """Under the metrics: the top themes and the risks they raised (newest first), so the answer fits on the first screen.

    Each half only when the audience sees its part (a presentation shows risks only when they were chosen).
    """
    halves = [draw for part, draw in (("themes", _glance_themes), ("risks", _glance_risks)) if audience.shows(part)]
    if not halves:
        return
    with st.container(border=True, key="summary_glance"):
        for column, draw in zip(st.columns(2, gap="large"), halves, strict=False):
            with column:
                draw(summary)


def render_charts(summary: EngagementSummary, audience: Audience, slots: Slots, *, waiting: str = "") -> None:
    """Meetings per month, themes by mentions, people by meetings attended.

    On screen the first two share a row when each gets 460 px (``ui/presentation.py``; the row wraps
    otherwise: a chart beside the sidebar at 1024 is too narrow for its labels); on a projector every chart gets the full width, so month
    labels and names stay legible at projector font sizes. People always get the full width: the
    side legend wraps onto the title in half a row. While the analysis runs (``waiting`` says how far
    it is) the themes' place holds that line instead.
    """
    presenting = audience.presenting

    def months() -> None:
        slots.plot(charts.meetings_over_time(summary, presentation=presenting))

    def themes() -> None:
        if waiting:
            st.subheader("Themes by mentions", anchor=False)
            st.caption(waiting)  # our own words and numbers, no data
            return
        slots.plot(charts.themes_by_mentions(summary, top=8 if presenting else 10, presentation=presenting))

    def people() -> None:
        slots.plot(charts.people_by_meetings(summary, top=10 if presenting else 12, presentation=presenting))

    if presenting:
        draw_part(audience, "meetings_chart", months)
        if not waiting:
            draw_part(audience, "themes", themes)
    else:
        with st.container(horizontal=True, gap="large", key="summary_charts"):  # wraps to one a row when narrow
            draw_part(audience, "meetings_chart", months)
            draw_part(audience, "themes", themes)
    draw_part(audience, "people_chart", people)


TIMELINE_LISTED = 12  # meetings listed under the timeline with their quotes; the rest are counted
TIMELINE_QUOTES = 3  # per meeting


def _timeline_entry(row: TimelineRow) -> str:
    """A meeting under the timeline: date, title, who came from each side, themes, transcript, quotes with their moments."""
    link = md_link("open in Fathom ↗", row.url)
    head = f"**{md(nice_date(row.date))} · {md(row.title)}**" + (f" · {link}" if "](" in link else "")
    lines = [
        head,
        f"Customer: {md(', '.join(row.customer)) or '—'} · Our team: {md(', '.join(row.ours)) or '—'}",
        f"Themes: {md(', '.join(row.themes)) or '—'} · Transcript: {'yes' if row.transcript else 'no'}",
    ]
    for quote in row.quotes[:TIMELINE_QUOTES]:
        at = f"at {md(quote.timestamp)}" if quote.timestamp else ""
        moment = md_link("open in Fathom ↗", quote.url) if quote.url else ""  # the link opens at that moment
        tail = " · ".join(part for part in (md(quote.speaker), at, moment) if part)
        lines.append(f"> “{md(quote.quote)}”" + (f"  \n> — {tail}" if tail else ""))
    return "\n\n".join(lines[:1] + ["  \n".join(lines[1:3])] + lines[3:])


def render_timeline(summary: EngagementSummary, presenting: bool, slots: Slots) -> None:
    """Every meeting on a time axis, filtered by person and theme; on screen each listed with its quotes (drawn by
    ``slots``, after the page's charts)."""
    if not summary.meetings:
        return
    st.subheader(":material/timeline: Meeting timeline", anchor="timeline")
    people = sorted({one_line(n) for m in summary.meetings for n in (*m.customer_people, *m.internal_people)})
    themes = [one_line(t.topic) for t in summary.themes]
    with st.container(horizontal=True, gap="medium", key="summary_timeline_filters"):
        person = st.selectbox("Person", ["", *people], format_func=lambda v: v or "Everyone", key="summary_tl_person")
        theme = st.selectbox("Theme", ["", *themes], format_func=lambda v: v or "Every theme", key="summary_tl_theme")
    rows = timeline_rows(summary, person=person or "", theme=theme or "")
    slots.plot(charts.meeting_timeline(rows, presentation=presenting))
    if presenting or not rows:
        return
    slots.keep(_timeline_list, rows)  # the quotes under the chart: after the page's charts


def _timeline_list(rows: Sequence[TimelineRow]) -> None:
    """The most recent meetings under the timeline, each with its quotes, folded."""
    listed = (
        f"The {TIMELINE_LISTED} most recent of {len(rows)} meetings and their quotes"
        if len(rows) > TIMELINE_LISTED
        else f"The {plural(len(rows), 'meeting')} and their quotes, newest first"
    )
    with st.expander(listed):
        for row in rows[::-1][:TIMELINE_LISTED]:
            st.markdown(_timeline_entry(row))
        if len(rows) > TIMELINE_LISTED:
            st.caption(f"{len(rows) - TIMELINE_LISTED} older meetings are in the table below and the exports.")


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


PEOPLE_ON_SCREEN = [
    "Name",
    "Role",
    "Side",
    "Meetings",
    "Last seen",
    "E-mail",
    "Also shown as",
]  # where roles were said: ui/roles.py
MEETINGS_ON_SCREEN = ["Date", "Title", "Customer people", "Minutes", "Transcript", "Recording"]
PRESENTED_PEOPLE = ["Name", "Role", "Side", "Meetings", "Last seen"]  # no e-mail addresses on a projector
PRESENTED_MEETINGS = ["Date", "Title", "Customer people", "Minutes"]
PRESENTED_MEETINGS_MAX = 15
# Floors and caps of the grids' column widths in px: ui/tables.py fits each to its longest text and
# wraps what is longer than its cap; all of them together stay within the width the page has at 1280
# beside the sidebar (820 px).
GRID_BUDGET_PX = 780
PEOPLE_LIMITS = {
    "Name": (100, 180),
    "Role": (70, 170),
    "Side": (70, 120),
    "Meetings": (70, 90),
    "Last seen": (90, 110),
    "E-mail": (110, 250),
    "Also shown as": (110, 200),
}
MEETINGS_LIMITS = {
    "Date": (90, 110),
    "Title": (150, 240),
    "Customer people": (130, 200),
    "Minutes": (65, 80),
    "Transcript": (85, 130),
    "Recording": (70, 90),
}


def _presented(frame: pd.DataFrame, columns: list[str]) -> pd.DataFrame:
    """A plain table for a projector: chosen columns, dates as people write them, blanks for nothing."""
    shown = frame[columns].copy()
    for name in ("Date", "Last seen"):
        if name in shown:
            shown[name] = [nice_date(v) if v is not None and not pd.isna(v) else "—" for v in shown[name]]
    return shown.astype(object).where(shown.notna(), "—")


def _shown_dates(frame: pd.DataFrame, *names: str) -> dict[str, list[str]]:
    """How the grid writes its date columns ("4 May 2026"), for the widths."""
    return {name: [nice_date(v) if v is not None and not pd.isna(v) else "" for v in frame[name]] for name in names}


def render_tables(summary: EngagementSummary, audience: Audience) -> None:
    """People and meetings: sortable grids on screen, large plain tables (no e-mail) on a projector.

    On screen each grid column is as wide as its text (long text wraps), so no cell is cut; the
    exports have every column.
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
        people = people_frame(summary)
        fit = fit_columns(people, PEOPLE_LIMITS, shown=_shown_dates(people, "Last seen"), budget=GRID_BUDGET_PX)
        width = fit.widths
        st.dataframe(
            people,
            hide_index=True,
            column_order=PEOPLE_ON_SCREEN,
            row_height=fit.row_height,
            column_config={
                "Name": st.column_config.TextColumn(width=width["Name"], pinned=True),
                "Role": st.column_config.TextColumn(
                    width=width["Role"], help="Said in a meeting (the words are under 'Roles' below), or set by a rep"
                ),
                "Side": st.column_config.TextColumn(width=width["Side"]),
                "Meetings": st.column_config.NumberColumn(
                    width=width["Meetings"], help="Meetings the person was invited to or spoke in"
                ),
                "Last seen": st.column_config.DateColumn(format="D MMM YYYY", width=width["Last seen"]),
                "E-mail": st.column_config.TextColumn(width=width["E-mail"]),
                "Also shown as": st.column_config.TextColumn(
                    width=width["Also shown as"], help="Other spellings of the name merged into this person"
                ),
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
        meetings = meetings_frame(summary)
        fit = fit_columns(
            meetings,
            MEETINGS_LIMITS,
            shown={**_shown_dates(meetings, "Date"), "Recording": ["open ↗"]},
            budget=GRID_BUDGET_PX,
        )
        width = fit.widths
        st.dataframe(
            meetings,
            hide_index=True,
            column_order=MEETINGS_ON_SCREEN,
            row_height=fit.row_height,
            column_config={
                "Date": st.column_config.DateColumn(format="D MMM YYYY", width=width["Date"]),
                "Title": st.column_config.TextColumn(width=width["Title"]),
                "Customer people": st.column_config.TextColumn(width=width["Customer people"]),
                "Minutes": st.column_config.NumberColumn(width=width["Minutes"]),
                "Transcript": st.column_config.TextColumn(
                    width=width["Transcript"],
                    help="'no transcript': Fathom recorded the meeting but has no transcript; it is counted, not analysed",
                ),
                "Recording": st.column_config.LinkColumn(display_text="open ↗", width=width["Recording"]),
            },
            key="summary_meetings_table",
        )


def printed_report(record: JobRecord) -> bytes:
    """The HTML report printed by Chromium (its print CSS: a page per part, no cut words, charts as SVG)."""
    return html_to_pdf(report.to_html(record))


def _audited(
    build: Callable[[], str | bytes], exported: Callable[[str], None], detail: str
) -> Callable[[], str | bytes]:
    """``build``, recording the export in the audit log when a click builds it."""

    def built() -> str | bytes:
        data = build()
        exported(detail)
        return data

    return built


def render_exports(record: JobRecord) -> None:
    """Markdown, JSON, the self-contained HTML report (and its PDF when Chromium is installed), and the two
    tables as CSV (built on click, short-lived); each file is named for the domain, the dates and the day."""
    summary = record.summary
    assert summary is not None
    st.subheader("Export", anchor="export")
    stem = report.export_stem(record)
    downloads: list[tuple[str, Callable[[], str | bytes], str, str, str]] = [
        ("Markdown", partial(report.to_markdown, record), f"{stem}.md", "text/markdown", ":material/description:"),
        ("JSON", partial(report.to_json, record), f"{stem}.json", "application/json", ":material/data_object:"),
        ("HTML report", partial(report.to_html, record), f"{stem}.html", "text/html", ":material/web:"),
        *(
            [("PDF", partial(printed_report, record), f"{stem}.pdf", "application/pdf", ":material/picture_as_pdf:")]
            if find_chromium() is not None
            else []
        ),
        ("People CSV", partial(report.people_csv, summary), f"{stem}-people.csv", "text/csv", ":material/group:"),
        ("Meetings CSV", partial(report.meetings_csv, summary), f"{stem}-meetings.csv", "text/csv", ":material/table:"),
    ]  # built on click, each file gone from the media store within EXPORT_TTL_S (ui/media.py)
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
                    f"- Started {md(nice_time(record.created_at))}, took {stats.seconds:.1f} s",
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
    if record.stage.startswith(("qualifying", "qualified")):
        return f"Qualifying the account: {done} of {total or '…'} meetings read for the rubric."
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
    render_charts(summary, audience, Slots(), waiting=waiting)
    render_insights(summary, audience, waiting=waiting)
    render_tables(summary, audience)


STAKEHOLDER_BUDGET_PX = 560  # the table fits the page's width at 1024 px beside the sidebar (who spoke: in the hover)


def render_stakeholders(summary: EngagementSummary, slots: Slots, today: date | None = None) -> None:
    """Who of ours knows whom of theirs: the map, the rule behind each strength, the single-threaded, the table
    (those two drawn by ``slots``, after the page's charts)."""
    today = today or utcnow().date()
    st.subheader("Who knows whom", anchor="stakeholders")
    st.caption(md(f"Meetings both attended. Strength by rule: {RULE}."))
    slots.plot(charts.stakeholder_map(summary, today))
    slots.keep(_stakeholder_ties, summary, today)


def _stakeholder_ties(summary: EngagementSummary, today: date) -> None:
    """Under the map: who is single-threaded, and every tie with its strength."""
    for thread in single_threaded(summary):
        role = f" ({thread.role})" if thread.role else ""
        st.warning(
            md(
                f"Single-threaded: only {thread.ours} of us has met {thread.customer}{role}, in {plural(thread.meetings, 'meeting')}."
            ),
            icon=":material/link_off:",
        )
    found = ties(summary, today)
    if found:
        frame = pd.DataFrame(
            {
                "Theirs": [t.customer for t in found],
                "Ours": [t.ours for t in found],
                "Together": [t.meetings for t in found],
                "90 days": [t.recent for t in found],
                "Last met": [nice_date(date.fromisoformat(t.last_contact)) for t in found],
                "Strength": [t.strength for t in found],
            }
        )
        limits = {"Theirs": (100, 170), "Ours": (100, 170), "Together": (60, 90), "90 days": (60, 90)}
        limits |= {"Last met": (95, 110), "Strength": (70, 90)}
        fit = fit_columns(frame, limits, budget=STAKEHOLDER_BUDGET_PX)
        st.dataframe(
            frame,
            hide_index=True,
            key="summary_stakeholders_table",
            row_height=fit.row_height,
            column_config={c: st.column_config.Column(width=w) for c, w in fit.widths.items()},
        )


def render_brief(record: JobRecord) -> None:
    """The brief for the next meeting, folded: each line with its quotes or the rule that made it; a text download."""
    from engagement.brief import build_brief
    from ui.runtime import get_runtime, load_settings

    summary = record.summary
    assert summary is not None
    search = get_runtime(load_settings()).search
    last = next((m for m in summary.meetings if m.has_transcript), None)
    made = build_brief(summary, utcnow().date(), search.meeting(last.recording_id) if search and last else None)
    with st.expander("Brief for the next meeting", icon=":material/assignment:"):
        if made.note:
            st.info(md(made.note), icon=":material/event_busy:")
        for field, heading in report.BRIEF_SECTIONS:
            lines = getattr(made, field)
            st.markdown(f"**{heading}**")
            if not lines:
                st.caption("Nothing to say.")
            for line in lines:
                quotes = [q for q in (evidence_line(e) for e in line.evidence) if q]
                rule = f"  \n_{md(line.rule)}_" if line.rule and not quotes else ""
                st.markdown("\n\n".join([f"- {md(line.text)}{rule}", *quotes]))
        st.download_button(
            "Brief (text)",
            data=expiring(
                _audited(partial(report.brief_text, made), audit.recorder("exported", record.domain), "brief")
            ),
            file_name=f"{report.export_stem(record)}-brief.txt",
            mime="text/plain",
            icon=":material/download:",
            on_click="ignore",
            key="summary_export_brief",
        )


def render_result(record: JobRecord, audience: Audience, slots: Slots, source: str = "") -> None:
    """The whole summary of a completed job, as the audience may see it (every part through ``draw_part``).

    The charts come first: every section below them keeps its place in ``slots`` (``ui/slots.py``) and is drawn
    when the caller fills them.
    """
    draw_part(audience, "heading", render_heading, record, audience.presenting, source)
    if record.summary is None:
        draw_part(audience, "no_meetings", st.warning, "This job finished without a summary. Generate it again.")
        return
    summary = audience.summary(record.summary)
    draw_part(audience, "metrics", render_metrics, summary, in_range=bool(record.options.since or record.options.until))
    if summary.meetings_count:
        draw_part(audience, "overview", render_glance, summary, audience)
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
    render_charts(summary, audience, slots)
    slots.keep(render_insights, summary, audience)
    # internal (the sales team's view of the deal): on no allow-list, so never presented
    from ui.qualification import render_qualification  # here: it borrows this module's quote lines

    slots.keep(draw_part, audience, "qualification", render_qualification, summary)
    draw_part(audience, "timeline", render_timeline, summary, audience.presenting, slots)
    slots.keep(render_tables, summary, audience)
    draw_part(audience, "stakeholders", render_stakeholders, summary, slots)  # the team's own: on no allow-list
    slots.keep(draw_part, audience, "brief", render_brief, record)  # the team's preparation: on no allow-list
    slots.keep(draw_part, audience, "exports", render_exports, record)  # never presented: on no allow-list
    slots.keep(draw_part, audience, "run_details", render_run_details, record)
