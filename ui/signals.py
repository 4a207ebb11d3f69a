"""The account's signals, coverage line and "Since <date>" panel on the summary page.

Everything from the record goes through ``ui.text.md``; links only through ``md_link`` (http(s) only).
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

import streamlit as st

from engagement.models import Changes, Coverage, EngagementSummary, MeetingRef, Signal
from ui.text import ago, md, md_link, nice_date, plural

SEVERITY_MARK = {
    "high": ":red[:material/error: **High**]",
    "medium": ":orange[:material/warning: **Medium**]",
    "low": ":blue[:material/info: **Low**]",
    "info": ":gray[:material/insights: **Info**]",
}
SIGNAL_NAMES = {
    "gone_dark": "Gone dark",
    "single_threaded": "Single-threaded",
    "champion_quiet": "Champion quiet",
    "no_senior_voice": "No senior voice",
    "silent_invitees": "Silent invitees",
    "cadence_drop": "Cadence drop",
    "talk_share": "Talk share",
}
MEETING_LINKS = 5  # per signal; the rest are counted


def coverage_line(coverage: Coverage, now: datetime | None = None) -> str:
    """``12 of 13 meetings analysed · 1 without a transcript · 2 speakers unmatched · read 5 minutes ago``."""
    parts = [f"{coverage.analysed} of {plural(coverage.meetings, 'meeting')} analysed"]
    if coverage.without_transcript:
        parts.append(f"{coverage.without_transcript} without a transcript")
    if coverage.unmatched_speakers:
        parts.append(f"{plural(coverage.unmatched_speakers, 'speaker')} unmatched")
    if coverage.index_updated_at:
        read = datetime.fromisoformat(coverage.index_updated_at.replace("Z", "+00:00"))
        parts.append(f"meetings read {ago(read, now)}")
    return " · ".join(parts)


def signal_name(signal_id: str) -> str:
    """``champion_quiet:Sarah Lopez`` → ``Champion quiet (Sarah Lopez)``."""
    kind, _, subject = signal_id.partition(":")
    name = SIGNAL_NAMES.get(kind, kind.replace("_", " ").capitalize())
    return f"{name} ({subject})" if subject else name


def _meeting_links(ids: Sequence[int], meetings: dict[int, MeetingRef]) -> str:
    links = []
    for rid in ids[:MEETING_LINKS]:
        ref = meetings.get(rid)
        if ref is None:
            continue
        # one meeting: its title and date; several: dates only, so the line stays one line
        label = md(f"{ref.title}, {nice_date(ref.date)}" if len(ids) == 1 else nice_date(ref.date))
        links.append(md_link(label, ref.share_url or ref.url) or label)
    if len(ids) > MEETING_LINKS:
        links.append(f"{len(ids) - MEETING_LINKS} more in the meetings table")
    return " · ".join(links)


def signal_markdown(signal: Signal, meetings: dict[int, MeetingRef]) -> str:
    """One signal: severity, title, the figures behind it, and its meetings one click away."""
    mark = SEVERITY_MARK.get(signal.severity, md(signal.severity))
    text = f"{mark} **{md(signal.title)}**"
    if signal.detail:
        text += f"  \n{md(signal.detail)}"
    links = _meeting_links(signal.meetings, meetings)
    return text + (f"  \nMeetings: {links}" if links else "")


def _changes_lines(changes: Changes, meetings: dict[int, MeetingRef]) -> list[str]:
    lines = []
    if changes.new_meetings:
        lines.append(
            f"**{plural(len(changes.new_meetings), 'new meeting')}**: {_meeting_links(changes.new_meetings, meetings)}"
        )
    named = (
        ("New people", changes.new_people),
        ("Not seen since", changes.people_not_seen_since),
        ("New themes", changes.new_themes),
        ("New risks", changes.new_risks),
        ("New signals", [signal_name(s) for s in changes.new_signals]),
        ("Resolved signals", [signal_name(s) for s in changes.resolved_signals]),
    )
    lines += [f"**{label}**: {md(', '.join(items))}" for label, items in named if items]
    return lines


def render_overview(summary: EngagementSummary) -> None:
    """Under the metrics: the coverage line, the signals (most severe first), and what changed since the last run."""
    meetings = {ref.recording_id: ref for ref in summary.meetings}
    if summary.coverage is not None and summary.coverage.meetings:
        st.caption(coverage_line(summary.coverage))
    if summary.changes is not None:
        with st.container(border=True, key="summary_changes"):
            st.markdown(f"**Since {nice_date(summary.changes.since)}**")
            lines = _changes_lines(summary.changes, meetings)
            st.markdown("\n".join(f"- {line}" for line in lines) if lines else "Nothing new since the last run.")
    if summary.signals:
        st.subheader(":material/notifications: Signals", anchor="signals")
        for signal in summary.signals:
            st.markdown(signal_markdown(signal, meetings))
