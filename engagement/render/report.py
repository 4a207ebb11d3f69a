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
import re
from collections.abc import Iterable, Sequence

from engagement.account.domains import Account
from engagement.audit import AuditEntry
from engagement.brief import Brief, BriefLine
from engagement.models import EngagementSummary, Evidence, JobRecord, Theme, format_utc
from engagement.qualification.commitments import answering, status_label, tally
from engagement.render import charts
from engagement.render.present import (
    MEETING_COLUMNS,
    PEOPLE_COLUMNS,
    SECTIONS,
    SIDE_LABELS,
    Citation,
    Column,
    cells,
    change_items,
    cite,
    columns,
    coverage_line,
    insights,
    md_file,
    md_link,
    meeting_rows,
    month_year,
    nice_date,
    nice_time,
    one_line,
    people_rows,
    plural,
    qualification_status,
    restates,
    searched_line,
    side_counts,
    signal_line,
)
from engagement.render.svg import figure_svg

__all__ = ["export_stem", "meetings_csv", "people_csv", "to_html", "to_json", "to_markdown"]

THEME_QUOTES_MAX = 3  # quotes shown under a theme; the rest are counted
UNVERIFIED_NOTE = "Unverified: the quote was not found in the transcript, so it is not shown"
NO_EVIDENCE_NOTE = "No quote supports this yet"
FORMULA_PREFIXES = ("=", "+", "-", "@", "\t", "\r")
# The people table of the Markdown and HTML reports (the CSV has every column).
PEOPLE_KEYS = ("name", "side", "role", "role_from", "meetings", "invited", "spoke_in", "first_seen", "last_seen")
THEME_COUNT = "Meetings that raised it"  # what a theme's count is called everywhere (the page's chart too)
DATE_KEYS = frozenset({"first_seen", "last_seen", "date"})
BREAK_EVERY = 30  # characters of an unbroken token (a URL, an ID) between the HTML report's break opportunities


# ---------------------------------------------------------------- inputs


def _split(record_or_summary: JobRecord | EngagementSummary) -> tuple[JobRecord | None, EngagementSummary | None]:
    if isinstance(record_or_summary, JobRecord):
        return record_or_summary, record_or_summary.summary
    return None, record_or_summary


def _summary(record_or_summary: JobRecord | EngagementSummary) -> EngagementSummary:
    return _split(record_or_summary)[1] or EngagementSummary()


def _people_text(summary: EngagementSummary) -> str:
    customer, ours, others = side_counts(summary)
    parts = [f"{customer} customer", f"{ours} our team"] + ([f"{others} other"] if others else [])
    return f"{len(summary.people)} ({', '.join(parts)})"


def _busiest(summary: EngagementSummary) -> tuple[str, str] | None:
    """("Busiest month", "Jun 2026 (4 meetings)"), or "Busiest months" and each month when several tie."""
    top = max((m.count for m in summary.meetings_by_month), default=0)
    if not top:
        return None
    months = [month_year(m.month + "-01") for m in summary.meetings_by_month if m.count == top]
    if len(months) == 1:
        return "Busiest month", f"{months[0]} ({plural(top, 'meeting')})"
    return "Busiest months", f"{', '.join(months)} ({plural(top, 'meeting')} each)"


def _facts(record: JobRecord | None, summary: EngagementSummary | None) -> list[tuple[str, str]]:
    """Headline facts as (label, plain text) pairs, with the page's labels and date format.

    The run's own fields (source, analyser, run id, times) go in the footer, not among the facts.
    """
    facts: list[tuple[str, str]] = []
    if record is not None and (record.options.since or record.options.until):
        since, until = record.options.since, record.options.until
        facts.append(
            (
                "Dates asked for",
                f"{nice_date(since) if since else 'the start'} – {nice_date(until) if until else 'today'}",
            )
        )
    if summary is not None:
        facts.append(("Meetings", str(summary.meetings_count)))
        facts.append(("First meeting", nice_date(summary.first_meeting)))
        facts.append(("Last meeting", nice_date(summary.last_meeting)))
        facts.append(("People", _people_text(summary)))
        facts.append(("Themes", str(len(summary.themes))))
        busiest = _busiest(summary) if summary.meetings_by_month else None
        if busiest:
            facts.append(busiest)
    return [(label, one_line(value)) for label, value in facts]


