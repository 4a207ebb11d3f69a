"""Exports of a job record or summary: Markdown, JSON, a self-contained HTML report, and CSV tables.

Every text that came from a meeting or the model is escaped for the format it lands in (HTML, Markdown,
spreadsheet formulas), links are kept only when they are http(s), and evidence whose quote was not found
in its transcript (``verified=False``) is never rendered as a quote.
"""

from __future__ import annotations

import csv
import html
import io
import json
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

import plotly.graph_objects as go
from plotly.offline import get_plotlyjs

from engagement import charts
from engagement.links import safe_url
from engagement.models import EngagementSummary, Evidence, Insight, JobRecord, MeetingRef, Side, parse_timestamp

__all__ = ["meetings_csv", "people_csv", "to_html", "to_json", "to_markdown"]

INSIGHT_SECTIONS = (
    ("Goals", "goals"),
    ("Challenges", "challenges"),
    ("Risks", "risks"),
    ("Recommendations", "recommendations"),
)
THEME_QUOTES_MAX = 3  # quotes shown under a theme; the rest are counted
UNVERIFIED_NOTE = "Unverified: the quote was not found in the transcript, so it is not shown"
NO_EVIDENCE_NOTE = "No quote supports this yet"
FORMULA_PREFIXES = ("=", "+", "-", "@", "\t", "\r")


# ---------------------------------------------------------------- inputs


def _split(record_or_summary: JobRecord | EngagementSummary) -> tuple[JobRecord | None, EngagementSummary | None]:
    if isinstance(record_or_summary, JobRecord):
        return record_or_summary, record_or_summary.summary
    return None, record_or_summary


def _summary(record_or_summary: JobRecord | EngagementSummary) -> EngagementSummary:
    return _split(record_or_summary)[1] or EngagementSummary()


def _one_line(text: object) -> str:
    return " ".join(str(text if text is not None else "").split())


def _plural(n: int, word: str) -> str:
    return f"{n} {word}" if n == 1 else f"{n} {word}s"


@dataclass(frozen=True)
class _Cite:
    """One piece of evidence, ready to print: the quote only when verified, the link only when safe."""

    quote: str | None
    speaker: str
    date: str
    title: str
    timestamp: str
    url: str | None


def _cite(evidence: Evidence, meetings: dict[int, MeetingRef]) -> _Cite:
    meeting = meetings.get(evidence.recording_id)
    url = evidence.url
    if not url and meeting is not None and (meeting.share_url or meeting.url):
        base = meeting.share_url or meeting.url
        try:
            url = f"{base}{'&' if '?' in base else '?'}timestamp={parse_timestamp(evidence.timestamp)}"
        except ValueError:
            url = base
    return _Cite(
        quote=_one_line(evidence.quote) if evidence.verified and evidence.quote.strip() else None,
        speaker=_one_line(evidence.speaker) or "Unknown speaker",
        date=_one_line(evidence.meeting_date or (meeting.date if meeting else "")),
        title=_one_line(
            evidence.meeting_title or (meeting.title if meeting else "") or f"Recording {evidence.recording_id}"
        ),
        timestamp=_one_line(evidence.timestamp),
        url=safe_url(url),
    )


def _insights(summary: EngagementSummary, field: str) -> list[Insight]:
    """The evidence-bearing list when the record has one, else the seed's plain strings."""
    detail: list[Insight] = getattr(summary, f"{field}_detail")
    if detail:
        return detail
    return [Insight(text=text) for text in getattr(summary, field)]


def _side_counts(summary: EngagementSummary) -> str:
    customer = sum(p.side is Side.CUSTOMER for p in summary.people)
    ours = sum(p.side is Side.INTERNAL for p in summary.people)
    others = len(summary.people) - customer - ours
    parts = [f"{customer} customer", f"{ours} our team"] + ([f"{others} other"] if others else [])
    return f"{len(summary.people)} ({', '.join(parts)})"


def _facts(record: JobRecord | None, summary: EngagementSummary | None) -> list[tuple[str, str]]:
    """Headline facts as (label, plain text) pairs, shared by the Markdown and HTML reports."""
    facts: list[tuple[str, str]] = []
    if summary is not None:
        facts.append(("Meetings", str(summary.meetings_count)))
        facts.append(("First meeting", summary.first_meeting or "–"))
        facts.append(("Last meeting", summary.last_meeting or "–"))
        facts.append(("People", _side_counts(summary)))
        facts.append(("Themes", str(len(summary.themes))))
        if summary.meetings_by_month:
            busiest = max(summary.meetings_by_month, key=lambda m: m.count)
            if busiest.count:
                facts.append(("Busiest month", f"{busiest.month} ({_plural(busiest.count, 'meeting')})"))
    if record is not None:
        facts.append(("Status", record.status.value))
        if record.source or record.analyzer:
            facts.append(("Source", " · ".join(x for x in (record.source, record.analyzer) if x)))
        if record.options.since or record.options.until:
            facts.append(("Period", f"{record.options.since or 'start'} to {record.options.until or 'today'}"))
        facts.append(("Updated", record.updated_at.strftime("%Y-%m-%d %H:%M UTC")))
    return [(label, _one_line(value)) for label, value in facts]


