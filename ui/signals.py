"""The account's signals, coverage line and "Since <date>" panel on the summary page.

What each says comes from ``engagement.render.present`` (shared with the exports and the CLI); this only
lays it out. Every data text goes through ``md``; links through ``md_link`` (http(s) only).
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

import streamlit as st

from engagement.models import Changes, Coverage, EngagementSummary, MeetingRef, Signal
from engagement.render.audience import Audience
from engagement.render.present import SEVERITY_LABELS, change_items, coverage_line, md_link
from ui.presentation import draw_part
from ui.text import ago, md, nice_date, plural

SEVERITY_MARK = {
    "high": (":red", ":material/error:"),
    "medium": (":orange", ":material/warning:"),
    "low": (":blue", ":material/info:"),
    "info": (":gray", ":material/insights:"),
}
MEETING_LINKS = 5  # per signal; the rest are counted


def page_coverage_line(coverage: Coverage, now: datetime | None = None) -> str:
    """The shared coverage line, and how long ago the meetings were read from Fathom."""
    line = coverage_line(coverage)
    if coverage.index_updated_at:
        read = datetime.fromisoformat(coverage.index_updated_at.replace("Z", "+00:00"))
        line += f" · meetings read {ago(read, now)}"
    return line


def _meeting_links(ids: Sequence[int], meetings: dict[int, MeetingRef]) -> str:
    """One meeting: its title and date, then the link; several: a link a date (labels are ours, never data)."""
    refs = [meetings[rid] for rid in ids if rid in meetings]
    if len(refs) == 1:
        ref = refs[0]
        link = md_link("open in Fathom ↗", ref.share_url or ref.url)
        return f"{md(ref.title)}, {nice_date(ref.date)}" + (f" · {link}" if "](" in link else "")
    links = [md_link(f"{nice_date(ref.date)} ↗", ref.share_url or ref.url) for ref in refs[:MEETING_LINKS]]
    if len(refs) > MEETING_LINKS:
        links.append(f"{len(refs) - MEETING_LINKS} more in the meetings table")
    return " · ".join(links)


def signal_markdown(signal: Signal, meetings: dict[int, MeetingRef]) -> str:
    """One signal: severity, title, the figures behind it, and its meetings one click away."""
    colour, icon = SEVERITY_MARK.get(signal.severity, (":gray", ":material/insights:"))
    label = md(SEVERITY_LABELS.get(signal.severity, signal.severity))
    text = f"{colour}[{icon} **{label}**] **{md(signal.title)}**"
    if signal.detail:
        text += f"  \n{md(signal.detail)}"
    links = _meeting_links(signal.meetings, meetings)
    return text + (f"  \nMeetings: {links}" if links else "")


def render_coverage(coverage: Coverage) -> None:
    st.caption(page_coverage_line(coverage))


def render_changes(changes: Changes, meetings: dict[int, MeetingRef]) -> None:
    """The "Since <date>" panel: what changed since the latest complete run of the same domain and options."""
    with st.container(border=True, key="summary_changes"):
        st.markdown(f"**Since {nice_date(changes.since)}**")
        lines = []
        if changes.new_meetings:
            links = _meeting_links(changes.new_meetings, meetings)
            lines.append(f"**{plural(len(changes.new_meetings), 'new meeting')}**: {links}")
        named = [(label, items) for label, items in change_items(changes) if label != "New meetings"]
        lines += [f"**{label}**: {md(', '.join(items))}" for label, items in named]
        st.markdown("\n".join(f"- {line}" for line in lines) if lines else "Nothing new since the last run.")


def render_signals(signals: Sequence[Signal], meetings: dict[int, MeetingRef]) -> None:
    st.subheader(":material/notifications: Signals", anchor="signals")
    for signal in signals:
        st.markdown(signal_markdown(signal, meetings))


def render_overview(summary: EngagementSummary, audience: Audience) -> None:
    """Under the metrics: the coverage line, what changed since the last run, and the signals (most severe first).

    All three are the team's internal view: each is drawn only when the audience may see it.
    """
    meetings = {ref.recording_id: ref for ref in summary.meetings}
    if summary.coverage is not None and summary.coverage.meetings:
        draw_part(audience, "coverage", render_coverage, summary.coverage)
    if summary.changes is not None:
        draw_part(audience, "changes", render_changes, summary.changes, meetings)
    if summary.signals:
        draw_part(audience, "signals", render_signals, summary.signals, meetings)