def _run_line(record: JobRecord | None) -> str:
    """The footer's line about the run: where the data came from, the analyser, the run id, when."""
    if record is None:
        return ""
    parts = [
        f"source {record.source}" if record.source else "",
        f"analysis {record.analyzer}" if record.analyzer else "",
        f"run {record.run_id}",
        f"updated {nice_time(record.updated_at)}",
    ]
    return " · ".join(p for p in parts if p)


def _heading(record: JobRecord | None, summary: EngagementSummary | None) -> tuple[str, str]:
    domain = one_line(
        (Account.of_summary(summary).label() if summary and summary.domain else "") or (record.domain if record else "")
    )
    company = one_line(summary.company if summary else "") or domain or "unknown account"
    return company, domain


def _themes(summary: EngagementSummary) -> list[Theme]:
    return sorted(summary.themes, key=lambda t: -t.mentions)


def _shown(evidence: Sequence[Evidence], limit: int | None) -> tuple[list[Citation], int]:
    """The citations to print and how many more there are."""
    shown = evidence if limit is None else evidence[:limit]
    return [cite(item) for item in shown], len(evidence) - len(shown)


def _cell_text(value: object, key: str = "") -> str:
    """A table value as one line (a date as the page writes it), a dash when it is empty."""
    if key in DATE_KEYS and value:
        return nice_date(str(value))
    return one_line(value) or "–"


def _minutes(minutes: int | None) -> str:
    return f"{minutes} min" if minutes is not None else "–"


# ---------------------------------------------------------------- Markdown


def _md_evidence(evidence: Sequence[Evidence], limit: int | None = None) -> list[str]:
    lines: list[str] = []
    citations, more = _shown(evidence, limit)
    for c in citations:
        when = md_file(nice_date(c.date)) if c.date else "undated"
        source = f"{md_file(c.who)}, {when}, {md_link(f'{c.title} at {c.timestamp}', c.url, escape=md_file)}"
        if c.quote is not None:
            lines += ["", f'  > "{md_file(c.quote)}" — {source}']
        else:
            lines += ["", f"  _{UNVERIFIED_NOTE}:_ {source}"]
    if more:
        lines += ["", f"  _and {more} more_"]
    return lines


def _split_first_verified(evidence: Sequence[Evidence]) -> tuple[Citation, list[Evidence]]:
    """The first verified quote (as a citation) and the rest of the evidence."""
    index = next(i for i, e in enumerate(evidence) if e.verified and e.quote.strip())
    return cite(evidence[index]), [e for i, e in enumerate(evidence) if i != index]


def _md_source(c: Citation) -> str:
    when = md_file(nice_date(c.date)) if c.date else "undated"
    return f"{md_file(c.who)}, {when}, {md_link(f'{c.title} at {c.timestamp}', c.url, escape=md_file)}"


def _md_table(cols: Sequence[Column], rows: Iterable[Sequence[str]]) -> list[str]:
    """A Markdown table; cells are already Markdown."""
    out = [
        "| " + " | ".join(c.label for c in cols) + " |",
        "|" + "|".join("---:" if c.numeric else "---" for c in cols) + "|",
    ]
    return out + ["| " + " | ".join(row) + " |" for row in rows]