def _heading(record: JobRecord | None, summary: EngagementSummary | None) -> tuple[str, str]:
    domain = _one_line((summary.domain if summary else "") or (record.domain if record else ""))
    company = _one_line(summary.company if summary else "") or domain or "unknown account"
    return company, domain


# ---------------------------------------------------------------- Markdown

_MD_SPECIAL = str.maketrans({c: "\\" + c for c in "\\`*_[]|~"} | {"<": "&lt;", ">": "&gt;"})


def _md(text: object) -> str:
    """Data text as inert Markdown: one line, no emphasis, links, tables or raw HTML."""
    return _one_line(text).translate(_MD_SPECIAL)


def _md_link(text: str, url: str | None) -> str:
    return f"[{_md(text)}]({url})" if url else _md(text)


def _md_evidence(evidence: Sequence[Evidence], meetings: dict[int, MeetingRef], limit: int | None = None) -> list[str]:
    lines: list[str] = []
    shown = evidence if limit is None else evidence[:limit]
    for item in shown:
        cite = _cite(item, meetings)
        source = f"{_md(cite.speaker)}, {_md(cite.date) or 'undated'}, {_md_link(f'{cite.title} at {cite.timestamp}', cite.url)}"
        if cite.quote is not None:
            lines += ["", f'  > "{_md(cite.quote)}" — {source}']
        else:
            lines += ["", f"  _{UNVERIFIED_NOTE}:_ {source}"]
    if limit is not None and len(evidence) > limit:
        lines += ["", f"  _and {len(evidence) - limit} more_"]
    return lines


def to_markdown(record_or_summary: JobRecord | EngagementSummary) -> str:
    """The summary as a Markdown document: facts, people, themes, insights with their quotes, meetings."""
    record, summary = _split(record_or_summary)
    company, domain = _heading(record, summary)
    out = [f"# Engagement summary: {_md(company)}", ""]
    if domain and domain != company:
        out += [f"Domain: {_md(domain)}", ""]
    out += [f"- **{label}:** {_md(value)}" for label, value in _facts(record, summary)]
    if record is not None and record.error:
        out += ["", f"> **Error:** {_md(record.error)}"]
    if summary is None:
        out += ["", "_No summary yet._", ""]
        return "\n".join(out)
    meetings = {m.recording_id: m for m in summary.meetings}

    if summary.meetings_by_month:
        out += ["", "## Meetings per month", "", "| Month | Meetings |", "|---|---:|"]
        out += [f"| {_md(m.month)} | {m.count} |" for m in summary.meetings_by_month]

    out += ["", "## People", ""]
    if summary.people:
        out += [
            "| Name | Side | Role | Meetings | Invited | Spoke in | First seen | Last seen |",
            "|---|---|---|---:|---:|---:|---|---|",
        ]
        for p in sorted(summary.people, key=lambda p: (-p.count, _one_line(p.name).casefold())):
            out.append(
                f"| {_md(p.name)} | {charts.SIDE_LABELS[p.side]} | {_md(p.role) or '–'} | {p.count} | {p.invited} | "
                f"{p.spoke_in} | {_md(p.first_seen) or '–'} | {_md(p.last_seen) or '–'} |"
            )
    else:
        out.append("_No people found._")

    out += ["", "## Themes", ""]
    if summary.themes:
        for theme in sorted(summary.themes, key=lambda t: -t.mentions):
            out.append(f"- **{_md(theme.topic)}** — {_plural(theme.mentions, 'mention')}")
            out += _md_evidence(theme.evidence, meetings, THEME_QUOTES_MAX)
            out.append("")
    else:
        out.append("_No themes found._")

    for title, field in INSIGHT_SECTIONS:
        out += ["", f"## {title}", ""]
        items = _insights(summary, field)
        if not items:
            out.append(f"_No {title.lower()} found._")
        for insight in items:
            out.append(f"- {_md(insight.text)}")
            out += _md_evidence(insight.evidence, meetings) or ["", f"  _{NO_EVIDENCE_NOTE}._"]
            out.append("")

    if summary.meetings:
        out += ["", "## Meetings", "", "| Date | Meeting | Duration | Customer attendees |", "|---|---|---:|---|"]
        for m in sorted(summary.meetings, key=lambda m: m.started_at or m.date):
            duration = f"{m.duration_min} min" if m.duration_min is not None else "–"
            people = ", ".join(_md(p) for p in m.customer_people) or "–"
            out.append(
                f"| {_md(m.date)} | {_md_link(m.title, safe_url(m.share_url or m.url))} | {duration} | {people} |"
            )

    if summary.notes:
        out += ["", "## Notes", ""] + [f"- {_md(note)}" for note in summary.notes]
    if record is not None:
        out += ["", f"_Run {_md(record.run_id)}._"]
    return "\n".join(out).rstrip() + "\n"