def _md_account_view(summary: EngagementSummary) -> list[str]:
    """Coverage, signals (each with its meetings' links) and what changed since the last run."""
    out: list[str] = []
    links = {m.recording_id: m for m in meeting_rows(summary)}
    if summary.coverage is not None:
        out += ["", f"_Coverage: {md_file(coverage_line(summary.coverage))}._"]
    if summary.signals:
        out += ["", "## Signals", ""]
        for signal in summary.signals:
            meetings = ", ".join(
                md_link(f"{links[rid].title} ({nice_date(links[rid].date)})", links[rid].recording, escape=md_file)
                for rid in signal.meetings
                if rid in links
            )
            out.append(f"- {md_file(signal_line(signal))}" + (f" — meetings: {meetings}" if meetings else ""))
    if summary.changes is not None:
        out += ["", f"## Since {md_file(nice_date(summary.changes.since))}", ""]
        items = change_items(summary.changes)
        out += [f"- **{label}:** {md_file(', '.join(values))}" for label, values in items] or ["_Nothing new._"]
    return out


def _md_qualification(summary: EngagementSummary) -> list[str]:
    """Each element's state with every customer quote (or what was searched), then our commitments."""
    q = summary.qualification
    if q is None:
        return []
    out = ["", f"## Qualification: {md_file(q.name)} ({q.evidenced}/{len(q.elements)} evidenced)", ""]
    for element in q.elements:
        out.append(f"- **{md_file(element.name)}** — {md_file(qualification_status(element))}")
        out += _md_evidence(element.evidence)
        if element.our_side:
            out += ["", "  _Our side said (not evidence):_"] + _md_evidence(element.our_side)
        if not element.evidence:
            out += ["", f"  _{md_file(searched_line(element))}_"]
        out.append("")
    out += ["", "## Our commitments", ""]
    if not summary.commitments:
        out.append("_No promise of ours in these meetings._")
    else:
        out += [f"_{md_file(tally(summary.commitments)).capitalize()}._", ""]
    for c in summary.commitments:
        out.append(
            f'- **{status_label(c.status).capitalize()}** — "{md_file(c.text)}" — {_md_source(cite(c.evidence))}'
        )
        if (asked := answering(c)) is not None:
            out += ["", f"  _{md_file(asked)}_"]
        if c.done_evidence is not None:
            out += ["", "  _Shown done by:_"] + _md_evidence([c.done_evidence])
        out.append("")
    return out


def to_markdown(record_or_summary: JobRecord | EngagementSummary) -> str:
    """The summary as a Markdown document: facts, people, themes, insights with their quotes, meetings."""
    record, summary = _split(record_or_summary)
    company, domain = _heading(record, summary)
    out = [f"# Engagement summary: {md_file(company)}", ""]
    if domain and domain != company:
        out += [f"Domain: {md_file(domain)}", ""]
    out += [f"- **{label}:** {md_file(value)}" for label, value in _facts(record, summary)]
    if record is not None and record.error:
        out += ["", f"> **Error:** {md_file(record.error)}"]
    if summary is None:
        out += ["", "_No summary yet._", ""]
        return "\n".join(out)

    out += _md_account_view(summary)

    if summary.meetings_by_month:
        out += ["", "## Meetings per month", "", "| Month | Meetings |", "|---|---:|"]
        out += [f"| {md_file(month_year(m.month + '-01'))} | {m.count} |" for m in summary.meetings_by_month]

    out += ["", "## People", ""]
    if summary.people:
        cols = columns(PEOPLE_COLUMNS, *PEOPLE_KEYS)
        out += _md_table(
            cols,
            (
                [md_file(_cell_text(v, c.key)) for c, v in zip(cols, cells(row, cols), strict=True)]
                for row in people_rows(summary)
            ),
        )
    else:
        out.append("_No people found._")

    out += ["", "## Themes", ""]
    if summary.themes:
        for theme in _themes(summary):
            out.append(f"- **{md_file(theme.topic)}** — {THEME_COUNT.lower()}: {theme.mentions}")
            out += _md_evidence(theme.evidence, THEME_QUOTES_MAX)
            out.append("")
    else:
        out.append("_No themes found._")

    for section in SECTIONS:
        out += ["", f"## {section.title}", ""]
        items = insights(summary, section.field)
        if not items:
            out.append(f"_No {section.title.lower()} found._")
        for insight in items:
            if restates(insight):  # the insight is its quote: say it once, with where it was said
                first, rest = _split_first_verified(insight.evidence)
                out.append(f'- "{md_file(first.quote)}" — {_md_source(first)}')
                out += _md_evidence(rest)
            else:
                out.append(f"- {md_file(insight.text)}")
                out += _md_evidence(insight.evidence) or ["", f"  _{NO_EVIDENCE_NOTE}._"]
            out.append("")

    out += _md_qualification(summary)

    if summary.meetings:
        out += ["", "## Meetings", "", "| Date | Meeting | Duration | Customer attendees |", "|---|---|---:|---|"]
        for row in meeting_rows(summary):
            people = ", ".join(md_file(p) for p in row.customer_people) or "–"
            out.append(
                f"| {md_file(nice_date(row.date))} | {md_link(row.title, row.recording, escape=md_file)} | {_minutes(row.minutes)} | {people} |"
            )

    if summary.notes:
        out += ["", "## Notes", ""] + [f"- {md_file(note)}" for note in summary.notes]
    if record is not None:
        out += ["", "---", "", f"_{md_file(_run_line(record))}_"]
    return "\n".join(out).rstrip() + "\n"


# ---------------------------------------------------------------- JSON


def to_json(record: JobRecord | EngagementSummary) -> str:
    """The record as it is stored (``model_dump(mode="json")``), pretty-printed; it validates back unchanged."""
    return json.dumps(record.model_dump(mode="json"), indent=2, ensure_ascii=False) + "\n"


# ---------------------------------------------------------------- HTML


_LONG_TOKEN = re.compile(rf"\S{{{BREAK_EVERY + 1},}}")


def _h(text: object) -> str:
    """Data text escaped for HTML; a token longer than ``BREAK_EVERY`` characters (a URL, a hash) gets a
    break opportunity (``<wbr>``) every ``BREAK_EVERY`` characters, so it wraps instead of widening a
    table, while ordinary words never break in the middle."""
    plain = one_line(text)
    parts, last = [], 0
    for found in _LONG_TOKEN.finditer(plain):
        token = found[0]
        chunks = [token[i : i + BREAK_EVERY] for i in range(0, len(token), BREAK_EVERY)]
        parts += [
            html.escape(plain[last : found.start()], quote=True),
            "<wbr>".join(html.escape(c, quote=True) for c in chunks),
        ]
        last = found.end()
    parts.append(html.escape(plain[last:], quote=True))
    return "".join(parts)


def _a(text: str, url: str | None) -> str:
    if not url:
        return _h(text)
    return f'<a href="{html.escape(url, quote=True)}" target="_blank" rel="noopener noreferrer">{_h(text)}</a>'


_CSS = """
:root { --text: #1F2933; --muted: #52606D; --line: #D9DEE4; --soft: #F5F7FA; --accent: #0072B2; }
* { box-sizing: border-box; }
body { font-family: system-ui, -apple-system, "Segoe UI", Roboto, "Helvetica Neue", Arial, sans-serif;
       color: var(--text); background: #fff; margin: 0; line-height: 1.5; overflow-wrap: break-word;
       word-break: normal; hyphens: manual; }
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
figure.chart svg { max-width: 100%; height: auto; }
@media print {
  @page { size: A4; margin: 14mm; }
  body { font-size: 10.5pt; }
  main { max-width: none; padding: 0; }
  section.page { break-before: page; page-break-before: always; }
  h2 { break-after: avoid; page-break-after: avoid; margin-top: 0; }
  p, li, dd { orphans: 3; widows: 3; }
  figure.chart { break-inside: avoid; }
  thead { display: table-header-group; }
  tr, blockquote { break-inside: avoid; page-break-inside: avoid; }
  a { color: inherit; text-decoration: none; }
  blockquote a[href]::after { content: " (" attr(href) ")"; font-size: .75rem; word-break: break-all; }
  .modebar-container { display: none !important; }
}
"""


def _html_source(c: Citation) -> str:
    when = _h(nice_date(c.date)) if c.date else "undated"
    return f"{_h(c.who)}, {when}, {_a(f'{c.title} at {c.timestamp}', c.url)}"