# ---------------------------------------------------------------- JSON


def to_json(record: JobRecord | EngagementSummary) -> str:
    """The record as it is stored (``model_dump(mode="json")``), pretty-printed; it validates back unchanged."""
    return json.dumps(record.model_dump(mode="json"), indent=2, ensure_ascii=False) + "\n"


# ---------------------------------------------------------------- HTML


def _h(text: object) -> str:
    return html.escape(_one_line(text), quote=True)


def _a(text: str, url: str | None) -> str:
    if not url:
        return _h(text)
    return f'<a href="{html.escape(url, quote=True)}" target="_blank" rel="noopener noreferrer">{_h(text)}</a>'


_CSS = """
:root { --text: #1F2933; --muted: #52606D; --line: #D9DEE4; --soft: #F5F7FA; --accent: #0072B2; }
* { box-sizing: border-box; }
body { font-family: system-ui, -apple-system, "Segoe UI", Roboto, "Helvetica Neue", Arial, sans-serif;
       color: var(--text); background: #fff; margin: 0; line-height: 1.5; }
main { max-width: 1040px; margin: 0 auto; padding: 32px 24px 48px; }
h1 { font-size: 1.9rem; margin: 0 0 4px; }
h2 { font-size: 1.35rem; margin: 40px 0 12px; padding-bottom: 4px; border-bottom: 2px solid var(--line); }
.domain { color: var(--muted); margin: 0 0 20px; }
.facts { display: grid; grid-template-columns: repeat(auto-fill, minmax(190px, 1fr)); gap: 12px; margin: 0; }
.facts div { background: var(--soft); border-radius: 8px; padding: 10px 14px; }
.facts dt { color: var(--muted); font-size: .85rem; }
.facts dd { margin: 0; font-size: 1.1rem; font-weight: 600; }
.error { border-left: 4px solid #C25400; background: #FFF4EC; padding: 12px 16px; margin: 20px 0; }
figure.chart { margin: 16px 0 24px; break-inside: avoid; page-break-inside: avoid; }
ol.insights > li { margin: 0 0 18px; break-inside: avoid; page-break-inside: avoid; }
ol.insights > li > p.claim { margin: 0 0 6px; font-weight: 600; }
blockquote { margin: 6px 0 6px 4px; padding: 6px 14px; border-left: 4px solid var(--accent); background: var(--soft); }
blockquote p { margin: 0; }
blockquote footer, .cite, .note { color: var(--muted); font-size: .9rem; }
.note { font-style: italic; margin: 4px 0; }
table { border-collapse: collapse; width: 100%; font-size: .92rem; }
th, td { text-align: left; padding: 6px 8px; border-bottom: 1px solid var(--line); vertical-align: top; }
th { background: var(--soft); }
td.num, th.num { text-align: right; font-variant-numeric: tabular-nums; }
.side { display: inline-block; padding: 0 8px; border-radius: 10px; color: #fff; font-size: .8rem; white-space: nowrap; }
a { color: #005A8C; }
footer.page { margin-top: 40px; color: var(--muted); font-size: .85rem; }
@media print {
  @page { margin: 14mm; }
  main { max-width: none; padding: 0; }
  h2 { break-after: avoid; page-break-after: avoid; }
  tr, blockquote { break-inside: avoid; page-break-inside: avoid; }
  a { color: inherit; text-decoration: none; }
  blockquote a[href]::after { content: " (" attr(href) ")"; font-size: .75rem; word-break: break-all; }
  .modebar-container { display: none !important; }
}
"""