def _html_evidence(evidence: Sequence[Evidence], limit: int | None = None) -> str:
    parts: list[str] = []
    citations, more = _shown(evidence, limit)
    for c in citations:
        when = _h(nice_date(c.date)) if c.date else "undated"
        source = f"{_h(c.who)}, {when}, {_a(f'{c.title} at {c.timestamp}', c.url)}"
        if c.quote is not None:
            parts.append(f"<blockquote><p>“{_h(c.quote)}”</p><footer>— {source}</footer></blockquote>")
        else:
            parts.append(f'<p class="note unverified">{UNVERIFIED_NOTE}: {source}</p>')
    if more:
        parts.append(f'<p class="note">and {more} more</p>')
    return "".join(parts)


def _table(cols: Sequence[Column], rows: Iterable[Iterable[str]]) -> str:
    """A table; cells are already-escaped HTML."""
    head = "".join(f'<th class="num">{c.label}</th>' if c.numeric else f"<th>{c.label}</th>" for c in cols)
    body = []
    for row in rows:
        tds = "".join(
            f'<td class="num">{cell}</td>' if c.numeric else f"<td>{cell}</td>"
            for cell, c in zip(row, cols, strict=True)
        )
        body.append(f"<tr>{tds}</tr>")
    return f"<table><thead><tr>{head}</tr></thead><tbody>{''.join(body)}</tbody></table>"


_SIDE_OF_LABEL = {label: side for side, label in SIDE_LABELS.items()}


def _side_badge(label: str) -> str:
    side = _SIDE_OF_LABEL[label]
    return f'<span class="side" style="background:{charts.SIDE_COLOURS[side]}">{label}</span>'


def _html_account_view(summary: EngagementSummary) -> list[str]:
    """Coverage, signals (each with its meetings' links) and what changed since the last run."""
    out: list[str] = []
    links = {m.recording_id: m for m in meeting_rows(summary)}
    if summary.coverage is not None:
        out.append(f'<p class="note">Coverage: {_h(coverage_line(summary.coverage))}</p>')
    if summary.signals:
        out.append('<section><h2>Signals</h2><ul class="signals">')
        for signal in summary.signals:
            meetings = ", ".join(
                _a(f"{links[rid].title} ({nice_date(links[rid].date)})", links[rid].recording)
                for rid in signal.meetings
                if rid in links
            )
            out.append(f"<li>{_h(signal_line(signal))}" + (f" — meetings: {meetings}" if meetings else "") + "</li>")
        out.append("</ul></section>")
    if summary.changes is not None:
        out.append(f"<section><h2>Since {_h(nice_date(summary.changes.since))}</h2>")
        items = change_items(summary.changes)
        out.append(
            "<ul>"
            + "".join(f"<li><strong>{_h(label)}:</strong> {_h(', '.join(values))}</li>" for label, values in items)
            + "</ul>"
            if items
            else '<p class="note">Nothing new.</p>'
        )
        out.append("</section>")
    return out


def _html_qualification(summary: EngagementSummary) -> list[str]:
    """Each element's state with every customer quote (or what was searched), then our commitments."""
    q = summary.qualification
    if q is None:
        return []
    out = [
        f'<section><h2>Qualification: {_h(q.name)} ({q.evidenced}/{len(q.elements)} evidenced)</h2><ol class="insights">'
    ]
    for element in q.elements:
        body = _html_evidence(element.evidence)
        if element.our_side:
            body += '<p class="note">Our side said (not evidence):</p>' + _html_evidence(element.our_side)
        if not element.evidence:
            body += f'<p class="note">{_h(searched_line(element))}</p>'
        out.append(
            f'<li><p class="claim"><strong>{_h(element.name)}</strong> — {_h(qualification_status(element))}</p>{body}</li>'
        )
    out.append("</ol></section><section><h2>Our commitments</h2>")
    if not summary.commitments:
        out.append('<p class="note">No promise of ours in these meetings.</p>')
    else:
        out.append(f'<p class="note">{_h(tally(summary.commitments).capitalize())}.</p>')
        out.append('<ol class="insights">')
        for c in summary.commitments:
            done = _html_evidence([c.done_evidence]) if c.done_evidence is not None else ""
            if (asked := answering(c)) is not None:
                done = f'<p class="note">{_h(asked)}</p>' + done
            out.append(
                f'<li><p class="claim"><strong>{_h(status_label(c.status).capitalize())}</strong> — “{_h(c.text)}” — '
                f"{_html_source(cite(c.evidence))}</p>{done}</li>"
            )
        out.append("</ol>")
    out.append("</section>")
    return out