def _html_evidence(evidence: Sequence[Evidence], meetings: dict[int, MeetingRef], limit: int | None = None) -> str:
    parts: list[str] = []
    shown = evidence if limit is None else evidence[:limit]
    for item in shown:
        cite = _cite(item, meetings)
        source = (
            f"{_h(cite.speaker)}, {_h(cite.date) or 'undated'}, {_a(f'{cite.title} at {cite.timestamp}', cite.url)}"
        )
        if cite.quote is not None:
            parts.append(f"<blockquote><p>“{_h(cite.quote)}”</p><footer>— {source}</footer></blockquote>")
        else:
            parts.append(f'<p class="note unverified">{UNVERIFIED_NOTE}: {source}</p>')
    if limit is not None and len(evidence) > limit:
        parts.append(f'<p class="note">and {len(evidence) - limit} more</p>')
    return "".join(parts)


def _table(headers: Iterable[tuple[str, bool]], rows: Iterable[Iterable[str]]) -> str:
    """A table; ``headers`` are (label, numeric); cells are already-escaped HTML."""
    header_list = list(headers)
    head = "".join(f'<th class="num">{label}</th>' if num else f"<th>{label}</th>" for label, num in header_list)
    body = []
    for row in rows:
        cells = "".join(
            f'<td class="num">{cell}</td>' if num else f"<td>{cell}</td>"
            for cell, (_, num) in zip(row, header_list, strict=True)
        )
        body.append(f"<tr>{cells}</tr>")
    return f"<table><thead><tr>{head}</tr></thead><tbody>{''.join(body)}</tbody></table>"


def _chart_html(fig: go.Figure, div_id: str) -> str:
    return fig.to_html(
        full_html=False,
        include_plotlyjs=False,  # the page carries plotly.js once, inline, in <head>
        div_id=div_id,
        config={"displaylogo": False, "responsive": True},
        default_width="100%",
    )


def _html_summary(summary: EngagementSummary, with_charts: bool) -> list[str]:
    meetings = {m.recording_id: m for m in summary.meetings}
    out: list[str] = []
    if with_charts:
        out.append("<section><h2>Charts</h2>")
        for div_id, fig in (
            ("chart-meetings", charts.meetings_over_time(summary)),
            ("chart-people", charts.people_by_meetings(summary)),
            ("chart-themes", charts.themes_by_mentions(summary)),
        ):
            out.append(f'<figure class="chart">{_chart_html(fig, div_id)}</figure>')
        out.append("</section>")

    for title, field in INSIGHT_SECTIONS:
        out.append(f"<section><h2>{title}</h2>")
        items = _insights(summary, field)
        if not items:
            out.append(f'<p class="note">No {title.lower()} found.</p>')
        else:
            out.append('<ol class="insights">')
            for insight in items:
                evidence = _html_evidence(insight.evidence, meetings) or f'<p class="note">{NO_EVIDENCE_NOTE}.</p>'
                out.append(f'<li><p class="claim">{_h(insight.text)}</p>{evidence}</li>')
            out.append("</ol>")
        out.append("</section>")

    out.append("<section><h2>Themes</h2>")
    if summary.themes:
        rows = [
            [_h(t.topic), str(t.mentions), _html_evidence(t.evidence, meetings, THEME_QUOTES_MAX) or "–"]
            for t in sorted(summary.themes, key=lambda t: -t.mentions)
        ]
        out.append(_table([("Theme", False), ("Mentions", True), ("Evidence", False)], rows))
    else:
        out.append('<p class="note">No themes found.</p>')
    out.append("</section>")

    out.append("<section><h2>People</h2>")
    if summary.people:
        rows = []
        for p in sorted(summary.people, key=lambda p: (-p.count, _one_line(p.name).casefold())):
            badge = f'<span class="side" style="background:{charts.SIDE_COLOURS[p.side]}">{charts.SIDE_LABELS[p.side]}</span>'
            rows.append(
                [
                    _h(p.name),
                    badge,
                    _h(p.role) or "–",
                    str(p.count),
                    str(p.invited),
                    str(p.spoke_in),
                    _h(p.first_seen) or "–",
                    _h(p.last_seen) or "–",
                ]
            )
        headers = [
            ("Name", False),
            ("Side", False),
            ("Role", False),
            ("Meetings", True),
            ("Invited", True),
            ("Spoke in", True),
            ("First seen", False),
            ("Last seen", False),
        ]
        out.append(_table(headers, rows))
    else:
        out.append('<p class="note">No people found.</p>')
    out.append("</section>")

    if summary.meetings:
        out.append("<section><h2>Meetings</h2>")
        rows = [
            [
                _h(m.date),
                _a(m.title, safe_url(m.share_url or m.url)),
                f"{m.duration_min} min" if m.duration_min is not None else "–",
                _h(", ".join(m.customer_people)) or "–",
            ]
            for m in sorted(summary.meetings, key=lambda m: m.started_at or m.date)
        ]
        out.append(
            _table([("Date", False), ("Meeting", False), ("Duration", True), ("Customer attendees", False)], rows)
        )
        out.append("</section>")

    if summary.notes:
        out.append(
            "<section><h2>Notes</h2><ul>" + "".join(f"<li>{_h(n)}</li>" for n in summary.notes) + "</ul></section>"
        )
    return out