def _html_summary(summary: EngagementSummary, with_charts: bool) -> list[str]:
    out: list[str] = _html_account_view(summary)
    if with_charts:
        out.append('<section class="page"><h2>Charts</h2>')
        for div_id, fig in (
            ("chart-meetings", charts.meetings_over_time(summary)),
            ("chart-people", charts.people_by_meetings(summary)),
            ("chart-themes", charts.themes_by_mentions(summary)),
        ):
            out.append(f'<figure class="chart" id="{div_id}">{figure_svg(fig)}</figure>')
        out.append("</section>")

    for section in SECTIONS:
        # printed, the insight lists start on a page of their own, and so do themes, people and meetings
        opening = '<section class="page">' if section is SECTIONS[0] else "<section>"
        out.append(f"{opening}<h2>{section.title}</h2>")
        items = insights(summary, section.field)
        if not items:
            out.append(f'<p class="note">No {section.title.lower()} found.</p>')
        else:
            out.append('<ol class="insights">')
            for insight in items:
                if restates(insight):  # the insight is its quote: say it once, with where it was said
                    first, rest = _split_first_verified(insight.evidence)
                    claim = f"“{_h(first.quote)}”"
                    evidence = f'<p class="cite">— {_html_source(first)}</p>' + _html_evidence(rest)
                else:
                    claim = _h(insight.text)
                    evidence = _html_evidence(insight.evidence) or f'<p class="note">{NO_EVIDENCE_NOTE}.</p>'
                out.append(f'<li><p class="claim">{claim}</p>{evidence}</li>')
            out.append("</ol>")
        out.append("</section>")

    out += _html_qualification(summary)
    out.append('<section class="page"><h2>Themes</h2>')
    if summary.themes:
        rows = [
            [_h(t.topic), str(t.mentions), _html_evidence(t.evidence, THEME_QUOTES_MAX) or "–"]
            for t in _themes(summary)
        ]
        out.append(
            _table(
                [Column("theme", "Theme"), Column("mentions", THEME_COUNT, True), Column("evidence", "Evidence")], rows
            )
        )
    else:
        out.append('<p class="note">No themes found.</p>')
    out.append("</section>")

    out.append('<section class="page"><h2>People</h2>')
    if summary.people:
        cols = columns(PEOPLE_COLUMNS, *PEOPLE_KEYS)
        rows = [
            [
                _side_badge(row.side) if c.key == "side" else _h(_cell_text(v, c.key))
                for c, v in zip(cols, cells(row, cols), strict=True)
            ]
            for row in people_rows(summary)
        ]
        out.append(_table(cols, rows))
    else:
        out.append('<p class="note">No people found.</p>')
    out.append("</section>")

    if summary.meetings:
        out.append('<section class="page"><h2>Meetings</h2>')
        rows = [
            [
                _h(nice_date(m.date)),
                _a(m.title, m.recording),
                _minutes(m.minutes),
                _h(", ".join(m.customer_people)) or "–",
            ]
            for m in meeting_rows(summary)
        ]
        headers = [
            Column("date", "Date"),
            Column("meeting", "Meeting"),
            Column("minutes", "Duration", True),
            Column("customer", "Customer attendees"),
        ]
        out.append(_table(headers, rows))
        out.append("</section>")

    if summary.notes:
        out.append(
            "<section><h2>Notes</h2><ul>" + "".join(f"<li>{_h(n)}</li>" for n in summary.notes) + "</ul></section>"
        )
    return out