def to_html(record: JobRecord | EngagementSummary, include_charts: bool = True) -> str:
    """A self-contained HTML report: inline CSS, plotly.js inlined once, every data text escaped; opens offline."""
    rec, summary = _split(record)
    company, domain = _heading(rec, summary)
    with_charts = include_charts and summary is not None
    head = [
        "<!DOCTYPE html>",
        '<html lang="en">',
        "<head>",
        '<meta charset="utf-8">',
        '<meta name="viewport" content="width=device-width, initial-scale=1">',
        # nothing may load from the network: everything the page needs is inline
        "<meta http-equiv=\"Content-Security-Policy\" content=\"default-src 'none'; script-src 'unsafe-inline' 'unsafe-eval'; "
        "style-src 'unsafe-inline'; img-src data: blob:; font-src data:\">",
        f"<title>Engagement summary: {_h(company)}</title>",
        f"<style>{_CSS}</style>",
    ]
    if with_charts:
        head.append(f'<script type="text/javascript">{get_plotlyjs()}</script>')
    head.append("</head>")

    body = ["<body><main>", f"<header><h1>Engagement summary: {_h(company)}</h1>"]
    if domain and domain != company:
        body.append(f'<p class="domain">{_h(domain)}</p>')
    facts = "".join(f"<div><dt>{_h(label)}</dt><dd>{_h(value)}</dd></div>" for label, value in _facts(rec, summary))
    body.append(f'<dl class="facts">{facts}</dl></header>')
    if rec is not None and rec.error:
        body.append(f'<div class="error" role="alert"><strong>Error:</strong> {_h(rec.error)}</div>')
    if summary is None:
        body.append('<p class="note">No summary yet.</p>')
    else:
        body += _html_summary(summary, with_charts)
    footer = f"Run {_h(rec.run_id)} · updated {_h(rec.updated_at.strftime('%Y-%m-%d %H:%M UTC'))}" if rec else ""
    body.append(f'<footer class="page">Engagement Summary report. {footer}</footer>')
    body.append("</main></body></html>")
    return "\n".join(head + body) + "\n"


# ---------------------------------------------------------------- CSV


def _cell(value: object) -> object:
    """A CSV cell a spreadsheet will not run: text that could start a formula gets a leading quote."""
    if isinstance(value, str):
        value = _one_line(value)
        if value.startswith(FORMULA_PREFIXES) or value.lstrip().startswith(FORMULA_PREFIXES[:4]):
            return "'" + value
    return value


def _csv(header: Sequence[str], rows: Iterable[Sequence[object]]) -> str:
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow(header)
    writer.writerows([_cell(v) for v in row] for row in rows)
    return buffer.getvalue()


def people_csv(summary: EngagementSummary | JobRecord) -> str:
    """One row a person (most meetings first), formula-looking cells neutralised."""
    s = _summary(summary)
    people = sorted(s.people, key=lambda p: (-p.count, _one_line(p.name).casefold()))
    return _csv(
        ["name", "email", "side", "role", "meetings", "invited", "spoke_in", "first_seen", "last_seen"],
        (
            [
                p.name,
                p.email or "",
                p.side.value,
                p.role,
                p.count,
                p.invited,
                p.spoke_in,
                p.first_seen or "",
                p.last_seen or "",
            ]
            for p in people
        ),
    )


def meetings_csv(summary: EngagementSummary | JobRecord) -> str:
    """One row a meeting (oldest first), formula-looking cells neutralised."""
    s = _summary(summary)
    meetings = sorted(s.meetings, key=lambda m: m.started_at or m.date)
    return _csv(
        [
            "recording_id",
            "date",
            "started_at",
            "title",
            "duration_min",
            "customer_people",
            "internal_people",
            "analysed",
            "url",
            "share_url",
        ],
        (
            [
                m.recording_id,
                m.date,
                m.started_at,
                m.title,
                "" if m.duration_min is None else m.duration_min,
                "; ".join(m.customer_people),
                "; ".join(m.internal_people),
                m.analysed,
                m.url,
                m.share_url,
            ]
            for m in meetings
        ),
    )