def export_stem(record: JobRecord) -> str:
    """An export's file name without its extension: the domain, the dates asked for and the day it was made,
    ``engagement-acmecorp.com-2026-06-01-to-2026-08-31-made-2026-12-07`` (``all-meetings`` for every date)."""
    since, until = record.options.since, record.options.until
    span = f"{since or 'start'}-to-{until or 'today'}" if since or until else "all-meetings"
    return f"engagement-{record.domain}-{span}-made-{record.created_at:%Y-%m-%d}"


def to_html(record: JobRecord | EngagementSummary, include_charts: bool = True) -> str:
    """A self-contained HTML report: inline CSS, charts as inline SVG (no script), every data text escaped; opens offline."""
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
        "<meta http-equiv=\"Content-Security-Policy\" content=\"default-src 'none'; style-src 'unsafe-inline'; "
        'img-src data:; font-src data:">',
        f"<title>Engagement summary: {_h(company)}</title>",
        f"<style>{_CSS}</style>",
    ]
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
    body.append(f'<footer class="page">Engagement Summary report. {_h(_run_line(rec))}</footer>')
    body.append("</main></body></html>")
    return "\n".join(head + body) + "\n"


# ---------------------------------------------------------------- CSV


def _cell(value: object) -> object:
    """A CSV cell a spreadsheet will not run: text that could start a formula gets a leading quote."""
    if value is None:
        return ""
    if isinstance(value, tuple):
        value = "; ".join(value)
    if isinstance(value, str):
        value = one_line(value)
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
    """One row a person (most meetings first) with the page's column names and labels; formulas neutralised."""
    return _csv(
        [c.label for c in PEOPLE_COLUMNS], (cells(row, PEOPLE_COLUMNS) for row in people_rows(_summary(summary)))
    )


def meetings_csv(summary: EngagementSummary | JobRecord) -> str:
    """One row a meeting (oldest first) with the page's column names; formulas neutralised."""
    return _csv(
        [c.label for c in MEETING_COLUMNS], (cells(row, MEETING_COLUMNS) for row in meeting_rows(_summary(summary)))
    )


def audit_csv(entries: Iterable[AuditEntry]) -> str:
    """The audit log as CSV (when in UTC, who, what, on what, detail); formulas neutralised."""
    return _csv(
        ["at (UTC)", "who", "action", "on", "detail"],
        ([format_utc(e.at), e.actor, e.action, e.target, e.detail] for e in entries),
    )


# ---------------------------------------------------------------- the brief for the next meeting

BRIEF_SECTIONS = (
    ("attendees", "Likely to attend"),
    ("risks", "Risks they raised, in their words"),
    ("challenges", "Challenges, in their words"),
    ("asked_last_time", "What they asked last time"),
    ("commitments", "Our commitments not seen done"),
    ("gaps", "Gaps to close"),
    ("changes", "What changed"),
)


def _brief_lines(line: BriefLine) -> list[str]:
    out = [f"- {one_line(line.text)}" + (f"  ({line.rule})" if line.rule else "")]
    for evidence in line.evidence:
        c = cite(evidence)
        if c.quote:
            where = " · ".join(filter(None, [c.who, nice_date(c.date) if c.date else "", c.title, c.url]))
            out.append(f"    “{c.quote}” — {where}")
    return out


def brief_text(brief: Brief) -> str:
    """The brief as plain text for the terminal and the Markdown download (inert: no live links or markup)."""
    account = Account.of(brief.domains or brief.domain)
    title = f"{brief.company} ({', '.join(account.domains)})" if brief.company else account.label()
    lines = [f"Brief for the next meeting with {title}, {nice_date(brief.today)}"]
    if brief.note:
        lines.append(brief.note)
    for field, heading in BRIEF_SECTIONS:
        items: list[BriefLine] = getattr(brief, field)
        lines += ["", heading]
        lines += [text for item in items for text in _brief_lines(item)] or ["- nothing to say"]
    return "\n".join(lines) + "\n"
